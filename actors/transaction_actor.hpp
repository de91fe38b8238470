#pragma once

// Internal to actors/: the actor of one open transaction (actors/transaction_actor.cpp), on the
// controller's leader. It watches the transaction's lease (renewed by pings) and its maximum
// lifetime, and asks the controller to abort it when either passes; it changes the transaction
// only through the controller.

#include "actors/actors.hpp"

#include <caf/actor.hpp>
#include <caf/local_actor.hpp>

#include <string>

namespace pravaha::actors {

/// `(txn_seen_atom)`: the transaction was pinged (its lease starts again).
using txn_seen_atom = caf::atom_constant<caf::atom("txnseen")>;

struct txn_actor_config {
    std::string scope;
    std::string stream;
    uint64_t id = 0;
    controller_actor controller;
    int64_t lease_ms = 10'000;
    /// What is left of its maximum lifetime when the actor starts (the controller's wall clock).
    int64_t lifetime_left_ms = 0;
};

/// Spawns the transaction actor as a child of `parent` (the controller, which monitors it, stops
/// it once the transaction is no longer open, and starts it again when it ends abnormally). It
/// gives the transaction a whole lease from its start, and ends when the controller does.
caf::actor spawn_txn_actor(caf::local_actor* parent, txn_actor_config cfg);

}  // namespace pravaha::actors
