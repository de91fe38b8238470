#include "actors/actors.hpp"
#include "actors/raft_driver.hpp"
#include "actors/raft_routes.hpp"
#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/names.hpp"
#include "storage/storage.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <functional>
#include <map>
#include <memory>

namespace pravaha::actors {

namespace {

using command = storage::controller_state::command;
using outcome = storage::controller_state::outcome;

// A proposed metadata command, continued on the leader when its entry is applied.
struct pending_command {
    uint64_t term = 0;
    std::function<void(const caf::error&, const outcome*)> done;
};

struct controller_state_t {
    controller_config cfg;
    std::shared_ptr<storage::controller_state> meta;
    std::shared_ptr<raft_driver> raft;  // cluster mode
    std::map<uint64_t, pending_command> proposed;
    raft_routes routes;  // where Raft messages go (cluster mode)
    bool repair_scheduled = false;
    bool was_leader = false;
    static inline const char* name = "controller";
};

using controller_ptr = controller_actor::stateful_pointer<controller_state_t>;

// Runs one segment operation for every segment of `rec` and calls `then` with the first error
// (or none) when all have answered.
template <class Atom>
void for_all_segments_then(controller_ptr self,
                           const stream_record& rec,
                           std::function<void(const caf::error&)> then) {
    auto remaining = std::make_shared<size_t>(rec.segments.size());
    auto failed = std::make_shared<bool>(false);
    if (rec.segments.empty()) {
        then({});
        return;
    }
    for (const auto& seg : rec.segments) {
        // await: metadata workflows run one at a time, in arrival order, so a delete can never
        // overtake the create it follows. Metadata operations are rare; appends never wait here.
        self->request(self->state.cfg.container, self->state.cfg.request_timeout, Atom::value,
                      segment_key{rec.uid, seg.id})
            .await(
                [=](bool) {
                    if (--*remaining == 0 && !*failed) {
                        then({});
                    }
                },
                [=](caf::error& err) {
                    if (!*failed) {
                        *failed = true;
                        then(err);
                    }
                });
    }
}

// Answers `stream info`: the record plus each segment's length and sealed flag.
// Answers `rp` with the record and every segment's length and seal state.
void collect_info(controller_ptr self,
                  const stream_record& rec,
                  caf::typed_response_promise<stream_info> rp) {
    auto info = std::make_shared<stream_info>();
    info->record = rec;
    for (const auto& seg : rec.segments) {
        info->segments.push_back({seg.id, seg.key_start, seg.key_end, 0, false, {}});
    }
    if (rec.segments.empty()) {
        rp.deliver(*info);
        return;
    }
    auto remaining = std::make_shared<size_t>(rec.segments.size());
    auto failed = std::make_shared<bool>(false);
    for (size_t i = 0; i < rec.segments.size(); ++i) {
        self->request(self->state.cfg.container, self->state.cfg.request_timeout,
                      segment_status_atom::value, segment_key{rec.uid, rec.segments[i].id})
            .then(
                [=](const segment_status& s) mutable {
                    info->segments[i].length = s.length;
                    info->segments[i].sealed = s.sealed;
                    if (--*remaining == 0 && !*failed) {
                        rp.deliver(*info);
                    }
                },
                [=](caf::error& err) mutable {
                    if (!*failed) {
                        *failed = true;
                        rp.deliver(err);
                    }
                });
    }
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

// Re-issues the idempotent segment operations a crash (or a change of controller leader) may
// have cut short: a stream record is written before its segments are created, and a seal is
// recorded before segments are sealed.
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
        for (const auto& seg : rec.segments) {
            segment_key key{rec.uid, seg.id};
            self->request(cfg.container, cfg.request_timeout, create_segment_atom::value, key)
                .then([](bool) {}, [=](caf::error& err) { failed("re-create", key, err); });
            if (rec.state == stream_state::sealed) {
                self->request(cfg.container, cfg.request_timeout, seal_segment_atom::value, key)
                    .then([](bool) {}, [=](caf::error& err) { failed("re-seal", key, err); });
            }
        }
    }
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
        repair(self);
    }
    st.was_leader = leader;
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
    }
}

// Commits `c` and calls `done` with its outcome once applied, or with an error when its outcome
// is unknown (not_leader, a storage error).
void commit(controller_ptr self,
            const command& c,
            std::function<void(const caf::error&, const outcome*)> done) {
    auto& st = self->state;
    if (!st.raft) {
        auto out = st.meta->apply(0, c);
        if (!out) {
            module_log("actors")->error("controller storage failed error={}",
                                        render_error(out.error()));
            done(out.error(), nullptr);
            return;
        }
        log_outcome(c, *out);
        done({}, &*out);
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
        pending_command{r.term(), [c, done](const caf::error& err, const outcome* out) {
                            if (out != nullptr) {
                                log_outcome(c, *out);
                            }
                            done(err, out);
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

// Commits `c` (create or seal a stream), then runs `Atom` on every segment of the resulting
// record and answers `rp` with it.
template <class Atom>
void commit_stream(controller_ptr self,
                   const command& c,
                   caf::typed_response_promise<stream_record> rp) {
    commit(self, c, [self, rp](const caf::error& err, const outcome* out) mutable {
        if (err || out->error) {
            rp.deliver(err ? err : out->error);
            return;
        }
        // The command is committed: if a container cannot do its part now (electing), the
        // repair finishes it, else the stream would stay without its segments.
        for_all_segments_then<Atom>(self, out->record,
                                    [self, rp, rec = out->record](const caf::error& e) mutable {
                                        if (e) {
                                            schedule_repair(self);
                                            rp.deliver(e);
                                        } else {
                                            rp.deliver(rec);
                                        }
                                    });
    });
}

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

// Deletes a sealed stream: its segments first, then (committed) its record; a crash in between
// leaves a sealed stream whose delete can simply be repeated.
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
        for_all_segments_then<delete_segment_atom>(self, *rec, [=](const caf::error& err) mutable {
            if (err) {
                rp.deliver(err);
                return;
            }
            commit_simple(self, command::of(kind::delete_stream, scope, name, 0, 0), rp);
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
        collect_info(self, *rec, rp);
    });
}

// Cluster mode: the replica's Raft hooks and first tick.
void start_raft(controller_ptr self) {
    auto& st = self->state;
    storage::raft::runner_hooks hooks;
    // The owner writes its state change itself (unsynced): nothing goes into the runner's batch.
    hooks.apply = [self](uint64_t index, const std::string& data, storage::write_batch&) {
        return apply_command(self, index, data);
    };
    hooks.snapshot = [self] { return self->state.meta->snapshot(); };
    hooks.stage_install = [self](const storage::raft::snapshot& snap, storage::write_batch& b) {
        return self->state.meta->stage_install(snap.data, snap.index, b);
    };
    hooks.installed = [self](const storage::raft::snapshot&) { return self->state.meta->load(); };
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
    if (st.raft) {
        start_raft(self);  // repairs once it leads (drive)
    } else {
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
            uint32_t segments) -> caf::result<stream_record> {
            if (self->state.cfg.storage_full) {
                if (auto why = self->state.cfg.storage_full(); !why.empty()) {
                    return caf::make_error(errc::storage_full, why);
                }
            }
            auto now = self->state.cfg.wall_clock_ms ? self->state.cfg.wall_clock_ms() : 0;
            auto rp = self->make_response_promise<stream_record>();
            commit_stream<create_segment_atom>(
                self, command::of(kind::create_stream, scope, name, segments, now), rp);
            return rp;
        },
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
            commit_stream<seal_segment_atom>(self,
                                             command::of(kind::seal_stream, scope, name, 0, 0), rp);
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

}  // namespace

caf::expected<controller_actor> spawn_controller(caf::actor_system& sys,
                                                 const controller_config& cfg) {
    PRAVAHA_ASSERT(cfg.store != nullptr, "controller needs a store");
    bool replicated = !cfg.raft.members.empty();
    auto meta = std::make_shared<storage::controller_state>(*cfg.store, replicated);
    if (auto err = meta->load()) {
        return err;
    }
    if (replicated) {
        auto raft = std::make_shared<raft_driver>(*cfg.store, raft_config_of(cfg.raft, 0));
        if (auto err = raft->open(meta->applied_index())) {
            return err;
        }
        if (cfg.detached) {
            return sys.spawn<caf::detached>(controller_impl, meta, raft, cfg);
        }
        return sys.spawn(controller_impl, meta, raft, cfg);
    }
    std::shared_ptr<raft_driver> no_raft;
    if (cfg.detached) {
        return sys.spawn<caf::detached>(controller_impl, meta, no_raft, cfg);
    }
    return sys.spawn(controller_impl, meta, no_raft, cfg);
}

}  // namespace pravaha::actors
