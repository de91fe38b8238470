// Reader groups against real node processes: a group and its checkpoints live in the controller's
// replicated state, so a SIGKILL of the controller's leader loses none of it.

#include "tests/system/system_support.hpp"

#include <thread>

using namespace pravaha;
using namespace std::chrono_literals;

namespace {

// Retries `call` while the cluster elects (not_leader, unavailable, timeout), up to 20 s.
template <class F>
auto retried(F call) {
    auto r = call();
    for (int i = 0; i < 200 && !r; ++i) {
        auto code = code_of(r.error());
        if (code != errc::not_leader && code != errc::unavailable && code != errc::timeout) {
            break;
        }
        std::this_thread::sleep_for(100ms);
        r = call();
    }
    return r;
}

}  // namespace

TEST_CASE("a reader group and its checkpoint survive a SIGKILL of the controller's leader",
          "[system][groups][cluster]") {
    test::cluster3 c;
    auto f = test::connect(c.node(1).endpoint());
    c.create_stream(*f, 2);
    auto w = f->create_writer("sys", "events");
    REQUIRE(w);
    for (int i = 0; i < 10; ++i) {
        REQUIRE(!(*w)->write("k" + std::to_string(i), "payload-" + std::to_string(i)));
    }
    REQUIRE(!(*w)->flush());
    int64_t written = 10 * (8 + 9);

    group_config cfg;
    cfg.streams.push_back({"sys", "events", {}, {}});
    cfg.lease_ms = 3000;
    auto made = retried([&] { return f->groups().create_group("sys", "g", cfg); });
    REQUIRE(made);
    auto cuts = retried([&] { return f->groups().checkpoint("sys", "g", "one"); });
    REQUIRE(cuts);
    REQUIRE(cuts->size() == 1);
    CHECK(cuts->at(0).segments.size() == 2);

    auto victim = c.leader_of(0);
    REQUIRE(victim != 0);
    c.node(victim).kill_hard();
    uint32_t other = victim == 1 ? 2 : 1;
    auto g = test::connect(c.node(other).endpoint());
    auto info = retried([&] { return g->groups().group("sys", "g"); });
    REQUIRE(info);
    CHECK(info->readers.empty());
    CHECK(info->unassigned.size() == 2);
    CHECK(info->unread_bytes == written);
    REQUIRE(info->checkpoints.size() == 1);
    CHECK(info->checkpoints[0].name == "one");
    CHECK(info->checkpoints[0].complete);
    CHECK(info->checkpoints[0].cuts == *cuts);
    auto list = retried([&] { return g->groups().list_groups("sys"); });
    REQUIRE(list);
    CHECK(*list == std::vector<std::string>{"g"});
    REQUIRE(c.node(victim).start());
    auto gen = retried([&] { return g->groups().reset("sys", "g", "one", {}); });
    REQUIRE(gen);
    CHECK(*gen == 1);
}
