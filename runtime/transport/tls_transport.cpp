#include "runtime/transport/tls_transport.hpp"

#include "schema/errc.hpp"
#include "schema/logging.hpp"

#include <arpa/inet.h>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor_impl.hpp>
#include <caf/io/network/interfaces.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/ref_counted.hpp>
#include <caf/send.hpp>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <vector>

namespace pravaha::transport {

namespace net = caf::io::network;

class tls_context {
public:
    explicit tls_context(SSL_CTX* ctx) : ctx_(ctx) {}
    ~tls_context() { SSL_CTX_free(ctx_); }
    tls_context(const tls_context&) = delete;
    tls_context& operator=(const tls_context&) = delete;
    SSL_CTX* native() const { return ctx_; }

private:
    SSL_CTX* ctx_;
};

namespace {

constexpr auto handshake_limit = std::chrono::seconds(10);
/// A connect's handshake: below the 5 s the node's and the client's connect requests wait, so
/// that a peer that accepts TCP and never answers (a stopped process) cannot queue up requests.
constexpr auto connect_handshake_limit = std::chrono::seconds(4);

// OpenSSL's queued errors as one line (and the queue emptied).
std::string ssl_errors() {
    std::string out;
    while (auto e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        out += out.empty() ? "" : "; ";
        out += buf;
    }
    return out.empty() ? "no detail from OpenSSL" : out;
}

// OpenSSL writes to sockets with write(2): a peer gone would raise SIGPIPE, which kills a process
// that does not ignore it. Every thread that runs TLS I/O (the multiplexer, the connector's)
// blocks it for good; a pending SIGPIPE of a blocked signal is harmless.
void block_sigpipe() {
    thread_local bool blocked = false;
    if (!blocked) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        blocked = true;
    }
}

struct ssl_deleter {
    void operator()(SSL* s) const { SSL_free(s); }
};
using ssl_ptr = std::unique_ptr<SSL, ssl_deleter>;

// CAF's stream over an established TLS session.
class tls_policy {
public:
    explicit tls_policy(ssl_ptr ssl) : ssl_(std::move(ssl)) {}

    net::rw_state read_some(size_t& result, net::native_socket, void* buf, size_t len) {
        result = 0;
        ERR_clear_error();
        auto n = SSL_read(ssl_.get(), buf, static_cast<int>(std::min<size_t>(len, INT_MAX)));
        if (n > 0) {
            result = static_cast<size_t>(n);
            return net::rw_state::success;
        }
        return retry(n);
    }

    net::rw_state write_some(size_t& result, net::native_socket, const void* buf, size_t len) {
        result = 0;
        if (len == 0) {
            return net::rw_state::indeterminate;  // nothing to write: the stream moves on
        }
        ERR_clear_error();
        auto n = SSL_write(ssl_.get(), buf, static_cast<int>(std::min<size_t>(len, INT_MAX)));
        if (n > 0) {
            result = static_cast<size_t>(n);
            return net::rw_state::success;
        }
        return retry(n);
    }

    // Decrypted input OpenSSL holds that the socket will not signal again.
    bool must_read_more(net::native_socket, size_t threshold) {
        return static_cast<size_t>(SSL_pending(ssl_.get())) >= std::max<size_t>(threshold, 1);
    }

private:
    // Would block: success with nothing done (the stream waits for its socket); else failure
    // (closed, reset, a TLS alert).
    net::rw_state retry(int n) {
        auto e = SSL_get_error(ssl_.get(), n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            return net::rw_state::success;
        }
        ERR_clear_error();
        return net::rw_state::failure;
    }

    ssl_ptr ssl_;
};

// A connection whose handshake is done. `l` (accepted ones) gets its slot back at the end.
class tls_scribe final : public caf::io::scribe {
public:
    tls_scribe(net::default_multiplexer& mx, int fd, ssl_ptr ssl, std::shared_ptr<listener> l)
        : scribe(net::conn_hdl_from_socket(fd)),
          stream_(mx, fd, std::move(ssl)),
          listener_(std::move(l)) {}
    ~tls_scribe() override {
        if (listener_) {
            listener_->closed();
        }
    }

    void configure_read(caf::io::receive_policy::config config) override {
        stream_.configure_read(config);
        if (!launched_) {
            launched_ = true;
            stream_.start(this);
        }
    }
    void ack_writes(bool enable) override { stream_.ack_writes(enable); }
    std::vector<char>& wr_buf() override { return stream_.wr_buf(); }
    std::vector<char>& rd_buf() override { return stream_.rd_buf(); }
    void graceful_shutdown() override {
        stream_.graceful_shutdown();
        detach(&stream_.backend(), false);
    }
    void flush() override { stream_.flush(this); }
    std::string addr() const override {
        auto x = net::remote_addr_of_fd(stream_.fd());
        return x ? *x : std::string{};
    }
    uint16_t port() const override {
        auto x = net::remote_port_of_fd(stream_.fd());
        return x ? *x : uint16_t{0};
    }
    void add_to_loop() override { stream_.activate(this); }
    void remove_from_loop() override { stream_.passivate(); }

private:
    bool launched_ = false;
    net::stream_impl<tls_policy> stream_;
    std::shared_ptr<listener> listener_;
};

using expire_atom = caf::atom_constant<caf::atom("tlsexpire")>;

// The server side of one handshake, on the multiplexer: waits for whichever direction OpenSSL
// needs, and hands the socket on (or closes it) only once the multiplexer has let go of it.
class tls_handshake final : public net::event_handler, public caf::ref_counted {
public:
    tls_handshake(net::default_multiplexer& mx,
                  int fd,
                  ssl_ptr ssl,
                  std::shared_ptr<listener> l,
                  std::function<void(caf::io::scribe_ptr)> done)
        : event_handler(mx, fd),
          ssl_(std::move(ssl)),
          listener_(std::move(l)),
          done_(std::move(done)) {}

    ~tls_handshake() override {
        if (fd_ != net::invalid_native_socket) {
            listener_->closed();  // ~event_handler closes it
        }
    }

    void start() {
        self_.reset(this);
        step();
        // A peer that stays silent (plain TCP waiting for the node to speak first) or stalls
        // is closed after the limit; the timer holds only memory after the handshake ended.
        caf::intrusive_ptr<tls_handshake> me{this};
        backend().system().spawn<caf::hidden>(
            [](caf::event_based_actor* timer, caf::intrusive_ptr<tls_handshake> hs,
               net::default_multiplexer* mx) -> caf::behavior {
                timer->delayed_send(timer, handshake_limit, expire_atom::value);
                return {[=](expire_atom) {
                    mx->dispatch([hs] { hs->expire(); });
                    timer->quit();
                }};
            },
            me, &backend());
    }

    void handle_event(net::operation op) override {
        if (finished_) {
            return;
        }
        if (op == net::operation::propagate_error) {
            // The multiplexer takes the socket out of epoll itself.
            reading_ = writing_ = false;
            why_ = "socket error";
            finish(false);
            return;
        }
        step();
    }

    void graceful_shutdown() override {
        if (!finished_) {
            why_ = "the node stops";
            finish(false);
        }
    }

    void removed_from_loop(net::operation op) override {
        (op == net::operation::read ? reading_ : writing_) = false;
        if (finished_ && eventbf() == 0 && self_) {
            // Both directions are out of epoll: the socket may be handed on or closed now.
            backend().post([me = std::move(self_)] { me->deliver(); });
        }
    }

private:
    void step() {
        ERR_clear_error();
        auto r = SSL_do_handshake(ssl_.get());
        if (r == 1) {
            finish(true);
            return;
        }
        switch (SSL_get_error(ssl_.get(), r)) {
            case SSL_ERROR_WANT_READ:
                want(true, false);
                return;
            case SSL_ERROR_WANT_WRITE:
                want(false, true);
                return;
            default:
                why_ = ssl_errors();
                finish(false);
        }
    }

    void expire() {
        if (!finished_) {
            why_ = "no TLS handshake within 10 s";
            finish(false);
        }
    }

    void want(bool read, bool write) {
        if (read != reading_) {
            read ? backend().add(net::operation::read, fd(), this)
                 : backend().del(net::operation::read, fd(), this);
            reading_ = read;
        }
        if (write != writing_) {
            write ? backend().add(net::operation::write, fd(), this)
                  : backend().del(net::operation::write, fd(), this);
            writing_ = write;
        }
    }

    void finish(bool ok) {
        finished_ = true;
        ok_ = ok;
        if (!reading_ && !writing_) {
            backend().post([me = std::move(self_)] { me->deliver(); });
            return;
        }
        want(false, false);  // removed_from_loop posts the delivery
    }

    // The timer may keep this object up to the limit: only its few bytes, not the session's
    // buffers nor the doorman.
    void deliver() {
        auto fd = fd_;
        fd_ = net::invalid_native_socket;
        auto done = std::move(done_);
        done_ = nullptr;
        if (!ok_) {
            module_log("transport")->debug("client port: a TLS handshake failed: {}", why_);
            ssl_.reset();
            ::close(fd);
            listener_->closed();
            return;
        }
        done(caf::make_counted<tls_scribe>(backend(), fd, std::move(ssl_), listener_));
    }

    ssl_ptr ssl_;
    std::shared_ptr<listener> listener_;
    std::function<void(caf::io::scribe_ptr)> done_;
    caf::intrusive_ptr<tls_handshake> self_;  ///< held while in the multiplexer's loop
    bool reading_ = false;
    bool writing_ = false;
    bool finished_ = false;
    bool ok_ = false;
    std::string why_;
};

// The client side of a handshake on a connected socket, blocking this thread at most the limit.
// Checks the peer's certificate against the CA and against `host` (a name or an IP address).
caf::expected<ssl_ptr> connect_handshake(SSL_CTX* ctx, int fd, const std::string& host) {
    ssl_ptr ssl{SSL_new(ctx)};
    if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) {
        return caf::make_error(errc::unavailable, "cannot start TLS: " + ssl_errors());
    }
    in6_addr ip6{};
    in_addr ip4{};
    bool is_ip =
        inet_pton(AF_INET, host.c_str(), &ip4) == 1 || inet_pton(AF_INET6, host.c_str(), &ip6) == 1;
    auto* param = SSL_get0_param(ssl.get());
    if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1
              : SSL_set1_host(ssl.get(), host.c_str()) != 1) {
        return caf::make_error(errc::unavailable, "cannot check the node's name: " + ssl_errors());
    }
    SSL_set_connect_state(ssl.get());
    auto deadline = std::chrono::steady_clock::now() + connect_handshake_limit;
    for (;;) {
        ERR_clear_error();
        auto r = SSL_do_handshake(ssl.get());
        if (r == 1) {
            return ssl;
        }
        auto e = SSL_get_error(ssl.get(), r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            auto verify = SSL_get_verify_result(ssl.get());
            std::string why =
                verify != X509_V_OK ? X509_verify_cert_error_string(verify) : ssl_errors();
            return caf::make_error(errc::unavailable, "TLS handshake failed: " + why);
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return caf::make_error(errc::unavailable, "no TLS handshake within 4 s");
        }
        pollfd p{fd, static_cast<short>(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
        ::poll(&p, 1, static_cast<int>(left.count()));
    }
}

// CAF's middleman actor with TLS connections: connecting, caching and BASP's handshake stay
// CAF's; only the connection is ours. Runs detached: its handshakes block its own thread.
class tls_connector final : public caf::io::middleman_actor_impl {
public:
    tls_connector(caf::actor_config& cfg, caf::actor basp, std::shared_ptr<const tls_context> ctx)
        : middleman_actor_impl(cfg, std::move(basp)), ctx_(std::move(ctx)) {}

    const char* name() const override { return "pravaha.tls_connector"; }

protected:
    // Only connecting: a port opened here would be plain TCP.
    caf::expected<caf::io::doorman_ptr> open(uint16_t, const char*, bool) override {
        return caf::make_error(errc::invalid_argument, "the TLS connector only connects");
    }
    caf::expected<caf::io::datagram_servant_ptr> contact(const std::string&, uint16_t) override {
        return caf::make_error(errc::invalid_argument, "the TLS connector only connects");
    }
    caf::expected<caf::io::datagram_servant_ptr> open_udp(uint16_t, const char*, bool) override {
        return caf::make_error(errc::invalid_argument, "the TLS connector only connects");
    }

    caf::expected<caf::io::scribe_ptr> connect(const std::string& host, uint16_t port) override {
        block_sigpipe();
        auto fd = net::new_tcp_connection(host, port);
        if (!fd) {
            return std::move(fd.error());
        }
        net::nonblocking(*fd, true);
        auto ssl = connect_handshake(ctx_->native(), *fd, host);
        if (!ssl) {
            ::close(*fd);
            auto why = render_error(ssl.error());
            module_log("transport")->debug("TLS to {}:{} failed: {}", host, port, why);
            return std::move(ssl.error());
        }
        auto& mx = static_cast<net::default_multiplexer&>(system().middleman().backend());
        return caf::make_counted<tls_scribe>(mx, *fd, std::move(*ssl), nullptr);
    }

private:
    std::shared_ptr<const tls_context> ctx_;
};

}  // namespace

namespace {

caf::expected<std::string> read_file(const char* flag, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return caf::make_error(errc::invalid_argument, std::string(flag) + ": cannot read " + path);
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

struct bio_deleter {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct x509_deleter {
    void operator()(X509* x) const { X509_free(x); }
};
struct pkey_deleter {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::unique_ptr<BIO, bio_deleter> memory_bio(const std::string& text) {
    return std::unique_ptr<BIO, bio_deleter>(
        BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// The certificates of a PEM text, in order (none: not PEM).
std::vector<std::unique_ptr<X509, x509_deleter>> certificates(const std::string& pem) {
    std::vector<std::unique_ptr<X509, x509_deleter>> out;
    auto bio = memory_bio(pem);
    while (auto* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        out.emplace_back(x);
    }
    ERR_clear_error();  // the end of the text reads as an error
    return out;
}

// A key callback that refuses: an encrypted key is an error, never a prompt on a terminal.
int no_passphrase(char*, int, int, void*) {
    return 0;
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
        auto text = read_file(f.flag, f.path);
        if (!text) {
            return std::move(text.error());
        }
        f.into = std::move(*text);
    }
    auto bad = [](const char* flag, const std::string& path, const std::string& why) {
        return caf::make_error(errc::invalid_argument,
                               std::string(flag) + ": " + path + " is not usable: " + why);
    };
    ERR_clear_error();
    auto* c = SSL_CTX_new(TLS_method());
    if (c == nullptr) {
        return caf::make_error(errc::invalid_argument,
                               "cannot make an OpenSSL context: " + ssl_errors());
    }
    m->context = std::make_shared<tls_context>(c);
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    auto chain = certificates(m->cert_pem);
    if (chain.empty() || SSL_CTX_use_certificate(c, chain.front().get()) != 1) {
        return bad("--tls-cert", cert, "no PEM certificate");
    }
    for (size_t i = 1; i < chain.size(); ++i) {
        if (SSL_CTX_add1_chain_cert(c, chain[i].get()) != 1) {
            return bad("--tls-cert", cert, "a chain certificate is refused: " + ssl_errors());
        }
    }
    std::unique_ptr<EVP_PKEY, pkey_deleter> pkey(
        PEM_read_bio_PrivateKey(memory_bio(m->key_pem).get(), nullptr, no_passphrase, nullptr));
    if (!pkey) {
        ERR_clear_error();
        return bad("--tls-key", key, "no unencrypted PEM private key");
    }
    if (SSL_CTX_use_PrivateKey(c, pkey.get()) != 1 || SSL_CTX_check_private_key(c) != 1) {
        ERR_clear_error();
        return bad("--tls-key", key, "not the key of --tls-cert " + cert);
    }
    auto cas = certificates(m->ca_pem);
    if (cas.empty()) {
        return bad("--tls-ca", ca, "no PEM certificate");
    }
    for (const auto& x : cas) {
        X509_STORE_add_cert(SSL_CTX_get_cert_store(c), x.get());
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    SSL_CTX_set_num_tickets(c, 0);  // no session resumption: connections are long-lived
    return std::shared_ptr<const tls_material>(std::move(m));
}

void accept_tls(net::default_multiplexer& mx,
                int fd,
                const std::shared_ptr<const tls_context>& ctx,
                std::shared_ptr<listener> l,
                std::function<void(caf::io::scribe_ptr)> done) {
    block_sigpipe();
    ssl_ptr ssl{SSL_new(ctx->native())};
    if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) {
        module_log("transport")->warn("client port: cannot start TLS: {}", ssl_errors());
        ::close(fd);
        l->closed();
        return;
    }
    SSL_set_accept_state(ssl.get());
    auto hs =
        caf::make_counted<tls_handshake>(mx, fd, std::move(ssl), std::move(l), std::move(done));
    hs->start();
}

namespace {

// The connector of each endpoint, so that a peer whose handshake stalls delays only the
// connections to itself. Answers connect requests only (delegated: the connector answers the
// requester).
caf::behavior tls_router(caf::event_based_actor* self, std::shared_ptr<const tls_context> ctx) {
    auto connectors =
        std::make_shared<std::map<std::pair<std::string, uint16_t>, caf::io::middleman_actor>>();
    self->attach_functor([connectors] {
        for (auto& [endpoint, connector] : *connectors) {
            caf::anon_send_exit(connector, caf::exit_reason::kill);
        }
    });
    return {[=](caf::connect_atom a, std::string& host, uint16_t port) {
        auto& c = (*connectors)[{host, port}];
        if (!c) {
            auto basp =
                self->system().middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
            c = self->system().spawn<tls_connector, caf::detached + caf::hidden>(basp, ctx);
        }
        return self->delegate(c, a, std::move(host), port);
    }};
}

// The router of each actor system with a live tls_transport. Not CAF's actor registry: BASP
// peers can look names up there.
std::mutex routers_mutex;
std::map<const caf::actor_system*, caf::actor>& routers() {
    static std::map<const caf::actor_system*, caf::actor> m;
    return m;
}

}  // namespace

tls_transport::tls_transport(caf::actor_system& sys, std::shared_ptr<const tls_context> ctx)
    : sys_(sys) {
    // Every TLS write after a handshake runs on the multiplexer thread.
    sys.middleman().backend().dispatch([] { block_sigpipe(); });
    auto router = sys.spawn<caf::hidden>(tls_router, std::move(ctx));
    std::lock_guard<std::mutex> guard(routers_mutex);
    routers()[&sys] = router;
}

tls_transport::~tls_transport() {
    caf::actor router;
    {
        std::lock_guard<std::mutex> guard(routers_mutex);
        router = std::move(routers()[&sys_]);
        routers().erase(&sys_);
    }
    caf::anon_send_exit(router, caf::exit_reason::kill);
}

caf::io::middleman_actor middleman(caf::actor_system& sys) {
    {
        std::lock_guard<std::mutex> guard(routers_mutex);
        auto it = routers().find(&sys);
        if (it != routers().end()) {
            return caf::actor_cast<caf::io::middleman_actor>(it->second);
        }
    }
    return sys.middleman().actor_handle();
}

}  // namespace pravaha::transport
