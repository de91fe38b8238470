// The container actor on CAF's deterministic test scheduler: one message at a time, virtual time.

#include "actors/actors.hpp"
#include "schema/schema.hpp"
#include "storage/storage.hpp"

#include "tests/support/temp_dir.hpp"
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

using namespace pravaha;

namespace {

struct fixture {
    test::temp_dir dir;
    std::unique_ptr<storage::log_store> store;
    caf::actor_system_config cfg;
    std::unique_ptr<caf::actor_system> sys;
    caf::scheduler::test_coordinator* sched = nullptr;
    actors::container_actor container;
    const segment_key seg{stream_uid{1}, segment_id::make(0, 0)};

    explicit fixture(size_t pending_bytes_max = actors::container_config{}.pending_bytes_max) {
        auto s = storage::open_rocksdb({dir.path()});
        REQUIRE(s);
        store = std::move(*s);
        cfg.set("scheduler.policy", caf::atom("testing"));
        add_message_types(cfg);
        sys = std::make_unique<caf::actor_system>(cfg);
        sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
        actors::container_config ccfg;
        ccfg.store = store.get();
        ccfg.pending_bytes_max = pending_bytes_max;
        auto c = actors::spawn_container(*sys, ccfg);
        REQUIRE(c);
        container = *c;
        sched->run();
    }

    ~fixture() {
        caf::anon_send_exit(container, caf::exit_reason::user_shutdown);
        sched->run();
    }

    append_block block(int64_t first, std::vector<std::string> events) const {
        append_block b;
        b.key = seg;
        b.writer = writer_id{7, 7};
        b.first_event_number = first;
        b.event_count = static_cast<uint32_t>(events.size());
        b.last_event_number = first + static_cast<int64_t>(events.size()) - 1;
        for (auto& e : events) {
            frame_event(b.data, e);
        }
        return b;
    }
};

}  // namespace

TEST_CASE("container actor group-commits appends that arrive during a flush", "[actors]") {
    fixture f;
    caf::scoped_actor self{*f.sys};
    self->send(f.container, create_segment_atom::value, f.seg);
    f.sched->run();
    bool created = false;
    self->receive([&](bool ok) { created = ok; });
    REQUIRE(created);

    // Three appends queued before the container runs: the flush the first one schedules runs
    // behind the other two, so all three share one group commit.
    self->send(f.container, append_atom::value, f.block(0, {"a"}));
    self->send(f.container, append_atom::value, f.block(1, {"b"}));
    self->send(f.container, append_atom::value, f.block(2, {"c"}));
    f.sched->run();
    std::vector<append_ack> acks;
    for (int i = 0; i < 3; ++i) {
        self->receive([&](const append_ack& a) { acks.push_back(a); },
                      [&](caf::error& e) { FAIL(render_error(e)); },
                      caf::after(std::chrono::seconds(0)) >> [] {});
    }
    REQUIRE(acks.size() == 3);
    CHECK(acks[0].end_offset == 9);
    CHECK(acks[2].end_offset == 27);
    // What a restart recovers: two groups were committed, create and {a, b, c}.
    storage::local_log log(*f.store, 0);
    REQUIRE(!log.open());
    storage::container_state recovered(*f.store, 0);
    REQUIRE(!recovered.recover(log));
    CHECK(recovered.applied_index() == 2);
}

TEST_CASE("container actor merges a transaction's parts in one group, after their own appends",
          "[actors][txn]") {
    fixture f;
    caf::scoped_actor self{*f.sys};
    auto expect = [&](size_t n) {
        for (size_t i = 0; i < n; ++i) {
            self->receive([](bool) {}, [](int64_t) {}, [](const append_ack&) {},
                          [&](caf::error& e) { FAIL(render_error(e)); },
                          caf::after(std::chrono::seconds(0)) >> [&] { FAIL("no answer"); });
        }
    };
    const segment_key other{stream_uid{1}, segment_id::make(0, 1)};
    const segment_key part0{stream_uid{1}, segment_id::make(0, 100)};
    const segment_key part1{stream_uid{1}, segment_id::make(0, 101)};
    for (const auto& k : {f.seg, other}) {
        self->send(f.container, create_segment_atom::value, k);
    }
    for (const auto& k : {part0, part1}) {
        self->send(f.container, create_txn_segment_atom::value, k, int64_t{1 << 20});
    }
    f.sched->run();
    expect(4);
    auto part = [&](const segment_key& k, const std::string& e) {
        auto b = f.block(0, {e});
        b.key = k;
        return b;
    };
    self->send(f.container, append_atom::value, part(part0, "x"));
    f.sched->run();
    expect(1);
    auto entries = [&] {
        storage::local_log l(*f.store, 0);
        REQUIRE(!l.open());
        storage::container_state recovered(*f.store, 0);
        REQUIRE(!recovered.recover(l));
        return recovered.applied_index();
    };
    auto before = entries();
    // The second part's append waits with the merges: the merge of its source flushes it first
    // (an entry of its own); the two merges then share one entry.
    self->send(f.container, append_atom::value, part(part1, "y"));
    self->send(f.container, merge_segment_atom::value, f.seg, part0);
    self->send(f.container, merge_segment_atom::value, other, part1);
    f.sched->run();
    expect(3);
    CHECK(entries() == before + 2);
    self->send(f.container, read_atom::value, read_request{other, 0, 1024, 0});
    f.sched->run();
    self->receive([](const read_result& r) { CHECK(r.data.size() == 9); },
                  [&](caf::error& e) { FAIL(render_error(e)); });
}

TEST_CASE("container actor parks tail reads until data arrives or the wait ends", "[actors]") {
    fixture f;
    caf::scoped_actor self{*f.sys};
    self->send(f.container, create_segment_atom::value, f.seg);
    f.sched->run();
    self->receive([](bool) {});

    self->send(f.container, read_atom::value, read_request{f.seg, 0, 1024, 5000});
    f.sched->run();
    bool answered = false;
    self->receive([&](const read_result&) { answered = true; },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    CHECK(!answered);  // parked at the tail

    self->send(f.container, append_atom::value, f.block(0, {"x"}));
    f.sched->run();
    read_result got;
    int acks = 0;
    for (int i = 0; i < 2; ++i) {
        self->receive([&](const read_result& r) { got = r; }, [&](const append_ack&) { ++acks; });
    }
    CHECK(acks == 1);
    size_t pos = 0;
    CHECK(next_event(got.data, pos) == std::optional<std::string_view>("x"));
    CHECK(got.next_offset == 9);

    // A second tail read ends empty when its wait passes (virtual time).
    self->send(f.container, read_atom::value, read_request{f.seg, 9, 1024, 5000});
    f.sched->run();
    CHECK(f.sched->advance_time(std::chrono::milliseconds(4999)) == 0);
    // Two timers fire: the first read's (already answered with data, so ignored) and this one's.
    CHECK(f.sched->advance_time(std::chrono::milliseconds(1)) == 2);
    f.sched->run();
    bool empty = false;
    self->receive([&](const read_result& r) { empty = r.data.empty() && r.offset == 9; });
    CHECK(empty);
}

TEST_CASE("container actor rejects bad appends without logging them", "[actors]") {
    fixture f;
    caf::scoped_actor self{*f.sys};
    self->send(f.container, append_atom::value, f.block(0, {"a"}));
    f.sched->run();
    errc code = errc::none;
    self->receive([&](const append_ack&) {}, [&](caf::error& e) { code = code_of(e); });
    CHECK(code == errc::segment_not_found);
    storage::local_log log(*f.store, 0);
    REQUIRE(!log.open());
    CHECK(log.last_index() == 0);
}

TEST_CASE("container actor refuses appends beyond its queue bound with overloaded, then takes them",
          "[actors]") {
    fixture f(1000);  // bytes of appends waiting for the next group commit
    caf::scoped_actor self{*f.sys};
    self->send(f.container, create_segment_atom::value, f.seg);
    f.sched->run();
    self->receive([&](bool) {});
    std::string big(600, 'x');
    // The first append starts a flush; the second waits (600 bytes); the third would make the
    // queue 1200 bytes: refused, nothing of it stored.
    self->send(f.container, append_atom::value, f.block(0, {"a"}));
    self->send(f.container, append_atom::value, f.block(1, {big}));
    self->send(f.container, append_atom::value, f.block(2, {big}));
    f.sched->run();
    std::vector<int64_t> acked;
    std::vector<errc> errors;
    for (int i = 0; i < 3; ++i) {
        self->receive([&](const append_ack& a) { acked.push_back(a.last_event_number); },
                      [&](const caf::error& e) { errors.push_back(code_of(e)); });
    }
    CHECK(acked == std::vector<int64_t>{0, 1});
    REQUIRE(errors == std::vector<errc>{errc::overloaded});
    // Resent once the queue drained: accepted, in order.
    self->send(f.container, append_atom::value, f.block(2, {big}));
    f.sched->run();
    int64_t last = -1;
    self->receive([&](const append_ack& a) { last = a.last_event_number; });
    CHECK(last == 2);
    self->send(f.container, read_atom::value, read_request{f.seg, 0, 1 << 20, 0});
    f.sched->run();
    size_t events = 0;
    self->receive([&](const read_result& r) {
        size_t pos = 0;
        while (next_event(r.data, pos)) {
            ++events;
        }
    });
    CHECK(events == 3);
}
