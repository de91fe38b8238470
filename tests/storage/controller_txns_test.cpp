// Transactions in the controller state (storage/controller_txns.cpp): the state machine of the
// txn_* commands, its idempotence rules and limits, seals and deletes, restarts and snapshots.

#include "schema/schema.hpp"
#include "storage/storage.hpp"

#include "tests/storage/txn_fixture.hpp"
#include "tests/support/temp_dir.hpp"
#include <catch2/catch.hpp>

using namespace pravaha;
using namespace pravaha::storage;

using cmd = controller_state::command;
using kind = cmd::kind;
using test::txn_fixture;

TEST_CASE("a transaction begins with a segment per active segment, in its parent's container",
          "[storage][txn]") {
    txn_fixture f;
    auto out = f.begin();
    REQUIRE(!out.error);
    const auto& t = out.txn;
    CHECK(t.state == txn_state::open);
    CHECK(t.epoch == 0);
    CHECK(t.writer == writer_id{5, 6});
    CHECK(t.deadline_ms == 100 + txn_limits{}.lifetime_ms);
    auto rec = f.c->get_stream("s", "t");
    REQUIRE(rec);
    REQUIRE(t.segments.size() == 3);
    for (size_t i = 0; i < 3; ++i) {
        CHECK(t.segments[i].range == rec->segments[i]);
        CHECK(t.segments[i].key.segment == rec->segments[i].id);
        CHECK(t.segments[i].key.stream != rec->uid);
        CHECK(container_of(t.segments[i].key, 4) ==
              container_of(segment_key{rec->uid, rec->segments[i].id}, 4));
    }
    // Ids and segment uids are never given twice (a stream created later gets another uid).
    auto second = f.begin();
    REQUIRE(!second.error);
    CHECK(second.txn.id != t.id);
    for (const auto& a : t.segments) {
        for (const auto& b : second.txn.segments) {
            CHECK(a.key != b.key);
        }
    }
    REQUIRE(!f.apply(cmd::of(kind::create_stream, "s", "u", 1, 10)).error);
    auto u = f.c->get_stream("s", "u");
    REQUIRE(u);
    CHECK(u->uid.value > second.txn.segments.back().key.stream.value);
    CHECK(code_of(f.c->get_txn("s", "u", t.id).error()) == errc::transaction_not_found);
}

TEST_CASE("commit and abort follow the transaction states and answer retries alike",
          "[storage][txn]") {
    txn_fixture f;
    auto a = f.begin().txn;
    auto b = f.begin().txn;
    SECTION("commit, again, done, again; abort of it is refused") {
        auto c1 = f.on(kind::txn_commit, a.id);
        REQUIRE(!c1.error);
        CHECK(c1.txn.state == txn_state::committing);
        CHECK(c1.txn.commit_order != 0);
        auto c2 = f.on(kind::txn_commit, a.id);
        REQUIRE(!c2.error);
        CHECK(c2.txn.commit_order == c1.txn.commit_order);
        CHECK(code_of(f.on(kind::txn_abort, a.id).error) == errc::transaction_committed);
        auto done = f.on(kind::txn_done, a.id, 300);
        REQUIRE(!done.error);
        CHECK(done.txn.state == txn_state::committed);
        CHECK(done.txn.completed_ms == 300);
        CHECK(!f.on(kind::txn_done, a.id, 400).error);
        CHECK(f.c->get_txn("s", "t", a.id)->completed_ms == 300);
        CHECK(!f.on(kind::txn_commit, a.id).error);
        CHECK(code_of(f.on(kind::txn_abort, a.id).error) == errc::transaction_committed);
        // A later commit of another transaction comes later in the order.
        auto cb = f.on(kind::txn_commit, b.id);
        CHECK(cb.txn.commit_order > c1.txn.commit_order);
    }
    SECTION("abort, again, done; commit of it is refused") {
        auto x = f.on(kind::txn_abort, a.id);
        REQUIRE(!x.error);
        CHECK(x.txn.state == txn_state::aborting);
        CHECK(x.txn.reason == "abort");
        CHECK(!f.on(kind::txn_abort, a.id).error);
        CHECK(code_of(f.on(kind::txn_commit, a.id).error) == errc::transaction_aborted);
        CHECK(f.on(kind::txn_done, a.id).txn.state == txn_state::aborted);
        CHECK(code_of(f.on(kind::txn_commit, a.id).error) == errc::transaction_aborted);
        CHECK(f.c->get_txn("s", "t", b.id)->state == txn_state::open);
    }
    SECTION("an abort for a missed lease says so") {
        auto x = cmd::of(kind::txn_abort, "s", "t", 0, 200);
        x.txn = a.id;
        x.reason = "lease";
        CHECK(f.apply(x).txn.reason == "lease");
    }
    SECTION("an open transaction cannot end without a decision") {
        CHECK(code_of(f.on(kind::txn_done, a.id).error) == errc::invalid_argument);
        CHECK(f.c->get_txn("s", "t", a.id)->state == txn_state::open);
    }
    SECTION("a commit after the maximum lifetime aborts it") {
        auto late = f.on(kind::txn_commit, a.id, a.deadline_ms);
        CHECK(code_of(late.error) == errc::transaction_aborted);
        CHECK(f.c->get_txn("s", "t", a.id)->reason == "lifetime");
    }
    SECTION("unknown transactions and streams") {
        CHECK(code_of(f.on(kind::txn_commit, 999'999).error) == errc::transaction_not_found);
        auto x = cmd::of(kind::txn_commit, "s", "nope");
        x.txn = a.id;
        CHECK(code_of(f.apply(x).error) == errc::stream_not_found);
    }
}

TEST_CASE("transactions are refused beyond their limits and on sealed streams", "[storage][txn]") {
    txn_limits limits;
    limits.open_per_stream = 2;
    txn_fixture f(limits);
    CHECK(code_of(f.begin(100, 10).error) == errc::invalid_argument);
    CHECK(code_of(f.begin(100, limits.lease_max_ms + 1).error) == errc::invalid_argument);
    auto a = f.begin().txn;
    auto b = f.begin().txn;
    CHECK(code_of(f.begin().error) == errc::transaction_limit);
    // An aborting one no longer counts.
    REQUIRE(!f.on(kind::txn_abort, a.id).error);
    REQUIRE(!f.begin().error);
    // A seal waits for a commit that is being merged, and aborts the open ones.
    REQUIRE(!f.on(kind::txn_commit, b.id).error);
    CHECK(code_of(f.apply(cmd::of(kind::seal_stream, "s", "t")).error) == errc::conflict);
    REQUIRE(!f.on(kind::txn_done, b.id).error);
    REQUIRE(!f.apply(cmd::of(kind::seal_stream, "s", "t")).error);
    auto all = f.c->list_txns("s", "t");
    REQUIRE(all);
    int sealed = 0;
    for (const auto& t : *all) {
        sealed += t.reason == "sealed" ? 1 : 0;
        CHECK(t.state != txn_state::open);
    }
    CHECK(sealed == 1);
    CHECK(code_of(f.begin().error) == errc::stream_sealed);
    // A deleted stream takes its transactions along.
    REQUIRE(!f.apply(cmd::of(kind::delete_stream, "s", "t")).error);
    CHECK(f.c->all_txns().empty());
}

TEST_CASE("completed transactions stay queryable for their retention, the oldest go first",
          "[storage][txn]") {
    txn_limits limits;
    limits.retention_ms = 1'000;
    limits.completed_per_stream = 2;
    txn_fixture f(limits);
    std::vector<uint64_t> ids;
    for (int i = 0; i < 3; ++i) {
        ids.push_back(f.begin(100).txn.id);
        REQUIRE(!f.on(kind::txn_abort, ids.back()).error);
        REQUIRE(!f.on(kind::txn_done, ids.back(), 200 + i).error);
    }
    // Three completed, two kept: the first went.
    CHECK(code_of(f.c->get_txn("s", "t", ids[0]).error()) == errc::transaction_not_found);
    CHECK(f.c->get_txn("s", "t", ids[1]));
    // Past the retention, the next command of the stream purges them.
    REQUIRE(!f.begin(5'000).error);
    CHECK(!f.c->get_txn("s", "t", ids[1]));
    CHECK(!f.c->get_txn("s", "t", ids[2]));
}

TEST_CASE("transactions survive restarts and travel in snapshots", "[storage][txn]") {
    txn_fixture f;
    auto a = f.begin().txn;
    auto b = f.begin().txn;
    REQUIRE(!f.on(kind::txn_commit, a.id).error);
    REQUIRE(!f.on(kind::txn_abort, b.id).error);
    auto before = f.c->all_txns();
    REQUIRE(before.size() == 2);
    // A follower installs a snapshot: the same transactions.
    f.with_follower([&](controller_state& follower) { CHECK(follower.all_txns() == before); });
    // A restart: the same transactions, and the uid counter past every id and segment uid.
    controller_state again(*f.store, true, 4);
    REQUIRE(!again.load());
    CHECK(again.all_txns() == before);
    auto c = cmd::of(kind::txn_begin, "s", "t", 0, 300);
    c.lease_ms = 10'000;
    auto next = again.apply(f.index + 1, c);
    REQUIRE(next);
    CHECK(next->txn.id > b.segments.back().key.stream.value);
}
