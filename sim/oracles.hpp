#pragma once

// The node world's durability oracles (simulation-spec.md 7.9): at every acknowledgement, at
// every crash and once a second, what the disks durably hold must keep every acknowledged event
// (standalone: the node recovered from its durable disk image has it; cluster: a quorum of
// nodes durably holds it); every Raft reply that promises something (a vote, an acknowledged
// entry) is backed by the sender's durable disk when it leaves. The checks themselves are the
// shared checkers of sim/checkers.hpp. Internal to sim/.

#include "schema/raft_types.hpp"
#include "sim/checkers.hpp"
#include "sim/env.hpp"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pravaha::storage {
struct write_batch;
}

namespace pravaha::sim {

class node_set;
class workload;

class durability_oracles {
public:
    durability_oracles(sim_env& env, node_set& nodes, workload& work);

    /// Every event inside a write that just became durable on `node`'s disk.
    void note_durable(uint32_t node, const storage::write_batch& b);
    /// `node` is about to lose its disk: what it held still counts as a copy (the fault budget
    /// allows one such loss).
    void note_wipe(uint32_t node, disk_model& disk);
    /// `node` sends `m`, which leaves it at `leaves_at` (after its fsync): checked then.
    void note_raft_send(uint32_t node, const raft::message& m, int64_t leaves_at);
    /// An acknowledgement reached a client.
    void on_acknowledged(const op_rec& op);
    /// The periodic and before-crash check of every acknowledged event.
    void check();
    /// Where a lost event was, for the final check's message.
    std::string describe_lost(const op_rec& op);

private:
    bool active() const;
    void check_raft_reply(uint32_t node, const raft::message& m);
    void check_quorum();
    uint32_t durable_copies(const writer_seq& ev) const;
    std::optional<std::set<writer_seq>> durable_events();

    sim_env& env_;
    node_set& nodes_;
    workload& work_;
    // Per node (one when standalone), every event a durable write on its disk ever held: a log
    // or Raft entry, or segment data.
    std::vector<std::set<writer_seq>> durable_by_node_;
    // Cluster: what a wiped node durably held when its disk was lost.
    std::vector<std::set<writer_seq>> wiped_held_;
    vote_history votes_;
};

}  // namespace pravaha::sim
