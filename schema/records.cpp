#include "schema/records.hpp"

#include "schema/errc.hpp"
#include "schema/records.capnp.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>

namespace pravaha {

namespace {

std::string to_bytes(capnp::MessageBuilder& msg) {
    auto words = capnp::messageToFlatArray(msg);
    auto bytes = words.asBytes();
    return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// Copies the bytes into word-aligned memory (RocksDB values are not aligned) and runs `fn` on the
// root. Any capnp exception (truncated, malformed, over the traversal limit) becomes an errc.
template <class Root, class Fn>
auto with_root(std::string_view bytes, const char* what, Fn fn)
    -> decltype(fn(std::declval<typename Root::Reader>())) {
    if (bytes.size() % sizeof(capnp::word) != 0 || bytes.empty()) {
        return caf::make_error(errc::malformed_message,
                               std::string(what) + " record has a bad size");
    }
    kj::Array<capnp::word> words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
    std::memcpy(words.begin(), bytes.data(), bytes.size());
    try {
        capnp::ReaderOptions opts;
        opts.traversalLimitInWords = words.size() * 2 + 1024;
        capnp::FlatArrayMessageReader reader(words, opts);
        return fn(reader.getRoot<Root>());
    } catch (const kj::Exception& e) {
        return caf::make_error(errc::malformed_message,
                               std::string(what) + " record: " + e.getDescription().cStr());
    }
}

}  // namespace

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
                if (kind > static_cast<uint8_t>(container_op::kind::setup_writer)) {
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
    auto segs = b.initSegments(static_cast<unsigned>(rec.segments.size()));
    for (unsigned i = 0; i < rec.segments.size(); ++i) {
        segs[i].setSegmentId(rec.segments[i].id.value);
        segs[i].setKeyStart(rec.segments[i].key_start);
        segs[i].setKeyEnd(rec.segments[i].key_end);
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
            for (auto s : r.getSegments()) {
                rec.segments.push_back(
                    {segment_id{s.getSegmentId()}, s.getKeyStart(), s.getKeyEnd()});
            }
            return rec;
        });
}

std::string encode_segment_meta(const segment_meta& meta) {
    capnp::MallocMessageBuilder msg;
    auto b = msg.initRoot<schema::SegmentMeta>();
    b.setLength(meta.length);
    b.setSealed(meta.sealed);
    return to_bytes(msg);
}

caf::expected<segment_meta> decode_segment_meta(std::string_view bytes) {
    return with_root<schema::SegmentMeta>(
        bytes, "segment", [](schema::SegmentMeta::Reader r) -> caf::expected<segment_meta> {
            if (r.getLength() < 0) {
                return caf::make_error(errc::malformed_message, "segment record: negative length");
            }
            return segment_meta{r.getLength(), r.getSealed()};
        });
}

}  // namespace pravaha
