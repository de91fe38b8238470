#pragma once

#include "storage/log_store.hpp"
#include "storage/raft.hpp"
#include "storage/raft_log.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <functional>
#include <map>
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

/// Chunk format of snapshots: records of (key, value), each a big-endian u32 length and the
/// bytes, in the order read.
void append_record(std::string& out, std::string_view key, std::string_view value);
/// Visits the records of `data`; false (after visiting the well-formed ones) if it is malformed.
[[nodiscard]] bool for_each_record(
    std::string_view data, const std::function<void(std::string_view, std::string_view)>& fn);

/// A leader's side of one snapshot transfer: the owner's state ranges read from one consistent
/// view, in chunks of about `chunk_bytes`. Chunk n starts where chunk n-1 ended, so any chunk
/// not yet acknowledged can be read again; `forget_below` drops the positions of acknowledged
/// ones. Memory: one chunk plus a position per chunk not yet acknowledged.
class snapshot_source {
public:
    snapshot_source(std::unique_ptr<store_view> view,
                    std::vector<store_range> ranges,
                    size_t chunk_bytes);
    /// Chunk `number` (from 1; at most one past the last chunk read); `last` is set on the last
    /// chunk. Errors: storage_io.
    [[nodiscard]] caf::expected<std::string> read(uint64_t number, bool& last);
    /// The number of the last chunk, once read (0 before).
    uint64_t last_chunk() const { return last_; }
    /// About how many bytes the ranges hold (the view's estimate), for progress reports.
    uint64_t approximate_bytes() const { return approximate_; }
    void forget_below(uint64_t number);

private:
    struct position {
        size_t range = 0;
        std::string key;
    };
    std::unique_ptr<store_view> view_;
    std::vector<store_range> ranges_;
    size_t chunk_bytes_;
    std::map<uint64_t, position> starts_;
    uint64_t last_ = 0;
    uint64_t approximate_ = 0;
};

/// The staging area of a group's snapshot being received, and its install marker
/// (storage/keys.hpp: R<group>x<key>, R<group>i).
std::string staging_prefix(uint32_t group);
std::string install_marker(uint32_t group);
/// Adds a received chunk to `b`: its records under the staging prefix (chunk 1 clears the
/// staging area first). Errors: malformed_message (nothing is added).
[[nodiscard]] caf::error stage_chunk(uint32_t group, const snapshot_chunk& c, write_batch& b);
/// Adds the install marker of `snap` to `b`: once `b` is durable the snapshot counts as
/// installed, and `complete_install` moves the staging area into place (again after a crash).
void stage_install_marker(uint32_t group, const snapshot& snap, write_batch& b);
/// Finishes an install whose marker is stored: moves the staged records to their keys in
/// batches of about `batch_bytes` (unsynced: redone after a crash, since the marker goes last)
/// and removes the marker. Nothing without a marker. An owner calls it before it loads its
/// state. Errors: storage_io.
[[nodiscard]] caf::error complete_install(log_store& store,
                                          uint32_t group,
                                          size_t batch_bytes = 4u << 20);

/// What the owner of a replica does for the runner.
struct runner_hooks {
    /// Sends a message to another replica of the group (best effort). Required.
    std::function<void(message)> send;
    /// Applies committed entry `index` (empty `data` is a leader's no-op). The state change is
    /// written unsynced: staged into `state`, which the runner writes after the ready's entries,
    /// or written by the owner itself. An error stops the owner (fail-stop). Required.
    std::function<caf::error(uint64_t index, const std::string& data, write_batch& state)> apply;
    /// The key ranges that hold the owner's state, as `view` (of its applied index) sees them:
    /// a snapshot for a follower behind the compacted log is these ranges' records. Required
    /// unless the log is never compacted.
    std::function<caf::expected<std::vector<store_range>>(store_view& view)> state_ranges;
    /// Stages into `b` the removal of the owner's current state and its applied index at
    /// `snap.index`: the staged snapshot's records are moved into place once `b` is durable.
    std::function<caf::error(const raft::snapshot& snap, write_batch& b)> stage_install;
    /// The installed snapshot is in place: the owner loads its state from the store.
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
/// and the Raft unit tests. For each ready, in order: stage the log changes, received snapshot
/// chunks and an installed snapshot's marker into one batch; send `messages` (snapshot chunks
/// read from a view of the owner's state: one `snapshot_source` per follower, dropped when its
/// transfer ends); persist the batch durably; send `after_persist`; move an installed
/// snapshot into place and let the owner load it; apply the
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
    /// Fills a snapshot chunk to send; false: drop it (past the transfer's last chunk).
    [[nodiscard]] caf::expected<bool> fill_chunk(message& m);
    /// Whether the replica still sends transfer `session` to `to`.
    bool transfer_live(replica_id to, uint64_t session) const;
    /// Drops the sources of transfers that ended.
    void prune_sources();

    struct outgoing {
        uint64_t session = 0;
        uint64_t index = 0;  ///< the snapshot's (the state the view holds)
        uint64_t term = 0;
        std::unique_ptr<snapshot_source> source;
    };
    std::map<replica_id, outgoing> sending_;

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
