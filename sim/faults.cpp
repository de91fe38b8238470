#include "sim/faults.hpp"

#include "schema/logging.hpp"
#include "sim/harness.hpp"
#include "sim/net.hpp"
#include "sim/nodes.hpp"
#include "sim/workload.hpp"

#include <fmt/format.h>

namespace pravaha::sim {

fault_injector::fault_injector(sim_env& env, node_set& nodes, network& net, workload& work)
    : env_(env),
      nodes_(nodes),
      net_(net),
      work_(work),
      rng_(env.cfg.seed, "faults"),
      permanent_allowed_((env.k.nodes - 1) / 2) {}

void fault_injector::schedule(int64_t heal_at) {
    heal_at_ = heal_at;
    nodes_.on_down([this](uint32_t id) { stop_twin_of(id); });
    const auto& f = env_.k.faults;
    env_.kern.schedule_faults(
        {
            {fault_kind::crash, f.crash_ms},
            {fault_kind::pause, f.pause_ms},
            {fault_kind::reset, f.reset_ms},
            {fault_kind::partition, f.partition_ms},
            {fault_kind::clog, f.clog_ms},
            {fault_kind::client_crash, f.client_crash_ms},
            {fault_kind::slow_disk, f.slow_disk_ms},
            {fault_kind::wipe, f.wipe_ms},
            {fault_kind::disk_full, f.disk_full_ms},
            {fault_kind::impostor, env_.cluster() ? f.impostor_ms : 0},
            {fault_kind::leave, f.leave_ms},
        },
        heal_at, [this](int64_t mean_ms) { return rng_.range(1, 2 * mean_ms) * ms; },
        [this](fault_kind kind) {
            if (env_.ph == phase::chaos) {
                inject(kind);
            }
        });
}

void fault_injector::inject(fault_kind kind) {
    env_.kern.trace(hash_name(to_string(kind)));
    switch (kind) {
        case fault_kind::crash:
            return crash();
        case fault_kind::pause:
            return pause();
        case fault_kind::reset:
            return net_.reset_random(rng_);
        case fault_kind::partition:
            return partition();
        case fault_kind::clog:
            return clog();
        case fault_kind::client_crash:
            return client_crash();
        case fault_kind::slow_disk:
            return slow_disk();
        case fault_kind::wipe:
            return wipe();
        case fault_kind::disk_full:
            return disk_full();
        case fault_kind::impostor:
            return impostor();
        case fault_kind::leave:
            return group_leave();
        case fault_kind::replay:
            break;
    }
    PRAVAHA_ASSERT(false, "sim: the node world does not inject fault {}", to_string(kind));
}

int64_t fault_injector::until(int64_t lo_ms, int64_t hi_ms) {
    return std::min(env_.now() + rng_.range(lo_ms, hi_ms) * ms, heal_at_);
}

void fault_injector::crash() {
    auto& n = nodes_.pick(rng_);
    if (!n.up) {
        return;
    }
    nodes_.crash(n, true);
    nodes_.restart_at(n.id, env_.now() + rng_.range(10, 3000) * ms);
}

// The node's free space falls below its minimum for a while (another process fills the disk,
// then frees it): its containers and controller refuse appends and stream creations with
// storage_full until the period ends.
void fault_injector::disk_full() {
    auto& n = nodes_.pick(rng_);
    if (!n.up || n.disk_full_until > env_.now()) {
        return;
    }
    n.disk_full_until = until(200, 4000);
    env_.kern.at(n.disk_full_until, [] {});
    env_.kern.count("disk full periods");
    env_.kern.note(fmt::format("node {} disk full", n.id));
}

// An operator's mistake: a node process started with a member's id in another cluster (or, with
// --faults twin=PER_MILLE, the identity of a running member: same cluster, same --node-id, an
// empty data directory). The members must refuse it (hello; the network fails the run if one
// answers its hello or serves it a Raft route) and go on unchanged: the oracles and checkers see
// only the real nodes. It runs 0.3-3 s. A twin stops the moment its member goes down or pauses:
// the members would then take it for that member with a wiped disk (a member that does not
// answer for a second is taken for gone), and two replicas under one identity on two data
// directories are outside what the product can tell apart (ARCHITECTURE.md).
void fault_injector::impostor() {
    if (imp_.running) {
        return;
    }
    auto id = static_cast<uint32_t>(rng_.below(env_.k.nodes));
    bool twin = rng_.below(1000) < env_.k.faults.twin_per_mille;
    if (twin && (!nodes_.at(id).up || nodes_.at(id).paused_until > env_.now())) {
        return;
    }
    ++imp_.count;
    auto disk = std::make_unique<sim_disk>(prng(env_.cfg.seed, "impostor", imp_.count),
                                           disk_faults{}, [this] { return env_.now(); });
    auto store = disk->open(1);
    PRAVAHA_ASSERT(store, "sim: an impostor's empty disk does not open");
    auto connector = spawn_connector(env_.sys, net_, impostor_origin);
    env_.spawned.push_back(connector);
    auto cc = nodes_.member_config(id, 1000 + imp_.count, store->get(), connector);
    cc.cluster_id = twin ? std::string{} : std::string{impostor_cluster};
    auto spawned = actors::spawn_cluster_node(env_.sys, cc);
    PRAVAHA_ASSERT(spawned, "sim: an impostor on an empty disk does not start");
    env_.spawned.push_back(caf::actor_cast<caf::actor>(spawned->endpoint));
    env_.spawned.push_back(caf::actor_cast<caf::actor>(spawned->controller));
    for (const auto& c : spawned->containers) {
        env_.spawned.push_back(caf::actor_cast<caf::actor>(c));
    }
    imp_.running = true;
    imp_.twin = twin;
    imp_.member = id;
    imp_.disk = std::move(disk);
    imp_.store = std::move(*store);
    imp_.actors = *spawned;
    imp_.connector = connector;
    net_.add_client_link(impostor_origin);
    env_.kern.count("impostors");
    env_.kern.note(
        twin ? fmt::format("impostor: a twin of node {} started", id)
             : fmt::format("impostor: a node of another cluster with node {}'s id started", id));
    auto which = imp_.count;
    env_.kern.at(until(300, 3000), [this, which] { stop_impostor(which); });
}

// A twin stops when its member goes down or pauses (see impostor()).
void fault_injector::stop_twin_of(uint32_t member) {
    if (imp_.running && imp_.twin && imp_.member == member) {
        stop_impostor(imp_.count);
    }
}

void fault_injector::stop_impostor(uint64_t which) {
    if (!imp_.running || imp_.count != which) {
        return;
    }
    imp_.running = false;
    caf::anon_send_exit(imp_.actors.endpoint, caf::exit_reason::kill);
    caf::anon_send_exit(imp_.actors.controller, caf::exit_reason::kill);
    for (const auto& c : imp_.actors.containers) {
        caf::anon_send_exit(c, caf::exit_reason::kill);
    }
    caf::anon_send_exit(imp_.connector, caf::exit_reason::kill);
    net_.close_origin(impostor_origin);
    old_stores_.push_back(std::move(imp_.store));
    old_disks_.push_back(std::move(imp_.disk));
    env_.kern.note("impostor stopped");
}

void fault_injector::pause() {
    auto& n = nodes_.pick(rng_);
    if (!n.up || n.paused_until > env_.now()) {
        return;
    }
    n.paused_until = until(50, 4000);
    env_.kern.at(n.paused_until, [] {});  // wake the loop when the pause ends
    stop_twin_of(n.id);
    env_.kern.count("node pauses");
    env_.kern.note(fmt::format("node {} paused", n.id));
}

void fault_injector::partition() {
    auto mode = rng_.below(4);
    auto end = until(200, 6000);
    if (env_.cluster() && rng_.chance(2, 3)) {
        if (net_.node_partition_until() > env_.now()) {
            return;
        }
        partition_node(mode, end);
    } else {
        partition_t p;
        p.until = end;
        bool all = rng_.chance(1, 3);
        for (const auto& c : work_.clients()) {
            if (all || rng_.chance(1, 2)) {
                p.clients.insert(c.id);
            }
        }
        if (env_.cluster() && rng_.chance(1, 2)) {
            p.nodes.insert(static_cast<uint32_t>(rng_.below(env_.k.nodes)));
        }
        p.to_node = mode != 1;
        p.to_client = mode != 2;
        net_.add_partition(std::move(p));
        env_.kern.count("partitions");
        env_.kern.note("partition");
    }
    env_.kern.at(end, [] {});
}

// One node cut off from the other nodes: both ways, or it cannot send, or it cannot receive.
// Its clients still reach it. One such node at a time, so that a quorum stays connected
// (crashes and pauses may still take two nodes at once).
void fault_injector::partition_node(uint64_t mode, int64_t end) {
    net_.node_partition_until() = end;
    auto x = static_cast<uint32_t>(rng_.below(env_.k.nodes));
    partition_t out;  // x's connections to the others
    partition_t in;   // the others' connections to x
    out.until = in.until = end;
    out.clients.insert(node_origin + x);
    in.nodes.insert(x);
    for (uint32_t i = 0; i < env_.k.nodes; ++i) {
        if (i != x) {
            out.nodes.insert(i);
            in.clients.insert(node_origin + i);
        }
    }
    bool x_sends = mode == 2;     // mode 2: x can send, not receive
    bool x_receives = mode == 1;  // mode 1: x can receive, not send
    out.to_node = !x_receives;
    out.to_client = !x_sends;
    in.to_node = !x_sends;
    in.to_client = !x_receives;
    net_.add_partition(std::move(out));
    net_.add_partition(std::move(in));
    env_.kern.count("node partitions");
    env_.kern.note(fmt::format("node {} partitioned from the others (mode {})", x, mode));
}

void fault_injector::clog() {
    auto nodes = env_.k.nodes;
    if (env_.cluster() && rng_.chance(1, 2)) {
        auto from = static_cast<uint32_t>(rng_.below(nodes));
        auto to = static_cast<uint32_t>((from + 1 + rng_.below(nodes - 1)) % nodes);
        auto& l = net_.node_link(from, to);
        l.clog_until = until(100, 4000);
        l.clog_extra_ns = rng_.range(5, 800) * ms;
        env_.kern.count("node link clogs");
        return;
    }
    auto& clients = work_.clients();
    if (clients.empty()) {
        return;
    }
    auto& l = net_.client_link(clients[rng_.below(clients.size())].id);
    l.clog_until = until(100, 4000);
    l.clog_extra_ns = rng_.range(5, 800) * ms;
    env_.kern.count("clogs");
}

void fault_injector::slow_disk() {
    auto& n = nodes_.pick(rng_);
    auto normal = env_.k.sync_latency_us * 1000;
    auto slow = n.disk->faults();
    if (slow.sync_latency_ns != normal) {
        return;  // already slow
    }
    slow.sync_latency_ns = normal * rng_.range(10, 200);
    n.disk->set_faults(slow);
    auto id = n.id;
    env_.kern.at(until(200, 3000), [this, id, normal] {
        auto back = nodes_.at(id).disk->faults();
        back.sync_latency_ns = normal;
        nodes_.at(id).disk->set_faults(back);
    });
    env_.kern.count("slow disk periods");
}

// Losing a disk is permanent: allowed only while every acknowledged entry keeps an intact copy
// elsewhere. With one replica there is none, so the budget is zero; a cluster of three may lose
// one disk in a run.
void fault_injector::wipe() {
    if (permanent_used_ >= permanent_allowed_) {
        env_.kern.count("faults refused by the budget");
        return;
    }
    ++permanent_used_;
    auto& n = nodes_.pick(rng_);
    auto down = rng_.range(10, 2000) * ms;
    nodes_.wipe(n, permanent_used_, down);
}

void fault_injector::client_crash() {
    auto& clients = work_.clients();
    if (clients.empty()) {
        return;
    }
    auto& c = clients[rng_.below(clients.size())];
    if (!c.up) {
        return;
    }
    if (c.kind == client_kind::group_reader && rng_.chance(1, 3)) {
        work_.leave_group(c);  // a graceful leave; it joins again a little later
        return;
    }
    bool zombie = rng_.chance(env_.k.faults.zombie_per_mille, 1000);
    auto restart_at = env_.now() + rng_.range(50, 2000) * ms;
    work_.crash_and_restart(c, zombie ? &rng_ : nullptr, restart_at);
}

// A group reader that is up leaves its group gracefully (its segments go back at its position)
// and joins again a little later, when the others give some of theirs back (a rebalance).
void fault_injector::group_leave() {
    std::vector<client_t*> readers;
    for (auto& c : work_.clients()) {
        if (c.kind == client_kind::group_reader && c.up) {
            readers.push_back(&c);
        }
    }
    if (!readers.empty()) {
        work_.leave_group(*readers[rng_.below(readers.size())]);
    }
}

void fault_injector::crash_before_seal(int64_t seal_at) {
    prng rng(env_.cfg.seed, "seal-crash");
    auto crash_at = seal_at - rng.range(0, 300) * ms;
    auto restart_at = seal_at + rng.range(50, 1500) * ms;
    env_.kern.at(crash_at, [this, restart_at] {
        for (auto& c : work_.clients()) {
            if (c.kind == client_kind::writer && c.stream == 0 && c.resends && c.up) {
                env_.kern.note(fmt::format("client {} crashes just before the seal", c.id));
                work_.crash_and_restart(c, nullptr, restart_at);
                return;
            }
        }
    });
}

}  // namespace pravaha::sim
