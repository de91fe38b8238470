#pragma once

// Tier A simulated disk: an in-memory `storage::log_store` with an explicit durable/pending
// model (simulation-spec.md section 7.6).
//
// - A write is visible at once (page cache) and durable only once a synced write completes;
//   a synced write makes every earlier pending write durable too (the prefix contract of
//   log_store, as RocksDB's single WAL gives).
// - A sync takes time: the writes it covers become durable `sync_latency` after the call. The
//   world keeps the node busy (no other step, messages held) for that long, as a thread blocked
//   in fsync; a crash before then resolves them like unsynced writes.
// - A crash keeps a random prefix of the pending writes and loses the rest. A torn last write
//   is dropped as a whole: at this seam a batch is one RocksDB WAL record, whose checksum
//   discards a torn copy (Tier B tears real WAL bytes instead).
// - A sync error (fsyncgate): the call fails, and the writes pending at that moment are
//   doomed: visible until the next crash, never durable, even if a later sync succeeds.
// - Every incarnation of a node opens its own view; views of older incarnations fail all I/O,
//   so a crashed node's late actors cannot touch the disk.

#include "sim/prng.hpp"
#include "storage/storage.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace pravaha::sim {

struct disk_faults {
    int64_t sync_latency_ns = 500'000;
    uint64_t sync_error_num = 0;  ///< probability of a failing sync, num/den
    uint64_t sync_error_den = 1000;
    uint64_t keep_num = 1;  ///< on a crash each pending write survives with num/den, in order
    uint64_t keep_den = 3;
};

struct disk_stats {
    uint64_t writes = 0;
    uint64_t syncs = 0;
    uint64_t sync_errors = 0;
    uint64_t crashes = 0;
    uint64_t pending_kept = 0;
    uint64_t pending_lost = 0;
    uint64_t torn = 0;
};

class sim_disk {
public:
    using kv = std::map<std::string, std::string, std::less<>>;

    using clock_fn = std::function<int64_t()>;
    using durable_fn = std::function<void(const storage::write_batch&)>;

    sim_disk(prng rng, disk_faults faults, clock_fn now) : rng_(rng), faults_(faults), now_(now) {}

    /// Called for every write batch once it is durable, in order.
    void on_durable(durable_fn fn) { on_durable_ = std::move(fn); }

    /// When the latest sync completes: the node is blocked in fsync until then.
    int64_t sync_done_at() const { return sync_done_at_; }

    /// Whether a sync was issued since the last call (the node then blocks for the latency).
    bool take_synced() {
        bool s = synced_;
        synced_ = false;
        return s;
    }

    /// The store seen by incarnation `inc` of the node; fails every call once the node crashed.
    std::unique_ptr<storage::log_store> open(uint64_t inc);

    /// Power loss: resolves pending writes, fences the open views.
    void crash();

    /// The process died but the machine did not: the page cache keeps pending writes (up to the
    /// first one a failed sync doomed), fences the open views.
    void process_exit();

    /// What a crash right now would keep at least (durable writes only).
    const kv& durable() {
        settle();
        return durable_;
    }

    void set_faults(const disk_faults& f) { faults_ = f; }
    const disk_faults& faults() const { return faults_; }
    const disk_stats& stats() const { return stats_; }

    // -- used by the views --
    caf::error write(uint64_t inc, const storage::write_batch& batch, bool sync);
    bool live(uint64_t inc) const { return inc == incarnation_; }
    const kv& visible() const { return visible_; }

private:
    struct pending_write {
        storage::write_batch batch;
        bool doomed = false;
        int64_t durable_at = INT64_MAX;  // set by a sync
    };

    static void apply(kv& m, const storage::write_batch& b);
    void make_durable(const storage::write_batch& b);
    void settle();  // applies the writes whose sync has completed

    prng rng_;
    disk_faults faults_;
    clock_fn now_;
    durable_fn on_durable_;
    bool synced_ = false;
    int64_t sync_done_at_ = 0;
    uint64_t incarnation_ = 0;
    kv durable_;
    kv visible_;
    std::vector<pending_write> pending_;
    disk_stats stats_;
};

/// A read-write store over a plain map, for the oracle's recovery of a durable snapshot.
std::unique_ptr<storage::log_store> open_map_store(sim_disk::kv data);

}  // namespace pravaha::sim
