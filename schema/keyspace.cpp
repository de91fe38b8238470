#include "schema/keyspace.hpp"

#include <algorithm>
#include <cstdint>

namespace pravaha {

double routing_key_hash(std::string_view key) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : key) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return static_cast<double>(h >> 11) / static_cast<double>(uint64_t{1} << 53);
}

std::vector<segment_range> equal_ranges(uint32_t count, uint32_t epoch, uint32_t first_number) {
    std::vector<segment_range> out;
    out.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
        segment_range r;
        r.id = segment_id::make(epoch, first_number + i);
        r.key_start = static_cast<double>(i) / count;
        r.key_end = (i + 1 == count) ? 1.0 : static_cast<double>(i + 1) / count;
        out.push_back(r);
    }
    return out;
}

size_t find_range(const std::vector<segment_range>& ranges, double key) {
    // First range whose end is above the key (Pravega's ceilingEntry on upper bounds).
    auto it = std::upper_bound(ranges.begin(), ranges.end(), key,
                               [](double k, const segment_range& r) { return k < r.key_end; });
    if (it == ranges.end()) {
        return ranges.size() - 1;
    }
    return static_cast<size_t>(it - ranges.begin());
}

uint32_t container_of(const segment_key& key, uint32_t container_count) {
    if (container_count <= 1) {
        return 0;
    }
    uint64_t h = key.stream.value * 0x9e3779b97f4a7c15ULL ^ key.segment.value;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return static_cast<uint32_t>(h % container_count);
}

}  // namespace pravaha
