#pragma once

// Internal to client/reader.cpp and client/group_reader.cpp: the reader actor's state. A reader
// of a stream (reader.cpp) and a reader of a group (group_reader.cpp: its segments come from the
// group, and it reports to the group) share the reading, buffering and delivery; only the second
// has a `group_member`.

#include "client/internal.hpp"
#include "client/node_link.hpp"

#include <caf/actor_clock.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pravaha::client::detail {

/// `(group_tick_atom)`: a group reader's periodic report.
using group_tick_atom = caf::atom_constant<caf::atom("rgrouptick")>;

struct segment_reader {
    segment_key key;
    int64_t offset = 0;     // where the next read starts
    int64_t delivered = 0;  // after the last event handed out
    /// After the last event the application surely took: a pulling reader's events are taken
    /// once it fetches again (the facade fetches when it returned everything; at close it says
    /// what it did not return); a subscriber's once pushed. Group readers report this.
    int64_t confirmed = 0;
    /// Group readers: the group asked for it back while events handed out were not confirmed;
    /// given back at the next fetch.
    bool release_due = false;
    int64_t end = INT64_MAX;  // the reader takes nothing at or after this offset (an end cut)
    bool outstanding = false;
    caf::actor_clock::time_point deadline;  // of the outstanding read
    bool finished = false;                  // sealed and fully read, or read to `end`
    bool successors_asked = false;          // finished: what follows it was asked
    bool successors_known = false;          // finished: what follows it is registered
    uint64_t asked_in_fetch = UINT64_MAX;   // a zero-wait fetch asks each segment once
    size_t held = 0;                        // its events in the buffer
    /// Group readers: the segment is the reader's to read (not given back, not reported done).
    bool active = true;
    /// Group readers: bumped whenever the segment is taken again, so that the answer of a read
    /// issued while it was owned before is void.
    uint64_t grant = 0;
};

// A successor of a segment the reader read to its end, not read until every one of its
// predecessors is (successor gating: per key, a successor's events follow all of its
// predecessors' events).
struct pending_successor {
    segment_range range;
    std::set<segment_id> waiting;  // predecessors not yet read to their end
};

/// An event read and not yet handed out, with the index of its segment.
struct held_event {
    event ev;
    size_t index = 0;
};

/// A group reader's side of its membership.
struct group_member {
    group_membership joined;
    uint64_t session = 0;
    int64_t lease_ms = 0;
    /// No event is handed out from then on until a report is answered: 4/5 of a lease after the
    /// last answered report was sent (the group counts the lease from its arrival, later).
    caf::actor_clock::time_point deliver_until;
    bool syncing = false;     // a report is in flight
    bool sync_again = false;  // another report is due when it is answered
    bool recording = false;   // the report in flight records a checkpoint with a marker
    bool leaving = false;
    /// Since when reports go unanswered (none: the last one was answered).
    std::optional<caf::actor_clock::time_point> failing_since;
    /// Closes waiting for the report in flight (then the reader leaves) or for the leave.
    std::vector<caf::typed_response_promise<bool>> closing;
    // What the next report carries.
    std::vector<group_offset> finished;
    std::vector<group_offset> released;
    std::vector<std::string> recorded;
    bool record_with_marker = false;  // `recorded` holds a marker's checkpoint: hold delivery
    /// Checkpoints with a marker not yet handed out, and the one handed out last (a pulling
    /// reader records it when it is asked for more).
    std::deque<std::string> markers;
    std::optional<std::string> marked;
    /// Pending checkpoints it has seen (a marker queued, or recorded).
    std::set<std::string> seen;
    /// Set once the group told it it is offline (or the group is gone): every later fetch
    /// fails with it.
    caf::error lost;
    bool lost_told = false;  // a fetch answered `lost` (close then does not again)
};

struct reader_state {
    reader_state() = default;
    reader_state(const reader_state&) = delete;
    reader_state& operator=(const reader_state&) = delete;
    // A reader of the actor API that ends for another reason than its own (an exit message from
    // its owner or manager) answers a waiting fetch (see ~writer_state).
    ~reader_state() {
        if (mode.exit_on_give_up && fetch_pending) {
            fetch.deliver(caf::make_error(errc::unavailable, "the reader ended"));
        }
        if (group) {
            for (auto& rp : group->closing) {
                rp.deliver(caf::make_error(errc::unavailable, "the reader ended"));
            }
        }
    }
    node_link link;            // the segments' container leaders
    deadline_timer deadlines;  // of the outstanding reads (check_deadlines)
    reader_mode mode;
    std::vector<segment_reader> segments;
    std::string scope;
    std::string stream;
    std::map<segment_id, pending_successor> pending;
    std::set<segment_id> ended;  // segments read to their end
    size_t lookups = 0;          // successor queries in flight
    std::deque<held_event> buffer;
    size_t buffered_bytes = 0;  // payload bytes in `buffer`
    // The subscriber (push): events go to it while it has credit.
    caf::actor sink;
    uint64_t tag = 0;
    uint64_t credit = 0;
    uint64_t granted = 0;  // credit granted in all, saturating
    uint64_t pushed = 0;   // events sent in all: never above `granted`
    // The one pending fetch of the facade.
    caf::response_promise fetch;
    bool fetch_pending = false;
    uint64_t fetch_id = 0;
    uint32_t fetch_wait_ms = 0;
    caf::error failure;
    /// Group readers only.
    std::unique_ptr<group_member> group;
    static inline const char* name = "event_reader";
};

using reader_ptr = caf::stateful_actor<reader_state>*;

// -- reader.cpp ---------------------------------------------------------------------------------

/// After new events, a failure or new demand: answers a waiting fetch, pushes to the
/// subscriber, ends the reader when it is done or has failed in a mode that ends, and asks the
/// node for more.
void progress(reader_ptr self);

/// Starts the reader's link to `keys` (the reader's segments, in order) and returns its
/// behavior, shared by stream and group readers.
caf::behavior start_reader(reader_ptr self, endpoint_info ep);

/// Drops the buffered events of segment `index` (given back to the group).
void drop_buffered(reader_ptr self, size_t index);

// -- group_reader.cpp ---------------------------------------------------------------------------

/// Whether the reader may hand out events now (always, but for a group reader past its lease
/// or recording a checkpoint).
bool may_deliver(reader_ptr self);

/// The next checkpoint marker to hand out, if one is due (a group reader's).
std::optional<event> next_marker(reader_ptr self);

/// A group reader's duties after progress: report the segments it read to their end and
/// handed out, report at once when it may no longer deliver.
void group_progress(reader_ptr self);

/// A pulling group reader is asked for more (everything handed out before is taken): it
/// records the checkpoint it marked last, gives back what it was asked for and reports what it
/// read to the end.
void group_on_fetch(reader_ptr self);

/// `(group_tick_atom)`.
void group_tick(reader_ptr self);

/// `close`: a group reader leaves its group (at the position before `unread`, the events the
/// caller fetched and did not take), then ends; `rp` gets true or the error.
void group_close(reader_ptr self,
                 const std::vector<event>& unread,
                 caf::typed_response_promise<bool> rp);

}  // namespace pravaha::client::detail
