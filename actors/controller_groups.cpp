// The controller's reader groups: the group messages (each change one committed command, the rules
// in storage/reader_group.hpp), the group actors on the leader (leases, automatic checkpoints) and
// the checkpoint requests waiting for their checkpoint.

#include "actors/controller_internal.hpp"
#include "actors/reader_group_actor.hpp"
#include "schema/errc.hpp"
#include "schema/logging.hpp"

#include <caf/send.hpp>
#include <fmt/format.h>

namespace pravaha::actors::ctl {

namespace {

bool is_group_command(const command& c) {
    return c.type >= command::kind::group_create && c.type <= command::kind::group_reset;
}

template <class... Ts>
void tell_group(controller_ptr self, const command& c, Ts&&... xs) {
    auto it = self->state.groups.find({c.scope, c.name});
    if (it != self->state.groups.end()) {
        caf::anon_send(it->second, std::forward<Ts>(xs)...);
    }
}

// Answers the checkpoint requests of group scope/name whose checkpoint completed (or can no
// longer complete: the group was reset or deleted).
void answer_checkpoint_waiters(controller_ptr self,
                               const std::string& scope,
                               const std::string& name,
                               const reader_group_record* g) {
    auto& waiters = self->state.checkpoint_waiters;
    auto it = waiters.lower_bound({scope, name, ""});
    while (it != waiters.end() && std::get<0>(it->first) == scope &&
           std::get<1>(it->first) == name) {
        const auto& cp_name = std::get<2>(it->first);
        const auto* cp = g != nullptr ? storage::group_checkpoint_of(*g, cp_name) : nullptr;
        if (cp != nullptr && !cp->complete) {
            ++it;
            continue;
        }
        for (auto& rp : it->second) {
            if (cp != nullptr) {
                rp.deliver(cp->cuts);
            } else {
                rp.deliver(caf::make_error(
                    g == nullptr ? errc::group_not_found : errc::conflict,
                    fmt::format(
                        "checkpoint {} of reader group {}/{} {}", cp_name, scope, name,
                        g == nullptr ? "is gone with its group" : "was dropped by a reset")));
            }
        }
        it = waiters.erase(it);
    }
}

group_info info_without_lengths(const storage::controller_state& m, const reader_group_record& g) {
    return storage::describe_group(g, m.streams_view(),
                                   [](const segment_key&) { return std::optional<int64_t>{}; });
}

}  // namespace

void after_group_command(controller_ptr self, const command& c, const outcome& out) {
    using kind = command::kind;
    if (!is_group_command(c) || out.error) {
        return;
    }
    switch (c.type) {
        case kind::group_create:
            sync_groups(self);
            break;
        case kind::group_delete:
            sync_groups(self);
            answer_checkpoint_waiters(self, c.scope, c.name, nullptr);
            return;
        case kind::group_join:
        case kind::group_sync:
            if (auto it = out.group.readers.find(c.sync.reader); it != out.group.readers.end()) {
                tell_group(self, c,
                           caf::make_message(group_seen_atom::value, c.sync.reader,
                                             it->second.session, it->second.syncs));
            }
            break;
        case kind::group_leave:
            tell_group(self, c, group_gone_atom::value, c.sync.reader);
            break;
        case kind::group_offline:
            if (out.changed) {  // else a late repeat: the name may be another session's now
                tell_group(self, c, group_gone_atom::value, c.sync.reader);
            }
            break;
        case kind::group_reset:
            tell_group(self, c, group_gone_atom::value, std::string());
            break;
        default:
            break;
    }
    answer_checkpoint_waiters(self, c.scope, c.name, &out.group);
}

void sync_groups(controller_ptr self) {
    auto& st = self->state;
    std::map<stream_name, reader_group_record> wanted;
    if (is_leader(self)) {
        for (auto& g : st.meta->all_groups()) {
            wanted.emplace(stream_name{g.scope, g.name}, std::move(g));
        }
    } else {
        // A checkpoint completes on the new leader: the clients ask there.
        fail_waiters(self, st.checkpoint_waiters);
    }
    sync_children(self, st.groups, wanted,
                  [self](const stream_name& n, const reader_group_record& g) {
                      group_actor_config cfg;
                      cfg.scope = n.first;
                      cfg.name = n.second;
                      cfg.controller = caf::actor_cast<controller_actor>(self);
                      cfg.lease_ms = g.config.lease_ms;
                      cfg.checkpoint_interval_ms = g.config.checkpoint_interval_ms;
                      for (const auto& [reader, m] : g.readers) {
                          cfg.readers.push_back({reader, m.session, m.syncs});
                      }
                      return spawn_group_actor(self, std::move(cfg));
                  });
}

bool on_group_down(controller_ptr self, const caf::down_msg& dm) {
    return on_child_down<group_actors_atom>(
        self, self->state.groups, self->state.group_sync_scheduled, dm, "reader group actor");
}

caf::result<group_info> group_create(controller_ptr self,
                                     const std::string& scope,
                                     const std::string& name,
                                     group_config cfg) {
    auto& m = *self->state.meta;
    return linearized<group_info>(self, [self, &m, scope, name, cfg](auto& rp) mutable {
        // A start cut without segments is the stream's head.
        for (auto& st : cfg.streams) {
            if (st.start.segments.empty()) {
                auto head = m.head_cut(st.scope, st.name);
                if (!head) {
                    rp.deliver(std::move(head.error()));
                    return;
                }
                st.start = std::move(*head);
            }
        }
        auto now = self->state.cfg.wall_clock_ms ? self->state.cfg.wall_clock_ms() : 0;
        auto c = command::of(command::kind::group_create, scope, name, 0, now);
        c.group = std::move(cfg);
        commit_answer(self, c, rp, [self](const outcome& out) {
            return info_without_lengths(*self->state.meta, out.group);
        });
    });
}

void describe_group_then(controller_ptr self,
                         const reader_group_record& g,
                         std::function<void(group_info)> then) {
    auto& m = *self->state.meta;
    // The lengths of the streams' current segments, from their containers; sealed ones are in
    // the history.
    std::vector<segment_key> live;
    for (const auto& st : g.config.streams) {
        auto rec = m.get_stream(st.scope, st.name);
        if (rec && rec->uid == st.start.stream) {
            for (const auto& seg : rec->segments) {
                live.push_back({rec->uid, seg.id});
            }
        }
    }
    statuses_then(
        self, live,
        [self, then = std::move(then), g,
         live](caf::expected<std::vector<segment_status>> statuses) mutable {
            auto& meta = *self->state.meta;
            std::map<segment_key, int64_t> lengths;
            if (statuses) {
                for (size_t i = 0; i < live.size(); ++i) {
                    lengths[live[i]] = (*statuses)[i].length;
                }
            }
            for (const auto& st : g.config.streams) {
                auto h = meta.history(st.scope, st.name);
                if (!h) {
                    continue;
                }
                for (const auto& e : *h) {
                    for (const auto& seg : e.segments) {
                        if (seg.sealed_length >= 0) {
                            lengths[{st.start.stream, seg.range.id}] = seg.sealed_length;
                        }
                    }
                }
            }
            then(storage::describe_group(
                g, meta.streams_view(), [&lengths](const segment_key& k) -> std::optional<int64_t> {
                    auto it = lengths.find(k);
                    if (it == lengths.end()) {
                        return std::nullopt;
                    }
                    return it->second;
                }));
        });
}

caf::result<group_info> group_info_of(controller_ptr self,
                                      const std::string& scope,
                                      const std::string& name) {
    auto& m = *self->state.meta;
    return linearized<group_info>(self, [self, &m, scope, name](auto& rp) {
        auto g = m.get_group(scope, name);
        if (!g) {
            rp.deliver(std::move(g.error()));
            return;
        }
        describe_group_then(self, *g,
                            [rp](group_info info) mutable { rp.deliver(std::move(info)); });
    });
}

caf::result<group_assignment> group_join_or_sync(controller_ptr self,
                                                 bool join,
                                                 const std::string& scope,
                                                 const std::string& name,
                                                 const group_sync& req) {
    auto c = command::of(join ? command::kind::group_join : command::kind::group_sync, scope, name);
    c.sync = req;
    auto rp = self->make_response_promise<group_assignment>();
    commit_answer(self, c, rp, [](const outcome& out) { return out.assignment; });
    return rp;
}

caf::result<bool> group_simple(controller_ptr self, const command& c) {
    auto rp = self->make_response_promise<bool>();
    commit_answer(self, c, rp, [](const outcome&) { return true; });
    return rp;
}

caf::result<std::vector<stream_cut>> group_checkpoint(controller_ptr self,
                                                      const std::string& scope,
                                                      const std::string& name,
                                                      const std::string& checkpoint) {
    auto now = self->state.cfg.wall_clock_ms ? self->state.cfg.wall_clock_ms() : 0;
    auto c = command::of(command::kind::group_checkpoint, scope, name, 0, now);
    c.checkpoint = checkpoint;
    auto rp = self->make_response_promise<std::vector<stream_cut>>();
    commit(self, c,
           [self, rp, scope, name, checkpoint](const caf::error& err, const outcome* out) mutable {
               if (err || out->error) {
                   rp.deliver(err ? err : out->error);
                   return;
               }
               const auto* cp = storage::group_checkpoint_of(out->group, checkpoint);
               if (cp != nullptr && cp->complete) {
                   rp.deliver(cp->cuts);
                   return;
               }
               self->state.checkpoint_waiters[{scope, name, checkpoint}].push_back(rp);
           });
    return rp;
}

caf::result<uint32_t> group_reset(controller_ptr self,
                                  const std::string& scope,
                                  const std::string& name,
                                  const std::string& checkpoint,
                                  const std::vector<stream_cut>& cuts,
                                  uint32_t seen) {
    auto& m = *self->state.meta;
    return linearized<uint32_t>(self, [self, &m, scope, name, checkpoint, cuts, seen](auto& rp) {
        auto g = m.get_group(scope, name);
        if (!g) {
            rp.deliver(std::move(g.error()));
            return;
        }
        auto c = command::of(command::kind::group_reset, scope, name);
        c.checkpoint = checkpoint;
        c.cuts = cuts;
        // Of the generation the caller saw: a retry after the reset was applied (or a reset of
        // another caller since) is taken as done, not applied again.
        c.generation = std::min(seen, g->generation);
        commit_answer(self, c, rp, [](const outcome& out) { return out.group.generation; });
    });
}

}  // namespace pravaha::actors::ctl
