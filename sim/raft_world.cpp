// The Raft world of pravaha-sim (profiles `raft` and `raft5`): 3 or 5 replicas of one Raft
// group running the real storage::raft::replica and raft_log on Tier A disks, a simulated
// network between them, and clients proposing entries; faults during the safety phase, then
// heal and a liveness phase. See sim/README.md ("Raft world").
//
// Checks: at most one leader per term; no two replicas apply different entries at one index;
// every acknowledged proposal (applied by the leader that accepted it) stays at its index; after
// healing a new proposal commits and every replica applies everything acknowledged.

#include "schema/errc.hpp"
#include "sim/prng.hpp"
#include "sim/sim_disk.hpp"
#include "sim/world.hpp"
#include "storage/storage.hpp"

#include <fmt/format.h>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <set>

namespace pravaha::sim {

namespace {

using namespace storage::raft;
namespace keys = storage::keys;

constexpr int64_t ms = 1'000'000;
constexpr int64_t tick_ns = 10 * ms;
constexpr uint32_t group_id = 1;
constexpr const char* final_data = "final";

// The replicated state machine of this world: applied entries by index (key "V" + index) and
// the applied index (key "S"), written unsynced after applying, as the container does.
std::string applied_key() {
    return "S";
}
std::string value_key(uint64_t index) {
    std::string k = "V";
    keys::put_u64(k, index);
    return k;
}

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
    std::unique_ptr<raft_log> log;
    std::unique_ptr<replica> r;
    uint64_t inc = 0;
    bool up = false;
    bool busy = false;
    std::deque<inbox_item> inbox;
    std::map<uint64_t, std::string> state;  // applied index -> entry data
    uint64_t applied = 0;
    uint64_t applied_written = 0;              // applied index written (unsynced) to the store
    uint64_t durable_applied = 0;              // made durable by a later synced write
    std::map<uint64_t, std::string> proposed;  // index -> data proposed here (this incarnation)
    std::multimap<uint64_t, uint64_t> confirmed_reads;  // read index -> read id, until applied
    bool wiped = false;
    uint64_t wiped_in_term = 0;  // the highest leader term known when the disk was wiped
};

struct event {
    int64_t at;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
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
    explicit raft_world(const run_config& cfg)
        : cfg_(cfg), rng_(cfg.seed, "raft"), read_rng_(cfg.seed, "raft-reads") {
        k_.nodes = cfg.profile == "raft5" ? 5 : 3;
        auto knob = [&](const char* name, int64_t& v) {
            if (auto it = cfg.fault_overrides.find(name); it != cfg.fault_overrides.end()) {
                v = std::stoll(it->second);
            }
        };
        knob("crash", k_.crash_ms);
        knob("partition", k_.partition_ms);
        knob("clog", k_.clog_ms);
        knob("wipe", k_.wipe_ms);
        knob("slow_disk", k_.slow_disk_ms);
        knob("replay", k_.replay_ms);
        if (auto it = cfg.fault_overrides.find("sync_error"); it != cfg.fault_overrides.end()) {
            k_.sync_error_num = std::stoull(it->second);
        }
        // Per-seed variety: some seeds run calm links, some lossy ones.
        base_latency_ns_ = rng_.range(20'000, 2 * ms);
        sync_latency_ns_ = rng_.range(100'000, 5 * ms);
        message_bytes_max_ = static_cast<size_t>(rng_.range(16, 1024));
        if (rng_.chance(1, 4)) {
            k_.drop_per_mille = 0;
            k_.dup_per_mille = 0;
            k_.reorder_per_mille = 0;
            k_.replay_ms = 0;
        }
        for (replica_id id = 1; id <= k_.nodes; ++id) {
            members_.push_back(id);
        }
    }

    run_result run();

private:
    // -- scheduling ------------------------------------------------------------------------
    void at(int64_t t, std::function<void()> fn) {
        events_.push(event{t, next_seq_++, std::move(fn)});
    }
    void trace(uint64_t v) { fingerprint_ = mix(fingerprint_, v); }
    void note(const std::string& s) {
        if (cfg_.verbose) {
            std::printf("%10.3f ms  %s\n", double(now_) / ms, s.c_str());
        }
    }
    void fail(verdict v, std::string msg) {
        if (result_ == verdict::pass) {
            result_ = v;
            message_ = fmt::format("{} (at {:.3f} s)", msg, double(now_) / 1e9);
        }
    }

    // -- nodes -----------------------------------------------------------------------------
    config make_config(replica_id id) const {
        config c;
        c.group = group_id;
        c.id = id;
        c.members = members_;
        c.election_ticks = 10;
        c.heartbeat_ticks = 1;
        c.seed = cfg_.seed * 31 + id;
        c.message_bytes_max = message_bytes_max_;  // small: entries of one batch split up
        c.retained_bytes_max = 16384;
        return c;
    }

    disk_faults disk_faults_now() const {
        disk_faults f;
        f.sync_latency_ns = slow_disk_until_ > now_ ? sync_latency_ns_ * 20 : sync_latency_ns_;
        f.sync_error_num = chaos() ? k_.sync_error_num : 0;
        f.sync_error_den = 1000;
        return f;
    }

    bool chaos() const { return now_ < chaos_end_; }

    void start(rnode& n) {
        n.inc += 1;
        n.disk->set_faults(disk_faults_now());
        auto store = n.disk->open(n.inc);
        if (!store) {
            fail(verdict::invalid, "cannot open the disk of replica " + std::to_string(n.id));
            return;
        }
        n.store = std::move(*store);
        n.log = std::make_unique<raft_log>(*n.store, group_id);
        auto st = n.log->load();
        if (!st) {
            fail(verdict::crash, fmt::format("replica {} cannot load its Raft log: {}", n.id,
                                             render_error(st.error())));
            return;
        }
        n.state.clear();
        n.applied = 0;
        auto a = n.store->get(applied_key());
        if (a && *a) {
            n.applied = keys::get_u64(**a, 0);
        }
        auto err = n.store->scan(value_key(0), value_key(n.applied + 1),
                                 [&](std::string_view k, std::string_view v) {
                                     n.state[keys::get_u64(k, 1)] = std::string(v);
                                     return true;
                                 });
        if (err) {
            fail(verdict::crash, "state scan failed");
            return;
        }
        n.applied_written = n.applied;
        n.durable_applied = n.applied;
        n.proposed.clear();
        n.confirmed_reads.clear();
        n.busy = false;
        n.inbox.clear();
        n.r = std::make_unique<replica>(make_config(n.id), std::move(*st), n.applied);
        n.up = true;
        note(fmt::format("replica {} starts (incarnation {}, applied {}, recovering {})", n.id,
                         n.inc, n.applied, n.r->recovering()));
        trace(0x51a7 + n.id);
        process(n);
    }

    void stop(rnode& n, bool power_cut) {
        if (!n.up) {
            return;
        }
        n.up = false;
        n.busy = false;
        n.inbox.clear();
        n.r.reset();
        n.log.reset();
        n.store.reset();
        if (power_cut) {
            n.disk->crash();
        } else {
            n.disk->process_exit();
        }
        n.inc += 1;  // fences continuations of the dead incarnation
    }

    void restart_later(rnode& n, int64_t down_ns) {
        auto inc = n.inc;
        at(now_ + down_ns, [this, &n, inc] {
            if (!n.up && n.inc == inc) {
                start(n);
            }
        });
    }

    // Runs the ready cycle of a replica until it blocks in an fsync or has nothing left.
    // Consecutive appends of one leader in one term (or proposals on a leader) are stepped
    // together and persisted by one ready, as etcd's loop batches: a follower catching up then
    // fsyncs once per backlog, not once per small message (seed 0xf574e7a3 could not catch up in
    // 40 s). Anything else is stepped alone: an acknowledgement to one leader must not leave
    // after a later message in the same ready truncated what it acknowledges (the persistence
    // oracle caught that with a batch spanning two leaders, raft5 seeds 0xac02f086, 0xac02f0b9).
    void process(rnode& n) {
        while (n.up && !n.busy) {
            if (n.r->has_ready()) {
                run_ready(n);
                continue;
            }
            if (n.inbox.empty()) {
                return;
            }
            auto first = std::move(n.inbox.front());
            n.inbox.pop_front();
            auto term = n.r->term();
            auto role = n.r->state();
            handle(n, first);
            while (n.up && !n.inbox.empty() && same_batch(first, n.inbox.front()) &&
                   n.r->term() == term && n.r->state() == role) {
                auto item = std::move(n.inbox.front());
                n.inbox.pop_front();
                handle(n, item);
            }
        }
    }

    static bool same_batch(const inbox_item& a, const inbox_item& b) {
        if (a.proposal || b.proposal) {
            return a.proposal && b.proposal;
        }
        return a.m.type == msg_type::append && b.m.type == msg_type::append &&
               a.m.from == b.m.from && a.m.term == b.m.term;
    }

    void handle(rnode& n, const inbox_item& item) {
        if (item.read != 0) {
            if (!n.r->read_index(item.read)) {
                ++reads_asked_;
            }
            collect_reads(n);
            return;
        }
        if (item.proposal) {
            auto idx = n.r->propose(item.data);
            if (idx) {
                n.proposed[*idx] = item.data;
                ++proposals_accepted_;
                trace(*idx);
            }
            return;
        }
        n.r->step(item.m);
        observe_leader(n);
        collect_reads(n);
    }

    // A read confirmed by `read_index` is served once the replica applied its index. Oracle:
    // that index covers every proposal acknowledged before the read was asked (a leader that
    // answers reads while a newer leader commits, or before its own term's first commit, can
    // lag them).
    void collect_reads(rnode& n) {
        for (const auto& rs : n.r->take_reads()) {
            auto floor = read_floor_[rs.ctx];
            if (cfg_.oracles && rs.index < floor) {
                fail(verdict::correctness,
                     fmt::format("replica {} (term {}, {}) confirmed read {} at index {}, below "
                                 "index {} acknowledged before the read was asked",
                                 n.id, n.r->term(), to_string(n.r->state()), rs.ctx, rs.index,
                                 floor));
            }
            n.confirmed_reads.emplace(rs.index, rs.ctx);
        }
        while (!n.confirmed_reads.empty() && n.confirmed_reads.begin()->first <= n.applied) {
            auto id = n.confirmed_reads.begin()->second;
            n.confirmed_reads.erase(n.confirmed_reads.begin());
            read_floor_.erase(id);
            ++reads_served_;
            trace(id * 13);
        }
    }

    // Clients read from the replica they think leads (sometimes any), as the containers serve a
    // catch-up read: each read remembers the highest index acknowledged when it was asked.
    void schedule_reads() {
        at(now_ + read_rng_.range(k_.propose_every_ns * 4, k_.propose_every_ns * 32), [this] {
            if (now_ < chaos_end_ + cfg_.live_ms * ms / 2) {
                auto target = known_leader();
                if (target == 0 || read_rng_.chance(1, 4)) {
                    target = static_cast<replica_id>(read_rng_.below(k_.nodes) + 1);
                }
                auto& n = nodes_[target - 1];
                if (n.up) {
                    auto id = next_read_++;
                    read_floor_[id] = max_acked_;
                    inbox_item item;
                    item.read = id;
                    n.inbox.push_back(std::move(item));
                    process(n);
                }
                schedule_reads();
            }
        });
    }

    void observe_leader(rnode& n) {
        if (n.r->state() != role::leader) {
            return;
        }
        auto [it, fresh] = leaders_.emplace(n.r->term(), n.id);
        if (fresh) {
            ++elections_;
            note(fmt::format("replica {} leads term {}", n.id, n.r->term()));
            check_leader_completeness(n);
            if (chaos() && rng_.chance(1, 4)) {
                // A leader cut off right after its election writes a tail nobody else gets:
                // the divergent logs of Raft's Figure 8 and of stale acknowledgements.
                isolate_for(n.id, rng_.range(20 * ms, 400 * ms));
            }
        } else if (it->second != n.id) {
            fail(verdict::correctness, fmt::format("two leaders in term {}: replicas {} and {}",
                                                   n.r->term(), it->second, n.id));
        }
        // Remember what leaders committed (index -> term) for the completeness oracle.
        bool advanced = false;
        for (auto i = std::max(n.r->snapshot_index(), committed_through_) + 1; i <= n.r->commit();
             ++i) {
            committed_[i] = {*n.r->term_at(i), n.r->term()};
            committed_through_ = i;
            advanced = true;
        }
        if (advanced) {
            check_commit_safety(n, n.r->commit());
        }
        check_progress(n);
    }

    // Oracle: the newest leader's idea of a follower's match is never ahead of the follower's
    // durable log (a stale acknowledgement counted as current would be). Skipped for followers
    // whose disk was wiped during the term: their old acknowledgements were true when sent.
    void check_progress(rnode& leader) {
        if (!cfg_.oracles || leaders_.rbegin()->first != leader.r->term()) {
            return;
        }
        for (auto& [peer, pr] : leader.r->followers()) {
            auto& f = nodes_[peer - 1];
            if (pr.match == 0 || f.wiped_in_term >= leader.r->term()) {
                continue;
            }
            auto v = view_of(f);
            auto term = leader.r->term_at(pr.match);
            if (!term || v.recovering) {
                continue;
            }
            if (!durably_has(f, v, pr.match, *term)) {
                fail(verdict::correctness,
                     fmt::format("leader {} (term {}) counts replica {} as holding index {} "
                                 "(term {}), which its durable log does not",
                                 leader.id, leader.r->term(), peer, pr.match, *term));
                return;
            }
        }
    }

    // What a replica's durable disk holds of its Raft log (a crash right now keeps this).
    struct durable_view {
        bool recovering = false;
        uint64_t snap_index = 0;
        uint64_t last_index = 0;
        uint64_t last_term = 0;
    };

    durable_view view_of(rnode& n) {
        const auto& d = n.disk->durable();
        durable_view v;
        auto s = d.find(keys::raft(group_id, 's'));
        if (s != d.end()) {
            v.snap_index = keys::get_u64(s->second, 0);
            v.last_index = v.snap_index;
            v.last_term = keys::get_u64(s->second, 8);
        }
        auto prefix = keys::raft(group_id, 'e');
        auto it = d.lower_bound(keys::raft_entry(group_id, UINT64_MAX));
        if (it != d.begin()) {
            --it;
            if (it->first.compare(0, prefix.size(), prefix) == 0) {
                auto index = keys::get_u64(it->first, prefix.size());
                if (index > v.snap_index) {
                    v.last_index = index;
                    v.last_term = keys::get_u64(it->second, 0);
                }
            }
        }
        bool empty = !d.count(keys::raft(group_id, 'h')) && v.last_index == 0;
        v.recovering = empty || d.count(keys::raft(group_id, 'r')) > 0;
        return v;
    }

    bool durably_has(rnode& n, const durable_view& v, uint64_t index, uint64_t term) {
        if (index <= v.snap_index) {
            return true;
        }
        const auto& d = n.disk->durable();
        auto e = d.find(keys::raft_entry(group_id, index));
        return e != d.end() && keys::get_u64(e->second, 0) == term;
    }

    // Oracle: when a leader commits index c, no replica whose durable log lacks it may be able
    // to win an election with the votes of replicas whose durable logs are not more up to date
    // (Raft's election restriction). Otherwise a crash at this moment could lose the commit: the
    // symptom of committing without a durable majority or by counting an older term.
    void check_commit_safety(rnode& leader, uint64_t c) {
        if (!cfg_.oracles) {
            return;
        }
        auto term = *leader.r->term_at(c);
        std::vector<durable_view> views;
        for (auto& n : nodes_) {
            views.push_back(view_of(n));
        }
        size_t quorum = k_.nodes / 2 + 1;
        for (size_t ci = 0; ci < nodes_.size(); ++ci) {
            auto& cv = views[ci];
            if (cv.recovering || durably_has(nodes_[ci], cv, c, term)) {
                continue;
            }
            size_t voters = 0;
            for (auto& vv : views) {
                bool grants = !vv.recovering &&
                              (cv.last_term > vv.last_term ||
                               (cv.last_term == vv.last_term && cv.last_index >= vv.last_index));
                voters += grants ? 1 : 0;
            }
            if (voters >= quorum) {
                fail(verdict::correctness,
                     fmt::format("leader {} committed index {} (term {}) that replica {} lacks "
                                 "while {} replicas' durable logs would elect it",
                                 leader.id, c, term, nodes_[ci].id, voters));
                return;
            }
        }
    }

    // Oracle (Raft's Leader Completeness): a new leader's log holds every entry any leader
    // committed before. Catches "commit by counting an old term" at the election that makes it
    // unsafe, before the overwrite is applied anywhere.
    void check_leader_completeness(rnode& n) {
        if (!cfg_.oracles) {
            return;
        }
        // Raft's leader completeness: an entry committed in a term is in the log of every leader
        // of a higher term. A leader of a lower term may still appear late (it counted votes
        // granted before the voters learned of the higher term) and need not hold it.
        for (auto it = committed_.upper_bound(n.r->snapshot_index()); it != committed_.end();
             ++it) {
            auto [entry_term, committed_in] = it->second;
            if (committed_in < n.r->term() && n.r->term_at(it->first) != entry_term) {
                fail(verdict::correctness,
                     fmt::format("replica {} leads term {} without entry {} (term {}) committed "
                                 "in term {}",
                                 n.id, n.r->term(), it->first, entry_term, committed_in));
                return;
            }
        }
    }

    // History check (always) and persistence oracle (with oracles): a vote is granted once per
    // term, and a reply that promises something is backed by the durable disk when it leaves.
    void check_reply(rnode& n, const message& m) {
        if (m.type == msg_type::vote_resp && !m.reject) {
            auto [it, fresh] = votes_.emplace(std::make_pair(m.term, n.id), m.to);
            if (!fresh && it->second != m.to) {
                fail(verdict::correctness,
                     fmt::format("replica {} voted for {} and for {} in term {}", n.id, it->second,
                                 m.to, m.term));
            }
        }
        if (!cfg_.oracles) {
            return;
        }
        const auto& durable = n.disk->durable();
        if (m.type == msg_type::vote_resp && !m.reject) {
            auto h = durable.find(keys::raft(group_id, 'h'));
            bool ok = h != durable.end() && h->second.size() >= 12 &&
                      (keys::get_u64(h->second, 0) > m.term ||
                       (keys::get_u64(h->second, 0) == m.term &&
                        keys::get_u64(h->second, 4) % (uint64_t{1} << 32) == m.to));
            if (!ok) {
                fail(verdict::correctness,
                     fmt::format("replica {} granted its vote in term {} to {} before the vote "
                                 "was durable",
                                 n.id, m.term, m.to));
            }
        }
        if (m.type == msg_type::append_resp && !m.reject && m.hint == 0 && m.index > 0) {
            auto s = durable.find(keys::raft(group_id, 's'));
            bool covered = s != durable.end() && keys::get_u64(s->second, 0) >= m.index;
            if (!covered && !durable.count(keys::raft_entry(group_id, m.index))) {
                fail(verdict::correctness,
                     fmt::format("replica {} acknowledged index {} to {} before it was durable",
                                 n.id, m.index, m.to));
            }
        }
    }

    std::string snapshot_of(const rnode& n) const {
        std::string out;
        for (auto& [index, data] : n.state) {
            keys::put_u64(out, index);
            keys::put_u64(out, data.size());
            out += data;
        }
        return out;
    }

    void run_ready(rnode& n) {
        auto rd = n.r->take_ready();
        storage::write_batch b;
        n.log->stage(rd, b);
        if (rd.install) {
            b.erase_range(value_key(0), value_key(UINT64_MAX));
            std::string_view d = rd.install->data;
            size_t pos = 0;
            while (pos + 16 <= d.size()) {
                auto index = keys::get_u64(d, pos);
                auto len = keys::get_u64(d, pos + 8);
                b.put(value_key(index), std::string(d.substr(pos + 16, len)));
                pos += 16 + len;
            }
            std::string v;
            keys::put_u64(v, rd.install->index);
            b.put(applied_key(), v);
        }
        for (auto& m : rd.messages) {
            if (m.type == msg_type::snapshot) {
                m.data = snapshot_of(n);
            }
            send(m);
        }
        if (!b.empty()) {
            n.disk->set_faults(disk_faults_now());
            if (auto err = n.store->write(b, true)) {
                // Fail-stop, as the node does on a storage error; the process restarts.
                note(fmt::format("replica {} fsync failed: stops", n.id));
                ++sync_failures_;
                stop(n, false);
                restart_later(n, rng_.range(10 * ms, 300 * ms));
                return;
            }
            auto written = n.applied_written;
            if (n.disk->take_synced()) {
                n.busy = true;
                auto inc = n.inc;
                at(n.disk->sync_done_at(), [this, &n, inc, rd = std::move(rd), written]() mutable {
                    if (n.up && n.inc == inc) {
                        n.durable_applied = written;
                        finish_ready(n, std::move(rd));
                        process(n);
                    }
                });
                return;
            }
            n.durable_applied = written;
        }
        finish_ready(n, std::move(rd));
    }

    void finish_ready(rnode& n, ready rd) {
        n.busy = false;
        for (auto& m : rd.after_persist) {
            check_reply(n, m);
            send(m);
        }
        if (rd.install) {
            n.state.clear();
            std::string_view d = rd.install->data;
            size_t pos = 0;
            while (pos + 16 <= d.size()) {
                auto index = keys::get_u64(d, pos);
                auto len = keys::get_u64(d, pos + 8);
                n.state[index] = std::string(d.substr(pos + 16, len));
                pos += 16 + len;
            }
            n.applied = rd.install->index;
            n.applied_written = n.applied;
            ++snapshots_installed_;
        }
        storage::write_batch b;
        for (auto i = rd.apply_from + 1; i <= rd.apply_to; ++i) {
            const auto* e = n.r->entry_at(i);
            if (!e) {
                fail(verdict::crash, fmt::format("replica {} cannot apply index {}", n.id, i));
                return;
            }
            apply(n, i, e->data);
            b.put(value_key(i), e->data);
        }
        if (rd.apply_to > rd.apply_from) {
            n.applied = rd.apply_to;
            std::string v;
            keys::put_u64(v, n.applied);
            b.put(applied_key(), v);
            if (auto err = n.store->write(b, false)) {
                stop(n, false);
                restart_later(n, rng_.range(10 * ms, 300 * ms));
                return;
            }
            n.applied_written = n.applied;
        }
        n.r->advance();
        observe_leader(n);
        collect_reads(n);
        // Compact: the state is durable through durable_applied.
        auto point = n.r->compact_point(n.durable_applied);
        if (point > n.r->snapshot_index() + 64) {
            storage::write_batch c;
            n.log->stage_compaction(point, *n.r->term_at(point), c);
            if (!n.store->write(c, false)) {
                n.r->compact(point);
            }
        }
    }

    void apply(rnode& n, uint64_t index, const std::string& data) {
        auto [it, fresh] = applied_.emplace(index, data);
        if (!fresh && it->second != data) {
            fail(verdict::correctness,
                 fmt::format("replica {} applied a different entry at index {} than another "
                             "replica ({} bytes vs {} bytes)",
                             n.id, index, data.size(), it->second.size()));
        }
        n.state[index] = data;
        trace(index * 7 + n.id);
        if (auto p = n.proposed.find(index); p != n.proposed.end()) {
            if (p->second == data && !data.empty()) {
                acked_[index] = data;
                max_acked_ = std::max(max_acked_, index);
                final_done_ = final_done_ || data == final_data;
            }
            n.proposed.erase(p);
        }
    }

    // -- network ---------------------------------------------------------------------------
    bool cut(replica_id from, replica_id to) const { return cuts_.count({from, to}) > 0; }

    void send(const message& m) {
        ++messages_;
        if (cut(m.from, m.to)) {
            return;
        }
        if (chaos() && rng_.chance(k_.drop_per_mille, 1000)) {
            return;
        }
        auto key = std::make_pair(m.from, m.to);
        int64_t latency = base_latency_ns_ + rng_.skewed(base_latency_ns_ * 4);
        if (auto c = clogs_.find(key); c != clogs_.end() && c->second.first > now_) {
            latency += c->second.second;
        }
        int64_t t = now_ + latency;
        bool reorder = chaos() && rng_.chance(k_.reorder_per_mille, 1000);
        if (!reorder) {
            t = std::max(t, link_last_[key] + 1);  // FIFO per connection
            link_last_[key] = t;
        }
        deliver_at(t, m);
        if (chaos() && rng_.chance(k_.dup_per_mille, 1000)) {
            deliver_at(t + rng_.range(0, 50 * ms), m);
        }
        bool ack = m.type == msg_type::append_resp && !m.reject && m.hint == 0;
        if (k_.replay_ms > 0 && (ack || rng_.chance(1, 16))) {
            // Remembered for late replays (the asynchronous network model Raft must survive);
            // mostly acknowledgements, whose stale copies are the dangerous ones.
            if (history_.size() < 4096) {
                history_.push_back(m);
            } else {
                history_[rng_.below(history_.size())] = m;
            }
        }
    }

    void inject_replay() {
        if (history_.empty()) {
            return;
        }
        ++replays_;
        // Half of the replays bring the current leader a message of one of its earlier terms.
        auto l = known_leader();
        if (l != 0 && rng_.chance(1, 2)) {
            auto term = nodes_[l - 1].r->term();
            std::vector<size_t> old;
            for (size_t i = 0; i < history_.size(); ++i) {
                if (history_[i].to == l && history_[i].term < term) {
                    old.push_back(i);
                }
            }
            if (!old.empty()) {
                deliver_at(now_ + base_latency_ns_, history_[old[rng_.below(old.size())]]);
                return;
            }
        }
        deliver_at(now_ + base_latency_ns_, history_[rng_.below(history_.size())]);
    }

    void deliver_at(int64_t t, const message& m) {
        at(t, [this, m] {
            auto& n = nodes_[m.to - 1];
            if (!n.up || cut(m.from, m.to)) {
                return;
            }
            trace(static_cast<uint64_t>(m.type) * 131 + m.to);
            n.inbox.push_back(inbox_item{false, m, {}});
            process(n);
        });
    }

    // -- workload and faults ---------------------------------------------------------------
    void schedule_ticks(rnode& n) {
        at(now_ + tick_ns + rng_.range(-ms, ms), [this, &n] {
            if (n.up && n.r) {
                n.r->tick();
                process(n);
            }
            if (now_ < end_) {
                schedule_ticks(n);
            }
        });
    }

    replica_id known_leader() const {
        replica_id best = 0;
        uint64_t term = 0;
        for (auto& n : nodes_) {
            if (n.up && n.r && n.r->state() == role::leader && n.r->term() >= term) {
                best = n.id;
                term = n.r->term();
            }
        }
        return best;
    }

    void schedule_proposals() {
        at(now_ + rng_.range(k_.propose_every_ns / 4, k_.propose_every_ns * 2), [this] {
            if (now_ < chaos_end_ + cfg_.live_ms * ms / 2) {
                auto target = known_leader();
                if (target == 0 || rng_.chance(1, 5)) {
                    target = static_cast<replica_id>(rng_.below(k_.nodes) + 1);
                }
                auto& n = nodes_[target - 1];
                if (n.up) {
                    auto data = fmt::format("p{}", next_proposal_++);
                    if (rng_.chance(1, 4)) {
                        data.append(static_cast<size_t>(rng_.range(1, 300)), 'x');
                    }
                    n.inbox.push_back(inbox_item{true, {}, data});
                    process(n);
                }
                schedule_proposals();
            }
        });
    }

    int64_t next_gap(int64_t mean_ms) { return mean_ms * ms / 2 + rng_.skewed(mean_ms * ms); }

    void schedule_fault(const char* kind, int64_t mean_ms, std::function<void()> fn) {
        if (mean_ms <= 0) {
            return;
        }
        at(now_ + next_gap(mean_ms), [this, kind, mean_ms, fn] {
            if (!chaos()) {
                return;
            }
            fn();
            schedule_fault(kind, mean_ms, fn);
        });
    }

    // Half of the node faults hit the leader: leadership changes are where Raft goes wrong.
    rnode& fault_target() {
        auto l = known_leader();
        if (l != 0 && rng_.chance(1, 2)) {
            return nodes_[l - 1];
        }
        return nodes_[rng_.below(k_.nodes)];
    }

    void inject_crash() {
        auto& n = fault_target();
        if (!n.up) {
            return;
        }
        note(fmt::format("fault: power cut of replica {}", n.id));
        ++crashes_;
        stop(n, true);
        restart_later(n, rng_.range(10 * ms, 3000 * ms));
    }

    void inject_partition() {
        // Isolate one replica (both ways or one way), or split the group into a minority with
        // the victim and a majority: a leader on the minority side keeps a tail only some have.
        auto victim = fault_target().id;
        int shape = static_cast<int>(rng_.below(4));
        std::set<replica_id> side{victim};
        if (shape == 3) {
            while (side.size() < (k_.nodes - 1) / 2) {
                side.insert(static_cast<replica_id>(rng_.below(k_.nodes) + 1));
            }
        }
        std::set<std::pair<replica_id, replica_id>> added;
        for (auto a : side) {
            for (auto b : members_) {
                if (side.count(b)) {
                    continue;
                }
                if (shape != 2) {
                    added.insert({a, b});
                }
                if (shape != 1) {
                    added.insert({b, a});
                }
            }
        }
        static const char* shapes[] = {"both ways", "outgoing", "incoming", "split"};
        note(fmt::format("fault: partition of replica {} ({}, {} on its side)", victim,
                         shapes[shape], side.size()));
        ++partitions_;
        for (auto& c : added) {
            cuts_.insert(c);
        }
        at(now_ + rng_.range(100 * ms, 5000 * ms), [this, added] {
            for (auto& c : added) {
                cuts_.erase(c);
            }
        });
    }

    void isolate_for(replica_id victim, int64_t duration) {
        std::set<std::pair<replica_id, replica_id>> added;
        for (auto other : members_) {
            if (other != victim) {
                added.insert({victim, other});
                added.insert({other, victim});
            }
        }
        for (auto& c : added) {
            cuts_.insert(c);
        }
        at(now_ + duration, [this, added] {
            for (auto& c : added) {
                cuts_.erase(c);
            }
        });
    }

    void inject_clog() {
        auto from = static_cast<replica_id>(rng_.below(k_.nodes) + 1);
        auto to = static_cast<replica_id>(rng_.below(k_.nodes) + 1);
        if (from == to) {
            return;
        }
        // Sometimes a link holds messages for seconds: answers arrive after elections.
        auto delay =
            rng_.chance(1, 3) ? rng_.range(500 * ms, 3000 * ms) : rng_.range(20 * ms, 800 * ms);
        clogs_[{from, to}] = {now_ + rng_.range(100 * ms, 3000 * ms), delay};
        ++clogs_count_;
    }

    void inject_wipe() {
        // Fault budget: one replica without its disk at a time (it must have caught up again).
        for (auto& n : nodes_) {
            if (n.wiped && (!n.up || n.r->recovering())) {
                return;
            }
        }
        auto& n = nodes_[rng_.below(k_.nodes)];
        for (auto& other : nodes_) {
            other.wiped = false;
        }
        note(fmt::format("fault: disk of replica {} wiped", n.id));
        ++wipes_;
        stop(n, true);
        n.disk = std::make_unique<sim_disk>(prng(cfg_.seed, "raft-disk", n.id * 1000 + wipes_),
                                            disk_faults_now(), [this] { return now_; });
        n.wiped = true;
        n.wiped_in_term = leaders_.empty() ? 0 : leaders_.rbegin()->first;
        restart_later(n, rng_.range(10 * ms, 2000 * ms));
    }

    void inject_slow_disk() {
        slow_disk_until_ = now_ + rng_.range(200 * ms, 2000 * ms);
        ++slow_disks_;
    }

    void heal() {
        note("heal: links restored, every replica up");
        cuts_.clear();
        clogs_.clear();
        slow_disk_until_ = 0;
        for (auto& n : nodes_) {
            if (!n.up) {
                start(n);
            }
        }
    }

    void final_checks();

    run_config cfg_;
    knobs k_;
    prng rng_;
    prng read_rng_;  // when and where clients read (apart, so reads do not shift other draws)
    std::vector<replica_id> members_;
    std::vector<rnode> nodes_;
    std::priority_queue<event, std::vector<event>, std::greater<>> events_;
    uint64_t next_seq_ = 0;
    int64_t now_ = 0;
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
    std::map<std::pair<uint64_t, replica_id>, replica_id> votes_;  // (term, voter) -> candidate
    // index -> (entry term, term of the leader that committed it)
    std::map<uint64_t, std::pair<uint64_t, uint64_t>> committed_;
    uint64_t committed_through_ = 0;
    std::map<uint64_t, std::string> applied_;
    std::map<uint64_t, std::string> acked_;
    uint64_t max_acked_ = 0;
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
    std::vector<message> history_;
    uint64_t sync_failures_ = 0;
    uint64_t snapshots_installed_ = 0;
    uint64_t steps_ = 0;
    uint64_t fingerprint_ = 0;
    verdict result_ = verdict::pass;
    std::string message_;
};

void raft_world::final_checks() {
    if (result_ != verdict::pass) {
        return;
    }
    // Every acknowledged proposal is what every replica applied at its index.
    for (auto& n : nodes_) {
        if (!n.up) {
            fail(verdict::liveness, fmt::format("replica {} is down after healing", n.id));
            return;
        }
        if (n.applied < max_acked_) {
            // What the replicas see of each other, to tell a stuck leader from a stuck follower.
            std::string views;
            for (auto& m : nodes_) {
                views += fmt::format(
                    " [replica {}: term {} {} leader {} commit {} last {} snapshot {} busy {} "
                    "inbox {} has_ready {} sync done at {:.3f} s",
                    m.id, m.r->term(), to_string(m.r->state()), m.r->leader(), m.r->commit(),
                    m.r->last_index(), m.r->snapshot_index(), m.busy, m.inbox.size(),
                    m.r->has_ready(), static_cast<double>(m.disk->sync_done_at()) / 1e9);
                for (const auto& [id, pr] : m.r->followers()) {
                    views += fmt::format(
                        "; f{} {} match {} next {} inflight {} paused {} "
                        "recovering {}",
                        id, static_cast<int>(pr.state), pr.match, pr.next, pr.inflight, pr.paused,
                        pr.recovering);
                }
                views += "]";
            }
            fail(verdict::liveness,
                 fmt::format("replica {} applied only up to {} of {} acknowledged (commit {}, "
                             "last {}, recovering {});{}",
                             n.id, n.applied, max_acked_, n.r->commit(), n.r->last_index(),
                             n.r->recovering(), views));
            return;
        }
        for (auto& [index, data] : acked_) {
            auto it = n.state.find(index);
            if (it == n.state.end() || it->second != data) {
                fail(verdict::correctness,
                     fmt::format("acknowledged entry {} ('{}') lost or replaced on replica {}",
                                 index, data, n.id));
                return;
            }
        }
        if (n.r->recovering()) {
            fail(verdict::liveness, fmt::format("replica {} still recovering after healing", n.id));
            return;
        }
    }
}

run_result raft_world::run() {
    auto wall_start = std::chrono::steady_clock::now();  // for the report only
    mutants::current = cfg_.mutant;
    nodes_.resize(k_.nodes);
    for (size_t i = 0; i < k_.nodes; ++i) {
        auto& n = nodes_[i];
        n.id = members_[i];
        n.disk = std::make_unique<sim_disk>(prng(cfg_.seed, "raft-disk", n.id), disk_faults_now(),
                                            [this] { return now_; });
    }
    chaos_end_ = cfg_.chaos_ms * ms;
    end_ = chaos_end_ + cfg_.live_ms * ms;
    for (auto& n : nodes_) {
        start(n);
        schedule_ticks(n);
    }
    schedule_proposals();
    schedule_reads();
    schedule_fault("crash", k_.crash_ms, [this] { inject_crash(); });
    schedule_fault("partition", k_.partition_ms, [this] { inject_partition(); });
    schedule_fault("clog", k_.clog_ms, [this] { inject_clog(); });
    schedule_fault("wipe", k_.wipe_ms, [this] { inject_wipe(); });
    schedule_fault("slow_disk", k_.slow_disk_ms, [this] { inject_slow_disk(); });
    schedule_fault("replay", k_.replay_ms, [this] { inject_replay(); });
    at(chaos_end_, [this] { heal(); });
    // After healing, a last proposal must commit everywhere (liveness).
    at(chaos_end_ + cfg_.live_ms * ms / 2, [this] {
        auto l = known_leader();
        if (l != 0) {
            nodes_[l - 1].inbox.push_back(inbox_item{true, {}, final_data});
            process(nodes_[l - 1]);
        }
    });
    while (!events_.empty() && result_ == verdict::pass) {
        auto ev = events_.top();
        events_.pop();
        now_ = ev.at;
        if (now_ > end_) {
            break;
        }
        ev.fn();
        if (++steps_ > cfg_.max_steps) {
            fail(verdict::invalid, "step limit reached");
        }
    }
    if (result_ == verdict::pass && !final_done_) {
        fail(verdict::liveness,
             fmt::format("no proposal committed after healing (leader {})", known_leader()));
    }
    final_checks();
    mutants::current = mutants::mutant::none;
    run_result res;
    res.result = result_;
    res.message = message_;
    res.steps = steps_;
    res.sim_ms = now_ / ms;
    res.wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - wall_start)
                      .count();
    res.fingerprint = fingerprint_;
    res.header = fmt::format(
        "seed 0x{:x} profile {} replicas {} latency {} us fsync {} us drop/dup/reorder {}/{}/{} "
        "per mille",
        cfg_.seed, cfg_.profile, k_.nodes, base_latency_ns_ / 1000, sync_latency_ns_ / 1000,
        k_.drop_per_mille, k_.dup_per_mille, k_.reorder_per_mille);
    res.summary = fmt::format(
        "proposals {} accepted {} acknowledged {}; reads asked {} served {}; elections {}; "
        "messages {}; faults: crashes {} partitions {} clogs {} wipes {} slow disks {} fsync "
        "failures {} replays {}; snapshots installed {}",
        next_proposal_, proposals_accepted_, acked_.size(), reads_asked_, reads_served_, elections_,
        messages_, crashes_, partitions_, clogs_count_, wipes_, slow_disks_, sync_failures_,
        replays_, snapshots_installed_);
    return res;
}

}  // namespace

run_result run_raft_world(const run_config& cfg) {
    raft_world w(cfg);
    return w.run();
}

}  // namespace pravaha::sim
