#pragma once

#include "schema/errc.hpp"
#include "schema/records.hpp"
#include "schema/types.hpp"
#include "storage/log_store.hpp"
#include "storage/reader_group.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace pravaha::storage {

/// The controller's metadata: scopes and streams. Every change is written with an fsync before
/// the call returns, so an acknowledged metadata change survives a crash.
///
/// Lifecycle: construct, `load()`, then any calls. Owned by one (detached) actor.
class controller_state {
public:
    /// `replicated`: the controller is a Raft group (group 0). Changes then go through
    /// `apply` on every replica and are written unsynced together with the applied index; the
    /// Raft log entry, fsynced on a majority, is what makes them durable.
    /// `container_count`: the segment containers of the cluster (transaction segments are
    /// placed in their parent's); `limits`: of transactions.
    explicit controller_state(log_store& store,
                              bool replicated = false,
                              uint32_t container_count = 1,
                              txn_limits limits = {});

    /// A metadata change as a Raft log entry (schema/records.hpp).
    using command = controller_command;
    static std::string encode(const command& c) { return encode_controller_command(c); }
    /// Errors: malformed_message.
    [[nodiscard]] static caf::expected<command> decode(std::string_view bytes) {
        return decode_controller_command(bytes);
    }

    /// What a command did: its error for the client (e.g. stream_exists), or the record (and,
    /// for scale_begin, the scale it recorded).
    struct outcome {
        caf::error error;
        stream_record record;
        scale_result scale;
        reader_group_record group;    ///< group commands: the group after the command
        group_assignment assignment;  ///< group_join, group_sync
        /// group_offline: false when the session was gone; scale_done and txn_*: false for a
        /// repeat that found the change made already.
        bool changed = true;
        txn_record txn;  ///< transaction commands: the transaction after it
    };
    /// Applies committed entry `index` (replicated mode). A storage error is returned as the
    /// error of the call: the owner must stop.
    [[nodiscard]] caf::expected<outcome> apply(uint64_t index, const command& c);
    /// Standalone group commit: from now on `apply` writes its changes unsynced, and `sync`
    /// makes every change written so far durable (one fsync for a group of commands). The
    /// caller must not let anything read the state between the two (actors/controller.cpp).
    void set_deferred_sync(bool on) { defer_sync_ = on; }
    /// Makes every change written unsynced durable (nothing to do when there is none).
    [[nodiscard]] caf::error sync();
    /// Records an applied entry that changes nothing (a Raft leader's no-op).
    [[nodiscard]] caf::error apply_noop(uint64_t index);
    uint64_t applied_index() const { return applied_index_; }

    /// The key range of all metadata (every `M` key a replica needs sorts inside it), for a
    /// Raft follower behind the compacted log: the snapshot is its records, read in chunks.
    static std::vector<store_range> state_ranges();
    /// Adds to `b` the removal of all metadata and the applied index `index`: a snapshot's
    /// records are then moved into place (storage/raft_runner.hpp), after which the owner calls
    /// `load()`.
    void stage_install(uint64_t index, write_batch& b) const;

    /// Loads all scopes and stream records. Errors: storage_io, malformed_message.
    [[nodiscard]] caf::error load();

    [[nodiscard]] caf::error create_scope(const std::string& scope);
    /// Errors: scope_not_found, scope_not_empty.
    [[nodiscard]] caf::error delete_scope(const std::string& scope);
    std::vector<std::string> list_scopes() const;

    /// Creates an active stream of `segments` equal ranges in epoch 0 with a fresh uid. A fixed
    /// policy is recorded as fixed(segments); another must allow `segments` (min_segments).
    /// Errors: invalid_name, invalid_argument, scope_not_found, stream_exists, storage_io.
    [[nodiscard]] caf::expected<stream_record> create_stream(const std::string& scope,
                                                             const std::string& name,
                                                             uint32_t segments,
                                                             int64_t now_ms,
                                                             scaling_policy policy = {});
    /// Replaces the stream's scaling policy (fixed: `policy.min_segments` is its segment count;
    /// nothing is rescaled). Errors: invalid_argument, stream_not_found, stream_sealed,
    /// conflict (a scale runs), storage_io.
    [[nodiscard]] caf::expected<stream_record> update_stream(const std::string& scope,
                                                             const std::string& name,
                                                             scaling_policy policy);
    /// Validates a scale and records it as the stream's transition together with the new epoch
    /// in the history (section "scale workflow" of ARCHITECTURE.md). The retry of a scale that
    /// is running or already done answers that scale. Errors: stream_not_found, stream_sealed,
    /// conflict (another scale runs), invalid_argument (segments not in the current epoch, not
    /// adjacent, ranges that do not cover them exactly, a count out of bounds), storage_io.
    [[nodiscard]] caf::expected<scale_result> scale_begin(const std::string& scope,
                                                          const std::string& name,
                                                          const scale_request& req,
                                                          int64_t now_ms);
    /// Finishes the running scale to `target_epoch` once its predecessors are sealed: records
    /// their final `lengths` and makes the new epoch current. Repeating it is a no-op.
    /// Errors: stream_not_found, invalid_argument (no such scale, lengths missing), storage_io.
    [[nodiscard]] caf::expected<stream_record> scale_done(
        const std::string& scope,
        const std::string& name,
        uint32_t target_epoch,
        const std::vector<std::pair<segment_id, int64_t>>& lengths);

    /// Every epoch of the stream, oldest first (while a scale runs, the last one is its new
    /// epoch, without sealed lengths yet). Errors: as get_stream.
    [[nodiscard]] caf::expected<std::vector<epoch_info>> history(const std::string& scope,
                                                                 const std::string& name) const;
    /// What replaced `segment`: nothing yet (sealed false), nothing ever (stream_sealed), or
    /// its successors with all their predecessors. Errors: as get_stream; segment_not_found.
    [[nodiscard]] caf::expected<segment_successors> successors(const std::string& scope,
                                                               const std::string& name,
                                                               segment_id segment) const;
    /// The head cut: the first epoch's segments at offset 0.
    [[nodiscard]] caf::expected<stream_cut> head_cut(const std::string& scope,
                                                     const std::string& name) const;
    /// Checks a cut against the history and fills in its ranges, sorted by key start: every
    /// segment known, offsets not negative and not past a sealed segment's length, the ranges
    /// covering [0,1) exactly. Live segments' offsets are checked by the caller.
    /// Errors: as get_stream; invalid_argument saying what is wrong.
    [[nodiscard]] caf::expected<stream_cut> resolve_cut(const std::string& scope,
                                                        const std::string& name,
                                                        const stream_cut& cut) const;
    [[nodiscard]] caf::expected<std::vector<std::string>> list_streams(
        const std::string& scope) const;
    [[nodiscard]] caf::expected<stream_record> get_stream(const std::string& scope,
                                                          const std::string& name) const;
    /// Marks the stream sealed (idempotent). The caller then seals its segments.
    [[nodiscard]] caf::expected<stream_record> seal_stream(const std::string& scope,
                                                           const std::string& name);
    /// Removes the record of a sealed stream. Errors: stream_not_found, stream_not_sealed.
    [[nodiscard]] caf::error delete_stream(const std::string& scope, const std::string& name);

    /// Every stream record (for re-issuing idempotent segment operations after a restart).
    std::vector<stream_record> all_streams() const;

    // -- reader groups (controller_groups.cpp; changed only through `apply`) --------------------

    /// Errors: invalid_name, group_not_found.
    [[nodiscard]] caf::expected<reader_group_record> get_group(const std::string& scope,
                                                               const std::string& name) const;
    /// Errors: invalid_name, scope_not_found.
    [[nodiscard]] caf::expected<std::vector<std::string>> list_groups(
        const std::string& scope) const;
    std::vector<reader_group_record> all_groups() const;
    /// What the group rules see of the streams: successors from the history (also while their
    /// scale runs: a reader reaches a predecessor's end once it is sealed, before the scale is
    /// done) and segment ranges.
    group_streams streams_view() const;

    // -- transactions (controller_txns.cpp; changed only through `apply`) -----------------------

    /// Errors: as get_stream; transaction_not_found.
    [[nodiscard]] caf::expected<txn_record> get_txn(const std::string& scope,
                                                    const std::string& name,
                                                    uint64_t id) const;
    /// Every transaction of the stream (also completed ones still kept), by id.
    [[nodiscard]] caf::expected<std::vector<txn_record>> list_txns(const std::string& scope,
                                                                   const std::string& name) const;
    std::vector<txn_record> all_txns() const;
    /// Every transaction not completed (open, committing, aborting), of every stream: what the
    /// controller's workflows and lease actors work on (completed ones may be many: kept 24 h).
    std::vector<txn_record> live_txns() const;

    /// How much metadata there is (the node's metrics): O(streams + live transactions).
    struct counts_t {
        size_t scopes = 0;
        size_t streams = 0;
        size_t sealed_streams = 0;
        size_t active_segments = 0;  ///< of the streams' current epochs (sealed streams: none)
        size_t reader_groups = 0;
        size_t open_txns = 0;
        size_t committing_txns = 0;  ///< committing or aborting
        /// Per reader group ("scope/name"), the readers online.
        std::map<std::string, size_t> readers_online;
        /// Per stream ("scope/name"), its uid (only when asked for: a series per stream).
        std::map<std::string, uint64_t> stream_uids;
    };
    counts_t counts(bool stream_uids = false) const;
    /// The scope of every stream uid a client may append to or read: the streams' and their live
    /// transactions' segments' (client_access checks appends and reads by it).
    std::map<uint64_t, std::string> uid_scopes() const;
    /// The stream's transactions not completed. Errors: as get_stream.
    [[nodiscard]] caf::expected<std::vector<txn_record>> live_txns_of(
        const std::string& scope, const std::string& name) const;
    const txn_limits& limits() const { return limits_; }

    /// How a committing transaction's events get into the stream now (controller_roll.cpp):
    /// merged into `targets` (one per transaction segment, in its order: the current segments
    /// its parents' ranges live on, or the running roll's duplicates when it is in that roll's
    /// batch); rolled (a parent's range is gone from the current epoch: a `txn_roll` first); or
    /// wait (a scale, or a roll of other transactions, runs).
    struct commit_step {
        enum class kind : uint8_t { merge, roll, wait };
        kind what = kind::wait;
        std::vector<segment_key> targets;
        uint32_t epoch = 0;  ///< merge: the epoch the targets were made in
    };
    /// Errors: as get_txn; invalid_argument when `t` is not committing.
    [[nodiscard]] caf::expected<commit_step> commit_step_of(const txn_record& t) const;
    /// How many transactions one roll commits at most (Pravega: 100 per epoch).
    static constexpr size_t roll_batch_max = 100;

private:
    using stream_name = std::pair<std::string, std::string>;
    caf::error persist(write_batch& batch);
    // Writes `rec` (with whatever `b` holds already) and keeps it as the stream's record.
    caf::error save(const stream_record& rec, write_batch& b);
    // Puts epoch `i` of the stream's in-memory history into `b` as its persisted record.
    void put_epoch(write_batch& b, const stream_name& n, size_t i) const;
    // Records each segment's final length in every epoch of `h` that holds it.
    static void set_sealed_lengths(std::vector<epoch_info>& h,
                                   const std::vector<std::pair<segment_id, int64_t>>& lengths);
    // Checks the invariants of a stream after a change (always on).
    void check_stream(const stream_name& n) const;
    // Applies a reader-group command (kinds group_*) into `out`.
    void apply_group(const command& c, outcome& out);
    // Validates a new group's configuration against the streams, its cuts resolved.
    caf::expected<group_config> check_group_config(const std::string& scope,
                                                   const std::string& name,
                                                   const group_config& config) const;
    // Writes `g` and keeps it as the group's record.
    caf::error save_group(const reader_group_record& g);
    caf::error load_groups();
    // Applies a transaction command (kinds txn_*) into `out`.
    void apply_txn(const command& c, outcome& out);
    caf::expected<txn_record> begin_txn(const command& c, write_batch& b);
    caf::error save_txn(const txn_record& t, write_batch& b);
    void purge_txns(stream_uid uid,
                    int64_t now_ms,
                    const std::vector<txn_record>& current,
                    write_batch& b);
    // A seal of stream `uid`: conflict while a commit is merged, else its open transactions
    // abort (into `b`).
    caf::error seal_txns(stream_uid uid, write_batch& b);
    void check_txn(const txn_record& t) const;
    // conflict while a transaction of stream `uid` is committing (its merges are under way).
    caf::error committing_txn(stream_uid uid) const;
    // Rolling transactions (controller_roll.cpp): the txn_roll and txn_rolled commands.
    void begin_roll(const command& c, outcome& out);
    void finish_roll(const command& c, outcome& out);
    // conflict while a committing transaction of `rec` merges into its current segments (a
    // scale must not seal one of them between two merges of one transaction).
    caf::error direct_commit_pending(const stream_record& rec) const;
    // The origin of segment `id` of stream `n` (itself unless it is a roll's duplicate), from the
    // epoch that made it (epochs that carry a segment over do not repeat its origin).
    segment_id root_of_segment(const stream_name& n, segment_id id) const;
    // A new segment id of `epoch` whose key falls in container `container` (numbers skipped on
    // the way stay unused).
    segment_id salted_id(stream_record& rec, uint32_t epoch, uint32_t container) const;
    caf::error load_txns();
    // Keeps `t` (replacing a record of its id) in txns_ and the indexes; forgets one.
    void remember_txn(const txn_record& t);
    void forget_txn(uint64_t id);
    const stream_record* stream_of(stream_uid uid) const;
    // The names of `scope`'s entries of `m` (streams or groups). Errors: scope_not_found.
    template <class T>
    caf::expected<std::vector<std::string>> names_in(const std::map<stream_name, T>& m,
                                                     const std::string& scope) const {
        if (scopes_.count(scope) == 0) {
            return caf::make_error(errc::scope_not_found, "scope " + scope + " does not exist");
        }
        std::vector<std::string> out;
        for (auto it = m.lower_bound({scope, ""}); it != m.end() && it->first.first == scope;
             ++it) {
            out.push_back(it->first.second);
        }
        return out;
    }

    log_store& store_;
    bool replicated_;
    bool defer_sync_ = false;  // standalone group commit: `sync` makes the changes durable
    bool unsynced_ = false;    // a change was written since the last sync
    uint64_t applied_index_ = 0;
    uint64_t applying_index_ = 0;  // the entry being applied (replicated mode)
    std::set<std::string> scopes_;
    std::map<stream_name, stream_record> streams_;
    /// Every epoch of every stream, sealed lengths resolved.
    std::map<stream_name, std::vector<epoch_info>> history_;
    std::map<stream_name, reader_group_record> groups_;
    std::map<uint64_t, txn_record> txns_;  ///< by id
    std::set<uint64_t> live_txns_;         ///< ids of those not completed
    /// Per stream, its completed ones by (completed_ms, id): the oldest purged first.
    std::map<stream_uid, std::set<std::pair<int64_t, uint64_t>>> completed_txns_;
    uint32_t container_count_ = 1;
    txn_limits limits_;
    uint64_t next_uid_ = 1;
};

}  // namespace pravaha::storage
