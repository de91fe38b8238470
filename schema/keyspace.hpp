#pragma once

#include "schema/types.hpp"

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

/// The segment container that owns a segment in a cluster of `container_count` containers:
/// murmur3's fmix64 over the stream uid and segment id. Persisted data depends on it: never
/// change the function.
uint32_t container_of(const segment_key& key, uint32_t container_count);

}  // namespace pravaha
