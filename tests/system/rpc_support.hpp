#pragma once
// A Cap'n Proto RPC client of a real node, for the system tests that act as another language.

#include "schema/pravaha.capnp.h"

#include <capnp/rpc-twoparty.h>
#include <catch2/catch.hpp>
#include <kj/async-io.h>

#include <cstdint>
#include <string>

namespace pravaha::test {

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

    std::string create_stream(const std::string& scope,
                              const std::string& name,
                              uint32_t segments) {
        auto req = manager.createStreamRequest();
        req.setScope(scope);
        req.setStream(name);
        req.setSegments(segments);
        return error_of(req.send().wait(io.waitScope));
    }
};

}  // namespace pravaha::test
