// A real Prometheus (Debian's `prometheus`) scrapes a 3-node cluster's metrics ports (issue 19):
// every target up, the append counter rises after writes, the append latency's 99th percentile
// is a number, and the groups without a leader rise while a majority is down (a controller
// leader and one more node killed with SIGKILL) and fall back to 0 once they return.

#include "tests/system/system_support.hpp"
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <string>

using namespace pravaha;

namespace {

// The Prometheus server, on a loopback port of its own with a temporary data directory;
// stopped (SIGTERM, then SIGKILL) when the test ends.
class prometheus_process {
public:
    prometheus_process(const std::string& dir, const std::vector<uint16_t>& targets)
        : port_(test::free_port()) {
        auto config = dir + "/prometheus.yml";
        std::ofstream f(config);
        f << "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
             "  evaluation_interval: 1s\nscrape_configs:\n  - job_name: pravaha\n"
             "    static_configs:\n      - targets: [";
        for (size_t i = 0; i < targets.size(); ++i) {
            f << (i ? ", " : "") << "'127.0.0.1:" << targets[i] << "'";
        }
        f << "]\n";
        f.close();
        auto listen = "--web.listen-address=127.0.0.1:" + std::to_string(port_);
        auto storage = "--storage.tsdb.path=" + dir + "/tsdb";
        auto config_flag = "--config.file=" + config;
        auto log = dir + "/prometheus.log";
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd >= 0) {
                ::dup2(fd, 1);
                ::dup2(fd, 2);
            }
            ::execlp("prometheus", "prometheus", config_flag.c_str(), storage.c_str(),
                     listen.c_str(), "--log.level=warn", static_cast<char*>(nullptr));
            std::_Exit(127);
        }
    }

    ~prometheus_process() {
        if (pid_ <= 0) {
            return;
        }
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 100; ++i) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }

    prometheus_process(const prometheus_process&) = delete;
    prometheus_process& operator=(const prometheus_process&) = delete;

    // The value of an instant query whose answer is one sample; none while there is none.
    std::optional<double> query(const std::string& promql) const {
        auto a = test::http_get(port_, "/api/v1/query?query=" + url_encode(promql));
        if (a.status != 200) {
            return std::nullopt;
        }
        auto at = a.body.find("\"value\":[");
        if (at == std::string::npos) {
            return std::nullopt;
        }
        auto open = a.body.find('"', a.body.find(',', at));
        auto close = a.body.find('"', open + 1);
        if (open == std::string::npos || close == std::string::npos) {
            return std::nullopt;
        }
        return std::strtod(a.body.substr(open + 1, close - open - 1).c_str(), nullptr);
    }

    // Polls `promql` until `ok` holds for its value (up to `seconds`); the last value.
    std::optional<double> wait_for(const std::string& promql,
                                   const std::function<bool(double)>& ok,
                                   int seconds = 60) const {
        std::optional<double> v;
        for (int i = 0; i < seconds * 5; ++i) {
            v = query(promql);
            if (v && ok(*v)) {
                return v;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        return v;
    }

private:
    static std::string url_encode(const std::string& s) {
        static const char* hex = "0123456789ABCDEF";
        std::string out;
        for (unsigned char c : s) {
            if (std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == '~') {
                out += static_cast<char>(c);
            } else {
                out += '%';
                out += hex[c >> 4];
                out += hex[c & 15];
            }
        }
        return out;
    }

    uint16_t port_;
    pid_t pid_ = -1;
};

}  // namespace

TEST_CASE("Prometheus scrapes a cluster: targets up, appends, latency, groups without a leader",
          "[system][metrics][prometheus]") {
    std::string version;
    REQUIRE(test::run_command("prometheus --version 2>&1", version) == 0);  // apt: prometheus
    std::vector<uint16_t> metrics_ports{test::free_port(), test::free_port(), test::free_port()};
    test::cluster3 c([&](uint32_t id) {
        return std::vector<std::string>{"--metrics-port", std::to_string(metrics_ports[id - 1])};
    });
    test::temp_dir dir;
    prometheus_process prom(dir.path(), metrics_ports);

    auto up = prom.wait_for("sum(up)", [](double v) { return v == 3; });
    REQUIRE(up);
    CHECK(*up == 3);
    auto f = test::connect(c.nodes[0]->endpoint());
    c.create_stream(*f, 2);
    // Every node is ready once every group has a leader it knows.
    for (auto port : metrics_ports) {
        auto ready = test::http_get(port, "/ready");
        for (int i = 0; i < 100 && ready.status != 200; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            ready = test::http_get(port, "/ready");
        }
        CHECK(ready.status == 200);
    }

    // The append counter (counted by each container's leader) rises by what was written.
    auto before = prom.wait_for("sum(pravaha_appended_events_total)", [](double) { return true; });
    REQUIRE(before);
    auto writer = f->create_writer("sys", "events");
    REQUIRE(writer);
    for (int i = 0; i < 200; ++i) {
        REQUIRE(!(*writer)->write("k" + std::to_string(i % 16), "event " + std::to_string(i)));
    }
    REQUIRE(!(*writer)->flush());
    auto after = prom.wait_for("sum(pravaha_appended_events_total)",
                               [&](double v) { return v >= *before + 200; });
    REQUIRE(after);
    CHECK(*after == *before + 200);
    auto p99 = prom.wait_for(
        "histogram_quantile(0.99, sum(rate(pravaha_append_latency_seconds_bucket[10s])) by (le))",
        [](double v) { return std::isfinite(v) && v > 0; });
    REQUIRE(p99);
    CHECK(std::isfinite(*p99));
    CHECK(*p99 > 0);
    auto none =
        prom.wait_for("max(pravaha_raft_groups_without_leader)", [](double v) { return v == 0; });
    REQUIRE(none);
    CHECK(*none == 0);

    // The node leading the controller and one more killed: the survivor's groups lose their
    // leaders (no majority), and its metrics say so; they come back with the nodes.
    size_t leader = 0;
    for (size_t i = 0; i < 3; ++i) {
        auto a = test::http_get(metrics_ports[i], "/metrics");
        if (a.body.find("pravaha_raft_leader{group=\"0\"} 1\n") != std::string::npos) {
            leader = i;
        }
    }
    auto other = (leader + 1) % 3;
    auto survivor = (leader + 2) % 3;
    c.nodes[leader]->kill_hard();
    c.nodes[other]->kill_hard();
    auto survivor_instance = "127.0.0.1:" + std::to_string(metrics_ports[survivor]);
    auto lost = prom.wait_for(
        "max(pravaha_raft_groups_without_leader{instance=\"" + survivor_instance + "\"})",
        [](double v) { return v == 3; });  // the controller and both containers
    REQUIRE(lost);
    CHECK(*lost == 3);
    CHECK(test::http_get(metrics_ports[survivor], "/ready").status == 503);
    REQUIRE(c.nodes[leader]->start());
    REQUIRE(c.nodes[other]->start());
    auto back = prom.wait_for("max(pravaha_raft_groups_without_leader) + (3 - sum(up))",
                              [](double v) { return v == 0; });
    REQUIRE(back);
    CHECK(*back == 0);
    auto changes = prom.query("sum(pravaha_raft_leader_changes_total)");
    REQUIRE(changes);
    CHECK(*changes > 0);
    // Prometheus's linter accepts a cluster node's scrape too.
    auto scrape = dir.path() + "/scrape.txt";
    {
        std::ofstream out(scrape);
        out << test::http_get(metrics_ports[survivor], "/metrics").body;
    }
    std::string lint;
    auto lint_code = test::run_command("promtool check metrics < " + scrape + " 2>&1", lint);
    INFO(lint);
    CHECK(lint_code == 0);
    CHECK(lint.empty());
}
