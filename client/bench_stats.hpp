#pragma once

// Latency recording for pravaha-bench: a lock-free log-linear histogram (live p99 while the run
// goes on) and per-thread samples (exact percentiles, latency over time) merged at the end.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace pravaha::bench {

/// Log-linear histogram of microseconds: 32 sub-buckets per power of two (about 3 % resolution)
/// from 1 us to about 2^31 us. Safe to record from many threads while another reads it.
class histogram {
public:
    static constexpr int sub_bits = 5;
    static constexpr size_t buckets = 32 * 32;

    void record(uint64_t us);
    uint64_t count() const { return total_.load(std::memory_order_relaxed); }
    /// The upper bound of the bucket holding percentile p (0-100); 0 when empty.
    uint64_t percentile(double p) const;
    /// (bucket upper bound in us, count) for every non-empty bucket, ascending.
    std::vector<std::pair<uint64_t, uint64_t>> nonempty() const;

private:
    static size_t index_of(uint64_t us);
    static uint64_t upper_of(size_t index);
    std::array<std::atomic<uint64_t>, buckets> counts_{};
    std::atomic<uint64_t> total_{0};
};

/// One measured operation: when it was meant to start (ms since the run started) and how long it
/// took until its acknowledgement (or its arrival at a reader), in microseconds.
struct sample {
    uint32_t at_ms = 0;
    uint32_t latency_us = 0;
};

/// Exact percentiles of a set of samples.
struct summary {
    uint64_t count = 0;
    double p50 = 0, p95 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};

summary summarize(std::vector<sample>& samples);  // sorts by latency

/// The median of per-round figures (the upper one of an even count; 0 when empty).
double median(std::vector<double> v);
/// The figures as "a b c" (no decimals), for a line that shows every round.
std::string list_of(const std::vector<double>& v);

/// The index of percentile `p` (0-100) among `n` > 0 sorted values (nearest rank).
size_t rank_index(size_t n, double p);

/// Writes DIR/<name>_histogram.csv (latency_us,count,cumulative_fraction), DIR/<name>_over_time.csv
/// (second, events, p50_us, p99_us, max_us) and, where gnuplot is installed, DIR/<name>_*.svg.
/// Returns an error text, or "" on success. `samples` must be sorted by latency (summarize).
std::string write_report(const std::string& dir,
                         const std::string& name,
                         const std::vector<sample>& samples);

/// One line of a plot.
struct plot_line {
    std::string name;
    std::vector<std::pair<double, double>> points;  ///< (x, y), ascending x
};

/// One panel of a plot: its y-axis label and lines (y from 0).
struct plot_panel {
    std::string ylabel;
    std::vector<plot_line> lines;
};

/// Writes an SVG file (no tool needed) of `panels` stacked over one x axis, with `bands` (x
/// ranges) shaded across all of them. Returns an error text, or "" on success.
std::string write_svg(const std::string& path,
                      const std::string& title,
                      const std::string& xlabel,
                      const std::vector<plot_panel>& panels,
                      const std::vector<std::pair<double, double>>& bands);

}  // namespace pravaha::bench
