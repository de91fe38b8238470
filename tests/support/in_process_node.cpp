#include "tests/support/in_process_node.hpp"

#include "runtime/transport/transport.hpp"
#include "schema/errc.hpp"

#include <caf/send.hpp>
#include <sys/socket.h>

#include <stdexcept>

namespace pravaha::test {

in_process_node::in_process_node() {
    auto fail = [](const char* what, const caf::error& err) {
        throw std::runtime_error(std::string(what) + ": " + render_error(err));
    };
    auto s = storage::open_rocksdb({dir_.path() + "/db"});
    if (!s) {
        fail("open store", s.error());
    }
    store_ = std::move(*s);
    cfg_ = transport::make_config({});
    sys_ = std::make_unique<caf::actor_system>(*cfg_);
    actors::node_config ncfg;
    ncfg.store = store_.get();
    ncfg.wall_clock_ms = [] { return int64_t{0}; };
    // On the scheduler: CAF 0.17.6's ~actor_system can wait forever for detached threads.
    ncfg.detached = false;
    auto n = actors::spawn_node(*sys_, ncfg);
    if (!n) {
        fail("spawn node", n.error());
    }
    node_ = *n;
    auto port = transport::publish_node(*sys_, node_.endpoint, 0, "127.0.0.1");
    if (!port) {
        fail("publish node", port.error());
    }
    runtime::gateway_config gcfg;
    gcfg.port = 0;
    gcfg.node_port = *port;
    auto gw = runtime::gateway::start(*sys_, node_.endpoint, gcfg);
    if (!gw) {
        fail("start gateway", gw.error());
    }
    gateway_ = std::move(*gw);
}

in_process_node::~in_process_node() {
    gateway_->stop();
    caf::anon_send_exit(node_.endpoint, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(node_.controller, caf::exit_reason::user_shutdown);
    for (const auto& c : node_.containers) {
        caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    }
    sys_.reset();
}

int in_process_node::connect_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        throw std::runtime_error("socketpair failed");
    }
    if (auto err = gateway_->accept(fds[0])) {
        throw std::runtime_error("gateway refused a socket: " + render_error(err));
    }
    return fds[1];
}

}  // namespace pravaha::test
