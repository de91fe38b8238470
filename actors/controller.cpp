#include "actors/actors.hpp"
#include "actors/client_access.hpp"
#include "actors/controller_internal.hpp"
#include "actors/raft_driver.hpp"
#include "actors/raft_routes.hpp"
#include "actors/scaling_policy.hpp"
#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/metrics.hpp"
#include "schema/names.hpp"
#include "storage/storage.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <mutex>

namespace pravaha::actors {

namespace ctl {

// Asks every segment's status and calls `then` with all of them in the order of `keys`, or with
// the first error.
void statuses_then(controller_ptr self,
                   const std::vector<segment_key>& keys,
                   std::function<void(caf::expected<std::vector<segment_status>>)> then) {
    auto out = std::make_shared<std::vector<segment_status>>(keys.size());
    auto remaining = std::make_shared<size_t>(keys.size());
    auto failed = std::make_shared<bool>(false);
    if (keys.empty()) {
        then(*out);
        return;
    }
    for (size_t i = 0; i < keys.size(); ++i) {
        self->request(self->state.cfg.container, self->state.cfg.request_timeout,
                      segment_status_atom::value, keys[i])
            .then(
                [=](const segment_status& st) {
                    (*out)[i] = st;
                    if (--*remaining == 0 && !*failed) {
                        then(std::move(*out));
                    }
                },
                [=](caf::error& err) {
                    if (!*failed) {
                        *failed = true;
                        then(std::move(err));
                    }
                });
    }
}

// Answers `rp` with the record, every current segment's length and seal state, and the
// predecessors of the segments a scale created.
void collect_info(controller_ptr self,
                  const stream_record& rec,
                  const std::vector<epoch_info>& history,
                  caf::typed_response_promise<stream_info> rp) {
    statuses_then(self, keys_of(rec.uid, rec.segments),
                  [rp, rec, history](caf::expected<std::vector<segment_status>> st) mutable {
                      if (!st) {
                          rp.deliver(std::move(st.error()));
                          return;
                      }
                      stream_info info;
                      info.record = rec;
                      for (size_t i = 0; i < rec.segments.size(); ++i) {
                          const auto& seg = rec.segments[i];
                          segment_status s{seg.id,          seg.key_start,   seg.key_end,
                                           (*st)[i].length, (*st)[i].sealed, {}};
                          for (const auto& h : history[seg.id.epoch()].segments) {
                              if (h.range.id == seg.id) {
                                  s.predecessors = h.predecessors;
                              }
                          }
                          info.segments.push_back(std::move(s));
                      }
                      rp.deliver(std::move(info));
                  });
}

// Takes the stream mutex for `what`; false (and nothing taken) while another workflow holds it.
// A create, seal or delete may join one of its own kind (a client's retry while the first
// still runs): their segment operations are idempotent. A scale never runs twice.
bool begin_drive(controller_ptr self, const stream_name& n, const char* what) {
    auto [it, fresh] = self->state.driving.try_emplace(n, what, 1);
    if (fresh) {
        return true;
    }
    if (std::string_view(it->second.first) == what && std::string_view(what) != "scale" &&
        std::string_view(what) != "commit") {
        ++it->second.second;
        return true;
    }
    return false;
}

void end_drive(controller_ptr self, const stream_name& n) {
    auto it = self->state.driving.find(n);
    PRAVAHA_ASSERT(it != self->state.driving.end(), "stream {}/{}: no workflow to end", n.first,
                   n.second);
    if (--it->second.second == 0) {
        self->state.driving.erase(it);
        wake_seals(self, n);
    }
}

caf::error busy(controller_ptr self, const stream_name& n) {
    return caf::make_error(
        errc::conflict, fmt::format("stream {}/{}: a {} is running; retry when it is done", n.first,
                                    n.second, self->state.driving.at(n).first));
}

// The record of a stream that may be deleted. Errors: stream_not_found, stream_not_sealed.
caf::expected<stream_record> sealed_record(const storage::controller_state& m,
                                           const std::string& scope,
                                           const std::string& name) {
    auto rec = m.get_stream(scope, name);
    if (rec && rec->state != stream_state::sealed) {
        return caf::make_error(errc::stream_not_sealed,
                               "stream " + scope + "/" + name + " must be sealed before delete");
    }
    return rec;
}

// Runs `repair` in a second (once, however often asked), while this replica leads.
void schedule_repair(controller_ptr self) {
    auto& st = self->state;
    if (!st.repair_scheduled) {
        st.repair_scheduled = true;
        self->delayed_send(self, std::chrono::seconds(1), repair_atom::value);
    }
}

void resume_scales(controller_ptr self);
void sync_policies(controller_ptr self);

// Whether a command can change which streams want a scaling-policy actor.
bool changes_policies(const command& c) {
    using kind = command::kind;
    return c.type == kind::create_stream || c.type == kind::update_stream ||
           c.type == kind::seal_stream || c.type == kind::delete_stream;
}

// Re-issues the idempotent segment operations a crash (or a change of controller leader) may
// have cut short: a stream record is written before its segments are created, a seal is
// recorded before segments are sealed, and a scale's successors are created after it begins.
// Then finishes the scales that were cut off.
void repair(controller_ptr self) {
    const auto& cfg = self->state.cfg;
    // In a cluster a container may be electing its leader right now: try again in a second
    // (while this replica still leads). Standalone, a failure here is a storage error that stops
    // the node anyway.
    auto failed = [self](const char* what, const segment_key& key, const caf::error& err) {
        auto& st = self->state;
        if (!st.raft) {
            module_log("actors")->error("segment {} failed segment={} error={}", what,
                                        to_string(key), render_error(err));
            return;
        }
        module_log("actors")->warn("segment {} failed, retrying segment={} error={}", what,
                                   to_string(key), render_error(err));
        schedule_repair(self);
    };
    for (const auto& rec : self->state.meta->all_streams()) {
        if (self->state.driving.count({rec.scope, rec.name}) != 0) {
            continue;  // its workflow does this; a delete must not see its segments come back
        }
        auto create = keys_of(rec.uid, rec.segments);
        if (rec.has_transition) {
            auto next = keys_of(rec.uid, rec.transition.create);
            create.insert(create.end(), next.begin(), next.end());
        }
        for (const auto& key : create) {
            self->request(cfg.container, cfg.request_timeout, create_segment_atom::value, key)
                .then([](bool) {}, [=](caf::error& err) { failed("re-create", key, err); });
            if (rec.state == stream_state::sealed) {
                self->request(cfg.container, cfg.request_timeout, seal_segment_atom::value, key)
                    .then([](bool) {}, [=](caf::error& err) { failed("re-seal", key, err); });
            }
        }
    }
    resume_scales(self);
}

// -- the one write path (commit) and read path (linearized) ---------------------------------
//
// Standalone, a command is applied at once (controller_state fsyncs each change) and a query is
// answered from the state. In a cluster the controller is a replica of Raft group 0: a command
// is proposed and continues once applied, a query once the state holds everything committed
// before it. Every workflow (scopes, streams, and the ones to come) is written once over these.

bool is_leader(controller_ptr self) {
    return !self->state.raft || self->state.raft->replica().state() == storage::raft::role::leader;
}

caf::error not_leader(controller_ptr self) {
    return not_leader_error(self->state.raft->replica().leader());
}

void fail_commands(controller_ptr self, const caf::error& err) {
    auto proposed = std::move(self->state.proposed);
    self->state.proposed.clear();
    for (auto& [index, p] : proposed) {
        p.done(err, nullptr);
    }
}

void drive(controller_ptr self) {
    auto& st = self->state;
    if (auto err = st.raft->drive()) {
        module_log("actors")->error("controller raft storage failed error={}", render_error(err));
        fail_commands(self, err);
        self->quit(err);
        return;
    }
    bool leader = is_leader(self);
    if (!leader && !st.proposed.empty()) {
        // Outcome unknown: a new leader may still apply them. Clients retry; every command is
        // safe to repeat or answers "exists" / "not found".
        fail_commands(self, not_leader(self));
    }
    if (leader && !st.was_leader) {
        module_log("actors")->info("controller leads term={}", st.raft->replica().term());
        publish_counts(self, true);
        repair(self);
    }
    if (leader && st.was_leader && st.meta->applied_index() != st.published_applied) {
        // What this replica applied (its own proposals and entries of earlier terms alike), at
        // most once a second (readers' heartbeats are commands too); the ticks bring the rest.
        auto now = self->clock().now();
        if (now - st.published_at >= std::chrono::seconds(1)) {
            publish_counts(self, true);
        }
    }
    if (!leader && st.was_leader) {
        publish_counts(self, false);
        sync_policies(self);  // stops them: the new leader runs its own
        sync_groups(self);
        sync_txns(self);
    }
    st.was_leader = leader;
}

// Whether a command can add or remove a stream uid clients append to or read (a stream's, a
// transaction segment's).
bool changes_uids(const command& c) {
    using kind = command::kind;
    return c.type == kind::create_stream || c.type == kind::delete_stream ||
           c.type == kind::delete_scope || c.type == kind::txn_begin || c.type == kind::txn_done;
}

// Tells the node's client_access which scope each uid is in (only with --token-file).
void publish_scopes(controller_ptr self) {
    const auto& access = self->state.cfg.access;
    if (access && access->enabled()) {
        access->set_scopes(std::make_shared<const std::map<uint64_t, std::string>>(
            self->state.meta->uid_scopes()));
    }
}

caf::error apply_command(controller_ptr self, uint64_t index, const std::string& data) {
    auto& st = self->state;
    if (data.empty()) {
        return st.meta->apply_noop(index);
    }
    auto c = storage::controller_state::decode(data);
    if (!c) {
        return std::move(c.error());
    }
    auto out = st.meta->apply(index, *c);
    if (!out) {
        return std::move(out.error());
    }
    if (changes_uids(*c)) {
        publish_scopes(self);  // every replica: its node's containers check by it
    }
    if (auto it = st.proposed.find(index); it != st.proposed.end()) {
        auto p = std::move(it->second);
        st.proposed.erase(it);
        if (st.raft->replica().term_at(index) == p.term) {
            p.done({}, &*out);
        } else {
            p.done(not_leader(self), nullptr);
        }
    }
    return {};
}

// Logs what a command changed (on the replica that answers the client).
void log_outcome(const command& c, const outcome& out) {
    if (out.error) {
        return;
    }
    using kind = command::kind;
    auto log = module_log("actors");
    switch (c.type) {
        case kind::create_scope:
            log->info("scope created scope={}", c.scope);
            break;
        case kind::delete_scope:
            log->info("scope deleted scope={}", c.scope);
            break;
        case kind::create_stream:
            log->info("stream created stream={}/{} uid={} segments={}", c.scope, c.name,
                      out.record.uid.value, c.segments);
            break;
        case kind::seal_stream:
            log->info("stream sealed stream={}/{}", c.scope, c.name);
            break;
        case kind::delete_stream:
            log->info("stream deleted stream={}/{}", c.scope, c.name);
            break;
        case kind::update_stream:
            log->info("stream updated stream={}/{} policy={}", c.scope, c.name,
                      to_string(out.record.policy));
            break;
        case kind::scale_begin:
            log->info("scale begun stream={}/{} epoch={} sealing={} creating={}", c.scope, c.name,
                      out.scale.epoch, c.scale.seal.size(), c.scale.create.size());
            break;
        case kind::scale_done:
            log->info("scale done stream={}/{} epoch={}", c.scope, c.name, out.record.epoch);
            break;
        case kind::group_create:
            log->info("reader group created group={}/{} streams={}", c.scope, c.name,
                      c.group.streams.size());
            break;
        case kind::group_delete:
            log->info("reader group deleted group={}/{}", c.scope, c.name);
            break;
        case kind::group_join:
            log->info("reader joined group={}/{} reader={} session={} segments={}", c.scope, c.name,
                      c.sync.reader, out.assignment.session, out.assignment.segments.size());
            break;
        case kind::group_leave:
            log->info("reader left group={}/{} reader={}", c.scope, c.name, c.sync.reader);
            break;
        case kind::group_offline:
            if (out.changed) {
                log->warn("reader offline (lease passed) group={}/{} reader={} session={}", c.scope,
                          c.name, c.sync.reader, c.sync.session);
            }
            break;
        case kind::group_checkpoint:
            log->info("checkpoint begun group={}/{} name={} silent={}", c.scope, c.name,
                      c.checkpoint, c.silent);
            break;
        case kind::group_reset:
            log->info("reader group reset group={}/{} generation={}", c.scope, c.name,
                      out.group.generation);
            break;
        case kind::group_sync:
            break;  // a heartbeat
        case kind::txn_roll:
            log->info("transactions roll stream={}/{} txns={} epoch={} via={}", c.scope, c.name,
                      out.record.transition.txns.size(), out.record.transition.from_epoch + 2,
                      out.record.transition.from_epoch + 1);
            break;
        case kind::txn_rolled:
            log->info("transactions rolled stream={}/{} epoch={}", c.scope, c.name,
                      out.record.epoch);
            break;
        case kind::txn_begin:
        case kind::txn_commit:
        case kind::txn_abort:
        case kind::txn_done:
            log->info("transaction {} stream={}/{} state={}{}", txn_id_text(out.txn.id), c.scope,
                      c.name, to_string(out.txn.state),
                      out.txn.reason.empty() ? "" : " reason=" + out.txn.reason);
            break;
    }
}

// What the node's controller publishes for its metrics: one per process (a core restarted after
// a full disk makes a new controller, whose counts replace the old one's, readers-online series
// included).
controller_gauges& process_gauges() {
    static controller_gauges g;
    return g;
}

// Makes `known` equal to `now`, saying which series that adds and which it removes.
template <class T>
void replace_series(std::set<T> now,
                    std::set<T>& known,
                    std::vector<T>& added,
                    std::vector<T>& removed) {
    std::set_difference(now.begin(), now.end(), known.begin(), known.end(),
                        std::back_inserter(added));
    std::set_difference(known.begin(), known.end(), now.begin(), now.end(),
                        std::back_inserter(removed));
    known = std::move(now);
}

// Publishes the metadata's counts for the node's metrics (`leads`: this replica leads the
// controller; elsewhere the gauges read 0, so a sum over the nodes counts once). A readers-online
// gauge per reader group, removed with its group. Registry calls outside the gauges' mutex (a
// scrape holds the registry's mutex while a gauge takes the gauges' one).
void publish_counts(controller_ptr self, bool leads) {
    auto& st = self->state;
    auto counts =
        leads ? st.meta->counts(st.cfg.metrics_per_stream) : storage::controller_state::counts_t{};
    st.published_applied = st.meta->applied_index();
    st.published_at = self->clock().now();
    auto& g = process_gauges();
    // The series to add and to remove, decided under the mutex, registered after it.
    std::set<std::string> groups;
    for (const auto& [group, n] : counts.readers_online) {
        groups.insert(group);
    }
    std::set<std::pair<std::string, uint64_t>> streams(counts.stream_uids.begin(),
                                                       counts.stream_uids.end());
    std::vector<std::string> groups_added;
    std::vector<std::string> groups_removed;
    std::vector<std::pair<std::string, uint64_t>> streams_added;
    std::vector<std::pair<std::string, uint64_t>> streams_removed;
    {
        std::lock_guard<std::mutex> lock(g.mutex);
        replace_series(std::move(groups), g.group_series, groups_added, groups_removed);
        for (const auto& group : groups_removed) {
            g.unread_bytes.erase(group);
        }
        replace_series(std::move(streams), g.stream_series, streams_added, streams_removed);
        g.counts = std::move(counts);
    }
    auto& r = metrics::global();
    for (const auto& group : groups_removed) {
        r.remove_gauge("pravaha_reader_group_readers", {{"group", group}});
        r.remove_gauge("pravaha_reader_group_unread_bytes", {{"group", group}});
    }
    for (const auto& group : groups_added) {
        r.gauge("pravaha_reader_group_readers",
                "Readers online in a reader group (scope/name), on the node leading the "
                "controller.",
                {{"group", group}}, [group] {
                    auto& pg = process_gauges();
                    std::lock_guard<std::mutex> lock(pg.mutex);
                    auto it = pg.counts.readers_online.find(group);
                    return it == pg.counts.readers_online.end() ? 0.0
                                                                : static_cast<double>(it->second);
                });
        r.gauge("pravaha_reader_group_unread_bytes",
                "Bytes of the group's streams not yet read by it (from its readers' positions to "
                "the segments' ends), refreshed every 5 s on the node leading the controller; NaN "
                "until known.",
                {{"group", group}}, [group] {
                    auto& pg = process_gauges();
                    std::lock_guard<std::mutex> lock(pg.mutex);
                    auto it = pg.unread_bytes.find(group);
                    return it == pg.unread_bytes.end() || it->second < 0
                               ? std::numeric_limits<double>::quiet_NaN()
                               : static_cast<double>(it->second);
                });
    }
    auto stream_labels = [](const std::pair<std::string, uint64_t>& s) {
        return metrics::labels{{"stream", s.first}, {"stream_uid", std::to_string(s.second)}};
    };
    for (const auto& s : streams_removed) {
        r.remove_gauge("pravaha_stream_info", stream_labels(s));
    }
    for (const auto& s : streams_added) {
        r.gauge("pravaha_stream_info",
                "Always 1: a stream's name (scope/name) for its uid, which labels the per-stream "
                "counters (--metrics-per-stream; on the node leading the controller).",
                stream_labels(s), [] { return 1.0; });
    }
}

void refresh_group_lag(controller_ptr self) {
    if (!is_leader(self)) {
        return;
    }
    for (const auto& g : self->state.meta->all_groups()) {
        describe_group_then(self, g, [key = g.scope + "/" + g.name](group_info info) {
            auto& pg = process_gauges();
            std::lock_guard<std::mutex> lock(pg.mutex);
            if (pg.group_series.count(key) != 0) {  // not removed meanwhile
                pg.unread_bytes[key] = info.unread_bytes;
            }
        });
    }
}

namespace {

// Registers the controller's gauges (they read what publish_counts leaves).
void register_metrics() {
    auto& r = metrics::global();
    using counts_t = storage::controller_state::counts_t;
    auto gauge = [&r](const char* name, const char* help, auto field) {
        r.gauge(name, help, {}, [field] {
            auto& g = process_gauges();
            std::lock_guard<std::mutex> lock(g.mutex);
            return static_cast<double>(field(g.counts));
        });
    };
    gauge("pravaha_scopes", "Scopes (on the node leading the controller; 0 elsewhere).",
          [](const counts_t& c) { return c.scopes; });
    gauge("pravaha_streams", "Streams, sealed ones included (on the node leading the controller).",
          [](const counts_t& c) { return c.streams; });
    gauge("pravaha_sealed_streams", "Sealed streams (on the node leading the controller).",
          [](const counts_t& c) { return c.sealed_streams; });
    gauge("pravaha_active_segments",
          "Segments of the streams' current epochs (on the node leading the controller).",
          [](const counts_t& c) { return c.active_segments; });
    gauge("pravaha_reader_groups", "Reader groups (on the node leading the controller).",
          [](const counts_t& c) { return c.reader_groups; });
    gauge("pravaha_open_transactions", "Open transactions (on the node leading the controller).",
          [](const counts_t& c) { return c.open_txns; });
    gauge("pravaha_committing_transactions",
          "Transactions committing or aborting (on the node leading the controller).",
          [](const counts_t& c) { return c.committing_txns; });
}

// Counts what a command did (on the replica that leads: the one answering its caller); a repeat
// that found its change made already (a retry after a lost answer) counts nothing.
void count_command(const command& c, const outcome& out) {
    auto& r = metrics::global();
    using kind = command::kind;
    auto scales = [&r](const char* result) {
        r.counter_of("pravaha_scale_operations_total",
                     "Scale operations by result (begun, refused, done), counted by the "
                     "controller's leader.",
                     {{"result", result}})
            .inc();
    };
    if (c.type == kind::scale_begin) {
        scales(out.error ? "refused" : "begun");
    } else if (c.type == kind::scale_done) {
        if (!out.error && out.changed) {
            scales("done");
        }
    } else if (c.type == kind::txn_begin && !out.error) {
        r.counter_of("pravaha_transactions_begun_total",
                     "Transactions begun, counted by the controller's leader.")
            .inc();
    } else if (c.type == kind::txn_done && !out.error && out.changed &&
               (out.txn.state == txn_state::committed || out.txn.state == txn_state::aborted)) {
        r.counter_of("pravaha_transactions_ended_total",
                     "Transactions ended, by outcome (committed, aborted), counted by the "
                     "controller's leader.",
                     {{"outcome", to_string(out.txn.state)}})
            .inc();
    }
}

// A command applied and durable: its log line, its caller's continuation, then what follows
// every command of its kind (policies, group and transaction actors).
void finish_command(controller_ptr self,
                    const command& c,
                    const outcome& out,
                    const std::function<void(const caf::error&, const outcome*)>& done) {
    log_outcome(c, out);
    count_command(c, out);
    done({}, &out);
    if (changes_policies(c)) {
        sync_policies(self);
    }
    after_group_command(self, c, out);
    after_txn_command(self, c, out);
}

// The standalone controller's group commit: applies every queued command in order (each
// written unsynced), makes them durable with one fsync, then continues each. All in this one
// handler, so no read and no workflow ever sees a change that is not durable yet; commands that
// their continuations queue go to the next group. A storage error leaves the outcome of every
// command of the group unknown: fail-stop, so that the node restarts from what is durable.
void flush_commands(controller_ptr self) {
    auto& st = self->state;
    st.flush_scheduled = false;
    auto group = std::move(st.queued);
    st.queued.clear();
    if (group.empty()) {
        return;
    }
    std::vector<outcome> outs;
    outs.reserve(group.size());
    caf::error err;
    for (const auto& q : group) {
        auto out = st.meta->apply(0, q.c);
        if (!out) {
            err = std::move(out.error());
            break;
        }
        outs.push_back(std::move(*out));
    }
    if (!err) {
        err = st.meta->sync();
    }
    if (err) {
        // The outcome on disk is unknown (a failed fsync stops the store's writes for good).
        module_log("actors")->error("controller storage failed error={} commands={}",
                                    render_error(err), group.size());
        for (const auto& q : group) {
            q.done(err, nullptr);
        }
        self->quit(err);
        return;
    }
    if (std::any_of(group.begin(), group.end(),
                    [](const queued_command& q) { return changes_uids(q.c); })) {
        publish_scopes(self);  // before any answer: a new stream's writer appends next
    }
    for (size_t i = 0; i < group.size(); ++i) {
        finish_command(self, group[i].c, outs[i], group[i].done);
    }
    // Once per group commit, unless it holds only readers' heartbeats (they change no count).
    if (std::any_of(group.begin(), group.end(), [](const queued_command& q) {
            return q.c.type != command::kind::group_sync;
        })) {
        publish_counts(self, true);
    }
}

}  // namespace

// Commits `c` and calls `done` with its outcome once applied and durable, or with an error when
// its outcome is unknown (not_leader, a storage error). Never synchronously: standalone, `c`
// joins the next group commit (flush_commands); in a cluster, `done` runs when its Raft entry
// is applied.
void commit(controller_ptr self,
            const command& c,
            std::function<void(const caf::error&, const outcome*)> done) {
    auto& st = self->state;
    if (!st.raft) {
        st.queued.push_back(queued_command{c, std::move(done)});
        // Behind everything already in the mailbox: commands that arrive meanwhile share the
        // group's fsync.
        if (!st.flush_scheduled) {
            st.flush_scheduled = true;
            self->send(self, flushed_atom::value);
        }
        return;
    }
    auto& r = st.raft->replica();
    if (r.state() != storage::raft::role::leader) {
        done(not_leader(self), nullptr);
        return;
    }
    auto index = r.propose(storage::controller_state::encode(c));
    if (!index) {
        done(index.error(), nullptr);
        return;
    }
    st.proposed[*index] =
        pending_command{r.term(), [self, c, done](const caf::error& err, const outcome* out) {
                            if (out == nullptr) {
                                done(err, out);
                                return;
                            }
                            finish_command(self, c, *out, done);
                        }};
    drive(self);
}

// Commits `c` and answers `rp` with `true` once applied (or with the command's error).
void commit_simple(controller_ptr self, const command& c, caf::typed_response_promise<bool> rp) {
    commit(self, c, [rp](const caf::error& err, const outcome* out) mutable {
        if (err) {
            rp.deliver(err);
        } else if (out->error) {
            rp.deliver(out->error);
        } else {
            rp.deliver(true);
        }
    });
}

// Whether a transaction of stream `n` is committing.
bool has_committing(controller_ptr self, const stream_name& n) {
    auto live = self->state.meta->live_txns_of(n.first, n.second);
    return live && std::any_of(live->begin(), live->end(), [](const txn_record& t) {
               return t.state == txn_state::committing;
           });
}

// Keeps a seal of stream `n` for later while a transaction of it commits or the commit workflow
// runs (true): a txn_done or the workflow's end wakes it (wake_seals).
bool park_seal(controller_ptr self,
               const stream_name& n,
               caf::typed_response_promise<stream_record>& rp) {
    bool committing = has_committing(self, n);
    auto drive = self->state.driving.find(n);
    committing = committing || (drive != self->state.driving.end() &&
                                std::string_view(drive->second.first) == "commit");
    if (!committing || !is_leader(self)) {
        return false;
    }
    self->state.seal_waiters[n].push_back(std::move(rp));
    return true;
}

// Commits `c` (create or seal a stream), then runs `Atom` on every segment of the resulting
// record (holding the stream mutex) and answers `rp` with it.
template <class Atom>
void commit_stream(controller_ptr self,
                   const command& c,
                   caf::typed_response_promise<stream_record> rp) {
    stream_name n{c.scope, c.name};
    const char* what = Atom::value == create_segment_atom::value ? "create" : "seal";
    if (auto it = self->state.driving.find(n);
        it != self->state.driving.end() && std::string_view(it->second.first) != what) {
        if (Atom::value != seal_segment_atom::value || !park_seal(self, n, rp)) {
            rp.deliver(busy(self, n));
        }
        return;
    }
    commit(self, c, [self, rp, n, what](const caf::error& err, const outcome* out) mutable {
        if (!err && out->error == errc::conflict && Atom::value == seal_segment_atom::value &&
            park_seal(self, n, rp)) {
            return;  // a commit was recorded first: the seal waits for it
        }
        if (err || out->error) {
            rp.deliver(err ? err : out->error);
            return;
        }
        if (!begin_drive(self, n, what)) {
            rp.deliver(busy(self, n));  // another workflow began while this one committed
            return;
        }
        // The command is committed: if a container cannot do its part now (electing), the
        // repair finishes it, else the stream would stay without its segments.
        for_segments_then<Atom>(self, keys_of(out->record.uid, out->record.segments),
                                [self, rp, n, rec = out->record](const caf::error& e) mutable {
                                    end_drive(self, n);
                                    if (e) {
                                        schedule_repair(self);
                                        rp.deliver(e);
                                    } else {
                                        rp.deliver(rec);
                                    }
                                });
    });
}

void seal_stream(controller_ptr self,
                 const std::string& scope,
                 const std::string& name,
                 caf::typed_response_promise<stream_record> rp) {
    if (!park_seal(self, {scope, name}, rp)) {
        commit_stream<seal_segment_atom>(
            self, command::of(command::kind::seal_stream, scope, name, 0, 0), std::move(rp));
    }
}

void wake_seals(controller_ptr self, const stream_name& n) {
    auto it = self->state.seal_waiters.find(n);
    if (it == self->state.seal_waiters.end()) {
        return;
    }
    auto waiting = std::move(it->second);
    self->state.seal_waiters.erase(it);
    for (auto& rp : waiting) {
        if (!is_leader(self)) {
            rp.deliver(not_leader(self));  // the client asks the new leader
        } else {
            seal_stream(self, n.first, n.second, std::move(rp));
        }
    }
}

// Deletes a sealed stream: the segments of every epoch first, then (committed) its record; a
// crash in between leaves a sealed stream whose delete can simply be repeated.
caf::result<bool> delete_stream(controller_ptr self,
                                const std::string& scope,
                                const std::string& name) {
    using kind = command::kind;
    auto& m = *self->state.meta;
    return linearized<bool>(self, [self, &m, scope, name](auto& rp) {
        auto rec = sealed_record(m, scope, name);
        if (!rec) {
            rp.deliver(std::move(rec.error()));
            return;
        }
        stream_name n{scope, name};
        if (!begin_drive(self, n, "delete")) {
            rp.deliver(busy(self, n));
            return;
        }
        std::vector<segment_key> keys;
        auto history = m.history(scope, name);
        for (const auto& e : *history) {
            for (const auto& seg : e.segments) {
                if (seg.range.id.epoch() == e.epoch) {
                    keys.push_back({rec->uid, seg.range.id});
                }
            }
        }
        if (auto txns = m.list_txns(scope, name)) {
            for (const auto& t : *txns) {
                for (const auto& s : t.segments) {
                    keys.push_back(s.key);  // aborted ones' and tombstones
                }
            }
        }
        for_segments_then<delete_segment_atom>(self, keys, [=](const caf::error& err) mutable {
            if (err) {
                end_drive(self, n);
                rp.deliver(err);
                return;
            }
            // Held until the record is gone, so that no repair re-creates the segments.
            commit(self, command::of(kind::delete_stream, scope, name),
                   [self, n, rp](const caf::error& e, const outcome* out) mutable {
                       end_drive(self, n);
                       if (e || out->error) {
                           rp.deliver(e ? e : out->error);
                       } else {
                           rp.deliver(true);
                       }
                   });
        });
    });
}

// A stream's record with each segment's length and seal state.
caf::result<stream_info> info_of(controller_ptr self,
                                 const std::string& scope,
                                 const std::string& name) {
    auto& m = *self->state.meta;
    return linearized<stream_info>(self, [self, &m, scope, name](auto& rp) {
        auto rec = m.get_stream(scope, name);
        if (!rec) {
            rp.deliver(std::move(rec.error()));
            return;
        }
        collect_info(self, *rec, *m.history(scope, name), rp);
    });
}

caf::result<stream_record> create_stream(controller_ptr self,
                                         const std::string& scope,
                                         const std::string& name,
                                         uint32_t segments,
                                         const scaling_policy& policy) {
    if (self->state.cfg.storage_full) {
        if (auto why = self->state.cfg.storage_full(); !why.empty()) {
            return caf::make_error(errc::storage_full, why);
        }
    }
    auto now = self->state.cfg.wall_clock_ms ? self->state.cfg.wall_clock_ms() : 0;
    auto c = command::of(command::kind::create_stream, scope, name, segments, now);
    c.policy = policy;
    auto rp = self->make_response_promise<stream_record>();
    commit_stream<create_segment_atom>(self, c, rp);
    return rp;
}

// The head cut (the first epoch at 0) or the tail cut (the current segments at their lengths).
caf::result<stream_cut> cut_of(controller_ptr self,
                               const std::string& scope,
                               const std::string& name,
                               bool head) {
    auto& m = *self->state.meta;
    return linearized<stream_cut>(self, [self, &m, scope, name, head](auto& rp) {
        if (head) {
            deliver(rp, m.head_cut(scope, name));
            return;
        }
        auto rec = m.get_stream(scope, name);
        if (!rec) {
            rp.deliver(std::move(rec.error()));
            return;
        }
        statuses_then(self, keys_of(rec->uid, rec->segments),
                      [rp, rec = *rec](caf::expected<std::vector<segment_status>> st) mutable {
                          if (!st) {
                              rp.deliver(std::move(st.error()));
                              return;
                          }
                          stream_cut cut;
                          cut.stream = rec.uid;
                          for (size_t i = 0; i < rec.segments.size(); ++i) {
                              cut.segments.push_back({rec.segments[i], (*st)[i].length});
                          }
                          rp.deliver(std::move(cut));
                      });
    });
}

// Checks `cut` against the history and, for segments still active, against their lengths.
caf::result<stream_cut> resolve_cut(controller_ptr self,
                                    const std::string& scope,
                                    const std::string& name,
                                    const stream_cut& cut) {
    auto& m = *self->state.meta;
    return linearized<stream_cut>(self, [self, &m, scope, name, cut](auto& rp) {
        auto resolved = m.resolve_cut(scope, name, cut);
        if (!resolved) {
            rp.deliver(std::move(resolved.error()));
            return;
        }
        auto rec = *m.get_stream(scope, name);
        std::vector<segment_key> live;
        std::vector<int64_t> offsets;
        for (const auto& c : resolved->segments) {
            if (std::any_of(rec.segments.begin(), rec.segments.end(),
                            [&](const segment_range& r) { return r.id == c.range.id; })) {
                live.push_back({rec.uid, c.range.id});
                offsets.push_back(c.offset);
            }
        }
        statuses_then(
            self, live,
            [rp, live, offsets,
             out = *resolved](caf::expected<std::vector<segment_status>> st) mutable {
                if (!st) {
                    rp.deliver(std::move(st.error()));
                    return;
                }
                for (size_t i = 0; i < live.size(); ++i) {
                    if (offsets[i] > (*st)[i].length) {
                        rp.deliver(caf::make_error(
                            errc::invalid_argument,
                            fmt::format("stream cut: offset {} is beyond segment {} "
                                        "(length {})",
                                        offsets[i], to_string(live[i].segment), (*st)[i].length)));
                        return;
                    }
                }
                rp.deliver(std::move(out));
            });
    });
}

// -- scaling ------------------------------------------------------------------------------------

// Starts and stops scaling-policy actors so that exactly the active streams with an automatic
// policy have one while this replica leads (none otherwise).
void sync_policies(controller_ptr self) {
    auto& st = self->state;
    std::map<stream_name, const stream_record*> wanted;
    auto all = st.meta->all_streams();
    if (is_leader(self)) {
        for (const auto& rec : all) {
            if (rec.state == stream_state::active && rec.policy.type != scale_type::fixed) {
                wanted[{rec.scope, rec.name}] = &rec;
            }
        }
    }
    sync_children(self, st.policies, wanted,
                  [self, &st](const stream_name& n, const stream_record* rec) {
                      policy_config cfg;
                      cfg.scope = n.first;
                      cfg.name = n.second;
                      cfg.controller = caf::actor_cast<controller_actor>(self);
                      cfg.container = st.cfg.container;
                      cfg.scaling = st.cfg.scaling;
                      cfg.wall_clock_ms = st.cfg.wall_clock_ms;
                      cfg.request_timeout = st.cfg.request_timeout;
                      auto h = st.meta->history(n.first, n.second);
                      cfg.last_scale_ms = h && !h->empty() ? h->back().created_ms : 0;
                      module_log("actors")->info("scaling policy started stream={}/{} policy={}",
                                                 n.first, n.second, to_string(rec->policy));
                      return spawn_scaling_policy(self, std::move(cfg));
                  });
}

// A policy actor ended: started again (after a pause) if its stream still wants one.
void on_policy_down(controller_ptr self, const caf::down_msg& dm) {
    on_child_down<policy_sync_atom>(self, self->state.policies, self->state.policy_sync_scheduled,
                                    dm, "scaling policy");
}
//
// A scale is two commands with idempotent container actions between them: scale_begin records
// the transition and the new epoch; then the successors are created, the predecessors sealed and
// their final lengths read; scale_done records the lengths and makes the new epoch current.
// Whoever leads finishes a scale that was cut off (resume_scales: at start, on becoming leader,
// on every repair), redoing the actions, which change nothing the second time.

void answer_scale_waiters(controller_ptr self,
                          const stream_name& n,
                          uint32_t target,
                          const caf::error& err) {
    auto it = self->state.scale_waiters.find({n, target});
    if (it == self->state.scale_waiters.end()) {
        return;
    }
    auto waiters = std::move(it->second);
    self->state.scale_waiters.erase(it);
    for (auto& [rp, result] : waiters) {
        if (err) {
            rp.deliver(err);
        } else {
            rp.deliver(result);
        }
    }
}

void run_scale(controller_ptr self, const stream_record& rec) {
    stream_name n{rec.scope, rec.name};
    if (!rec.has_transition || rec.transition.rolling) {
        return;
    }
    if (!begin_drive(self, n, "scale")) {
        // Another workflow of the stream (a create's segment phase) holds it: the repair resumes
        // the scale once it is done. A scale holding it runs this one already.
        if (std::string_view(self->state.driving.at(n).first) != "scale") {
            schedule_repair(self);
        }
        return;
    }
    auto target = rec.transition.from_epoch + 1;
    auto sealed = keys_of(rec.uid, rec.transition.seal);
    auto fail = [self, n, target](const char* step, const caf::error& err) {
        end_drive(self, n);
        module_log("actors")->warn("scale interrupted stream={}/{} step={} error={}", n.first,
                                   n.second, step, render_error(err));
        answer_scale_waiters(self, n, target, err);
        schedule_repair(self);  // resumes it while this replica leads
    };
    auto finish = [self, n, target, sealed, fail](caf::expected<std::vector<segment_status>> st) {
        if (!st) {
            fail("lengths", st.error());
            return;
        }
        auto c = command::of(command::kind::scale_done, n.first, n.second);
        c.target_epoch = target;
        for (size_t i = 0; i < sealed.size(); ++i) {
            PRAVAHA_ASSERT((*st)[i].sealed, "scale of {}/{}: predecessor {} is not sealed", n.first,
                           n.second, to_string(sealed[i]));
            c.sealed_lengths.emplace_back(sealed[i].segment, (*st)[i].length);
        }
        commit(self, c, [self, n, target, fail](const caf::error& err, const outcome* out) {
            if (err || out->error) {
                fail("done", err ? err : out->error);
                return;
            }
            end_drive(self, n);
            answer_scale_waiters(self, n, target, {});
            if (has_committing(self, n)) {
                run_commits(self, n);  // commits that waited for the scale (they may roll now)
            }
        });
    };
    for_segments_then<create_segment_atom>(
        self, keys_of(rec.uid, rec.transition.create),
        [self, sealed, fail, finish](const caf::error& err) {
            if (err) {
                fail("create successors", err);
                return;
            }
            for_segments_then<seal_segment_atom>(self, sealed,
                                                 [self, sealed, fail, finish](const caf::error& e) {
                                                     if (e) {
                                                         fail("seal predecessors", e);
                                                         return;
                                                     }
                                                     statuses_then(self, sealed, finish);
                                                 });
        });
}

// Finishes every scale that was cut off, from state that holds everything committed so far (a
// new leader may not have applied its predecessor's commands yet: resuming from a stale step
// would redo a command).
void resume_scales(controller_ptr self) {
    auto resume = [self] {
        sync_policies(self);
        sync_groups(self);
        resume_txns(self);
        for (const auto& rec : self->state.meta->all_streams()) {
            if (rec.has_transition && self->state.driving.count({rec.scope, rec.name}) == 0) {
                module_log("actors")->info("{} resumed stream={}/{} epoch={}",
                                           rec.transition.rolling ? "transaction roll" : "scale",
                                           rec.scope, rec.name, rec.transition.from_epoch + 1);
                if (rec.transition.rolling) {
                    run_commits(self, {rec.scope, rec.name});  // the commit workflow rolls
                } else {
                    run_scale(self, rec);
                }
            }
        }
    };
    if (!self->state.raft) {
        resume();
        return;
    }
    // The read point goes out with the next drive (a tick at the latest).
    self->state.raft->linearize([resume](const caf::error& err) {
        if (!err) {
            resume();
        }
    });
}

caf::result<scale_result> scale(controller_ptr self,
                                const std::string& scope,
                                const std::string& name,
                                const scale_request& req) {
    stream_name n{scope, name};
    auto it = self->state.driving.find(n);
    if (it != self->state.driving.end() && std::string_view(it->second.first) != "scale") {
        return busy(self, n);
    }
    auto c = command::of(command::kind::scale_begin, scope, name, 0,
                         self->state.cfg.wall_clock_ms ? self->state.cfg.wall_clock_ms() : 0);
    c.scale = req;
    auto rp = self->make_response_promise<scale_result>();
    commit(self, c, [self, n, rp](const caf::error& err, const outcome* out) mutable {
        if (err || out->error) {
            rp.deliver(err ? err : out->error);
            return;
        }
        const auto& rec = out->record;
        if (!rec.has_transition || rec.transition.from_epoch + 1 != out->scale.epoch) {
            rp.deliver(out->scale);  // a retry of a scale that is done
            return;
        }
        self->state.scale_waiters[{n, out->scale.epoch}].emplace_back(rp, out->scale);
        run_scale(self, rec);  // nothing when it runs already (a retry): answered when done
    });
    return rp;
}

// Cluster mode: the replica's Raft hooks and first tick.
void start_raft(controller_ptr self) {
    auto& st = self->state;
    storage::raft::runner_hooks hooks;
    // The owner writes its state change itself (unsynced): nothing goes into the runner's batch.
    hooks.apply = [self](uint64_t index, const std::string& data, storage::write_batch&) {
        return apply_command(self, index, data);
    };
    hooks.state_ranges = [](storage::store_view&) {
        return caf::expected<std::vector<storage::store_range>>(
            storage::controller_state::state_ranges());
    };
    hooks.stage_install = [self](const storage::raft::snapshot& snap, storage::write_batch& b) {
        self->state.meta->stage_install(snap.index, b);
        return caf::error{};
    };
    hooks.installed = [self](const storage::raft::snapshot&) {
        auto err = self->state.meta->load();
        publish_scopes(self);
        return err;
    };
    st.routes = raft_routes(st.cfg.raft.peers);
    hooks.send = [self](raft::message m) { self->state.routes.send(self, std::move(m)); };
    st.raft->set_hooks(std::move(hooks));
    self->delayed_send(self, st.cfg.raft.tick, raft_tick_atom::value);
}

// One behaviour for both modes (`raft` is null standalone).
controller_actor::behavior_type controller_impl(controller_ptr self,
                                                std::shared_ptr<storage::controller_state> meta,
                                                std::shared_ptr<raft_driver> raft,
                                                controller_config cfg) {
    auto& st = self->state;
    st.cfg = cfg;
    st.meta = std::move(meta);
    st.raft = std::move(raft);
    if (!st.raft) {
        st.meta->set_deferred_sync(true);  // group commit (flush_commands)
    }
    self->set_down_handler([self](caf::down_msg& dm) {
        if (!on_group_down(self, dm) && !on_txn_down(self, dm)) {
            on_policy_down(self, dm);
        }
    });
    register_metrics();
    publish_scopes(self);
    if (st.cfg.group_lag_every.count() > 0) {
        self->delayed_send(self, st.cfg.group_lag_every, group_lag_atom::value);
    }
    if (st.raft) {
        start_raft(self);  // repairs once it leads (drive)
    } else {
        publish_counts(self, true);
        repair(self);
    }
    using kind = command::kind;
    auto& m = *st.meta;
    return {
        [=](create_scope_atom, const std::string& scope) -> caf::result<bool> {
            auto rp = self->make_response_promise<bool>();
            commit_simple(self, command::of(kind::create_scope, scope, "", 0, 0), rp);
            return rp;
        },
        [=](delete_scope_atom, const std::string& scope) -> caf::result<bool> {
            auto rp = self->make_response_promise<bool>();
            commit_simple(self, command::of(kind::delete_scope, scope, "", 0, 0), rp);
            return rp;
        },
        [=, &m](list_scopes_atom) -> caf::result<std::vector<std::string>> {
            using names = std::vector<std::string>;
            return linearized<names>(self, [&m](auto& rp) { rp.deliver(m.list_scopes()); });
        },
        [=](create_stream_atom, const std::string& scope, const std::string& name,
            uint32_t segments) { return create_stream(self, scope, name, segments, {}); },
        [=](create_stream_atom, const std::string& scope, const std::string& name,
            uint32_t segments, const scaling_policy& policy) {
            return create_stream(self, scope, name, segments, policy);
        },
        [=](update_stream_atom, const std::string& scope, const std::string& name,
            const scaling_policy& policy) -> caf::result<stream_record> {
            auto c = command::of(kind::update_stream, scope, name);
            c.policy = policy;
            auto rp = self->make_response_promise<stream_record>();
            commit_answer(self, c, rp, [](const outcome& out) { return out.record; });
            return rp;
        },
        [=](scale_atom, const std::string& scope, const std::string& name,
            const scale_request& req) { return scale(self, scope, name, req); },
        [=, &m](history_atom, const std::string& scope, const std::string& name) {
            return linearized<std::vector<epoch_info>>(
                self, [&m, scope, name](auto& rp) { deliver(rp, m.history(scope, name)); });
        },
        [=, &m](successors_atom, const std::string& scope, const std::string& name, segment_id id) {
            return linearized<segment_successors>(self, [&m, scope, name, id](auto& rp) {
                deliver(rp, m.successors(scope, name, id));
            });
        },
        [=](stream_cut_atom, const std::string& scope, const std::string& name, bool head) {
            return cut_of(self, scope, name, head);
        },
        [=](resolve_cut_atom, const std::string& scope, const std::string& name,
            const stream_cut& cut) { return resolve_cut(self, scope, name, cut); },
        [=, &m](list_streams_atom,
                const std::string& scope) -> caf::result<std::vector<std::string>> {
            using names = std::vector<std::string>;
            return linearized<names>(self,
                                     [&m, scope](auto& rp) { deliver(rp, m.list_streams(scope)); });
        },
        [=, &m](get_stream_atom, const std::string& scope,
                const std::string& name) -> caf::result<stream_record> {
            return linearized<stream_record>(
                self, [&m, scope, name](auto& rp) { deliver(rp, m.get_stream(scope, name)); });
        },
        [=](seal_stream_atom, const std::string& scope,
            const std::string& name) -> caf::result<stream_record> {
            auto rp = self->make_response_promise<stream_record>();
            seal_stream(self, scope, name, rp);
            return rp;
        },
        [=](delete_stream_atom, const std::string& scope, const std::string& name) {
            return delete_stream(self, scope, name);
        },
        [=](stream_info_atom, const std::string& scope, const std::string& name) {
            return info_of(self, scope, name);
        },
        [=](raft_atom, raft::message& msg) {
            if (!self->state.raft) {
                return;
            }
            self->state.raft->replica().step(msg);
            drive(self);
        },
        [=](raft_tick_atom) {
            if (!self->state.raft) {
                return;
            }
            if (const auto& full = self->state.cfg.storage_full) {
                self->state.raft->replica().set_reluctant(!full().empty());
            }
            self->state.raft->replica().tick();
            drive(self);
            self->delayed_send(self, self->state.cfg.raft.tick, raft_tick_atom::value);
        },
        [=](raft_status_atom) {
            if (self->state.raft) {
                return self->state.raft->status();
            }
            raft::group_status g;  // standalone: a group of one
            g.role = raft::role::leader;
            return g;
        },
        [=](policy_sync_atom) {
            self->state.policy_sync_scheduled = false;
            sync_policies(self);
        },
        [=](group_create_atom, const std::string& scope, const std::string& name,
            const group_config& config) { return group_create(self, scope, name, config); },
        [=](group_delete_atom, const std::string& scope, const std::string& name) {
            return group_simple(self, command::of(kind::group_delete, scope, name));
        },
        [=, &m](group_list_atom, const std::string& scope) {
            return linearized<std::vector<std::string>>(
                self, [&m, scope](auto& rp) { deliver(rp, m.list_groups(scope)); });
        },
        [=](group_info_atom, const std::string& scope, const std::string& name) {
            return group_info_of(self, scope, name);
        },
        [=](group_join_atom, const std::string& scope, const std::string& name,
            const group_sync& req) { return group_join_or_sync(self, true, scope, name, req); },
        [=](group_sync_atom, const std::string& scope, const std::string& name,
            const group_sync& req) { return group_join_or_sync(self, false, scope, name, req); },
        [=](group_leave_atom, const std::string& scope, const std::string& name,
            const group_sync& req) {
            auto c = command::of(kind::group_leave, scope, name);
            c.sync = req;
            return group_simple(self, c);
        },
        [=](group_checkpoint_atom, const std::string& scope, const std::string& name,
            const std::string& checkpoint) {
            return group_checkpoint(self, scope, name, checkpoint);
        },
        [=](group_reset_atom, const std::string& scope, const std::string& name,
            const std::string& checkpoint, const std::vector<stream_cut>& cuts,
            uint32_t seen) { return group_reset(self, scope, name, checkpoint, cuts, seen); },
        [=](group_offline_atom, const std::string& scope, const std::string& name,
            const std::string& reader, uint64_t session, uint64_t syncs) -> caf::result<bool> {
            auto c = command::of(kind::group_offline, scope, name);
            c.sync.reader = reader;
            c.sync.session = session;
            c.sync.syncs = syncs;
            auto rp = self->make_response_promise<bool>();
            commit_answer(self, c, rp, [](const outcome& out) { return out.changed; });
            return rp;
        },
        [=](group_auto_atom, const std::string& scope, const std::string& name) {
            auto now = self->state.cfg.wall_clock_ms ? self->state.cfg.wall_clock_ms() : 0;
            auto c = command::of(kind::group_checkpoint, scope, name, 0, now);
            c.checkpoint = "auto-" + std::to_string(now);
            c.silent = true;
            return group_simple(self, c);
        },
        [=](group_actors_atom) {
            self->state.group_sync_scheduled = false;
            sync_groups(self);
        },
        [=](txn_atom, const txn_request& req) { return txn_call(self, req); },
        [=](txn_list_atom, const std::string& scope, const std::string& name) {
            return txn_list(self, scope, name);
        },
        [=](txn_expire_atom, const std::string& scope, const std::string& stream, uint64_t id,
            const std::string& reason) { return txn_expire(self, scope, stream, id, reason); },
        [=](txn_actors_atom) {
            self->state.txn_sync_scheduled = false;
            sync_txns(self);
        },
        [=](flushed_atom) { flush_commands(self); },
        [=](group_lag_atom) {
            refresh_group_lag(self);
            self->delayed_send(self, self->state.cfg.group_lag_every, group_lag_atom::value);
        },
        [=](repair_atom) {
            self->state.repair_scheduled = false;
            if (is_leader(self)) {
                repair(self);
            }
        },
        [=](raft_route_atom, uint32_t node, raft_replica_api& replica) {
            self->state.routes.update(node, std::move(replica));
        },
    };
}

}  // namespace ctl

caf::expected<controller_actor> spawn_controller(caf::actor_system& sys,
                                                 const controller_config& cfg) {
    PRAVAHA_ASSERT(cfg.store != nullptr, "controller needs a store");
    bool replicated = !cfg.raft.members.empty();
    auto meta = std::make_shared<storage::controller_state>(*cfg.store, replicated,
                                                            cfg.container_count, cfg.txns);
    // A snapshot whose install a crash cut short is finished before the state is read.
    if (auto err = replicated ? storage::raft::complete_install(*cfg.store, 0) : caf::error{}) {
        return err;
    }
    if (auto err = meta->load()) {
        return err;
    }
    if (replicated) {
        auto raft = std::make_shared<raft_driver>(*cfg.store, raft_config_of(cfg.raft, 0));
        if (auto err = raft->open(meta->applied_index())) {
            return err;
        }
        if (cfg.detached) {
            return sys.spawn<caf::detached>(ctl::controller_impl, meta, raft, cfg);
        }
        return sys.spawn(ctl::controller_impl, meta, raft, cfg);
    }
    std::shared_ptr<raft_driver> no_raft;
    if (cfg.detached) {
        return sys.spawn<caf::detached>(ctl::controller_impl, meta, no_raft, cfg);
    }
    return sys.spawn(ctl::controller_impl, meta, no_raft, cfg);
}

}  // namespace pravaha::actors
