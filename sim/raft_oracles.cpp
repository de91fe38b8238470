// The Raft world's checks (sim/raft_world.hpp).

#include "schema/errc.hpp"
#include "sim/raft_world.hpp"
#include "storage/storage.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pravaha::sim {
namespace raft_sim {

namespace keys = storage::keys;

// A read confirmed by `read_index` is served once the replica applied its index. Oracle:
// that index covers every proposal acknowledged before the read was asked (a leader that
// answers reads while a newer leader commits, or before its own term's first commit, can
// lag them).
void raft_world::collect_reads(rnode& n) {
    for (const auto& rs : n.r->take_reads()) {
        auto floor = read_floor_[rs.ctx];
        if (cfg_.oracles && rs.index < floor) {
            fail(verdict::correctness,
                 fmt::format("replica {} (term {}, {}) confirmed read {} at index {}, below "
                             "index {} acknowledged before the read was asked",
                             n.id, n.r->term(), to_string(n.r->state()), rs.ctx, rs.index, floor));
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

void raft_world::observe_leader(rnode& n) {
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
void raft_world::check_progress(rnode& leader) {
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

raft_world::durable_view raft_world::view_of(rnode& n) {
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

bool raft_world::durably_has(rnode& n, const durable_view& v, uint64_t index, uint64_t term) {
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
void raft_world::check_commit_safety(rnode& leader, uint64_t c) {
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
void raft_world::check_leader_completeness(rnode& n) {
    if (!cfg_.oracles) {
        return;
    }
    // Raft's leader completeness: an entry committed in a term is in the log of every leader
    // of a higher term. A leader of a lower term may still appear late (it counted votes
    // granted before the voters learned of the higher term) and need not hold it.
    for (auto it = committed_.upper_bound(n.r->snapshot_index()); it != committed_.end(); ++it) {
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
void raft_world::check_reply(rnode& n, const message& m) {
    if (m.type == msg_type::snapshot) {
        // Snapshot memory is bounded: a chunk is at most its size plus one record (a key and
        // an entry), and at most a window of them is unacknowledged per follower.
        auto cfg = make_config(n.id);
        auto record_max = largest_entry_ + 8 + 9;
        auto it = n.r->followers().find(m.to);
        auto unacked =
            it == n.r->followers().end() ? 0 : it->second.snap.next - 1 - it->second.snap.acked;
        if (m.data.size() > cfg.snapshot_chunk_bytes + record_max ||
            unacked > cfg.snapshot_window) {
            fail(verdict::correctness,
                 fmt::format("replica {} sent replica {} snapshot chunk {} of {} bytes with {} "
                             "unacknowledged (chunks of {} bytes, records up to {}, window {})",
                             n.id, m.to, m.chunk, m.data.size(), unacked, cfg.snapshot_chunk_bytes,
                             record_max, cfg.snapshot_window));
        }
    }
    bool vote = m.type == msg_type::vote_resp && !m.reject;
    if (vote) {
        if (auto other = votes_.record(group_id, m.term, n.id, m.to)) {
            fail(verdict::correctness, fmt::format("replica {} voted for {} and for {} in term {}",
                                                   n.id, *other, m.to, m.term));
        }
    }
    if (!cfg_.oracles) {
        return;
    }
    const auto& durable = n.disk->durable();
    if (vote && !vote_is_durable(durable, group_id, m.term, m.to)) {
        fail(verdict::correctness,
             fmt::format("replica {} granted its vote in term {} to {} before the vote was durable",
                         n.id, m.term, m.to));
    }
    bool ack = m.type == msg_type::append_resp && !m.reject && m.hint == 0 && m.index > 0;
    if (ack && !entry_is_durable(durable, group_id, m.index)) {
        fail(verdict::correctness,
             fmt::format("replica {} acknowledged index {} to {} before it was durable", n.id,
                         m.index, m.to));
    }
}

void raft_world::final_checks() {
    if (kern_.result() != verdict::pass) {
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
                if (!m.up) {
                    views += fmt::format(" [replica {}: down]", m.id);
                    continue;
                }
                views += fmt::format(
                    " [replica {}: term {} {} leader {} commit {} last {} snapshot {} saving {} "
                    "inbox {} has_ready {} sync done at {:.3f} s",
                    m.id, m.r->term(), to_string(m.r->state()), m.r->leader(), m.r->commit(),
                    m.r->last_index(), m.r->snapshot_index(), m.runner->saving(), m.inbox.size(),
                    m.r->has_ready(), static_cast<double>(m.disk->sync_done_at()) / 1e9);
                for (const auto& [id, pr] : m.r->followers()) {
                    views += fmt::format(
                        "; f{} {} match {} next {} inflight {} paused {} "
                        "recovering {} snapshot session {} index {} acked {} next {} last {}",
                        id, static_cast<int>(pr.state), pr.match, pr.next, pr.inflight, pr.paused,
                        pr.recovering, pr.snap.session, pr.snap.index, pr.snap.acked, pr.snap.next,
                        pr.snap.last);
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

}  // namespace raft_sim
}  // namespace pravaha::sim
