#pragma once

/// Module `client`: the C++ client library and the `pravaha` / `pravaha-bench` tools.
///
/// - `client_factory`: connects to a node (any node answers) and creates the objects below.
/// - `stream_manager`: scopes and streams (blocking calls returning `caf::expected`).
/// - `event_writer`: routes events by routing key to segments, keeps per-key order, batches
///   events into append blocks with several blocks in flight per segment, and reconnects and
///   resends transparently; the node drops resent duplicates by writer id + event number.
/// - `event_reader`: reads every segment of a stream from its head or tail.
///
/// All objects are thread-compatible: one thread uses one object at a time. Callbacks given to
/// `event_writer::write` run on the writer's internal thread and must not block.
///
/// May include: schema, runtime/transport.

#include "schema/group_types.hpp"
#include "schema/raft_types.hpp"
#include "schema/txn_types.hpp"
#include "schema/types.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pravaha::client {

struct client_config {
    std::string endpoint = "127.0.0.1:9090";
    std::chrono::milliseconds request_timeout{10000};
    /// How long a writer or reader keeps retrying after losing its node before giving up.
    std::chrono::milliseconds retry_timeout{60000};
    /// Worker threads of the client's actor system (0: one per core). One is the default: the
    /// client's actors do little work per message, and a single worker saves a cross-thread
    /// wake-up per message (one-at-a-time append p50 291-295 us against 330 us with two workers
    /// on 2 cores, pipelined and 16-writer throughput within noise).
    size_t worker_threads = 1;
    /// The cluster this client works with (`pravaha cluster status` shows a node's id). Empty:
    /// the cluster of the first node it reaches. A node of another cluster at the endpoint (a
    /// wrong address, a node replaced by another cluster's) is refused with invalid_argument,
    /// never written to.
    std::string cluster_id;
    /// The token a node started with --token-file wants (`pravaha-node token create`); its
    /// rights per scope decide what this client may do (errors unauthenticated and
    /// permission_denied). Empty: none (a node without a token file lets every client in).
    std::string token;
    /// TLS to nodes started with --tls-*: PEM files of the CA that signs the nodes'
    /// certificates, and of this client's certificate (of the same CA) and key. All three or
    /// none. The nodes' certificates must name the hosts the client connects to.
    std::string tls_ca;
    std::string tls_cert;
    std::string tls_key;
    /// Appends go over the node's framed data port when it offers one (ARCHITECTURE.md "The
    /// framed data path": fewer thread hand-offs per append); false: over the CAF connection
    /// only. Not with a token or TLS (the data port has neither yet).
    bool data_port = true;
};

class stream_manager {
public:
    virtual ~stream_manager() = default;
    [[nodiscard]] virtual caf::error create_scope(const std::string& scope) = 0;
    [[nodiscard]] virtual caf::error delete_scope(const std::string& scope) = 0;
    [[nodiscard]] virtual caf::expected<std::vector<std::string>> list_scopes() = 0;
    [[nodiscard]] virtual caf::expected<stream_record> create_stream(const std::string& scope,
                                                                     const std::string& stream,
                                                                     uint32_t segments) = 0;
    /// A stream that scales by `policy` (fixed: `segments` segments for good).
    [[nodiscard]] virtual caf::expected<stream_record> create_stream(
        const std::string& scope,
        const std::string& stream,
        uint32_t segments,
        const scaling_policy& policy) = 0;
    /// Replaces the stream's scaling policy; nothing is rescaled by the update itself.
    [[nodiscard]] virtual caf::expected<stream_record> update_stream(
        const std::string& scope, const std::string& stream, const scaling_policy& policy) = 0;
    /// Seals `req.seal` (segments of the current epoch) and replaces them by segments over
    /// `req.create`; answered once the new epoch is current. Errors: invalid_argument (not in the
    /// current epoch, not adjacent, ranges that do not cover them), conflict (another operation
    /// of the stream runs), stream_sealed, and those of stream_info_of.
    [[nodiscard]] virtual caf::expected<scale_result> scale(const std::string& scope,
                                                            const std::string& stream,
                                                            const scale_request& req) = 0;
    /// Splits `segment` into `parts` equal ranges (a scale).
    [[nodiscard]] caf::expected<scale_result> split(const std::string& scope,
                                                    const std::string& stream,
                                                    segment_id segment,
                                                    uint32_t parts);
    /// Merges adjacent segments of the current epoch into one (a scale).
    [[nodiscard]] caf::expected<scale_result> merge(const std::string& scope,
                                                    const std::string& stream,
                                                    const std::vector<segment_id>& segments);
    /// Every epoch of the stream, oldest first.
    [[nodiscard]] virtual caf::expected<std::vector<epoch_info>> history(
        const std::string& scope, const std::string& stream) = 0;
    /// The head cut (`head`: the first epoch at 0) or the tail cut (the current segments at
    /// their lengths).
    [[nodiscard]] virtual caf::expected<stream_cut> cut(const std::string& scope,
                                                        const std::string& stream,
                                                        bool head) = 0;
    [[nodiscard]] virtual caf::expected<std::vector<std::string>> list_streams(
        const std::string& scope) = 0;
    [[nodiscard]] virtual caf::expected<stream_info> stream_info_of(const std::string& scope,
                                                                    const std::string& stream) = 0;
    [[nodiscard]] virtual caf::error seal_stream(const std::string& scope,
                                                 const std::string& stream) = 0;
    [[nodiscard]] virtual caf::error delete_stream(const std::string& scope,
                                                   const std::string& stream) = 0;
    /// The cluster as the connected node sees it: members, container count, and the status of
    /// the Raft groups it hosts (group 0 = controller, c + 1 = container c).
    [[nodiscard]] virtual caf::expected<raft::cluster_info> cluster_status() = 0;
};

/// Reader groups (ARCHITECTURE.md "Reader groups"): readers that share streams, each segment read
/// by one of them at a time, with checkpoints and resets.
class reader_group_manager {
public:
    virtual ~reader_group_manager() = default;
    /// Creates group scope/name over `cfg.streams` (a start cut that names no segment: the
    /// stream's head). A retry with the same configuration answers the group. Errors:
    /// invalid_name, invalid_argument (lease, interval, cuts), scope_not_found, stream_not_found,
    /// group_exists (another configuration).
    [[nodiscard]] virtual caf::expected<group_info> create_group(const std::string& scope,
                                                                 const std::string& name,
                                                                 const group_config& cfg) = 0;
    /// Errors: group_not_found.
    [[nodiscard]] virtual caf::error delete_group(const std::string& scope,
                                                  const std::string& name) = 0;
    [[nodiscard]] virtual caf::expected<std::vector<std::string>> list_groups(
        const std::string& scope) = 0;
    /// Online readers with their segments and unread bytes, unassigned and waiting segments,
    /// checkpoints. Errors: group_not_found.
    [[nodiscard]] virtual caf::expected<group_info> group(const std::string& scope,
                                                          const std::string& name) = 0;
    /// Begins checkpoint `checkpoint` (or finds it) and waits until every online reader recorded
    /// its position: one cut per stream of the group. Errors: group_not_found, conflict (three
    /// pending already, or dropped by a reset), timeout (readers that do not read).
    [[nodiscard]] virtual caf::expected<std::vector<stream_cut>> checkpoint(
        const std::string& scope, const std::string& name, const std::string& checkpoint) = 0;
    /// Rewinds the group to completed checkpoint `checkpoint`, or (empty name) to `cuts`, one
    /// per stream of the group: every reader is told reader_offline and joins again. Returns
    /// the new generation. Errors: group_not_found, invalid_argument.
    [[nodiscard]] virtual caf::expected<uint32_t> reset(const std::string& scope,
                                                        const std::string& name,
                                                        const std::string& checkpoint,
                                                        const std::vector<stream_cut>& cuts) = 0;
};

struct writer_config {
    size_t block_bytes_max = 1024 * 1024;         ///< events per append block, by bytes
    size_t blocks_in_flight_max = 8;              ///< per segment
    size_t pending_bytes_max = 64 * 1024 * 1024;  ///< write() blocks beyond this (back-pressure)
    /// A stable writer id (for example derived from the producer's name). With one, the writer
    /// opens a session on each segment before its first append: it continues after the last
    /// event stored under this id, and appends of any earlier writer object with the same id
    /// are refused from then on (errc::writer_fenced), so a restarted producer cannot have its
    /// new events mistaken for duplicates of the old ones. An earlier writer object refused so
    /// on one segment stops on every segment: what it held and every later write fail with
    /// errc::writer_fenced (stored or not). Without one, every writer object
    /// gets a fresh random id (Pravega's behaviour).
    std::optional<writer_id> id;
};

/// Called once per event: empty error on durable acknowledgement, else why it failed.
using ack_callback = std::function<void(const caf::error&)>;

class event_writer {
public:
    virtual ~event_writer() = default;
    /// Queues an event. Returns an error at once for events over 8 MiB or a closed writer;
    /// otherwise `done` (if any) later reports the outcome. Blocks while too much is unacked.
    [[nodiscard]] virtual caf::error write(std::string_view routing_key,
                                           std::string_view payload,
                                           ack_callback done = nullptr) = 0;
    /// Waits until every queued event is acknowledged or failed; returns the first failure
    /// since the previous flush.
    [[nodiscard]] virtual caf::error flush() = 0;
    /// Flushes, then stops the writer.
    [[nodiscard]] virtual caf::error close() = 0;
    virtual const writer_id& id() const = 0;
};

struct event {
    std::string payload;
    segment_id segment;
    int64_t offset = 0;  ///< where the event starts in its segment
    /// A group reader's checkpoint marker (payload, segment and offset empty): the application
    /// stores what it must with this checkpoint's name; the reader records its position when it
    /// is asked for the next event (reader_group_manager::checkpoint).
    std::string checkpoint;
};

enum class start_position { head, tail };

class event_reader {
public:
    virtual ~event_reader() = default;
    /// The next event, or nullopt when none arrived within `timeout`. With a zero timeout,
    /// nullopt means the reader has caught up with everything stored when it asked.
    [[nodiscard]] virtual caf::expected<std::optional<event>> read_next(
        std::chrono::milliseconds timeout) = 0;
    /// True once every segment is sealed and fully read: no event will ever follow (never for a
    /// group reader: a group's streams may grow, or another reader may give segments back).
    virtual bool at_end() const = 0;
    /// Ends the reader. A group reader leaves its group with its position (its segments go
    /// back to the group where it stopped); errors: reader_offline (the group had declared it
    /// offline, and no read said so yet: its segments went back at its last reported position),
    /// those of the group's
    /// node (the reader ends anyway, and the group declares it offline when its lease passes).
    /// Reading after close fails with invalid_argument.
    [[nodiscard]] virtual caf::error close() = 0;
};

/// How a transaction begins (client_factory::begin_transaction).
struct txn_config {
    /// The transaction is aborted when the controller hears nothing of it for this long; the
    /// transaction object renews it (pings at a third of it) until it commits or aborts.
    int64_t lease_ms = 30'000;
    /// The application's writer id, kept with the transaction: a restarted producer finds its
    /// transactions with list_transactions and commits or aborts them (exactly once end to end).
    writer_id writer;
    size_t block_bytes_max = 1024 * 1024;
    size_t pending_bytes_max = 64 * 1024 * 1024;
};

/// One transaction on a stream: its events, written like any others (durable, in order per
/// key), stay invisible to readers until it commits; then every segment shows its part whole,
/// contiguous and in write order per key. An abort (or a missed lease) discards them. Destroy it
/// before its client_factory (as writers and readers).
class transaction {
public:
    virtual ~transaction() = default;
    virtual uint64_t id() const = 0;
    /// Queues an event of the transaction. Errors at once: event_too_large, transaction_not_open
    /// (committed or aborted through this object, or opened when not open).
    [[nodiscard]] virtual caf::error write(std::string_view routing_key,
                                           std::string_view payload,
                                           ack_callback done = nullptr) = 0;
    /// Waits until every queued event is durable in the transaction (or failed).
    [[nodiscard]] virtual caf::error flush() = 0;
    /// Flushes, then commits; answers once every event is visible. Idempotent. Errors: the
    /// flush's (nothing is committed), transaction_aborted (aborted, its lease or lifetime
    /// passed). A transaction begun before its stream scaled commits too (a rolling
    /// transaction: ARCHITECTURE.md).
    [[nodiscard]] virtual caf::expected<txn_record> commit() = 0;
    /// Discards it; answers once aborted. Idempotent. Errors: transaction_committed.
    [[nodiscard]] virtual caf::expected<txn_record> abort() = 0;
    [[nodiscard]] virtual caf::expected<txn_record> status() = 0;
};

class client_factory {
public:
    /// Connects to the node at `cfg.endpoint`. Errors: invalid_argument, unavailable.
    [[nodiscard]] static caf::expected<std::unique_ptr<client_factory>> connect(
        const client_config& cfg);
    virtual ~client_factory() = default;
    virtual stream_manager& streams() = 0;
    virtual reader_group_manager& groups() = 0;
    [[nodiscard]] virtual caf::expected<std::unique_ptr<event_writer>> create_writer(
        const std::string& scope, const std::string& stream, const writer_config& cfg = {}) = 0;
    [[nodiscard]] virtual caf::expected<std::unique_ptr<event_reader>> create_reader(
        const std::string& scope, const std::string& stream, start_position from) = 0;
    /// A reader between two stream cuts (`stream_manager::stream_cut`, or parsed from their
    /// text with `parse_stream_cut`): from `from` (the head when it names no segment) up to
    /// `to` (no end but the stream's when it names none). Errors: invalid_argument (a cut of
    /// another stream, an offset beyond its segment, a cut that does not cover the key space).
    [[nodiscard]] virtual caf::expected<std::unique_ptr<event_reader>> create_reader(
        const std::string& scope,
        const std::string& stream,
        const stream_cut& from,
        const stream_cut& to) = 0;
    /// Joins reader group scope/group as reader `reader` (a name unique among its live
    /// readers). The reader reads the segments the group assigns it, from where the group's
    /// positions stand, gives segments back when the group rebalances, reports its position as it
    /// goes (so a reader that takes over after it leaves or dies starts there), and returns
    /// checkpoint markers among its events. Errors: group_not_found, reader_exists (a live reader
    /// has the name), invalid_argument; later from read_next: reader_offline (its lease passed or
    /// the group was reset: create a new reader to join again).
    [[nodiscard]] virtual caf::expected<std::unique_ptr<event_reader>> create_group_reader(
        const std::string& scope, const std::string& group, const std::string& reader) = 0;
    /// Begins a transaction on scope/stream. Errors: stream_not_found, stream_sealed,
    /// invalid_argument (the lease), transaction_limit.
    [[nodiscard]] virtual caf::expected<std::unique_ptr<transaction>> begin_transaction(
        const std::string& scope, const std::string& stream, const txn_config& cfg = {}) = 0;
    /// A transaction begun earlier (before a restart: list_transactions): commit, abort and
    /// status work in every state, writes while it is open. Errors: transaction_not_found.
    [[nodiscard]] virtual caf::expected<std::unique_ptr<transaction>> open_transaction(
        const std::string& scope,
        const std::string& stream,
        uint64_t id,
        const txn_config& cfg = {}) = 0;
    /// The stream's transactions: open and committing ones, and completed ones still kept.
    [[nodiscard]] virtual caf::expected<std::vector<txn_record>> list_transactions(
        const std::string& scope, const std::string& stream) = 0;
};

}  // namespace pravaha::client
