#pragma once

/// The typed request interfaces that cross a process boundary: implemented in `actors/`,
/// published by `runtime/`, called by `client/`. Defined once here so that every side agrees.
/// (Kept out of `schema.hpp` because CAF's typed-actor headers are heavier than the rest.)

#include "schema/atoms.hpp"
#include "schema/group_types.hpp"
#include "schema/raft_types.hpp"
#include "schema/txn_types.hpp"
#include "schema/types.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <string>
#include <vector>

namespace pravaha {

/// The data path of a segment container.
/// `setup_writer_atom` opens a new session of a writer id on a segment (Pravega's SetupAppend
/// plus Kafka's producer epoch): it answers the last stored event number of that id and a new
/// epoch; appends of older sessions are refused from then on (errc::writer_fenced). The last
/// argument is the session the writer object had (0: none yet, take over); a writer whose
/// session was superseded meanwhile is refused instead (a zombie cannot take over again).
using segment_store_api = caf::typed_actor<
    caf::replies_to<append_atom, append_block>::with<append_ack>,
    caf::replies_to<read_atom, read_request>::with<read_result>,
    caf::replies_to<setup_writer_atom, segment_key, writer_id, uint32_t>::with<append_ack>>;

/// Scopes and streams. A stream is created with a scaling policy (the message without one means
/// fixed) and `update` replaces the policy. `scale` seals segments of the current epoch and
/// replaces them (answered once the new epoch is current; a retry of a finished scale gets its
/// answer; errc::conflict while another operation of the stream runs). `history` lists every
/// epoch; `successors` tells what replaced a segment (not sealed while its scale runs: the list
/// comes once every segment it replaced is sealed); `stream_cut` is the head (true) or tail cut;
/// `resolve_cut` checks a cut against the stream and fills in its ranges.
/// Reader groups (ARCHITECTURE.md "Reader groups"): `group_create` (a start cut without segments:
/// the head; a retry with the same configuration answers the group), `group_join` (a sync whose
/// `nonce` identifies the reader object), `group_sync` (a reader's heartbeat and report),
/// `group_leave`, `group_checkpoint` (answered with one cut per stream once every online reader
/// recorded it), `group_reset` (to a completed checkpoint by name, or to cuts, of the generation
/// the caller saw in `group_info`: a group reset since, by this call's retry or another, is
/// taken as done; answers the group's generation), `group_info` (with unread bytes).
/// Transactions (docs/transactions_plan.md): `txn` begins one (answered once its segments
/// exist), commits or aborts one (answered once it is committed or aborted; a retry answers the
/// same, the other decision is refused), reads or renews one; `txn_list` lists a stream's.
using controller_api = caf::typed_actor<
    caf::replies_to<create_scope_atom, std::string>::with<bool>,
    caf::replies_to<delete_scope_atom, std::string>::with<bool>,
    caf::replies_to<list_scopes_atom>::with<std::vector<std::string>>,
    caf::replies_to<create_stream_atom, std::string, std::string, uint32_t>::with<stream_record>,
    caf::replies_to<list_streams_atom, std::string>::with<std::vector<std::string>>,
    caf::replies_to<get_stream_atom, std::string, std::string>::with<stream_record>,
    caf::replies_to<seal_stream_atom, std::string, std::string>::with<stream_record>,
    caf::replies_to<delete_stream_atom, std::string, std::string>::with<bool>,
    caf::replies_to<stream_info_atom, std::string, std::string>::with<stream_info>,
    caf::replies_to<create_stream_atom, std::string, std::string, uint32_t, scaling_policy>::with<
        stream_record>,
    caf::replies_to<update_stream_atom, std::string, std::string, scaling_policy>::with<
        stream_record>,
    caf::replies_to<scale_atom, std::string, std::string, scale_request>::with<scale_result>,
    caf::replies_to<history_atom, std::string, std::string>::with<std::vector<epoch_info>>,
    caf::replies_to<successors_atom, std::string, std::string, segment_id>::with<
        segment_successors>,
    caf::replies_to<stream_cut_atom, std::string, std::string, bool>::with<stream_cut>,
    caf::replies_to<resolve_cut_atom, std::string, std::string, stream_cut>::with<stream_cut>,
    caf::replies_to<group_create_atom, std::string, std::string, group_config>::with<group_info>,
    caf::replies_to<group_delete_atom, std::string, std::string>::with<bool>,
    caf::replies_to<group_list_atom, std::string>::with<std::vector<std::string>>,
    caf::replies_to<group_info_atom, std::string, std::string>::with<group_info>,
    caf::replies_to<group_join_atom, std::string, std::string, group_sync>::with<group_assignment>,
    caf::replies_to<group_sync_atom, std::string, std::string, group_sync>::with<group_assignment>,
    caf::replies_to<group_leave_atom, std::string, std::string, group_sync>::with<bool>,
    caf::replies_to<group_checkpoint_atom, std::string, std::string, std::string>::with<
        std::vector<stream_cut>>,
    caf::replies_to<group_reset_atom,
                    std::string,
                    std::string,
                    std::string,
                    std::vector<stream_cut>,
                    uint32_t /*generation seen*/>::with<uint32_t>,
    caf::replies_to<txn_atom, txn_request>::with<txn_record>,
    caf::replies_to<txn_list_atom, std::string, std::string>::with<std::vector<txn_record>>>;

/// A Raft replica as the replicas of its group on other nodes reach it (one way).
using raft_replica_api = caf::typed_actor<caf::reacts_to<raft_atom, raft::message>>;

/// Segment operations of a container, used by the controller (also across nodes): a transaction
/// segment is created with its size limit; a merge moves transaction segment `source` (second)
/// behind segment `target` (first) and answers where its bytes begin.
using segment_admin_api =
    caf::typed_actor<caf::replies_to<create_segment_atom, segment_key>::with<bool>,
                     caf::replies_to<create_txn_segment_atom, segment_key, int64_t>::with<bool>,
                     caf::replies_to<merge_segment_atom, segment_key, segment_key>::with<int64_t>,
                     caf::replies_to<seal_segment_atom, segment_key>::with<bool>,
                     caf::replies_to<delete_segment_atom, segment_key>::with<bool>,
                     caf::replies_to<segment_status_atom, segment_key>::with<segment_status>,
                     caf::replies_to<segment_load_atom, segment_key>::with<segment_load>>;

/// What a node offers clients and other nodes: scopes and streams (a node whose controller
/// replica does not lead forwards to the leader once); the handle of a segment container's
/// leader replica for the data path (clients then talk to it directly; `get_segment_store_atom`
/// is container 0); the cluster's members and the status of the node's Raft groups; Raft traffic
/// between nodes (one way); and, between nodes, the local controller replica, a local container
/// replica's segment operations, and a local replica of a Raft group (so that replicas then
/// talk to each other directly). Between nodes, `hello` (cluster id, node id, instance) comes
/// first: a member answers with its own cluster id and node id, or refuses another cluster, a node
/// id that is not a member, or one that is already connected; Raft routes and relayed Raft messages
/// are served only to members that said hello. `identify` answers the node's cluster id (a
/// client checks that a node it reaches belongs to the cluster it works with); `auth` does the
/// same for a client presenting a token, which a node started with --token-file wants before
/// anything else of that client process (errors: unauthenticated, an unknown token).
/// `data_port` answers the node's framed data port (ARCHITECTURE.md "The framed data path"; 0:
/// none), where a client sends the appends of the containers this node leads.
using node_api = controller_api::extend<
    caf::replies_to<get_segment_store_atom>::with<segment_store_api>,
    caf::replies_to<get_container_atom, uint32_t>::with<segment_store_api>,
    caf::replies_to<cluster_info_atom>::with<raft::cluster_info>,
    caf::reacts_to<raft_atom, raft::message>,
    caf::replies_to<get_controller_atom>::with<controller_api>,
    caf::replies_to<get_admin_atom, uint32_t>::with<segment_admin_api>,
    caf::replies_to<get_replica_atom, uint32_t>::with<raft_replica_api>,
    caf::replies_to<hello_atom, std::string, uint32_t, uint64_t>::with<std::string, uint32_t>,
    caf::replies_to<identify_atom>::with<std::string>,
    caf::replies_to<auth_atom, std::string>::with<std::string>,
    caf::replies_to<data_port_atom>::with<uint16_t>>;

}  // namespace pravaha
