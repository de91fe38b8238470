// The node world of pravaha-sim: the production node, controller, container and client actors
// on CAF's deterministic scheduler, driven by one seed (simulation-spec.md section 7). This file
// holds the run's phases: draw the knobs, set up the streams, a safety phase with faults, heal,
// a liveness phase, the audit, the final checks. The parts are components: the kernel
// (sim/kernel.hpp), the network (sim/net.hpp), the nodes (sim/nodes.hpp), the workload and its
// history (sim/workload.hpp), the faults (sim/faults.hpp), the durability oracles
// (sim/oracles.hpp) and the checkers (sim/checkers.hpp).

#include "sim/world.hpp"

#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "sim/admin.hpp"
#include "sim/env.hpp"
#include "sim/faults.hpp"
#include "sim/harness.hpp"
#include "sim/history_dump.hpp"
#include "sim/log_check.hpp"
#include "sim/net.hpp"
#include "sim/nodes.hpp"
#include "sim/oracles.hpp"
#include "sim/workload.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/test_actor_clock.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <sstream>

namespace pravaha::sim {

const char* to_string(verdict v) {
    switch (v) {
        case verdict::pass:
            return "PASS";
        case verdict::crash:
            return "CRASH";
        case verdict::liveness:
            return "LIVENESS";
        case verdict::correctness:
            return "CORRECTNESS";
        case verdict::invalid:
            return "INVALID";
        case verdict::wall_timeout:
            return "WALL-TIMEOUT";
    }
    return "?";
}

std::vector<std::string> profile_names() {
    return {"default", "quiet", "net",   "crash",      "disk",           "swarm",
            "cluster", "raft",  "raft5", "raft-stale", "raft-stale-read"};
}

namespace {

using namespace std::chrono_literals;

// Virtual time starts at one hour: "0" is never a valid time.
constexpr int64_t epoch = 3600LL * 1000 * ms;
constexpr int64_t oracle_period = 1000 * ms;

std::unique_ptr<caf::actor_system_config> make_system_config() {
    auto cfg = std::make_unique<caf::actor_system_config>();
    add_message_types(*cfg);
    cfg->set("scheduler.policy", caf::atom("testing"));
    cfg->set("logger.verbosity", caf::atom("quiet"));
    return cfg;
}

class world {
public:
    explicit world(const run_config& cfg);
    ~world();
    bool stop_actors();

    run_result run();

private:
    void spawn_setup();
    void on_setup(caf::expected<std::vector<stream_info>> infos);
    void create_groups();
    void begin_chaos();
    void oracle_tick();
    void heal();
    void live_check();
    void liveness_failure();
    void final_checks();
    void dump_history(run_result& res);
    std::string header() const;
    std::string summary() const;

    run_config cfg_;
    world_knobs k_;
    std::unique_ptr<caf::actor_system_config> sys_cfg_;
    std::unique_ptr<caf::actor_system> sys_;
    caf::scheduler::test_coordinator* sched_ = nullptr;
    kernel kern_;  // after the actor system: its events may hold actor handles
    sim_env env_;
    node_set nodes_;
    network net_;
    workload work_;
    durability_oracles oracles_;
    fault_injector faults_;
    admin admin_;

    int64_t t_heal_ = 0;
    int64_t t_deadline_ = 0;
    bool status_asked_ = false;  // a cluster's liveness failure first asks the nodes' status
    bool histories_asked_ = false;
    bool histories_ok_ = false;  // every stream's history was checked at the end
    uint32_t setup_attempts_ = 0;
};

world::world(const run_config& cfg)
    : cfg_(cfg),
      k_(draw_knobs(cfg)),
      sys_cfg_(make_system_config()),
      sys_(std::make_unique<caf::actor_system>(*sys_cfg_)),
      sched_(&dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler())),
      // CAF's test clock does not start at 0 (0 has a special meaning to it): the kernel's
      // virtual time is the clock's, moved on by the epoch.
      kern_(cfg_, sched_->clock().current_time.time_since_epoch().count() + epoch),
      env_{cfg_, k_, kern_, *sys_, phase::setup, {}, {}},
      nodes_(env_, net_),
      net_(env_, nodes_),
      work_(env_, net_),
      oracles_(env_, nodes_, work_),
      faults_(env_, nodes_, net_, work_),
      admin_(env_, nodes_, work_) {
    sched_->clock().current_time += std::chrono::nanoseconds{epoch};
    mutants::current = cfg.mutant;
}

world::~world() {
    if (!stop_actors()) {
        // An actor that never ends: the system's destructor would wait for it forever (run()
        // reported it). Leaked on purpose so that the batch goes on.
        static_cast<void>(sys_.release());
    }
    mutants::current = mutants::mutant::none;
}

// Stops every actor, then lets the scheduler drain so that the system can shut down; false when
// an actor still runs after that (it never ends: a leak).
bool world::stop_actors() {
    net_.close_all();
    nodes_.stop_all();
    for (auto& c : work_.clients()) {
        for (auto* a : {&c.worker, &c.driver, &c.connector}) {
            if (*a) {
                caf::anon_send_exit(*a, caf::exit_reason::kill);
            }
        }
    }
    for (const auto& a : env_.spawned) {
        caf::anon_send_exit(a, caf::exit_reason::kill);
    }
    sched_->run();
    // An actor waiting on an awaited response only sees its exit once that response (or its
    // timeout) arrives: let pending timeouts fire, boundedly, while anything still runs.
    auto& clock = sched_->clock();
    for (int i = 0; i < 100000 && sys_->registry().running() > 0 && clock.has_pending_timeout();
         ++i) {
        clock.trigger_timeout();
        sched_->run();
    }
    clock.cancel_all();
    sched_->run();
    return sys_->registry().running() == 0;
}

// -- phases ------------------------------------------------------------------------------------

// Asks the nodes in turn (a cluster's first attempts may meet no leader yet).
void world::spawn_setup() {
    auto& n = nodes_.at(setup_attempts_++ % nodes_.size());
    if (!n.up) {
        kern_.at(kern_.now() + 500 * ms, [this] { spawn_setup(); });
        return;
    }
    sim::spawn_setup(
        *sys_, n.actors.endpoint, k_.streams, k_.segments, admin_.policy(),
        [this](caf::expected<std::vector<stream_info>> infos) { on_setup(std::move(infos)); });
}

void world::on_setup(caf::expected<std::vector<stream_info>> infos) {
    if (!infos) {
        // A cluster elects its first leaders while the setup runs: ask again for a while.
        if (env_.cluster() && setup_attempts_ < 60) {
            kern_.at(kern_.now() + 500 * ms, [this] { spawn_setup(); });
            return;
        }
        kern_.fail(verdict::invalid, "setup failed: " + render_error(infos.error()));
        return;
    }
    work_.set_streams(std::move(*infos));
    if (k_.group_readers > 0) {
        create_groups();
        return;
    }
    begin_chaos();
}

// One reader group per stream, from the head, created before anything is written.
void world::create_groups() {
    auto& n = nodes_.at(setup_attempts_++ % nodes_.size());
    if (!n.up) {
        kern_.at(kern_.now() + 500 * ms, [this] { create_groups(); });
        return;
    }
    group_config cfg;
    cfg.lease_ms = k_.group_lease_ms;
    cfg.checkpoint_interval_ms = k_.group_checkpoint_ms;
    spawn_group_setup(*sys_, n.actors.endpoint, k_.streams, cfg, [this](caf::error err) {
        if (!err) {
            begin_chaos();
        } else if (setup_attempts_ < 60) {
            kern_.at(kern_.now() + 500 * ms, [this] { create_groups(); });
        } else {
            kern_.fail(verdict::invalid, "creating the reader groups failed: " + render_error(err));
        }
    });
}

void world::begin_chaos() {
    env_.ph = phase::chaos;
    auto now = kern_.now();
    t_heal_ = now + cfg_.chaos_ms * ms;
    t_deadline_ = t_heal_ + cfg_.live_ms * ms;
    for (uint32_t i = 0; i < k_.writers; ++i) {
        auto& c = work_.add_client(client_kind::writer, i % k_.streams, i >= k_.non_idempotent);
        work_.start_client(c);
        work_.start_writing(c);
    }
    for (uint32_t s = 0; s < k_.streams; ++s) {
        work_.start_client(work_.add_client(client_kind::reader, s, true));
    }
    for (uint32_t s = 0; s < k_.streams; ++s) {
        for (uint32_t i = 0; i < k_.group_readers; ++i) {
            work_.start_client(work_.add_client(client_kind::group_reader, s, true));
        }
    }
    // Transaction processes come after every other client, so that a seed's other clients keep
    // their ids whether it draws transactions or not.
    for (uint32_t s = 0; s < k_.streams; ++s) {
        for (uint32_t i = 0; i < k_.txn_writers; ++i) {
            work_.start_transactions(work_.add_client(client_kind::txn_writer, s, true));
        }
    }
    faults_.schedule(t_heal_);
    admin_.schedule(t_heal_);
    kern_.at(t_heal_, [this] { heal(); });
    if (k_.seal_at_ms > 0) {
        auto seal_at = now + k_.seal_at_ms * ms;
        kern_.at(seal_at, [this] { admin_.seal_stream(0); });
        faults_.crash_before_seal(seal_at);
    }
    if (cfg_.oracles) {
        kern_.at(now + oracle_period, [this] { oracle_tick(); });
    }
    // The disks fail (fsync errors) from now on; the setup ran on healthy ones.
    for (auto& n : nodes_.all()) {
        auto f = n.disk->faults();
        f.sync_error_num = k_.faults.sync_error_num;
        n.disk->set_faults(f);
    }
}

void world::oracle_tick() {
    if (env_.finished() || kern_.done()) {
        return;
    }
    oracles_.check();
    kern_.at(kern_.now() + oracle_period, [this] { oracle_tick(); });
}

void world::heal() {
    env_.ph = phase::live;
    kern_.note("heal: faults off");
    net_.heal();
    for (auto& n : nodes_.all()) {
        auto healthy = n.disk->faults();
        healthy.sync_error_num = 0;
        healthy.sync_latency_ns = k_.sync_latency_us * 1000;
        n.disk->set_faults(healthy);
        n.paused_until = 0;
        if (!n.up) {
            nodes_.start(n);
        }
    }
    for (auto& c : work_.clients()) {
        if (!c.up) {
            work_.start_client(c);
        }
    }
    live_check();
}

void world::live_check() {
    if (kern_.done() || env_.finished()) {
        return;
    }
    if (kern_.now() > t_deadline_) {
        liveness_failure();
        return;
    }
    if (env_.ph == phase::live) {
        if (!work_.writes_unresolved() && !work_.txns_unresolved()) {
            env_.ph = phase::audit;
            kern_.note("audit: every write resolved; reading every stream from the head");
            work_.start_audit();
        }
    } else if (env_.ph == phase::audit && work_.audited() && work_.readers_at_tail() &&
               work_.groups_at_tail()) {
        if (histories_ok_) {
            final_checks();
            return;
        }
        if (!histories_asked_) {
            // Every scale that began finished, and the history is a chain of whole epochs.
            histories_asked_ = true;
            admin_.check_histories([this](finding bad) {
                if (bad) {
                    kern_.fail(verdict::correctness, *bad);
                } else {
                    histories_ok_ = true;
                }
            });
        }
    }
    kern_.at(kern_.now() + 100 * ms, [this] { live_check(); });
}

void world::liveness_failure() {
    if (auto bad = work_.group_suspect()) {
        // Still a member long after healing: two live readers read one range.
        kern_.fail(verdict::correctness,
                   fmt::format("{}, and it was still a member {} s after healing", *bad,
                               cfg_.live_ms / 1000));
        return;
    }
    std::string what = work_.pending_writes();
    if (what.empty() && env_.ph == phase::live) {
        what = work_.pending_txns();
    }
    if (what.empty()) {
        what = env_.ph == phase::live ? "the audit could not start" : work_.lagging();
    }
    if (what.empty() && histories_asked_ && !histories_ok_) {
        what = "a stream's history could not be read with no scale running";
    }
    auto msg = fmt::format("{} {} s after healing", what, cfg_.live_ms / 1000);
    if (!env_.cluster()) {
        kern_.fail(verdict::liveness, msg);
        return;
    }
    if (status_asked_) {
        return;
    }
    // Say what the nodes see (leaders, terms, lag) before giving the verdict.
    status_asked_ = true;
    ask_cluster_status(*sys_, nodes_, [this, msg](const std::string& text) {
        kern_.fail(verdict::liveness, msg + "; cluster:" + text);
    });
}

// End-of-run checks over the history and the audit (simulation-spec.md section 7.10, E1-E4).
// Reads were checked as they arrived: never-written events, inconsistent offsets, per-key
// order and duplicates seen by one reader.
void world::final_checks() {
    env_.ph = phase::finished;
    kern_.finish();
    auto stored = work_.audited_counts();
    if (auto bad = check_final(work_.writes(), stored,
                               [this](const op_rec& op) { return oracles_.describe_lost(op); })) {
        kern_.fail(verdict::correctness, *bad);
    } else if (auto group_bad = work_.check_groups()) {
        kern_.fail(verdict::correctness, *group_bad);
    } else if (auto txn_bad = work_.check_txns()) {
        kern_.fail(verdict::correctness, *txn_bad);
    }
}

std::string world::header() const {
    const auto& f = k_.faults;
    return fmt::format(
        "seed=0x{:x} profile={} storage={} mutant={} streams={} segments={} writers={} "
        "(non-idempotent {}) keys={} interval={}ms filler<={} fifo_bias={} "
        "latency<={}us jitter<={}us faults: crash={} pause={} reset={} partition={} clog={} "
        "client_crash={} slow_disk={} wipe={} (budget {}) disk_full={} impostor={} twin={} "
        "leave={} "
        "sync_error={}/{} keep={}/{} sync={}us scaling: auto={} target={} factor={} window={}ms "
        "cooldown={}ms manual={} groups: readers={} lease={}ms checkpoints={}ms txns: "
        "writers={} lease={}ms events<={} interval={}ms race={} recover={}",
        cfg_.seed, cfg_.profile, cfg_.storage, static_cast<int>(cfg_.mutant), k_.streams,
        k_.segments, k_.writers, k_.non_idempotent, k_.keys, k_.write_interval_ms, k_.filler_max,
        k_.fifo_bias, k_.latency_max_us, k_.jitter_max_us, f.crash_ms, f.pause_ms, f.reset_ms,
        f.partition_ms, f.clog_ms, f.client_crash_ms, f.slow_disk_ms, f.wipe_ms,
        faults_.permanent_allowed(), f.disk_full_ms, f.impostor_ms, f.twin_per_mille, f.leave_ms,
        f.sync_error_num, f.sync_error_den, f.keep_num, f.keep_den, k_.sync_latency_us,
        k_.autoscale, k_.scale_target, k_.scale_factor, k_.scale_window_ms, k_.scale_cooldown_ms,
        k_.scale_ms, k_.group_readers, k_.group_lease_ms, k_.group_checkpoint_ms, k_.txn_writers,
        k_.txn_lease_ms, k_.txn_events_max, k_.txn_interval_ms, k_.txn_race_per_mille,
        k_.txn_recover_per_mille);
}

std::string world::summary() const {
    size_t counts[4] = {0, 0, 0, 0};  // by outcome
    const auto& ops = work_.writes().ops();
    for (const auto& op : ops) {
        ++counts[static_cast<size_t>(op.out)];
    }
    std::ostringstream out;
    out << fmt::format("writes: {} ({} ok, {} failed, {} unknown, {} pending)", ops.size(),
                       counts[static_cast<size_t>(outcome::ok)],
                       counts[static_cast<size_t>(outcome::fail)],
                       counts[static_cast<size_t>(outcome::unknown)],
                       counts[static_cast<size_t>(outcome::pending)]);
    for (const auto& [name, v] : kern_.counters()) {
        out << fmt::format(", {} {}", v, name);
    }
    disk_stats d;
    for (const auto& n : nodes_.all()) {
        const auto& one = n.disk->stats();
        d.writes += one.writes;
        d.syncs += one.syncs;
        d.sync_errors += one.sync_errors;
        d.pending_kept += one.pending_kept;
        d.pending_lost += one.pending_lost;
        d.torn += one.torn;
    }
    out << fmt::format(
        "; disk: {} writes, {} syncs, {} sync errors, {} unsynced kept, {} lost, {} torn", d.writes,
        d.syncs, d.sync_errors, d.pending_kept, d.pending_lost, d.torn);
    return out.str();
}

run_result world::run() {
    run_result res;
    res.header = header();
    const auto& f = k_.faults;
    disk_faults df;  // the setup runs without fsync errors (armed in begin_chaos)
    df.sync_latency_ns = k_.sync_latency_us * 1000;
    df.sync_error_den = f.sync_error_den;
    df.keep_num = f.keep_num;
    df.keep_den = f.keep_den;
    node_set::hooks hooks;
    if (cfg_.oracles) {
        hooks.before_crash = [this] { oracles_.check(); };
        hooks.durable = [this](uint32_t node, const storage::write_batch& b) {
            oracles_.note_durable(node, b);
        };
        work_.on_acknowledged([this](const op_rec& op) { oracles_.on_acknowledged(op); });
    }
    hooks.before_wipe = [this](uint32_t node, disk_model& disk) { oracles_.note_wipe(node, disk); };
    hooks.scaling = admin_.scaling();
    net_.on_raft_send([this](uint32_t node, const raft::message& m, int64_t leaves_at) {
        oracles_.note_raft_send(node, m, leaves_at);
    });
    net_.add_node_links();
    nodes_.create(df, std::move(hooks));
    if (!kern_.done()) {
        spawn_setup();
    }
    if (!cfg_.dump_history.empty()) {
        work_.keep_journal();
    }
    caf_source source(*sched_, kern_, nodes_, cfg_.seed, k_.fifo_bias, env_.frozen);
    if (!kern_.run(&source) && !env_.finished()) {
        kern_.fail(verdict::liveness, "the world stopped: nothing runnable and nothing scheduled");
    }
    res.result = kern_.result();
    res.message = kern_.message();
    res.steps = kern_.steps();
    res.sim_ms = (kern_.now() - epoch) / ms;
    res.wall_ms = kern_.wall_ms();
    kern_.trace(static_cast<uint64_t>(res.result));
    res.fingerprint = kern_.fingerprint();
    res.summary = summary();
    res.impostors = kern_.counter("impostors") > 0;
    for (const auto& n : nodes_.all()) {
        res.storage_faults = res.storage_faults || n.disk->stats().sync_errors > 0;
        for (const auto& old : n.old_disks) {
            res.storage_faults = res.storage_faults || old->stats().sync_errors > 0;
        }
    }
    for (const auto& line : kern_.log()) {
        res.summary += "\n" + line;
    }
    if (!cfg_.dump_history.empty()) {
        dump_history(res);
    }
    if (!stop_actors() && res.result == verdict::pass) {
        // A process's actor that outlives it (found by seed 2232694721: a group reader that had
        // given up kept a request to its dead directory pending, which CAF 0.17 never ends).
        res.result = verdict::liveness;
        res.message = fmt::format("{} actor(s) still running after every process was stopped",
                                  sys_->registry().running());
    }
    return res;
}

// Writes the history with everything the online checkers saw (replay --dump-history).
void world::dump_history(run_result& res) {
    auto rec = work_.recorded(res.header, env_.ph == phase::finished);
    if (auto err = write_history(cfg_.dump_history, rec); !err.empty()) {
        res.summary += "\nhistory not written: " + err;
        return;
    }
    res.summary +=
        fmt::format("\nhistory written to {} ({} writes, {} checker inputs{})", cfg_.dump_history,
                    rec.writes.ops().size(), rec.journal.size(), rec.audited ? ", audited" : "");
}

run_result run_profile(const run_config& cfg) {
    try {
        if (cfg.profile == "raft-stale" || cfg.profile == "raft-stale-read") {
            return run_raft_scenario(cfg);
        }
        if (cfg.profile.rfind("raft", 0) == 0) {
            return run_raft_world(cfg);
        }
        world w(cfg);
        return w.run();
    } catch (const std::exception& e) {
        run_result r;
        r.result = verdict::crash;
        r.message = std::string("exception: ") + e.what();
        return r;
    }
}

}  // namespace

run_result run_world(const run_config& cfg) {
    configure_logging(cfg.log_level);
    error_log errors(cfg.log_level);
    auto r = run_profile(cfg);
    if (r.result == verdict::pass) {
        if (auto line = unexpected_error(errors.lines(), r.storage_faults, r.impostors);
            !line.empty()) {
            r.result = verdict::crash;
            r.message = "an error line no injected fault explains: " + line;
        }
    }
    return r;
}

}  // namespace pravaha::sim
