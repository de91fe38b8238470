// The actor client API against a real node process: the test process is an actor application
// with its own actor system (add_actor_api_types, its own middleman), spawning a stream
// manager, writers and readers there and talking to them with requests.

#include "client/actor_api.hpp"

#include "tests/system/system_support.hpp"
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>

#include <atomic>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <vector>

using namespace pravaha;
using namespace pravaha::client;
using namespace std::chrono_literals;

namespace {

// An application's actor system as the actor API's documentation sets it up.
struct app {
    app() {
        add_actor_api_types(cfg);
        cfg.load<caf::io::middleman>();
        cfg.set("scheduler.max-threads", 2);
        sys = std::make_unique<caf::actor_system>(cfg);
    }
    // Ends what the test spawned also when a REQUIRE fails (the actor system waits for them).
    ~app() {
        for (auto& h : owned) {
            caf::anon_send_exit(h, caf::exit_reason::kill);
        }
    }
    template <class Handle>
    Handle own(Handle h) {
        owned.push_back(caf::actor_cast<caf::actor>(h));
        return h;
    }
    caf::actor_system_config cfg;
    std::unique_ptr<caf::actor_system> sys;
    std::vector<caf::actor> owned;
};

template <class R, class Handle, class... Ts>
caf::expected<R> ask(caf::scoped_actor& self, const Handle& dest, Ts&&... xs) {
    caf::expected<R> out{caf::make_error(errc::timeout, "no answer")};
    self->request(dest, 60s, std::forward<Ts>(xs)...)
        .receive([&](R& r) { out = std::move(r); }, [&](caf::error& e) { out = std::move(e); });
    return out;
}

client_config config_for(const test::node_process& node, std::chrono::milliseconds retry = 30s) {
    client_config cfg;
    cfg.endpoint = node.endpoint();
    cfg.retry_timeout = retry;
    return cfg;
}

// What a subscriber saw, shared with the test thread.
struct sink_log {
    std::mutex mutex;
    std::vector<event> events;
    uint64_t granted = 0;
    uint64_t most_held = 0;  // events received and not yet "processed" (granted back), at most
    bool ended = false;
    stream_position end_position;
    std::vector<stream_position> positions;
};

// A subscriber that grants `window` events up front and `window` more once it has processed
// (received) `window`: at most `window` events are ever in its hands.
caf::behavior sink_impl(caf::event_based_actor* self,
                        std::shared_ptr<sink_log> log,
                        uint32_t window) {
    auto unacked = std::make_shared<uint64_t>(0);
    return {
        [=](events_atom, uint64_t tag, std::vector<event>& evs, stream_position& after) {
            CHECK(tag == 7);
            std::lock_guard<std::mutex> guard(log->mutex);
            *unacked += evs.size();
            log->most_held = std::max(log->most_held, *unacked);
            for (auto& e : evs) {
                log->events.push_back(std::move(e));
            }
            log->positions.push_back(std::move(after));
            if (*unacked >= window) {
                *unacked -= window;
                log->granted += window;
                self->send(caf::actor_cast<reader_actor>(self->current_sender()),
                           credit_atom::value, window);
            }
        },
        [=](read_end_atom, uint64_t, stream_position& pos) {
            std::lock_guard<std::mutex> guard(log->mutex);
            log->ended = true;
            log->end_position = std::move(pos);
            self->quit();
        },
    };
}

// Acknowledgements of pipelined writes in the order they arrived, per key.
struct pipelined_acks {
    std::map<std::string, std::vector<int>> order;
    int failures = 0;
    std::promise<void> done;
};

// Sends `n` writes at once (keys k0..k4) and records their answers as they arrive.
caf::behavior pipeline_impl(caf::event_based_actor* self,
                            writer_actor w,
                            int n,
                            std::shared_ptr<pipelined_acks> acks) {
    auto left = std::make_shared<int>(n);
    auto one_done = [self, acks, left] {
        if (--*left == 0) {
            acks->done.set_value();
            self->quit();
        }
    };
    for (int i = 0; i < n; ++i) {
        auto key = "k" + std::to_string(i % 5);
        self->request(w, caf::infinite, write_atom::value, key, "pipe-" + std::to_string(i))
            .then(
                [acks, key, i, one_done](event_ack&) {
                    acks->order[key].push_back(i);
                    one_done();
                },
                [acks, one_done](caf::error&) {
                    ++acks->failures;
                    one_done();
                });
    }
    return {[](int) {}};
}

stream_manager_actor manager_of(app& a,
                                const test::node_process& node,
                                std::chrono::milliseconds retry = 30s) {
    auto mgr = spawn_stream_manager(*a.sys, config_for(node, retry));
    REQUIRE(mgr);
    return a.own(*mgr);
}

// Down messages of the actors a test monitors, by source (they may come in any order).
using downs = std::map<caf::actor_addr, caf::error>;

// Waits (at most 30 s) for the down message of the monitored actor `who`; its exit reason.
caf::error down_reason(caf::scoped_actor& self, downs& seen, const caf::actor_addr& who) {
    bool waited_out = false;
    while (!seen.count(who) && !waited_out) {
        self->receive([&](caf::down_msg& dm) { seen[dm.source] = dm.reason; },
                      caf::after(30s) >> [&] { waited_out = true; });
    }
    if (!seen.count(who)) {
        return caf::make_error(errc::timeout, "no down message");
    }
    return seen[who];
}

// VmRSS of process `pid` ("self" for this one) in bytes, or 0 when it cannot be read.
uint64_t rss_of(const std::string& pid) {
    std::ifstream in("/proc/" + pid + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::stoull(line.substr(6)) * 1024;
        }
    }
    return 0;
}

// A subscriber that reads slowly: `per_tick` more events every 100 ms.
caf::behavior slow_sink_impl(caf::event_based_actor* self,
                             reader_actor reader,
                             uint32_t per_tick,
                             std::shared_ptr<std::atomic<uint64_t>> received) {
    self->delayed_send(self, 100ms, credit_atom::value);
    return {
        [=](events_atom, uint64_t, std::vector<event>& evs, stream_position&) {
            *received += evs.size();
        },
        [=](read_end_atom, uint64_t, stream_position&) {},
        [=](credit_atom) {
            self->send(reader, credit_atom::value, per_tick);
            self->delayed_send(self, 100ms, credit_atom::value);
        },
    };
}

// A node process and an application holding one stream manager of it, with the scope "app".
struct api_fixture {
    explicit api_fixture(std::chrono::milliseconds retry = 30s)
        : node(dir.path(), test::free_port()) {
        REQUIRE(node.start());
        self = std::make_unique<caf::scoped_actor>(*a.sys);
        mgr = manager_of(a, node, retry);
        REQUIRE(ask<bool>(*self, mgr, create_scope_atom::value, std::string("app")));
    }
    ~api_fixture() { caf::anon_send_exit(mgr, caf::exit_reason::user_shutdown); }

    stream_record stream(const std::string& name, uint32_t segments) {
        auto rec = ask<stream_record>(*self, mgr, create_stream_atom::value, std::string("app"),
                                      name, segments);
        REQUIRE(rec);
        return *rec;
    }

    test::temp_dir dir;
    test::node_process node;
    app a;
    std::unique_ptr<caf::scoped_actor> self;  // before the actor system ends
    stream_manager_actor mgr;
    downs seen_downs;
};

}  // namespace

TEST_CASE(
    "actor api: writes are acknowledged when durable and pushed to a subscriber within "
    "its credit",
    "[system]") {
    api_fixture f;
    auto& self = *f.self;
    auto& mgr = f.mgr;
    auto& seen_downs = f.seen_downs;
    auto rec = f.stream("words", 4);
    CHECK(rec.segments.size() == 4);
    auto cid = ask<std::string>(self, mgr, identify_atom::value);
    REQUIRE(cid);
    auto status = ask<raft::cluster_info>(self, mgr, cluster_info_atom::value);
    REQUIRE(status);
    CHECK(status->cluster_id == *cid);
    auto scopes = ask<std::vector<std::string>>(self, mgr, list_scopes_atom::value);
    REQUIRE(scopes);
    CHECK(*scopes == std::vector<std::string>{"app"});

    auto w = ask<writer_actor>(self, mgr, open_writer_atom::value, std::string("app"),
                               std::string("words"), writer_options{});
    REQUIRE(w);
    // Singles, answered one at a time.
    for (int i = 0; i < 20; ++i) {
        auto ack = ask<event_ack>(self, *w, write_atom::value, "k" + std::to_string(i % 5),
                                  "single-" + std::to_string(i));
        REQUIRE(ack);
        CHECK(ack->client_number == no_event_number);
    }
    // Many requests in flight at once from one requester: acknowledged in write order per key.
    constexpr int pipelined = 2000;
    auto acks = std::make_shared<pipelined_acks>();
    auto finished = acks->done.get_future();
    f.a.sys->spawn(pipeline_impl, *w, pipelined, acks);
    REQUIRE(finished.wait_for(60s) == std::future_status::ready);
    CHECK(acks->failures == 0);
    int total = 0;
    for (auto& [key, order] : acks->order) {
        CHECK(std::is_sorted(order.begin(), order.end()));
        total += static_cast<int>(order.size());
    }
    CHECK(total == pipelined);
    // A batch, answered once.
    std::vector<event_to_write> batch;
    for (int i = 0; i < 100; ++i) {
        batch.push_back({"k" + std::to_string(i % 5), "batch-" + std::to_string(i), 10 + i});
    }
    auto bak = ask<batch_ack>(self, *w, write_atom::value, batch);
    REQUIRE(bak);
    CHECK(bak->first_client_number == 10);
    CHECK(bak->count == 100);
    // Client numbers must grow.
    auto stale = ask<event_ack>(self, *w, write_atom::value, std::string("k0"),
                                std::string("stale"), int64_t{50});
    REQUIRE(!stale);
    CHECK(code_of(stale.error()) == errc::invalid_argument);
    auto next = ask<event_ack>(self, *w, write_atom::value, std::string("k0"), std::string("next"),
                               int64_t{110});
    REQUIRE(next);
    CHECK(next->client_number == 110);
    // Also in a batch whose first event has no number.
    std::vector<event_to_write> mixed{{"k0", "unnumbered", no_event_number}, {"k0", "old", 60}};
    auto refused_batch = ask<batch_ack>(self, *w, write_atom::value, mixed);
    REQUIRE(!refused_batch);
    CHECK(code_of(refused_batch.error()) == errc::invalid_argument);
    REQUIRE(ask<bool>(self, *w, flush_atom::value));
    // Close: answered after the flush, then the writer ends normally; later writes reach no one.
    self->monitor(*w);
    REQUIRE(ask<bool>(self, *w, close_atom::value));
    CHECK(down_reason(self, seen_downs, w->address()) == caf::exit_reason::normal);
    auto late = ask<event_ack>(self, *w, write_atom::value, std::string("k"), std::string("late"));
    CHECK(!late);

    const size_t written = 20 + pipelined + 100 + 1;
    REQUIRE(ask<stream_record>(self, mgr, seal_stream_atom::value, std::string("app"),
                               std::string("words")));
    // A sealed stream takes no writer.
    auto sealed = ask<writer_actor>(self, mgr, open_writer_atom::value, std::string("app"),
                                    std::string("words"), writer_options{});
    REQUIRE(!sealed);
    CHECK(code_of(sealed.error()) == errc::stream_sealed);

    // Pushed with credit: the subscriber never holds more than its window.
    auto r = ask<reader_actor>(self, mgr, open_reader_atom::value, std::string("app"),
                               std::string("words"), reader_options{});
    REQUIRE(r);
    auto log = std::make_shared<sink_log>();
    constexpr uint32_t window = 16;
    auto sink = f.a.own(f.a.sys->spawn(sink_impl, log, window));
    self->monitor(*r);
    self->monitor(sink);
    auto start = ask<stream_position>(self, *r, subscribe_atom::value,
                                      caf::actor_cast<event_sink_actor>(sink), uint64_t{7}, window);
    REQUIRE(start);
    CHECK(start->offsets.size() == 4);
    // A second subscription or a fetch is refused while one is active.
    auto again = ask<stream_position>(self, *r, subscribe_atom::value,
                                      caf::actor_cast<event_sink_actor>(sink), uint64_t{8}, 1u);
    CHECK(!again);
    CHECK(down_reason(self, seen_downs, r->address()) == caf::exit_reason::normal);
    down_reason(self, seen_downs, sink.address());  // it ends when it has the end
    std::lock_guard<std::mutex> guard(log->mutex);
    REQUIRE(log->ended);
    CHECK(log->most_held <= window);
    CHECK(log->events.size() == written);
    // Per key in write order; every payload once.
    std::map<std::string, int> seen;
    for (const auto& e : log->events) {
        ++seen[e.payload];
    }
    CHECK(seen.size() == written);
    // The end position is past every event: a reader opened there reads nothing.
    auto tail = ask<reader_actor>(self, mgr, open_reader_atom::value, std::string("app"),
                                  std::string("words"),
                                  reader_options{start_position::head, log->end_position});
    REQUIRE(tail);
    auto rest = self->request(*tail, 30s, fetch_atom::value, 0u);
    rest.receive(
        [](std::vector<event>& evs, bool end) {
            CHECK(evs.empty());
            CHECK(end);
        },
        [](caf::error& err) { FAIL(to_string(err)); });
    // A position outside the stream is refused.
    stream_position bad;
    bad.offsets[rec.segments[0].id.value] = 1'000'000'000;
    auto refused =
        ask<reader_actor>(self, mgr, open_reader_atom::value, std::string("app"),
                          std::string("words"), reader_options{start_position::head, bad});
    REQUIRE(!refused);
    CHECK(code_of(refused.error()) == errc::bad_offset);
}

TEST_CASE(
    "actor api: a writer refuses writes beyond its byte limit with overloaded and stores "
    "none of them",
    "[system]") {
    api_fixture f;
    auto& self = *f.self;
    auto& mgr = f.mgr;
    f.stream("bp", 1);
    writer_options opts;
    opts.pending_bytes_max = 4096;
    auto w = ask<writer_actor>(self, mgr, open_writer_atom::value, std::string("app"),
                               std::string("bp"), opts);
    REQUIRE(w);
    // The first batch is admitted although it is larger than the limit (nothing is held); the
    // write right behind it finds 10 KiB held and is refused at once.
    std::vector<event_to_write> batch;
    for (int i = 0; i < 10; ++i) {
        batch.push_back({"k", std::string(1000, 'a' + static_cast<char>(i)), no_event_number});
    }
    auto first = self->request(*w, caf::infinite, write_atom::value, batch);
    auto second = self->request(*w, caf::infinite, write_atom::value, std::string("k"),
                                std::string(100, 'z'));
    caf::error refused;
    second.receive([](event_ack&) { FAIL("a write beyond the limit was accepted"); },
                   [&](caf::error& err) { refused = err; });
    CHECK(code_of(refused) == errc::overloaded);
    first.receive([](batch_ack& ack) { CHECK(ack.count == 10); },
                  [](caf::error& err) { FAIL(to_string(err)); });
    REQUIRE(ask<bool>(self, *w, flush_atom::value));
    auto info =
        ask<stream_info>(self, mgr, stream_info_atom::value, std::string("app"), std::string("bp"));
    REQUIRE(info);
    CHECK(info->segments[0].length == 10 * (1000 + event_header_bytes));
}

TEST_CASE(
    "actor api: a writer and a reader whose node stays down answer what is pending and "
    "end with unavailable",
    "[system]") {
    api_fixture f(2s);
    auto& self = *f.self;
    auto& mgr = f.mgr;
    auto& seen_downs = f.seen_downs;
    f.stream("gone", 2);
    auto w = ask<writer_actor>(self, mgr, open_writer_atom::value, std::string("app"),
                               std::string("gone"), writer_options{});
    REQUIRE(w);
    REQUIRE(ask<event_ack>(self, *w, write_atom::value, std::string("k"), std::string("before")));
    auto r = ask<reader_actor>(self, mgr, open_reader_atom::value, std::string("app"),
                               std::string("gone"), reader_options{});
    REQUIRE(r);
    f.node.kill_hard();
    self->monitor(*w);
    self->monitor(*r);
    // A fetch that waits while the node is gone is answered with the give-up error.
    auto fetched = self->request(*r, 60s, fetch_atom::value, 30000u);
    auto lost = ask<event_ack>(self, *w, write_atom::value, std::string("k"), std::string("after"));
    REQUIRE(!lost);
    CHECK(code_of(lost.error()) == errc::unavailable);
    auto wreason = down_reason(self, seen_downs, w->address());
    CHECK(code_of(wreason) == errc::unavailable);
    caf::error ferr;
    fetched.receive([](std::vector<event>&, bool) { FAIL("a fetch answered without a node"); },
                    [&](caf::error& e) { ferr = e; });
    CHECK(code_of(ferr) == errc::unavailable);
    CHECK(code_of(down_reason(self, seen_downs, r->address())) == errc::unavailable);
    // The manager's own calls fail the same way after the retry timeout.
    auto scopes = ask<std::vector<std::string>>(self, mgr, list_scopes_atom::value);
    REQUIRE(!scopes);
}

TEST_CASE(
    "actor api: a subscriber that grants credit slowly keeps the reader's and the node's "
    "memory bounded",
    "[system]") {
    api_fixture f;
    auto& self = *f.self;
    auto& mgr = f.mgr;
    f.stream("big", 4);
    // 256 MiB stored, written through the blocking facade.
    constexpr int events = 64 * 1024;
    {
        auto client = test::connect(f.node.endpoint());
        auto writer = client->create_writer("app", "big");
        REQUIRE(writer);
        std::string payload(4096, 'p');
        for (int i = 0; i < events; ++i) {
            REQUIRE(!(*writer)->write("k" + std::to_string(i % 64), payload));
        }
        REQUIRE(!(*writer)->flush());
    }
    auto node_pid = std::to_string(f.node.pid());
    auto app_before = rss_of("self");
    auto node_before = rss_of(node_pid);
    auto r = ask<reader_actor>(self, mgr, open_reader_atom::value, std::string("app"),
                               std::string("big"), reader_options{});
    REQUIRE(r);
    auto received = std::make_shared<std::atomic<uint64_t>>(0);
    auto sink = f.a.own(f.a.sys->spawn(slow_sink_impl, *r, 10u, received));
    REQUIRE(ask<stream_position>(self, *r, subscribe_atom::value,
                                 caf::actor_cast<event_sink_actor>(sink), uint64_t{1}, 10u));
    uint64_t app_peak = app_before;
    uint64_t node_peak = node_before;
    for (int i = 0; i < 100; ++i) {  // 10 s
        std::this_thread::sleep_for(100ms);
        app_peak = std::max(app_peak, rss_of("self"));
        node_peak = std::max(node_peak, rss_of(node_pid));
    }
    auto got = received->load();
    WARN("slow subscriber: " << got << " events of 4 KiB received in 10 s of " << events
                             << " stored; RSS of this process " << app_before / 1048576
                             << " -> peak " << app_peak / 1048576 << " MiB, of the node "
                             << node_before / 1048576 << " -> peak " << node_peak / 1048576
                             << " MiB");
    // 10 events per 100 ms: about 1,000, never more than granted (the reader asserts it).
    CHECK(got >= 500);
    CHECK(got <= 1010);
    CHECK(app_peak - app_before < 64ull * 1048576);
    CHECK(node_peak - node_before < 64ull * 1048576);
}
