#include "runtime/tls.hpp"

#include "schema/logging.hpp"

namespace pravaha::runtime {

tls_server::tls_server(const tls_material& m, kj::Timer& timer)
    : ca_(m.ca_pem), keypair_{kj::TlsPrivateKey(m.key_pem), kj::TlsCertificate(m.cert_pem)} {
    kj::TlsContext::Options o;
    o.useSystemTrustStore = false;
    o.trustedCertificates = kj::arrayPtr(&ca_, 1);
    o.verifyClients = true;
    o.defaultKeypair = keypair_;
    o.timer = timer;
    o.acceptTimeout = 10 * kj::SECONDS;
    context_ = kj::heap<kj::TlsContext>(kj::mv(o));
}

void tls_failures::taskFailed(kj::Exception&& e) {
    module_log("runtime")->debug("{}: a connection failed: {}", port_, e.getDescription().cStr());
}

kj::Promise<kj::Own<kj::AsyncIoStream>> tls_server::wrap(kj::Own<kj::AsyncIoStream> stream) {
    return context_->wrapServer(kj::mv(stream));
}

}  // namespace pravaha::runtime
