#pragma once

/// Part of module `runtime` (internal): the node's metrics port (issue 19). An HTTP server on a
/// kj event-loop thread of its own (kj-http, which comes with Cap'n Proto) that serves
/// `/metrics` (the process's metrics registry, schema/metrics.hpp, in Prometheus's text format
/// 0.0.4), `/health` (200 while the process runs) and `/ready` (200 once the node can serve,
/// else 503). Its own thread, not the RPC gateway's: it serves with `--rpc-port off`, from before
/// the core starts, and across the core's restarts (the gateway is made again with the core).

#include <caf/expected.hpp>

#include <functional>
#include <memory>
#include <string>

namespace pravaha::transport {
struct tls_material;  // runtime/transport/transport.hpp
}

namespace pravaha::runtime {

using tls_material = transport::tls_material;

struct metrics_server_config {
    std::string bind = "127.0.0.1";
    uint16_t port = 9092;  ///< 0 picks a free port
    /// Why the node cannot serve yet, empty when it can (`/ready`: 200, else 503 with the
    /// reason); called on the server's thread.
    std::function<std::string()> ready;
    /// --tls-*: HTTPS, a client certificate of the CA wanted (runtime/tls.hpp). Null: HTTP.
    std::shared_ptr<const tls_material> tls;
};

class metrics_server {
public:
    /// Starts listening; returns once the port is bound. Errors: unavailable.
    [[nodiscard]] static caf::expected<std::unique_ptr<metrics_server>> start(
        const metrics_server_config& cfg);
    virtual ~metrics_server() = default;
    virtual uint16_t port() const = 0;
    /// Ends the server and its thread. Idempotent.
    virtual void stop() = 0;
};

/// Registers the process's own gauges in the global registry (once): `pravaha_build_info`, open
/// file descriptors, resident memory, CPU seconds.
void register_process_metrics(const std::string& version);

}  // namespace pravaha::runtime
