#pragma once

/// Part of module `schema`: the framed data protocol (ARCHITECTURE.md "The framed data path").
/// Appends and their answers travel as compact binary frames on a TCP connection of their own
/// (the node's `--data-port`), read and written without CAF's message serialisation, so that a
/// node's data thread hands each batch of frames to a container in one message and the container
/// writes the answers to the socket itself.
///
/// Every frame is `u32 length` (of what follows), `u8 type`, then the body; integers are
/// little-endian. The client's first frame is `hello` with the protocol version; the node answers
/// with its own `hello` or closes the connection. Then the client sends `append` frames, each with
/// a request number of its choice, and the node answers every one with `appended` or `refused`
/// carrying that number (in the order the container commits them, not necessarily the order
/// sent when they go to different containers).
///
///   hello     u32 version
///   append    u64 request, u64 stream uid, u64 segment id, u64 writer hi, u64 writer lo,
///             i64 first event number, i64 last event number, u32 event count, u32 writer epoch,
///             i64 client last, then the block's framed events (the rest of the frame)
///   appended  u64 request, i64 last event number, i64 end offset, u32 appended events
///   refused   u64 request, u8 errc code, u32 leader hint (not_leader), then the error's text

#include "schema/errc.hpp"
#include "schema/types.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace pravaha::frames {

constexpr uint32_t protocol_version = 1;

enum class frame_type : uint8_t { hello = 1, append = 2, appended = 3, refused = 4 };

/// The fixed part of an append's body (after its type byte).
constexpr uint32_t append_header_bytes = 72;
/// The length field's largest value: an append of the largest block.
constexpr uint32_t frame_bytes_max = 1 + append_header_bytes + append_block_bytes_max;
/// The length field itself.
constexpr uint32_t length_bytes = 4;

struct hello {
    uint32_t version = 0;
};

struct append {
    uint64_t request = 0;
    append_block block;
};

struct appended {
    uint64_t request = 0;
    int64_t last_event_number = 0;
    int64_t end_offset = 0;
    uint32_t appended_events = 0;
};

struct refused {
    uint64_t request = 0;
    errc code = errc::none;
    uint32_t leader = 0;  ///< with not_leader: the node believed to lead (0: unknown)
    std::string text;
};

using frame = std::variant<hello, append, appended, refused>;

/// Each appends one whole frame to `out`.
void encode_hello(std::string& out, uint32_t version);
void encode_append(std::string& out, uint64_t request, const append_block& b);
void encode_appended(std::string& out, uint64_t request, const append_ack& ack);
/// An error of another category than pravaha's goes as errc::unavailable with its rendering.
void encode_refused(std::string& out, uint64_t request, const caf::error& err);

/// Takes the first whole frame at the start of `in`: nullopt while `in` holds only part of one
/// (read more), else the frame, with `consumed` set to its size. Errors (errc::malformed_message,
/// the connection cannot go on): a length of 0 or above frame_bytes_max, an unknown type, a body
/// of the wrong size for its type, a refusal without a code. A refusal with a code this build
/// does not know (a newer node's) is taken as unavailable, its code in the text. An append's
/// numbers, count and events are checked by the container (its precheck), which refuses that
/// request alone.
caf::expected<std::optional<frame>> decode(std::string_view in, size_t& consumed);

/// The error a refusal carries, as the node made it (not_leader with its hint as context).
caf::error to_error(const refused& r);

}  // namespace pravaha::frames
