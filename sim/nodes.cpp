#include "sim/nodes.hpp"

#include "schema/errc.hpp"
#include "sim/harness.hpp"
#include "sim/net.hpp"
#include "sim/prng.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

namespace pravaha::sim {

node_set::node_set(sim_env& env, network& net) : env_(env), net_(net) {}

void node_set::create(const disk_faults& faults, hooks h) {
    hooks_ = std::move(h);
    watcher_ = spawn_watcher(env_.sys, *this);
    for (uint32_t i = 0; i < env_.k.nodes; ++i) {
        node_t n;
        n.id = i;
        n.disk = make_disk(i, 0, faults);
        nodes_.push_back(std::move(n));
    }
    for (auto& n : nodes_) {
        start(n);
    }
}

std::unique_ptr<disk_model> node_set::make_disk(uint32_t node,
                                                uint64_t salt,
                                                const disk_faults& df) {
    prng rng(env_.cfg.seed, "disk", salt == 0 ? node : mix(node, salt));
    auto clock = [this] { return env_.now(); };
    std::unique_ptr<disk_model> disk;
    if (env_.cfg.storage == "rocksdb") {
        disk = make_rocksdb_disk(rng, df, clock);
    } else {
        disk = std::make_unique<sim_disk>(rng, df, clock);
    }
    if (hooks_.durable) {
        durability_modelled_ = disk->on_durable(
            [this, node](const storage::write_batch& b) { hooks_.durable(node, b); });
    }
    return disk;
}

// A start that fails on an I/O error (an injected fsync failure) exits like pravaha-node does;
// its supervisor starts it again. Any other error means the stored state is unreadable: a bug.
void node_set::failed_start(node_t& n, const char* what, const caf::error& err) {
    if (code_of(err) != errc::storage_io) {
        env_.kern.fail(verdict::crash,
                       fmt::format("node {} could not {}: {}", n.id, what, render_error(err)));
        return;
    }
    env_.kern.count("failed node starts");
    env_.kern.note(fmt::format("node {} could not {}: {}", n.id, what, render_error(err)));
    n.disk->process_exit();
    restart_at(n.id, env_.now() + 200 * ms);
}

void node_set::restart_at(uint32_t id, int64_t t) {
    env_.kern.at(t, [this, id] {
        if (!nodes_[id].up && !env_.finished()) {
            start(nodes_[id]);
        }
    });
}

void node_set::start(node_t& n) {
    ++n.inc;
    if (n.store) {
        n.old_stores.push_back(std::move(n.store));
    }
    auto opened = n.disk->open(n.inc);
    if (!opened) {
        failed_start(n, "open its disk", opened.error());
        return;
    }
    n.store = std::move(*opened);
    auto full = [this, id = n.id] {
        return nodes_[id].disk_full_until > env_.now() ? std::string("disk full (simulated)")
                                                       : std::string{};
    };
    auto spawned = [&]() -> caf::expected<actors::node_actors> {
        if (env_.cluster()) {
            n.connector = spawn_connector(env_.sys, net_, node_origin + n.id);
            env_.spawned.push_back(n.connector);
            auto cc = member_config(n.id, n.inc, n.store.get(), n.connector);
            cc.storage_full = full;
            cc.scaling = hooks_.scaling;
            return actors::spawn_cluster_node(env_.sys, cc);
        }
        actors::node_config nc;
        nc.store = n.store.get();
        nc.detached = false;
        nc.wall_clock_ms = [this] { return env_.now() / ms; };
        nc.storage_full = full;
        nc.scaling = hooks_.scaling;
        return actors::spawn_node(env_.sys, nc);
    }();
    if (!spawned) {
        if (n.connector) {
            caf::anon_send_exit(n.connector, caf::exit_reason::kill);
            n.connector = caf::actor{};
        }
        failed_start(n, "recover from its disk", spawned.error());
        return;
    }
    n.actors = *spawned;
    std::vector<caf::actor> core{caf::actor_cast<caf::actor>(n.actors.controller)};
    for (const auto& c : n.actors.containers) {
        core.push_back(caf::actor_cast<caf::actor>(c));
    }
    env_.spawned.push_back(caf::actor_cast<caf::actor>(n.actors.endpoint));
    env_.spawned.insert(env_.spawned.end(), core.begin(), core.end());
    n.up = true;
    n.paused_until = 0;
    n.actor_ids.clear();
    n.actor_ids.insert(n.actors.endpoint.id());
    if (n.connector) {
        n.actor_ids.insert(n.connector.id());
    }
    for (const auto& a : core) {
        n.actor_ids.insert(a.id());
        // A core actor that stops takes the node down (fail-stop), as in pravaha-node.
        caf::anon_send(watcher_, watch_atom::value, a, n.id, n.inc);
    }
    for (auto id : n.actor_ids) {
        actor_node_[id] = n.id;
    }
    env_.kern.count("node starts");
    env_.kern.note(fmt::format("node {} started (incarnation {})", n.id, n.inc));
    env_.kern.trace(mix(0x5747, n.inc));
}

actors::cluster_config node_set::member_config(uint32_t id,
                                               uint64_t inc,
                                               storage::log_store* store,
                                               caf::actor connector) const {
    actors::cluster_config cc;
    cc.store = store;
    cc.node_id = id + 1;
    for (uint32_t i = 0; i < env_.k.nodes; ++i) {
        cc.members.push_back(raft::cluster_member{i + 1, "node" + std::to_string(i),
                                                  static_cast<uint16_t>(cluster_port + i)});
    }
    cc.container_count = env_.k.containers;
    cc.wall_clock_ms = [this] { return env_.now() / ms; };
    cc.detached = false;
    cc.connector = std::move(connector);
    cc.seed = mix(env_.cfg.seed, inc);
    cc.instance = mix(cc.seed, id + 1);
    // Simulated containers hold little: small chunks make a snapshot many messages, which
    // crashes and partitions then cut in the middle.
    cc.snapshot_chunk_bytes = 2048;
    return cc;
}

void node_set::crash(node_t& n, bool power_loss) {
    if (!n.up) {
        return;
    }
    if (on_down_) {
        on_down_(n.id);
    }
    if (hooks_.before_crash) {
        hooks_.before_crash();  // durability right before the disk forgets
    }
    n.up = false;
    n.paused_until = 0;
    if (power_loss) {
        n.disk->crash();
    } else {
        n.disk->process_exit();
    }
    for (auto id : n.actor_ids) {
        actor_node_.erase(id);
    }
    kill_actors(n);
    n.connector = caf::actor{};
    net_.node_down(n.id, power_loss);
    env_.kern.count(power_loss ? "node crashes" : "node fail-stops");
    env_.kern.note(
        fmt::format("node {} {}", n.id, power_loss ? "crashed (power loss)" : "stopped itself"));
    env_.kern.trace(mix(0xc4a5, n.inc));
}

void node_set::kill_actors(node_t& n) {
    caf::anon_send_exit(n.actors.endpoint, caf::exit_reason::kill);
    caf::anon_send_exit(n.actors.controller, caf::exit_reason::kill);
    for (const auto& c : n.actors.containers) {
        caf::anon_send_exit(c, caf::exit_reason::kill);
    }
    if (n.connector) {
        caf::anon_send_exit(n.connector, caf::exit_reason::kill);
    }
}

void node_set::on_core_down(uint32_t node, uint64_t inc) {
    auto& n = nodes_[node];
    if (!n.up || n.inc != inc) {
        return;
    }
    // Fail-stop, as pravaha-node exits when a core actor stops; a supervisor restarts it.
    crash(n, false);
    restart_at(node, env_.now() + 200 * ms);
}

// A new machine under the same name: the node comes back empty and must be re-replicated
// before it counts as a copy.
void node_set::wipe(node_t& n, uint64_t salt, int64_t down_ns) {
    crash(n, true);
    if (hooks_.before_wipe) {
        hooks_.before_wipe(n.id, *n.disk);
    }
    n.old_disks.push_back(std::move(n.disk));
    n.disk = make_disk(n.id, salt, n.old_disks.back()->faults());
    env_.kern.count("disk wipes");
    env_.kern.note(fmt::format("node {} lost its disk", n.id));
    restart_at(n.id, env_.now() + down_ns);
}

bool node_set::paused(caf::actor_id id) const {
    auto it = actor_node_.find(id);
    if (it == actor_node_.end()) {
        return false;
    }
    const auto& n = nodes_[it->second];
    return n.paused_until > env_.now() || (n.up && n.disk->sync_done_at() > env_.now());
}

void node_set::after_step() {
    for (auto& n : nodes_) {
        if (n.disk->take_synced()) {
            // The node's thread blocks in fsync: nothing of it runs or leaves until done.
            env_.kern.at(n.disk->sync_done_at(), [] {});
        }
    }
}

node_t& node_set::pick(prng& rng) {
    return nodes_.size() == 1 ? nodes_[0] : nodes_[rng.below(nodes_.size())];
}

void node_set::stop_all() {
    for (auto& n : nodes_) {
        if (n.up) {
            kill_actors(n);
        }
    }
    if (watcher_) {
        caf::anon_send_exit(watcher_, caf::exit_reason::kill);
    }
}

}  // namespace pravaha::sim
