#include "actors/raft_driver.hpp"

#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/mutants.hpp"

namespace pravaha::actors {

namespace {

// Compact once this many entries are both applied durably and no longer needed by followers:
// one batch of point deletes per this many entries.
constexpr uint64_t compaction_step = 256;

}  // namespace

raft_driver::raft_driver(storage::log_store& store, storage::raft::config cfg)
    : store_(store), cfg_(std::move(cfg)) {}

caf::error raft_driver::open(uint64_t applied) {
    log_ = std::make_unique<storage::raft::raft_log>(store_, cfg_.group);
    auto st = log_->load();
    if (!st) {
        return std::move(st.error());
    }
    auto last = st->snapshot_index + st->entries.size();
    if (applied > last || applied < st->snapshot_index) {
        return caf::make_error(errc::corrupt_data,
                               "raft group " + std::to_string(cfg_.group) + ": applied index " +
                                   std::to_string(applied) + " outside the log [" +
                                   std::to_string(st->snapshot_index) + ", " +
                                   std::to_string(last) + "]");
    }
    replica_ = std::make_unique<storage::raft::replica>(cfg_, std::move(*st), applied);
    applied_written_ = applied;
    durable_applied_ = applied;
    return {};
}

caf::error raft_driver::drive() {
    auto& r = *replica_;
    while (r.has_ready()) {
        auto rd = r.take_ready();
        storage::write_batch b;
        log_->stage(rd, b);
        if (rd.install) {
            if (auto err = hooks_.stage_install(*rd.install, b)) {
                return err;
            }
        }
        for (auto& m : rd.messages) {
            if (m.type == raft::msg_type::snapshot) {
                auto snap = hooks_.snapshot();
                if (!snap) {
                    return std::move(snap.error());
                }
                m.data = std::move(*snap);
            }
            hooks_.send(std::move(m));
        }
        if (!b.empty()) {
            bool sync = !mutants::active(mutants::mutant::ack_before_fsync);
            if (auto err = store_.write(b, sync)) {
                if (!mutants::active(mutants::mutant::sync_error_ignored)) {
                    return err;
                }
            }
            // Prefix durability: the state writes issued before this sync are durable now.
            durable_applied_ = applied_written_;
        }
        for (auto& m : rd.after_persist) {
            hooks_.send(std::move(m));
        }
        if (rd.install) {
            if (auto err = hooks_.installed(rd.install->index)) {
                return err;
            }
            applied_written_ = rd.install->index;
            durable_applied_ = rd.install->index;
        }
        for (auto i = rd.apply_from + 1; i <= rd.apply_to; ++i) {
            const auto* e = r.entry_at(i);
            PRAVAHA_ASSERT(e != nullptr, "raft group {} lost entry {} before applying it",
                           cfg_.group, i);
            if (auto err = hooks_.apply(i, e->data)) {
                return err;
            }
        }
        applied_written_ = std::max(applied_written_, rd.apply_to);
        r.advance();
        auto point = r.compact_point(durable_applied_);
        if (point >= r.snapshot_index() + compaction_step) {
            storage::write_batch c;
            log_->stage_compaction(point, *r.term_at(point), c);
            if (auto err = store_.write(c, false)) {
                return err;
            }
            r.compact(point);
        }
    }
    settle_reads();
    return {};
}

void raft_driver::linearize(std::function<void(const caf::error&)> then) {
    auto& r = *replica_;
    auto ctx = next_read_++;
    if (auto err = r.read_index(ctx)) {
        then(err);
        return;
    }
    reads_.emplace(ctx, pending_read{r.term(), std::move(then)});
}

void raft_driver::settle_reads() {
    auto& r = *replica_;
    for (const auto& rs : r.take_reads()) {
        auto it = reads_.find(rs.ctx);
        PRAVAHA_ASSERT(it != reads_.end(), "raft group {} confirmed an unknown read {}", cfg_.group,
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
                   "raft group {} tracks {} reads, the replica {}", cfg_.group, reads_.size(),
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
    const auto& r = *replica_;
    raft::group_status s;
    s.group = cfg_.group;
    s.node = cfg_.id;
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
