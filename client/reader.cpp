#include "client/directory.hpp"
#include "client/internal.hpp"
#include "client/node_link.hpp"
#include "client/reader_internal.hpp"
#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/mutants.hpp"

#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace pravaha::client::detail {

namespace {

using fetch_timeout_atom = caf::atom_constant<caf::atom("rfetchtmo")>;

constexpr uint32_t read_bytes = 1024 * 1024;
constexpr uint32_t poll_wait_ms = 2000;
// One push to a subscriber carries at most this many events and about this many bytes.
constexpr size_t push_events_max = 1000;
constexpr size_t push_bytes_max = 1024 * 1024;

void issue_reads(reader_ptr self);

// Takes up to `max_events` (and about `max_bytes`, at least one event) from the buffer, and
// moves the delivered position past them; or a group reader's checkpoint marker, alone.
std::vector<event> take(reader_ptr self, size_t max_events, size_t max_bytes) {
    auto& st = self->state;
    std::vector<event> out;
    if (!may_deliver(self)) {
        return out;
    }
    if (auto marker = next_marker(self)) {
        out.push_back(std::move(*marker));
        return out;
    }
    size_t bytes = 0;
    while (!st.buffer.empty() && out.size() < max_events &&
           (out.empty() || bytes + st.buffer.front().ev.payload.size() <= max_bytes)) {
        auto& held = st.buffer.front();
        auto& seg = st.segments[held.index];
        bytes += held.ev.payload.size();
        st.buffered_bytes -= held.ev.payload.size();
        seg.delivered = offset_after(held.ev);
        if (st.sink) {
            seg.confirmed = seg.delivered;  // pushed: the subscriber has it
        }
        --seg.held;
        out.push_back(std::move(held.ev));
        st.buffer.pop_front();
    }
    return out;
}

// Where the reader stands after the events it handed out (fetch answers, pushes): every
// segment's delivered offset (derived when asked, not kept per event).
stream_position position_of(reader_ptr self) {
    stream_position out;
    for (const auto& seg : self->state.segments) {
        out.offsets[seg.key.segment.value] = seg.delivered;
    }
    return out;
}

// Whether a fetch or the subscriber can be handed something now.
bool deliverable(reader_ptr self) {
    const auto& st = self->state;
    return may_deliver(self) && (!st.buffer.empty() || (st.group && !st.group->markers.empty()));
}

// Whether the reader should ask the node for more: a fetch waits, or the subscriber has
// credit for more than the buffer holds and the buffer has room.
bool wants_data(reader_ptr self) {
    const auto& st = self->state;
    if (st.fetch_pending) {
        // A group reader may be held back (past its lease, recording a checkpoint): what it
        // holds stays bounded meanwhile.
        return !st.group || st.buffered_bytes < st.mode.buffer_bytes_max;
    }
    return st.sink && st.credit > st.buffer.size() && st.buffered_bytes < st.mode.buffer_bytes_max;
}

// A zero-wait fetch has its answer once every unfinished segment was asked in this fetch and
// has answered (so "nothing" really means "caught up", also right after a reconnect).
bool all_asked_and_answered(reader_ptr self) {
    const auto& st = self->state;
    if (!st.link.connected() || st.lookups > 0 || !st.buffer.empty()) {
        return false;  // (events held back: a group reader that may not deliver them yet)
    }
    for (const auto& s : st.segments) {
        if (!s.active) {
            continue;
        }
        if (!s.finished && (s.outstanding || s.asked_in_fetch != st.fetch_id)) {
            return false;
        }
        if (s.finished && !s.successors_known && !st.group) {
            return false;  // what follows it may hold events: not caught up yet
        }
    }
    return true;
}

bool all_finished(reader_ptr self) {
    if (self->state.group) {
        return false;  // the group may assign it more, whatever it read
    }
    if (self->state.lookups > 0 || !self->state.pending.empty()) {
        return false;
    }
    for (auto& s : self->state.segments) {
        // A finished segment ends the stream's range only once its successors are known (none:
        // the stream was sealed with it).
        if (!s.finished || !s.successors_known) {
            return false;
        }
    }
    return true;
}

void answer_fetch(reader_ptr self) {
    auto& st = self->state;
    if (!st.fetch_pending) {
        return;
    }
    if (st.failure) {
        st.fetch.deliver(st.failure);
        if (st.group && st.group->lost) {
            st.group->lost_told = true;
        }
        // A group reader the group lost fails every fetch from then on.
        st.failure = st.group && st.group->lost ? st.group->lost : caf::error{};
    } else {
        auto out = take(self, SIZE_MAX, SIZE_MAX);
        st.fetch.deliver(std::move(out), all_finished(self));
    }
    st.fetch_pending = false;
    ++st.fetch_id;
}

void maybe_answer(reader_ptr self) {
    auto& st = self->state;
    if (!st.fetch_pending) {
        return;
    }
    if (deliverable(self) || st.failure || all_finished(self) ||
        (st.fetch_wait_ms == 0 && all_asked_and_answered(self))) {
        answer_fetch(self);
    }
}

// The link broke (a store was lost, a request failed on `suspect`): attach again.
void lose_link(reader_ptr self, const caf::actor_addr& suspect = {}) {
    // A failure without progress, as the writer counts it: a reader whose reads keep failing
    // while its node still answers (a container without a leader) gives up after the retry
    // timeout instead of retrying forever.
    self->state.link.failed();
    self->state.link.restart(true, suspect);
}

// A new generation: answers to the reads in flight are void.
void forget_reads(reader_ptr self) {
    for (auto& s : self->state.segments) {
        if (s.outstanding) {
            // Its answer is lost with the link: not answered in this fetch, so a zero-wait fetch
            // asks it again after reconnecting (else the fetch would wait forever).
            s.asked_in_fetch = UINT64_MAX;
        }
        s.outstanding = false;
    }
}

// Sends the subscriber what its credit allows.
void push(reader_ptr self) {
    auto& st = self->state;
    while (st.sink && st.credit > 0 && deliverable(self)) {
        auto evs = take(self, std::min<uint64_t>(st.credit, push_events_max), push_bytes_max);
        st.credit -= evs.size();
        st.pushed += evs.size();
        PRAVAHA_ASSERT(st.pushed <= st.granted, "reader pushed {} events, credit granted {}",
                       st.pushed, st.granted);
        self->send(st.sink, events_atom::value, st.tag, std::move(evs), position_of(self));
    }
}

}  // namespace

// After new events, a failure or new demand: answers a waiting fetch, pushes to the
// subscriber, ends the reader when it is done (subscribed and at the end) or has failed in a
// mode that ends (subscribed, or exit_on_give_up), and asks the node for more.
void progress(reader_ptr self) {
    auto& st = self->state;
    auto failure = st.failure;
    maybe_answer(self);  // a waiting fetch gets the failure first
    if (failure && (st.sink || st.mode.exit_on_give_up)) {
        module_log("client")->warn("reader ends error={}", render_error(failure));
        self->quit(failure);
        return;
    }
    if (st.sink) {
        push(self);
        if (st.buffer.empty() && all_finished(self)) {
            self->send(st.sink, read_end_atom::value, st.tag, position_of(self));
            self->quit(caf::exit_reason::normal);
            return;
        }
    }
    if (st.group) {
        group_progress(self);
    }
    issue_reads(self);
}

namespace {

// -- following a scale ------------------------------------------------------------------------

// Starts reading `range` at offset 0 (a successor whose predecessors are all read).
void release(reader_ptr self, const segment_range& range) {
    auto& st = self->state;
    segment_reader r;
    r.key = segment_key{st.segments.front().key.stream, range.id};
    if (auto bound = st.mode.until.find(range.id.value); bound != st.mode.until.end()) {
        r.end = bound->second;  // a successor in the end cut
    }
    st.segments.push_back(r);
    auto first = st.link.add({r.key});
    PRAVAHA_ASSERT(first + 1 == st.segments.size(), "reader: link and segments disagree");
}

// Segment `ended` was read to its end: registers its successors, and releases those
// whose predecessors are now all read.
void on_successors(reader_ptr self, segment_id ended, const segment_successors& s) {
    auto& st = self->state;
    st.ended.insert(ended);
    for (const auto& succ : s.list) {
        bool after_cut = std::any_of(succ.predecessors.begin(), succ.predecessors.end(),
                                     [&](segment_id p) { return st.mode.until.count(p.value); });
        if (after_cut) {
            continue;  // follows a segment of the end cut: beyond what this reader reads
        }
        bool held =
            std::any_of(st.segments.begin(), st.segments.end(),
                        [&](const segment_reader& r) { return r.key.segment == succ.range.id; });
        if (held) {
            continue;
        }
        auto [it, fresh] = st.pending.try_emplace(succ.range.id);
        if (fresh) {
            it->second.range = succ.range;
            for (auto p : succ.predecessors) {
                if (st.ended.count(p) == 0 &&
                    !mutants::active(mutants::mutant::no_successor_gating)) {
                    it->second.waiting.insert(p);
                }
            }
        }
        it->second.waiting.erase(ended);
    }
    for (auto it = st.pending.begin(); it != st.pending.end();) {
        if (it->second.waiting.empty()) {
            release(self, it->second.range);
            it = st.pending.erase(it);
        } else {
            ++it;
        }
    }
}

// Asks (through the client's directory, which coalesces the questions of all readers of the
// segment) what follows a segment that was read to its end.
void ask_successors(reader_ptr self, size_t index) {
    auto& st = self->state;
    st.segments[index].successors_asked = true;
    ++st.lookups;
    auto id = st.segments[index].key.segment;
    self->request(st.link.endpoint().directory, caf::infinite, dir_query_atom::value,
                  successors_atom::value, st.scope, st.stream, id)
        .then(
            [=](const segment_successors& s) {
                --self->state.lookups;
                if (!s.sealed) {
                    // Its scale is still running (the controller tells successors once it is
                    // done); ask again shortly.
                    self->state.segments[index].successors_asked = false;
                    self->delayed_send(self, self->state.link.policy().first_pause,
                                       successors_atom::value, static_cast<uint64_t>(index));
                } else {
                    self->state.segments[index].successors_known = true;
                    on_successors(self, id, s);
                }
                progress(self);
            },
            [=](caf::error& err) {
                --self->state.lookups;
                self->state.segments[index].successors_asked = false;
                self->state.link.failed();
                module_log("client")->debug("reader successor lookup failed segment={} error={}",
                                            to_string(id), render_error(err));
                self->delayed_send(self, self->state.link.policy().max_pause,
                                   successors_atom::value, static_cast<uint64_t>(index));
            });
}

// The reader reached the end cut in `seg`: nothing more of it, and nothing after it, is read.
void end_at_cut(reader_ptr self, segment_reader& seg) {
    seg.finished = true;
    seg.successors_asked = true;
    seg.successors_known = true;
    self->state.ended.insert(seg.key.segment);
}

void issue_reads(reader_ptr self) {
    auto& st = self->state;
    if (!st.link.connected() || !wants_data(self)) {
        return;
    }
    for (size_t i = 0; i < st.segments.size(); ++i) {
        auto& seg = st.segments[i];
        if (!seg.active || seg.outstanding || seg.finished || !st.link.attached(i) ||
            (st.fetch_pending && st.fetch_wait_ms == 0 && seg.asked_in_fetch == st.fetch_id)) {
            continue;
        }
        seg.outstanding = true;
        seg.asked_in_fetch = st.fetch_id;
        auto gen = st.link.generation();
        auto grant = seg.grant;
        read_request req{seg.key, seg.offset, read_bytes,
                         st.fetch_pending && st.fetch_wait_ms == 0 ? 0u : poll_wait_ms};
        // The deadline is watched by the reader's one timer, not by a CAF request timeout.
        seg.deadline = self->clock().now() + st.link.endpoint().cfg.request_timeout +
                       std::chrono::milliseconds(req.wait_ms);
        st.deadlines.ensure(self, seg.deadline);
        self->request(st.link.store(i), caf::infinite, read_atom::value, req)
            .then(
                [=](read_result& r) {
                    auto& s = self->state;
                    if (gen != s.link.generation() || s.segments[i].grant != grant ||
                        !s.segments[i].active) {
                        return;  // a lost link's answer, or of a segment given back since
                    }
                    s.link.progressed();
                    auto& sg = s.segments[i];
                    sg.outstanding = false;
                    size_t pos = 0;
                    int64_t base = r.offset;
                    // A reader up to a stream cut takes nothing at or after the cut's offset.
                    auto end = sg.end;
                    while (pos < r.data.size() && base + static_cast<int64_t>(pos) < end) {
                        auto start = pos;
                        auto ev = next_event(r.data, pos);
                        if (!ev) {
                            s.failure = caf::make_error(errc::corrupt_data,
                                                        "bad event framing from the node");
                            break;
                        }
                        s.buffered_bytes += ev->size();
                        ++sg.held;
                        s.buffer.push_back(held_event{event{std::string(*ev),
                                                            sg.key.segment,
                                                            base + static_cast<int64_t>(start),
                                                            {}},
                                                      i});
                    }
                    sg.offset = std::min(r.next_offset, end);
                    if (sg.offset >= end) {
                        end_at_cut(self, sg);
                    } else {
                        sg.finished = r.sealed && sg.offset >= r.length;
                    }
                    if (sg.finished && !sg.successors_asked && !s.group) {
                        ask_successors(self, i);
                    }
                    progress(self);
                },
                [=](caf::error& err) {
                    auto& s = self->state;
                    if (gen != s.link.generation() || s.segments[i].grant != grant ||
                        !s.segments[i].active) {
                        return;
                    }
                    s.segments[i].outstanding = false;
                    if (needs_reconnect(err)) {
                        s.segments[i].asked_in_fetch = UINT64_MAX;  // ask again, see lose_link
                        lose_link(self, s.link.store(i).address());
                        return;
                    }
                    s.failure = err;
                    progress(self);
                });
    }
}

// The reader's timer fired: a read unanswered past its deadline is lost as a timed-out request
// would be (the link restarts); otherwise the timer is armed for the earliest deadline left.
void check_deadlines(reader_ptr self) {
    self->state.deadlines.on_fired(self, [self](auto now, auto note) {
        auto& st = self->state;
        for (size_t i = 0; i < st.segments.size(); ++i) {
            auto& seg = st.segments[i];
            if (!seg.outstanding) {
                continue;
            }
            if (seg.deadline <= now) {
                seg.outstanding = false;
                seg.asked_in_fetch = UINT64_MAX;  // ask again, see lose_link
                lose_link(self, st.link.store(i).address());
                return true;
            }
            note(seg.deadline);
        }
        return false;
    });
}

caf::behavior reader_impl(reader_ptr self,
                          endpoint_info ep,
                          stream_info info,
                          start_position from,
                          start_offsets offsets,
                          reader_mode mode) {
    auto& st = self->state;
    st.mode = mode;
    st.scope = info.record.scope;
    st.stream = info.record.name;
    // `offsets`, when given, is where every segment starts (start_of: each current segment; a
    // position or a stream cut: its segments, of whatever epochs, which the reader that took it
    // had released); the successors of those begin at 0 when their predecessors end.
    if (offsets.empty()) {
        for (const auto& s : info.segments) {
            offsets[s.id.value] = from == start_position::tail ? s.length : 0;
        }
    }
    for (const auto& [id, offset] : offsets) {
        segment_reader r;
        r.key = segment_key{info.record.uid, segment_id{id}};
        r.offset = offset;
        r.delivered = offset;
        r.confirmed = offset;
        auto bound = st.mode.until.find(id);
        if (bound != st.mode.until.end()) {
            r.end = bound->second;
        }
        st.segments.push_back(r);
    }
    for (auto& seg : st.segments) {
        if (seg.offset >= seg.end) {
            end_at_cut(self, seg);  // starts at the end cut already
        }
    }
    return start_reader(self, std::move(ep));
}

// `close`, with the events the facade fetched and did not return (`unread`): a group reader
// leaves its group at the position before them.
void close_reader(reader_ptr self,
                  const std::vector<event>& unread,
                  caf::typed_response_promise<bool> rp) {
    auto& st = self->state;
    if (!st.group) {
        rp.deliver(true);
        self->quit(caf::exit_reason::normal);
        return;
    }
    group_close(self, unread, std::move(rp));
}

}  // namespace

caf::behavior start_reader(reader_ptr self, endpoint_info ep) {
    auto& st = self->state;
    std::vector<segment_key> keys;
    for (const auto& seg : st.segments) {
        keys.push_back(seg.key);
    }
    node_link::events on_link;
    on_link.attached = [self] { progress(self); };
    on_link.reset = [self] { forget_reads(self); };
    on_link.gave_up = [self](const caf::error& err) {
        self->state.failure = err;
        progress(self);
    };
    st.link.start(self, std::move(ep), std::move(keys), std::move(on_link));
    self->set_down_handler([self](caf::down_msg& dm) {
        if (self->state.sink && dm.source == self->state.sink.address()) {
            // Nobody left to read for (a group reader leaves its group first).
            close_reader(self, {}, self->make_response_promise<bool>());
        }
    });
    return {
        [=](dir_lost_atom, const caf::actor_addr& store) {
            if (self->state.link.holds(store)) {
                lose_link(self);
            }
        },
        [=](subscribe_atom, const event_sink_actor& sink, uint64_t tag,
            uint32_t credit) -> caf::result<stream_position> {
            auto& s = self->state;
            if (s.sink || s.fetch_pending) {
                return caf::make_error(errc::invalid_argument,
                                       "the reader has a subscriber or a fetch already");
            }
            if (!sink) {
                return caf::make_error(errc::invalid_argument, "no subscriber");
            }
            s.sink = caf::actor_cast<caf::actor>(sink);
            s.tag = tag;
            s.credit = credit;
            s.granted = credit;
            self->monitor(s.sink);
            if (s.group) {
                group_on_fetch(self);  // what a fetch handed out before is taken
            }
            // Answered before the first push (which may follow at once).
            auto rp = self->make_response_promise<stream_position>();
            rp.deliver(position_of(self));
            progress(self);
            return rp;
        },
        [=](credit_atom, uint32_t more) {
            auto& s = self->state;
            if (!s.sink) {
                return;  // no subscriber (yet): nothing to grant to
            }
            s.credit = s.credit + more < s.credit ? UINT64_MAX : s.credit + more;
            s.granted = s.granted + more < s.granted ? UINT64_MAX : s.granted + more;
            progress(self);
        },
        [=](position_atom) { return position_of(self); },
        [=](fetch_atom, uint32_t wait_ms) -> caf::result<std::vector<event>, bool> {
            auto& s = self->state;
            if (s.sink) {
                return caf::make_error(errc::invalid_argument,
                                       "the reader pushes to a subscriber: no fetch");
            }
            if (s.fetch_pending) {
                // Its requester gave up waiting (the facade's request timed out while the node
                // was away): the events go to this fetch, the old one gets an error nobody
                // reads. Refusing this one instead would hand the events to the old one.
                s.fetch.deliver(caf::make_error(errc::timeout, "replaced by a newer fetch"));
                s.fetch_pending = false;
                ++s.fetch_id;
            }
            s.fetch = self->make_response_promise();
            s.fetch_pending = true;
            s.fetch_wait_ms = wait_ms;
            if (s.group) {
                group_on_fetch(self);  // what it handed out before is taken
            }
            if (deliverable(self) || s.failure) {
                answer_fetch(self);
            } else {
                // Ask every segment first: with wait 0, "all answered and nothing" is how the
                // caller learns it has caught up.
                issue_reads(self);
                if (s.fetch_pending && wait_ms > 0) {
                    self->delayed_send(self, std::chrono::milliseconds(wait_ms),
                                       fetch_timeout_atom::value, s.fetch_id);
                } else if (s.fetch_pending && s.group) {
                    // A group reader held back waits for its report's answer, but not until the
                    // caller gives up: then it answers what it may hand out (maybe nothing).
                    auto limit = std::min<std::chrono::milliseconds>(
                        s.link.endpoint().cfg.request_timeout / 2, std::chrono::seconds(2));
                    self->delayed_send(self, limit, fetch_timeout_atom::value, s.fetch_id);
                }
                maybe_answer(self);
            }
            return caf::delegated<std::vector<event>, bool>{};
        },
        [=](fetch_timeout_atom, uint64_t id) {
            if (self->state.fetch_pending && self->state.fetch_id == id) {
                answer_fetch(self);
            }
        },
        [=](close_atom) -> caf::result<bool> {
            auto rp = self->make_response_promise<bool>();
            close_reader(self, {}, rp);
            return rp;
        },
        [=](close_atom, std::vector<event>& unread) -> caf::result<bool> {
            auto rp = self->make_response_promise<bool>();
            close_reader(self, unread, rp);
            return rp;
        },
        [=](group_tick_atom) { group_tick(self); },
        [=](link_retry_atom, uint64_t gen) { self->state.link.retry(gen); },
        [=](deadline_atom) { check_deadlines(self); },
        [=](successors_atom, uint64_t index) {
            auto& seg = self->state.segments[index];
            if (seg.finished && !seg.successors_asked) {
                ask_successors(self, index);
            }
        },
    };
}

void drop_buffered(reader_ptr self, size_t index) {
    auto& st = self->state;
    for (auto it = st.buffer.begin(); it != st.buffer.end();) {
        if (it->index == index) {
            st.buffered_bytes -= it->ev.payload.size();
            it = st.buffer.erase(it);
        } else {
            ++it;
        }
    }
    st.segments[index].held = 0;
}

namespace {

class reader_facade final : public event_reader {
public:
    reader_facade(caf::actor bridge, caf::actor reader, std::chrono::milliseconds request_timeout)
        : bridge_(std::move(bridge)),
          actor_(std::move(reader)),
          request_timeout_(request_timeout) {}

    // A group reader leaves its group (without waiting for the answer).
    ~reader_facade() override {
        if (!closed_) {
            caf::anon_send(actor_, close_atom::value, unread());
        }
    }

    bool at_end() const override { return end_ && local_.empty(); }

    caf::error close() override {
        if (closed_) {
            return {};
        }
        closed_ = true;
        auto r = on_bridge<bool>(bridge_, [&](caf::event_based_actor* self, auto done) {
            self->request(actor_, caf::infinite, close_atom::value, unread())
                .then([done](bool ok) { done(ok); },
                      [done](caf::error& err) { done(std::move(err)); });
        });
        return r ? caf::error{} : std::move(r.error());
    }

    caf::expected<std::optional<event>> read_next(std::chrono::milliseconds timeout) override {
        if (closed_) {
            return caf::make_error(errc::invalid_argument, "the reader is closed");
        }
        if (local_.empty()) {
            auto wait_ms = static_cast<uint32_t>(std::max<int64_t>(timeout.count(), 0));
            auto limit = timeout + request_timeout_ + std::chrono::seconds(1);
            using fetched = std::pair<std::vector<event>, bool>;
            auto r = on_bridge<fetched>(bridge_, [&](caf::event_based_actor* self, auto done) {
                self->request(actor_, limit, fetch_atom::value, wait_ms)
                    .then(
                        [done](std::vector<event>& evs, bool end) {
                            done(fetched{std::move(evs), end});
                        },
                        [done](caf::error& err) { done(std::move(err)); });
            });
            if (!r) {
                return std::move(r.error());
            }
            local_.assign(std::make_move_iterator(r->first.begin()),
                          std::make_move_iterator(r->first.end()));
            end_ = r->second;
        }
        if (local_.empty()) {
            return std::optional<event>{};
        }
        auto ev = std::move(local_.front());
        local_.pop_front();
        return std::optional<event>{std::move(ev)};
    }

private:
    // The events fetched and not returned: a group reader's position stays before them.
    std::vector<event> unread() {
        std::vector<event> out(std::make_move_iterator(local_.begin()),
                               std::make_move_iterator(local_.end()));
        local_.clear();
        return out;
    }

    caf::actor bridge_;
    caf::actor actor_;
    std::chrono::milliseconds request_timeout_;
    std::deque<event> local_;
    bool end_ = false;
    bool closed_ = false;
};

}  // namespace

int64_t offset_after(const event& ev) {
    auto header =
        mutants::active(mutants::mutant::position_without_header) ? 0 : event_header_bytes;
    return ev.offset + header + static_cast<int64_t>(ev.payload.size());
}

caf::actor spawn_reader(caf::actor_system& sys,
                        const endpoint_info& ep,
                        const stream_info& info,
                        start_position from,
                        start_offsets offsets,
                        reader_mode mode) {
    return sys.spawn(reader_impl, ep, info, from, std::move(offsets), mode);
}

caf::expected<start_offsets> start_of(const stream_info& info,
                                      start_position from,
                                      const start_offsets& asked) {
    start_offsets start;
    for (const auto& seg : info.segments) {
        start[seg.id.value] = from == start_position::tail ? seg.length : 0;
    }
    bool earlier = std::any_of(asked.begin(), asked.end(), [&](const auto& a) {
        return segment_id{a.first}.epoch() < info.record.epoch &&
               std::none_of(info.segments.begin(), info.segments.end(),
                            [&](const segment_status& s) { return s.id.value == a.first; });
    });
    if (earlier) {
        // A position taken before a scale: its segments (they covered the key space then) are
        // where the reader starts, the current ones follow them as successors. A segment that
        // never existed fails the reader with segment_not_found, an offset beyond its end with
        // bad_offset.
        start.clear();
    }
    for (const auto& [seg, offset] : asked) {
        auto it = std::find_if(info.segments.begin(), info.segments.end(),
                               [seg = seg](const segment_status& s) { return s.id.value == seg; });
        if (it == info.segments.end() && segment_id{seg}.epoch() < info.record.epoch &&
            offset >= 0) {
            start[seg] = offset;
            continue;
        }
        if (it == info.segments.end()) {
            return caf::make_error(errc::invalid_argument,
                                   "segment " + std::to_string(seg) + " is not part of stream " +
                                       info.record.scope + "/" + info.record.name);
        }
        if (offset < 0 || offset > it->length) {
            return caf::make_error(errc::bad_offset, "offset " + std::to_string(offset) +
                                                         " is outside segment " +
                                                         std::to_string(seg) + " (length " +
                                                         std::to_string(it->length) + ")");
        }
        start[seg] = offset;
    }
    return start;
}

std::unique_ptr<event_reader> make_reader(const caf::actor& bridge,
                                          const caf::actor& reader,
                                          std::chrono::milliseconds request_timeout) {
    return std::make_unique<reader_facade>(bridge, reader, request_timeout);
}

}  // namespace pravaha::client::detail
