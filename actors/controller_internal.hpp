#pragma once

// Internal to actors/: the controller actor's state and the helpers its parts share
// (controller.cpp: scopes, streams, scales; controller_groups.cpp: reader groups).

#include "actors/actors.hpp"
#include "actors/raft_driver.hpp"
#include "actors/raft_routes.hpp"
#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "storage/storage.hpp"

#include <caf/actor_clock.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <fmt/format.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace pravaha::actors::ctl {

using command = storage::controller_state::command;
using outcome = storage::controller_state::outcome;
using stream_name = std::pair<std::string, std::string>;

// A proposed metadata command, continued on the leader when its entry is applied.
struct pending_command {
    uint64_t term = 0;
    std::function<void(const caf::error&, const outcome*)> done;
};

// A command waiting for the standalone controller's next group commit (commit()).
struct queued_command {
    command c;
    std::function<void(const caf::error&, const outcome*)> done;
};

/// What the controller publishes for the node's metrics (read by scrapes on another thread):
/// its metadata's counts while this replica leads (standalone: always), and the reader groups
/// with a readers-online series. One per process (controller.cpp, process_gauges).
struct controller_gauges {
    std::mutex mutex;
    storage::controller_state::counts_t counts;  ///< empty where this replica does not lead
    std::set<std::string> group_series;
    /// Per reader group ("scope/name"): its unread bytes as last refreshed (-1: not known).
    std::map<std::string, int64_t> unread_bytes;
    std::set<std::pair<std::string, uint64_t>> stream_series;  ///< --metrics-per-stream
};

struct controller_state_t {
    controller_config cfg;
    uint64_t published_applied = 0;  ///< the applied index publish_counts last published
    caf::actor_clock::time_point published_at{};  ///< and when
    std::shared_ptr<storage::controller_state> meta;
    std::shared_ptr<raft_driver> raft;  // cluster mode
    std::map<uint64_t, pending_command> proposed;
    /// Standalone: the commands of the next group commit, applied together in one message
    /// handler with one fsync (flush_commands), so nothing reads a change before it is durable.
    std::vector<queued_command> queued;
    bool flush_scheduled = false;
    raft_routes routes;  // where Raft messages go (cluster mode)
    bool repair_scheduled = false;
    bool was_leader = false;
    /// The stream mutex: streams whose segment workflow (create, seal, delete, scale) runs on
    /// this leader, with its name. Another workflow of the stream is refused with conflict
    /// meanwhile, so that the containers never see two workflows of a stream interleaved.
    /// Idempotent workflows of one kind (two seals, a create and its retry) may overlap: the
    /// count says how many run.
    std::map<stream_name, std::pair<const char*, int>> driving;
    /// Scale requests answered once their scale (stream, target epoch) is done.
    std::map<std::pair<stream_name, uint32_t>,
             std::vector<std::pair<caf::typed_response_promise<scale_result>, scale_result>>>
        scale_waiters;
    /// The scaling-policy actor of every active stream with an automatic policy (leader only).
    std::map<stream_name, caf::actor> policies;
    bool policy_sync_scheduled = false;
    /// The reader-group actor of every group (leader only).
    std::map<stream_name, caf::actor> groups;
    bool group_sync_scheduled = false;
    /// Checkpoint requests (group, checkpoint) answered once their checkpoint completes.
    std::map<std::tuple<std::string, std::string, std::string>,
             std::vector<caf::typed_response_promise<std::vector<stream_cut>>>>
        checkpoint_waiters;
    /// The transaction actor of every open transaction, by id (leader only).
    std::map<uint64_t, caf::actor> txns;
    bool txn_sync_scheduled = false;
    /// Commit and abort requests answered once their transaction (by id) ended.
    std::map<uint64_t, std::vector<caf::typed_response_promise<txn_record>>> txn_waiters;
    /// Committing transactions whose every part is merged (visible, so the commit can no longer
    /// be undone) while their `txn_done` is still being recorded (leader only): answered and
    /// reported committed; the commit driver goes on to the next one.
    std::set<uint64_t> merged_txns;
    /// Seals waiting for the stream's committing transactions to end (leader only).
    std::map<stream_name, std::vector<caf::typed_response_promise<stream_record>>> seal_waiters;
    static inline const char* name = "controller";
};

using controller_ptr = controller_actor::stateful_pointer<controller_state_t>;

bool is_leader(controller_ptr self);
caf::error not_leader(controller_ptr self);
// Runs the Raft driver after an input: persists, sends, applies; follows leadership changes.
void drive(controller_ptr self);
/// Publishes the metadata's counts for the node's metrics (`leads`: 0 on the others).
void publish_counts(controller_ptr self, bool leads);
// Commits `c` and calls `done` with its outcome once applied, or with an error when its outcome
// is unknown (not_leader, a storage error).
void commit(controller_ptr self,
            const command& c,
            std::function<void(const caf::error&, const outcome*)> done);
// Commits `c` and answers `rp` with `pick(outcome)` once applied, or with the error.
template <class T, class Pick>
void commit_answer(controller_ptr self,
                   const command& c,
                   caf::typed_response_promise<T> rp,
                   Pick pick) {
    commit(self, c, [rp, pick](const caf::error& err, const outcome* out) mutable {
        if (err || out->error) {
            rp.deliver(err ? err : out->error);
        } else {
            rp.deliver(pick(*out));
        }
    });
}

// Sends `n` requests at once (`send(i, ok, fail)`: each answer calls `ok()` or `fail(error)`) and
// calls `then` with the first error, or none once all succeeded. Never awaits: the controller
// keeps serving Raft meanwhile.
template <class Send>
void all_then(size_t n, Send send, std::function<void(const caf::error&)> then) {
    if (n == 0) {
        then({});
        return;
    }
    auto remaining = std::make_shared<size_t>(n);
    auto failed = std::make_shared<bool>(false);
    auto ok = [=] {
        if (--*remaining == 0 && !*failed) {
            then({});
        }
    };
    auto fail = [=](const caf::error& err) {
        if (!*failed) {
            *failed = true;
            then(err);
        }
    };
    for (size_t i = 0; i < n; ++i) {
        send(i, ok, fail);
    }
}

// Runs one segment operation for each of `keys` and calls `then` with the first error (or none)
// when all have answered. Never awaits: the controller keeps serving Raft meanwhile (a container
// electing its leader can take longer than the controller's election timeout); the order of
// workflows on a stream comes from the stream mutex (`driving`).
template <class Atom>
void for_segments_then(controller_ptr self,
                       const std::vector<segment_key>& keys,
                       std::function<void(const caf::error&)> then) {
    all_then(
        keys.size(),
        [self, keys](size_t i, auto ok, auto fail) {
            self->request(self->state.cfg.container, self->state.cfg.request_timeout, Atom::value,
                          keys[i])
                .then([ok](bool) { ok(); }, [fail](caf::error& err) { fail(err); });
        },
        std::move(then));
}

inline std::vector<segment_key> keys_of(stream_uid uid, const std::vector<segment_range>& ranges) {
    std::vector<segment_key> keys;
    keys.reserve(ranges.size());
    for (const auto& r : ranges) {
        keys.push_back({uid, r.id});
    }
    return keys;
}

inline std::vector<segment_key> keys_of(stream_uid uid, const std::vector<segment_id>& ids) {
    std::vector<segment_key> keys;
    keys.reserve(ids.size());
    for (auto id : ids) {
        keys.push_back({uid, id});
    }
    return keys;
}

// Asks every segment's status and calls `then` with all of them in the order of `keys`, or with
// the first error.
void statuses_then(controller_ptr self,
                   const std::vector<segment_key>& keys,
                   std::function<void(caf::expected<std::vector<segment_status>>)> then);

// Answers a query from the metadata once this leader's state holds everything the group
// committed before the query arrived (raft_driver::linearize): a new leader may not have applied
// its predecessor's commands yet, and a paused or cut-off leader may have been replaced.
// `answer(rp)` delivers to `rp`.
template <class T>
caf::result<T> linearized(controller_ptr self,
                          std::function<void(caf::typed_response_promise<T>&)> answer) {
    if (!is_leader(self)) {
        return not_leader(self);
    }
    auto rp = self->make_response_promise<T>();
    if (!self->state.raft) {
        answer(rp);
        return rp;
    }
    self->state.raft->linearize([rp, answer](const caf::error& err) mutable {
        if (err) {
            rp.deliver(err);
        } else {
            answer(rp);
        }
    });
    drive(self);
    return rp;
}

// Delivers `r` (a value or an error) to `rp`.
template <class T>
void deliver(caf::typed_response_promise<T>& rp, caf::expected<T> r) {
    if (r) {
        rp.deliver(std::move(*r));
    } else {
        rp.deliver(std::move(r.error()));
    }
}

// Answers every request waiting in `waiters` (a map of lists of response promises) with
// not_leader and empties it: what they wait for is decided on the new leader now.
template <class Waiters>
void fail_waiters(controller_ptr self, Waiters& waiters) {
    auto all = std::move(waiters);
    waiters.clear();
    for (auto& [key, list] : all) {
        for (auto& rp : list) {
            rp.deliver(not_leader(self));
        }
    }
}

// Brings the child actors `children` (one per stream or group) in line with `wanted`: stops those
// not wanted, and for each wanted name without one calls `spawn(name, value)`, monitors and keeps
// the actor it returns.
template <class Key, class Wanted, class Spawn>
void sync_children(controller_ptr self,
                   std::map<Key, caf::actor>& children,
                   const Wanted& wanted,
                   Spawn spawn) {
    for (auto it = children.begin(); it != children.end();) {
        if (wanted.count(it->first) == 0) {
            self->demonitor(it->second);
            self->send_exit(it->second, caf::exit_reason::user_shutdown);
            it = children.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& [n, value] : wanted) {
        if (children.count(n) == 0) {
            auto a = spawn(n, value);
            self->monitor(a);
            children.emplace(n, a);
        }
    }
}

// A child of `children` ended: forgets it and, once, asks for `Atom` after a second (which
// starts it again if still wanted). Returns false when `dm` is from none of them.
inline std::string name_of(const stream_name& n) {
    return n.first + "/" + n.second;
}
inline std::string name_of(uint64_t id) {
    return txn_id_text(id);
}

template <class Atom, class Key>
bool on_child_down(controller_ptr self,
                   std::map<Key, caf::actor>& children,
                   bool& scheduled,
                   const caf::down_msg& dm,
                   const char* what) {
    for (auto it = children.begin(); it != children.end(); ++it) {
        if (it->second.address() == dm.source) {
            module_log("actors")->info("{} ended name={} reason={}", what, name_of(it->first),
                                       render_error(dm.reason));
            children.erase(it);
            if (!scheduled) {
                scheduled = true;
                self->delayed_send(self, std::chrono::seconds(1), Atom::value);
            }
            return true;
        }
    }
    return false;
}

// The stream mutex (controller.cpp): takes it for workflow `what`, false while another holds it.
bool begin_drive(controller_ptr self, const stream_name& n, const char* what);
void end_drive(controller_ptr self, const stream_name& n);
// Runs the repair in a second (once, however often asked), while this replica leads.
void schedule_repair(controller_ptr self);
// Seals a stream (its open transactions aborted); while a transaction of it commits, waits for
// the commit to end first (Pravega's seal lets committing transactions finish).
void seal_stream(controller_ptr self,
                 const std::string& scope,
                 const std::string& name,
                 caf::typed_response_promise<stream_record> rp);
// Runs the seals that waited for stream `n`'s commits (each waits again if one still commits).
void wake_seals(controller_ptr self, const stream_name& n);
// Runs the actions of `rec`'s scale transition and commits scale_done, holding the stream
// mutex; nothing for a roll (the commit workflow runs it).
void run_scale(controller_ptr self, const stream_record& rec);

// -- transactions (controller_txns.cpp) ----------------------------------------------------------

caf::result<txn_record> txn_call(controller_ptr self, const txn_request& req);
caf::result<std::vector<txn_record>> txn_list(controller_ptr self,
                                              const std::string& scope,
                                              const std::string& name);
// Merges the stream's committing transactions in commit order (the "commit" workflow).
void run_commits(controller_ptr self, const stream_name& n);
// Deletes an aborting transaction's segments and records it aborted.
void run_abort(controller_ptr self, const txn_record& t);
// Finishes what a crash or a change of leader cut short (after a linearized read).
void resume_txns(controller_ptr self);
// What a committed command means for transactions (a seal aborted some).
void after_txn_command(controller_ptr self, const command& c, const outcome& out);
// Starts and stops the transaction actors: one per open transaction while this replica leads
// (leaving leadership also fails the waiting commits and aborts: their outcome is unknown here).
void sync_txns(controller_ptr self);
// A child actor ended: a transaction actor is started again after a pause. Returns false when
// `dm` is not from a transaction actor.
bool on_txn_down(controller_ptr self, const caf::down_msg& dm);
// A transaction actor saw its lease or lifetime pass: aborts it if still open.
caf::result<bool> txn_expire(controller_ptr self,
                             const std::string& scope,
                             const std::string& stream,
                             uint64_t id,
                             const std::string& reason);

// -- reader groups (controller_groups.cpp) -------------------------------------------------------

// What a committed group command means for the group actors and the checkpoint waiters.
void after_group_command(controller_ptr self, const command& c, const outcome& out);
// Starts and stops the reader-group actors: one per group while this replica leads.
void sync_groups(controller_ptr self);
// A child actor ended: a group actor is started again after a pause. Returns false when `dm` is
// not from a group actor.
bool on_group_down(controller_ptr self, const caf::down_msg& dm);
// The handlers of the group messages.
caf::result<group_info> group_create(controller_ptr self,
                                     const std::string& scope,
                                     const std::string& name,
                                     group_config cfg);
caf::result<group_info> group_info_of(controller_ptr self,
                                      const std::string& scope,
                                      const std::string& name);
// The description of group `g` with its unread bytes (every current segment's length asked of
// its container; -1 where one could not be asked) to `then`.
void describe_group_then(controller_ptr self,
                         const reader_group_record& g,
                         std::function<void(group_info)> then);
// Refreshes every reader group's unread bytes for the metrics (process_gauges), while this
// replica leads; runs again after cfg.group_lag_every.
void refresh_group_lag(controller_ptr self);
caf::result<group_assignment> group_join_or_sync(controller_ptr self,
                                                 bool join,
                                                 const std::string& scope,
                                                 const std::string& name,
                                                 const group_sync& req);
caf::result<bool> group_simple(controller_ptr self, const command& c);
caf::result<std::vector<stream_cut>> group_checkpoint(controller_ptr self,
                                                      const std::string& scope,
                                                      const std::string& name,
                                                      const std::string& checkpoint);
caf::result<uint32_t> group_reset(controller_ptr self,
                                  const std::string& scope,
                                  const std::string& name,
                                  const std::string& checkpoint,
                                  const std::vector<stream_cut>& cuts,
                                  uint32_t seen);

}  // namespace pravaha::actors::ctl
