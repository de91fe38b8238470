#pragma once

// Internal to client/: shared pieces of the writer and reader actors.

#include "client/client.hpp"
#include "runtime/transport/transport.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/io/middleman_actor.hpp>

#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pravaha::client::detail {

/// Messages of the writer and reader actors (used by the facades and by the simulator, which
/// drives the same actors without the blocking facades).
using write_atom = caf::atom_constant<caf::atom("wwrite")>;
using fetch_atom = caf::atom_constant<caf::atom("rfetch")>;
/// Ask the writer actor to answer once everything queued is acknowledged or failed.
using wflush_atom = caf::atom_constant<caf::atom("wflush")>;
/// Asks a writer with a stable id to open its session on every segment; answers the highest
/// client number stored for the id (outgoing::client_number) over them, or no_event_number.
using wsessions_atom = caf::atom_constant<caf::atom("wsessions")>;

/// One event for the writer actor: `(write_atom, outgoing)`, or many in order:
/// `(write_atom, std::vector<outgoing>)`.
struct outgoing {
    uint32_t segment_index = 0;
    std::string framed;  // one framed event
    ack_callback done;
    /// The number the caller gave the event (RPC writers), or no_event_number. Numbers grow with
    /// every event of the writer; with a stable writer id, an event whose number the segment
    /// already stored for the id (a resend after a lost connection) is acknowledged, not stored.
    int64_t client_number = no_event_number;
};

/// Connection parameters shared by the factory, writers and readers.
struct endpoint_info {
    std::string host;
    uint16_t port = 0;
    client_config cfg;
    /// Answers `(connect_atom, host, port)` like CAF's middleman actor (the transport seam,
    /// design.md section 3). Empty: the real middleman; the simulator installs its network.
    caf::actor connector;
};

/// Removes `me`'s monitor from `whom`. CAF 0.17 keeps a monitor attached to the observed actor
/// until that actor ends, also after the observer has ended; writers and readers that end while
/// their node lives on (the RPC gateway's, one per client connection) call this for what they
/// watched, or every one of them would leave its monitors behind on the node's long-lived actors.
void unwatch(const caf::actor_addr& me, const caf::actor_addr& whom);

/// The actor that opens connections for `ep`.
caf::io::middleman_actor connector_of(caf::actor_system& sys, const endpoint_info& ep);

/// A node's address, for following the cluster after a node is lost.
struct node_address {
    std::string host;
    uint16_t port = 0;
};

/// How long the lookups of attach_containers may take: short, because a node that just died can
/// still look connected for a moment (its proxy swallows requests until the middleman notices),
/// and a retry then finds the new leader; at most the request timeout.
inline std::chrono::milliseconds attach_timeout(const client_config& cfg) {
    return std::min(cfg.request_timeout, std::chrono::milliseconds(1000));
}

/// Asks `node` for the cluster (container count, members, leaders as it sees them), then for the
/// leader replica of each container that `keys` map to: from the leader's own node, connected
/// directly (so that its death ends a connection the caller can monitor, and appends take no
/// detour). Monitors every store it hands out. Calls `done(store per key, members)` or
/// `fail(error)`. Standalone nodes answer with one container and no members.
void attach_containers(caf::event_based_actor* self,
                       const caf::io::middleman_actor& connector,
                       const transport::node_actor& node,
                       const std::vector<segment_key>& keys,
                       std::chrono::milliseconds timeout,
                       std::function<void(std::vector<transport::segment_store_actor>,
                                          std::vector<node_address>)> done,
                       std::function<void(caf::error)> fail);

/// A fresh random writer id (a writer without a stable id: Pravega's behaviour).
writer_id fresh_writer_id();

/// Errors after which the same request may succeed later (on this node or after reconnecting).
/// Everything else is final for the affected events.
bool is_transient(const caf::error& err);

/// Transient errors that mean the connection or the node is gone: reconnect before resending.
bool needs_reconnect(const caf::error& err);

std::unique_ptr<event_writer> make_writer(caf::actor_system& sys,
                                          const endpoint_info& ep,
                                          transport::node_actor node,
                                          stream_record rec,
                                          const writer_config& cfg,
                                          writer_id id);

/// The writer actor behind `event_writer`: takes `(write_atom, outgoing)`, answers
/// `(wflush_atom)` once everything queued is acknowledged or failed.
caf::actor spawn_writer(caf::actor_system& sys,
                        const endpoint_info& ep,
                        transport::node_actor node,
                        stream_record rec,
                        const writer_config& cfg,
                        writer_id id);

/// Where a reader starts in each segment (segment id value -> offset of an event boundary).
using start_offsets = std::map<uint64_t, int64_t>;

/// The offset just after `ev` in its segment: where a reader continues after it (the positions
/// the RPC gateway's readers answer; a reader opened there neither repeats nor skips an event).
int64_t offset_after(const event& ev);

/// The reader actor behind `event_reader`: `(fetch_atom, uint32_t wait_ms)` answers with
/// `(std::deque<event>, bool at_end)`. Segments listed in `offsets` start there, the others at
/// `from`.
caf::actor spawn_reader(caf::actor_system& sys,
                        const endpoint_info& ep,
                        transport::node_actor node,
                        const stream_info& info,
                        start_position from,
                        start_offsets offsets = {});

std::unique_ptr<event_reader> make_reader(caf::actor_system& sys,
                                          const endpoint_info& ep,
                                          transport::node_actor node,
                                          const stream_info& info,
                                          start_position from);

}  // namespace pravaha::client::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pravaha::client::detail::outgoing)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<pravaha::client::detail::outgoing>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::deque<pravaha::client::event>)
