#pragma once

#include "storage/log_store.hpp"
#include "storage/raft.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace pravaha::storage::raft {

/// The durable part of one Raft replica in the node's `log_store`: entries, hard state, the
/// snapshot point and the recovering marker (keys `R<group>...`, storage/keys.hpp).
///
/// The owner builds one batch per ready (`stage`) and writes it with sync=true before it sends
/// `after_persist` messages; `stage_compaction` drops entries the owner's state made redundant.
/// Not thread-safe; owned by one actor.
class raft_log {
public:
    raft_log(log_store& store, uint32_t group);

    /// Reads what is stored. Errors: storage_io, corrupt_data (an entry that cannot be decoded
    /// or a gap in the log).
    [[nodiscard]] caf::expected<durable_state> load();

    /// Adds the writes of `r` (truncation, entries, hard state, marker, snapshot point) to `b`.
    void stage(const ready& r, write_batch& b);

    /// Adds the removal of entries in (old snapshot index, index] and the new snapshot point.
    void stage_compaction(uint64_t index, uint64_t term, write_batch& b);

    /// Removes everything of this group (a replica that leaves a node).
    void stage_erase_all(write_batch& b);

    /// The stored hard state (term u64, vote u32, commit u64), or nothing if `v` is not one.
    /// Public for the simulator's persistence oracles, which read durable disk images.
    static std::optional<hard_state> decode_hard_state(std::string_view v);
    /// The stored snapshot point (index, term), or nothing if `v` is not one.
    static std::optional<std::pair<uint64_t, uint64_t>> decode_snapshot_point(std::string_view v);

private:
    log_store& store_;
    uint32_t group_;
    uint64_t first_index_ = 1;  ///< lowest stored entry index (or last + 1)
    uint64_t last_index_ = 0;
};

}  // namespace pravaha::storage::raft
