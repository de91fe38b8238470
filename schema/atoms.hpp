#pragma once

#include <caf/atom.hpp>

namespace caf {
class actor_system_config;
}

namespace pravaha {

// Message tags of the node's request interface (at most 10 characters each in CAF 0.17).
using create_scope_atom = caf::atom_constant<caf::atom("mkscope")>;
using delete_scope_atom = caf::atom_constant<caf::atom("rmscope")>;
using list_scopes_atom = caf::atom_constant<caf::atom("lsscope")>;
using create_stream_atom = caf::atom_constant<caf::atom("mkstream")>;
using delete_stream_atom = caf::atom_constant<caf::atom("rmstream")>;
using list_streams_atom = caf::atom_constant<caf::atom("lsstream")>;
using seal_stream_atom = caf::atom_constant<caf::atom("sealstrm")>;
using stream_info_atom = caf::atom_constant<caf::atom("streaminfo")>;
using get_stream_atom = caf::atom_constant<caf::atom("getstream")>;
using update_stream_atom = caf::atom_constant<caf::atom("updstream")>;
using scale_atom = caf::atom_constant<caf::atom("scale")>;
using history_atom = caf::atom_constant<caf::atom("history")>;
using successors_atom = caf::atom_constant<caf::atom("successors")>;
using stream_cut_atom = caf::atom_constant<caf::atom("streamcut")>;
using resolve_cut_atom = caf::atom_constant<caf::atom("resolvecut")>;
using group_create_atom = caf::atom_constant<caf::atom("grpcreate")>;
using group_delete_atom = caf::atom_constant<caf::atom("grpdelete")>;
using group_list_atom = caf::atom_constant<caf::atom("grplist")>;
using group_info_atom = caf::atom_constant<caf::atom("grpinfo")>;
using group_join_atom = caf::atom_constant<caf::atom("grpjoin")>;
using group_sync_atom = caf::atom_constant<caf::atom("grpsync")>;
using group_leave_atom = caf::atom_constant<caf::atom("grpleave")>;
using group_checkpoint_atom = caf::atom_constant<caf::atom("grpckpt")>;
using group_reset_atom = caf::atom_constant<caf::atom("grpreset")>;
using segment_load_atom = caf::atom_constant<caf::atom("segload")>;
using append_atom = caf::atom_constant<caf::atom("append")>;
using read_atom = caf::atom_constant<caf::atom("read")>;
using setup_writer_atom = caf::atom_constant<caf::atom("wsetup")>;
using create_segment_atom = caf::atom_constant<caf::atom("mkseg")>;
using seal_segment_atom = caf::atom_constant<caf::atom("sealseg")>;
using delete_segment_atom = caf::atom_constant<caf::atom("rmseg")>;
using segment_status_atom = caf::atom_constant<caf::atom("segstatus")>;
using read_timeout_atom = caf::atom_constant<caf::atom("readtmo")>;
using flushed_atom = caf::atom_constant<caf::atom("flushed")>;
using get_segment_store_atom = caf::atom_constant<caf::atom("getstore")>;
using get_container_atom = caf::atom_constant<caf::atom("getcont")>;
using cluster_info_atom = caf::atom_constant<caf::atom("clusterinf")>;
using raft_atom = caf::atom_constant<caf::atom("raft")>;
using raft_tick_atom = caf::atom_constant<caf::atom("rafttick")>;
using raft_status_atom = caf::atom_constant<caf::atom("raftstat")>;
using get_controller_atom = caf::atom_constant<caf::atom("getctl")>;
using get_admin_atom = caf::atom_constant<caf::atom("getadmin")>;
using get_replica_atom = caf::atom_constant<caf::atom("getrepl")>;
using raft_route_atom = caf::atom_constant<caf::atom("raftroute")>;
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using identify_atom = caf::atom_constant<caf::atom("identify")>;
using auth_atom = caf::atom_constant<caf::atom("auth")>;
using data_port_atom = caf::atom_constant<caf::atom("dataport")>;
using repair_atom = caf::atom_constant<caf::atom("ctlrepair")>;
using group_lag_atom = caf::atom_constant<caf::atom("grouplag")>;
using txn_atom = caf::atom_constant<caf::atom("txn")>;
using txn_list_atom = caf::atom_constant<caf::atom("txnlist")>;
using create_txn_segment_atom = caf::atom_constant<caf::atom("mktxnseg")>;
using merge_segment_atom = caf::atom_constant<caf::atom("mergeseg")>;

/// Registers every message type and the `pravaha` error category with an actor system config.
/// Every process that talks to a node (node, client, tests) calls this once before starting.
void add_message_types(caf::actor_system_config& cfg);

}  // namespace pravaha
