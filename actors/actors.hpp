#pragma once

/// Module `actors`: all concurrency. Typed CAF actors own the storage state machines and talk by
/// messages.
///
/// - `container_actor`: owns one `storage::container_state`; validates appends, batches everything
///   that arrives while a flush runs into the next group commit (standalone: one synced write of
///   the group's state changes on the container's own thread; cluster: one Raft proposal),
///   acknowledges writers, serves reads and parks tail reads until data arrives.
/// - `controller_actor`: owns `storage::controller_state` (scopes, streams); drives segment
///   creation, sealing and deletion in the container. Detached (synced metadata writes).
///
/// Handles and spawn functions only: the behaviours live in .cpp files so CAF's templates are
/// instantiated once. May include: schema, storage.

#include "schema/access.hpp"
#include "schema/atoms.hpp"
#include "schema/interfaces.hpp"
#include "schema/types.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pravaha::storage {
class log_store;
namespace raft {
class snapshot_pacer;
}
}  // namespace pravaha::storage

namespace pravaha::actors {

/// Which client processes a node let in and with what grants, and which scope each stream uid
/// is in (actors/client_access.hpp): shared by the node's endpoint, containers and controller.
class client_access;

/// This process's Raft replicas as its metrics see them (the node's `/ready` and the
/// `pravaha_raft_*` aggregates): all of them, those that know no leader, and those this node
/// leads with a follower not keeping up (probing, recovering or receiving a snapshot).
struct raft_summary {
    size_t groups = 0;
    size_t without_leader = 0;
    size_t under_replicated = 0;
};
raft_summary summarize_raft_groups();

/// Where a container writes the answers to appends that came over the framed data path
/// (runtime/transport/data_port.hpp: one per client connection). Called on the container's
/// thread; must not block.
class data_sink {
public:
    virtual ~data_sink() = default;
    /// Adds one encoded frame to what goes out next.
    virtual void queue(std::string_view frame) = 0;
    /// Sends what was queued (what the socket does not take now goes when it is writable).
    virtual void flush() = 0;
};

/// The answer of one append of the data path: a frame carrying `request` to `sink`. The
/// container keeps it where a CAF request keeps its response promise.
struct data_reply {
    std::shared_ptr<data_sink> sink;
    uint64_t request = 0;
    void deliver(const append_ack& ack) const;
    void deliver(const caf::error& err) const;
};

/// One append of the data path, as the data port hands it to the block's container.
struct data_append {
    append_block block;
    data_reply reply;
};

/// `(data_append_atom, appends)`: appends read from the node's data connections, all for this
/// container, in the order they arrived. Local only (never crosses a process).
using data_append_atom = caf::atom_constant<caf::atom("dappend")>;

/// A segment container: the public data path plus the controller's segment operations, its own
/// timer and flush messages, the framed data path's appends, and (in a cluster) Raft traffic,
/// ticks and status.
using container_actor = segment_store_api::extend_with<segment_admin_api>::extend<
    caf::reacts_to<data_append_atom, std::vector<data_append>>,
    caf::reacts_to<read_timeout_atom, uint64_t>,
    caf::reacts_to<flushed_atom>,
    caf::reacts_to<raft_atom, raft::message>,
    caf::reacts_to<raft_tick_atom>,
    caf::replies_to<raft_status_atom>::with<raft::group_status>,
    caf::reacts_to<raft_route_atom, uint32_t, raft_replica_api>>;

/// Where a replica sends Raft messages for other nodes when it has no direct route to the
/// peer's replica (the node endpoint, or the simulator's network). One way, best effort: Raft
/// resends what is lost.
using raft_peers_actor = raft_replica_api;

/// Raft settings of a replica in a cluster.
struct raft_settings {
    uint32_t node_id = 0;
    std::vector<uint32_t> members;  ///< node ids of the group's replicas (including node_id)
    raft_peers_actor peers;
    std::chrono::milliseconds tick{50};
    uint32_t election_ticks = 10;  ///< election timeout: random in [10, 20) ticks
    uint64_t seed = 1;
    /// Raft log kept in memory for lagging followers before they get a snapshot instead.
    size_t retained_bytes_max = 64ull << 20;
    /// Snapshots: chunk size, chunks in flight per follower, bytes per second (0: no limit).
    size_t snapshot_chunk_bytes = 4u << 20;
    uint32_t snapshot_window = 4;
    uint64_t snapshot_rate_bytes = 0;
    /// Shared by the node's groups: the snapshot rate is the node's, and one transfer at a time
    /// goes to each follower node (null: each group paces itself at snapshot_rate_bytes).
    std::shared_ptr<storage::raft::snapshot_pacer> pacer;
};

/// `(policy_sync_atom)`: the controller brings its scaling-policy actors in line with the
/// streams' policies (after a policy actor ended abnormally: it is started again).
using policy_sync_atom = caf::atom_constant<caf::atom("polsync")>;

/// `(group_actors_atom)`: the controller brings its reader-group actors in line with the groups.
using group_actors_atom = caf::atom_constant<caf::atom("grpactors")>;
/// `(group_offline_atom, scope, group, reader, session, syncs)`: a group actor saw a lease pass
/// after `syncs` reports of the session; the controller commits the reader's offline (answers
/// whether it took: the session online and not renewed by a report since).
using group_offline_atom = caf::atom_constant<caf::atom("grpoffline")>;
/// `(group_auto_atom, scope, group)`: a group actor's automatic (silent) checkpoint begins.
using group_auto_atom = caf::atom_constant<caf::atom("grpauto")>;
/// `(txn_actors_atom)`: the controller brings its transaction actors in line with the open
/// transactions.
using txn_actors_atom = caf::atom_constant<caf::atom("txnactors")>;
/// `(txn_expire_atom, scope, stream, id, reason)`: a transaction actor saw the lease ("lease") or
/// the maximum lifetime ("lifetime") pass; the controller aborts the transaction if still open
/// (answers whether it did).
using txn_expire_atom = caf::atom_constant<caf::atom("txnexpire")>;

/// Controller ops plus, in a cluster, Raft traffic, ticks and status; and what its children
/// (scaling-policy and reader-group actors) ask of it.
using controller_actor = controller_api::extend<
    caf::reacts_to<raft_atom, raft::message>,
    caf::reacts_to<raft_tick_atom>,
    caf::replies_to<raft_status_atom>::with<raft::group_status>,
    caf::reacts_to<raft_route_atom, uint32_t, raft_replica_api>,
    caf::reacts_to<repair_atom>,
    caf::reacts_to<group_lag_atom>,
    caf::reacts_to<policy_sync_atom>,
    caf::reacts_to<group_actors_atom>,
    caf::replies_to<group_offline_atom, std::string, std::string, std::string, uint64_t, uint64_t>::
        with<bool>,
    caf::replies_to<group_auto_atom, std::string, std::string>::with<bool>,
    caf::reacts_to<txn_actors_atom>,
    caf::replies_to<txn_expire_atom, std::string, std::string, uint64_t, std::string>::with<bool>,
    caf::reacts_to<flushed_atom>>;

/// The segment operations the controller needs: a container (standalone) or the node's segment
/// router, which sends them to the leader of the segment's container (cluster).
using segment_admin_actor = segment_admin_api;

/// Why the node's disk takes no new data, "" while it has room (runtime watches the free space
/// of the data directory against --min-free-bytes). Appends and stream creations are then
/// refused with errc::storage_full; reads, seals and deletes go on, so that space can be freed
/// with Pravaha's own commands.
using storage_full_probe = std::function<std::string()>;

struct container_config {
    /// Metrics per stream too (`--metrics-per-stream`): a series per stream, so off by default.
    bool metrics_per_stream = false;
    /// Who may append and read (the node's client_access; none: everyone, as in the simulator).
    std::shared_ptr<client_access> access;
    uint32_t id = 0;
    storage::log_store* store = nullptr;  ///< outlives the actor system
    /// Appends waiting for the next flush beyond this many bytes are refused with
    /// errc::overloaded, which bounds the container's memory.
    size_t pending_bytes_max = 256 * 1024 * 1024;
    /// Largest answer to one read.
    uint32_t read_bytes_max = 4 * 1024 * 1024;
    /// Longest a tail read may wait.
    uint32_t read_wait_ms_max = 60000;
    /// Tail reads parked at once; more are refused with errc::overloaded (bounds memory).
    size_t parked_reads_max = 100000;
    /// Run the container on its own thread (production: it blocks on fsync); false on the
    /// deterministic scheduler.
    bool detached = false;
    /// Cluster mode: containers in the node's store (segments map to containers by
    /// `container_of`), and this container is a replica of Raft group `id + 1` (`raft.members`
    /// not empty) instead of writing a local log.
    uint32_t container_count = 1;
    raft_settings raft;
    storage_full_probe storage_full;  ///< none: never full
    /// The shortest window of each segment's rates (storage::rate_meter; the others are 2.5, 5
    /// and 10 times longer): what the scaling-policy actors ask (segment_load_atom).
    int64_t rate_window_ms = 120'000;
};

/// Recovers the container's state from the store (replaying its log), then spawns the container
/// and its durable log (linked). Errors: storage_io, malformed_message.
[[nodiscard]] caf::expected<container_actor> spawn_container(caf::actor_system& sys,
                                                             const container_config& cfg);

/// Automatic scaling: the shortest rate window of the segments' loads (the others keep Pravega's
/// ratios: 2.5, 5 and 10 times longer) and the pause after a scale before the next automatic one.
/// Pravega's defaults: 2 minutes and 10 minutes. `pravaha-node --scale-window-s S
/// --scale-cooldown-s S` sets them (tests and demos scale within seconds).
struct scaling_settings {
    int64_t window_ms = 120'000;
    int64_t cooldown_ms = 600'000;
    /// Told every automatic scale a policy actor decides, with the loads it decided on (the
    /// simulator's oracle of the auto-scaler's rules; none in production).
    std::function<void(
        const stream_record&, const std::vector<segment_load>&, const scale_request&)>
        on_decision;
};

struct controller_config {
    /// Metrics per stream too (`--metrics-per-stream`): a series per stream, so off by default.
    bool metrics_per_stream = false;
    /// The node's client_access, told which scope each stream uid belongs to (none: not kept).
    std::shared_ptr<client_access> access;
    /// How often the controller's leader refreshes the reader groups' unread bytes for the
    /// metrics (`pravaha_reader_group_unread_bytes`); 0: never (no metrics port, simulator).
    std::chrono::milliseconds group_lag_every{0};
    storage::log_store* store = nullptr;  ///< outlives the actor system
    segment_admin_actor container;
    std::chrono::milliseconds request_timeout{30000};
    std::function<int64_t()> wall_clock_ms;  ///< the injected wall clock for record timestamps
    bool detached = true;
    /// Cluster mode: the controller is a replica of Raft group 0 (`raft.members` not empty).
    raft_settings raft;
    storage_full_probe storage_full;  ///< none: never full
    scaling_settings scaling;
    /// The segment containers (transaction segments are placed in their parents').
    uint32_t container_count = 1;
    txn_limits txns;
};

/// Loads the metadata, spawns the controller, and re-issues the idempotent segment operations
/// that a crash may have interrupted. Errors: storage_io, malformed_message.
[[nodiscard]] caf::expected<controller_actor> spawn_controller(caf::actor_system& sys,
                                                               const controller_config& cfg);

/// One node's actors: the endpoint clients talk to, and the actors behind it.
struct node_actors {
    node_api endpoint;
    container_actor container;  ///< container 0
    controller_actor controller;
    std::vector<container_actor> containers;  ///< every container replica of the node
};

struct node_config {
    /// Metrics per stream too (`--metrics-per-stream`): a series per stream, so off by default.
    bool metrics_per_stream = false;
    /// How often the controller's leader refreshes the reader groups' unread bytes for the
    /// metrics (`pravaha_reader_group_unread_bytes`); 0: never (no metrics port, simulator).
    std::chrono::milliseconds group_lag_every{0};
    storage::log_store* store = nullptr;  ///< outlives the actor system
    /// Memory for queued appends and parked reads (0: the containers' defaults); see
    /// `memory_budget`.
    size_t memory_bytes = 0;
    /// Production: the container and the controller run on their own threads because they block
    /// on fsync. The simulator runs everything on its scheduler.
    bool detached = true;
    std::function<int64_t()> wall_clock_ms;
    /// The node's listening ports, for `pravaha cluster status` (none: not shown).
    std::function<std::vector<raft::listener_status>()> listeners;
    storage_full_probe storage_full;  ///< none: never full
    /// The data directory's cluster id (runtime/identity.hpp), answered to `identify`.
    std::string cluster_id;
    /// The framed data port once it listens (runtime/data_port.hpp), answered to `data_port`
    /// (0 or null: none).
    std::shared_ptr<const std::atomic<uint16_t>> data_port;
    scaling_settings scaling;
    /// --token-file: a client process needs `auth` with a known token first, and each request
    /// its right on its scope (client_access). Empty: every client may do everything.
    token_check tokens;
};

/// How a node's memory limit is shared: a quarter of it for appends waiting for their group
/// commit (all containers together), a quarter for Raft logs kept for lagging followers (all
/// groups together), reads parked at the tail at about 1 KiB each within an eighth, and a
/// sixteenth for snapshot chunks in flight (every group's window to every follower, at most
/// 4 MiB a chunk); the rest is for RocksDB's write buffers and caches and the actor system.
struct memory_budget {
    size_t pending_bytes_per_container;
    size_t retained_bytes_per_group;
    size_t parked_reads_per_container;
    size_t snapshot_chunk_bytes;
};
/// `members`: the cluster's size (1 standalone).
memory_budget split_memory(size_t memory_bytes, uint32_t containers, uint32_t members = 1);

/// Recovers and spawns a standalone node's container and controller and the endpoint that
/// forwards client requests to them. On error nothing is left running.
/// Errors: storage_io, malformed_message.
[[nodiscard]] caf::expected<node_actors> spawn_node(caf::actor_system& sys, const node_config& cfg);

/// A node of a cluster: every node holds a replica of the controller (Raft group 0) and of
/// every segment container (group c + 1); Raft elects the leaders.
struct cluster_config {
    /// Metrics per stream too (`--metrics-per-stream`): a series per stream, so off by default.
    bool metrics_per_stream = false;
    /// How often the controller's leader refreshes the reader groups' unread bytes for the
    /// metrics (`pravaha_reader_group_unread_bytes`); 0: never (no metrics port, simulator).
    std::chrono::milliseconds group_lag_every{0};
    storage::log_store* store = nullptr;  ///< outlives the actor system
    /// The cluster's id (runtime/identity.hpp): members that say hello with another one are
    /// refused, and so is this node by theirs.
    std::string cluster_id;
    uint32_t node_id = 0;
    /// This run of the node (random per process start; the simulator's per incarnation): a
    /// member's hello with a new instance while its old one still answers is a second node with
    /// the same id, and is refused.
    uint64_t instance = 0;
    std::vector<raft::cluster_member> members;  ///< every node, this one included
    uint32_t container_count = 4;
    /// As node_config's: the framed data port, answered to `data_port`.
    std::shared_ptr<const std::atomic<uint16_t>> data_port;
    /// --token-file, as node_config's; members (hello accepted) are trusted.
    token_check tokens;
    std::function<int64_t()> wall_clock_ms;
    bool detached = true;
    std::chrono::milliseconds tick{50};
    uint32_t election_ticks = 10;  ///< election timeout: random in [10, 20) ticks
    /// Opens connections to other nodes: answers `(connect_atom, host, port)` like CAF's
    /// middleman actor (the transport seam; the simulator installs its network).
    caf::actor connector;
    std::chrono::milliseconds request_timeout{5000};
    /// Mixed into every replica's election-timeout seed (the simulator varies it per run).
    uint64_t seed = 0;
    /// Memory for queued appends, parked reads, Raft logs kept for followers and snapshots in
    /// flight (0: defaults).
    size_t memory_bytes = 0;
    /// Snapshot bytes per second each leader replica sends (0: no limit).
    uint64_t snapshot_rate_bytes = 64ull << 20;
    /// Snapshot chunk size (0: from `memory_bytes`, at most 4 MiB; the simulator's are small).
    size_t snapshot_chunk_bytes = 0;
    /// The node's listening ports, for `pravaha cluster status` (none: not shown).
    std::function<std::vector<raft::listener_status>()> listeners;
    storage_full_probe storage_full;  ///< none: never full
    scaling_settings scaling;
};

/// Recovers and spawns a cluster node's replicas and its endpoint, which carries Raft traffic to
/// and from the other nodes and routes requests to the leaders. On error nothing is left running.
/// Errors: storage_io, corrupt_data, malformed_message, invalid_argument.
[[nodiscard]] caf::expected<node_actors> spawn_cluster_node(caf::actor_system& sys,
                                                            const cluster_config& cfg);

}  // namespace pravaha::actors

// The data path's appends are handed from the data port's thread to a container in this
// process only: CAF may move them between actors but never serialises them.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<pravaha::actors::data_append>)
