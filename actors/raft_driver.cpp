#include "actors/raft_driver.hpp"

#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/metrics.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

namespace pravaha::actors {

storage::raft::config raft_config_of(const raft_settings& s, uint32_t group) {
    storage::raft::config rc;
    rc.group = group;
    rc.id = s.node_id;
    rc.members = s.members;
    rc.election_ticks = s.election_ticks;
    rc.seed = s.seed;
    rc.retained_bytes_max = s.retained_bytes_max;
    rc.snapshot_chunk_bytes = s.snapshot_chunk_bytes;
    rc.tick_ms = static_cast<uint32_t>(s.tick.count());
    rc.snapshot_window = s.snapshot_window;
    rc.snapshot_bytes_per_tick = snapshot_bytes_per_tick(s);
    rc.pacer = s.pacer;
    return rc;
}

uint64_t snapshot_bytes_per_tick(const raft_settings& s) {
    auto tick_ms = static_cast<uint64_t>(std::max<int64_t>(1, s.tick.count()));
    return s.snapshot_rate_bytes == 0
               ? 0
               : std::max<uint64_t>(1, s.snapshot_rate_bytes * tick_ms / 1000);
}

struct raft_driver::gauges {
    std::atomic<bool> leads{false};
    std::atomic<bool> has_leader{false};
    std::atomic<bool> under_replicated{false};
    std::atomic<uint64_t> term{0};
    std::atomic<uint64_t> commit{0};
    std::atomic<uint64_t> applied{0};
    std::atomic<uint64_t> lag{0};
    uint64_t led_term = 0;  ///< the last term with a known leader (the driver's, not scrapes')
    metrics::counter* leader_changes = nullptr;
};

namespace {

// Every live replica's gauges in this process, for the node-wide aggregates.
struct raft_board {
    std::mutex mutex;
    std::vector<std::weak_ptr<raft_driver::gauges>> replicas;
};

raft_board& board() {
    static raft_board b;
    return b;
}

// Forgets the replicas that are gone (under the board's mutex).
void prune(raft_board& b) {
    auto& v = b.replicas;
    v.erase(std::remove_if(v.begin(), v.end(), [](const auto& w) { return w.expired(); }), v.end());
}

}  // namespace

raft_summary summarize_raft_groups() {
    auto& b = board();
    std::lock_guard<std::mutex> lock(b.mutex);
    raft_summary out;
    prune(b);
    auto& v = b.replicas;
    for (const auto& w : v) {
        auto g = w.lock();
        if (!g) {
            continue;
        }
        ++out.groups;
        out.without_leader += g->has_leader.load() ? 0 : 1;
        out.under_replicated += g->under_replicated.load() ? 1 : 0;
    }
    return out;
}

raft_driver::raft_driver(storage::log_store& store, storage::raft::config cfg)
    : group_(cfg.group), runner_(store, std::move(cfg)), gauges_(std::make_shared<gauges>()) {
    auto& r = metrics::global();
    metrics::labels group{{"group", std::to_string(group_)}};
    const char* group_help = " (group 0: the controller; c + 1: container c).";
    auto gauge = [&](const std::string& name, const std::string& help, auto read) {
        r.gauge(name, help + group_help, group, [g = std::weak_ptr<gauges>(gauges_), read] {
            auto p = g.lock();
            return p ? static_cast<double>(read(*p)) : 0.0;
        });
    };
    gauge("pravaha_raft_leader", "1 where this node leads the Raft group, else 0",
          [](const gauges& g) { return g.leads.load() ? 1 : 0; });
    gauge("pravaha_raft_has_leader", "1 where this node's replica knows the group's leader, else 0",
          [](const gauges& g) { return g.has_leader.load() ? 1 : 0; });
    gauge("pravaha_raft_term", "The Raft group's term at this replica",
          [](const gauges& g) { return g.term.load(); });
    gauge("pravaha_raft_commit_index", "The Raft group's commit index at this replica",
          [](const gauges& g) { return g.commit.load(); });
    gauge("pravaha_raft_applied_index", "The index this replica has applied",
          [](const gauges& g) { return g.applied.load(); });
    gauge("pravaha_raft_follower_lag_entries",
          "On the leader: entries the furthest replicating follower lacks, else 0",
          [](const gauges& g) { return g.lag.load(); });
    gauges_->leader_changes = &r.counter_of(
        "pravaha_raft_leader_changes_total",
        std::string("Times this replica saw the group's leader change") + group_help, group);
    static std::once_flag aggregates;
    std::call_once(aggregates, [&r] {
        r.gauge("pravaha_raft_groups", "Raft groups with a replica on this node.", {},
                [] { return static_cast<double>(summarize_raft_groups().groups); });
        r.gauge("pravaha_raft_groups_without_leader",
                "Raft groups whose replica on this node knows no leader (an election runs, or "
                "no majority is reachable).",
                {}, [] { return static_cast<double>(summarize_raft_groups().without_leader); });
        r.gauge("pravaha_raft_under_replicated_groups",
                "Raft groups this node leads with a follower not keeping up (probing, "
                "recovering, receiving a snapshot, or silent for an election timeout).",
                {}, [] { return static_cast<double>(summarize_raft_groups().under_replicated); });
    });
    auto& b = board();
    std::lock_guard<std::mutex> lock(b.mutex);
    prune(b);  // a simulation makes replicas by the thousand and never asks for the summary
    b.replicas.push_back(gauges_);
}

void raft_driver::publish() {
    const auto& r = runner_.replica();
    auto& g = *gauges_;
    bool leads = r.state() == storage::raft::role::leader;
    g.leads.store(leads, std::memory_order_relaxed);
    g.has_leader.store(r.leader() != raft::no_replica, std::memory_order_relaxed);
    g.term.store(r.term(), std::memory_order_relaxed);
    g.commit.store(r.commit(), std::memory_order_relaxed);
    g.applied.store(r.applied(), std::memory_order_relaxed);
    uint64_t lag = 0;
    bool behind = false;
    if (leads) {
        for (const auto& [peer, pr] : r.followers()) {
            bool replicating = pr.state == storage::raft::progress::mode::replicate;
            behind = behind || pr.recovering || !replicating || !pr.active_at_check;
            if (replicating) {  // a probed one's match is not known yet (0 after an election)
                lag = std::max(lag, r.last_index() - std::min(pr.match, r.last_index()));
            }
        }
    }
    g.lag.store(lag, std::memory_order_relaxed);
    g.under_replicated.store(behind, std::memory_order_relaxed);
    // A known leader in a new term is a change (the first one this replica learns is not).
    if (r.leader() != raft::no_replica && r.term() != g.led_term) {
        if (g.led_term != 0) {
            g.leader_changes->inc();
        }
        g.led_term = r.term();
    }
}

caf::error raft_driver::open(uint64_t applied) {
    return runner_.open(applied);
}

caf::error raft_driver::drive() {
    if (auto err = runner_.run()) {
        return err;
    }
    PRAVAHA_ASSERT(!runner_.saving(), "raft group {}: a synchronous save left a ready pending",
                   group_);
    settle_reads();
    publish();
    return {};
}

void raft_driver::linearize(std::function<void(const caf::error&)> then) {
    auto& r = runner_.replica();
    auto ctx = next_read_++;
    if (auto err = r.read_index(ctx)) {
        then(err);
        return;
    }
    reads_.emplace(ctx, pending_read{r.term(), std::move(then)});
}

void raft_driver::settle_reads() {
    auto& r = runner_.replica();
    for (const auto& rs : r.take_reads()) {
        auto it = reads_.find(rs.ctx);
        PRAVAHA_ASSERT(it != reads_.end(), "raft group {} confirmed an unknown read {}", group_,
                       rs.ctx);
        confirmed_.emplace(rs.index, std::move(it->second.then));
        reads_.erase(it);
    }
    std::vector<std::function<void(const caf::error&)>> ready;
    while (!confirmed_.empty() && confirmed_.begin()->first <= r.applied()) {
        ready.push_back(std::move(confirmed_.begin()->second));
        confirmed_.erase(confirmed_.begin());
    }
    std::vector<std::function<void(const caf::error&)>> dropped;
    bool leads = r.state() == storage::raft::role::leader;
    for (auto it = reads_.begin(); it != reads_.end();) {
        if (leads && it->second.term == r.term()) {
            ++it;
            continue;
        }
        dropped.push_back(std::move(it->second.then));
        it = reads_.erase(it);
    }
    PRAVAHA_ASSERT(!leads || r.reads_pending() == reads_.size(),
                   "raft group {} tracks {} reads, the replica {}", group_, reads_.size(),
                   r.reads_pending());
    for (auto& fn : ready) {
        fn({});
    }
    if (!dropped.empty()) {
        auto err = not_leader_error(r.leader());
        for (auto& fn : dropped) {
            fn(err);
        }
    }
}

raft::group_status raft_driver::status() const {
    const auto& r = runner_.replica();
    raft::group_status s;
    s.group = group_;
    s.node = r.id();
    s.role = r.state();
    s.term = r.term();
    s.leader = r.leader();
    s.commit = r.commit();
    s.applied = r.applied();
    s.last_index = r.last_index();
    s.recovering = r.recovering();
    for (const auto& [peer, pr] : r.followers()) {
        s.follower_match.emplace_back(peer, pr.match);
        if (pr.state == storage::raft::progress::mode::snapshot && s.role == raft::role::leader) {
            s.snapshots.push_back(raft::snapshot_status{peer, pr.snap.index, pr.snap.bytes_sent,
                                                        pr.snap.bytes_total,
                                                        pr.snap.ticks * r.cfg().tick_ms});
        }
    }
    return s;
}

}  // namespace pravaha::actors
