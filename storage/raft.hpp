#pragma once

#include "schema/raft_types.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pravaha::storage::raft {

using pravaha::raft::entry;
using pravaha::raft::message;
using pravaha::raft::msg_type;
using pravaha::raft::no_replica;
using pravaha::raft::replica_id;
using pravaha::raft::role;

class snapshot_pacer;

/// What a replica must persist before it replies: its term, its vote in that term and (lazily)
/// the commit index it knows.
struct hard_state {
    uint64_t term = 0;
    replica_id vote = no_replica;
    uint64_t commit = 0;
    bool operator==(const hard_state&) const = default;
};

/// A replica's durable state as loaded at start-up (storage/raft_log.hpp reads it).
struct durable_state {
    hard_state hard;
    uint64_t snapshot_index = 0;  ///< the log starts after this index (compacted or installed)
    uint64_t snapshot_term = 0;
    std::vector<entry> entries;  ///< snapshot_index+1 .. last, contiguous
    /// The replica started without any state (new or wiped disk) and has not yet caught up with
    /// a leader elected after it came back: it neither votes nor counts for commit.
    bool recovering = false;
    bool empty() const { return hard.term == 0 && snapshot_index == 0 && entries.empty(); }
};

struct config {
    uint32_t group = 0;
    replica_id id = no_replica;
    std::vector<replica_id> members;  ///< every voter, including `id`
    uint32_t election_ticks = 10;     ///< the election timeout is random in [e, 2e) ticks
    uint32_t heartbeat_ticks = 1;
    uint32_t inflight_max = 32;               ///< append messages in flight per follower
    size_t message_bytes_max = 1024 * 1024;   ///< entry bytes per append message (at least one)
    size_t retained_bytes_max = 64ull << 20;  ///< log kept for lagging followers before snapshots
    /// The owner (`ready_runner`) compacts once this many entries are applied durably and no
    /// longer needed by followers: one batch of point deletes per this many entries. 0: never.
    uint64_t compaction_entries = 256;
    /// ... or once the entries it could drop hold this many bytes (large entries: 256 entries
    /// of 1 MiB events kept a quarter of a GiB in memory per group).
    size_t compaction_bytes = 8u << 20;
    /// Snapshots go in chunks of about this many record bytes (a record larger than it makes
    /// a chunk of its own), at most `snapshot_window` chunks in flight per follower: what a
    /// snapshot holds in memory on either side is bounded by these, whatever the state's size.
    size_t snapshot_chunk_bytes = 4u << 20;
    uint32_t snapshot_window = 4;
    /// Snapshot bytes a leader may send per tick, all followers together (the budget is
    /// refilled each tick, up to one chunk beyond it); 0: no limit. Only without `pacer`.
    size_t snapshot_bytes_per_tick = 0;
    /// Shared by the groups of one node (storage/snapshot_pacer.hpp): the node's snapshot rate
    /// and one transfer at a time per follower node. Null: the replica paces itself by
    /// `snapshot_bytes_per_tick`.
    std::shared_ptr<snapshot_pacer> pacer;
    uint64_t seed = 1;  ///< for election timeouts (the injected randomness)
    /// The owner's tick in milliseconds: only for the progress a status shows.
    uint32_t tick_ms = 0;
};

/// A snapshot to install: the application's whole state at `index`, received in chunks into
/// the group's staging area (storage/raft_runner.hpp, snapshot_stager).
struct snapshot {
    uint64_t index = 0;
    uint64_t term = 0;
};

/// A chunk of a snapshot being received, to write into the group's staging area.
struct snapshot_chunk {
    uint64_t index = 0;   ///< the snapshot's index
    uint64_t number = 0;  ///< from 1; chunk 1 starts a transfer: the staging area is cleared first
    std::string data;     ///< records (storage/raft_runner.hpp, chunk format)
};

/// The work a replica hands to its owner. The owner must, in this order:
/// 1. persist `truncate_from`, `entries`, `hard`, `recovering` and `install` atomically and
///    durably (fsync);
/// 2. send `messages` (these may also be sent before step 1: they never depend on it) and then
///    `after_persist` (votes and acknowledgements: only after step 1);
/// 3. for each outgoing snapshot message fill `data` with the chunk of its state at the
///    message's index (the state at `applied()` when the transfer's first chunk is filled; the
///    owner keeps a consistent view for the later ones) and set `last_chunk` on the last one
///    (telling the replica: `snapshot_end`; chunks past the last are dropped); write `staged`
///    into the staging area; install `install` if set (its data is the staging area), then
///    apply entries (apply_from, apply_to] in order;
/// 4. call `advance()`.
struct ready {
    std::optional<hard_state> hard;
    std::optional<bool> recovering;
    uint64_t truncate_from = 0;  ///< remove stored entries >= this index first (0 = none)
    std::vector<entry> entries;
    std::vector<snapshot_chunk> staged;  ///< snapshot chunks received, in order
    std::optional<snapshot> install;     ///< replace the state and the log up to install->index
    std::vector<message> messages;
    std::vector<message> after_persist;
    uint64_t apply_from = 0;  ///< exclusive
    uint64_t apply_to = 0;    ///< inclusive
    bool empty() const;
};

/// A confirmed linearizable read point (see `replica::read_index`).
struct read_state {
    uint64_t ctx = 0;    ///< the owner's token for the read
    uint64_t index = 0;  ///< serve the read from the owner's state once applied >= index
};

/// Replication progress of one follower, as the leader sees it.
struct progress {
    enum class mode : uint8_t { probe, replicate, snapshot };
    mode state = mode::probe;
    uint64_t match = 0;
    uint64_t next = 1;
    uint32_t inflight = 0;               ///< append messages sent and not yet acknowledged
    std::deque<uint64_t> inflight_last;  ///< last index of each message in flight
    bool paused = false;                 ///< probe: one message outstanding
    uint32_t stall_ticks = 0;            ///< ticks without progress while something is in flight
    bool recent_active = false;          ///< heard from since the last quorum check
    /// Heard from before the last quorum check (true until the first): for the node's metrics,
    /// a follower that stays silent (dead, cut off) though nothing is in flight to it.
    bool active_at_check = true;
    bool recovering = false;        ///< the follower's acks do not count
    uint64_t recovering_bound = 0;  ///< its term bound (see durable_state::recovering)
    uint64_t read_ack = 0;          ///< highest read round it answered in this term
    /// mode::snapshot: the transfer under way (chunks are numbered from 1).
    struct transfer {
        uint64_t session = 0;  ///< unique per leader replica (0: none)
        uint64_t index = 0;
        uint64_t term = 0;
        uint64_t acked = 0;        ///< chunks the follower holds (1..acked)
        uint64_t next = 1;         ///< the next chunk to send
        uint64_t last = 0;         ///< the number of the last chunk, once known (0: not yet)
        uint64_t bytes_sent = 0;   ///< chunk bytes sent in this transfer (resends included)
        uint64_t bytes_total = 0;  ///< the owner's estimate of the state's size
        uint64_t ticks = 0;        ///< since the transfer began
        uint64_t resend_mark = 0;  ///< chunks below this were sent before the last resend
    };
    transfer snap;
};

/// One member of a Raft group as a pure, deterministic state machine (etcd's raft library's
/// shape): inputs are ticks, messages and proposals; outputs come out of `take_ready()`.
///
/// - Elections: randomized timeouts, pre-vote (a replica asks before it raises its term, so a
///   partitioned replica cannot disrupt a healthy leader), check-quorum (a leader that has not
///   heard from a majority for an election timeout steps down), votes only for up-to-date logs.
/// - Replication: pipelined appends (up to `inflight_max` messages per follower), probing back on
///   rejection, snapshots for followers behind the compacted log.
/// - Commit: only entries of the current term by counting, and only with a majority of members
///   that fsynced them (the leader counts itself after `advance()`).
/// - Replicas that start empty are `recovering` (see durable_state): they ask every peer for its
///   term, follow leaders, and become full members once they have caught up with a leader whose
///   term is above every term a peer had when they came back; such a leader is elected for them
///   if needed (the old leader campaigns again). If no member holds an entry they become full
///   members at once, taking the highest term a peer had as one they already voted in.
///
/// Not thread-safe; owned by one actor. Never does I/O.
class replica {
public:
    replica(config cfg, durable_state state, uint64_t applied);
    /// Releases the followers it holds in its pacer.
    ~replica();
    replica(const replica&) = delete;
    replica& operator=(const replica&) = delete;

    void tick();
    void step(const message& m);
    /// Starts an election at once, without pre-vote and past other replicas' leader leases
    /// (leadership transfer, tests). No effect on a leader or a recovering replica.
    void campaign_now();
    /// The owner cannot take new data (its disk is full): a leader hands its leadership to an
    /// up-to-date follower (timeout_now; asked again every election timeout while no follower
    /// takes it); a follower ignores timeout_now and waits three election
    /// timeouts before it campaigns, so that a replica with room is elected first (if none
    /// is, this one still leads: reads and deletes need a leader). Takes effect at the next
    /// tick.
    void set_reluctant(bool reluctant);
    bool reluctant() const { return reluctant_; }
    /// Appends `data` as a new entry if this replica leads. Returns its index.
    /// Errors: not_leader (with the leader hint as context when known).
    [[nodiscard]] caf::expected<uint64_t> propose(std::string data);
    /// Asks for a linearizable read point (Raft thesis 6.4, etcd's ReadIndex). A leader's state
    /// can lag what the group committed: a new leader has not yet learned or applied everything
    /// committed before its term, and a leader that was paused or cut off may have been replaced
    /// without knowing it. The read is confirmed once this leader has committed an entry of its
    /// own term and a majority of voters answered an append or heartbeat sent after the request
    /// in this term; `take_reads()` then hands out (ctx, commit index). The owner's state at
    /// applied >= that index holds everything committed before the request. A read not yet
    /// confirmed is dropped when the replica stops leading (the owner fails it: not_leader).
    /// Errors: not_leader.
    [[nodiscard]] caf::error read_index(uint64_t ctx);
    /// The owner took the view of transfer `session` to `to` at `index` (its applied index
    /// when it filled the first chunk). No effect if the transfer is no longer under way.
    /// `bytes` estimates the state's size (progress).
    void snapshot_at(
        replica_id to, uint64_t session, uint64_t index, uint64_t term, uint64_t bytes);
    /// The owner found that chunk `number` of transfer `session` to `to` is its last: no chunk
    /// past it is sent. No effect if the transfer is no longer under way.
    void snapshot_end(replica_id to, uint64_t session, uint64_t number);
    /// Chunk bytes the owner filled for transfer `session` to `to` (progress, throttle).
    void snapshot_sent(replica_id to, uint64_t session, size_t bytes);
    /// The reads confirmed since the last call.
    std::vector<read_state> take_reads();
    /// Reads asked for and not yet confirmed.
    size_t reads_pending() const { return reads_pending_.size(); }

    bool has_ready() const;
    ready take_ready();
    /// The last ready was persisted and applied.
    void advance();

    /// The owner's state through `index` (<= applied) is durable: entries up to `index` may be
    /// dropped (call `compact_point` for a sensible index).
    void compact(uint64_t index);
    /// The highest index the owner should compact to, given that its state is durable through
    /// `durable_applied`: entries still needed by live followers are kept unless they exceed
    /// `retained_bytes_max`.
    uint64_t compact_point(uint64_t durable_applied) const;

    /// Bytes of the entries held (snapshot_index, last_index()].
    size_t log_bytes() const { return log_bytes_; }
    /// Bytes of the entries in (snapshot_index, index], counted up to `at_least` at most.
    size_t log_bytes_through(uint64_t index, size_t at_least) const;
    /// Entry at `index` (snapshot_index < index <= last_index()), else null.
    const entry* entry_at(uint64_t index) const;
    std::optional<uint64_t> term_at(uint64_t index) const;
    /// Term of the entry at applied(), the index a snapshot is taken at (asserts it is in the
    /// log: only a planted bug, truncate_committed, pulls the log back below what was applied).
    uint64_t applied_term() const;

    role state() const { return role_; }
    uint64_t term() const { return hard_.term; }
    replica_id id() const { return cfg_.id; }
    replica_id leader() const { return leader_; }
    uint64_t commit() const { return hard_.commit; }
    uint64_t applied() const { return applied_; }
    uint64_t last_index() const { return snap_index_ + log_.size(); }
    uint64_t snapshot_index() const { return snap_index_; }
    bool recovering() const { return recovering_; }
    const std::map<replica_id, progress>& followers() const { return progress_; }
    const config& cfg() const { return cfg_; }

private:
    size_t quorum() const { return cfg_.members.size() / 2 + 1; }
    uint64_t last_term() const;
    bool log_up_to_date(uint64_t last_term, uint64_t last_index) const;
    void reset_election_timer();
    void become_follower(uint64_t term, replica_id leader);
    void become_candidate(bool force = false);
    void become_leader();
    void campaign(bool pre, bool force = false);
    /// A reluctant leader's handover: timeout_now to the most up-to-date active follower.
    void hand_over();
    void set_term(uint64_t term);
    void send(message m, bool after_persist);
    void send_append(replica_id to, bool allow_empty);
    void broadcast_append();
    /// Falls back to probing `to` from `next` (one message at a time) and sends the probe.
    void reprobe(replica_id to, uint64_t next);
    /// `to`'s transfer ended (or never began): its follower node is free for other groups.
    void end_transfer(replica_id to, progress& pr);
    /// Heartbeats to every follower; with `reprobe`, a follower whose probe is outstanding gets
    /// the probe again instead (the tick's heartbeats; a read round only needs answers).
    void send_heartbeats(bool reprobe = true);
    void send_heartbeat(replica_id to);
    void maybe_commit();
    /// Confirms the pending reads a majority has answered (see read_index).
    void advance_reads();
    void drop_reads();
    void handle_vote_request(const message& m);
    void handle_vote_response(const message& m);
    /// Accepts the sender of an append or snapshot of the current term as leader and returns
    /// the answer to fill in.
    message follow(const message& m);
    void handle_append(const message& m);
    void handle_append_response(const message& m);
    void handle_snapshot(const message& m);
    void handle_snapshot_response(const message& m);
    /// Sends the next chunks of `to`'s transfer, within the window and the throttle.
    void send_snapshot_chunks(replica_id to);
    void handle_probe_response(const message& m);
    void tick_leader();
    void tick_probes();
    bool caught_up_after_recovery() const;
    void leave_recovering();
    void append_local(uint64_t term, std::string data);
    void truncate_after(uint64_t index);
    uint64_t find_conflict_hint(uint64_t index) const;

    config cfg_;
    hard_state hard_;
    hard_state persisted_hard_;
    bool recovering_ = false;
    bool reluctant_ = false;
    /// Ticks until a reluctant leader tries to hand over again (one election timeout apart).
    uint32_t handover_wait_ = 0;
    std::optional<bool> recovering_dirty_;
    role role_ = role::follower;
    replica_id leader_ = no_replica;

    uint64_t snap_index_ = 0;
    uint64_t snap_term_ = 0;
    std::deque<entry> log_;
    size_t log_bytes_ = 0;
    uint64_t unstable_from_ = 1;  ///< lowest index not yet handed to the owner for persistence
    uint64_t stable_last_ = 0;    ///< last index persisted (after advance)
    uint64_t truncate_from_ = 0;
    std::optional<snapshot> install_;
    std::vector<snapshot_chunk> staged_;
    /// A transfer this follower receives: chunks 1..next-1 are staged.
    struct incoming {
        uint64_t term = 0;
        uint64_t session = 0;
        uint64_t index = 0;
        uint64_t log_term = 0;
        uint64_t next = 1;
    };
    std::optional<incoming> incoming_;
    uint64_t snapshot_sessions_ = 0;         ///< transfers started by this replica
    std::shared_ptr<snapshot_pacer> pacer_;  ///< throttle and one transfer per follower node
    uint64_t applied_ = 0;

    // in-flight ready
    bool ready_out_ = false;
    uint64_t ready_last_ = 0;
    uint64_t ready_apply_to_ = 0;

    uint32_t election_elapsed_ = 0;
    uint32_t heartbeat_elapsed_ = 0;
    uint32_t randomized_timeout_ = 0;
    uint64_t rng_;
    std::map<replica_id, bool> votes_;
    std::map<replica_id, progress> progress_;

    // recovering: peers' answers to probe_term (term, has data)
    std::map<replica_id, std::pair<uint64_t, bool>> probe_answers_;
    uint64_t recovering_bound_ = 0;
    bool bound_known_ = false;

    // linearizable reads: (ctx, round) in round order; rounds ride on appends and heartbeats
    std::deque<std::pair<uint64_t, uint64_t>> reads_pending_;
    std::vector<read_state> reads_ready_;
    uint64_t read_round_ = 0;

    std::vector<message> msgs_;
    std::vector<message> msgs_after_;
};

}  // namespace pravaha::storage::raft
