#pragma once

// One simulated run: a world of nodes and clients on CAF's deterministic scheduler, driven by
// one seed (simulation-spec.md section 7). `run_world` is the whole run: setup, safety phase
// with faults, heal, liveness phase, audit, checks.

#include "schema/mutants.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pravaha::sim {

/// Exit codes follow the spec (VOPR-inspired).
enum class verdict : int {
    pass = 0,
    crash = 127,        ///< an assertion or an unexpected error in the node code
    liveness = 128,     ///< something did not finish after healing
    correctness = 129,  ///< a checker found lost, duplicate, unexpected or reordered data
    invalid = 130,      ///< the harness itself failed (budget exceeded, setup failed)
    wall_timeout = 131,
};

const char* to_string(verdict v);

/// Mean time between faults of each kind in sim milliseconds (0 = never), and ratios.
struct fault_knobs {
    int64_t crash_ms = 0;         ///< node crash (power loss), restart after a short downtime
    int64_t pause_ms = 0;         ///< node pause (SIGSTOP-like)
    int64_t reset_ms = 0;         ///< a client connection reset
    int64_t partition_ms = 0;     ///< client/node partition (symmetric or one way)
    int64_t clog_ms = 0;          ///< a client/node link slowed down
    int64_t client_crash_ms = 0;  ///< a client process crash (writer or reader), restarted
    int64_t slow_disk_ms = 0;     ///< the node's fsync 10-200x slower for a while
    int64_t wipe_ms = 0;          ///< a node loses its disk (only within the fault budget)
    int64_t disk_full_ms = 0;     ///< a node's disk is full for 0.2-4 s (storage_full refusals)
    int64_t impostor_ms = 0;      ///< another cluster's node (or a twin) claims a member's id
    /// A group reader's graceful leave (it joins again later). 0 in every profile: a third of
    /// the client crashes that hit a group reader are leaves already.
    int64_t leave_ms = 0;
    /// Per mille of impostors that are twins (same cluster, a running member's id; 0 in every
    /// profile: see sim/known_failures.txt).
    uint64_t twin_per_mille = 0;
    /// Per mille of client crashes that are zombies (the process stalls, then goes on).
    uint64_t zombie_per_mille = 0;
    uint64_t sync_error_num = 0;  ///< fsync failure probability per synced write
    uint64_t sync_error_den = 1000;
    uint64_t keep_num = 1;  ///< crash: survival probability of each unsynced write, in order
    uint64_t keep_den = 3;
};

struct run_config {
    uint64_t seed = 1;
    std::string profile = "default";
    mutants::mutant mutant = mutants::mutant::none;
    std::string storage = "mem";  ///< mem (Tier A) or rocksdb (Tier B)
    int64_t chaos_ms = 30000;
    int64_t live_ms = 40000;
    uint64_t max_steps = 20'000'000;
    int64_t wall_timeout_ms = 60000;
    bool oracles = true;
    std::map<std::string, std::string> fault_overrides;  ///< from --faults k=v,...
    bool verbose = false;
    std::string log_level = "off";
    /// Writes the run's history and checker inputs here at the end (node world only).
    std::string dump_history;
};

struct run_result {
    verdict result = verdict::pass;
    std::string message;
    uint64_t steps = 0;
    int64_t sim_ms = 0;
    int64_t wall_ms = 0;
    uint64_t fingerprint = 0;
    std::string header;           ///< the derived parameters of the seed
    std::string summary;          ///< what happened (operations, faults, disk)
    bool storage_faults = false;  ///< fsync errors were injected: storage error lines expected
    bool impostors = false;       ///< impostors ran: refusal error lines expected
};

/// The profiles `--profile` accepts.
std::vector<std::string> profile_names();

/// Runs one world to its verdict. Never throws; a harness error becomes verdict::invalid.
/// Profiles `raft` and `raft5` run the Raft world (run_raft_world), `raft-stale` the scripted
/// scenario (run_raft_scenario); those two may throw and are called only from here.
run_result run_world(const run_config& cfg);

/// The Raft world: one Raft group of 3 (`raft`) or 5 (`raft5`) replicas on simulated disks and
/// links, with clients proposing entries (sim/raft_world.cpp).
run_result run_raft_world(const run_config& cfg);

/// Scripted Raft scenarios (profile `raft-stale`, sim/raft_scenario.cpp): interleavings random
/// faults reach too rarely, played step by step; the seed varies their details.
run_result run_raft_scenario(const run_config& cfg);

}  // namespace pravaha::sim
