#include "runtime/tokens.hpp"

#include "schema/errc.hpp"
#include "schema/names.hpp"
#include "schema/text.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

namespace pravaha::runtime {

namespace {

constexpr std::string_view hash_prefix = "sha256:";

// An error's text without its code's name (render_error's "invalid_argument: ...").
std::string text_of(const caf::error& err) {
    auto text = render_error(err);
    auto colon = text.find(": ");
    return colon == std::string::npos ? text : text.substr(colon + 2);
}

caf::error line_error(std::string_view origin, size_t line, const std::string& what) {
    return caf::make_error(errc::invalid_argument,
                           fmt::format("{} line {}: {}", origin, line, what));
}

bool is_hex_digest(std::string_view s) {
    return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

bool is_token_name(std::string_view s) {
    return !s.empty() && s.size() <= 64 &&
           s.find_first_not_of(
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
               std::string_view::npos;
}

// One grant, SCOPE=RIGHTS, into `g`. An error text, or "".
std::string add_grant(std::string_view word, grants& g) {
    auto eq = word.find('=');
    if (eq == std::string_view::npos) {
        return fmt::format("grant '{}' is not SCOPE=RIGHTS", word);
    }
    auto scope = word.substr(0, eq);
    if (scope != "*") {
        if (auto err = validate_name("scope", scope)) {
            return text_of(err);
        }
    }
    auto rights = parse_rights(word.substr(eq + 1));
    if (!rights) {
        return text_of(rights.error());
    }
    if (!g.scopes.emplace(std::string(scope), *rights).second) {
        return fmt::format("scope '{}' is granted twice", scope);
    }
    return {};
}

// The grants of one line's words after the name and hash, for a token named `name`.
caf::expected<grants> grants_of(const std::vector<std::string>& words,
                                size_t from,
                                const std::string& name) {
    grants g;
    g.name = name;
    if (from >= words.size()) {
        return caf::make_error(errc::invalid_argument, "no grant (SCOPE=RIGHTS, e.g. orders=read)");
    }
    for (size_t i = from; i < words.size(); ++i) {
        if (auto what = add_grant(words[i], g); !what.empty()) {
            return caf::make_error(errc::invalid_argument, what);
        }
    }
    return g;
}

std::vector<std::string> words_of(std::string_view line) {
    std::vector<std::string> out;
    std::istringstream in{std::string(line)};
    for (std::string w; in >> w;) {
        out.push_back(std::move(w));
    }
    return out;
}

std::string base64url(const unsigned char* data, size_t n) {
    static constexpr char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; ++i) {
        acc = (acc << 8) | data[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += digits[(acc >> bits) & 63];
        }
    }
    if (bits > 0) {
        out += digits[(acc << (6 - bits)) & 63];
    }
    return out;
}

const char* token_usage =
    "usage: pravaha-node token create NAME SCOPE=RIGHTS...   a new random token (first line; give\n"
    "                                                        it to its client, it is kept "
    "nowhere)\n"
    "                                                        and its line for the --token-file\n"
    "       pravaha-node token hash                          the sha256:... of a token on stdin\n"
    "RIGHTS: read, write, admin or a comma-separated set (admin includes write and read); SCOPE\n"
    "`*` grants them on every scope.\n";

}  // namespace

std::string sha256_hex(std::string_view data) {
    std::array<unsigned char, 32> digest{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), digest.data(), &len, EVP_sha256(), nullptr) != 1 ||
        len != digest.size()) {
        throw std::runtime_error("OpenSSL's SHA-256 failed");  // only without memory
    }
    std::string out;
    for (auto b : digest) {
        out += fmt::format("{:02x}", b);
    }
    return out;
}

caf::expected<token_check> parse_token_file(std::string_view text, std::string_view origin) {
    auto by_hash = std::make_shared<std::map<std::string, grants_ptr, std::less<>>>();
    std::set<std::string> names;
    size_t number = 0;
    std::istringstream in{std::string(text)};
    for (std::string line; std::getline(in, line);) {
        ++number;
        if (auto hash = line.find('#'); hash != std::string::npos) {
            line.resize(hash);
        }
        auto words = words_of(line);
        if (words.empty()) {
            continue;
        }
        const auto& name = words[0];
        if (!is_token_name(name)) {
            return line_error(origin, number,
                              fmt::format("token name '{}' is not 1..64 of [A-Za-z0-9._-]", name));
        }
        if (words.size() < 2 || words[1].rfind(hash_prefix, 0) != 0 ||
            !is_hex_digest(std::string_view(words[1]).substr(hash_prefix.size()))) {
            return line_error(origin, number,
                              "the second word must be sha256: and 64 lowercase hex digits "
                              "(pravaha-node token hash)");
        }
        auto g = grants_of(words, 2, name);
        if (!g) {
            return line_error(origin, number, text_of(g.error()));
        }
        if (!names.insert(name).second) {
            return line_error(origin, number, fmt::format("token name '{}' repeats", name));
        }
        auto digest = words[1].substr(hash_prefix.size());
        if (!by_hash->emplace(digest, std::make_shared<grants>(std::move(*g))).second) {
            return line_error(origin, number, "this hash is another token's too");
        }
    }
    if (by_hash->empty()) {
        return caf::make_error(
            errc::invalid_argument,
            fmt::format("{}: no token (a line: NAME sha256:HEX SCOPE=RIGHTS...)", origin));
    }
    return token_check{[by_hash](std::string_view token) -> grants_ptr {
        auto it = by_hash->find(sha256_hex(token));
        return it == by_hash->end() ? nullptr : it->second;
    }};
}

caf::expected<token_check> load_token_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return caf::make_error(errc::storage_io,
                               fmt::format("cannot read the token file {}", path));
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_token_file(text.str(), path);
}

int run_token_command(int argc, char** argv) {
    std::vector<std::string> args(argv, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        std::fputs(token_usage, args.empty() ? stderr : stdout);
        return args.empty() ? 2 : 0;
    }
    auto usage_error = [](const std::string& what) {
        std::fputs(usage_failure("pravaha-node token", what, "pravaha-node token --help").c_str(),
                   stderr);
        return 2;
    };
    if (args[0] == "hash") {
        if (args.size() != 1) {
            return usage_error("token hash reads the token from stdin and takes no arguments");
        }
        std::string token;
        std::getline(std::cin, token);
        if (token.empty()) {
            return usage_error("no token on stdin");
        }
        std::printf("sha256:%s\n", sha256_hex(token).c_str());
        return 0;
    }
    if (args[0] != "create") {
        return usage_error("unknown token command '" + args[0] + "' (create or hash)");
    }
    if (args.size() < 3) {
        return usage_error("token create needs NAME and at least one SCOPE=RIGHTS");
    }
    if (!is_token_name(args[1])) {
        return usage_error("token name '" + args[1] + "' is not 1..64 of [A-Za-z0-9._-]");
    }
    std::vector<std::string> words(args.begin() + 1, args.end());
    if (auto g = grants_of(words, 1, args[1]); !g) {
        return usage_error(text_of(g.error()));
    }
    std::array<unsigned char, 32> random{};
    if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
        std::fputs("pravaha-node token: no randomness from OpenSSL\n", stderr);
        return 1;
    }
    auto token = "pvh_" + base64url(random.data(), random.size());
    std::string line = args[1] + " sha256:" + sha256_hex(token);
    for (size_t i = 2; i < args.size(); ++i) {
        line += " " + args[i];
    }
    std::printf("%s\n%s\n", token.c_str(), line.c_str());
    return 0;
}

}  // namespace pravaha::runtime
