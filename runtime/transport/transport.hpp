#pragma once

/// Module `runtime/transport`: how clients and nodes reach each other. Today this is CAF's io
/// middleman (BASP over TCP); the simulator will substitute its own network behind the same
/// `node_actor` handle.
///
/// - `node_actor`: the request interface a node publishes on its endpoint port (9090).
/// - `make_config`: an actor system config with the middleman loaded and all message types
///   registered, for every process that talks to a node.
/// - `publish_node` / `connect_node`: publish a node endpoint, connect to one.
///
/// May include: schema.

#include "schema/atoms.hpp"
#include "schema/interfaces.hpp"
#include "schema/types.hpp"

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pravaha::transport {

/// The data path: clients send appends and reads straight to the segment container, so the
/// hot path has no extra hop through the node endpoint.
using segment_store_actor = segment_store_api;

/// What a node publishes on its endpoint port (schema/interfaces.hpp).
using node_actor = node_api;

/// Options of an actor system that talks to nodes.
struct system_options {
    /// "sharing" gives the lowest request latency on small machines (design.md section 11).
    std::string scheduler = "sharing";
    size_t worker_threads = 0;  ///< 0: one per core
    /// BASP deserialization workers. 0 deserializes on the I/O thread, which saves a thread
    /// hand-off per message: measured p50 of a synced one-at-a-time append 332-363 us with 0
    /// against 376-404 us with CAF's default of 1 on 2 cores.
    size_t middleman_workers = 0;
    /// TLS on this system's connections (a `tls_transport` is made for it once it runs): CAF's
    /// automatic connections, which would open a plain TCP port, stay off.
    bool tls = false;
};

/// The OpenSSL context of a process's TLS connections on the CAF port: its certificate and key,
/// and the CA whose certificates it trusts (the only trust: the system's are not used). Peers
/// must present a certificate of the CA both ways (mutual TLS); TLS 1.2 at least.
class tls_context;

/// --tls-cert (the certificate, its chain after it), --tls-key and --tls-ca as read once: the
/// PEM texts (the kj ports make their own contexts of them) and the OpenSSL context of the CAF
/// port.
struct tls_material {
    std::string cert_pem;
    std::string key_pem;
    std::string ca_pem;
    std::shared_ptr<const tls_context> context;
};

/// Reads the three PEM files and checks that they hold a certificate, an unencrypted private key
/// that is the certificate's, and CA certificates. Errors: invalid_argument naming the flag, the
/// file and what is wrong.
caf::expected<std::shared_ptr<const tls_material>> load_tls(const std::string& cert,
                                                            const std::string& key,
                                                            const std::string& ca);

/// TLS on `sys`'s outgoing connections while this lives (`middleman(sys)` returns its
/// connector; a node's listener takes the context through `publish_guarded`). Made right after
/// the actor system, before any connection; destroyed before it.
class tls_transport {
public:
    tls_transport(caf::actor_system& sys, std::shared_ptr<const tls_context> ctx);
    ~tls_transport();
    tls_transport(const tls_transport&) = delete;
    tls_transport& operator=(const tls_transport&) = delete;

private:
    caf::actor_system& sys_;
};

/// An actor system config with the io middleman loaded and Pravaha's message types registered.
std::unique_ptr<caf::actor_system_config> make_config(const system_options& opts);

/// Registers Pravaha's message types (add_message_types) and the node's handle types with
/// `cfg`, and turns on the middleman's automatic connections (make_config turns them off again
/// under TLS); loads nothing. make_config calls
/// it; an application's own actor system calls it through client::add_actor_api_types.
void add_node_types(caf::actor_system_config& cfg);

/// Publishes `node` on `bind:port` (port 0 picks a free port). Returns the bound port.
[[nodiscard]] caf::expected<uint16_t> publish_node(caf::actor_system& sys,
                                                   const node_actor& node,
                                                   uint16_t port,
                                                   const std::string& bind);

/// Connects to the node at host:port, waiting at most `timeout`. Errors: errc::unavailable
/// with the reason (refused, unreachable, or no answer in time).
[[nodiscard]] caf::expected<node_actor> connect_node(
    caf::actor_system& sys,
    const std::string& host,
    uint16_t port,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

/// A plain TCP connection of our own (not CAF's): the connected socket, or -1 and why not in
/// the words a user knows ("connection refused", "unknown host: ...", "no answer").
struct tcp_connection {
    int fd = -1;
    std::string why;
};

/// Connects to host:port within `timeout` (each address in turn, until one connects). The
/// socket is non-blocking and close-on-exec, with TCP_NODELAY; the caller closes it.
tcp_connection tcp_connect(const std::string& host,
                           uint16_t port,
                           std::chrono::milliseconds timeout);

/// The middleman actor (the TLS connector while a `tls_transport` lives), for connecting
/// asynchronously from inside an actor:
/// `request(middleman(sys), timeout, caf::connect_atom::value, host, port)` answers with
/// (node_id, strong_actor_ptr, interface); `as_node` turns the pointer into a handle.
caf::io::middleman_actor middleman(caf::actor_system& sys);
node_actor as_node(const caf::strong_actor_ptr& ptr);

/// Parses "host:port". Errors: errc::invalid_argument.
[[nodiscard]] caf::error parse_endpoint(const std::string& endpoint,
                                        std::string& host,
                                        uint16_t& port);

}  // namespace pravaha::transport
