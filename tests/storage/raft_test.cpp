#include "storage/raft.hpp"

#include "schema/errc.hpp"
#include "storage/raft_log.hpp"
#include "storage/raft_runner.hpp"
#include "storage/snapshot_pacer.hpp"

#include "tests/support/temp_dir.hpp"
#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <memory>
#include <set>

using namespace pravaha;
using namespace pravaha::storage;
using namespace pravaha::storage::raft;

namespace {

// A deterministic cluster of Raft replicas for scripted scenarios: each replica persists through
// the real raft_log on its own RocksDB; messages wait in one queue until `deliver` and are
// dropped on cut links or to replicas that are down. The "state machine" is the list of applied
// entry payloads (no-ops skipped), also written to the store (key "V" + index) so that
// snapshots, sent in chunks of 64 bytes here, carry it.
struct test_node {
    std::unique_ptr<test::temp_dir> dir;
    std::unique_ptr<log_store> store;
    std::unique_ptr<ready_runner> runner;  // the production ready cycle
    replica* r = nullptr;
    std::vector<std::string> applied_data;  // durable in this model: applied after the fsync
    uint64_t applied = 0;
};

struct cluster {
    explicit cluster(size_t n,
                     size_t message_bytes_max = 1024 * 1024,
                     bool settle = true,
                     uint32_t group_id = 7,
                     std::map<replica_id, std::shared_ptr<snapshot_pacer>> node_pacers = {})
        : group(group_id), pacers(std::move(node_pacers)) {
        for (replica_id id = 1; id <= n; ++id) {
            members.push_back(id);
        }
        bytes_max = message_bytes_max;
        for (auto id : members) {
            nodes[id].dir = std::make_unique<test::temp_dir>();
            start(id);
        }
        if (settle) {
            // Every member starts empty: one round of term probes finds a new cluster.
            tick(2);
        }
    }

    config make_config(replica_id id) const {
        config c;
        c.group = group;
        c.id = id;
        if (auto it = pacers.find(id); it != pacers.end()) {
            c.pacer = it->second;
        }
        c.members = members;
        c.election_ticks = 10;
        c.seed = 42;
        c.message_bytes_max = bytes_max;
        c.snapshot_chunk_bytes = 64;
        c.snapshot_window = 2;
        return c;
    }

    void start(replica_id id) {
        auto& n = nodes[id];
        auto store = open_rocksdb({n.dir->path()});
        REQUIRE(store);
        n.store = std::move(*store);
        n.runner = std::make_unique<ready_runner>(*n.store, make_config(id), hooks_for(id));
        REQUIRE(!n.runner->open(n.applied));
        n.r = &n.runner->replica();
        down.erase(id);
    }

    runner_hooks hooks_for(replica_id id) {
        auto& n = nodes[id];
        runner_hooks h;
        h.send = [this, &n](message m) {
            if (m.type == msg_type::snapshot) {
                REQUIRE(m.index <= n.applied);
            }
            sent.push_back(m);
            if (linked(m.from, m.to)) {
                queue.push_back(std::move(m));
            }
        };
        h.apply = [&n](uint64_t index, const std::string& data, write_batch& state) {
            if (!data.empty()) {
                n.applied_data.push_back(data);
                state.put(value_key(index), data);
            }
            n.applied = index;
            return caf::error{};
        };
        h.state_ranges = [](store_view&) {
            return caf::expected<std::vector<store_range>>(std::vector<store_range>{{"V", "W"}});
        };
        h.stage_install = [](const snapshot&, write_batch& b) {
            b.erase_range("V", "W");
            return caf::error{};
        };
        h.installed = [&n](const snapshot& snap) {
            n.applied_data.clear();
            auto err = n.store->scan("V", "W", [&](std::string_view, std::string_view v) {
                n.applied_data.emplace_back(v);
                return true;
            });
            n.applied = snap.index;
            return err;
        };
        return h;
    }

    void crash(replica_id id) {
        auto& n = nodes[id];
        n.r = nullptr;
        n.runner.reset();
        n.store.reset();
        down.insert(id);
    }

    void wipe(replica_id id) {
        crash(id);
        auto& n = nodes[id];
        n.dir = std::make_unique<test::temp_dir>();
        n.applied_data.clear();
        n.applied = 0;
    }

    bool linked(replica_id a, replica_id b) const {
        return !cut.count({a, b}) && !cut.count({b, a});
    }

    void isolate(replica_id id) {
        for (auto other : members) {
            if (other != id) {
                cut.insert({id, other});
            }
        }
    }

    void heal() { cut.clear(); }

    // Runs every ready of every running replica.
    void pump() {
        bool again = true;
        while (again) {
            again = false;
            for (auto& [id, n] : nodes) {
                if (!n.r || !n.r->has_ready()) {
                    continue;
                }
                again = true;
                REQUIRE(!n.runner->run());
            }
        }
    }

    // Delivers queued messages (and those they cause) until nothing moves; messages for which
    // `keep` is false are dropped.
    template <class Keep>
    void deliver_if(Keep keep) {
        pump();
        while (!queue.empty()) {
            auto m = std::move(queue.front());
            queue.pop_front();
            if (down.count(m.to) || !linked(m.from, m.to) || !keep(m)) {  // keep may edit m
                continue;
            }
            nodes[m.to].r->step(m);
            pump();
        }
    }

    void deliver() {
        deliver_if([](message&) { return true; });
    }

    // Forces elections of `id` until it leads (at most `tries`), delivering only what `keep`
    // allows.
    template <class Keep>
    bool elect(replica_id id, Keep keep, int tries = 4) {
        for (int i = 0; i < tries && at(id).state() != role::leader; ++i) {
            at(id).campaign_now();
            deliver_if(keep);
        }
        return at(id).state() == role::leader;
    }

    void tick(int times = 1) {
        for (int i = 0; i < times; ++i) {
            for (auto& [id, n] : nodes) {
                if (n.r) {
                    n.r->tick();
                }
            }
            deliver();
        }
    }

    // Ticks until some replica leads with a majority behind it; returns its id.
    replica_id wait_leader(int max_ticks = 200) {
        for (int i = 0; i < max_ticks; ++i) {
            if (auto l = leader()) {
                return l;
            }
            tick();
        }
        return no_replica;
    }

    replica_id leader() const {
        replica_id found = no_replica;
        uint64_t term = 0;
        for (auto& [id, n] : nodes) {
            if (n.r && n.r->state() == role::leader && n.r->term() >= term) {
                found = id;
                term = n.r->term();
            }
        }
        return found;
    }

    replica& at(replica_id id) { return *nodes[id].r; }

    static std::string value_key(uint64_t index) {
        std::string k = "V";
        for (int shift = 56; shift >= 0; shift -= 8) {
            k.push_back(static_cast<char>((index >> shift) & 0xff));
        }
        return k;
    }

    uint32_t group;
    std::map<replica_id, std::shared_ptr<snapshot_pacer>> pacers;  // per node, else its own
    std::vector<replica_id> members;
    size_t bytes_max;
    std::map<replica_id, test_node> nodes;
    std::set<replica_id> down;
    std::set<std::pair<replica_id, replica_id>> cut;
    std::deque<message> queue;
    std::vector<message> sent;
};

std::vector<std::string> strings(std::initializer_list<const char*> l) {
    return {l.begin(), l.end()};
}

// Elects a leader of `c` and commits `data` everywhere; returns the leader.
replica_id leader_with(cluster& c, const char* data) {
    auto l = c.wait_leader();
    REQUIRE(l != no_replica);
    REQUIRE(c.at(l).propose(data));
    c.tick(2);
    return l;
}

}  // namespace

TEST_CASE("raft elects one leader and replicates proposals to every replica", "[storage]") {
    cluster c(3);
    auto l = c.wait_leader();
    REQUIRE(l != no_replica);
    size_t leaders = 0;
    for (auto id : c.members) {
        leaders += c.at(id).state() == role::leader ? 1 : 0;
        CHECK(c.at(id).term() == c.at(l).term());
    }
    CHECK(leaders == 1);
    for (int i = 0; i < 10; ++i) {
        REQUIRE(c.at(l).propose("e" + std::to_string(i)));
    }
    c.tick(3);
    for (auto id : c.members) {
        REQUIRE(c.nodes[id].applied_data.size() == 10);
        CHECK(c.nodes[id].applied_data.front() == "e0");
        CHECK(c.nodes[id].applied_data.back() == "e9");
    }
    auto follower = l == 1 ? 2 : 1;
    auto res = c.at(follower).propose("x");
    REQUIRE(!res);
    CHECK(code_of(res.error()) == errc::not_leader);
}

TEST_CASE("raft persists a vote and an append before answering them", "[storage]") {
    config cfg;
    cfg.group = 1;
    cfg.id = 2;
    cfg.members = {1, 2, 3};
    durable_state st;
    st.hard.term = 1;  // not empty: a normal member
    replica r(cfg, st, 0);

    message vote;
    vote.type = msg_type::vote;
    vote.from = 1;
    vote.to = 2;
    vote.term = 2;
    r.step(vote);
    auto rd = r.take_ready();
    REQUIRE(rd.hard);
    CHECK(rd.hard->term == 2);
    CHECK(rd.hard->vote == 1);
    CHECK(rd.messages.empty());
    REQUIRE(rd.after_persist.size() == 1);
    CHECK(rd.after_persist[0].type == msg_type::vote_resp);
    CHECK(!rd.after_persist[0].reject);
    r.advance();

    // A second candidate in the same term is refused.
    vote.from = 3;
    r.step(vote);
    rd = r.take_ready();
    REQUIRE(rd.after_persist.size() == 1);
    CHECK(rd.after_persist[0].reject);
    r.advance();

    message app;
    app.type = msg_type::append;
    app.from = 1;
    app.to = 2;
    app.term = 2;
    app.index = 0;
    app.log_term = 0;
    app.entries = {entry{2, 1, "a"}, entry{2, 2, "b"}};
    app.commit = 1;
    r.step(app);
    rd = r.take_ready();
    REQUIRE(rd.entries.size() == 2);
    CHECK(rd.messages.empty());
    REQUIRE(rd.after_persist.size() == 1);
    CHECK(rd.after_persist[0].type == msg_type::append_resp);
    CHECK(rd.after_persist[0].index == 2);
    CHECK(rd.apply_from == 0);
    CHECK(rd.apply_to == 1);
    r.advance();
}

TEST_CASE("raft commits only what a majority has persisted", "[storage]") {
    cluster c(3);
    auto l = c.wait_leader();
    REQUIRE(l != no_replica);
    auto commit_before = c.at(l).commit();
    for (auto id : c.members) {
        if (id != l) {
            c.cut.insert({l, id});
        }
    }
    auto idx = c.at(l).propose("lonely");
    REQUIRE(idx);
    c.deliver();
    CHECK(c.at(l).commit() == commit_before);
    CHECK(c.nodes[l].applied_data.empty());
    // One follower is enough for a majority of three.
    auto f = l == 1 ? 2 : 1;
    c.cut.erase({l, f});
    c.tick(3);
    CHECK(c.at(l).commit() >= *idx);
    CHECK(c.nodes[l].applied_data == strings({"lonely"}));
}

TEST_CASE("raft replaces a deposed leader's uncommitted entries", "[storage]") {
    cluster c(3);
    auto old = c.wait_leader();
    REQUIRE(old != no_replica);
    REQUIRE(c.at(old).propose("kept"));
    c.tick(2);
    c.isolate(old);
    REQUIRE(c.at(old).propose("lost-1"));
    REQUIRE(c.at(old).propose("lost-2"));
    c.deliver();
    auto stale_last = c.at(old).last_index();
    // The other two elect a new leader and write something else at the same indexes.
    replica_id other = old == 1 ? 2 : 1;
    c.at(other).campaign_now();
    c.deliver();
    REQUIRE(c.at(other).state() == role::leader);
    REQUIRE(c.at(other).propose("new-1"));
    REQUIRE(c.at(other).propose("new-2"));
    REQUIRE(c.at(other).propose("new-3"));
    c.deliver();
    c.heal();
    c.tick(30);
    CHECK(c.at(old).state() == role::follower);
    CHECK(c.at(old).last_index() >= stale_last);
    for (auto id : c.members) {
        CHECK(c.nodes[id].applied_data == strings({"kept", "new-1", "new-2", "new-3"}));
    }
}

TEST_CASE("raft does not commit an earlier term's entry by counting (Figure 8)", "[storage]") {
    // One entry per message, so that index 2 can reach a majority without index 3.
    cluster c(5, 1);
    auto all = [](message&) { return true; };
    REQUIRE(c.elect(1, all));
    c.tick(2);
    REQUIRE(c.at(1).commit() == 1);
    // (a) S1 writes X at index 2; only S2 gets it.
    c.isolate(1);
    c.cut.erase({1, 2});
    REQUIRE(c.at(1).propose("X") == 2u);
    c.deliver();
    REQUIRE(c.at(2).last_index() == 2);
    // (b) S1 stops; S5 wins with S3 and S4; its no-op at index 2 stays local.
    c.crash(1);
    c.heal();
    c.isolate(5);
    c.cut.erase({5, 3});
    c.cut.erase({5, 4});
    auto votes_only = [](message& m) {
        return m.type == msg_type::vote || m.type == msg_type::vote_resp;
    };
    REQUIRE(c.elect(5, votes_only));
    c.queue.clear();
    REQUIRE(c.at(5).term_at(2) == c.at(5).term());
    c.crash(5);
    // (c) S1 returns and wins with S2 and S3; X (index 2, an earlier term) reaches S3, so it is
    // on a majority, while the new term's no-op (index 3) is lost on the way.
    c.start(1);
    c.heal();
    c.isolate(4);
    c.isolate(5);
    auto no_index_3 = [](message& m) {
        while (!m.entries.empty() && m.entries.back().index >= 3) {
            m.entries.pop_back();
        }
        return true;
    };
    REQUIRE(c.elect(1, no_index_3));
    for (int i = 0; i < 20; ++i) {
        c.at(1).tick();  // stalled followers are probed again from their match
        c.deliver_if(no_index_3);
    }
    size_t holders = 1;
    for (auto& [peer, pr] : c.at(1).followers()) {
        holders += pr.match >= 2 ? 1 : 0;
    }
    REQUIRE(holders >= 3);
    CHECK(c.at(1).commit() < 2);
    CHECK(c.nodes[1].applied_data.empty());
    // (d) S1 stops; S5 wins with S2, S3, S4 (its last term is higher) and overwrites index 2.
    c.crash(1);
    c.queue.clear();
    c.heal();
    c.start(5);
    REQUIRE(c.elect(5, all));
    REQUIRE(c.at(5).propose("Y"));
    c.tick(5);
    for (replica_id id : {2, 3, 4, 5}) {
        CHECK(c.nodes[id].applied_data == strings({"Y"}));
    }
}

TEST_CASE("raft pre-vote keeps a returning partitioned replica from disrupting the leader",
          "[storage]") {
    cluster c(3);
    auto l = c.wait_leader();
    REQUIRE(l != no_replica);
    auto term = c.at(l).term();
    replica_id lone = l == 3 ? 1 : 3;
    c.isolate(lone);
    c.tick(100);
    CHECK(c.at(lone).term() == term);  // pre-votes failed; the term did not grow
    CHECK(c.at(l).state() == role::leader);
    c.heal();
    c.tick(20);
    CHECK(c.leader() == l);
    CHECK(c.at(l).term() == term);
}

TEST_CASE("raft leader steps down without a majority (check-quorum) and the rest elect",
          "[storage]") {
    cluster c(3);
    auto l = c.wait_leader();
    REQUIRE(l != no_replica);
    c.isolate(l);
    c.tick(60);
    CHECK(c.at(l).state() != role::leader);
    auto l2 = c.leader();
    REQUIRE(l2 != no_replica);
    CHECK(l2 != l);
    REQUIRE(c.at(l2).propose("after"));
    c.tick(2);
    c.heal();
    c.tick(20);
    CHECK(c.nodes[l].applied_data == strings({"after"}));
}

TEST_CASE("raft leader whose disk is full hands over to an up-to-date follower at once",
          "[storage]") {
    cluster c(3);
    auto l = leader_with(c, "before");
    auto term = c.at(l).term();
    c.at(l).set_reluctant(true);
    c.tick(1);  // the handover: timeout_now, a forced election, no election timeout waited
    auto l2 = c.leader();
    REQUIRE(l2 != no_replica);
    CHECK(l2 != l);
    CHECK(c.at(l2).term() == term + 1);
    // The full replica does not take the leadership back while it stays full.
    REQUIRE(c.at(l2).propose("after"));
    c.tick(100);
    CHECK(c.leader() == l2);
    CHECK(c.nodes[l].applied_data == strings({"before", "after"}));
    // A full member waits three election timeouts before it campaigns, so that one with room
    // is elected first; one whose disk has room again is an ordinary member.
    c.at(l).set_reluctant(false);
    auto third = static_cast<replica_id>(6 - l - l2);
    c.at(third).set_reluctant(true);
    c.isolate(l2);
    c.tick(60);
    CHECK(c.leader() == l);
}

TEST_CASE("raft full members wait three election timeouts before they campaign", "[storage]") {
    cluster c(3);
    auto l = c.wait_leader();
    REQUIRE(l != no_replica);
    for (auto id : c.members) {
        c.at(id).set_reluctant(id != l);
    }
    c.isolate(l);
    c.tick(25);  // past two election timeouts (random in [10, 20) ticks)
    for (auto id : c.members) {
        if (id != l) {
            CHECK(c.at(id).state() == role::follower);
        }
    }
    c.tick(60);  // past three of the longest: one of them leads (nobody with room is left)
    auto l2 = c.leader();
    CHECK(l2 != no_replica);
    CHECK(l2 != l);
}

TEST_CASE("raft group whose every disk is full still elects a leader (reads and deletes)",
          "[storage]") {
    cluster c(3);
    for (auto id : c.members) {
        c.at(id).set_reluctant(true);
    }
    auto l = c.wait_leader(400);
    CHECK(l != no_replica);
}

TEST_CASE("raft survives restarts: term, vote and log come back from disk", "[storage]") {
    cluster c(3);
    auto l = c.wait_leader();
    REQUIRE(l != no_replica);
    for (int i = 0; i < 5; ++i) {
        REQUIRE(c.at(l).propose("r" + std::to_string(i)));
    }
    c.tick(2);
    auto term = c.at(l).term();
    for (auto id : c.members) {
        c.crash(id);
    }
    for (auto id : c.members) {
        c.start(id);
        CHECK(c.at(id).term() == term);
        CHECK(c.at(id).last_index() >= 6);
        CHECK(!c.at(id).recovering());
    }
    auto l2 = c.wait_leader();
    REQUIRE(l2 != no_replica);
    REQUIRE(c.at(l2).propose("r5"));
    c.tick(3);
    for (auto id : c.members) {
        REQUIRE(c.nodes[id].applied_data.size() == 6);
        CHECK(c.nodes[id].applied_data.back() == "r5");
    }
}

TEST_CASE("raft sends a snapshot to a follower behind the compacted log", "[storage]") {
    cluster c(3);
    auto l = c.wait_leader();
    REQUIRE(l != no_replica);
    replica_id lag = l == 3 ? 1 : 3;
    c.crash(lag);
    for (int i = 0; i < 20; ++i) {
        REQUIRE(c.at(l).propose("s" + std::to_string(i)));
    }
    c.tick(2);
    // Compact both running replicas' logs (state of the model is durable once applied).
    for (auto id : c.members) {
        if (id == lag) {
            continue;
        }
        auto& r = c.at(id);
        auto point = r.applied();
        REQUIRE(!c.nodes[id].runner->compact(point));
        CHECK(r.snapshot_index() == point);
    }
    c.start(lag);
    c.tick(30);
    bool snapshot_sent = false;
    for (auto& m : c.sent) {
        snapshot_sent = snapshot_sent || m.type == msg_type::snapshot;
    }
    CHECK(snapshot_sent);
    CHECK(c.nodes[lag].applied_data.size() == 20);
    REQUIRE(c.at(l).propose("after"));
    c.tick(3);
    CHECK(c.nodes[lag].applied_data.back() == "after");
    // The installed state survives a restart of the follower.
    c.crash(lag);
    c.start(lag);
    CHECK(c.at(lag).snapshot_index() >= 21);
}

TEST_CASE("raft starts a snapshot over when its follower restarts in the middle of it",
          "[storage]") {
    cluster c(3);
    auto l = c.wait_leader();
    REQUIRE(l != no_replica);
    replica_id lag = l == 3 ? 1 : 3;
    c.crash(lag);
    for (int i = 0; i < 40; ++i) {
        REQUIRE(c.at(l).propose("entry-" + std::to_string(i)));
    }
    c.tick(2);
    for (auto id : c.members) {
        if (id != lag) {
            REQUIRE(!c.nodes[id].runner->compact(c.at(id).applied()));
        }
    }
    c.start(lag);
    // The follower takes three chunks, then crashes before the rest arrives.
    int chunks = 0;
    bool crashed = false;
    for (int i = 0; i < 40 && !crashed; ++i) {
        for (auto& [id, n] : c.nodes) {
            if (n.r) {
                n.r->tick();
            }
        }
        c.deliver_if([&](message& m) {
            if (m.type == msg_type::snapshot && m.to == lag && !crashed && ++chunks > 3) {
                crashed = true;
            }
            return !crashed || m.to != lag;  // from the fourth chunk on, it hears nothing
        });
    }
    REQUIRE(crashed);
    c.crash(lag);
    CHECK(c.nodes[lag].applied_data.size() < 40);  // nothing installed yet
    c.start(lag);
    c.tick(60);
    CHECK(c.nodes[lag].applied_data.size() == 40);
    CHECK(c.nodes[lag].applied_data.back() == "entry-39");
    // Later entries follow the installed state.
    REQUIRE(c.at(l).propose("after"));
    c.tick(3);
    CHECK(c.nodes[lag].applied_data.back() == "after");
}

TEST_CASE("snapshot pacer holds each follower node for one replica and splits the node's rate",
          "[storage]") {
    snapshot_pacer p(/*bytes_per_tick=*/1000, /*groups=*/4, /*burst_bytes=*/3000);
    int a = 0;
    int b = 0;
    CHECK(p.claim(3, &a, 1));
    CHECK(p.claim(3, &a, 1));  // again: it holds it
    CHECK_FALSE(p.claim(3, &b, 2));
    CHECK(p.claim(2, &b, 2));
    CHECK(p.holder(3) == std::optional<uint32_t>(1));
    p.release(3, &b);  // not b's: no effect
    CHECK(p.holder(3) == std::optional<uint32_t>(1));
    p.release(3, &a);
    CHECK_FALSE(p.holder(3));
    CHECK(p.claim(3, &b, 2));
    p.release_all(&b);
    CHECK_FALSE(p.holder(2));
    CHECK_FALSE(p.holder(3));

    // Four groups' ticks add one tick of the node's rate: 1000 bytes.
    CHECK_FALSE(p.may_send());
    for (int i = 0; i < 4; ++i) {
        p.tick();
    }
    CHECK(p.may_send());
    p.charge(999);
    CHECK(p.may_send());
    p.charge(1);
    CHECK_FALSE(p.may_send());
    p.charge(-1);  // a refund
    CHECK(p.may_send());
    p.charge(1);
    // The budget grows to one burst (3000 bytes) at most, however long nothing is sent.
    for (int i = 0; i < 400; ++i) {
        p.tick();
    }
    p.charge(3000);
    CHECK_FALSE(p.may_send());

    snapshot_pacer unlimited(0, 4, 3000);
    CHECK(unlimited.may_send());
    unlimited.charge(1 << 30);
    CHECK(unlimited.may_send());
}

TEST_CASE("raft groups of one node send a follower node one snapshot at a time", "[storage]") {
    // Two groups on the same three nodes share each node's pacer; node 1 leads both, node 3 falls
    // behind both compacted logs. The node's rate (one 64-byte chunk per tick) makes each
    // transfer last many ticks, so that two at once would be seen.
    std::map<replica_id, std::shared_ptr<snapshot_pacer>> pacers;
    for (replica_id id = 1; id <= 3; ++id) {
        pacers[id] = std::make_shared<snapshot_pacer>(64, 2, 64);
    }
    cluster g1(3, 1024 * 1024, true, 7, pacers);
    cluster g2(3, 1024 * 1024, true, 8, pacers);
    auto keep_all = [](message&) { return true; };
    REQUIRE(g1.elect(1, keep_all));
    REQUIRE(g2.elect(1, keep_all));
    g1.crash(3);
    g2.crash(3);
    for (int i = 0; i < 30; ++i) {
        REQUIRE(g1.at(1).propose("one-" + std::to_string(i)));
        REQUIRE(g2.at(1).propose("two-" + std::to_string(i)));
    }
    g1.tick(2);
    g2.tick(2);
    for (auto* g : {&g1, &g2}) {
        for (replica_id id = 1; id <= 2; ++id) {
            REQUIRE(!g->nodes[id].runner->compact(g->at(id).applied()));
        }
    }
    g1.start(3);
    g2.start(3);
    auto sending = [](cluster& g) {
        const auto& f = g.at(1).followers();
        auto it = f.find(3);
        return it != f.end() && it->second.state == progress::mode::snapshot;
    };
    bool saw1 = false;
    bool saw2 = false;
    for (int i = 0;
         i < 200 && (g1.nodes[3].applied_data.size() < 30 || g2.nodes[3].applied_data.size() < 30);
         ++i) {
        g1.tick();
        g2.tick();
        REQUIRE(g1.at(1).state() == role::leader);
        REQUIRE(g2.at(1).state() == role::leader);
        CHECK_FALSE((sending(g1) && sending(g2)));
        saw1 = saw1 || sending(g1);
        saw2 = saw2 || sending(g2);
    }
    CHECK(saw1);
    CHECK(saw2);  // the second group's transfer ran once the first one's ended
    CHECK(g1.nodes[3].applied_data.size() == 30);
    CHECK(g2.nodes[3].applied_data.size() == 30);
    CHECK(g2.nodes[3].applied_data.back() == "two-29");
    CHECK_FALSE(pacers[1]->holder(3));
}

TEST_CASE("raft treats a wiped replica as recovering until a new leader has caught it up",
          "[storage]") {
    cluster c(3);
    auto l = leader_with(c, "before");
    replica_id wiped = l == 3 ? 1 : 3;
    replica_id other = 6 - l - wiped;
    c.wipe(wiped);
    c.start(wiped);
    CHECK(c.at(wiped).recovering());
    // While recovering it refuses votes: the other follower cannot win with it alone.
    c.crash(l);
    c.at(other).campaign_now();
    c.deliver();
    CHECK(c.at(other).state() != role::leader);
    c.start(l);
    auto l2 = c.wait_leader(400);
    REQUIRE(l2 != no_replica);
    c.tick(60);
    CHECK(!c.at(wiped).recovering());
    CHECK(c.nodes[wiped].applied_data == strings({"before"}));
    // Once a full member again it counts: the cluster commits with it and one other.
    auto l3 = c.leader();
    replica_id third = 6 - l3 - wiped;
    c.crash(third);
    REQUIRE(c.at(l3).propose("after"));
    c.tick(3);
    CHECK(c.nodes[wiped].applied_data == strings({"before", "after"}));
}

TEST_CASE("raft catches up a follower wiped under a steady leader", "[storage]") {
    cluster c(3);
    auto l = c.wait_leader();
    REQUIRE(l != no_replica);
    for (int i = 0; i < 5; ++i) {
        REQUIRE(c.at(l).propose("w" + std::to_string(i)));
    }
    c.tick(2);
    replica_id wiped = l == 3 ? 1 : 3;
    // The leader still counts the old match of the wiped follower.
    c.wipe(wiped);
    c.start(wiped);
    REQUIRE(c.at(l).propose("after-wipe"));
    c.tick(80);
    CHECK(!c.at(wiped).recovering());
    CHECK(c.nodes[wiped].applied_data.size() == 6);
    CHECK(c.nodes[wiped].applied_data.back() == "after-wipe");
}

TEST_CASE("raft starts a new cluster when every member is empty", "[storage]") {
    cluster c(3, 1024 * 1024, false);
    for (auto id : c.members) {
        CHECK(c.at(id).recovering());
    }
    REQUIRE(c.wait_leader() != no_replica);
    for (auto id : c.members) {
        CHECK(!c.at(id).recovering());
    }
}

TEST_CASE("raft starts a new cluster whose members crashed before they left recovery",
          "[storage]") {
    cluster c(3, 1024 * 1024, false);
    // 1 and 2 cannot hear each other: only 3 learns that every member is empty and leaves
    // recovery; its election raises its term while 1 and 2 still refuse to vote.
    c.cut.insert({1, 2});
    c.tick(2);
    REQUIRE(!c.at(3).recovering());
    REQUIRE(c.at(1).recovering());
    REQUIRE(c.at(2).recovering());
    c.at(3).campaign_now();
    c.deliver();
    REQUIRE(c.at(3).state() != role::leader);
    REQUIRE(c.at(3).term() == 1);
    // 1 and 2 restart still recovering (as if their fsync had failed). A member has a term
    // but no member has an entry: nothing was ever committed, so they may vote again, but
    // only in terms above any they may have voted in.
    c.crash(1);
    c.crash(2);
    c.start(1);
    c.start(2);
    c.heal();
    auto l = c.wait_leader();
    REQUIRE(l != no_replica);
    CHECK(c.at(l).term() > 1);
    for (auto id : c.members) {
        CHECK(!c.at(id).recovering());
    }
    REQUIRE(c.at(l).propose("first"));
    c.tick(2);
    for (auto id : c.members) {
        CHECK(c.nodes[id].applied_data == strings({"first"}));
    }
}

TEST_CASE("raft keeps empty members recovering while another member holds entries", "[storage]") {
    cluster c(3);
    auto l = leader_with(c, "before");
    auto last = c.at(l).last_index();
    // Two members lose their disks: the entry lives only on the third. Two empty members must
    // not count themselves a new cluster and elect a leader that would overwrite it (losing
    // two disks of three is beyond what a group of three survives: it stays without a leader).
    for (auto id : c.members) {
        if (id != l) {
            c.wipe(id);
            c.start(id);
        }
    }
    c.tick(100);
    CHECK(c.leader() == no_replica);
    CHECK(c.at(l).last_index() == last);
    for (auto id : c.members) {
        CHECK(c.at(id).recovering() == (id != l));
    }
}

TEST_CASE("raft confirms no read on a leader that was replaced without noticing", "[storage]") {
    // Seed 0xdf1c6a2c of the cluster profile: a container leader was paused, the others elected
    // a new leader that acknowledged more events, and after the pause the old leader answered a
    // catch-up read from its own (stale) state.
    cluster c(3);
    auto old = c.wait_leader();
    REQUIRE(old != no_replica);
    REQUIRE(c.at(old).propose("a"));
    c.tick(2);
    c.isolate(old);  // paused: it hears nothing and ticks no more
    replica_id other = old == 1 ? 2 : 1;
    REQUIRE(c.elect(other, [](message&) { return true; }));
    REQUIRE(c.at(other).propose("b"));
    c.deliver();
    REQUIRE(c.nodes[other].applied_data == strings({"a", "b"}));
    REQUIRE(c.at(old).state() == role::leader);  // it does not know yet
    REQUIRE_FALSE(c.at(old).read_index(1));
    c.deliver();
    CHECK(c.at(old).take_reads().empty());  // no majority answered it
    CHECK(c.at(old).reads_pending() == 1);
    // Back in touch: the newer term deposes it and the read is dropped, never confirmed.
    c.heal();
    c.tick(3);
    CHECK(c.at(old).state() != role::leader);
    CHECK(c.at(old).take_reads().empty());
    CHECK(c.at(old).reads_pending() == 0);
    // The current leader confirms at an index that holds "b".
    auto b_index = c.at(other).commit();
    REQUIRE_FALSE(c.at(other).read_index(2));
    c.deliver();
    c.tick(1);
    auto reads = c.at(other).take_reads();
    REQUIRE(reads.size() == 1);
    CHECK(reads[0].ctx == 2);
    CHECK(reads[0].index >= b_index);
    auto err = c.at(old).read_index(3);
    CHECK(code_of(err) == errc::not_leader);
}

TEST_CASE("raft confirms a new leader's read only after an entry of its term committed",
          "[storage]") {
    cluster c(3);
    auto a = c.wait_leader();
    REQUIRE(a != no_replica);
    auto x = c.at(a).propose("x");
    REQUIRE(x);
    // The followers store and acknowledge "x" but never hear that it committed.
    c.deliver_if(
        [&](message& m) { return !(m.from == a && m.type == msg_type::append && m.commit >= *x); });
    REQUIRE(c.at(a).commit() >= *x);
    c.crash(a);
    replica_id b = a == 1 ? 2 : 1;
    // b wins the election, but its appends (the new term's no-op) reach nobody yet.
    REQUIRE(c.elect(b, [&](message& m) { return !(m.from == b && m.type == msg_type::append); }));
    REQUIRE(c.at(b).commit() < *x);  // what it knows is committed lags what a acknowledged
    REQUIRE_FALSE(c.at(b).read_index(7));
    CHECK(c.at(b).take_reads().empty());
    c.tick(3);
    auto reads = c.at(b).take_reads();
    REQUIRE(reads.size() == 1);
    CHECK(reads[0].ctx == 7);
    CHECK(reads[0].index > *x);  // its no-op, after "x"
}

TEST_CASE("raft confirms reads at once in a group of one", "[storage]") {
    cluster c(1);
    auto l = c.wait_leader();
    REQUIRE(l != no_replica);
    REQUIRE(c.at(l).propose("only"));
    c.deliver();
    REQUIRE_FALSE(c.at(l).read_index(9));
    auto reads = c.at(l).take_reads();
    REQUIRE(reads.size() == 1);
    CHECK(reads[0].index == c.at(l).commit());
}
