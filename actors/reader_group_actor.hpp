#pragma once

// Internal to actors/: the reader-group actor of one group (actors/reader_group_actor.cpp), on the
// controller's leader. It watches its readers' leases and starts automatic checkpoints; it
// changes the group only through the controller.

#include "actors/actors.hpp"

#include <caf/actor.hpp>
#include <caf/local_actor.hpp>

#include <string>
#include <utility>
#include <vector>

namespace pravaha::actors {

/// `(group_seen_atom, reader, session, syncs)`: a join or sync of the reader was committed (its
/// session has had `syncs` reports applied).
using group_seen_atom = caf::atom_constant<caf::atom("grpseen")>;
/// `(group_gone_atom, reader)`: the reader left or went offline ("": every reader, a reset).
using group_gone_atom = caf::atom_constant<caf::atom("grpgone")>;

struct group_actor_config {
    std::string scope;
    std::string name;
    controller_actor controller;
    int64_t lease_ms = 10'000;
    int64_t checkpoint_interval_ms = 0;
    /// The readers online when it starts (each gets a whole lease from then).
    struct reader {
        std::string name;
        uint64_t session = 0;
        uint64_t syncs = 0;
    };
    std::vector<reader> readers;
};

/// Spawns the group actor as a child of `parent` (the controller, which monitors it and starts it
/// again when it ends abnormally). It ends when the controller does.
caf::actor spawn_group_actor(caf::local_actor* parent, group_actor_config cfg);

}  // namespace pravaha::actors
