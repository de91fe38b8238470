#pragma once

// Parallel seed batches of pravaha-sim: runs seeds in forked worker processes (a run that
// crashes its process is reported, not fatal) and hands back one result per seed.

#include "sim/world.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace pravaha::sim {

struct seed_result {
    uint64_t seed = 0;
    int verdict_code = 0;
    int64_t wall_ms = 0;
    std::string message;
    uint64_t fingerprint = 0;
    uint64_t steps = 0;
};

/// Runs `run(seed)` for every seed `next_seed()` gives until it returns nothing, in `jobs`
/// processes; `on_result` sees the results in completion order (and may make `next_seed` stop).
/// A worker that dies reports the seed it ran as a crash.
void run_batch(unsigned jobs,
               const std::function<run_result(uint64_t)>& run,
               const std::function<std::optional<uint64_t>()>& next_seed,
               const std::function<void(const seed_result&)>& on_result);

}  // namespace pravaha::sim
