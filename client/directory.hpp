#pragma once

// Internal to client/: one view of the cluster per client. The directory actor holds the
// connection to a node, the cluster's members, and the leader store of every container; every
// writer and reader of the client finds its stores through it. Lookups are coalesced (one
// cluster-info request and one store request per container at a time, whatever the number of
// writers waiting), failed lookups back off once for all of them, and each store is monitored
// once: the directory tells the actors holding a store when it is lost. Without it, thousands
// of writers starting together each asked the node on their own with a short timeout and
// started over when their request waited too long in the queue that all of them built (issue 21).

#include "client/internal.hpp"

#include <caf/atom.hpp>

#include <vector>

namespace pravaha::client::detail {

/// `(dir_attach_atom, std::vector<segment_key>)` -> `std::vector<transport::segment_store_actor>`,
/// one leader store per key. The sender is told of the loss of any of them with
/// `(dir_lost_atom, caf::actor_addr store)`. Answers an error when the lookup fails; the
/// directory then pauses (growing) before it looks up again, so asking again at once is fine.
using dir_attach_atom = caf::atom_constant<caf::atom("dattach")>;
/// `(dir_stale_atom, caf::actor_addr store)`: a request to this store failed in a way that may
/// mean it is no longer its container's leader (not_leader, a timeout): look it up afresh. The
/// address may also be the directory's node (see dir_node_atom).
using dir_stale_atom = caf::atom_constant<caf::atom("dstale")>;
/// `(dir_lost_atom, caf::actor_addr store)`, sent by the directory: the store is gone.
using dir_lost_atom = caf::atom_constant<caf::atom("dlost")>;
/// `(dir_query_atom, get_stream_atom, scope, stream)` -> `stream_record`,
/// `(dir_query_atom, stream_info_atom, scope, stream)` -> `stream_info`,
/// `(dir_query_atom, history_atom, scope, stream)` -> `std::vector<epoch_info>` (writers with a
/// stable id starting on a stream that scaled) and
/// `(dir_query_atom, successors_atom, scope, stream, segment_id)` -> `segment_successors` (the
/// writers and readers of a segment that was sealed by a scale), asked of the node the
/// directory is connected to (connecting first when it has none). Queries of the same stream (and
/// segment) arriving while one is in flight share the next request, which is sent after each of
/// them arrived, so an answer is never older than the query (a writer created after a seal sees
/// it). Answers an error when the node fails to answer; the caller decides whether to ask again.
using dir_query_atom = caf::atom_constant<caf::atom("dquery")>;
/// `(dir_node_atom)` -> `transport::node_actor`: the node the directory is connected to,
/// connecting (and checking its cluster) first when it has none; an error when that fails (the
/// directory pauses before it tries again, as after any failed lookup). A request to the node
/// that fails so that it may be gone is reported with `dir_stale_atom` and the node's address:
/// the next lookup connects anew.
using dir_node_atom = caf::atom_constant<caf::atom("dnode")>;

}  // namespace pravaha::client::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<pravaha::transport::segment_store_actor>)
