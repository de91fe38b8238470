// pravaha-bench: a load generator for the write path (closed loop with an in-flight window per
// writer). Latency is measured from write() to the durable acknowledgement.

#include "client/client.hpp"
#include "schema/errc.hpp"
#include "schema/logging.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace pravaha;
using bench_clock = std::chrono::steady_clock;

namespace {

const char* usage =
    "usage: pravaha-bench write [options]\n"
    "  --endpoint HOST:PORT   node (default $PRAVAHA_ENDPOINT or 127.0.0.1:9090)\n"
    "  --stream SCOPE/STREAM  created if missing (default bench/w<pid>)\n"
    "  --segments N           segments of a created stream (default 1)\n"
    "  --writers N            concurrent writers, each its own writer id (default 1)\n"
    "  --event-size B         payload bytes (default 100)\n"
    "  --events N             events in total (default 100000)\n"
    "  --window W             events in flight per writer; 1 = one at a time (default 1)\n"
    "  --keys N               routing keys per writer (default 16)\n"
    "  --warmup N             events per writer not measured (default 1000)\n"
    "  --json FILE            also write the results as one JSON object\n"
    "Acknowledgements are sent after the event is fsynced on the node (standalone), or on a\n"
    "majority of its container's replicas (cluster); the JSON's \"mode\" says which.\n";

struct options {
    std::string endpoint = "127.0.0.1:9090";
    std::string scope = "bench";
    std::string stream;
    uint32_t segments = 1;
    uint64_t writers = 1;
    uint64_t event_size = 100;
    uint64_t events = 100000;
    uint64_t window = 1;
    uint64_t keys = 16;
    uint64_t warmup = 1000;
    std::string json;
};

bool parse_u64(const char* s, uint64_t& out) {
    char* end = nullptr;
    out = std::strtoull(s, &end, 10);
    return end != s && *end == 0;
}

struct writer_stats {
    std::vector<uint32_t> latencies_us;
    uint64_t failed = 0;
    std::string first_error;
};

struct window_gate {
    std::mutex mutex;
    std::condition_variable cv;
    uint64_t in_flight = 0;
};

std::atomic<uint64_t> acked_total{0};

void run_writer(client::client_factory& f, const options& o, size_t w, writer_stats& st) {
    auto writer = f.create_writer(o.scope, o.stream);
    if (!writer) {
        st.first_error = render_error(writer.error());
        st.failed = o.events / o.writers;
        return;
    }
    std::string payload(o.event_size, 'x');
    window_gate gate;
    uint64_t n = o.events / o.writers;
    st.latencies_us.reserve(n);
    std::mutex stats_mutex;
    for (uint64_t i = 0; i < o.warmup + n; ++i) {
        {
            std::unique_lock<std::mutex> lock(gate.mutex);
            gate.cv.wait(lock, [&] { return gate.in_flight < o.window; });
            ++gate.in_flight;
        }
        auto key = fmt::format("w{}-k{}", w, i % o.keys);
        auto start = bench_clock::now();
        bool measured = i >= o.warmup;
        auto err = (*writer)->write(key, payload, [&, start, measured](const caf::error& e) {
            auto us =
                std::chrono::duration_cast<std::chrono::microseconds>(bench_clock::now() - start)
                    .count();
            {
                std::lock_guard<std::mutex> g(stats_mutex);
                if (e) {
                    ++st.failed;
                    if (st.first_error.empty()) {
                        st.first_error = render_error(e);
                    }
                } else if (measured) {
                    st.latencies_us.push_back(
                        static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
                    ++acked_total;
                }
            }
            std::lock_guard<std::mutex> g(gate.mutex);
            --gate.in_flight;
            gate.cv.notify_one();
        });
        if (err) {
            std::lock_guard<std::mutex> g(stats_mutex);
            ++st.failed;
            st.first_error = render_error(err);
            std::lock_guard<std::mutex> g2(gate.mutex);
            --gate.in_flight;
        }
        if (i + 1 == o.warmup) {
            pravaha::ignore_error((*writer)->flush(), "warm-up errors are counted per event");
        }
    }
    if (auto err = (*writer)->close()) {
        std::lock_guard<std::mutex> g(stats_mutex);
        if (st.first_error.empty()) {
            st.first_error = render_error(err);
        }
    }
}

double percentile(const std::vector<uint32_t>& sorted, double p) {
    if (sorted.empty()) {
        return 0;
    }
    auto idx = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(idx, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    if (const char* env = std::getenv("PRAVAHA_ENDPOINT"); env != nullptr && *env != 0) {
        o.endpoint = env;
    }
    o.stream = "w" + std::to_string(::getpid());
    if (argc < 2 || std::string(argv[1]) != "write") {
        std::fputs(usage, argc >= 2 && std::string(argv[1]) == "--help" ? stdout : stderr);
        return argc >= 2 && std::string(argv[1]) == "--help" ? 0 : 2;
    }
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc) {
            std::fprintf(stderr, "pravaha-bench: %s needs a value\n%s", a.c_str(), usage);
            return 2;
        }
        const char* v = argv[++i];
        uint64_t num = 0;
        bool ok = true;
        if (a == "--endpoint") {
            o.endpoint = v;
        } else if (a == "--json") {
            o.json = v;
        } else if (a == "--stream") {
            std::string s = v;
            auto slash = s.find('/');
            ok = slash != std::string::npos;
            if (ok) {
                o.scope = s.substr(0, slash);
                o.stream = s.substr(slash + 1);
            }
        } else if (parse_u64(v, num) && num > 0) {
            if (a == "--segments") {
                o.segments = static_cast<uint32_t>(num);
            } else if (a == "--writers") {
                o.writers = num;
            } else if (a == "--event-size") {
                o.event_size = num;
            } else if (a == "--events") {
                o.events = num;
            } else if (a == "--window") {
                o.window = num;
            } else if (a == "--keys") {
                o.keys = num;
            } else if (a == "--warmup") {
                o.warmup = num;
            } else {
                ok = false;
            }
        } else if (a == "--warmup" && std::string(v) == "0") {
            o.warmup = 0;
        } else {
            ok = false;
        }
        if (!ok) {
            std::fprintf(stderr, "pravaha-bench: bad option %s %s\n%s", a.c_str(), v, usage);
            return 2;
        }
    }
    configure_logging("error");
    client::client_config cfg;
    cfg.endpoint = o.endpoint;
    auto f = client::client_factory::connect(cfg);
    if (!f) {
        std::fprintf(stderr, "pravaha-bench: %s\n", render_error(f.error()).c_str());
        return 1;
    }
    auto& sm = (*f)->streams();
    std::string mode = "standalone, ack after fsync";
    if (auto info = sm.cluster_status(); info && !info->members.empty()) {
        mode = fmt::format("cluster of {}, ack after fsync on a majority", info->members.size());
    }
    if (auto err = sm.create_scope(o.scope); err && code_of(err) != errc::scope_exists) {
        std::fprintf(stderr, "pravaha-bench: %s\n", render_error(err).c_str());
        return 1;
    }
    if (auto rec = sm.create_stream(o.scope, o.stream, o.segments);
        !rec && code_of(rec.error()) != errc::stream_exists) {
        std::fprintf(stderr, "pravaha-bench: %s\n", render_error(rec.error()).c_str());
        return 1;
    }
    std::vector<writer_stats> stats(o.writers);
    std::vector<std::thread> threads;
    auto start = bench_clock::now();
    for (size_t w = 0; w < o.writers; ++w) {
        threads.emplace_back([&, w] { run_writer(**f, o, w, stats[w]); });
    }
    // Live progress on one updating line (stderr) while the writers run.
    std::atomic<bool> done{false};
    std::thread progress([&] {
        uint64_t last = 0;
        auto last_t = bench_clock::now();
        while (!done.load()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            auto now = bench_clock::now();
            auto cur = acked_total.load();
            double dt = std::chrono::duration<double>(now - last_t).count();
            double rate = static_cast<double>(cur - last) / dt;
            std::fprintf(stderr, "\r%6.1fs  acked=%llu  %.0f events/s  %.2f MB/s   ",
                         std::chrono::duration<double>(now - start).count(),
                         static_cast<unsigned long long>(cur), rate,
                         rate * static_cast<double>(o.event_size) / 1e6);
            last = cur;
            last_t = now;
        }
        std::fprintf(stderr, "\n");
    });
    for (auto& t : threads) {
        t.join();
    }
    auto elapsed = std::chrono::duration<double>(bench_clock::now() - start).count();
    done = true;
    progress.join();
    std::vector<uint32_t> all;
    uint64_t failed = 0;
    std::string first_error;
    for (auto& s : stats) {
        all.insert(all.end(), s.latencies_us.begin(), s.latencies_us.end());
        failed += s.failed;
        if (first_error.empty()) {
            first_error = s.first_error;
        }
    }
    std::sort(all.begin(), all.end());
    // Throughput counts measured events over the whole run (warm-up included in the time, so
    // the figure is conservative).
    double eps = static_cast<double>(all.size()) / elapsed;
    double mbps = eps * static_cast<double>(o.event_size) / 1e6;
    std::printf("writers=%llu event_size=%llu window=%llu segments=%u events=%zu failed=%llu\n",
                static_cast<unsigned long long>(o.writers),
                static_cast<unsigned long long>(o.event_size),
                static_cast<unsigned long long>(o.window), o.segments, all.size(),
                static_cast<unsigned long long>(failed));
    std::printf("%-12s %-10s %-9s %-9s %-9s %-9s %-9s\n", "events/s", "MB/s", "p50_us", "p95_us",
                "p99_us", "p99.9_us", "max_us");
    std::printf("%-12.0f %-10.2f %-9.0f %-9.0f %-9.0f %-9.0f %-9.0f\n", eps, mbps,
                percentile(all, 50), percentile(all, 95), percentile(all, 99),
                percentile(all, 99.9), all.empty() ? 0.0 : static_cast<double>(all.back()));
    if (!first_error.empty()) {
        std::printf("first error: %s\n", first_error.c_str());
    }
    if (!o.json.empty()) {
        FILE* j = std::fopen(o.json.c_str(), "w");
        if (j == nullptr) {
            std::fprintf(stderr, "pravaha-bench: cannot write %s\n", o.json.c_str());
            return 1;
        }
        std::fprintf(j,
                     "{\"system\":\"pravaha\",\"mode\":\"%s\","
                     "\"writers\":%llu,\"event_size\":%llu,\"window\":%llu,\"segments\":%u,"
                     "\"events\":%zu,\"failed\":%llu,\"elapsed_s\":%.3f,\"events_per_s\":%.1f,"
                     "\"mb_per_s\":%.3f,\"latency_us\":{\"p50\":%.0f,\"p95\":%.0f,\"p99\":%.0f,"
                     "\"p999\":%.0f,\"max\":%.0f}}\n",
                     mode.c_str(), static_cast<unsigned long long>(o.writers),
                     static_cast<unsigned long long>(o.event_size),
                     static_cast<unsigned long long>(o.window), o.segments, all.size(),
                     static_cast<unsigned long long>(failed), elapsed, eps, mbps,
                     percentile(all, 50), percentile(all, 95), percentile(all, 99),
                     percentile(all, 99.9), all.empty() ? 0.0 : static_cast<double>(all.back()));
        std::fclose(j);
    }
    return failed == 0 ? 0 : 1;
}
