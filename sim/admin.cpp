#include "sim/admin.hpp"

#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "sim/harness.hpp"
#include "sim/nodes.hpp"
#include "sim/workload.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <fmt/format.h>

#include <chrono>
#include <memory>

namespace pravaha::sim {

using namespace std::chrono_literals;

admin::admin(sim_env& env, node_set& nodes, workload& work)
    : env_(env),
      nodes_(nodes),
      work_(work),
      rng_(env.cfg.seed, "admin"),
      checkpoint_rng_(env.cfg.seed, "group-checkpoints") {}

actors::scaling_settings admin::scaling() {
    actors::scaling_settings s;
    s.window_ms = env_.k.scale_window_ms;
    s.cooldown_ms = env_.k.scale_cooldown_ms;
    if (env_.cfg.oracles) {
        s.on_decision = [this](const stream_record& rec, const std::vector<segment_load>& loads,
                               const scale_request& req) {
            env_.kern.count("automatic scales decided");
            if (auto bad = check_decision(rec, loads, env_.k.scale_window_ms, req)) {
                env_.kern.fail(verdict::correctness, *bad);
            }
        };
    }
    return s;
}

scaling_policy admin::policy() const {
    scaling_policy p;
    p.min_segments = env_.k.segments;
    if (env_.k.autoscale) {
        p.type = scale_type::by_events;
        p.target = env_.k.scale_target;
        p.factor = env_.k.scale_factor;
    }
    return p;
}

// An administrator seals a stream while it is being written (through the node endpoint,
// directly: the admin path is not what is under test). Retried until the node confirms.
void admin::seal_stream(uint32_t stream) {
    auto& kern = env_.kern;
    if (kern.done() || env_.finished()) {
        return;
    }
    auto& n = nodes_.at(static_cast<uint32_t>(seals_++ % nodes_.size()));
    if (!n.up || n.paused_until > kern.now()) {
        kern.at(kern.now() + 500 * ms, [this, stream] { seal_stream(stream); });
        return;
    }
    auto name = work_.streams()[stream].record.name;
    kern.note("sealing stream " + name);
    env_.spawned.push_back(env_.sys.spawn(
        [this, stream, name](caf::event_based_actor* self, node_api node) {
            self->request(node, 10s, seal_stream_atom::value, std::string("sim"), name)
                .then(
                    [this, self, name](const stream_record&) {
                        env_.kern.count("streams sealed");
                        env_.kern.note("stream " + name + " sealed");
                        self->quit();
                    },
                    [this, self, stream](caf::error&) {
                        env_.kern.at(env_.now() + 500 * ms,
                                     [this, stream] { seal_stream(stream); });
                        self->quit();
                    });
            return caf::behavior{[](tick_atom) {}};
        },
        n.actors.endpoint));
}

void admin::schedule(int64_t heal_at) {
    heal_at_ = heal_at;
    if (env_.k.group_readers > 0) {
        env_.kern.at(env_.now() + checkpoint_rng_.range(1000, 8000) * ms,
                     [this] { checkpoint_once(); });
    }
    if (env_.k.scale_ms <= 0) {
        return;
    }
    env_.kern.at(env_.now() + rng_.range(1, 2 * env_.k.scale_ms) * ms, [this] { scale_once(); });
}

// An administrator scales a stream (a split of one segment into 2 or 3, or a merge of 2 or 3
// neighbours) through a node's endpoint; in a third of them the controller's leader crashes
// right after the request, so that a new leader (or the restarted node) finishes the scale.
void admin::scale_once() {
    if (env_.ph != phase::chaos || env_.kern.done()) {
        return;
    }
    auto next = env_.now() + rng_.range(1, 2 * env_.k.scale_ms) * ms;
    if (next < heal_at_) {
        env_.kern.at(next, [this] { scale_once(); });
    }
    auto at = static_cast<uint32_t>(asks_++ % nodes_.size());
    auto& n = nodes_.at(at);
    if (!n.up || n.paused_until > env_.now()) {
        return;
    }
    auto stream = static_cast<uint32_t>(rng_.below(env_.k.streams));
    auto name = work_.streams()[stream].record.name;
    env_.spawned.push_back(env_.sys.spawn(
        [this, at, name](caf::event_based_actor* self, node_api node) {
            self->request(node, 5s, get_stream_atom::value, std::string("sim"), name)
                .then(
                    [this, self, at, node, name](const stream_record& rec) {
                        if (rec.state != stream_state::active || rec.has_transition) {
                            self->quit();
                            return;
                        }
                        auto count = rec.segments.size();
                        scale_request req;
                        req.expected_epoch = rec.epoch;
                        if (count == 1 || (count < 8 && rng_.chance(1, 2))) {
                            const auto& seg = rec.segments[rng_.below(count)];
                            auto parts = static_cast<uint32_t>(rng_.range(2, 3));
                            req.seal.push_back(seg.id);
                            req.create = *split_range({seg.key_start, seg.key_end}, parts);
                        } else {
                            auto run =
                                std::min<size_t>(count, static_cast<size_t>(rng_.range(2, 3)));
                            auto first = rng_.below(count - run + 1);
                            for (size_t i = first; i < first + run; ++i) {
                                req.seal.push_back(rec.segments[i].id);
                            }
                            req.create.push_back({rec.segments[first].key_start,
                                                  rec.segments[first + run - 1].key_end});
                        }
                        env_.kern.note(fmt::format("scaling {}: seal {} into {} (epoch {})", name,
                                                   req.seal.size(), req.create.size(), rec.epoch));
                        self->request(node, 10s, scale_atom::value, std::string("sim"), name, req)
                            .then(
                                [this, self, name](const scale_result& r) {
                                    env_.kern.count("manual scales");
                                    env_.kern.note(
                                        fmt::format("{} scaled to epoch {}", name, r.epoch));
                                    self->quit();
                                },
                                [this, self, name](caf::error& err) {
                                    // Conflict with a seal or an automatic scale, a lost leader:
                                    // the next scale draws again.
                                    env_.kern.count("manual scales refused");
                                    env_.kern.note(fmt::format("scale of {} refused: {}", name,
                                                               render_error(err)));
                                    self->quit();
                                });
                        if (env_.k.faults.crash_ms > 0 && rng_.chance(1, 3)) {
                            auto delay = rng_.range(0, 40);
                            env_.kern.at(env_.now() + delay * ms,
                                         [this, at] { crash_controller_leader(at); });
                        }
                    },
                    [self](caf::error&) { self->quit(); });
            return caf::behavior{[](tick_atom) {}};
        },
        n.actors.endpoint));
}

// An administrator checkpoints a stream's reader group (the answer comes once every online
// reader recorded its position); the cut is checked against what the group delivered.
void admin::checkpoint_once() {
    if (env_.ph != phase::chaos || env_.kern.done()) {
        return;
    }
    auto next = env_.now() + checkpoint_rng_.range(1000, 8000) * ms;
    if (next < heal_at_) {
        env_.kern.at(next, [this] { checkpoint_once(); });
    }
    auto& n = nodes_.at(static_cast<uint32_t>(asks_++ % nodes_.size()));
    if (!n.up || n.paused_until > env_.now()) {
        return;
    }
    auto stream = static_cast<uint32_t>(checkpoint_rng_.below(env_.k.streams));
    auto name = fmt::format("cp{}", ++checkpoints_);
    env_.spawned.push_back(env_.sys.spawn(
        [this, stream, name](caf::event_based_actor* self, node_api node) {
            self->request(node, 10s, group_checkpoint_atom::value, std::string("sim"),
                          workload::group_of_stream(stream), name)
                .then(
                    [this, self, stream, name](const std::vector<stream_cut>& cuts) {
                        env_.kern.count("group checkpoints");
                        if (auto bad = work_.check_checkpoint(stream, cuts, name)) {
                            env_.kern.fail(verdict::correctness, *bad);
                        }
                        self->quit();
                    },
                    [this, self](caf::error&) {
                        env_.kern.count("group checkpoints not answered");
                        self->quit();
                    });
            return caf::behavior{[](tick_atom) {}};
        },
        n.actors.endpoint));
}

void admin::crash_controller_leader(uint32_t asked) {
    if (env_.ph != phase::chaos || env_.kern.done()) {
        return;
    }
    auto crash = [this](uint32_t id) {
        auto& n = nodes_.at(id);
        if (env_.ph != phase::chaos || !n.up) {
            return;
        }
        env_.kern.count("controller crashes during a scale");
        nodes_.crash(n, true);
        nodes_.restart_at(n.id, env_.now() + rng_.range(10, 2000) * ms);
    };
    if (!env_.cluster()) {
        crash(0);
        return;
    }
    auto& n = nodes_.at(asked);
    if (!n.up) {
        return;
    }
    env_.spawned.push_back(env_.sys.spawn(
        [this, crash](caf::event_based_actor* self, node_api node) {
            self->request(node, 1s, cluster_info_atom::value)
                .then(
                    [self, crash, this](const raft::cluster_info& info) {
                        for (const auto& g : info.groups) {
                            if (g.group == 0 && g.leader >= 1 && g.leader <= nodes_.size()) {
                                crash(static_cast<uint32_t>(g.leader - 1));
                            }
                        }
                        self->quit();
                    },
                    [self](caf::error&) { self->quit(); });
            return caf::behavior{[](tick_atom) {}};
        },
        n.actors.endpoint));
}

void admin::check_histories(std::function<void(finding)> done) {
    auto left = std::make_shared<uint32_t>(env_.k.streams);
    auto first = std::make_shared<finding>();
    for (uint32_t s = 0; s < env_.k.streams; ++s) {
        ask_history(s, [left, first, done](finding f) {
            if (f && !*first) {
                *first = std::move(f);
            }
            if (--*left == 0) {
                done(*first);
            }
        });
    }
}

// The record, the history and the record again, from a node that is up: a history is judged
// only when no scale ran around it (the auto-scaler may still merge after the writers stopped).
void admin::ask_history(uint32_t stream, std::function<void(finding)> done) {
    if (env_.kern.done() || env_.finished()) {
        return;
    }
    auto retry = [this, stream, done] {
        env_.kern.at(env_.now() + 200 * ms, [this, stream, done] { ask_history(stream, done); });
    };
    auto& n = nodes_.at(static_cast<uint32_t>(asks_++ % nodes_.size()));
    if (!n.up || n.paused_until > env_.now()) {
        retry();
        return;
    }
    auto name = work_.streams()[stream].record.name;
    env_.spawned.push_back(env_.sys.spawn(
        [name, retry, done](caf::event_based_actor* self, node_api node) {
            auto fail = [self, retry](caf::error&) {
                retry();
                self->quit();
            };
            self->request(node, 5s, get_stream_atom::value, std::string("sim"), name)
                .then(
                    [=](const stream_record& before) {
                        self->request(node, 5s, history_atom::value, std::string("sim"), name)
                            .then(
                                [=](const std::vector<epoch_info>& h) {
                                    self->request(node, 5s, get_stream_atom::value,
                                                  std::string("sim"), name)
                                        .then(
                                            [=](const stream_record& after) {
                                                if (before.has_transition || after.has_transition ||
                                                    before.epoch != after.epoch) {
                                                    retry();
                                                } else {
                                                    done(check_history(after, h));
                                                }
                                                self->quit();
                                            },
                                            fail);
                                },
                                fail);
                    },
                    fail);
            return caf::behavior{[](tick_atom) {}};
        },
        n.actors.endpoint));
}

}  // namespace pravaha::sim
