#include "schema/access.hpp"

#include "schema/errc.hpp"

#include <fmt/format.h>

namespace pravaha {

namespace {

constexpr uint8_t bit(right r) {
    return static_cast<uint8_t>(r);
}

// The rights a right brings along: admin brings all three.
constexpr uint8_t with_implied(right r) {
    return r == right::admin ? bit(right::admin) | bit(right::write) | bit(right::read) : bit(r);
}

}  // namespace

const char* to_string(right r) {
    switch (r) {
        case right::read:
            return "read";
        case right::write:
            return "write";
        case right::admin:
            return "admin";
    }
    return "unknown";
}

bool grants::allows(std::string_view scope, right r) const {
    if (everything) {
        return true;
    }
    for (std::string_view key : {scope, std::string_view("*")}) {
        auto it = scopes.find(key);
        if (it != scopes.end() && (it->second & bit(r)) != 0) {
            return true;
        }
    }
    return false;
}

bool grants::sees(std::string_view scope) const {
    return everything || scopes.count(scope) != 0 || sees_all();
}

bool grants::sees_all() const {
    return everything || scopes.count("*") != 0;
}

std::vector<std::string> visible_scopes(const grants* g, std::vector<std::string> all) {
    if (g == nullptr) {
        return {};
    }
    if (g->sees_all()) {
        return all;
    }
    std::vector<std::string> out;
    for (auto& s : all) {
        if (g->sees(s)) {
            out.push_back(std::move(s));
        }
    }
    return out;
}

grants_ptr allow_everything() {
    static const grants_ptr all = [] {
        auto g = std::make_shared<grants>();
        g->everything = true;
        return g;
    }();
    return all;
}

caf::expected<uint8_t> parse_rights(std::string_view text) {
    uint8_t bits = 0;
    while (true) {
        auto comma = text.find(',');
        auto word = text.substr(0, comma);
        bool known = false;
        for (auto r : {right::read, right::write, right::admin}) {
            if (word == to_string(r)) {
                bits |= with_implied(r);
                known = true;
            }
        }
        if (!known) {
            return caf::make_error(
                errc::invalid_argument,
                fmt::format("unknown right '{}' (read, write or admin, comma-separated)", word));
        }
        if (comma == std::string_view::npos) {
            return bits;
        }
        text.remove_prefix(comma + 1);
    }
}

caf::error check_right(const grants* g, std::string_view scope, right r) {
    if (g == nullptr) {
        return caf::make_error(errc::unauthenticated,
                               "this node needs a token (--token, PRAVAHA_TOKEN, authenticate)");
    }
    if (g->allows(scope, r)) {
        return {};
    }
    return caf::make_error(
        errc::permission_denied,
        fmt::format("token '{}' lacks the {} right on scope '{}'", g->name, to_string(r), scope));
}

}  // namespace pravaha
