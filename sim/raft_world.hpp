#pragma once

// The Raft world of pravaha-sim (profiles `raft` and `raft5`): 3 or 5 replicas of one Raft
// group running the real storage::raft::replica and raft_log on Tier A disks, a simulated
// network between them, and clients proposing entries; faults during the safety phase, then
// heal and a liveness phase. See sim/README.md ("Raft world"). Internal to sim/.
//
// sim/raft_world.cpp: the replicas (start, stop, the ready cycle, apply) and the network.
// sim/raft_faults.cpp: ticks, the workload (proposals, reads) and the faults.
// sim/raft_oracles.cpp: the checks. At most one leader per term; no two replicas apply different
// entries at one index; every acknowledged proposal (applied by the leader that accepted it)
// stays at its index; Raft's persistence, commit safety and leader completeness on the durable
// disk images; after healing a new proposal commits and every replica applies everything
// acknowledged.

#include "sim/checkers.hpp"
#include "sim/kernel.hpp"
#include "sim/prng.hpp"
#include "sim/sim_disk.hpp"
#include "storage/storage.hpp"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace pravaha::sim::raft_sim {

using namespace storage::raft;

constexpr int64_t tick_ns = 10 * ms;
constexpr uint32_t group_id = 1;
constexpr const char* final_data = "final";

struct inbox_item {
    bool proposal = false;
    message m;
    std::string data;
    uint64_t read = 0;  // a client's linearizable read (its id), else 0
};

struct rnode {
    replica_id id = 0;
    std::unique_ptr<sim_disk> disk;
    std::unique_ptr<storage::log_store> store;
    std::unique_ptr<ready_runner> runner;  // the production ready cycle (storage/raft_runner.hpp)
    replica* r = nullptr;                  // the runner's replica while up
    uint64_t inc = 0;
    bool up = false;
    std::deque<inbox_item> inbox;
    std::map<uint64_t, std::string> state;  // applied index -> entry data
    uint64_t applied = 0;
    std::map<uint64_t, std::string> proposed;  // index -> data proposed here (this incarnation)
    std::multimap<uint64_t, uint64_t> confirmed_reads;  // read index -> read id, until applied
    bool wiped = false;
    uint64_t wiped_in_term = 0;  // the highest leader term known when the disk was wiped
};

struct knobs {
    size_t nodes = 3;
    int64_t crash_ms = 2500;
    int64_t partition_ms = 3000;
    int64_t clog_ms = 4000;
    int64_t wipe_ms = 12000;
    int64_t slow_disk_ms = 8000;
    uint64_t sync_error_num = 1;  // per 1000 syncs
    uint64_t drop_per_mille = 5;
    uint64_t dup_per_mille = 5;
    uint64_t reorder_per_mille = 5;
    int64_t propose_every_ns = 3 * ms;
    int64_t replay_ms = 100;  // a message from the past delivered again
};

class raft_world {
public:
    explicit raft_world(const run_config& cfg);
    run_result run();

private:
    int64_t now() const { return kern_.now(); }
    void at(int64_t t, std::function<void()> fn) { kern_.at(t, std::move(fn)); }
    void trace(uint64_t v) { kern_.trace(v); }
    void note(const std::string& s) { kern_.note(s); }
    void fail(verdict v, std::string msg) { kern_.fail(v, std::move(msg)); }
    bool chaos() const { return now() < chaos_end_; }
    bool cut(replica_id from, replica_id to) const { return cuts_.count({from, to}) > 0; }

    // replicas and network (raft_world.cpp)
    config make_config(replica_id id) const;
    disk_faults disk_faults_now() const;
    void start(rnode& n);
    void stop(rnode& n, bool power_cut);
    void restart_later(rnode& n, int64_t down_ns);
    void process(rnode& n);
    static const message* batch_input(const inbox_item& item);
    void handle(rnode& n, const inbox_item& item);
    /// Reads the replica's applied index and state from its store. False on a storage error.
    bool load_state(rnode& n);
    runner_hooks hooks_for(rnode& n);
    caf::expected<bool> persist(rnode& n, const storage::write_batch& b, bool sync);
    void install(rnode& n, const snapshot& snap);
    /// A storage error in the ready cycle: the replica stops and restarts (fail-stop).
    void fail_stop(rnode& n);
    void apply(rnode& n, uint64_t index, const std::string& data);
    void send(const message& m);
    void deliver_at(int64_t t, const message& m);
    replica_id known_leader() const;

    // workload and faults (raft_faults.cpp)
    void schedule_ticks(rnode& n);
    void schedule_proposals();
    void schedule_reads();
    void schedule_faults();
    rnode& fault_target();
    void inject_crash();
    void inject_partition();
    void isolate_for(replica_id victim, int64_t duration);
    void inject_clog();
    void inject_wipe();
    void inject_slow_disk();
    void inject_replay();
    void heal();
    void watch_progress(uint64_t commit, int64_t since);  // raft_world.cpp

    // checks (raft_oracles.cpp)
    /// What a replica's durable disk holds of its Raft log (a crash right now keeps this).
    struct durable_view {
        bool recovering = false;
        uint64_t snap_index = 0;
        uint64_t last_index = 0;
        uint64_t last_term = 0;
    };
    void collect_reads(rnode& n);
    void observe_leader(rnode& n);
    void check_progress(rnode& leader);
    durable_view view_of(rnode& n);
    bool durably_has(rnode& n, const durable_view& v, uint64_t index, uint64_t term);
    void check_commit_safety(rnode& leader, uint64_t c);
    void check_leader_completeness(rnode& n);
    void check_reply(rnode& n, const message& m);
    void final_checks();

    run_config cfg_;
    kernel kern_;
    knobs k_;
    prng rng_;
    prng read_rng_;  // when and where clients read (apart, so reads do not shift other draws)
    std::vector<replica_id> members_;
    std::vector<rnode> nodes_;
    int64_t chaos_end_ = 0;
    int64_t end_ = 0;
    int64_t base_latency_ns_ = 0;
    int64_t sync_latency_ns_ = 0;
    size_t message_bytes_max_ = 256;
    int64_t slow_disk_until_ = 0;
    std::set<std::pair<replica_id, replica_id>> cuts_;
    std::map<std::pair<replica_id, replica_id>, std::pair<int64_t, int64_t>> clogs_;
    std::map<std::pair<replica_id, replica_id>, int64_t> link_last_;

    std::map<uint64_t, replica_id> leaders_;
    vote_history votes_;
    // index -> (entry term, term of the leader that committed it)
    std::map<uint64_t, std::pair<uint64_t, uint64_t>> committed_;
    uint64_t committed_through_ = 0;
    std::map<uint64_t, std::string> applied_;
    std::map<uint64_t, std::string> acked_;
    uint64_t max_acked_ = 0;
    size_t largest_entry_ = 0;  ///< of the entries applied (bounds a snapshot record)
    bool final_done_ = false;
    uint64_t next_proposal_ = 0;
    uint64_t proposals_accepted_ = 0;
    std::map<uint64_t, uint64_t> read_floor_;  // read id -> highest index acknowledged when asked
    uint64_t next_read_ = 1;
    uint64_t reads_asked_ = 0;   // accepted by a leader
    uint64_t reads_served_ = 0;  // confirmed and applied
    uint64_t elections_ = 0;
    uint64_t messages_ = 0;
    uint64_t crashes_ = 0;
    uint64_t partitions_ = 0;
    uint64_t clogs_count_ = 0;
    uint64_t wipes_ = 0;
    uint64_t slow_disks_ = 0;
    uint64_t replays_ = 0;
    std::vector<message> history_;  // sent messages kept for late replays
    uint64_t sync_failures_ = 0;
    uint64_t snapshots_installed_ = 0;
};

}  // namespace pravaha::sim::raft_sim
