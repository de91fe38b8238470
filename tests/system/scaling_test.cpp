// Automatic scaling against a real node process: a stream with an events policy splits under
// load and merges when the load is gone, and every event is read back once in per-key order.

#include "tests/system/system_support.hpp"

#include <atomic>
#include <map>

using namespace pravaha;
using namespace std::chrono_literals;

TEST_CASE("a stream splits under load and merges when it cools, losing nothing",
          "[system][scaling]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    node.add_args({"--scale-window-s", "1", "--scale-cooldown-s", "1"});
    REQUIRE(node.start());
    auto f = test::connect(node.endpoint());
    auto& sm = f->streams();
    REQUIRE(!sm.create_scope("sys"));
    REQUIRE(sm.create_stream("sys", "events", 1, scaling_policy{scale_type::by_events, 200, 2, 1}));

    // About 3,000 events/s over 200 keys for 8 s: 15 times the target of one segment.
    auto w = f->create_writer("sys", "events");
    REQUIRE(w);
    std::atomic<int> acked{0};
    std::atomic<int> failed{0};
    int written = 0;
    auto until = std::chrono::steady_clock::now() + 8s;
    while (std::chrono::steady_clock::now() < until) {
        for (int i = 0; i < 30; ++i, ++written) {
            auto key = "k" + std::to_string(written % 200);
            REQUIRE(!(*w)->write(key, key + ":" + std::to_string(written),
                                 [&](const caf::error& err) { (err ? failed : acked)++; }));
        }
        std::this_thread::sleep_for(10ms);
    }
    REQUIRE(!(*w)->flush());
    CHECK(failed == 0);
    CHECK(acked == written);
    auto info = sm.stream_info_of("sys", "events");
    REQUIRE(info);
    INFO("segments " << info->segments.size() << ", epoch " << info->record.epoch);
    CHECK(info->record.epoch >= 2);
    CHECK(info->segments.size() >= 3);

    // Quiet: rates decay until neighbours are cold over every window (the longest is 10 s).
    bool merged = false;
    for (int i = 0; i < 90 && !merged; ++i) {
        std::this_thread::sleep_for(1s);
        auto h = sm.history("sys", "events");
        REQUIRE(h);
        for (const auto& e : *h) {
            for (const auto& s : e.segments) {
                merged = merged || s.predecessors.size() >= 2;
            }
        }
    }
    CHECK(merged);

    // Everything is read from the head once, each key in write order, across every epoch.
    REQUIRE(!sm.seal_stream("sys", "events"));
    std::map<std::string, std::vector<int>> read;
    size_t count = 0;
    test::read_all(*f, [&](const std::string& payload) {
        auto colon = payload.find(':');
        read[payload.substr(0, colon)].push_back(std::stoi(payload.substr(colon + 1)));
        ++count;
    });
    CHECK(count == static_cast<size_t>(written));
    for (auto& [key, numbers] : read) {
        CAPTURE(key);
        CHECK(std::is_sorted(numbers.begin(), numbers.end()));
        CHECK(std::adjacent_find(numbers.begin(), numbers.end()) == numbers.end());
    }
}
