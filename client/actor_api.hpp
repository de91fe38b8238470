#pragma once

/// The actor client API: Pravaha's stream manager, writers and readers as typed CAF actors that
/// an application built of actors spawns in its own actor system, monitors, links to its
/// supervisors and hands to other actors, also in other processes (the handles are ordinary CAF
/// handles). The blocking facade of client.hpp runs on the same writer and reader actors.
///
/// Set-up, once per process that holds or receives these handles:
///
///     caf::actor_system_config cfg;
///     pravaha::client::add_actor_api_types(cfg);   // every type below, in one place
///     cfg.load<io::middleman>();                   // CAF's io module: the application loads it
///     caf::actor_system sys{cfg};
///     auto mgr = pravaha::client::spawn_stream_manager(sys, client_config{...});
///
/// Contracts (each actor answers every request exactly once, with its answer or an error):
///
/// - **stream_manager_actor**: one client of one cluster (a directory of the cluster's leaders
///   shared by every writer and reader it opens). Scopes and streams as `stream_manager`; a
///   call that meets a controller election (`not_leader`) or a lost node is retried with the
///   client's pauses within `client_config::retry_timeout`. `open_writer` / `open_reader` spawn a
///   writer or reader in the manager's actor system and answer its handle; the manager ends them
///   when it ends (with its exit reason), so an application monitors or links the handles it
///   keeps. Errors: those of the node, `invalid_argument` (bad limits, a start position outside
///   the stream), `stream_sealed` (a writer on a sealed stream). Scaling: a stream created with
///   a `scaling_policy`, `update_stream` (a new policy, nothing rescaled), `scale` (answered once
///   the new epoch is current; `conflict` while another operation of the stream runs),
///   `history` (every epoch) and `stream_cut` (the head, true, or the tail cut).
/// - **writer_actor**: `write` routes by key like `event_writer` and answers `event_ack` once the
///   event is durable on the required quorum, or its error. Answers to one requester come in
///   write order per routing key. A batch is answered once: every event durable, or the first
///   error (events of a failed batch may be stored; with client numbers and a stable id a resend
///   stores nothing twice). Back-pressure: a write (or batch) that would make the bytes the writer
///   holds exceed `pending_bytes_max` while it holds any is refused at once with `overloaded` and
///   nothing of it is queued; a producer keeps a window of writes in flight and, after
///   `overloaded`, waits for the answers it has in flight before it resends from the first
///   refused event. Client numbers (optional, for exactly-once with a stable id) must grow with
///   every write of one writer actor; a number at or below one it already accepted is refused
///   with `invalid_argument`. `flush` answers `true` once everything accepted before it is
///   acknowledged, or the first failure since the previous flush. `close` flushes, answers as
///   `flush`, and ends the actor (exit reason `normal`); writes after it are refused. `sessions`
///   (stable ids) answers the highest client number stored for the id, or `no_event_number`.
/// - **reader_actor**: reads every segment of a stream from its start position. Push: `subscribe`
///   registers one sink and a tag with an initial credit and answers the start position; the
///   reader sends `(events_atom, tag, events, position after them)` and never more events in
///   total than the credit granted (`subscribe` plus every `credit`); with no credit left it
///   reads nothing from the node, so a slow sink bounds the memory of the reader and the node.
///   When every segment is sealed and read it sends `(read_end_atom, tag, position)` and ends
///   (`normal`); when the sink ends, so does the reader. Pull: `fetch` as `event_reader` (not
///   while subscribed). `position` answers where the reader stands after the events it handed
///   out: a reader opened there neither repeats nor skips one. `close` ends the reader (`normal`)
///   and answers true; a group reader first leaves its group with its position.
/// - **group readers** (`open_group_reader`: the manager joins the group, then spawns the
///   reader): a reader_actor that reads what its group assigns it. Events of one segment come in
///   order; a checkpoint marker is an event with `checkpoint` set and nothing else, delivered
///   alone; a pulling reader records the checkpoint when it is asked for more, a subscribed one
///   right after the push. The reader reports its position to the group at least every lease / 4
///   (at most every second) and delivers nothing once 4/5 of a lease passed since its last
///   answered report (a reader cut off from its group stops before the group hands its segments
///   to another). Errors: group_not_found, reader_exists; reader_offline (declared offline or
///   the group reset) ends a subscribed or exit_on_give_up reader and fails every later fetch.
///
/// Failure semantics: a writer or reader that loses its node reconnects and resends (or reads
/// again) on its own; after `client_config::retry_timeout` without progress it answers every
/// pending request with the error (`unavailable`, with the endpoint and the last cause) and then
/// ends with that error as its exit reason, so a supervisor that monitors it sees why and can
/// open a new one. A node of another cluster at the endpoint (`invalid_argument`) ends it the
/// same way, at once; so does a final read error of a subscribed reader (a deleted stream,
/// corrupt data). A writer's segment that fails for good (sealed, deleted) fails its events
/// with that error and the writer keeps serving its other segments. A writer or reader killed by
/// an exit message (its owner, its manager, a supervisor) answers what it holds with
/// `unavailable` (a write so answered may be stored). Requests sent to an actor that has ended
/// are answered by CAF (`sec::request_receiver_down`); one-way messages to it are lost, so
/// writes are requests. Toward a handle in another process, monitor it: a connection that dies
/// can swallow requests.
///
/// Pipelining: keep at most about a thousand requests in flight per requesting actor; CAF 0.17
/// looks each answer up in a flat table of the requester's pending requests (O(n) per answer).
/// Deeper pipelines send batch writes (one request, one answer, for many events).
///
/// May include: client.hpp, schema.

#include "client/client.hpp"
#include "schema/atoms.hpp"
#include "schema/interfaces.hpp"
#include "schema/raft_types.hpp"
#include "schema/types.hpp"

#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pravaha::client {

// -- atoms (values are unique in the tree) --------------------------------------------------------

using write_atom = caf::atom_constant<caf::atom("wwrite")>;
using flush_atom = caf::atom_constant<caf::atom("wflush")>;
using close_atom = caf::atom_constant<caf::atom("wclose")>;
using sessions_atom = caf::atom_constant<caf::atom("wsessions")>;
using fetch_atom = caf::atom_constant<caf::atom("rfetch")>;
using subscribe_atom = caf::atom_constant<caf::atom("rsub")>;
using credit_atom = caf::atom_constant<caf::atom("rcredit")>;
using position_atom = caf::atom_constant<caf::atom("rpos")>;
using events_atom = caf::atom_constant<caf::atom("revents")>;
using read_end_atom = caf::atom_constant<caf::atom("rend")>;
using open_writer_atom = caf::atom_constant<caf::atom("openwriter")>;
using open_reader_atom = caf::atom_constant<caf::atom("openreader")>;
using open_group_reader_atom = caf::atom_constant<caf::atom("opengroupr")>;
using open_txn_writer_atom = caf::atom_constant<caf::atom("opentxnw")>;

// -- values ---------------------------------------------------------------------------------------

/// Where a reader stands: segment id value -> offset of an event boundary in that segment.
struct stream_position {
    std::map<uint64_t, int64_t> offsets;
    bool operator==(const stream_position&) const = default;
};

/// A write is durable: the segment that holds it and the client number it was given (or
/// no_event_number).
struct event_ack {
    segment_id segment;
    int64_t client_number = no_event_number;
    bool operator==(const event_ack&) const = default;
};

/// One event of a batch write.
struct event_to_write {
    std::string routing_key;
    std::string payload;
    int64_t client_number = no_event_number;
    bool operator==(const event_to_write&) const = default;
};

/// A batch is durable: its first event's client number and how many events it held.
struct batch_ack {
    int64_t first_client_number = no_event_number;
    uint32_t count = 0;
    bool operator==(const batch_ack&) const = default;
};

/// A writer to open (`open_writer_atom`): `writer_config` without std::optional (CAF 0.17
/// serializes no optional), plus its failure mode.
struct writer_options {
    /// With `stable_id`, this id (see writer_config::id: sessions, fencing); else this id when
    /// it is not zero (a caller's own fresh id, no sessions), or one the manager picks.
    writer_id id;
    bool stable_id = false;
    uint64_t block_bytes_max = 1024 * 1024;
    uint64_t blocks_in_flight_max = 8;
    uint64_t pending_bytes_max = 64 * 1024 * 1024;
    /// End the actor after answering everything pending when it gives up (see the failure
    /// semantics above); false: stay usable and fail only what is pending (the facade's way).
    bool exit_on_give_up = true;
    bool operator==(const writer_options&) const = default;
};

/// A reader to open (`open_reader_atom`): segments listed in `at` start there, the others at
/// `from`; or, when `from_cut` names segments, at that stream cut. With `to_cut`, the reader
/// ends at that cut (it reads nothing at or after its offsets, and no successor of its
/// segments). Cuts are checked against the stream first (invalid_argument: an offset beyond its
/// segment, segments that do not cover the key space, another stream's cut).
struct reader_options {
    start_position from = start_position::head;
    stream_position at;
    stream_cut from_cut{};
    stream_cut to_cut{};
    /// Events the reader holds for a subscriber without credit, by bytes (reads stop beyond it).
    uint64_t buffer_bytes_max = 4 * 1024 * 1024;
    bool exit_on_give_up = true;
    bool operator==(const reader_options&) const = default;
};

/// A group reader to open (`open_group_reader_atom`, scope, group, reader name).
struct group_reader_options {
    /// The join's token: a join retried with the same token gets the same session (0: the
    /// manager picks one).
    uint64_t nonce = 0;
    uint64_t buffer_bytes_max = 4 * 1024 * 1024;
    bool exit_on_give_up = true;
    bool operator==(const group_reader_options&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event& x) {
    return f(caf::meta::type_name("pravaha.event"), x.payload, x.segment, x.offset, x.checkpoint);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_position& x) {
    return f(caf::meta::type_name("pravaha.stream_position"), x.offsets);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_ack& x) {
    return f(caf::meta::type_name("pravaha.event_ack"), x.segment, x.client_number);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_to_write& x) {
    return f(caf::meta::type_name("pravaha.event_to_write"), x.routing_key, x.payload,
             x.client_number);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, batch_ack& x) {
    return f(caf::meta::type_name("pravaha.batch_ack"), x.first_client_number, x.count);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, writer_options& x) {
    return f(caf::meta::type_name("pravaha.writer_options"), x.id, x.stable_id, x.block_bytes_max,
             x.blocks_in_flight_max, x.pending_bytes_max, x.exit_on_give_up);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reader_options& x) {
    return f(caf::meta::type_name("pravaha.reader_options"), x.from, x.at, x.from_cut, x.to_cut,
             x.buffer_bytes_max, x.exit_on_give_up);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_reader_options& x) {
    return f(caf::meta::type_name("pravaha.group_reader_options"), x.nonce, x.buffer_bytes_max,
             x.exit_on_give_up);
}

// -- interfaces -----------------------------------------------------------------------------------

/// What a subscriber of a reader handles (an application actor may handle more).
using event_sink_actor = caf::typed_actor<
    caf::reacts_to<events_atom, uint64_t /*tag*/, std::vector<event>, stream_position /*after*/>,
    caf::reacts_to<read_end_atom, uint64_t /*tag*/, stream_position>>;

using writer_actor = caf::typed_actor<
    caf::replies_to<write_atom, std::string /*key*/, std::string /*payload*/>::with<event_ack>,
    caf::replies_to<write_atom, std::string, std::string, int64_t /*client number*/>::with<
        event_ack>,
    caf::replies_to<write_atom, std::vector<event_to_write>>::with<batch_ack>,
    caf::replies_to<flush_atom>::with<bool>,
    caf::replies_to<close_atom>::with<bool>,
    caf::replies_to<sessions_atom>::with<int64_t>>;

using reader_actor = caf::typed_actor<
    caf::replies_to<subscribe_atom, event_sink_actor, uint64_t /*tag*/, uint32_t /*credit*/>::with<
        stream_position>,
    caf::reacts_to<credit_atom, uint32_t /*more events*/>,
    caf::replies_to<fetch_atom, uint32_t /*wait ms*/>::with<std::vector<event>, bool /*at end*/>,
    caf::replies_to<position_atom>::with<stream_position>,
    caf::replies_to<close_atom>::with<bool>>;

/// Every request of the node's controller (schema/interfaces.hpp: scopes, streams, scaling,
/// cuts), plus the client's own.
using stream_manager_actor = controller_api::extend<
    caf::replies_to<cluster_info_atom>::with<raft::cluster_info>,
    caf::replies_to<identify_atom>::with<std::string>,
    caf::replies_to<open_writer_atom, std::string, std::string, writer_options>::with<writer_actor>,
    caf::replies_to<open_reader_atom, std::string, std::string, reader_options>::with<reader_actor>,
    caf::replies_to<open_group_reader_atom,
                    std::string /*scope*/,
                    std::string /*group*/,
                    std::string /*reader*/,
                    group_reader_options>::with<reader_actor>,
    caf::replies_to<open_txn_writer_atom, txn_record, writer_options>::with<writer_actor>>;

// -- set-up ---------------------------------------------------------------------------------------

/// Registers every type the actor API sends (Pravaha's schema types and error category, the
/// values above, the four handle types) and turns on the middleman's automatic connections
/// (handles received from other processes). Call on the application's configuration before the
/// actor system is made, in every process that holds or receives these handles. It does not
/// load the middleman: the application does, once.
void add_actor_api_types(caf::actor_system_config& cfg);

/// Spawns one client of the cluster at `cfg.endpoint` in `sys`: its directory and its stream
/// manager. Does not block: the first request connects (and checks `cfg.cluster_id`). Errors:
/// invalid_argument (an endpoint that does not parse, an actor system without the middleman).
[[nodiscard]] caf::expected<stream_manager_actor> spawn_stream_manager(caf::actor_system& sys,
                                                                       const client_config& cfg);

}  // namespace pravaha::client
