#pragma once

// The node world's network: connections between clients (or nodes) and node endpoints, each a
// set of channels (actor companions standing for the remote actors, as CAF's proxies over BASP),
// with per-link latency and jitter, FIFO per direction, clogs, partitions and resets. Internal
// to sim/.

#include "schema/raft_types.hpp"
#include "sim/env.hpp"
#include "sim/prng.hpp"

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/mailbox_element.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

namespace pravaha::sim {

class node_set;

// A one-way network path's delay and clog (client to node, or node to node).
struct link_t {
    int64_t base_latency_ns = 0;
    int64_t clog_until = 0;
    int64_t clog_extra_ns = 0;
};

struct partition_t {
    int64_t until = 0;
    std::set<uint32_t> clients;  // connection origins (clients or nodes) on one side
    std::set<uint32_t> nodes;    // the nodes on the other side (empty: every node)
    bool to_node = true;         // messages towards the node are dropped
    bool to_client = true;       // messages towards the clients are dropped
};

struct in_flight {
    int64_t at = 0;
    size_t channel = 0;
    caf::mailbox_element_ptr elem;
};

struct channel_t {
    caf::actor comp;
    caf::strong_actor_ptr target;
};

struct connection {
    uint64_t id = 0;
    uint32_t client = 0;  // the origin: a client, or node_origin + the node that connected
    uint32_t node = 0;
    bool open = true;
    std::vector<channel_t> channels;
    std::deque<in_flight> to_node;
    std::deque<in_flight> to_client;
    int64_t last_to_node = 0;
    int64_t last_to_client = 0;
    uint64_t next_rid = 1;
    std::map<uint64_t, std::pair<caf::strong_actor_ptr, caf::message_id>> requests;
    int64_t stall_until = 0;
    bool draining = false;  // the node process exited; queued answers still arrive
};

class network {
public:
    using connect_fn = std::function<void(caf::expected<caf::strong_actor_ptr>)>;
    /// A node sends a Raft message that leaves it at `leaves_at` (the persistence oracles).
    using raft_send_fn = std::function<void(uint32_t node, const raft::message&, int64_t)>;

    network(sim_env& env, node_set& nodes);

    /// Draws the links between the nodes (cluster).
    void add_node_links();
    /// Draws the link of a new client.
    void add_client_link(uint32_t client);
    link_t& client_link(uint32_t client) { return client_links_[client]; }
    void on_raft_send(raft_send_fn fn) { on_raft_send_ = std::move(fn); }

    /// Opens a connection from `origin` to the node listening at `port`; `done` gets the
    /// channel to its endpoint, an error, or (partitioned, paused) nothing at all.
    void open_connection(uint32_t origin, uint16_t port, connect_fn done);
    /// A message a channel's companion received (to send on, or a delivery tick).
    void on_channel(uint64_t conn, size_t channel, caf::mailbox_element_ptr e);

    /// Node `node` went down: its connections break (power loss) or drain (a process exit).
    void node_down(uint32_t node, bool power_loss);
    /// Client `client` crashed: answers to it are lost; a zombie's connections stall until
    /// `stall_until` (0: not a zombie).
    void client_crashed(uint32_t client, int64_t stall_until);
    size_t open_connections(uint32_t origin) const;
    /// Every connection `origin` opened breaks (its process is gone).
    void close_origin(uint32_t origin);

    // faults
    void reset_random(prng& rng);
    void add_partition(partition_t p) { partitions_.push_back(std::move(p)); }
    int64_t& node_partition_until() { return node_partition_until_; }
    link_t& node_link(uint32_t from, uint32_t to) { return node_links_[{from, to}]; }
    /// Ends partitions and clogs.
    void heal();
    /// Closes every channel (end of the run).
    void close_all();

private:
    connection* add_connection(uint32_t origin, uint32_t node);
    size_t add_channel(connection& c, caf::strong_actor_ptr target);
    template <class Handle>
    void wrap_handles(connection& c, caf::message& msg);
    void deliver_due(connection& c);
    void deliver(connection& c, in_flight& f, bool to_node);
    void reset(connection& c);
    bool cut(uint32_t origin, uint32_t node, bool to_node) const;
    int64_t link_delay(uint32_t origin, uint32_t node);
    std::optional<uint32_t> node_at(uint16_t port) const;

    sim_env& env_;
    node_set& nodes_;
    prng rng_;
    std::map<uint64_t, std::unique_ptr<connection>> conns_;
    uint64_t next_conn_ = 1;
    std::vector<partition_t> partitions_;
    std::map<std::pair<uint32_t, uint32_t>, link_t> node_links_;  // (from, to) node links
    std::map<uint32_t, link_t> client_links_;
    int64_t node_partition_until_ = 0;
    raft_send_fn on_raft_send_;
};

}  // namespace pravaha::sim
