// transport::out_buffer (runtime/transport/out_buffer.hpp) over a real socket pair: what a slow
// reader gets is every byte once and in order across partial sends and the buffer's compaction;
// a broken peer is reported.

#include "runtime/transport/out_buffer.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

using pravaha::transport::out_buffer;

namespace {

struct socket_pair {
    int fd[2] = {-1, -1};
    socket_pair() {
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fd) == 0);
        int small = 16 * 1024;
        ::setsockopt(fd[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        ::fcntl(fd[1], F_SETFL, ::fcntl(fd[1], F_GETFL) | O_NONBLOCK);
    }
    ~socket_pair() {
        for (int f : fd) {
            if (f >= 0) {
                ::close(f);
            }
        }
    }
    socket_pair(const socket_pair&) = delete;
    socket_pair& operator=(const socket_pair&) = delete;

    // Reads at most `n` bytes that arrived (none if nothing did).
    std::string read_some(size_t n) const {
        std::string buf(n, '\0');
        auto got = ::recv(fd[1], buf.data(), n, 0);
        buf.resize(got > 0 ? static_cast<size_t>(got) : 0);
        return buf;
    }
};

std::string pattern(size_t n, size_t from) {
    std::string s;
    s.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        s.push_back(static_cast<char>('a' + (from + i) % 23));
    }
    return s;
}

}  // namespace

TEST_CASE("an out buffer hands a slow reader every byte once and in order", "[transport]") {
    socket_pair p;
    out_buffer out;
    constexpr size_t total = 3u << 20;
    std::string want = pattern(total, 0);
    // Appended in pieces while sending, as containers queue answers between sends.
    size_t appended = 0;
    std::string got;
    int rounds = 0;
    while (got.size() < total) {
        REQUIRE(++rounds < 100000);
        if (appended < total) {
            size_t piece = std::min<size_t>(100 * 1024 + 7, total - appended);
            out.append(std::string_view(want).substr(appended, piece));
            appended += piece;
        }
        REQUIRE(out.send_to(p.fd[0]));
        CHECK(out.waiting() <= appended - got.size());
        got += p.read_some(37 * 1024);  // reads less than is sent: the buffer keeps a backlog
    }
    CHECK(out.waiting() == 0);
    CHECK(got.size() == total);
    CHECK(got == want);
}

TEST_CASE("an out buffer reports a peer that is gone", "[transport]") {
    socket_pair p;
    out_buffer out;
    out.append(pattern(1024, 0));
    REQUIRE(out.send_to(p.fd[0]));
    CHECK(out.waiting() == 0);
    ::close(p.fd[1]);
    p.fd[1] = -1;
    out.append(pattern(1024, 1024));
    CHECK_FALSE(out.send_to(p.fd[0]));
    CHECK(out.waiting() == 1024);  // kept: the caller drops it or lets its reader find the break
    out.clear();
    CHECK(out.waiting() == 0);
}
