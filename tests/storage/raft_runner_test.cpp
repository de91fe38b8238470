#include "storage/raft_runner.hpp"

#include "schema/errc.hpp"
#include "storage/keys.hpp"

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

// -- snapshots in chunks
// ---------------------------------------------------------------------------

namespace {

std::string key_of(char tag, int i) {
    std::string k(1, tag);
    k += std::to_string(1000 + i);  // sorts by i
    return k;
}

// Every record of `data`, in order.
std::vector<std::pair<std::string, std::string>> records_of(const std::string& data) {
    std::vector<std::pair<std::string, std::string>> out;
    REQUIRE(for_each_record(
        data, [&](std::string_view k, std::string_view v) { out.emplace_back(k, v); }));
    return out;
}

}  // namespace

TEST_CASE("a snapshot source reads its ranges in chunks from the view it was given",
          "[storage][raft]") {
    test::temp_dir dir;
    auto store = open_rocksdb({dir.path()});
    REQUIRE(store);
    write_batch b;
    for (int i = 0; i < 40; ++i) {
        b.put(key_of('a', i), std::string(10, 'x'));
        b.put(key_of('b', i), std::string(10, 'y'));
        b.put(key_of('c', i), std::string(10, 'z'));  // outside the ranges
    }
    REQUIRE(!(*store)->write(b, false));
    auto view = (*store)->view();
    REQUIRE(view);
    // Written after the view: not in the snapshot.
    write_batch later;
    later.put(key_of('a', 99), "late");
    later.erase(key_of('b', 0));
    REQUIRE(!(*store)->write(later, false));
    snapshot_source src(std::move(*view), {{"a", "b"}, {"b", "c"}}, 100);
    CHECK(src.approximate_bytes() > 0);
    std::vector<std::pair<std::string, std::string>> all;
    std::vector<std::string> chunks;
    for (uint64_t n = 1;; ++n) {
        REQUIRE(n < 100);
        bool last = false;
        auto data = src.read(n, last);
        REQUIRE(data);
        // About the chunk size: it ends with the record that reached it.
        CHECK(data->size() < 100 + 4 + 5 + 4 + 10);
        chunks.push_back(*data);
        for (auto& r : records_of(*data)) {
            all.push_back(r);
        }
        if (last) {
            CHECK(src.last_chunk() == n);
            break;
        }
    }
    REQUIRE(all.size() == 80);
    CHECK(all.front().first == key_of('a', 0));
    CHECK(all[40].first == key_of('b', 0));  // erased after the view: still in it
    CHECK(all.back().first == key_of('b', 39));
    // A chunk not yet acknowledged reads again the same.
    src.forget_below(2);
    bool last = false;
    auto again = src.read(2, last);
    REQUIRE(again);
    CHECK(*again == chunks[1]);
    // Malformed chunk data is refused and nothing is staged.
    write_batch staged;
    CHECK(code_of(stage_chunk(3, {5, 1, "\x01\x02"}, staged)) == errc::malformed_message);
    CHECK(staged.empty());
}

TEST_CASE("a staged snapshot is installed by its marker, again after a crash in the move",
          "[storage][raft]") {
    test::temp_dir dir;
    auto store = open_rocksdb({dir.path()});
    REQUIRE(store);
    auto& s = **store;
    // The owner's old state, which the install removes.
    write_batch old;
    old.put(key_of('a', 7), "old");
    REQUIRE(!s.write(old, true));
    std::string chunk1;
    std::string chunk2;
    for (int i = 0; i < 10; ++i) {
        append_record(i < 5 ? chunk1 : chunk2, key_of('a', i), "v" + std::to_string(i));
    }
    write_batch b;
    REQUIRE(!stage_chunk(3, {9, 1, chunk1}, b));
    REQUIRE(!stage_chunk(3, {9, 2, chunk2}, b));
    REQUIRE(!s.write(b, true));
    // Nothing of it is visible before the install.
    auto before = s.get(key_of('a', 0));
    REQUIRE(before);
    CHECK(!*before);
    // The install batch: the owner's removal of its state, then the marker.
    write_batch install;
    install.erase_range("a", "b");
    stage_install_marker(3, {9, 2}, install);
    REQUIRE(!s.write(install, true));
    // A crash after the first batch of the move: one record moved, its staged copy gone.
    write_batch first;
    first.put(key_of('a', 0), "v0");
    first.erase(staging_prefix(3) + key_of('a', 0));
    REQUIRE(!s.write(first, false));
    // At start-up the move is finished (in batches of one record here).
    REQUIRE(!complete_install(s, 3, 1));
    for (int i = 0; i < 10; ++i) {
        auto v = s.get(key_of('a', i));
        REQUIRE(v);
        REQUIRE(*v);
        CHECK(**v == "v" + std::to_string(i));
    }
    auto gone = s.get(key_of('a', 7));
    REQUIRE(gone);
    CHECK(**gone == "v7");  // the old value was replaced, not kept
    auto marker = s.get(install_marker(3));
    REQUIRE(marker);
    CHECK(!*marker);
    size_t staged_left = 0;
    REQUIRE(!s.scan(staging_prefix(3), keys::prefix_end(staging_prefix(3)),
                    [&](std::string_view, std::string_view) {
                        ++staged_left;
                        return true;
                    }));
    CHECK(staged_left == 0);
    // Without a marker it does nothing.
    REQUIRE(!complete_install(s, 3, 1));
}

TEST_CASE("a runner clears what a transfer cut short left staged", "[storage][raft]") {
    solo s;
    write_batch b;
    std::string chunk;
    append_record(chunk, "Vx", "1");
    REQUIRE(!stage_chunk(3, {4, 1, chunk}, b));
    REQUIRE(!s.store->write(b, true));
    s.runner = std::make_unique<ready_runner>(*s.store, s.runner->replica().cfg(), runner_hooks{});
    REQUIRE(!s.runner->open(0));
    size_t staged_left = 0;
    REQUIRE(!s.store->scan(staging_prefix(3), keys::prefix_end(staging_prefix(3)),
                           [&](std::string_view, std::string_view) {
                               ++staged_left;
                               return true;
                           }));
    CHECK(staged_left == 0);
}
