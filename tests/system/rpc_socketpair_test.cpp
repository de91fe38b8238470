// The RPC gateway in-process, reached by Cap'n Proto's two-party client over socket pairs (no TCP):
// a standalone node's real actors on RocksDB, the gateway's kj thread, and the client's own kj
// loop on the test thread.

#include "actors/actors.hpp"
#include "runtime/gateway.hpp"
#include "runtime/transport/transport.hpp"
#include "schema/pravaha.capnp.h"
#include "storage/storage.hpp"

#include "tests/support/temp_dir.hpp"
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <capnp/rpc-twoparty.h>
#include <catch2/catch.hpp>
#include <kj/async-io.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <string>

using namespace pravaha;

namespace {

// A node's core actors, its published endpoint and its gateway, all in this process.
struct in_process_node {
    test::temp_dir dir;
    std::unique_ptr<storage::log_store> store;
    std::unique_ptr<caf::actor_system_config> cfg;
    std::unique_ptr<caf::actor_system> sys;
    actors::node_actors node;
    std::unique_ptr<runtime::gateway> gateway;

    in_process_node() {
        auto s = storage::open_rocksdb({dir.path() + "/db"});
        REQUIRE(s);
        store = std::move(*s);
        cfg = transport::make_config({});
        sys = std::make_unique<caf::actor_system>(*cfg);
        actors::node_config ncfg;
        ncfg.store = store.get();
        ncfg.wall_clock_ms = [] { return int64_t{0}; };
        // On the scheduler: CAF 0.17.6's ~actor_system can wait forever for detached threads.
        ncfg.detached = false;
        auto n = actors::spawn_node(*sys, ncfg);
        REQUIRE(n);
        node = *n;
        auto port = transport::publish_node(*sys, node.endpoint, 0, "127.0.0.1");
        REQUIRE(port);
        runtime::gateway_config gcfg;
        gcfg.port = 0;
        gcfg.node_port = *port;
        auto gw = runtime::gateway::start(*sys, node.endpoint, gcfg);
        REQUIRE(gw);
        gateway = std::move(*gw);
    }

    ~in_process_node() {
        gateway->stop();
        caf::anon_send_exit(node.endpoint, caf::exit_reason::user_shutdown);
        caf::anon_send_exit(node.controller, caf::exit_reason::user_shutdown);
        for (const auto& c : node.containers) {
            caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
        }
        sys.reset();
    }

    // A connected socket pair: one end served by the gateway, the other returned.
    int connect_pair() {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
        REQUIRE_FALSE(gateway->accept(fds[0]));
        return fds[1];
    }
};

struct pair_client {
    kj::Own<kj::AsyncIoStream> stream;
    kj::Own<capnp::TwoPartyClient> client;
    rpc::Pravaha::Client boot{nullptr};

    pair_client(kj::AsyncIoContext& io, int fd)
        : stream(
              io.lowLevelProvider->wrapSocketFd(fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP)),
          client(kj::heap<capnp::TwoPartyClient>(*stream)),
          boot(client->bootstrap().castAs<rpc::Pravaha>()) {}
};

std::string error_name(rpc::Error::Reader e) {
    return e.getCode() == 0 ? "" : e.getName().cStr();
}

}  // namespace

TEST_CASE("the gateway serves Cap'n Proto clients over socket pairs", "[rpc][gateway]") {
    in_process_node node;
    auto io = kj::setupAsyncIo();
    auto& ws = io.waitScope;
    pair_client c(io, node.connect_pair());
    auto manager = c.boot.streamManagerRequest().send().getManager();  // pipelined
    {
        auto req = manager.createScopeRequest();
        req.setScope("pair");
        REQUIRE(error_name(req.send().wait(ws).getError()) == "");
        auto again = manager.createScopeRequest();
        again.setScope("pair");
        CHECK(error_name(again.send().wait(ws).getError()) == "scope_exists");
        auto stream = manager.createStreamRequest();
        stream.setScope("pair");
        stream.setStream("s");
        stream.setSegments(2);
        REQUIRE(error_name(stream.send().wait(ws).getError()) == "");
    }

    auto open = c.boot.openWriterRequest();
    open.setScope("pair");
    open.setStream("s");
    open.setWriterId("pair-writer");
    auto opened = open.send().wait(ws);
    REQUIRE(error_name(opened.getError()) == "");
    auto writer = opened.getWriter();
    for (int b = 0; b < 10; ++b) {
        auto req = writer.writeRequest();
        auto list = req.initEvents(100);
        for (unsigned i = 0; i < 100; ++i) {
            auto text = std::to_string(b * 100 + static_cast<int>(i));
            list[i].setRoutingKey("k" + std::to_string(i % 5));
            list[i].setPayload(
                kj::arrayPtr(reinterpret_cast<const kj::byte*>(text.data()), text.size()));
        }
        auto r = req.send().wait(ws);
        REQUIRE(error_name(r.getError()) == "");
        CHECK(r.getFirstEventNumber() == b * 100);
    }

    // A second pair that breaks off in the middle of a call does not disturb the first.
    {
        int fd = node.connect_pair();
        pair_client gone(io, fd);
        auto req = gone.boot.streamManagerRequest().send().getManager().listScopesRequest();
        auto pending = req.send();
        io.provider->getTimer().afterDelay(5 * kj::MILLISECONDS).wait(ws);
    }

    auto reader_req = c.boot.openReaderRequest();
    reader_req.setScope("pair");
    reader_req.setStream("s");
    auto reader = reader_req.send().wait(ws).getReader();
    std::set<std::string> seen;
    for (;;) {
        auto next = reader.nextRequest();
        next.setMaxEvents(300);
        next.setTimeoutMs(0);
        auto got = next.send().wait(ws);
        REQUIRE(error_name(got.getError()) == "");
        if (got.getEvents().size() == 0) {
            break;
        }
        for (auto e : got.getEvents()) {
            std::string text(reinterpret_cast<const char*>(e.getPayload().begin()),
                             e.getPayload().size());
            REQUIRE(seen.insert(text).second);
        }
    }
    CHECK(seen.size() == 1000);

    // Stopped, the gateway refuses new sockets with an error instead of hanging.
    node.gateway->stop();
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    CHECK(node.gateway->accept(fds[0]));
    ::close(fds[1]);
}
