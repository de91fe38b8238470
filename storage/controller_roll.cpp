// Rolling transactions (ARCHITECTURE.md "Rolling transactions", Pravega's rolling transaction):
// a transaction whose parents were sealed by a scale since it began commits through two new
// epochs. Epoch a+1 duplicates the ranges of the transaction's epoch, each duplicate in the
// container of its parent's transaction segment, and receives the merges; then it is sealed;
// epoch a+2 duplicates the current epoch's ranges and becomes current once the current
// segments are sealed. Readers see, per key: the current segment, the transaction, what follows.
// The commands here record the roll (txn_roll) and its end (txn_rolled); the controller actor
// runs the container actions between them (actors/controller_txns.cpp).

#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"
#include "storage/controller_state.hpp"
#include "storage/keys.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pravaha::storage {

namespace {

const history_segment* find_in(const epoch_info& e, segment_id id) {
    for (const auto& s : e.segments) {
        if (s.range.id == id) {
            return &s;
        }
    }
    return nullptr;
}

bool in_batch(const stream_record& rec, uint64_t id) {
    const auto& txns = rec.transition.txns;
    return std::find(txns.begin(), txns.end(), id) != txns.end();
}

}  // namespace

segment_id controller_state::root_of_segment(const stream_name& n, segment_id id) const {
    const auto& h = history_.at(n);
    // A segment is in the history of the epoch that made it.
    const auto* s = id.epoch() < h.size() ? find_in(h[id.epoch()], id) : nullptr;
    PRAVAHA_ASSERT(s != nullptr, "stream {}/{}: segment {} not in the epoch that made it", n.first,
                   n.second, to_string(id));
    return root_of(*s);
}

segment_id controller_state::salted_id(stream_record& rec,
                                       uint32_t epoch,
                                       uint32_t container) const {
    auto id = segment_id::make(epoch, rec.next_number++);
    while (container_of(segment_key{rec.uid, id}, container_count_) != container) {
        id = segment_id::make(epoch, rec.next_number++);
    }
    return id;
}

caf::expected<controller_state::commit_step> controller_state::commit_step_of(
    const txn_record& t) const {
    auto found = get_txn(t.scope, t.stream, t.id);
    if (!found) {
        return std::move(found.error());
    }
    if (t.state != txn_state::committing) {
        return caf::make_error(errc::invalid_argument,
                               fmt::format("transaction {} is {}, not committing",
                                           txn_id_text(t.id), to_string(t.state)));
    }
    stream_name n{t.scope, t.stream};
    const auto& rec = streams_.at(n);
    const auto& h = history_.at(n);
    commit_step step;
    auto target_in = [&](const epoch_info& e, const txn_segment& s,
                         bool by_range) -> const history_segment* {
        auto root = root_of_segment(n, s.range.id);
        for (const auto& seg : e.segments) {
            bool same = by_range ? seg.range.key_start == s.range.key_start &&
                                       seg.range.key_end == s.range.key_end
                                 : root_of_segment(n, seg.range.id) == root;
            if (same) {
                // One merge op of one container: the target lives with the transaction segment.
                PRAVAHA_ASSERT(container_of(segment_key{t.uid, seg.range.id}, container_count_) ==
                                   container_of(s.key, container_count_),
                               "transaction {}: target {} is not in the container of {}",
                               txn_id_text(t.id), to_string(seg.range.id), to_string(s.key));
                return &seg;
            }
        }
        return nullptr;
    };
    if (rec.has_transition) {
        if (!rec.transition.rolling || !in_batch(rec, t.id)) {
            return step;  // wait: a scale or another batch's roll runs
        }
        const auto& dup = h[rec.transition.from_epoch + 1];
        for (const auto& s : t.segments) {
            const auto* seg = target_in(dup, s, true);
            PRAVAHA_ASSERT(seg != nullptr, "transaction {}: no duplicate of {} in its roll",
                           txn_id_text(t.id), to_string(s.range.id));
            step.targets.push_back({t.uid, seg->range.id});
        }
        step.what = commit_step::kind::merge;
        step.epoch = dup.epoch;
        return step;
    }
    for (const auto& s : t.segments) {
        const auto* seg = target_in(h[rec.epoch], s, false);
        if (seg == nullptr) {
            step.what = commit_step::kind::roll;
            step.targets.clear();
            return step;
        }
        step.targets.push_back({t.uid, seg->range.id});
    }
    step.what = commit_step::kind::merge;
    step.epoch = rec.epoch;
    return step;
}

caf::error controller_state::direct_commit_pending(const stream_record& rec) const {
    for (auto id : live_txns_) {
        const auto& t = txns_.at(id);
        if (t.uid != rec.uid || t.state != txn_state::committing) {
            continue;
        }
        auto step = commit_step_of(t);
        if (step && step->what == commit_step::kind::merge) {
            return caf::make_error(
                errc::conflict,
                fmt::format("transaction {} of {}/{} is being merged into the current segments; "
                            "retry once it is committed",
                            txn_id_text(t.id), t.scope, t.stream));
        }
    }
    return {};
}

void controller_state::begin_roll(const command& c, outcome& out) {
    auto rec = get_stream(c.scope, c.name);
    if (!rec) {
        out.error = std::move(rec.error());
        return;
    }
    auto qualified = c.scope + "/" + c.name;
    if (rec->has_transition) {
        if (rec->transition.rolling) {
            out.record = *rec;  // a repeated command: the roll it recorded
        } else {
            out.error = caf::make_error(errc::conflict, "scale in progress on " + qualified);
        }
        return;
    }
    if (rec->state == stream_state::sealed) {
        // Never: a seal waits for every committing transaction.
        out.error = caf::make_error(errc::stream_sealed, "stream " + qualified + " is sealed");
        return;
    }
    // The batch: the first committing transactions in commit order that began in the same epoch
    // as the first, which needs a roll (commit order is visibility order).
    std::vector<const txn_record*> committing;
    for (auto id : live_txns_) {
        const auto& t = txns_.at(id);
        if (t.uid == rec->uid && t.state == txn_state::committing) {
            committing.push_back(&t);
        }
    }
    std::sort(committing.begin(), committing.end(), [](const txn_record* a, const txn_record* b) {
        return a->commit_order < b->commit_order;
    });
    auto first = committing.empty() ? caf::expected<commit_step>(commit_step{})
                                    : commit_step_of(*committing.front());
    if (committing.empty() || !first || first->what != commit_step::kind::roll) {
        out.error = caf::make_error(
            errc::invalid_argument,
            "stream " + qualified + ": its first committing transaction needs no roll");
        return;
    }
    std::vector<uint64_t> batch;
    for (const auto* t : committing) {
        if (t->epoch != committing.front()->epoch || batch.size() == roll_batch_max) {
            break;
        }
        batch.push_back(t->id);
    }
    stream_name n{c.scope, c.name};
    auto& h = history_.at(n);
    uint32_t a = rec->epoch;
    uint32_t e = committing.front()->epoch;
    PRAVAHA_ASSERT(e < a && h.size() == a + 1,
                   "stream {}: roll of epoch {} at epoch {} ({} epochs)", qualified, e, a,
                   h.size());
    auto duplicate = [&](const history_segment& of, uint32_t epoch,
                         const std::vector<history_segment>& before) {
        history_segment seg;
        auto id = salted_id(*rec, epoch,
                            container_of(segment_key{rec->uid, of.range.id}, container_count_));
        seg.range = {id, of.range.key_start, of.range.key_end};
        seg.duplicate = true;
        seg.origin = root_of_segment(n, of.range.id);
        for (const auto& p : before) {
            if (overlaps(p.range, seg.range)) {
                seg.predecessors.push_back(p.range.id);
            }
        }
        return seg;
    };
    epoch_info txn_epoch{a + 1, c.now_ms, {}, true};
    for (const auto& p : h[e].segments) {
        txn_epoch.segments.push_back(duplicate(p, a + 1, h[a].segments));
    }
    epoch_info next{a + 2, c.now_ms, {}, true};
    for (const auto& s : h[a].segments) {
        next.segments.push_back(duplicate(s, a + 2, txn_epoch.segments));
    }
    scale_transition t;
    t.from_epoch = a;
    for (const auto& s : h[a].segments) {
        t.seal.push_back(s.range.id);
    }
    for (const auto* epoch : {&txn_epoch, &next}) {
        for (const auto& s : epoch->segments) {
            t.create.push_back(s.range);
        }
    }
    t.started_ms = c.now_ms;
    t.rolling = true;
    t.txns = std::move(batch);
    rec->has_transition = true;
    rec->transition = std::move(t);
    write_batch b;
    put_epoch(b, n, a);  // written once more: streams from before history lack it
    b.put(keys::epoch(c.scope, c.name, a + 1), encode_epoch_record({txn_epoch, {}}));
    b.put(keys::epoch(c.scope, c.name, a + 2), encode_epoch_record({next, {}}));
    if (auto err = save(*rec, b)) {
        out.error = std::move(err);
        return;
    }
    h.push_back(std::move(txn_epoch));
    h.push_back(std::move(next));
    check_stream(n);
    out.record = std::move(*rec);
}

void controller_state::finish_roll(const command& c, outcome& out) {
    auto rec = get_stream(c.scope, c.name);
    if (!rec) {
        out.error = std::move(rec.error());
        return;
    }
    const auto& tr = rec->transition;
    if (!rec->has_transition || !tr.rolling || tr.from_epoch + 2 != c.target_epoch) {
        if (!rec->has_transition && rec->epoch >= c.target_epoch) {
            out.record = *rec;  // done already (a repeated command)
            return;
        }
        out.error = caf::make_error(errc::invalid_argument,
                                    fmt::format("stream {}/{} has no transaction roll to epoch {}",
                                                c.scope, c.name, c.target_epoch));
        return;
    }
    stream_name n{c.scope, c.name};
    auto& h = history_.at(n);
    uint32_t a = tr.from_epoch;
    // The final lengths of the current segments (sealed last) and of the duplicates that took
    // the merges, each named once.
    std::vector<std::pair<segment_id, int64_t>> current_lengths;
    std::vector<std::pair<segment_id, int64_t>> txn_lengths;
    for (const auto& [id, length] : c.sealed_lengths) {
        bool current = find_in(h[a], id) != nullptr;
        bool dup = find_in(h[a + 1], id) != nullptr;
        auto& into = current ? current_lengths : txn_lengths;
        bool twice = std::any_of(into.begin(), into.end(),
                                 [id = id](const auto& l) { return l.first == id; });
        if ((!current && !dup) || length < 0 || twice) {
            out.error = caf::make_error(
                errc::invalid_argument,
                fmt::format("stream {}/{}: bad final length {} of segment {} in a roll", c.scope,
                            c.name, length, to_string(id)));
            return;
        }
        into.emplace_back(id, length);
    }
    if (current_lengths.size() != h[a].segments.size() ||
        txn_lengths.size() != h[a + 1].segments.size()) {
        out.error = caf::make_error(errc::invalid_argument,
                                    "the final lengths of the rolled segments are missing");
        return;
    }
    write_batch b;
    b.put(keys::epoch(c.scope, c.name, a + 1), encode_epoch_record({h[a + 1], current_lengths}));
    b.put(keys::epoch(c.scope, c.name, a + 2), encode_epoch_record({h[a + 2], txn_lengths}));
    std::vector<txn_record> committed;
    for (auto id : tr.txns) {
        auto t = txns_.at(id);
        if (t.state != txn_state::committing) {
            continue;  // recorded done already (never by the commit workflow)
        }
        t.state = txn_state::committed;
        t.completed_ms = std::max<int64_t>(c.now_ms, 1);
        t.merged_epoch = a + 1;
        check_txn(t);
        b.put(keys::txn(t.uid, t.id), encode_txn_record(t));
        committed.push_back(std::move(t));
    }
    purge_txns(rec->uid, c.now_ms, committed, b);
    rec->epoch = a + 2;
    rec->segments.clear();
    for (const auto& seg : h[a + 2].segments) {
        rec->segments.push_back(seg.range);
    }
    rec->has_transition = false;
    rec->transition = {};
    if (auto err = save(*rec, b)) {
        out.error = std::move(err);
        return;
    }
    set_sealed_lengths(h, current_lengths);
    set_sealed_lengths(h, txn_lengths);
    for (const auto& t : committed) {
        remember_txn(t);
    }
    check_stream(n);
    out.record = std::move(*rec);
}

}  // namespace pravaha::storage
