#include "client/bench_stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

namespace pravaha::bench {

size_t histogram::index_of(uint64_t us) {
    if (us < 32) {
        return static_cast<size_t>(us);
    }
    int e = 63 - __builtin_clzll(us);
    auto idx = static_cast<size_t>(e - 4) * 32 + ((us >> (e - sub_bits)) & 31);
    return std::min(idx, buckets - 1);
}

uint64_t histogram::upper_of(size_t index) {
    if (index < 32) {
        return index;
    }
    int e = static_cast<int>(index / 32) + 4;
    uint64_t sub = index % 32;
    uint64_t lower = (32 + sub) << (e - sub_bits);
    return lower + (uint64_t{1} << (e - sub_bits)) - 1;
}

void histogram::record(uint64_t us) {
    counts_[index_of(us)].fetch_add(1, std::memory_order_relaxed);
    total_.fetch_add(1, std::memory_order_relaxed);
}

uint64_t histogram::percentile(double p) const {
    uint64_t total = 0;
    std::array<uint64_t, buckets> snap{};
    for (size_t i = 0; i < buckets; ++i) {
        snap[i] = counts_[i].load(std::memory_order_relaxed);
        total += snap[i];
    }
    if (total == 0) {
        return 0;
    }
    auto rank = static_cast<uint64_t>(p / 100.0 * static_cast<double>(total - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < buckets; ++i) {
        seen += snap[i];
        if (seen >= rank) {
            return upper_of(i);
        }
    }
    return upper_of(buckets - 1);
}

std::vector<std::pair<uint64_t, uint64_t>> histogram::nonempty() const {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    for (size_t i = 0; i < buckets; ++i) {
        if (auto c = counts_[i].load(std::memory_order_relaxed); c > 0) {
            out.emplace_back(upper_of(i), c);
        }
    }
    return out;
}

namespace {

double at_rank(const std::vector<sample>& sorted, double p) {
    if (sorted.empty()) {
        return 0;
    }
    auto idx =
        static_cast<size_t>(std::llround(p / 100.0 * static_cast<double>(sorted.size() - 1)));
    return sorted[std::min(idx, sorted.size() - 1)].latency_us;
}

bool have_gnuplot() {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): called after the run's threads are joined
    return std::system("command -v gnuplot >/dev/null 2>&1") == 0;
}

}  // namespace

summary summarize(std::vector<sample>& samples) {
    std::sort(samples.begin(), samples.end(),
              [](const sample& a, const sample& b) { return a.latency_us < b.latency_us; });
    summary s;
    s.count = samples.size();
    if (samples.empty()) {
        return s;
    }
    double sum = 0;
    for (const auto& x : samples) {
        sum += x.latency_us;
    }
    s.mean = sum / static_cast<double>(samples.size());
    s.p50 = at_rank(samples, 50);
    s.p95 = at_rank(samples, 95);
    s.p99 = at_rank(samples, 99);
    s.p999 = at_rank(samples, 99.9);
    s.max = samples.back().latency_us;
    return s;
}

std::string write_report(const std::string& dir,
                         const std::string& name,
                         const std::vector<sample>& samples) {
    auto path = [&](const char* what) { return fmt::format("{}/{}_{}", dir, name, what); };
    // The distribution: one row per distinct latency bucket of about 1 % width.
    FILE* h = std::fopen(path("histogram.csv").c_str(), "w");
    if (h == nullptr) {
        return "cannot write " + path("histogram.csv");
    }
    std::fprintf(h, "latency_us,count,cumulative_fraction\n");
    size_t i = 0;
    while (i < samples.size()) {
        auto v = samples[i].latency_us;
        auto bound = std::max<uint64_t>(v, v + v / 100);
        size_t j = i;
        while (j < samples.size() && samples[j].latency_us <= bound) {
            ++j;
        }
        std::fprintf(h, "%llu,%zu,%.6f\n",
                     static_cast<unsigned long long>(samples[j - 1].latency_us), j - i,
                     static_cast<double>(j) / static_cast<double>(samples.size()));
        i = j;
    }
    std::fclose(h);
    // Over time: samples are sorted by latency, so each second's list comes out sorted too.
    std::map<uint32_t, std::vector<uint32_t>> by_second;
    for (const auto& s : samples) {
        by_second[s.at_ms / 1000].push_back(s.latency_us);
    }
    FILE* t = std::fopen(path("over_time.csv").c_str(), "w");
    if (t == nullptr) {
        return "cannot write " + path("over_time.csv");
    }
    std::fprintf(t, "second,events,p50_us,p99_us,max_us\n");
    for (const auto& [sec, second_lat] : by_second) {
        const auto& lat = second_lat;  // a named reference: clang 14 cannot capture a binding
        auto pick = [&lat](double p) {
            return lat[std::min(lat.size() - 1,
                                static_cast<size_t>(std::llround(
                                    p / 100.0 * static_cast<double>(lat.size() - 1))))];
        };
        std::fprintf(t, "%u,%zu,%u,%u,%u\n", sec, lat.size(), pick(50), pick(99), lat.back());
    }
    std::fclose(t);
    if (!have_gnuplot()) {
        return "";
    }
    auto script = path("plots.gp");
    FILE* g = std::fopen(script.c_str(), "w");
    if (g == nullptr) {
        return "cannot write " + script;
    }
    std::fprintf(g,
                 "set datafile separator ','\nset terminal svg size 900,500\nset key top left\n"
                 "set logscale y\nset grid\n"
                 "set output '%s'\nset title '%s: latency over time'\n"
                 "set xlabel 'second'\nset ylabel 'latency (us)'\n"
                 "plot '%s' using 1:3 skip 1 with lines title 'p50', "
                 "'' using 1:4 skip 1 with lines title 'p99', "
                 "'' using 1:5 skip 1 with lines title 'max'\n"
                 "unset logscale y\nset logscale x\n"
                 "set output '%s'\nset title '%s: latency distribution'\n"
                 "set xlabel 'latency (us)'\nset ylabel 'fraction of events at or below'\n"
                 "plot '%s' using 1:3 skip 1 with lines title 'cumulative'\n",
                 path("over_time.svg").c_str(), name.c_str(), path("over_time.csv").c_str(),
                 path("distribution.svg").c_str(), name.c_str(), path("histogram.csv").c_str());
    std::fclose(g);
    auto cmd = fmt::format("gnuplot '{}' 2>/dev/null", script);
    if (std::system(cmd.c_str()) != 0) {  // NOLINT(concurrency-mt-unsafe): threads are joined
        return "gnuplot failed on " + script;
    }
    return "";
}

}  // namespace pravaha::bench
