#include "storage/raft_runner.hpp"

#include "schema/errc.hpp"

#include "tests/support/temp_dir.hpp"
#include <catch2/catch.hpp>

#include <memory>
#include <vector>

using namespace pravaha;
using namespace pravaha::storage;
using namespace pravaha::storage::raft;

namespace {

// One replica of a one-member group on a real RocksDB, run by the runner; the persist hook can
// hold the fsync back (as the simulator's disks do) and the state is the list of applied data.
struct solo {
    explicit solo(uint64_t compaction_entries = 0) {
        auto s = open_rocksdb({dir.path()});
        REQUIRE(s);
        store = std::move(*s);
        config c;
        c.group = 3;
        c.id = 1;
        c.members = {1};
        c.compaction_entries = compaction_entries;
        runner_hooks h;
        h.send = [this](message m) { sent.push_back(std::move(m)); };
        h.apply = [this](uint64_t index, const std::string& data, write_batch&) {
            applied.emplace_back(index, data);
            return caf::error{};
        };
        h.state_ranges = [](storage::store_view&) {
            return caf::expected<std::vector<storage::store_range>>(
                std::vector<storage::store_range>{});
        };
        h.persist = [this](const write_batch& b, bool sync) -> caf::expected<bool> {
            if (auto err = store->write(b, sync)) {
                return err;
            }
            ++saves;
            return !hold;
        };
        runner = std::make_unique<ready_runner>(*store, c, std::move(h));
        REQUIRE(!runner->open(0));
    }

    replica& r() { return runner->replica(); }

    // Ticks until the replica leads (a new one-member cluster elects itself).
    void lead() {
        for (int i = 0; i < 100 && r().state() != role::leader; ++i) {
            r().tick();
            REQUIRE(!runner->run());
            while (runner->saving()) {
                REQUIRE(!runner->saved());
                REQUIRE(!runner->run());
            }
        }
        REQUIRE(r().state() == role::leader);
        applied.clear();
    }

    test::temp_dir dir;
    std::unique_ptr<log_store> store;
    std::unique_ptr<ready_runner> runner;
    std::vector<message> sent;
    std::vector<std::pair<uint64_t, std::string>> applied;
    bool hold = false;
    int saves = 0;
};

}  // namespace

TEST_CASE("the ready runner applies nothing before a held save completes", "[storage][raft]") {
    solo s;
    s.lead();
    s.hold = true;
    auto index = s.r().propose("e1");
    REQUIRE(index);
    REQUIRE(!s.runner->run());
    REQUIRE(s.runner->saving());
    // The entry is written but its fsync has not completed: not committed, not applied, and the
    // runner takes no further ready (a new proposal waits).
    CHECK(s.r().commit() < *index);
    CHECK(s.applied.empty());
    REQUIRE(s.r().propose("e2"));
    auto saves = s.saves;
    REQUIRE(!s.runner->run());
    CHECK(s.saves == saves);
    s.hold = false;
    REQUIRE(!s.runner->saved());
    REQUIRE(!s.runner->run());
    REQUIRE(!s.runner->saving());
    REQUIRE(s.applied.size() == 2);
    CHECK(s.applied[0] == std::make_pair(*index, std::string("e1")));
    CHECK(s.applied[1].second == "e2");
}

TEST_CASE("the ready runner compacts by its one rule, and never with compaction off",
          "[storage][raft]") {
    SECTION("every 4 entries") {
        solo s(4);
        s.lead();
        for (int i = 0; i < 12; ++i) {
            REQUIRE(s.r().propose("e" + std::to_string(i)));
            REQUIRE(!s.runner->run());
        }
        // Compaction needs the applied state durable (a later synced write): it trails applied.
        CHECK(s.r().snapshot_index() >= 4);
        CHECK(s.r().snapshot_index() < s.r().applied());
        CHECK(s.runner->durable_applied() >= s.r().snapshot_index());
        // The compacted log reloads: a restart finds the entries after the snapshot point.
        auto applied = s.r().applied();
        auto snap = s.r().snapshot_index();
        s.runner.reset();
        raft_log log(*s.store, 3);
        auto st = log.load();
        REQUIRE(st);
        CHECK(st->snapshot_index == snap);
        CHECK(st->snapshot_index + st->entries.size() >= applied);
    }
    SECTION("off") {
        solo s(0);
        s.lead();
        for (int i = 0; i < 12; ++i) {
            REQUIRE(s.r().propose("e" + std::to_string(i)));
            REQUIRE(!s.runner->run());
        }
        CHECK(s.r().applied() >= 12);
        CHECK(s.r().snapshot_index() == 0);
    }
}

TEST_CASE("the batching rule admits appends of one leader in one term, or proposals",
          "[storage][raft]") {
    solo s;
    s.lead();
    auto& r = s.r();
    message a;
    a.type = msg_type::append;
    a.from = 2;
    a.term = r.term();
    SECTION("appends") {
        batch_rule rule(r, &a);
        auto same = a;
        CHECK(rule.admits(r, &same));
        auto other_leader = a;
        other_leader.from = 3;
        CHECK_FALSE(rule.admits(r, &other_leader));
        auto other_term = a;
        other_term.term = a.term + 1;
        CHECK_FALSE(rule.admits(r, &other_term));
        auto vote = a;
        vote.type = msg_type::vote;
        CHECK_FALSE(rule.admits(r, &vote));
        CHECK_FALSE(rule.admits(r, nullptr));  // a proposal
        batch_rule from_vote(r, &vote);
        CHECK_FALSE(from_vote.admits(r, &vote));
    }
    SECTION("proposals") {
        batch_rule rule(r, nullptr);
        CHECK(rule.admits(r, nullptr));
        CHECK_FALSE(rule.admits(r, &a));
    }
    SECTION("not after the replica's term or role changed") {
        batch_rule rule(r, nullptr);
        r.campaign_now();  // no effect on a leader: the rule still admits
        CHECK(rule.admits(r, nullptr));
        message newer;
        newer.type = msg_type::append;
        newer.from = 2;
        newer.term = r.term() + 1;
        r.step(newer);  // a leader of a later term: this replica follows it
        REQUIRE(r.state() == role::follower);
        CHECK_FALSE(rule.admits(r, nullptr));
    }
}
