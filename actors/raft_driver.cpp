#include "actors/raft_driver.hpp"

#include "schema/errc.hpp"
#include "schema/logging.hpp"

namespace pravaha::actors {

storage::raft::config raft_config_of(const raft_settings& s, uint32_t group) {
    storage::raft::config rc;
    rc.group = group;
    rc.id = s.node_id;
    rc.members = s.members;
    rc.election_ticks = s.election_ticks;
    rc.seed = s.seed;
    rc.retained_bytes_max = s.retained_bytes_max;
    return rc;
}

raft_driver::raft_driver(storage::log_store& store, storage::raft::config cfg)
    : group_(cfg.group), runner_(store, std::move(cfg)) {}

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
    }
    return s;
}

}  // namespace pravaha::actors
