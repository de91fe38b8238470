// The token model's rules (schema/access.hpp): rights with admin's implied ones, `*`, listings.

#include "schema/access.hpp"

#include "schema/errc.hpp"

#include <catch2/catch.hpp>

using namespace pravaha;

namespace {

grants grants_of(std::initializer_list<std::pair<const char*, const char*>> scopes) {
    grants g;
    g.name = "t";
    for (const auto& [scope, rights] : scopes) {
        auto bits = parse_rights(rights);
        REQUIRE(bits);
        g.scopes[scope] = *bits;
    }
    return g;
}

}  // namespace

TEST_CASE("rights parse, and admin brings write and read", "[schema][access]") {
    auto g = grants_of({{"a", "admin"}, {"w", "write"}, {"rw", "read,write"}});
    for (auto r : {right::read, right::write, right::admin}) {
        CHECK(g.allows("a", r));
        CHECK(g.allows("rw", r) == (r != right::admin));
        CHECK(g.allows("w", r) == (r == right::write));
        CHECK(!g.allows("other", r));
    }
    for (const char* bad : {"", "fly", "read,", "read,,write", "READ", "read write"}) {
        INFO(bad);
        auto bits = parse_rights(bad);
        REQUIRE(!bits);
        CHECK(code_of(bits.error()) == errc::invalid_argument);
    }
}

TEST_CASE("`*` grants on every scope; listings show the scopes with a right", "[schema][access]") {
    auto star = grants_of({{"*", "read"}, {"w", "write"}});
    CHECK(star.allows("anything", right::read));
    CHECK(!star.allows("anything", right::write));
    CHECK(star.allows("w", right::write));
    CHECK(visible_scopes(&star, {"a", "b"}) == std::vector<std::string>{"a", "b"});
    auto some = grants_of({{"b", "write"}});
    CHECK(visible_scopes(&some, {"a", "b", "c"}) == std::vector<std::string>{"b"});
    CHECK(visible_scopes(nullptr, {"a"}).empty());
    CHECK(allow_everything()->allows("x", right::admin));
}

TEST_CASE("check_right names what is missing, never the token", "[schema][access]") {
    CHECK(code_of(check_right(nullptr, "s", right::read)) == errc::unauthenticated);
    auto g = grants_of({{"s", "read"}});
    g.name = "audit";
    auto err = check_right(&g, "s", right::write);
    REQUIRE(code_of(err) == errc::permission_denied);
    auto text = render_error(err);
    CHECK(text.find("audit") != std::string::npos);
    CHECK(text.find("write") != std::string::npos);
    CHECK(text.find("'s'") != std::string::npos);
    CHECK(!check_right(&g, "s", right::read));
}
