#pragma once

// The node world's faults: one function per fault kind, applied during the safety phase at the
// times the kernel's fault scheduler draws. Permanent faults (a wiped disk) stay within the
// fault budget (simulation-spec.md 7.6). Internal to sim/.

#include "sim/env.hpp"
#include "sim/prng.hpp"

#include <cstdint>

namespace pravaha::sim {

class network;
class node_set;
class workload;

class fault_injector {
public:
    fault_injector(sim_env& env, node_set& nodes, network& net, workload& work);

    /// Schedules every fault kind the knobs turn on, until `heal_at`.
    void schedule(int64_t heal_at);
    void inject(fault_kind kind);
    /// Crashes a resending writer of stream 0 just before it is sealed at `seal_at` and
    /// restarts it after (exactly once across seals).
    void crash_before_seal(int64_t seal_at);
    /// Faults allowed to lose a replica's disk: (replicas - 1) / 2.
    uint32_t permanent_allowed() const { return permanent_allowed_; }

private:
    int64_t until(int64_t lo_ms, int64_t hi_ms);
    void crash();
    void pause();
    void partition();
    void partition_node(uint64_t mode, int64_t end);
    void clog();
    void slow_disk();
    void wipe();
    void disk_full();
    void client_crash();

    sim_env& env_;
    node_set& nodes_;
    network& net_;
    workload& work_;
    prng rng_;
    int64_t heal_at_ = 0;
    uint32_t permanent_allowed_ = 0;
    uint32_t permanent_used_ = 0;
};

}  // namespace pravaha::sim
