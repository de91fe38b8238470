// The actor client API's contracts on CAF's deterministic test scheduler: the public writer and
// reader actors against a real node's actors (RocksDB in a temporary directory) in the same
// actor system, one message at a time, with virtual time. Credit: a sink never holds more events
// than it granted; acknowledgements come in write order per key; a writer whose node is gone
// answers every pending request with the error before it ends with it.

#include "actors/actors.hpp"
#include "client/actor_api.hpp"
#include "client/internal.hpp"
#include "schema/schema.hpp"
#include "storage/storage.hpp"

#include "tests/support/temp_dir.hpp"
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>

using namespace pravaha;
using namespace pravaha::client;
using namespace std::chrono_literals;

namespace {

// Opens "connections" to the node in this actor system (or refuses them once told to).
caf::behavior connector_impl(caf::event_based_actor*, std::shared_ptr<bool> refuse, node_api node) {
    return {
        [=](caf::connect_atom, const std::string&,
            uint16_t) -> caf::result<caf::node_id, caf::strong_actor_ptr, std::set<std::string>> {
            if (*refuse) {
                return caf::make_error(caf::sec::cannot_connect_to_node, "refused by the test");
            }
            return {caf::node_id{}, caf::actor_cast<caf::strong_actor_ptr>(node),
                    std::set<std::string>{}};
        },
    };
}

struct world {
    test::temp_dir dir;
    std::unique_ptr<storage::log_store> store;
    caf::actor_system_config cfg;
    std::unique_ptr<caf::actor_system> sys;
    caf::scheduler::test_coordinator* sched = nullptr;
    actors::node_actors node;
    std::shared_ptr<bool> refuse = std::make_shared<bool>(false);
    stream_manager_actor mgr;

    world() {
        auto s = storage::open_rocksdb({dir.path()});
        REQUIRE(s);
        store = std::move(*s);
        cfg.set("scheduler.policy", caf::atom("testing"));
        add_actor_api_types(cfg);
        sys = std::make_unique<caf::actor_system>(cfg);
        sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
        actors::node_config ncfg;
        ncfg.store = store.get();
        ncfg.detached = false;
        ncfg.wall_clock_ms = [] { return int64_t{0}; };
        auto n = actors::spawn_node(*sys, ncfg);
        REQUIRE(n);
        node = *n;
        detail::endpoint_info ep;
        ep.host = "127.0.0.1";
        ep.port = 1;
        ep.cfg.retry_timeout = 5s;
        ep.connector = sys->spawn(connector_impl, refuse, node.endpoint);
        ep = detail::spawn_directory(*sys, ep);
        mgr = caf::actor_cast<stream_manager_actor>(detail::spawn_manager(*sys, ep, 1));
        sched->run();
    }

    ~world() {
        caf::anon_send_exit(mgr, caf::exit_reason::user_shutdown);
        stop_node();
        sched->run();
    }

    void stop_node() {
        caf::anon_send_exit(node.endpoint, caf::exit_reason::user_shutdown);
        caf::anon_send_exit(node.controller, caf::exit_reason::user_shutdown);
        for (const auto& c : node.containers) {
            caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
        }
    }

    // Sends `xs` to `dest` and runs everything there is to run, advancing virtual time by 100 ms
    // while no answer came (up to 10 s); returns the answer.
    template <class R, class Handle, class... Ts>
    caf::expected<R> ask(const Handle& dest, Ts&&... xs) {
        caf::scoped_actor self{*sys};
        self->send(dest, std::forward<Ts>(xs)...);
        caf::expected<R> out{caf::make_error(errc::timeout, "no answer")};
        bool answered = false;
        // (Not self->mailbox().size(): that instantiates CAF's inbox in this binary, where
        // UBSan flags the inbox's sentinel downcast.)
        for (int i = 0; i < 100 && !answered; ++i) {
            sched->run();
            self->receive(
                [&](R& r) {
                    out = std::move(r);
                    answered = true;
                },
                [&](caf::error& e) {
                    out = std::move(e);
                    answered = true;
                },
                caf::after(0s) >> [] {});
            if (!answered) {
                sched->advance_time(100ms);
            }
        }
        return out;
    }

    stream_record create_stream(uint32_t segments) {
        REQUIRE(ask<bool>(mgr, create_scope_atom::value, std::string{"s"}));
        auto rec = ask<stream_record>(mgr, create_stream_atom::value, std::string{"s"},
                                      std::string{"t"}, segments);
        REQUIRE(rec);
        return *rec;
    }

    writer_actor open_writer(writer_options opts = {}) {
        auto w = ask<writer_actor>(mgr, open_writer_atom::value, std::string{"s"}, std::string{"t"},
                                   opts);
        REQUIRE(w);
        return *w;
    }
};

// Answers of pipelined writes as they arrive.
struct answers {
    std::map<std::string, std::vector<int>> acked;  // per key, in arrival order
    std::vector<caf::error> errors;
    int batches = 0;
};

// Sends `n` single writes over 5 keys and one batch of `batch` events, all at once.
caf::behavior producer_impl(
    caf::event_based_actor* self, writer_actor w, int n, int batch, std::shared_ptr<answers> out) {
    for (int i = 0; i < n; ++i) {
        auto key = "k" + std::to_string(i % 5);
        self->request(w, caf::infinite, write_atom::value, key, "e" + std::to_string(i))
            .then([out, key, i](event_ack&) { out->acked[key].push_back(i); },
                  [out](caf::error& e) { out->errors.push_back(e); });
    }
    if (batch > 0) {
        std::vector<event_to_write> events;
        for (int i = 0; i < batch; ++i) {
            events.push_back(event_to_write{"b" + std::to_string(i % 3), "x", no_event_number});
        }
        self->request(w, caf::infinite, write_atom::value, std::move(events))
            .then(
                [out, batch](batch_ack& a) {
                    ++out->batches;
                    CHECK(a.count == static_cast<uint32_t>(batch));
                },
                [out](caf::error& e) { out->errors.push_back(e); });
    }
    return {[](int) {}};
}

// A subscriber that records what it holds: every event is "held" until the test processes it
// (and then grants credit for it).
struct sink_view {
    uint64_t received = 0;
    uint64_t granted = 0;
    bool ended = false;
    std::vector<event> events;
};

caf::behavior sink_impl(caf::event_based_actor* self, std::shared_ptr<sink_view> view) {
    return {
        [=](events_atom, uint64_t, std::vector<event>& evs, stream_position&) {
            view->received += evs.size();
            CHECK(view->received <= view->granted);
            for (auto& e : evs) {
                view->events.push_back(std::move(e));
            }
        },
        [=](read_end_atom, uint64_t, stream_position&) {
            view->ended = true;
            self->quit();
        },
    };
}

}  // namespace

TEST_CASE("actor contract: acknowledgements per key in write order and a batch answered once",
          "[client][actor]") {
    world wd;
    wd.create_stream(4);
    auto w = wd.open_writer();
    auto out = std::make_shared<answers>();
    auto producer = wd.sys->spawn(producer_impl, w, 500, 40, out);
    wd.sched->run();
    for (int i = 0; i < 20; ++i) {  // group-commit timers, if any
        wd.sched->advance_time(10ms);
        wd.sched->run();
    }
    CHECK(out->errors.empty());
    CHECK(out->batches == 1);
    int total = 0;
    for (auto& [key, order] : out->acked) {
        CAPTURE(key);
        CHECK(std::is_sorted(order.begin(), order.end()));
        total += static_cast<int>(order.size());
    }
    CHECK(total == 500);
    caf::anon_send_exit(producer, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
}

TEST_CASE("actor contract: a subscriber never gets more events than it granted",
          "[client][actor]") {
    world wd;
    wd.create_stream(3);
    {
        auto w = wd.open_writer();
        auto out = std::make_shared<answers>();
        auto producer = wd.sys->spawn(producer_impl, w, 600, 0, out);
        wd.sched->run();
        REQUIRE(out->errors.empty());
        caf::anon_send_exit(producer, caf::exit_reason::user_shutdown);
        REQUIRE(wd.ask<bool>(w, close_atom::value));
    }
    REQUIRE(
        wd.ask<stream_record>(wd.mgr, seal_stream_atom::value, std::string{"s"}, std::string{"t"}));
    reader_options ro;
    auto r = wd.ask<reader_actor>(wd.mgr, open_reader_atom::value, std::string{"s"},
                                  std::string{"t"}, ro);
    REQUIRE(r);
    auto view = std::make_shared<sink_view>();
    auto sink = caf::actor_cast<event_sink_actor>(wd.sys->spawn(sink_impl, view));
    std::mt19937_64 rng{Catch::rngSeed()};
    CAPTURE(Catch::rngSeed());
    view->granted = rng() % 5;
    REQUIRE(wd.ask<stream_position>(*r, subscribe_atom::value, sink, uint64_t{1},
                                    static_cast<uint32_t>(view->granted)));
    // Grants of 0 to 40 events at random moments until the reader says it is at the end.
    for (int round = 0; round < 2000 && !view->ended; ++round) {
        wd.sched->run();
        CHECK(view->received <= view->granted);
        auto more = static_cast<uint32_t>(rng() % 41);
        view->granted += more;
        caf::anon_send(*r, credit_atom::value, more);
    }
    wd.sched->run();
    CHECK(view->ended);
    CHECK(view->received == 600);
    std::set<std::pair<uint64_t, int64_t>> distinct;
    for (auto& e : view->events) {
        distinct.emplace(e.segment.value, e.offset);
    }
    CHECK(distinct.size() == 600);
}

TEST_CASE(
    "actor contract: a writer whose node is gone answers what is pending and then ends "
    "with the error",
    "[client][actor]") {
    world wd;
    wd.create_stream(2);
    auto w = wd.open_writer();
    REQUIRE(wd.ask<event_ack>(w, write_atom::value, std::string{"k"}, std::string{"first"}));
    // The node stops and cannot be reached again.
    *wd.refuse = true;
    wd.stop_node();
    wd.sched->run();
    auto out = std::make_shared<answers>();
    auto producer = wd.sys->spawn(producer_impl, w, 10, 5, out);
    // Who saw what first: the producer's answers, then the writer's down message.
    auto down_after_answers = std::make_shared<int>(-1);
    // (Spawned with an argument: CAF 0.17's spawn of a function without one binds a null
    // pointer, which UBSan reports.)
    auto watcher = wd.sys->spawn(
        [=](caf::event_based_actor* self, writer_actor watched) -> caf::behavior {
            self->monitor(watched);
            self->set_down_handler([=](caf::down_msg& dm) {
                *down_after_answers = static_cast<int>(out->errors.size());
                CHECK(code_of(dm.reason) == errc::unavailable);
            });
            return {[](int) {}};
        },
        w);
    for (int i = 0; i < 100 && *down_after_answers < 0; ++i) {
        wd.sched->advance_time(200ms);
        wd.sched->run();
    }
    CHECK(*down_after_answers == 11);  // 10 writes and the batch, all before the down message
    CHECK(out->acked.empty());
    for (auto& e : out->errors) {
        CHECK(code_of(e) == errc::unavailable);
    }
    caf::anon_send_exit(producer, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
}

TEST_CASE("actor contract: a writer or reader killed by its owner answers what it holds",
          "[client][actor]") {
    world wd;
    wd.create_stream(2);
    auto w = wd.open_writer();
    reader_options ro;
    auto r = wd.ask<reader_actor>(wd.mgr, open_reader_atom::value, std::string{"s"},
                                  std::string{"t"}, ro);
    REQUIRE(r);
    // With the node gone the writes stay pending (the writer retries), as does a waiting fetch.
    *wd.refuse = true;
    wd.stop_node();
    wd.sched->run();
    auto out = std::make_shared<answers>();
    auto producer = wd.sys->spawn(producer_impl, w, 10, 5, out);
    auto fetched = std::make_shared<caf::error>();
    auto fetcher = wd.sys->spawn(
        [=](caf::event_based_actor* self, reader_actor reader) -> caf::behavior {
            self->request(reader, caf::infinite, fetch_atom::value, uint32_t{60000})
                .then([](std::vector<event>&, bool) { FAIL("events from a stopped node"); },
                      [=](caf::error& e) { *fetched = e; });
            return {[](int) {}};
        },
        *r);
    wd.sched->run();
    wd.sched->advance_time(100ms);
    wd.sched->run();
    REQUIRE(out->errors.empty());  // still pending
    REQUIRE(!*fetched);
    caf::anon_send_exit(w, caf::exit_reason::kill);
    caf::anon_send_exit(*r, caf::exit_reason::kill);
    wd.sched->run();
    CHECK(out->errors.size() == 11);  // 10 writes and the batch
    for (auto& e : out->errors) {
        CHECK(code_of(e) == errc::unavailable);
    }
    CHECK(code_of(*fetched) == errc::unavailable);
    caf::anon_send_exit(producer, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(fetcher, caf::exit_reason::user_shutdown);
}

namespace {

// Writes events `first`..`first + n - 1` over 10 keys ("k<i % 10>", payload "k<i % 10>:<i>").
caf::behavior keyed_producer_impl(
    caf::event_based_actor* self, writer_actor w, int first, int n, std::shared_ptr<answers> out) {
    for (int i = first; i < first + n; ++i) {
        auto key = "k" + std::to_string(i % 10);
        self->request(w, caf::infinite, write_atom::value, key, key + ":" + std::to_string(i))
            .then([out, key, i](event_ack&) { out->acked[key].push_back(i); },
                  [out](caf::error& e) { out->errors.push_back(e); });
    }
    return {[](int) {}};
}

// A reader of s/t from its start with all the credit it wants; what it delivers, in `view`.
std::shared_ptr<sink_view> follow_from_start(world& wd) {
    auto reader = wd.ask<reader_actor>(wd.mgr, open_reader_atom::value, std::string{"s"},
                                       std::string{"t"}, reader_options{});
    REQUIRE(reader);
    auto view = std::make_shared<sink_view>();
    view->granted = 1u << 30;
    auto sink = caf::actor_cast<event_sink_actor>(wd.sys->spawn(sink_impl, view));
    REQUIRE(wd.ask<stream_position>(*reader, subscribe_atom::value, sink, uint64_t{1},
                                    static_cast<uint32_t>(view->granted)));
    return view;
}

// Every event of one segment, in order.
std::vector<std::string> read_all(world& wd, const segment_key& key) {
    std::vector<std::string> out;
    caf::scoped_actor self{*wd.sys};
    int64_t offset = 0;
    for (;;) {
        self->send(wd.node.containers.at(0), read_atom::value,
                   read_request{key, offset, 1 << 20, 0});
        wd.sched->run();
        std::optional<read_result> got;
        self->receive([&](read_result& r) { got = std::move(r); }, [&](caf::error&) {},
                      caf::after(0s) >> [] {});
        REQUIRE(got);
        size_t pos = 0;
        while (auto e = next_event(got->data, pos)) {
            out.emplace_back(*e);
        }
        if (got->next_offset >= got->length) {
            return out;
        }
        offset = got->next_offset;
    }
}

}  // namespace

TEST_CASE("actor contract: a writer follows a split and a merge in per-key order, exactly once",
          "[client][actor][scaling]") {
    world wd;
    auto rec = wd.create_stream(2);
    auto w = wd.open_writer();
    auto out = std::make_shared<answers>();
    const std::string s = "s";
    const std::string t = "t";
    // A reader that follows from the start reads every predecessor before its successors.
    auto view = follow_from_start(wd);
    caf::scoped_actor admin{*wd.sys};
    // Writes in flight while the controller splits segment 0.1 (its keys' events wait for what
    // 0.1 stored), then while it merges the two successors back.
    auto p1 = wd.sys->spawn(keyed_producer_impl, w, 0, 300, out);
    scale_request split{0, {rec.segments[1].id}, *split_range({0.5, 1.0}, 2), false};
    admin->send(wd.node.endpoint, scale_atom::value, s, t, split);
    wd.sched->run();
    scale_result first;
    admin->receive([&](scale_result& r) { first = r; },
                   [&](caf::error& e) { FAIL(render_error(e)); }, caf::after(0s) >> [] {});
    REQUIRE(first.created.size() == 2);
    auto p2 = wd.sys->spawn(keyed_producer_impl, w, 300, 300, out);
    scale_request merge{1, {first.created[0].id, first.created[1].id}, {{0.5, 1.0}}, false};
    admin->send(wd.node.endpoint, scale_atom::value, s, t, merge);
    wd.sched->run();
    admin->receive([&](scale_result& r) { CHECK(r.epoch == 2); },
                   [&](caf::error& e) { FAIL(render_error(e)); }, caf::after(0s) >> [] {});
    auto p3 = wd.sys->spawn(keyed_producer_impl, w, 600, 100, out);
    for (int i = 0; i < 50; ++i) {
        wd.sched->advance_time(100ms);
        wd.sched->run();
    }
    for (const auto& e : out->errors) {
        FAIL_CHECK(render_error(e));
    }
    size_t total = 0;
    for (auto& [key, order] : out->acked) {
        CAPTURE(key);
        CHECK(std::is_sorted(order.begin(), order.end()));
        total += order.size();
    }
    CHECK(total == 700);

    // What is stored: per key, the events of its segments in epoch order are exactly the
    // events written, once each, in write order.
    auto h = wd.ask<std::vector<epoch_info>>(wd.node.endpoint, history_atom::value, s, t);
    REQUIRE(h);
    REQUIRE(h->size() == 3);
    std::map<std::string, std::vector<int>> stored;
    for (const auto& e : *h) {
        for (const auto& seg : e.segments) {
            if (seg.range.id.epoch() != e.epoch) {
                continue;  // listed in the epoch that created it
            }
            for (const auto& ev : read_all(wd, segment_key{rec.uid, seg.range.id})) {
                auto colon = ev.find(':');
                stored[ev.substr(0, colon)].push_back(std::stoi(ev.substr(colon + 1)));
            }
        }
    }
    size_t stored_total = 0;
    for (int k = 0; k < 10; ++k) {
        auto key = "k" + std::to_string(k);
        CAPTURE(key);
        std::vector<int> expected;
        for (int i = k; i < 700; i += 10) {
            expected.push_back(i);
        }
        CHECK(stored[key] == expected);
        stored_total += stored[key].size();
    }
    CHECK(stored_total == 700);

    // The following reader read everything once, each key in write order, and ends with the
    // stream.
    REQUIRE(wd.ask<stream_record>(wd.mgr, seal_stream_atom::value, s, t));
    for (int i = 0; i < 50 && !view->ended; ++i) {
        wd.sched->advance_time(100ms);
        wd.sched->run();
    }
    CHECK(view->ended);
    std::map<std::string, std::vector<int>> read;
    for (const auto& ev : view->events) {
        auto colon = ev.payload.find(':');
        read[ev.payload.substr(0, colon)].push_back(std::stoi(ev.payload.substr(colon + 1)));
    }
    CHECK(read == stored);
    for (auto p : {p1, p2, p3}) {
        caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
    }
    caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
}

namespace {

// Writes events first..first+n-1 numbered as their index, over 10 keys, through `w`.
caf::behavior numbered_producer_impl(
    caf::event_based_actor* self, writer_actor w, int first, int n, std::shared_ptr<answers> out) {
    for (int i = first; i < first + n; ++i) {
        auto key = "k" + std::to_string(i % 10);
        self->request(w, caf::infinite, write_atom::value, key, key + ":" + std::to_string(i),
                      int64_t{i})
            .then([out, key, i](event_ack&) { out->acked[key].push_back(i); },
                  [out](caf::error& e) { out->errors.push_back(e); });
    }
    return {[](int) {}};
}

}  // namespace

TEST_CASE("actor contract: a writer reopened under its id after scales stores no resend twice",
          "[client][actor][scaling]") {
    world wd;
    auto rec = wd.create_stream(2);
    const std::string s = "s";
    const std::string t = "t";
    writer_options opts;
    opts.id = writer_id{7, 7};
    opts.stable_id = true;
    auto run = [&] {
        for (int i = 0; i < 30; ++i) {
            wd.sched->advance_time(100ms);
            wd.sched->run();
        }
    };
    auto out = std::make_shared<answers>();
    auto w1 = wd.open_writer(opts);
    auto p1 = wd.sys->spawn(numbered_producer_impl, w1, 0, 200, out);
    run();
    REQUIRE(out->errors.empty());
    caf::anon_send_exit(w1, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(p1, caf::exit_reason::user_shutdown);

    // The first writer's segments are replaced: 0.1 splits, then 0.0 merges with the lower half.
    auto split = wd.ask<scale_result>(
        wd.node.endpoint, scale_atom::value, s, t,
        scale_request{0, {rec.segments[1].id}, *split_range({0.5, 1.0}, 2), false});
    REQUIRE(split);
    auto merge = wd.ask<scale_result>(
        wd.node.endpoint, scale_atom::value, s, t,
        scale_request{1, {rec.segments[0].id, split->created[0].id}, {{0.0, 0.75}}, false});
    REQUIRE(merge);

    // Reopened on the current epoch, the id learns its highest stored number from the sealed
    // predecessors, and its resends of 100..199 are acknowledged without being stored again.
    auto w2 = wd.open_writer(opts);
    auto last = wd.ask<int64_t>(w2, sessions_atom::value);
    REQUIRE(last);
    CHECK(*last == 199);
    auto again = std::make_shared<answers>();
    auto p2 = wd.sys->spawn(numbered_producer_impl, w2, 100, 110, again);
    run();
    for (const auto& e : again->errors) {
        FAIL_CHECK(render_error(e));
    }
    size_t acked = 0;
    for (const auto& [key, order] : again->acked) {
        acked += order.size();
    }
    CHECK(acked == 110);

    std::map<int, int> copies;
    auto h = wd.ask<std::vector<epoch_info>>(wd.node.endpoint, history_atom::value, s, t);
    REQUIRE(h);
    for (const auto& e : *h) {
        for (const auto& seg : e.segments) {
            if (seg.range.id.epoch() != e.epoch) {
                continue;
            }
            for (const auto& ev : read_all(wd, segment_key{rec.uid, seg.range.id})) {
                ++copies[std::stoi(ev.substr(ev.find(':') + 1))];
            }
        }
    }
    CHECK(copies.size() == 210);
    for (const auto& [n, c] : copies) {
        CAPTURE(n);
        CHECK(c == 1);
    }
    caf::anon_send_exit(p2, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(w2, caf::exit_reason::user_shutdown);
}

TEST_CASE("actor contract: a writer follows a roll that commits a transaction begun before a split",
          "[client][actor][scaling][txn]") {
    world wd;
    auto rec = wd.create_stream(2);
    auto w = wd.open_writer();
    auto out = std::make_shared<answers>();
    const std::string s = "s";
    const std::string t = "t";
    auto view = follow_from_start(wd);
    // A transaction of epoch 0: 100 events over the 10 keys (numbered 10000 and up), written
    // into its segments as its writer would.
    txn_request begin;
    begin.op = txn_op::begin;
    begin.scope = s;
    begin.stream = t;
    begin.lease_ms = 60'000;
    auto txn = wd.ask<txn_record>(wd.node.endpoint, txn_atom::value, begin);
    REQUIRE(txn);
    std::map<size_t, append_block> parts;
    for (int i = 0; i < 100; ++i) {
        auto key = "k" + std::to_string(i % 10);
        auto at = find_range(rec.segments, routing_key_hash(key));
        auto& b = parts[at];
        b.key = txn->segments.at(at).key;
        b.writer = writer_id{9, 9};
        b.last_event_number = b.event_count;
        ++b.event_count;
        frame_event(b.data, key + ":" + std::to_string(10000 + i));
    }
    for (auto& [at, b] : parts) {
        b.first_event_number = 0;
        REQUIRE(wd.ask<append_ack>(wd.node.containers.at(0), append_atom::value, b));
    }
    // Plain writes before and while segment 0.1 splits, while the transaction commits (a roll:
    // the writer hops from the split's segments over the sealed duplicates to the new current
    // ones), and after.
    caf::scoped_actor admin{*wd.sys};
    auto p1 = wd.sys->spawn(keyed_producer_impl, w, 0, 300, out);
    scale_request split{0, {rec.segments[1].id}, *split_range({0.5, 1.0}, 2), false};
    admin->send(wd.node.endpoint, scale_atom::value, s, t, split);
    wd.sched->run();
    admin->receive([&](scale_result& r) { CHECK(r.epoch == 1); },
                   [&](caf::error& e) { FAIL(render_error(e)); }, caf::after(0s) >> [] {});
    auto p2 = wd.sys->spawn(keyed_producer_impl, w, 300, 300, out);
    txn_request commit = begin;
    commit.op = txn_op::commit;
    commit.id = txn->id;
    admin->send(wd.node.endpoint, txn_atom::value, commit);
    wd.sched->run();
    admin->receive([&](txn_record& r) { CHECK(r.state == txn_state::committed); },
                   [&](caf::error& e) { FAIL(render_error(e)); }, caf::after(0s) >> [] {});
    auto p3 = wd.sys->spawn(keyed_producer_impl, w, 600, 100, out);
    for (int i = 0; i < 50; ++i) {
        wd.sched->advance_time(100ms);
        wd.sched->run();
    }
    for (const auto& e : out->errors) {
        FAIL_CHECK(render_error(e));
    }
    size_t total = 0;
    for (auto& [key, order] : out->acked) {
        CHECK(std::is_sorted(order.begin(), order.end()));
        total += order.size();
    }
    CHECK(total == 700);
    auto h = wd.ask<std::vector<epoch_info>>(wd.node.endpoint, history_atom::value, s, t);
    REQUIRE(h);
    REQUIRE(h->size() == 4);
    CHECK(h->at(2).rolled);

    // The reader that followed from the start: per key, the plain events once each in write
    // order, and the transaction's events once each, together, in write order.
    REQUIRE(wd.ask<stream_record>(wd.mgr, seal_stream_atom::value, s, t));
    for (int i = 0; i < 50 && !view->ended; ++i) {
        wd.sched->advance_time(100ms);
        wd.sched->run();
    }
    CHECK(view->ended);
    std::map<std::string, std::vector<int>> read;
    for (const auto& ev : view->events) {
        auto colon = ev.payload.find(':');
        read[ev.payload.substr(0, colon)].push_back(std::stoi(ev.payload.substr(colon + 1)));
    }
    REQUIRE(read.size() == 10);
    for (int k = 0; k < 10; ++k) {
        auto key = "k" + std::to_string(k);
        CAPTURE(key);
        std::vector<int> plain;
        std::vector<int> in_txn;
        std::vector<int> expected_txn;
        for (int i = k; i < 100; i += 10) {
            expected_txn.push_back(10000 + i);
        }
        std::vector<int> expected_plain;
        for (int i = k; i < 700; i += 10) {
            expected_plain.push_back(i);
        }
        size_t first_txn = read[key].size();
        for (size_t i = 0; i < read[key].size(); ++i) {
            int v = read[key][i];
            (v >= 10000 ? in_txn : plain).push_back(v);
            if (v >= 10000 && first_txn == read[key].size()) {
                first_txn = i;
            }
        }
        CHECK(plain == expected_plain);
        CHECK(in_txn == expected_txn);
        // Together: nothing between the transaction's first and last event of the key.
        REQUIRE(first_txn + in_txn.size() <= read[key].size());
        CHECK(
            std::all_of(read[key].begin() + static_cast<std::ptrdiff_t>(first_txn),
                        read[key].begin() + static_cast<std::ptrdiff_t>(first_txn + in_txn.size()),
                        [](int v) { return v >= 10000; }));
    }
    for (auto p : {p1, p2, p3}) {
        caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
    }
    caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
}
