// The RPC gateway in-process, reached by Cap'n Proto's two-party client over socket pairs (no TCP):
// a standalone node's real actors on RocksDB, the gateway's kj thread, and the client's own kj
// loop on the test thread.

#include "schema/pravaha.capnp.h"

#include "tests/support/in_process_node.hpp"
#include <capnp/rpc-twoparty.h>
#include <catch2/catch.hpp>
#include <kj/async-io.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <set>
#include <string>

using namespace pravaha;

namespace {

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
    test::in_process_node node;
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

    // A client that cancels its openWriter calls before the answers (the Cap'n Proto client
    // sends Finish when the promise is dropped) leaves no actor behind: each call is dropped as
    // soon as its writer actor exists (opening its session costs an fsync). The gateway's calls
    // are not cancellable (no allowCancellation): they finish, and the unused answer's writer
    // capability is released, which stops the actor.
    auto running_before = node.system().registry().running();
    auto running = [&] { return node.system().registry().running(); };
    auto wait_until = [&](const std::function<bool()>& done) {
        for (int t = 0; t < 3000 && !done(); ++t) {
            io.provider->getTimer().afterDelay(1 * kj::MILLISECONDS).wait(ws);
        }
        return done();
    };
    {
        pair_client canceller(io, node.connect_pair());
        for (int i = 0; i < 10; ++i) {
            auto w = canceller.boot.openWriterRequest();
            w.setScope("pair");
            w.setStream("s");
            w.setWriterId("cancelled-" + std::to_string(i));
            REQUIRE(wait_until([&] { return running() == running_before; }));  // the last is gone
            auto pending = w.send();
            REQUIRE(wait_until([&] { return running() > running_before; }));  // this one exists
        }  // `pending` dropped each time the writer exists: Finish
        CHECK(wait_until([&] { return running() == running_before; }));
    }

    // Stopped, the gateway refuses new sockets with an error instead of hanging.
    node.gateway().stop();
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    CHECK(node.gateway().accept(fds[0]));
    ::close(fds[1]);
}
