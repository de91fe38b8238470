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

size_t rank_index(size_t n, double p) {
    auto idx = static_cast<size_t>(std::llround(p / 100.0 * static_cast<double>(n - 1)));
    return std::min(idx, n - 1);
}

namespace {

double at_rank(const std::vector<sample>& sorted, double p) {
    return sorted.empty() ? 0 : sorted[rank_index(sorted.size(), p)].latency_us;
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
        auto pick = [&lat](double p) { return lat[rank_index(lat.size(), p)]; };
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

namespace {

std::string xml_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            case '\'':
                out += "&apos;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// A step of 1, 2 or 5 times a power of ten that cuts `range` into about `parts` intervals.
double nice_step(double range, int parts) {
    double raw = range / parts;
    double mag = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0}) {
        if (raw <= m * mag) {
            return m * mag;
        }
    }
    return 10 * mag;
}

// A tick label: 1500 -> "1.5k", 2000000 -> "2M".
std::string tick_label(double v) {
    double a = std::fabs(v);
    if (a >= 1e6) {
        return fmt::format("{:g}M", v / 1e6);
    }
    if (a >= 1e3) {
        return fmt::format("{:g}k", v / 1e3);
    }
    return fmt::format("{:g}", v);
}

}  // namespace

std::string write_svg(const std::string& path,
                      const std::string& title,
                      const std::string& xlabel,
                      const std::vector<plot_panel>& panels,
                      const std::vector<std::pair<double, double>>& bands) {
    constexpr double width = 900, left = 80, right = 170, top = 40, panel_h = 200, gap = 30;
    constexpr double bottom = 45;
    const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
    double xmin = INFINITY, xmax = -INFINITY;
    for (const auto& p : panels) {
        for (const auto& l : p.lines) {
            for (auto [x, y] : l.points) {
                xmin = std::min(xmin, x);
                xmax = std::max(xmax, x);
            }
        }
    }
    if (!(xmin < xmax)) {
        xmin = 0;
        xmax = 1;
    }
    double plot_w = width - left - right;
    double height = top + static_cast<double>(panels.size()) * (panel_h + gap) - gap + bottom;
    auto sx = [&](double x) { return left + (x - xmin) / (xmax - xmin) * plot_w; };
    std::string svg = fmt::format(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{0}' height='{1}' "
        "viewBox='0 0 {0} {1}' font-family='sans-serif' font-size='12'>\n"
        "<rect width='100%' height='100%' fill='white'/>\n"
        "<text x='{2}' y='22' font-size='15' text-anchor='middle'>{3}</text>\n",
        width, height, left + plot_w / 2, xml_escape(title));
    double xstep = nice_step(xmax - xmin, 10);
    for (size_t pi = 0; pi < panels.size(); ++pi) {
        const auto& p = panels[pi];
        double y0 = top + static_cast<double>(pi) * (panel_h + gap);
        double ymax = 0;
        for (const auto& l : p.lines) {
            for (auto [x, y] : l.points) {
                ymax = std::max(ymax, y);
            }
        }
        double ystep = nice_step(ymax > 0 ? ymax : 1, 4);
        ymax = std::ceil((ymax > 0 ? ymax : 1) / ystep) * ystep;
        auto sy = [&](double y) { return y0 + panel_h - y / ymax * panel_h; };
        for (auto [a, b] : bands) {
            double xa = sx(std::clamp(a, xmin, xmax));
            double xb = sx(std::clamp(b, xmin, xmax));
            svg += fmt::format(
                "<rect x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{:.1f}' fill='#fdd9a0' "
                "opacity='0.6'/>\n",
                xa, y0, std::max(1.0, xb - xa), panel_h);
        }
        for (double y = 0; y <= ymax + ystep / 2; y += ystep) {
            svg += fmt::format(
                "<line x1='{0:.1f}' x2='{1:.1f}' y1='{2:.1f}' y2='{2:.1f}' stroke='#ddd'/>"
                "<text x='{3:.1f}' y='{4:.1f}' text-anchor='end'>{5}</text>\n",
                left, left + plot_w, sy(y), left - 6, sy(y) + 4, tick_label(y));
        }
        for (double x = std::ceil(xmin / xstep) * xstep; x <= xmax + xstep / 1000; x += xstep) {
            svg += fmt::format(
                "<line x1='{0:.1f}' x2='{0:.1f}' y1='{1:.1f}' y2='{2:.1f}' stroke='#eee'/>\n",
                sx(x), y0, y0 + panel_h);
            if (pi + 1 == panels.size()) {
                svg += fmt::format("<text x='{:.1f}' y='{:.1f}' text-anchor='middle'>{}</text>\n",
                                   sx(x), y0 + panel_h + 16, tick_label(x));
            }
        }
        svg += fmt::format(
            "<rect x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{:.1f}' fill='none' "
            "stroke='#333'/>\n"
            "<text transform='translate({:.1f},{:.1f}) rotate(-90)' "
            "text-anchor='middle'>{}</text>\n",
            left, y0, plot_w, panel_h, 18.0, y0 + panel_h / 2, xml_escape(p.ylabel));
        for (size_t li = 0; li < p.lines.size(); ++li) {
            const auto& l = p.lines[li];
            const char* color = colors[li % std::size(colors)];
            std::string pts;
            for (auto [x, y] : l.points) {
                pts += fmt::format("{:.1f},{:.1f} ", sx(x), sy(y));
            }
            svg += fmt::format(
                "<polyline fill='none' stroke='{}' stroke-width='1.5' points='{}'/>\n"
                "<line x1='{:.1f}' x2='{:.1f}' y1='{:.1f}' y2='{:.1f}' stroke='{}' "
                "stroke-width='3'/><text x='{:.1f}' y='{:.1f}'>{}</text>\n",
                color, pts, left + plot_w + 10, left + plot_w + 30,
                y0 + 14 + 18 * static_cast<double>(li), y0 + 14 + 18 * static_cast<double>(li),
                color, left + plot_w + 35, y0 + 18 + 18 * static_cast<double>(li),
                xml_escape(l.name));
        }
    }
    svg += fmt::format("<text x='{:.1f}' y='{:.1f}' text-anchor='middle'>{}</text>\n</svg>\n",
                       left + plot_w / 2, height - 8, xml_escape(xlabel));
    FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) {
        return "cannot write " + path;
    }
    bool ok = std::fwrite(svg.data(), 1, svg.size(), f) == svg.size();
    ok = std::fclose(f) == 0 && ok;
    return ok ? "" : "cannot write " + path;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

std::string list_of(const std::vector<double>& v) {
    std::string out;
    for (double x : v) {
        out += fmt::format("{}{:.0f}", out.empty() ? "" : " ", x);
    }
    return out;
}

}  // namespace pravaha::bench
