#include "sim/log_check.hpp"

#include "schema/logging.hpp"

#include <catch2/catch.hpp>

using namespace pravaha;
using namespace pravaha::sim;

TEST_CASE("error_log counts error lines of every module while nothing is printed", "[sim]") {
    error_log errors("off");
    module_log("storage")->warn("raft term changed group=1");  // below error: not counted
    module_log("storage")->error("raft second leader group={} term={} from={}", 1, 7, 2);
    module_log("actors")->error("container log write failed container=0 error=x");
    auto lines = errors.lines();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == "storage: raft second leader group=1 term=7 from=2");
    CHECK(lines[1] == "actors: container log write failed container=0 error=x");
}

TEST_CASE("unexpected_error explains storage errors only by storage faults or a power cut",
          "[sim]") {
    const std::string crashed =
        "actors: container log write failed container=0 error=storage_io: simulated disk: the "
        "node crashed";
    const std::string io = "actors: controller storage failed error=storage_io: fsync failed";
    const std::string two_leaders = "storage: raft second leader group=1 term=7 from=2";
    CHECK(unexpected_error({}, false).empty());
    CHECK(unexpected_error({crashed}, false).empty());
    CHECK(unexpected_error({io}, true).empty());
    CHECK(unexpected_error({io}, false) == io);
    CHECK(unexpected_error({crashed, two_leaders}, true) == two_leaders);
    CHECK(unexpected_error({"rpc gateway stopped error=x"}, true) == "rpc gateway stopped error=x");
}
