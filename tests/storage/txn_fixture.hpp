#pragma once

// A controller state with transactions, for the storage tests of transactions and their rolls.

#include "schema/schema.hpp"
#include "storage/storage.hpp"

#include "tests/storage/snapshot_copy.hpp"
#include "tests/support/temp_dir.hpp"
#include <catch2/catch.hpp>

#include <memory>

namespace pravaha::test {

// A replicated controller state of 4 containers with scope s and stream s/t of 3 segments.
struct txn_fixture {
    using cmd = storage::controller_state::command;
    using kind = cmd::kind;

    test::temp_dir dir;
    std::unique_ptr<storage::log_store> store;
    std::unique_ptr<storage::controller_state> c;
    uint64_t index = 0;

    explicit txn_fixture(txn_limits limits = {}) {
        auto s = storage::open_rocksdb({dir.path() + "/a"});
        REQUIRE(s);
        store = std::move(*s);
        c = std::make_unique<storage::controller_state>(*store, true, 4, limits);
        REQUIRE(!c->load());
        REQUIRE(!apply(cmd::of(kind::create_scope, "s")).error);
        REQUIRE(!apply(cmd::of(kind::create_stream, "s", "t", 3, 10)).error);
    }

    storage::controller_state::outcome apply(const cmd& x) {
        auto out = c->apply(++index, x);
        REQUIRE(out);
        return *out;
    }

    storage::controller_state::outcome begin(int64_t now_ms = 100, int64_t lease_ms = 10'000) {
        auto b = cmd::of(kind::txn_begin, "s", "t", 0, now_ms);
        b.lease_ms = lease_ms;
        b.writer = writer_id{5, 6};
        return apply(b);
    }

    storage::controller_state::outcome on(kind k, uint64_t id, int64_t now_ms = 200) {
        auto x = cmd::of(k, "s", "t", 0, now_ms);
        x.txn = id;
        return apply(x);
    }

    // Installs this state's snapshot on a fresh follower (its own store) and calls
    // `check(follower)`.
    template <class Check>
    void with_follower(Check check) {
        auto other = storage::open_rocksdb({dir.path() + "/b"});
        REQUIRE(other);
        storage::controller_state follower(**other, true, 4);
        REQUIRE(!follower.load());
        test::copy_snapshot(
            *store, [](storage::store_view&) { return storage::controller_state::state_ranges(); },
            **other, 0, index,
            [&](storage::write_batch& wb) { follower.stage_install(index, wb); });
        REQUIRE(!follower.load());
        check(follower);
    }

    // Splits the current segment `i` of s/t in two and finishes the scale (its length `length`).
    void split(size_t i, int64_t length = 0) {
        auto rec = c->get_stream("s", "t");
        REQUIRE(rec);
        auto r = rec->segments.at(i);
        auto mid = (r.key_start + r.key_end) / 2;
        auto begin = cmd::of(kind::scale_begin, "s", "t", 0, 150);
        begin.scale = {rec->epoch, {r.id}, {{r.key_start, mid}, {mid, r.key_end}}, false};
        auto out = apply(begin);
        REQUIRE(!out.error);
        auto done = cmd::of(kind::scale_done, "s", "t");
        done.target_epoch = out.scale.epoch;
        done.sealed_lengths = {{r.id, length}};
        REQUIRE(!apply(done).error);
    }
};

}  // namespace pravaha::test
