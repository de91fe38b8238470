#pragma once

// The node world's workload: writer, reader and audit clients running the production client
// actors, what the applications around them do (write at random intervals with the facade's
// back-pressure, resend after a restart, read and follow), and the history they record. Reads
// are checked as they arrive (sim/checkers.hpp). Internal to sim/.

#include "client/internal.hpp"
#include "sim/checkers.hpp"
#include "sim/env.hpp"
#include "sim/history.hpp"
#include "sim/history_dump.hpp"
#include "sim/prng.hpp"
#include "sim/txn_checkers.hpp"

#include <caf/actor.hpp>

#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace pravaha::sim {

class network;

enum class client_kind : uint8_t { writer, reader, audit, group_reader, txn_writer };

struct client_t {
    uint32_t id = 0;
    client_kind kind = client_kind::writer;
    bool idempotent = true;
    bool resends = false;  // idempotent: after a restart, resends what had no answer
    bool resumes = false;  // following reader: reopens at its position after a restart
    client::detail::start_offsets position;  // after the last event observed, per segment
    uint32_t stream = 0;
    uint32_t inc = 0;
    uint64_t attempt = 0;  // connection attempts of this client
    bool up = false;
    caf::actor connector;
    caf::actor directory;  // the process's view of the cluster (one per incarnation)
    caf::actor worker;     // a group reader's: its stream manager
    caf::actor driver;
    uint64_t next_seq = 0;
    // Writers: the application's back-pressure, as the writer facade's pending_bytes_max: it
    // hands a write to its writer object only while the bytes handed over and not yet answered
    // stay within writer.pending_bytes_max (or none are), and writes nothing new while a write
    // waits. Without it a writer slower than the offered load (one small block in flight)
    // queued thousands of events and could not drain them in the time allowed after healing
    // (seed 0xaf773a66 of the cluster profile).
    client::writer_config writer;  // the same in every incarnation
    size_t pending_bytes = 0;      // handed to the current writer object, not answered yet
    std::deque<size_t> outbox;     // writes (op indices) waiting for room, in order
    int64_t hold_until = 0;        // after storage_full the application waits until then
    // readers
    reader_view view;
    bool caught_up = false;
    std::vector<event_id> audited;  // audit clients: every event read, in order
    // group readers (sim/workload_group.cpp): the same name in every incarnation
    std::string reader_name;
    uint32_t joins = 0;       // join attempts (each with a token of its own)
    uint32_t object = 0;      // the reader object it reads with now (0: none)
    caf::actor group_reader;  // that object's reader actor
    // transaction processes (sim/workload_txn.cpp)
    bool recovers = false;      // after a restart, commits or aborts the transactions it left
    writer_id txn_wid;          // the application's stable writer id (listing by writer)
    uint32_t txn = 0;           // the run's number of its current transaction (0: none)
    bool txn_deciding = false;  // its commit or abort is asked (or drawn to linger)
    uint32_t txn_planned = 0;   // events the current transaction writes
    uint32_t txn_answered = 0;  // of them, answered
    caf::actor txn_writer;
    caf::actor pinger;
};

/// One join of a group reader: what it delivered is checked per object (sim/checkers.hpp
/// group_view).
struct reader_object {
    uint32_t client = 0;
    uint32_t inc = 0;
    uint32_t stream = 0;
    int64_t stalled_until = 0;  // its process stalled until then (0: never)
    size_t after_stall = 0;     // events it handed out after that
    bool ended = false;
    reader_view view;
};

class workload {
public:
    workload(sim_env& env, network& net);

    /// The history of every write the clients invoked.
    history& writes() { return history_; }
    const history& writes() const { return history_; }
    void set_streams(std::vector<stream_info> streams) {
        streams_ = std::move(streams);
        groups_.assign(env_.k.group_readers > 0 ? streams_.size() : 0, group_view{});
    }
    const std::vector<stream_info>& streams() const { return streams_; }
    std::vector<client_t>& clients() { return clients_; }
    const std::vector<client_t>& clients() const { return clients_; }
    /// Records every input of the online checkers (for `--dump-history`).
    void keep_journal() { journaling_ = true; }
    const std::vector<journal_entry>& journal() const { return journal_; }
    /// The history and the checker inputs so far, with what the audit read if it finished.
    recorded_run recorded(const std::string& header, bool audited) const;
    /// Called for every acknowledged write (the acknowledgement oracles).
    void on_acknowledged(std::function<void(const op_rec&)> fn) { on_acked_ = std::move(fn); }

    client_t& add_client(client_kind kind, uint32_t stream, bool idempotent);
    void start_client(client_t& c);
    /// Starts a writer's application loop.
    void start_writing(client_t& c);
    /// The client's process dies; with `zombie` set, a writer only stalls (for a time drawn
    /// from it) and later carries on unheard.
    void crash_client(client_t& c, prng* zombie = nullptr);
    /// Crashes `c` and starts it again at `restart_at`.
    void crash_and_restart(client_t& c, prng* zombie, int64_t restart_at);
    /// Starts one audit client per stream: they read everything from the head.
    void start_audit();
    bool audited() const;
    /// Every continuous reader has seen everything the audit of its stream saw.
    bool readers_at_tail() const;
    /// Every group has delivered everything the audit of its stream saw.
    bool groups_at_tail() const;
    /// A reader object whose range another read while it was not known to be lost (it must
    /// learn it was declared offline; the first such, for the message when it never does).
    finding group_suspect() const;
    /// The groups' end-of-run check (check_group_end), once audited.
    finding check_groups() const;
    /// An administrator's checkpoint of stream `stream`'s group completed with `cuts`.
    finding check_checkpoint(uint32_t stream,
                             const std::vector<stream_cut>& cuts,
                             const std::string& name) const;
    /// A group reader's process gives its reader back gracefully (and joins again later).
    void leave_group(client_t& c);
    /// What the audit and the readers lack, for a liveness message.
    std::string lagging() const;
    /// The writes still pending, by client, for a liveness message (empty: none).
    std::string pending_writes() const;
    /// Whether a write is pending or a writer has not reconnected (it may resend).
    bool writes_unresolved() const;
    /// How often each event appears in what the audit read.
    std::map<writer_seq, uint32_t> audited_counts() const;

    // -- transactions (sim/workload_txn.cpp) --
    /// Starts a transaction process's application loop.
    void start_transactions(client_t& c);
    /// Whether a transaction may still change: a call is in flight, a process has not decided,
    /// or the controller lists one that is not completed (asks it now and then).
    bool txns_unresolved();
    /// The transactions still unresolved, for a liveness message (empty: none).
    std::string pending_txns() const;
    /// End of the run: check_txn_final over what the readers were given and the audit read.
    finding check_txns() const;

    // -- called from the harness actors --
    /// A (re)opened writer with a stable id answered the highest client number its segments
    /// hold (the gateway's lastEventNumber).
    void on_sessions(uint32_t client, uint32_t inc, int64_t opened_at, int64_t last);
    /// Returns whether the reader should go on reading. `wait_ms` and `asked_at` describe the
    /// fetch that returned `evs`.
    bool on_read(uint32_t client,
                 uint32_t inc,
                 std::vector<client::event>& evs,
                 bool end,
                 uint32_t wait_ms,
                 int64_t asked_at);
    /// How long the next fetch of `client` may wait at the tail: 0 (a catch-up read: "what is
    /// there now?") for audits and sometimes for following readers.
    uint32_t fetch_wait(uint32_t client);
    int64_t now() const { return env_.now(); }

    // -- group readers (sim/workload_group.cpp), called from the group driver --
    std::string group_of(uint32_t client) const;
    static std::string group_of_stream(uint32_t stream) { return "g" + std::to_string(stream); }
    std::string reader_name(uint32_t client) const { return clients_[client].reader_name; }
    /// A fresh join token (a retried join inside the manager keeps it).
    uint64_t group_nonce(uint32_t client);
    uint32_t group_fetch_wait();
    /// The new reader object's id, or 0 when the process is gone (the reader is then ended).
    uint32_t on_group_joined(uint32_t client, uint32_t inc, const caf::actor& reader);
    /// The delay before joining again in ms, or -1: stop.
    int64_t on_group_join_failed(uint32_t client, uint32_t inc, const caf::error& err);
    /// Returns whether the driver should fetch again (`asked_at`: when it asked).
    bool on_group_read(uint32_t object, std::vector<client::event>& evs, int64_t asked_at);
    /// The reader object ended with `err` (declared offline, gave up): the delay before joining
    /// again, or -1.
    int64_t on_group_lost(uint32_t object, const caf::error& err);
    /// A fetch of the reader object failed with `err` while it leaves.
    void on_group_lost_leaving(uint32_t object, const caf::error& err);
    /// The reader object's close answered (no error: it left gracefully): the delay before
    /// joining again.
    int64_t on_group_left(uint32_t object, const caf::error& err);

private:
    void open_group_worker(client_t& c, const client::detail::endpoint_info& ep);
    void open_txn_worker(client_t& c, const client::detail::endpoint_info& ep);
    /// Asks the manager of `c` (as of now) `req`; `fn` gets the answer, or an error.
    void txn_call(client_t& c,
                  const txn_request& req,
                  std::function<void(caf::expected<txn_record>)> fn);
    std::pair<uint32_t, uint32_t> call_started(const client_t& c);
    void call_ended(std::pair<uint32_t, uint32_t> process);
    void forget_calls(uint32_t client);
    void begin_next_txn(uint32_t client, uint32_t inc);
    void on_txn_begun(uint32_t client, uint32_t inc, uint32_t n, caf::expected<txn_record> r);
    void write_txn_event(uint32_t client, uint32_t inc, uint32_t n);
    void on_txn_ack(uint32_t client, uint32_t inc, size_t index, const caf::error& err);
    void decide_txn(uint32_t client, uint32_t inc, uint32_t n);
    void send_decision(client_t& c, uint32_t n, uint64_t id, txn_op op);
    void on_txn_decided(uint32_t n, txn_op op, const caf::expected<txn_record>& r);
    /// A transaction's end, told to a client (`listed` false) or listed by the controller.
    void learn_txn(uint32_t n, const txn_record& rec, bool listed);
    void end_txn_process_state(client_t& c);
    void forget_pending_txn_ops(uint32_t client, uint32_t n);
    void stall_txn_process(client_t& c, prng& zombie);
    void recover_txns(client_t& c);
    void list_txns();
    void on_listed(const std::vector<txn_record>& recs);
    /// An event of a transaction was delivered to a reader: R1 and R2 (sim/txn_checkers.hpp).
    void on_txn_delivered(const event_id& ev, segment_ref segment, int64_t offset, int64_t after);
    void end_object(uint32_t object, bool lost);
    /// How many events the audit client `audit` read that its stream's group never delivered.
    size_t undelivered(const client_t& audit) const;
    void stall_group_reader(client_t& c, prng& zombie);
    /// A client process stalls: `frozen` run nothing until `until` (the CAF work source skips
    /// them); they and `also_killed` are killed for good 20 s from now.
    void stall_process(const std::vector<caf::actor>& frozen,
                       const std::vector<caf::actor>& also_killed,
                       int64_t until,
                       const std::string& who);
    client::detail::endpoint_info endpoint_for(client_t& c, uint16_t port);
    void open_worker(uint32_t id, uint16_t port, caf::strong_actor_ptr node);
    void spawn_writer(uint32_t id,
                      uint32_t inc,
                      const client::detail::endpoint_info& ep,
                      const stream_record& rec);
    void write_next(client_t& c);
    void submit(client_t& c, size_t op_index);
    void drain_outbox(client_t& c);
    void on_answer(uint32_t client, uint32_t inc, size_t bytes);
    void on_ack(uint32_t client, uint32_t inc, size_t op_index, const caf::error& err);
    void observe(client_t& c, const client::event& ev);

    sim_env& env_;
    network& net_;
    prng work_rng_;
    prng read_rng_;  // which following-reader fetches are catch-up reads
    prng txn_rng_;   // everything the transaction processes draw
    history history_;
    std::vector<stream_info> streams_;
    std::vector<client_t> clients_;
    std::vector<uint32_t> audit_clients_;
    offset_map offsets_;                  // every reader's (segment, offset) -> payload hash
    prng group_rng_;                      // group readers' fetch waits and rejoin delays
    std::vector<group_view> groups_;      // per stream, when the run has groups
    std::vector<reader_object> objects_;  // index: object id (0 unused)
    std::function<void(const op_rec&)> on_acked_;
    txn_layout layout_;
    std::map<uint64_t, uint32_t> txn_by_id_;  // controller id -> the run's number
    // Transaction requests in flight, per live process (client, incarnation).
    std::map<std::pair<uint32_t, uint32_t>, uint32_t> txn_calls_;
    bool listing_ = false;     // a listing is in flight
    int64_t listed_at_ = 0;    // when the last listing answered
    bool listed_all_ = false;  // it found every transaction completed
    std::string unresolved_;   // what the last listing found open
    bool journaling_ = false;
    std::vector<journal_entry> journal_;
};

}  // namespace pravaha::sim
