#pragma once

// Who may do what (issue 19, README "Security"): the rights a token grants per scope. A node
// started with --token-file accepts a client only with a token of that file (runtime/tokens.hpp
// turns a token into its grants); without one, every client may do everything.

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pravaha {

/// One right on a scope. `admin` (create and delete scopes and streams, scale, seal, policies)
/// includes `write` (append, transactions) and `read` (read, reader groups, describe).
enum class right : uint8_t { read = 1, write = 2, admin = 4 };

const char* to_string(right r);

/// What one token may do: rights per scope, `*` for every scope.
struct grants {
    /// A token's name in its file (for logs: never the token itself).
    std::string name;
    /// Scope (or "*") to its rights, a bit set of `right` values with admin's implied ones.
    std::map<std::string, uint8_t, std::less<>> scopes;
    /// No token file: authentication is off and everything is allowed.
    bool everything = false;

    /// Whether the token has `r` on `scope`.
    [[nodiscard]] bool allows(std::string_view scope, right r) const;
    /// Whether the token has any right on `scope` (the scope shows in its listings).
    [[nodiscard]] bool sees(std::string_view scope) const;
    /// Whether the token may list every scope's contents ("*" with a right).
    [[nodiscard]] bool sees_all() const;
};

using grants_ptr = std::shared_ptr<const grants>;

/// The scopes of `all` that `g` sees (its own, or all of them with `*`); none without grants.
std::vector<std::string> visible_scopes(const grants* g, std::vector<std::string> all);

/// The grants of authentication turned off.
grants_ptr allow_everything();

/// Parses "read", "write", "admin" or a comma-separated set of them ("read,write") into a bit
/// set with the implied rights. Errors: invalid_argument naming the unknown right.
caf::expected<uint8_t> parse_rights(std::string_view text);

/// Checks `g` for `r` on `scope`: an empty error, `unauthenticated` (no grants: no token
/// accepted yet) or `permission_denied` (naming the right, the scope and the token's name).
caf::error check_right(const grants* g, std::string_view scope, right r);

/// Turns a token into its grants: null when the token is unknown. Given to the actors by the
/// runtime, which reads the token file; empty (no function) when authentication is off.
using token_check = std::function<grants_ptr(std::string_view token)>;

}  // namespace pravaha
