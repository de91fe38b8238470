#pragma once

// The node world's harness actors (what the real process has around the node and client code:
// a supervisor watching core actors, the middleman's connect, an administrator creating the
// streams, an application reading) and the kernel's work source over CAF's deterministic
// scheduler. Internal to sim/.

#include "schema/interfaces.hpp"
#include "sim/kernel.hpp"
#include "sim/prng.hpp"

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

namespace caf::scheduler {
class test_coordinator;
}

namespace pravaha::sim {

using watch_atom = caf::atom_constant<caf::atom("simwatch")>;
using tick_atom = caf::atom_constant<caf::atom("simtick")>;
using link_tick_atom = caf::atom_constant<caf::atom("simlink")>;
using connect_done_atom = caf::atom_constant<caf::atom("simconn")>;
using join_tick_atom = caf::atom_constant<caf::atom("simjoin")>;
using leave_atom = caf::atom_constant<caf::atom("simleave")>;

class network;
class node_set;
class workload;

/// Ends a connection endpoint: drops everything sent to it from now on and tells its monitors
/// (the client's "connection lost").
void close_companion(const caf::actor& handle, caf::exit_reason reason);

/// Watches core actors: one that stops takes its node down (`node_set::on_core_down`).
caf::actor spawn_watcher(caf::actor_system& sys, node_set& nodes);

/// Asks every node that is up for its cluster status (leaders, terms, lag) and calls `done` with
/// one line of text once all answered (for a liveness message).
void ask_cluster_status(caf::actor_system& sys,
                        node_set& nodes,
                        std::function<void(const std::string&)> done);
/// A client's (or node's, `origin`) way to open connections: CAF's middleman `connect`.
caf::actor spawn_connector(caf::actor_system& sys, network& net, uint32_t origin);
/// Creates the scopes and streams of the run on `node` and reports their layout to `done`.
void spawn_setup(caf::actor_system& sys,
                 node_api node,
                 uint32_t streams,
                 uint32_t segments,
                 scaling_policy policy,
                 std::function<void(caf::expected<std::vector<stream_info>>)> done);
/// Creates one reader group per stream ("g<i>" over stream "s<i>" of scope "sim", from the
/// head) on `node`; `done` gets the first error, or none.
void spawn_group_setup(caf::actor_system& sys,
                       node_api node,
                       uint32_t streams,
                       group_config cfg,
                       std::function<void(caf::error)> done);
/// The application loop of a group reader's process: joins through `manager` as `name`, fetches
/// until the workload says stop, rejoins when the reader was lost; `leave_atom` closes the
/// reader (a graceful leave) and joins again later.
caf::actor spawn_group_driver(
    caf::actor_system& sys, workload& w, uint32_t client, uint32_t inc, caf::actor manager);
/// The application loop of a reading client: fetches from `reader` until the workload says
/// stop.
caf::actor spawn_reader_driver(
    caf::actor_system& sys, workload& w, uint32_t client, uint32_t inc, caf::actor reader);

/// The kernel's work: one CAF job at a time, picked from the runnable actors of nodes that are
/// not paused (mostly the oldest, with `fifo_bias`).
class caf_source final : public work_source {
public:
    caf_source(caf::scheduler::test_coordinator& sched,
               kernel& kern,
               node_set& nodes,
               uint64_t seed,
               bool fifo_bias,
               const std::map<uint64_t, int64_t>& frozen);
    bool step() override;
    int64_t next_timer() const override;
    void fire_timer() override;
    void advance(int64_t t) override;

private:
    caf::scheduler::test_coordinator& sched_;
    kernel& kern_;
    node_set& nodes_;
    prng rng_;
    bool fifo_bias_;
    const std::map<uint64_t, int64_t>& frozen_;  // actor ids of stalled client processes
};

}  // namespace pravaha::sim
