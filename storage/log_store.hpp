#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rocksdb {
class Env;
}

namespace pravaha::storage {

/// A set of writes applied atomically by `log_store::write`.
struct write_batch {
    enum class kind : uint8_t { put, erase, erase_range };
    struct op {
        kind type;
        std::string key;
        std::string value;  ///< the value for put; the exclusive end key for erase_range
    };
    std::vector<op> ops;
    size_t bytes = 0;

    void put(std::string key, std::string value);
    void erase(std::string key);
    /// Erases every key in [from, to).
    void erase_range(std::string from, std::string to);
    bool empty() const { return ops.empty(); }
};

/// What the store reports about itself for the node's metrics (RocksDB's properties).
struct store_stats {
    uint64_t memtable_bytes = 0;            ///< in memtables, active and immutable
    uint64_t sst_bytes = 0;                 ///< in SST files (every version)
    uint64_t blob_bytes = 0;                ///< in blob files (every version)
    uint64_t blob_garbage_bytes = 0;        ///< of the live blob files, no longer referenced
    uint64_t pending_compaction_bytes = 0;  ///< estimated bytes compaction has to rewrite
    uint64_t stall_stops = 0;               ///< times writes stopped (since open)
    uint64_t stall_slowdowns = 0;           ///< times writes were slowed (since open)
    bool writes_stopped = false;            ///< writes are stopped now
};

/// Keys in [from, to).
struct store_range {
    std::string from;
    std::string to;
};

/// A consistent, read-only view of a store as it was when taken (RocksDB: a snapshot): later
/// writes are not seen, and data the view still sees stays readable while it lives. For readers
/// that must see one state across many calls (a Raft snapshot sent in chunks). Owned by one
/// reader; it may outlive its store, whose close then voids it (reads fail with storage_io).
class store_view {
public:
    virtual ~store_view() = default;
    /// Visits keys in [from, to) in ascending order until `fn` returns false.
    [[nodiscard]] virtual caf::error scan(
        std::string_view from,
        std::string_view to,
        const std::function<bool(std::string_view key, std::string_view value)>& fn) = 0;
    /// About how many bytes the view holds in `range` (RocksDB: its estimate from the files and
    /// memtables), for progress reports.
    virtual uint64_t approximate_bytes(const store_range& range) = 0;
};

/// The disk seam (design.md section 3): an ordered key-value store with atomic batches and an
/// explicit sync. Production uses RocksDB; the simulator substitutes a store that loses unsynced
/// writes on a simulated crash.
///
/// Contract:
/// - `write(b, false)` is visible to reads at once but may be lost by a crash.
/// - `write(b, true)` returns only after `b` **and every earlier write** are durable (prefix
///   durability, as RocksDB's single WAL gives). Callers rely on this to make unsynced state
///   writes durable with the next synced log write.
/// - Every failure is returned as `errc::storage_io`; nothing is silently dropped.
/// - After a failed synced write, every later write fails until the store is reopened (RocksDB
///   stops on a WAL sync error, and on ENOSPC: `out_of_space`). Callers sharing a store rely on it:
///   a write acknowledged after another caller's failed sync could otherwise be durable while the
///   earlier writes it depends on are lost.
///
/// Thread safety: all methods may be called concurrently (RocksDB is internally synchronized).
class log_store {
public:
    virtual ~log_store() = default;

    [[nodiscard]] virtual caf::expected<std::optional<std::string>> get(std::string_view key) = 0;

    [[nodiscard]] virtual caf::error write(const write_batch& batch, bool sync) = 0;

    /// Visits keys in [from, to) in ascending order until `fn` returns false.
    [[nodiscard]] virtual caf::error scan(
        std::string_view from,
        std::string_view to,
        const std::function<bool(std::string_view key, std::string_view value)>& fn) = 0;

    /// The greatest key in [lower, key] with its value, if any.
    [[nodiscard]] virtual caf::expected<std::optional<std::pair<std::string, std::string>>> floor(
        std::string_view lower, std::string_view key) = 0;

    /// A consistent view of everything written so far (storage/log_store.hpp, store_view).
    /// Errors: storage_io.
    [[nodiscard]] virtual caf::expected<std::unique_ptr<store_view>> view() = 0;

    /// Whether a failure so far was the file system out of space (ENOSPC). The failed write's
    /// outcome is still unknown and the store still takes no writes, but reopening it once there
    /// is room again recovers (the node restarts its core instead of exiting). Thread-safe.
    virtual bool out_of_space() const { return false; }

    /// The store's own figures, where it has them (RocksDB); thread-safe.
    virtual std::optional<store_stats> stats() const { return std::nullopt; }
};

struct rocksdb_options {
    std::string dir;
    size_t write_buffer_bytes = 64 * 1024 * 1024;
    /// The RocksDB environment (files, threads) to use; null = the real one. The simulator
    /// passes one whose file system forgets unsynced bytes on a simulated power cut.
    rocksdb::Env* env = nullptr;
    /// Values of at least this many bytes (blocks of large events) leave the LSM tree at their
    /// flush for blob files, which compaction does not rewrite; 0 keeps every value in the SST
    /// files. The simulator lowers it so that its small events take that path too.
    size_t blob_min_bytes = 64 * 1024;
    /// No background flushes or compactions, so that a simulated run is repeatable.
    bool deterministic = false;
    /// Opens an existing database without writing anything to its directory (the info log goes
    /// to our logging in every mode; no recovery writes; `write` fails): `pravaha-node inspect`.
    bool read_only = false;
};

/// Opens (creating if needed) a RocksDB database in `opts.dir`.
[[nodiscard]] caf::expected<std::unique_ptr<log_store>> open_rocksdb(const rocksdb_options& opts);

}  // namespace pravaha::storage
