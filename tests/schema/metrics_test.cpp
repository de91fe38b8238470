#include "schema/metrics.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <thread>

using namespace pravaha;
using namespace pravaha::metrics;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

size_t count_prefix(const std::string& text, const std::string& prefix) {
    size_t n = 0;
    for (const auto& line : lines_of(text)) {
        n += line.rfind(prefix, 0) == 0 ? 1 : 0;
    }
    return n;
}

}  // namespace

TEST_CASE("metrics: counters render with one HELP and TYPE per family, a line per series",
          "[schema][metrics]") {
    registry r;
    r.counter_of("pravaha_appends_total", "Appends acknowledged.", {{"container", "0"}}).inc(3);
    r.counter_of("pravaha_appends_total", "Appends acknowledged.", {{"container", "1"}}).inc();
    r.counter_of("pravaha_appends_total", "Appends acknowledged.", {{"container", "0"}}).inc(2);
    auto text = r.render();
    CHECK(text ==
          "# HELP pravaha_appends_total Appends acknowledged.\n"
          "# TYPE pravaha_appends_total counter\n"
          "pravaha_appends_total{container=\"0\"} 5\n"
          "pravaha_appends_total{container=\"1\"} 1\n");
}

TEST_CASE("metrics: label values and help texts are escaped", "[schema][metrics]") {
    registry r;
    r.gauge("pravaha_unread_bytes", "Unread bytes\nof a \\ group.", {{"group", "a\"b\\c\nd"}},
            [] { return 7.0; });
    auto text = r.render();
    CHECK(text ==
          "# HELP pravaha_unread_bytes Unread bytes\\nof a \\\\ group.\n"
          "# TYPE pravaha_unread_bytes gauge\n"
          "pravaha_unread_bytes{group=\"a\\\"b\\\\c\\nd\"} 7\n");
}

TEST_CASE("metrics: a histogram's buckets are cumulative and +Inf equals _count",
          "[schema][metrics]") {
    registry r;
    auto& h =
        r.histogram_of("pravaha_append_latency_seconds", "Append latency.", {0.001, 0.01, 0.1});
    for (double v : {0.0005, 0.001, 0.002, 0.05, 0.5, 2.0}) {
        h.observe(v);
    }
    auto text = r.render();
    CHECK(text ==
          "# HELP pravaha_append_latency_seconds Append latency.\n"
          "# TYPE pravaha_append_latency_seconds histogram\n"
          "pravaha_append_latency_seconds_bucket{le=\"0.001\"} 2\n"
          "pravaha_append_latency_seconds_bucket{le=\"0.01\"} 3\n"
          "pravaha_append_latency_seconds_bucket{le=\"0.1\"} 4\n"
          "pravaha_append_latency_seconds_bucket{le=\"+Inf\"} 6\n"
          "pravaha_append_latency_seconds_sum 2.5535\n"
          "pravaha_append_latency_seconds_count 6\n");
}

TEST_CASE("metrics: histograms with labels put le last; concurrent observations all count",
          "[schema][metrics]") {
    registry r;
    auto& h = r.histogram_of("pravaha_fsync_seconds", "Fsync latency.", latency_bounds(),
                             {{"node", "1"}});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&h] {
            for (int i = 0; i < 10000; ++i) {
                h.observe(0.0001 * (i % 50));
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    CHECK(h.count() == 40000);
    auto text = r.render();
    CHECK(text.find("pravaha_fsync_seconds_bucket{node=\"1\",le=\"+Inf\"} 40000\n") !=
          std::string::npos);
    CHECK(text.find("pravaha_fsync_seconds_count{node=\"1\"} 40000\n") != std::string::npos);
    CHECK(count_prefix(text, "# TYPE") == 1);
    CHECK(count_prefix(text, "pravaha_fsync_seconds_bucket") == latency_bounds().size() + 1);
}

TEST_CASE("metrics: gauges are computed at scrape time and can be removed", "[schema][metrics]") {
    registry r;
    double v = 1.5;
    r.gauge("pravaha_queued_bytes", "Queued.", {}, [&v] { return v; });
    CHECK(r.render().find("pravaha_queued_bytes 1.5\n") != std::string::npos);
    v = 2;
    CHECK(r.render().find("pravaha_queued_bytes 2\n") != std::string::npos);
    r.remove_gauge("pravaha_queued_bytes", {});
    CHECK(r.render().empty());  // no TYPE line without a sample
}

TEST_CASE("metrics: a counter computed at scrape time renders as a counter", "[schema][metrics]") {
    registry r;
    r.counter_fn("process_cpu_seconds_total", "CPU.", {}, [] { return 0.25; });
    CHECK(r.render() ==
          "# HELP process_cpu_seconds_total CPU.\n"
          "# TYPE process_cpu_seconds_total counter\n"
          "process_cpu_seconds_total 0.25\n");
}

TEST_CASE("metrics: families render in name order", "[schema][metrics]") {
    registry r;
    r.counter_of("pravaha_b_total", "b").inc();
    r.counter_of("pravaha_a_total", "a").inc();
    auto lines = lines_of(r.render());
    REQUIRE(lines.size() == 6);
    CHECK(lines[0] == "# HELP pravaha_a_total a");
    CHECK(lines[3] == "# HELP pravaha_b_total b");
}

TEST_CASE("metrics: values, names and labels follow the text format's rules", "[schema][metrics]") {
    CHECK(format_value(3) == "3");
    CHECK(format_value(0.25) == "0.25");
    CHECK(format_value(1e-6) == "1e-06");
    CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
    CHECK(format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
    CHECK(valid_metric_name("pravaha_x:y_total"));
    CHECK_FALSE(valid_metric_name("9x"));
    CHECK_FALSE(valid_metric_name("a-b"));
    CHECK_FALSE(valid_metric_name(""));
    CHECK(valid_label_name("container"));
    CHECK_FALSE(valid_label_name("__name"));
    CHECK_FALSE(valid_label_name("a:b"));
}
