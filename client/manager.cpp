// The stream manager actor of the actor API (client/actor_api.hpp): one client of one cluster.
// Node calls go to the node its directory holds and are retried, with the writers' and
// readers' pauses, while they fail in ways that pass (a controller election, a lost node), for
// at most the client's retry timeout; writers and readers it opens share its directory.

#include "client/directory.hpp"
#include "client/internal.hpp"
#include "client/node_link.hpp"
#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/splitmix.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/message.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <fmt/format.h>

#include <set>

namespace pravaha::client::detail {

namespace {

using mretry_atom = caf::atom_constant<caf::atom("mretry")>;

struct manager_state {
    endpoint_info ep;
    retry_policy policy;
    uint64_t id_state = 0;  // writer ids (splitmix64 from the spawner's seed)
    /// The writers and readers it opened, while they run (shared with the exit functor, which
    /// runs after the state is gone).
    std::shared_ptr<std::set<caf::actor_addr>> children =
        std::make_shared<std::set<caf::actor_addr>>();
    uint64_t retry_ids = 0;
    std::map<uint64_t, std::function<void()>> retries;  // calls pausing until (mretry_atom, id)
    static inline const char* name = "stream_manager";
};

using manager_ptr = caf::stateful_actor<manager_state>*;

// Ends `a` with `reason` (caf::anon_send_exit takes only an exit_reason).
void end_with(const caf::actor& a, const caf::error& reason) {
    if (a) {
        a->enqueue(nullptr, caf::make_message_id(),
                   caf::make_message(caf::exit_msg{a->address(), reason}), nullptr);
    }
}

template <class R>
using outcome_fn = std::function<void(caf::expected<R>)>;

// One call of the manager with its retries: `issue` makes one try; a failure that may pass
// (needs_reconnect: a controller election, a lost node, a timeout) is tried again after the
// writers' pauses, until the retry timeout since the call began; `finish` gets the outcome.
template <class R>
struct retried_call : std::enable_shared_from_this<retried_call<R>> {
    manager_ptr self = nullptr;
    std::function<void(outcome_fn<R>)> issue;
    outcome_fn<R> finish;
    caf::actor_clock::time_point started;
    std::chrono::milliseconds pause{0};

    void run() {
        auto me = this->shared_from_this();
        issue([me](caf::expected<R> r) { me->on_outcome(std::move(r)); });
    }

    void on_outcome(caf::expected<R> r) {
        if (r || !needs_reconnect(r.error())) {
            finish(std::move(r));
            return;
        }
        auto& st = self->state;
        pause = st.policy.next_pause(pause);
        auto waited =
            std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now() - started);
        if (waited + pause > st.policy.give_up_after) {
            finish(std::move(r));
            return;
        }
        module_log("client")->debug("stream manager retrying error={}", render_error(r.error()));
        auto id = ++st.retry_ids;
        st.retries[id] = [me = this->shared_from_this()] { me->run(); };
        self->delayed_send(self, pause, mretry_atom::value, id);
    }
};

template <class R>
void with_retries(manager_ptr self,
                  std::function<void(outcome_fn<R>)> issue,
                  outcome_fn<R> finish) {
    auto call = std::make_shared<retried_call<R>>();
    call->self = self;
    call->issue = std::move(issue);
    call->finish = std::move(finish);
    call->started = self->clock().now();
    call->run();
}

// A request to the directory's node, answered to the current request. A failure that may mean
// the node is gone is reported to the directory, so that the next try connects anew.
template <class R, class... Ts>
std::function<void(outcome_fn<R>)> node_request(manager_ptr self, Ts... xs) {
    return [self, xs...](outcome_fn<R> done) {
        self->request(self->state.ep.directory, caf::infinite, dir_node_atom::value)
            .then(
                [self, done, xs...](const transport::node_actor& node) {
                    self->request(node, self->state.ep.cfg.request_timeout, xs...)
                        .then([done](R& r) { done(std::move(r)); },
                              [self, done, node](caf::error& err) {
                                  if (needs_reconnect(err)) {
                                      self->send(self->state.ep.directory, dir_stale_atom::value,
                                                 node.address());
                                  }
                                  done(std::move(err));
                              });
                },
                [done](caf::error& err) { done(std::move(err)); });
    };
}

// node_request, answered to the current request.
template <class R, class... Ts>
caf::result<R> node_call(manager_ptr self, Ts... xs) {
    auto rp = self->make_response_promise<R>();
    with_retries<R>(self, node_request<R>(self, xs...), [rp](caf::expected<R> r) mutable {
        if (r) {
            rp.deliver(std::move(*r));
        } else {
            rp.deliver(std::move(r.error()));
        }
    });
    return rp;
}

// A stream's record or info through the directory (the queries of many callers share its
// requests), with the same retries.
template <class R, class Atom>
void query(manager_ptr self,
           const std::string& scope,
           const std::string& stream,
           outcome_fn<R> then) {
    auto issue = [self, scope, stream](outcome_fn<R> done) {
        self->request(self->state.ep.directory, caf::infinite, dir_query_atom::value, Atom::value,
                      scope, stream)
            .then([done](R& r) { done(std::move(r)); },
                  [done](caf::error& err) { done(std::move(err)); });
    };
    with_retries<R>(self, issue, std::move(then));
}

// Keeps `child` until it ends; the manager's end ends it too (see manager_impl).
void adopt(manager_ptr self, const caf::actor& child) {
    self->state.children->insert(child.address());
    self->monitor(child);
}

caf::error check_limits(const writer_options& o) {
    if (o.block_bytes_max == 0 || o.blocks_in_flight_max == 0 || o.pending_bytes_max == 0) {
        return caf::make_error(errc::invalid_argument, "writer limits must be positive");
    }
    return {};
}

// Spawns a writer of `rec` with the options' limits and id (a stable one opens sessions; none:
// one the manager picks), owned by the manager.
writer_actor spawn_writer_of(manager_ptr self,
                             stream_record rec,
                             const writer_options& opts,
                             writer_mode mode) {
    auto& st = self->state;
    writer_config cfg;
    cfg.block_bytes_max = opts.block_bytes_max;
    cfg.blocks_in_flight_max = opts.blocks_in_flight_max;
    cfg.pending_bytes_max = opts.pending_bytes_max;
    writer_id id = opts.id;
    if (opts.stable_id) {
        cfg.id = opts.id;
    } else if (id == writer_id{}) {
        id = writer_id{splitmix64(st.id_state), splitmix64(st.id_state)};
    }
    mode.exit_on_give_up = opts.exit_on_give_up;
    auto w = spawn_writer(self->system(), st.ep, std::move(rec), cfg, id, std::move(mode));
    adopt(self, w);
    return caf::actor_cast<writer_actor>(w);
}

caf::result<writer_actor> open_writer(manager_ptr self,
                                      const std::string& scope,
                                      const std::string& stream,
                                      const writer_options& opts) {
    if (auto err = check_limits(opts)) {
        return err;
    }
    auto rp = self->make_response_promise<writer_actor>();
    query<stream_record, get_stream_atom>(
        self, scope, stream,
        [self, rp, opts, scope, stream](caf::expected<stream_record> rec) mutable {
            if (!rec) {
                rp.deliver(std::move(rec.error()));
                return;
            }
            if (rec->state == stream_state::sealed) {
                rp.deliver(caf::make_error(errc::stream_sealed,
                                           "stream " + scope + "/" + stream + " is sealed"));
                return;
            }
            rp.deliver(spawn_writer_of(self, std::move(*rec), opts, {}));
        });
    return rp;
}

// A writer of an open transaction: its events go to the transaction segments (invisible until
// the commit), with the ordinary append protocol under a writer id of its own.
caf::result<writer_actor> open_txn_writer(manager_ptr self,
                                          const txn_record& t,
                                          const writer_options& opts) {
    if (auto err = check_limits(opts)) {
        return err;
    }
    if (t.state != txn_state::open || t.segments.empty()) {
        return caf::make_error(errc::transaction_not_open,
                               fmt::format("transaction {} of {}/{} is {}", txn_id_text(t.id),
                                           t.scope, t.stream, to_string(t.state)));
    }
    if (opts.stable_id) {
        return caf::make_error(errc::invalid_argument,
                               "a transaction's writer has an id of its own, not a stable one");
    }
    stream_record rec;
    rec.scope = t.scope;
    rec.name = t.stream;
    rec.uid = t.uid;
    rec.epoch = t.epoch;
    writer_mode mode;
    for (const auto& s : t.segments) {
        rec.segments.push_back(s.range);
        mode.txn_keys.push_back(s.key);
    }
    return spawn_writer_of(self, std::move(rec), opts, std::move(mode));
}

// Starts the reader: at `from` when it names segments (a resolved stream cut), else at the
// options' start.
void start_reader(manager_ptr self,
                  const std::string& scope,
                  const std::string& stream,
                  const reader_options& opts,
                  const stream_cut& from,
                  reader_mode mode,
                  caf::typed_response_promise<reader_actor> rp) {
    query<stream_info, stream_info_atom>(
        self, scope, stream, [self, rp, opts, from, mode](caf::expected<stream_info> info) mutable {
            if (!info) {
                rp.deliver(std::move(info.error()));
                return;
            }
            auto spawn = [self, rp, opts, mode](const stream_info& at,
                                                start_offsets given) mutable {
                auto start = given.empty() ? start_of(at, opts.from, opts.at.offsets)
                                           : caf::expected<start_offsets>{std::move(given)};
                if (!start) {
                    rp.deliver(std::move(start.error()));
                    return;
                }
                auto r = spawn_reader(self->system(), self->state.ep, at, opts.from,
                                      std::move(*start), mode);
                adopt(self, r);
                rp.deliver(caf::actor_cast<reader_actor>(r));
            };
            if (!from.segments.empty()) {
                // At a stream cut: its segments, of whatever epochs, at its offsets.
                auto at = *info;
                at.segments.clear();
                start_offsets offsets;
                for (const auto& c : from.segments) {
                    at.segments.push_back(
                        {c.range.id, c.range.key_start, c.range.key_end, c.offset, false, {}});
                    offsets[c.range.id.value] = c.offset;
                }
                spawn(at, std::move(offsets));
                return;
            }
            if (opts.from != start_position::head || !opts.at.offsets.empty() ||
                info->record.epoch == 0) {
                spawn(*info, {});
                return;
            }
            // The head of a scaled stream is its first epoch: the reader follows the successors
            // from there.
            using epochs = std::vector<epoch_info>;
            auto head = *info;
            with_retries<epochs>(self,
                                 node_request<epochs>(self, history_atom::value, info->record.scope,
                                                      info->record.name),
                                 [rp, head, spawn](caf::expected<epochs> h) mutable {
                                     if (!h) {
                                         rp.deliver(std::move(h.error()));
                                         return;
                                     }
                                     head.segments.clear();
                                     for (const auto& seg : h->front().segments) {
                                         head.segments.push_back({seg.range.id,
                                                                  seg.range.key_start,
                                                                  seg.range.key_end,
                                                                  0,
                                                                  seg.sealed_length >= 0,
                                                                  {}});
                                     }
                                     spawn(head, {});
                                 });
        });
}

// Resolves `cut` against the stream (the controller checks it), or answers an empty cut at once.
void resolve_then(manager_ptr self,
                  const std::string& scope,
                  const std::string& stream,
                  const stream_cut& cut,
                  std::function<void(caf::expected<stream_cut>)> then) {
    if (cut.segments.empty()) {
        then(stream_cut{});
        return;
    }
    with_retries<stream_cut>(
        self, node_request<stream_cut>(self, resolve_cut_atom::value, scope, stream, cut),
        std::move(then));
}

caf::result<reader_actor> open_reader(manager_ptr self,
                                      const std::string& scope,
                                      const std::string& stream,
                                      const reader_options& opts) {
    if (opts.buffer_bytes_max == 0) {
        return caf::make_error(errc::invalid_argument, "reader buffer must be positive");
    }
    auto rp = self->make_response_promise<reader_actor>();
    auto fail = [rp](caf::error err) mutable { rp.deliver(std::move(err)); };
    // The end cut, then the start cut, then the stream: each checked before the reader starts.
    resolve_then(self, scope, stream, opts.to_cut, [=](caf::expected<stream_cut> to) mutable {
        if (!to) {
            fail(std::move(to.error()));
            return;
        }
        resolve_then(self, scope, stream, opts.from_cut,
                     [=](caf::expected<stream_cut> from) mutable {
                         if (!from) {
                             fail(std::move(from.error()));
                             return;
                         }
                         reader_mode mode{opts.exit_on_give_up, opts.buffer_bytes_max, {}};
                         for (const auto& c : to->segments) {
                             mode.until[c.range.id.value] = c.offset;
                         }
                         start_reader(self, scope, stream, opts, *from, std::move(mode), rp);
                     });
    });
    return rp;
}

// Joins the group, then spawns the reader with what the join assigned it.
caf::result<reader_actor> open_group_reader(manager_ptr self,
                                            const std::string& scope,
                                            const std::string& group,
                                            const std::string& reader,
                                            const group_reader_options& opts) {
    if (opts.buffer_bytes_max == 0) {
        return caf::make_error(errc::invalid_argument, "reader buffer must be positive");
    }
    auto rp = self->make_response_promise<reader_actor>();
    group_sync req;
    req.reader = reader;
    req.nonce = opts.nonce != 0 ? opts.nonce : splitmix64(self->state.id_state) | 1;
    group_membership member{scope, group, reader, req.nonce, self, {}, self->clock().now()};
    with_retries<group_assignment>(
        self, node_request<group_assignment>(self, group_join_atom::value, scope, group, req),
        [self, rp, opts, member](caf::expected<group_assignment> a) mutable {
            if (!a) {
                rp.deliver(std::move(a.error()));
                return;
            }
            member.joined = std::move(*a);
            reader_mode mode{opts.exit_on_give_up, opts.buffer_bytes_max, {}};
            auto r = spawn_group_reader(self->system(), self->state.ep, std::move(member),
                                        std::move(mode));
            adopt(self, r);
            rp.deliver(caf::actor_cast<reader_actor>(r));
        });
    return rp;
}

caf::behavior manager_impl(manager_ptr self, endpoint_info ep, uint64_t seed) {
    auto& st = self->state;
    st.ep = std::move(ep);
    st.policy = retry_policy::of(st.ep.cfg);
    st.id_state = seed;
    self->set_down_handler([self](caf::down_msg& dm) { self->state.children->erase(dm.source); });
    // Its writers, readers and directory end with it, for the same reason.
    self->attach_functor(
        [children = st.children, directory = st.ep.directory](const caf::error& reason) {
            auto why = reason ? reason : caf::error{caf::exit_reason::user_shutdown};
            for (const auto& child : *children) {
                end_with(caf::actor_cast<caf::actor>(child), why);
            }
            end_with(directory, why);
        });
    return {
        [self](create_scope_atom a, const std::string& scope) {
            return node_call<bool>(self, a, scope);
        },
        [self](delete_scope_atom a, const std::string& scope) {
            return node_call<bool>(self, a, scope);
        },
        [self](list_scopes_atom a) { return node_call<std::vector<std::string>>(self, a); },
        [self](create_stream_atom a, const std::string& scope, const std::string& stream,
               uint32_t segments) {
            return node_call<stream_record>(self, a, scope, stream, segments);
        },
        [self](list_streams_atom a, const std::string& scope) {
            return node_call<std::vector<std::string>>(self, a, scope);
        },
        [self](stream_info_atom a, const std::string& scope, const std::string& stream) {
            return node_call<stream_info>(self, a, scope, stream);
        },
        [self](seal_stream_atom a, const std::string& scope, const std::string& stream) {
            return node_call<stream_record>(self, a, scope, stream);
        },
        [self](delete_stream_atom a, const std::string& scope, const std::string& stream) {
            return node_call<bool>(self, a, scope, stream);
        },
        [self](create_stream_atom a, const std::string& scope, const std::string& stream,
               uint32_t segments, const scaling_policy& policy) {
            return node_call<stream_record>(self, a, scope, stream, segments, policy);
        },
        [self](update_stream_atom a, const std::string& scope, const std::string& stream,
               const scaling_policy& policy) {
            return node_call<stream_record>(self, a, scope, stream, policy);
        },
        [self](scale_atom a, const std::string& scope, const std::string& stream,
               const scale_request& req) {
            return node_call<scale_result>(self, a, scope, stream, req);
        },
        [self](history_atom a, const std::string& scope, const std::string& stream) {
            return node_call<std::vector<epoch_info>>(self, a, scope, stream);
        },
        [self](get_stream_atom a, const std::string& scope, const std::string& stream) {
            return node_call<stream_record>(self, a, scope, stream);
        },
        [self](successors_atom a, const std::string& scope, const std::string& stream,
               segment_id id) { return node_call<segment_successors>(self, a, scope, stream, id); },
        [self](resolve_cut_atom a, const std::string& scope, const std::string& stream,
               const stream_cut& cut) {
            return node_call<stream_cut>(self, a, scope, stream, cut);
        },
        [self](stream_cut_atom a, const std::string& scope, const std::string& stream, bool head) {
            return node_call<stream_cut>(self, a, scope, stream, head);
        },
        [self](group_create_atom a, const std::string& scope, const std::string& name,
               const group_config& cfg) {
            return node_call<group_info>(self, a, scope, name, cfg);
        },
        [self](group_delete_atom a, const std::string& scope, const std::string& name) {
            return node_call<bool>(self, a, scope, name);
        },
        [self](group_list_atom a, const std::string& scope) {
            return node_call<std::vector<std::string>>(self, a, scope);
        },
        [self](txn_atom a, const txn_request& req) { return node_call<txn_record>(self, a, req); },
        [self](open_txn_writer_atom, const txn_record& t, const writer_options& opts)
            -> caf::result<writer_actor> { return open_txn_writer(self, t, opts); },
        [self](txn_list_atom a, const std::string& scope, const std::string& stream) {
            return node_call<std::vector<txn_record>>(self, a, scope, stream);
        },
        [self](group_info_atom a, const std::string& scope, const std::string& name) {
            return node_call<group_info>(self, a, scope, name);
        },
        [self](group_join_atom a, const std::string& scope, const std::string& name,
               const group_sync& req) {
            return node_call<group_assignment>(self, a, scope, name, req);
        },
        [self](group_sync_atom a, const std::string& scope, const std::string& name,
               const group_sync& req) {
            return node_call<group_assignment>(self, a, scope, name, req);
        },
        [self](group_leave_atom a, const std::string& scope, const std::string& name,
               const group_sync& req) { return node_call<bool>(self, a, scope, name, req); },
        [self](group_checkpoint_atom a, const std::string& scope, const std::string& name,
               const std::string& checkpoint) {
            return node_call<std::vector<stream_cut>>(self, a, scope, name, checkpoint);
        },
        [self](group_reset_atom a, const std::string& scope, const std::string& name,
               const std::string& checkpoint, const std::vector<stream_cut>& cuts,
               uint32_t seen) -> caf::result<uint32_t> {
            if (seen != UINT32_MAX) {
                return node_call<uint32_t>(self, a, scope, name, checkpoint, cuts, seen);
            }
            // The generation now, then the reset of it (retried with it: applied once).
            auto rp = self->make_response_promise<uint32_t>();
            with_retries<group_info>(
                self, node_request<group_info>(self, group_info_atom::value, scope, name),
                [self, rp, a, scope, name, checkpoint, cuts](caf::expected<group_info> g) mutable {
                    if (!g) {
                        rp.deliver(std::move(g.error()));
                        return;
                    }
                    with_retries<uint32_t>(self,
                                           node_request<uint32_t>(self, a, scope, name, checkpoint,
                                                                  cuts, g->generation),
                                           [rp](caf::expected<uint32_t> r) mutable {
                                               if (r) {
                                                   rp.deliver(*r);
                                               } else {
                                                   rp.deliver(std::move(r.error()));
                                               }
                                           });
                });
            return rp;
        },
        [self](cluster_info_atom a) { return node_call<raft::cluster_info>(self, a); },
        [self](identify_atom a) { return node_call<std::string>(self, a); },
        [self](open_writer_atom, const std::string& scope, const std::string& stream,
               const writer_options& opts) { return open_writer(self, scope, stream, opts); },
        [self](open_reader_atom, const std::string& scope, const std::string& stream,
               const reader_options& opts) { return open_reader(self, scope, stream, opts); },
        [self](open_group_reader_atom, const std::string& scope, const std::string& group,
               const std::string& reader, const group_reader_options& opts) {
            return open_group_reader(self, scope, group, reader, opts);
        },
        [self](mretry_atom, uint64_t id) {
            auto& s = self->state;
            auto it = s.retries.find(id);
            if (it == s.retries.end()) {
                return;
            }
            auto run = std::move(it->second);
            s.retries.erase(it);
            run();
        },
    };
}

}  // namespace

caf::actor spawn_manager(caf::actor_system& sys, const endpoint_info& ep, uint64_t seed) {
    PRAVAHA_ASSERT(ep.directory, "a stream manager for {}:{} without a directory", ep.host,
                   ep.port);
    return sys.spawn(manager_impl, ep, seed);
}

}  // namespace pravaha::client::detail
