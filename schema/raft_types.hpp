#pragma once

/// Raft wire types: the messages replicas of one Raft group exchange (storage/raft.hpp runs the
/// protocol; actors carry these between nodes). They live in schema/ because they cross process
/// boundaries and need CAF inspectors.

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace pravaha::raft {

/// A replica's id inside its group: the node id (1..n). 0 means "none".
using replica_id = uint32_t;
constexpr replica_id no_replica = 0;

/// One log entry. Entry data is opaque to Raft (a capnp LogEntry for containers; an empty
/// `data` is the no-op a new leader appends).
struct entry {
    uint64_t term = 0;
    uint64_t index = 0;
    std::string data;
};

/// What a replica is in its group.
enum class role : uint8_t { follower, pre_candidate, candidate, leader };
const char* to_string(role r);

enum class msg_type : uint8_t {
    pre_vote = 0,       ///< "would you vote for me in term+1?" (does not change anyone's term)
    pre_vote_resp = 1,  ///< granted = !reject
    vote = 2,           ///< request a vote: index/log_term = the candidate's last entry
    vote_resp = 3,
    append = 4,       ///< index/log_term = the entry before `entries`; commit = leader's
    append_resp = 5,  ///< success: index = last index known to match; reject: index = the
                      ///< rejected prev index, hint = the follower's hint for the next probe
    /// One chunk of the leader's state: index/log_term = the last entry the snapshot covers,
    /// session = the leader's transfer, chunk = its number (from 1), last_chunk, data = records
    snapshot = 6,
    probe_term = 7,       ///< a replica that starts empty asks every peer for its term
    probe_term_resp = 8,  ///< term = the peer's current term; hint = 1 if the peer holds data
    timeout_now = 9,      ///< the leader hands over: campaign at once (leadership transfer)
    /// A follower's answer to a snapshot chunk: index and session of the transfer, chunk = the
    /// number of the chunk it expects next (1: it holds none of this transfer)
    snapshot_resp = 10,
};

const char* to_string(msg_type t);

struct message {
    msg_type type = msg_type::append;
    uint32_t group = 0;
    replica_id from = no_replica;
    replica_id to = no_replica;
    uint64_t term = 0;
    uint64_t log_term = 0;
    uint64_t index = 0;
    uint64_t commit = 0;
    uint64_t hint = 0;
    bool reject = false;
    /// The sender started empty and is not yet a full member (its votes and acks do not count).
    bool recovering = false;
    /// Appends and heartbeats carry the leader's latest read round; answers echo it (a leader
    /// confirms linearizable reads with them: storage/raft.hpp, replica::read_index).
    uint64_t read_round = 0;
    /// Snapshots in chunks (msg_type::snapshot and snapshot_resp).
    uint64_t session = 0;
    uint64_t chunk = 0;
    bool last_chunk = false;
    std::vector<entry> entries;
    std::string data;
};

/// A snapshot a leader sends to a follower behind its compacted log, for `cluster status`.
struct snapshot_status {
    replica_id follower = no_replica;
    uint64_t index = 0;        ///< the state's index
    uint64_t bytes_sent = 0;   ///< chunk bytes sent so far (resends included)
    uint64_t bytes_total = 0;  ///< the leader's estimate of the state's size
    uint64_t elapsed_ms = 0;   ///< since the transfer began
};

/// One replica's view of its group, for `pravaha cluster status`.
struct group_status {
    uint32_t group = 0;
    replica_id node = no_replica;
    raft::role role = raft::role::follower;
    /// False when the node could not ask this replica (the other fields are then unknown).
    bool reachable = true;
    uint64_t term = 0;
    replica_id leader = no_replica;
    uint64_t commit = 0;
    uint64_t applied = 0;
    uint64_t last_index = 0;
    bool recovering = false;
    /// On a leader: (follower, match index) per follower.
    std::vector<std::pair<replica_id, uint64_t>> follower_match;
    /// On a leader: the snapshots it is sending.
    std::vector<snapshot_status> snapshots;
};

struct cluster_member {
    replica_id id = no_replica;
    std::string host;
    uint16_t port = 0;
};

/// A port the node listens on (the CAF endpoint "client", the RPC gateway "rpc"), for
/// `pravaha cluster status`.
struct listener_status {
    std::string name;
    uint16_t port = 0;
    uint64_t connections = 0;      ///< open on this port now
    uint64_t max_connections = 0;  ///< the node's maximum, all ports together
    uint64_t refused = 0;          ///< closed at once because the node had the maximum open
    uint64_t accept_failures = 0;  ///< accept errors (out of descriptors, ...) since the start
    bool backing_off = false;      ///< an accept failed in the last 10 s
    std::string last_error;        ///< of the last accept failure, with the descriptor limit
};

/// What a node knows about the cluster: members and their endpoints, the number of segment
/// containers, the status of the Raft groups it hosts and of its listening ports. Group 0 is the
/// controller; container c is group c + 1.
struct cluster_info {
    replica_id node = no_replica;
    uint32_t container_count = 1;
    std::vector<cluster_member> members;
    std::vector<group_status> groups;
    std::vector<listener_status> listeners;
    /// Why this node's disk takes no new data (free space below --min-free-bytes); "" when it
    /// has room.
    std::string storage_full;
    /// The cluster id of the node's data directory (runtime/identity.hpp).
    std::string cluster_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_status& x) {
    return f(caf::meta::type_name("pravaha.raft.group_status"), x.group, x.node, x.role,
             x.reachable, x.term, x.leader, x.commit, x.applied, x.last_index, x.recovering,
             x.follower_match, x.snapshots);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot_status& x) {
    return f(caf::meta::type_name("pravaha.raft.snapshot_status"), x.follower, x.index,
             x.bytes_sent, x.bytes_total, x.elapsed_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_member& x) {
    return f(caf::meta::type_name("pravaha.raft.cluster_member"), x.id, x.host, x.port);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_info& x) {
    return f(caf::meta::type_name("pravaha.raft.cluster_info"), x.node, x.container_count,
             x.members, x.groups, x.listeners, x.storage_full, x.cluster_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, listener_status& x) {
    return f(caf::meta::type_name("pravaha.raft.listener_status"), x.name, x.port, x.connections,
             x.max_connections, x.refused, x.accept_failures, x.backing_off, x.last_error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, entry& x) {
    return f(caf::meta::type_name("pravaha.raft.entry"), x.term, x.index, x.data);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, message& x) {
    return f(caf::meta::type_name("pravaha.raft.message"), x.type, x.group, x.from, x.to, x.term,
             x.log_term, x.index, x.commit, x.hint, x.reject, x.recovering, x.read_round, x.session,
             x.chunk, x.last_chunk, x.entries, x.data);
}

}  // namespace pravaha::raft
