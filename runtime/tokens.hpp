#pragma once

// The token file of `pravaha-node --token-file` (README "Security") and `pravaha-node token`.
// One token per line: its name, the SHA-256 of the token (never the token itself) and its grants:
//
//   # name   sha256 of the token                                              grants
//   ingest   sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 orders=write
//   ops      sha256:...                                                       *=admin
//
// A grant is SCOPE=RIGHTS: a scope name or `*` (every scope), and `read`, `write`, `admin` or a
// comma-separated set; admin includes write and read. Tokens are random (`token create`), so a
// plain SHA-256 is enough: the file holds nothing that lets one present a token.

#include "schema/access.hpp"

#include <caf/expected.hpp>

#include <string>
#include <string_view>

namespace pravaha::runtime {

/// SHA-256 of `data` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

/// Parses a token file's text (`origin` names it in errors). Errors: invalid_argument naming the
/// line and what is wrong (a malformed hash or grant, an unknown right, an invalid scope name, a
/// repeated name, hash or scope, no grant).
caf::expected<token_check> parse_token_file(std::string_view text, std::string_view origin);

/// Reads and parses the file at `path`. Errors: as parse_token_file; storage_io when unreadable.
caf::expected<token_check> load_token_file(const std::string& path);

/// `pravaha-node token create NAME GRANT...` (a new random token and its line for the file) and
/// `pravaha-node token hash` (the hash of a token read from stdin). argv after "token".
int run_token_command(int argc, char** argv);

}  // namespace pravaha::runtime
