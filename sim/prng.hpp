#pragma once

// Seeded randomness of the simulator: xoshiro256** seeded through splitmix64, integer-only
// helpers (no std::*_distribution, whose output differs between standard libraries), and
// independent streams derived from (seed, name, index) so that adding draws to one stream does
// not shift the others.

#include "schema/splitmix.hpp"

#include <cstdint>
#include <string_view>

namespace pravaha::sim {

__extension__ typedef unsigned __int128 u128;  // exact 64x64 multiply (GCC/Clang)

using pravaha::splitmix64;

inline uint64_t mix(uint64_t h, uint64_t v) {
    uint64_t x = h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
    return splitmix64(x);
}

inline uint64_t hash_name(std::string_view name) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : name) {
        h = (h ^ c) * 0x100000001b3ULL;
    }
    return h;
}

class prng {
public:
    prng() : prng(0) {}
    explicit prng(uint64_t seed) {
        for (auto& w : s_) {
            w = splitmix64(seed);
        }
    }
    /// An independent stream of `seed` for `name` and `index`.
    prng(uint64_t seed, std::string_view name, uint64_t index = 0)
        : prng(mix(mix(seed, hash_name(name)), index)) {}

    uint64_t next() {
        uint64_t result = rotl(s_[1] * 5, 7) * 9;
        uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    /// Uniform in [0, n); n > 0. Lemire's multiply-shift with rejection (exact).
    uint64_t below(uint64_t n) {
        for (;;) {
            u128 m = static_cast<u128>(next()) * n;
            auto low = static_cast<uint64_t>(m);
            if (low >= n || low >= (0 - n) % n) {
                return static_cast<uint64_t>(m >> 64);
            }
        }
    }

    /// Uniform in [lo, hi].
    int64_t range(int64_t lo, int64_t hi) {
        return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
    }

    /// True with probability num/den.
    bool chance(uint64_t num, uint64_t den) { return num > 0 && below(den) < num; }

    /// Heavy-tailed in [0, max]: usually small, rarely close to max (the minimum of `k`
    /// uniform draws, an integer stand-in for FoundationDB's max * u^k).
    int64_t skewed(int64_t max, int k = 3) {
        uint64_t m = UINT64_MAX;
        for (int i = 0; i < k; ++i) {
            auto d = next();
            m = d < m ? d : m;
        }
        return static_cast<int64_t>((static_cast<u128>(m) * static_cast<uint64_t>(max + 1)) >> 64);
    }

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t s_[4];
};

}  // namespace pravaha::sim
