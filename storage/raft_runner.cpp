#include "storage/raft_runner.hpp"

#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/mutants.hpp"
#include "storage/keys.hpp"

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

// -- snapshots in chunks
// ---------------------------------------------------------------------------

void append_record(std::string& out, std::string_view key, std::string_view value) {
    keys::put_u32(out, static_cast<uint32_t>(key.size()));
    out.append(key);
    keys::put_u32(out, static_cast<uint32_t>(value.size()));
    out.append(value);
}

bool for_each_record(std::string_view data,
                     const std::function<void(std::string_view, std::string_view)>& fn) {
    size_t pos = 0;
    auto field = [&](std::string_view& f) {
        if (data.size() - pos < 4) {
            return false;
        }
        uint32_t n = keys::get_u32(data, pos);
        pos += 4;
        if (data.size() - pos < n) {
            return false;
        }
        f = data.substr(pos, n);
        pos += n;
        return true;
    };
    while (pos < data.size()) {
        std::string_view k;
        std::string_view v;
        if (!field(k) || !field(v) || k.empty()) {
            return false;
        }
        fn(k, v);
    }
    return true;
}

snapshot_source::snapshot_source(std::unique_ptr<store_view> view,
                                 std::vector<store_range> ranges,
                                 size_t chunk_bytes)
    : view_(std::move(view)), ranges_(std::move(ranges)), chunk_bytes_(chunk_bytes) {
    starts_[1] = position{0, ranges_.empty() ? std::string{} : ranges_[0].from};
    for (const auto& r : ranges_) {
        approximate_ += view_->approximate_bytes(r);
    }
}

caf::expected<std::string> snapshot_source::read(uint64_t number, bool& last) {
    auto it = starts_.find(number);
    PRAVAHA_ASSERT(it != starts_.end(), "snapshot chunk {} read before its predecessor", number);
    auto pos = it->second;
    std::string out;
    while (pos.range < ranges_.size()) {
        bool full = false;
        std::string next;
        auto err = view_->scan(pos.key, ranges_[pos.range].to,
                               [&](std::string_view k, std::string_view v) {
                                   append_record(out, k, v);
                                   if (out.size() >= chunk_bytes_) {
                                       next.assign(k);
                                       next.push_back('\0');
                                       full = true;
                                       return false;
                                   }
                                   return true;
                               });
        if (err) {
            return err;
        }
        if (full) {
            pos.key = std::move(next);
            break;
        }
        if (++pos.range < ranges_.size()) {
            pos.key = ranges_[pos.range].from;
        }
    }
    last = pos.range >= ranges_.size();
    if (last) {
        PRAVAHA_ASSERT(last_ == 0 || last_ == number, "snapshot ends at chunk {} and at {}", last_,
                       number);
        last_ = number;
    } else {
        starts_[number + 1] = std::move(pos);
    }
    return out;
}

void snapshot_source::forget_below(uint64_t number) {
    starts_.erase(starts_.begin(), starts_.lower_bound(number));
}

std::string staging_prefix(uint32_t group) {
    return keys::raft(group, 'x');
}

std::string install_marker(uint32_t group) {
    return keys::raft(group, 'i');
}

caf::error stage_chunk(uint32_t group, const snapshot_chunk& c, write_batch& b) {
    auto prefix = staging_prefix(group);
    write_batch chunk;
    if (c.number == 1) {
        chunk.erase_range(prefix, keys::prefix_end(prefix));
    }
    bool ok = for_each_record(c.data, [&](std::string_view k, std::string_view v) {
        chunk.put(prefix + std::string(k), std::string(v));
    });
    if (!ok) {
        return caf::make_error(errc::malformed_message,
                               "raft group " + std::to_string(group) + ": snapshot chunk " +
                                   std::to_string(c.number) + " is malformed");
    }
    for (auto& op : chunk.ops) {
        b.bytes += op.key.size() + op.value.size();
        b.ops.push_back(std::move(op));
    }
    return {};
}

void stage_install_marker(uint32_t group, const snapshot& snap, write_batch& b) {
    std::string v;
    keys::put_u64(v, snap.index);
    keys::put_u64(v, snap.term);
    b.put(install_marker(group), std::move(v));
}

caf::error complete_install(log_store& store, uint32_t group, size_t batch_bytes) {
    auto marker = store.get(install_marker(group));
    if (!marker) {
        return std::move(marker.error());
    }
    if (!*marker) {
        return {};
    }
    auto prefix = staging_prefix(group);
    auto end = keys::prefix_end(prefix);
    std::string from = prefix;
    for (;;) {
        write_batch b;
        std::string last;
        bool more = false;
        auto scanned = store.scan(from, end, [&](std::string_view k, std::string_view v) {
            if (b.bytes >= batch_bytes) {
                more = true;
                return false;
            }
            b.put(std::string(k.substr(prefix.size())), std::string(v));
            last.assign(k);
            return true;
        });
        if (scanned) {
            return scanned;
        }
        if (b.empty()) {
            break;
        }
        last.push_back('\0');
        b.erase_range(from, last);
        if (auto err = store.write(b, false)) {
            return err;
        }
        if (!more) {
            break;
        }
        from = std::move(last);
    }
    write_batch done;
    done.erase(install_marker(group));
    return store.write(done, false);
}

// -- the runner
// ------------------------------------------------------------------------------------

ready_runner::ready_runner(log_store& store, config cfg, runner_hooks hooks)
    : store_(store), cfg_(std::move(cfg)), hooks_(std::move(hooks)) {}

caf::error ready_runner::open(uint64_t applied) {
    // An install the owner has not finished (it should have, before loading its state), and
    // what a transfer cut short left in the staging area.
    if (auto err = complete_install(store_, cfg_.group, cfg_.snapshot_chunk_bytes)) {
        return err;
    }
    write_batch clear;
    auto prefix = staging_prefix(cfg_.group);
    clear.erase_range(prefix, keys::prefix_end(prefix));
    if (auto err = store_.write(clear, false)) {
        return err;
    }
    sending_.clear();
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
    for (auto& c : rd.staged) {
        if (auto err = stage_chunk(cfg_.group, c, b)) {
            return err;
        }
    }
    rd.staged.clear();
    if (rd.install) {
        PRAVAHA_ASSERT(hooks_.stage_install, "raft group {}: a snapshot arrived, no install hook",
                       cfg_.group);
        if (auto err = hooks_.stage_install(*rd.install, b)) {
            return err;
        }
        stage_install_marker(cfg_.group, *rd.install, b);
    }
    for (auto& m : rd.messages) {
        if (m.type == msg_type::snapshot) {
            auto keep = fill_chunk(m);
            if (!keep) {
                return std::move(keep.error());
            }
            if (!*keep) {
                continue;
            }
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

bool ready_runner::transfer_live(replica_id to, uint64_t session) const {
    const auto& r = *replica_;
    auto p = r.followers().find(to);
    return r.state() == role::leader && p != r.followers().end() &&
           p->second.state == progress::mode::snapshot && p->second.snap.session == session;
}

caf::expected<bool> ready_runner::fill_chunk(message& m) {
    auto& r = *replica_;
    if (!transfer_live(m.to, m.session)) {
        // Queued before the transfer ended (the replica stepped down or started over while a
        // save was pending): nothing to send.
        return false;
    }
    auto& out = sending_[m.to];
    if (out.session != m.session || !out.source) {
        // The transfer's first chunk: its view is the state at the applied index now, which
        // becomes the snapshot's index (the replica may have begun the transfer while an
        // earlier ready was still being saved, at a smaller applied index).
        PRAVAHA_ASSERT(m.chunk == 1, "raft group {}: snapshot {} to {} starts at chunk {}",
                       cfg_.group, m.session, m.to, m.chunk);
        PRAVAHA_ASSERT(hooks_.state_ranges, "raft group {}: a snapshot to send, no state hook",
                       cfg_.group);
        auto view = store_.view();
        if (!view) {
            return std::move(view.error());
        }
        auto ranges = hooks_.state_ranges(**view);
        if (!ranges) {
            return std::move(ranges.error());
        }
        out.session = m.session;
        out.index = r.applied();
        out.term = r.applied_term();
        out.source = std::make_unique<snapshot_source>(std::move(*view), std::move(*ranges),
                                                       cfg_.snapshot_chunk_bytes);
        r.snapshot_at(m.to, m.session, out.index, out.term, out.source->approximate_bytes());
        module_log("storage")->info(
            "raft group {}: sending replica {} a snapshot at index {} (about {} MiB)", cfg_.group,
            m.to, out.index, out.source->approximate_bytes() >> 20);
    }
    m.index = out.index;
    m.log_term = out.term;
    auto& src = *out.source;
    if (src.last_chunk() != 0 && m.chunk > src.last_chunk()) {
        r.snapshot_sent(m.to, m.session, 0);
        return false;
    }
    auto it = r.followers().find(m.to);
    if (it != r.followers().end() && it->second.snap.session == m.session) {
        src.forget_below(it->second.snap.acked + 1);
    }
    bool last = false;
    auto data = src.read(m.chunk, last);
    if (!data) {
        return std::move(data.error());
    }
    m.data = std::move(*data);
    m.last_chunk = last;
    if (last) {
        r.snapshot_end(m.to, m.session, m.chunk);
    }
    r.snapshot_sent(m.to, m.session, m.data.size());
    return true;
}

void ready_runner::prune_sources() {
    for (auto it = sending_.begin(); it != sending_.end();) {
        it = transfer_live(it->first, it->second.session) ? std::next(it) : sending_.erase(it);
    }
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
        if (auto err = complete_install(store_, cfg_.group, cfg_.snapshot_chunk_bytes)) {
            return err;
        }
        if (auto err = hooks_.installed(*rd.install)) {
            return err;
        }
        module_log("storage")->info("raft group {}: installed a snapshot at index {} (term {})",
                                    cfg_.group, rd.install->index, rd.install->term);
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
    prune_sources();
    if (hooks_.advanced) {
        hooks_.advanced();
    }
    auto point = r.compact_point(durable_applied_);
    if (cfg_.compaction_entries > 0 && point > r.snapshot_index() &&
        (point >= r.snapshot_index() + cfg_.compaction_entries ||
         (r.log_bytes() >= cfg_.compaction_bytes &&
          r.log_bytes_through(point, cfg_.compaction_bytes) >= cfg_.compaction_bytes))) {
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
