// pravaha-bench txn: transactions of --txn-size events against the same events written without
// one, in alternating rounds of --duration seconds on the same stream. Each of --writers threads
// repeats: begin a transaction, write --txn-size events over --keys keys (pipelined), flush,
// commit. A plain round writes the same events with a writer and flushes after every
// --txn-size. Events/s per round; the latencies of begin, of commit (from the call, after the
// flush, to its answer: every event visible) and of a whole transaction (begin to commit answer).

#include "client/bench_run.hpp"
#include "client/bench_stats.hpp"
#include "client/client.hpp"
#include "schema/errc.hpp"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace pravaha::bench {
namespace {

constexpr int rounds = 3;  // of each kind, alternating: plain, txn, plain, txn, ...

// The latency samples of the transaction rounds.
struct txn_samples {
    std::vector<sample> begin, commit, whole;
};

struct round_result {
    double events_per_s = 0;
    uint64_t failed = 0;
    std::string first_error;
};

uint32_t us_since(bench_clock::time_point t) {
    return static_cast<uint32_t>(since(t) / 1000);
}

// One writer thread of a round: transactions (or plain batches) until the deadline.
void round_writer(client::client_factory& f,
                  const options& o,
                  bool txn,
                  uint64_t writer,
                  bench_clock::time_point deadline,
                  std::atomic<uint64_t>& events,
                  run_state& rs,
                  txn_samples& mine) {
    std::string payload(o.event_size, 'x');
    std::vector<std::string> keys;
    keys.reserve(o.keys);
    for (uint64_t k = 0; k < o.keys; ++k) {
        keys.push_back(fmt::format("w{}-k{}", writer, k));
    }
    std::unique_ptr<client::event_writer> plain;
    if (!txn) {
        auto w = f.create_writer(o.scope, o.stream);
        if (!w) {
            rs.error(w.error());
            return;
        }
        plain = std::move(*w);
    }
    auto at_ms = [&] { return static_cast<uint32_t>(since(rs.start) / 1000000); };
    while (bench_clock::now() < deadline) {
        auto t0 = bench_clock::now();
        std::unique_ptr<client::transaction> t;
        if (txn) {
            auto b = f.begin_transaction(o.scope, o.stream);
            if (!b) {
                rs.error(b.error());
                return;
            }
            t = std::move(*b);
            mine.begin.push_back({at_ms(), us_since(t0)});
        }
        for (uint64_t i = 0; i < o.txn_size; ++i) {
            const auto& key = keys[i % keys.size()];
            auto err = txn ? t->write(key, payload) : plain->write(key, payload);
            if (err) {
                rs.error(err);
                return;
            }
        }
        auto err = txn ? t->flush() : plain->flush();
        if (err) {
            rs.error(err);
            return;
        }
        if (txn) {
            auto c0 = bench_clock::now();
            auto rec = t->commit();
            if (!rec) {
                rs.error(rec.error());
                return;
            }
            mine.commit.push_back({at_ms(), us_since(c0)});
            mine.whole.push_back({at_ms(), us_since(t0)});
        }
        events.fetch_add(o.txn_size);
    }
    if (plain) {
        if (auto err = plain->close()) {
            rs.error(err);
        }
    }
}

round_result run_round(client::client_factory& f, const options& o, bool txn, txn_samples& all) {
    run_state rs;
    rs.start = bench_clock::now();
    std::atomic<uint64_t> events{0};
    std::vector<txn_samples> per(o.writers);
    auto deadline = rs.start + std::chrono::seconds(o.duration_s);
    {
        std::vector<std::jthread> threads;
        threads.reserve(o.writers);
        for (uint64_t w = 0; w < o.writers; ++w) {
            threads.emplace_back(
                [&, w] { round_writer(f, o, txn, w, deadline, events, rs, per[w]); });
        }
    }
    for (auto& p : per) {
        all.begin.insert(all.begin.end(), p.begin.begin(), p.begin.end());
        all.commit.insert(all.commit.end(), p.commit.begin(), p.commit.end());
        all.whole.insert(all.whole.end(), p.whole.begin(), p.whole.end());
    }
    round_result r;
    r.events_per_s =
        static_cast<double>(events.load()) / (static_cast<double>(since(rs.start)) / 1e9);
    r.failed = rs.failed.load();
    r.first_error = rs.first_error;
    return r;
}

double ms(double us) {
    return us / 1000.0;
}

}  // namespace

int run_txn(client::client_factory& f, const options& o, const std::string& contract) {
    std::vector<double> plain;
    std::vector<double> txn;
    txn_samples samples;
    for (int r = 0; r < 2 * rounds; ++r) {
        bool is_txn = r % 2 == 1;
        auto res = run_round(f, o, is_txn, samples);
        if (res.failed > 0) {
            std::printf("failed: %s round %d: %s\n", is_txn ? "transaction" : "plain", r / 2 + 1,
                        res.first_error.c_str());
            return 1;
        }
        (is_txn ? txn : plain).push_back(res.events_per_s);
        if (!o.quiet) {
            std::fprintf(stderr, "round %d/%d %s: %.0f events/s\n", r + 1, 2 * rounds,
                         is_txn ? "transactions" : "plain", res.events_per_s);
        }
    }
    auto b = summarize(samples.begin);
    auto c = summarize(samples.commit);
    auto w = summarize(samples.whole);
    double ratio = median(plain) > 0 ? median(txn) / median(plain) : 0;
    std::printf(
        "txn (%s), %llu writers, transactions of %llu events of %llu B over %llu keys, %d rounds "
        "of %llu s each:\n"
        "  plain %.0f events/s [%s], transactions %.0f events/s [%s], ratio %.3f\n"
        "  %llu transactions: begin p50 %.2f ms p99 %.2f ms; commit p50 %.2f ms p99 %.2f ms; "
        "begin to commit p50 %.2f ms p99 %.2f ms\n",
        contract.c_str(), static_cast<unsigned long long>(o.writers),
        static_cast<unsigned long long>(o.txn_size), static_cast<unsigned long long>(o.event_size),
        static_cast<unsigned long long>(o.keys), rounds,
        static_cast<unsigned long long>(o.duration_s), median(plain), list_of(plain).c_str(),
        median(txn), list_of(txn).c_str(), ratio, static_cast<unsigned long long>(c.count),
        ms(b.p50), ms(b.p99), ms(c.p50), ms(c.p99), ms(w.p50), ms(w.p99));
    if (!o.json.empty()) {
        FILE* j = open_json(o);
        if (j == nullptr) {
            return 1;
        }
        std::fprintf(j,
                     "{\"system\":\"pravaha\",\"mode\":\"%s\",\"bench_mode\":\"txn\","
                     "\"writers\":%llu,\"txn_size\":%llu,\"event_size\":%llu,\"keys\":%llu,"
                     "\"plain_events_per_s\":%.1f,\"txn_events_per_s\":%.1f,\"ratio\":%.4f,"
                     "\"transactions\":%llu,\"begin_p50_us\":%.0f,\"begin_p99_us\":%.0f,"
                     "\"commit_p50_us\":%.0f,\"commit_p99_us\":%.0f,\"txn_p50_us\":%.0f,"
                     "\"txn_p99_us\":%.0f}\n",
                     contract.c_str(), static_cast<unsigned long long>(o.writers),
                     static_cast<unsigned long long>(o.txn_size),
                     static_cast<unsigned long long>(o.event_size),
                     static_cast<unsigned long long>(o.keys), median(plain), median(txn), ratio,
                     static_cast<unsigned long long>(c.count), b.p50, b.p99, c.p50, c.p99, w.p50,
                     w.p99);
        std::fclose(j);
    }
    return 0;
}

}  // namespace pravaha::bench
