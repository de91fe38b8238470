#include "sim/checkers.hpp"

#include "storage/keys.hpp"
#include "storage/raft_log.hpp"
#include "storage/storage.hpp"

#include <catch2/catch.hpp>

using namespace pravaha;
using namespace pravaha::sim;

namespace {

// A small history: writer 0 (idempotent) writes seq 0..n-1 on key 1 of stream 0, each invoked
// at t = 10 * seq and answered 5 later with `out`.
history writes(uint32_t n, outcome out = outcome::ok, bool idempotent = true) {
    history h;
    for (uint64_t seq = 0; seq < n; ++seq) {
        op_rec op;
        op.id = event_id{0, 1, seq, 1, 0};
        op.idempotent = idempotent;
        op.invoke = static_cast<int64_t>(seq) * 10;
        op.complete = op.invoke + 5;
        op.out = out;
        op.sends = 1;
        op.hash = payload_hash(make_payload(op.id, 3));
        auto index = h.invoke(op);
        if (out == outcome::ok) {
            h.acknowledged(index);
        }
    }
    return h;
}

read_rec at(int64_t offset, const std::string& payload) {
    read_rec r;
    r.reader = 7;
    r.segment = {1, 42};
    r.segment_id = 0;
    r.offset = offset;
    r.payload = payload;
    return r;
}

std::string payload(uint64_t seq, uint32_t writer = 0) {
    return make_payload(event_id{writer, 1, seq, 1, 0}, 3);
}

}  // namespace

TEST_CASE("check_final passes a clean history and names a lost, duplicated or failed event",
          "[sim]") {
    auto none = [](const op_rec&) { return std::string("nowhere"); };
    auto h = writes(3);
    std::map<writer_seq, uint32_t> stored{{{0, 0}, 1}, {{0, 1}, 1}, {{0, 2}, 1}};
    CHECK_FALSE(check_final(h, stored, none));

    SECTION("a lost acknowledged event") {
        stored.erase({0, 1});
        auto bad = check_final(h, stored, none);
        REQUIRE(bad);
        CHECK(bad->find("lost: acknowledged event writer=0 seq=1") != std::string::npos);
        CHECK(bad->find("nowhere") != std::string::npos);
    }
    SECTION("an idempotent event stored twice") {
        stored[{0, 2}] = 2;
        auto bad = check_final(h, stored, none);
        REQUIRE(bad);
        CHECK(bad->find("duplicate: idempotent writer=0 seq=2 is stored 2 times") !=
              std::string::npos);
    }
    SECTION("an at-least-once event may be stored twice") {
        auto at_least_once = writes(3, outcome::ok, false);
        stored[{0, 2}] = 2;
        CHECK_FALSE(check_final(at_least_once, stored, none));
    }
    SECTION("a failed event that is stored") {
        auto failed = writes(3, outcome::fail);
        auto bad = check_final(failed, {{{0, 0}, 1}}, none);
        REQUIRE(bad);
        CHECK(bad->find("event writer=0 seq=0 failed but is stored") != std::string::npos);
    }
    SECTION("an unknown outcome may be stored or not") {
        auto unknown = writes(3, outcome::unknown);
        CHECK_FALSE(check_final(unknown, {{{0, 1}, 1}}, none));
    }
}

TEST_CASE("check_read finds foreign events, two events at one offset, repeats and reordering",
          "[sim]") {
    auto h = writes(3);
    offset_map offsets;
    reader_view view;
    auto p0 = payload(0);
    auto p1 = payload(1);
    auto p2 = payload(2);
    REQUIRE_FALSE(check_read(h, offsets, view, at(0, p0)));
    REQUIRE_FALSE(check_read(h, offsets, view, at(10, p1)));
    CHECK(view.observed.count({0, 1}) == 1);

    SECTION("a clean continuation") {
        CHECK_FALSE(check_read(h, offsets, view, at(20, p2)));
    }
    SECTION("bytes no writer wrote") {
        std::string junk = "not a workload event";
        auto bad = check_read(h, offsets, view, at(20, junk));
        REQUIRE(bad);
        CHECK(bad->find("no writer wrote") != std::string::npos);
    }
    SECTION("an event that was never written (other content under a known id)") {
        auto forged = make_payload(event_id{0, 1, 2, 1, 0}, 9);
        auto bad = check_read(h, offsets, view, at(20, forged));
        REQUIRE(bad);
        CHECK(bad->find("that was never written") != std::string::npos);
    }
    SECTION("another reader finds a different event at a known offset") {
        reader_view other;
        auto bad = check_read(h, offsets, other, at(10, p2));
        REQUIRE(bad);
        CHECK(bad->find("inconsistent offsets: segment 0 offset 10") != std::string::npos);
    }
    SECTION("one reader given one offset twice") {
        auto bad = check_read(h, offsets, view, at(10, p1));
        REQUIRE(bad);
        CHECK(bad->find("was given segment 0 offset 10 twice") != std::string::npos);
    }
    SECTION("an idempotent writer's event again at a later offset (a duplicate)") {
        auto bad = check_read(h, offsets, view, at(20, p1));
        REQUIRE(bad);
        CHECK(bad->find("duplicate from an idempotent writer") != std::string::npos);
    }
    SECTION("a key's events out of order") {
        reader_view fresh;
        offset_map elsewhere;
        REQUIRE_FALSE(check_read(h, elsewhere, fresh, at(0, p2)));
        auto bad = check_read(h, elsewhere, fresh, at(10, p1));
        REQUIRE(bad);
        CHECK(bad->find("per-key order broken") != std::string::npos);
    }
}

TEST_CASE("check_caught_up requires every event acknowledged before the question", "[sim]") {
    auto h = writes(3);  // acknowledged at 5, 15, 25
    reader_view view;
    view.observed = {{0, 0}, {0, 1}};
    CHECK_FALSE(check_caught_up(h, view, 7, 0, 20));  // seq 2 was acknowledged after
    auto bad = check_caught_up(h, view, 7, 0, 30);
    REQUIRE(bad);
    CHECK(bad->find("never read acknowledged event writer=0 seq=2") != std::string::npos);
    CHECK_FALSE(check_caught_up(h, view, 7, 1, 30));  // another stream: nothing acknowledged
}

TEST_CASE("check_reopen rejects a number never sent or below an acknowledged one", "[sim]") {
    auto h = writes(3);  // acknowledged at 5, 15, 25
    CHECK_FALSE(check_reopen(h, 0, 30, 2, 3));
    CHECK_FALSE(check_reopen(h, 0, 20, 1, 3));  // seq 2 acknowledged after the reopening
    auto never_sent = check_reopen(h, 0, 30, 3, 3);
    REQUIRE(never_sent);
    CHECK(never_sent->find("has sent only up to 2") != std::string::npos);
    auto too_low = check_reopen(h, 0, 30, 1, 3);
    REQUIRE(too_low);
    CHECK(too_low->find("seq=2 was acknowledged") != std::string::npos);
}

TEST_CASE("first_unheld names the first acknowledged event a crash would lose", "[sim]") {
    auto h = writes(3);
    CHECK(first_unheld(h, [](const writer_seq&) { return true; }) == nullptr);
    const auto* op = first_unheld(h, [](const writer_seq& ev) { return ev.second != 1; });
    REQUIRE(op != nullptr);
    CHECK(op->id.seq == 1);
    auto unknown = writes(3, outcome::unknown);
    CHECK(first_unheld(unknown, [](const writer_seq&) { return false; }) == nullptr);
}

TEST_CASE("Raft persistence checks read what raft_log stores", "[sim]") {
    namespace raft = storage::raft;
    auto image = [](const raft::ready& rd) {
        auto store = open_map_store({});
        raft::raft_log log(*store, 3);
        storage::write_batch b;
        log.stage(rd, b);
        kv_map out;
        sim_disk::apply(out, b);
        return out;
    };
    raft::ready rd;
    rd.hard = raft::hard_state{5, 2, 0};
    rd.entries.push_back(raft::entry{5, 1, "a"});
    rd.entries.push_back(raft::entry{5, 2, "b"});
    auto d = image(rd);
    CHECK(vote_is_durable(d, 3, 5, 2));
    CHECK_FALSE(vote_is_durable(d, 3, 5, 1));  // voted for another in that term
    CHECK(vote_is_durable(d, 3, 4, 1));        // a later term is stored: the old vote is moot
    CHECK_FALSE(vote_is_durable(d, 3, 6, 2));  // the term is not stored yet
    CHECK_FALSE(vote_is_durable(d, 1, 5, 2));  // another group
    CHECK(entry_is_durable(d, 3, 2));
    CHECK_FALSE(entry_is_durable(d, 3, 3));

    raft::ready snap;
    snap.install = raft::snapshot{10, 5};
    auto s = image(snap);
    CHECK(entry_is_durable(s, 3, 10));  // below the snapshot point
    CHECK_FALSE(entry_is_durable(s, 3, 11));
}

TEST_CASE("vote_history allows one candidate per voter and term", "[sim]") {
    vote_history votes;
    CHECK_FALSE(votes.record(1, 4, 2, 3));
    CHECK_FALSE(votes.record(1, 4, 2, 3));  // the same vote again
    CHECK_FALSE(votes.record(2, 4, 2, 1));  // another group
    CHECK_FALSE(votes.record(1, 5, 2, 1));  // another term
    auto other = votes.record(1, 4, 2, 1);
    REQUIRE(other);
    CHECK(*other == 3);
}

namespace {

segment_range seg(uint32_t epoch, uint32_t number, double lo, double hi) {
    return segment_range{segment_id::make(epoch, number), lo, hi};
}

history_segment hseg(segment_range r, int64_t sealed, std::vector<segment_id> preds = {}) {
    history_segment h;
    h.range = r;
    h.sealed_length = sealed;
    h.predecessors = std::move(preds);
    return h;
}

// s/t: epoch 0 = {0.0 [0,.5), 0.1 [.5,1)}; epoch 1 splits 0.1 into 1.2 and 1.3; epoch 2 merges
// 0.0 and 1.2 into 2.4.
std::pair<stream_record, std::vector<epoch_info>> scaled_stream() {
    auto a = seg(0, 0, 0, 0.5);
    auto b = seg(0, 1, 0.5, 1);
    auto c = seg(1, 2, 0.5, 0.75);
    auto d = seg(1, 3, 0.75, 1);
    auto e = seg(2, 4, 0, 0.75);
    std::vector<epoch_info> h(3);
    h[0] = {0, 1, {hseg(a, 10), hseg(b, 20)}};
    h[1] = {1, 2, {hseg(a, 10), hseg(c, 30, {b.id}), hseg(d, -1, {b.id})}};
    h[2] = {2, 3, {hseg(e, -1, {a.id, c.id}), hseg(d, -1, {b.id})}};
    stream_record rec;
    rec.scope = "s";
    rec.name = "t";
    rec.epoch = 2;
    rec.segments = {e, d};
    return {rec, h};
}

segment_load load(double rate, int64_t age_ms) {
    segment_load l;
    l.events_per_s = {rate, rate, rate, rate};
    l.kbytes_per_s = {0, 0, 0, 0};
    l.age_ms = age_ms;
    return l;
}

}  // namespace

TEST_CASE("check_history accepts a chain of whole epochs and names every break", "[sim]") {
    auto [rec, h] = scaled_stream();
    CHECK_FALSE(check_history(rec, h));

    SECTION("a scale that never finished") {
        rec.has_transition = true;
        CHECK(check_history(rec, h)->find("never finished") != std::string::npos);
    }
    SECTION("an epoch missing") {
        h.pop_back();
        CHECK(check_history(rec, h)->find("history has 2 epochs") != std::string::npos);
    }
    SECTION("a gap in the key space") {
        h[1].segments[1].range.key_end = 0.7;
        CHECK(check_history(rec, h)->find("epoch 1") != std::string::npos);
    }
    SECTION("a replaced segment without its length") {
        h[0].segments[1].sealed_length = -1;
        CHECK(check_history(rec, h)->find("without a sealed length") != std::string::npos);
    }
    SECTION("a successor missing a predecessor") {
        h[2].segments[0].predecessors = {segment_id::make(0, 0)};
        CHECK(check_history(rec, h)->find("lists 1 predecessors where 2") != std::string::npos);
    }
    SECTION("the record's segments differ from the last epoch") {
        rec.segments.back().key_start = 0.8;
        CHECK(check_history(rec, h));
    }
}

TEST_CASE("check_decision holds the auto-scaler to Pravega's rules", "[sim]") {
    stream_record rec;
    rec.scope = "s";
    rec.name = "t";
    rec.policy = {scale_type::by_events, 100, 2, 1};
    rec.segments = {seg(0, 0, 0, 0.5), seg(0, 1, 0.5, 1)};
    const int64_t w = 1000;
    auto hot = load(600, 20 * w);
    auto warm = load(80, 20 * w);
    auto cold = load(10, 20 * w);
    scale_request split{0, {rec.segments[0].id}, {{0, 0.25}, {0.25, 0.5}}, true};
    scale_request merge{0, {rec.segments[0].id, rec.segments[1].id}, {{0, 1}}, true};

    CHECK_FALSE(check_decision(rec, {hot, cold}, w, split));
    CHECK(check_decision(rec, {warm, cold}, w, split)->find("not hot") != std::string::npos);
    CHECK_FALSE(check_decision(rec, {cold, cold}, w, merge));
    CHECK(check_decision(rec, {cold, warm}, w, merge)->find("0.1 is not cold") !=
          std::string::npos);
    // Too young to be called cold, and never below the minimum.
    CHECK(check_decision(rec, {cold, load(10, 5 * w)}, w, merge));
    rec.policy.min_segments = 2;
    CHECK(check_decision(rec, {cold, cold}, w, merge)->find("below 2") != std::string::npos);
    // At most `factor` parts.
    scale_request three{0, {rec.segments[0].id}, {{0, 0.1}, {0.1, 0.2}, {0.2, 0.5}}, true};
    CHECK(check_decision(rec, {hot, cold}, w, three)->find("factor 2") != std::string::npos);
}

TEST_CASE("check_group_read holds a reader group to one reader per range and per-key order",
          "[sim]") {
    auto h = writes(6);
    std::vector<std::string> p;
    for (uint64_t seq = 0; seq < 6; ++seq) {
        p.push_back(payload(seq));
    }
    int64_t clock = 0;  // when events are delivered and fetches asked
    auto read = [&](group_view& g, uint32_t object, uint64_t seq, int64_t offset,
                    segment_ref segment = {1, 42}) {
        auto r = at(offset, p[seq]);
        r.segment = segment;
        return check_group_read(h, g, object, r, offset + 10, clock, clock);
    };
    const segment_ref seg{1, 42};
    std::set<std::pair<segment_ref, int64_t>> stored{{seg, 0}, {seg, 10}, {seg, 20}, {seg, 30}};
    group_view g;
    REQUIRE_FALSE(read(g, 1, 0, 0));
    REQUIRE_FALSE(read(g, 1, 1, 10));

    SECTION("a release hands over at the offset delivered up to: exactly once") {
        REQUIRE_FALSE(read(g, 2, 2, 20));
        REQUIRE_FALSE(read(g, 2, 3, 30));
        CHECK_FALSE(group_object_left(g, 1));
        CHECK_FALSE(check_group_end(g, stored, "g0"));
    }
    SECTION("a lost reader's range is read again: at least once") {
        group_object_lost(g, 1);
        REQUIRE_FALSE(read(g, 2, 1, 10));
        REQUIRE_FALSE(read(g, 2, 2, 20));
        REQUIRE_FALSE(read(g, 2, 3, 30));
        CHECK_FALSE(check_group_end(g, stored, "g0"));
    }
    SECTION("a range read again while its reader stayed a member") {
        REQUIRE_FALSE(read(g, 2, 1, 10));  // suspect until object 1 is lost
        auto bad = check_group_end(g, stored, "g0");
        REQUIRE(bad);
        CHECK(bad->find("two readers on one range") != std::string::npos);
        SECTION("declared offline later: fine") {
            group_object_lost(g, 1);
            REQUIRE_FALSE(read(g, 2, 2, 20));
            REQUIRE_FALSE(read(g, 2, 3, 30));
            CHECK_FALSE(check_group_end(g, stored, "g0"));
        }
        SECTION("it handed out more, asked for after that") {
            clock += 10;
            auto late = read(g, 1, 4, 0, {1, 44});
            REQUIRE(late);
            CHECK(late->find("a reader cut off from its group went on reading") !=
                  std::string::npos);
        }
        SECTION("it left gracefully") {
            auto left = group_object_left(g, 1);
            REQUIRE(left);
            CHECK(left->find("left the group gracefully") != std::string::npos);
        }
    }
    SECTION("a skipped range") {
        auto bad = read(g, 2, 3, 30);
        REQUIRE(bad);
        CHECK(bad->find("the group skipped [20, 30)") != std::string::npos);
    }
    SECTION("a reader that skips in its own span") {
        auto bad = read(g, 1, 3, 30);
        REQUIRE(bad);
        CHECK(bad->find("skipped") != std::string::npos);
    }
    SECTION("a segment begun past its head") {
        auto bad = read(g, 2, 3, 10, {1, 43});
        REQUIRE(bad);
        CHECK(bad->find("began segment") != std::string::npos);
    }
    SECTION("per-key order across readers and segments") {
        REQUIRE_FALSE(read(g, 2, 3, 0, {1, 43}));  // a successor read before seq 2 was delivered
        auto bad = read(g, 1, 2, 20);
        REQUIRE(bad);
        CHECK(bad->find("per-key order broken across the group's readers") != std::string::npos);
    }
    SECTION("an event never delivered, or twice with no reader lost") {
        REQUIRE_FALSE(read(g, 1, 2, 20));
        REQUIRE_FALSE(read(g, 1, 3, 30));
        CHECK_FALSE(check_group_end(g, stored, "g0"));
        stored.insert({seg, 40});
        auto bad = check_group_end(g, stored, "g0");
        REQUIRE(bad);
        CHECK(bad->find("never delivered 1 of the audited events") != std::string::npos);
        stored.erase({seg, 40});
        g.delivered[{seg, 0}] = 2;
        bad = check_group_end(g, stored, "g0");
        REQUIRE(bad);
        CHECK(bad->find("delivered an event 2 times") != std::string::npos);
    }
}

TEST_CASE("check_read keeps the segments of two streams apart whatever their numbers", "[sim]") {
    // Seed 0xf65bfc82: stream 1's segment 28.145 and stream 2's segment 28.80 each held their own
    // event at offset 0; a key mixing uid and segment id made them one.
    auto h = writes(2);
    offset_map offsets;
    reader_view view;
    auto p0 = payload(0);
    auto p1 = payload(1);  // read_rec holds a view of its payload
    auto first = at(0, p0);
    first.segment = {1, (uint64_t{28} << 32) | 145};
    auto second = at(0, p1);
    second.segment = {2, (uint64_t{28} << 32) | 80};
    auto one = check_read(h, offsets, view, first);
    CHECK(one.value_or("") == "");
    auto two = check_read(h, offsets, view, second);
    CHECK(two.value_or("") == "");
    // The same segment with another event at that offset is still caught.
    auto again = at(0, p1);
    again.segment = first.segment;
    reader_view other;
    auto bad = check_read(h, offsets, other, again);
    REQUIRE(bad);
    CHECK(bad->find("inconsistent offsets") != std::string::npos);
}
