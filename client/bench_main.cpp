// pravaha-bench: a load generator shaped like Pravega's benchmark and the OpenMessaging
// Benchmark. Modes: write (closed loop, pipelined window, or fixed rate in an open loop), read
// (catch-up from the head), end-to-end (writers and tail readers at once). Latency of writes is
// measured until the durable acknowledgement; at a fixed rate from the intended send time, so that
// a stall is not hidden by the writer waiting (no coordinated omission). A fourth mode, connect,
// holds many idle client connections (and writers) to measure what they cost the node.

#include "client/bench_run.hpp"
#include "client/bench_stats.hpp"
#include "client/client.hpp"
#include "schema/errc.hpp"
#include "schema/logging.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <latch>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace pravaha;
using bench::bench_clock;
using bench::options;
using bench::run_state;
using bench::since;

namespace {

// One writer: `count` events (or until `deadline`). Closed loop: `window` events in flight, the
// next one sent from the acknowledgement callback of the previous (no thread hand-off per event,
// as an asynchronous producer would); at a fixed rate: from this thread at `rate_w` events/s,
// latency from the intended send times. In end-to-end runs the payload starts with the send time
// (ns since the run started) and a flag saying whether the event is measured.
class writer_loop {
public:
    writer_loop(const options& o,
                size_t w,
                uint64_t count,
                std::optional<bench_clock::time_point> deadline,
                bool headline,
                run_state& rs,
                client::event_writer& writer)
        : o_(o),
          w_(w),
          count_(count),
          deadline_(deadline),
          headline_(headline),
          rs_(rs),
          writer_(writer),
          rate_w_(o.rate > 0 ? static_cast<double>(o.rate) / static_cast<double>(o.writers) : 0),
          e2e_(o.mode == "end-to-end"),
          filler_(make_payload(o)) {
        // Formatted once (up to 65,536 keys): a key formatted per event was a tenth of the
        // pipelined client's CPU.
        if (o.keys <= keys_formatted_max) {
            keys_.reserve(o.keys);
            for (uint64_t k = 0; k < o.keys; ++k) {
                keys_.push_back(fmt::format("w{}-k{}", w_, k));
            }
        }
    }

    // Sends until the run is over and every event is answered; hands the samples to `rs`.
    void run() {
        auto t0 = bench_clock::now();
        if (rate_w_ == 0) {
            for (uint64_t k = 0; k < o_.window; ++k) {
                auto i = take();
                if (!i) {
                    break;
                }
                take_slot();
                send(*i, bench_clock::now());
            }
        } else {
            while (auto i = take()) {
                auto intended = t0 + std::chrono::nanoseconds(static_cast<int64_t>(
                                         static_cast<double>(*i) * 1e9 / rate_w_));
                std::this_thread::sleep_until(intended);
                take_slot();
                send(*i, intended);
            }
        }
        {
            std::unique_lock<std::mutex> lock(mutex_);
            cv_.wait(lock, [&] { return in_flight_ == 0; });
        }
        if (auto err = writer_.close()) {
            std::lock_guard<std::mutex> g(rs_.mutex);
            if (rs_.first_error.empty()) {
                rs_.first_error = render_error(err);
            }
        }
        std::lock_guard<std::mutex> g(rs_.mutex);
        std::lock_guard<std::mutex> g2(mutex_);
        rs_.write_samples.insert(rs_.write_samples.end(), local_.begin(), local_.end());
    }

private:
    // The index of the next event to send, or nothing once the run is over.
    std::optional<uint64_t> take() {
        std::lock_guard<std::mutex> g(mutex_);
        if (stopped_ ||
            (deadline_ ? bench_clock::now() >= *deadline_ : next_ >= o_.warmup + count_)) {
            stopped_ = true;
            return std::nullopt;
        }
        return next_++;
    }

    // Waits for a free slot of the window.
    void take_slot() {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return in_flight_ < o_.window; });
        ++in_flight_;
    }

    // An event's outcome: its slot is reused by the next event (closed loop) or freed.
    void finish_one(bool reuse) {
        std::optional<uint64_t> i;
        if (reuse && rate_w_ == 0) {
            i = take();
        }
        if (i) {
            send(*i, bench_clock::now());
            return;
        }
        std::lock_guard<std::mutex> g(mutex_);
        --in_flight_;
        cv_.notify_all();
    }

    void send(uint64_t i, bench_clock::time_point start) {
        std::string stamped;
        std::string_view payload = filler_;  // every payload; end-to-end stamps a copy
        if (!o_.id_prefix.empty()) {
            stamped = fmt::format("{} w{} n{} ", o_.id_prefix, w_, i);
            if (stamped.size() < filler_.size()) {
                stamped.append(filler_, stamped.size());
            }
            payload = stamped;
        }
        bool measured = i >= o_.warmup;
        if (measured && i == o_.warmup && headline_) {
            rs_.measured_send(
                std::chrono::duration_cast<std::chrono::nanoseconds>(start - rs_.start).count());
        }
        if (e2e_) {
            auto ns =
                std::chrono::duration_cast<std::chrono::nanoseconds>(start - rs_.start).count();
            stamped = filler_;
            std::memcpy(stamped.data(), &ns, sizeof ns);
            stamped[8] = measured ? 'm' : 'w';
            payload = stamped;
        }
        std::string formatted;
        if (keys_.empty()) {
            formatted = fmt::format("w{}-k{}", w_, i % o_.keys);
        }
        const auto& key = keys_.empty() ? formatted : keys_[i % keys_.size()];
        auto at_ms = static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(start - rs_.start).count());
        auto err = writer_.write(key, payload, [this, start, measured, at_ms](const caf::error& e) {
            answered(e, start, measured, at_ms);
        });
        if (err) {  // refused at once (closed writer, oversized event): stop this writer
            rs_.written.fetch_add(1);
            rs_.error(err);
            {
                std::lock_guard<std::mutex> g(mutex_);
                stopped_ = true;
            }
            finish_one(false);
        }
    }

    void answered(const caf::error& e,
                  bench_clock::time_point start,
                  bool measured,
                  uint32_t at_ms) {
        auto now = bench_clock::now();  // read once: the clock was another tenth per event
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - start).count();
        auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - rs_.start).count();
        rs_.written.fetch_add(1);
        if (e) {
            rs_.error(e);
            finish_one(false);
            return;
        }
        acked(now_ns);
        if (measured) {
            auto lat = static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX));
            if (headline_) {
                rs_.live.record(lat);
                rs_.done_ops.fetch_add(1);
                rs_.completed(now_ns);
            }
            std::lock_guard<std::mutex> g(mutex_);
            local_.push_back(bench::sample{at_ms, lat});
            if (!progressed_) {
                progressed_ = true;
                rs_.writers_progressed.fetch_add(1);
            }
        }
        finish_one(true);
    }

    void acked(int64_t now_ns) {
        std::lock_guard<std::mutex> g(mutex_);
        rs_.acked(last_ack_ns_, now_ns);
    }

    const options& o_;
    size_t w_;
    uint64_t count_;
    std::optional<bench_clock::time_point> deadline_;
    bool headline_;
    run_state& rs_;
    client::event_writer& writer_;
    double rate_w_;
    bool e2e_;
    static constexpr uint64_t keys_formatted_max = 65536;
    const std::string filler_;
    std::vector<std::string> keys_;
    std::vector<bench::sample> local_;
    std::mutex mutex_;  // local_, next_, in_flight_, stopped_
    std::condition_variable cv_;
    uint64_t next_ = 0;
    uint64_t in_flight_ = 0;
    int64_t last_ack_ns_ = -1;
    bool stopped_ = false;
    bool progressed_ = false;
};

}  // namespace

namespace pravaha::bench {
namespace {

// Writers start together: each is created first (setup, reported apart), then all are released
// at once and the run's duration counts from there.
struct start_gate {
    explicit start_gate(size_t writers) : created(static_cast<std::ptrdiff_t>(writers)) {}
    std::latch created;
    std::latch go{1};
    std::optional<bench_clock::time_point> deadline;  // set before `go` opens
};

void run_writer(client::client_factory& f,
                const options& o,
                size_t w,
                uint64_t count,
                start_gate* gate,
                bool headline,
                run_state& rs) {
    // Room for the whole window, so that a write from an acknowledgement callback (the client's
    // own thread) never waits for memory.
    client::writer_config wc;
    wc.pending_bytes_max =
        std::max(wc.pending_bytes_max, 2 * o.window * (o.event_size + 64) + (1 << 20));
    auto writer = f.create_writer(o.scope, o.stream, wc);
    std::optional<bench_clock::time_point> deadline;
    if (gate != nullptr) {
        gate->created.count_down();
        gate->go.wait();
        deadline = gate->deadline;
    }
    if (!writer) {
        rs.error(writer.error());
        return;
    }
    writer_loop loop(o, w, count, deadline, headline, rs, **writer);
    loop.run();
}

}  // namespace

FILE* open_json(const options& o) {
    FILE* j = std::fopen(o.json.c_str(), "w");
    if (j == nullptr) {
        std::fprintf(stderr, "pravaha-bench: cannot write %s\n", o.json.c_str());
    }
    return j;
}

void run_writers(client::client_factory& f, const options& o, run_state& rs, bool headline) {
    uint64_t per_writer = o.events / o.writers;
    start_gate gate(o.writers);
    std::vector<std::thread> threads;
    for (size_t w = 0; w < o.writers; ++w) {
        threads.emplace_back([&, w] { run_writer(f, o, w, per_writer, &gate, headline, rs); });
    }
    gate.created.wait();
    rs.setup_s = since(rs.start) / 1e9;
    if (o.duration_s > 0) {
        gate.deadline = bench_clock::now() + std::chrono::seconds(o.duration_s);
    }
    rs.go_ns = since(rs.start);
    gate.go.count_down();
    for (auto& t : threads) {
        t.join();
    }
}

}  // namespace pravaha::bench

namespace {

// One reader. Catch-up (read mode): reads `expect` events from the head. End-to-end: follows the
// tail until the writers are done and it has seen every event they wrote (or 10 s pass without
// one), measuring each measured event's latency from its send time.
void run_reader(client::client_factory& f,
                const options& o,
                uint64_t expect,
                client::start_position from,
                run_state& rs,
                size_t index) {
    bool grouped = !o.group.empty();
    auto reader = grouped ? f.create_group_reader(o.scope, o.group, "r" + std::to_string(index))
                          : f.create_reader(o.scope, o.stream, from);
    rs.readers_ready.fetch_add(1);
    if (!reader) {
        rs.error(reader.error());
        return;
    }
    bool e2e = o.mode == "end-to-end";
    std::vector<bench::sample> local;
    uint64_t seen = 0;
    auto idle_since = bench_clock::now();
    for (;;) {
        if (!e2e && seen >= expect) {
            break;
        }
        if (e2e && rs.writers_done.load() &&
            (grouped ? rs.group_seen.load() : seen) >= rs.written.load()) {
            break;
        }
        auto ev = (*reader)->read_next(std::chrono::milliseconds(100));
        if (!ev) {
            rs.error(ev.error());
            return;
        }
        if (!*ev) {
            if (grouped && !rs.writers_done.load()) {
                continue;  // a group reader may own nothing for a while
            }
            if (bench_clock::now() - idle_since > std::chrono::seconds(10)) {
                std::lock_guard<std::mutex> g(rs.mutex);
                if (rs.first_error.empty()) {
                    rs.first_error = fmt::format("a reader saw only {} events", seen);
                }
                break;
            }
            continue;
        }
        idle_since = bench_clock::now();
        if (!(*ev)->checkpoint.empty()) {
            continue;  // a group's (automatic) checkpoint marker
        }
        ++seen;
        if (grouped) {
            rs.group_seen.fetch_add(1);
            if ((*ev)->segment.epoch() > 0 && rs.first_successor.load() < 0) {
                int64_t none = -1;
                rs.first_successor.compare_exchange_strong(none, since(rs.start));
            }
        }
        const auto& p = (*ev)->payload;
        if (e2e && p.size() >= 16 && p[8] == 'm') {
            int64_t sent = 0;
            std::memcpy(&sent, p.data(), sizeof sent);
            auto now = since(rs.start);
            auto us =
                static_cast<uint32_t>(std::clamp<int64_t>((now - sent) / 1000, 0, UINT32_MAX));
            rs.live.record(us);
            rs.measured_send(sent);
            rs.completed(now);
            local.push_back(bench::sample{static_cast<uint32_t>(sent / 1000000), us});
        }
        if (!e2e) {
            rs.done_ops.fetch_add(1);
            rs.measured_send(0);
            rs.completed(since(rs.start));
        } else if (p.size() >= 16 && p[8] == 'm') {
            rs.done_ops.fetch_add(1);
        }
    }
    std::lock_guard<std::mutex> g(rs.mutex);
    rs.read_samples.insert(rs.read_samples.end(), local.begin(), local.end());
}

// The reader group of --group: created over the stream from its tail (before the writers).
bool create_bench_group(client::client_factory& f, const options& o, run_state& rs) {
    auto tail = f.streams().cut(o.scope, o.stream, false);
    if (!tail) {
        rs.error(tail.error());
        return false;
    }
    group_config cfg;
    cfg.streams.push_back(group_stream{o.scope, o.stream, *tail, {}});
    if (auto g = f.groups().create_group(o.scope, o.group, cfg); !g) {
        rs.error(g.error());
        return false;
    }
    return true;
}

// Waits (up to 10 s) until the group's readers share its segments evenly: the run measures the
// group in its steady state, not the first rebalancing (readers learn what to give back and take
// with their reports, every second at most).
void wait_balanced(client::client_factory& f, const options& o) {
    auto until = bench_clock::now() + std::chrono::seconds(10);
    while (bench_clock::now() < until) {
        auto g = f.groups().group(o.scope, o.group);
        if (!g) {
            return;
        }
        size_t total = g->unassigned.size();
        for (const auto& r : g->readers) {
            total += r.segments.size();
        }
        auto floor_share = g->readers.empty() ? 0 : total / g->readers.size();
        bool even = g->unassigned.empty() && g->readers.size() == o.readers &&
                    std::all_of(g->readers.begin(), g->readers.end(),
                                [&](const auto& r) { return r.segments.size() >= floor_share; });
        if (even) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

// --split-after: splits the stream's first current segment in two after the given time.
void split_later(client::client_factory& f, const options& o, run_state& rs) {
    auto at = rs.start + std::chrono::seconds(o.split_after_s);
    while (bench_clock::now() < at && !rs.writers_done.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto info = f.streams().stream_info_of(o.scope, o.stream);
    if (!info) {
        rs.error(info.error());
        return;
    }
    auto done = f.streams().split(o.scope, o.stream, info->record.segments.front().id, 2);
    if (!done) {
        rs.error(done.error());
        return;
    }
    rs.split_done = since(rs.start);
}

// The live progress line (stderr): elapsed, rate of the headline metric, MB/s, p99 so far.
class progress_line {
public:
    progress_line(const options& o, run_state& rs) : o_(o), rs_(rs) {
        if (!o.quiet) {
            thread_ = std::thread([this] { loop(); });
        }
    }
    ~progress_line() { stop(); }
    void stop() {
        done_ = true;
        if (thread_.joinable()) {
            thread_.join();
            std::fprintf(stderr, "\n");
        }
    }

private:
    void loop() {
        uint64_t last = 0;
        auto last_t = bench_clock::now();
        while (!done_.load()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            auto now = bench_clock::now();
            auto cur = rs_.done_ops.load();
            double dt = std::chrono::duration<double>(now - last_t).count();
            double rate = static_cast<double>(cur - last) / dt;
            std::fprintf(
                stderr,
                "\r%6.1fs  %llu events  %.0f events/s  %.2f MB/s  p99 %llu us  failed %llu   ",
                std::chrono::duration<double>(now - rs_.start).count(),
                static_cast<unsigned long long>(cur), rate,
                rate * static_cast<double>(o_.event_size) / 1e6,
                static_cast<unsigned long long>(rs_.live.percentile(99)),
                static_cast<unsigned long long>(rs_.failed.load()));
            last = cur;
            last_t = now;
        }
    }
    const options& o_;
    run_state& rs_;
    std::atomic<bool> done_{false};
    std::thread thread_;
};

std::string latency_json(const bench::summary& s) {
    return fmt::format(
        "{{\"p50\":{:.0f},\"p95\":{:.0f},\"p99\":{:.0f},\"p999\":{:.0f},\"max\":{:.0f},"
        "\"mean\":{:.1f}}}",
        s.p50, s.p95, s.p99, s.p999, s.max, s.mean);
}

void print_row(const char* what, double eps, double mbps, const bench::summary& s) {
    if (s.count == 0) {  // no latency (catch-up reads)
        std::printf("%-22s %-12.0f %-9.2f %-9s %-9s %-9s %-9s %-9s\n", what, eps, mbps, "-", "-",
                    "-", "-", "-");
        return;
    }
    std::printf("%-22s %-12.0f %-9.2f %-9.0f %-9.0f %-9.0f %-9.0f %-9.0f\n", what, eps, mbps, s.p50,
                s.p95, s.p99, s.p999, s.max);
}

}  // namespace

// Connects, creates the scope and stream if needed, and the report directory. Returns the
// durability contract the figures were measured under, or nothing (the error is printed).
std::optional<std::string> prepare(client::client_factory& f, const options& o) {
    auto& sm = f.streams();
    std::string contract = "standalone, ack after fsync";
    if (auto info = sm.cluster_status(); info && !info->members.empty()) {
        contract =
            fmt::format("cluster of {}, ack after fsync on a majority", info->members.size());
    }
    if (auto err = sm.create_scope(o.scope); err && code_of(err) != errc::scope_exists) {
        std::fprintf(stderr, "pravaha-bench: %s\n", render_error(err).c_str());
        return std::nullopt;
    }
    if (o.mode == "scale") {
        // A stream of its own: the run measures its history from the first segment.
        auto rec = sm.create_stream(o.scope, o.stream, 1,
                                    scaling_policy{scale_type::by_events, o.target, o.factor, 1});
        if (!rec) {
            std::fprintf(stderr, "pravaha-bench: %s%s\n", render_error(rec.error()).c_str(),
                         code_of(rec.error()) == errc::stream_exists
                             ? " (scale needs a new stream: give another --stream)"
                             : "");
            return std::nullopt;
        }
    } else if (auto rec = sm.create_stream(o.scope, o.stream, o.segments);
               !rec && code_of(rec.error()) != errc::stream_exists) {
        std::fprintf(stderr, "pravaha-bench: %s\n", render_error(rec.error()).c_str());
        return std::nullopt;
    }
    if (!o.report.empty() && ::mkdir(o.report.c_str(), 0755) != 0 && errno != EEXIST) {
        std::fprintf(stderr, "pravaha-bench: cannot create %s\n", o.report.c_str());
        return std::nullopt;
    }
    return contract;
}

// Read mode: writes the events to read first (not measured), with one pipelined writer.
bool preload(client::client_factory& f, const options& o, run_state& rs) {
    auto p = o;
    p.window = 10000;
    p.warmup = 0;
    p.rate = 0;
    p.writers = 1;
    std::fprintf(stderr, "preloading %llu events\n", static_cast<unsigned long long>(o.events));
    p.duration_s = 0;
    rs.start = bench_clock::now();
    bench::run_writers(f, p, rs, false);
    if (rs.failed.load() > 0) {
        std::fprintf(stderr, "pravaha-bench: preload failed: %s\n", rs.first_error.c_str());
        return false;
    }
    rs.write_samples.clear();
    rs.setup_s = 0;
    rs.go_ns = 0;
    return true;
}

// Runs the writers and readers of the measured run, each on its own thread.
void run_clients(client::client_factory& f, const options& o, run_state& rs) {
    rs.start = bench_clock::now();
    if (o.api == "actor") {
        progress_line progress(o, rs);
        bench::run_actor_writers(o, rs);
        rs.writers_done = true;
        progress.stop();
        return;
    }
    if (o.api == "frames") {
        auto info = f.streams().stream_info_of(o.scope, o.stream);
        if (!info) {
            rs.error(info.error());
            return;
        }
        std::vector<segment_key> keys;
        for (const auto& seg : info->segments) {
            if (!seg.sealed) {
                keys.push_back(segment_key{info->record.uid, seg.id});
            }
        }
        progress_line progress(o, rs);
        bench::run_frame_writers(o, rs, keys);
        rs.writers_done = true;
        progress.stop();
        return;
    }
    std::vector<std::thread> threads;
    {
        progress_line progress(o, rs);
        if (o.mode != "write") {
            auto from =
                o.mode == "read" ? client::start_position::head : client::start_position::tail;
            if (!o.group.empty() && !create_bench_group(f, o, rs)) {
                return;
            }
            for (size_t r = 0; r < o.readers; ++r) {
                threads.emplace_back([&, from, r] { run_reader(f, o, o.events, from, rs, r); });
            }
            if (o.split_after_s > 0) {
                threads.emplace_back([&] { split_later(f, o, rs); });
            }
        }
        if (o.mode != "read") {
            // Tail readers start where the stream ends when they are created: wait for them.
            while (o.mode == "end-to-end" && rs.readers_ready.load() < o.readers) {
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            if (!o.group.empty()) {
                wait_balanced(f, o);
            }
            bench::run_writers(f, o, rs, o.mode == "write");
        }
        rs.writers_done = true;
        for (auto& t : threads) {
            t.join();
        }
        progress.stop();
    }
}

// Prints the table (and writes the report and the JSON summary when asked). Returns the exit
// code.
int print_results(const options& o, const std::string& contract, run_state& rs) {
    auto elapsed = std::chrono::duration<double>(bench_clock::now() - rs.start).count();
    auto ws = bench::summarize(rs.write_samples);
    auto rsum = bench::summarize(rs.read_samples);
    // Throughput over the measured window: from the first measured send (after the warm-up) to
    // the last measured completion.
    auto window = rs.window_s(elapsed);
    double write_eps = static_cast<double>(ws.count) / window;
    double read_eps =
        static_cast<double>(o.mode == "read" ? rs.done_ops.load() : rsum.count) / window;
    auto mb = [&](double eps) { return eps * static_cast<double>(o.event_size) / 1e6; };
    auto writers = static_cast<unsigned long long>(o.mode == "read" ? 0 : o.writers);
    auto progressed = static_cast<unsigned long long>(rs.writers_progressed.load());
    std::printf(
        "mode=%s api=%s contract=\"%s\" writers=%llu readers=%llu event_size=%llu window=%llu "
        "rate=%llu segments=%u failed=%llu elapsed=%.2fs setup=%.2fs writers_progressed=%llu "
        "slowest_first_ack=%.2fs longest_ack_gap=%.2fs\n",
        o.mode.c_str(), o.api.c_str(), contract.c_str(), writers,
        static_cast<unsigned long long>(o.mode == "write" ? 0 : o.readers),
        static_cast<unsigned long long>(o.event_size), static_cast<unsigned long long>(o.window),
        static_cast<unsigned long long>(o.rate), o.segments,
        static_cast<unsigned long long>(rs.failed.load()), elapsed, rs.setup_s, progressed,
        static_cast<double>(rs.slowest_first_ack.load()) / 1e9,
        static_cast<double>(rs.longest_ack_gap.load()) / 1e9);
    std::printf("%-22s %-12s %-9s %-9s %-9s %-9s %-9s %-9s\n", "", "events/s", "MB/s", "p50_us",
                "p95_us", "p99_us", "p99.9_us", "max_us");
    if (o.mode != "read") {
        print_row("write (to ack)", write_eps, mb(write_eps), ws);
    }
    if (o.mode == "end-to-end") {
        print_row("end-to-end (to read)", read_eps, mb(read_eps), rsum);
    }
    double successor_ms = -1;
    if (rs.split_done.load() >= 0 && rs.first_successor.load() >= 0) {
        successor_ms = static_cast<double>(rs.first_successor.load() - rs.split_done.load()) / 1e6;
        std::printf(
            "group %s: the split was answered at %.3f s; its successors' first event was "
            "read %.1f ms later\n",
            o.group.c_str(), static_cast<double>(rs.split_done.load()) / 1e9, successor_ms);
    } else if (o.split_after_s > 0) {
        std::printf("group %s: no event of a successor was read after the split\n",
                    o.group.c_str());
    }
    if (o.mode == "read") {
        print_row("read (catch-up)", read_eps, mb(read_eps), rsum);
    }
    if (!rs.first_error.empty()) {
        std::printf("first error: %s\n", rs.first_error.c_str());
    }
    // A run that measured nothing, or in which a writer never got an acknowledgement, failed.
    bool starved = false;
    if (o.mode == "write" && ws.count == 0) {
        std::printf("failed: no event was acknowledged in the measured window\n");
        starved = true;
    } else if (o.mode == "write" && progressed < writers) {
        std::printf(
            "failed: %llu of %llu writers had no event acknowledged in the measured "
            "window\n",
            writers - progressed, writers);
        starved = true;
    }
    if (!o.report.empty()) {
        for (auto [name, samples] :
             {std::pair{"write", &rs.write_samples}, std::pair{"end_to_end", &rs.read_samples}}) {
            if (samples->empty()) {
                continue;
            }
            if (auto err = bench::write_report(o.report, name, *samples); !err.empty()) {
                std::fprintf(stderr, "pravaha-bench: %s\n", err.c_str());
                return 1;
            }
        }
        std::printf("report: %s\n", o.report.c_str());
    }
    if (!o.json.empty()) {
        FILE* j = bench::open_json(o);
        if (j == nullptr) {
            return 1;
        }
        // "size", "clients", "rps", "p50_ms", "p99_ms" as the peers' scripts emit them
        // (../shared/bench/summarize_passes.py reads them).
        const auto& head = o.mode == "write" ? ws : rsum;
        double head_eps = o.mode == "write" ? write_eps : read_eps;
        std::fprintf(
            j,
            "{\"system\":\"pravaha\",\"mode\":\"%s\",\"bench_mode\":\"%s\",\"api\":\"%s\","
            "\"writers\":%llu,"
            "\"readers\":%llu,\"event_size\":%llu,\"window\":%llu,\"rate\":%llu,\"segments\":%u,"
            "\"events\":%llu,\"failed\":%llu,\"elapsed_s\":%.3f,\"events_per_s\":%.1f,"
            "\"mb_per_s\":%.3f,\"latency_us\":%s,\"read_events_per_s\":%.1f,"
            "\"end_to_end_latency_us\":%s,\"size\":%llu,\"clients\":%llu,\"rps\":%.1f,"
            "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"setup_s\":%.3f,\"writers_progressed\":%llu,"
            "\"slowest_first_ack_s\":%.3f,\"longest_ack_gap_s\":%.3f,\"group\":\"%s\","
            "\"successor_first_read_ms\":%.1f}\n",
            contract.c_str(), o.mode.c_str(), o.api.c_str(),
            static_cast<unsigned long long>(o.writers),
            static_cast<unsigned long long>(o.mode == "write" ? 0 : o.readers),
            static_cast<unsigned long long>(o.event_size),
            static_cast<unsigned long long>(o.window), static_cast<unsigned long long>(o.rate),
            o.segments, static_cast<unsigned long long>(ws.count),
            static_cast<unsigned long long>(rs.failed.load()), elapsed, write_eps, mb(write_eps),
            latency_json(ws).c_str(), read_eps, latency_json(rsum).c_str(),
            static_cast<unsigned long long>(o.event_size),
            static_cast<unsigned long long>(o.writers), head_eps, head.p50 / 1000.0,
            head.p99 / 1000.0, rs.setup_s, progressed,
            static_cast<double>(rs.slowest_first_ack.load()) / 1e9,
            static_cast<double>(rs.longest_ack_gap.load()) / 1e9, o.group.c_str(), successor_ms);
        std::fclose(j);
    }
    return rs.failed.load() == 0 && rs.first_error.empty() && !starved ? 0 : 1;
}

namespace {

// Connect mode: one client (its own actor system and connection) and its idle writers.
struct held_client {
    std::unique_ptr<client::client_factory> factory;
    std::vector<std::unique_ptr<client::event_writer>> writers;
};

double rss_mib() {
    FILE* f = std::fopen("/proc/self/status", "r");
    if (f == nullptr) {
        return 0;
    }
    char line[256];
    double kib = 0;
    while (std::fgets(line, sizeof line, f) != nullptr) {
        if (std::strncmp(line, "VmRSS:", 6) == 0) {
            kib = std::strtod(line + 6, nullptr);
        }
    }
    std::fclose(f);
    return kib / 1024;
}

// Writes one event and waits for its acknowledgement; returns the error text, or "".
std::string write_one(client::event_writer& w, const std::string& key) {
    std::mutex m;
    std::string failed;
    auto err = w.write(key, "connect", [&](const caf::error& e) {
        std::lock_guard<std::mutex> g(m);
        failed = e ? render_error(e) : "";
    });
    if (err) {
        return render_error(err);
    }
    if (auto e = w.flush()) {
        return render_error(e);
    }
    std::lock_guard<std::mutex> g(m);
    return failed;
}

// One call of client `i` over its connection: each writer writes one event, or (no writers) the
// client lists the scopes. Opens the client and its writers first when `open`.
std::string touch_client(const options& o, held_client& c, uint64_t i, bool open) {
    if (open) {
        client::client_config cfg;
        cfg.endpoint = o.endpoint;
        cfg.token = o.token;
        cfg.data_port = o.transport == "data";
        auto f = client::client_factory::connect(cfg);
        if (!f) {
            return render_error(f.error());
        }
        c.factory = std::move(*f);
        for (uint64_t w = 0; w < o.client_writers; ++w) {
            auto writer = c.factory->create_writer(o.scope, o.stream);
            if (!writer) {
                return render_error(writer.error());
            }
            c.writers.push_back(std::move(*writer));
        }
    }
    if (c.factory == nullptr) {
        return "not connected";
    }
    if (c.writers.empty()) {
        auto scopes = c.factory->streams().list_scopes();
        return scopes ? "" : render_error(scopes.error());
    }
    for (size_t w = 0; w < c.writers.size(); ++w) {
        if (auto e = write_one(*c.writers[w], fmt::format("c{}-w{}", i, w)); !e.empty()) {
            return e;
        }
    }
    return "";
}

// Runs `step(i)` for every client from up to 16 threads; returns how many failed.
uint64_t for_each_client(uint64_t n,
                         std::string& first_error,
                         const std::function<std::string(uint64_t)>& step) {
    std::atomic<uint64_t> next{0};
    std::atomic<uint64_t> failed{0};
    std::mutex m;
    std::vector<std::thread> threads;
    for (uint64_t t = 0; t < std::min<uint64_t>(n, 16); ++t) {
        threads.emplace_back([&] {
            for (uint64_t i = next++; i < n; i = next++) {
                auto err = step(i);
                if (!err.empty()) {
                    failed.fetch_add(1);
                    std::lock_guard<std::mutex> g(m);
                    if (first_error.empty()) {
                        first_error = err;
                    }
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    return failed.load();
}

int run_connect(const options& o) {
    std::vector<held_client> clients(o.clients);
    std::string first_error;
    auto t0 = bench_clock::now();
    auto failed = for_each_client(o.clients, first_error,
                                  [&](uint64_t i) { return touch_client(o, clients[i], i, true); });
    auto setup = since(t0) / 1e9;
    std::printf("holding clients=%llu writers=%llu failed=%llu setup=%.2fs rss_mib=%.1f\n",
                static_cast<unsigned long long>(o.clients),
                static_cast<unsigned long long>(o.clients) * o.client_writers,
                static_cast<unsigned long long>(failed), setup, rss_mib());
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::seconds(o.hold_s));
    auto t1 = bench_clock::now();
    failed += for_each_client(o.clients, first_error,
                              [&](uint64_t i) { return touch_client(o, clients[i], i, false); });
    auto check = since(t1) / 1e9;
    auto rss = rss_mib();
    std::printf(
        "connect clients=%llu writers=%llu failed=%llu setup=%.2fs check=%.2fs "
        "rss_mib=%.1f\n",
        static_cast<unsigned long long>(o.clients),
        static_cast<unsigned long long>(o.clients) * o.client_writers,
        static_cast<unsigned long long>(failed), setup, check, rss);
    if (!first_error.empty()) {
        std::printf("first error: %s\n", first_error.c_str());
    }
    if (!o.json.empty()) {
        FILE* j = bench::open_json(o);
        if (j == nullptr) {
            ++failed;
        } else {
            std::fprintf(j,
                         "{\"clients\":%llu,\"client_writers\":%llu,\"failed\":%llu,"
                         "\"setup_s\":%.3f,\"check_s\":%.3f,\"rss_mib\":%.1f}\n",
                         static_cast<unsigned long long>(o.clients),
                         static_cast<unsigned long long>(o.client_writers),
                         static_cast<unsigned long long>(failed), setup, check, rss);
            std::fclose(j);
        }
    }
    // Closing the clients in parallel: each stops an actor system.
    for_each_client(o.clients, first_error, [&](uint64_t i) {
        clients[i].writers.clear();  // before their factory: its actor system waits for them
        clients[i].factory.reset();
        return std::string();
    });
    return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    if (auto code = bench::parse_options(argc, argv, o)) {
        return *code;
    }
    configure_logging("error");
    client::client_config cfg;
    cfg.endpoint = o.endpoint;
    cfg.token = o.token;
    cfg.data_port = o.transport == "data";
    auto f = client::client_factory::connect(cfg);
    if (!f) {
        std::fprintf(stderr, "pravaha-bench: %s\n", render_error(f.error()).c_str());
        return 1;
    }
    auto contract = prepare(**f, o);
    if (!contract) {
        return 1;
    }
    if (o.mode == "connect") {
        f->reset();  // only the measured clients stay connected
        return run_connect(o);
    }
    if (o.mode == "scale") {
        return bench::run_scale(**f, o, *contract);
    }
    if (o.mode == "txn") {
        return bench::run_txn(**f, o, *contract);
    }
    run_state rs;
    if (o.mode == "read" && !preload(**f, o, rs)) {
        return 1;
    }
    run_clients(**f, o, rs);
    return print_results(o, *contract, rs);
}
