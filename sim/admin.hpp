#pragma once

// The node world's administrator and the scaling checks: a seal while a stream is written,
// manual scales (splits and merges of the
// current epoch) during the safety phase, a crash of the controller's leader in the middle of
// some of them, the auto-scaler's decisions checked against Pravega's rules as they are made,
// and every stream's history checked at the end (sim/checkers.hpp). Internal to sim/.

#include "actors/actors.hpp"
#include "sim/checkers.hpp"
#include "sim/env.hpp"
#include "sim/prng.hpp"

#include <functional>

namespace pravaha::sim {

class node_set;
class workload;

class admin {
public:
    admin(sim_env& env, node_set& nodes, workload& work);

    /// The nodes' scaling settings: the drawn windows and the decision oracle.
    actors::scaling_settings scaling();
    /// The policy the streams are created with.
    scaling_policy policy() const;
    /// Seals a stream (retried on the next node until one confirms).
    void seal_stream(uint32_t stream);
    /// Schedules the manual scales of the safety phase, until `heal_at`.
    void schedule(int64_t heal_at);
    /// Reads every stream's record and history once no scale runs, checks them, and calls
    /// `done` with the finding (none: every history is whole). Retried until it gets answers.
    void check_histories(std::function<void(finding)> done);

private:
    void scale_once();
    void checkpoint_once();
    void crash_controller_leader(uint32_t asked);
    void ask_history(uint32_t stream, std::function<void(finding)> done);

    sim_env& env_;
    node_set& nodes_;
    workload& work_;
    prng rng_;
    prng checkpoint_rng_;  // the groups' checkpoints (a stream of its own)
    uint64_t checkpoints_ = 0;
    int64_t heal_at_ = 0;
    uint64_t asks_ = 0;   // scale and history requests (each goes to the next node)
    uint64_t seals_ = 0;  // seal attempts (a cluster's go round the nodes)
};

}  // namespace pravaha::sim
