#pragma once
// What the small benchmark tools in tests/bench share: their clock, elapsed microseconds and a
// percentile of samples.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

namespace pravaha::bench_util {

using bench_clock = std::chrono::steady_clock;

inline double micros(bench_clock::time_point since) {
    return std::chrono::duration<double, std::micro>(bench_clock::now() - since).count();
}

/// The `p`-th percentile (0-100) of `v`, 0 for no samples.
inline double pct(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p / 100 * v.size()))];
}

}  // namespace pravaha::bench_util
