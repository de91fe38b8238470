#pragma once

// Key layout of the node's RocksDB database (internal to storage/). Integers are big-endian so
// that byte order equals numeric order.
//
// | prefix | rest                                  | value                         |
// |--------|---------------------------------------|-------------------------------|
// | L      | container u32, index u64              | log entry (capnp LogEntry)    |
// | A      | container u32                         | applied log index u64         |
// | G      | stream uid u64, segment id u64        | capnp SegmentMeta             |
// | D      | stream uid u64, segment id u64, offset| block of framed events        |
// | W      | stream uid u64, segment id u64, writer| last event number i64         |
// | Ms     | scope                                 | empty                         |
// | Mh     | scope '/' stream '/' epoch u32        | capnp EpochRecord (history)   |
// | Mt     | scope '/' stream                      | capnp StreamRecord            |
// | Mg     | scope '/' group                       | capnp ReaderGroupRecord       |
// | Mn     | stream uid u64, transaction id u64    | capnp TxnRecord               |
// | Mu     | -                                     | next stream uid u64           |
// | R      | group u32, 'e', index u64             | Raft entry: term u64 + data   |
// | R      | group u32, 'h'                        | Raft hard state               |
// | R      | group u32, 'r'                        | Raft "recovering" marker      |
// | R      | group u32, 's'                        | Raft snapshot index + term    |

#include "schema/ids.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace pravaha::storage::keys {

inline void put_u64(std::string& out, uint64_t v) {
    for (int i = 7; i >= 0; --i) {
        out.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
    }
}

inline void put_u32(std::string& out, uint32_t v) {
    for (int i = 3; i >= 0; --i) {
        out.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
    }
}

inline uint32_t get_u32(std::string_view in, size_t pos) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) {
        v = (v << 8) | static_cast<unsigned char>(in[pos + i]);
    }
    return v;
}

inline uint64_t get_u64(std::string_view in, size_t pos) {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) {
        v = (v << 8) | static_cast<unsigned char>(in[pos + i]);
    }
    return v;
}

inline std::string log(uint32_t container, uint64_t index) {
    std::string k = "L";
    put_u32(k, container);
    put_u64(k, index);
    return k;
}

inline std::string applied(uint32_t container) {
    std::string k = "A";
    put_u32(k, container);
    return k;
}

/// Stored key sizes (on-disk layout: a change breaks existing stores, so each is pinned).
constexpr size_t segment_key_bytes = 1 + 8 + 8;              ///< tag, stream uid, segment id
constexpr size_t writer_key_bytes = segment_key_bytes + 16;  ///< + writer id (hi, lo)
constexpr size_t data_key_bytes = segment_key_bytes + 8;     ///< + offset
static_assert(segment_key_bytes == 17 && writer_key_bytes == 33 && data_key_bytes == 25,
              "segment, writer and data keys are stored: their layout must not change");
static_assert(sizeof(stream_uid{}.value) == 8 && sizeof(segment_id{}.value) == 8 &&
                  sizeof(writer_id{}.hi) == 8 && sizeof(writer_id{}.lo) == 8,
              "the stored key fields are 8 bytes each");

inline std::string segment_prefix(char tag, const segment_key& key) {
    std::string k(1, tag);
    put_u64(k, key.stream.value);
    put_u64(k, key.segment.value);
    return k;
}

inline std::string meta(const segment_key& key) {
    return segment_prefix('G', key);
}

inline std::string data(const segment_key& key, int64_t offset) {
    auto k = segment_prefix('D', key);
    put_u64(k, static_cast<uint64_t>(offset));
    return k;
}

inline std::string writer(const segment_key& key, const writer_id& w) {
    auto k = segment_prefix('W', key);
    put_u64(k, w.hi);
    put_u64(k, w.lo);
    return k;
}

/// The smallest key greater than every key starting with `prefix`. Every prefix used here
/// starts with a tag byte below 0xff, so the result always exists.
inline std::string prefix_end(std::string prefix) {
    while (static_cast<unsigned char>(prefix.back()) == 0xff) {
        prefix.pop_back();
    }
    prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
    return prefix;
}

inline std::string scope(std::string_view name) {
    return "Ms" + std::string(name);
}

inline std::string stream(std::string_view scope_name, std::string_view name) {
    return "Mt" + std::string(scope_name) + "/" + std::string(name);
}

/// All epochs of a stream's history (inside the controller's snapshot range Mb..Mv).
inline std::string history(std::string_view scope_name, std::string_view name) {
    return "Mh" + std::string(scope_name) + "/" + std::string(name) + "/";
}

inline std::string epoch(std::string_view scope_name, std::string_view name, uint32_t epoch) {
    auto k = history(scope_name, name);
    put_u32(k, epoch);
    return k;
}

/// A transaction (inside the controller's snapshot range Mb..Mv).
inline std::string txn(stream_uid stream, uint64_t id) {
    std::string k = "Mn";
    put_u64(k, stream.value);
    put_u64(k, id);
    return k;
}

/// Every transaction of a stream.
inline std::string txns(stream_uid stream) {
    std::string k = "Mn";
    put_u64(k, stream.value);
    return k;
}

inline std::string raft(uint32_t group, char tag) {
    std::string k = "R";
    put_u32(k, group);
    k.push_back(tag);
    return k;
}

inline std::string raft_entry(uint32_t group, uint64_t index) {
    auto k = raft(group, 'e');
    put_u64(k, index);
    return k;
}

/// A reader group's record (inside the controller's snapshot range Mb..Mv).
inline std::string group(std::string_view scope_name, std::string_view name) {
    return "Mg" + std::string(scope_name) + "/" + std::string(name);
}

inline std::string next_uid() {
    return "Mu";
}

}  // namespace pravaha::storage::keys
