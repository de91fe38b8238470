// pravaha-bench scale: how a stream with an events policy follows a fixed load well above one
// segment's target. The stream starts with one segment; writers send at --rate (open loop, so a
// stall during a scale shows in the latency instead of slowing the senders) while a watcher asks
// the node for the stream's record every 100 ms. Afterwards the stream's history gives every
// scale's start (its intent record, node clock) and the watcher the moment its new epoch was
// current. Then the scaled stream, its policy frozen, is compared in closed-loop rounds with a
// stream created with its final segment count.

#include "client/bench_run.hpp"
#include "client/bench_stats.hpp"
#include "client/client.hpp"
#include "schema/errc.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pravaha::bench {
namespace {

constexpr int rounds = 3;              // closed-loop rounds per stream in the comparison
constexpr double after_scale_s = 1.0;  // a scale's writes: its start to this after its end
constexpr auto watch_period = std::chrono::milliseconds(100);

// What the watcher saw of the stream at one moment.
struct stream_sample {
    int64_t ms = 0;  // since the run started
    uint32_t epoch = 0;
    uint32_t segments = 0;
    bool scaling = false;
};

// One scale of the run.
struct scale_event {
    uint32_t epoch = 0;  // the epoch it made
    std::string kind;    // split, merge, or split+merge
    double start_s = 0;  // its intent (since the run started)
    double end_s = 0;    // the first sample that saw its epoch current
    size_t segments = 0;
};

// Asks for the stream's record every 100 ms until stopped, and prints the progress line.
class stream_watch {
public:
    stream_watch(client::stream_manager& sm, const options& o, run_state& rs)
        : sm_(sm), o_(o), rs_(rs), thread_([this] { loop(); }) {}
    stream_watch(const stream_watch&) = delete;
    stream_watch& operator=(const stream_watch&) = delete;
    ~stream_watch() { stop(); }

    std::vector<stream_sample> stop() {
        done_ = true;
        if (thread_.joinable()) {
            thread_.join();
            if (!o_.quiet) {
                std::fprintf(stderr, "\n");
            }
        }
        return samples_;
    }
    std::string first_error() const { return error_; }

private:
    void loop() {
        auto next_print = bench_clock::now() + std::chrono::seconds(1);
        uint64_t last_ops = 0;
        while (!done_.load()) {
            auto info = sm_.stream_info_of(o_.scope, o_.stream);
            if (info) {
                samples_.push_back(stream_sample{since(rs_.start) / 1000000, info->record.epoch,
                                                 static_cast<uint32_t>(info->segments.size()),
                                                 info->record.has_transition});
            } else if (error_.empty()) {
                error_ = render_error(info.error());
            }
            if (!o_.quiet && bench_clock::now() >= next_print && !samples_.empty()) {
                auto ops = rs_.done_ops.load();
                const auto& s = samples_.back();
                std::fprintf(stderr,
                             "\r%6.1fs  %llu events/s  p99 %llu us  segments %u  epoch %u%s  "
                             "failed %llu   ",
                             std::chrono::duration<double>(bench_clock::now() - rs_.start).count(),
                             static_cast<unsigned long long>(ops - last_ops),
                             static_cast<unsigned long long>(rs_.live.percentile(99)), s.segments,
                             s.epoch, s.scaling ? " (scaling)" : "",
                             static_cast<unsigned long long>(rs_.failed.load()));
                last_ops = ops;
                next_print += std::chrono::seconds(1);
            }
            std::this_thread::sleep_for(watch_period);
        }
    }

    client::stream_manager& sm_;
    const options& o_;
    run_state& rs_;
    std::vector<stream_sample> samples_;
    std::string error_;
    std::atomic<bool> done_{false};
    std::thread thread_;  // last: starts once the rest is built
};

// The stream once no scale runs (waits up to 60 s), or its error.
caf::expected<stream_info> settled(client::stream_manager& sm, const options& o) {
    auto give_up = bench_clock::now() + std::chrono::seconds(60);
    for (;;) {
        auto info = sm.stream_info_of(o.scope, o.stream);
        if (!info || !info->record.has_transition || bench_clock::now() > give_up) {
            return info;
        }
        std::this_thread::sleep_for(watch_period);
    }
}

// Every scale of the history, its start put on the run's clock (`start_wall_ms`: the node's
// wall clock when the run started, as on this machine) and its end on the watcher's.
std::vector<scale_event> scales_of(const std::vector<epoch_info>& history,
                                   const std::vector<stream_sample>& watched,
                                   int64_t start_wall_ms) {
    std::vector<scale_event> out;
    for (const auto& e : history) {
        if (e.epoch == 0 || e.rolled) {
            continue;  // a rolling transaction's epochs are no scale
        }
        std::map<segment_id, int> successors;  // predecessor -> its successors in this epoch
        bool merge = false;
        for (const auto& s : e.segments) {
            merge = merge || s.predecessors.size() >= 2;
            for (auto p : s.predecessors) {
                ++successors[p];
            }
        }
        bool split = std::any_of(successors.begin(), successors.end(),
                                 [](const auto& kv) { return kv.second >= 2; });
        scale_event ev;
        ev.epoch = e.epoch;
        ev.kind = split && merge ? "split+merge" : merge ? "merge" : "split";
        ev.segments = e.segments.size();
        ev.end_s = watched.empty() ? 0 : static_cast<double>(watched.back().ms) / 1000;
        for (const auto& w : watched) {
            if (w.epoch >= e.epoch) {
                ev.end_s = static_cast<double>(w.ms) / 1000;
                break;
            }
        }
        ev.start_s = std::min(ev.end_s, static_cast<double>(e.created_ms - start_wall_ms) / 1000);
        out.push_back(ev);
    }
    return out;
}

// One closed-loop round on `stream`: its events/s, or nothing with `why` set.
std::optional<double> closed_loop_round(client::client_factory& f,
                                        const options& o,
                                        const std::string& stream,
                                        std::string& why) {
    options c = o;
    c.mode = "write";
    c.stream = stream;
    c.rate = 0;
    c.window = o.compare_window;
    c.duration_s = o.compare_s;
    c.warmup = 100;
    run_state r;
    r.start = bench_clock::now();
    run_writers(f, c, r, true);
    auto s = summarize(r.write_samples);
    if (r.failed.load() > 0 || s.count == 0) {
        why = r.first_error.empty() ? "no event was acknowledged" : r.first_error;
        return std::nullopt;
    }
    return static_cast<double>(s.count) / r.window_s(static_cast<double>(o.compare_s));
}

struct comparison {
    size_t segments = 0;
    std::vector<double> scaled;  // events/s per round
    std::vector<double> fixed;
    double ratio() const { return median(scaled) / median(fixed); }
};

// Freezes the scaled stream at its segments (policy fixed) and runs the closed-loop rounds,
// alternating with a stream created with as many segments. Returns nothing with `why` set.
std::optional<comparison> compare(client::client_factory& f, const options& o, std::string& why) {
    auto& sm = f.streams();
    auto info = settled(sm, o);
    // The policy can start one more scale between the settle and the update (its last window
    // was still over the target): the update is then refused with `conflict`; settle again.
    for (int tries = 0; info && !info->record.has_transition; ++tries) {
        auto n = static_cast<uint32_t>(info->segments.size());
        auto rec = sm.update_stream(o.scope, o.stream, scaling_policy{scale_type::fixed, 0, 2, n});
        if (rec || code_of(rec.error()) != errc::conflict || tries == 4) {
            info = rec ? settled(sm, o) : caf::expected<stream_info>(rec.error());
            break;
        }
        info = settled(sm, o);
    }
    if (!info) {
        why = render_error(info.error());
        return std::nullopt;
    }
    if (info->record.has_transition) {
        why = "a scale was still running 60 s after the run";
        return std::nullopt;
    }
    comparison c;
    c.segments = info->segments.size();
    auto fixed_name = o.stream + "-fixed";
    auto made = sm.create_stream(o.scope, fixed_name, static_cast<uint32_t>(c.segments));
    if (!made) {
        why = fmt::format("creating {}/{}: {}", o.scope, fixed_name, render_error(made.error()));
        return std::nullopt;
    }
    for (int r = 0; r < rounds; ++r) {
        for (bool scaled : {true, false}) {
            if (!o.quiet) {
                std::fprintf(stderr, "comparison round %d/%d: %s\n", r + 1, rounds,
                             scaled ? "the scaled stream" : "the stream created with as many");
            }
            auto eps = closed_loop_round(f, o, scaled ? o.stream : fixed_name, why);
            if (!eps) {
                return std::nullopt;
            }
            (scaled ? c.scaled : c.fixed).push_back(*eps);
        }
    }
    return c;
}

// Per second of the run (by intended send time): events, p50 and p99 in us.
struct second_row {
    size_t events = 0;
    uint32_t p50 = 0;
    uint32_t p99 = 0;
    uint32_t segments = 1;  // at the second's end
    uint32_t epoch = 0;
};

std::vector<second_row> per_second(const std::vector<sample>& by_latency,
                                   const std::vector<stream_sample>& watched) {
    std::map<uint32_t, std::vector<uint32_t>> lat;  // sorted: the samples are sorted by latency
    for (const auto& s : by_latency) {
        lat[s.at_ms / 1000].push_back(s.latency_us);
    }
    uint32_t last = lat.empty() ? 0 : lat.rbegin()->first;
    std::vector<second_row> rows(last + 1);
    for (auto& [sec, v] : lat) {
        auto& r = rows[sec];
        r.events = v.size();
        r.p50 = v[rank_index(v.size(), 50)];
        r.p99 = v[rank_index(v.size(), 99)];
    }
    size_t w = 0;
    second_row state;
    for (uint32_t sec = 0; sec <= last; ++sec) {
        while (w < watched.size() && watched[w].ms < int64_t{sec + 1} * 1000) {
            state.segments = watched[w].segments;
            state.epoch = watched[w].epoch;
            ++w;
        }
        rows[sec].segments = state.segments;
        rows[sec].epoch = state.epoch;
    }
    return rows;
}

std::string write_scale_report(const options& o,
                               const std::vector<second_row>& rows,
                               const std::vector<scale_event>& scales) {
    auto path = [&](const char* what) { return fmt::format("{}/{}", o.report, what); };
    FILE* t = std::fopen(path("scale_over_time.csv").c_str(), "w");
    if (t == nullptr) {
        return "cannot write " + path("scale_over_time.csv");
    }
    std::fprintf(t, "second,events,p50_us,p99_us,segments,epoch\n");
    for (size_t s = 0; s < rows.size(); ++s) {
        std::fprintf(t, "%zu,%zu,%u,%u,%u,%u\n", s, rows[s].events, rows[s].p50, rows[s].p99,
                     rows[s].segments, rows[s].epoch);
    }
    std::fclose(t);
    FILE* e = std::fopen(path("scales.csv").c_str(), "w");
    if (e == nullptr) {
        return "cannot write " + path("scales.csv");
    }
    std::fprintf(e, "epoch,kind,start_s,end_s,segments\n");
    for (const auto& s : scales) {
        std::fprintf(e, "%u,%s,%.3f,%.3f,%zu\n", s.epoch, s.kind.c_str(), s.start_s, s.end_s,
                     s.segments);
    }
    std::fclose(e);
    plot_line eps{"events/s", {}};
    plot_line p50{"p50", {}};
    plot_line p99{"p99", {}};
    plot_line segs{"segments", {}};
    for (size_t s = 0; s < rows.size(); ++s) {
        auto x = static_cast<double>(s) + 0.5;
        eps.points.emplace_back(x, static_cast<double>(rows[s].events));
        if (rows[s].events > 0) {
            p50.points.emplace_back(x, rows[s].p50 / 1000.0);
            p99.points.emplace_back(x, rows[s].p99 / 1000.0);
        }
        segs.points.emplace_back(x, rows[s].segments);
    }
    std::vector<std::pair<double, double>> bands;
    bands.reserve(scales.size());
    for (const auto& s : scales) {
        bands.emplace_back(s.start_s, s.end_s);
    }
    return write_svg(path("scale.svg"),
                     fmt::format("{} events/s offered, target {} events/s per segment (scales "
                                 "shaded)",
                                 o.rate, o.target),
                     "second of the run",
                     {{"events/s", {eps}}, {"latency (ms)", {p50, p99}}, {"segments", {segs}}},
                     bands);
}

}  // namespace

int run_scale(client::client_factory& f, const options& o, const std::string& contract) {
    auto& sm = f.streams();
    run_state rs;
    rs.start = bench_clock::now();
    auto start_wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    std::vector<stream_sample> watched;
    std::string watch_error;
    {
        stream_watch watch(sm, o, rs);
        run_writers(f, o, rs, true);
        watched = watch.stop();
        watch_error = watch.first_error();
    }
    auto elapsed = std::chrono::duration<double>(bench_clock::now() - rs.start).count();
    auto history = sm.history(o.scope, o.stream);
    if (!history) {
        std::fprintf(stderr, "pravaha-bench: history: %s\n", render_error(history.error()).c_str());
        return 1;
    }
    auto scales = scales_of(*history, watched, start_wall_ms);
    auto all = summarize(rs.write_samples);
    auto rows = per_second(rs.write_samples, watched);

    // The first second whose events (by send time) exceeded the target of its segments, and the
    // first split after it.
    std::optional<size_t> over;
    for (size_t s = 0; s < rows.size() && !over; ++s) {
        uint64_t segments = s == 0 ? 1 : rows[s - 1].segments;
        if (rows[s].events > uint64_t{o.target} * segments) {
            over = s;
        }
    }
    const scale_event* first_split = nullptr;
    for (const auto& s : scales) {
        if (s.kind != "merge" && over && s.end_s >= static_cast<double>(*over)) {
            first_split = &s;
            break;
        }
    }
    std::vector<sample> during;
    std::vector<sample> outside;
    for (const auto& s : rs.write_samples) {
        double t = s.at_ms / 1000.0;
        bool in = std::any_of(scales.begin(), scales.end(), [&](const scale_event& e) {
            return t >= e.start_s && t < e.end_s + after_scale_s;
        });
        (in ? during : outside).push_back(s);
    }
    auto sd = summarize(during);
    auto so = summarize(outside);

    std::printf(
        "mode=scale contract=\"%s\" writers=%llu rate=%llu target=%u factor=%u event_size=%llu "
        "keys=%llu duration=%llus failed=%llu elapsed=%.2fs\n",
        contract.c_str(), static_cast<unsigned long long>(o.writers),
        static_cast<unsigned long long>(o.rate), o.target, o.factor,
        static_cast<unsigned long long>(o.event_size),
        static_cast<unsigned long long>(o.writers) * o.keys,
        static_cast<unsigned long long>(o.duration_s),
        static_cast<unsigned long long>(rs.failed.load()), elapsed);
    std::printf("%-7s %-9s %-8s %-8s %-8s %s\n", "second", "events", "p50_us", "p99_us", "segments",
                "epoch");
    for (size_t s = 0; s < rows.size(); ++s) {
        std::printf("%-7zu %-9zu %-8u %-8u %-8u %u\n", s, rows[s].events, rows[s].p50, rows[s].p99,
                    rows[s].segments, rows[s].epoch);
    }
    size_t splits = 0;
    size_t merges = 0;
    for (const auto& s : scales) {
        std::printf(
            "scale to epoch %u: %-11s started %.2f s, current %.2f s (%.2f s), %zu segments\n",
            s.epoch, s.kind.c_str(), s.start_s, s.end_s, s.end_s - s.start_s, s.segments);
        splits += s.kind != "merge" ? 1 : 0;
        merges += s.kind != "split" ? 1 : 0;
    }
    auto final_segments = history->empty() ? 0 : history->back().segments.size();
    std::printf("scales=%zu splits=%zu merges=%zu final_segments=%zu\n", scales.size(), splits,
                merges, final_segments);
    double to_split = -1;
    if (first_split != nullptr) {
        to_split = first_split->end_s - static_cast<double>(*over);
        std::printf(
            "first over-target second: %zu; the first split after it: intent %.2f s, current "
            "%.2f s after that second began\n",
            *over, first_split->start_s - static_cast<double>(*over), to_split);
    }
    std::printf("%-22s %-9s %-9s %-9s %-9s %-9s\n", "writes (to ack)", "events", "p50_us", "p99_us",
                "p99.9_us", "max_us");
    for (auto [name, s] : {std::pair{"all", &all}, std::pair{"during scales", &sd},
                           std::pair{"outside scales", &so}}) {
        std::printf("%-22s %-9llu %-9.0f %-9.0f %-9.0f %-9.0f\n", name,
                    static_cast<unsigned long long>(s->count), s->p50, s->p99, s->p999, s->max);
    }
    std::printf("(during: from a scale's intent to %.0f s after its new epoch was seen current)\n",
                after_scale_s);

    int rc = rs.failed.load() == 0 && rs.first_error.empty() ? 0 : 1;
    if (!rs.first_error.empty()) {
        std::printf("first error: %s\n", rs.first_error.c_str());
    }
    if (!watch_error.empty()) {
        std::printf("watching the stream failed: %s\n", watch_error.c_str());
        rc = 1;
    }
    if (first_split == nullptr) {
        std::printf(
            "failed: no split after the load went over the target (is the node's "
            "--scale-window-s short enough for a %llu s run?)\n",
            static_cast<unsigned long long>(o.duration_s));
        rc = 1;
    }
    std::optional<comparison> cmp;
    if (rc == 0 && o.compare_s > 0) {
        std::string why;
        cmp = compare(f, o, why);
        if (!cmp) {
            std::printf("comparison failed: %s\n", why.c_str());
            rc = 1;
        } else {
            std::printf(
                "closed loop, %llu writers x %llu in flight, %d rounds of %llu s each: scaled "
                "stream (%zu segments, policy frozen) %.0f events/s [%s], created with %zu "
                "segments %.0f events/s [%s], ratio %.3f\n",
                static_cast<unsigned long long>(o.writers),
                static_cast<unsigned long long>(o.compare_window), rounds,
                static_cast<unsigned long long>(o.compare_s), cmp->segments, median(cmp->scaled),
                list_of(cmp->scaled).c_str(), cmp->segments, median(cmp->fixed),
                list_of(cmp->fixed).c_str(), cmp->ratio());
        }
    }
    if (!o.report.empty()) {
        auto err = write_report(o.report, "write", rs.write_samples);
        if (err.empty()) {
            err = write_scale_report(o, rows, scales);
        }
        if (!err.empty()) {
            std::fprintf(stderr, "pravaha-bench: %s\n", err.c_str());
            return 1;
        }
        std::printf("report: %s\n", o.report.c_str());
    }
    if (!o.json.empty()) {
        FILE* j = open_json(o);
        if (j == nullptr) {
            return 1;
        }
        std::fprintf(
            j,
            "{\"system\":\"pravaha\",\"mode\":\"%s\",\"bench_mode\":\"scale\",\"writers\":%llu,"
            "\"rate\":%llu,\"target\":%u,\"factor\":%u,\"event_size\":%llu,\"events\":%llu,"
            "\"failed\":%llu,\"scales\":%zu,\"splits\":%zu,\"merges\":%zu,"
            "\"final_segments\":%zu,\"first_over_target_s\":%d,\"time_to_first_split_s\":%.3f,"
            "\"p99_us\":%.0f,\"p99_during_scale_us\":%.0f,\"p99_outside_scale_us\":%.0f,"
            "\"events_during_scale\":%llu,\"compare_segments\":%zu,"
            "\"scaled_events_per_s\":%.1f,\"fixed_events_per_s\":%.1f,\"compare_ratio\":%.4f}\n",
            contract.c_str(), static_cast<unsigned long long>(o.writers),
            static_cast<unsigned long long>(o.rate), o.target, o.factor,
            static_cast<unsigned long long>(o.event_size),
            static_cast<unsigned long long>(all.count),
            static_cast<unsigned long long>(rs.failed.load()), scales.size(), splits, merges,
            final_segments, over ? static_cast<int>(*over) : -1, to_split, all.p99, sd.p99, so.p99,
            static_cast<unsigned long long>(sd.count), cmp ? cmp->segments : 0,
            cmp ? median(cmp->scaled) : 0.0, cmp ? median(cmp->fixed) : 0.0,
            cmp ? cmp->ratio() : 0.0);
        std::fclose(j);
    }
    return rc;
}

}  // namespace pravaha::bench
