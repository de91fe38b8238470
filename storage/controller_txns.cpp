// The controller state's transactions: records under Mn, changed only by the txn_* commands
// (docs/transactions_plan.md). The workflows that act on them (creating, merging and deleting
// transaction segments, leases) are the controller actor's.

#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"
#include "schema/mutants.hpp"
#include "storage/controller_state.hpp"
#include "storage/keys.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pravaha::storage {

namespace {

bool completed(txn_state s) {
    return s == txn_state::committed || s == txn_state::aborted;
}

// Open and committing ones count against the stream's limit (aborting ones are on their way out).
bool counts_as_open(txn_state s) {
    return s == txn_state::open || s == txn_state::committing;
}

std::string txn_name(const txn_record& t) {
    return fmt::format("transaction {} of {}/{}", txn_id_text(t.id), t.scope, t.stream);
}

}  // namespace

caf::expected<txn_record> controller_state::get_txn(const std::string& scope,
                                                    const std::string& name,
                                                    uint64_t id) const {
    auto rec = get_stream(scope, name);
    if (!rec) {
        return std::move(rec.error());
    }
    auto it = txns_.find(id);
    if (it == txns_.end() || it->second.uid != rec->uid) {
        return caf::make_error(
            errc::transaction_not_found,
            fmt::format("transaction {} of {}/{} does not exist", txn_id_text(id), scope, name));
    }
    return it->second;
}

caf::expected<std::vector<txn_record>> controller_state::list_txns(const std::string& scope,
                                                                   const std::string& name) const {
    auto rec = get_stream(scope, name);
    if (!rec) {
        return std::move(rec.error());
    }
    auto out = live_txns_of(scope, name);
    if (!out) {
        return out;
    }
    if (auto it = completed_txns_.find(rec->uid); it != completed_txns_.end()) {
        for (const auto& [at, id] : it->second) {
            out->push_back(txns_.at(id));
        }
    }
    std::sort(out->begin(), out->end(),
              [](const txn_record& a, const txn_record& b) { return a.id < b.id; });
    return out;
}

std::vector<txn_record> controller_state::all_txns() const {
    std::vector<txn_record> out;
    out.reserve(txns_.size());
    for (const auto& [id, t] : txns_) {
        out.push_back(t);
    }
    return out;
}

std::vector<txn_record> controller_state::live_txns() const {
    std::vector<txn_record> out;
    out.reserve(live_txns_.size());
    for (auto id : live_txns_) {
        out.push_back(txns_.at(id));
    }
    return out;
}

controller_state::counts_t controller_state::counts(bool stream_uids) const {
    counts_t c;
    c.scopes = scopes_.size();
    c.streams = streams_.size();
    for (const auto& [n, rec] : streams_) {
        if (stream_uids) {
            c.stream_uids[n.first + "/" + n.second] = rec.uid.value;
        }
        if (rec.state == stream_state::sealed) {
            ++c.sealed_streams;
        } else {
            c.active_segments += rec.segments.size();
        }
    }
    c.reader_groups = groups_.size();
    for (const auto& [n, g] : groups_) {
        c.readers_online[n.first + "/" + n.second] = g.readers.size();
    }
    for (auto id : live_txns_) {
        if (txns_.at(id).state == txn_state::open) {
            ++c.open_txns;
        } else {
            ++c.committing_txns;
        }
    }
    return c;
}

std::map<uint64_t, std::string> controller_state::uid_scopes() const {
    std::map<uint64_t, std::string> out;
    for (const auto& [n, rec] : streams_) {
        out[rec.uid.value] = n.first;
    }
    for (auto id : live_txns_) {
        const auto& t = txns_.at(id);
        for (const auto& s : t.segments) {
            out[s.key.stream.value] = t.scope;
        }
    }
    return out;
}

caf::expected<std::vector<txn_record>> controller_state::live_txns_of(
    const std::string& scope, const std::string& name) const {
    auto rec = get_stream(scope, name);
    if (!rec) {
        return std::move(rec.error());
    }
    std::vector<txn_record> out;
    for (auto id : live_txns_) {
        const auto& t = txns_.at(id);
        if (t.uid == rec->uid) {
            out.push_back(t);
        }
    }
    return out;
}

void controller_state::remember_txn(const txn_record& t) {
    forget_txn(t.id);
    txns_[t.id] = t;
    if (completed(t.state)) {
        completed_txns_[t.uid].emplace(t.completed_ms, t.id);
    } else {
        live_txns_.insert(t.id);
    }
}

void controller_state::forget_txn(uint64_t id) {
    auto it = txns_.find(id);
    if (it == txns_.end()) {
        return;
    }
    const auto& t = it->second;
    if (completed(t.state)) {
        auto c = completed_txns_.find(t.uid);
        c->second.erase({t.completed_ms, t.id});
        if (c->second.empty()) {
            completed_txns_.erase(c);
        }
    } else {
        live_txns_.erase(id);
    }
    txns_.erase(it);
}

// The invariants of a transaction record, after every change and at load (always on).
void controller_state::check_txn(const txn_record& t) const {
    PRAVAHA_ASSERT(t.id != 0 && !t.segments.empty(), "{}: {} segments", txn_name(t),
                   t.segments.size());
    bool ordered = t.state == txn_state::committing || t.state == txn_state::committed;
    PRAVAHA_ASSERT(ordered == (t.commit_order != 0), "{} is {} with commit order {}", txn_name(t),
                   to_string(t.state), t.commit_order);
    PRAVAHA_ASSERT(completed(t.state) == (t.completed_ms != 0), "{} is {} and completed at {}",
                   txn_name(t), to_string(t.state), t.completed_ms);
    for (const auto& s : t.segments) {
        // Merged by one op of one container: a transaction segment lives with its parent.
        PRAVAHA_ASSERT(s.key.segment == s.range.id && s.key.stream != t.uid &&
                           container_of(s.key, container_count_) ==
                               container_of(segment_key{t.uid, s.range.id}, container_count_),
                       "{}: segment {} is not in the container of its parent {}", txn_name(t),
                       to_string(s.key), to_string(s.range.id));
    }
}

caf::error controller_state::load_txns() {
    txns_.clear();
    live_txns_.clear();
    completed_txns_.clear();
    caf::error decode_err;
    if (auto err = store_.scan("Mn", "Mo", [&](std::string_view, std::string_view v) {
            auto t = decode_txn_record(v);
            if (!t) {
                decode_err = std::move(t.error());
                return false;
            }
            check_txn(*t);
            remember_txn(*t);
            return true;
        })) {
        return err;
    }
    return decode_err;
}

// Writes `t` (with whatever `b` holds: purged records, the uid counter) and keeps it.
caf::error controller_state::save_txn(const txn_record& t, write_batch& b) {
    check_txn(t);
    b.put(keys::txn(t.uid, t.id), encode_txn_record(t));
    std::string next;
    keys::put_u64(next, next_uid_);
    b.put(keys::next_uid(), next);
    if (auto err = persist(b)) {
        return err;
    }
    remember_txn(t);
    return {};
}

// Drops the stream's completed transactions past their retention, and the oldest beyond the
// count kept, into `b` (applied by every replica at the same command: `now_ms` is the command's).
// `current` are the transactions the command changes, as they will be saved (never dropped).
void controller_state::purge_txns(stream_uid uid,
                                  int64_t now_ms,
                                  const std::vector<txn_record>& current,
                                  write_batch& b) {
    auto it = completed_txns_.find(uid);
    if (it == completed_txns_.end()) {
        return;
    }
    // The current ones count as completed once saved (they are never dropped themselves).
    size_t count = it->second.size();
    auto is_current = [&](uint64_t id) {
        return std::any_of(current.begin(), current.end(),
                           [id](const txn_record& t) { return t.id == id; });
    };
    for (const auto& t : current) {
        if (completed(t.state) && t.uid == uid &&
            (txns_.count(t.id) == 0 || !completed(txns_.at(t.id).state))) {
            ++count;
        }
    }
    std::vector<uint64_t> drop;
    for (const auto& [at, id] : it->second) {  // oldest first
        bool excess = count - drop.size() > limits_.completed_per_stream;
        if (!excess && at + limits_.retention_ms >= now_ms) {
            break;  // the rest completed later: within their retention, and not too many
        }
        if (!is_current(id)) {
            drop.push_back(id);
        }
    }
    for (auto id : drop) {
        b.erase(keys::txn(uid, id));
        forget_txn(id);
    }
}

caf::expected<txn_record> controller_state::begin_txn(const command& c, write_batch& b) {
    auto rec = get_stream(c.scope, c.name);
    if (!rec) {
        return std::move(rec.error());
    }
    if (rec->state == stream_state::sealed) {
        return caf::make_error(errc::stream_sealed,
                               "stream " + c.scope + "/" + c.name + " is sealed");
    }
    if (c.lease_ms < limits_.lease_min_ms || c.lease_ms > limits_.lease_max_ms) {
        return caf::make_error(errc::invalid_argument,
                               fmt::format("a transaction's lease must be {}..{} ms, not {}",
                                           limits_.lease_min_ms, limits_.lease_max_ms, c.lease_ms));
    }
    auto open = std::count_if(live_txns_.begin(), live_txns_.end(), [&](uint64_t id) {
        const auto& t = txns_.at(id);
        return t.uid == rec->uid && counts_as_open(t.state);
    });
    if (static_cast<uint64_t>(open) >= limits_.open_per_stream) {
        return caf::make_error(
            errc::transaction_limit,
            fmt::format("stream {}/{} has {} open transactions, as many as it allows; commit or "
                        "abort some first",
                        c.scope, c.name, open));
    }
    txn_record t;
    t.id = next_uid_++;
    t.scope = c.scope;
    t.stream = c.name;
    t.uid = rec->uid;
    t.epoch = rec->epoch;
    t.writer = c.writer;
    t.began_ms = c.now_ms;
    t.lease_ms = c.lease_ms;
    t.deadline_ms = c.now_ms + limits_.lifetime_ms;
    for (const auto& r : rec->segments) {
        // A uid of its own whose key falls in the parent's container (container_of never
        // changes; about container_count draws per segment).
        auto want = container_of(segment_key{rec->uid, r.id}, container_count_);
        segment_key key{stream_uid{next_uid_++}, r.id};
        while (container_of(key, container_count_) != want) {
            key.stream = stream_uid{next_uid_++};
        }
        t.segments.push_back({r, key});
    }
    purge_txns(rec->uid, c.now_ms, {t}, b);
    if (auto err = save_txn(t, b)) {
        return err;
    }
    return t;
}

void controller_state::apply_txn(const command& c, outcome& out) {
    using kind = command::kind;
    write_batch b;
    if (c.type == kind::txn_begin) {
        auto t = begin_txn(c, b);
        t ? (void)(out.txn = std::move(*t)) : (void)(out.error = std::move(t.error()));
        return;
    }
    auto found = get_txn(c.scope, c.name, c.txn);
    if (!found) {
        out.error = std::move(found.error());
        return;
    }
    auto t = std::move(*found);
    auto before = t;
    switch (c.type) {
        case kind::txn_commit:
            if (t.state == txn_state::open && c.now_ms >= t.deadline_ms) {
                t.state = txn_state::aborting;  // its maximum lifetime passed
                t.reason = "lifetime";
            } else if (t.state == txn_state::open) {
                // Whatever the epoch: a transaction whose parents a scale sealed since it began
                // commits through a roll (controller_roll.cpp).
                t.state = txn_state::committing;
                t.commit_order = next_uid_++;
            }
            if (t.state == txn_state::aborting || t.state == txn_state::aborted) {
                out.error =
                    caf::make_error(errc::transaction_aborted,
                                    fmt::format("{} was aborted ({})", txn_name(t), t.reason));
            }
            break;
        case kind::txn_abort:
            if (t.state == txn_state::open ||
                (t.state == txn_state::committing &&
                 mutants::active(mutants::mutant::abort_after_commit_visible))) {
                t.state = txn_state::aborting;
                t.reason = c.reason.empty() ? "abort" : c.reason;
                t.commit_order = 0;  // (only the planted bug meets a committing one here)
            } else if (t.state == txn_state::committing || t.state == txn_state::committed) {
                out.error =
                    caf::make_error(errc::transaction_committed,
                                    fmt::format("{} is {}", txn_name(t), to_string(t.state)));
            }
            break;
        case kind::txn_done:
            if (t.state == txn_state::open) {
                out.error = caf::make_error(
                    errc::invalid_argument,
                    fmt::format("{} is open: commit or abort it before it ends", txn_name(t)));
            } else if (!completed(t.state)) {
                if (t.state == txn_state::committing) {
                    // Merged into the current segments: no scale completes while a committing
                    // transaction merges there (direct_commit_pending).
                    t.state = txn_state::committed;
                    t.merged_epoch = get_stream(c.scope, c.name)->epoch;
                } else {
                    t.state = txn_state::aborted;
                }
                t.completed_ms = std::max<int64_t>(c.now_ms, 1);
                purge_txns(t.uid, c.now_ms, {t}, b);
            }
            break;
        default:
            PRAVAHA_ASSERT(false, "not a transaction command: {}", static_cast<int>(c.type));
    }
    out.changed = !(t == before);
    if (out.changed) {
        if (auto err = save_txn(t, b)) {
            out.error = std::move(err);
            return;
        }
    }
    out.txn = std::move(t);
}

caf::error controller_state::committing_txn(stream_uid uid) const {
    for (auto id : live_txns_) {
        const auto& t = txns_.at(id);
        if (t.uid == uid && t.state == txn_state::committing) {
            return caf::make_error(
                errc::conflict,
                fmt::format("{} is committing; retry once it is committed", txn_name(t)));
        }
    }
    return {};
}

// A sealed stream takes no commit: its open transactions are aborted ("sealed"); a seal waits
// (conflict) while a commit is being merged, so that it finishes into unsealed parents.
caf::error controller_state::seal_txns(stream_uid uid, write_batch& b) {
    if (auto err = committing_txn(uid)) {
        return err;
    }
    for (auto id : live_txns_) {
        auto& t = txns_.at(id);  // open to aborting: still live, the indexes hold
        if (t.uid == uid && t.state == txn_state::open) {
            t.state = txn_state::aborting;
            t.reason = "sealed";
            check_txn(t);
            b.put(keys::txn(uid, id), encode_txn_record(t));
        }
    }
    return {};
}

}  // namespace pravaha::storage
