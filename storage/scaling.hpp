#pragma once

// Measuring a segment's load and deciding scales from it (pure: time is passed in). The
// container keeps a rate_meter per segment; the scaling-policy actor asks for the loads and
// applies decide(). Pravega's rules (pravega-semantics.md, the auto-scaler): rates over four
// windows (2, 5, 10 and 20 minutes by default), a segment hot by any of the first three, cold
// only by all four, splits into at most `factor` parts, merges of cold neighbours only.

#include "schema/types.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace pravaha::storage {

/// The four windows relative to the shortest: W, 2.5 W, 5 W, 10 W.
constexpr std::array<double, 4> rate_window_factors{1.0, 2.5, 5.0, 10.0};

/// Exponentially weighted rates of events and bytes per second of one segment, over the four
/// windows. Counts are gathered per tick (window / 24, Pravega's 5 s for 2 minutes); each closed
/// tick moves every rate towards the tick's rate by 1 - exp(-tick / window); the first closed
/// tick sets them. Ticks without appends count as zero, so an idle segment cools.
class rate_meter {
public:
    rate_meter(int64_t window_ms, int64_t now_ms);
    /// `events` events of `bytes` bytes were stored at `now_ms`.
    void record(int64_t now_ms, uint64_t events, uint64_t bytes);
    /// The rates as of `now_ms` (closes the ticks that ended).
    segment_load load_at(int64_t now_ms);

private:
    void advance(int64_t now_ms);

    int64_t window_ms_;
    int64_t tick_ms_;
    int64_t started_ms_;
    int64_t tick_start_ms_;
    uint64_t events_ = 0;  // in the open tick
    uint64_t bytes_ = 0;
    bool initialised_ = false;
    std::array<double, 4> event_rates_{};
    std::array<double, 4> byte_rates_{};
};

/// What the policy knows of a stream when it decides.
struct scaling_input {
    scaling_policy policy;
    uint32_t epoch = 0;
    std::vector<segment_range> segments;  ///< the current ones, sorted by key start
    std::vector<segment_load> loads;      ///< one per segment, in the same order
    int64_t window_ms = 0;                ///< the shortest rate window
    int64_t now_ms = 0;
    int64_t last_scale_ms = 0;  ///< when the current epoch began
    int64_t cooldown_ms = 0;
};

/// Hot: above 5 T over the first window, 2 T over the second or T over the third (each once
/// the segment is older than that window). Cold: below T over the first three and T / 2 over
/// the fourth, and older than the fourth window. T is the policy's target (events/s, or KiB/s).
bool is_hot(const scaling_policy& p, const segment_load& l, int64_t window_ms);
bool is_cold(const scaling_policy& p, const segment_load& l, int64_t window_ms);

/// The scale the policy asks for now, if any (automatic): the hottest hot segment split into
/// clamp(ceil(rate / T), 2, factor) equal parts (never beyond stream_segments_max); else the
/// first run of 2 or 3 adjacent segments that are all cold, as long as the stream keeps at least
/// min_segments; nothing within the cooldown after the last scale or for a fixed policy.
std::optional<scale_request> decide(const scaling_input& in);

}  // namespace pravaha::storage
