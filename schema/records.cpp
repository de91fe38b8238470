#include "schema/records.hpp"

#include "schema/capnp_codec.hpp"
#include "schema/errc.hpp"

#include <cstring>

namespace pravaha {

namespace {

using namespace codec;

// -- the first (legacy) controller command format ---------------------------------------------

constexpr char versioned_command = static_cast<char>(0x80);

void put_u32(std::string& out, uint32_t v) {
    for (int i = 3; i >= 0; --i) {
        out.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
    }
}

uint64_t get_be(std::string_view in, size_t pos, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
        v = (v << 8) | static_cast<unsigned char>(in[pos + i]);
    }
    return v;
}

void put_text(std::string& out, const std::string& v) {
    put_u32(out, static_cast<uint32_t>(v.size()));
    out += v;
}

bool get_text(std::string_view in, size_t& pos, std::string& out) {
    if (pos + 4 > in.size()) {
        return false;
    }
    auto n = get_be(in, pos, 4);
    pos += 4;
    if (n > in.size() - pos) {
        return false;
    }
    out = std::string(in.substr(pos, n));
    pos += n;
    return true;
}

bool fits_legacy(const controller_command& c) {
    using kind = controller_command::kind;
    // A fixed policy's segment count is the command's `segments`: nothing else to carry.
    return c.type >= kind::create_scope && c.type <= kind::delete_stream &&
           c.policy.type == scale_type::fixed;
}

}  // namespace

std::string encode_controller_command(const controller_command& c) {
    if (fits_legacy(c)) {
        std::string out;
        out.push_back(static_cast<char>(c.type));
        put_text(out, c.scope);
        put_text(out, c.name);
        put_u32(out, c.segments);
        put_u32(out, static_cast<uint32_t>(static_cast<uint64_t>(c.now_ms) >> 32));
        put_u32(out, static_cast<uint32_t>(static_cast<uint64_t>(c.now_ms)));
        return out;
    }
    capnp::MallocMessageBuilder msg;
    auto b = msg.initRoot<schema::ControllerCommand>();
    b.setKind(static_cast<uint8_t>(c.type));
    b.setScope(c.scope);
    b.setName(c.name);
    b.setSegments(c.segments);
    b.setNowMs(c.now_ms);
    set_policy(b.initPolicy(), c.policy);
    set_ids(b.initSeal(static_cast<unsigned>(c.scale.seal.size())), c.scale.seal);
    auto create = b.initCreate(static_cast<unsigned>(c.scale.create.size()));
    for (unsigned i = 0; i < c.scale.create.size(); ++i) {
        create[i].setStart(c.scale.create[i].start);
        create[i].setEnd(c.scale.create[i].end);
    }
    b.setExpectedEpoch(c.scale.expected_epoch);
    b.setAutomatic(c.scale.automatic);
    b.setTargetEpoch(c.target_epoch);
    set_lengths(b.initSealedLengths(static_cast<unsigned>(c.sealed_lengths.size())),
                c.sealed_lengths);
    set_group_config(b.initGroup(), c.group);
    set_group_sync(b.initSync(), c.sync);
    b.setCheckpoint(c.checkpoint);
    b.setSilent(c.silent);
    set_cuts(b.initCuts(static_cast<unsigned>(c.cuts.size())), c.cuts);
    b.setGeneration(c.generation);
    b.setTxn(c.txn);
    b.setWriterHi(c.writer.hi);
    b.setWriterLo(c.writer.lo);
    b.setLeaseMs(c.lease_ms);
    b.setReason(c.reason);
    return versioned_command + to_bytes(msg);
}

caf::expected<controller_command> decode_controller_command(std::string_view bytes) {
    using kind = controller_command::kind;
    auto bad = caf::make_error(errc::malformed_message, "malformed controller command");
    if (bytes.empty()) {
        return bad;
    }
    // The first byte tells the format: a legacy kind (1..5) or the versioned marker. A capnp
    // message is never taken for legacy bytes: it always follows the marker.
    if (bytes[0] == versioned_command) {
        return with_root<schema::ControllerCommand>(
            bytes.substr(1), "controller command",
            [&](schema::ControllerCommand::Reader r) -> caf::expected<controller_command> {
                if (r.getKind() < static_cast<uint8_t>(kind::create_scope) ||
                    r.getKind() > static_cast<uint8_t>(kind::txn_rolled)) {
                    return caf::make_error(errc::malformed_message,
                                           "controller command: unknown kind");
                }
                auto policy = get_policy(r.getPolicy());
                if (!policy) {
                    return std::move(policy.error());
                }
                controller_command c;
                c.type = static_cast<kind>(r.getKind());
                c.scope = r.getScope().cStr();
                c.name = r.getName().cStr();
                c.segments = r.getSegments();
                c.now_ms = r.getNowMs();
                c.policy = *policy;
                c.scale.seal = get_ids(r.getSeal());
                for (auto k : r.getCreate()) {
                    c.scale.create.push_back({k.getStart(), k.getEnd()});
                }
                c.scale.expected_epoch = r.getExpectedEpoch();
                c.scale.automatic = r.getAutomatic();
                c.target_epoch = r.getTargetEpoch();
                c.sealed_lengths = get_lengths(r.getSealedLengths());
                c.group = get_group_config(r.getGroup());
                c.sync = get_group_sync(r.getSync());
                c.checkpoint = r.getCheckpoint().cStr();
                c.silent = r.getSilent();
                c.cuts = get_cuts(r.getCuts());
                c.generation = r.getGeneration();
                c.txn = r.getTxn();
                c.writer = writer_id{r.getWriterHi(), r.getWriterLo()};
                c.lease_ms = r.getLeaseMs();
                c.reason = r.getReason().cStr();
                return c;
            });
    }
    if (bytes[0] < static_cast<char>(kind::create_scope) ||
        bytes[0] > static_cast<char>(kind::delete_stream)) {
        return bad;
    }
    controller_command c;
    c.type = static_cast<kind>(bytes[0]);
    size_t pos = 1;
    if (!get_text(bytes, pos, c.scope) || !get_text(bytes, pos, c.name) ||
        pos + 12 != bytes.size()) {
        return bad;
    }
    c.segments = static_cast<uint32_t>(get_be(bytes, pos, 4));
    c.now_ms = static_cast<int64_t>(get_be(bytes, pos + 4, 8));
    return c;
}

std::string encode_epoch_record(const epoch_record& rec) {
    capnp::MallocMessageBuilder msg;
    auto b = msg.initRoot<schema::EpochRecord>();
    b.setEpoch(rec.epoch.epoch);
    b.setCreatedMs(rec.epoch.created_ms);
    auto segs = b.initSegments(static_cast<unsigned>(rec.epoch.segments.size()));
    for (unsigned i = 0; i < rec.epoch.segments.size(); ++i) {
        const auto& s = rec.epoch.segments[i];
        segs[i].setSegmentId(s.range.id.value);
        segs[i].setKeyStart(s.range.key_start);
        segs[i].setKeyEnd(s.range.key_end);
        set_ids(segs[i].initPredecessors(static_cast<unsigned>(s.predecessors.size())),
                s.predecessors);
        segs[i].setDuplicate(s.duplicate);
        segs[i].setOrigin(s.origin.value);
    }
    set_lengths(b.initSealed(static_cast<unsigned>(rec.sealed.size())), rec.sealed);
    b.setRolled(rec.epoch.rolled);
    return to_bytes(msg);
}

caf::expected<epoch_record> decode_epoch_record(std::string_view bytes) {
    return with_root<schema::EpochRecord>(
        bytes, "epoch", [](schema::EpochRecord::Reader r) -> caf::expected<epoch_record> {
            epoch_record rec;
            rec.epoch.epoch = r.getEpoch();
            rec.epoch.created_ms = r.getCreatedMs();
            for (auto s : r.getSegments()) {
                history_segment h;
                h.range = {segment_id{s.getSegmentId()}, s.getKeyStart(), s.getKeyEnd()};
                h.predecessors = get_ids(s.getPredecessors());
                h.duplicate = s.getDuplicate();
                h.origin = segment_id{s.getOrigin()};
                rec.epoch.segments.push_back(std::move(h));
            }
            rec.sealed = get_lengths(r.getSealed());
            rec.epoch.rolled = r.getRolled();
            return rec;
        });
}

std::string encode_log_entry(const std::vector<container_op>& ops) {
    capnp::MallocMessageBuilder msg;
    auto entry = msg.initRoot<schema::LogEntry>();
    auto list = entry.initOps(static_cast<unsigned>(ops.size()));
    for (unsigned i = 0; i < ops.size(); ++i) {
        const auto& op = ops[i];
        auto b = list[i];
        b.setKind(static_cast<schema::ContainerOp::Kind>(op.type));
        b.setStreamUid(op.key.stream.value);
        b.setSegmentId(op.key.segment.value);
        b.setWriterHi(op.writer.hi);
        b.setWriterLo(op.writer.lo);
        b.setFirstEventNumber(op.first_event_number);
        b.setLastEventNumber(op.last_event_number);
        b.setEventCount(op.event_count);
        b.setWriterEpoch(op.writer_epoch);
        b.setClientLast(op.client_last);
        b.setSourceStreamUid(op.source.stream.value);
        b.setSourceSegmentId(op.source.segment.value);
        b.setLimit(op.limit);
        if (!op.data.empty()) {
            b.setPayload(
                kj::arrayPtr(reinterpret_cast<const kj::byte*>(op.data.data()), op.data.size()));
        }
    }
    return to_bytes(msg);
}

caf::expected<std::vector<container_op>> decode_log_entry(std::string_view bytes) {
    return with_root<schema::LogEntry>(
        bytes, "log entry",
        [](schema::LogEntry::Reader r) -> caf::expected<std::vector<container_op>> {
            std::vector<container_op> ops;
            ops.reserve(r.getOps().size());
            for (auto o : r.getOps()) {
                auto kind = static_cast<uint8_t>(o.getKind());
                if (kind > static_cast<uint8_t>(container_op::kind::merge_segment)) {
                    return caf::make_error(errc::malformed_message, "log entry: unknown op kind");
                }
                container_op op;
                op.type = static_cast<container_op::kind>(kind);
                op.key = segment_key{stream_uid{o.getStreamUid()}, segment_id{o.getSegmentId()}};
                op.writer = writer_id{o.getWriterHi(), o.getWriterLo()};
                op.first_event_number = o.getFirstEventNumber();
                op.last_event_number = o.getLastEventNumber();
                op.event_count = o.getEventCount();
                op.writer_epoch = o.getWriterEpoch();
                op.client_last = o.getClientLast();
                op.source = segment_key{stream_uid{o.getSourceStreamUid()},
                                        segment_id{o.getSourceSegmentId()}};
                op.limit = o.getLimit();
                if (op.limit < 0) {
                    return caf::make_error(errc::malformed_message, "log entry: negative limit");
                }
                auto p = o.getPayload();
                op.data.assign(reinterpret_cast<const char*>(p.begin()), p.size());
                ops.push_back(std::move(op));
            }
            return ops;
        });
}

std::string encode_stream_record(const stream_record& rec) {
    capnp::MallocMessageBuilder msg;
    auto b = msg.initRoot<schema::StreamRecord>();
    b.setScope(rec.scope);
    b.setName(rec.name);
    b.setUid(rec.uid.value);
    b.setState(static_cast<uint8_t>(rec.state));
    b.setEpoch(rec.epoch);
    b.setCreatedMs(rec.created_ms);
    set_ranges(b.initSegments(static_cast<unsigned>(rec.segments.size())), rec.segments);
    set_policy(b.initPolicy(), rec.policy);
    b.setNextNumber(rec.next_number);
    b.setHasTransition(rec.has_transition);
    if (rec.has_transition) {
        auto t = b.initTransition();
        t.setFromEpoch(rec.transition.from_epoch);
        set_ids(t.initSeal(static_cast<unsigned>(rec.transition.seal.size())), rec.transition.seal);
        set_ranges(t.initCreate(static_cast<unsigned>(rec.transition.create.size())),
                   rec.transition.create);
        t.setAutomatic(rec.transition.automatic);
        t.setStartedMs(rec.transition.started_ms);
        t.setRolling(rec.transition.rolling);
        auto txns = t.initTxns(static_cast<unsigned>(rec.transition.txns.size()));
        for (unsigned i = 0; i < rec.transition.txns.size(); ++i) {
            txns.set(i, rec.transition.txns[i]);
        }
    }
    return to_bytes(msg);
}

caf::expected<stream_record> decode_stream_record(std::string_view bytes) {
    return with_root<schema::StreamRecord>(
        bytes, "stream", [](schema::StreamRecord::Reader r) -> caf::expected<stream_record> {
            stream_record rec;
            rec.scope = r.getScope().cStr();
            rec.name = r.getName().cStr();
            rec.uid = stream_uid{r.getUid()};
            if (r.getState() > static_cast<uint8_t>(stream_state::sealed)) {
                return caf::make_error(errc::malformed_message, "stream record: bad state");
            }
            rec.state = static_cast<stream_state>(r.getState());
            rec.epoch = r.getEpoch();
            rec.created_ms = r.getCreatedMs();
            rec.segments = get_ranges(r.getSegments());
            if (r.hasPolicy()) {
                auto policy = get_policy(r.getPolicy());
                if (!policy) {
                    return std::move(policy.error());
                }
                rec.policy = *policy;
            }
            rec.next_number = r.getNextNumber();
            rec.has_transition = r.getHasTransition();
            if (rec.has_transition) {
                auto t = r.getTransition();
                rec.transition.from_epoch = t.getFromEpoch();
                rec.transition.seal = get_ids(t.getSeal());
                rec.transition.create = get_ranges(t.getCreate());
                rec.transition.automatic = t.getAutomatic();
                rec.transition.started_ms = t.getStartedMs();
                rec.transition.rolling = t.getRolling();
                for (auto id : t.getTxns()) {
                    rec.transition.txns.push_back(id);
                }
            }
            return rec;
        });
}

std::string encode_segment_meta(const segment_meta& meta) {
    capnp::MallocMessageBuilder msg;
    auto b = msg.initRoot<schema::SegmentMeta>();
    b.setLength(meta.length);
    b.setSealed(meta.sealed);
    b.setLimit(meta.limit);
    b.setMerged(meta.merged);
    b.setMergedIntoUid(meta.merged_into.stream.value);
    b.setMergedIntoSegment(meta.merged_into.segment.value);
    b.setMergedAt(meta.merged_at);
    return to_bytes(msg);
}

caf::expected<segment_meta> decode_segment_meta(std::string_view bytes) {
    return with_root<schema::SegmentMeta>(
        bytes, "segment", [](schema::SegmentMeta::Reader r) -> caf::expected<segment_meta> {
            if (r.getLength() < 0 || r.getLimit() < 0 || r.getMergedAt() < 0) {
                return caf::make_error(errc::malformed_message,
                                       "segment record: negative length, limit or offset");
            }
            segment_meta m;
            m.length = r.getLength();
            m.sealed = r.getSealed();
            m.limit = r.getLimit();
            m.merged = r.getMerged();
            m.merged_into =
                segment_key{stream_uid{r.getMergedIntoUid()}, segment_id{r.getMergedIntoSegment()}};
            m.merged_at = r.getMergedAt();
            return m;
        });
}

}  // namespace pravaha
