#include "storage/raft.hpp"

#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/mutants.hpp"
#include "schema/splitmix.hpp"
#include "storage/snapshot_pacer.hpp"

#include <algorithm>

namespace pravaha::storage::raft {

using mutants::mutant;

namespace {

// Heartbeats are appends with `hint == 1` and no entries; they carry no log position, so the
// follower answers them without a log check (commit is bounded by the follower's known match).
constexpr uint64_t heartbeat_flag = 1;
// A vote request with `hint == 1` is a forced election (campaign_now): leader leases are ignored.
constexpr uint64_t force_flag = 1;

}  // namespace

bool ready::empty() const {
    return !hard && !recovering && truncate_from == 0 && entries.empty() && staged.empty() &&
           !install && messages.empty() && after_persist.empty() && apply_to <= apply_from;
}

replica::replica(config cfg, durable_state state, uint64_t applied)
    : cfg_(std::move(cfg)),
      pacer_(cfg_.pacer ? cfg_.pacer
                        : std::make_shared<snapshot_pacer>(
                              cfg_.snapshot_bytes_per_tick, 1, cfg_.snapshot_chunk_bytes)),
      rng_(cfg_.seed ^ (uint64_t{cfg_.id} * 0x2545f4914f6cdd1dull)) {
    PRAVAHA_ASSERT(cfg_.id != no_replica, "raft replica needs an id group={}", cfg_.group);
    PRAVAHA_ASSERT(std::count(cfg_.members.begin(), cfg_.members.end(), cfg_.id) == 1,
                   "raft replica {} is not a member of group {}", cfg_.id, cfg_.group);
    PRAVAHA_ASSERT(cfg_.election_ticks > cfg_.heartbeat_ticks, "election_ticks={} heartbeat={}",
                   cfg_.election_ticks, cfg_.heartbeat_ticks);
    hard_ = state.hard;
    persisted_hard_ = hard_;
    snap_index_ = state.snapshot_index;
    snap_term_ = state.snapshot_term;
    for (auto& e : state.entries) {
        PRAVAHA_ASSERT(e.index == last_index() + 1, "raft log not contiguous group={} index={}",
                       cfg_.group, e.index);
        log_bytes_ += e.data.size();
        log_.push_back(std::move(e));
    }
    stable_last_ = last_index();
    unstable_from_ = last_index() + 1;
    PRAVAHA_ASSERT(applied >= snap_index_ && applied <= last_index(),
                   "raft applied index out of range group={} applied={} snapshot={} last={}",
                   cfg_.group, applied, snap_index_, last_index());
    applied_ = applied;
    hard_.commit = std::min(std::max(hard_.commit, applied_), last_index());
    recovering_ = state.recovering;
    if (state.empty() && !state.recovering && cfg_.members.size() > 1) {
        // A replica without any state may be a wiped member: it may have voted or acknowledged
        // before it lost its disk, so it must not do either until it has caught up.
        recovering_ = true;
        recovering_dirty_ = true;
    }
    become_follower(hard_.term, no_replica);
}

replica::~replica() {
    pacer_->release_all(this);
}

// -- log ---------------------------------------------------------------------------------------

const entry* replica::entry_at(uint64_t index) const {
    if (index <= snap_index_ || index > last_index()) {
        return nullptr;
    }
    return &log_[index - snap_index_ - 1];
}

std::optional<uint64_t> replica::term_at(uint64_t index) const {
    if (index == snap_index_) {
        return snap_term_;
    }
    if (const auto* e = entry_at(index)) {
        return e->term;
    }
    return std::nullopt;
}

uint64_t replica::applied_term() const {
    auto t = term_at(applied_);
    // A snapshot's term read past the log's end would be garbage another replica installs.
    PRAVAHA_ASSERT(t.has_value(),
                   "raft group {}: applied index {} outside the log (snapshot {}, last {})",
                   cfg_.group, applied_, snap_index_, last_index());
    return *t;
}

uint64_t replica::last_term() const {
    return *term_at(last_index());
}

bool replica::log_up_to_date(uint64_t term, uint64_t index) const {
    return term > last_term() || (term == last_term() && index >= last_index());
}

void replica::append_local(uint64_t term, std::string data) {
    log_bytes_ += data.size();
    log_.push_back(entry{term, last_index() + 1, std::move(data)});
}

void replica::truncate_after(uint64_t index) {
    while (last_index() > index) {
        log_bytes_ -= log_.back().data.size();
        log_.pop_back();
    }
    if (index + 1 < unstable_from_) {
        truncate_from_ = truncate_from_ == 0 ? index + 1 : std::min(truncate_from_, index + 1);
        unstable_from_ = index + 1;
    }
    stable_last_ = std::min(stable_last_, index);
}

uint64_t replica::find_conflict_hint(uint64_t index) const {
    if (index > last_index()) {
        return last_index();
    }
    // Skip back over the whole conflicting term: the leader probes from its first entry.
    auto t = term_at(index);
    uint64_t i = index;
    while (i > hard_.commit && i > snap_index_ + 1 && term_at(i - 1) == t) {
        --i;
    }
    return std::max(i - 1, hard_.commit);
}

// -- roles ---------------------------------------------------------------------------------------

void replica::set_term(uint64_t term) {
    PRAVAHA_ASSERT(term >= hard_.term, "raft term going back group={} {} -> {}", cfg_.group,
                   hard_.term, term);
    if (term > hard_.term) {
        hard_.term = term;
        hard_.vote = no_replica;
    }
}

void replica::reset_election_timer() {
    election_elapsed_ = 0;
    randomized_timeout_ =
        cfg_.election_ticks + static_cast<uint32_t>(splitmix64(rng_) % cfg_.election_ticks);
}

void replica::become_follower(uint64_t term, replica_id leader) {
    drop_reads();
    set_term(term);
    role_ = role::follower;
    leader_ = leader;
    votes_.clear();
    pacer_->release_all(this);
    progress_.clear();
    heartbeat_elapsed_ = 0;
    reset_election_timer();
}

void replica::campaign_now() {
    if (role_ == role::leader || recovering_) {
        return;
    }
    become_candidate(true);
}

void replica::set_reluctant(bool reluctant) {
    if (reluctant && !reluctant_) {
        handover_wait_ = 0;
    }
    reluctant_ = reluctant;
}

void replica::hand_over() {
    replica_id best = no_replica;
    uint64_t best_match = 0;
    for (const auto& [peer, pr] : progress_) {
        if (pr.recent_active && !pr.recovering && pr.match > best_match) {
            best = peer;
            best_match = pr.match;
        }
    }
    handover_wait_ = cfg_.election_ticks;
    if (best == no_replica || best_match != last_index()) {
        return;  // nobody can take over without losing entries: keep leading, ask again later
    }
    message m;
    m.type = msg_type::timeout_now;
    m.to = best;
    m.term = hard_.term;
    // This replica leads until the follower's forced vote request raises the term; a follower
    // whose disk is full too ignores it, and this one goes on leading (asked again later).
    send(std::move(m), false);
}

void replica::campaign(bool pre, bool force) {
    drop_reads();
    votes_.clear();
    votes_[cfg_.id] = true;
    leader_ = no_replica;
    reset_election_timer();
    uint64_t term;
    msg_type type;
    if (pre) {
        role_ = role::pre_candidate;
        term = hard_.term + 1;
        type = msg_type::pre_vote;
    } else {
        role_ = role::candidate;
        hard_.vote = cfg_.id;
        term = hard_.term;
        type = msg_type::vote;
    }
    if (votes_.size() >= quorum()) {
        pre ? become_candidate() : become_leader();
        return;
    }
    for (auto peer : cfg_.members) {
        if (peer == cfg_.id) {
            continue;
        }
        message m;
        m.type = type;
        m.to = peer;
        m.term = term;
        m.index = last_index();
        m.log_term = last_term();
        m.hint = force ? force_flag : 0;
        // A vote request must follow the durable self-vote and term.
        send(std::move(m), !pre);
    }
}

void replica::become_candidate(bool force) {
    set_term(hard_.term + 1);
    campaign(false, force);
}

void replica::become_leader() {
    role_ = role::leader;
    leader_ = cfg_.id;
    votes_.clear();
    pacer_->release_all(this);
    progress_.clear();
    for (auto peer : cfg_.members) {
        if (peer == cfg_.id) {
            continue;
        }
        progress p;
        p.next = last_index() + 1;
        p.recent_active = true;
        progress_[peer] = p;
    }
    election_elapsed_ = 0;
    heartbeat_elapsed_ = 0;
    // The no-op of the new term: earlier entries commit only through an entry of this term.
    append_local(hard_.term, std::string{});
    broadcast_append();
    maybe_commit();
}

// -- sending -------------------------------------------------------------------------------------

void replica::send(message m, bool after) {
    m.group = cfg_.group;
    m.from = cfg_.id;
    m.recovering = recovering_;
    if (role_ == role::leader && (m.type == msg_type::append || m.type == msg_type::snapshot)) {
        m.read_round = read_round_;
    }
    if (after) {
        msgs_after_.push_back(std::move(m));
    } else {
        msgs_.push_back(std::move(m));
    }
}

void replica::send_append(replica_id to, bool allow_empty) {
    auto& pr = progress_[to];
    if (pr.state == progress::mode::snapshot) {
        return;
    }
    if (pr.state == progress::mode::probe && pr.paused) {
        return;
    }
    if (pr.state == progress::mode::replicate && pr.inflight >= cfg_.inflight_max) {
        return;
    }
    uint64_t prev = pr.next - 1;
    auto prev_term = term_at(prev);
    if (!prev_term) {
        // The follower needs entries we compacted: send our state at the applied index, in
        // chunks the owner reads from one consistent view of it. Not to a follower that has
        // been silent for an election timeout (etcd's rule): each transfer takes a view and
        // reads its first chunks. A heartbeat instead: its answer marks the follower active,
        // and the stall check's next probe starts the transfer.
        if (!pr.recent_active && !pr.active_at_check) {
            pr.state = progress::mode::probe;
            pr.paused = true;
            send_heartbeat(to);
            return;
        }
        if (!pacer_->claim(to, this, cfg_.group)) {
            // Another group of this node is sending that follower's node a snapshot: one at a
            // time. A heartbeat keeps it in touch; the stall check's next probe asks again.
            pr.state = progress::mode::probe;
            pr.paused = true;
            send_heartbeat(to);
            return;
        }
        pr.state = progress::mode::snapshot;
        pr.snap = progress::transfer{};
        pr.snap.session = ++snapshot_sessions_;
        pr.snap.index = applied_;
        pr.snap.term = applied_term();
        pr.next = applied_ + 1;
        pr.inflight = 0;
        pr.inflight_last.clear();
        pr.stall_ticks = 0;
        send_snapshot_chunks(to);
        return;
    }
    message m;
    m.type = msg_type::append;
    m.to = to;
    m.term = hard_.term;
    m.index = prev;
    m.log_term = *prev_term;
    m.commit = hard_.commit;
    size_t bytes = 0;
    for (uint64_t i = pr.next; i <= last_index(); ++i) {
        const auto* e = entry_at(i);
        if (!m.entries.empty() && bytes + e->data.size() > cfg_.message_bytes_max) {
            break;
        }
        bytes += e->data.size();
        m.entries.push_back(*e);
    }
    if (m.entries.empty() && !allow_empty) {
        return;
    }
    if (pr.state == progress::mode::replicate) {
        if (!m.entries.empty()) {
            pr.next = m.entries.back().index + 1;
            pr.inflight += 1;
            pr.inflight_last.push_back(m.entries.back().index);
        }
    } else {
        pr.paused = true;
    }
    send(std::move(m), false);
}

void replica::end_transfer(replica_id to, progress& pr) {
    if (pr.state == progress::mode::snapshot) {
        pacer_->release(to, this);
    }
}

void replica::reprobe(replica_id to, uint64_t next) {
    auto& pr = progress_[to];
    end_transfer(to, pr);
    pr.state = progress::mode::probe;
    pr.next = next;
    pr.inflight = 0;
    pr.inflight_last.clear();
    pr.paused = false;
    pr.stall_ticks = 0;
    send_append(to, true);
}

void replica::send_snapshot_chunks(replica_id to) {
    auto& pr = progress_[to];
    auto& t = pr.snap;
    while (pr.state == progress::mode::snapshot && t.next <= t.acked + cfg_.snapshot_window &&
           (t.last == 0 || t.next <= t.last) && pacer_->may_send()) {
        message m;
        m.type = msg_type::snapshot;
        m.to = to;
        m.term = hard_.term;
        m.index = t.index;
        m.log_term = t.term;
        m.commit = hard_.commit;
        m.session = t.session;
        m.chunk = t.next++;
        // Charged as a full chunk; the owner's snapshot_sent settles the difference.
        pacer_->charge(static_cast<int64_t>(cfg_.snapshot_chunk_bytes));
        send(std::move(m), false);
    }
}

void replica::snapshot_at(
    replica_id to, uint64_t session, uint64_t index, uint64_t term, uint64_t bytes) {
    auto it = progress_.find(to);
    if (role_ != role::leader || it == progress_.end() ||
        it->second.state != progress::mode::snapshot || it->second.snap.session != session) {
        return;
    }
    PRAVAHA_ASSERT(index >= it->second.snap.index && index <= applied_,
                   "raft group {}: snapshot {} to {} at {} (chosen at {}, applied {})", cfg_.group,
                   session, to, index, it->second.snap.index, applied_);
    it->second.snap.index = index;
    it->second.snap.term = term;
    it->second.snap.bytes_total = bytes;
    it->second.next = index + 1;
}

void replica::snapshot_end(replica_id to, uint64_t session, uint64_t number) {
    auto it = progress_.find(to);
    if (role_ != role::leader || it == progress_.end() ||
        it->second.state != progress::mode::snapshot || it->second.snap.session != session) {
        return;
    }
    auto& t = it->second.snap;
    PRAVAHA_ASSERT(t.last == 0 || t.last == number,
                   "raft group {}: snapshot {} to {} ended at chunk {} and at {}", cfg_.group,
                   session, to, t.last, number);
    t.last = number;
    t.next = std::min(t.next, number + 1);
}

void replica::snapshot_sent(replica_id to, uint64_t session, size_t bytes) {
    pacer_->charge(static_cast<int64_t>(bytes) - static_cast<int64_t>(cfg_.snapshot_chunk_bytes));
    auto it = progress_.find(to);
    if (it != progress_.end() && it->second.snap.session == session) {
        it->second.snap.bytes_sent += bytes;
    }
}

void replica::broadcast_append() {
    for (auto& [peer, pr] : progress_) {
        send_append(peer, false);
    }
}

void replica::send_heartbeats(bool reprobe) {
    for (auto& [peer, pr] : progress_) {
        if (reprobe && pr.state == progress::mode::probe && pr.paused) {
            // Re-probe: the probe or its answer may have been lost.
            pr.paused = false;
            send_append(peer, true);
            continue;
        }
        send_heartbeat(peer);
    }
}

void replica::send_heartbeat(replica_id to) {
    const auto& pr = progress_[to];
    message m;
    m.type = msg_type::append;
    m.to = to;
    m.term = hard_.term;
    m.hint = heartbeat_flag;
    m.commit = std::min(hard_.commit, pr.match);
    // Echoed back with the follower's last index: connections are FIFO, so an answer below
    // this shows that an append sent before the heartbeat was lost.
    m.index = pr.next - 1;
    send(std::move(m), false);
}

// -- commit --------------------------------------------------------------------------------------

void replica::maybe_commit() {
    if (role_ != role::leader) {
        return;
    }
    std::vector<uint64_t> matches;
    matches.push_back(mutants::active(mutant::ack_before_quorum) ? last_index() : stable_last_);
    for (auto& [peer, pr] : progress_) {
        matches.push_back(pr.recovering ? 0 : pr.match);
    }
    std::sort(matches.begin(), matches.end(), std::greater<>());
    uint64_t q =
        mutants::active(mutant::ack_before_quorum) ? matches.front() : matches[quorum() - 1];
    if (q <= hard_.commit) {
        return;
    }
    // Only an entry of the current term commits by counting (Raft's Figure 8): an entry of an
    // earlier term on a majority can still be overwritten by a leader that never had it.
    if (term_at(q) != hard_.term && !mutants::active(mutant::raft_fig8)) {
        return;
    }
    PRAVAHA_ASSERT(q <= last_index(), "raft group {} commits {} beyond its log {}", cfg_.group, q,
                   last_index());
    hard_.commit = q;
    advance_reads();  // reads that waited for the first commit of this term
}

// -- linearizable reads
// ----------------------------------------------------------------------------

caf::error replica::read_index(uint64_t ctx) {
    if (role_ != role::leader) {
        return not_leader_error(leader_);
    }
    if (mutants::active(mutant::stale_leader_read)) {
        // Planted bug: the leader answers from what it has, as if it surely still led.
        reads_ready_.push_back({ctx, hard_.commit});
        return {};
    }
    bool idle = reads_pending_.empty();
    reads_pending_.emplace_back(ctx, ++read_round_);
    if (idle && quorum() > 1) {
        // One round in flight at a time: reads asked meanwhile ride on the next one. Plain
        // heartbeats: a lagging follower's probe is not sent again for every round.
        send_heartbeats(false);
    }
    advance_reads();
    return {};
}

void replica::advance_reads() {
    if (role_ != role::leader || reads_pending_.empty()) {
        return;
    }
    // A new leader knows it has every committed entry only once one of its own term commits
    // (its no-op); before that its commit index may lag the previous leader's.
    if (term_at(hard_.commit) != hard_.term) {
        return;
    }
    // The highest round a majority of voters answered in this term (the leader counts itself).
    std::vector<uint64_t> rounds{read_round_};
    for (const auto& [peer, pr] : progress_) {
        rounds.push_back(pr.recovering ? 0 : pr.read_ack);
    }
    std::sort(rounds.begin(), rounds.end(), std::greater<>());
    uint64_t confirmed = rounds[quorum() - 1];
    bool any = false;
    while (!reads_pending_.empty() && reads_pending_.front().second <= confirmed) {
        reads_ready_.push_back({reads_pending_.front().first, hard_.commit});
        reads_pending_.pop_front();
        any = true;
    }
    if (any && !reads_pending_.empty()) {
        send_heartbeats(false);
    }
}

void replica::drop_reads() {
    reads_pending_.clear();
}

std::vector<read_state> replica::take_reads() {
    std::vector<read_state> out;
    out.swap(reads_ready_);
    return out;
}

// -- ticks ---------------------------------------------------------------------------------------

void replica::tick() {
    pacer_->tick();  // every group's tick refills its share of the node's snapshot budget
    if (role_ == role::leader) {
        tick_leader();
        return;
    }
    ++election_elapsed_;
    if (recovering_) {
        tick_probes();
        return;
    }
    uint32_t timeout = randomized_timeout_ * (reluctant_ && cfg_.members.size() > 1 ? 3 : 1);
    if (election_elapsed_ >= timeout) {
        if (cfg_.members.size() == 1) {
            become_candidate();
        } else {
            campaign(true);
        }
    }
}

void replica::tick_probes() {
    if (++heartbeat_elapsed_ < cfg_.heartbeat_ticks) {
        return;
    }
    heartbeat_elapsed_ = 0;
    if (bound_known_) {
        return;
    }
    for (auto peer : cfg_.members) {
        if (peer == cfg_.id || probe_answers_.count(peer)) {
            continue;
        }
        message m;
        m.type = msg_type::probe_term;
        m.to = peer;
        m.term = hard_.term;
        send(std::move(m), false);
    }
}

void replica::tick_leader() {
    if (reluctant_ && cfg_.members.size() > 1) {
        if (handover_wait_ == 0) {
            hand_over();
        } else {
            --handover_wait_;
        }
    }
    ++heartbeat_elapsed_;
    ++election_elapsed_;
    if (election_elapsed_ >= cfg_.election_ticks) {
        election_elapsed_ = 0;
        size_t active = 1;
        for (auto& [peer, pr] : progress_) {
            if (pr.recent_active && !pr.recovering) {
                ++active;
            }
            pr.active_at_check = pr.recent_active;
            pr.recent_active = false;
        }
        if (active < quorum()) {
            // Check-quorum: a leader cut off from a majority steps down, so that clients look
            // for the new one instead of waiting on a leader that can no longer commit.
            become_follower(hard_.term, no_replica);
            return;
        }
    }
    uint32_t stall_max = std::max<uint32_t>(2, cfg_.election_ticks / 2);
    for (auto& [peer, pr] : progress_) {
        if (pr.state == progress::mode::snapshot) {
            auto& t = pr.snap;
            ++t.ticks;
            if (t.next <= t.acked + 1) {
                pr.stall_ticks = 0;
                send_snapshot_chunks(peer);  // held back by the throttle
                continue;
            }
            // A follower writes a chunk before it answers: allow an election timeout.
            if (++pr.stall_ticks < cfg_.election_ticks) {
                continue;
            }
            pr.stall_ticks = 0;
            if (pr.recent_active || pr.active_at_check) {
                // It answers heartbeats, so chunks or their answers were lost: send again from
                // the first it has not acknowledged.
                t.next = t.acked + 1;
                t.resend_mark = 0;
                send_snapshot_chunks(peer);
            } else {
                reprobe(peer, pr.match + 1);  // silent: probe (the transfer starts over)
            }
            continue;
        }
        bool waiting = pr.inflight > 0 || pr.paused;
        if (!waiting) {
            pr.stall_ticks = 0;
            continue;
        }
        if (++pr.stall_ticks < stall_max) {
            continue;
        }
        // An append or its answer was lost (a broken connection): probe from the last match.
        reprobe(peer, pr.match + 1);
    }
    if (heartbeat_elapsed_ >= cfg_.heartbeat_ticks) {
        heartbeat_elapsed_ = 0;
        send_heartbeats();
    }
}

// -- proposals -----------------------------------------------------------------------------------

caf::expected<uint64_t> replica::propose(std::string data) {
    if (role_ != role::leader) {
        return not_leader_error(leader_);
    }
    append_local(hard_.term, std::move(data));
    broadcast_append();
    maybe_commit();
    return last_index();
}

// -- receiving -----------------------------------------------------------------------------------

void replica::step(const message& m) {
    if (m.type == msg_type::probe_term) {
        message r;
        r.type = msg_type::probe_term_resp;
        r.to = m.from;
        r.term = hard_.term;
        // "Has data": entries or a snapshot. A term alone is not data (see
        // handle_probe_response); older versions also counted a term, which is only stricter.
        r.hint = last_index() > 0 ? 1 : 0;
        send(std::move(r), false);
        return;
    }
    if (m.type == msg_type::probe_term_resp) {
        handle_probe_response(m);
        return;
    }
    if (m.term > hard_.term) {
        bool granted_pre = m.type == msg_type::pre_vote_resp && !m.reject;
        if (m.type == msg_type::pre_vote || granted_pre) {
            // Pre-vote traffic never changes a term.
        } else if (m.type == msg_type::vote && m.hint != force_flag && leader_ != no_replica &&
                   m.from != leader_ && election_elapsed_ < cfg_.election_ticks) {
            // Leader stickiness: while we hear from a leader, a disruptive candidate (one that
            // was partitioned away) is ignored. The leader itself may raise the term.
            return;
        } else if (m.type == msg_type::append || m.type == msg_type::snapshot) {
            become_follower(m.term, m.from);
        } else {
            become_follower(m.term, no_replica);
        }
    } else if (m.term < hard_.term) {
        if (m.type == msg_type::append || m.type == msg_type::snapshot) {
            // Tell a deposed leader about the newer term.
            message r;
            r.type = msg_type::append_resp;
            r.to = m.from;
            r.term = hard_.term;
            r.reject = true;
            r.index = m.index;
            send(std::move(r), true);
            return;
        }
        if (m.type == msg_type::pre_vote) {
            message r;
            r.type = msg_type::pre_vote_resp;
            r.to = m.from;
            r.term = hard_.term;
            r.reject = true;
            send(std::move(r), true);
            return;
        }
        bool stale_ack =
            m.type == msg_type::append_resp && !m.reject && mutants::active(mutant::stale_term_ack);
        if (!stale_ack) {
            return;
        }
    }
    switch (m.type) {
        case msg_type::pre_vote:
        case msg_type::vote:
            handle_vote_request(m);
            break;
        case msg_type::pre_vote_resp:
        case msg_type::vote_resp:
            handle_vote_response(m);
            break;
        case msg_type::append:
            handle_append(m);
            break;
        case msg_type::append_resp:
            handle_append_response(m);
            break;
        case msg_type::snapshot:
            handle_snapshot(m);
            break;
        case msg_type::snapshot_resp:
            handle_snapshot_response(m);
            break;
        case msg_type::timeout_now:
            // From this term's leader, handing over: campaign past the others' leader
            // stickiness, unless this replica cannot take new data either.
            if (m.from == leader_ && !reluctant_) {
                campaign_now();
            }
            break;
        default:
            break;
    }
}

void replica::handle_vote_request(const message& m) {
    bool pre = m.type == msg_type::pre_vote;
    bool grant = false;
    if (!recovering_ && log_up_to_date(m.log_term, m.index)) {
        if (pre) {
            bool leader_alive = role_ == role::leader ||
                                (leader_ != no_replica && election_elapsed_ < cfg_.election_ticks);
            grant = m.term > hard_.term && !leader_alive;
        } else {
            grant = (hard_.vote == no_replica && leader_ == no_replica) || hard_.vote == m.from;
        }
    }
    if (grant && !pre) {
        hard_.vote = m.from;
        reset_election_timer();
    }
    message r;
    r.type = pre ? msg_type::pre_vote_resp : msg_type::vote_resp;
    r.to = m.from;
    r.term = (pre && grant) ? m.term : hard_.term;
    r.reject = !grant;
    send(std::move(r), true);
}

void replica::handle_vote_response(const message& m) {
    bool pre = m.type == msg_type::pre_vote_resp;
    if (pre ? role_ != role::pre_candidate : role_ != role::candidate) {
        return;
    }
    if (pre && !m.reject && m.term != hard_.term + 1) {
        return;  // an answer to an earlier pre-vote
    }
    votes_[m.from] = !m.reject;
    size_t granted = 0;
    size_t rejected = 0;
    for (auto& [peer, yes] : votes_) {
        (yes ? granted : rejected) += 1;
    }
    if (granted >= quorum()) {
        pre ? become_candidate() : become_leader();
    } else if (rejected >= quorum()) {
        become_follower(hard_.term, no_replica);
    }
}

message replica::follow(const message& m) {
    if (role_ != role::follower) {
        become_follower(hard_.term, m.from);
    }
    leader_ = m.from;
    election_elapsed_ = 0;
    message r;
    r.type = msg_type::append_resp;
    r.to = m.from;
    r.term = hard_.term;
    r.read_round = m.read_round;  // this answer shows the leader still leads (read_index)
    return r;
}

void replica::handle_append(const message& m) {
    if (role_ == role::leader) {
        // Two leaders in one term cannot happen in a correct cluster; ignore rather than crash
        // so that a planted bug is reported by the checkers.
        module_log("storage")->error("raft second leader group={} term={} from={}", cfg_.group,
                                     m.term, m.from);
        return;
    }
    auto r = follow(m);
    r.commit = bound_known_ ? recovering_bound_ : 0;
    if (m.hint == heartbeat_flag && m.entries.empty()) {
        hard_.commit = std::max(hard_.commit, std::min(m.commit, last_index()));
        r.hint = heartbeat_flag;
        r.index = last_index();
        r.log_term = m.index;
        send(std::move(r), true);
        return;
    }
    bool shortcut = m.index < hard_.commit;
    if (mutants::active(mutant::truncate_committed) && m.index >= snap_index_) {
        shortcut = false;
    }
    if (shortcut) {
        r.index = hard_.commit;
        send(std::move(r), true);
        return;
    }
    auto prev_term = term_at(m.index);
    if (!prev_term || *prev_term != m.log_term) {
        r.reject = true;
        r.index = m.index;
        r.hint = find_conflict_hint(m.index);
        send(std::move(r), true);
        return;
    }
    if (mutants::active(mutant::truncate_committed)) {
        truncate_after(m.index);
    }
    for (const auto& e : m.entries) {
        if (e.index <= last_index()) {
            if (term_at(e.index) == e.term) {
                continue;
            }
            PRAVAHA_ASSERT(e.index > hard_.commit || mutants::active(mutant::truncate_committed),
                           "raft would truncate a committed entry group={} index={} commit={}",
                           cfg_.group, e.index, hard_.commit);
            truncate_after(e.index - 1);
        }
        append_local(e.term, e.data);
    }
    uint64_t last_new = m.index + m.entries.size();
    hard_.commit = std::max(hard_.commit, std::min(m.commit, last_new));
    if (mutants::active(mutant::truncate_committed)) {
        hard_.commit = std::min(hard_.commit, last_index());
    }
    r.index = last_new;
    if (caught_up_after_recovery()) {
        leave_recovering();
        r.commit = 0;
    }
    send(std::move(r), true);
}

void replica::handle_snapshot(const message& m) {
    if (role_ == role::leader) {
        return;
    }
    auto r = follow(m);
    if (m.index <= hard_.commit) {
        r.index = hard_.commit;
        incoming_.reset();
    } else if (term_at(m.index) == m.log_term) {
        // We hold the snapshot's last entry: our log matches up to it.
        hard_.commit = m.index;
        r.index = m.index;
        incoming_.reset();
    } else {
        // A chunk: staged in order (chunk 1 starts the transfer over). Until the last one is
        // staged the replica keeps its old state and log, so it votes and answers as before.
        bool ours = incoming_ && incoming_->term == m.term && incoming_->session == m.session &&
                    incoming_->index == m.index && incoming_->log_term == m.log_term;
        if (m.chunk == 1 && !ours) {
            // A duplicate of chunk 1 of the transfer under way must not start it over: the
            // leader counts what was acknowledged and never sends it again (the simulator's
            // raft5 seed 0xb17afc3 stalled so).
            incoming_ = incoming{m.term, m.session, m.index, m.log_term, 1};
            ours = true;
        }
        bool in_order = ours && m.chunk == incoming_->next;
        if (in_order) {
            staged_.push_back(snapshot_chunk{m.index, m.chunk, m.data});
            ++incoming_->next;
        }
        if (!in_order || !m.last_chunk) {
            // Acknowledged once written (after persist): the leader's window then bounds what
            // this replica holds in memory. Out of order: says which chunk it expects.
            message a;
            a.type = msg_type::snapshot_resp;
            a.to = m.from;
            a.term = hard_.term;
            a.index = m.index;
            a.session = m.session;
            a.chunk = ours ? incoming_->next : 1;
            a.hint = m.chunk;
            send(std::move(a), in_order);
            return;
        }
        incoming_.reset();
        install_ = snapshot{m.index, m.log_term};
        log_.clear();
        log_bytes_ = 0;
        snap_index_ = m.index;
        snap_term_ = m.log_term;
        truncate_from_ = 0;
        unstable_from_ = m.index + 1;
        stable_last_ = std::min(stable_last_, m.index);
        hard_.commit = m.index;
        r.index = m.index;
    }
    if (caught_up_after_recovery()) {
        leave_recovering();
    }
    r.commit = bound_known_ && recovering_ ? recovering_bound_ : 0;
    send(std::move(r), true);
}

void replica::handle_snapshot_response(const message& m) {
    auto it = progress_.find(m.from);
    if (role_ != role::leader || it == progress_.end()) {
        return;
    }
    auto& pr = it->second;
    pr.recent_active = true;
    auto& t = pr.snap;
    if (pr.state != progress::mode::snapshot || t.session != m.session || m.chunk == 0) {
        return;  // an answer to an older transfer
    }
    uint64_t holds = m.chunk - 1;
    if (holds < t.acked) {
        if (m.chunk == 1) {
            // The follower lost the chunks it held (it restarted): start over, from a new view
            // (the source no longer has the positions of acknowledged chunks).
            reprobe(m.from, pr.match + 1);
        }
        return;  // otherwise an old answer, delivered late
    }
    if (holds > t.acked) {
        t.acked = holds;
        pr.stall_ticks = 0;
    } else if (m.chunk < t.next && m.hint >= t.resend_mark) {
        // It got a chunk out of order (one before it was lost): resend from what it expects.
        // Answers to chunks sent before this resend say the same and are not acted on again.
        t.resend_mark = t.next;
        t.next = m.chunk;
    }
    t.next = std::max(t.next, t.acked + 1);
    send_snapshot_chunks(m.from);
}

void replica::handle_append_response(const message& m) {
    if (role_ != role::leader) {
        return;
    }
    auto it = progress_.find(m.from);
    if (it == progress_.end()) {
        return;
    }
    auto& pr = it->second;
    pr.recent_active = true;
    pr.recovering = m.recovering;
    if (m.term == hard_.term && !m.recovering && m.read_round > pr.read_ack) {
        pr.read_ack = m.read_round;
        advance_reads();
    }
    pr.recovering_bound = m.recovering ? m.commit : 0;
    if (m.recovering && (m.reject || m.hint == heartbeat_flag)) {
        // A follower that lost its disk holds less than it once acknowledged: start over from
        // what it has (otherwise probing never goes below the old match and it never catches
        // up; found by the wiped-node system test).
        uint64_t has = m.reject ? m.hint : m.index;
        if (has < pr.match) {
            pr.match = has;
            reprobe(m.from, has + 1);
            return;
        }
    }
    if (m.hint == heartbeat_flag && !m.reject) {
        if (pr.state == progress::mode::replicate && m.log_term > m.index &&
            m.log_term > pr.match) {
            // The follower lacks entries sent before this heartbeat: they were lost.
            reprobe(m.from, pr.match + 1);
        } else if (pr.state == progress::mode::replicate && pr.inflight == 0 &&
                   pr.match < last_index()) {
            send_append(m.from, false);
        }
    } else if (m.reject) {
        if (pr.state == progress::mode::replicate) {
            if (m.index <= pr.match) {
                return;  // stale
            }
        } else if (pr.state == progress::mode::probe) {
            if (m.index != pr.next - 1) {
                return;  // stale
            }
        } else {
            return;
        }
        reprobe(m.from, std::max(pr.match + 1, std::min(m.index, m.hint + 1)));
        return;
    } else {
        bool progressed = m.index > pr.match;
        if (progressed) {
            pr.match = m.index;
            pr.stall_ticks = 0;
            while (!pr.inflight_last.empty() && pr.inflight_last.front() <= m.index) {
                pr.inflight_last.pop_front();
                pr.inflight -= 1;
            }
            maybe_commit();
        }
        bool probe_matched =
            pr.state == progress::mode::probe && m.index == pr.match && m.index + 1 == pr.next;
        if (pr.state != progress::mode::replicate && (progressed || probe_matched)) {
            end_transfer(m.from, pr);
            pr.state = progress::mode::replicate;
            pr.next = pr.match + 1;
            pr.inflight = 0;
            pr.inflight_last.clear();
            pr.paused = false;
        } else if (pr.state == progress::mode::snapshot && m.index >= pr.match) {
            // The follower answered below the snapshot: probe again from what it has. (An
            // answer below its match is an old one, delivered late: it must not start the
            // transfer over, or replayed acknowledgements restart it forever: raft5 seed
            // 0xb17afd3.)
            reprobe(m.from, pr.match + 1);
        }
        pr.next = std::max(pr.next, pr.match + 1);
        if (pr.state == progress::mode::replicate) {
            send_append(m.from, false);
        }
    }
    // A recovering follower that caught up under a leader whose term does not prove that its
    // old votes are void: raise the term above its bound by campaigning again.
    if (pr.recovering && pr.recovering_bound != 0 && hard_.term <= pr.recovering_bound &&
        pr.match >= hard_.commit) {
        set_term(pr.recovering_bound);
        become_candidate(true);
    }
}

void replica::handle_probe_response(const message& m) {
    if (!recovering_ || bound_known_) {
        return;
    }
    probe_answers_[m.from] = {m.term, m.hint == 1};
    if (probe_answers_.size() + 1 < cfg_.members.size()) {
        return;
    }
    uint64_t bound = 0;
    bool any_data = false;
    for (auto& [peer, answer] : probe_answers_) {
        bound = std::max(bound, answer.first);
        any_data = any_data || answer.second;
    }
    if (!any_data && last_index() == 0) {
        // No member holds an entry, so nothing was ever committed: no acknowledgement we may
        // have given before losing our disk can matter. Our old votes can: each was for a
        // candidate that had persisted its term before asking and has answered us since, so
        // every term we may have voted in is at most `bound`. We take that term as already
        // voted in and vote only in later ones. Without this, a new cluster whose members
        // crashed before they persisted leaving recovery could never elect a leader: only a
        // leader elected without them ends recovery, and two recovering members of three
        // leave nobody to elect it (pravaha-sim seed 0x78fd1842 of the raft profile).
        if (bound > 0 && hard_.term <= bound) {
            set_term(bound);
            hard_.vote = cfg_.id;
        }
        leave_recovering();
        return;
    }
    bound_known_ = true;
    recovering_bound_ = std::max<uint64_t>(bound, 1);
}

bool replica::caught_up_after_recovery() const {
    // The leader of a term above the bound was elected after we came back, without our vote,
    // so its log holds every entry committed before its term (Leader Completeness). Once our log
    // ends with an entry of its term, log matching makes our log a copy of that prefix: every
    // entry we may have acknowledged before losing our disk and that committed is back. (Being
    // caught up to the leader's commit index is not enough: it may lag behind what an earlier
    // leader committed; found by pravaha-sim, seed 0x41 of the raft profile.)
    return recovering_ && bound_known_ && hard_.term > recovering_bound_ &&
           last_term() == hard_.term;
}

void replica::leave_recovering() {
    recovering_ = false;
    recovering_dirty_ = false;
    probe_answers_.clear();
    bound_known_ = false;
    recovering_bound_ = 0;
    reset_election_timer();
}

// -- ready ---------------------------------------------------------------------------------------

bool replica::has_ready() const {
    if (ready_out_) {
        return false;
    }
    return !msgs_.empty() || !msgs_after_.empty() || unstable_from_ <= last_index() ||
           truncate_from_ != 0 || !staged_.empty() || install_ || recovering_dirty_ ||
           hard_.term != persisted_hard_.term || hard_.vote != persisted_hard_.vote ||
           std::min(hard_.commit, last_index()) > applied_;
}

ready replica::take_ready() {
    PRAVAHA_ASSERT(!ready_out_, "raft take_ready twice without advance group={}", cfg_.group);
    ready r;
    r.truncate_from = truncate_from_;
    truncate_from_ = 0;
    r.staged = std::move(staged_);
    staged_.clear();
    r.install = install_;
    install_.reset();
    for (uint64_t i = unstable_from_; i <= last_index(); ++i) {
        r.entries.push_back(*entry_at(i));
    }
    unstable_from_ = last_index() + 1;
    ready_last_ = last_index();
    bool hard_changed = hard_.term != persisted_hard_.term || hard_.vote != persisted_hard_.vote;
    bool commit_rides = (!r.entries.empty() || r.install) && hard_.commit != persisted_hard_.commit;
    if (hard_changed || commit_rides) {
        hard_state hs = hard_;
        if (mutants::active(mutant::vote_not_persisted)) {
            hs.vote = no_replica;
        }
        r.hard = hs;
        persisted_hard_ = hard_;
    }
    r.recovering = recovering_dirty_;
    recovering_dirty_.reset();
    r.messages = std::move(msgs_);
    msgs_.clear();
    r.after_persist = std::move(msgs_after_);
    msgs_after_.clear();
    uint64_t from = r.install ? r.install->index : applied_;
    uint64_t to = std::max(from, std::min(hard_.commit, ready_last_));
    r.apply_from = from;
    r.apply_to = to;
    ready_apply_to_ = to;
    ready_out_ = true;
    return r;
}

void replica::advance() {
    PRAVAHA_ASSERT(ready_out_, "raft advance without ready group={}", cfg_.group);
    ready_out_ = false;
    stable_last_ = std::max(stable_last_, ready_last_);
    stable_last_ = std::min(stable_last_, last_index());
    applied_ = ready_apply_to_;
    maybe_commit();
}

// -- compaction ----------------------------------------------------------------------------------

void replica::compact(uint64_t index) {
    PRAVAHA_ASSERT(index <= applied_, "raft compact beyond applied group={} index={} applied={}",
                   cfg_.group, index, applied_);
    // Only a planted bug (truncate_committed) can leave the log shorter than what was applied.
    index = std::min(index, last_index());
    if (index <= snap_index_) {
        return;
    }
    snap_term_ = *term_at(index);
    while (snap_index_ < index) {
        log_bytes_ -= log_.front().data.size();
        log_.pop_front();
        ++snap_index_;
    }
}

size_t replica::log_bytes_through(uint64_t index, size_t at_least) const {
    size_t n = 0;
    for (auto it = log_.begin(); it != log_.end() && it->index <= index && n < at_least; ++it) {
        n += it->data.size();
    }
    return n;
}

uint64_t replica::compact_point(uint64_t durable_applied) const {
    uint64_t p = std::min({durable_applied, applied_, last_index()});
    if (role_ != role::leader || log_bytes_ > cfg_.retained_bytes_max) {
        return p;
    }
    for (auto& [peer, pr] : progress_) {
        if (pr.recent_active) {
            p = std::min(p, pr.match);
        }
    }
    return p;
}

}  // namespace pravaha::storage::raft
