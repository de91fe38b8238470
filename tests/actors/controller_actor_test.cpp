// The controller actor with a container on CAF's deterministic test scheduler.

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

// The controller's view of the store: writes fail once `broken` is set (as after a failed fsync,
// when the store takes no writes any more).
class breakable_store final : public storage::log_store {
public:
    storage::log_store* real = nullptr;
    bool broken = false;
    caf::expected<std::optional<std::string>> get(std::string_view key) override {
        return real->get(key);
    }
    caf::error write(const storage::write_batch& batch, bool sync) override {
        if (broken) {
            return caf::make_error(errc::storage_io, "writes stopped after a failed fsync");
        }
        return real->write(batch, sync);
    }
    caf::error scan(std::string_view from,
                    std::string_view to,
                    const std::function<bool(std::string_view, std::string_view)>& fn) override {
        return real->scan(from, to, fn);
    }
    caf::expected<std::optional<std::pair<std::string, std::string>>> floor(
        std::string_view lower, std::string_view key) override {
        return real->floor(lower, key);
    }
    caf::expected<std::unique_ptr<storage::store_view>> view() override { return real->view(); }
};

struct world {
    test::temp_dir dir;
    std::unique_ptr<storage::log_store> store;
    breakable_store controller_store;
    caf::actor_system_config cfg;
    std::unique_ptr<caf::actor_system> sys;
    caf::scheduler::test_coordinator* sched = nullptr;
    actors::container_actor container;
    actors::controller_actor controller;

    world() {
        auto s = storage::open_rocksdb({dir.path()});
        REQUIRE(s);
        store = std::move(*s);
        cfg.set("scheduler.policy", caf::atom("testing"));
        add_message_types(cfg);
        start();
    }

    // `with_controller` false: only the container runs (a crash's partial work is made by hand).
    void start(bool with_controller = true) {
        sys = std::make_unique<caf::actor_system>(cfg);
        sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
        actors::container_config ccfg;
        ccfg.store = store.get();
        auto c = actors::spawn_container(*sys, ccfg);
        REQUIRE(c);
        container = *c;
        if (!with_controller) {
            sched->run();
            return;
        }
        actors::controller_config kcfg;
        controller_store.real = store.get();
        kcfg.store = &controller_store;
        kcfg.container = container;
        kcfg.detached = false;
        kcfg.wall_clock_ms = [] { return int64_t{42}; };
        auto k = actors::spawn_controller(*sys, kcfg);
        REQUIRE(k);
        controller = *k;
        sched->run();
    }

    void stop() {
        if (controller) {
            caf::anon_send_exit(controller, caf::exit_reason::user_shutdown);
        }
        caf::anon_send_exit(container, caf::exit_reason::user_shutdown);
        sched->run();
        container = nullptr;
        controller = nullptr;
        sys.reset();
    }

    ~world() {
        if (sys) {
            stop();
        }
    }

    // Sends one request to `dest` from a scoped actor, runs the world, and returns the answer.
    template <class R, class Dest, class... Ts>
    caf::expected<R> ask_of(const Dest& dest, Ts... xs) {
        caf::scoped_actor self{*sys};
        self->send(dest, xs...);
        sched->run();
        return answer<R>(self);
    }

    template <class R, class... Ts>
    caf::expected<R> ask(Ts... xs) {
        return ask_of<R>(controller, xs...);
    }

    // The answer waiting in `self`'s mailbox (after the world ran), or timeout.
    template <class R>
    static caf::expected<R> answer(caf::scoped_actor& self) {
        caf::expected<R> out{caf::make_error(errc::timeout, "no answer")};
        self->receive([&](R& r) { out = std::move(r); }, [&](caf::error& e) { out = std::move(e); },
                      caf::after(std::chrono::seconds(0)) >> [] {});
        return out;
    }

    caf::expected<segment_status> status(const segment_key& key) {
        return ask_of<segment_status>(container, segment_status_atom::value, key);
    }
};

}  // namespace

TEST_CASE("controller creates, seals and deletes a stream's segments in the container",
          "[actors]") {
    world w;
    REQUIRE(w.ask<bool>(create_scope_atom::value, std::string("s")));
    auto rec = w.ask<stream_record>(create_stream_atom::value, std::string("s"), std::string("t"),
                                    uint32_t{3});
    REQUIRE(rec);
    CHECK(rec->created_ms == 42);
    REQUIRE(rec->segments.size() == 3);
    for (auto& seg : rec->segments) {
        auto st = w.status(segment_key{rec->uid, seg.id});
        REQUIRE(st);
        CHECK(!st->sealed);
    }
    auto info = w.ask<stream_info>(stream_info_atom::value, std::string("s"), std::string("t"));
    REQUIRE(info);
    CHECK(info->segments.size() == 3);

    auto del = w.ask<bool>(delete_stream_atom::value, std::string("s"), std::string("t"));
    CHECK(code_of(del.error()) == errc::stream_not_sealed);
    REQUIRE(w.ask<stream_record>(seal_stream_atom::value, std::string("s"), std::string("t")));
    for (auto& seg : rec->segments) {
        CHECK(w.status(segment_key{rec->uid, seg.id})->sealed);
    }
    REQUIRE(w.ask<bool>(delete_stream_atom::value, std::string("s"), std::string("t")));
    for (auto& seg : rec->segments) {
        CHECK(code_of(w.status(segment_key{rec->uid, seg.id}).error()) == errc::segment_not_found);
    }
    CHECK(code_of(w.ask<stream_info>(stream_info_atom::value, std::string("s"), std::string("t"))
                      .error()) == errc::stream_not_found);
}

TEST_CASE("controller stops when its store fails a write (the node restarts and recovers)",
          "[actors]") {
    world w;
    REQUIRE(w.ask<bool>(create_scope_atom::value, std::string("s")));
    caf::scoped_actor watcher{*w.sys};
    watcher->monitor(w.controller);
    w.controller_store.broken = true;
    auto rec = w.ask<stream_record>(create_stream_atom::value, std::string("s"), std::string("t"),
                                    uint32_t{1});
    REQUIRE(!rec);
    CHECK(code_of(rec.error()) == errc::storage_io);
    bool down = false;
    watcher->receive([&](caf::down_msg& dm) { down = code_of(dm.reason) == errc::storage_io; },
                     caf::after(std::chrono::seconds(0)) >> [] {});
    CHECK(down);
}

TEST_CASE("controller re-creates segments whose creation a crash cut short", "[actors]") {
    world w;
    // A stream record persisted without its segments: what a crash between the controller's
    // synced record write and the container's segment creation leaves behind.
    stream_uid uid;
    {
        storage::controller_state meta(*w.store);
        REQUIRE(!meta.load());
        REQUIRE(!meta.create_scope("s"));
        auto rec = meta.create_stream("s", "t", 2, 0);
        REQUIRE(rec);
        uid = rec->uid;
    }
    w.stop();
    w.start();  // the controller loads the record and re-issues the creates
    CHECK(w.status(segment_key{uid, segment_id::make(0, 0)}));
    CHECK(w.status(segment_key{uid, segment_id::make(0, 1)}));
}

namespace {

const std::string S = "s";
const std::string T = "t";

scale_request split_request(const stream_record& rec, size_t index, uint32_t parts) {
    const auto& seg = rec.segments.at(index);
    scale_request req;
    req.expected_epoch = rec.epoch;
    req.seal = {seg.id};
    req.create = *split_range({seg.key_start, seg.key_end}, parts);
    return req;
}

// Appends one event to a segment through the container, without a writer session.
void append_one(world& w, const segment_key& key, const std::string& payload) {
    caf::scoped_actor self{*w.sys};
    append_block b;
    b.key = key;
    b.writer = writer_id{1, key.segment.value + 1};
    b.event_count = 1;
    frame_event(b.data, payload);
    self->send(w.container, append_atom::value, b);
    w.sched->run();
    bool acked = false;
    self->receive([&](append_ack&) { acked = true; }, [&](caf::error&) {},
                  caf::after(std::chrono::seconds(0)) >> [] {});
    REQUIRE(acked);
}

}  // namespace

TEST_CASE("controller scales a stream: successors created, predecessors sealed, epoch moved",
          "[actors][scaling]") {
    world w;
    REQUIRE(w.ask<bool>(create_scope_atom::value, S));
    auto rec = w.ask<stream_record>(create_stream_atom::value, S, T, uint32_t{2},
                                    scaling_policy{scale_type::by_events, 100, 3, 2});
    REQUIRE(rec);
    CHECK(rec->policy.type == scale_type::by_events);
    append_one(w, {rec->uid, rec->segments[1].id}, "before the split");
    auto split = w.ask<scale_result>(scale_atom::value, S, T, split_request(*rec, 1, 2));
    REQUIRE(split);
    CHECK(split->epoch == 1);
    REQUIRE(split->created.size() == 2);
    auto pred = w.status({rec->uid, rec->segments[1].id});
    REQUIRE(pred);
    CHECK(pred->sealed);
    for (const auto& s : split->created) {
        auto st = w.status({rec->uid, s.id});
        REQUIRE(st);
        CHECK(!st->sealed);
    }
    auto info = w.ask<stream_info>(stream_info_atom::value, S, T);
    REQUIRE(info);
    CHECK(info->record.epoch == 1);
    CHECK(!info->record.has_transition);
    REQUIRE(info->segments.size() == 3);
    CHECK(info->segments[0].predecessors.empty());
    CHECK(info->segments[1].predecessors == std::vector<segment_id>{rec->segments[1].id});
    // The same request again (a client retry) answers the same scale.
    auto again = w.ask<scale_result>(scale_atom::value, S, T, split_request(*rec, 1, 2));
    REQUIRE(again);
    CHECK(*again == *split);

    // Merge the two successors back; then history, successors and cuts tell the whole story.
    scale_request merge{1, {split->created[0].id, split->created[1].id}, {{0.5, 1.0}}, false};
    auto merged = w.ask<scale_result>(scale_atom::value, S, T, merge);
    REQUIRE(merged);
    CHECK(merged->epoch == 2);
    auto h = w.ask<std::vector<epoch_info>>(history_atom::value, S, T);
    REQUIRE(h);
    REQUIRE(h->size() == 3);
    CHECK(h->at(0).segments[1].sealed_length == pred->length);
    CHECK(h->at(0).segments[1].sealed_length > 0);
    CHECK(h->at(1).segments[1].sealed_length == 0);
    CHECK(h->at(2).segments[1].predecessors.size() == 2);
    auto succ = w.ask<segment_successors>(successors_atom::value, S, T, split->created[0].id);
    REQUIRE(succ);
    CHECK(succ->sealed);
    REQUIRE(succ->list.size() == 1);
    CHECK(succ->list[0].range.id == merged->created[0].id);
    auto head = w.ask<stream_cut>(stream_cut_atom::value, S, T, true);
    REQUIRE(head);
    CHECK(to_string(*head) == std::to_string(rec->uid.value) + ":0.0@0,0.1@0");
    auto tail = w.ask<stream_cut>(stream_cut_atom::value, S, T, false);
    REQUIRE(tail);
    CHECK(to_string(*tail) == std::to_string(rec->uid.value) + ":0.0@0,2.4@0");
    auto resolved = w.ask<stream_cut>(resolve_cut_atom::value, S, T, *head);
    REQUIRE(resolved);
    auto beyond = *tail;
    beyond.segments[1].offset = 1;  // past the live segment's end
    CHECK(code_of(w.ask<stream_cut>(resolve_cut_atom::value, S, T, beyond).error()) ==
          errc::invalid_argument);

    // A scale of segments no longer current is refused with the controller's words.
    auto stale = w.ask<scale_result>(scale_atom::value, S, T, split_request(*rec, 0, 2));
    REQUIRE(stale);  // 0.0 is still current: fine
    auto gone = w.ask<scale_result>(scale_atom::value, S, T, merge);
    REQUIRE(gone);  // the merge's retry: its answer again
    CHECK(*gone == *merged);

    // Delete removes the segments of every epoch.
    REQUIRE(w.ask<stream_record>(seal_stream_atom::value, S, T));
    REQUIRE(w.ask<bool>(delete_stream_atom::value, S, T));
    for (const auto& e : *h) {
        for (const auto& seg : e.segments) {
            CHECK(code_of(w.status({rec->uid, seg.range.id}).error()) == errc::segment_not_found);
        }
    }
}

TEST_CASE("controller refuses a second workflow while a scale runs", "[actors][scaling]") {
    world w;
    REQUIRE(w.ask<bool>(create_scope_atom::value, S));
    auto rec = w.ask<stream_record>(create_stream_atom::value, S, T, uint32_t{2});
    REQUIRE(rec);
    // Three requests in the mailbox at once: the scale commits and waits for the container, the
    // seal and the other scale find it running.
    caf::scoped_actor self{*w.sys};
    self->send(w.controller, scale_atom::value, S, T, split_request(*rec, 0, 2));
    self->send(w.controller, seal_stream_atom::value, S, T);
    self->send(w.controller, scale_atom::value, S, T, split_request(*rec, 1, 2));
    self->send(w.controller, scale_atom::value, S, T, split_request(*rec, 0, 2));
    w.sched->run();
    std::vector<errc> codes;
    std::vector<uint32_t> epochs;
    for (int i = 0; i < 4; ++i) {
        self->receive(
            [&](scale_result& r) { epochs.push_back(r.epoch); },
            [&](stream_record&) { codes.push_back(errc::none); },
            [&](caf::error& e) { codes.push_back(code_of(e)); },
            caf::after(std::chrono::seconds(0)) >> [&] { codes.push_back(errc::timeout); });
    }
    CHECK(epochs == std::vector<uint32_t>{1, 1});  // the scale and its retry
    CHECK(codes == std::vector<errc>{errc::conflict, errc::conflict});
    auto info = w.ask<stream_info>(stream_info_atom::value, S, T);
    REQUIRE(info);
    CHECK(info->record.epoch == 1);
    CHECK(info->record.state == stream_state::active);
}

TEST_CASE("controller finishes a scale that a crash cut off", "[actors][scaling]") {
    world w;
    REQUIRE(w.ask<bool>(create_scope_atom::value, S));
    auto rec = w.ask<stream_record>(create_stream_atom::value, S, T, uint32_t{2});
    REQUIRE(rec);
    append_one(w, {rec->uid, rec->segments[0].id}, "stored before the crash");
    bool sealed_before = GENERATE(false, true);
    CAPTURE(sealed_before);
    if (sealed_before) {
        caf::scoped_actor self{*w.sys};
        self->send(w.container, seal_segment_atom::value,
                   segment_key{rec->uid, rec->segments[0].id});
        w.sched->run();
        self->receive([](bool) {}, caf::after(std::chrono::seconds(0)) >> [] { FAIL("no seal"); });
    }
    w.stop();
    // What a crash right after scale_begin leaves: the intent and the new epoch recorded,
    // no successor created, and (in one variant) the predecessor already sealed.
    scale_result begun;
    {
        storage::controller_state meta(*w.store);
        REQUIRE(!meta.load());
        auto r = meta.scale_begin(S, T, split_request(*rec, 0, 3), 50);
        REQUIRE(r);
        begun = *r;
    }
    w.start();  // loads the intent and resumes the scale
    auto info = w.ask<stream_info>(stream_info_atom::value, S, T);
    REQUIRE(info);
    CHECK(info->record.epoch == 1);
    CHECK(!info->record.has_transition);
    CHECK(info->segments.size() == 4);
    CHECK(w.status({rec->uid, rec->segments[0].id})->sealed);
    for (const auto& s : begun.created) {
        CHECK(w.status({rec->uid, s.id}));
    }
    auto h = w.ask<std::vector<epoch_info>>(history_atom::value, S, T);
    REQUIRE(h);
    REQUIRE(h->size() == 2);
    CHECK(h->at(0).segments[0].sealed_length > 0);
}

TEST_CASE("controller runs reader groups: joins, leases, checkpoints, lag and restarts",
          "[actors][groups]") {
    using namespace std::chrono_literals;
    world w;
    REQUIRE(w.ask<bool>(create_scope_atom::value, S));
    REQUIRE(w.ask<stream_record>(create_stream_atom::value, S, T, uint32_t{2}));
    group_config cfg;
    cfg.streams.push_back({S, T, {}, {}});  // from the head
    cfg.lease_ms = 1000;
    cfg.checkpoint_interval_ms = 0;
    auto made = w.ask<group_info>(group_create_atom::value, S, std::string("g"), cfg);
    REQUIRE(made);
    CHECK(made->unassigned.size() == 2);
    CHECK(made->config.streams[0].start.segments.size() == 2);
    auto again = w.ask<group_info>(group_create_atom::value, S, std::string("g"), cfg);
    REQUIRE(again);  // a retried create
    auto other = cfg;
    other.lease_ms = 2000;
    CHECK(
        code_of(w.ask<group_info>(group_create_atom::value, S, std::string("g"), other).error()) ==
        errc::group_exists);
    auto list = w.ask<std::vector<std::string>>(group_list_atom::value, S);
    REQUIRE(list);
    CHECK(*list == std::vector<std::string>{"g"});

    auto a1 = w.ask<group_assignment>(group_join_atom::value, S, std::string("g"),
                                      group_sync{"r1", 0, {}, {}, {}, {}, true, 1});
    auto a2 = w.ask<group_assignment>(group_join_atom::value, S, std::string("g"),
                                      group_sync{"r2", 0, {}, {}, {}, {}, true, 2});
    REQUIRE(a1);
    REQUIRE(a2);
    CHECK(a1->segments.size() == 2);
    CHECK(a1->lease_ms == 1000);
    CHECK(code_of(w.ask<group_assignment>(group_join_atom::value, S, std::string("g"),
                                          group_sync{"r1", 0, {}, {}, {}, {}, true, 9})
                      .error()) == errc::reader_exists);

    // Lag: nothing written, nothing unread.
    auto info = w.ask<group_info>(group_info_atom::value, S, std::string("g"));
    REQUIRE(info);
    CHECK(info->readers.size() == 2);
    CHECK(info->unread_bytes == 0);

    // A checkpoint waits for both readers; r2 falls silent, its lease passes, and the group
    // declares it offline: the checkpoint completes with r1's record alone.
    std::vector<stream_cut> cuts;
    group_sync s1{"r1", a1->session, {}, {}, {}, {}, true, 0};
    {
        caf::scoped_actor self{*w.sys};
        self->send(w.controller, group_checkpoint_atom::value, S, std::string("g"),
                   std::string("cp"));
        w.sched->run();
        for (const auto& seg : a1->segments) {
            s1.positions.push_back({seg.key, 0});
        }
        auto b1 = w.ask<group_assignment>(group_sync_atom::value, S, std::string("g"), s1);
        REQUIRE(b1);
        CHECK(b1->checkpoints == std::vector<std::string>{"cp"});
        CHECK(b1->release.size() == 1);  // r2 has nothing: r1 gives one back
        s1.recorded = {"cp"};
        REQUIRE(w.ask<group_assignment>(group_sync_atom::value, S, std::string("g"), s1));
        bool answered = false;
        self->receive([&](std::vector<stream_cut>&) { answered = true; },
                      [&](caf::error&) { answered = true; }, caf::after(0s) >> [] {});
        CHECK(!answered);               // r2 has not recorded
        for (int i = 0; i < 12; ++i) {  // 1.2 s: r1 keeps syncing, r2 does not
            w.sched->advance_time(100ms);
            w.sched->run();
            s1.recorded.clear();
            REQUIRE(w.ask<group_assignment>(group_sync_atom::value, S, std::string("g"), s1));
        }
        self->receive([&](std::vector<stream_cut>& c) { cuts = std::move(c); },
                      [&](caf::error& e) { FAIL(render_error(e)); }, caf::after(0s) >> [] {});
    }
    REQUIRE(cuts.size() == 1);
    CHECK(cuts[0].segments.size() == 2);
    CHECK(code_of(w.ask<group_assignment>(group_sync_atom::value, S, std::string("g"),
                                          group_sync{"r2", a2->session, {}, {}, {}, {}, true, 0})
                      .error()) == errc::reader_offline);
    info = w.ask<group_info>(group_info_atom::value, S, std::string("g"));
    REQUIRE(info);
    REQUIRE(info->readers.size() == 1);
    CHECK(info->readers[0].name == "r1");

    // A completed checkpoint is answered at once; after a restart the group is the same and a
    // reset to it makes every reader rejoin.
    auto cp = w.ask<std::vector<stream_cut>>(group_checkpoint_atom::value, S, std::string("g"),
                                             std::string("cp"));
    REQUIRE(cp);
    CHECK(*cp == cuts);
    w.stop();
    w.start();
    info = w.ask<group_info>(group_info_atom::value, S, std::string("g"));
    REQUIRE(info);
    CHECK(info->readers.size() == 1);
    auto gen = w.ask<uint32_t>(group_reset_atom::value, S, std::string("g"), std::string("cp"),
                               std::vector<stream_cut>{}, info->generation);
    REQUIRE(gen);
    CHECK(*gen == 1);
    // Its retry (the answer lost) is taken as done: the group is not reset again.
    auto retried = w.ask<uint32_t>(group_reset_atom::value, S, std::string("g"), std::string("cp"),
                                   std::vector<stream_cut>{}, info->generation);
    REQUIRE(retried);
    CHECK(*retried == 1);
    CHECK(
        code_of(w.ask<group_assignment>(group_sync_atom::value, S, std::string("g"), s1).error()) ==
        errc::reader_offline);
    CHECK(code_of(w.ask<uint32_t>(group_reset_atom::value, S, std::string("g"), std::string("nope"),
                                  std::vector<stream_cut>{}, uint32_t{1})
                      .error()) == errc::invalid_argument);
    REQUIRE(w.ask<bool>(group_delete_atom::value, S, std::string("g")));
    CHECK(code_of(w.ask<group_info>(group_info_atom::value, S, std::string("g")).error()) ==
          errc::group_not_found);
}

// -- transactions --------------------------------------------------------------------------------

namespace {

txn_request txn_req(txn_op op, uint64_t id = 0) {
    txn_request r;
    r.op = op;
    r.scope = "s";
    r.stream = "t";
    r.id = id;
    r.lease_ms = 10'000;
    r.writer = writer_id{1, 2};
    return r;
}

// Appends `events` to `key` through the container as writer `w`, numbered from `first`.
void append_events(world& w,
                   const segment_key& key,
                   const writer_id& writer,
                   int64_t first,
                   const std::vector<std::string>& events) {
    append_block b;
    b.key = key;
    b.writer = writer;
    b.first_event_number = first;
    b.event_count = static_cast<uint32_t>(events.size());
    b.last_event_number = first + static_cast<int64_t>(events.size()) - 1;
    for (const auto& e : events) {
        frame_event(b.data, e);
    }
    REQUIRE(w.ask_of<append_ack>(w.container, append_atom::value, b));
}

std::vector<std::string> read_all(world& w, const segment_key& key) {
    auto r = w.ask_of<read_result>(w.container, read_atom::value, read_request{key, 0, 1 << 20, 0});
    REQUIRE(r);
    std::vector<std::string> out;
    size_t pos = 0;
    while (auto ev = next_event(r->data, pos)) {
        out.emplace_back(*ev);
    }
    return out;
}

// Creates scope s and stream s/t of `segments` and begins a transaction on it.
std::pair<stream_record, txn_record> stream_with_txn(world& w, uint32_t segments) {
    REQUIRE(w.ask<bool>(create_scope_atom::value, S));
    auto rec = w.ask<stream_record>(create_stream_atom::value, S, T, segments);
    REQUIRE(rec);
    auto t = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::begin));
    REQUIRE(t);
    return {*rec, *t};
}

}  // namespace

TEST_CASE("a transaction's events appear in its parents only when it commits, whole",
          "[actors][txn]") {
    world w;
    auto [made, begun] = stream_with_txn(w, 2);
    auto rec = &made;
    auto t = &begun;
    CHECK(t->state == txn_state::open);
    REQUIRE(t->segments.size() == 2);
    segment_key parent{rec->uid, rec->segments[0].id};
    writer_id tw{7, 7};
    append_events(w, parent, writer_id{3, 3}, 0, {"p1"});
    append_events(w, t->segments[0].key, tw, 0, {"t1", "t2"});
    append_events(w, t->segments[1].key, tw, 0, {"u1"});
    append_events(w, parent, writer_id{3, 3}, 1, {"p2"});
    CHECK(read_all(w, parent) == std::vector<std::string>{"p1", "p2"});
    auto status = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::status, t->id));
    REQUIRE(status);
    CHECK(status->state == txn_state::open);

    auto done = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::commit, t->id));
    REQUIRE(done);
    CHECK(done->state == txn_state::committed);
    CHECK(read_all(w, parent) == std::vector<std::string>{"p1", "p2", "t1", "t2"});
    CHECK(read_all(w, segment_key{rec->uid, rec->segments[1].id}) ==
          std::vector<std::string>{"u1"});
    // The transaction segments are gone once it is recorded committed.
    CHECK(code_of(w.status(t->segments[0].key).error()) == errc::segment_not_found);
    // A retried commit answers the same; an abort is refused.
    auto again = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::commit, t->id));
    REQUIRE(again);
    CHECK(again->state == txn_state::committed);
    CHECK(code_of(w.ask<txn_record>(txn_atom::value, txn_req(txn_op::abort, t->id)).error()) ==
          errc::transaction_committed);
    auto list = w.ask<std::vector<txn_record>>(txn_list_atom::value, S, T);
    REQUIRE(list);
    CHECK(list->size() == 1);
    CHECK(code_of(w.ask<txn_record>(txn_atom::value, txn_req(txn_op::status, 12345)).error()) ==
          errc::transaction_not_found);
}

TEST_CASE("an aborted transaction leaves nothing behind", "[actors][txn]") {
    world w;
    auto [made, begun] = stream_with_txn(w, 1);
    auto rec = &made;
    auto t = &begun;
    append_events(w, t->segments[0].key, writer_id{7, 7}, 0, {"t1"});
    auto aborted = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::abort, t->id));
    REQUIRE(aborted);
    CHECK(aborted->state == txn_state::aborted);
    CHECK(aborted->reason == "abort");
    CHECK(code_of(w.status(t->segments[0].key).error()) == errc::segment_not_found);
    CHECK(read_all(w, segment_key{rec->uid, rec->segments[0].id}).empty());
    CHECK(code_of(w.ask<txn_record>(txn_atom::value, txn_req(txn_op::commit, t->id)).error()) ==
          errc::transaction_aborted);
    SECTION("a seal aborts the open ones") {
        auto open = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::begin));
        REQUIRE(open);
        REQUIRE(w.ask<stream_record>(seal_stream_atom::value, S, T));
        auto after = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::status, open->id));
        REQUIRE(after);
        CHECK(after->state == txn_state::aborted);
        CHECK(after->reason == "sealed");
        CHECK(code_of(w.status(open->segments[0].key).error()) == errc::segment_not_found);
    }
}

TEST_CASE("a seal lets a committing transaction finish, then seals", "[actors][txn]") {
    world w;
    auto [made, begun] = stream_with_txn(w, 2);
    auto rec = &made;
    auto t = &begun;
    append_events(w, t->segments[0].key, writer_id{7, 7}, 0, {"t1", "t2"});
    append_events(w, t->segments[1].key, writer_id{7, 7}, 0, {"u1"});
    auto open = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::begin));
    REQUIRE(open);
    // The commit and the seal arrive together: the seal comes while the commit is merged.
    caf::scoped_actor committer{*w.sys};
    caf::scoped_actor sealer{*w.sys};
    committer->send(w.controller, txn_atom::value, txn_req(txn_op::commit, t->id));
    sealer->send(w.controller, seal_stream_atom::value, S, T);
    w.sched->run();
    auto committed = world::answer<txn_record>(committer);
    auto sealed = world::answer<stream_record>(sealer);
    REQUIRE(committed);
    CHECK(committed->state == txn_state::committed);
    INFO((sealed ? std::string("ok") : render_error(sealed.error())));
    REQUIRE(sealed);  // not `conflict`: it waited for the commit
    CHECK(sealed->state == stream_state::sealed);
    CHECK(read_all(w, segment_key{rec->uid, rec->segments[0].id}) ==
          std::vector<std::string>{"t1", "t2"});
    CHECK(read_all(w, segment_key{rec->uid, rec->segments[1].id}) ==
          std::vector<std::string>{"u1"});
    CHECK(w.status(segment_key{rec->uid, rec->segments[0].id})->sealed);
    // The open one was aborted by the seal.
    auto after = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::status, open->id));
    REQUIRE(after);
    CHECK(after->state == txn_state::aborted);
    CHECK(after->reason == "sealed");
}

TEST_CASE("a commit cut short by a crash is finished by the restarted controller",
          "[actors][txn]") {
    world w;
    auto [made, begun] = stream_with_txn(w, 1);
    auto rec = &made;
    auto t = &begun;
    append_events(w, t->segments[0].key, writer_id{7, 7}, 0, {"t1", "t2"});
    w.stop();
    {
        // The commit was recorded, and the crash came before any merge.
        storage::controller_state meta(*w.store);
        REQUIRE(!meta.load());
        auto c = storage::controller_state::command::of(
            storage::controller_state::command::kind::txn_commit, S, T, 0, 50);
        c.txn = t->id;
        auto out = meta.apply(0, c);
        REQUIRE(out);
        REQUIRE(!out->error);
        CHECK(out->txn.state == txn_state::committing);
    }
    w.start();
    auto status = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::status, t->id));
    REQUIRE(status);
    CHECK(status->state == txn_state::committed);
    CHECK(read_all(w, segment_key{rec->uid, rec->segments[0].id}) ==
          std::vector<std::string>{"t1", "t2"});
}

TEST_CASE("a transaction nobody pings is aborted when its lease passes", "[actors][txn]") {
    world w;
    auto [made, begun] = stream_with_txn(w, 1);  // a lease of 10 s
    auto id = begun.id;
    auto pass = [&w](std::chrono::milliseconds d) {
        for (auto t = std::chrono::milliseconds(0); t < d; t += std::chrono::milliseconds(250)) {
            w.sched->advance_time(std::chrono::milliseconds(250));
            w.sched->run();
        }
    };
    // Pinged every 4 s, it stays open well past its lease.
    for (int i = 0; i < 6; ++i) {
        pass(std::chrono::seconds(4));
        auto pinged = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::ping, id));
        REQUIRE(pinged);
        CHECK(pinged->state == txn_state::open);
    }
    // Silent for a lease: aborted, its segments deleted; a late commit is refused.
    pass(std::chrono::seconds(12));
    auto after = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::status, id));
    REQUIRE(after);
    CHECK(after->state == txn_state::aborted);
    CHECK(after->reason == "lease");
    CHECK(code_of(w.status(begun.segments[0].key).error()) == errc::segment_not_found);
    CHECK(code_of(w.ask<txn_record>(txn_atom::value, txn_req(txn_op::commit, id)).error()) ==
          errc::transaction_aborted);
    // A committed one is not touched by its (gone) lease.
    auto other = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::begin));
    REQUIRE(other);
    REQUIRE(w.ask<txn_record>(txn_atom::value, txn_req(txn_op::commit, other->id)));
    pass(std::chrono::seconds(12));
    CHECK(w.ask<txn_record>(txn_atom::value, txn_req(txn_op::status, other->id))->state ==
          txn_state::committed);
}

namespace {

// The events of every segment of epoch `e` of s/t, in key order.
std::vector<std::vector<std::string>> events_of_epoch(world& w, stream_uid uid, uint32_t e) {
    auto h = w.ask<std::vector<epoch_info>>(history_atom::value, S, T);
    REQUIRE(h);
    REQUIRE(e < h->size());
    std::vector<std::vector<std::string>> out;
    for (const auto& seg : h->at(e).segments) {
        out.push_back(read_all(w, segment_key{uid, seg.range.id}));
    }
    return out;
}

}  // namespace

TEST_CASE("a transaction begun before a scale commits after it, through a roll",
          "[actors][txn][roll]") {
    world w;
    auto [rec, t] = stream_with_txn(w, 2);
    bool split = GENERATE(true, false);  // or a merge of the two segments
    CAPTURE(split);
    writer_id tw{7, 7};
    append_events(w, t.segments[0].key, tw, 0, {"t1", "t2"});
    append_events(w, t.segments[1].key, tw, 0, {"u1"});
    append_events(w, segment_key{rec.uid, rec.segments[0].id}, writer_id{3, 3}, 0, {"p1"});
    auto req = split ? split_request(rec, 0, 2)
                     : scale_request{0, {rec.segments[0].id, rec.segments[1].id}, {{0, 1}}, false};
    auto scaled = w.ask<scale_result>(scale_atom::value, S, T, req);
    REQUIRE(scaled);
    append_events(w, segment_key{rec.uid, scaled->created[0].id}, writer_id{4, 4}, 0, {"p2"});

    auto done = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::commit, t.id));
    INFO((done ? std::string("committed") : render_error(done.error())));
    REQUIRE(done);  // was `conflict` before rolling transactions
    CHECK(done->state == txn_state::committed);
    auto info = w.ask<stream_info>(stream_info_atom::value, S, T);
    REQUIRE(info);
    CHECK(info->record.epoch == 3);
    CHECK(!info->record.has_transition);
    // Epoch 2 holds the transaction, each part whole in the duplicate of its parent; the epoch
    // before it (the scale's) and epoch 2 are sealed; epoch 3 is current and empty.
    CHECK(events_of_epoch(w, rec.uid, 2) ==
          std::vector<std::vector<std::string>>{{"t1", "t2"}, {"u1"}});
    auto scale_epoch = events_of_epoch(w, rec.uid, 1);
    CHECK(scale_epoch[0] == std::vector<std::string>{"p2"});
    auto h = w.ask<std::vector<epoch_info>>(history_atom::value, S, T);
    REQUIRE(h);
    REQUIRE(h->size() == 4);
    for (uint32_t e : {1U, 2U}) {
        for (const auto& seg : h->at(e).segments) {
            CHECK(seg.sealed_length >= 0);
            CHECK(w.status({rec.uid, seg.range.id})->sealed);
        }
    }
    for (const auto& s : info->segments) {
        CHECK(!s.sealed);
        CHECK(s.length == 0);
    }
    CHECK(h->at(2).rolled);
    CHECK(h->at(3).rolled);
    // The transaction segments are gone; a retried commit answers committed.
    for (const auto& s : t.segments) {
        CHECK(code_of(w.status(s.key).error()) == errc::segment_not_found);
    }
    auto again = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::commit, t.id));
    REQUIRE(again);
    CHECK(again->state == txn_state::committed);
    CHECK(again->merged_epoch == 2);
    // A transaction of the current epoch commits straight into it.
    auto next = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::begin));
    REQUIRE(next);
    CHECK(next->epoch == 3);
    append_events(w, next->segments[0].key, tw, 0, {"n1"});
    REQUIRE(w.ask<txn_record>(txn_atom::value, txn_req(txn_op::commit, next->id)));
    CHECK(events_of_epoch(w, rec.uid, 3)[0] == std::vector<std::string>{"n1"});
    // A scale after the roll works as ever.
    auto later = w.ask<stream_info>(stream_info_atom::value, S, T);
    REQUIRE(later);
    REQUIRE(w.ask<scale_result>(scale_atom::value, S, T, split_request(later->record, 0, 2)));
}

TEST_CASE("a roll cut short by a crash is finished by the restarted controller",
          "[actors][txn][roll]") {
    world w;
    auto [rec, t] = stream_with_txn(w, 2);
    writer_id tw{7, 7};
    append_events(w, t.segments[0].key, tw, 0, {"t1", "t2"});
    append_events(w, t.segments[1].key, tw, 0, {"u1"});
    REQUIRE(w.ask<scale_result>(scale_atom::value, S, T, split_request(rec, 1, 2)));
    int stage = GENERATE(0, 1, 2, 3);  // how far the container actions got before the crash
    CAPTURE(stage);
    w.stop();
    stream_record rolling;
    {
        // The commit and the roll were recorded.
        storage::controller_state meta(*w.store);
        REQUIRE(!meta.load());
        using kind = storage::controller_state::command::kind;
        auto c = storage::controller_state::command::of(kind::txn_commit, S, T, 0, 50);
        c.txn = t.id;
        REQUIRE(!meta.apply(0, c)->error);
        auto roll =
            meta.apply(0, storage::controller_state::command::of(kind::txn_roll, S, T, 0, 60));
        REQUIRE(roll);
        REQUIRE(!roll->error);
        rolling = roll->record;
    }
    w.start(false);
    std::vector<segment_key> dups;
    std::vector<segment_key> next;
    for (const auto& r : rolling.transition.create) {
        (r.id.epoch() == 2 ? dups : next).push_back({rec.uid, r.id});
    }
    REQUIRE(dups.size() == 2);
    auto act = [&w](auto atom, const segment_key& key) {
        REQUIRE(w.ask_of<bool>(w.container, atom, key));
    };
    if (stage >= 1) {
        for (const auto& k : dups) {
            act(create_segment_atom::value, k);
        }
        REQUIRE(
            w.ask_of<int64_t>(w.container, merge_segment_atom::value, dups[0], t.segments[0].key));
    }
    if (stage >= 2) {
        REQUIRE(
            w.ask_of<int64_t>(w.container, merge_segment_atom::value, dups[1], t.segments[1].key));
        for (const auto& k : dups) {
            act(seal_segment_atom::value, k);
        }
    }
    if (stage >= 3) {
        for (const auto& k : next) {
            act(create_segment_atom::value, k);
        }
        for (auto id : rolling.transition.seal) {
            act(seal_segment_atom::value, segment_key{rec.uid, id});
        }
    }
    w.stop();
    w.start();
    auto status = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::status, t.id));
    REQUIRE(status);
    CHECK(status->state == txn_state::committed);
    CHECK(events_of_epoch(w, rec.uid, 2) ==
          std::vector<std::vector<std::string>>{{"t1", "t2"}, {"u1"}});  // each part once
    auto info = w.ask<stream_info>(stream_info_atom::value, S, T);
    REQUIRE(info);
    CHECK(info->record.epoch == 3);
    CHECK(info->segments.size() == 3);
}

TEST_CASE("a scale waits for a roll, a seal lets it finish", "[actors][txn][roll]") {
    world w;
    auto [rec, t] = stream_with_txn(w, 2);
    append_events(w, t.segments[0].key, writer_id{7, 7}, 0, {"t1"});
    REQUIRE(w.ask<scale_result>(scale_atom::value, S, T, split_request(rec, 0, 2)));
    auto open = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::begin));
    REQUIRE(open);
    auto after_scale = w.ask<stream_info>(stream_info_atom::value, S, T);
    REQUIRE(after_scale);
    // A scale and a seal arrive while the commit's roll runs (recorded, its merges not done):
    // the scale finds the roll running, the seal waits for it.
    caf::scoped_actor committer{*w.sys};
    caf::scoped_actor scaler{*w.sys};
    caf::scoped_actor sealer{*w.sys};
    committer->send(w.controller, txn_atom::value, txn_req(txn_op::commit, t.id));
    auto rolling = [&w] {
        auto bytes = w.store->get(storage::keys::stream(S, T));
        REQUIRE(bytes);
        REQUIRE(*bytes);
        auto r = decode_stream_record(**bytes);
        REQUIRE(r);
        return r->has_transition && r->transition.rolling;
    };
    while (!rolling() && w.sched->try_run_once()) {
    }
    REQUIRE(rolling());
    scaler->send(w.controller, scale_atom::value, S, T, split_request(after_scale->record, 2, 2));
    sealer->send(w.controller, seal_stream_atom::value, S, T);
    w.sched->run();
    auto committed = world::answer<txn_record>(committer);
    auto scaled = world::answer<scale_result>(scaler);
    auto sealed = world::answer<stream_record>(sealer);
    REQUIRE(committed);
    CHECK(committed->state == txn_state::committed);
    REQUIRE(!scaled);
    CHECK(code_of(scaled.error()) == errc::conflict);
    INFO((sealed ? std::string("ok") : render_error(sealed.error())));
    REQUIRE(sealed);
    CHECK(sealed->epoch == 3);
    CHECK(sealed->state == stream_state::sealed);
    CHECK(events_of_epoch(w, rec.uid, 2)[0] == std::vector<std::string>{"t1"});
    auto aborted = w.ask<txn_record>(txn_atom::value, txn_req(txn_op::status, open->id));
    REQUIRE(aborted);
    CHECK(aborted->state == txn_state::aborted);
}
