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
//   doomed: visible until the next crash, never durable. Like RocksDB after a failed WAL sync,
//   every later write fails until the store is opened again (the process restarts).
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

using kv_map = std::map<std::string, std::string, std::less<>>;

/// A node's disk in the simulation: Tier A (`sim_disk`, in memory at the key-value seam) or
/// Tier B (real RocksDB on a crash-simulating file system, `make_rocksdb_disk`).
class disk_model {
public:
    using clock_fn = std::function<int64_t()>;
    using durable_fn = std::function<void(const storage::write_batch&)>;

    virtual ~disk_model() = default;
    /// The store seen by incarnation `inc` of the node; fails every call once the node crashed.
    virtual caf::expected<std::unique_ptr<storage::log_store>> open(uint64_t inc) = 0;
    /// Power loss: resolves unsynced writes, fences the open views.
    virtual void crash() = 0;
    /// The process died but the machine did not: the page cache survives.
    virtual void process_exit() = 0;
    /// Whether a sync was issued since the last call (the node then blocks for the latency).
    virtual bool take_synced() = 0;
    /// When the latest sync completes: the node is blocked in fsync until then.
    virtual int64_t sync_done_at() const = 0;
    virtual void set_faults(const disk_faults& f) = 0;
    virtual const disk_faults& faults() const = 0;
    virtual const disk_stats& stats() const = 0;
    /// Tier A: the durable content, for the recovery oracle. Null where not modelled.
    virtual const kv_map* durable_map() { return nullptr; }
    /// Tier A: called for every batch that becomes durable (the acknowledgement oracle).
    virtual bool on_durable(durable_fn) { return false; }
};

/// Tier B: RocksDB over an in-memory file system that forgets unsynced bytes on a power cut
/// (keeps a random prefix, may tear the last record); RocksDB's WAL checksums must catch it.
std::unique_ptr<disk_model> make_rocksdb_disk(prng rng,
                                              disk_faults faults,
                                              disk_model::clock_fn now);

class sim_disk final : public disk_model {
public:
    using kv = kv_map;

    sim_disk(prng rng, disk_faults faults, clock_fn now) : rng_(rng), faults_(faults), now_(now) {}

    /// Called for every write batch once it is durable, in order.
    bool on_durable(durable_fn fn) override {
        on_durable_ = std::move(fn);
        return true;
    }

    int64_t sync_done_at() const override { return sync_done_at_; }

    bool take_synced() override {
        bool s = synced_;
        synced_ = false;
        return s;
    }

    caf::expected<std::unique_ptr<storage::log_store>> open(uint64_t inc) override;
    void crash() override;
    /// Keeps pending writes up to the first one a failed sync doomed.
    void process_exit() override;
    const kv_map* durable_map() override { return &durable(); }

    /// What a crash right now would keep at least (durable writes only).
    const kv& durable() {
        settle();
        return durable_;
    }

    void set_faults(const disk_faults& f) override { faults_ = f; }
    const disk_faults& faults() const override { return faults_; }
    const disk_stats& stats() const override { return stats_; }

    /// Applies a batch to a map (puts, erases, range erases).
    static void apply(kv& m, const storage::write_batch& b);

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

    void make_durable(const storage::write_batch& b);
    void settle();  // applies the writes whose sync has completed

    prng rng_;
    disk_faults faults_;
    clock_fn now_;
    durable_fn on_durable_;
    bool synced_ = false;
    bool failed_ = false;  // a sync failed: every later write fails until the next open
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
