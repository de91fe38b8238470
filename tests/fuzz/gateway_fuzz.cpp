// libFuzzer target: each input is everything a client sends on one connection to the RPC gateway
// of a real in-process node (its actors on RocksDB). The gateway must decode it or end that
// connection with an error: no crash, no sanitizer report, and no connection kept open once the
// client has finished sending (a stalled or leaked connection traps).
//
// `pravaha-gateway-fuzz -make_seeds=DIR` writes seed inputs: the bytes Cap'n Proto's own client
// sends for typical sessions (scopes and streams, a writer's batches, a reader's next).

#include "schema/pravaha.capnp.h"

#include "tests/fuzz/make_seeds.hpp"
#include "tests/support/in_process_node.hpp"
#include <capnp/rpc-twoparty.h>
#include <fcntl.h>
#include <kj/async-io.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace pravaha;

namespace {

std::unique_ptr<test::in_process_node> node;

constexpr int stall_ms = 10000;

// Waits for `events` on fd; traps when the gateway does not move within stall_ms.
void wait_for(int fd, short events, const char* what) {
    pollfd p{fd, events, 0};
    int n = 0;
    do {
        n = ::poll(&p, 1, stall_ms);
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
        std::fprintf(stderr, "gateway stalled: %s\n", what);
        __builtin_trap();
    }
}

// Reads what the client end received until the gateway has nothing more to send right now.
std::string drain(int fd) {
    std::string out;
    char buf[65536];
    for (;;) {
        auto n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) {
            return out;
        }
        out.append(buf, static_cast<size_t>(n));
    }
}

// One seed: what the client sends for `session`, captured at the raw end of a socket pair.
void make_seed(
    kj::AsyncIoContext& io,
    const std::string& path,
    const std::function<void(rpc::Pravaha::Client&, kj::Vector<kj::Promise<void>>&)>& session) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        std::abort();
    }
    {
        auto stream =
            io.lowLevelProvider->wrapSocketFd(fds[0], kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
        capnp::TwoPartyClient client(*stream);
        auto boot = client.bootstrap().castAs<rpc::Pravaha>();
        kj::Vector<kj::Promise<void>> calls;
        session(boot, calls);
        io.provider->getTimer().afterDelay(50 * kj::MILLISECONDS).wait(io.waitScope);
    }
    std::ofstream(path, std::ios::binary) << drain(fds[1]);
    ::close(fds[1]);
}

template <class Request>
void send(Request& req, kj::Vector<kj::Promise<void>>& calls) {
    calls.add(req.send().ignoreResult().catch_([](kj::Exception&&) {}));
}

void make_seeds(const std::string& dir) {
    auto io = kj::setupAsyncIo();
    make_seed(io, dir + "/manage", [](rpc::Pravaha::Client& boot, auto& calls) {
        auto m = boot.streamManagerRequest().send().getManager();
        auto scope = m.createScopeRequest();
        scope.setScope("fz");
        send(scope, calls);
        auto stream = m.createStreamRequest();
        stream.setScope("fz");
        stream.setStream("s");
        stream.setSegments(2);
        send(stream, calls);
        auto info = m.streamInfoRequest();
        info.setScope("fz");
        info.setStream("s");
        send(info, calls);
        auto list = m.listStreamsRequest();
        list.setScope("fz");
        send(list, calls);
        auto scopes = m.listScopesRequest();
        send(scopes, calls);
        auto seal = m.sealStreamRequest();
        seal.setScope("fz");
        seal.setStream("s");
        send(seal, calls);
        auto del = m.deleteStreamRequest();
        del.setScope("fz");
        del.setStream("s");
        send(del, calls);
    });
    make_seed(io, dir + "/write", [](rpc::Pravaha::Client& boot, auto& calls) {
        auto m = boot.streamManagerRequest().send().getManager();
        auto scope = m.createScopeRequest();
        scope.setScope("fw");
        send(scope, calls);
        auto stream = m.createStreamRequest();
        stream.setScope("fw");
        stream.setStream("w");
        stream.setSegments(3);
        send(stream, calls);
        auto open = boot.openWriterRequest();
        open.setScope("fw");
        open.setStream("w");
        open.setWriterId("fuzz-writer");
        auto writer = open.send().getWriter();
        for (int b = 0; b < 2; ++b) {
            auto write = writer.writeRequest();
            write.setFirstEventNumber(b == 0 ? -1 : 10);
            auto events = write.initEvents(3);
            for (unsigned i = 0; i < 3; ++i) {
                events[i].setRoutingKey("key" + std::to_string(i));
                std::string payload = "payload " + std::to_string(i);
                events[i].setPayload(kj::arrayPtr(reinterpret_cast<const kj::byte*>(payload.data()),
                                                  payload.size()));
            }
            send(write, calls);
        }
        auto flush = writer.flushRequest();
        send(flush, calls);
    });
    make_seed(io, dir + "/read", [](rpc::Pravaha::Client& boot, auto& calls) {
        auto open = boot.openReaderRequest();
        open.setScope("fw");
        open.setStream("w");
        auto pos = open.initPosition(1);
        pos[0].setSegmentId(1);
        pos[0].setOffset(0);
        auto reader = open.send().getReader();
        auto next = reader.nextRequest();
        next.setMaxEvents(10);
        next.setTimeoutMs(5);
        send(next, calls);
        auto tail = boot.openReaderRequest();
        tail.setScope("fw");
        tail.setStream("w");
        tail.setFromTail(true);
        auto tail_next = tail.send().getReader().nextRequest();
        tail_next.setMaxEvents(1);
        send(tail_next, calls);
    });
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
    test::make_seeds_if_asked(*argc, *argv, make_seeds);
    spdlog::set_level(spdlog::level::err);  // fenced or failing writers are expected here
    node = std::make_unique<test::in_process_node>();
    // libFuzzer ends a finished run with exit(0). The node's threads would still run while static
    // objects are destroyed (CAF 0.17.6's ~actor_system also crashed there, on loggers created
    // after this point), so stop the gateway and leave at once, as pravaha-node does.
    std::atexit([] {
        node->gateway().stop();
        std::fflush(nullptr);
        std::_Exit(0);
    });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    int fd = node->connect_pair();
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    size_t sent = 0;
    while (sent < size) {
        auto n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<size_t>(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            drain(fd);  // answers may fill the other direction
            wait_for(fd, POLLOUT | POLLIN, "it stopped reading a connection");
        } else {
            break;  // the gateway ended the connection (a malformed message): fine
        }
    }
    ::shutdown(fd, SHUT_WR);
    // The client is done: the gateway must answer what it can and close the connection.
    for (;;) {
        wait_for(fd, POLLIN, "it kept a finished connection open");
        char buf[65536];
        auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            break;
        }
    }
    ::close(fd);
    return 0;
}
