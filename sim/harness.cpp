#include "sim/harness.hpp"

#include "client/internal.hpp"
#include "schema/errc.hpp"
#include "sim/net.hpp"
#include "sim/nodes.hpp"
#include "sim/workload.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_companion.hpp>
#include <caf/actor_system.hpp>
#include <caf/detail/test_actor_clock.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <caf/typed_response_promise.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>

namespace pravaha::sim {

using namespace std::chrono_literals;

namespace {

caf::behavior watcher_impl(caf::event_based_actor* self, node_set* nodes) {
    auto watched = std::make_shared<std::map<caf::actor_addr, std::pair<uint32_t, uint64_t>>>();
    self->set_down_handler([=](caf::down_msg& dm) {
        auto it = watched->find(dm.source);
        if (it != watched->end()) {
            auto [node, inc] = it->second;
            watched->erase(it);
            nodes->on_core_down(node, inc);
        }
    });
    return {
        [=](watch_atom, const caf::actor& a, uint32_t node, uint64_t inc) {
            self->monitor(a);
            (*watched)[a.address()] = {node, inc};
        },
    };
}

// The network answers through a message so that the promise is delivered inside this actor.
caf::behavior connector_impl(caf::event_based_actor* self, network* net, uint32_t origin) {
    using reply =
        caf::typed_response_promise<caf::node_id, caf::strong_actor_ptr, std::set<std::string>>;
    auto pending = std::make_shared<std::map<uint64_t, reply>>();
    auto next = std::make_shared<uint64_t>(0);
    return {
        [=](caf::connect_atom, const std::string&, uint16_t port)
            -> caf::result<caf::node_id, caf::strong_actor_ptr, std::set<std::string>> {
            auto id = ++*next;
            reply rp = self->make_response_promise<caf::node_id, caf::strong_actor_ptr,
                                                   std::set<std::string>>();
            pending->emplace(id, rp);
            auto me = caf::actor{self};
            net->open_connection(origin, port, [me, id](caf::expected<caf::strong_actor_ptr> r) {
                if (r) {
                    caf::anon_send(me, connect_done_atom::value, id, std::move(*r));
                } else {
                    caf::anon_send(me, connect_done_atom::value, id, std::move(r.error()));
                }
            });
            return rp;
        },
        [=](connect_done_atom, uint64_t id, caf::strong_actor_ptr& ptr) {
            auto it = pending->find(id);
            if (it != pending->end()) {
                it->second.deliver(caf::node_id{}, std::move(ptr), std::set<std::string>{});
                pending->erase(it);
            }
        },
        [=](connect_done_atom, uint64_t id, caf::error& err) {
            auto it = pending->find(id);
            if (it != pending->end()) {
                it->second.deliver(std::move(err));
                pending->erase(it);
            }
        },
    };
}

using setup_done = std::function<void(caf::expected<std::vector<stream_info>>)>;

// Straight on a node endpoint (setup is not under test). Creating what exists already counts as
// done: a cluster's setup is retried while the controller's first leader is being elected.
caf::behavior setup_impl(caf::event_based_actor* self,
                         node_api node,
                         uint32_t streams,
                         uint32_t segments,
                         scaling_policy policy,
                         setup_done done) {
    auto infos = std::make_shared<std::vector<stream_info>>();
    auto reported = std::make_shared<bool>(false);
    auto fail = [=](caf::error& err) {
        if (!*reported) {
            *reported = true;
            done(std::move(err));
            self->quit();
        }
    };
    auto describe = [=](const std::string& name) {
        self->request(node, 10s, stream_info_atom::value, std::string("sim"), name)
            .then(
                [=](stream_info& info) {
                    infos->push_back(std::move(info));
                    if (infos->size() == streams && !*reported) {
                        *reported = true;
                        std::sort(infos->begin(), infos->end(), [](const auto& a, const auto& b) {
                            return a.record.name < b.record.name;
                        });
                        done(*infos);
                        self->quit();
                    }
                },
                fail);
    };
    auto create_streams = [=] {
        for (uint32_t i = 0; i < streams; ++i) {
            auto name = "s" + std::to_string(i);
            self->request(node, 10s, create_stream_atom::value, std::string("sim"), name, segments,
                          policy)
                .then([=](const stream_record&) { describe(name); },
                      [=](caf::error& err) {
                          if (code_of(err) == errc::stream_exists) {
                              describe(name);
                          } else {
                              fail(err);
                          }
                      });
        }
    };
    self->request(node, 10s, create_scope_atom::value, std::string("sim"))
        .then([=](bool) { create_streams(); },
              [=](caf::error& err) {
                  if (code_of(err) == errc::scope_exists) {
                      create_streams();
                  } else {
                      fail(err);
                  }
              });
    return {[](tick_atom) {}};
}

caf::behavior group_setup_impl(caf::event_based_actor* self,
                               node_api node,
                               uint32_t streams,
                               group_config cfg,
                               std::function<void(caf::error)> done) {
    auto left = std::make_shared<uint32_t>(streams);
    auto reported = std::make_shared<bool>(false);
    for (uint32_t i = 0; i < streams; ++i) {
        auto one = cfg;
        one.streams = {group_stream{"sim", "s" + std::to_string(i), {}, {}}};
        self->request(node, 10s, group_create_atom::value, std::string("sim"),
                      "g" + std::to_string(i), one)
            .then(
                [=](const group_info&) {
                    if (--*left != 0 || *reported) {
                        return;
                    }
                    // The setup talks to the node directly, so an answer may leave before the
                    // fsync of what it reports finished: a question the controller answers only
                    // after that (it runs nothing while its node is blocked in fsync) makes the
                    // groups durable before the faults begin.
                    self->request(node, 10s, group_info_atom::value, std::string("sim"),
                                  std::string("g0"))
                        .then(
                            [=](const group_info&) {
                                *reported = true;
                                done(caf::error{});
                                self->quit();
                            },
                            [=](caf::error& err) {
                                *reported = true;
                                done(std::move(err));
                                self->quit();
                            });
                },
                [=](caf::error& err) {
                    if (!*reported) {
                        *reported = true;
                        done(std::move(err));
                        self->quit();
                    }
                });
    }
    return {[](tick_atom) {}};
}

// One reader object at a time: join, fetch until lost or told to leave, join again.
caf::behavior group_driver_impl(
    caf::event_based_actor* self, workload* w, uint32_t client, uint32_t inc, caf::actor manager) {
    struct state_t {
        caf::actor reader;
        uint32_t object = 0;
        bool leaving = false;
    };
    auto st = std::make_shared<state_t>();
    auto later = [self](int64_t delay_ms, auto msg) {
        if (delay_ms >= 0) {
            self->delayed_send(self, std::chrono::milliseconds(delay_ms), msg);
        } else {
            self->quit();
        }
    };
    self->send(self, join_tick_atom::value);
    return {
        [=](join_tick_atom) {
            if (st->object != 0) {
                return;
            }
            client::group_reader_options opts;
            opts.nonce = w->group_nonce(client);
            self->request(manager, caf::infinite, client::open_group_reader_atom::value,
                          std::string("sim"), w->group_of(client), w->reader_name(client), opts)
                .then(
                    [=](const client::reader_actor& r) {
                        st->reader = caf::actor_cast<caf::actor>(r);
                        st->object = w->on_group_joined(client, inc, st->reader);
                        if (st->object == 0) {
                            self->quit();
                            return;
                        }
                        self->send(self, tick_atom::value);
                    },
                    [=](caf::error& err) {
                        later(w->on_group_join_failed(client, inc, err), join_tick_atom::value);
                    });
        },
        [=](tick_atom) {
            if (st->object == 0 || st->leaving) {
                return;
            }
            auto object = st->object;
            auto asked_at = w->now();
            self->request(st->reader, caf::infinite, client::fetch_atom::value,
                          w->group_fetch_wait())
                .then(
                    [=](std::vector<client::event>& evs, bool) {
                        if (w->on_group_read(object, evs, asked_at) && st->object == object) {
                            self->send(self, tick_atom::value);
                        }
                    },
                    [=](caf::error& err) {
                        if (st->object != object) {
                            return;
                        }
                        if (st->leaving) {
                            // Lost while it leaves: the close then answers true (the loss is
                            // told once, here).
                            w->on_group_lost_leaving(object, err);
                            return;
                        }
                        st->object = 0;
                        st->reader = caf::actor{};
                        later(w->on_group_lost(object, err), join_tick_atom::value);
                    });
        },
        [=](leave_atom) {
            if (st->object == 0 || st->leaving) {
                return;
            }
            st->leaving = true;
            auto object = st->object;
            auto done = [=](const caf::error& err) {
                st->leaving = false;
                st->object = 0;
                st->reader = caf::actor{};
                later(w->on_group_left(object, err), join_tick_atom::value);
            };
            self->request(st->reader, caf::infinite, client::close_atom::value,
                          std::vector<client::event>{})
                .then([=](bool) { done(caf::error{}); }, [=](caf::error& err) { done(err); });
        },
    };
}

caf::behavior reader_driver_impl(
    caf::event_based_actor* self, workload* w, uint32_t client, uint32_t inc, caf::actor reader) {
    self->send(self, tick_atom::value);
    return {
        [=](tick_atom) {
            auto wait_ms = w->fetch_wait(client);
            auto asked_at = w->now();
            self->request(reader, caf::infinite, client::fetch_atom::value, wait_ms)
                .then(
                    [=](std::vector<client::event>& evs, bool end) {
                        if (w->on_read(client, inc, evs, end, wait_ms, asked_at)) {
                            self->send(self, tick_atom::value);
                        }
                    },
                    [=](caf::error&) { self->delayed_send(self, 500ms, tick_atom::value); });
        },
    };
}

}  // namespace

void close_companion(const caf::actor& handle, caf::exit_reason reason) {
    auto* comp = static_cast<caf::actor_companion*>(caf::actor_cast<caf::abstract_actor*>(handle));
    comp->on_enqueue(nullptr);
    comp->cleanup(caf::make_error(reason), nullptr);
}

void ask_cluster_status(caf::actor_system& sys,
                        node_set& nodes,
                        std::function<void(const std::string&)> done) {
    auto text = std::make_shared<std::string>();
    auto remaining = std::make_shared<size_t>(nodes.size());
    auto finish = [done, text, remaining] {
        if (--*remaining == 0) {
            done(*text);
        }
    };
    for (auto& n : nodes.all()) {
        if (!n.up) {
            *text += fmt::format(" node {} down;", n.id + 1);
            finish();
            continue;
        }
        sys.spawn(
            [finish, text, id = n.id](caf::event_based_actor* self, node_api node) {
                self->request(node, std::chrono::seconds(2), cluster_info_atom::value)
                    .then(
                        [=](const raft::cluster_info& info) {
                            *text += fmt::format(" node {}:", id + 1);
                            for (const auto& g : info.groups) {
                                *text += fmt::format(" g{} {} t{} l{} c{} a{} last{}{}", g.group,
                                                     to_string(g.role), g.term, g.leader, g.commit,
                                                     g.applied, g.last_index,
                                                     g.recovering ? " recovering" : "");
                            }
                            *text += ";";
                            finish();
                            self->quit();
                        },
                        [=](caf::error& err) {
                            *text += fmt::format(" node {}: {};", id + 1, render_error(err));
                            finish();
                            self->quit();
                        });
                return caf::behavior{[](tick_atom) {}};
            },
            n.actors.endpoint);
    }
}

caf::actor spawn_watcher(caf::actor_system& sys, node_set& nodes) {
    return sys.spawn(watcher_impl, &nodes);
}

caf::actor spawn_connector(caf::actor_system& sys, network& net, uint32_t origin) {
    return sys.spawn(connector_impl, &net, origin);
}

void spawn_setup(caf::actor_system& sys,
                 node_api node,
                 uint32_t streams,
                 uint32_t segments,
                 scaling_policy policy,
                 std::function<void(caf::expected<std::vector<stream_info>>)> done) {
    sys.spawn(setup_impl, std::move(node), streams, segments, policy, std::move(done));
}

void spawn_group_setup(caf::actor_system& sys,
                       node_api node,
                       uint32_t streams,
                       group_config cfg,
                       std::function<void(caf::error)> done) {
    sys.spawn(group_setup_impl, std::move(node), streams, std::move(cfg), std::move(done));
}

caf::actor spawn_group_driver(
    caf::actor_system& sys, workload& w, uint32_t client, uint32_t inc, caf::actor manager) {
    return sys.spawn(group_driver_impl, &w, client, inc, std::move(manager));
}

caf::actor spawn_reader_driver(
    caf::actor_system& sys, workload& w, uint32_t client, uint32_t inc, caf::actor reader) {
    return sys.spawn(reader_driver_impl, &w, client, inc, std::move(reader));
}

caf_source::caf_source(caf::scheduler::test_coordinator& sched,
                       kernel& kern,
                       node_set& nodes,
                       uint64_t seed,
                       bool fifo_bias,
                       const std::map<uint64_t, int64_t>& frozen)
    : sched_(sched),
      kern_(kern),
      nodes_(nodes),
      rng_(seed, "sched"),
      fifo_bias_(fifo_bias),
      frozen_(frozen) {}

bool caf_source::step() {
    auto& jobs = sched_.jobs;
    if (jobs.empty()) {
        return false;
    }
    auto runnable = [this](caf::resumable* job) {
        auto* a = dynamic_cast<caf::abstract_actor*>(job);
        return a == nullptr ||
               (!nodes_.paused(a->id()) && (frozen_.empty() || frozen_.count(a->id()) == 0));
    };
    // Candidates: jobs of actors whose node is not paused.
    size_t first = jobs.size();
    size_t count = 0;
    for (size_t i = 0; i < jobs.size(); ++i) {
        if (runnable(jobs[i])) {
            if (first == jobs.size()) {
                first = i;
            }
            ++count;
        }
    }
    if (count == 0) {
        return false;
    }
    size_t pick = first;
    if (!fifo_bias_ || rng_.chance(1, 4)) {
        auto nth = rng_.below(count);
        for (size_t i = 0; i < jobs.size(); ++i) {
            if (runnable(jobs[i]) && nth-- == 0) {
                pick = i;
                break;
            }
        }
    }
    auto* job = jobs[pick];
    if (pick != 0) {
        jobs.erase(jobs.begin() + static_cast<std::ptrdiff_t>(pick));
        jobs.push_front(job);
    }
    auto* a = dynamic_cast<caf::abstract_actor*>(job);
    kern_.trace(mix(static_cast<uint64_t>(kern_.now()), a ? a->id() : 0));
    sched_.run_once();
    nodes_.after_step();
    return true;
}

int64_t caf_source::next_timer() const {
    auto& clock = sched_.clock();
    if (!clock.has_pending_timeout()) {
        return no_time;
    }
    return clock.schedule().begin()->first.time_since_epoch().count();
}

void caf_source::fire_timer() {
    sched_.clock().trigger_timeout();
}

void caf_source::advance(int64_t t) {
    sched_.clock().current_time = caf::actor_clock::time_point{std::chrono::nanoseconds{t}};
}

}  // namespace pravaha::sim
