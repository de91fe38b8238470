// The node's listening ports under load that exhausts them: out of descriptors (a soft limit of
// 256) and beyond --max-connections. No pattern may leave a port closed.

#include "tests/system/rpc_support.hpp"
#include "tests/system/system_support.hpp"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace pravaha;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

// Raw TCP connections to 127.0.0.1:port (the kernel completes them from the listen backlog
// whether or not the node takes them).
std::vector<int> flood(uint16_t port, int n) {
    std::vector<int> fds;
    for (int i = 0; i < n; ++i) {
        int fd = test::connect_loopback(port);
        if (fd < 0) {
            break;
        }
        fds.push_back(fd);
    }
    return fds;
}

// Whether the node closed this connection (end of stream or reset) within `wait`; bytes it sent
// first (a handshake) are read past.
bool closed_by_node(int fd, milliseconds wait) {
    auto until = steady_clock::now() + wait;
    char buf[512];
    for (;;) {
        auto n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
            return true;
        }
        if (n > 0) {
            continue;
        }
        auto left = std::chrono::duration_cast<milliseconds>(until - steady_clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd p{fd, POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(left.count()));
    }
}

size_t count_closed(const std::vector<int>& fds) {
    return static_cast<size_t>(std::count_if(
        fds.begin(), fds.end(), [](int fd) { return closed_by_node(fd, milliseconds(0)); }));
}

void close_all(std::vector<int>& fds) {
    for (int fd : fds) {
        ::close(fd);
    }
    fds.clear();
}

raft::listener_status listener_of(client::client_factory& f, const std::string& name) {
    auto info = f.streams().cluster_status();
    REQUIRE(info);
    for (const auto& l : info->listeners) {
        if (l.name == name) {
            return l;
        }
    }
    FAIL("no listener " << name << " in cluster status");
    return {};
}

// A new C++ client that creates `scope`, tried until it works or `wait` passes; how long it took.
milliseconds cpp_client_works(const std::string& endpoint,
                              const std::string& scope,
                              milliseconds wait) {
    auto start = steady_clock::now();
    while (steady_clock::now() - start < wait) {
        client::client_config cfg;
        cfg.endpoint = endpoint;
        cfg.request_timeout = milliseconds(1000);
        auto f = client::client_factory::connect(cfg);
        if (f && !(*f)->streams().create_scope(scope)) {
            return std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
        }
        std::this_thread::sleep_for(milliseconds(20));
    }
    return milliseconds::max();
}

// The same over Cap'n Proto RPC.
milliseconds rpc_client_works(kj::AsyncIoContext& io,
                              uint16_t port,
                              const std::string& scope,
                              milliseconds wait) {
    auto start = steady_clock::now();
    while (steady_clock::now() - start < wait) {
        try {
            test::rpc_client c(io, port);
            if (c.create_scope(scope).empty()) {
                return std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
            }
        } catch (const kj::Exception&) {
        }
        std::this_thread::sleep_for(milliseconds(20));
    }
    return milliseconds::max();
}

}  // namespace

TEST_CASE("a node out of descriptors keeps its client and RPC ports accepting",
          "[system][listener]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    node.limit_open_files(256);
    // A maximum above what the limit allows: the node runs out of descriptors first.
    node.add_args({"--max-connections", "100000"});
    REQUIRE(node.start());
    auto steady = test::connect(node.endpoint());
    auto io = kj::setupAsyncIo();
    test::rpc_client steady_rpc(io, node.rpc_port());
    REQUIRE(!steady->streams().create_scope("before"));
    REQUIRE(steady_rpc.create_scope("before-rpc").empty());

    auto on_client = flood(node.port(), 300);
    auto on_rpc = flood(node.rpc_port(), 300);
    REQUIRE(on_client.size() == 300);
    REQUIRE(on_rpc.size() == 300);
    std::this_thread::sleep_for(milliseconds(500));
    // The node ran out: it closed waiting connections on both ports to drain its backlogs.
    CHECK(count_closed(on_client) > 0);
    CHECK(count_closed(on_rpc) > 0);
    // Accepted connections keep working, and the status says what happens.
    CHECK(!steady->streams().create_scope("during"));
    CHECK(steady_rpc.create_scope("during-rpc").empty());
    for (const auto* name : {"client", "rpc"}) {
        auto l = listener_of(*steady, name);
        CHECK(l.accept_failures > 0);
        CHECK(l.backing_off);
        CHECK(l.last_error.find("Too many open files") != std::string::npos);
    }

    close_all(on_client);
    close_all(on_rpc);
    CHECK(cpp_client_works(node.endpoint(), "after", milliseconds(1000)) < milliseconds(1000));
    CHECK(rpc_client_works(io, node.rpc_port(), "after-rpc", milliseconds(1000)) <
          milliseconds(1000));
    CHECK(node.running());
    CHECK(node.stop() == 0);
}

TEST_CASE("a node at its --max-connections refuses new ones and takes them when one closes",
          "[system][listener]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    node.add_args({"--max-connections", "6"});
    REQUIRE(node.start());
    auto steady = test::connect(node.endpoint());  // one of the 6
    REQUIRE(!steady->streams().create_scope("before"));

    auto held = flood(node.port(), 5);
    REQUIRE(held.size() == 5);
    std::this_thread::sleep_for(milliseconds(300));
    CHECK(count_closed(held) == 0);  // within the maximum: taken and kept

    // Beyond it, on either port: closed at once.
    auto beyond = flood(node.port(), 1);
    REQUIRE(beyond.size() == 1);
    CHECK(closed_by_node(beyond[0], milliseconds(1000)));
    close_all(beyond);
    auto io = kj::setupAsyncIo();
    std::string why;
    try {
        test::rpc_client refused(io, node.rpc_port());
    } catch (const kj::Exception& e) {
        why = e.getDescription().cStr();
    }
    INFO(why);
    CHECK(why.find("maximum of connections") != std::string::npos);
    client::client_config cfg;
    cfg.endpoint = node.endpoint();
    cfg.request_timeout = milliseconds(2000);
    CHECK(!client::client_factory::connect(cfg));

    // The connections it has are unaffected, and the status counts what it refused.
    CHECK(!steady->streams().create_scope("during"));
    auto client_port = listener_of(*steady, "client");
    CHECK(client_port.connections == 6);
    CHECK(client_port.max_connections == 6);
    CHECK(client_port.refused >= 2);
    CHECK(listener_of(*steady, "rpc").refused == 1);
    CHECK(client_port.accept_failures == 0);

    // One closes: the next connection is taken again.
    ::close(held.back());
    held.pop_back();
    CHECK(cpp_client_works(node.endpoint(), "after", milliseconds(1000)) < milliseconds(1000));
    close_all(held);
    CHECK(node.stop() == 0);
}
