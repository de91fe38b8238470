#pragma once

#include "storage/log_store.hpp"
#include "storage/raft.hpp"
#include "storage/raft_log.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace pravaha::storage::raft {

/// The batching rule for owners of a replica (ARCHITECTURE.md, "Batching rule"): inputs may be
/// stepped together and persisted by one `ready` only while they are appends of one leader in
/// one term, or proposals on a leader. A batch spanning two leaders could carry an
/// acknowledgement to the first whose entries a later message of the same ready truncates.
///
/// Build it before stepping the first input of a batch; `admits` says whether the next input
/// may join. A null message stands for a local proposal.
class batch_rule {
public:
    batch_rule(const replica& r, const message* first);
    [[nodiscard]] bool admits(const replica& r, const message* next) const;

private:
    bool proposal_;
    msg_type type_ = msg_type::append;
    replica_id from_ = no_replica;
    uint64_t msg_term_ = 0;
    uint64_t term_;
    role role_;
};

/// What the owner of a replica does for the runner.
struct runner_hooks {
    /// Sends a message to another replica of the group (best effort). Required.
    std::function<void(message)> send;
    /// Applies committed entry `index` (empty `data` is a leader's no-op). The state change is
    /// written unsynced: staged into `state`, which the runner writes after the ready's entries,
    /// or written by the owner itself. An error stops the owner (fail-stop). Required.
    std::function<caf::error(uint64_t index, const std::string& data, write_batch& state)> apply;
    /// The owner's state at its applied index, for a follower behind the compacted log.
    /// Required unless the log is never compacted.
    std::function<caf::expected<std::string>()> snapshot;
    /// Stages the replacement of the owner's state by `snap` into the batch that persists it.
    std::function<caf::error(const raft::snapshot& snap, write_batch& b)> stage_install;
    /// The installed snapshot was written: the owner takes its state from it.
    std::function<caf::error(const raft::snapshot& snap)> installed;
    /// Writes a ready's batch (`sync` is false only with a planted bug). Returns true when the
    /// write is durable, false when its fsync completes later: the runner then waits for
    /// `saved()`. Unset: `store.write(b, sync)`, durable on return.
    std::function<caf::expected<bool>(const write_batch& b, bool sync)> persist;
    /// Optional: called after each ready's `advance()` (before compaction), for owners that
    /// observe the replica ready by ready (the simulator's oracles).
    std::function<void()> advanced;
};

/// Runs one replica's ready cycle: the one implementation of the `ready` contract
/// (storage/raft.hpp), used by the actors' driver, the simulator's Raft world and scenarios,
/// and the Raft unit tests. For each ready, in order: stage the log changes (and an installed
/// snapshot) into one batch; send `messages` (snapshot messages filled with the owner's state);
/// persist the batch durably; send `after_persist`; take the installed snapshot; apply the
/// committed entries; `advance()`; compact the log once `config::compaction_entries` entries
/// are applied durably and no longer needed. The save may finish asynchronously (`persist`
/// returns false; the owner calls `saved()` when the fsync completed).
///
/// Not thread-safe; owned by one actor or one simulated node. Errors are storage errors or the
/// owner's: the owner must stop (fail-stop) and recover from disk.
class ready_runner {
public:
    ready_runner(log_store& store, config cfg, runner_hooks hooks = {});

    /// Sets the owner's hooks (an actor sets them once it exists, after `open`); before the
    /// first ready that needs them.
    void set_hooks(runner_hooks hooks) { hooks_ = std::move(hooks); }

    /// Loads the replica's durable state; `applied` is the owner's durable applied index.
    /// Errors: storage_io, corrupt_data (also when `applied` lies outside the stored log).
    [[nodiscard]] caf::error open(uint64_t applied);

    /// Runs readies until none is left or a save is pending (`saving()`).
    [[nodiscard]] caf::error run();

    /// The pending save is durable: finishes its ready. Does not start the next one.
    [[nodiscard]] caf::error saved();

    /// A ready waits for its fsync (`persist` returned false).
    bool saving() const { return pending_.has_value(); }

    /// Drops the log through `index` now (the owner's state through `index` must be durable).
    [[nodiscard]] caf::error compact(uint64_t index);

    class replica& replica() {
        return *replica_;
    }
    const class replica& replica() const { return *replica_; }
    /// The owner's state through this index is durable (written before a completed fsync).
    uint64_t durable_applied() const { return durable_applied_; }

private:
    [[nodiscard]] caf::error start_ready();
    [[nodiscard]] caf::error finish_ready();

    log_store& store_;
    config cfg_;
    runner_hooks hooks_;
    std::unique_ptr<raft_log> log_;
    std::unique_ptr<class replica> replica_;
    std::optional<ready> pending_;  ///< persisted or being persisted, not yet finished
    uint64_t written_at_save_ = 0;  ///< applied_written_ when the pending save was issued
    uint64_t applied_written_ = 0;  ///< applied index whose state write was issued
    uint64_t durable_applied_ = 0;  ///< made durable by a later synced write
};

}  // namespace pravaha::storage::raft
