#pragma once

// What the components of the node world (sim/world.cpp) share: the run's configuration and
// drawn knobs, the kernel, the CAF actor system on its deterministic scheduler, the phase of the
// run, and the list of actors to stop at its end. Internal to sim/.

#include "sim/kernel.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <cstdint>
#include <map>
#include <vector>

namespace pravaha::sim {

constexpr uint16_t node_port = 9090;     // the standalone node
constexpr uint16_t cluster_port = 9101;  // cluster node i listens on cluster_port + i
// Connection origins: clients are numbered from 0; node i's outgoing connections (its endpoint
// reaching the other nodes) have origin node_origin + i.
constexpr uint32_t node_origin = 1u << 30;
// The origin of an impostor's connections (the impostor fault: a node with a member's id that
// the members must refuse); no client has it.
constexpr uint32_t impostor_origin = node_origin - 1;
// The cluster id of an impostor of another cluster (the members' is "").
constexpr const char* impostor_cluster = "another-cluster";

/// The parameters of one node-world run, drawn from the seed (world.cpp `draw_knobs`).
struct world_knobs {
    uint32_t streams = 1;
    uint32_t segments = 2;
    uint32_t writers = 3;
    uint32_t non_idempotent = 1;  // how many of the writers
    uint32_t keys = 8;
    int64_t write_interval_ms = 20;
    size_t filler_max = 600;
    bool fifo_bias = true;  // job pick: mostly oldest first, else uniform
    int64_t latency_max_us = 2000;
    int64_t jitter_max_us = 3000;
    int64_t sync_latency_us = 500;
    int64_t seal_at_ms = 0;   // seal stream 0 this far into the safety phase (0: never)
    uint32_t nodes = 1;       // more than one: a Raft cluster (profile cluster)
    uint32_t containers = 1;  // segment containers of a cluster (Raft groups 1..containers)
    // Scaling (drawn from a stream of their own, so that the knobs above stay as they were):
    // streams with an events policy, the nodes' rate window and cooldown, and the mean time
    // between an administrator's manual scales (0: none).
    bool autoscale = false;
    uint32_t scale_target = 0;  // events/s per segment
    uint32_t scale_factor = 2;
    int64_t scale_window_ms = 120'000;
    int64_t scale_cooldown_ms = 600'000;
    int64_t scale_ms = 0;
    // Reader groups (drawn from a stream of their own): one group per stream read by this many
    // group readers (0: no groups), their lease and automatic checkpoint interval (0: none).
    uint32_t group_readers = 0;
    int64_t group_lease_ms = 10'000;
    int64_t group_checkpoint_ms = 0;
    // Transactions (drawn from a stream of their own): this many transaction processes per stream
    // (0: none), each beginning one transaction after another with this lease, up to this many
    // events, this long between one's end and the next begin; per mille of commits an abort
    // races (the cancel race), and of restarted processes that recover their open transactions.
    uint32_t txn_writers = 0;
    int64_t txn_lease_ms = 2000;
    uint32_t txn_events_max = 10;
    int64_t txn_interval_ms = 200;
    uint64_t txn_race_per_mille = 167;
    uint64_t txn_recover_per_mille = 500;
    fault_knobs faults;
};

/// The knobs of a run (sim/knobs.cpp).
world_knobs draw_knobs(const run_config& cfg);

enum class phase { setup, chaos, live, audit, finished };

struct sim_env {
    const run_config& cfg;
    const world_knobs& k;
    kernel& kern;
    caf::actor_system& sys;
    phase ph = phase::setup;
    std::vector<caf::actor> spawned;  // everything to stop at the end of the run
    /// Actors of stalled client processes (a zombie group reader): they run nothing until then.
    std::map<uint64_t, int64_t> frozen;

    int64_t now() const { return kern.now(); }
    bool cluster() const { return k.nodes > 1; }
    bool finished() const { return ph == phase::finished; }
};

}  // namespace pravaha::sim
