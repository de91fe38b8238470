#include "actors/actors.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace pravaha::actors {

namespace {

// The endpoint: forwards each request to the actor that owns the state, which then answers the
// client directly (delegation, no extra hop on the way back).
node_api::behavior_type endpoint_impl(node_api::pointer self,
                                      controller_actor ctl,
                                      container_actor cnt) {
    return {
        [=](create_scope_atom a, std::string& s) { return self->delegate(ctl, a, std::move(s)); },
        [=](delete_scope_atom a, std::string& s) { return self->delegate(ctl, a, std::move(s)); },
        [=](list_scopes_atom a) { return self->delegate(ctl, a); },
        [=](create_stream_atom a, std::string& s, std::string& n, uint32_t k) {
            return self->delegate(ctl, a, std::move(s), std::move(n), k);
        },
        [=](list_streams_atom a, std::string& s) { return self->delegate(ctl, a, std::move(s)); },
        [=](get_stream_atom a, std::string& s, std::string& n) {
            return self->delegate(ctl, a, std::move(s), std::move(n));
        },
        [=](seal_stream_atom a, std::string& s, std::string& n) {
            return self->delegate(ctl, a, std::move(s), std::move(n));
        },
        [=](delete_stream_atom a, std::string& s, std::string& n) {
            return self->delegate(ctl, a, std::move(s), std::move(n));
        },
        [=](stream_info_atom a, std::string& s, std::string& n) {
            return self->delegate(ctl, a, std::move(s), std::move(n));
        },
        [=](get_segment_store_atom) -> segment_store_api { return cnt; },
    };
}

}  // namespace

caf::expected<node_actors> spawn_node(caf::actor_system& sys, const node_config& cfg) {
    container_config ccfg;
    ccfg.store = cfg.store;
    ccfg.inline_log = cfg.inline_log;
    ccfg.detached = cfg.detached && cfg.inline_log;
    ccfg.detached_log = cfg.detached;
    auto container = spawn_container(sys, ccfg);
    if (!container) {
        return std::move(container.error());
    }
    controller_config kcfg;
    kcfg.store = cfg.store;
    kcfg.container = *container;
    kcfg.wall_clock_ms = cfg.wall_clock_ms;
    kcfg.detached = cfg.detached;
    auto controller = spawn_controller(sys, kcfg);
    if (!controller) {
        caf::anon_send_exit(*container, caf::exit_reason::user_shutdown);
        return std::move(controller.error());
    }
    node_actors out;
    out.container = *container;
    out.controller = *controller;
    out.endpoint = sys.spawn(endpoint_impl, *controller, *container);
    return out;
}

}  // namespace pravaha::actors
