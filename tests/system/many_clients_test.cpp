// Thousands of concurrent clients against real nodes: pravaha-bench processes write with
// payloads that name their writer and event number ("TAG w<writer> n<event> "), one event in
// flight per writer; a reader then checks that every event is stored exactly once and in order.

#include "client/client.hpp"

#include "tests/support/node_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/system/system_support.hpp"
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

using namespace pravaha;

#ifndef PRAVAHA_BENCH_BIN
#error "PRAVAHA_BENCH_BIN must name the pravaha-bench binary"
#endif

namespace {

constexpr uint64_t keys_per_writer = 4;

// One pravaha-bench process: `writers` writers of `events` events in all (or for `duration_s`).
struct bench_process {
    std::string tag;
    uint64_t writers = 0;
    uint64_t events = 0;
    uint64_t duration_s = 0;
};

// What a pravaha-bench process reported.
struct bench_outcome {
    int exit_code = -1;
    std::string output;  // its stdout and stderr
    std::string json;    // its --json summary

    // A number of the JSON summary (NaN if missing).
    double number(const std::string& key) const { return test::json_number(json, key); }
};

// Starts every process at once (each in the background of one shell) and waits for all.
std::vector<bench_outcome> run_together(const std::vector<bench_process>& procs,
                                        const std::string& endpoint,
                                        const std::string& dir) {
    std::string cmd;
    for (const auto& p : procs) {
        auto base = dir + "/" + p.tag;
        cmd += fmt::format(
            "({} write --endpoint {} --stream sys/events --writers {} {} {} --warmup 0 --window 1 "
            "--keys {} --event-size 40 --id-prefix {} --quiet --json {}.json > {}.txt 2>&1; "
            "echo $? > {}.rc) & ",
            PRAVAHA_BENCH_BIN, endpoint, p.writers, p.duration_s > 0 ? "--duration" : "--events",
            p.duration_s > 0 ? p.duration_s : p.events, keys_per_writer, p.tag, base, base, base);
    }
    cmd += "wait";
    std::string ignored;
    test::run_command(cmd, ignored);
    std::vector<bench_outcome> out;
    for (const auto& p : procs) {
        auto base = dir + "/" + p.tag;
        bench_outcome o;
        auto rc = test::read_text(base + ".rc");
        o.exit_code = rc.empty() ? -1 : std::atoi(rc.c_str());
        o.output = test::read_text(base + ".txt");
        o.json = test::read_text(base + ".json");
        out.push_back(std::move(o));
    }
    return out;
}

// Checks one process's report: it succeeded, nothing failed, every writer was acknowledged
// within `first_ack_s` of the start; returns the events it had acknowledged.
uint64_t check_outcome(const bench_process& p, const bench_outcome& o, double first_ack_s) {
    INFO("pravaha-bench " << p.tag << " (" << p.writers << " writers): " << o.output);
    CHECK(o.exit_code == 0);
    CHECK(o.number("failed") == 0);
    CHECK(o.number("writers_progressed") == static_cast<double>(p.writers));
    CHECK(o.number("slowest_first_ack_s") < first_ack_s);
    if (p.duration_s == 0) {
        CHECK(o.number("events") == static_cast<double>(p.events));
    }
    auto n = o.number("events");
    return n == n ? static_cast<uint64_t>(n) : 0;
}

// Reads sys/events from the head and checks: every event is one of the benches' (its tag, writer
// and number parse), appears exactly once, per (tag, writer, key) in the order written, and the
// total is `acked` (each process's acknowledged events; none failed).
void verify_once_in_order(client::client_factory& f, uint64_t acked) {
    std::map<std::tuple<std::string, uint64_t, uint64_t>, int64_t> last;  // (tag, w, key) -> n
    std::map<std::tuple<std::string, uint64_t, uint64_t>, int> seen;      // (tag, w, n) -> count
    uint64_t total = 0;
    uint64_t unparsed = 0;
    uint64_t out_of_order = 0;
    test::read_all(f, [&](const std::string& payload) {
        ++total;
        char tag[32] = {};
        unsigned long long w = 0;
        unsigned long long n = 0;
        if (std::sscanf(payload.c_str(), "%31s w%llu n%llu ", tag, &w, &n) != 3) {
            ++unparsed;
            return;
        }
        ++seen[{tag, w, n}];
        auto& prev = last.try_emplace({tag, w, n % keys_per_writer}, -1).first->second;
        if (static_cast<int64_t>(n) <= prev) {
            ++out_of_order;
        }
        prev = static_cast<int64_t>(n);
    });
    uint64_t duplicates = 0;
    for (const auto& [id, count] : seen) {
        duplicates += static_cast<uint64_t>(count - 1);
    }
    CAPTURE(total, seen.size(), acked);
    CHECK(unparsed == 0);
    CHECK(duplicates == 0);
    CHECK(out_of_order == 0);
    CHECK(seen.size() == acked);
}

using test::connect;

}  // namespace

TEST_CASE("3000 writers in one process and 20 processes of 100 writers share one node",
          "[system][many]") {
    test::temp_dir data;
    test::temp_dir out;
    test::node_process node(data.path(), test::free_port());
    REQUIRE(node.start());
    auto f = connect(node.endpoint());
    REQUIRE(!f->streams().create_scope("sys"));
    REQUIRE(f->streams().create_stream("sys", "events", 16));
    std::vector<bench_process> procs{{"big", 3000, 30000, 0}};
    for (int i = 0; i < 20; ++i) {
        procs.push_back({"p" + std::to_string(i), 100, 2000, 0});
    }
    auto outcomes = run_together(procs, node.endpoint(), out.path());
    uint64_t acked = 0;
    for (size_t i = 0; i < procs.size(); ++i) {
        acked += check_outcome(procs[i], outcomes[i], 20.0);
    }
    WARN("3000 writers in one process: " << outcomes[0].output);
    verify_once_in_order(*f, acked);
    CHECK(node.stop() == 0);
}

TEST_CASE("1000 writers move to a new container leader after a SIGKILL without stalling",
          "[system][many][cluster]") {
    test::cluster3 c;
    test::temp_dir out;
    auto f = connect(c.node(1).endpoint());
    c.create_stream(*f, 4);
    std::vector<bench_process> procs{{"fo", 1000, 0, 12}};
    std::vector<bench_outcome> outcomes;
    std::thread bench([&] { outcomes = run_together(procs, c.node(1).endpoint(), out.path()); });
    struct join_on_exit {
        std::thread& t;
        ~join_on_exit() {
            if (t.joinable()) {
                t.join();
            }
        }
    } joiner{bench};
    std::this_thread::sleep_for(std::chrono::seconds(4));
    // Container 0 (Raft group 1) holds segments of the stream: its leader dies, whichever node
    // it is (also the one the benches connected to).
    auto victim = c.leader_of(1);
    REQUIRE(victim != 0);
    c.node(victim).kill_hard();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    REQUIRE(c.node(victim).start());
    bench.join();
    REQUIRE(outcomes.size() == 1);
    auto acked = check_outcome(procs[0], outcomes[0], 20.0);
    INFO(outcomes[0].output);
    // The longest any writer waited between two acknowledgements spans the failover: an
    // election and the writers' reconnection, not a cascade of request timeouts.
    CHECK(outcomes[0].number("longest_ack_gap_s") < 8.0);
    WARN("1000 writers through a leader kill of node "
         << victim << ": " << outcomes[0].output.substr(0, outcomes[0].output.find('\n')));
    REQUIRE(c.leader_of(1) != 0);
    REQUIRE(c.leader_of(2) != 0);
    verify_once_in_order(*f, acked);
}
