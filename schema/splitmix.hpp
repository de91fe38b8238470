#pragma once

// splitmix64: the one seeded 64-bit generator step of the tree (Raft election timeouts, the
// stream manager's writer ids, the simulator's seeding). Integer-only, the same output
// everywhere.

#include <cstdint>

namespace pravaha {

inline uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

}  // namespace pravaha
