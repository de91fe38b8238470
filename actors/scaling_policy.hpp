#pragma once

// Internal to actors/: the scaling-policy actor of one stream (actors/scaling_policy.cpp).

#include "actors/actors.hpp"

#include <caf/actor.hpp>
#include <caf/local_actor.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace pravaha::actors {

struct policy_config {
    std::string scope;
    std::string name;
    controller_actor controller;
    segment_admin_actor container;
    scaling_settings scaling;
    std::function<int64_t()> wall_clock_ms;
    std::chrono::milliseconds request_timeout{5000};
    /// When the stream's current epoch began (from its history): the cooldown counts from it.
    int64_t last_scale_ms = 0;
};

/// Spawns the policy actor of `cfg.scope`/`cfg.name` as a child of `parent` (the controller,
/// which monitors it and starts it again when it ends abnormally). It ends when the controller
/// does, and when the stream is sealed or its policy becomes fixed.
caf::actor spawn_scaling_policy(caf::local_actor* parent, policy_config cfg);

}  // namespace pravaha::actors
