// The node's metrics port (issue 19): /metrics in Prometheus's text format, /health, /ready,
// over a real TCP connection to a real node process.

#include "tests/system/rpc_support.hpp"
#include "tests/system/system_support.hpp"
#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

using namespace pravaha;

using test::http_get;

TEST_CASE("a node serves its metrics, health and readiness on the metrics port",
          "[system][metrics]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    auto metrics_port = test::free_port();
    node.add_args({"--metrics-port", std::to_string(metrics_port), "--metrics-per-stream"});
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
    // Read back: the bytes handed to readers count, per container and (--metrics-per-stream)
    // per stream, whose name pravaha_stream_info gives for its uid.
    size_t read_events = 0;
    auto reader = client->create_reader("s", "t", client::start_position::head);
    REQUIRE(reader);
    while (read_events < 100) {
        auto ev = (*reader)->read_next(std::chrono::seconds(5));
        REQUIRE(ev);
        REQUIRE(*ev);
        ++read_events;
    }
    auto sample = [&](const std::string& series) {
        auto text = http_get(metrics_port, "/metrics").body;
        auto at = text.find("\n" + series + " ");
        return at == std::string::npos
                   ? -1.0
                   : std::stod(text.substr(at + series.size() + 2,
                                           text.find('\n', at + 1) - at - series.size() - 2));
    };
    auto text = http_get(metrics_port, "/metrics").body;
    auto info = text.find("pravaha_stream_info{stream=\"s/t\",stream_uid=\"");
    REQUIRE(info != std::string::npos);
    auto uid_at = text.find("stream_uid=\"", info) + 12;
    auto uid = text.substr(uid_at, text.find('"', uid_at) - uid_at);
    CHECK(sample("pravaha_stream_appended_events_total{stream_uid=\"" + uid + "\"}") == 100);
    // 100 events of 5 bytes, each with its 8-byte header.
    CHECK(sample("pravaha_stream_read_bytes_total{stream_uid=\"" + uid + "\"}") == 100 * 13);
    CHECK(sample("pravaha_read_bytes_total{container=\"0\"}") == 100 * 13);
    // A reader group over the stream from its head, no reader yet: all of it unread, once the
    // controller refreshed it (every 5 s); gone with the group.
    group_config gcfg;
    gcfg.streams.push_back({"s", "t", {}, {}});
    REQUIRE(client->groups().create_group("s", "g", gcfg));
    const std::string unread = "pravaha_reader_group_unread_bytes{group=\"s/g\"}";
    CHECK(test::eventually([&] { return sample(unread) == 100 * 13; }, std::chrono::seconds(15)));
    CHECK(sample("pravaha_reader_group_readers{group=\"s/g\"}") == 0);
    REQUIRE(!client->groups().delete_group("s", "g"));
    CHECK(test::eventually([&] { return sample(unread) == -1; }, std::chrono::seconds(5)));

    // RPC calls are counted by method and result.
    {
        auto io = kj::setupAsyncIo();
        test::rpc_client rpc(io, node.rpc_port());
        CHECK(rpc.create_scope("r") == "");
        CHECK(rpc.create_scope("r") == "scope_exists");
    }

    auto m = http_get(metrics_port, "/metrics");
    REQUIRE(m.status == 200);
    for (const char* result : {"ok", "scope_exists"}) {
        INFO(result);
        CHECK(m.body.find("pravaha_rpc_calls_total{method=\"StreamManager.createScope\",result=\"" +
                          std::string(result) + "\"} 1\n") != std::string::npos);
    }
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
            // A histogram's samples: its family's name with _bucket, _sum or _count.
            for (const char* suffix : {"_bucket", "_sum", "_count"}) {
                auto n = std::string(suffix).size();
                if (types.count(name) == 0 && name.size() > n &&
                    name.compare(name.size() - n, n, suffix) == 0) {
                    name.resize(name.size() - n);
                }
            }
            INFO(line);
            CHECK(types.count(name) == 1);
        }
    }
    for (const auto& [name, n] : types) {
        CHECK(n == 1);
    }

    for (const char* family :
         {"# TYPE pravaha_append_latency_seconds histogram",
          "# TYPE pravaha_store_sync_seconds histogram", "# TYPE pravaha_commit_events histogram",
          "pravaha_connections{port=\"client\"} ", "pravaha_streams 1", "pravaha_active_segments 2",
          "pravaha_rocksdb_memtable_bytes "}) {
        CHECK(m.body.find(family) != std::string::npos);
    }
    // Prometheus's own linter accepts the scrape.
    test::temp_dir scratch;
    auto scrape = scratch.path() + "/scrape.txt";
    {
        std::ofstream f(scrape);
        f << m.body;
    }
    std::string lint;
    auto lint_code = test::run_command("promtool check metrics < " + scrape + " 2>&1", lint);
    INFO(lint);
    CHECK(lint_code == 0);
    CHECK(lint.empty());

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
