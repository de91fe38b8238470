#pragma once

// Internal to client/: shared pieces of the writer and reader actors.

#include "client/actor_api.hpp"
#include "client/client.hpp"
#include "runtime/transport/transport.hpp"
#include "schema/errc.hpp"

#include <caf/actor.hpp>
#include <caf/actor_clock.hpp>
#include <caf/fwd.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/send.hpp>

#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace pravaha::client::detail {

// The writer's and reader's public messages (write_atom, flush_atom, sessions_atom, fetch_atom,
// ...) are in client/actor_api.hpp. Internal entries: `(write_atom, outgoing)` and
// `(write_atom, std::vector<outgoing>)` (the facade, the RPC gateway, the simulator).

/// One event for the writer actor: `(write_atom, outgoing)`, or many in order:
/// `(write_atom, std::vector<outgoing>)`.
struct outgoing {
    double key_hash = 0;  ///< routing_key_hash of its routing key: the writer routes by it
    std::string framed;   // one framed event
    ack_callback done;
    /// The number the caller gave the event (RPC writers), or no_event_number. Numbers grow with
    /// every event of the writer; with a stable writer id, an event whose number the segment
    /// already stored for the id (a resend after a lost connection) is acknowledged, not stored.
    int64_t client_number = no_event_number;
};

/// The cluster a client works with: `client_config::cluster_id`, or else the cluster id of the
/// first node it reached. Thread-safe; one per client, shared by its manager and directory.
class cluster_guard {
public:
    explicit cluster_guard(std::string configured)
        : expected_(std::move(configured)), configured_(!expected_.empty()) {}
    /// Whether the node at host:port, of cluster `cluster_id`, is one to work with. Errors:
    /// invalid_argument (another cluster).
    [[nodiscard]] caf::error check(const std::string& cluster_id,
                                   const std::string& host,
                                   uint16_t port);

private:
    std::mutex mutex_;
    std::string expected_;  // under mutex_
    bool known_ = false;    // under mutex_: expected_ is the first node's
    bool configured_;
};

/// Connection parameters shared by the factory, writers and readers.
struct endpoint_info {
    std::string host;
    uint16_t port = 0;
    client_config cfg;
    /// Answers `(connect_atom, host, port)` like CAF's middleman actor (the transport seam,
    /// design.md section 3). Empty: the real middleman; the simulator installs its network.
    caf::actor connector;
    /// The client's one view of the cluster (client/directory.hpp): writers and readers find
    /// their containers' leaders through it. Required by spawn_writer and spawn_reader.
    caf::actor directory;
    /// The facades' bridge to the actors (spawn_bridge); set by the client factory.
    caf::actor bridge;
    /// Checks every node the client connects to (null: no check, e.g. the simulator's clients).
    std::shared_ptr<cluster_guard> guard;
};

/// Work a bridge actor runs in its own context: issues CAF requests and completes a caller's
/// wait. Blocking callers (the client's facades, the RPC gateway's kj thread) reach actors
/// through one bridge instead of an actor per call: a `caf::scoped_actor` pushes an event
/// through CAF 0.17's timer thread (a queue of 64 behind one mutex) when it ends, and thousands
/// of threads doing that at once starved the client's worker thread for seconds (issue 21).
using bridge_task = std::function<void(caf::event_based_actor*)>;
/// `(bridge_run_atom, std::shared_ptr<bridge_task>)`: runs the task.
using bridge_run_atom = caf::atom_constant<caf::atom("brun")>;

/// A bridge actor (`purpose` names it in the debug log); it ends with an exit message or its
/// actor system.
caf::actor spawn_bridge(caf::actor_system& sys, std::string purpose);

/// Runs `start(self, done)` in `bridge` and blocks until `done(caf::expected<R>)` is called. If
/// the bridge is gone before (the task is dropped unrun), returns errc::unavailable.
template <class R, class Start>
caf::expected<R> on_bridge(const caf::actor& bridge, Start start) {
    auto result = std::make_shared<std::promise<caf::expected<R>>>();
    auto answer = result->get_future();
    auto task = std::make_shared<bridge_task>(
        [result = std::move(result), start = std::move(start)](caf::event_based_actor* self) {
            start(self, [result](caf::expected<R> r) { result->set_value(std::move(r)); });
        });
    caf::anon_send(bridge, bridge_run_atom::value, std::move(task));
    try {
        return answer.get();
    } catch (const std::future_error&) {
        return caf::make_error(errc::unavailable, "the client is shutting down");
    }
}

/// The actor that opens connections for `ep`.
caf::io::middleman_actor connector_of(caf::actor_system& sys, const endpoint_info& ep);

/// A node's address, for following the cluster after a node is lost.
struct node_address {
    std::string host;
    uint16_t port = 0;
};

/// How long the directory's first lookups may take: short, because a node that just died can
/// still look connected for a moment (its proxy swallows requests until the middleman notices),
/// and a retry then finds the new leader; at most the request timeout.
inline std::chrono::milliseconds attach_timeout(const client_config& cfg) {
    return std::min(cfg.request_timeout, std::chrono::milliseconds(1000));
}

/// Spawns the client's directory for `ep` (client/directory.hpp; `ep` must not have one yet);
/// `node`, when valid, is a node already connected to. Returns `ep` with `directory` set. One per
/// client (a factory, the RPC gateway, a simulated client process); it ends with the actor
/// system or an exit message.
endpoint_info spawn_directory(caf::actor_system& sys,
                              endpoint_info ep,
                              transport::node_actor node = {});

/// A fresh random writer id (a writer without a stable id: Pravega's behaviour).
writer_id fresh_writer_id();

/// A request of `op` for transaction `id` of scope/stream (`txn_atom`).
txn_request txn_request_of(txn_op op,
                           const std::string& scope,
                           const std::string& stream,
                           uint64_t id);

/// Renews transaction `t`'s lease through the stream manager actor `manager` (every third of the
/// lease) until it is no longer open or is unknown; stop it with an exit message.
caf::actor spawn_txn_pinger(caf::actor_system& sys, const caf::actor& manager, const txn_record& t);

/// Errors after which the same request may succeed later (on this node or after reconnecting).
/// Everything else is final for the affected events.
bool is_transient(const caf::error& err);

/// Transient errors that mean the connection or the node is gone: reconnect before resending.
bool needs_reconnect(const caf::error& err);

/// The blocking facade's memory budget (client/writer.cpp).
struct write_budget;
/// `(wbudget_atom, std::shared_ptr<write_budget>)`, sent by the facade before any write: the
/// writer releases into it the bytes of every block it finished.
using wbudget_atom = caf::atom_constant<caf::atom("wbudget")>;
/// `(wdrain_atom)`, sent by the facade when its queue of events (in the write_budget) stops
/// being empty: the writer takes every event queued by then.
using wdrain_atom = caf::atom_constant<caf::atom("wdrain")>;

/// The blocking facade over the writer actor `writer` (opened through the stream manager actor
/// in its non-exiting mode), reaching it through `bridge`. `id` is the writer's id.
caf::expected<std::unique_ptr<event_writer>> make_writer(const caf::actor& bridge,
                                                         const caf::actor& writer,
                                                         const writer_config& cfg,
                                                         writer_id id);

/// How a writer actor behaves beyond writer_config.
struct writer_mode {
    /// After the retry timeout without progress (or a final error of the link), answer
    /// everything pending with the error and end with it as the exit reason (the actor API's
    /// contract); false: fail what is pending and stay usable (the facades, the gateway, the
    /// simulator).
    bool exit_on_give_up = false;
    /// A transaction's writer: the transaction segments, one per segment of the record (the
    /// epoch the transaction began in), written to instead. Nothing follows a scale; a sealed,
    /// merged or deleted transaction segment fails its events for good.
    std::vector<segment_key> txn_keys;
};

/// The writer actor: the public interface `writer_actor` (client/actor_api.hpp) plus the
/// internal entries `(write_atom, outgoing)` and `(write_atom, std::vector<outgoing>)`.
caf::actor spawn_writer(caf::actor_system& sys,
                        const endpoint_info& ep,
                        stream_record rec,
                        const writer_config& cfg,
                        writer_id id,
                        writer_mode mode = {});

/// Where a reader starts in each segment (segment id value -> offset of an event boundary).
using start_offsets = std::map<uint64_t, int64_t>;

/// The offset just after `ev` in its segment: where a reader continues after it (the positions
/// the RPC gateway's readers answer; a reader opened there neither repeats nor skips an event).
int64_t offset_after(const event& ev);

/// How a reader actor behaves beyond its start (client/actor_api.hpp, reader_options).
struct reader_mode {
    /// Pull: after a failure (the retry timeout without progress, a final read error) answer
    /// a waiting fetch and end with the error; false: the next fetch gets it and the reader
    /// stays usable. A subscribed reader ends with a failure either way.
    bool exit_on_give_up = false;
    uint64_t buffer_bytes_max = 4 * 1024 * 1024;  ///< held for a subscriber without credit
    /// Up to a stream cut: segment id value -> the cut's offset in it. The reader ends there and
    /// reads no successor of those segments.
    std::map<uint64_t, int64_t> until;
};

/// The reader actor: the public interface `reader_actor` (client/actor_api.hpp). Segments
/// listed in `offsets` start there, the others at `from`.
caf::actor spawn_reader(caf::actor_system& sys,
                        const endpoint_info& ep,
                        const stream_info& info,
                        start_position from,
                        start_offsets offsets = {},
                        reader_mode mode = {});

/// A group reader's membership (client/group_reader.cpp): what it joined and through whom it
/// reports (the manager, which retries as for every node call).
struct group_membership {
    std::string scope;
    std::string group;
    std::string reader;
    uint64_t nonce = 0;
    caf::actor manager;
    /// The join's answer, and when the join was asked (the first lease counts from there).
    group_assignment joined;
    caf::actor_clock::time_point asked_at;
};

/// A reader actor (the public interface `reader_actor`) that reads what its group assigns it.
caf::actor spawn_group_reader(caf::actor_system& sys,
                              const endpoint_info& ep,
                              group_membership member,
                              reader_mode mode);

/// Where a reader starts in every segment of `info`: at `asked` where listed, else at the head
/// or the tail. Errors: invalid_argument (a segment not of the stream), bad_offset (outside its
/// segment).
caf::expected<start_offsets> start_of(const stream_info& info,
                                      start_position from,
                                      const start_offsets& asked);

/// The stream manager actor (client/manager.cpp) of the client `ep` (whose directory it ends
/// with itself); `seed` seeds the writer ids it makes.
caf::actor spawn_manager(caf::actor_system& sys, const endpoint_info& ep, uint64_t seed);

/// The blocking facade over the reader actor `reader`, reaching it through `bridge`.
std::unique_ptr<event_reader> make_reader(const caf::actor& bridge,
                                          const caf::actor& reader,
                                          std::chrono::milliseconds request_timeout);

}  // namespace pravaha::client::detail

// Local only: a task never leaves the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<pravaha::client::detail::bridge_task>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pravaha::client::detail::outgoing)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<pravaha::client::detail::write_budget>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<pravaha::client::detail::outgoing>)
