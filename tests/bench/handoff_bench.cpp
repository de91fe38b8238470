// pravaha-handoff-bench: what one thread hand-off and one loopback round trip cost on this
// machine, without any of Pravaha's code. The floor under pravaha-bench's one-writer latency:
// every append crosses threads (client worker and I/O thread, node I/O thread and container),
// and a run-to-completion design would keep only the network's two (issue 18).
//
// usage: pravaha-handoff-bench DIR [rounds] [bytes]
// Prints one JSON object with p50/p99 in microseconds of, interleaved in blocks of 100 rounds:
//   cv_round_trip    two threads passing a turn back and forth (mutex + condition variable)
//   pipe_round_trip  the same through two pipes (blocking read and write)
//   tcp_round_trip   a request of `bytes` and a 16-byte answer over loopback TCP between two
//                    threads, each blocking in recv (one thread per side: nothing handed on)
//   tcp_fsync_round_trip  the same, the server appending the request to a file in DIR and
//                    fdatasync-ing it before it answers (a run-to-completion durable append)
//   fdatasync        the server's append and fdatasync alone (inside the previous)

#include "tests/bench/bench_util.hpp"
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using pravaha::bench_util::bench_clock;
using pravaha::bench_util::micros;
using pravaha::bench_util::pct;

namespace {

[[noreturn]] void die(const char* what) {
    std::perror(what);
    ::_exit(1);  // threads may still run: no exit handlers
}

// Moves `n` bytes with `step(done, left)` (a read or write returning what it moved).
template <class Step>
bool all(size_t n, Step step) {
    size_t done = 0;
    while (done < n) {
        auto r = step(done, n - done);
        if (r <= 0) {
            return false;
        }
        done += static_cast<size_t>(r);
    }
    return true;
}

bool read_all(int fd, char* p, size_t n) {
    return all(n, [&](size_t done, size_t left) { return ::read(fd, p + done, left); });
}

bool write_all(int fd, const char* p, size_t n) {
    return all(n, [&](size_t done, size_t left) { return ::write(fd, p + done, left); });
}

// Two threads handing a turn to each other through a mutex and a condition variable.
struct cv_pair {
    std::mutex m;
    std::condition_variable cv;
    int turn = 0;  // 0: the main thread's, 1: the peer's, 2: stop
    std::thread peer;

    cv_pair() {
        peer = std::thread([this] {
            std::unique_lock<std::mutex> lock(m);
            for (;;) {
                cv.wait(lock, [this] { return turn != 0; });
                if (turn == 2) {
                    return;
                }
                turn = 0;
                cv.notify_all();
            }
        });
    }
    double round_trip() {
        auto t0 = bench_clock::now();
        std::unique_lock<std::mutex> lock(m);
        turn = 1;
        cv.notify_all();
        cv.wait(lock, [this] { return turn == 0; });
        return micros(t0);
    }
    ~cv_pair() {
        {
            std::lock_guard<std::mutex> lock(m);
            turn = 2;
        }
        cv.notify_all();
        peer.join();
    }
};

// The same through two pipes.
struct pipe_pair {
    int there[2] = {-1, -1};
    int back[2] = {-1, -1};
    std::thread peer;

    pipe_pair() {
        if (::pipe(there) != 0 || ::pipe(back) != 0) {
            die("pipe");
        }
        peer = std::thread([this] {
            char c = 0;
            while (read_all(there[0], &c, 1) && c != 'q') {
                write_all(back[1], &c, 1);
            }
        });
    }
    double round_trip() {
        auto t0 = bench_clock::now();
        char c = 'x';
        if (!write_all(there[1], &c, 1) || !read_all(back[0], &c, 1)) {
            die("pipe round trip");
        }
        return micros(t0);
    }
    ~pipe_pair() {
        char q = 'q';
        write_all(there[1], &q, 1);
        peer.join();
        for (int fd : {there[0], there[1], back[0], back[1]}) {
            ::close(fd);
        }
    }
};

// A loopback TCP connection to a server thread that answers each request of `bytes` with 16
// bytes, appending the request to `log` and fdatasync-ing it first when `durable` is set.
struct tcp_pair {
    int client = -1;
    int listener = -1;
    size_t bytes;
    int log = -1;
    std::vector<double> syncs;
    std::thread server;

    tcp_pair(size_t n, const std::string& log_path) : bytes(n) {
        listener = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        socklen_t len = sizeof(a);
        if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
            ::listen(listener, 1) != 0 ||
            ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            die("listen on 127.0.0.1");
        }
        log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
        if (log < 0) {
            die("open the log file");
        }
        server = std::thread([this] {
            int s = ::accept(listener, nullptr, nullptr);
            int one = 1;
            ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            std::string req(bytes + 1, '\0');
            char answer[16] = {};
            while (read_all(s, req.data(), req.size())) {
                if (req[0] == 'q') {
                    break;
                }
                if (req[0] == 'd') {
                    auto t0 = bench_clock::now();
                    if (!write_all(log, req.data() + 1, bytes) || ::fdatasync(log) != 0) {
                        die("append and fdatasync");
                    }
                    syncs.push_back(micros(t0));
                }
                write_all(s, answer, sizeof(answer));
            }
            ::close(s);
        });
        client = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
            die("connect to 127.0.0.1");
        }
    }
    double round_trip(bool durable) {
        std::string req(bytes + 1, 'x');
        req[0] = durable ? 'd' : 'r';
        char answer[16];
        auto t0 = bench_clock::now();
        if (!write_all(client, req.data(), req.size()) ||
            !read_all(client, answer, sizeof(answer))) {
            die("tcp round trip");
        }
        return micros(t0);
    }
    ~tcp_pair() {
        std::string q(bytes + 1, 'q');
        write_all(client, q.data(), q.size());
        server.join();
        for (int fd : {client, listener, log}) {
            ::close(fd);
        }
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: pravaha-handoff-bench DIR [rounds] [bytes]\n");
        return 2;
    }
    std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    size_t rounds = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 5000;
    size_t bytes = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 100;
    if (rounds == 0 || bytes == 0) {
        std::fprintf(stderr, "pravaha-handoff-bench: rounds and bytes must be positive\n");
        return 2;
    }
    std::vector<double> cv;
    std::vector<double> pipe;
    std::vector<double> tcp;
    std::vector<double> tcp_fsync;
    {
        cv_pair c;
        pipe_pair p;
        tcp_pair t(bytes, (dir / "handoff.log").string());
        for (size_t done = 0; done < rounds; done += 100) {
            for (size_t i = 0; i < 100; ++i) {
                cv.push_back(c.round_trip());
            }
            for (size_t i = 0; i < 100; ++i) {
                pipe.push_back(p.round_trip());
            }
            for (size_t i = 0; i < 100; ++i) {
                tcp.push_back(t.round_trip(false));
            }
            for (size_t i = 0; i < 100; ++i) {
                tcp_fsync.push_back(t.round_trip(true));
            }
        }
        std::string out;
        auto field = [&](const char* name, const std::vector<double>& v) {
            char buf[160];
            std::snprintf(buf, sizeof(buf), "%s\"%s\": {\"p50\": %.1f, \"p99\": %.1f}",
                          out.empty() ? "" : ", ", name, pct(v, 50), pct(v, 99));
            out += buf;
        };
        field("cv_round_trip_us", cv);
        field("pipe_round_trip_us", pipe);
        field("tcp_round_trip_us", tcp);
        field("tcp_fsync_round_trip_us", tcp_fsync);
        // The server thread is blocked in recv here: it pushed each sample before its answer,
        // and the client read every answer (the socket orders the two threads).
        field("fdatasync_us", t.syncs);
        std::printf("{\"rounds\": %zu, \"bytes\": %zu, %s}\n", cv.size(), bytes, out.c_str());
    }
    std::filesystem::remove(dir / "handoff.log");
    return 0;
}
