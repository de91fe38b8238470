#pragma once

// Internal to actors/: runs one Raft replica inside its owning actor (a container replica or
// the controller replica). Not an actor itself: the owner calls `drive()` after every input
// (a peer's message, a tick, a proposal), and the driver's `storage::raft::ready_runner`
// persists, sends, applies and compacts in the order the `ready` contract requires
// (storage/raft.hpp); the driver adds linearized reads. Blocking: `drive()` fsyncs, so owners
// run detached in production. The actors step one input per `drive()` (within the batching
// rule trivially).

#include "actors/actors.hpp"
#include "storage/storage.hpp"

#include <caf/error.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace pravaha::actors {

/// The Raft configuration of this node's replica of `group` (0: the controller; c + 1:
/// container c).
storage::raft::config raft_config_of(const raft_settings& s, uint32_t group);
/// The snapshot bytes a replica (or the node's pacer) may send per tick at `s`'s rate (0: none).
uint64_t snapshot_bytes_per_tick(const raft_settings& s);

class raft_driver {
public:
    raft_driver(storage::log_store& store, storage::raft::config cfg);

    /// The owner's callbacks (storage/raft_runner.hpp); set before the first `drive()`.
    void set_hooks(storage::raft::runner_hooks hooks) { runner_.set_hooks(std::move(hooks)); }

    /// Loads the replica's durable state; `applied` is the owner's durable applied index.
    /// Errors: storage_io, corrupt_data.
    [[nodiscard]] caf::error open(uint64_t applied);

    /// Runs every pending ready, then the linearized reads that became answerable. Errors
    /// (storage) must stop the owner.
    [[nodiscard]] caf::error drive();

    /// Runs `then` once the owner's applied state holds everything the group committed before
    /// this call (a read point confirmed by a majority, `replica::read_index`, and applied), or
    /// with `not_leader` once this replica stops leading before that. Every answer an owner
    /// gives from its state that a lagging leader would get wrong ("nothing more to read",
    /// "no such segment", a length) goes through here. `then` runs from a later `drive()`; the
    /// owner calls `drive()` after this.
    void linearize(std::function<void(const caf::error&)> then);

    storage::raft::replica& replica() { return runner_.replica(); }
    const storage::raft::replica& replica() const { return runner_.replica(); }
    raft::group_status status() const;

    /// This replica's figures for the metrics port (read by scrapes on another thread).
    struct gauges;

private:
    uint32_t group_;
    storage::raft::ready_runner runner_;

    std::shared_ptr<gauges> gauges_;
    /// Publishes the replica's role, term, indexes and followers into `gauges_`.
    void publish();

    /// Runs the reads confirmed and applied; fails the ones a lost leadership dropped.
    void settle_reads();
    struct pending_read {
        uint64_t term = 0;
        std::function<void(const caf::error&)> then;
    };
    uint64_t next_read_ = 1;
    std::map<uint64_t, pending_read> reads_;  ///< asked, not yet confirmed (ctx -> read)
    std::multimap<uint64_t, std::function<void(const caf::error&)>> confirmed_;  ///< by index
};

}  // namespace pravaha::actors
