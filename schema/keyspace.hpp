#pragma once

#include "schema/types.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <string_view>
#include <vector>

namespace pravaha {

/// Maps a routing key to [0,1): FNV-1a 64 over the key's UTF-8 bytes, then murmur3's fmix64,
/// then the top 53 bits as a fraction. Every client language must implement exactly this.
double routing_key_hash(std::string_view key);

/// Splits [0,1) into `count` equal ranges for segments numbered `first_number`.. in `epoch`.
/// The last range ends at exactly 1.0 and neighbouring ranges share their boundary exactly.
std::vector<segment_range> equal_ranges(uint32_t count, uint32_t epoch, uint32_t first_number);

/// Index of the range in `ranges` (disjoint, sorted, covering [0,1)) that holds `key`.
/// Precondition: ranges is non-empty and 0 <= key < 1.
size_t find_range(const std::vector<segment_range>& ranges, double key);

/// Whether two segments share keys.
inline bool overlaps(const segment_range& a, const segment_range& b) {
    return a.key_start < b.key_end && b.key_start < a.key_end;
}

/// Splits `r` into `parts` equal ranges (a hot segment's split): the first starts at exactly
/// `r.start`, the last ends at exactly `r.end`, neighbours share their boundary exactly.
/// invalid_argument: fewer than 2 parts, `r` not a non-empty slice of [0,1], or a part that
/// floating point cannot make non-empty.
caf::expected<std::vector<key_range>> split_range(key_range r, uint32_t parts);

/// The union of `ranges` (any order) when they are contiguous, as the merge of neighbouring
/// segments needs. invalid_argument: fewer than 2 ranges, an empty or overlapping one, or a gap
/// ("not adjacent: nothing covers [a, b)").
caf::expected<key_range> merge_ranges(std::vector<key_range> ranges);

/// Whether `create` replaces `sealed` exactly (Pravega's scale validation): neither empty nor
/// overlapping within itself, every range a non-empty slice of [0,1], and both covering the
/// same union, boundaries bit-exact. Returns invalid_argument saying what differs, or none.
caf::error check_cover(std::vector<key_range> sealed, std::vector<key_range> create);

/// Parses a segment id as `to_string(segment_id)` prints it ("EPOCH.NUMBER", decimal, each
/// within 32 bits). invalid_argument otherwise.
caf::expected<segment_id> parse_segment_id(std::string_view text);

/// A stream cut as one shell-safe token: "UID:E.N@OFFSET,E.N@OFFSET,..." in the cut's order
/// (sorted by key start).
std::string to_string(const stream_cut& cut);

/// Parses the token form of a cut; the ranges are left 0 (the controller fills them in when it
/// checks the cut against the stream's history). invalid_argument for anything else, a segment
/// named twice included.
caf::expected<stream_cut> parse_stream_cut(std::string_view text);

/// The segment container that owns a segment in a cluster of `container_count` containers:
/// murmur3's fmix64 over the stream uid and segment id. Persisted data depends on it: never
/// change the function.
uint32_t container_of(const segment_key& key, uint32_t container_count);

}  // namespace pravaha
