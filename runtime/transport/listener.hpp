#pragma once

/// Part of module `runtime/transport` (internal to runtime): how the node's listening ports take
/// connections. One `listener` per port (the CAF endpoint, the RPC gateway) and one
/// `connection_gate` per node shared by them, which holds the node's connections below
/// `--max-connections`.
///
/// A connection beyond the maximum is accepted and closed at once (the client sees the
/// connection closed, not a connection that hangs in the kernel's backlog). An accept error never
/// closes a listener: out of descriptors (EMFILE, ENFILE), the listener frees the one spare
/// descriptor the process holds for the purpose, takes the waiting connection, closes it and takes
/// the spare again (so the backlog drains and the listener does not spin; the listeners accept
/// under one mutex, so none takes the descriptor another frees); other errors (ENOBUFS,
/// ENOMEM) make the caller wait briefly. Both are logged at most once a second with the
/// descriptor limit and the number of open descriptors, and shown by `pravaha cluster status`.

#include "runtime/transport/transport.hpp"
#include "schema/raft_types.hpp"

#include <caf/expected.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace pravaha::transport {

/// The node's open client connections, all ports together, against a maximum.
class connection_gate {
public:
    explicit connection_gate(uint64_t max) : max_(max) {}
    /// Admits one more connection unless `max` are open.
    bool try_enter();
    void leave();
    uint64_t open() const { return open_.load(std::memory_order_relaxed); }
    uint64_t max() const { return max_; }

private:
    const uint64_t max_;
    std::atomic<uint64_t> open_{0};
};

/// What taking the next connection of a listening socket gave.
enum class accept_outcome {
    accepted,  ///< `fd` is a new connection, admitted by the gate: call closed() when it ends
    empty,     ///< no connection waits (EAGAIN): wait until the socket is readable
    refused,   ///< `fd` is a connection beyond the maximum: say why if the protocol can, close it
    shed,      ///< out of descriptors: a waiting connection was closed: take the next one
    failed,    ///< accept failed (no descriptor to shed with, ENOBUFS, ENOMEM): wait briefly
};

struct accept_result {
    accept_outcome outcome = accept_outcome::empty;
    int fd = -1;
};

/// One listening port of the node.
class listener {
public:
    listener(std::string name, std::shared_ptr<connection_gate> gate);
    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;

    /// Takes the next connection waiting on `listen_fd` (non-blocking; the new descriptor is
    /// non-blocking and close-on-exec).
    accept_result accept_next(int listen_fd);
    /// An accepted connection ended (its descriptor is closed or about to be).
    void closed();
    void set_port(uint16_t port) { port_.store(port, std::memory_order_relaxed); }
    /// For `pravaha cluster status`: backing_off while an accept failed in the last 10 s.
    raft::listener_status status() const;

private:
    /// A connection accept4 returned: counted, or refused beyond --max-connections.
    accept_result admit(int fd);
    void count_failure(int err, const char* action);

    const std::string name_;
    const std::shared_ptr<connection_gate> gate_;
    std::atomic<uint16_t> port_{0};
    std::atomic<uint64_t> open_{0};
    std::atomic<uint64_t> refused_{0};
    std::atomic<uint64_t> failures_{0};
    mutable std::mutex mutex_;
    int64_t last_failure_ms_ = -1;  // steady clock; under mutex_
    int64_t last_log_ms_ = -1;      // under mutex_
    uint64_t unlogged_ = 0;         // failures since the last log line; under mutex_
    std::string last_error_;        // under mutex_
};

/// Opens a non-blocking, close-on-exec TCP socket listening on host:port (SO_REUSEADDR; port 0
/// picks a free one). Errors: errc::unavailable, "`who` cannot listen on host:port: reason".
[[nodiscard]] caf::expected<int> listen_on(const std::string& who,
                                           const std::string& host,
                                           uint16_t port);

/// The port a socket is bound to (0 when it cannot be read).
uint16_t local_port(int fd);

/// The default of `--max-connections` for a descriptor limit: what the limit leaves after the
/// store's and the process's own descriptors (a quarter of the limit, at least 64 and at most
/// 4,096), at least 16.
uint64_t default_max_connections(uint64_t descriptor_limit);

/// The process's current soft RLIMIT_NOFILE.
uint64_t descriptor_limit();

/// Publishes `node` on `bind:port` like `publish_node`, with the port's connections taken by `l`
/// (runtime/transport/doorman.cpp), through a TLS handshake when `tls` is set. Returns the bound
/// port. Errors: errc::unavailable.
[[nodiscard]] caf::expected<uint16_t> publish_guarded(caf::actor_system& sys,
                                                      const node_actor& node,
                                                      uint16_t port,
                                                      const std::string& bind,
                                                      std::shared_ptr<listener> l,
                                                      std::shared_ptr<const tls_context> tls);

}  // namespace pravaha::transport
