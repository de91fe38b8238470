#include "sim/kernel.hpp"

#include "sim/prng.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pravaha::sim {

const char* to_string(fault_kind kind) {
    switch (kind) {
        case fault_kind::crash:
            return "crash";
        case fault_kind::pause:
            return "pause";
        case fault_kind::reset:
            return "reset";
        case fault_kind::partition:
            return "partition";
        case fault_kind::clog:
            return "clog";
        case fault_kind::client_crash:
            return "client_crash";
        case fault_kind::slow_disk:
            return "slow_disk";
        case fault_kind::wipe:
            return "wipe";
        case fault_kind::replay:
            return "replay";
        case fault_kind::disk_full:
            return "disk_full";
        case fault_kind::impostor:
            return "impostor";
        case fault_kind::leave:
            return "leave";
    }
    return "?";
}

kernel::kernel(const run_config& cfg, int64_t start)
    : cfg_(cfg), start_(start), now_(start), wall_start_(std::chrono::steady_clock::now()) {}

void kernel::at(int64_t t, std::function<void()> fn) {
    events_.emplace(std::make_pair(t, event_seq_++), std::move(fn));
}

void kernel::trace(uint64_t v) {
    fingerprint_ = mix(fingerprint_, v);
}

void kernel::fail(verdict v, std::string msg) {
    if (verdict_ != verdict::pass) {
        return;  // keep the first failure
    }
    verdict_ = v;
    message_ = fmt::format("{} (at {:.3f} s)", msg, seconds(now_));
    done_ = true;
}

uint64_t kernel::counter(const std::string& name) const {
    auto it = counters_.find(name);
    return it == counters_.end() ? 0 : it->second;
}

void kernel::note(const std::string& what) {
    if (cfg_.verbose) {
        log_.push_back(fmt::format("[{:>9.3f}s] {}", seconds(now_), what));
    }
}

int64_t kernel::wall_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 wall_start_)
        .count();
}

void kernel::schedule_faults(const std::vector<fault_plan>& plans,
                             int64_t until,
                             std::function<int64_t(int64_t)> gap,
                             std::function<void(fault_kind)> inject) {
    faults_until_ = until;
    fault_gap_ = std::move(gap);
    inject_ = std::move(inject);
    for (const auto& p : plans) {
        schedule_fault(p);
    }
}

void kernel::schedule_fault(const fault_plan& plan) {
    if (plan.mean_ms <= 0) {
        return;
    }
    auto t = now_ + fault_gap_(plan.mean_ms);
    if (t >= faults_until_) {
        return;
    }
    at(t, [this, plan] {
        if (done_) {
            return;
        }
        inject_(plan.kind);
        schedule_fault(plan);
    });
}

void kernel::check_limits() {
    if ((steps_ & 1023) == 0 && wall_ms() > cfg_.wall_timeout_ms) {
        fail(verdict::wall_timeout, fmt::format("wall-clock limit of {} ms reached after {} steps",
                                                cfg_.wall_timeout_ms, steps_));
    }
    if (steps_ >= cfg_.max_steps) {
        // The budget of the run is a harness limit, not a finding about the system.
        fail(verdict::invalid, fmt::format("step limit {} reached", cfg_.max_steps));
    }
}

bool kernel::run(work_source* source, int64_t until) {
    while (!done_) {
        check_limits();
        if (done_) {
            break;
        }
        if (source != nullptr && source->step()) {
            ++steps_;
            continue;
        }
        int64_t tc = source != nullptr ? source->next_timer() : no_time;
        int64_t te = events_.empty() ? no_time : events_.begin()->first.first;
        if (tc == no_time && te == no_time) {
            return false;
        }
        auto next = std::min(te, tc);
        if (next > now_) {
            now_ = next;
            if (source != nullptr) {
                source->advance(now_);
            }
        }
        if (now_ > until) {
            return true;
        }
        ++steps_;
        if (te <= tc) {
            auto it = events_.begin();
            auto fn = std::move(it->second);
            events_.erase(it);
            fn();
        } else {
            source->fire_timer();
        }
    }
    return true;
}

void read_knob(const run_config& cfg, const char* name, int64_t& value) {
    if (auto it = cfg.fault_overrides.find(name); it != cfg.fault_overrides.end()) {
        value = std::stoll(it->second);
    }
}

void read_knob(const run_config& cfg, const char* name, uint64_t& value) {
    if (auto it = cfg.fault_overrides.find(name); it != cfg.fault_overrides.end()) {
        value = std::stoull(it->second);
    }
}

}  // namespace pravaha::sim
