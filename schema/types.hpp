#pragma once

#include "schema/ids.hpp"

#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pravaha {

/// Largest event payload accepted anywhere (Pravega's limit).
constexpr uint32_t event_bytes_max = 8 * 1024 * 1024;
/// Size of the frame header in front of every event inside a segment: 4-byte type, 4-byte length.
constexpr uint32_t event_header_bytes = 8;
/// Largest append block: one maximal event plus its header.
constexpr uint32_t append_block_bytes_max = event_bytes_max + event_header_bytes;
/// Largest number of segments a stream may be created with.
constexpr uint32_t stream_segments_max = 1024;

enum class stream_state : uint8_t { active = 0, sealed = 1 };
const char* to_string(stream_state s);

/// How a stream scales (Pravega's ScalingPolicy): a fixed number of segments, or by the rate of
/// events or KiB per second each segment should carry.
enum class scale_type : uint8_t { fixed = 0, by_events = 1, by_kbytes = 2 };

struct scaling_policy {
    scale_type type = scale_type::fixed;
    uint32_t target = 0;        ///< events/s or KiB/s per segment: > 0, and 0 when fixed
    uint32_t factor = 2;        ///< a hot segment splits into at most this many: >= 2
    uint32_t min_segments = 1;  ///< never merged below: 1..stream_segments_max
    bool operator==(const scaling_policy&) const = default;
};

/// A half-open slice [start, end) of the routing-key space [0,1).
struct key_range {
    double start = 0;
    double end = 0;
    bool operator==(const key_range&) const = default;
};

/// The slice [key_start, key_end) of the routing-key space owned by a segment.
struct segment_range {
    segment_id id;
    double key_start = 0;
    double key_end = 0;
    bool operator==(const segment_range&) const = default;
};

/// A scale as its caller asks for it: seal these segments of the current epoch and replace them by
/// segments over these ranges, which must cover exactly the sealed ones.
struct scale_request {
    /// The epoch the caller saw. Only used to recognise the retry of a scale that already
    /// happened (its answer lost); a request whose segments are all current proceeds anyway.
    uint32_t expected_epoch = 0;
    std::vector<segment_id> seal;
    std::vector<key_range> create;
    bool automatic = false;  ///< from a scaling-policy actor (refused on a fixed policy)
    bool operator==(const scale_request&) const = default;
};

/// The durable intent of a running scale (Pravega's EpochTransitionRecord): from `from_epoch`
/// to `from_epoch + 1`. Written with the new epoch's history record in one command; the actions
/// (create successors, seal predecessors) are then repeated until `scale_done` commits.
///
/// Or of a rolling transaction (`rolling`, ARCHITECTURE.md "Rolling transactions"): epoch
/// `from_epoch + 1` duplicates the ranges of the transactions' epoch and receives their merges,
/// epoch `from_epoch + 2` duplicates the current ranges and becomes current (`txn_rolled`).
struct scale_transition {
    uint32_t from_epoch = 0;
    std::vector<segment_id> seal;  ///< the current epoch's segments it seals
    /// The segments it creates: ids make(from_epoch + 1, ...), and for a roll then those of
    /// make(from_epoch + 2, ...).
    std::vector<segment_range> create;
    bool automatic = false;
    int64_t started_ms = 0;
    bool rolling = false;        ///< a rolling transaction, not a scale
    std::vector<uint64_t> txns;  ///< rolling: the transactions it commits, in commit order
    bool operator==(const scale_transition&) const = default;
};

/// Controller metadata of one stream; persisted (capnp StreamRecord) and sent to clients.
struct stream_record {
    std::string scope;
    std::string name;
    stream_uid uid;
    stream_state state = stream_state::active;
    /// The current epoch and its segments: what writers route by. Moves only when a scale is
    /// done (its predecessors sealed), never while it runs.
    uint32_t epoch = 0;
    std::vector<segment_range> segments;  ///< active segments of the current epoch
    int64_t created_ms = 0;
    scaling_policy policy;
    uint32_t next_number = 0;     ///< the number the next created segment gets
    bool has_transition = false;  ///< a scale runs (`transition` holds it)
    scale_transition transition;
};

/// One segment of one epoch in a stream's history.
struct history_segment {
    segment_range range;
    int64_t sealed_length = -1;  ///< -1 while the segment is active
    /// The segments it replaced, when it was created in this epoch by a scale.
    std::vector<segment_id> predecessors;
    /// Made by a roll: it repeats the range and the container of `origin` (the first segment of
    /// its chain of duplicates), so a transaction segment of `origin` merges into it. Set in the
    /// epoch that made it only (like `predecessors`; an epoch that carries it over does not).
    bool duplicate = false;
    segment_id origin{};
    bool operator==(const history_segment&) const = default;
};

/// The segment whose range and container `s` repeats: its origin when it is a duplicate.
inline segment_id root_of(const history_segment& s) {
    return s.duplicate ? s.origin : s.range.id;
}

/// One epoch of a stream: its segments (sorted by key start, covering [0,1) exactly) and when it
/// began.
struct epoch_info {
    uint32_t epoch = 0;
    int64_t created_ms = 0;
    std::vector<history_segment> segments;
    bool rolled = false;  ///< made by a rolling transaction, not by a scale
    bool operator==(const epoch_info&) const = default;
};

/// What a scale created: the new epoch and its new segments.
struct scale_result {
    uint32_t epoch = 0;
    std::vector<segment_range> created;
    bool operator==(const scale_result&) const = default;
};

/// A segment that replaced another, with every segment it replaced.
struct successor {
    segment_range range;
    std::vector<segment_id> predecessors;
    bool operator==(const successor&) const = default;
};

/// The answer to "what follows this segment".
struct segment_successors {
    bool sealed = false;         ///< false: still active, or its scale runs (no successors yet)
    bool stream_sealed = false;  ///< sealed with its stream: nothing follows it
    std::vector<successor> list;
};

/// One segment of a stream cut and the offset the cut is at.
struct cut_segment {
    segment_range range;
    int64_t offset = 0;
    bool operator==(const cut_segment&) const = default;
};

/// A stream cut (Pravega section 1.6): segments covering the whole key space [0,1) exactly, each at
/// an offset; sorted by key start. Text form: schema/keyspace.hpp.
struct stream_cut {
    stream_uid stream;
    std::vector<cut_segment> segments;
    bool operator==(const stream_cut&) const = default;
};

/// Live status of a segment as seen by its container.
struct segment_status {
    segment_id id;
    double key_start = 0;
    double key_end = 0;
    int64_t length = 0;
    bool sealed = false;
    /// The segments it replaced, when a scale created it (filled by the controller).
    std::vector<segment_id> predecessors;
};

/// A segment's measured load (storage/scaling.hpp): events per second and KiB per second over
/// the four rate windows, shortest first, and how long it has been measured.
struct segment_load {
    segment_id id;
    std::vector<double> events_per_s;
    std::vector<double> kbytes_per_s;
    int64_t age_ms = 0;
};

/// Answer of `stream info`: the record plus each segment's status.
struct stream_info {
    stream_record record;
    std::vector<segment_status> segments;
};

/// A block of consecutive events from one writer to one segment. Event numbers
/// first..last are consecutive and `data` holds exactly `event_count` framed events.
struct append_block {
    segment_key key;
    writer_id writer;
    int64_t first_event_number = 0;
    int64_t last_event_number = 0;
    uint32_t event_count = 0;
    /// The writer's session on this segment (from setup_writer_atom); 0 = no session.
    uint32_t writer_epoch = 0;
    /// The number the client gave the block's last event (RPC writers number their events
    /// themselves, across segments), or no_event_number. The segment keeps the highest per writer,
    /// so that a writer reopened after a lost connection can tell which of its events are stored.
    int64_t client_last = no_event_number;
    std::string data;
};

/// Acknowledgement of a durable append block. `appended_events` < the block's count when some
/// events were duplicates of earlier appends (retries) and therefore not stored again.
struct append_ack {
    segment_key key;
    writer_id writer;
    int64_t last_event_number = 0;
    int64_t end_offset = 0;
    uint32_t appended_events = 0;
    /// The answer to setup_writer_atom: the new session's epoch (last_event_number is then the
    /// last event stored for this writer id on the segment, or no_event_number).
    uint32_t writer_epoch = 0;
    /// With setup_writer_atom: the highest client number stored for this writer id on the segment
    /// (see append_block::client_last), or no_event_number.
    int64_t client_last = no_event_number;
    /// With setup_writer_atom: the segment is sealed. No session opened (writer_epoch is the
    /// current one); the answer still tells what is stored under the id, so that a writer
    /// reopened after a lost connection acknowledges its stored events instead of failing them.
    bool sealed = false;
};

struct read_request {
    segment_key key;
    int64_t offset = 0;
    uint32_t max_bytes = 0;
    uint32_t wait_ms = 0;  ///< 0: answer at once; else wait up to this long for data at the tail
};

/// Whole framed events starting at `offset`; `next_offset` = offset + data.size().
struct read_result {
    segment_key key;
    int64_t offset = 0;
    std::string data;
    int64_t next_offset = 0;
    int64_t length = 0;   ///< committed length of the segment when the read was served
    bool sealed = false;  ///< the segment is sealed (no data will ever follow `length`)
};

// -- event framing ---------------------------------------------------------------------------

/// Appends `payload` framed with the 8-byte event header to `out`.
void frame_event(std::string& out, std::string_view payload);

/// Parses the event starting at `pos` in `data`. Returns its payload and advances `pos`, or
/// nullopt when `data` holds no complete, well-formed event at `pos`.
std::optional<std::string_view> next_event(std::string_view data, size_t& pos);

// -- inspectors (CAF serialization for messages) ------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scaling_policy& x) {
    return f(caf::meta::type_name("pravaha.scaling_policy"), x.type, x.target, x.factor,
             x.min_segments);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, key_range& x) {
    return f(caf::meta::type_name("pravaha.key_range"), x.start, x.end);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, segment_range& x) {
    return f(caf::meta::type_name("pravaha.segment_range"), x.id, x.key_start, x.key_end);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scale_request& x) {
    return f(caf::meta::type_name("pravaha.scale_request"), x.expected_epoch, x.seal, x.create,
             x.automatic);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scale_transition& x) {
    return f(caf::meta::type_name("pravaha.scale_transition"), x.from_epoch, x.seal, x.create,
             x.automatic, x.started_ms, x.rolling, x.txns);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_record& x) {
    return f(caf::meta::type_name("pravaha.stream_record"), x.scope, x.name, x.uid, x.state,
             x.epoch, x.segments, x.created_ms, x.policy, x.next_number, x.has_transition,
             x.transition);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, history_segment& x) {
    return f(caf::meta::type_name("pravaha.history_segment"), x.range, x.sealed_length,
             x.predecessors, x.duplicate, x.origin);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, epoch_info& x) {
    return f(caf::meta::type_name("pravaha.epoch_info"), x.epoch, x.created_ms, x.segments,
             x.rolled);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scale_result& x) {
    return f(caf::meta::type_name("pravaha.scale_result"), x.epoch, x.created);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, successor& x) {
    return f(caf::meta::type_name("pravaha.successor"), x.range, x.predecessors);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, segment_successors& x) {
    return f(caf::meta::type_name("pravaha.segment_successors"), x.sealed, x.stream_sealed, x.list);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cut_segment& x) {
    return f(caf::meta::type_name("pravaha.cut_segment"), x.range, x.offset);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_cut& x) {
    return f(caf::meta::type_name("pravaha.stream_cut"), x.stream, x.segments);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, segment_status& x) {
    return f(caf::meta::type_name("pravaha.segment_status"), x.id, x.key_start, x.key_end, x.length,
             x.sealed, x.predecessors);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, segment_load& x) {
    return f(caf::meta::type_name("pravaha.segment_load"), x.id, x.events_per_s, x.kbytes_per_s,
             x.age_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_info& x) {
    return f(caf::meta::type_name("pravaha.stream_info"), x.record, x.segments);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_block& x) {
    return f(caf::meta::type_name("pravaha.append_block"), x.key, x.writer, x.first_event_number,
             x.last_event_number, x.event_count, x.writer_epoch, x.client_last, x.data);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_ack& x) {
    return f(caf::meta::type_name("pravaha.append_ack"), x.key, x.writer, x.last_event_number,
             x.end_offset, x.appended_events, x.writer_epoch, x.client_last, x.sealed);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, read_request& x) {
    return f(caf::meta::type_name("pravaha.read_request"), x.key, x.offset, x.max_bytes, x.wait_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, read_result& x) {
    return f(caf::meta::type_name("pravaha.read_result"), x.key, x.offset, x.data, x.next_offset,
             x.length, x.sealed);
}

}  // namespace pravaha
