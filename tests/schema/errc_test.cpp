#include "schema/errc.hpp"

#include <catch2/catch.hpp>

using namespace pravaha;

TEST_CASE("not_leader errors carry the leader hint as a number", "[schema]") {
    auto err = not_leader_error(3);
    CHECK(code_of(err) == errc::not_leader);
    CHECK(leader_hint(err) == 3);
    CHECK(render_error(err) == "not_leader: leader is node 3");
    CHECK(leader_hint(not_leader_error(0)) == 0);
    CHECK(render_error(not_leader_error(0)) == "not_leader: leader unknown");
    // Text that looks like a hint is not one; other codes have none.
    CHECK(leader_hint(caf::make_error(errc::not_leader, std::string("leader 2"))) == 0);
    CHECK(leader_hint(caf::make_error(errc::timeout, uint32_t{2})) == 0);
    CHECK(leader_hint(caf::error{}) == 0);
}
