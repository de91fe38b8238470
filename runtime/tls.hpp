#pragma once

// TLS on the node's kj ports (RPC and metrics; README "Security: TLS"): --tls-cert, --tls-key
// and --tls-ca name PEM files read once at start. Mutual TLS: a client must present a certificate
// of the CA, as the CAF port's OpenSSL module would demand. Internal to runtime.

#include <caf/expected.hpp>
#include <kj/async-io.h>
#include <kj/compat/tls.h>

#include <memory>
#include <string>

namespace pravaha::runtime {

/// The PEM texts of --tls-cert (the node's certificate, its chain after it), --tls-key and
/// --tls-ca (the CA that signs the nodes' and the clients' certificates).
struct tls_material {
    std::string cert_pem;
    std::string key_pem;
    std::string ca_pem;
};

/// Reads the three files and checks that they parse as a certificate, a private key and a CA
/// certificate. Errors: invalid_argument naming the file and what is wrong.
caf::expected<std::shared_ptr<const tls_material>> load_tls(const std::string& cert,
                                                            const std::string& key,
                                                            const std::string& ca);

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
/// Logs (at debug) a connection whose TLS handshake or serving failed: it ends alone.
class tls_failures final : public kj::TaskSet::ErrorHandler {
public:
    explicit tls_failures(const char* port) : port_(port) {}
    void taskFailed(kj::Exception&& e) override;

private:
    const char* port_;
};
#pragma GCC diagnostic pop

}  // namespace pravaha::runtime
