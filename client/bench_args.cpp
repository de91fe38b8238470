// pravaha-bench's command line on CLI11: the modes, every option with its range, and the checks
// of what goes together.

#include "client/bench_run.hpp"
#include "client/cli11_parse.hpp"
#include "schema/text.hpp"

#include <CLI/App.hpp>
#include <CLI/Config.hpp>  // the ConfigBase every App holds (header-only definitions)
#include <CLI/Formatter.hpp>
#include <CLI/Validators.hpp>
#include <unistd.h>

#include <cstdio>

namespace pravaha::bench {

namespace {

constexpr size_t column = 30;
constexpr size_t width = 98;

const char* modes_help =
    "Modes:\n"
    "  write        writers only; latency until the durable acknowledgement\n"
    "  read         catch-up: --events are written first (not measured), then --readers each\n"
    "               read the whole stream from its head\n"
    "  end-to-end   writers and readers following the tail at once; latency from write() to\n"
    "               the event's arrival at a reader (and of the acknowledgements)\n"
    "  connect      --clients clients, each its own connection (actor system), open at once;\n"
    "               each opens --client-writers writers (a session on every segment); all are\n"
    "               then held idle for --hold S seconds (a line \"holding ...\" says when), and\n"
    "               each writer writes one event (or each client without writers lists the\n"
    "               scopes): it fails if any call failed\n"
    "  scale        a new stream of 1 segment that scales by --target events/s per segment\n"
    "               (--factor), written at --rate events/s for --duration S (default 30):\n"
    "               events/s, p99 and segments per second, every scale, the time from the\n"
    "               first over-target second to the first split, p99 of writes during a scale\n"
    "               (its start to 1 s after its end) and outside; then closed-loop rounds of\n"
    "               --compare-s S (--compare-window in flight per writer) on it (its policy\n"
    "               frozen to fixed) and on a stream created with its final segment count, 3\n"
    "               of each, alternating. The node decides by its --scale-window-s and\n"
    "               --scale-cooldown-s (defaults 120 and 600 s): start it with short ones\n"
    "  txn          --writers threads each begin a transaction, write --txn-size events over\n"
    "               --keys keys, flush and commit, over and over; against the same events\n"
    "               written without a transaction (a flush every --txn-size), in 3 rounds of\n"
    "               each of --duration S (default 5), alternating: events/s of both and the\n"
    "               latency of begin, of commit (after the flush, until visible) and of a whole\n"
    "               transaction";

/// A whole non-negative number in decimal (CLI11's own conversion would take "-1" as 2^64 - 1
/// and "010" as octal): leading zeros dropped.
const CLI::Validator whole_number(
    [](std::string& s) -> std::string {
        if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) {
            return "needs a non-negative whole number, got '" + s + "'";
        }
        s.erase(0, std::min(s.find_first_not_of('0'), s.size() - 1));
        return {};
    },
    "");

/// Adds a numeric option between `lo` and `hi`.
template <typename T>
void number(CLI::App& app, const char* name, T& into, uint64_t lo, uint64_t hi, const char* help) {
    CLI::Range range(lo, hi);
    range.description(hi == UINT64_MAX ? (lo == 0 ? "" : "at least " + std::to_string(lo))
                                       : std::to_string(lo) + ".." + std::to_string(hi));
    app.add_option(name, into, wrap_words(help, width - column))
        ->type_name("N")
        ->check(whole_number)
        ->check(range);
}

std::string mistake(const options& o) {
    if (o.mode == "scale" && o.rate == 0) {
        return "scale offers a fixed load: give --rate (events/s over all writers)";
    }
    if (o.mode == "txn" && (o.rate > 0 || o.api != "facade")) {
        return "txn measures closed-loop rounds of the facade (no --rate, no --api)";
    }
    if (o.mode == "end-to-end" && o.event_size < 16) {
        return "end-to-end needs --event-size of at least 16 (the send time travels in it)";
    }
    if (!o.id_prefix.empty() && o.mode != "write") {
        return "--id-prefix applies to write mode";
    }
    if (!o.id_prefix.empty() && o.id_prefix.find(' ') != std::string::npos) {
        return "--id-prefix takes one word";
    }
    if (o.mode == "read" && o.duration_s > 0) {
        return "read measures a catch-up of --events; --duration does not apply";
    }
    if (o.api != "facade" && (o.mode != "write" || o.rate > 0 || !o.id_prefix.empty())) {
        return "--api " + o.api +
               " measures write mode in a closed loop (no --rate, no --id-prefix)";
    }
    if ((o.api == "frames") != (o.data_port != 0)) {
        return "--api frames writes to the node's data port: give --data-port with it (only)";
    }
    if (o.batch > 1 && o.api != "actor") {
        return "--batch applies to --api actor";
    }
    if ((!o.group.empty() || o.split_after_s > 0) && o.mode != "end-to-end") {
        return "--group and --split-after apply to end-to-end";
    }
    if (o.split_after_s > 0 && o.group.empty()) {
        return "--split-after measures group readers: give --group";
    }
    if (o.events < o.writers && o.duration_s == 0) {
        return "--events must be at least --writers";
    }
    return {};
}

}  // namespace

std::optional<int> parse_options(int argc, char** argv, options& o) {
    CLI::App app{"pravaha-bench: a load generator for a Pravaha node or cluster.", "pravaha-bench"};
    app.get_formatter()->column_width(column);
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.footer(std::string(modes_help) + "\n\n" +
               wrap_words("Acknowledgements are sent after the event is fsynced on the node "
                          "(standalone), or on a majority of its container's replicas (cluster); "
                          "the output's \"mode\" says which.",
                          width));
    auto text = [](const char* help) { return wrap_words(help, width - column); };
    app.add_option("MODE", o.mode, "write, read, end-to-end, connect, scale or txn")
        ->required()
        ->type_name("")
        ->check(CLI::IsMember({"write", "read", "end-to-end", "connect", "scale", "txn"}));
    app.add_option("--endpoint", o.endpoint, text("a node (default 127.0.0.1:9090)"))
        ->type_name("HOST:PORT")
        ->envname("PRAVAHA_ENDPOINT");
    app.add_option("--token", o.token, text("for a node started with --token-file"))
        ->type_name("TOKEN")
        ->envname("PRAVAHA_TOKEN");
    std::string stream;
    app.add_option("--stream", stream, text("created if missing (default bench/b<pid>)"))
        ->type_name("SCOPE/STREAM")
        ->check(
            [](const std::string& s) -> std::string {
                auto slash = s.find('/');
                return slash != std::string::npos && slash > 0 && slash + 1 < s.size()
                           ? ""
                           : "needs SCOPE/STREAM";
            },
            "");
    number(app, "--segments", o.segments, 1, 1000, "segments of a created stream (default 1)");
    number(app, "--writers", o.writers, 1, 10000,
           "concurrent writers, each its own writer id (default 1)");
    number(app, "--readers", o.readers, 1, 1000, "readers (read, end-to-end; default 1)");
    number(app, "--event-size", o.event_size, 1, 8 * 1024 * 1024,
           "payload bytes (default 100; at least 16 for end-to-end)");
    app.add_option("--payload", o.payload,
                   text("x (every byte 'x': RocksDB compresses it to nothing; default) or random "
                        "(incompressible, as most real payloads)"))
        ->check(CLI::IsMember({"x", "random"}));
    number(app, "--events", o.events, 1, UINT64_MAX, "events in total (default 100000)");
    number(app, "--duration", o.duration_s, 0, UINT64_MAX,
           "run S seconds instead of a number of events (write, end-to-end)");
    number(app, "--window", o.window, 1, UINT64_MAX,
           "events in flight per writer; 1 = one at a time (default 1, with --rate 100000)");
    number(app, "--rate", o.rate, 0, UINT64_MAX,
           "events/s over all writers, open loop (default 0: closed loop)");
    number(app, "--keys", o.keys, 1, UINT64_MAX, "routing keys per writer (default 16)");
    auto* warmup =
        app.add_option("--warmup", o.warmup, text("events per writer not measured (default 1000)"))
            ->type_name("N")
            ->check(whole_number);
    number(app, "--clients", o.clients, 1, 100000, "(connect) client connections (default 100)");
    number(app, "--client-writers", o.client_writers, 0, 100000,
           "(connect) writers per client (default 0)");
    number(app, "--hold", o.hold_s, 0, 100000,
           "(connect) seconds to hold the idle clients (default 10)");
    app.add_option("--id-prefix", o.id_prefix,
                   text("(write) each payload starts with \"TAG w<writer> n<event> \", so that a "
                        "reader can check every event is stored exactly once"))
        ->type_name("TAG");
    app.add_option("--json", o.json, text("also write the results as one JSON object"))
        ->type_name("FILE");
    app.add_option("--report", o.report,
                   text("latency histogram and latency over time as CSV (and SVG plots where "
                        "gnuplot is installed)"))
        ->type_name("DIR");
    app.add_option("--api", o.api,
                   text("(write) the blocking facade's writers (default), the actor API's (a "
                        "driver actor per writer, --window events in flight) or raw frames "
                        "on the node's data port (see --data-port)"))
        ->type_name("facade|actor|frames")
        ->check(CLI::IsMember({"facade", "actor", "frames"}));
    app.add_option("--transport", o.transport,
                   text("how the client library's writers send appends: over the node's data "
                        "port when it has one (data, the default) or over the CAF connection "
                        "only (caf)"))
        ->type_name("data|caf")
        ->check(CLI::IsMember({"data", "caf"}));
    number(app, "--data-port", o.data_port, 1, 65535,
           "(--api frames) the node's --data-port: one thread writes every writer's events on "
           "one connection in the data path's frames, without the client library (what the "
           "node's data path costs with a client that costs almost nothing)");
    number(app, "--batch", o.batch, 1, 100000,
           "(--api actor) events per write request (default 1: single writes; more: batch "
           "writes, each answered once). CAF 0.17 keeps an actor's pending requests in a flat "
           "table (O(n) per answer): above ~1,000 requests in flight per actor, batch");
    number(app, "--target", o.target, 1, UINT32_MAX,
           "(scale) events/s per segment of the policy (default 1000)");
    number(app, "--factor", o.factor, 2, 1000, "(scale) parts of a split at most (default 2)");
    number(app, "--compare-s", o.compare_s, 0, 100000,
           "(scale) seconds of each comparison round (default 5; 0: none)");
    number(app, "--compare-window", o.compare_window, 1, UINT64_MAX,
           "(scale) events in flight per writer in the comparison (default 16)");
    app.add_option("--group", o.group,
                   text("(end-to-end) the readers join reader group G, created over the stream "
                        "from its tail (an existing G with another start: group_exists); each "
                        "reads its share"))
        ->type_name("G")
        ->check([](const std::string& s) { return s.empty() ? "needs a name" : ""; }, "");
    number(app, "--split-after", o.split_after_s, 1, 3600,
           "(end-to-end --group) splits the stream's first segment after S seconds and "
           "reports when its successors' first event was read");
    number(app, "--txn-size", o.txn_size, 1, 1000000, "(txn) events per transaction (default 100)");
    app.add_flag("--quiet", o.quiet, "no progress line");

    o.stream = "b" + std::to_string(::getpid());
    if (auto code =
            parse_command_line(app, argc, argv, "pravaha-bench", [](const CLI::ParseError& e) {
                return usage_words{e.what(), "pravaha-bench --help"};
            })) {
        return code;
    }
    if (!stream.empty()) {
        auto slash = stream.find('/');
        o.scope = stream.substr(0, slash);
        o.stream = stream.substr(slash + 1);
    }
    o.warmup_given = warmup->count() > 0;
    if (o.mode == "scale") {
        o.duration_s = o.duration_s > 0 ? o.duration_s : 30;
        o.warmup = o.warmup_given ? o.warmup : 0;
    }
    if (o.mode == "txn") {
        o.duration_s = o.duration_s > 0 ? o.duration_s : 5;
    }
    if (o.window == 0) {
        o.window = o.rate > 0 ? 100000 : 1;
    }
    if (auto what = mistake(o); !what.empty()) {
        std::fputs(usage_failure("pravaha-bench", what, "pravaha-bench --help").c_str(), stderr);
        return 2;
    }
    return std::nullopt;
}

}  // namespace pravaha::bench
