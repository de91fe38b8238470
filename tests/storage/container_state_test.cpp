#include "schema/schema.hpp"
#include "storage/storage.hpp"

#include "tests/storage/snapshot_copy.hpp"
#include "tests/support/temp_dir.hpp"
#include <catch2/catch.hpp>

#include <algorithm>

using namespace pravaha;
using namespace pravaha::storage;

namespace {

const segment_key seg{stream_uid{1}, segment_id::make(0, 0)};
const writer_id w1{1, 1};

container_op create_op(segment_key key = seg) {
    container_op op;
    op.type = container_op::kind::create_segment;
    op.key = key;
    return op;
}

container_op append_op(int64_t first, std::vector<std::string> events, writer_id w = w1) {
    container_op op;
    op.type = container_op::kind::append;
    op.key = seg;
    op.writer = w;
    op.first_event_number = first;
    op.event_count = static_cast<uint32_t>(events.size());
    op.last_event_number = first + static_cast<int64_t>(events.size()) - 1;
    for (auto& e : events) {
        frame_event(op.data, e);
    }
    return op;
}

// Logs and applies one entry the way the container actor does.
std::vector<op_result> commit(local_log& log, container_state& st, std::vector<container_op> ops) {
    for (auto& op : ops) {
        REQUIRE(!st.precheck(op));
    }
    auto idx = log.append(encode_log_entry(ops), st.applied_index());
    REQUIRE(idx);
    auto res = st.apply_entry(*idx, ops);
    REQUIRE(res);
    return *res;
}

std::vector<std::string> events_of(const read_result& r) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (auto ev = next_event(r.data, pos)) {
        out.emplace_back(*ev);
    }
    return out;
}

struct fixture {
    test::temp_dir dir;
    std::unique_ptr<log_store> store;
    std::unique_ptr<local_log> log;
    std::unique_ptr<container_state> state;

    fixture() { open(); }

    void open() {
        state.reset();
        log.reset();
        store.reset();
        auto s = open_rocksdb({dir.path()});
        REQUIRE(s);
        store = std::move(*s);
        log = std::make_unique<local_log>(*store, 0);
        REQUIRE(!log->open());
        state = std::make_unique<container_state>(*store, 0);
        REQUIRE(!state->recover(*log));
    }
};

// Opens a new session of w1 on seg (logged and applied); returns the answer.
append_ack open_session(fixture& f) {
    container_op op;
    op.type = container_op::kind::setup_writer;
    op.key = seg;
    op.writer = w1;
    auto r = commit(*f.log, *f.state, {op});
    REQUIRE(!r[0].error);
    return r[0].ack;
}

}  // namespace

TEST_CASE("container_state appends events and reads them back by offset", "[storage]") {
    fixture f;
    commit(*f.log, *f.state, {create_op()});
    auto r = commit(*f.log, *f.state, {append_op(0, {"a", "bb"}), append_op(2, {"ccc"})});
    REQUIRE(r.size() == 2);
    CHECK(r[0].ack.appended_events == 2);
    CHECK(r[0].ack.end_offset == 8 + 1 + 8 + 2);
    CHECK(r[1].ack.end_offset == 19 + 8 + 3);
    auto all = f.state->read(seg, 0, 1 << 20);
    REQUIRE(all);
    CHECK(events_of(*all) == std::vector<std::string>{"a", "bb", "ccc"});
    CHECK(all->next_offset == 30);
    SECTION("a read from an inner event boundary") {
        auto mid = f.state->read(seg, 9, 1 << 20);
        REQUIRE(mid);
        CHECK(events_of(*mid) == std::vector<std::string>{"bb", "ccc"});
    }
    SECTION("max_bytes limits the answer but always returns one whole event") {
        auto one = f.state->read(seg, 0, 1);
        REQUIRE(one);
        CHECK(events_of(*one) == std::vector<std::string>{"a"});
        CHECK(one->next_offset == 9);
    }
    SECTION("an offset inside an event or past the end is bad_offset") {
        CHECK(code_of(f.state->read(seg, 3, 100).error()) == errc::bad_offset);
        CHECK(code_of(f.state->read(seg, 31, 100).error()) == errc::bad_offset);
        auto tail = f.state->read(seg, 30, 100);
        REQUIRE(tail);
        CHECK(tail->data.empty());
    }
}

TEST_CASE("container_state drops retried events by writer id and event number", "[storage]") {
    fixture f;
    commit(*f.log, *f.state, {create_op()});
    commit(*f.log, *f.state, {append_op(0, {"e0", "e1"})});
    SECTION("a full retry is acknowledged and not stored") {
        auto r = commit(*f.log, *f.state, {append_op(0, {"e0", "e1"})});
        CHECK(r[0].ack.appended_events == 0);
        CHECK(f.state->status(seg)->length == 20);
    }
    SECTION("a partially overlapping retry stores only the new events") {
        auto r = commit(*f.log, *f.state, {append_op(1, {"e1", "e2", "e3"})});
        CHECK(r[0].ack.appended_events == 2);
        CHECK(events_of(*f.state->read(seg, 0, 1000)) ==
              std::vector<std::string>{"e0", "e1", "e2", "e3"});
    }
    SECTION("a block that skips event numbers is refused so nothing is later lost as a duplicate") {
        auto res = f.state->apply_entry(f.state->applied_index() + 1, {append_op(5, {"e5"})});
        REQUIRE(res);
        CHECK(code_of((*res)[0].error) == errc::event_number_gap);
        CHECK(f.state->status(seg)->length == 20);
    }
    SECTION("another writer is independent") {
        auto r = commit(*f.log, *f.state, {append_op(0, {"x"}, writer_id{2, 2})});
        CHECK(r[0].ack.appended_events == 1);
    }
    SECTION("dedup state survives a restart") {
        f.open();
        auto r = commit(*f.log, *f.state, {append_op(0, {"e0", "e1"}), append_op(2, {"e2"})});
        CHECK(r[0].ack.appended_events == 0);
        CHECK(r[1].ack.appended_events == 1);
        CHECK(events_of(*f.state->read(seg, 0, 1000)) ==
              std::vector<std::string>{"e0", "e1", "e2"});
    }
}

TEST_CASE(
    "container_state moves a new block's payload into its writes and copies only the new "
    "part of a partial retry",
    "[storage]") {
    fixture f;
    commit(*f.log, *f.state, {create_op()});
    auto apply = [&](std::vector<container_op>& ops) {
        auto idx = f.log->append(encode_log_entry(ops), f.state->applied_index());
        REQUIRE(idx);
        auto a = f.state->apply(*idx, ops);
        REQUIRE(!f.state->persist(a.writes));
        return a;
    };
    std::vector<container_op> ops{append_op(0, {"e0", "e1"})};
    auto block = ops[0].data;
    auto a = apply(ops);
    CHECK(a.results[0].ack.appended_events == 2);
    CHECK(a.results[0].stored_bytes == static_cast<int64_t>(block.size()));
    CHECK(ops[0].data.empty());  // moved, not copied
    CHECK(std::any_of(a.writes.ops.begin(), a.writes.ops.end(),
                      [&](const write_batch::op& w) { return w.value == block; }));
    std::vector<container_op> retry{append_op(1, {"e1", "e2"})};
    auto retried = retry[0].data;
    auto b = apply(retry);
    CHECK(b.results[0].ack.appended_events == 1);
    CHECK(b.results[0].stored_bytes == 8 + 2);  // "e2" and its frame only
    CHECK(retry[0].data == retried);            // its new part was copied out of it
    CHECK(events_of(*f.state->read(seg, 0, 1000)) == std::vector<std::string>{"e0", "e1", "e2"});
}

TEST_CASE("container_state recovers logged but unapplied entries by replay", "[storage]") {
    fixture f;
    commit(*f.log, *f.state, {create_op()});
    // Log an entry but "crash" before applying it.
    auto ops = std::vector<container_op>{append_op(0, {"durable"})};
    REQUIRE(f.log->append(encode_log_entry(ops), f.state->applied_index()));
    f.open();
    CHECK(f.state->applied_index() == 2);
    CHECK(events_of(*f.state->read(seg, 0, 1000)) == std::vector<std::string>{"durable"});
    // Replaying again after another restart changes nothing.
    f.open();
    CHECK(f.state->status(seg)->length == 15);
}

TEST_CASE("container_state rejects bad appends and changes nothing", "[storage]") {
    fixture f;
    commit(*f.log, *f.state, {create_op()});
    SECTION("unknown segment") {
        auto op = append_op(0, {"a"});
        op.key.segment = segment_id::make(0, 9);
        CHECK(code_of(f.state->precheck(op)) == errc::segment_not_found);
    }
    SECTION("malformed framing") {
        auto op = append_op(0, {"a"});
        op.data.pop_back();
        CHECK(code_of(f.state->precheck(op)) == errc::malformed_message);
    }
    SECTION("count mismatch") {
        auto op = append_op(0, {"a", "b"});
        op.event_count = 3;
        op.last_event_number = 2;
        CHECK(code_of(f.state->precheck(op)) == errc::malformed_message);
    }
    SECTION("oversized event") {
        auto op = append_op(0, {"a"});
        op.data = std::string("\0\0\0\0\x00\x80\x00\x01", 8);
        CHECK(code_of(f.state->precheck(op)) == errc::event_too_large);
    }
    SECTION("sealed segment") {
        container_op seal;
        seal.type = container_op::kind::seal_segment;
        seal.key = seg;
        commit(*f.log, *f.state, {seal});
        CHECK(code_of(f.state->precheck(append_op(0, {"a"}))) == errc::segment_sealed);
        // Even if an append slips into the same entry after a seal, apply rejects it.
        auto res = f.state->apply_entry(f.state->applied_index() + 1, {append_op(0, {"a"})});
        REQUIRE(res);
        CHECK(code_of((*res)[0].error) == errc::segment_sealed);
        CHECK(f.state->status(seg)->length == 0);
        CHECK(f.state->status(seg)->sealed);
    }
}

TEST_CASE("container_state deletes a segment with its data", "[storage]") {
    fixture f;
    commit(*f.log, *f.state, {create_op()});
    commit(*f.log, *f.state, {append_op(0, {"a"})});
    container_op del;
    del.type = container_op::kind::delete_segment;
    del.key = seg;
    commit(*f.log, *f.state, {del});
    CHECK(code_of(f.state->status(seg).error()) == errc::segment_not_found);
    f.open();
    CHECK(code_of(f.state->status(seg).error()) == errc::segment_not_found);
    // Re-creating starts empty: no old data or dedup state leaks.
    commit(*f.log, *f.state, {create_op()});
    CHECK(f.state->status(seg)->length == 0);
    auto r = commit(*f.log, *f.state, {append_op(0, {"b"})});
    CHECK(r[0].ack.appended_events == 1);
}

TEST_CASE("local_log truncates applied entries", "[storage]") {
    fixture f;
    commit(*f.log, *f.state, {create_op()});
    for (int i = 0; i < 5; ++i) {
        commit(*f.log, *f.state, {append_op(i, {"x"})});
    }
    int remaining = 0;
    REQUIRE(!f.log->read_after(0, [&](uint64_t, std::string_view) -> caf::error {
        ++remaining;
        return {};
    }));
    // Each append truncated everything applied before it: only the newest entry remains.
    CHECK(remaining == 1);
    f.open();
    CHECK(f.log->last_index() == 6);
    CHECK(f.state->status(seg)->length == 5 * 9);
}

TEST_CASE("writer sessions continue numbering, fence older sessions and survive recovery",
          "[storage]") {
    fixture f;
    commit(*f.log, *f.state, {create_op()});
    auto setup = [&] { return open_session(f); };
    auto first = setup();
    CHECK(first.writer_epoch == 1);
    CHECK(first.last_event_number == no_event_number);
    auto a = append_op(0, {"a", "b"});
    a.writer_epoch = 1;
    CHECK(!commit(*f.log, *f.state, {a})[0].error);
    // A restarted producer with the same id opens session 2 and learns where it left off.
    auto second = setup();
    CHECK(second.writer_epoch == 2);
    CHECK(second.last_event_number == 1);
    // A late block of session 1 is refused even though its numbers are new.
    auto stale = append_op(2, {"stale"});
    stale.writer_epoch = 1;
    CHECK(code_of(f.state->precheck(stale)) == errc::writer_fenced);
    // Also when it was admitted before the new session existed (checked again when applied).
    auto idx = f.log->append(encode_log_entry({stale}), f.state->applied_index());
    REQUIRE(idx);
    auto applied = f.state->apply_entry(*idx, {stale});
    REQUIRE(applied);
    CHECK(code_of((*applied)[0].error) == errc::writer_fenced);
    // Session 1 cannot take over again (a zombie that gave up and reopens).
    container_op reopen;
    reopen.type = container_op::kind::setup_writer;
    reopen.key = seg;
    reopen.writer = w1;
    reopen.writer_epoch = 1;
    CHECK(code_of(commit(*f.log, *f.state, {reopen})[0].error) == errc::writer_fenced);
    auto c = append_op(2, {"c"});
    c.writer_epoch = 2;
    CHECK(!commit(*f.log, *f.state, {c})[0].error);
    // The epoch is part of the durable state: after a restart session 1 stays fenced.
    f.open();
    CHECK(code_of(f.state->precheck(stale)) == errc::writer_fenced);
    auto d = append_op(3, {"d"});
    d.writer_epoch = 2;
    CHECK(!commit(*f.log, *f.state, {d})[0].error);
    auto all = f.state->read(seg, 0, 1 << 20);
    REQUIRE(all);
    CHECK(events_of(*all) == std::vector<std::string>{"a", "b", "c", "d"});
}

TEST_CASE("a writer's highest client number survives recovery and log replay", "[storage]") {
    fixture f;
    commit(*f.log, *f.state, {create_op()});
    auto setup = [&] { return open_session(f); };
    CHECK(setup().client_last == no_event_number);
    auto a = append_op(0, {"a", "b"});
    a.writer_epoch = 1;
    a.client_last = 17;  // the client numbered its events across segments: 16 and 17 landed here
    CHECK(!commit(*f.log, *f.state, {a})[0].error);
    auto second = setup();
    CHECK(second.client_last == 17);
    CHECK(second.last_event_number == 1);
    // A resend of the same block (a client that lost its connection) stores nothing and does not
    // lower the number; a later block raises it.
    auto again = append_op(0, {"a", "b"});
    again.writer_epoch = 2;
    again.client_last = 17;
    CHECK(commit(*f.log, *f.state, {again})[0].ack.appended_events == 0);
    auto b = append_op(2, {"c"});
    b.writer_epoch = 2;
    b.client_last = 40;
    CHECK(!commit(*f.log, *f.state, {b})[0].error);
    f.open();  // from the applied state
    CHECK(setup().client_last == 40);
    // From the log alone: an entry logged but not applied is replayed with its client number.
    auto c = append_op(3, {"d"});
    c.writer_epoch = 3;
    c.client_last = 41;
    REQUIRE(f.log->append(encode_log_entry({c}), f.state->applied_index()));
    f.open();
    CHECK(setup().client_last == 41);
}

TEST_CASE("a resent block that is stored already is acknowledged even after a seal", "[storage]") {
    fixture f;
    commit(*f.log, *f.state, {create_op()});
    CHECK(!commit(*f.log, *f.state, {append_op(0, {"a"})})[0].error);
    container_op seal;
    seal.type = container_op::kind::seal_segment;
    seal.key = seg;
    commit(*f.log, *f.state, {seal});
    // The first answer was lost; the writer resends. Telling it "sealed" would report a stored
    // event as failed (found by pravaha-sim: seal while writing).
    auto again = commit(*f.log, *f.state, {append_op(0, {"a"})});
    CHECK(!again[0].error);
    CHECK(again[0].ack.last_event_number == 0);
    // New events are refused.
    CHECK(code_of(f.state->precheck(append_op(1, {"b"}))) == errc::segment_sealed);
    auto all = f.state->read(seg, 0, 1 << 20);
    REQUIRE(all);
    CHECK(events_of(*all) == std::vector<std::string>{"a"});
}

TEST_CASE("a writer reopened on a sealed segment learns what is stored and opens no session",
          "[storage]") {
    fixture f;
    commit(*f.log, *f.state, {create_op()});
    REQUIRE(open_session(f).writer_epoch == 1);
    auto a = append_op(0, {"a", "b"});
    a.writer_epoch = 1;
    a.client_last = 9;  // the client's numbers 8 and 9
    REQUIRE(!commit(*f.log, *f.state, {a})[0].error);
    container_op seal;
    seal.type = container_op::kind::seal_segment;
    seal.key = seg;
    commit(*f.log, *f.state, {seal});
    // The client lost its connection before the answer and reopens the writer after the seal:
    // the answer says the segment is sealed and holds numbers up to 9 (resends of 8 and 9 are
    // acknowledged, later numbers fail), instead of refusing with "sealed", which made stored
    // resends fail.
    auto reopened = open_session(f);
    CHECK(reopened.sealed);
    CHECK(reopened.client_last == 9);
    CHECK(reopened.last_event_number == 1);
    CHECK(reopened.writer_epoch == 1);  // no new session: nothing written
    f.open();
    auto after = open_session(f);
    CHECK(after.sealed);
    CHECK(after.writer_epoch == 1);
    // An id the segment never saw: sealed, nothing stored.
    container_op other;
    other.type = container_op::kind::setup_writer;
    other.key = seg;
    other.writer = writer_id{2, 2};
    auto r = commit(*f.log, *f.state, {other});
    REQUIRE(!r[0].error);
    CHECK(r[0].ack.sealed);
    CHECK(r[0].ack.client_last == no_event_number);
    CHECK(r[0].ack.last_event_number == no_event_number);
}

TEST_CASE("container_state owns only its containers' segments and moves them by snapshot",
          "[storage]") {
    test::temp_dir dir;
    auto store = open_rocksdb({dir.path()});
    REQUIRE(store);
    // Find one segment for each of two containers.
    std::vector<segment_key> mine;
    std::vector<segment_key> theirs;
    for (uint64_t n = 0; mine.size() < 2 || theirs.empty(); ++n) {
        segment_key k{stream_uid{7}, segment_id::make(0, static_cast<uint32_t>(n))};
        (container_of(k, 2) == 0 ? mine : theirs).push_back(k);
    }
    container_state c0(**store, 0, 2);
    REQUIRE(!c0.open());
    uint64_t index = 0;
    for (auto& k : mine) {
        auto res = c0.apply_entry(++index, {create_op(k)});
        REQUIRE(res);
    }
    auto op = append_op(0, {"a", "bb"});
    op.key = mine[0];
    REQUIRE(c0.apply_entry(++index, {op}));
    // A state for container 1 on the same store does not see container 0's segments.
    container_state c1(**store, 1, 2);
    REQUIRE(!c1.open());
    CHECK(c1.segment_count() == 0);
    CHECK(!c1.status(mine[0]));
    // A segment of container 1 on the same store stays out of container 0's snapshot.
    REQUIRE(c1.apply_entry(1, {create_op(theirs[0])}));

    test::temp_dir dir2;
    auto store2 = open_rocksdb({dir2.path()});
    REQUIRE(store2);
    container_state copy(**store2, 0, 2);
    REQUIRE(!copy.open());
    // A state of its own first, which the install replaces.
    auto stale = mine.back();
    stale.segment = segment_id::make(3, 99);
    REQUIRE(copy.apply_entry(1, {create_op(stale)}));
    test::copy_snapshot(
        **store, [&](store_view& v) { return c0.state_ranges(v); }, **store2, 1, index,
        [&](write_batch& b) { copy.stage_install(index, b); });
    REQUIRE(!copy.open());
    CHECK(!copy.status(stale));
    container_state other(**store2, 1, 2);
    REQUIRE(!other.open());
    CHECK(other.segment_count() == 0);
    CHECK(copy.applied_index() == index);
    CHECK(copy.segment_count() == mine.size());
    auto r = copy.read(mine[0], 0, 1024);
    REQUIRE(r);
    CHECK(events_of(*r) == std::vector<std::string>{"a", "bb"});
    // Dedup state travels too: a resend of the same events is not stored again.
    auto res = copy.apply_entry(index + 1, {op});
    REQUIRE(res);
    CHECK((*res)[0].ack.appended_events == 0);
}

// -- transaction segments and their merge ----------------------------------------------------

namespace {

const segment_key txn_seg{stream_uid{900}, seg.segment};  // a transaction segment of seg

container_op create_txn_op(int64_t limit, segment_key key = txn_seg) {
    auto op = create_op(key);
    op.limit = limit;
    return op;
}

container_op txn_append_op(int64_t first, std::vector<std::string> events) {
    auto op = append_op(first, std::move(events), writer_id{9, 9});
    op.key = txn_seg;
    return op;
}

container_op merge_op(segment_key source = txn_seg, segment_key target = seg) {
    container_op op;
    op.type = container_op::kind::merge_segment;
    op.key = target;
    op.source = source;
    return op;
}

}  // namespace

TEST_CASE("a merge moves a transaction segment behind its parent's events in one op", "[storage]") {
    fixture f;
    commit(*f.log, *f.state, {create_op(), create_txn_op(1 << 20)});
    commit(*f.log, *f.state, {append_op(0, {"a", "b"}), txn_append_op(0, {"t1", "t2"})});
    commit(*f.log, *f.state, {txn_append_op(2, {"t3"}), append_op(2, {"c"})});
    // Before the merge the parent shows none of it.
    auto before = f.state->read(seg, 0, 1 << 20);
    REQUIRE(before);
    CHECK(events_of(*before) == std::vector<std::string>{"a", "b", "c"});
    auto parent_length = before->length;
    auto txn_length = f.state->status(txn_seg)->length;

    auto r = commit(*f.log, *f.state, {merge_op(), append_op(3, {"d"})});
    REQUIRE(!r[0].error);
    CHECK(r[0].merged_at == parent_length);
    CHECK(r[0].ack.end_offset == parent_length + txn_length);
    auto after = f.state->read(seg, 0, 1 << 20);
    REQUIRE(after);
    CHECK(events_of(*after) == std::vector<std::string>{"a", "b", "c", "t1", "t2", "t3", "d"});
    // The transaction segment is a sealed, empty tombstone that takes nothing more.
    auto tomb = f.state->status(txn_seg);
    REQUIRE(tomb);
    CHECK(tomb->sealed);
    CHECK(tomb->merged);
    CHECK(tomb->length == 0);
    CHECK(code_of(f.state->precheck(txn_append_op(3, {"late"}))) == errc::transaction_not_open);
    SECTION("a repeated merge (a resumed commit) answers the same offset and moves nothing") {
        auto again = commit(*f.log, *f.state, {merge_op()});
        REQUIRE(!again[0].error);
        CHECK(again[0].merged_at == parent_length);
        auto same = f.state->read(seg, 0, 1 << 20);
        REQUIRE(same);
        CHECK(same->length == after->length);
    }
    SECTION("a create of the merged segment again (a resumed begin) keeps the tombstone") {
        commit(*f.log, *f.state, {create_txn_op(1 << 20)});
        CHECK(f.state->status(txn_seg)->merged);
        CHECK(code_of(f.state->precheck(txn_append_op(3, {"late"}))) == errc::transaction_not_open);
    }
    SECTION("the merge survives recovery, also replayed from the log") {
        f.open();
        auto reopened = f.state->read(seg, 0, 1 << 20);
        REQUIRE(reopened);
        CHECK(events_of(*reopened) ==
              std::vector<std::string>{"a", "b", "c", "t1", "t2", "t3", "d"});
        CHECK(f.state->status(txn_seg)->merged);
        auto again = commit(*f.log, *f.state, {merge_op()});
        CHECK(again[0].merged_at == parent_length);
    }
}

TEST_CASE("a merge replayed from the log after a crash before its state was written", "[storage]") {
    fixture f;
    commit(*f.log, *f.state, {create_op(), create_txn_op(1 << 20)});
    commit(*f.log, *f.state, {txn_append_op(0, {"t1", "t2"}), append_op(0, {"a"})});
    // The merge is logged (durable) but the crash comes before it is applied.
    std::vector<container_op> ops{merge_op()};
    REQUIRE(!f.state->precheck(ops[0]));
    REQUIRE(f.log->append(encode_log_entry(ops), f.state->applied_index()));
    f.open();  // recover replays it
    auto r = f.state->read(seg, 0, 1 << 20);
    REQUIRE(r);
    CHECK(events_of(*r) == std::vector<std::string>{"a", "t1", "t2"});
    CHECK(f.state->status(txn_seg)->merged);
}

TEST_CASE("merges that cannot be done are refused and change nothing", "[storage]") {
    fixture f;
    commit(*f.log, *f.state, {create_op(), create_txn_op(1 << 20)});
    commit(*f.log, *f.state, {txn_append_op(0, {"t1"})});
    SECTION("an unknown source or target") {
        CHECK(code_of(f.state->precheck(merge_op(segment_key{stream_uid{901}, seg.segment}))) ==
              errc::segment_not_found);
        CHECK(code_of(f.state->precheck(
                  merge_op(txn_seg, segment_key{stream_uid{1}, segment_id::make(0, 5)}))) ==
              errc::segment_not_found);
    }
    SECTION("a source that is no transaction segment, or a target that is one") {
        auto other = segment_key{stream_uid{1}, segment_id::make(0, 1)};
        commit(*f.log, *f.state, {create_op(other)});
        CHECK(code_of(f.state->precheck(merge_op(other, seg))) == errc::invalid_argument);
        CHECK(code_of(f.state->precheck(merge_op(txn_seg, txn_seg))) == errc::invalid_argument);
    }
    SECTION("a sealed parent (a scale sealed it: the commit rolls)") {
        container_op seal;
        seal.type = container_op::kind::seal_segment;
        seal.key = seg;
        commit(*f.log, *f.state, {seal});
        CHECK(code_of(f.state->precheck(merge_op())) == errc::segment_sealed);
    }
    SECTION("a merge in the entry that appended to its source") {
        std::vector<container_op> ops{txn_append_op(1, {"t2"}), merge_op()};
        auto idx = f.log->append(encode_log_entry(ops), f.state->applied_index());
        REQUIRE(idx);
        auto res = f.state->apply_entry(*idx, ops);
        REQUIRE(res);
        CHECK(!(*res)[0].error);
        CHECK(code_of((*res)[1].error) == errc::conflict);
        CHECK(!f.state->status(txn_seg)->merged);
        // Retried in the next entry, it moves both events.
        auto again = commit(*f.log, *f.state, {merge_op()});
        REQUIRE(!again[0].error);
        auto r = f.state->read(seg, 0, 1 << 20);
        REQUIRE(r);
        CHECK(events_of(*r) == std::vector<std::string>{"t1", "t2"});
    }
    SECTION("into another target than the one it was merged into") {
        auto other = segment_key{stream_uid{1}, segment_id::make(0, 1)};
        commit(*f.log, *f.state, {create_op(other), merge_op()});
        CHECK(code_of(f.state->precheck(merge_op(txn_seg, other))) == errc::invalid_argument);
    }
    auto parent = f.state->status(seg);
    REQUIRE(parent);
    if (!f.state->status(txn_seg)->merged) {
        CHECK(parent->length == 0);
    }
}

TEST_CASE("a transaction segment takes at most its limit", "[storage]") {
    fixture f;
    // Each event is 8 header bytes + its payload: two of 2 bytes fill 20 bytes.
    commit(*f.log, *f.state, {create_txn_op(20)});
    commit(*f.log, *f.state, {txn_append_op(0, {"t1"})});
    CHECK(code_of(f.state->precheck(txn_append_op(1, {"t2", "t3"}))) ==
          errc::transaction_too_large);
    commit(*f.log, *f.state, {txn_append_op(1, {"t2"})});
    CHECK(f.state->status(txn_seg)->length == 20);
    SECTION("also when blocks of one entry pass the precheck each") {
        auto big = create_txn_op(20, segment_key{stream_uid{902}, seg.segment});
        commit(*f.log, *f.state, {big});
        auto a = txn_append_op(0, {"x1"});
        a.key = big.key;
        auto b = txn_append_op(1, {"x2", "x3"});
        b.key = big.key;
        std::vector<container_op> ops{a, b};
        auto idx = f.log->append(encode_log_entry(ops), f.state->applied_index());
        REQUIRE(idx);
        auto res = f.state->apply_entry(*idx, ops);
        REQUIRE(res);
        CHECK(!(*res)[0].error);
        CHECK(code_of((*res)[1].error) == errc::transaction_too_large);
        CHECK(f.state->status(big.key)->length == 10);
    }
}

namespace {

bool has_range_delete(const write_batch& b) {
    return std::any_of(b.ops.begin(), b.ops.end(), [](const write_batch::op& op) {
        return op.type == write_batch::kind::erase_range;
    });
}

// The keys under `prefix` in the store.
size_t keys_under(log_store& store, const std::string& prefix) {
    size_t n = 0;
    REQUIRE(!store.scan(prefix, keys::prefix_end(prefix), [&](std::string_view, std::string_view) {
        ++n;
        return true;
    }));
    return n;
}

// Logs, applies and persists one entry; its writes.
write_batch apply_logged(fixture& f, std::vector<container_op> ops) {
    auto idx = f.log->append(encode_log_entry(ops), f.state->applied_index());
    REQUIRE(idx);
    auto a = f.state->apply(*idx, ops);
    REQUIRE(!f.state->persist(a.writes));
    return std::move(a.writes);
}

}  // namespace

TEST_CASE("merges and deletes of small segments erase their keys one by one: no range tombstones",
          "[storage]") {
    // Range tombstones pile up in RocksDB's memtable and slow down every later read (every
    // transaction merges and deletes segments).
    fixture f;
    commit(*f.log, *f.state, {create_op(), create_txn_op(1 << 20)});
    commit(*f.log, *f.state, {append_op(0, {"a"})});
    commit(*f.log, *f.state, {txn_append_op(0, {"t1"})});
    commit(*f.log, *f.state, {txn_append_op(1, {"t2"})});
    auto data = [](segment_key k) { return keys::segment_prefix('D', k); };
    REQUIRE(keys_under(*f.store, data(txn_seg)) == 2);

    auto merged = apply_logged(f, {merge_op()});
    CHECK(!has_range_delete(merged));
    CHECK(keys_under(*f.store, data(txn_seg)) == 0);
    CHECK(f.state->status(seg)->length > 0);

    container_op del;
    del.type = container_op::kind::delete_segment;
    del.key = seg;
    SECTION("a delete") {
        auto deleted = apply_logged(f, {del});
        CHECK(!has_range_delete(deleted));
        CHECK(keys_under(*f.store, data(seg)) == 0);
        CHECK(keys_under(*f.store, keys::segment_prefix('W', seg)) == 0);
    }
    SECTION("a delete in the entry that opened a writer session: that session's key too") {
        container_op setup;
        setup.type = container_op::kind::setup_writer;
        setup.key = seg;
        setup.writer = writer_id{7, 7};
        apply_logged(f, {setup, del});
        CHECK(keys_under(*f.store, keys::segment_prefix('W', seg)) == 0);
        CHECK(keys_under(*f.store, data(seg)) == 0);
    }
    SECTION("a delete in the entry that appended to the segment: its new blocks too") {
        auto deleted = apply_logged(f, {append_op(1, {"b"}), del});
        CHECK(has_range_delete(deleted));  // the batch's own block: no scan can see it
        CHECK(keys_under(*f.store, data(seg)) == 0);
        CHECK(keys_under(*f.store, keys::segment_prefix('W', seg)) == 0);
    }
}

TEST_CASE("large events kept in blob files read back whole after a reopen, and are sized",
          "[storage]") {
    fixture f;
    commit(*f.log, *f.state, {create_op()});
    // 300 events of 64 KiB and more (RocksDB's blob threshold), none compressible, and small
    // ones between; RocksDB's own estimate of a key range sizes only the blob references.
    uint64_t x = 88172645463325252ULL;
    auto noise = [&x](size_t n) {
        std::string e(n, '\0');
        for (auto& c : e) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c = static_cast<char>(x);
        }
        return e;
    };
    std::vector<std::string> events;
    for (int i = 0; i < 300; ++i) {
        events.push_back(noise(64 * 1024 + static_cast<size_t>(i)));
        if (i % 50 == 0) {
            events.push_back("small");
        }
    }
    for (size_t i = 0; i < events.size(); i += 20) {
        std::vector<std::string> part(
            events.begin() + static_cast<std::ptrdiff_t>(i),
            events.begin() + static_cast<std::ptrdiff_t>(std::min(i + 20, events.size())));
        std::vector<container_op> ops;
        for (size_t j = 0; j < part.size(); ++j) {
            ops.push_back(append_op(static_cast<int64_t>(i + j), {part[j]}));
        }
        commit(*f.log, *f.state, std::move(ops));
    }
    uint64_t total = 0;
    for (const auto& e : events) {
        total += e.size();
    }
    auto before = f.store->stats();
    REQUIRE(before);
    CHECK(before->blob_bytes == 0);  // still in the memtable
    // Recovery replays the WAL and flushes the memtable: the large values go to blob files.
    f.open();
    auto after = f.store->stats();
    REQUIRE(after);
    CHECK(after->blob_bytes >= 300 * 64 * 1024);
    std::vector<std::string> read;
    int64_t offset = 0;
    while (read.size() < events.size()) {
        auto r = f.state->read(seg, offset, 1 << 20);
        REQUIRE(r);
        REQUIRE(!r->data.empty());
        for (auto& e : events_of(*r)) {
            read.push_back(std::move(e));
        }
        offset = r->next_offset;
    }
    CHECK(read == events);
    auto view = f.store->view();
    REQUIRE(view);
    auto approx = (*view)->approximate_bytes({keys::data(seg, 0), keys::data(seg, INT64_MAX)});
    CHECK(approx >= total / 2);
    CHECK(approx <= total * 2);
}
