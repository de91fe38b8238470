#pragma once

// The node world's faults: one function per fault kind, applied during the safety phase at the
// times the kernel's fault scheduler draws. Permanent faults (a wiped disk) stay within the
// fault budget (simulation-spec.md 7.6). Internal to sim/.

#include "actors/actors.hpp"
#include "sim/env.hpp"
#include "sim/prng.hpp"
#include "sim/sim_disk.hpp"

#include <caf/actor.hpp>

#include <cstdint>
#include <memory>
#include <vector>

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
    void group_leave();
    void impostor();
    void stop_impostor(uint64_t which);
    void stop_twin_of(uint32_t member);

    sim_env& env_;
    node_set& nodes_;
    network& net_;
    workload& work_;
    prng rng_;
    int64_t heal_at_ = 0;
    uint32_t permanent_allowed_ = 0;
    uint32_t permanent_used_ = 0;
    /// The impostor running (at most one at a time), and what earlier ones left behind (their
    /// actors may still hold the store for a moment).
    struct impostor_t {
        uint64_t count = 0;
        bool running = false;
        bool twin = false;
        uint32_t member = 0;
        std::unique_ptr<disk_model> disk;
        std::unique_ptr<storage::log_store> store;
        actors::node_actors actors;
        caf::actor connector;
    };
    impostor_t imp_;
    std::vector<std::unique_ptr<disk_model>> old_disks_;
    std::vector<std::unique_ptr<storage::log_store>> old_stores_;
};

}  // namespace pravaha::sim
