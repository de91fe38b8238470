// The node's metrics port (issue 19): /metrics in Prometheus's text format, /health, /ready,
// over a real TCP connection to a real node process.

#include "tests/system/system_support.hpp"
#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <sstream>
#include <string>

using namespace pravaha;

namespace {

struct http_answer {
    int status = 0;
    std::string headers;
    std::string body;
};

// One HTTP/1.1 GET on a connection of its own.
http_answer http_get(uint16_t port, const std::string& path) {
    http_answer a;
    int fd = test::connect_loopback(port);
    if (fd < 0) {
        return a;
    }
    auto request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
    REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size()));
    // Until the body's Content-Length is in (the server keeps the connection for the next
    // request, as Prometheus's scrapes use it).
    std::string all;
    char buf[4096];
    size_t end = std::string::npos;
    size_t length = 0;
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
        all.append(buf, static_cast<size_t>(n));
        if (end == std::string::npos && (end = all.find("\r\n\r\n")) != std::string::npos) {
            auto at = all.find("Content-Length: ");
            REQUIRE(at != std::string::npos);
            length = std::stoul(all.substr(at + 16));
        }
        if (end != std::string::npos && all.size() >= end + 4 + length) {
            break;
        }
    }
    ::close(fd);
    if (all.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) {
        return a;
    }
    a.status = std::stoi(all.substr(9, 3));
    a.headers = all.substr(0, end);
    a.body = all.substr(end + 4);
    return a;
}

}  // namespace

TEST_CASE("a node serves its metrics, health and readiness on the metrics port",
          "[system][metrics]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    auto metrics_port = test::free_port();
    node.add_args({"--metrics-port", std::to_string(metrics_port)});
    REQUIRE(node.start());
    auto client = test::connect(node.endpoint());
    REQUIRE(!client->streams().create_scope("s"));

    // What the node appended shows (container 0 of a standalone node's containers).
    auto appended = [&] {
        auto text = http_get(metrics_port, "/metrics").body;
        double sum = 0;
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("pravaha_appended_events_total{", 0) == 0) {
                sum += std::stod(line.substr(line.rfind(' ') + 1));
            }
        }
        return sum;
    };
    auto before = appended();
    REQUIRE(client->streams().create_stream("s", "t", 2));
    auto writer = client->create_writer("s", "t");
    REQUIRE(writer);
    for (int i = 0; i < 100; ++i) {
        REQUIRE(!(*writer)->write("k" + std::to_string(i % 8), "event"));
    }
    REQUIRE(!(*writer)->flush());
    CHECK(appended() == before + 100);

    auto m = http_get(metrics_port, "/metrics");
    REQUIRE(m.status == 200);
    CHECK(m.headers.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
    CHECK(m.body.find("pravaha_build_info{version=\"") != std::string::npos);
    CHECK(m.body.find("\nprocess_open_fds ") != std::string::npos);
    CHECK(m.body.find("# TYPE process_cpu_seconds_total counter\n") != std::string::npos);
    CHECK(m.body.find("# TYPE pravaha_appended_bytes_total counter\n") != std::string::npos);
    // One TYPE line per family, every sample line of a known family.
    std::map<std::string, int> types;
    std::istringstream lines(m.body);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("# TYPE ", 0) == 0) {
            ++types[line.substr(7, line.find(' ', 7) - 7)];
        } else if (!line.empty() && line[0] != '#') {
            auto name = line.substr(0, line.find_first_of("{ "));
            CHECK(types.count(name) == 1);
        }
    }
    for (const auto& [name, n] : types) {
        CHECK(n == 1);
    }

    CHECK(http_get(metrics_port, "/health").status == 200);
    auto ready = http_get(metrics_port, "/ready");
    CHECK(ready.status == 200);
    CHECK(ready.body == "ready\n");
    CHECK(http_get(metrics_port, "/nothing").status == 404);
    CHECK(node.stop() == 0);
}

TEST_CASE("a node whose chosen metrics port is taken refuses to start and says why",
          "[system][metrics]") {
    test::temp_dir dir;
    auto port = test::free_port();
    test::node_process first(dir.path() + "/a", test::free_port());
    first.add_args({"--metrics-port", std::to_string(port)});
    REQUIRE(first.start());
    std::string out;
    auto code = test::run_command(
        "timeout -s TERM 6 " + std::string(PRAVAHA_NODE_BIN) + " --standalone --data-dir " +
            dir.path() + "/b --port " + std::to_string(test::free_port()) +
            " --rpc-port 0 --metrics-port " + std::to_string(port) + " 2>&1",
        out);
    CHECK(code == 1);
    CHECK(out.find("metrics port cannot listen on 127.0.0.1:" + std::to_string(port)) !=
          std::string::npos);
    CHECK(first.stop() == 0);
}
