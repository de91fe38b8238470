// The scaling-policy actor: one per stream with an automatic policy, on the controller's leader.
// Every tick it reads the stream's record, asks each current segment's load of its container,
// applies the rules (storage/scaling.hpp) and asks the controller for the scale they call for.

#include "actors/scaling_policy.hpp"

#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/names.hpp"
#include "storage/storage.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include <memory>

namespace pravaha::actors {

namespace {

using policy_tick_atom = caf::atom_constant<caf::atom("poltick")>;

struct policy_state {
    policy_config cfg;
    int64_t last_scale_ms = 0;
    bool busy = false;  // a tick's requests are in flight
    static inline const char* name = "scaling_policy";
};

using policy_ptr = caf::stateful_actor<policy_state>*;

std::chrono::milliseconds tick_of(const policy_config& cfg) {
    return std::chrono::milliseconds(std::max<int64_t>(cfg.scaling.window_ms / 24, 100));
}

void decide_and_ask(policy_ptr self, const stream_record& rec, std::vector<segment_load> loads) {
    auto& st = self->state;
    storage::scaling_input in;
    in.policy = rec.policy;
    in.epoch = rec.epoch;
    in.segments = rec.segments;
    in.loads = std::move(loads);
    in.window_ms = st.cfg.scaling.window_ms;
    in.now_ms = st.cfg.wall_clock_ms ? st.cfg.wall_clock_ms() : 0;
    in.last_scale_ms = st.last_scale_ms;
    in.cooldown_ms = st.cfg.scaling.cooldown_ms;
    auto req = storage::decide(in);
    if (!req) {
        st.busy = false;
        return;
    }
    if (st.cfg.scaling.on_decision) {
        st.cfg.scaling.on_decision(rec, in.loads, *req);
    }
    auto kind = req->create.size() > req->seal.size() ? "split" : "merge";
    module_log("actors")->info("scale decided stream={}/{} kind={} segments={} into={} policy={}",
                               rec.scope, rec.name, kind, req->seal.size(), req->create.size(),
                               to_string(rec.policy));
    auto now = in.now_ms;
    self->request(st.cfg.controller, st.cfg.request_timeout, scale_atom::value, rec.scope, rec.name,
                  *req)
        .then(
            [self, now](const scale_result&) {
                self->state.last_scale_ms = now;
                self->state.busy = false;
            },
            [self](caf::error& err) {
                // Conflict (an administrator's scale or a seal runs), a lost leadership, a
                // container electing: the next tick decides again from fresh loads.
                module_log("actors")->info("scale not done stream={}/{} error={}",
                                           self->state.cfg.scope, self->state.cfg.name,
                                           render_error(err));
                self->state.last_scale_ms =
                    self->state.cfg.wall_clock_ms ? self->state.cfg.wall_clock_ms() : 0;
                self->state.busy = false;
            });
}

void on_tick(policy_ptr self) {
    auto& st = self->state;
    self->delayed_send(self, tick_of(st.cfg), policy_tick_atom::value);
    if (st.busy) {
        return;
    }
    st.busy = true;
    self->request(st.cfg.controller, st.cfg.request_timeout, get_stream_atom::value, st.cfg.scope,
                  st.cfg.name)
        .then(
            [self](const stream_record& rec) {
                auto& s = self->state;
                if (rec.state == stream_state::sealed || rec.policy.type == scale_type::fixed) {
                    self->quit();  // nothing more to scale; the controller agrees at its sync
                    return;
                }
                if (rec.has_transition) {
                    s.busy = false;  // a scale runs: its end starts the cooldown
                    return;
                }
                auto loads = std::make_shared<std::vector<segment_load>>(rec.segments.size());
                auto left = std::make_shared<size_t>(rec.segments.size());
                auto failed = std::make_shared<bool>(false);
                for (size_t i = 0; i < rec.segments.size(); ++i) {
                    self->request(s.cfg.container, s.cfg.request_timeout, segment_load_atom::value,
                                  segment_key{rec.uid, rec.segments[i].id})
                        .then(
                            [=](segment_load& l) {
                                (*loads)[i] = std::move(l);
                                if (--*left == 0 && !*failed) {
                                    decide_and_ask(self, rec, std::move(*loads));
                                }
                            },
                            [=](caf::error&) {
                                if (!*failed) {
                                    *failed = true;
                                    self->state.busy = false;
                                }
                            });
                }
            },
            [self](caf::error&) { self->state.busy = false; });
}

caf::behavior policy_impl(policy_ptr self, policy_config cfg) {
    self->state.cfg = std::move(cfg);
    self->state.last_scale_ms = self->state.cfg.last_scale_ms;
    // Ends with the controller that started it.
    self->monitor(self->state.cfg.controller);
    self->set_down_handler([self](caf::down_msg&) { self->quit(); });
    self->send(self, policy_tick_atom::value);
    return {
        [=](policy_tick_atom) { on_tick(self); },
    };
}

}  // namespace

caf::actor spawn_scaling_policy(caf::local_actor* parent, policy_config cfg) {
    return parent->spawn(policy_impl, std::move(cfg));
}

}  // namespace pravaha::actors
