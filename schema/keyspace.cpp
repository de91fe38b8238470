#include "schema/keyspace.hpp"

#include "schema/errc.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
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

namespace {

bool valid_slice(const key_range& r) {
    return r.start >= 0.0 && r.end <= 1.0 && r.start < r.end;
}

caf::error bad(std::string what) {
    return caf::make_error(errc::invalid_argument, std::move(what));
}

// The union of `ranges` as disjoint, sorted intervals (contiguous ranges joined), or an error
// for an invalid or overlapping range. `what` names the list in the message.
caf::expected<std::vector<key_range>> reduce(std::vector<key_range> ranges, const char* what) {
    if (ranges.empty()) {
        return bad(fmt::format("no {} ranges", what));
    }
    for (const auto& r : ranges) {
        if (!valid_slice(r)) {
            return bad(fmt::format("{} range [{}, {}) is not a non-empty slice of [0, 1)", what,
                                   r.start, r.end));
        }
    }
    std::sort(ranges.begin(), ranges.end(),
              [](const key_range& a, const key_range& b) { return a.start < b.start; });
    std::vector<key_range> out{ranges.front()};
    for (size_t i = 1; i < ranges.size(); ++i) {
        const auto& r = ranges[i];
        if (r.start < out.back().end) {
            return bad(fmt::format("{} ranges overlap at [{}, {})", what, r.start,
                                   std::min(r.end, out.back().end)));
        }
        if (r.start == out.back().end) {
            out.back().end = r.end;
        } else {
            out.push_back(r);
        }
    }
    return out;
}

}  // namespace

caf::expected<std::vector<key_range>> split_range(key_range r, uint32_t parts) {
    if (parts < 2) {
        return bad(fmt::format("a split needs at least 2 parts, not {}", parts));
    }
    if (!valid_slice(r)) {
        return bad(fmt::format("[{}, {}) is not a non-empty slice of [0, 1)", r.start, r.end));
    }
    std::vector<key_range> out;
    out.reserve(parts);
    double width = r.end - r.start;
    double start = r.start;
    for (uint32_t i = 1; i <= parts; ++i) {
        double end = i == parts ? r.end : r.start + width * i / parts;
        if (!(start < end)) {
            return bad(fmt::format("[{}, {}) is too narrow to split into {} parts", r.start, r.end,
                                   parts));
        }
        out.push_back(key_range{start, end});
        start = end;
    }
    return out;
}

caf::expected<key_range> merge_ranges(std::vector<key_range> ranges) {
    if (ranges.size() < 2) {
        return bad("a merge needs at least 2 ranges");
    }
    auto joined = reduce(std::move(ranges), "merged");
    if (!joined) {
        return std::move(joined.error());
    }
    if (joined->size() > 1) {
        return bad(fmt::format("not adjacent: nothing covers [{}, {})", (*joined)[0].end,
                               (*joined)[1].start));
    }
    return joined->front();
}

caf::error check_cover(std::vector<key_range> sealed, std::vector<key_range> create) {
    auto old_cover = reduce(std::move(sealed), "sealed");
    if (!old_cover) {
        return std::move(old_cover.error());
    }
    auto new_cover = reduce(std::move(create), "new");
    if (!new_cover) {
        return std::move(new_cover.error());
    }
    if (*old_cover != *new_cover) {
        auto show = [](const std::vector<key_range>& v) {
            std::string s;
            for (const auto& r : v) {
                s += fmt::format("{}[{}, {})", s.empty() ? "" : " ", r.start, r.end);
            }
            return s;
        };
        return bad(fmt::format("the new ranges cover {} but the sealed segments cover {}",
                               show(*new_cover), show(*old_cover)));
    }
    return caf::error{};
}

namespace {

// An unsigned decimal number that fills `part` exactly and fits `T` (no sign, no spaces).
template <class T>
bool parse_decimal(std::string_view part, T& out) {
    if (part.empty() || part.size() > 20 || part[0] < '0' || part[0] > '9') {
        return false;
    }
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
    return ec == std::errc{} && end == part.data() + part.size();
}

}  // namespace

caf::expected<segment_id> parse_segment_id(std::string_view text) {
    auto dot = text.find('.');
    uint32_t epoch = 0;
    uint32_t number = 0;
    if (dot == std::string_view::npos || !parse_decimal(text.substr(0, dot), epoch) ||
        !parse_decimal(text.substr(dot + 1), number)) {
        return bad(
            fmt::format("'{}' is not a segment id (EPOCH.NUMBER, as stream info prints it)", text));
    }
    return segment_id::make(epoch, number);
}

std::string to_string(const stream_cut& cut) {
    std::string out = fmt::format("{}:", cut.stream.value);
    for (size_t i = 0; i < cut.segments.size(); ++i) {
        const auto& s = cut.segments[i];
        out += fmt::format("{}{}@{}", i == 0 ? "" : ",", to_string(s.range.id), s.offset);
    }
    return out;
}

caf::expected<stream_cut> parse_stream_cut(std::string_view text) {
    auto refuse = [&](std::string_view why) {
        return bad(fmt::format("'{}' is not a stream cut: {} (UID:EPOCH.NUMBER@OFFSET,...)",
                               text.substr(0, 200), why));
    };
    auto colon = text.find(':');
    uint64_t uid = 0;
    if (colon == std::string_view::npos || !parse_decimal(text.substr(0, colon), uid) || uid == 0) {
        return refuse("no stream uid");
    }
    stream_cut cut;
    cut.stream = stream_uid{uid};
    auto rest = text.substr(colon + 1);
    while (true) {
        auto comma = rest.find(',');
        auto item = rest.substr(0, comma);
        auto at = item.find('@');
        cut_segment seg;
        auto id = parse_segment_id(item.substr(0, at));
        if (at == std::string_view::npos || !id ||
            !parse_decimal(item.substr(at + 1), seg.offset)) {
            return refuse(fmt::format("'{}' is not EPOCH.NUMBER@OFFSET", item.substr(0, 60)));
        }
        seg.range.id = *id;
        for (const auto& s : cut.segments) {
            if (s.range.id == seg.range.id) {
                return refuse("segment " + to_string(seg.range.id) + " appears twice");
            }
        }
        cut.segments.push_back(seg);
        if (comma == std::string_view::npos) {
            return cut;
        }
        rest = rest.substr(comma + 1);
    }
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
