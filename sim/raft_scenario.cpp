// Scripted Raft scenarios of pravaha-sim (profiles `raft-stale`, `raft-stale-read`):
// interleavings that random faults reach too rarely, played step by step against the real
// storage::raft::replica.
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
//
// `raft-stale-read`: a read answered from a leader's state that lags what the group committed
// (seed 0xdf1c6a2c of the cluster profile, where a paused container leader answered an audit's
// catch-up read "nothing more" and hid an acknowledged event). 3 replicas, one of two
// sequences per seed:
//   replaced: replica 1 leads; it is paused (hears and says nothing); another replica leads the
//     next term and acknowledges entries; replica 1 resumes and a read reaches it first, then
//     its ticks or the others' messages (in an order the seed picks);
//   lagging: replica 1 commits an entry whose commit the others never hear, and stops; another
//     replica is elected and a read reaches it before its own term's no-op commits.
// Check: every read a replica confirms (`read_index`) has an index at or above every entry
// acknowledged before the read was asked, and a read retried at the current leader confirms.

#include "schema/logging.hpp"
#include "sim/prng.hpp"
#include "sim/sim_disk.hpp"
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

// A replica on an in-memory store (the scenarios have no crashes), run by the production
// ready cycle.
struct mem_replica {
    std::unique_ptr<storage::log_store> store;
    std::unique_ptr<ready_runner> runner;
    replica* r = nullptr;
    bool up = true;
};

class scenario {
public:
    scenario(uint64_t seed, const char* name, replica_id replicas) : rng_(seed, name) {
        for (replica_id id = 1; id <= replicas; ++id) {
            members_.push_back(id);
        }
        for (auto id : members_) {
            auto& n = nodes_[id];
            n.store = open_map_store({});
            n.runner = std::make_unique<ready_runner>(*n.store, config_of(id), hooks_for(id));
            auto err = n.runner->open(0);
            PRAVAHA_ASSERT(!err, "scenario replica {} cannot open its log", id);
            n.r = &n.runner->replica();
        }
    }

    config config_of(replica_id id) const {
        config c;
        c.group = 1;
        c.id = id;
        c.members = members_;
        c.seed = id;
        c.message_bytes_max = 1;   // one entry per append message
        c.compaction_entries = 0;  // the scenarios never compact
        return c;
    }

    // Sent messages wait in the queue; nothing is applied (the scenarios check the logs).
    runner_hooks hooks_for(replica_id id) {
        runner_hooks h;
        h.send = [this](message m) { queue_.push_back(std::move(m)); };
        h.apply = [](uint64_t, const std::string&, storage::write_batch&) { return caf::error{}; };
        // No compaction, but a leader with a planted bug may still send a snapshot (of nothing).
        h.state_ranges = [](storage::store_view&) {
            return caf::expected<std::vector<storage::store_range>>(
                std::vector<storage::store_range>{});
        };
        h.stage_install = [](const snapshot&, storage::write_batch&) { return caf::error{}; };
        h.installed = [](const snapshot&) { return caf::error{}; };
        h.advanced = [this, id] {
            const auto& r = *nodes_[id].r;
            trace(mix(id, r.last_index()));
            trace(mix(r.term(), r.commit()));
        };
        return h;
    }

    // Runs every ready of every replica that is up.
    void pump() {
        bool again = true;
        while (again) {
            again = false;
            for (auto& [id, n] : nodes_) {
                if (!n.up || !n.r->has_ready()) {
                    continue;
                }
                again = true;
                auto err = n.runner->run();
                PRAVAHA_ASSERT(!err, "scenario replica {}: in-memory write failed", id);
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
            trace_message(m);
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

    // Records the first failure of a run.
    static void fail_once(run_result& res, verdict v, std::string msg) {
        if (res.result == verdict::pass) {
            res.result = v;
            res.message = std::move(msg);
        }
    }

    // A new cluster (every replica finds the others empty) led by replica 1, with `base` entries
    // committed everywhere. False if replica 1 was not elected.
    bool start_with_leader_1(uint64_t base) {
        auto all = [](const message&) { return true; };
        for (int i = 0; i < 3; ++i) {
            for (auto& [id, n] : nodes_) {
                n.r->tick();
            }
            deliver(all);
        }
        if (!elect(1, all)) {
            return false;
        }
        for (uint64_t i = 0; i < base; ++i) {
            (void)nodes_[1].r->propose("base" + std::to_string(i));
        }
        deliver(all);
        return true;
    }

    // Whether replica `id`'s stored log holds `index` with `term` (read back as a restart would).
    bool durably_has(replica_id id, uint64_t index, uint64_t term) const {
        raft_log log(*nodes_.at(id).store, 1);
        auto st = log.load();
        PRAVAHA_ASSERT(static_cast<bool>(st), "scenario replica {}: its stored log does not load",
                       id);
        for (const auto& e : st->entries) {
            if (e.index == index) {
                return e.term == term;
            }
        }
        return false;
    }

    run_result run_stale_ack() {
        run_result res;
        auto fail = [&](verdict v, std::string msg) { fail_once(res, v, std::move(msg)); };
        auto all = [](const message&) { return true; };
        auto side_of = [](replica_id id) { return id <= 2 ? 0 : 1; };
        auto split = [&](const message& m) { return side_of(m.from) == side_of(m.to); };
        // 0. A new cluster; replica 1 leads; a few entries commit everywhere.
        if (!start_with_leader_1(3)) {
            fail(verdict::invalid, "replica 1 was not elected");
            return res;
        }
        auto& l = *nodes_[1].r;
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

    run_result run_stale_read() {
        auto base = 1 + rng_.below(4);
        if (!start_with_leader_1(base)) {
            read_fail(verdict::invalid, "replica 1 was not elected");
            return read_res_;
        }
        replica_id next = rng_.chance(1, 2) ? 2 : 3;
        bool replaced = rng_.chance(1, 2);
        std::string order;
        bool asked = replaced ? read_at_replaced_leader(next, order) : read_at_lagging_leader(next);
        if (asked) {
            read_at_current_leader();
        }
        read_res_.summary = fmt::format(
            "{} (base {}, new leader {}, order {}): acknowledged through {}, {} read(s) confirmed",
            replaced ? "replaced leader" : "lagging new leader", base, next, order, acked_,
            confirmed_);
        return read_res_;
    }

    void read_fail(verdict v, std::string msg) { fail_once(read_res_, v, std::move(msg)); }

    // A confirmed read must cover every entry acknowledged before it was asked.
    void check_reads(replica_id id) {
        for (const auto& rs : nodes_[id].r->take_reads()) {
            if (rs.index < acked_) {
                read_fail(verdict::correctness,
                          fmt::format("replica {} (term {}) confirmed read {} at index {}, below "
                                      "index {} acknowledged before it was asked",
                                      id, nodes_[id].r->term(), rs.ctx, rs.index, acked_));
            }
            confirmed_ += 1;
        }
    }

    // Replaced: replica 1 leads; it is paused (hears and says nothing); `next` leads the next
    // term and acknowledges entries; replica 1 resumes and a read reaches it first, then its
    // ticks or the others' messages in the seed's order (recorded in `order`). False when the
    // interleaving could not be set up.
    bool read_at_replaced_leader(replica_id next, std::string& order) {
        auto& old = *nodes_[1].r;
        auto& fresh = *nodes_[next].r;
        auto without_1 = [](const message& m) { return m.from != 1 && m.to != 1; };
        if (!elect(next, without_1)) {
            read_fail(verdict::invalid, "no new leader without replica 1");
            return false;
        }
        auto more = 1 + rng_.below(5);
        for (uint64_t i = 0; i < more; ++i) {
            (void)fresh.propose("new" + std::to_string(i));
        }
        deliver(without_1);
        acked_ = fresh.commit();
        if (fresh.applied() < acked_ || acked_ <= old.commit()) {
            read_fail(verdict::invalid, "the new leader did not commit past the old one");
            return false;
        }
        if (old.state() != role::leader) {
            read_fail(verdict::invalid, "replica 1 stopped leading while paused");
            return false;
        }
        if (auto err = old.read_index(1)) {
            read_fail(verdict::invalid, "the paused leader refused the read");
            return false;
        }
        check_reads(1);
        for (int step = 0; step < 40 && read_res_.result == verdict::pass; ++step) {
            if (rng_.chance(1, 2)) {
                old.tick();
                order += 't';
            } else {
                for (auto& [id, n] : nodes_) {
                    if (id != 1) {
                        n.r->tick();
                    }
                }
                order += 'o';
            }
            deliver([](const message&) { return true; });
            check_reads(1);
            check_reads(next);
        }
        return true;
    }

    // Lagging: replica 1 commits "x", which the others acknowledge but never hear committed,
    // and stops; `next` is elected and a read reaches it before its own term's no-op commits.
    bool read_at_lagging_leader(replica_id next) {
        auto& old = *nodes_[1].r;
        auto& fresh = *nodes_[next].r;
        auto x = old.propose("x");
        if (!x) {
            read_fail(verdict::invalid, "replica 1 refused x");
            return false;
        }
        deliver([&](const message& m) {
            return !(m.from == 1 && m.type == msg_type::append && m.commit >= *x);
        });
        acked_ = old.commit();
        if (acked_ < *x) {
            read_fail(verdict::invalid, "x did not commit");
            return false;
        }
        nodes_[1].up = false;
        auto votes_only = [](const message& m) {
            return m.to != 1 && m.from != 1 &&
                   (m.type == msg_type::vote || m.type == msg_type::vote_resp);
        };
        if (!elect(next, votes_only)) {
            read_fail(verdict::invalid, "no new leader");
            return false;
        }
        if (fresh.commit() >= acked_) {
            read_fail(verdict::invalid, "the new leader already knows x committed");
            return false;
        }
        if (auto err = fresh.read_index(1)) {
            read_fail(verdict::invalid, "the new leader refused the read");
            return false;
        }
        check_reads(next);
        for (int step = 0; step < 10 && read_res_.result == verdict::pass; ++step) {
            for (auto& [id, n] : nodes_) {
                if (n.up) {
                    n.r->tick();
                }
            }
            deliver([](const message& m) { return m.to != 1; });
            check_reads(next);
        }
        return true;
    }

    // Retried at whoever leads now (as a client does after not_leader), a read confirms.
    void read_at_current_leader() {
        replica_id leader = 0;
        for (auto& [id, n] : nodes_) {
            if (n.up && n.r->state() == role::leader) {
                leader = id;
            }
        }
        if (read_res_.result == verdict::pass && leader != 0) {
            (void)nodes_[leader].r->read_index(2);
            for (int i = 0; i < 5; ++i) {
                nodes_[leader].r->tick();
                deliver([](const message&) { return true; });
                check_reads(leader);
            }
        }
        if (read_res_.result == verdict::pass && (leader == 0 || confirmed_ == 0)) {
            read_fail(verdict::liveness, fmt::format("no read confirmed (leader {})", leader));
        }
    }

    // The trace fingerprint: every ready taken and every message delivered, in order.
    uint64_t fingerprint() const { return fingerprint_; }

private:
    void trace(uint64_t v) { fingerprint_ = mix(fingerprint_, v); }

    void trace_message(const message& m) {
        trace(mix(static_cast<uint64_t>(m.type), mix(m.from, m.to)));
        trace(mix(m.term, mix(m.index, mix(m.log_term, m.commit))));
        trace(mix(m.entries.size(), mix(m.reject ? 1 : 0, m.read_round)));
    }

    uint64_t fingerprint_ = 0;
    uint64_t confirmed_ = 0;
    run_result read_res_;  // raft-stale-read: the verdict so far
    uint64_t acked_ = 0;   // raft-stale-read: the highest index acknowledged before the read
    prng rng_;
    std::vector<replica_id> members_;
    std::map<replica_id, mem_replica> nodes_;
    std::deque<message> queue_;
};

}  // namespace

run_result run_raft_scenario(const run_config& cfg) {
    auto start = std::chrono::steady_clock::now();  // for the report only
    mutants::current = cfg.mutant;
    bool stale_read = cfg.profile == "raft-stale-read";
    scenario s(cfg.seed, stale_read ? "raft-stale-read" : "raft-stale", stale_read ? 3 : 5);
    auto res = stale_read ? s.run_stale_read() : s.run_stale_ack();
    mutants::current = mutants::mutant::none;
    res.header = fmt::format("seed 0x{:x} profile {} (scripted)", cfg.seed, cfg.profile);
    res.wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
    res.fingerprint = mix(s.fingerprint(), mix(res.message.size(), res.summary.size()));
    return res;
}

}  // namespace pravaha::sim
