#pragma once

// What pravaha-bench's runs share: the options and the state a run measures into, so that the
// facade's writers (bench_main.cpp) and the actor API's (bench_actor.cpp) record alike.

#include "client/bench_stats.hpp"
#include "schema/errc.hpp"
#include "schema/ids.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace pravaha::client {
class client_factory;
}

namespace pravaha::bench {

using bench_clock = std::chrono::steady_clock;

struct options {
    std::string mode;
    std::string api = "facade";  // or "actor", or "frames" (write mode, closed loop)
    uint64_t data_port = 0;      // frames: the node's --data-port
    std::string transport =
        "data";          // facade and actor: "data" (the node's data port if any) or "caf"
    uint64_t batch = 1;  // actor API: events per write request
    std::string endpoint = "127.0.0.1:9090";
    std::string token;  ///< for a node with --token-file
    std::string scope = "bench";
    std::string stream;
    uint32_t segments = 1;
    uint64_t writers = 1;
    uint64_t readers = 1;
    uint64_t event_size = 100;
    std::string payload = "x";  ///< "x" (every byte 'x') or "random" (incompressible)
    uint64_t events = 100000;
    uint64_t duration_s = 0;
    uint64_t window = 0;  // 0: the default of the loop (1 closed, 100000 open)
    uint64_t rate = 0;
    uint64_t keys = 16;
    uint64_t warmup = 1000;
    bool warmup_given = false;
    std::string id_prefix;
    uint64_t clients = 100;
    uint64_t client_writers = 0;
    uint64_t hold_s = 10;
    std::string json;
    std::string report;
    bool quiet = false;
    // scale mode: the stream's events policy and the closed-loop comparison after the run
    uint32_t target = 1000;
    uint32_t factor = 2;
    uint64_t compare_s = 5;
    uint64_t compare_window = 16;
    // end-to-end with a reader group: its name (created at the stream's tail), and a split of
    // the stream's first segment after this many seconds (0: none)
    std::string group;
    uint64_t split_after_s = 0;
    // txn mode: events per transaction
    uint64_t txn_size = 100;
};

/// Parses pravaha-bench's command line into `o` (bench_args.cpp, on CLI11): an exit code when it
/// is done (help: 0, a usage error: 2), else nullopt with every default applied.
std::optional<int> parse_options(int argc, char** argv, options& o);

/// Every event's payload of a run: `event_size` bytes of 'x', which RocksDB's compression shrinks
/// to almost nothing (cheap flushes and compactions), or of pseudo-random bytes (the same in
/// every run), which it cannot shrink, as most real payloads (already compressed or encoded).
inline std::string make_payload(const options& o) {
    if (o.payload != "random") {
        return std::string(o.event_size, 'x');
    }
    std::string p(o.event_size, '\0');
    uint64_t x = 0x9e3779b97f4a7c15ULL;  // xorshift64: fixed seed, no OS randomness
    for (auto& c : p) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c = static_cast<char>(x >> 56);
    }
    return p;
}

inline int64_t since(bench_clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(bench_clock::now() - start).count();
}

// What a run measures, shared by its threads.
struct run_state {
    bench_clock::time_point start;
    bench::histogram live;  // the headline metric, for the progress line
    std::atomic<uint64_t> done_ops{0};
    std::atomic<uint64_t> failed{0};
    std::atomic<uint64_t> written{0};  // events acknowledged or failed (end-to-end readers)
    std::atomic<bool> writers_done{false};
    std::atomic<uint64_t> writers_progressed{0};  // writers with a measured acknowledgement
    double setup_s = 0;                           // until every writer was created
    std::atomic<uint64_t> readers_ready{0};
    // The measured window (ns since start): the first measured send to the last completion.
    std::atomic<int64_t> first_measured{INT64_MAX};
    std::atomic<int64_t> last_done{0};
    // Fairness and stalls (ns): when the writers were released (since start), the longest any
    // writer waited from then for its first acknowledgement, and the longest gap between two
    // acknowledgements of one writer.
    std::atomic<int64_t> go_ns{0};
    std::atomic<int64_t> slowest_first_ack{0};
    std::atomic<int64_t> longest_ack_gap{0};
    // Group readers: events they read together; when the split (--split-after) was answered and
    // when a reader first handed out an event of a successor (ns since start; -1: not yet).
    std::atomic<uint64_t> group_seen{0};
    std::atomic<int64_t> split_done{-1};
    std::atomic<int64_t> first_successor{-1};

    static void raise(std::atomic<int64_t>& to, int64_t ns) {
        auto cur = to.load();
        while (ns > cur && !to.compare_exchange_weak(cur, ns)) {
        }
    }

    void measured_send(int64_t ns) {
        auto cur = first_measured.load();
        while (ns < cur && !first_measured.compare_exchange_weak(cur, ns)) {
        }
    }
    void completed(int64_t ns) { raise(last_done, ns); }
    // A writer's acknowledgement at `now_ns` (since start), its previous one at `last_ack_ns`
    // (-1: none yet): the wait for the first one, or the gap since the previous one.
    void acked(int64_t& last_ack_ns, int64_t now_ns) {
        if (last_ack_ns < 0) {
            raise(slowest_first_ack, now_ns - go_ns.load());
        } else {
            raise(longest_ack_gap, now_ns - last_ack_ns);
        }
        last_ack_ns = now_ns;
    }
    double window_s(double fallback) const {
        auto a = first_measured.load();
        auto b = last_done.load();
        return a < b ? static_cast<double>(b - a) / 1e9 : fallback;
    }
    std::mutex mutex;  // samples, first_error
    std::vector<bench::sample> write_samples;
    std::vector<bench::sample> read_samples;
    std::string first_error;

    void error(const caf::error& e) {
        failed.fetch_add(1);
        std::lock_guard<std::mutex> g(mutex);
        if (first_error.empty()) {
            first_error = render_error(e);
        }
    }
};

/// Runs `o.writers` writers of the facade on threads, released together (each created first),
/// for `o.events` in all or `o.duration_s` seconds; `headline`: their latency is the run's live
/// metric. Records into `rs` (its `start` must be set).
void run_writers(client::client_factory& f, const options& o, run_state& rs, bool headline);

/// Opens --json FILE for writing; on failure says so on stderr and returns nullptr.
FILE* open_json(const options& o);

/// Scale mode: a stream with an events policy under a fixed load (see bench_scale.cpp).
/// Returns the exit code.
int run_scale(client::client_factory& f, const options& o, const std::string& contract);

/// Txn mode: transactions against plain writes of the same events, in alternating rounds (see
/// bench_txn.cpp). Returns the exit code.
int run_txn(client::client_factory& f, const options& o, const std::string& contract);

/// Write mode through the actor API (--api actor): one driver actor per writer in an actor system
/// of this process, closed loop with --window events in flight each, --batch events per request.
/// Records into `rs` as the facade's writers do.
void run_actor_writers(const options& o, run_state& rs);
/// --api frames (bench_frames.cpp): every writer on one connection to the node's data port, one
/// thread, the data path's frames only; writer w writes to segments[w mod size].
void run_frame_writers(const options& o, run_state& rs, const std::vector<segment_key>& segments);

}  // namespace pravaha::bench
