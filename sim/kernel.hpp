#pragma once

// The simulator's kernel, shared by every world (simulation-spec.md section 7): virtual time, the
// queue of timed events, the trace fingerprint, the verdict, counters and the event log, the
// fault scheduler with fault kinds as an enum, knob parsing, and the run loop. It knows nothing
// of nodes, clients or networks: a world adds those as components and gives the loop its own
// runnable work (a `work_source`, e.g. CAF's deterministic scheduler) if it has any.

#include "sim/world.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pravaha::sim {

constexpr int64_t ms = 1'000'000;  // nanoseconds of virtual time
constexpr int64_t no_time = INT64_MAX;

/// The faults a world injects. The Raft world uses a subset plus `replay`.
enum class fault_kind : uint8_t {
    crash,         ///< a node loses power, restarts after a short downtime
    pause,         ///< a node stops running for a while (SIGSTOP-like)
    reset,         ///< a connection breaks
    partition,     ///< messages between some endpoints are dropped for a while
    clog,          ///< a link is slowed down for a while
    client_crash,  ///< a client process crashes (or stalls as a zombie) and restarts
    slow_disk,     ///< a node's fsync is 10-200x slower for a while
    wipe,          ///< a node loses its disk (only within the fault budget)
    replay,        ///< a message from the past is delivered again (Raft world)
    disk_full,     ///< a node's disk is full for a while: appends and creations are refused
    impostor,      ///< a node with a member's id (a twin, or of another cluster) tries to join
    leave,         ///< a group reader leaves its group gracefully and joins again later
};

/// The name used in `--faults`, in reports and in the fingerprint.
const char* to_string(fault_kind kind);

/// Runnable work besides the kernel's own events, polled by `kernel::run`.
class work_source {
public:
    virtual ~work_source() = default;
    /// Runs one unit of work; false when nothing is runnable now.
    virtual bool step() = 0;
    /// The time of the source's next timer, or `no_time`.
    virtual int64_t next_timer() const = 0;
    /// Fires the next timer (time has moved to it).
    virtual void fire_timer() = 0;
    /// Virtual time moved to `t` (the source's clock follows the kernel's).
    virtual void advance(int64_t t) = 0;
};

class kernel {
public:
    /// `start` is virtual time at the beginning of the run; reports count from it.
    kernel(const run_config& cfg, int64_t start);

    int64_t now() const { return now_; }
    /// Seconds of virtual time since the start, for messages.
    double seconds(int64_t t) const { return static_cast<double>(t - start_) / 1e9; }

    /// Runs `fn` at virtual time `t` (events at one time run in the order they were added).
    void at(int64_t t, std::function<void()> fn);
    /// Adds what just happened to the trace fingerprint.
    void trace(uint64_t v);
    uint64_t fingerprint() const { return fingerprint_; }

    /// Records the run's verdict; the first failure wins and ends the run.
    void fail(verdict v, std::string msg);
    /// Ends the run without a failure (the checks are done).
    void finish() { done_ = true; }
    bool done() const { return done_; }
    verdict result() const { return verdict_; }
    const std::string& message() const { return message_; }

    /// Adds `n` to the named counter of the run's summary.
    void count(const std::string& name, uint64_t n = 1) { counters_[name] += n; }
    uint64_t counter(const std::string& name) const;
    const std::map<std::string, uint64_t>& counters() const { return counters_; }
    /// A line of the event log (`--verbose` / replay only).
    void note(const std::string& what);
    const std::vector<std::string>& log() const { return log_; }

    uint64_t steps() const { return steps_; }
    int64_t wall_ms() const;

    /// One fault kind's schedule: faults follow each other at random gaps around `mean_ms`.
    struct fault_plan {
        fault_kind kind;
        int64_t mean_ms = 0;  ///< 0: never
    };
    /// Schedules the faults of `plans` (in this order, which fixes the order of the first draws)
    /// before `until`: `gap(mean_ms)` draws the time to the next fault of a kind, `inject`
    /// applies one.
    void schedule_faults(const std::vector<fault_plan>& plans,
                         int64_t until,
                         std::function<int64_t(int64_t)> gap,
                         std::function<void(fault_kind)> inject);

    /// Runs events and `source`'s work until the run is done, nothing is left (returns false),
    /// or the next event lies after `until` (returns true). Fails the run as `invalid` past
    /// `--max-steps` and as `wall_timeout` past `--wall-timeout`.
    bool run(work_source* source, int64_t until = no_time);

private:
    void schedule_fault(const fault_plan& plan);
    void check_limits();

    run_config cfg_;
    int64_t start_ = 0;
    int64_t now_ = 0;
    std::multimap<std::pair<int64_t, uint64_t>, std::function<void()>> events_;
    uint64_t event_seq_ = 0;
    uint64_t steps_ = 0;
    uint64_t fingerprint_ = 0;
    bool done_ = false;
    verdict verdict_ = verdict::pass;
    std::string message_;
    std::map<std::string, uint64_t> counters_;
    std::vector<std::string> log_;
    std::chrono::steady_clock::time_point wall_start_;
    int64_t faults_until_ = no_time;
    std::function<int64_t(int64_t)> fault_gap_;
    std::function<void(fault_kind)> inject_;
};

/// Reads the integer `--faults name=value` override into `value` if there is one.
void read_knob(const run_config& cfg, const char* name, int64_t& value);
void read_knob(const run_config& cfg, const char* name, uint64_t& value);

}  // namespace pravaha::sim
