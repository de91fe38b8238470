#pragma once

// Internal to the command-line client (cli_main.cpp, cli_group.cpp): its parsed arguments and
// the helpers its commands share.

#include "client/client.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pravaha::cli {

struct args {
    std::vector<std::string> positional;
    std::map<std::string, std::string> flags;
    std::vector<std::string> streams;  // every --stream, in order
};

// What the command line asks for, validated before connecting (so bad input fails fast and the
// same with or without a running node).
struct request {
    args a;
    std::string cmd;
    std::string sub;
    std::string scope;
    std::string name;
    uint32_t segments = 1;
};

/// Prints `err` on stderr ("scale in progress" for a stream's conflict); returns exit code 1.
int fail(const caf::error& err);
/// Prints `msg` and the usage on stderr; returns exit code 2.
int usage_error(const std::string& msg);
std::string json_escape(std::string_view s);
/// The value of `flag` as a non-negative number, `dflt` when it is not given.
caf::expected<uint64_t> parse_number(const args& a, const std::string& flag, uint64_t dflt);
/// One name per line, or the error.
int print_names(const caf::expected<std::vector<std::string>>& list);

/// `group create|list|info|checkpoint|reset|delete` (cli_group.cpp).
int cmd_group(client::client_factory& f, const request& r);
/// `read --group SCOPE/GROUP --reader NAME` (cli_group.cpp).
int cmd_read_group(client::client_factory& f, const request& r);

}  // namespace pravaha::cli
