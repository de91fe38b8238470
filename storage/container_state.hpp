#pragma once

#include "schema/records.hpp"
#include "schema/types.hpp"
#include "storage/local_log.hpp"
#include "storage/log_store.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <map>
#include <set>
#include <unordered_map>
#include <vector>

namespace pravaha::storage {

/// Result of applying one container operation.
struct op_result {
    caf::error error;       ///< empty on success
    append_ack ack;         ///< for appends; a merge: the target's length after it (end_offset)
    int64_t merged_at = 0;  ///< a merge: where the transaction segment's bytes begin in the target
    int64_t stored_bytes = 0;  ///< an append: the bytes it added to its segment (framing included)
};

/// The deterministic state machine of one segment container: segment lengths, sealed flags,
/// writer-id dedup attributes, and the segment data itself (in the store).
///
/// Operations are first checked with `precheck` (cheap rejection before they are logged), then
/// made durable by the container's durable log, then applied with `apply_entry` in log order.
/// Applying is deterministic: replaying the same entries on the same state gives the same state
/// and the same results, which is what recovery and (later) Raft replicas rely on.
///
/// Lifecycle: construct, `recover(log)`, then any calls. Owned by one actor; not thread-safe.
class container_state {
public:
    /// `container_count` > 1: the node's store holds several containers (a cluster); this one
    /// owns only the segments `container_of` maps to it.
    container_state(log_store& store, uint32_t container, uint32_t container_count = 1);

    /// Loads segment metadata and writer attributes, then re-applies log entries after the
    /// stored applied index. Errors: storage_io, malformed_message.
    [[nodiscard]] caf::error recover(local_log& log);

    /// Loads segment metadata, writer attributes and the applied index, without replaying a
    /// log (a Raft replica re-applies committed entries itself). Errors: storage_io,
    /// malformed_message.
    [[nodiscard]] caf::error open();

    /// The key ranges of this container's state as `view` sees it (each owned segment's
    /// metadata, data blocks and writer attributes), for a Raft follower behind the compacted
    /// log: the snapshot is their records, read in chunks. Errors: storage_io.
    [[nodiscard]] caf::expected<std::vector<store_range>> state_ranges(store_view& view) const;

    /// Adds to `b` the removal of this container's state and its applied index `index`: a
    /// snapshot's records are then moved into place (storage/raft_runner.hpp), after which the
    /// owner calls `open()`.
    void stage_install(uint64_t index, write_batch& b) const;

    /// Rejects an operation that can never succeed against the current state (unknown or sealed
    /// segment, malformed or oversized events). Passing does not guarantee success at apply time.
    [[nodiscard]] caf::error precheck(const container_op& op) const;
    /// Whether an append would store anything new: false when its writer session already holds
    /// any of its events (a resend, answered from the stored state), so that refusing it (a full
    /// disk) could never report a stored event as failed.
    [[nodiscard]] bool adds_events(const container_op& op) const;

    /// Applies the committed entry `index` and writes the resulting state (unsynced; made durable
    /// by the next synced log write). Returns one result per op. A storage error is returned as
    /// the error of the whole call: the caller must stop and recover.
    [[nodiscard]] caf::expected<std::vector<op_result>> apply_entry(uint64_t index,
                                                                    std::vector<container_op> ops);

    /// The two halves of `apply_entry`, for callers that acknowledge in between: `apply`
    /// updates the in-memory state and returns the results plus the state writes; `persist`
    /// writes them (unsynced). Acknowledging before `persist` is safe because the entry itself
    /// is already durable in the log; reads must not run before `persist` (their data is there).
    /// `apply` and `commit_entry` move each stored block's payload into the writes: the ops'
    /// `data` is left empty (each result's `stored_bytes` says what an append stored).
    struct applied_entry {
        std::vector<op_result> results;
        write_batch writes;
    };
    applied_entry apply(uint64_t index, std::vector<container_op>& ops);
    [[nodiscard]] caf::error persist(const write_batch& writes);

    /// The standalone write path: applies `ops` as entry `index` and writes the resulting state
    /// in one synced batch, which is itself the durable record (no separate log entry, so every
    /// payload is written and checksummed once). A storage error is returned as the error of the
    /// whole call: the in-memory state is then ahead of the disk and the caller must stop.
    [[nodiscard]] caf::expected<std::vector<op_result>> commit_entry(
        uint64_t index, std::vector<container_op>& ops);

    /// Whole events starting at `offset`, at most `max_bytes` (but always at least one event if
    /// any is available). Errors: segment_not_found, bad_offset, corrupt_data, storage_io.
    [[nodiscard]] caf::expected<read_result> read(const segment_key& key,
                                                  int64_t offset,
                                                  uint32_t max_bytes) const;

    /// Length and sealed flag, or segment_not_found.
    [[nodiscard]] caf::expected<segment_meta> status(const segment_key& key) const;

    uint64_t applied_index() const { return applied_index_; }
    size_t segment_count() const { return segments_.size(); }
    /// Every segment the container holds, sorted.
    std::vector<segment_key> segment_keys() const;

private:
    /// Per writer id: its last stored event number, its current session (epoch) and the highest
    /// number its client gave a stored event.
    struct writer_state {
        int64_t last = no_event_number;
        uint32_t epoch = 0;
        int64_t client_last = no_event_number;  ///< highest client number stored (RPC writers)
    };
    struct segment {
        segment_meta meta;
        std::map<writer_id, writer_state> writers;
    };

    op_result apply_op(container_op& op, write_batch& batch);
    op_result apply_append(container_op& op, write_batch& batch);
    op_result apply_setup_writer(const container_op& op, write_batch& batch);
    op_result apply_merge(const container_op& op, write_batch& batch);
    void erase_prefix(const std::string& prefix, bool range, write_batch& batch) const;
    /// Deleted segments longer than this are erased with a range delete (no scan of their blocks).
    static constexpr int64_t point_erase_bytes_max = 4 * 1024 * 1024;
    struct merge_check {
        caf::error error;
        bool done = false;  ///< merged before: answered from the tombstone
        int64_t merged_at = 0;
    };
    merge_check check_merge(const container_op& op) const;
    static caf::error over_limit(const segment_key& key, const segment_meta& meta, size_t bytes);
    caf::expected<segment*> open_segment(const segment_key& key);
    static bool already_stored(const segment& seg, const container_op& op);
    static caf::error fenced(const segment& seg, const container_op& op);

    bool owns(const segment_key& key) const;

    log_store& store_;
    uint32_t container_;
    uint32_t container_count_;
    uint64_t applied_index_ = 0;
    std::unordered_map<segment_key, segment, segment_key_hash> segments_;
    // Appends of one entry change a segment's meta and a writer's state many times; `apply`
    // writes each once, at the end of the entry (found by profiling: one memtable insert per
    // key version dominated the node's CPU at 64 writers).
    std::set<segment_key> dirty_meta_;
    std::set<std::pair<segment_key, writer_id>> dirty_writers_;
    /// A storage error met while applying (a merge reads the store): the state is no longer the
    /// other replicas'; persist and commit_entry answer it from then on and write nothing.
    caf::error failed_;
};

/// Counts the framed events in `data`; returns nullopt if it is not a sequence of well-formed
/// events with nothing left over.
std::optional<uint32_t> count_events(std::string_view data);

}  // namespace pravaha::storage
