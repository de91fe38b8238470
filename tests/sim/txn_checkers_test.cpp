#include "sim/txn_checkers.hpp"

#include <catch2/catch.hpp>

using namespace pravaha;
using namespace pravaha::sim;

namespace {

// Transaction `n` of client 5 on stream 0 with `events` acknowledged events (keys 0, 1, ...),
// its commit asked at 100 * n and answered at 100 * n + 50, ordered `order`, committed.
uint32_t add_committed(history& h, uint32_t events, uint64_t order) {
    txn_rec t;
    t.client = 5;
    t.stream = 0;
    t.id = 0x100 + h.txns().size();
    auto n = h.add_txn(t);
    auto& rec = h.txn(n);
    rec.commit_asked = 100 * n;
    rec.committed_at = 100 * n + 50;
    rec.answer = txn_end::committed;
    rec.final_state = txn_end::committed;
    rec.commit_order = order;
    for (uint32_t i = 0; i < events; ++i) {
        op_rec op;
        op.id = event_id{txn_writer_base + n, 5, i, i, 0};
        op.out = outcome::ok;
        op.txn = n;
        auto index = h.invoke(op);
        h.txn(n).ops.push_back(index);
    }
    return n;
}

// One plain event at (segment, offset), then transaction n's events after it, 10 bytes each.
int64_t lay(txn_layout& l, uint64_t segment, int64_t offset, uint32_t n, uint32_t events) {
    for (uint32_t i = 0; i < events; ++i) {
        l[{{1, segment}, offset}] = {n, offset + 10};
        offset += 10;
    }
    return offset;
}

std::map<writer_seq, uint32_t> stored_once(const history& h) {
    std::map<writer_seq, uint32_t> s;
    for (const auto& op : h.ops()) {
        s[{op.id.writer, op.id.seq}] = 1;
    }
    return s;
}

}  // namespace

TEST_CASE("a transaction's event may be delivered only after its commit was asked, never aborted",
          "[sim][txn]") {
    history h;
    auto n = add_committed(h, 2, 1);
    CHECK_FALSE(check_txn_delivery(h, n, 100));
    CHECK(check_txn_delivery(h, n, 99));  // before the commit was asked
    h.txn(n).commit_asked = 0;
    CHECK(check_txn_delivery(h, n, 500));  // no commit asked at all
    h.txn(n).commit_asked = 100;
    h.txn(n).answer = txn_end::aborted;
    auto bad = check_txn_delivery(h, n, 500);
    REQUIRE(bad);
    CHECK(bad->find("aborted") != std::string::npos);
}

TEST_CASE("an end learnt is checked against what readers saw and what the controller records",
          "[sim][txn]") {
    history h;
    auto n = add_committed(h, 1, 1);
    CHECK_FALSE(check_txn_learnt(h, n));
    h.txn(n).final_state = txn_end::aborted;
    CHECK(check_txn_learnt(h, n));  // told committed, recorded aborted
    h.txn(n).answer = txn_end::aborted;
    CHECK_FALSE(check_txn_learnt(h, n));
    h.txn(n).first_seen = 120;
    auto bad = check_txn_learnt(h, n);
    REQUIRE(bad);
    CHECK(bad->find("a reader was given") != std::string::npos);
}

TEST_CASE("check_txn_final: committed whole, once, contiguous, in commit order; aborted never",
          "[sim][txn]") {
    history h;
    auto a = add_committed(h, 3, 1);
    auto b = add_committed(h, 2, 2);
    txn_layout l;
    auto end = lay(l, 1, 0, 0, 1);  // a plain event first
    end = lay(l, 1, end, a, 3);
    end = lay(l, 1, end, 0, 1);
    lay(l, 1, end, b, 2);
    auto stored = stored_once(h);
    CHECK_FALSE(check_txn_final(h, l, stored));

    SECTION("an acknowledged event of a committed one is missing") {
        stored.erase({txn_writer_base + a, 1});
        CHECK(check_txn_final(h, l, stored));
    }
    SECTION("or stored twice") {
        stored[{txn_writer_base + b, 0}] = 2;
        CHECK(check_txn_final(h, l, stored));
    }
    SECTION("an unknown event of a committed one may be missing, not stored twice") {
        h.op(h.txn(a).ops[1]).out = outcome::unknown;
        stored.erase({txn_writer_base + a, 1});
        CHECK_FALSE(check_txn_final(h, l, stored));
        stored[{txn_writer_base + a, 1}] = 2;
        CHECK(check_txn_final(h, l, stored));
    }
    SECTION("a foreign event inside a transaction's run") {
        l[{{1, 1}, 20}] = {0, 30};
        auto bad = check_txn_final(h, l, stored);
        REQUIRE(bad);
        CHECK(bad->find("not contiguous") != std::string::npos);
    }
    SECTION("bytes nobody was given inside a transaction's run") {
        l.erase({{1, 1}, 20});
        auto bad = check_txn_final(h, l, stored);
        REQUIRE(bad);
        CHECK(bad->find("gap") != std::string::npos);
    }
    SECTION("runs out of commit order in a segment") {
        h.txn(a).commit_order = 3;
        h.txn(a).committed_at = 0;  // (the real-time rule would catch it too)
        auto bad = check_txn_final(h, l, stored);
        REQUIRE(bad);
        CHECK(bad->find("precedes") != std::string::npos);
    }
    SECTION("a commit answered before another was asked is ordered first") {
        txn_layout apart;
        lay(apart, 1, 0, a, 3);
        lay(apart, 2, 0, b, 2);
        h.txn(a).commit_order = 3;
        auto bad = check_txn_final(h, apart, stored);  // a answered at 150, b asked at 200
        REQUIRE(bad);
        CHECK(bad->find("before") != std::string::npos);
        h.txn(a).committed_at = 0;
        CHECK_FALSE(check_txn_final(h, apart, stored));  // no answer: concurrent
    }
    SECTION("an aborted one with an event stored") {
        h.txn(b).final_state = txn_end::aborted;
        h.txn(b).commit_order = 0;
        auto bad = check_txn_final(h, txn_layout{}, stored);
        REQUIRE(bad);
        CHECK(bad->find("aborted, but its event") != std::string::npos);
    }
    SECTION("an aborted one that a reader saw, or that the controller had ordered") {
        h.txn(b).final_state = txn_end::aborted;
        stored.erase({txn_writer_base + b, 0});
        stored.erase({txn_writer_base + b, 1});
        CHECK(check_txn_final(h, txn_layout{}, stored));  // ordered (2)
        h.txn(b).commit_order = 0;
        CHECK_FALSE(check_txn_final(h, txn_layout{}, stored));
        h.txn(b).first_seen = 300;
        CHECK(check_txn_final(h, txn_layout{}, stored));
    }
}
