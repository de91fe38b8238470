// The Raft world's ticks, workload and faults (sim/raft_world.hpp).

#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "sim/raft_world.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pravaha::sim {
namespace raft_sim {

// -- workload and faults ---------------------------------------------------------------
void raft_world::schedule_ticks(rnode& n) {
    at(now() + tick_ns + rng_.range(-ms, ms), [this, &n] {
        if (n.up && n.r) {
            n.r->tick();
            process(n);
        }
        if (now() < end_) {
            schedule_ticks(n);
        }
    });
}

void raft_world::schedule_proposals() {
    at(now() + rng_.range(k_.propose_every_ns / 4, k_.propose_every_ns * 2), [this] {
        if (now() < chaos_end_ + cfg_.live_ms * ms / 2) {
            auto target = known_leader();
            if (target == 0 || rng_.chance(1, 5)) {
                target = static_cast<replica_id>(rng_.below(k_.nodes) + 1);
            }
            auto& n = nodes_[target - 1];
            if (n.up) {
                auto data = fmt::format("p{}", next_proposal_++);
                if (rng_.chance(1, 4)) {
                    data.append(static_cast<size_t>(rng_.range(1, 300)), 'x');
                }
                n.inbox.push_back(inbox_item{true, {}, data});
                process(n);
            }
            schedule_proposals();
        }
    });
}

// Clients read from the replica they think leads (sometimes any), as the containers serve a
// catch-up read: each read remembers the highest index acknowledged when it was asked.
void raft_world::schedule_reads() {
    at(now() + read_rng_.range(k_.propose_every_ns * 4, k_.propose_every_ns * 32), [this] {
        if (now() < chaos_end_ + cfg_.live_ms * ms / 2) {
            auto target = known_leader();
            if (target == 0 || read_rng_.chance(1, 4)) {
                target = static_cast<replica_id>(read_rng_.below(k_.nodes) + 1);
            }
            auto& n = nodes_[target - 1];
            if (n.up) {
                auto id = next_read_++;
                read_floor_[id] = max_acked_;
                inbox_item item;
                item.read = id;
                n.inbox.push_back(std::move(item));
                process(n);
            }
            schedule_reads();
        }
    });
}

void raft_world::schedule_faults() {
    kern_.schedule_faults(
        {
            {fault_kind::crash, k_.crash_ms},
            {fault_kind::partition, k_.partition_ms},
            {fault_kind::clog, k_.clog_ms},
            {fault_kind::wipe, k_.wipe_ms},
            {fault_kind::slow_disk, k_.slow_disk_ms},
            {fault_kind::replay, k_.replay_ms},
        },
        chaos_end_,
        [this](int64_t mean_ms) { return mean_ms * ms / 2 + rng_.skewed(mean_ms * ms); },
        [this](fault_kind kind) {
            switch (kind) {
                case fault_kind::crash:
                    return inject_crash();
                case fault_kind::partition:
                    return inject_partition();
                case fault_kind::clog:
                    return inject_clog();
                case fault_kind::wipe:
                    return inject_wipe();
                case fault_kind::slow_disk:
                    return inject_slow_disk();
                case fault_kind::replay:
                    return inject_replay();
                default:
                    PRAVAHA_ASSERT(false, "sim: the Raft world does not inject fault {}",
                                   to_string(kind));
            }
        });
}

// Half of the node faults hit the leader: leadership changes are where Raft goes wrong.
rnode& raft_world::fault_target() {
    auto l = known_leader();
    if (l != 0 && rng_.chance(1, 2)) {
        return nodes_[l - 1];
    }
    return nodes_[rng_.below(k_.nodes)];
}

void raft_world::inject_crash() {
    auto& n = fault_target();
    if (!n.up) {
        return;
    }
    note(fmt::format("fault: power cut of replica {}", n.id));
    ++crashes_;
    stop(n, true);
    restart_later(n, rng_.range(10 * ms, 3000 * ms));
}

void raft_world::inject_partition() {
    // Isolate one replica (both ways or one way), or split the group into a minority with
    // the victim and a majority: a leader on the minority side keeps a tail only some have.
    auto victim = fault_target().id;
    int shape = static_cast<int>(rng_.below(4));
    std::set<replica_id> side{victim};
    if (shape == 3) {
        while (side.size() < (k_.nodes - 1) / 2) {
            side.insert(static_cast<replica_id>(rng_.below(k_.nodes) + 1));
        }
    }
    std::set<std::pair<replica_id, replica_id>> added;
    for (auto a : side) {
        for (auto b : members_) {
            if (side.count(b)) {
                continue;
            }
            if (shape != 2) {
                added.insert({a, b});
            }
            if (shape != 1) {
                added.insert({b, a});
            }
        }
    }
    static const char* shapes[] = {"both ways", "outgoing", "incoming", "split"};
    note(fmt::format("fault: partition of replica {} ({}, {} on its side)", victim, shapes[shape],
                     side.size()));
    ++partitions_;
    for (auto& c : added) {
        cuts_.insert(c);
    }
    at(now() + rng_.range(100 * ms, 5000 * ms), [this, added] {
        for (auto& c : added) {
            cuts_.erase(c);
        }
    });
}

void raft_world::isolate_for(replica_id victim, int64_t duration) {
    std::set<std::pair<replica_id, replica_id>> added;
    for (auto other : members_) {
        if (other != victim) {
            added.insert({victim, other});
            added.insert({other, victim});
        }
    }
    for (auto& c : added) {
        cuts_.insert(c);
    }
    at(now() + duration, [this, added] {
        for (auto& c : added) {
            cuts_.erase(c);
        }
    });
}

void raft_world::inject_clog() {
    auto from = static_cast<replica_id>(rng_.below(k_.nodes) + 1);
    auto to = static_cast<replica_id>(rng_.below(k_.nodes) + 1);
    if (from == to) {
        return;
    }
    // Sometimes a link holds messages for seconds: answers arrive after elections.
    auto delay =
        rng_.chance(1, 3) ? rng_.range(500 * ms, 3000 * ms) : rng_.range(20 * ms, 800 * ms);
    clogs_[{from, to}] = {now() + rng_.range(100 * ms, 3000 * ms), delay};
    ++clogs_count_;
}

void raft_world::inject_wipe() {
    // Fault budget: one replica without its disk at a time (it must have caught up again).
    for (auto& n : nodes_) {
        if (n.wiped && (!n.up || n.r->recovering())) {
            return;
        }
    }
    auto& n = nodes_[rng_.below(k_.nodes)];
    for (auto& other : nodes_) {
        other.wiped = false;
    }
    note(fmt::format("fault: disk of replica {} wiped", n.id));
    ++wipes_;
    stop(n, true);
    n.disk = std::make_unique<sim_disk>(prng(cfg_.seed, "raft-disk", n.id * 1000 + wipes_),
                                        disk_faults_now(), [this] { return now(); });
    n.wiped = true;
    n.wiped_in_term = leaders_.empty() ? 0 : leaders_.rbegin()->first;
    restart_later(n, rng_.range(10 * ms, 2000 * ms));
}

void raft_world::inject_slow_disk() {
    slow_disk_until_ = now() + rng_.range(200 * ms, 2000 * ms);
    ++slow_disks_;
}

void raft_world::inject_replay() {
    if (history_.empty()) {
        return;
    }
    ++replays_;
    // Half of the replays bring the current leader a message of one of its earlier terms.
    auto l = known_leader();
    if (l != 0 && rng_.chance(1, 2)) {
        auto term = nodes_[l - 1].r->term();
        std::vector<size_t> old;
        for (size_t i = 0; i < history_.size(); ++i) {
            if (history_[i].to == l && history_[i].term < term) {
                old.push_back(i);
            }
        }
        if (!old.empty()) {
            deliver_at(now() + base_latency_ns_, history_[old[rng_.below(old.size())]]);
            return;
        }
    }
    deliver_at(now() + base_latency_ns_, history_[rng_.below(history_.size())]);
}

void raft_world::heal() {
    note("heal: links restored, every replica up");
    cuts_.clear();
    clogs_.clear();
    slow_disk_until_ = 0;
    for (auto& n : nodes_) {
        if (!n.up) {
            start(n);
        }
    }
}

}  // namespace raft_sim
}  // namespace pravaha::sim
