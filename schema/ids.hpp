#pragma once

#include <caf/meta/type_name.hpp>

#include <compare>
#include <cstdint>
#include <string>

namespace pravaha {

/// A segment id within one stream: Pravega's `epoch << 32 | number`, where `epoch` is the epoch in
/// which the segment was created and `number` is never reused within the stream.
struct segment_id {
    uint64_t value = 0;

    static constexpr segment_id make(uint32_t epoch, uint32_t number) {
        return segment_id{(uint64_t{epoch} << 32) | number};
    }
    constexpr uint32_t epoch() const { return static_cast<uint32_t>(value >> 32); }
    constexpr uint32_t number() const { return static_cast<uint32_t>(value & 0xffffffffu); }
    friend constexpr auto operator<=>(const segment_id&, const segment_id&) = default;
};

/// Node-wide unique id of a stream incarnation. Assigned by the controller when the stream is
/// created and never reused, so a deleted and re-created stream can never see old data.
struct stream_uid {
    uint64_t value = 0;
    friend constexpr auto operator<=>(const stream_uid&, const stream_uid&) = default;
};

/// The address of a segment inside a segment container: stream incarnation plus segment id.
struct segment_key {
    stream_uid stream;
    segment_id segment;
    friend constexpr auto operator<=>(const segment_key&, const segment_key&) = default;
};

/// A 128-bit writer id, chosen at random by each writer; dedup state is kept per writer id.
struct writer_id {
    uint64_t hi = 0;
    uint64_t lo = 0;
    friend constexpr auto operator<=>(const writer_id&, const writer_id&) = default;
};

/// Event numbers are per (writer, segment) and strictly increasing; no_event_number = none yet.
constexpr int64_t no_event_number = -1;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, segment_id& x) {
    return f(caf::meta::type_name("pravaha.segment_id"), x.value);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_uid& x) {
    return f(caf::meta::type_name("pravaha.stream_uid"), x.value);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, segment_key& x) {
    return f(caf::meta::type_name("pravaha.segment_key"), x.stream, x.segment);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, writer_id& x) {
    return f(caf::meta::type_name("pravaha.writer_id"), x.hi, x.lo);
}

/// "e.n" form used in logs and CLI output, e.g. "0.3".
std::string to_string(segment_id id);
std::string to_string(const segment_key& key);
std::string to_string(const writer_id& id);

struct segment_key_hash {
    size_t operator()(const segment_key& k) const noexcept {
        return static_cast<size_t>(k.stream.value * 0x9e3779b97f4a7c15ULL ^ k.segment.value);
    }
};

}  // namespace pravaha
