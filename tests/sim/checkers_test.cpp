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
    r.segment = 42;
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
    snap.install = raft::snapshot{10, 5, ""};
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
