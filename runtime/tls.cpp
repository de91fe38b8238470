#include "runtime/tls.hpp"

#include "schema/errc.hpp"
#include "schema/logging.hpp"

#include <fmt/format.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <memory>
#include <sstream>

namespace pravaha::runtime {

namespace {

caf::expected<std::string> read_pem(const std::string& flag, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return caf::make_error(errc::invalid_argument,
                               fmt::format("{}: cannot read {}", flag, path));
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Whether `parse` accepts the text; the reason when not.
template <class Parse>
std::string parse_error(Parse parse) {
    KJ_IF_MAYBE (e, kj::runCatchingExceptions(parse)) {
        return e->getDescription().cStr();
    }
    return {};
}

// Whether the private key in `key_pem` belongs to the certificate in `cert_pem`.
bool key_matches(const std::string& cert_pem, const std::string& key_pem) {
    auto bio = [](const std::string& text) {
        return std::unique_ptr<BIO, decltype(&BIO_free)>(
            BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), &BIO_free);
    };
    auto cert_bio = bio(cert_pem);
    auto key_bio = bio(key_pem);
    std::unique_ptr<X509, decltype(&X509_free)> x509(
        PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr), &X509_free);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
        PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
    return x509 && pkey && X509_check_private_key(x509.get(), pkey.get()) == 1;
}

}  // namespace

caf::expected<std::shared_ptr<const tls_material>> load_tls(const std::string& cert,
                                                            const std::string& key,
                                                            const std::string& ca) {
    auto m = std::make_shared<tls_material>();
    struct file {
        const char* flag;
        const std::string& path;
        std::string& into;
    };
    for (const auto& f : {file{"--tls-cert", cert, m->cert_pem}, file{"--tls-key", key, m->key_pem},
                          file{"--tls-ca", ca, m->ca_pem}}) {
        auto text = read_pem(f.flag, f.path);
        if (!text) {
            return std::move(text.error());
        }
        f.into = std::move(*text);
    }
    auto bad = [](const char* flag, const std::string& path, const std::string& why) {
        return caf::make_error(errc::invalid_argument,
                               fmt::format("{}: {} is not usable: {}", flag, path, why));
    };
    if (auto why = parse_error([&] { kj::TlsCertificate c(m->cert_pem); }); !why.empty()) {
        return bad("--tls-cert", cert, why);
    }
    if (auto why = parse_error([&] { kj::TlsPrivateKey k(m->key_pem); }); !why.empty()) {
        return bad("--tls-key", key, why);
    }
    if (auto why = parse_error([&] { kj::TlsCertificate c(m->ca_pem); }); !why.empty()) {
        return bad("--tls-ca", ca, why);
    }
    // The key must be the certificate's (OpenSSL would drop a mismatched key silently and
    // fail every handshake instead).
    if (!key_matches(m->cert_pem, m->key_pem)) {
        return bad("--tls-key", key, "not the key of --tls-cert " + cert);
    }
    return std::shared_ptr<const tls_material>(std::move(m));
}

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
    module_log("runtime")->debug("{}: a TLS connection failed: {}", port_,
                                 e.getDescription().cStr());
}

kj::Promise<kj::Own<kj::AsyncIoStream>> tls_server::wrap(kj::Own<kj::AsyncIoStream> stream) {
    return context_->wrapServer(kj::mv(stream));
}

}  // namespace pravaha::runtime
