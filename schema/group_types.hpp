#pragma once

// Reader groups (ARCHITECTURE.md "Reader groups"): what the controller keeps of a group, and
// what a group's readers and its administrators exchange with it. The rules that change a group
// are in storage/reader_group.hpp.

#include "schema/types.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace pravaha {

/// One stream a group reads: from `start` up to `end` (an end without segments: no end). Both
/// are resolved cuts (ranges filled, `stream` the stream's uid).
struct group_stream {
    std::string scope;
    std::string name;
    stream_cut start;
    stream_cut end;
    bool operator==(const group_stream&) const = default;
};

/// A reader group's configuration.
struct group_config {
    std::vector<group_stream> streams;
    int64_t lease_ms = 10'000;                ///< a reader silent this long is declared offline
    int64_t checkpoint_interval_ms = 30'000;  ///< automatic (silent) checkpoints; 0: none
    bool operator==(const group_config&) const = default;
};

/// A segment of a group's stream at an offset (a position, a release, an end).
struct group_offset {
    segment_key key;
    int64_t offset = 0;
    bool operator==(const group_offset&) const = default;
};

/// A segment a group's reader owns: read on from `offset`, stop at `end_offset` (-1: the
/// segment's end).
struct group_assigned {
    segment_key key;
    int64_t offset = 0;
    int64_t end_offset = -1;
    bool operator==(const group_assigned&) const = default;
};

/// What a reader tells its group (a sync is its heartbeat too).
struct group_sync {
    std::string reader;
    uint64_t session = 0;
    /// Every owned segment's offset after its last delivered event.
    std::vector<group_offset> positions;
    /// Segments read to their end (the offset: the end).
    std::vector<group_offset> finished;
    /// Segments given back (as the group asked), at the offset delivered up to.
    std::vector<group_offset> released;
    /// Checkpoints whose positions `positions` are.
    std::vector<std::string> recorded;
    /// It would take more segments.
    bool wants = true;
    /// A join's token, random per reader object: a retried join with the same token gets the
    /// same session instead of reader_exists.
    uint64_t nonce = 0;
    /// An offline (the lease actor's): the reports of the session it had seen; a report applied
    /// since renewed the reader, and the offline changes nothing.
    uint64_t syncs = 0;
    bool operator==(const group_sync&) const = default;
};

/// The group's answer to a join or a sync: what the reader owns and what it must do.
struct group_assignment {
    uint64_t session = 0;
    uint32_t generation = 0;
    int64_t lease_ms = 0;
    std::vector<group_assigned> segments;
    /// Give these back, at the offset delivered up to, on the next sync.
    std::vector<segment_key> release;
    /// Pending checkpoints this reader has not recorded: with a marker for the application, and
    /// silent ones (recorded at the next sync without one).
    std::vector<std::string> checkpoints;
    std::vector<std::string> silent_checkpoints;
    bool operator==(const group_assignment&) const = default;
};

/// A checkpoint of a group: pending until every online reader recorded its positions, then one
/// cut per stream of the group.
struct group_checkpoint {
    std::string name;
    bool silent = false;
    bool complete = false;
    /// Completed because a reader it waited for went away (left, or its lease passed): that
    /// reader's segments are in it at their last reported positions, not where the reader would
    /// have taken it. An application that stores its own state with a checkpoint must not use
    /// such a one (client/examples/exactly_once).
    bool forced = false;
    int64_t created_ms = 0;
    std::set<std::string> waiting;             ///< readers that have not recorded yet
    std::map<segment_key, int64_t> positions;  ///< recorded so far
    std::vector<stream_cut> cuts;              ///< when complete: one per stream, in order
    bool operator==(const group_checkpoint&) const = default;
};

/// One online reader of a group.
struct online_reader {
    uint64_t session = 0;
    uint64_t nonce = 0;                    ///< the join's token
    uint64_t syncs = 0;                    ///< reports applied for this session
    std::map<segment_key, int64_t> owned;  ///< offset after the last event it delivered
    /// Owned segments it read to their end, kept while a checkpoint is pending.
    std::set<segment_key> done;
    /// Segments it was told to give back.
    std::set<segment_key> releasing;
    bool operator==(const online_reader&) const = default;
};

/// A reader group as the controller keeps it (persisted: capnp ReaderGroupRecord).
struct reader_group_record {
    std::string scope;
    std::string name;
    group_config config;
    int64_t created_ms = 0;
    uint32_t generation = 0;  ///< bumped by every reset
    uint64_t next_session = 1;
    std::map<std::string, online_reader> readers;
    std::map<segment_key, int64_t> unassigned;
    /// Successors waiting for the predecessors the group has not read to their end.
    std::map<segment_key, std::set<segment_id>> future;
    /// Segments read to their end that a successor in `future` still waits behind: their end.
    std::map<segment_key, int64_t> finished;
    std::vector<group_checkpoint> checkpoints;  ///< pending first-come, then completed
    bool operator==(const reader_group_record&) const = default;
};

/// A reader as `group info` shows it.
struct group_reader_info {
    std::string name;
    std::vector<group_offset> segments;
    int64_t unread_bytes = -1;  ///< -1: not known (a segment's length could not be read)
    bool operator==(const group_reader_info&) const = default;
};

/// What `group info` answers.
struct group_info {
    std::string scope;
    std::string name;
    uint32_t generation = 0;
    group_config config;
    std::vector<group_reader_info> readers;
    std::vector<group_offset> unassigned;
    std::vector<segment_key> future;
    std::vector<group_checkpoint> checkpoints;
    int64_t unread_bytes = -1;
    bool operator==(const group_info&) const = default;
};

// -- inspectors (CAF serialization for messages) ------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_stream& x) {
    return f(caf::meta::type_name("pravaha.group_stream"), x.scope, x.name, x.start, x.end);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_config& x) {
    return f(caf::meta::type_name("pravaha.group_config"), x.streams, x.lease_ms,
             x.checkpoint_interval_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_offset& x) {
    return f(caf::meta::type_name("pravaha.group_offset"), x.key, x.offset);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_assigned& x) {
    return f(caf::meta::type_name("pravaha.group_assigned"), x.key, x.offset, x.end_offset);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_sync& x) {
    return f(caf::meta::type_name("pravaha.group_sync"), x.reader, x.session, x.positions,
             x.finished, x.released, x.recorded, x.wants, x.nonce, x.syncs);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_assignment& x) {
    return f(caf::meta::type_name("pravaha.group_assignment"), x.session, x.generation, x.lease_ms,
             x.segments, x.release, x.checkpoints, x.silent_checkpoints);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_checkpoint& x) {
    return f(caf::meta::type_name("pravaha.group_checkpoint"), x.name, x.silent, x.complete,
             x.forced, x.created_ms, x.waiting, x.positions, x.cuts);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_reader_info& x) {
    return f(caf::meta::type_name("pravaha.group_reader_info"), x.name, x.segments, x.unread_bytes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_info& x) {
    return f(caf::meta::type_name("pravaha.group_info"), x.scope, x.name, x.generation, x.config,
             x.readers, x.unassigned, x.future, x.checkpoints, x.unread_bytes);
}

}  // namespace pravaha
