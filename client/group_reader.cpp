// A reader of a reader group (ARCHITECTURE.md "Reader groups"): the reader actor of reader.cpp,
// whose segments come from the group. It reports to the group (positions, segments read to their
// end, segments given back, checkpoints recorded) at least every lease / 4 and at once when
// something must be told; every answer is its whole assignment. It hands out nothing once 4/5 of
// a lease passed since it sent its last answered report, so a reader cut off from its group
// stops before the group gives its segments to another reader.

#include "client/reader_internal.hpp"
#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/mutants.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>

#include <algorithm>

namespace pravaha::client::detail {

namespace {

// How often a reader reports: a quarter of its lease, at most every second.
std::chrono::milliseconds report_period(int64_t lease_ms) {
    return std::chrono::milliseconds(std::clamp<int64_t>(lease_ms / 4, 10, 1000));
}

std::optional<size_t> index_of(reader_ptr self, const segment_key& key) {
    const auto& segs = self->state.segments;
    for (size_t i = 0; i < segs.size(); ++i) {
        if (segs[i].key == key) {
            return i;
        }
    }
    return std::nullopt;
}

// Whether `key` was given back or read to its end and the group has not been told yet.
bool to_report(reader_ptr self, const segment_key& key) {
    const auto& g = *self->state.group;
    auto listed = [&](const std::vector<group_offset>& v) {
        return std::any_of(v.begin(), v.end(), [&](const group_offset& o) { return o.key == key; });
    };
    auto idx = index_of(self, key);
    return listed(g.finished) || listed(g.released) ||
           (idx && self->state.segments[*idx].release_due);
}

// Stops reading segment `index` (its buffered events are dropped).
void stop_reading(reader_ptr self, size_t index) {
    auto& seg = self->state.segments[index];
    seg.active = false;
    seg.outstanding = false;
    drop_buffered(self, index);
}

// The report the reader sends now: what it must tell, and the positions of what it reads.
group_sync report_of(reader_ptr self) {
    auto& st = self->state;
    auto& g = *st.group;
    group_sync req;
    req.reader = g.joined.reader;
    req.session = g.session;
    req.nonce = g.joined.nonce;
    req.wants = true;
    for (const auto& seg : st.segments) {
        if (seg.active) {
            // Only what the application surely took: a crash repeats the rest, never loses it.
            req.positions.push_back(group_offset{seg.key, seg.confirmed});
        }
    }
    req.finished = std::move(g.finished);
    req.released = std::move(g.released);
    req.recorded = std::move(g.recorded);
    g.finished.clear();
    g.released.clear();
    g.recorded.clear();
    return req;
}

// The group no longer has this reader (or is gone, or could not be reached within the retry
// timeout): it reads nothing more, and every fetch fails with `err`.
void lose_group(reader_ptr self, caf::error err) {
    auto& st = self->state;
    auto& g = *st.group;
    module_log("client")->info("group reader leaves group={}/{} reader={} error={}", g.joined.scope,
                               g.joined.group, g.joined.reader, render_error(err));
    for (size_t i = 0; i < st.segments.size(); ++i) {
        if (st.segments[i].active) {
            stop_reading(self, i);
        }
    }
    g.markers.clear();
    g.marked.reset();
    g.lost = err;
    st.failure = std::move(err);
    progress(self);
}

void apply_assignment(reader_ptr self,
                      const group_assignment& a,
                      caf::actor_clock::time_point sent,
                      bool first);

// Sends a report now, or after the one in flight.
void report(reader_ptr self) {
    auto& st = self->state;
    auto& g = *st.group;
    if (g.lost || g.leaving) {
        return;
    }
    if (g.syncing) {
        g.sync_again = true;
        return;
    }
    g.syncing = true;
    g.recording = g.record_with_marker;
    g.record_with_marker = false;
    auto sent = self->clock().now();
    auto req = report_of(self);
    // Each try is short (a node whose request waits on a controller leader that died answers
    // late): the reader tries again at once rather than let its lease pass.
    auto attempt = std::clamp<std::chrono::milliseconds>(
        std::chrono::milliseconds(g.lease_ms / 4), std::chrono::milliseconds(250),
        std::max(st.link.endpoint().cfg.request_timeout, std::chrono::milliseconds(250)));
    self->request(g.joined.manager, attempt, group_sync_atom::value, g.joined.scope, g.joined.group,
                  req)
        .then(
            [self, sent](group_assignment& a) {
                auto& gm = *self->state.group;
                gm.syncing = false;
                gm.recording = false;
                gm.failing_since.reset();
                if (gm.lost || gm.leaving) {
                    return;
                }
                apply_assignment(self, a, sent, false);
                if (!gm.closing.empty()) {
                    auto rp = std::move(gm.closing.front());
                    gm.closing.erase(gm.closing.begin());
                    group_close(self, {}, std::move(rp));
                    return;
                }
                if (gm.sync_again) {
                    gm.sync_again = false;
                    report(self);
                }
                progress(self);
            },
            [self, req](caf::error& err) {
                auto& gm = *self->state.group;
                gm.syncing = false;
                auto now = self->clock().now();
                if (!gm.failing_since) {
                    gm.failing_since = now;
                }
                bool retry = err == caf::sec::request_timeout && !gm.lost && !gm.leaving &&
                             now - *gm.failing_since < self->state.link.policy().give_up_after;
                if (retry) {
                    // What it told goes again with the next report (the group takes a report
                    // twice as once).
                    auto again = [](auto& into, const auto& from) {
                        into.insert(into.begin(), from.begin(), from.end());
                    };
                    again(gm.finished, req.finished);
                    again(gm.released, req.released);
                    again(gm.recorded, req.recorded);
                    gm.record_with_marker = gm.record_with_marker || gm.recording;
                    gm.recording = false;
                    module_log("client")->debug("group reader report unanswered reader={}",
                                                gm.joined.reader);
                    report(self);
                    return;
                }
                gm.recording = false;
                if (!gm.lost && !gm.leaving) {
                    lose_group(self, std::move(err));
                }
                if (!gm.closing.empty()) {
                    auto rp = std::move(gm.closing.front());
                    gm.closing.erase(gm.closing.begin());
                    group_close(self, {}, std::move(rp));
                }
            });
}

// The group's answer: the reader's segments (new ones are read from the group's offset), what
// to give back, the checkpoints to mark or record.
void apply_assignment(reader_ptr self,
                      const group_assignment& a,
                      caf::actor_clock::time_point sent,
                      bool first) {
    auto& st = self->state;
    auto& g = *st.group;
    g.session = a.session;
    g.lease_ms = a.lease_ms;
    g.deliver_until = sent + std::chrono::milliseconds(a.lease_ms - a.lease_ms / 5);
    std::set<segment_key> listed;
    std::vector<segment_key> added;
    for (const auto& as : a.segments) {
        listed.insert(as.key);
        auto end = as.end_offset < 0 ? INT64_MAX : as.end_offset;
        auto idx = index_of(self, as.key);
        if ((idx && st.segments[*idx].active) || to_report(self, as.key)) {
            continue;  // read already, or the group hears of it with the next report
        }
        if (!idx) {
            segment_reader r;
            r.key = as.key;
            st.segments.push_back(r);
            idx = st.segments.size() - 1;
            added.push_back(as.key);
        }
        auto& seg = st.segments[*idx];
        seg.active = true;
        ++seg.grant;
        seg.offset = as.offset;
        seg.delivered = as.offset;
        seg.confirmed = as.offset;
        seg.end = end;
        seg.finished = seg.offset >= seg.end;
        seg.outstanding = false;
        seg.held = 0;
        seg.asked_in_fetch = UINT64_MAX;
    }
    if (!first && !added.empty()) {
        st.link.add(std::move(added));
    }
    bool tell = false;
    for (size_t i = 0; i < st.segments.size(); ++i) {
        auto& seg = st.segments[i];
        if (!seg.active) {
            continue;
        }
        bool release = std::find(a.release.begin(), a.release.end(), seg.key) != a.release.end();
        if (release) {
            // Given back where the reader handed out up to: nothing lost, nothing twice; once
            // the application took what was handed out (the next fetch), so that a close
            // before then can still give back what it did not return.
            stop_reading(self, i);
            if (seg.confirmed == seg.delivered) {
                g.released.push_back(group_offset{seg.key, seg.delivered});
                tell = true;
            } else {
                seg.release_due = true;
            }
        } else if (listed.count(seg.key) == 0) {
            stop_reading(self, i);  // no longer the reader's (the group is the authority)
        }
    }
    std::set<std::string> pending;
    for (const auto& name : a.checkpoints) {
        pending.insert(name);
        if (g.seen.insert(name).second) {
            g.markers.push_back(name);
        }
    }
    for (const auto& name : a.silent_checkpoints) {
        pending.insert(name);
        if (g.seen.insert(name).second) {
            g.recorded.push_back(name);  // silent: recorded with the next report
            tell = true;
        }
    }
    for (auto it = g.seen.begin(); it != g.seen.end();) {
        bool held = std::find(g.markers.begin(), g.markers.end(), *it) != g.markers.end() ||
                    g.marked == *it ||
                    std::find(g.recorded.begin(), g.recorded.end(), *it) != g.recorded.end();
        it = pending.count(*it) == 0 && !held ? g.seen.erase(it) : std::next(it);
    }
    if (tell && !first) {
        report(self);
    }
}

caf::behavior group_reader_impl(reader_ptr self,
                                endpoint_info ep,
                                group_membership member,
                                reader_mode mode) {
    auto& st = self->state;
    st.mode = std::move(mode);
    st.scope = member.scope;
    st.stream = member.group;
    st.group = std::make_unique<group_member>();
    st.group->joined = std::move(member);
    const auto& joined = st.group->joined;
    apply_assignment(self, joined.joined, joined.asked_at, true);
    auto behavior = start_reader(self, std::move(ep));
    self->send(self, group_tick_atom::value);  // sends what the join's answer asked for
    return behavior;
}

}  // namespace

bool may_deliver(reader_ptr self) {
    const auto& st = self->state;
    if (!st.group) {
        return true;
    }
    const auto& g = *st.group;
    if (g.lost || g.leaving || !g.closing.empty() || g.recording || g.record_with_marker) {
        return false;
    }
    return mutants::active(mutants::mutant::offline_reader_keeps_reading) ||
           self->clock().now() < g.deliver_until;
}

std::optional<event> next_marker(reader_ptr self) {
    auto& st = self->state;
    if (!st.group || st.group->markers.empty()) {
        return std::nullopt;
    }
    auto& g = *st.group;
    event marker;
    marker.checkpoint = g.markers.front();
    g.markers.pop_front();
    if (st.sink) {
        // A subscriber took it: recorded now (nothing is handed out until the group has it).
        g.recorded.push_back(marker.checkpoint);
        g.record_with_marker = true;
        report(self);
    } else {
        g.marked = marker.checkpoint;  // recorded when the reader is asked for more
    }
    return marker;
}

// What the application took is confirmed (`unread`: what it did not take, none when empty);
// segments due to be given back go back now.
void confirm(reader_ptr self, const std::vector<event>& unread) {
    auto& st = self->state;
    auto& g = *st.group;
    for (const auto& ev : unread) {
        for (auto& seg : st.segments) {
            if ((seg.active || seg.release_due) && seg.key.segment == ev.segment &&
                ev.checkpoint.empty()) {
                seg.delivered = std::min(seg.delivered, ev.offset);
            }
        }
    }
    for (auto& seg : st.segments) {
        seg.confirmed = seg.delivered;
        if (seg.release_due) {
            seg.release_due = false;
            g.released.push_back(group_offset{seg.key, seg.delivered});
        }
    }
}

void group_on_fetch(reader_ptr self) {
    auto& g = *self->state.group;
    if (g.lost || g.leaving) {
        return;
    }
    auto released = g.released.size();
    confirm(self, {});
    if (g.marked) {
        g.recorded.push_back(*g.marked);
        g.marked.reset();
        g.record_with_marker = true;
    }
    if (g.record_with_marker || g.released.size() > released) {
        report(self);
    }
    group_progress(self);
}

void group_progress(reader_ptr self) {
    auto& st = self->state;
    auto& g = *st.group;
    if (g.lost || g.leaving) {
        return;
    }
    bool tell = false;
    for (size_t i = 0; i < st.segments.size(); ++i) {
        auto& seg = st.segments[i];
        // Read to its end and every event taken: the group hands out what follows it.
        if (seg.active && seg.finished && seg.held == 0 && seg.confirmed == seg.delivered) {
            seg.active = false;
            g.finished.push_back(group_offset{seg.key, seg.delivered});
            tell = true;
        }
    }
    if (tell || (!g.syncing && !may_deliver(self) && !g.record_with_marker)) {
        report(self);
    }
}

void group_tick(reader_ptr self) {
    auto& g = *self->state.group;
    if (g.lost || g.leaving) {
        return;
    }
    if (!g.syncing) {
        report(self);
    }
    self->delayed_send(self, report_period(g.lease_ms), group_tick_atom::value);
}

namespace {

// Answers every waiting close with `err` (none: true) and ends the reader.
void end_closing(reader_ptr self, const caf::error& err) {
    auto& g = *self->state.group;
    for (auto& rp : g.closing) {
        if (err) {
            rp.deliver(err);
        } else {
            rp.deliver(true);
        }
    }
    g.closing.clear();
    self->quit(caf::exit_reason::normal);
}

}  // namespace

void group_close(reader_ptr self,
                 const std::vector<event>& unread,
                 caf::typed_response_promise<bool> rp) {
    auto& st = self->state;
    auto& g = *st.group;
    if (g.lost) {
        // Not in the group any more (its segments went back at its last reported position):
        // said once, by a fetch or by the close.
        g.closing.push_back(std::move(rp));
        end_closing(self, g.lost_told ? caf::error{} : g.lost);
        return;
    }
    if (g.syncing || g.leaving) {
        // The leave goes after the report in flight, which may tell segments read to their end;
        // a close during the leave is answered with it.
        confirm(self, unread);
        g.closing.push_back(std::move(rp));
        return;
    }
    confirm(self, unread);
    auto req = report_of(self);
    g.leaving = true;
    for (size_t i = 0; i < st.segments.size(); ++i) {
        if (st.segments[i].active) {
            stop_reading(self, i);
        }
    }
    // The close waits with the others (a reader that ends before the leave is answered, a read
    // failing for good, answers them all: ~reader_state).
    g.closing.push_back(std::move(rp));
    self->request(g.joined.manager, caf::infinite, group_leave_atom::value, g.joined.scope,
                  g.joined.group, std::move(req))
        .then([self](bool) { end_closing(self, caf::error{}); },
              [self](caf::error& err) { end_closing(self, err); });
}

caf::actor spawn_group_reader(caf::actor_system& sys,
                              const endpoint_info& ep,
                              group_membership member,
                              reader_mode mode) {
    return sys.spawn(group_reader_impl, ep, std::move(member), std::move(mode));
}

}  // namespace pravaha::client::detail
