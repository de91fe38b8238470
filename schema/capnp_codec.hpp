#pragma once

// What the codecs of the persisted formats share (schema/*.cpp only: it includes the generated
// capnp header). Readers of untrusted bytes go through `with_root`, which turns every capnp
// exception into errc::malformed_message.

#include "schema/errc.hpp"
#include "schema/group_types.hpp"
#include "schema/records.capnp.h"
#include "schema/types.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace pravaha::codec {

inline std::string to_bytes(capnp::MessageBuilder& msg) {
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

inline void set_policy(schema::ScalingPolicy::Builder b, const scaling_policy& p) {
    b.setType(static_cast<uint8_t>(p.type));
    b.setTarget(p.target);
    b.setFactor(p.factor);
    b.setMinSegments(p.min_segments);
}

inline caf::expected<scaling_policy> get_policy(schema::ScalingPolicy::Reader r) {
    if (r.getType() > static_cast<uint8_t>(scale_type::by_kbytes)) {
        return caf::make_error(errc::malformed_message, "scaling policy: unknown type");
    }
    return scaling_policy{static_cast<scale_type>(r.getType()), r.getTarget(), r.getFactor(),
                          r.getMinSegments()};
}

template <class List>
void set_ranges(List list, const std::vector<segment_range>& ranges) {
    for (unsigned i = 0; i < ranges.size(); ++i) {
        list[i].setSegmentId(ranges[i].id.value);
        list[i].setKeyStart(ranges[i].key_start);
        list[i].setKeyEnd(ranges[i].key_end);
    }
}

inline std::vector<segment_range> get_ranges(capnp::List<schema::SegmentRange>::Reader list) {
    std::vector<segment_range> out;
    out.reserve(list.size());
    for (auto s : list) {
        out.push_back({segment_id{s.getSegmentId()}, s.getKeyStart(), s.getKeyEnd()});
    }
    return out;
}

inline void set_ids(capnp::List<uint64_t>::Builder list, const std::vector<segment_id>& ids) {
    for (unsigned i = 0; i < ids.size(); ++i) {
        list.set(i, ids[i].value);
    }
}

inline std::vector<segment_id> get_ids(capnp::List<uint64_t>::Reader list) {
    std::vector<segment_id> out;
    out.reserve(list.size());
    for (auto v : list) {
        out.push_back(segment_id{v});
    }
    return out;
}

inline void set_lengths(capnp::List<schema::SealedLength>::Builder list,
                        const std::vector<std::pair<segment_id, int64_t>>& lengths) {
    for (unsigned i = 0; i < lengths.size(); ++i) {
        list[i].setSegmentId(lengths[i].first.value);
        list[i].setLength(lengths[i].second);
    }
}

inline std::vector<std::pair<segment_id, int64_t>> get_lengths(
    capnp::List<schema::SealedLength>::Reader list) {
    std::vector<std::pair<segment_id, int64_t>> out;
    out.reserve(list.size());
    for (auto l : list) {
        out.emplace_back(segment_id{l.getSegmentId()}, l.getLength());
    }
    return out;
}

// -- reader groups (group_records.cpp) ----------------------------------------------------------

void set_cuts(capnp::List<schema::StreamCut>::Builder list, const std::vector<stream_cut>& cuts);
std::vector<stream_cut> get_cuts(capnp::List<schema::StreamCut>::Reader list);
void set_group_config(schema::GroupConfig::Builder b, const group_config& c);
group_config get_group_config(schema::GroupConfig::Reader r);
void set_group_sync(schema::GroupSync::Builder b, const group_sync& s);
group_sync get_group_sync(schema::GroupSync::Reader r);

}  // namespace pravaha::codec
