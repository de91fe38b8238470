// Automatic scaling against a real node process: a stream with an events policy splits under
// load and merges when the load is gone, and every event is read back once in per-key order.

#include "tests/system/system_support.hpp"
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace pravaha;
using namespace std::chrono_literals;

namespace {

// Writes about 3,000 events/s over 200 keys ("k<n % 200>:<n>") to sys/events for `duration`,
// calling `tick(elapsed)` before each round of 30; every event must be acknowledged. Returns
// how many were written.
int write_paced(client::client_factory& f,
                std::chrono::milliseconds duration,
                const std::function<void(std::chrono::steady_clock::duration)>& tick = {}) {
    auto w = f.create_writer("sys", "events");
    REQUIRE(w);
    std::atomic<int> acked{0};
    std::atomic<int> failed{0};
    int written = 0;
    auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < start + duration) {
        if (tick) {
            tick(std::chrono::steady_clock::now() - start);
        }
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
    return written;
}

// `payloads` ("k<key>:<n>", as read) are the `written` events, once each, each key in order.
void check_once_in_order(const std::vector<std::string>& payloads, int written) {
    std::map<std::string, std::vector<int>> read;
    for (const auto& payload : payloads) {
        auto colon = payload.find(':');
        read[payload.substr(0, colon)].push_back(std::stoi(payload.substr(colon + 1)));
    }
    CHECK(payloads.size() == static_cast<size_t>(written));
    for (auto& [key, numbers] : read) {
        CAPTURE(key);
        CHECK(std::is_sorted(numbers.begin(), numbers.end()));
        CHECK(std::adjacent_find(numbers.begin(), numbers.end()) == numbers.end());
    }
}

// Seals sys/events and reads it from the head: `written` events, once each, each key in order.
void check_read_back(client::client_factory& f, int written) {
    REQUIRE(!f.streams().seal_stream("sys", "events"));
    std::vector<std::string> payloads;
    test::read_all(f, [&](const std::string& payload) { payloads.push_back(payload); });
    check_once_in_order(payloads, written);
}

// A reader of sys/events from its head that follows the tail on its own thread while the stream
// scales, until it has `expect` events (set once the writer is done) or nothing came for 30 s.
class following_reader {
public:
    explicit following_reader(client::client_factory& f)
        : reader_(f.create_reader("sys", "events", client::start_position::head)) {
        REQUIRE(reader_);
        thread_ = std::thread([this] { run(); });
    }
    following_reader(const following_reader&) = delete;
    following_reader& operator=(const following_reader&) = delete;
    ~following_reader() {
        if (thread_.joinable()) {
            expect_ = 0;
            thread_.join();
        }
    }
    // Waits for the `expect` events; returns what was read (and the reader's first error).
    std::vector<std::string> finish(int expect, std::string& error) {
        expect_ = expect;
        thread_.join();
        error = error_;
        return payloads_;
    }

private:
    void run() {
        auto idle_since = std::chrono::steady_clock::now();
        for (;;) {
            auto expect = expect_.load();
            if (expect >= 0 && payloads_.size() >= static_cast<size_t>(expect)) {
                return;
            }
            if (std::chrono::steady_clock::now() - idle_since > 30s) {
                error_ = "nothing read for 30 s";
                return;
            }
            auto ev = (*reader_)->read_next(100ms);
            if (!ev) {
                error_ = render_error(ev.error());
                return;
            }
            if (*ev) {
                payloads_.push_back((*ev)->payload);
                idle_since = std::chrono::steady_clock::now();
            }
        }
    }

    caf::expected<std::unique_ptr<client::event_reader>> reader_;
    std::atomic<int> expect_{-1};
    std::vector<std::string> payloads_;
    std::string error_;
    std::thread thread_;
};

}  // namespace

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

    // About 3,000 events/s for 8 s: 15 times the target of one segment, while a reader follows.
    following_reader follower(*f);
    auto written = write_paced(*f, 8s);
    std::string follow_error;
    auto followed = follower.finish(written, follow_error);
    CHECK(follow_error.empty());
    INFO(follow_error);
    check_once_in_order(followed, written);
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
    check_read_back(*f, written);
}

TEST_CASE("a 3-node cluster scales a stream under load through a SIGKILL of its controller leader",
          "[system][scaling][cluster]") {
    test::cluster3 c([](uint32_t) {
        return std::vector<std::string>{"--scale-window-s", "1", "--scale-cooldown-s", "1"};
    });
    auto f = test::connect(c.node(1).endpoint());
    auto& sm = f->streams();
    caf::error err;
    for (int i = 0; i < 100; ++i) {
        err = sm.create_scope("sys");
        if (!err || code_of(err) == errc::scope_exists) {
            break;
        }
        std::this_thread::sleep_for(100ms);
    }
    REQUIRE((!err || code_of(err) == errc::scope_exists));
    bool created = false;
    for (int i = 0; i < 100 && !created; ++i) {
        auto rec =
            sm.create_stream("sys", "events", 1, scaling_policy{scale_type::by_events, 200, 2, 1});
        created = rec || code_of(rec.error()) == errc::stream_exists;
        if (!created) {
            std::this_thread::sleep_for(100ms);
        }
    }
    REQUIRE(created);
    // The creation may have been finished by the controller's repair: wait for its segment.
    for (int i = 0; i < 100; ++i) {
        if (sm.stream_info_of("sys", "events")) {
            break;
        }
        std::this_thread::sleep_for(100ms);
    }

    uint32_t victim = 0;
    bool restarted = false;
    auto written = write_paced(*f, 12s, [&](std::chrono::steady_clock::duration at) {
        if (victim == 0 && at > 4s) {
            victim = c.leader_of(0);
            REQUIRE(victim != 0);
            c.node(victim).kill_hard();
        }
        if (victim != 0 && !restarted && at > 7s) {
            REQUIRE(c.node(victim).start());
            restarted = true;
        }
    });
    uint32_t epoch = 0;
    for (int i = 0; i < 30 && epoch < 2; ++i) {
        auto info = sm.stream_info_of("sys", "events");
        if (info) {
            epoch = info->record.epoch;
        }
        std::this_thread::sleep_for(500ms);
    }
    CHECK(epoch >= 2);

    check_read_back(*f, written);
}

#ifndef PRAVAHA_BENCH_BIN
#error "PRAVAHA_BENCH_BIN must name the pravaha-bench binary"
#endif

TEST_CASE("pravaha-bench scale reports the splits of a stream under load and compares it",
          "[system][scaling][bench]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    node.add_args({"--scale-window-s", "1", "--scale-cooldown-s", "1"});
    REQUIRE(node.start());
    auto report = dir.path() + "/report";
    std::string out;
    int rc = test::run_command(
        fmt::format("{} scale --endpoint {} --stream bench/scaled --rate 3000 --target 500 "
                    "--writers 2 --keys 50 --duration 6 --compare-s 1 --quiet --json {}/s.json "
                    "--report {} 2>&1",
                    PRAVAHA_BENCH_BIN, node.endpoint(), dir.path(), report),
        out);
    INFO(out);
    REQUIRE(rc == 0);
    auto json = test::read_text(dir.path() + "/s.json");
    INFO(json);
    CHECK(test::json_number(json, "failed") == 0);
    CHECK(test::json_number(json, "splits") >= 2);
    CHECK(test::json_number(json, "final_segments") >= 3);
    // The node decides over a 1 s window, every second: the first split within 4 s.
    auto to_split = test::json_number(json, "time_to_first_split_s");
    CHECK(to_split > 0);
    CHECK(to_split < 4);
    // The comparison runs on the stream as its frozen policy left it: the policy may finish one
    // more split begun before the freeze (its last window was still over the target; the bench
    // settles that scale first), never a merge under this load. Seen under ASan: 4 at the end of
    // the run, 5 compared.
    auto compared = test::json_number(json, "compare_segments");
    CHECK(compared >= test::json_number(json, "final_segments"));
    CHECK(compared <= test::json_number(json, "final_segments") + 1);
    CHECK(test::json_number(json, "scaled_events_per_s") > 0);
    CHECK(test::json_number(json, "fixed_events_per_s") > 0);
    // Every second of the run has its row, and the plot has a line per panel.
    auto csv = test::read_text(report + "/scale_over_time.csv");
    CHECK(std::count(csv.begin(), csv.end(), '\n') >= 7);
    auto svg = test::read_text(report + "/scale.svg");
    CHECK(svg.find("</svg>") != std::string::npos);
    CHECK(svg.find("<polyline") != std::string::npos);

    // A stream that exists already has a history of its own: refused with a clear error.
    rc = test::run_command(fmt::format("{} scale --endpoint {} --stream bench/scaled --rate 3000 "
                                       "--quiet 2>&1",
                                       PRAVAHA_BENCH_BIN, node.endpoint()),
                           out);
    CHECK(rc != 0);
    CHECK(out.find("scale needs a new stream") != std::string::npos);
    // A fixed load is what it measures.
    rc = test::run_command(
        fmt::format("{} scale --endpoint {} --quiet 2>&1", PRAVAHA_BENCH_BIN, node.endpoint()),
        out);
    CHECK(rc == 2);
    CHECK(out.find("give --rate") != std::string::npos);
}
