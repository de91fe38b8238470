#include "schema/metrics.hpp"

#include "schema/logging.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace pravaha::metrics {

namespace {

double from_bits(uint64_t bits) {
    double d = 0;
    std::memcpy(&d, &bits, sizeof d);
    return d;
}

uint64_t to_bits(double d) {
    uint64_t bits = 0;
    std::memcpy(&bits, &d, sizeof bits);
    return bits;
}

void check_counter_name(const std::string& name) {
    PRAVAHA_ASSERT(name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0,
                   "counter {} must end in _total", name);
}

// [a-zA-Z_] first, then also digits; `colon` allows ':' anywhere.
bool valid_name(const std::string& name, bool colon) {
    if (name.empty()) {
        return false;
    }
    for (size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok) {
            return false;
        }
    }
    return true;
}

void check_labels(const std::string& name, const labels& l) {
    for (const auto& [k, v] : l) {
        PRAVAHA_ASSERT(valid_label_name(k) && k != "le", "metric {}: bad label name '{}'", name, k);
    }
}

// `{a="x",b="y"}` with `extra` (a histogram's le) last; empty without labels.
std::string label_text(const labels& l, const std::string& extra = {}) {
    if (l.empty() && extra.empty()) {
        return {};
    }
    std::string out = "{";
    for (const auto& [k, v] : l) {
        if (out.size() > 1) {
            out += ',';
        }
        out += k + "=\"" + escape_label_value(v) + '"';
    }
    if (!extra.empty()) {
        if (out.size() > 1) {
            out += ',';
        }
        out += extra;
    }
    return out + "}";
}

}  // namespace

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
    PRAVAHA_ASSERT(std::is_sorted(bounds_.begin(), bounds_.end()) &&
                       std::adjacent_find(bounds_.begin(), bounds_.end()) == bounds_.end(),
                   "histogram bounds must increase");
    for (size_t i = 0; i <= bounds_.size(); ++i) {
        buckets_[i].store(0, std::memory_order_relaxed);
    }
}

void histogram::observe(double v) {
    auto i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                 bounds_.begin());  // the first bound >= v: le is inclusive
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    auto old = sum_bits_.load(std::memory_order_relaxed);
    while (!sum_bits_.compare_exchange_weak(old, to_bits(from_bits(old) + v),
                                            std::memory_order_relaxed)) {
    }
    count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> histogram::counts() const {
    std::vector<uint64_t> out(bounds_.size() + 1);
    for (size_t i = 0; i < out.size(); ++i) {
        out[i] = buckets_[i].load(std::memory_order_relaxed);
    }
    return out;
}

double histogram::sum() const {
    return from_bits(sum_bits_.load(std::memory_order_relaxed));
}

std::vector<double> exponential_bounds(double start, double factor, size_t n) {
    PRAVAHA_ASSERT(start > 0 && factor > 1 && n > 0, "bad exponential bounds");
    std::vector<double> out;
    out.reserve(n);
    for (double b = start; out.size() < n; b *= factor) {
        out.push_back(b);
    }
    return out;
}

std::vector<double> latency_bounds() {
    return exponential_bounds(50e-6, 2, 18);  // 50 µs .. 6.55 s
}

registry::family& registry::family_of(const std::string& name, const std::string& help, kind type) {
    PRAVAHA_ASSERT(valid_metric_name(name), "bad metric name '{}'", name);
    auto [it, fresh] = families_.try_emplace(name);
    if (fresh) {
        it->second.type = type;
        it->second.help = help;
    }
    PRAVAHA_ASSERT(it->second.type == type, "metric {} registered with two types", name);
    return it->second;
}

counter& registry::counter_of(const std::string& name, const std::string& help, const labels& l) {
    check_counter_name(name);
    check_labels(name, l);
    std::lock_guard<std::mutex> g(mutex_);
    auto& f = family_of(name, help, kind::counter);
    auto& c = f.counters[l];
    if (!c) {
        c = std::make_unique<counter>();
    }
    return *c;
}

histogram& registry::histogram_of(const std::string& name,
                                  const std::string& help,
                                  const std::vector<double>& bounds,
                                  const labels& l) {
    check_labels(name, l);
    std::lock_guard<std::mutex> g(mutex_);
    auto& f = family_of(name, help, kind::histogram);
    auto& h = f.histograms[l];
    if (!h) {
        h = std::make_unique<histogram>(bounds);
    }
    return *h;
}

void registry::gauge(const std::string& name,
                     const std::string& help,
                     const labels& l,
                     std::function<double()> fn) {
    check_labels(name, l);
    std::lock_guard<std::mutex> g(mutex_);
    family_of(name, help, kind::gauge).gauges[l] = std::move(fn);
}

void registry::counter_fn(const std::string& name,
                          const std::string& help,
                          const labels& l,
                          std::function<double()> fn) {
    check_counter_name(name);
    check_labels(name, l);
    std::lock_guard<std::mutex> g(mutex_);
    family_of(name, help, kind::counter).gauges[l] = std::move(fn);
}

void registry::remove_gauge(const std::string& name, const labels& l) {
    std::lock_guard<std::mutex> g(mutex_);
    auto it = families_.find(name);
    if (it != families_.end()) {
        it->second.gauges.erase(l);
    }
}

std::string registry::render() const {
    std::lock_guard<std::mutex> g(mutex_);
    std::string out;
    for (const auto& [name, f] : families_) {
        if (f.counters.empty() && f.histograms.empty() && f.gauges.empty()) {
            continue;  // every gauge of it was removed: no TYPE line without samples
        }
        static const char* const type_names[] = {"counter", "gauge", "histogram"};
        out += "# HELP " + name + ' ' + escape_help(f.help) + '\n';
        out += "# TYPE " + name + ' ' + type_names[static_cast<int>(f.type)] + '\n';
        for (const auto& [l, c] : f.counters) {
            out += name + label_text(l) + ' ' + std::to_string(c->value()) + '\n';
        }
        for (const auto& [l, fn] : f.gauges) {
            out += name + label_text(l) + ' ' + format_value(fn()) + '\n';
        }
        for (const auto& [l, h] : f.histograms) {
            // One consistent view: the buckets first; the count is their sum (observations that
            // land meanwhile show at the next scrape), so `+Inf` always equals `_count`.
            auto counts = h->counts();
            uint64_t cumulative = 0;
            for (size_t i = 0; i < counts.size(); ++i) {
                cumulative += counts[i];
                auto le = i < h->bounds().size() ? format_value(h->bounds()[i]) : "+Inf";
                out += name + "_bucket" + label_text(l, "le=\"" + le + '"') + ' ' +
                       std::to_string(cumulative) + '\n';
            }
            out += name + "_sum" + label_text(l) + ' ' + format_value(h->sum()) + '\n';
            out += name + "_count" + label_text(l) + ' ' + std::to_string(cumulative) + '\n';
        }
    }
    return out;
}

registry& global() {
    static registry r;
    return r;
}

std::string format_value(double v) {
    if (std::isnan(v)) {
        return "NaN";
    }
    if (std::isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
        return fmt::format("{}", static_cast<int64_t>(v));
    }
    return fmt::format("{}", v);  // the shortest text that reads back as v
}

std::string escape_label_value(const std::string& v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string escape_help(const std::string& v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

bool valid_metric_name(const std::string& name) {
    return valid_name(name, true);
}

bool valid_label_name(const std::string& name) {
    return name.rfind("__", 0) != 0 && valid_name(name, false);
}

}  // namespace pravaha::metrics
