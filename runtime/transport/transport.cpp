#include "runtime/transport/transport.hpp"

#include "schema/errc.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <string>
#include <system_error>

namespace pravaha::transport {

std::unique_ptr<caf::actor_system_config> make_config(const system_options& opts) {
    auto cfg = std::make_unique<caf::actor_system_config>();
    cfg->load<caf::io::middleman>();
    add_node_types(*cfg);
    if (opts.tls) {
        // They would open a plain TCP port in every process, besides the TLS one.
        cfg->set("middleman.enable-automatic-connections", false);
    }
    cfg->set("scheduler.policy", caf::atom_from_string(opts.scheduler));
    cfg->set("middleman.workers", opts.middleman_workers);
    if (opts.worker_threads > 0) {
        cfg->set("scheduler.max-threads", opts.worker_threads);
    }
    return cfg;
}

void add_node_types(caf::actor_system_config& cfg) {
    add_message_types(cfg);
    cfg.add_message_type<segment_store_actor>("pravaha.segment_store_actor");
    cfg.add_message_type<segment_admin_api>("pravaha.segment_admin_api");
    cfg.add_message_type<controller_api>("pravaha.controller_api");
    cfg.add_message_type<raft_replica_api>("pravaha.raft_replica_api");
    // A client handed a container leader's handle by another node then talks to that node
    // directly (no hop through the first one), and sees its death as a closed connection.
    cfg.set("middleman.enable-automatic-connections", true);
}

caf::expected<uint16_t> publish_node(caf::actor_system& sys,
                                     const node_actor& node,
                                     uint16_t port,
                                     const std::string& bind) {
    auto res = sys.middleman().publish(node, port, bind.c_str(), true);
    if (!res) {
        return caf::make_error(errc::unavailable, "cannot listen on " + bind + ":" +
                                                      std::to_string(port) + ": " +
                                                      sys.render(res.error()));
    }
    return *res;
}

namespace {

// Why a TCP connection to host:port fails, in the words a user knows ("connection refused",
// "unknown host"): CAF's own error says only "ip_connect failed". One plain connection attempt
// of at most `timeout`, made only after CAF's failed.
std::string connect_failure(const std::string& host,
                            uint16_t port,
                            std::chrono::milliseconds timeout) {
    auto c = tcp_connect(host, port, timeout);
    if (c.fd < 0) {
        return c.why;
    }
    ::close(c.fd);
    return "the connection was accepted, then dropped (is it a Pravaha node's port?)";
}

std::string errno_reason(int err) {
    switch (err) {
        case ECONNREFUSED:
            return "connection refused";
        case ETIMEDOUT:
            return "no answer";
        case EHOSTUNREACH:
            return "host unreachable";
        case ENETUNREACH:
            return "network unreachable";
        default:
            return std::error_code(err, std::generic_category()).message();
    }
}

}  // namespace

tcp_connection tcp_connect(const std::string& host,
                           uint16_t port,
                           std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    auto service = std::to_string(port);
    tcp_connection out;
    if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
        out.why = std::string("unknown host: ") + ::gai_strerror(rc);
        return out;
    }
    out.why = "connection failed";
    for (auto* a = found; a != nullptr && out.fd < 0; a = a->ai_next) {
        int fd =
            ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            out.why = "cannot open a socket: " + errno_reason(errno);
            continue;
        }
        int err = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
        while (err == EINPROGRESS || err == EINTR) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            until - std::chrono::steady_clock::now())
                            .count();
            pollfd p{fd, POLLOUT, 0};
            int rc = left > 0 ? ::poll(&p, 1, static_cast<int>(left)) : 0;
            if (rc < 0 && errno == EINTR) {
                continue;
            }
            if (rc <= 0) {
                err = ETIMEDOUT;
            } else {
                socklen_t len = sizeof err;
                if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
                    err = errno;
                }
            }
        }
        if (err != 0) {
            out.why = errno_reason(err);
            ::close(fd);
            continue;
        }
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        out.fd = fd;
        out.why.clear();
    }
    ::freeaddrinfo(found);
    return out;
}

caf::expected<node_actor> connect_node(caf::actor_system& sys,
                                       const std::string& host,
                                       uint16_t port,
                                       std::chrono::milliseconds timeout) {
    // Through the middleman actor rather than the blocking remote_actor(), which waits forever
    // for a node that accepts the TCP connection but never answers (e.g. a stopped process).
    caf::scoped_actor self{sys};
    caf::expected<node_actor> out{
        caf::make_error(errc::unavailable, "node at " + host + ":" + std::to_string(port) +
                                               " did not answer within " +
                                               std::to_string(timeout.count()) + " ms")};
    self->request(middleman(sys), timeout, caf::connect_atom::value, host, port)
        .receive(
            [&](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
                if (ptr) {
                    out = caf::actor_cast<node_actor>(ptr);
                } else {
                    out = caf::make_error(errc::unavailable, "no node published at " + host + ":" +
                                                                 std::to_string(port));
                }
            },
            [&](caf::error& err) {
                if (err == caf::sec::request_timeout) {
                    return;  // keep the "did not answer" error above
                }
                std::string why;
                if (err == caf::sec::cannot_connect_to_node) {
                    why = connect_failure(host, port, timeout);
                } else if (code_of(err) != errc::none) {  // ours: a failed TLS handshake
                    why = render_error(err);
                    why = why.substr(why.find(": ") == std::string::npos ? 0 : why.find(": ") + 2);
                } else {
                    why = sys.render(err);
                }
                out =
                    caf::make_error(errc::unavailable, "cannot reach a node at " + host + ":" +
                                                           std::to_string(port) + " (" + why + ")");
            });
    return out;
}

node_actor as_node(const caf::strong_actor_ptr& ptr) {
    return caf::actor_cast<node_actor>(ptr);
}

caf::error parse_endpoint(const std::string& endpoint, std::string& host, uint16_t& port) {
    auto colon = endpoint.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == endpoint.size()) {
        return caf::make_error(errc::invalid_argument,
                               "endpoint must be HOST:PORT, got '" + endpoint + "'");
    }
    auto port_text = endpoint.substr(colon + 1);
    unsigned long value = 0;
    for (char c : port_text) {
        if (c < '0' || c > '9') {
            return caf::make_error(errc::invalid_argument,
                                   "bad port in endpoint '" + endpoint + "'");
        }
        value = value * 10 + static_cast<unsigned long>(c - '0');
        if (value > 65535) {
            return caf::make_error(errc::invalid_argument,
                                   "port out of range in endpoint '" + endpoint + "'");
        }
    }
    host = endpoint.substr(0, colon);
    port = static_cast<uint16_t>(value);
    return {};
}

}  // namespace pravaha::transport
