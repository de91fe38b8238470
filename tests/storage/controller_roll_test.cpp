// Rolling transactions in the controller state (storage/controller_roll.cpp): a transaction
// whose parents a scale sealed commits through two new epochs; what the txn_roll and txn_rolled
// commands record, what they refuse, and what scales, seals, successors and restarts see.

#include "schema/schema.hpp"
#include "storage/storage.hpp"

#include "tests/storage/txn_fixture.hpp"
#include <catch2/catch.hpp>

#include <algorithm>

using namespace pravaha;
using namespace pravaha::storage;

namespace {

using cmd = controller_state::command;
using kind = cmd::kind;
using step_kind = controller_state::commit_step::kind;
using test::txn_fixture;

controller_state::commit_step step_of(txn_fixture& f, uint64_t id) {
    auto t = f.c->get_txn("s", "t", id);
    REQUIRE(t);
    auto step = f.c->commit_step_of(*t);
    REQUIRE(step);
    return *step;
}

std::vector<epoch_info> history_of(txn_fixture& f) {
    auto h = f.c->history("s", "t");
    REQUIRE(h);
    return *h;
}

// The final lengths of the current epoch's segments and of the roll's first epoch.
cmd rolled(txn_fixture& f, int64_t length = 7) {
    auto rec = f.c->get_stream("s", "t");
    REQUIRE(rec);
    REQUIRE(rec->has_transition);
    auto c = cmd::of(kind::txn_rolled, "s", "t", 0, 500);
    c.target_epoch = rec->transition.from_epoch + 2;
    for (auto id : rec->transition.seal) {
        c.sealed_lengths.emplace_back(id, length);
    }
    for (const auto& r : rec->transition.create) {
        if (r.id.epoch() == rec->transition.from_epoch + 1) {
            c.sealed_lengths.emplace_back(r.id, length);
        }
    }
    return c;
}

}  // namespace

TEST_CASE("a transaction begun before a split commits through a roll of two epochs",
          "[storage][txn][roll]") {
    txn_fixture f;
    auto t = f.begin().txn;  // epoch 0: parents 0.0, 0.1, 0.2
    f.split(1, 40);          // epoch 1: 0.0, 1.3, 1.4, 0.2
    auto uid = f.c->get_stream("s", "t")->uid;
    auto c = f.on(kind::txn_commit, t.id);
    REQUIRE(!c.error);  // was `conflict` before rolling transactions
    CHECK(c.txn.state == txn_state::committing);
    CHECK(step_of(f, t.id).what == step_kind::roll);
    // A transaction of the current epoch commits after it: it waits for the roll.
    auto u = f.begin().txn;
    REQUIRE(!f.on(kind::txn_commit, u.id).error);

    auto roll = f.apply(cmd::of(kind::txn_roll, "s", "t", 0, 300));
    REQUIRE(!roll.error);
    const auto& tr = roll.record.transition;
    CHECK(roll.record.has_transition);
    CHECK(tr.rolling);
    CHECK(tr.from_epoch == 1);
    CHECK(tr.txns == std::vector<uint64_t>{t.id});  // u is of another epoch
    auto h = history_of(f);
    REQUIRE(h.size() == 4);
    CHECK(roll.record.epoch == 1);  // writers route as before until the roll is done
    // Epoch 2 repeats epoch 0's ranges, each in the container of its parent's transaction
    // segment; epoch 3 repeats epoch 1's.
    for (uint32_t e : {2U, 3U}) {
        const auto& of = h[e == 2 ? 0 : 1];
        CHECK(h[e].rolled);
        REQUIRE(h[e].segments.size() == of.segments.size());
        for (size_t i = 0; i < of.segments.size(); ++i) {
            const auto& d = h[e].segments[i];
            CHECK(d.range.id.epoch() == e);
            CHECK(d.duplicate);
            CHECK(d.origin == root_of(of.segments[i]));
            CHECK(d.range.key_start == of.segments[i].range.key_start);
            CHECK(d.range.key_end == of.segments[i].range.key_end);
            CHECK(container_of({uid, d.range.id}, 4) ==
                  container_of({uid, of.segments[i].range.id}, 4));
            // Linked to the epoch before it like a scale's segments.
            for (const auto& p : h[e - 1].segments) {
                bool linked = std::find(d.predecessors.begin(), d.predecessors.end(), p.range.id) !=
                              d.predecessors.end();
                CHECK(linked == overlaps(p.range, d.range));
            }
        }
    }
    for (size_t j = 0; j < t.segments.size(); ++j) {
        CHECK(container_of(t.segments[j].key, 4) ==
              container_of({uid, h[2].segments[j].range.id}, 4));
    }
    // The batch merges into epoch 2; u waits; the roll's record answers a repeat.
    auto st = step_of(f, t.id);
    CHECK(st.what == step_kind::merge);
    CHECK(st.epoch == 2);
    REQUIRE(st.targets.size() == 3);
    for (size_t j = 0; j < 3; ++j) {
        CHECK(st.targets[j] == segment_key{uid, h[2].segments[j].range.id});
    }
    CHECK(step_of(f, u.id).what == step_kind::wait);
    auto again = f.apply(cmd::of(kind::txn_roll, "s", "t", 0, 301));
    REQUIRE(!again.error);
    CHECK(again.record.transition == tr);
    CHECK(history_of(f).size() == 4);

    SECTION("scales, seals and policy changes wait for the roll; successors are not told yet") {
        auto scale = cmd::of(kind::scale_begin, "s", "t", 0, 320);
        scale.scale = {1, {h[1].segments[0].range.id}, {{0, 1.0 / 6}, {1.0 / 6, 1.0 / 3}}, false};
        auto refused = f.apply(scale);
        CHECK(code_of(refused.error) == errc::conflict);
        CHECK(code_of(f.apply(cmd::of(kind::seal_stream, "s", "t")).error) == errc::conflict);
        auto update = cmd::of(kind::update_stream, "s", "t");
        update.policy = {scale_type::by_events, 100, 3, 2};
        CHECK(code_of(f.apply(update).error) == errc::conflict);
        for (uint32_t target : {2U, 3U}) {
            auto done = cmd::of(kind::scale_done, "s", "t");
            done.target_epoch = target;
            CHECK(code_of(f.apply(done).error) == errc::invalid_argument);
        }
        auto next = f.c->successors("s", "t", h[1].segments[0].range.id);
        REQUIRE(next);
        CHECK(!next->sealed);
        CHECK(next->list.empty());
    }
    SECTION(
        "txn_rolled needs every final length; then the epoch moves and the batch is committed") {
        auto missing = rolled(f);
        missing.sealed_lengths.pop_back();
        CHECK(code_of(f.apply(missing).error) == errc::invalid_argument);
        auto twice = rolled(f);
        twice.sealed_lengths.back() = twice.sealed_lengths.front();
        CHECK(code_of(f.apply(twice).error) == errc::invalid_argument);
        auto stranger = rolled(f);
        stranger.sealed_lengths.back().first = segment_id::make(0, 1);  // sealed by the split
        CHECK(code_of(f.apply(stranger).error) == errc::invalid_argument);
        auto wrong = rolled(f);
        wrong.target_epoch = 4;
        CHECK(code_of(f.apply(wrong).error) == errc::invalid_argument);
        CHECK(f.c->get_stream("s", "t")->has_transition);

        auto finish = rolled(f, 9);
        auto out = f.apply(finish);
        REQUIRE(!out.error);
        CHECK(out.record.epoch == 3);
        CHECK(!out.record.has_transition);
        auto rec = f.c->get_stream("s", "t");
        REQUIRE(rec->segments.size() == 4);
        auto after = history_of(f);
        for (size_t i = 0; i < 4; ++i) {
            CHECK(rec->segments[i] == after[3].segments[i].range);
            CHECK(after[1].segments[i].sealed_length == 9);
            CHECK(after[3].segments[i].sealed_length == -1);
        }
        for (const auto& d : after[2].segments) {
            CHECK(d.sealed_length == 9);
        }
        auto done = f.c->get_txn("s", "t", t.id);
        CHECK(done->state == txn_state::committed);
        CHECK(done->merged_epoch == 2);
        CHECK(done->completed_ms == 500);
        // A repeat changes nothing.
        CHECK(!f.apply(finish).error);
        CHECK(f.c->get_stream("s", "t")->epoch == 3);
        CHECK(f.c->get_txn("s", "t", t.id)->completed_ms == 500);

        // Readers and writers go A -> the transaction's epoch -> the next.
        auto from_a = f.c->successors("s", "t", after[1].segments[1].range.id);
        REQUIRE(from_a);
        CHECK(from_a->sealed);
        REQUIRE(from_a->list.size() == 1);
        CHECK(from_a->list[0].range.id == after[2].segments[1].range.id);
        auto from_dup = f.c->successors("s", "t", after[2].segments[1].range.id);
        REQUIRE(from_dup);
        REQUIRE(from_dup->list.size() == 2);  // its range was split in epoch 1
        CHECK(from_dup->list[0].range.id == after[3].segments[1].range.id);
        CHECK(from_dup->list[1].range.id == after[3].segments[2].range.id);

        // u (epoch 1) merges straight into epoch 3: its duplicates of u's parents.
        auto su = step_of(f, u.id);
        CHECK(su.what == step_kind::merge);
        CHECK(su.epoch == 3);
        REQUIRE(su.targets.size() == 4);
        for (size_t j = 0; j < 4; ++j) {
            CHECK(su.targets[j].segment == after[3].segments[j].range.id);
            CHECK(container_of(su.targets[j], 4) == container_of(u.segments[j].key, 4));
        }
        // A scale waits for that merge; done, it records where u went.
        auto scale = cmd::of(kind::scale_begin, "s", "t", 0, 600);
        const auto& first = after[3].segments[0].range;
        scale.scale = {
            3, {first.id}, {{0, first.key_end / 2}, {first.key_end / 2, first.key_end}}, false};
        CHECK(code_of(f.apply(scale).error) == errc::conflict);
        auto ud = f.on(kind::txn_done, u.id, 700);
        REQUIRE(!ud.error);
        CHECK(ud.txn.merged_epoch == 3);
        CHECK(!f.apply(scale).error);

        // A manual scale shaped like the roll's first epoch is not taken for its retry.
        auto shaped = cmd::of(kind::scale_begin, "s", "t", 0, 800);
        shaped.scale.expected_epoch = 1;
        for (const auto& s : after[1].segments) {
            shaped.scale.seal.push_back(s.range.id);
        }
        for (const auto& s : after[0].segments) {
            shaped.scale.create.push_back({s.range.key_start, s.range.key_end});
        }
        CHECK(code_of(f.apply(shaped).error) == errc::conflict);  // not an answer from epoch 2

        // A restart and a snapshot give the same history and transactions.
        controller_state restarted(*f.store, true, 4);
        REQUIRE(!restarted.load());
        CHECK(*restarted.history("s", "t") == *f.c->history("s", "t"));
        CHECK(restarted.all_txns() == f.c->all_txns());
        f.with_follower([&](controller_state& follower) {
            CHECK(*follower.history("s", "t") == *f.c->history("s", "t"));
            CHECK(follower.all_txns() == f.c->all_txns());
        });
    }
    SECTION("a restart in the middle of the roll resumes it from the record") {
        controller_state restarted(*f.store, true, 4);
        REQUIRE(!restarted.load());
        CHECK(*restarted.history("s", "t") == h);
        auto rec = restarted.get_stream("s", "t");
        CHECK(rec->transition == tr);
        auto t2 = restarted.get_txn("s", "t", t.id);
        auto st2 = restarted.commit_step_of(*t2);
        REQUIRE(st2);
        CHECK(st2->targets == st.targets);
    }
}

TEST_CASE("a roll takes the first committing transactions of one epoch, in commit order",
          "[storage][txn][roll]") {
    txn_fixture f;
    auto t1 = f.begin().txn;
    auto t2 = f.begin().txn;
    auto t4 = f.begin().txn;
    f.split(0);
    auto t3 = f.begin().txn;  // of epoch 1
    for (auto id : {t1.id, t2.id, t3.id, t4.id}) {
        REQUIRE(!f.on(kind::txn_commit, id).error);
    }
    // Nothing to roll unless the first committing one needs it.
    txn_fixture g;
    auto direct = g.begin().txn;
    REQUIRE(!g.on(kind::txn_commit, direct.id).error);
    CHECK(code_of(g.apply(cmd::of(kind::txn_roll, "s", "t", 0, 300)).error) ==
          errc::invalid_argument);
    CHECK(!g.c->get_stream("s", "t")->has_transition);

    auto roll = f.apply(cmd::of(kind::txn_roll, "s", "t", 0, 300));
    REQUIRE(!roll.error);
    CHECK(roll.record.transition.txns == std::vector<uint64_t>{t1.id, t2.id});  // not t4: after t3
    CHECK(step_of(f, t4.id).what == step_kind::wait);
    REQUIRE(!f.apply(rolled(f)).error);
    for (auto id : {t1.id, t2.id}) {
        CHECK(f.c->get_txn("s", "t", id)->state == txn_state::committed);
    }
    CHECK(step_of(f, t3.id).what == step_kind::merge);
    REQUIRE(!f.on(kind::txn_done, t3.id).error);
    // t4 (epoch 0) needs a roll of its own now: epochs 4 (epoch 0's ranges) and 5.
    CHECK(step_of(f, t4.id).what == step_kind::roll);
    auto second = f.apply(cmd::of(kind::txn_roll, "s", "t", 0, 900));
    REQUIRE(!second.error);
    CHECK(second.record.transition.from_epoch == 3);
    CHECK(second.record.transition.txns == std::vector<uint64_t>{t4.id});
    auto h = history_of(f);
    REQUIRE(h.size() == 6);
    REQUIRE(h[4].segments.size() == 3);
    for (size_t i = 0; i < 3; ++i) {
        CHECK(h[4].segments[i].origin == h[0].segments[i].range.id);
    }
    // The current epoch's duplicates keep their chain's origin (a duplicate of a duplicate).
    for (size_t i = 0; i < h[5].segments.size(); ++i) {
        CHECK(h[5].segments[i].origin == root_of(h[1].segments[i]));
    }
    REQUIRE(!f.apply(rolled(f)).error);
    CHECK(f.c->get_txn("s", "t", t4.id)->merged_epoch == 4);
    // A scale carries duplicates over into its epoch: a transaction of that epoch merges
    // straight into them (their origins are read where they were made).
    f.split(0);
    auto t5 = f.begin().txn;
    CHECK(t5.epoch == 6);
    REQUIRE(!f.on(kind::txn_commit, t5.id).error);
    auto st5 = step_of(f, t5.id);
    CHECK(st5.what == step_kind::merge);
    CHECK(st5.epoch == 6);
    REQUIRE(!f.on(kind::txn_done, t5.id).error);
    // And one of epoch 5 (the roll's current epoch) rolls after that scale: its duplicates'
    // origins are the roots of epoch 5's segments.
    f.split(0);
    auto t6 = f.begin().txn;
    f.split(0);
    REQUIRE(!f.on(kind::txn_commit, t6.id).error);
    CHECK(step_of(f, t6.id).what == step_kind::roll);
    auto third = f.apply(cmd::of(kind::txn_roll, "s", "t", 0, 1000));
    REQUIRE(!third.error);
    auto h3 = history_of(f);
    const auto& txn_epoch = h3[third.record.transition.from_epoch + 1];
    REQUIRE(txn_epoch.segments.size() == t6.segments.size());
    for (size_t i = 0; i < txn_epoch.segments.size(); ++i) {
        const auto& parent = t6.segments[i].range.id;
        const auto& made = h3[parent.epoch()];
        auto it = std::find_if(made.segments.begin(), made.segments.end(),
                               [&](const history_segment& s) { return s.range.id == parent; });
        REQUIRE(it != made.segments.end());
        CHECK(txn_epoch.segments[i].origin == root_of(*it));
    }
    REQUIRE(!f.apply(rolled(f)).error);
}

TEST_CASE("a scale waits only for commits merging into the current segments",
          "[storage][txn][roll]") {
    txn_fixture f;
    auto t = f.begin().txn;
    auto other = f.begin().txn;
    REQUIRE(!f.on(kind::txn_commit, t.id).error);
    auto rec = f.c->get_stream("s", "t");
    auto scale = cmd::of(kind::scale_begin, "s", "t", 0, 150);
    scale.scale = {
        0, {rec->segments[0].id}, {{0, 1.0 / 6}, {1.0 / 6, rec->segments[0].key_end}}, false};
    CHECK(code_of(f.apply(scale).error) == errc::conflict);  // t merges into epoch 0
    REQUIRE(!f.on(kind::txn_done, t.id).error);
    f.split(0);
    // `other` began in epoch 0 and commits now: it needs a roll, which does not hold a scale up.
    REQUIRE(!f.on(kind::txn_commit, other.id).error);
    CHECK(step_of(f, other.id).what == step_kind::roll);
    f.split(1);
    CHECK(f.c->get_stream("s", "t")->epoch == 2);
    // A seal still waits for it: a sealed stream could not roll it.
    CHECK(code_of(f.apply(cmd::of(kind::seal_stream, "s", "t")).error) == errc::conflict);
}
