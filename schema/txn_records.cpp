// Transaction records (capnp TxnRecord, key Mn): their codec.

#include "schema/capnp_codec.hpp"
#include "schema/records.hpp"

#include <fmt/format.h>

namespace pravaha {

using codec::with_root;

const char* to_string(txn_state s) {
    switch (s) {
        case txn_state::open:
            return "open";
        case txn_state::committing:
            return "committing";
        case txn_state::committed:
            return "committed";
        case txn_state::aborting:
            return "aborting";
        case txn_state::aborted:
            return "aborted";
    }
    return "unknown";
}

std::string txn_id_text(uint64_t id) {
    return fmt::format("{:016x}", id);
}

bool parse_txn_id(std::string_view text, uint64_t& id) {
    if (text.empty() || text.size() > 16) {
        return false;
    }
    uint64_t v = 0;
    for (char c : text) {
        int d = -1;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            d = c - 'A' + 10;
        }
        if (d < 0) {
            return false;
        }
        v = v * 16 + static_cast<uint64_t>(d);
    }
    id = v;
    return true;
}

std::string encode_txn_record(const txn_record& rec) {
    capnp::MallocMessageBuilder msg;
    auto b = msg.initRoot<schema::TxnRecord>();
    b.setId(rec.id);
    b.setScope(rec.scope);
    b.setStream(rec.stream);
    b.setUid(rec.uid.value);
    b.setEpoch(rec.epoch);
    b.setState(static_cast<uint8_t>(rec.state));
    b.setWriterHi(rec.writer.hi);
    b.setWriterLo(rec.writer.lo);
    b.setBeganMs(rec.began_ms);
    b.setLeaseMs(rec.lease_ms);
    b.setDeadlineMs(rec.deadline_ms);
    b.setCompletedMs(rec.completed_ms);
    b.setCommitOrder(rec.commit_order);
    b.setReason(rec.reason);
    b.setMergedEpoch(rec.merged_epoch);
    auto segs = b.initSegments(static_cast<unsigned>(rec.segments.size()));
    for (unsigned i = 0; i < rec.segments.size(); ++i) {
        auto p = segs[i].initParent();
        p.setSegmentId(rec.segments[i].range.id.value);
        p.setKeyStart(rec.segments[i].range.key_start);
        p.setKeyEnd(rec.segments[i].range.key_end);
        segs[i].setStreamUid(rec.segments[i].key.stream.value);
    }
    return codec::to_bytes(msg);
}

caf::expected<txn_record> decode_txn_record(std::string_view bytes) {
    return with_root<schema::TxnRecord>(
        bytes, "transaction", [](schema::TxnRecord::Reader r) -> caf::expected<txn_record> {
            if (r.getState() > static_cast<uint8_t>(txn_state::aborted)) {
                return caf::make_error(errc::malformed_message, "transaction record: bad state");
            }
            txn_record rec;
            rec.id = r.getId();
            rec.scope = r.getScope().cStr();
            rec.stream = r.getStream().cStr();
            rec.uid = stream_uid{r.getUid()};
            rec.epoch = r.getEpoch();
            rec.state = static_cast<txn_state>(r.getState());
            rec.writer = writer_id{r.getWriterHi(), r.getWriterLo()};
            rec.began_ms = r.getBeganMs();
            rec.lease_ms = r.getLeaseMs();
            rec.deadline_ms = r.getDeadlineMs();
            rec.completed_ms = r.getCompletedMs();
            rec.commit_order = r.getCommitOrder();
            rec.reason = r.getReason().cStr();
            rec.merged_epoch = r.getMergedEpoch();
            for (auto s : r.getSegments()) {
                auto p = s.getParent();
                segment_range range{segment_id{p.getSegmentId()}, p.getKeyStart(), p.getKeyEnd()};
                rec.segments.push_back(
                    {range, segment_key{stream_uid{s.getStreamUid()}, range.id}});
            }
            return rec;
        });
}

}  // namespace pravaha
