#pragma once

/// Part of module `schema`: the node's metrics (issue 19), a small in-tree registry rendered in
/// the Prometheus text exposition format 0.0.4. Counters and histograms are updated lock-free
/// (atomics) from any thread; gauges are computed by a callback at scrape time; registration and
/// rendering take a mutex. Names follow Prometheus conventions: the `pravaha_` prefix is the
/// caller's, base units (seconds, bytes), counters end in `_total`. A family has one type and
/// one help text; each distinct label set is one series of it. A wrong name, a counter without
/// `_total`, or one family registered with two types are programmer errors (PRAVAHA_ASSERT);
/// label values are data and are escaped.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace pravaha::metrics {

/// Label names and values of one series, in the order given (rendered in that order).
using labels = std::vector<std::pair<std::string, std::string>>;

class counter {
public:
    void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
    uint64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> value_{0};
};

/// Fixed buckets (upper bounds, increasing), cumulative when rendered, plus `+Inf`.
class histogram {
public:
    explicit histogram(std::vector<double> bounds);
    void observe(double v);
    const std::vector<double>& bounds() const { return bounds_; }
    /// Per bucket (not cumulative), the last one for values above every bound.
    std::vector<uint64_t> counts() const;
    uint64_t count() const { return count_.load(std::memory_order_relaxed); }
    double sum() const;

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
    std::atomic<uint64_t> count_{0};
    std::atomic<uint64_t> sum_bits_{0};  // a double, added by compare-and-swap
};

/// Exponential bounds: `start`, `start * factor`, ... (`n` of them).
std::vector<double> exponential_bounds(double start, double factor, size_t n);
/// Bounds for latencies in seconds: 50 µs to about 6.5 s, doubling.
std::vector<double> latency_bounds();

class registry {
public:
    /// The counter of series (`name`, `l`); created at the first call. `name` ends in `_total`.
    counter& counter_of(const std::string& name, const std::string& help, const labels& l = {});
    /// The histogram of series (`name`, `l`) with `bounds` (the first call's bounds count).
    histogram& histogram_of(const std::string& name,
                            const std::string& help,
                            const std::vector<double>& bounds,
                            const labels& l = {});
    /// A gauge whose value `fn` computes at each scrape (called under the registry's mutex, from
    /// the scraping thread: it must be thread-safe and quick). Registering the same series again
    /// replaces its function.
    void gauge(const std::string& name,
               const std::string& help,
               const labels& l,
               std::function<double()> fn);
    /// A counter whose value `fn` computes at each scrape (a total kept elsewhere, e.g. the
    /// process's CPU seconds); as `gauge` otherwise. `name` ends in `_total`.
    void counter_fn(const std::string& name,
                    const std::string& help,
                    const labels& l,
                    std::function<double()> fn);
    /// Removes the gauge of series (`name`, `l`) (its owner is gone).
    void remove_gauge(const std::string& name, const labels& l);
    /// Every family in name order, in the text format 0.0.4 (Content-Type
    /// `text/plain; version=0.0.4`).
    std::string render() const;

private:
    enum class kind { counter, gauge, histogram };
    struct family {
        kind type = kind::counter;
        std::string help;
        std::map<labels, std::unique_ptr<counter>> counters;
        std::map<labels, std::unique_ptr<histogram>> histograms;
        std::map<labels, std::function<double()>> gauges;  ///< or scrape-time counters
    };
    family& family_of(const std::string& name, const std::string& help, kind type);

    mutable std::mutex mutex_;
    std::map<std::string, family> families_;
};

/// The process's registry (the node's metrics port renders it).
registry& global();

/// A sample value as the text format writes it: integers without a fraction, `NaN`, `+Inf`,
/// `-Inf`, else the shortest text that reads back as the same double.
std::string format_value(double v);
/// A label value escaped for the text format (backslash, double quote, line feed).
std::string escape_label_value(const std::string& v);
/// A help text escaped for the text format (backslash, line feed).
std::string escape_help(const std::string& v);
/// Whether `name` is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*).
bool valid_metric_name(const std::string& name);
/// Whether `name` is a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__").
bool valid_label_name(const std::string& name);

}  // namespace pravaha::metrics
