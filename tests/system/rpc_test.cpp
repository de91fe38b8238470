// The Cap'n Proto RPC gateway of a real pravaha-node, driven with Cap'n Proto's own C++ client
// over TCP, as a client in another language would.

#include "schema/pravaha.capnp.h"

#include "tests/support/node_process.hpp"
#include "tests/support/temp_dir.hpp"
#include <capnp/rpc-twoparty.h>
#include <catch2/catch.hpp>
#include <kj/async-io.h>
#include <kj/vector.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace pravaha;

namespace {

// One connection; all of a test's connections share its thread's one kj event loop.
struct rpc_client {
    kj::AsyncIoContext& io;
    kj::Own<kj::AsyncIoStream> stream;
    kj::Own<capnp::TwoPartyClient> client;
    rpc::StreamManager::Client manager{nullptr};

    rpc_client(kj::AsyncIoContext& context, uint16_t port) : io(context) {
        auto addr = io.provider->getNetwork().parseAddress("127.0.0.1", port).wait(io.waitScope);
        stream = addr->connect().wait(io.waitScope);
        client = kj::heap<capnp::TwoPartyClient>(*stream);
        auto boot = client->bootstrap().castAs<rpc::Pravaha>();
        manager = boot.streamManagerRequest().send().wait(io.waitScope).getManager();
    }

    // The error of a result as "name" ("" when there is none), after checking code and name agree.
    template <class Results>
    static std::string error_of(const Results& r) {
        if (!r.hasError() || r.getError().getCode() == 0) {
            return "";
        }
        auto e = r.getError();
        CHECK(std::string(e.getName().cStr()).size() > 0);
        CHECK(std::string(e.getMessage().cStr()).size() > 0);
        return e.getName().cStr();
    }

    std::string create_scope(const std::string& scope) {
        auto req = manager.createScopeRequest();
        req.setScope(scope);
        return error_of(req.send().wait(io.waitScope));
    }
};

}  // namespace

TEST_CASE("the RPC gateway manages scopes and streams with documented errors", "[system][rpc]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    auto io = kj::setupAsyncIo();
    rpc_client c(io, node.rpc_port());
    auto& ws = io.waitScope;

    CHECK(c.create_scope("rpc") == "");
    CHECK(c.create_scope("rpc") == "scope_exists");
    CHECK(c.create_scope("bad name!") == "invalid_name");

    auto create = c.manager.createStreamRequest();
    create.setScope("rpc");
    create.setStream("events");
    create.setSegments(3);
    auto created = create.send().wait(ws);
    REQUIRE(rpc_client::error_of(created) == "");
    CHECK(created.getInfo().getSegmentInfos().size() == 3);
    CHECK(created.getInfo().getSegmentInfos()[0].getKeyStart() == 0.0);
    CHECK(created.getInfo().getSegmentInfos()[2].getKeyEnd() == 1.0);

    auto list = c.manager.listStreamsRequest();
    list.setScope("rpc");
    auto listed = list.send().wait(ws);
    REQUIRE(rpc_client::error_of(listed) == "");
    REQUIRE(listed.getStreams().size() == 1);
    CHECK(std::string(listed.getStreams()[0].cStr()) == "events");

    auto info = c.manager.streamInfoRequest();
    info.setScope("rpc");
    info.setStream("events");
    auto got = info.send().wait(ws);
    REQUIRE(rpc_client::error_of(got) == "");
    CHECK(std::string(got.getInfo().getName().cStr()) == "events");
    CHECK(got.getInfo().getSegmentInfos().size() == 3);
    CHECK_FALSE(got.getInfo().getSealed());

    auto missing = c.manager.streamInfoRequest();
    missing.setScope("rpc");
    missing.setStream("nope");
    auto not_found = missing.send().wait(ws);
    CHECK(rpc_client::error_of(not_found) == "stream_not_found");
    CHECK(not_found.getError().getCode() == 7);

    auto del = c.manager.deleteStreamRequest();
    del.setScope("rpc");
    del.setStream("events");
    CHECK(rpc_client::error_of(del.send().wait(ws)) == "stream_not_sealed");
    auto seal = c.manager.sealStreamRequest();
    seal.setScope("rpc");
    seal.setStream("events");
    CHECK(rpc_client::error_of(seal.send().wait(ws)) == "");
    auto del_sealed = c.manager.deleteStreamRequest();  // a request is sent once
    del_sealed.setScope("rpc");
    del_sealed.setStream("events");
    CHECK(rpc_client::error_of(del_sealed.send().wait(ws)) == "");

    auto scopes = c.manager.listScopesRequest().send().wait(ws);
    REQUIRE(scopes.getScopes().size() == 1);
    CHECK(std::string(scopes.getScopes()[0].cStr()) == "rpc");
}

TEST_CASE("garbage and vanished clients on the RPC port disturb nobody else", "[system][rpc]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    auto io = kj::setupAsyncIo();
    rpc_client steady(io, node.rpc_port());
    REQUIRE(steady.create_scope("before") == "");

    // A frame header announcing a huge message, then random bytes; a client that connects and
    // leaves in the middle of a call.
    std::string garbage("\x00\x00\x00\x00\xff\xff\xff\x7f", 8);
    for (int i = 0; i < 4096; ++i) {
        garbage.push_back(static_cast<char>((i * 131 + 7) % 251));
    }
    REQUIRE(test::send_raw(node.rpc_port(), garbage));
    REQUIRE(test::send_raw(node.rpc_port(), std::string(3, '\x01')));
    {
        rpc_client leaving(io, node.rpc_port());
        auto req = leaving.manager.createScopeRequest();
        req.setScope("abandoned");
        auto pending = req.send();  // dropped with the connection, never awaited
    }

    // The earlier connection and new ones keep working; stored data is intact.
    CHECK(steady.create_scope("after") == "");
    rpc_client fresh(io, node.rpc_port());
    auto scopes = fresh.manager.listScopesRequest().send().wait(io.waitScope);
    std::vector<std::string> names;
    for (auto s : scopes.getScopes()) {
        names.emplace_back(s.cStr());
    }
    CHECK(std::find(names.begin(), names.end(), "before") != names.end());
    CHECK(std::find(names.begin(), names.end(), "after") != names.end());
    CHECK(node.running());
}

TEST_CASE("RPC writers and a reader move 10000 events exactly once in per-key order",
          "[system][rpc]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    auto io = kj::setupAsyncIo();
    auto& ws = io.waitScope;
    rpc_client c(io, node.rpc_port());
    REQUIRE(c.create_scope("rpc") == "");
    auto create = c.manager.createStreamRequest();
    create.setScope("rpc");
    create.setStream("flow");
    create.setSegments(4);
    REQUIRE(rpc_client::error_of(create.send().wait(ws)) == "");
    auto boot = c.client->bootstrap().castAs<rpc::Pravaha>();

    // Bad input first: an unknown stream, an oversized event.
    auto bad = boot.openWriterRequest();
    bad.setScope("rpc");
    bad.setStream("nope");
    CHECK(rpc_client::error_of(bad.send().wait(ws)) == "stream_not_found");

    constexpr int writers = 2;
    constexpr int per_writer = 5000;
    constexpr int keys = 20;
    std::vector<rpc::EventWriter::Client> ws_clients;
    for (int w = 0; w < writers; ++w) {
        auto open = boot.openWriterRequest();
        open.setScope("rpc");
        open.setStream("flow");
        open.setWriterId("writer-" + std::to_string(w));
        auto opened = open.send().wait(ws);
        REQUIRE(rpc_client::error_of(opened) == "");
        ws_clients.push_back(opened.getWriter());
    }
    {
        auto big = ws_clients[0].writeRequest();
        auto list = big.initEvents(1);
        list[0].setRoutingKey("k");
        list[0].initPayload(8 * 1024 * 1024 + 1);
        CHECK(rpc_client::error_of(big.send().wait(ws)) == "event_too_large");
    }
    // Both writers write in batches of 100, several calls in flight at once.
    kj::Vector<kj::Promise<void>> calls;
    for (int w = 0; w < writers; ++w) {
        for (int b = 0; b < per_writer / 100; ++b) {
            auto req = ws_clients[w].writeRequest();
            auto list = req.initEvents(100);
            for (int i = 0; i < 100; ++i) {
                int seq = b * 100 + i;
                auto text = std::to_string(w) + ":" + std::to_string(seq);
                list[i].setRoutingKey("key-" + std::to_string(seq % keys));
                list[i].setPayload(
                    kj::arrayPtr(reinterpret_cast<const kj::byte*>(text.data()), text.size()));
            }
            calls.add(req.send().then([b](auto r) {
                CHECK(rpc_client::error_of(r) == "");
                CHECK(r.getCount() == 100);
                CHECK(r.getFirstEventNumber() == b * 100);
            }));
        }
    }
    kj::joinPromises(calls.releaseAsArray()).wait(ws);

    auto open_reader = boot.openReaderRequest();
    open_reader.setScope("rpc");
    open_reader.setStream("flow");
    auto opened = open_reader.send().wait(ws);
    REQUIRE(rpc_client::error_of(opened) == "");
    auto reader = opened.getReader();
    std::map<std::pair<int, int>, int> last;  // (writer, key) -> last seq
    std::set<std::pair<int, int>> seen;
    for (;;) {
        auto next = reader.nextRequest();
        next.setMaxEvents(1000);
        next.setTimeoutMs(0);
        auto got = next.send().wait(ws);
        REQUIRE(rpc_client::error_of(got) == "");
        if (got.getEvents().size() == 0) {
            break;  // caught up
        }
        for (auto e : got.getEvents()) {
            std::string text(reinterpret_cast<const char*>(e.getPayload().begin()),
                             e.getPayload().size());
            auto colon = text.find(':');
            int w = std::stoi(text.substr(0, colon));
            int seq = std::stoi(text.substr(colon + 1));
            REQUIRE(seen.insert({w, seq}).second);  // exactly once
            auto key = std::make_pair(w, seq % keys);
            auto it = last.find(key);
            if (it != last.end()) {
                REQUIRE(it->second < seq);  // per-key order
            }
            last[key] = seq;
        }
    }
    CHECK(seen.size() == writers * per_writer);
}
