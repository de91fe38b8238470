#pragma once

// Internal to client/: the client's side of the framed data path (ARCHITECTURE.md "The framed
// data path"). A `data_link` is one connection to a node's data port, shared by every store of
// that node this client uses; `spawn_data_store` wraps a container's leader store in a local
// actor with the same interface, whose appends go over the link as frames (one cross-thread
// hand-off per answer instead of two on CAF's transport) while reads and writer sessions go to
// the wrapped store as before. The directory (client/directory.cpp) wraps the stores it hands
// out when the node offers a data port; writers and readers do not know the difference.
//
// The wrapper ends when its link breaks or its store is lost (its pending appends are answered
// unavailable: their outcome is unknown and the writer resends), which the directory, monitoring
// it like any store, tells the writers holding it. An adapter (sockets, a thread per link):
// never used by the simulator, whose clients connect through their world's connector.

#include "client/internal.hpp"

#include <caf/allowed_unsafe_message_type.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace pravaha::client::detail {

class data_link;

/// `(data_linked_atom, where, link, error)`: the outcome of connect_data_port_async (a null
/// link and the error when it failed).
using data_linked_atom = caf::atom_constant<caf::atom("dlinked")>;

/// Connects to the data port at host:port and says hello, within `timeout`, on a thread of its
/// own (a detached actor, which the actor system waits for), so that an unreachable port does
/// not hold up the caller's thread: the outcome goes to `reply_to` as `(data_linked_atom, where,
/// link, error)`. The link breaks when what it sent stays unacknowledged by the peer's TCP for
/// `stalled` (TCP_USER_TIMEOUT: a node cut off without a reset). Errors: unavailable (cannot
/// connect, no answer), malformed_message (not a data port of this version).
void connect_data_port_async(caf::actor_system& sys,
                             caf::actor reply_to,
                             std::string where,
                             std::string host,
                             uint16_t port,
                             std::chrono::milliseconds timeout,
                             std::chrono::milliseconds stalled);

/// Whether the link still works (a broken one is not handed to new stores).
bool data_link_alive(const data_link& link);

/// A store that sends `store`'s appends over `link`.
transport::segment_store_actor spawn_data_store(caf::actor_system& sys,
                                                std::shared_ptr<data_link> link,
                                                transport::segment_store_actor store);

}  // namespace pravaha::client::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<pravaha::client::detail::data_link>)
