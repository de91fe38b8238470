#pragma once

/// Part of module `runtime` (internal): the node's store as its metrics see it (issue 19). A
/// `log_store` that forwards every call to the store it owns and measures on the way: the time
/// of each synced write (the fsync an acknowledgement waits for), bytes written, failures; and it
/// exports the store's own figures (RocksDB's memtable, SST and compaction sizes, write stalls)
/// as scrape-time gauges. Here, not in storage/: the determinism rule keeps clocks out of
/// storage/ and actors/, and the simulator runs the store without it.

#include "storage/storage.hpp"

#include <memory>

namespace pravaha::runtime {

/// Wraps `inner` (the store a node's core uses). The gauges read the store while this object
/// lives; a second one (the store reopened after a full disk) takes them over.
[[nodiscard]] std::unique_ptr<storage::log_store> metered(
    std::unique_ptr<storage::log_store> inner);

}  // namespace pravaha::runtime
