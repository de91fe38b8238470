#pragma once

/// Module `runtime/gateway`: the node's Cap'n Proto RPC server (schema/pravaha.capnp) for clients
/// in other languages. It runs a kj event loop on its own thread; every call is handed to one
/// long-lived CAF bridge actor, which asks the node's endpoint and completes the call through a
/// cross-thread fulfiller. Connections are independent: a malformed or oversized message (over
/// Cap'n Proto's default limit of 64 MiB), an unknown method or an abrupt disconnect ends that
/// connection only.
///
/// May include: schema, client (its writer and reader actors serve the RPC writers and readers);
/// the generated RPC code stays inside runtime/gateway* (internal: runtime/gateway_rpc.hpp).

#include "schema/access.hpp"
#include "schema/interfaces.hpp"

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace pravaha::transport {
class listener;
struct tls_material;
}  // namespace pravaha::transport

namespace pravaha::runtime {

using tls_material = transport::tls_material;

struct gateway_config {
    std::string bind = "127.0.0.1";
    uint16_t port = 9091;  ///< 0 picks a free port
    /// The node's own client port, where writers and readers inside the gateway reconnect.
    uint16_t node_port = 9090;
    /// How long one call may wait for the node.
    std::chrono::milliseconds request_timeout{10000};
    /// Takes the port's connections (runtime/transport/listener.hpp: the node's maximum,
    /// descriptor exhaustion); none: a listener without a maximum.
    std::shared_ptr<transport::listener> listener;
    /// --token-file: a connection's calls need a successful `authenticate` first, and each its
    /// right on its scope. Empty: every call is allowed.
    token_check tokens;
    /// --tls-cert/--tls-key/--tls-ca: the port speaks TLS and wants a client certificate of the
    /// CA (runtime/tls.hpp). Null: plain TCP.
    std::shared_ptr<const tls_material> tls;
};

class gateway {
public:
    /// Starts listening on `cfg.bind:cfg.port` and serving `node`. Returns once the port is bound.
    /// Errors: unavailable (the address cannot be bound).
    [[nodiscard]] static caf::expected<std::unique_ptr<gateway>> start(caf::actor_system& sys,
                                                                       node_api node,
                                                                       const gateway_config& cfg);
    virtual ~gateway() = default;
    /// The bound port.
    virtual uint16_t port() const = 0;
    /// Serves one more connection on an already connected stream socket (one end of a socket
    /// pair, an inherited socket); the gateway owns `fd` from then on, also on error.
    /// Errors: unavailable (the gateway is stopped).
    [[nodiscard]] virtual caf::error accept(int fd) = 0;
    /// Stops serving: ends every connection and the event-loop thread. Idempotent.
    virtual void stop() = 0;
};

}  // namespace pravaha::runtime
