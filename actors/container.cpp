#include "actors/actors.hpp"
#include "actors/client_access.hpp"
#include "actors/raft_driver.hpp"
#include "actors/raft_routes.hpp"
#include "schema/data_frames.hpp"
#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/metrics.hpp"
#include "schema/mutants.hpp"
#include "schema/records.hpp"
#include "storage/storage.hpp"

#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <variant>

namespace pravaha::actors {

// The answers are encoded into one buffer per thread (a container's), then copied into the
// connection's outgoing bytes.
void data_reply::deliver(const append_ack& ack) const {
    thread_local std::string frame;
    frame.clear();
    frames::encode_appended(frame, request, ack);
    sink->queue(frame);
}

void data_reply::deliver(const caf::error& err) const {
    thread_local std::string frame;
    frame.clear();
    frames::encode_refused(frame, request, err);
    sink->queue(frame);
}

namespace {

using ack_promise = caf::typed_response_promise<append_ack>;
using done_promise = caf::typed_response_promise<bool>;
using offset_promise = caf::typed_response_promise<int64_t>;  // a merge: where it landed
using reply = std::variant<ack_promise, done_promise, offset_promise, data_reply>;

// Sends what the data path's answers queued on their connections (once per connection and
// group, not once per answer).
void flush_sinks(const std::vector<reply>& replies) {
    const data_sink* last = nullptr;
    for (const auto& r : replies) {
        if (const auto* d = std::get_if<data_reply>(&r); d != nullptr && d->sink.get() != last) {
            last = d->sink.get();
            d->sink->flush();
        }
    }
}

void deliver_error(reply& r, const caf::error& err) {
    std::visit([&](auto& p) { p.deliver(err); }, r);
    if (const auto* d = std::get_if<data_reply>(&r)) {
        d->sink->flush();
    }
}

struct waiter {
    read_request req;
    caf::typed_response_promise<read_result> promise;
};

struct batch {
    std::vector<container_op> ops;
    std::vector<reply> replies;
    std::vector<caf::actor_clock::time_point> arrived;  ///< per op, for the append latency
    size_t bytes = 0;
};

// A batch proposed to Raft at some index in some term; answered when that index is applied
// (if the entry there is still ours) or when leadership is lost (outcome unknown).
struct proposal {
    uint64_t term = 0;
    std::shared_ptr<batch> ops;
};

struct container_state_t {
    container_config cfg;
    std::shared_ptr<storage::container_state> sm;
    std::shared_ptr<raft_driver> raft;      // set in a cluster, else standalone
    std::map<uint64_t, proposal> proposed;  // raft index -> batch
    raft_routes routes;                     // where Raft messages go
    batch pending;
    bool flush_scheduled = false;
    uint64_t next_waiter_id = 1;
    std::map<uint64_t, waiter> waiters;  // id -> waiter, for timeouts
    std::multimap<segment_key, uint64_t> waiters_by_segment;
    /// Each segment's load, measured on every replica as it applies (a new leader has them warm).
    std::map<segment_key, storage::rate_meter> meters;
    /// The node's metrics of this container: events and bytes appended (on the leader), the
    /// append latency (arrival here to answer), events per group commit, refusals, queued bytes.
    metrics::counter* appends = nullptr;
    metrics::counter* appended_bytes = nullptr;
    metrics::counter* read_bytes = nullptr;
    /// With --metrics-per-stream: events and bytes appended, bytes read, per stream.
    std::map<stream_uid, std::array<metrics::counter*, 3>> per_stream;
    metrics::histogram* append_seconds = nullptr;
    metrics::histogram* commit_events = nullptr;
    metrics::counter* overloaded = nullptr;
    metrics::counter* storage_full = nullptr;
    /// Bytes waiting for their group commit (pending, and proposed in a cluster), read by a
    /// scrape-time gauge on another thread.
    std::shared_ptr<std::atomic<uint64_t>> queued_bytes =
        std::make_shared<std::atomic<uint64_t>>(0);
    static inline const char* name = "container";
};

using container_ptr = container_actor::stateful_pointer<container_state_t>;

void fail_batch(batch& b, const caf::error& err) {
    for (auto& r : b.replies) {
        std::visit([&](auto& p) { p.deliver(err); }, r);
    }
    flush_sinks(b.replies);
    b = batch{};
}

void serve_waiters(container_ptr self, const segment_key& key);

int64_t now_ms(container_ptr self) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               self->clock().now().time_since_epoch())
        .count();
}

storage::rate_meter& meter_of(container_ptr self, const segment_key& key, int64_t now) {
    auto& m = self->state.meters;
    auto it = m.find(key);
    if (it == m.end()) {
        it = m.emplace(key, storage::rate_meter(self->state.cfg.rate_window_ms, now)).first;
    }
    return it->second;
}

// The per-stream counters of `uid` (--metrics-per-stream): appended events, appended bytes,
// read bytes.
std::array<metrics::counter*, 3>& stream_counters(container_ptr self, stream_uid uid) {
    auto& m = self->state.per_stream;
    auto it = m.find(uid);
    if (it == m.end()) {
        auto& r = metrics::global();
        metrics::labels l{{"stream_uid", std::to_string(uid.value)}};
        const char* names = " (--metrics-per-stream; pravaha_stream_info names the stream).";
        it = m.emplace(uid,
                       std::array<metrics::counter*, 3>{
                           &r.counter_of("pravaha_stream_appended_events_total",
                                         std::string("Events appended and acknowledged, per "
                                                     "stream") +
                                             names,
                                         l),
                           &r.counter_of("pravaha_stream_appended_bytes_total",
                                         std::string("Bytes of events appended and "
                                                     "acknowledged, per stream") +
                                             names,
                                         l),
                           &r.counter_of("pravaha_stream_read_bytes_total",
                                         std::string("Bytes handed to readers (events with "
                                                     "their headers), per stream") +
                                             names,
                                         l)})
                 .first;
    }
    return it->second;
}

// Counts what `ops` stored into their segments' meters (duplicates of earlier appends do not
// count); a sealed or deleted segment's meter goes.
void note_rates(container_ptr self,
                const std::vector<container_op>& ops,
                const std::vector<storage::op_result>& results) {
    auto now = now_ms(self);
    // Every replica measures loads; the leader alone counts appends (what clients were told).
    bool leads =
        !self->state.raft || self->state.raft->replica().state() == storage::raft::role::leader;
    for (size_t i = 0; i < ops.size() && i < results.size(); ++i) {
        const auto& op = ops[i];
        if (op.type == container_op::kind::seal_segment ||
            op.type == container_op::kind::delete_segment) {
            self->state.meters.erase(op.key);
        } else if (op.type == container_op::kind::append && !results[i].error &&
                   results[i].ack.appended_events > 0) {
            auto stored = results[i].ack.appended_events;
            auto bytes = static_cast<uint64_t>(results[i].stored_bytes);
            meter_of(self, op.key, now).record(now, stored, bytes);
            if (leads) {
                self->state.appends->inc(stored);
                self->state.appended_bytes->inc(bytes);
                if (self->state.cfg.metrics_per_stream) {
                    auto& c = stream_counters(self, op.key.stream);
                    c[0]->inc(stored);
                    c[1]->inc(bytes);
                }
            }
        }
    }
}

// The append latency of every acknowledged append of `b` (from its arrival here).
void observe_acks(container_ptr self,
                  const batch& b,
                  const std::vector<storage::op_result>& results) {
    auto now = self->clock().now();
    for (size_t i = 0; i < b.ops.size() && i < results.size() && i < b.arrived.size(); ++i) {
        if (b.ops[i].type == container_op::kind::append && !results[i].error) {
            self->state.append_seconds->observe(
                std::chrono::duration<double>(now - b.arrived[i]).count());
        }
    }
}

// Events of a group commit (the events that share one fsync or one Raft entry).
void observe_group(container_ptr self, const batch& b) {
    uint64_t events = 0;
    for (const auto& op : b.ops) {
        if (op.type == container_op::kind::append) {
            events += op.event_count;
        }
    }
    if (events > 0) {
        self->state.commit_events->observe(static_cast<double>(events));
    }
}

// Publishes the bytes waiting for their group commit (the queued-bytes gauge).
void note_queued(container_ptr self) {
    auto& st = self->state;
    uint64_t bytes = st.pending.bytes;
    for (const auto& [index, p] : st.proposed) {
        bytes += p.ops->bytes;
    }
    st.queued_bytes->store(bytes, std::memory_order_relaxed);
}

void deliver_results(batch& b, const std::vector<storage::op_result>& results) {
    // One reply per operation (enqueue adds both), one result per operation applied: a count
    // that differs would leave a client without an answer or answer the wrong one.
    PRAVAHA_ASSERT(b.replies.size() == b.ops.size() && results.size() == b.ops.size(),
                   "container batch: {} operations, {} replies, {} results", b.ops.size(),
                   b.replies.size(), results.size());
    for (size_t i = 0; i < results.size(); ++i) {
        auto& res = results[i];
        std::visit(
            [&](auto& p) {
                using promise_type = std::decay_t<decltype(p)>;
                if (res.error) {
                    p.deliver(res.error);
                } else if constexpr (std::is_same_v<promise_type, ack_promise> ||
                                     std::is_same_v<promise_type, data_reply>) {
                    p.deliver(res.ack);
                } else if constexpr (std::is_same_v<promise_type, offset_promise>) {
                    p.deliver(res.merged_at);
                } else {
                    p.deliver(true);
                }
            },
            b.replies[i]);
    }
    flush_sinks(b.replies);
}

void on_log_failure(container_ptr self, const std::shared_ptr<batch>& current, caf::error err) {
    // The outcome of the write is unknown: fail-stop so recovery decides from disk.
    module_log("actors")->error("container log write failed container={} error={}",
                                self->state.cfg.id, render_error(err));
    fail_batch(*current, err);
    fail_batch(self->state.pending, err);
    self->quit(err);
}

caf::error not_leader(const storage::raft::replica& r) {
    return not_leader_error(r.leader());
}

// Answers every proposal still waiting: after a lost leadership or a storage error their
// outcome is unknown (a new leader may still commit them); writers resend, dedup decides.
void fail_proposals(container_ptr self, const caf::error& err) {
    for (auto& [index, p] : self->state.proposed) {
        fail_batch(*p.ops, err);
    }
    self->state.proposed.clear();
}

void drive(container_ptr self) {
    auto& st = self->state;
    if (auto err = st.raft->drive()) {
        module_log("actors")->error("container raft storage failed container={} error={}",
                                    st.cfg.id, render_error(err));
        fail_proposals(self, err);
        fail_batch(st.pending, err);
        self->quit(err);
        return;
    }
    auto& r = st.raft->replica();
    if (r.state() != storage::raft::role::leader && !st.proposed.empty()) {
        fail_proposals(self, not_leader(r));
    }
    note_queued(self);
}

// One committed entry of the Raft log: applied on every replica; the leader that proposed it
// answers its writers.
caf::error apply_raft_entry(container_ptr self, uint64_t index, const std::string& data) {
    auto& st = self->state;
    std::vector<container_op> ops;
    if (!data.empty()) {
        auto decoded = decode_log_entry(data);
        if (!decoded) {
            return std::move(decoded.error());
        }
        ops = std::move(*decoded);
    }
    auto applied = st.sm->apply(index, ops);
    note_rates(self, ops, applied.results);
    if (auto it = st.proposed.find(index); it != st.proposed.end()) {
        if (st.raft->replica().term_at(index) == it->second.term) {
            observe_acks(self, *it->second.ops, applied.results);
            deliver_results(*it->second.ops, applied.results);
        } else {
            fail_batch(*it->second.ops, not_leader(st.raft->replica()));
        }
        st.proposed.erase(it);
    }
    if (auto err = st.sm->persist(applied.writes)) {
        return err;
    }
    for (const auto& op : ops) {
        serve_waiters(self, op.key);
    }
    return {};
}

void flush_raft(container_ptr self) {
    auto& st = self->state;
    if (st.pending.ops.empty()) {
        return;
    }
    auto& r = st.raft->replica();
    if (r.state() != storage::raft::role::leader) {
        fail_batch(st.pending, not_leader(r));
        return;
    }
    auto current = std::make_shared<batch>(std::move(st.pending));
    st.pending = batch{};
    observe_group(self, *current);
    auto index = r.propose(encode_log_entry(current->ops));
    if (!index) {
        fail_batch(*current, index.error());
        return;
    }
    st.proposed[*index] = proposal{r.term(), current};
    drive(self);
}

// Standalone: the fsync runs on this (detached) actor's thread. Appends that arrive meanwhile
// wait in the mailbox and form the next group (see enqueue). The group's state changes,
// written in one synced batch, are the durable record: no log entry.
void flush_local(container_ptr self) {
    auto& st = self->state;
    if (st.pending.ops.empty()) {
        return;
    }
    auto current = std::make_shared<batch>(std::move(st.pending));
    st.pending = batch{};
    observe_group(self, *current);
    auto results = st.sm->commit_entry(st.sm->applied_index() + 1, current->ops);
    if (!results) {
        on_log_failure(self, current, std::move(results.error()));
        return;
    }
    note_rates(self, current->ops, *results);
    observe_acks(self, *current, *results);
    deliver_results(*current, *results);
    for (const auto& op : current->ops) {
        serve_waiters(self, op.key);
    }
}

// Commits the pending group: the container's two log paths (standalone: one synced write;
// cluster: one Raft proposal, answered when applied).
void flush(container_ptr self) {
    if (self->state.raft) {
        flush_raft(self);
    } else {
        flush_local(self);
    }
    note_queued(self);
}

// Rejects an op before a response promise exists: once a promise is made, the handler's own
// return value no longer reaches the client, so every early error must come first.
caf::error admit(container_ptr self, const container_op& op) {
    auto& st = self->state;
    if (st.raft && st.raft->replica().state() != storage::raft::role::leader) {
        return not_leader(st.raft->replica());
    }
    if (auto err = st.sm->precheck(op)) {
        return err;
    }
    if (op.type == container_op::kind::append && st.cfg.storage_full) {
        if (auto why = st.cfg.storage_full(); !why.empty() && st.sm->adds_events(op)) {
            st.storage_full->inc();
            return caf::make_error(errc::storage_full, why);
        }
    }
    if (st.pending.bytes + op.data.size() > st.cfg.pending_bytes_max && !st.pending.ops.empty()) {
        st.overloaded->inc();
        return caf::make_error(errc::overloaded, "container write queue is full");
    }
    return {};
}

// Whether an op waiting in `b` writes segment `key` (or merges it away).
bool touches(const batch& b, const segment_key& key) {
    return std::any_of(b.ops.begin(), b.ops.end(), [&key](const container_op& op) {
        return op.key == key || (op.type == container_op::kind::merge_segment && op.source == key);
    });
}

void enqueue(container_ptr self, container_op op, reply r) {
    auto& st = self->state;
    st.pending.bytes += op.data.size();
    st.pending.ops.push_back(std::move(op));
    st.pending.replies.push_back(std::move(r));
    st.pending.arrived.push_back(self->clock().now());
    note_queued(self);
    // Flush behind everything already in the mailbox, so that all appends that arrived during
    // the previous fsync share the next one (group commit).
    if (!st.flush_scheduled) {
        st.flush_scheduled = true;
        self->send(self, flushed_atom::value);
    }
}

// Runs `fn` once this replica may answer from its state what the whole group would answer: at
// once standalone; in a cluster once a majority confirmed that this leader still leads and it
// applied everything committed before now (raft_driver::linearize). A leader's state can lag:
// a new leader has not yet applied what its predecessor committed, and a leader that was paused
// or cut off may have been replaced without knowing it (seed 0xdf1c6a2c: a paused leader
// answered an audit's catch-up read "nothing more", hiding an acknowledged event).
void linearize(container_ptr self, std::function<void(const caf::error&)> fn) {
    if (!self->state.raft) {
        fn({});
        return;
    }
    self->state.raft->linearize(std::move(fn));
    drive(self);
}

// A refusal that depends on this replica's state (no such segment, sealed, fenced, a full disk
// for an append that may already be stored), which a lagging leader would get wrong; anything else
// is decided by the request alone or by the queue.
bool state_refusal(const caf::error& err) {
    auto code = code_of(err);
    return code == errc::segment_not_found || code == errc::segment_sealed ||
           code == errc::writer_fenced || code == errc::bad_offset ||
           code == errc::transaction_not_open || code == errc::transaction_too_large ||
           code == errc::storage_full;  // whether the append adds events is the state's
}

// Queues an admitted `op` (`refusal` empty) for the next group commit, answering `r` when it
// is committed; a refusal from the state is confirmed against the group first.
void submit(container_ptr self, container_op op, reply r, caf::error refusal) {
    if (!refusal) {
        enqueue(self, std::move(op), std::move(r));
        return;
    }
    linearize(self, [self, r = std::move(r), op = std::move(op),
                     refusal = std::move(refusal)](const caf::error& e) mutable {
        if (e) {
            deliver_error(r, e);
        } else if (code_of(refusal) == errc::storage_full && self->state.sm->adds_events(op)) {
            // Decided on arrival: admitted now (the disk freed meanwhile) it would be logged
            // behind later appends of its writer, which reuse the numbers of refused blocks
            // (pravaha-sim cluster seeds 0x183 and 0x13d: per-key order broken, and a later
            // event acknowledged as a duplicate of this one).
            deliver_error(r, refusal);
        } else if (auto again = admit(self, op)) {
            deliver_error(r, again);
        } else {
            enqueue(self, std::move(op), std::move(r));
        }
    });
}

// Admits `op` and queues it for the next group commit, answering the request when it is
// committed; an early error is the handler's answer.
template <class T>
caf::result<T> admit_and_enqueue(container_ptr self, container_op op) {
    auto err = admit(self, op);
    if (err && !(self->state.raft && state_refusal(err))) {
        return err;
    }
    auto rp = self->make_response_promise<T>();
    if constexpr (std::is_same_v<T, append_ack>) {
        if (!err && mutants::active(mutants::mutant::ack_before_log_commit) &&
            op.type == container_op::kind::append) {
            // Planted bug: acknowledged before the log entry exists.
            rp.deliver(append_ack{op.key, op.writer, op.last_event_number, 0, op.event_count});
        }
    }
    submit(self, std::move(op), reply{rp}, std::move(err));
    return rp;
}

// Checks an append's or a read's sender for right `r` on the scope of the segment's stream
// (client_access; none or off: allowed).
caf::error check_data(container_ptr self, const segment_key& key, right r) {
    const auto& access = self->state.cfg.access;
    if (!access || !access->enabled()) {
        return {};
    }
    return access->check_stream(self->current_sender(), self->node(), key.stream.value, r);
}

// A refusal of a message for the node's own actors and members only (segment administration,
// Raft, self-sent ticks), when another sent it (with tokens on).
caf::error from_outside(container_ptr self) {
    return check_client(self, self->state.cfg.access, true);
}

// Create, seal and delete: logged like appends, answered with `true` once committed.
caf::result<bool> segment_op(container_ptr self, container_op::kind kind, const segment_key& key) {
    if (auto err = from_outside(self)) {
        return err;
    }
    container_op op;
    op.type = kind;
    op.key = key;
    return admit_and_enqueue<bool>(self, std::move(op));
}

read_result do_read(container_ptr self, const read_request& req, caf::error& err) {
    auto max = req.max_bytes == 0 ? self->state.cfg.read_bytes_max
                                  : std::min(req.max_bytes, self->state.cfg.read_bytes_max);
    auto res = self->state.sm->read(req.key, req.offset, max);
    if (!res) {
        err = std::move(res.error());
        return {};
    }
    // Counted here: a read with data is always answered with this result.
    if (!res->data.empty()) {
        self->state.read_bytes->inc(res->data.size());
        if (self->state.cfg.metrics_per_stream) {
            stream_counters(self, req.key.stream)[2]->inc(res->data.size());
        }
    }
    return std::move(*res);
}

// Removes a parked read from both indexes and answers it with whatever is there now.
void answer_waiter(container_ptr self, uint64_t id) {
    auto& st = self->state;
    auto it = st.waiters.find(id);
    if (it == st.waiters.end()) {
        return;  // already answered
    }
    auto w = std::move(it->second);
    st.waiters.erase(it);
    for (auto j = st.waiters_by_segment.lower_bound(w.req.key);
         j != st.waiters_by_segment.end() && j->first == w.req.key; ++j) {
        if (j->second == id) {
            st.waiters_by_segment.erase(j);
            break;
        }
    }
    caf::error err;
    auto res = do_read(self, w.req, err);
    if (err) {
        w.promise.deliver(err);
    } else {
        w.promise.deliver(std::move(res));
    }
}

void serve_waiters(container_ptr self, const segment_key& key) {
    auto& st = self->state;
    auto range = st.waiters_by_segment.equal_range(key);
    if (range.first == range.second) {
        return;
    }
    auto status = st.sm->status(key);
    std::vector<uint64_t> ready;
    for (auto it = range.first; it != range.second; ++it) {
        const auto& w = st.waiters.at(it->second);
        if (!status || w.req.offset < status->length || status->sealed) {
            ready.push_back(it->second);
        }
    }
    for (auto id : ready) {
        answer_waiter(self, id);
    }
}

void start_raft(container_ptr self, std::shared_ptr<raft_driver> raft) {
    auto& st = self->state;
    st.raft = std::move(raft);
    storage::raft::runner_hooks hooks;
    // The owner writes its state change itself (unsynced): nothing goes into the runner's batch.
    hooks.apply = [self](uint64_t index, const std::string& data, storage::write_batch&) {
        return apply_raft_entry(self, index, data);
    };
    hooks.state_ranges = [self](storage::store_view& view) {
        return self->state.sm->state_ranges(view);
    };
    hooks.stage_install = [self](const storage::raft::snapshot& snap, storage::write_batch& b) {
        self->state.sm->stage_install(snap.index, b);
        return caf::error{};
    };
    hooks.installed = [self](const storage::raft::snapshot&) { return self->state.sm->open(); };
    st.routes = raft_routes(st.cfg.raft.peers);
    hooks.send = [self](raft::message m) { self->state.routes.send(self, std::move(m)); };
    st.raft->set_hooks(std::move(hooks));
    self->delayed_send(self, st.cfg.raft.tick, raft_tick_atom::value);
}

container_op append_op(append_block& b) {
    container_op op;
    op.type = container_op::kind::append;
    op.key = b.key;
    op.writer = b.writer;
    op.first_event_number = b.first_event_number;
    op.last_event_number = b.last_event_number;
    op.event_count = b.event_count;
    op.writer_epoch = b.writer_epoch;
    op.client_last = b.client_last;
    op.data = std::move(b.data);
    return op;
}

// The framed data path's appends (data_port): as append_atom's, answered on their connection.
void admit_data_appends(container_ptr self, std::vector<data_append>& in) {
    for (auto& a : in) {
        auto err = check_data(self, a.block.key, right::write);
        auto op = append_op(a.block);
        if (!err) {
            err = admit(self, op);
        }
        reply r{std::move(a.reply)};
        if (err && !(self->state.raft && state_refusal(err))) {
            deliver_error(r, err);
            continue;
        }
        submit(self, std::move(op), std::move(r), std::move(err));
    }
}

// A read: served from the state, confirmed against the group when the answer depends on this
// replica being up to date, or parked at the tail until data arrives or the wait ends.
caf::result<read_result> serve_read(container_ptr self, const read_request& req) {
    if (self->state.raft && self->state.raft->replica().state() != storage::raft::role::leader) {
        return not_leader(self->state.raft->replica());
    }
    caf::error err;
    auto res = do_read(self, req, err);
    // Events read are committed, so any leader may hand them out; "nothing more", "no
    // such segment" or "past the end" must hold for the whole group (linearize).
    bool settled = err ? !state_refusal(err) : !res.data.empty() || res.sealed;
    if (self->state.raft && !settled && (err || req.wait_ms == 0)) {
        auto rp = self->make_response_promise<read_result>();
        linearize(self, [self, rp, req](const caf::error& e) mutable {
            if (e) {
                rp.deliver(e);
                return;
            }
            caf::error again;
            auto now = do_read(self, req, again);
            if (again) {
                rp.deliver(again);
            } else {
                rp.deliver(std::move(now));
            }
        });
        return rp;
    }
    if (err) {
        return err;
    }
    if (!res.data.empty() || req.wait_ms == 0 || res.sealed) {
        return res;
    }
    // At the tail: park the read until data arrives or the wait ends.
    auto& s = self->state;
    if (s.waiters.size() >= s.cfg.parked_reads_max) {
        return caf::make_error(errc::overloaded, "too many reads waiting at the tail");
    }
    auto id = s.next_waiter_id++;
    auto rp = self->make_response_promise<read_result>();
    s.waiters.emplace(id, waiter{req, rp});
    s.waiters_by_segment.emplace(req.key, id);
    auto wait = std::min(req.wait_ms, s.cfg.read_wait_ms_max);
    self->delayed_send(self, std::chrono::milliseconds(wait), read_timeout_atom::value, id);
    return rp;
}

// A segment's length and seal state, as the group knows them (linearized).
caf::result<segment_status> serve_status(container_ptr self, const segment_key& key) {
    if (auto err = from_outside(self)) {
        return err;
    }
    if (self->state.raft && self->state.raft->replica().state() != storage::raft::role::leader) {
        return not_leader(self->state.raft->replica());
    }
    auto rp = self->make_response_promise<segment_status>();
    linearize(self, [self, rp, key](const caf::error& e) mutable {
        if (e) {
            rp.deliver(e);
            return;
        }
        auto meta = self->state.sm->status(key);
        if (!meta) {
            rp.deliver(std::move(meta.error()));
            return;
        }
        segment_status s;
        s.id = key.segment;
        s.length = meta->length;
        s.sealed = meta->sealed;
        rp.deliver(s);
    });
    return rp;
}

// Registers the container's metrics (series labelled with its id where they are per container).
void register_metrics(container_ptr self) {
    auto& st = self->state;
    auto& r = metrics::global();
    metrics::labels container{{"container", std::to_string(st.cfg.id)}};
    st.appends = &r.counter_of("pravaha_appended_events_total",
                               "Events appended and acknowledged, per container.", container);
    st.appended_bytes =
        &r.counter_of("pravaha_appended_bytes_total",
                      "Bytes of events appended and acknowledged, per container.", container);
    st.read_bytes = &r.counter_of(
        "pravaha_read_bytes_total",
        "Bytes handed to readers (events with their headers), per container.", container);
    st.append_seconds = &r.histogram_of(
        "pravaha_append_latency_seconds",
        "Time from an append's arrival at its container to its acknowledgement, in seconds.",
        metrics::latency_bounds());
    st.commit_events = &r.histogram_of(
        "pravaha_commit_events",
        "Events per group commit (the events sharing one fsync, or one Raft entry).",
        metrics::exponential_bounds(1, 2, 13));
    auto refused = [&r](const char* reason) {
        return &r.counter_of("pravaha_refused_appends_total",
                             "Appends refused before they were queued, by reason (overloaded: "
                             "the container's write queue is full; storage_full: the disk is).",
                             {{"reason", reason}});
    };
    st.overloaded = refused("overloaded");
    st.storage_full = refused("storage_full");
    r.gauge("pravaha_queued_bytes",
            "Bytes of appends waiting for their group commit, per container.", container,
            [q = st.queued_bytes] { return static_cast<double>(q->load()); });
    r.gauge("pravaha_queued_bytes_limit",
            "Bytes a container queues before it refuses appends as overloaded.", container,
            [limit = st.cfg.pending_bytes_max] { return static_cast<double>(limit); });
}

container_actor::behavior_type container_impl(container_ptr self,
                                              std::shared_ptr<storage::container_state> sm,
                                              std::shared_ptr<raft_driver> raft,
                                              container_config cfg) {
    auto& st = self->state;
    st.cfg = cfg;
    st.sm = std::move(sm);
    register_metrics(self);
    if (raft) {
        start_raft(self, std::move(raft));
    }
    return {
        [=](append_atom, append_block& b) -> caf::result<append_ack> {
            if (auto err = check_data(self, b.key, right::write)) {
                return err;
            }
            return admit_and_enqueue<append_ack>(self, append_op(b));
        },
        [=](data_append_atom, std::vector<data_append>& in) { admit_data_appends(self, in); },
        [=](setup_writer_atom, const segment_key& key, const writer_id& writer,
            uint32_t known_epoch) -> caf::result<append_ack> {
            if (auto err = check_data(self, key, right::write)) {
                return err;
            }
            // Logged like an append: the new session must survive a crash, or a restarted
            // node would accept the old session's blocks again.
            container_op op;
            op.type = container_op::kind::setup_writer;
            op.key = key;
            op.writer = writer;
            op.writer_epoch = known_epoch;
            return admit_and_enqueue<append_ack>(self, std::move(op));
        },
        [=](read_atom, const read_request& req) -> caf::result<read_result> {
            if (auto err = check_data(self, req.key, right::read)) {
                return err;
            }
            return serve_read(self, req);
        },
        [=](read_timeout_atom, uint64_t id) {
            if (!from_outside(self)) {
                answer_waiter(self, id);
            }
        },
        [=](flushed_atom) {
            if (from_outside(self)) {
                return;  // only its own: a forged one would flush early (harmless) or loop
            }
            self->state.flush_scheduled = false;
            flush(self);
        },
        [=](create_segment_atom, const segment_key& key) {
            return segment_op(self, container_op::kind::create_segment, key);
        },
        [=](seal_segment_atom, const segment_key& key) {
            return segment_op(self, container_op::kind::seal_segment, key);
        },
        [=](delete_segment_atom, const segment_key& key) {
            return segment_op(self, container_op::kind::delete_segment, key);
        },
        [=](create_txn_segment_atom, const segment_key& key, int64_t limit) -> caf::result<bool> {
            if (auto err = from_outside(self)) {
                return err;
            }
            container_op op;
            op.type = container_op::kind::create_segment;
            op.key = key;
            op.limit = std::max<int64_t>(limit, 1);
            return admit_and_enqueue<bool>(self, std::move(op));
        },
        [=](merge_segment_atom, const segment_key& target,
            const segment_key& source) -> caf::result<int64_t> {
            if (auto err = from_outside(self)) {
                return err;
            }
            // Appends to the source still waiting go first, in an entry of their own: the merge
            // reads the source from the store (container_state::apply_merge). Merges of other
            // sources (a transaction's parts) share one group, one fsync.
            if (touches(self->state.pending, source)) {
                flush(self);
            }
            container_op op;
            op.type = container_op::kind::merge_segment;
            op.key = target;
            op.source = source;
            return admit_and_enqueue<int64_t>(self, std::move(op));
        },
        [=](raft_atom, raft::message& m) {
            if (!self->state.raft || from_outside(self)) {
                return;
            }
            self->state.raft->replica().step(m);
            drive(self);
        },
        [=](raft_tick_atom) {
            if (!self->state.raft || from_outside(self)) {
                return;  // only its own ticks: another would start a second tick chain
            }
            if (const auto& full = self->state.cfg.storage_full) {
                self->state.raft->replica().set_reluctant(!full().empty());
            }
            self->state.raft->replica().tick();
            drive(self);
            self->delayed_send(self, self->state.cfg.raft.tick, raft_tick_atom::value);
        },
        [=](raft_route_atom, uint32_t node, raft_replica_api& replica) {
            if (from_outside(self)) {
                return;
            }
            self->state.routes.update(node, std::move(replica));
        },
        [=](raft_status_atom) -> caf::result<raft::group_status> {
            if (auto err = from_outside(self)) {
                return err;
            }
            auto& s = self->state;
            if (s.raft) {
                return s.raft->status();
            }
            raft::group_status g;  // standalone: a group of one, always the leader
            g.group = s.cfg.id + 1;
            g.role = raft::role::leader;
            g.commit = s.sm->applied_index();
            g.applied = s.sm->applied_index();
            g.last_index = s.sm->applied_index();
            return g;
        },
        [=](segment_status_atom, const segment_key& key) { return serve_status(self, key); },
        [=](segment_load_atom, const segment_key& key) -> caf::result<segment_load> {
            if (auto err = from_outside(self)) {
                return err;
            }
            // Advisory: the replica's own measurement, not linearized.
            auto now = now_ms(self);
            auto load = meter_of(self, key, now).load_at(now);
            load.id = key.segment;
            return load;
        },
    };
}

}  // namespace

caf::expected<container_actor> spawn_container(caf::actor_system& sys,
                                               const container_config& cfg) {
    PRAVAHA_ASSERT(cfg.store != nullptr, "container needs a store");
    if (!cfg.raft.members.empty()) {
        auto sm =
            std::make_shared<storage::container_state>(*cfg.store, cfg.id, cfg.container_count);
        // A snapshot whose install a crash cut short is finished before the state is read.
        if (auto err = storage::raft::complete_install(*cfg.store, cfg.id + 1)) {
            return err;
        }
        if (auto err = sm->open()) {
            return err;
        }
        auto raft = std::make_shared<raft_driver>(*cfg.store, raft_config_of(cfg.raft, cfg.id + 1));
        if (auto err = raft->open(sm->applied_index())) {
            return err;
        }
        if (cfg.detached) {
            return sys.spawn<caf::detached>(container_impl, sm, raft, cfg);
        }
        return sys.spawn(container_impl, sm, raft, cfg);
    }
    // Standalone: the state is recovered from the store (and from local log entries a store
    // written by an older version may still hold).
    storage::local_log log(*cfg.store, cfg.id);
    if (auto err = log.open()) {
        return err;
    }
    auto sm = std::make_shared<storage::container_state>(*cfg.store, cfg.id);
    if (auto err = sm->recover(log)) {
        return err;
    }
    std::shared_ptr<raft_driver> no_raft;
    if (cfg.detached) {
        return sys.spawn<caf::detached>(container_impl, sm, no_raft, cfg);
    }
    return sys.spawn(container_impl, sm, no_raft, cfg);
}

}  // namespace pravaha::actors
