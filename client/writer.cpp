#include "client/directory.hpp"
#include "client/internal.hpp"
#include "client/node_link.hpp"
#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"
#include "schema/mutants.hpp"

#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>

namespace pravaha::client::detail {

namespace {

using retry_atom = caf::atom_constant<caf::atom("wretry")>;
/// `(resolve_atom, index)`: find out again what a sealed segment stored and what follows it.
using resolve_atom = caf::atom_constant<caf::atom("wresolve")>;
using ancestors_atom = caf::atom_constant<caf::atom("wancestor")>;

}  // namespace

// Memory accounting of the facade, which blocks write() on it; the writer actor releases the
// bytes of each block it finished (per block: a release per event cost 10 % of the pipelined
// throughput, a lock and a notify each).
//
// It is also the facade's queue of events: write() appends to `events` and sends the writer a
// `wdrain_atom` only when the queue was empty (under the mutex, so that a flush sent after a
// write always finds that write's event taken), and the writer takes the whole queue at once.
// One message per burst instead of one per event: the message (its allocation, the mailbox,
// the dispatch) was the largest part of the facade's cost per event.
struct write_budget {
    std::mutex mutex;
    std::condition_variable cv;
    size_t bytes = 0;
    std::vector<outgoing> events;  // written, not yet taken by the writer

    void release(size_t n) {
        std::lock_guard<std::mutex> guard(mutex);
        PRAVAHA_ASSERT(bytes >= n, "writer budget: releasing {} of {} bytes held", n, bytes);
        bytes -= n;
        cv.notify_all();
    }
};

namespace {

struct queued {
    std::string framed;
    ack_callback done;
    int64_t client_number = no_event_number;
    double key_hash = 0;
};

struct block_in_flight {
    append_block block;
    std::vector<ack_callback> done;
    std::vector<double> hashes;             // per event: where it goes if the segment is sealed
    std::vector<int64_t> numbers;           // per event: its client number
    caf::actor_clock::time_point deadline;  // of its latest send (request_timeout after it)
    uint32_t sends = 0;                     // a block sent once and refused is not stored
    uint64_t attempt = 0;                   // of its latest send (writer_state::attempts)
};

// What segments before this one hold of the writer's id (stable ids): events of keys in
// [start, end) numbered up to `client_last` are stored there, so a resend of one (a writer
// reopened after a crash, on a stream that scaled since) is acknowledged, not stored again.
struct inherited_mark {
    double start = 0;
    double end = 0;
    int64_t client_last = no_event_number;
};

// A segment's life in a writer: open (events are sent to it); draining (sealed by a scale:
// nothing more is sent, what it stored is asked, what follows it is looked up, and events of
// its keys queue behind the unstored ones); retired (its keys route to its successors).
enum class phase : uint8_t { open, draining, retired };

struct segment_writer {
    segment_key key;
    segment_range range;
    enum phase phase = phase::open;
    bool resolving = false;  // draining: the request for what it stored is in flight
    bool settled = false;    // draining: what it stored is known; its successors are asked
    int64_t next_event_number = 0;
    bool ready = true;           // false until the writer session is open (stable ids only)
    bool setup_pending = false;  // a session request is in flight
    uint32_t epoch = 0;
    /// From the session: the highest client number stored for this id (outgoing::client_number).
    int64_t client_stored = no_event_number;
    /// Stable ids: what the segments it replaced hold of this id, by key range (dropped once no
    /// event the writer may still be given can match one), and the highest of them ever.
    std::vector<inherited_mark> inherited;
    int64_t inherited_last = no_event_number;
    /// Stable ids, a segment of a later epoch the writer started with: its predecessors (and
    /// theirs) are asked what they hold of this id before the session counts as open.
    bool ancestry_known = true;
    bool asking_ancestors = false;
    bool session_open = false;  // answered while its predecessors were still being asked
    /// Stable ids: held back while older segments still take some of its keys (held_back).
    bool held = false;
    /// Retired: what followed it (a late predecessor of a merge follows them too).
    std::vector<successor> successors;
    std::deque<queued> queue;
    std::deque<block_in_flight> in_flight;
    size_t sent = 0;    // how many of in_flight were sent in the current generation
    caf::error failed;  // final error (sealed, deleted): later events fail at once
};

struct writer_state {
    writer_state() = default;
    writer_state(const writer_state&) = delete;
    writer_state& operator=(const writer_state&) = delete;
    // A writer of the actor API that ends for another reason than giving up or close (an exit
    // message from its owner, its manager or a supervisor) answers what it still holds: CAF 0.17
    // answers only the requests left in the mailbox, and a requester waiting without a timeout
    // would wait forever. The answers carry only the promise (no state), so they may run here.
    ~writer_state() {
        if (!mode.exit_on_give_up) {
            return;  // the facades' and the simulator's callbacks belong to their owners
        }
        auto err = caf::make_error(errc::unavailable,
                                   "the writer ended before the event was acknowledged (it may "
                                   "be stored)");
        for (auto& seg : segments) {
            for (auto& b : seg.in_flight) {
                for (auto& cb : b.done) {
                    if (cb) {
                        cb(err);
                    }
                }
            }
            for (auto& q : seg.queue) {
                if (q.done) {
                    q.done(err);
                }
            }
        }
        for (auto* waiters : {&flush_waiters, &close_waiters, &session_waiters}) {
            for (auto& rp : *waiters) {
                rp.deliver(err);
            }
        }
    }
    uint64_t attempts = 0;  // sends so far: each block's latest send has its own number
    writer_config cfg;
    writer_id id;
    std::shared_ptr<write_budget> mem;  // the facade's, if any (wbudget_atom)
    std::vector<outgoing> drained;      // the facade's queue's spare (wdrain_atom)
    writer_mode mode;
    std::string scope;
    std::string stream;
    /// Where each slice of the key space goes: sorted by start, covering [0,1) exactly; an
    /// entry's `index` is an open or draining segment.
    struct route_entry {
        double start = 0;
        double end = 0;
        size_t index = 0;
    };
    std::vector<route_entry> routes;
    /// Framed bytes of every event queued or in flight, whatever its entry: public writes
    /// beyond cfg.pending_bytes_max are refused (overloaded), the internal entries bound
    /// themselves.
    size_t held = 0;
    int64_t last_client_number = no_event_number;  // highest one accepted by a public write
    bool followed_scale = false;  // some segment moved its events to successors (held_back)
    bool closing = false;         // close_atom accepted: writes are refused
    std::vector<caf::response_promise> close_waiters;
    node_link link;            // the segments' container leaders
    deadline_timer deadlines;  // of the blocks sent (check_deadlines)
    std::vector<segment_writer> segments;
    std::vector<caf::response_promise> flush_waiters;
    /// Waiting for sessions_atom: sessions are opened on every segment, also without events.
    std::vector<caf::response_promise> session_waiters;
    caf::error first_error;
    /// Another writer object of this id took a segment over (fence): every segment has failed
    /// with this, and nothing more is sent.
    caf::error fenced;
    static inline const char* name = "event_writer";
};

using writer_ptr = caf::stateful_actor<writer_state>*;

void pump(writer_ptr self, size_t index);
void take_written(writer_ptr self);
void release_block(writer_ptr self, const block_in_flight& b);
void on_failure(
    writer_ptr self, size_t index, uint64_t gen, caf::error err, int64_t from_event = INT64_MIN);

// The segment that takes events of keys hashed to `h` (0 <= h < 1).
size_t route(writer_ptr self, double h) {
    const auto& r = self->state.routes;
    auto it =
        std::upper_bound(r.begin(), r.end(), h,
                         [](double k, const writer_state::route_entry& e) { return k < e.end; });
    PRAVAHA_ASSERT(it != r.end() && it->start <= h, "writer {}: no route for key hash {}",
                   to_string(self->state.id), h);
    return it->index;
}

bool idle(writer_ptr self) {
    for (auto& s : self->state.segments) {
        if (!s.queue.empty() || !s.in_flight.empty()) {
            return false;
        }
    }
    return true;
}

// Answers `true`, or the first failure since the last flush (for a transaction's writer: since it
// opened), to every waiting flush and close once nothing is queued or in flight; a close then
// ends the actor.
void check_flush(writer_ptr self) {
    auto& st = self->state;
    if ((st.flush_waiters.empty() && st.close_waiters.empty()) || !idle(self)) {
        return;
    }
    auto answer = [&](caf::response_promise& rp) {
        if (st.first_error) {
            rp.deliver(st.first_error);
        } else {
            rp.deliver(true);
        }
    };
    for (auto& rp : st.flush_waiters) {
        answer(rp);
    }
    st.flush_waiters.clear();
    bool closed = !st.close_waiters.empty();
    for (auto& rp : st.close_waiters) {
        answer(rp);
    }
    st.close_waiters.clear();
    if (st.mode.txn_keys.empty()) {
        st.first_error = caf::error{};
    }
    // A transaction's writer keeps its first failure: every later flush answers it, so that a
    // retried commit (which flushes first) cannot commit the transaction without those events.
    if (closed) {
        for (auto& rp : st.session_waiters) {
            rp.deliver(caf::make_error(errc::invalid_argument, "writer is closed"));
        }
        st.session_waiters.clear();
        self->quit(caf::exit_reason::normal);
    }
}

void finish_block(writer_ptr self, block_in_flight& b, const caf::error& err) {
    if (err && !self->state.first_error) {
        self->state.first_error = err;
    }
    for (auto& cb : b.done) {
        if (cb) {
            cb(err);
        }
    }
    release_block(self, b);
}

// Releases a finished block's bytes (the writer's and the facade's budget).
void release_block(writer_ptr self, const block_in_flight& b) {
    PRAVAHA_ASSERT(self->state.held >= b.block.data.size(),
                   "writer {} finishes {} bytes but holds {}", to_string(self->state.id),
                   b.block.data.size(), self->state.held);
    self->state.held -= b.block.data.size();
    if (self->state.mem) {
        self->state.mem->release(b.block.data.size());
    }
}

// Completes an acknowledged block. What its callbacks write is taken every
// `refill_events` of them, not only by the `wdrain` message after the whole answer: a pipelined
// producer writes the next events from these callbacks, and one group commit answers up to a
// MiB of events at once; taken at the end, they all left as one block when the last callback
// had run, the node idle meanwhile and the next group commit again the whole window (a convoy:
// one group per round trip). Taken as they come, the first of them travel and are stored while
// the rest are answered. The rest (and a small block's) still go with the `wdrain` message: also
// taken here after every answer, 64 writers of one event each ran about 5 % slower (medians of 8
// interleaved pairs), and a block of one event is answered the same as before.
void finish_acknowledged(writer_ptr self, block_in_flight& b) {
    constexpr size_t refill_events = 1024;
    for (size_t i = 0; i < b.done.size(); ++i) {
        if (b.done[i]) {
            b.done[i](caf::error{});
        }
        if ((i + 1) % refill_events == 0) {
            take_written(self);  // may push blocks behind `b` (a deque keeps `b` in place)
        }
    }
    release_block(self, b);
}

// Completes one event that is not in a block (never sent, or already stored).
void finish_event(writer_ptr self, std::string framed, ack_callback done, const caf::error& err) {
    block_in_flight b;
    b.block.data = std::move(framed);
    b.done.push_back(std::move(done));
    finish_block(self, b, err);
}

// Sends a block; its deadline is watched by the writer's one timer (deadline_timer), not by a
// CAF request timeout.
void send_block(writer_ptr self, size_t index, block_in_flight& b) {
    auto& st = self->state;
    auto gen = st.link.generation();
    b.deadline = self->clock().now() + st.link.endpoint().cfg.request_timeout;
    ++b.sends;
    b.attempt = ++st.attempts;
    st.deadlines.ensure(self, b.deadline);
    const auto& block = b.block;
    self->request(st.link.store(index), caf::infinite, append_atom::value, block)
        .then(
            [=](const append_ack& ack) {
                auto& s = self->state;
                if (gen != s.link.generation()) {
                    return;  // answer to a superseded send; the resend will be acknowledged
                }
                if (ack.writer != s.id) {
                    // An answer to a send made under the id this writer had before it gave up
                    // and started afresh (start_afresh: a new id, numbers from 0, the same link
                    // generation): its numbers are the old id's, so it acknowledges nothing of
                    // the new one's blocks (pravaha-sim seed 0x46f15cb took it for block 4..67
                    // of the new id, an event no node held).
                    return;
                }
                s.link.progressed();
                auto& seg = s.segments[index];
                while (!seg.in_flight.empty() &&
                       seg.in_flight.front().block.last_event_number <= ack.last_event_number) {
                    finish_acknowledged(self, seg.in_flight.front());
                    seg.in_flight.pop_front();
                    if (seg.sent > 0) {
                        --seg.sent;
                    }
                }
                pump(self, index);
                check_flush(self);
            },
            [=, first = block.first_event_number, attempt = b.attempt](caf::error& err) {
                if (code_of(err) == errc::storage_full) {
                    // Only the refusal of a block's latest send counts: after a full disk the
                    // event numbers of refused blocks are used again by new blocks.
                    const auto& fl = self->state.segments[index].in_flight;
                    auto it = std::find_if(fl.begin(), fl.end(), [&](const block_in_flight& x) {
                        return x.block.first_event_number == first;
                    });
                    if (it == fl.end() || it->attempt != attempt) {
                        return;
                    }
                }
                on_failure(self, index, gen, std::move(err), first);
            });
}

void open_session(writer_ptr self, size_t index);
void drain(writer_ptr self, size_t index);
void ask_ancestors(writer_ptr self, size_t index);
bool held_back(writer_ptr self, size_t index);
void pump_held(writer_ptr self);

// Answers sessions_atom once every segment has its session (or failed for good).
void check_sessions(writer_ptr self) {
    auto& st = self->state;
    if (st.session_waiters.empty()) {
        return;
    }
    if (st.fenced) {
        for (auto& rp : st.session_waiters) {
            rp.deliver(st.fenced);
        }
        st.session_waiters.clear();
        return;
    }
    int64_t stored = no_event_number;
    for (const auto& seg : st.segments) {
        // A draining segment's successors may hold more of this id (a scale since the record
        // the writer started with): they count once they are open.
        if ((seg.phase == phase::open && !seg.ready && !seg.failed) || !seg.ancestry_known ||
            seg.phase == phase::draining) {
            return;
        }
        stored = std::max({stored, seg.client_stored, seg.inherited_last});
    }
    for (auto& rp : st.session_waiters) {
        rp.deliver(stored);
    }
    st.session_waiters.clear();
}

// Whether the segment holds a client's event already: resent by a client after a lost
// connection, its number is at or below the highest the segment stored for this writer id.
// The segment stores a writer's events in the order of their numbers (a merge's successor
// waits for all its predecessors and sorts), so every number up to client_stored that was sent
// to it is stored. Or one of the segments it replaced stored it (`inherited`, by key).
bool stored_already(const segment_writer& seg, int64_t client_number, double key_hash) {
    if (client_number == no_event_number) {
        return false;
    }
    if (mutants::active(mutants::mutant::client_number_reused)) {
        return client_number < seg.client_stored;  // planted bug: the last stored one is resent
    }
    if (client_number <= seg.client_stored) {
        return true;
    }
    return std::any_of(seg.inherited.begin(), seg.inherited.end(), [&](const inherited_mark& m) {
        return m.start <= key_hash && key_hash < m.end && client_number <= m.client_last;
    });
}

void add_mark(segment_writer& seg, double start, double end, int64_t client_last) {
    seg.inherited.push_back({start, end, client_last});
    seg.inherited_last = std::max(seg.inherited_last, client_last);
}

// Acknowledges, without storing them again, the queued events the segment already holds: a
// prefix of the queue, or anywhere in it when its predecessors' marks count (a resend of one
// key may follow a new event of another). Only segments with marks pay for the whole scan.
void skip_stored(writer_ptr self, segment_writer& seg) {
    bool skipped = false;
    if (seg.inherited.empty()) {
        while (!seg.queue.empty() &&
               stored_already(seg, seg.queue.front().client_number, seg.queue.front().key_hash)) {
            auto& q = seg.queue.front();
            finish_event(self, std::move(q.framed), std::move(q.done), caf::error{});
            seg.queue.pop_front();
            skipped = true;
        }
    } else {
        std::deque<queued> rest;
        for (auto& q : seg.queue) {
            if (stored_already(seg, q.client_number, q.key_hash)) {
                finish_event(self, std::move(q.framed), std::move(q.done), caf::error{});
                skipped = true;
            } else {
                rest.push_back(std::move(q));
            }
        }
        seg.queue = std::move(rest);
        // Every later event of this writer object is numbered above what it accepted so far
        // (admit), events moved in are checked where they come from: once that is above every
        // mark, no event can match one, and the scan per pump ends.
        if (self->state.last_client_number > seg.inherited_last) {
            seg.inherited.clear();
        }
    }
    if (skipped) {
        check_flush(self);
    }
}

// Stable ids: a successor sends nothing while this writer still routes some of its keys to an
// older segment (another predecessor of a merge, or a segment before it) that has not moved its
// events in; then its queue is put in client-number order, so that what it stores of the id is
// always a prefix of the numbers sent to it (stored_already). Those older segments are sealed
// (the controller tells successors once their scale is done): they drain now, also when no event
// of theirs waits.
bool held_back(writer_ptr self, size_t index) {
    auto& st = self->state;
    if (!st.cfg.id || (!st.segments[index].held && !st.followed_scale)) {
        return false;  // the write path of a writer that never followed a scale
    }
    bool held = false;
    auto range = st.segments[index].range;
    auto epoch = st.segments[index].key.segment.epoch();
    for (size_t i = 0; i < st.routes.size(); ++i) {
        auto e = st.routes[i];
        if (e.index == index || e.end <= range.key_start || range.key_end <= e.start ||
            st.segments[e.index].failed) {
            continue;  // a segment that failed for good (deleted) moves nothing in
        }
        held = true;
        auto other = st.segments[e.index].key.segment.epoch();
        if (other > epoch) {
            // A later epoch covers some of its keys: it was sealed itself (its successors and
            // that segment share a merge), before this writer sent it anything.
            drain(self, index);
            return true;
        }
        if (st.segments[e.index].phase == phase::open && other < epoch) {
            drain(self, e.index);
        }
    }
    auto& seg = st.segments[index];
    if (held) {
        seg.held = true;
        return true;
    }
    if (seg.held) {
        seg.held = false;
        // Only numbered events are put in order: an unnumbered one (the actor API lets a
        // stable id mix them) keeps its place, as its key's order requires.
        bool numbered = std::all_of(seg.queue.begin(), seg.queue.end(), [](const queued& q) {
            return q.client_number != no_event_number;
        });
        if (numbered) {
            std::stable_sort(
                seg.queue.begin(), seg.queue.end(),
                [](const queued& a, const queued& b) { return a.client_number < b.client_number; });
        }
    }
    return false;
}

// Segments held back (held_back) may go once what held them moved or failed for good.
void pump_held(writer_ptr self) {
    auto& st = self->state;
    for (size_t i = 0; i < st.segments.size(); ++i) {
        if (st.segments[i].held && st.segments[i].phase == phase::open) {
            pump(self, i);
        }
    }
}

void pump(writer_ptr self, size_t index) {
    auto& st = self->state;
    if (!st.link.attached(index)) {
        return;
    }
    auto& seg = st.segments[index];
    if (seg.phase != phase::open) {
        return;  // draining: its events wait for the successors
    }
    if (held_back(self, index)) {
        return;
    }
    if (!seg.ready) {
        // A segment that failed for good (sealed) answered its session already; one whose
        // predecessors are being asked has its session.
        if (!seg.failed && !seg.session_open &&
            (!seg.queue.empty() || !st.session_waiters.empty())) {
            open_session(self, index);
        }
        return;
    }
    while (seg.sent < seg.in_flight.size()) {
        send_block(self, index, seg.in_flight[seg.sent]);
        ++seg.sent;
    }
    skip_stored(self, seg);
    while (seg.in_flight.size() < st.cfg.blocks_in_flight_max && !seg.queue.empty()) {
        block_in_flight b;
        b.block.key = seg.key;
        b.block.writer = st.id;
        b.block.first_event_number = seg.next_event_number;
        b.block.writer_epoch = seg.epoch;
        while (!seg.queue.empty() &&
               (b.block.event_count == 0 ||
                b.block.data.size() + seg.queue.front().framed.size() <= st.cfg.block_bytes_max)) {
            auto& q = seg.queue.front();
            b.block.data += q.framed;
            b.done.push_back(std::move(q.done));
            b.hashes.push_back(q.key_hash);
            b.numbers.push_back(q.client_number);
            b.block.client_last = std::max(b.block.client_last, q.client_number);
            ++b.block.event_count;
            seg.queue.pop_front();
        }
        seg.next_event_number += b.block.event_count;
        b.block.last_event_number = seg.next_event_number - 1;
        // Blocks in flight number their events contiguously (the segment refuses gaps).
        PRAVAHA_ASSERT(seg.in_flight.empty() || seg.in_flight.back().block.last_event_number + 1 ==
                                                    b.block.first_event_number,
                       "writer {} block from {} after {}", to_string(st.id),
                       b.block.first_event_number, seg.in_flight.back().block.last_event_number);
        seg.in_flight.push_back(std::move(b));
        send_block(self, index, seg.in_flight.back());
        ++seg.sent;
    }
}

// Stable writer ids: asks the segment for a new session of this id and the last event stored
// under it; numbering continues from there. Done once per writer object and segment (before
// any block exists), so a resend after a reconnect keeps its session.
void open_session(writer_ptr self, size_t index) {
    auto& st = self->state;
    auto& seg = st.segments[index];
    if (seg.setup_pending) {
        return;
    }
    seg.setup_pending = true;
    auto gen = st.link.generation();
    self->request(st.link.store(index), st.link.endpoint().cfg.request_timeout,
                  setup_writer_atom::value, seg.key, st.id, seg.epoch)
        .then(
            [=](const append_ack& a) {
                auto& s = self->state;
                auto& sg = s.segments[index];
                if (gen != s.link.generation()) {
                    return;  // restart() cleared setup_pending; the next pump asks again
                }
                sg.setup_pending = false;
                sg.epoch = a.writer_epoch;
                sg.next_event_number = a.last_event_number + 1;
                sg.client_stored = a.client_last;
                if (a.sealed) {
                    // No session on a sealed segment: what it holds is acknowledged, the rest
                    // goes to its successors (or fails, when the stream is sealed).
                    drain(self, index);
                    return;
                }
                if (!sg.ancestry_known) {
                    sg.session_open = true;  // ready once the predecessors answered
                    return;
                }
                sg.ready = true;
                pump(self, index);
                check_sessions(self);
            },
            [=](caf::error& err) {
                if (gen == self->state.link.generation()) {
                    self->state.segments[index].setup_pending = false;
                }
                on_failure(self, index, gen, std::move(err));
            });
}

// Fails every queued and in-flight event of one segment, in order.
void fail_segment(writer_ptr self, segment_writer& seg, const caf::error& err) {
    for (auto& b : seg.in_flight) {
        finish_block(self, b, err);
    }
    seg.in_flight.clear();
    seg.sent = 0;
    for (auto& q : seg.queue) {
        finish_event(self, std::move(q.framed), std::move(q.done), err);
    }
    seg.queue.clear();
}

void fail_all(writer_ptr self, const caf::error& err) {
    for (auto& seg : self->state.segments) {
        fail_segment(self, seg, err);
    }
    check_flush(self);
}

// A newer session of this writer id took a segment over: another writer object with the id (a
// restarted producer) replaced this one, so this one stops for good on every segment, not only
// the fenced one. Going on elsewhere would store part of its numbers: a merge's successor held
// for the fenced predecessor's keys (held_back) would send without them, and the replacement,
// whose session there continues after the highest number stored under the id, would take the
// missing ones for stored (stored_already's prefix rule; pravaha-sim seed 0xe0cb6380 lost
// acknowledged events so). Everything pending fails with the fence: it may or may not be stored.
void fence(writer_ptr self, const caf::error& err) {
    auto& st = self->state;
    if (st.fenced) {
        return;
    }
    module_log("client")->warn("writer fenced by a newer writer with its id writer={} error={}",
                               to_string(st.id), render_error(err));
    st.fenced = err;
    for (auto& seg : st.segments) {
        if (!seg.failed) {
            seg.failed = err;
        }
    }
    fail_all(self, err);
    check_sessions(self);
}

void restart(writer_ptr self,
             bool lost_link,
             const caf::actor_addr& suspect = {},
             std::chrono::milliseconds delay = std::chrono::milliseconds(20));

// The blocks just failed may or may not be stored. Continuing their event numbers would leave a
// gap the node refuses forever (event_number_gap: found by pravaha-sim, seed 0xf50fd of the
// swarm profile with 40 s of faults), and reusing them would make new events look like
// duplicates of stored ones. So later events start afresh: a new session of a stable id (the
// node answers where the id's events end), or a new id (fresh numbering).
void start_afresh(writer_ptr self) {
    auto& st = self->state;
    if (st.cfg.id) {
        // A session request still in flight stays pending: its answer is a fresh session (two
        // at once would fence each other); a link reset clears it.
        for (auto& seg : st.segments) {
            seg.ready = false;
            seg.session_open = false;
        }
        return;
    }
    st.id.lo += 0x9e3779b97f4a7c15ULL;  // a different 128-bit id, derived without randomness
    for (auto& seg : st.segments) {
        seg.next_event_number = 0;
    }
}

// Starts a new generation: every unacknowledged block is resent in order, after reconnecting
// if the link is gone. The node drops what it already stored (writer id + event number).
// Failures without an acknowledgement for the retry timeout fail everything pending
// (errc::unavailable) so that flush() and close() always return (node_link::failed).
void restart(writer_ptr self,
             bool lost_link,
             const caf::actor_addr& suspect,
             std::chrono::milliseconds delay) {
    auto& st = self->state;
    st.link.failed();
    st.link.restart(lost_link, suspect);
    if (!lost_link) {
        self->delayed_send(self, delay, retry_atom::value, st.link.generation());
    }
}

void on_failure(writer_ptr self, size_t index, uint64_t gen, caf::error err, int64_t from_event) {
    auto& st = self->state;
    if (gen != st.link.generation()) {
        return;
    }
    if (is_transient(err)) {
        module_log("client")->debug("writer retrying writer={} error={}", to_string(st.id),
                                    render_error(err));
        if (needs_reconnect(err)) {
            restart(self, true, st.link.store(index).address());
        } else {
            restart(self, false);
        }
        return;
    }
    auto sent_once = [&](const segment_writer& s) {
        return std::all_of(s.in_flight.begin(), s.in_flight.end(), [&](const block_in_flight& b) {
            return b.block.first_event_number < from_event || b.sends == 1;
        });
    };
    if (code_of(err) == errc::storage_full && (from_event < 0 || !sent_once(st.segments[index]))) {
        // A block sent more than once may be stored by an earlier send, so it cannot fail (its
        // event numbers could not be used again): it waits like an outage, sent again every
        // 500 ms until the disk has room or the retry timeout fails it as unavailable.
        module_log("client")->debug("writer waiting for disk space writer={} error={}",
                                    to_string(st.id), render_error(err));
        restart(self, false, {}, std::chrono::milliseconds(500));
        return;
    }
    // Final for this segment (sealed, deleted): fail this block, every later one and everything
    // queued, in order, and every later event at once. Earlier blocks still in flight keep
    // waiting for their own answers: they may be stored (an early refusal can overtake the
    // acknowledgement of an earlier block that waits for its fsync).
    // A full disk fails the same blocks but not the segment: each was sent once and none is
    // stored (the first refused before the log, each later one follows it), so their event
    // numbers are used again; the refusals still on their way for the later ones are ignored
    // (not their block's latest send), and writes after this succeed once space is freed.
    if (code_of(err) == errc::segment_sealed && !st.segments[index].failed &&
        st.mode.txn_keys.empty()) {
        drain(self, index);  // a scale sealed it (or the stream was sealed: drain finds out)
        return;
    }
    if (!st.mode.txn_keys.empty() &&
        (code_of(err) == errc::segment_not_found || code_of(err) == errc::segment_sealed)) {
        // A transaction segment is sealed by its merge or abort and then deleted: the
        // transaction ended.
        err = caf::make_error(errc::transaction_not_open,
                              "transaction segment " + to_string(st.segments[index].key) +
                                  " is merged or gone: the transaction was committed or aborted (" +
                                  render_error(err) + ")");
    }
    if (code_of(err) == errc::writer_fenced) {
        fence(self, err);
        return;
    }
    bool full = code_of(err) == errc::storage_full;
    auto& seg = st.segments[index];
    if (full) {
        module_log("client")->warn("writer refused, disk full writer={} segment={} error={}",
                                   to_string(st.id), to_string(seg.key), render_error(err));
    } else if (!seg.failed) {
        module_log("client")->warn("writer segment failed writer={} segment={} error={}",
                                   to_string(st.id), to_string(seg.key), render_error(err));
        seg.failed = err;
    }
    std::deque<block_in_flight> keep;
    while (!seg.in_flight.empty() && seg.in_flight.front().block.first_event_number < from_event) {
        keep.push_back(std::move(seg.in_flight.front()));
        seg.in_flight.pop_front();
    }
    fail_segment(self, seg, err);
    seg.in_flight = std::move(keep);
    seg.sent = seg.in_flight.size();
    check_flush(self);
    if (full) {
        seg.next_event_number = from_event;
        pump(self, index);
    } else {
        check_sessions(self);
        pump_held(self);
    }
}

// -- following a scale ----------------------------------------------------------------------
//
// A segment sealed by a scale drains: nothing more is sent to it; its store answers what it
// holds under this writer id (final: a sealed segment takes nothing more), which is
// acknowledged; the controller answers its successors; the rest of its events, in order, move to
// the back of the successors' queues by key, and its keys route to them. So no event of a key
// reaches a successor before every earlier event of that key was stored in the predecessor or
// is certainly not stored there.

void resolve(writer_ptr self, size_t index);
void ask_successors(writer_ptr self, size_t index);

void drain(writer_ptr self, size_t index) {
    auto& seg = self->state.segments[index];
    if (seg.phase != phase::open || seg.failed) {
        return;
    }
    module_log("client")->debug("writer draining a sealed segment writer={} segment={}",
                                to_string(self->state.id), to_string(seg.key));
    seg.phase = phase::draining;
    resolve(self, index);
}

// The events of `b`, one by one, as they were queued.
std::vector<queued> events_of(block_in_flight& b) {
    std::vector<queued> out;
    size_t pos = 0;
    for (size_t i = 0; i < b.done.size(); ++i) {
        auto start = pos;
        auto payload = next_event(b.block.data, pos);
        PRAVAHA_ASSERT(payload.has_value(), "writer block of {} events breaks at event {}",
                       b.done.size(), i);
        out.push_back(queued{b.block.data.substr(start, pos - start), std::move(b.done[i]),
                             b.numbers[i], b.hashes[i]});
    }
    return out;
}

// What the sealed segment holds of this writer is known (`last` event number, `client_last`):
// acknowledges that, and puts every other event back into its queue, in order.
void settle(writer_ptr self, size_t index, int64_t last, int64_t client_last) {
    auto& seg = self->state.segments[index];
    std::deque<queued> rest;
    for (auto& b : seg.in_flight) {
        auto number = b.block.first_event_number;
        for (auto& ev : events_of(b)) {
            if (number++ <= last) {
                finish_event(self, std::move(ev.framed), std::move(ev.done), caf::error{});
            } else {
                rest.push_back(std::move(ev));
            }
        }
    }
    seg.in_flight.clear();
    seg.sent = 0;
    for (auto& q : seg.queue) {
        rest.push_back(std::move(q));
    }
    seg.queue = std::move(rest);
    seg.client_stored = std::max(seg.client_stored, client_last);
    seg.settled = true;
    skip_stored(self, seg);  // resent events a previous writer of this id stored
    check_flush(self);
}

void resolve(writer_ptr self, size_t index) {
    auto& st = self->state;
    auto& seg = st.segments[index];
    if (seg.resolving || seg.settled || !st.link.attached(index) || !seg.ancestry_known ||
        st.fenced) {
        // Asked again when the link is attached (on_link.attached) or the predecessors answered;
        // a fenced writer follows no scale.
        return;
    }
    if (mutants::active(mutants::mutant::resend_to_successor_without_dedup)) {
        // Planted bug: everything unacknowledged moves on, also what the segment stored.
        settle(self, index, no_event_number, no_event_number);
        ask_successors(self, index);
        return;
    }
    seg.resolving = true;
    auto gen = st.link.generation();
    self->request(st.link.store(index), st.link.endpoint().cfg.request_timeout,
                  setup_writer_atom::value, seg.key, st.id, seg.epoch)
        .then(
            [=](const append_ack& a) {
                if (gen != self->state.link.generation() || self->state.fenced) {
                    return;
                }
                auto& sg = self->state.segments[index];
                sg.resolving = false;
                self->state.link.progressed();
                PRAVAHA_ASSERT(a.sealed, "writer {}: segment {} was sealed and is not",
                               to_string(self->state.id), to_string(sg.key));
                if (sg.epoch != 0 && a.writer_epoch != sg.epoch) {
                    // Another writer object of this id took the segment over (a zombie): what
                    // is stored under the event numbers is its events, not necessarily this
                    // one's, so nothing is settled by number; as a fenced append would.
                    sg.phase = phase::open;
                    fence(self, caf::make_error(
                                    errc::writer_fenced,
                                    fmt::format("writer {} session {} was superseded by session "
                                                "{} on segment {}",
                                                to_string(self->state.id), sg.epoch, a.writer_epoch,
                                                to_string(sg.key))));
                    return;
                }
                settle(self, index, a.last_event_number, a.client_last);
                ask_successors(self, index);
            },
            [=](caf::error& err) {
                if (gen != self->state.link.generation()) {
                    return;
                }
                auto& sg = self->state.segments[index];
                sg.resolving = false;
                if (is_transient(err)) {
                    if (needs_reconnect(err)) {
                        restart(self, true, self->state.link.store(index).address());
                    } else {
                        restart(self, false);
                    }
                    return;
                }
                // Deleted meanwhile (or a node of another version): what it held is unknown, so
                // everything fails as for a segment that failed for good.
                sg.phase = phase::open;
                sg.failed = err;
                fail_segment(self, sg, err);
                check_flush(self);
                check_sessions(self);
                pump_held(self);
            });
}

// Moves the draining segment's events to `list`, its successors, and routes its keys to them.
void move_to_successors(writer_ptr self, size_t index, const std::vector<successor>& list) {
    auto& st = self->state;
    auto uid = st.segments[index].key.stream;
    // What the predecessor holds of this id (final: it is sealed) goes with its keys.
    std::vector<inherited_mark> marks = st.segments[index].inherited;
    if (st.segments[index].client_stored != no_event_number) {
        const auto& r = st.segments[index].range;
        marks.push_back({r.key_start, r.key_end, st.segments[index].client_stored});
    }
    auto inherit = [&](segment_writer& w, const segment_range& r) {
        for (const auto& m : marks) {
            auto lo = std::max(m.start, r.key_start);
            auto hi = std::min(m.end, r.key_end);
            if (lo < hi) {
                add_mark(w, lo, hi, m.client_last);
            }
        }
    };
    // Where each slice of its range goes: a successor, or, for one this writer followed past
    // already (a merge's successor that a later scale sealed before this predecessor moved in),
    // what followed that, recursively.
    std::vector<std::pair<segment_range, size_t>> targets;
    std::vector<segment_key> added;
    std::function<void(const successor&, double, double)> place = [&](const successor& s, double lo,
                                                                      double hi) {
        lo = std::max(lo, s.range.key_start);
        hi = std::min(hi, s.range.key_end);
        if (lo >= hi) {
            return;
        }
        auto it = std::find_if(st.segments.begin(), st.segments.end(),
                               [&](const auto& w) { return w.key.segment == s.range.id; });
        size_t at = static_cast<size_t>(it - st.segments.begin());
        if (it != st.segments.end() && it->phase == phase::retired) {
            auto next = it->successors;
            for (const auto& n : next) {
                place(n, lo, hi);
            }
            return;
        }
        if (it == st.segments.end()) {
            segment_writer w;
            w.key = segment_key{uid, s.range.id};
            w.range = s.range;
            w.ready = !st.cfg.id.has_value();
            added.push_back(w.key);
            st.segments.push_back(std::move(w));
        }
        segment_range slice{s.range.id, lo, hi};
        if (st.cfg.id) {
            inherit(st.segments[at], slice);
            // Put in number order before it sends (held_back), with whatever else moves in.
            st.segments[at].held = true;
        }
        targets.emplace_back(slice, at);
    };
    for (const auto& s : list) {
        place(s, st.segments[index].range.key_start, st.segments[index].range.key_end);
    }
    if (!added.empty()) {
        auto count = added.size();
        auto first = st.link.add(std::move(added));
        // Writer entries and link keys share their indices.
        PRAVAHA_ASSERT(first + count == st.segments.size(), "writer {}: link and segments disagree",
                       to_string(st.id));
    }
    std::vector<writer_state::route_entry> routes;
    for (const auto& e : st.routes) {
        if (e.index != index) {
            routes.push_back(e);
            continue;
        }
        for (const auto& [range, target] : targets) {
            auto lo = std::max(e.start, range.key_start);
            auto hi = std::min(e.end, range.key_end);
            if (lo < hi) {
                routes.push_back({lo, hi, target});
            }
        }
    }
    std::sort(routes.begin(), routes.end(),
              [](const auto& a, const auto& b) { return a.start < b.start; });
    // The routes still cover [0,1) exactly: the successors cover what the segment covered.
    PRAVAHA_ASSERT(!routes.empty() && routes.front().start == 0.0 && routes.back().end == 1.0,
                   "writer {}: routes do not cover the key space after a scale", to_string(st.id));
    for (size_t i = 1; i < routes.size(); ++i) {
        PRAVAHA_ASSERT(routes[i].start == routes[i - 1].end,
                       "writer {}: a gap or overlap at {} after a scale", to_string(st.id),
                       routes[i].start);
    }
    st.routes = std::move(routes);
    skip_stored(self, st.segments[index]);  // resends queued since it settled: stored there
    auto moved = std::move(st.segments[index].queue);
    st.segments[index].queue.clear();
    st.segments[index].phase = phase::retired;
    st.segments[index].successors = list;
    st.followed_scale = true;
    for (auto& ev : moved) {
        auto to = route(self, ev.key_hash);
        PRAVAHA_ASSERT(to != index, "writer {}: an event routes to a retired segment",
                       to_string(st.id));
        st.segments[to].queue.push_back(std::move(ev));
    }
    for (const auto& [range, target] : targets) {
        auto& t = st.segments[target];
        if (t.failed && !t.queue.empty()) {
            // A successor that failed for good meanwhile (sealed with its stream, before this
            // predecessor moved in): the moved events fail as its own did, unless stored.
            skip_stored(self, t);
            for (auto& q : t.queue) {
                finish_event(self, std::move(q.framed), std::move(q.done), t.failed);
            }
            t.queue.clear();
            check_flush(self);
        }
    }
    module_log("client")->debug("writer follows a scale writer={} segment={} successors={}",
                                to_string(st.id), to_string(st.segments[index].key), list.size());
    for (const auto& [range, target] : targets) {
        pump(self, target);
    }
    // Segments held back for this one's keys may go now (or drain what else holds them).
    pump_held(self);
}

// Asks the controller (through the client's directory, which coalesces the questions of all
// writers of the segment) what follows the draining segment.
void ask_successors(writer_ptr self, size_t index) {
    auto& st = self->state;
    self->request(st.link.endpoint().directory, caf::infinite, dir_query_atom::value,
                  successors_atom::value, st.scope, st.stream, st.segments[index].key.segment)
        .then(
            [=](const segment_successors& s) {
                auto& sg = self->state.segments[index];
                if (sg.phase != phase::draining || self->state.fenced) {
                    return;  // a fenced writer opens no successor (fence)
                }
                if (s.stream_sealed || (s.sealed && s.list.empty())) {
                    // Sealed with its stream: nothing follows, its events fail for good.
                    sg.phase = phase::open;
                    sg.failed = caf::make_error(errc::segment_sealed,
                                                "segment " + to_string(sg.key) + " is sealed");
                    module_log("client")->warn(
                        "writer segment failed writer={} segment={} "
                        "error={}",
                        to_string(self->state.id), to_string(sg.key), render_error(sg.failed));
                    skip_stored(self, sg);  // resends queued since it settled
                    fail_segment(self, sg, sg.failed);
                    check_flush(self);
                    check_sessions(self);
                    pump_held(self);
                    return;
                }
                if (!s.sealed) {
                    // Not replaced yet as the controller sees it: ask again after a pause.
                    self->delayed_send(self, self->state.link.policy().first_pause,
                                       resolve_atom::value, static_cast<uint64_t>(index));
                    return;
                }
                move_to_successors(self, index, s.list);
            },
            [=](caf::error&) {
                self->state.link.failed();
                self->delayed_send(self, self->state.link.policy().max_pause, resolve_atom::value,
                                   static_cast<uint64_t>(index));
            });
}

// A writer with a stable id that starts on a later epoch: every earlier segment whose keys
// overlap segment `index` is asked what it holds of this id (sealed: the answer is final), so
// that a resend of an event one of them stored is acknowledged, not stored again in its
// successor, and the session's highest stored number (the RPC lastEventNumber) counts them.
// Asked once per writer object and segment, through the directory (the history, the stores).
void ask_ancestors(writer_ptr self, size_t index) {
    auto& st = self->state;
    if (st.segments[index].asking_ancestors) {
        return;
    }
    st.segments[index].asking_ancestors = true;
    auto timeout = st.link.endpoint().cfg.request_timeout;
    auto dir = st.link.endpoint().directory;
    auto again = [self, index](caf::error& err) {
        auto& sg = self->state.segments[index];
        sg.asking_ancestors = false;
        module_log("client")->debug(
            "writer could not ask the predecessors writer={} segment={} "
            "error={}",
            to_string(self->state.id), to_string(sg.key), render_error(err));
        self->state.link.failed();
        self->delayed_send(self, self->state.link.policy().max_pause, ancestors_atom::value,
                           static_cast<uint64_t>(index));
    };
    self->request(dir, caf::infinite, dir_query_atom::value, history_atom::value, st.scope,
                  st.stream)
        .then(
            [=](const std::vector<epoch_info>& history) {
                auto& s = self->state;
                const auto& me = s.segments[index];
                std::vector<segment_key> keys;
                std::vector<segment_range> ranges;
                for (const auto& ep : history) {
                    if (ep.epoch >= me.key.segment.epoch()) {
                        break;
                    }
                    for (const auto& h : ep.segments) {
                        const auto& r = h.range;
                        bool known = std::any_of(ranges.begin(), ranges.end(),
                                                 [&](const auto& x) { return x.id == r.id; });
                        if (!known && r.id != me.key.segment && r.key_start < me.range.key_end &&
                            me.range.key_start < r.key_end) {
                            keys.push_back(segment_key{me.key.stream, r.id});
                            ranges.push_back(r);
                        }
                    }
                }
                auto done = [self, index] {
                    auto& sg = self->state.segments[index];
                    sg.asking_ancestors = false;
                    sg.ancestry_known = true;
                    if (sg.phase == phase::open && sg.session_open && !sg.failed) {
                        sg.ready = true;
                        sg.session_open = false;
                    }
                    skip_stored(self, sg);
                    if (sg.phase == phase::draining) {
                        resolve(self, index);
                    } else {
                        pump(self, index);
                    }
                    check_sessions(self);
                };
                if (keys.empty()) {
                    done();
                    return;
                }
                self->request(dir, timeout, dir_attach_atom::value, keys)
                    .then(
                        [=](const std::vector<transport::segment_store_actor>& stores) {
                            auto left = std::make_shared<size_t>(stores.size());
                            auto failed = std::make_shared<bool>(false);
                            for (size_t i = 0; i < stores.size(); ++i) {
                                self->request(stores[i], timeout, setup_writer_atom::value, keys[i],
                                              self->state.id, uint32_t{0})
                                    .then(
                                        [=](const append_ack& a) {
                                            if (*failed) {
                                                return;
                                            }
                                            auto& sg = self->state.segments[index];
                                            const auto& r = ranges[i];
                                            if (a.client_last != no_event_number) {
                                                add_mark(sg,
                                                         std::max(r.key_start, sg.range.key_start),
                                                         std::min(r.key_end, sg.range.key_end),
                                                         a.client_last);
                                            }
                                            if (--*left == 0) {
                                                done();
                                            }
                                        },
                                        [=](caf::error& err) {
                                            if (!*failed) {
                                                *failed = true;
                                                self->state.segments[index].inherited.clear();
                                                again(err);
                                            }
                                        });
                            }
                        },
                        again);
            },
            again);
}

// A new generation may send: every open segment is pumped, every draining one that does not
// know yet what it stored is asked again (after a restart that kept the link, only this runs:
// a resolve answer of the old generation was dropped).
void wake(writer_ptr self) {
    for (size_t i = 0; i < self->state.segments.size(); ++i) {
        if (self->state.segments[i].phase == phase::draining) {
            resolve(self, i);
        } else {
            pump(self, i);
        }
    }
}

// The writer's timer fired: a block sent in this generation and unanswered past its deadline
// fails as a timed-out request would (the link restarts and everything is resent); otherwise the
// timer is armed for the earliest deadline left.
void check_deadlines(writer_ptr self) {
    self->state.deadlines.on_fired(self, [self](auto now, auto note) {
        auto& st = self->state;
        for (size_t i = 0; i < st.segments.size(); ++i) {
            auto& seg = st.segments[i];
            for (size_t k = 0; k < seg.sent && k < seg.in_flight.size(); ++k) {
                const auto& b = seg.in_flight[k];
                if (b.deadline <= now) {
                    on_failure(self, i, st.link.generation(),
                               caf::make_error(caf::sec::request_timeout,
                                               "no answer to an append within the request timeout"),
                               b.block.first_event_number);
                    return true;  // a new generation: every block is sent again, new deadlines
                }
                note(b.deadline);
            }
        }
        return false;
    });
}

// Queues one event on the segment its key routes to; fails it at once if the segment failed
// for good. Returns the segment when it was queued (the segment then needs a pump).
std::optional<size_t> enqueue(writer_ptr self, outgoing& ev) {
    auto index = route(self, ev.key_hash);
    auto& seg = self->state.segments[index];
    self->state.held += ev.framed.size();
    if (seg.failed) {
        // Stored events are acknowledged also on a segment that failed for good (sealed).
        auto err = stored_already(seg, ev.client_number, ev.key_hash) ? caf::error{} : seg.failed;
        finish_event(self, std::move(ev.framed), std::move(ev.done), err);
        check_flush(self);
        return std::nullopt;
    }
    seg.queue.push_back(
        queued{std::move(ev.framed), std::move(ev.done), ev.client_number, ev.key_hash});
    return index;
}

// Queues events in order, then pumps each segment they went to once.
void enqueue_all(writer_ptr self, std::vector<outgoing>& evs) {
    std::vector<bool> touched(self->state.segments.size());
    for (auto& ev : evs) {
        if (auto index = enqueue(self, ev)) {
            touched[*index] = true;
        }
    }
    for (size_t i = 0; i < touched.size(); ++i) {
        if (touched[i]) {
            pump(self, i);
        }
    }
}

// Takes every event the facade has queued (write_budget::events). The facade sends
// `wdrain_atom` when its queue stops being empty; the writer also takes the queue every 1,024
// callbacks of an acknowledged block (finish_acknowledged), which often write the next events.
// A drain message that finds the queue already taken takes nothing.
void take_written(writer_ptr self) {
    auto& st = self->state;
    if (!st.mem) {
        return;  // the actor API's writer: its events come in messages
    }
    // The facade's queue and this spare trade places, so neither allocates anew.
    auto& evs = st.drained;
    {
        std::lock_guard<std::mutex> guard(st.mem->mutex);
        if (st.mem->events.empty()) {
            return;
        }
        evs.swap(st.mem->events);
    }
    enqueue_all(self, evs);
    evs.clear();
}

// Whether a public write of `bytes` framed bytes may be queued: not after close, not beyond
// pending_bytes_max while anything is held (a single event larger than that still passes alone),
// and with client numbers above every one accepted before (a smaller one resent after an
// `overloaded` refusal would be acknowledged as stored without being stored).
caf::error admit(writer_ptr self, size_t bytes, int64_t first_number, int64_t last_number) {
    auto& st = self->state;
    if (st.closing) {
        return caf::make_error(errc::invalid_argument, "writer is closed");
    }
    if (first_number != no_event_number && first_number <= st.last_client_number) {
        return caf::make_error(
            errc::invalid_argument,
            fmt::format("client number {} is not above {}, the highest this writer accepted",
                        first_number, st.last_client_number));
    }
    if (st.held > 0 && st.held + bytes > st.cfg.pending_bytes_max) {
        return caf::make_error(
            errc::overloaded,
            fmt::format("writer holds {} bytes unacknowledged (limit {}); wait for answers",
                        st.held, st.cfg.pending_bytes_max));
    }
    st.last_client_number = std::max(st.last_client_number, last_number);
    return {};
}

// A public event as the writer's internal entry (its `done` is set by the caller).
caf::expected<outgoing> make_outgoing(const std::string& key,
                                      const std::string& payload,
                                      int64_t client_number) {
    if (payload.size() > event_bytes_max) {
        return caf::make_error(errc::event_too_large, "event of " + std::to_string(payload.size()) +
                                                          " bytes exceeds the 8 MiB limit");
    }
    if (client_number < 0 && client_number != no_event_number) {
        return caf::make_error(errc::invalid_argument, "client numbers are not negative");
    }
    outgoing ev;
    ev.key_hash = routing_key_hash(key);
    ev.framed.reserve(payload.size() + event_header_bytes);
    frame_event(ev.framed, payload);
    ev.client_number = client_number;
    return ev;
}

// `(write_atom, key, payload[, client_number])` of the public interface.
caf::result<event_ack> write_one(writer_ptr self,
                                 const std::string& key,
                                 const std::string& payload,
                                 int64_t client_number) {
    auto ev = make_outgoing(key, payload, client_number);
    if (!ev) {
        return std::move(ev.error());
    }
    if (auto err = admit(self, ev->framed.size(), client_number, client_number)) {
        return err;
    }
    auto rp = self->make_response_promise();
    // The segment it goes to now (a scale may still move it to a successor).
    auto seg = self->state.segments[route(self, ev->key_hash)].key.segment;
    ev->done = [rp, seg, client_number](const caf::error& err) mutable {
        if (err) {
            rp.deliver(err);
        } else {
            rp.deliver(event_ack{seg, client_number});
        }
    };
    if (auto index = enqueue(self, *ev)) {
        pump(self, *index);
    }
    return caf::delegated<event_ack>{};
}

// `(write_atom, std::vector<event_to_write>)`: admitted whole or refused whole, answered once
// every event is finished (the first error, else the batch's acknowledgement).
caf::result<batch_ack> write_batch(writer_ptr self, std::vector<event_to_write>& batch) {
    if (batch.empty()) {
        return caf::make_error(errc::invalid_argument, "an empty batch");
    }
    std::vector<outgoing> evs;
    evs.reserve(batch.size());
    size_t bytes = 0;
    int64_t highest = no_event_number;
    for (auto& e : batch) {
        auto ev = make_outgoing(e.routing_key, e.payload, e.client_number);
        if (!ev) {
            return std::move(ev.error());
        }
        if (e.client_number != no_event_number && e.client_number <= highest) {
            return caf::make_error(errc::invalid_argument,
                                   "client numbers must grow within a batch");
        }
        highest = std::max(highest, e.client_number);
        bytes += ev->framed.size();
        evs.push_back(std::move(*ev));
    }
    int64_t first = batch.front().client_number;
    int64_t lowest = no_event_number;  // the first numbered event's: they grow in the batch
    for (const auto& e : batch) {
        if (e.client_number != no_event_number) {
            lowest = e.client_number;
            break;
        }
    }
    if (auto err = admit(self, bytes, lowest, highest)) {
        return err;
    }
    struct pending {
        caf::response_promise rp;
        size_t left = 0;
        caf::error first_error;
        batch_ack ack;
    };
    auto p = std::make_shared<pending>();
    p->rp = self->make_response_promise();
    p->left = evs.size();
    p->ack = batch_ack{first, static_cast<uint32_t>(evs.size())};
    for (auto& ev : evs) {
        ev.done = [p](const caf::error& err) {
            if (err && !p->first_error) {
                p->first_error = err;
            }
            if (--p->left == 0) {
                if (p->first_error) {
                    p->rp.deliver(p->first_error);
                } else {
                    p->rp.deliver(p->ack);
                }
            }
        };
    }
    enqueue_all(self, evs);
    return caf::delegated<batch_ack>{};
}

// Gave up (node_link::events::gave_up): everything pending fails with `err`; in the actor API's
// mode the actor then ends with it.
void give_up(writer_ptr self, const caf::error& err) {
    auto& st = self->state;
    fail_all(self, err);
    if (!st.mode.exit_on_give_up) {
        start_afresh(self);
        return;
    }
    module_log("client")->warn("writer gives up writer={} error={}", to_string(st.id),
                               render_error(err));
    for (auto& rp : st.session_waiters) {
        rp.deliver(err);
    }
    st.session_waiters.clear();
    self->quit(err);
}

caf::behavior writer_impl(writer_ptr self,
                          endpoint_info ep,
                          stream_record rec,
                          writer_config cfg,
                          writer_id id,
                          writer_mode mode) {
    auto& st = self->state;
    st.cfg = cfg;
    st.id = id;
    st.mode = mode;
    st.scope = rec.scope;
    st.stream = rec.name;
    PRAVAHA_ASSERT(mode.txn_keys.empty() || mode.txn_keys.size() == rec.segments.size(),
                   "writer: {} transaction segments for {} segments", mode.txn_keys.size(),
                   rec.segments.size());
    for (const auto& r : rec.segments) {
        segment_writer w;
        auto i = st.segments.size();
        w.key = mode.txn_keys.empty() ? segment_key{rec.uid, r.id} : mode.txn_keys[i];
        w.range = r;
        w.ready = !cfg.id.has_value();
        w.ancestry_known = !cfg.id.has_value() || r.id.epoch() == 0 || !mode.txn_keys.empty();
        st.routes.push_back({r.key_start, r.key_end, st.segments.size()});
        st.segments.push_back(std::move(w));
    }
    std::vector<segment_key> keys;
    for (const auto& seg : st.segments) {
        keys.push_back(seg.key);
    }
    node_link::events on_link;
    on_link.attached = [self] { wake(self); };
    on_link.reset = [self] {
        for (auto& seg : self->state.segments) {
            seg.sent = 0;
            seg.setup_pending = false;
            seg.resolving = false;
        }
    };
    on_link.gave_up = [self](const caf::error& err) { give_up(self, err); };
    st.link.start(self, std::move(ep), std::move(keys), std::move(on_link));
    for (size_t i = 0; i < st.segments.size(); ++i) {
        if (!st.segments[i].ancestry_known) {
            ask_ancestors(self, i);
        }
    }
    return {
        [=](dir_lost_atom, const caf::actor_addr& store) {
            if (self->state.link.holds(store)) {
                module_log("client")->info("writer lost a container leader writer={}",
                                           to_string(self->state.id));
                restart(self, true);
            }
        },
        [=](write_atom, outgoing& ev) {
            // Internal entries (callbacks of the facades and the simulator) only in their mode:
            // ~writer_state runs the callbacks of the actor API's mode.
            PRAVAHA_ASSERT(!self->state.mode.exit_on_give_up,
                           "internal write to a writer of the actor API");
            if (auto index = enqueue(self, ev)) {
                pump(self, *index);
            }
        },
        [=](write_atom, std::vector<outgoing>& evs) {
            // One message for many events (the RPC gateway's batches): queued in order, then
            // each segment touched is pumped once.
            PRAVAHA_ASSERT(!self->state.mode.exit_on_give_up,
                           "internal write to a writer of the actor API");
            enqueue_all(self, evs);
        },
        [=](write_atom, const std::string& key, const std::string& payload) {
            return write_one(self, key, payload, no_event_number);
        },
        [=](write_atom, const std::string& key, const std::string& payload, int64_t number) {
            return write_one(self, key, payload, number);
        },
        [=](write_atom, std::vector<event_to_write>& batch) { return write_batch(self, batch); },
        [=](close_atom) -> caf::result<bool> {
            auto& s = self->state;
            s.closing = true;
            s.close_waiters.push_back(self->make_response_promise());
            check_flush(self);
            return caf::delegated<bool>{};
        },
        [=](sessions_atom) -> caf::result<int64_t> {
            auto rp = self->make_response_promise<int64_t>();
            self->state.session_waiters.push_back(rp);
            for (size_t i = 0; i < self->state.segments.size(); ++i) {
                pump(self, i);
            }
            check_sessions(self);
            return rp;
        },
        [=](flush_atom) -> caf::result<bool> {
            self->state.flush_waiters.push_back(self->make_response_promise());
            check_flush(self);
            return caf::delegated<bool>{};
        },
        [=](retry_atom, uint64_t gen) {
            if (gen != self->state.link.generation()) {
                return;
            }
            wake(self);
        },
        [=](link_retry_atom, uint64_t gen) { self->state.link.retry(gen); },
        [=](deadline_atom) { check_deadlines(self); },
        [=](ancestors_atom, uint64_t index) {
            auto& seg = self->state.segments[index];
            if (!seg.ancestry_known) {
                ask_ancestors(self, index);
            }
        },
        [=](resolve_atom, uint64_t index) {
            auto& seg = self->state.segments[index];
            if (seg.phase != phase::draining) {
                return;
            }
            if (seg.settled) {
                ask_successors(self, index);
            } else {
                resolve(self, index);
            }
        },
        [=](wdrain_atom) {
            PRAVAHA_ASSERT(self->state.mem, "writer {} drained without a facade",
                           to_string(self->state.id));
            take_written(self);
        },
        [=](wbudget_atom, std::shared_ptr<write_budget>& mem) {
            PRAVAHA_ASSERT(!self->state.mem && self->state.held == 0,
                           "writer {} given a budget after {} bytes", to_string(self->state.id),
                           self->state.held);
            self->state.mem = std::move(mem);
        },
    };
}

class writer_facade final : public event_writer {
public:
    writer_facade(caf::actor bridge, caf::actor writer, const writer_config& cfg, writer_id id)
        : bridge_(std::move(bridge)),
          cfg_(cfg),
          id_(id),
          mem_(std::make_shared<write_budget>()),
          actor_(std::move(writer)) {
        // Before any write: the writer handles its messages in the order they were sent.
        caf::anon_send(actor_, wbudget_atom::value, mem_);
    }

    ~writer_facade() override {
        if (!closed_) {
            pravaha::ignore_error(close(), "destructor cannot report; call close() to see errors");
        }
    }

    caf::error write(std::string_view routing_key,
                     std::string_view payload,
                     ack_callback done) override {
        if (closed_) {
            return caf::make_error(errc::invalid_argument, "writer is closed");
        }
        if (payload.size() > event_bytes_max) {
            return caf::make_error(
                errc::event_too_large,
                "event of " + std::to_string(payload.size()) + " bytes exceeds the 8 MiB limit");
        }
        outgoing ev;
        ev.key_hash = routing_key_hash(routing_key);
        ev.framed.reserve(payload.size() + event_header_bytes);
        frame_event(ev.framed, payload);
        ev.done = std::move(done);
        std::unique_lock<std::mutex> lock(mem_->mutex);
        mem_->cv.wait(lock, [&] {
            return mem_->bytes == 0 || mem_->bytes + ev.framed.size() <= cfg_.pending_bytes_max;
        });
        mem_->bytes += ev.framed.size();
        mem_->events.push_back(std::move(ev));
        if (mem_->events.size() == 1) {
            caf::anon_send(actor_, wdrain_atom::value);  // the writer takes all queued by then
        }
        return {};
    }

    caf::error flush() override {
        // No request timeout here: the flush is bounded by the writer itself, which fails every
        // pending event once the node has been unreachable for cfg.retry_timeout.
        auto r = on_bridge<bool>(bridge_, [this](caf::event_based_actor* self, auto done) {
            self->request(actor_, caf::infinite, flush_atom::value)
                .then([done](bool) { done(true); },
                      [done](caf::error& err) { done(std::move(err)); });
        });
        return r ? caf::error{} : std::move(r.error());
    }

    caf::error close() override {
        if (closed_) {
            return {};
        }
        auto err = flush();
        closed_ = true;
        caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
        return err;
    }

    const writer_id& id() const override { return id_; }

private:
    caf::actor bridge_;
    writer_config cfg_;
    writer_id id_;
    std::shared_ptr<write_budget> mem_;
    caf::actor actor_;
    bool closed_ = false;
};

}  // namespace

caf::actor spawn_writer(caf::actor_system& sys,
                        const endpoint_info& ep,
                        stream_record rec,
                        const writer_config& cfg,
                        writer_id id,
                        writer_mode mode) {
    return sys.spawn(writer_impl, ep, std::move(rec), cfg, id, mode);
}

caf::expected<std::unique_ptr<event_writer>> make_writer(const caf::actor& bridge,
                                                         const caf::actor& writer,
                                                         const writer_config& cfg,
                                                         writer_id id) {
    return std::unique_ptr<event_writer>(std::make_unique<writer_facade>(bridge, writer, cfg, id));
}

}  // namespace pravaha::client::detail
