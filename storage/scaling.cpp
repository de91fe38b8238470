#include "storage/scaling.hpp"

#include "schema/keyspace.hpp"
#include "schema/logging.hpp"
#include "schema/mutants.hpp"

#include <algorithm>
#include <cmath>

namespace pravaha::storage {

rate_meter::rate_meter(int64_t window_ms, int64_t now_ms)
    : window_ms_(std::max<int64_t>(window_ms, 24)),
      tick_ms_(std::max<int64_t>(window_ms_ / 24, 1)),
      started_ms_(now_ms),
      tick_start_ms_(now_ms) {}

void rate_meter::record(int64_t now_ms, uint64_t events, uint64_t bytes) {
    advance(now_ms);
    events_ += events;
    bytes_ += bytes;
}

void rate_meter::advance(int64_t now_ms) {
    if (now_ms < tick_start_ms_ + tick_ms_) {
        return;
    }
    auto closed = (now_ms - tick_start_ms_) / tick_ms_;
    double tick_s = static_cast<double>(tick_ms_) / 1000.0;
    double ev = static_cast<double>(events_) / tick_s;
    double by = static_cast<double>(bytes_) / tick_s;
    for (size_t i = 0; i < 4; ++i) {
        double keep = std::exp(-static_cast<double>(tick_ms_) /
                               (static_cast<double>(window_ms_) * rate_window_factors[i]));
        if (!initialised_) {
            event_rates_[i] = ev;
            byte_rates_[i] = by;
        } else {
            event_rates_[i] = keep * event_rates_[i] + (1 - keep) * ev;
            byte_rates_[i] = keep * byte_rates_[i] + (1 - keep) * by;
        }
        // The ticks after the first closed one were silent: each keeps `keep` of the rate.
        double silent = std::pow(keep, static_cast<double>(closed - 1));
        event_rates_[i] *= silent;
        byte_rates_[i] *= silent;
    }
    initialised_ = true;
    events_ = 0;
    bytes_ = 0;
    tick_start_ms_ += closed * tick_ms_;
}

segment_load rate_meter::load_at(int64_t now_ms) {
    advance(now_ms);
    segment_load l;
    l.events_per_s.assign(event_rates_.begin(), event_rates_.end());
    for (double b : byte_rates_) {
        l.kbytes_per_s.push_back(b / 1024.0);
    }
    l.age_ms = now_ms - started_ms_;
    return l;
}

namespace {

const std::vector<double>& rates_of(const scaling_policy& p, const segment_load& l) {
    return p.type == scale_type::by_kbytes ? l.kbytes_per_s : l.events_per_s;
}

double window(int64_t window_ms, size_t i) {
    return static_cast<double>(window_ms) * rate_window_factors[i];
}

}  // namespace

bool is_hot(const scaling_policy& p, const segment_load& l, int64_t window_ms) {
    const auto& r = rates_of(p, l);
    double t = p.target;
    auto age = static_cast<double>(l.age_ms);
    return r.size() == 4 && ((r[0] > 5 * t && age > window(window_ms, 0)) ||
                             (r[1] > 2 * t && age > window(window_ms, 1)) ||
                             (r[2] > t && age > window(window_ms, 2)));
}

bool is_cold(const scaling_policy& p, const segment_load& l, int64_t window_ms) {
    const auto& r = rates_of(p, l);
    double t = p.target;
    return r.size() == 4 && r[0] < t && r[1] < t && r[2] < t && r[3] < t / 2 &&
           static_cast<double>(l.age_ms) > window(window_ms, 3);
}

std::optional<scale_request> decide(const scaling_input& in) {
    const auto& p = in.policy;
    if (p.type == scale_type::fixed || p.target == 0 || in.loads.size() != in.segments.size() ||
        in.now_ms - in.last_scale_ms < in.cooldown_ms) {
        return std::nullopt;
    }
    // Split the hottest hot segment (by its highest rate of the first three windows).
    std::optional<size_t> hottest;
    double hottest_rate = 0;
    for (size_t i = 0; i < in.loads.size(); ++i) {
        if (!is_hot(p, in.loads[i], in.window_ms)) {
            continue;
        }
        const auto& r = rates_of(p, in.loads[i]);
        double rate = std::max({r[0], r[1], r[2]});
        if (!hottest || rate > hottest_rate) {
            hottest = i;
            hottest_rate = rate;
        }
    }
    if (hottest && in.segments.size() < stream_segments_max) {
        auto want = static_cast<uint64_t>(std::ceil(hottest_rate / p.target));
        auto room = stream_segments_max - in.segments.size() + 1;
        auto parts = static_cast<uint32_t>(
            std::min<uint64_t>({std::max<uint64_t>(want, 2), p.factor, room}));
        const auto& seg = in.segments[*hottest];
        auto ranges = split_range({seg.key_start, seg.key_end}, parts);
        if (ranges) {
            return scale_request{in.epoch, {seg.id}, *ranges, true};
        }
    }
    // Merge the first run of 2 (or 3) adjacent segments that are all cold.
    auto active = in.segments.size();
    if (active <= p.min_segments) {
        return std::nullopt;
    }
    size_t run_max = active - p.min_segments >= 2 ? 3 : 2;
    for (size_t i = 0; i + 1 < in.segments.size(); ++i) {
        size_t n = 0;
        while (n < run_max && i + n < in.segments.size()) {
            bool cold = is_cold(p, in.loads[i + n], in.window_ms);
            if (mutants::active(mutants::mutant::merge_not_all_cold)) {
                cold = cold || n > 0;  // planted bug: the first cold one carries its neighbours
            }
            if (!cold) {
                break;
            }
            ++n;
        }
        if (n >= 2) {
            scale_request req{in.epoch, {}, {}, true};
            for (size_t k = i; k < i + n; ++k) {
                req.seal.push_back(in.segments[k].id);
            }
            req.create.push_back({in.segments[i].key_start, in.segments[i + n - 1].key_end});
            return req;
        }
    }
    return std::nullopt;
}

}  // namespace pravaha::storage
