#pragma once

#include "storage/log_store.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace pravaha::storage {

/// The single-replica durable log of one segment container (replication factor 1).
/// An entry is durable when `append` returns: it is written with an fsync. Nodes no longer
/// append here (a standalone container writes each group's state changes in one synced batch,
/// a cluster container proposes to Raft); recovery still replays entries an older store holds.
///
/// Lifecycle: construct, `open()`, then `append`/`read_after`. Not thread-safe; owned by one actor.
class local_log {
public:
    local_log(log_store& store, uint32_t container);

    /// Finds the last stored index. Errors: storage_io, malformed_message.
    [[nodiscard]] caf::error open();

    /// Persists `entry` at index last_index()+1 with an fsync and, in the same atomic write,
    /// drops the entries at or below `truncate_through` (already applied and, by the store's
    /// prefix durability, made durable by this very sync). Returns the new index.
    [[nodiscard]] caf::expected<uint64_t> append(std::string entry, uint64_t truncate_through);

    /// Visits the stored entries with index > `index` in order.
    [[nodiscard]] caf::error read_after(
        uint64_t index, const std::function<caf::error(uint64_t, std::string_view)>& fn);

    uint64_t last_index() const { return last_index_; }

private:
    log_store& store_;
    uint32_t container_;
    uint64_t last_index_ = 0;
    uint64_t truncated_through_ = 0;
};

}  // namespace pravaha::storage
