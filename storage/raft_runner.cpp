#include "storage/raft_runner.hpp"

#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/mutants.hpp"

#include <algorithm>

namespace pravaha::storage::raft {

batch_rule::batch_rule(const replica& r, const message* first)
    : proposal_(first == nullptr), term_(r.term()), role_(r.state()) {
    if (first != nullptr) {
        type_ = first->type;
        from_ = first->from;
        msg_term_ = first->term;
    }
}

bool batch_rule::admits(const replica& r, const message* next) const {
    if (r.term() != term_ || r.state() != role_) {
        return false;
    }
    if (proposal_ || next == nullptr) {
        return proposal_ && next == nullptr;
    }
    return type_ == msg_type::append && next->type == msg_type::append && next->from == from_ &&
           next->term == msg_term_;
}

ready_runner::ready_runner(log_store& store, config cfg, runner_hooks hooks)
    : store_(store), cfg_(std::move(cfg)), hooks_(std::move(hooks)) {}

caf::error ready_runner::open(uint64_t applied) {
    log_ = std::make_unique<raft_log>(store_, cfg_.group);
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
    replica_ = std::make_unique<class replica>(cfg_, std::move(*st), applied);
    pending_.reset();
    applied_written_ = applied;
    durable_applied_ = applied;
    return {};
}

caf::error ready_runner::run() {
    while (!pending_ && replica_->has_ready()) {
        if (auto err = start_ready()) {
            return err;
        }
    }
    return {};
}

caf::error ready_runner::start_ready() {
    PRAVAHA_ASSERT(hooks_.send && hooks_.apply, "raft group {}: a runner needs send and apply",
                   cfg_.group);
    pending_ = replica_->take_ready();
    auto& rd = *pending_;
    write_batch b;
    log_->stage(rd, b);
    if (rd.install) {
        PRAVAHA_ASSERT(hooks_.stage_install, "raft group {}: a snapshot arrived, no install hook",
                       cfg_.group);
        if (auto err = hooks_.stage_install(*rd.install, b)) {
            return err;
        }
    }
    for (auto& m : rd.messages) {
        if (m.type == msg_type::snapshot) {
            PRAVAHA_ASSERT(hooks_.snapshot, "raft group {}: a snapshot to send, no snapshot hook",
                           cfg_.group);
            auto snap = hooks_.snapshot();
            if (!snap) {
                return std::move(snap.error());
            }
            m.data = std::move(*snap);
        }
        hooks_.send(std::move(m));
    }
    if (b.empty()) {
        return finish_ready();
    }
    bool sync = !mutants::active(mutants::mutant::ack_before_fsync);
    bool durable = true;
    if (hooks_.persist) {
        auto done = hooks_.persist(b, sync);
        if (!done && !mutants::active(mutants::mutant::sync_error_ignored)) {
            return std::move(done.error());
        }
        durable = !done || *done;
    } else if (auto err = store_.write(b, sync)) {
        if (!mutants::active(mutants::mutant::sync_error_ignored)) {
            return err;
        }
    }
    // Prefix durability (log_store): the state writes issued before this sync are durable with it.
    written_at_save_ = applied_written_;
    if (!durable) {
        return {};  // the owner calls saved()
    }
    return saved();
}

caf::error ready_runner::saved() {
    PRAVAHA_ASSERT(pending_.has_value(), "raft group {}: saved() without a pending save",
                   cfg_.group);
    durable_applied_ = std::max(durable_applied_, written_at_save_);
    return finish_ready();
}

caf::error ready_runner::finish_ready() {
    auto rd = std::move(*pending_);
    pending_.reset();
    auto& r = *replica_;
    for (auto& m : rd.after_persist) {
        hooks_.send(std::move(m));
    }
    if (rd.install) {
        PRAVAHA_ASSERT(hooks_.installed, "raft group {}: no hook for an installed snapshot",
                       cfg_.group);
        if (auto err = hooks_.installed(*rd.install)) {
            return err;
        }
        // The installed state was in the synced batch.
        applied_written_ = rd.install->index;
        durable_applied_ = rd.install->index;
    }
    write_batch state;
    for (auto i = rd.apply_from + 1; i <= rd.apply_to; ++i) {
        const auto* e = r.entry_at(i);
        PRAVAHA_ASSERT(e != nullptr, "raft group {} lost entry {} before applying it", cfg_.group,
                       i);
        if (auto err = hooks_.apply(i, e->data, state)) {
            return err;
        }
    }
    if (!state.empty()) {
        if (auto err = store_.write(state, false)) {
            return err;
        }
    }
    applied_written_ = std::max(applied_written_, rd.apply_to);
    r.advance();
    if (hooks_.advanced) {
        hooks_.advanced();
    }
    auto point = r.compact_point(durable_applied_);
    if (cfg_.compaction_entries > 0 && point >= r.snapshot_index() + cfg_.compaction_entries) {
        return compact(point);
    }
    return {};
}

caf::error ready_runner::compact(uint64_t index) {
    auto& r = *replica_;
    PRAVAHA_ASSERT(index <= r.applied() && index > r.snapshot_index(),
                   "raft group {}: compaction to {} outside (snapshot {}, applied {}]", cfg_.group,
                   index, r.snapshot_index(), r.applied());
    write_batch c;
    log_->stage_compaction(index, *r.term_at(index), c);
    if (auto err = store_.write(c, false)) {
        return err;
    }
    r.compact(index);
    return {};
}

}  // namespace pravaha::storage::raft
