#pragma once

// TLS on the node's kj ports (RPC and metrics; README "Security: TLS"), of the PEM texts of
// --tls-cert, --tls-key and --tls-ca that transport::load_tls read once at start. Mutual TLS: a
// client must present a certificate of the CA, as on the client port. Internal to runtime.

#include "runtime/transport/transport.hpp"

#include <caf/expected.hpp>
#include <kj/async-io.h>
#include <kj/compat/tls.h>

#include <memory>
#include <string>

namespace pravaha::runtime {

/// The files as read at start (runtime/transport: the one loader of --tls-*).
using tls_material = transport::tls_material;

/// A kj TLS server context of `m` for one event loop (its `timer` bounds handshakes to 10 s).
/// The keys live in the context: `m` need not outlive it.
class tls_server {
public:
    tls_server(const tls_material& m, kj::Timer& timer);
    /// The server side of an accepted connection, once its handshake succeeded.
    kj::Promise<kj::Own<kj::AsyncIoStream>> wrap(kj::Own<kj::AsyncIoStream> stream);

private:
    kj::TlsCertificate ca_;
    kj::TlsKeypair keypair_;
    kj::Own<kj::TlsContext> context_;
};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"  // kj's interface, destroyed by its owner
/// Logs (at debug) a connection whose TLS handshake or serving failed: it ends alone. (The
/// metrics port's plain connections too.)
class tls_failures final : public kj::TaskSet::ErrorHandler {
public:
    explicit tls_failures(const char* port) : port_(port) {}
    void taskFailed(kj::Exception&& e) override;

private:
    const char* port_;
};
#pragma GCC diagnostic pop

}  // namespace pravaha::runtime
