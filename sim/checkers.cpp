#include "sim/checkers.hpp"

#include "storage/storage.hpp"

#include <fmt/format.h>

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
        if (op.complete >= asked_at) {
            return std::nullopt;
        }
        if (!view.observed.count({op.id.writer, op.id.seq})) {
            return fmt::format(
                "client {} was told it had read everything (asked at {:.3f}s) but never read "
                "acknowledged event writer={} seq={} (acknowledged at {:.3f}s): a read answered "
                "from a state that lags what was committed",
                reader, h.seconds(asked_at), op.id.writer, op.id.seq, h.seconds(op.complete));
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
        if (op.out == outcome::ok && n == 0) {
            return fmt::format(
                "lost: acknowledged event writer={} seq={} is not in the stream ({}; acknowledged "
                "at {:.3f}s, sent {} times)",
                op.id.writer, op.id.seq, where(op), h.seconds(op.complete), op.sends);
        }
        if (op.idempotent && n > 1) {
            return fmt::format("duplicate: idempotent writer={} seq={} is stored {} times",
                               op.id.writer, op.id.seq, n);
        }
        if (op.out == outcome::fail && n > 0) {
            return fmt::format(
                "event writer={} seq={} failed but is stored (incarnation {}, sent {} times, "
                "failed at {:.3f}s)",
                op.id.writer, op.id.seq, op.id.incarnation, op.sends, h.seconds(op.complete));
        }
    }
    return std::nullopt;
}

const op_rec* first_unheld(const history& h, const std::function<bool(const writer_seq&)>& held) {
    for (const auto& op : h.ops()) {
        if (op.out == outcome::ok && !held({op.id.writer, op.id.seq})) {
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

}  // namespace pravaha::sim
