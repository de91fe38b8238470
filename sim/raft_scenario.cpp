// Scripted Raft scenarios of pravaha-sim (profile `raft-stale`): interleavings that random
// faults reach too rarely, played step by step against the real storage::raft::replica.
//
// `raft-stale`: a leader's acknowledgement from an earlier term arrives after the same replica
// leads again with a shorter log. 5 replicas:
//   1. replica 1 leads term t and writes a tail that only replica 2 receives (a minority
//      split); replica 2's acknowledgements of the tail are held back;
//   2. replica 3 leads term t+1 on the majority side and writes a shorter log; replicas 1 and
//      2 adopt it after healing (their tails are truncated);
//   3. replica 3 stops; replica 1 leads again (term t+2) and its no-op lands at an index the old
//      tail covered; only replica 4 receives it;
//   4. the held-back acknowledgements of replica 2 arrive.
// A correct leader ignores them (older term). One that counts them believes replica 2 holds its
// new entries and commits with replicas 1 and 4 only: not a majority, and replicas 3, 2 and 5
// could elect replica 3, which lacks the entry. The seed varies how long the tail and the log of
// term t+1 are.

#include "sim/prng.hpp"
#include "sim/world.hpp"
#include "storage/storage.hpp"

#include <fmt/format.h>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>

namespace pravaha::sim {

namespace {

using namespace storage::raft;

struct mem_replica {
    durable_state disk;  // what was persisted (the scenario has no crashes mid-write)
    std::unique_ptr<replica> r;
    bool up = true;
};

class scenario {
public:
    explicit scenario(uint64_t seed) : rng_(seed, "raft-stale") {
        for (replica_id id = 1; id <= 5; ++id) {
            members_.push_back(id);
        }
        for (auto id : members_) {
            nodes_[id].r = std::make_unique<replica>(config_of(id), durable_state{}, 0);
        }
    }

    config config_of(replica_id id) const {
        config c;
        c.group = 1;
        c.id = id;
        c.members = members_;
        c.seed = id;
        c.message_bytes_max = 1;  // one entry per append message
        return c;
    }

    // Persists and routes every ready; messages wait in the queue.
    void pump() {
        bool again = true;
        while (again) {
            again = false;
            for (auto& [id, n] : nodes_) {
                if (!n.up || !n.r->has_ready()) {
                    continue;
                }
                again = true;
                auto rd = n.r->take_ready();
                if (rd.truncate_from != 0) {
                    auto& e = n.disk.entries;
                    while (!e.empty() && e.back().index >= rd.truncate_from) {
                        e.pop_back();
                    }
                }
                for (auto& e : rd.entries) {
                    while (!n.disk.entries.empty() && n.disk.entries.back().index >= e.index) {
                        n.disk.entries.pop_back();
                    }
                    n.disk.entries.push_back(e);
                }
                if (rd.hard) {
                    n.disk.hard = *rd.hard;
                }
                for (auto* list : {&rd.messages, &rd.after_persist}) {
                    for (auto& m : *list) {
                        queue_.push_back(m);
                    }
                }
                n.r->advance();
            }
        }
    }

    // Delivers queued messages for which `keep` holds (others are dropped unless `hold` keeps
    // them aside), until nothing moves.
    void deliver(const std::function<bool(const message&)>& keep,
                 std::vector<message>* held = nullptr,
                 const std::function<bool(const message&)>& hold = {}) {
        pump();
        while (!queue_.empty()) {
            auto m = queue_.front();
            queue_.pop_front();
            if (held && hold && hold(m)) {
                held->push_back(m);
                continue;
            }
            if (!nodes_[m.to].up || !keep(m)) {
                continue;
            }
            nodes_[m.to].r->step(m);
            pump();
        }
    }

    bool elect(replica_id id, const std::function<bool(const message&)>& keep) {
        for (int i = 0; i < 4 && nodes_[id].r->state() != role::leader; ++i) {
            nodes_[id].r->campaign_now();
            deliver(keep);
        }
        return nodes_[id].r->state() == role::leader;
    }

    bool durably_has(replica_id id, uint64_t index, uint64_t term) const {
        for (const auto& e : nodes_.at(id).disk.entries) {
            if (e.index == index) {
                return e.term == term;
            }
        }
        return false;
    }

    run_result run() {
        run_result res;
        auto fail = [&](verdict v, std::string msg) {
            if (res.result == verdict::pass) {
                res.result = v;
                res.message = std::move(msg);
            }
        };
        auto all = [](const message&) { return true; };
        auto side_of = [](replica_id id) { return id <= 2 ? 0 : 1; };
        auto split = [&](const message& m) { return side_of(m.from) == side_of(m.to); };
        // 0. A new cluster (every replica finds the others empty); replica 1 leads; a few
        // entries commit everywhere.
        for (int i = 0; i < 3; ++i) {
            for (auto& [id, n] : nodes_) {
                n.r->tick();
            }
            deliver(all);
        }
        if (!elect(1, all)) {
            fail(verdict::invalid, "replica 1 was not elected");
            return res;
        }
        auto& l = *nodes_[1].r;
        for (int i = 0; i < 3; ++i) {
            (void)l.propose("base" + std::to_string(i));
        }
        deliver(all);
        // 1. The tail, received by replica 2 only; its acknowledgements are held back.
        auto tail = 4 + rng_.below(6);
        for (uint64_t i = 0; i < tail; ++i) {
            (void)l.propose("tail" + std::to_string(i));
        }
        std::vector<message> held;
        deliver(split, &held, [](const message& m) {
            return m.type == msg_type::append_resp && m.from == 2 && m.to == 1 && !m.reject &&
                   m.hint == 0;
        });
        // 2. Replica 3 leads term t+1 on the majority side, with a shorter log.
        if (!elect(3, split)) {
            fail(verdict::invalid, "replica 3 was not elected");
            return res;
        }
        auto extra = rng_.below(2);
        for (uint64_t i = 0; i < extra; ++i) {
            (void)nodes_[3].r->propose("other" + std::to_string(i));
        }
        deliver(split);
        for (int i = 0; i < 30; ++i) {  // healed: 1 and 2 adopt replica 3's log
            nodes_[3].r->tick();
            deliver(all);
        }
        // 3. Replica 3 stops; replica 1 leads term t+2; its no-op reaches replica 4 only.
        nodes_[3].up = false;
        auto only_votes = [](const message& m) {
            return m.type == msg_type::vote || m.type == msg_type::vote_resp;
        };
        if (!elect(1, only_votes)) {
            fail(verdict::invalid, "replica 1 was not elected again");
            return res;
        }
        auto noop = l.last_index();
        auto term = l.term();
        bool covered = false;
        for (const auto& m : held) {
            covered = covered || m.index >= noop;
        }
        if (!covered) {
            fail(verdict::invalid, "the old tail does not cover the new no-op");
            return res;
        }
        for (int i = 0; i < 3; ++i) {  // heartbeats re-send the probes the election dropped
            l.tick();
            deliver([](const message& m) {
                return (m.type == msg_type::append && m.to == 4) ||
                       (m.type == msg_type::append_resp && m.from == 4);
            });
        }
        // 4. The held-back acknowledgements of term t arrive.
        for (const auto& m : held) {
            queue_.push_back(m);
        }
        deliver([](const message& m) { return m.to == 1; });
        // Check: a commit of the no-op needs it durable on 3 of 5 replicas.
        size_t holders = 0;
        for (auto id : members_) {
            holders += durably_has(id, noop, term) ? 1 : 0;
        }
        if (l.commit() >= noop && holders < 3) {
            fail(verdict::correctness,
                 fmt::format("leader 1 committed index {} (term {}) held durably by {} of 5 "
                             "replicas: it counted acknowledgements from an earlier term",
                             noop, term, holders));
        }
        res.summary = fmt::format(
            "tail {} entries, other leader wrote {}; no-op at {}, commit {}, "
            "holders {}",
            tail, extra, noop, l.commit(), holders);
        return res;
    }

private:
    prng rng_;
    std::vector<replica_id> members_;
    std::map<replica_id, mem_replica> nodes_;
    std::deque<message> queue_;
};

}  // namespace

run_result run_raft_scenario(const run_config& cfg) {
    auto start = std::chrono::steady_clock::now();  // for the report only
    mutants::current = cfg.mutant;
    scenario s(cfg.seed);
    auto res = s.run();
    mutants::current = mutants::mutant::none;
    res.header = fmt::format("seed 0x{:x} profile {} (scripted)", cfg.seed, cfg.profile);
    res.wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
    res.fingerprint = res.message.size() * 31 + res.summary.size();
    return res;
}

}  // namespace pravaha::sim
