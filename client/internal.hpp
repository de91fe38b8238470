#pragma once

// Internal to client/: shared pieces of the writer and reader actors.

#include "client/client.hpp"
#include "runtime/transport/transport.hpp"

#include <caf/fwd.hpp>

#include <string>

namespace pravaha::client::detail {

/// Connection parameters shared by the factory, writers and readers.
struct endpoint_info {
    std::string host;
    uint16_t port = 0;
    client_config cfg;
};

/// Errors after which the same request may succeed later (on this node or after reconnecting).
/// Everything else is final for the affected events.
bool is_transient(const caf::error& err);

/// Transient errors that mean the connection or the node is gone: reconnect before resending.
bool needs_reconnect(const caf::error& err);

std::unique_ptr<event_writer> make_writer(caf::actor_system& sys,
                                          const endpoint_info& ep,
                                          transport::node_actor node,
                                          stream_record rec,
                                          const writer_config& cfg,
                                          writer_id id);

std::unique_ptr<event_reader> make_reader(caf::actor_system& sys,
                                          const endpoint_info& ep,
                                          transport::node_actor node,
                                          const stream_info& info,
                                          start_position from);

}  // namespace pravaha::client::detail
