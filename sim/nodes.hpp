#pragma once

// The node world's nodes: each a disk (sim/sim_disk.hpp, or real RocksDB for Tier B) and the
// production node actors on it; start, crash (power loss) or fail-stop, restart, wipe. A core
// actor that stops takes its node down, as pravaha-node exits. Internal to sim/.

#include "actors/actors.hpp"
#include "sim/env.hpp"
#include "sim/sim_disk.hpp"

#include <caf/actor.hpp>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>

namespace pravaha::sim {

class network;
class prng;

struct node_t {
    uint32_t id = 0;
    std::unique_ptr<disk_model> disk;
    std::vector<std::unique_ptr<disk_model>> old_disks;  // wiped; old views may still refer to them
    caf::actor connector;  // cluster: opens this incarnation's connections to other nodes
    std::vector<std::unique_ptr<storage::log_store>> old_stores;  // zombies may still hold them
    std::unique_ptr<storage::log_store> store;
    uint64_t inc = 0;
    bool up = false;
    int64_t paused_until = 0;
    int64_t disk_full_until = 0;  // its free space is below the minimum until then
    actors::node_actors actors;
    std::set<caf::actor_id> actor_ids;
};

class node_set {
public:
    /// Hooks of the durability oracles.
    struct hooks {
        std::function<void()> before_crash;  ///< a node is about to lose what is not durable
        std::function<void(uint32_t, const storage::write_batch&)> durable;  ///< Tier A disks
        std::function<void(uint32_t, disk_model&)> before_wipe;  ///< a disk is about to be lost
        actors::scaling_settings scaling;  ///< the nodes' (windows, the decision oracle)
    };

    node_set(sim_env& env, network& net);

    /// Creates the nodes with healthy disks and starts them.
    void create(const disk_faults& faults, hooks h);
    void start(node_t& n);
    /// Power loss (`power_loss`) or the process exiting; connections break or drain.
    void crash(node_t& n, bool power_loss);
    /// Restarts node `id` at `t` unless it is up by then or the run ended.
    void restart_at(uint32_t id, int64_t t);
    /// The node's disk is replaced by an empty one; it restarts `down_ns` later.
    void wipe(node_t& n, uint64_t salt, int64_t down_ns);
    /// A core actor of incarnation `inc` of `node` stopped.
    void on_core_down(uint32_t node, uint64_t inc);
    /// Whether the actor runs on a node that is paused or blocked in fsync.
    bool paused(caf::actor_id id) const;
    /// After each scheduler step: a node that started an fsync blocks until it returns.
    void after_step();
    /// Kills every node's actors (end of the run).
    void stop_all();

    node_t& at(uint32_t id) { return nodes_[id]; }
    const node_t& at(uint32_t id) const { return nodes_[id]; }
    std::vector<node_t>& all() { return nodes_; }
    const std::vector<node_t>& all() const { return nodes_; }
    size_t size() const { return nodes_.size(); }
    /// Whether the disks report what is durable (Tier A, with oracles): the durability oracles
    /// can run.
    bool durability_modelled() const { return durability_modelled_; }
    /// A node picked at random (one node: no draw, so standalone seeds replay as before).
    node_t& pick(prng& rng);
    /// The configuration of cluster member `id` (0-based) on `store` for its incarnation `inc`.
    actors::cluster_config member_config(uint32_t id,
                                         uint64_t inc,
                                         storage::log_store* store,
                                         caf::actor connector) const;
    /// Called when a node goes down (a crash, a wipe, a fail-stop), before anything else.
    void on_down(std::function<void(uint32_t)> fn) { on_down_ = std::move(fn); }

private:
    void failed_start(node_t& n, const char* what, const caf::error& err);
    void kill_actors(node_t& n);
    std::unique_ptr<disk_model> make_disk(uint32_t node, uint64_t salt, const disk_faults& df);

    sim_env& env_;
    network& net_;
    hooks hooks_;
    std::vector<node_t> nodes_;
    std::map<caf::actor_id, uint32_t> actor_node_;
    caf::actor watcher_;
    bool durability_modelled_ = false;
    std::function<void(uint32_t)> on_down_;
};

}  // namespace pravaha::sim
