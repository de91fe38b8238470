#include "sim/checkers.hpp"

#include "sim/prng.hpp"
#include "storage/storage.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pravaha::sim {

finding check_read(const history& h, offset_map& offsets, reader_view& view, const read_rec& r) {
    return check_read_event(h, offsets, view, r, parse_payload(r.payload), payload_hash(r.payload));
}

finding check_read_event(const history& h,
                         offset_map& offsets,
                         reader_view& view,
                         const read_rec& r,
                         const std::optional<event_id>& parsed,
                         uint64_t hash) {
    if (!parsed) {
        return fmt::format("client {} read an event that no writer wrote at segment {} offset {}",
                           r.reader, r.segment_id, r.offset);
    }
    auto index = h.find({parsed->writer, parsed->seq});
    if (!index || h.op(*index).hash != hash) {
        return fmt::format(
            "client {} read event writer={} seq={} that was never written (offset {})", r.reader,
            parsed->writer, parsed->seq, r.offset);
    }
    auto where = std::make_pair(r.segment, r.offset);
    auto [it, inserted] = offsets.emplace(where, hash);
    if (!inserted && it->second != hash) {
        return fmt::format(
            "inconsistent offsets: segment {} offset {} returned two different events",
            r.segment_id, r.offset);
    }
    if (!view.seen.insert(where).second) {
        return fmt::format("client {} was given segment {} offset {} twice", r.reader, r.segment_id,
                           r.offset);
    }
    view.observed.insert({parsed->writer, parsed->seq});
    if (h.op(*index).idempotent) {
        auto key = std::make_tuple(parsed->writer, parsed->incarnation, parsed->key);
        auto last = view.last_seq.find(key);
        if (last != view.last_seq.end() && last->second >= parsed->seq) {
            return fmt::format("client {} read writer={} key={} seq={} after seq={} ({})", r.reader,
                               parsed->writer, parsed->key, parsed->seq, last->second,
                               last->second == parsed->seq ? "duplicate from an idempotent writer"
                                                           : "per-key order broken");
        }
        view.last_seq[key] = parsed->seq;
    }
    return std::nullopt;
}

finding check_caught_up(
    const history& h, reader_view& view, uint32_t reader, uint32_t stream, int64_t asked_at) {
    const auto& acked = h.acked(stream);
    for (; view.verified < acked.size(); ++view.verified) {
        const auto& op = h.op(acked[view.verified]);
        // A transaction's events count from its commit's answer (they are acknowledged then).
        if (h.visible_at(op) >= asked_at) {
            return std::nullopt;
        }
        if (!view.observed.count({op.id.writer, op.id.seq})) {
            return fmt::format(
                "client {} was told it had read everything (asked at {:.3f}s) but never read "
                "acknowledged event writer={} seq={} (acknowledged at {:.3f}s): a read answered "
                "from a state that lags what was committed",
                reader, h.seconds(asked_at), op.id.writer, op.id.seq, h.seconds(h.visible_at(op)));
        }
    }
    return std::nullopt;
}

finding check_reopen(
    const history& h, uint32_t writer, int64_t opened_at, int64_t last, uint64_t next_seq) {
    if (last >= static_cast<int64_t>(next_seq)) {
        return fmt::format(
            "client {} reopened its writer and was told number {} is stored, but it has sent "
            "only up to {}",
            writer, last, static_cast<int64_t>(next_seq) - 1);
    }
    for (const auto& op : h.ops()) {
        if (op.id.writer == writer && op.out == outcome::ok &&
            op.complete<opened_at&& static_cast<int64_t>(op.id.seq)> last) {
            return fmt::format(
                "client {} reopened its writer and was told {} is its highest stored number, but "
                "seq={} was acknowledged at {:.3f}s",
                writer, last, op.id.seq, h.seconds(op.complete));
        }
    }
    return std::nullopt;
}

finding check_final(const history& h,
                    const std::map<writer_seq, uint32_t>& stored,
                    const std::function<std::string(const op_rec&)>& where) {
    for (const auto& op : h.ops()) {
        auto it = stored.find({op.id.writer, op.id.seq});
        uint32_t n = it == stored.end() ? 0 : it->second;
        // A transaction's event is stored when its transaction committed (check_txn_final),
        // whatever its own answer said; at most once like any idempotent write.
        if (op.txn == 0 && op.out == outcome::ok && n == 0) {
            return fmt::format(
                "lost: acknowledged event writer={} seq={} is not in the stream ({}; acknowledged "
                "at {:.3f}s, sent {} times)",
                op.id.writer, op.id.seq, where(op), h.seconds(op.complete), op.sends);
        }
        if (op.idempotent && n > 1) {
            return fmt::format("duplicate: idempotent writer={} seq={} is stored {} times",
                               op.id.writer, op.id.seq, n);
        }
        if (op.txn == 0 && op.out == outcome::fail && n > 0) {
            return fmt::format(
                "event writer={} seq={} failed but is stored (incarnation {}, sent {} times, "
                "failed at {:.3f}s)",
                op.id.writer, op.id.seq, op.id.incarnation, op.sends, h.seconds(op.complete));
        }
    }
    return std::nullopt;
}

namespace {

std::string seg_name(segment_id id) {
    return fmt::format("{}.{}", id.epoch(), id.number());
}

finding check_cover(const std::string& what, const std::vector<segment_range>& segs) {
    double at = 0;
    for (const auto& s : segs) {
        if (s.key_start != at || s.key_end <= s.key_start) {
            return fmt::format("{}: segment {} covers [{}, {}) where [{}, ...) was expected", what,
                               seg_name(s.id), s.key_start, s.key_end, at);
        }
        at = s.key_end;
    }
    if (at != 1.0) {
        return fmt::format("{}: its segments end at {}, not 1", what, at);
    }
    return std::nullopt;
}

}  // namespace

finding check_history(const stream_record& rec, const std::vector<epoch_info>& epochs) {
    auto name = rec.scope + "/" + rec.name;
    if (rec.has_transition) {
        return fmt::format("stream {}: a scale from epoch {} never finished", name,
                           rec.transition.from_epoch);
    }
    if (epochs.size() != size_t{rec.epoch} + 1) {
        return fmt::format("stream {} is at epoch {} but its history has {} epochs", name,
                           rec.epoch, epochs.size());
    }
    if (auto bad = check_cover(fmt::format("stream {} (current segments)", name), rec.segments)) {
        return bad;
    }
    for (size_t e = 0; e < epochs.size(); ++e) {
        const auto& ep = epochs[e];
        auto what = fmt::format("stream {} epoch {}", name, e);
        if (ep.epoch != e) {
            return fmt::format("{} is numbered {}", what, ep.epoch);
        }
        std::vector<segment_range> ranges;
        for (const auto& s : ep.segments) {
            ranges.push_back(s.range);
        }
        if (auto bad = check_cover(what, ranges)) {
            return bad;
        }
        bool last = e + 1 == epochs.size();
        if (last && ranges != rec.segments) {
            return fmt::format("{}: its segments are not the stream's current ones", what);
        }
        const auto* next = last ? nullptr : &epochs[e + 1];
        for (const auto& s : ep.segments) {
            const history_segment* later = nullptr;
            if (next != nullptr) {
                for (const auto& n : next->segments) {
                    if (n.range.id == s.range.id) {
                        later = &n;
                    }
                }
            }
            if (next != nullptr && later == nullptr && s.sealed_length < 0) {
                return fmt::format("{}: segment {} was replaced without a sealed length", what,
                                   seg_name(s.range.id));
            }
            if (later != nullptr &&
                (later->sealed_length != s.sealed_length || later->range != s.range)) {
                return fmt::format("{}: segment {} differs in epoch {}", what, seg_name(s.range.id),
                                   e + 1);
            }
            if (e == 0 || s.range.id.epoch() != e) {
                if (e > 0 &&
                    !std::any_of(epochs[e - 1].segments.begin(), epochs[e - 1].segments.end(),
                                 [&](const auto& p) { return p.range == s.range; })) {
                    return fmt::format("{}: segment {} is neither new nor carried over", what,
                                       seg_name(s.range.id));
                }
                continue;
            }
            // New in this epoch: it replaced exactly the sealed segments it overlaps.
            std::vector<segment_id> expected;
            for (const auto& p : epochs[e - 1].segments) {
                bool gone = std::none_of(ep.segments.begin(), ep.segments.end(),
                                         [&](const auto& n) { return n.range.id == p.range.id; });
                if (gone && p.range.key_start < s.range.key_end &&
                    s.range.key_start < p.range.key_end) {
                    expected.push_back(p.range.id);
                }
            }
            auto got = s.predecessors;
            std::sort(got.begin(), got.end());
            std::sort(expected.begin(), expected.end());
            if (got != expected || got.empty()) {
                return fmt::format("{}: segment {} lists {} predecessors where {} overlap it", what,
                                   seg_name(s.range.id), got.size(), expected.size());
            }
        }
    }
    return std::nullopt;
}

namespace {

// Pravega's auto-scaler rules, written out again from pravega-semantics.md (not shared with
// storage/scaling.cpp, which they check): rates of 2, 5, 10 and 20 minute windows scaled to
// `window_ms` (1, 2.5, 5, 10 windows).
const std::vector<double>& rates(const scaling_policy& p, const segment_load& l) {
    return p.type == scale_type::by_kbytes ? l.kbytes_per_s : l.events_per_s;
}

bool hot(const scaling_policy& p, const segment_load& l, int64_t w) {
    const auto& r = rates(p, l);
    double t = p.target;
    auto age = static_cast<double>(l.age_ms);
    auto win = static_cast<double>(w);
    return r.size() == 4 && ((r[0] > 5 * t && age > win) || (r[1] > 2 * t && age > 2.5 * win) ||
                             (r[2] > t && age > 5 * win));
}

bool cold(const scaling_policy& p, const segment_load& l, int64_t w) {
    const auto& r = rates(p, l);
    double t = p.target;
    return r.size() == 4 && r[0] < t && r[1] < t && r[2] < t && r[3] < t / 2 &&
           static_cast<double>(l.age_ms) > 10.0 * static_cast<double>(w);
}

}  // namespace

finding check_decision(const stream_record& rec,
                       const std::vector<segment_load>& loads,
                       int64_t window_ms,
                       const scale_request& req) {
    auto name = rec.scope + "/" + rec.name;
    const auto& p = rec.policy;
    auto index = [&](segment_id id) -> std::optional<size_t> {
        for (size_t i = 0; i < rec.segments.size(); ++i) {
            if (rec.segments[i].id == id) {
                return i;
            }
        }
        return std::nullopt;
    };
    if (req.seal.size() == 1 && req.create.size() >= 2) {
        auto i = index(req.seal.front());
        if (!i || *i >= loads.size() || !hot(p, loads[*i], window_ms)) {
            return fmt::format("stream {}: the auto-scaler split segment {}, which is not hot",
                               name, seg_name(req.seal.front()));
        }
        if (req.create.size() > p.factor) {
            return fmt::format("stream {}: the auto-scaler split segment {} into {} (factor {})",
                               name, seg_name(req.seal.front()), req.create.size(), p.factor);
        }
        return std::nullopt;
    }
    if (req.seal.size() >= 2 && req.create.size() == 1) {
        if (rec.segments.size() - req.seal.size() + 1 < p.min_segments) {
            return fmt::format("stream {}: the auto-scaler merged below {} segments", name,
                               p.min_segments);
        }
        for (auto id : req.seal) {
            auto i = index(id);
            if (!i || *i >= loads.size() || !cold(p, loads[*i], window_ms)) {
                return fmt::format(
                    "stream {}: the auto-scaler merged {} segments, and {} is not cold", name,
                    req.seal.size(), seg_name(id));
            }
        }
        return std::nullopt;
    }
    return fmt::format("stream {}: the auto-scaler asked to seal {} and create {} segments", name,
                       req.seal.size(), req.create.size());
}

const op_rec* first_unheld(const history& h, const std::function<bool(const writer_seq&)>& held) {
    for (const auto& op : h.ops()) {
        // A transaction's events must stay held once its commit was answered (before, an abort
        // deletes them rightly).
        bool counts = op.txn == 0 || h.txn(op.txn).committed_at != 0;
        if (op.out == outcome::ok && counts && !held({op.id.writer, op.id.seq})) {
            return &op;
        }
    }
    return nullptr;
}

bool vote_is_durable(const kv_map& durable, uint32_t group, uint64_t term, uint32_t candidate) {
    auto it = durable.find(storage::keys::raft(group, 'h'));
    if (it == durable.end()) {
        return false;
    }
    auto hard = storage::raft::raft_log::decode_hard_state(it->second);
    return hard && (hard->term > term || (hard->term == term && hard->vote == candidate));
}

bool entry_is_durable(const kv_map& durable, uint32_t group, uint64_t index) {
    auto snap = durable.find(storage::keys::raft(group, 's'));
    if (snap != durable.end()) {
        auto point = storage::raft::raft_log::decode_snapshot_point(snap->second);
        if (point && point->first >= index) {
            return true;
        }
    }
    return durable.count(storage::keys::raft_entry(group, index)) > 0;
}

std::optional<uint32_t> vote_history::record(uint32_t group,
                                             uint64_t term,
                                             uint32_t voter,
                                             uint32_t candidate) {
    auto [it, fresh] = votes_.emplace(std::make_tuple(group, term, voter), candidate);
    if (!fresh && it->second != candidate) {
        return it->second;
    }
    return std::nullopt;
}

finding check_group_read(const history& h,
                         group_view& g,
                         uint32_t object,
                         const read_rec& r,
                         int64_t after,
                         int64_t now,
                         int64_t asked_at) {
    if (auto o = g.overtaken.find(object); o != g.overtaken.end() && asked_at > o->second) {
        // A reader hands out nothing past 4/5 of its lease since its last answered report, and
        // its group gives its segments away only a whole lease after that report.
        return fmt::format(
            "group reader object {} handed out segment {} offset {} at {} ms or later, after "
            "another reader had begun to read again what it had delivered (at {} ms): a reader "
            "cut off from its group went on reading",
            object, r.segment_id, r.offset, asked_at / 1'000'000, o->second / 1'000'000);
    }
    auto where = std::make_pair(r.segment, r.offset);
    bool first = ++g.delivered[where] == 1;
    g.next[where] = after;
    auto it = g.spans.find(r.segment);
    if (it == g.spans.end()) {
        // The group reads from the head: its first read of a segment is the segment's first
        // event.
        if (r.offset != 0) {
            return fmt::format(
                "group reader object {} began segment {} at offset {}: the group skipped [0, {})",
                object, r.segment_id, r.offset, r.offset);
        }
        g.spans[r.segment] = group_view::span{object, r.offset, after};
    } else {
        auto& sp = it->second;
        if (r.offset > sp.end) {
            return fmt::format(
                "group reader object {} read segment {} at offset {} after object {} delivered "
                "up to {}: the group skipped [{}, {})",
                object, r.segment_id, r.offset, sp.object, sp.end, sp.end, r.offset);
        }
        if (sp.object == object) {
            if (r.offset != sp.end) {
                return fmt::format(
                    "group reader object {} read segment {} offset {} again (it had delivered "
                    "up to {})",
                    object, r.segment_id, r.offset, sp.end);
            }
            sp.end = after;
        } else {
            if (r.offset < sp.end) {
                g.overtaken.emplace(sp.object, now);
            }
            if (r.offset < sp.end && !g.lost.count(sp.object) && !g.suspects.count(sp.object)) {
                // Legitimate only if sp.object turns out lost (it learns so later): it was cut
                // off from its group, which gave its segments back at its last report.
                g.suspects[sp.object] = fmt::format(
                    "group reader object {} read segment {} from offset {} while object {}, "
                    "which had delivered it up to {}, was still a member (two readers on one "
                    "range)",
                    object, r.segment_id, r.offset, sp.object, sp.end);
            }
            sp = group_view::span{object, r.offset, after};
        }
    }
    if (!first) {
        return std::nullopt;
    }
    auto parsed = parse_payload(r.payload);
    if (!parsed) {
        return std::nullopt;  // check_read said so
    }
    auto index = h.find({parsed->writer, parsed->seq});
    if (index && h.op(*index).idempotent) {
        // Per key, the group hands out events in order across its readers and across scaling
        // (a successor only after its predecessors were read): an event delivered for the
        // first time never comes after a later one of its key.
        auto key = std::make_tuple(parsed->writer, parsed->incarnation, parsed->key);
        auto [m, inserted] = g.first_max.emplace(key, parsed->seq);
        if (!inserted) {
            if (m->second > parsed->seq) {
                return fmt::format(
                    "group reader object {} delivered writer={} key={} seq={} (segment {} "
                    "offset {}) after the group had delivered seq={}: per-key order broken "
                    "across the group's readers",
                    object, parsed->writer, parsed->key, parsed->seq, r.segment_id, r.offset,
                    m->second);
            }
            m->second = parsed->seq;
        }
    }
    return std::nullopt;
}

finding check_group_cut(const group_view& g,
                        uint64_t uid,
                        const stream_cut& cut,
                        const std::string& checkpoint) {
    std::vector<segment_range> ranges;
    for (const auto& seg : cut.segments) {
        ranges.push_back(seg.range);
    }
    if (auto bad = check_cover("checkpoint " + checkpoint, ranges)) {
        return bad;
    }
    for (const auto& seg : cut.segments) {
        segment_ref segment{uid, seg.range.id.value};
        int64_t at = 0;
        while (at < seg.offset) {
            auto it = g.next.find({segment, at});
            if (it == g.next.end()) {
                return fmt::format(
                    "checkpoint {} puts segment {} at offset {}, but the group had delivered it "
                    "only up to {}",
                    checkpoint, seg_name(seg.range.id), seg.offset, at);
            }
            at = it->second;
        }
        if (at != seg.offset) {
            return fmt::format("checkpoint {} puts segment {} at offset {}, inside an event",
                               checkpoint, seg_name(seg.range.id), seg.offset);
        }
    }
    return std::nullopt;
}

void group_object_lost(group_view& g, uint32_t object) {
    g.lost.insert(object);
    g.suspects.erase(object);
}

finding group_object_left(group_view& g, uint32_t object) {
    auto it = g.suspects.find(object);
    if (it != g.suspects.end() && !g.lost.count(object)) {
        return it->second + ", and it left the group gracefully";
    }
    return std::nullopt;
}

finding check_group_end(const group_view& g,
                        const std::set<std::pair<segment_ref, int64_t>>& stored,
                        const std::string& group) {
    if (!g.suspects.empty()) {
        return g.suspects.begin()->second + ", and it was never declared offline";
    }
    size_t missing = 0;
    std::string first;
    for (const auto& where : stored) {
        auto it = g.delivered.find(where);
        auto n = it == g.delivered.end() ? 0 : it->second;
        if (n == 0 && missing++ == 0) {
            first = fmt::format("offset {}", where.second);
        }
        if (n > 1 && g.lost.empty()) {
            return fmt::format(
                "group {} delivered an event {} times (offset {}) though none of its readers "
                "was lost",
                group, n, where.second);
        }
    }
    if (missing > 0) {
        return fmt::format("group {} never delivered {} of the audited events (first at {})", group,
                           missing, first);
    }
    return std::nullopt;
}

}  // namespace pravaha::sim
