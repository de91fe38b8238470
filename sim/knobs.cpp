// The node world's knobs (sim/env.hpp world_knobs), drawn from the seed: the workload, the
// fault rates of each profile, scaling and reader groups (each of these from a stream of the seed
// of its own, so that a seed's other knobs stay what they were before it existed), then the
// --faults overrides.

#include "sim/env.hpp"
#include "sim/prng.hpp"

namespace pravaha::sim {

world_knobs draw_knobs(const run_config& cfg) {
    world_knobs k;
    prng p(cfg.seed, "params");
    auto& f = k.faults;
    const auto& prof = cfg.profile;
    k.streams = static_cast<uint32_t>(p.range(1, 2));
    k.segments = static_cast<uint32_t>(p.range(1, 4));
    k.writers = static_cast<uint32_t>(p.range(2, 4));
    k.non_idempotent = static_cast<uint32_t>(p.range(0, 1));
    k.keys = static_cast<uint32_t>(p.range(2, 16));
    k.write_interval_ms = p.range(5, 40);
    k.filler_max = static_cast<size_t>(p.range(0, 2000));
    k.fifo_bias = p.chance(3, 4);
    k.latency_max_us = p.range(50, 3000);
    k.jitter_max_us = p.range(0, 5000);
    k.sync_latency_us = p.range(100, 5000);
    if (prof != "quiet" && p.chance(1, 3)) {
        k.seal_at_ms = p.range(1, cfg.chaos_ms);
    }
    if (prof == "quiet") {
        // no faults
    } else if (prof == "net") {
        f.reset_ms = p.range(300, 3000);
        f.partition_ms = p.range(1000, 5000);
        f.clog_ms = p.range(500, 4000);
    } else if (prof == "crash") {
        f.crash_ms = p.range(300, 2000);
        f.pause_ms = p.range(1000, 5000);
        f.client_crash_ms = p.range(1000, 5000);
    } else if (prof == "disk") {
        f.crash_ms = p.range(500, 3000);
        f.sync_error_num = static_cast<uint64_t>(p.range(1, 20));
        f.sync_error_den = 1000;
        f.slow_disk_ms = p.range(500, 4000);
    } else if (prof == "swarm") {
        // Each fault class on or off per seed, with its own rate (swarm testing).
        f.crash_ms = p.chance(2, 3) ? p.range(200, 5000) : 0;
        f.pause_ms = p.chance(1, 2) ? p.range(500, 8000) : 0;
        f.reset_ms = p.chance(1, 2) ? p.range(200, 5000) : 0;
        f.partition_ms = p.chance(1, 2) ? p.range(500, 8000) : 0;
        f.clog_ms = p.chance(1, 2) ? p.range(300, 5000) : 0;
        f.client_crash_ms = p.chance(1, 2) ? p.range(500, 6000) : 0;
        f.sync_error_num = p.chance(1, 3) ? static_cast<uint64_t>(p.range(1, 30)) : 0;
        f.keep_num = static_cast<uint64_t>(p.range(0, 3));
        f.keep_den = 4;
        f.slow_disk_ms = p.chance(1, 3) ? p.range(500, 6000) : 0;
    } else if (prof == "cluster") {
        // Three nodes, every node a replica of the controller and of every container. Faults
        // hit one node at a time (a quorum of two keeps going) or the links between nodes.
        k.nodes = 3;
        k.containers = static_cast<uint32_t>(p.range(1, 4));
        f.crash_ms = p.range(1500, 5000);
        f.pause_ms = p.range(3000, 8000);
        f.reset_ms = p.range(1000, 4000);
        f.partition_ms = p.range(1500, 5000);
        f.clog_ms = p.range(1000, 5000);
        f.client_crash_ms = p.range(2000, 8000);
        f.sync_error_num = static_cast<uint64_t>(p.range(0, 3));
        f.sync_error_den = 1000;
        f.slow_disk_ms = p.range(2000, 8000);
        f.wipe_ms = p.chance(1, 3) ? p.range(3000, 20000) : 0;
        f.disk_full_ms = p.chance(1, 2) ? p.range(2000, 10000) : 0;
        f.impostor_ms = p.chance(1, 2) ? p.range(3000, 12000) : 0;
    } else {  // default: every fault class at a moderate rate
        f.crash_ms = p.range(800, 3000);
        f.pause_ms = p.range(2000, 6000);
        f.reset_ms = p.range(500, 3000);
        f.partition_ms = p.range(2000, 6000);
        f.clog_ms = p.range(1000, 5000);
        f.client_crash_ms = p.range(2000, 6000);
        f.sync_error_num = static_cast<uint64_t>(p.range(0, 5));
        f.sync_error_den = 1000;
        f.slow_disk_ms = p.range(2000, 8000);
    }
    if (prof != "quiet") {
        f.zombie_per_mille = 333;  // a third of the crashed writers only stall
    }
    // Scaling in two thirds of the seeds of every node-world profile: an auto-scaling policy with
    // windows of a second or so, manual scales by an administrator, or both.
    prng sp(cfg.seed, "scaling");
    auto mode = sp.below(3);  // 0: automatic, 1: manual, 2: both
    uint64_t noscale = 0;
    read_knob(cfg, "noscale", noscale);
    bool scaling = sp.chance(2, 3) && noscale == 0;
    k.autoscale = scaling && mode != 1;
    k.scale_target = static_cast<uint32_t>(sp.range(20, 120));
    k.scale_factor = static_cast<uint32_t>(sp.range(2, 3));
    k.scale_window_ms = sp.range(300, 1500);
    k.scale_cooldown_ms = sp.range(500, 3000);
    k.scale_ms = scaling && mode != 0 ? sp.range(1000, 6000) : 0;
    // Reader groups in half the seeds: 2-4 group readers per stream, a lease of 2-5 s,
    // automatic checkpoints in half of those.
    prng gp(cfg.seed, "groups");
    uint64_t groups = gp.chance(1, 2) ? 1 : 0;
    read_knob(cfg, "groups", groups);
    auto group_readers = static_cast<uint32_t>(gp.range(2, 4));
    k.group_readers = groups != 0 ? group_readers : 0;
    k.group_lease_ms = gp.range(2000, 5000);
    k.group_checkpoint_ms = gp.chance(1, 2) ? gp.range(1000, 5000) : 0;
    // Transactions in a third of the seeds: 1-2 transaction processes per stream. Every value is
    // drawn whether they are on or not, so that `txns=` moves no other draw.
    prng tp(cfg.seed, "txns");
    uint64_t txns = tp.chance(1, 3) ? 1 : 0;
    read_knob(cfg, "txns", txns);
    auto txn_writers = static_cast<uint32_t>(tp.range(1, 2));
    k.txn_writers = txns != 0 ? txn_writers : 0;
    k.txn_lease_ms = tp.range(1000, 4000);
    k.txn_events_max = static_cast<uint32_t>(tp.range(1, 40));
    k.txn_interval_ms = tp.range(50, 1000);
    read_knob(cfg, "txn_race", k.txn_race_per_mille);
    read_knob(cfg, "txn_recover", k.txn_recover_per_mille);
    // --faults overrides (validated by the CLI)
    read_knob(cfg, "crash", f.crash_ms);
    read_knob(cfg, "pause", f.pause_ms);
    read_knob(cfg, "reset", f.reset_ms);
    read_knob(cfg, "partition", f.partition_ms);
    read_knob(cfg, "clog", f.clog_ms);
    read_knob(cfg, "client_crash", f.client_crash_ms);
    read_knob(cfg, "slow_disk", f.slow_disk_ms);
    read_knob(cfg, "wipe", f.wipe_ms);
    read_knob(cfg, "disk_full", f.disk_full_ms);
    read_knob(cfg, "impostor", f.impostor_ms);
    read_knob(cfg, "leave", f.leave_ms);
    read_knob(cfg, "twin", f.twin_per_mille);
    read_knob(cfg, "zombie", f.zombie_per_mille);
    read_knob(cfg, "scale", k.scale_ms);
    if (cfg.fault_overrides.count("autoscale")) {
        uint64_t on = 0;
        read_knob(cfg, "autoscale", on);
        k.autoscale = on != 0;
    }
    if (cfg.fault_overrides.count("sync_error")) {
        read_knob(cfg, "sync_error", f.sync_error_num);
        f.sync_error_den = 1000;
    }
    return k;
}

}  // namespace pravaha::sim
