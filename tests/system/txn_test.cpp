// Transactions against real node processes: the CLI's contract, concurrent transactions written by
// separate processes, and commits cut short by a SIGKILL of the node or of the controller's leader.

#include "tests/system/cli_support.hpp"
#include "tests/system/system_support.hpp"

#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>

using namespace pravaha;
using namespace std::chrono_literals;

namespace {

using test::cli;
using test::has;
using test::lines;

// `txn begin` and its id (one token; REQUIREs success).
std::string begin_txn(const cli& c, const std::string& stream, const std::string& flags = "") {
    std::string out;
    REQUIRE(c.run("txn begin " + stream + " " + flags, out) == 0);
    auto ls = lines(out);
    REQUIRE(ls.size() == 1);
    REQUIRE(ls[0].size() == 16);
    return ls[0];
}

// Polls `txn status` of `id` until it says aborted (15 s at most); what it said last.
std::string wait_aborted(const cli& c, const std::string& id) {
    std::string out;
    for (int i = 0; i < 150; ++i) {
        REQUIRE(c.run("txn status sys/events " + id, out) == 0);
        if (out == "aborted\n") {
            break;
        }
        std::this_thread::sleep_for(100ms);
    }
    return out;
}

// A client of `node` (started here) with scope sys and the streams sys/<name> of `streams`.
std::unique_ptr<client::client_factory> start_with_streams(
    test::node_process& node, const std::vector<std::pair<std::string, uint32_t>>& streams) {
    REQUIRE(node.start());
    auto f = test::connect(node.endpoint());
    REQUIRE(!f->streams().create_scope("sys"));
    for (const auto& [name, segments] : streams) {
        REQUIRE(f->streams().create_stream("sys", name, segments));
    }
    return f;
}

// Writes the input of transaction `t`: `count` lines "k<key>:t<t>-k<key>-<seq>" over `keys` keys
// (a sequence per key), for `write --key-delimiter :`.
std::string txn_input(const std::string& dir, int t, int count, int keys) {
    auto path = dir + "/txn" + std::to_string(t) + ".txt";
    std::ofstream f(path);
    for (int i = 0; i < count; ++i) {
        auto key = "k" + std::to_string(i % keys);
        f << key << ":t" << t << "-" << key << "-" << i / keys << "\n";
    }
    return path;
}

// What a reader from the head finds of transactions written as txn_input writes them.
struct txn_view {
    std::map<int, int> count;  // events per transaction
    int others = 0;            // events of no transaction
    // Per segment, a transaction's events stand together (no other event between them).
    bool contiguous = true;
    // Per transaction and key, the sequence numbers grow by one from 0.
    bool key_order = true;
    std::string why;
};

txn_view view_of(client::client_factory& f) {
    txn_view v;
    auto reader = f.create_reader("sys", "events", client::start_position::head);
    REQUIRE(reader);
    std::map<std::string, std::vector<int>> runs;  // per segment, the transactions' runs
    std::map<std::string, int> next;               // per "t<t>-k<key>", the next sequence
    while (true) {
        auto ev = (*reader)->read_next(0ms);
        REQUIRE(ev);
        if (!*ev) {
            break;
        }
        const auto& p = (*ev)->payload;
        if (p.empty() || p[0] != 't') {
            ++v.others;
            continue;
        }
        auto dash = p.rfind('-');
        auto prefix = p.substr(0, dash);  // "t<t>-k<key>"
        int t = std::stoi(p.substr(1, p.find('-') - 1));
        int seq = std::stoi(p.substr(dash + 1));
        ++v.count[t];
        if (next[prefix] != seq) {
            v.key_order = false;
            v.why += " " + p + " (expected sequence " + std::to_string(next[prefix]) + ")";
        }
        next[prefix] = seq + 1;
        auto& r = runs[to_string((*ev)->segment)];
        if (r.empty() || r.back() != t) {
            if (std::find(r.begin(), r.end(), t) != r.end()) {
                v.contiguous = false;
                v.why += " t" + std::to_string(t) + " split in " + to_string((*ev)->segment);
            }
            r.push_back(t);
        }
    }
    return v;
}

// Waits until no transaction of sys/events is committing (the controller finished them), 30 s.
bool none_committing(client::client_factory& f) {
    for (int i = 0; i < 300; ++i) {
        auto list = f.list_transactions("sys", "events");
        if (list && std::none_of(list->begin(), list->end(), [](const txn_record& t) {
                return t.state == txn_state::committing;
            })) {
            return true;
        }
        std::this_thread::sleep_for(100ms);
    }
    return false;
}

// A 3-node cluster with sys/events of 4 segments: the controller's leader (`victim`, to be
// killed) and a client of another member.
struct txn_cluster {
    test::cluster3 c;
    uint32_t victim = 0;
    std::unique_ptr<client::client_factory> f;
    txn_cluster() {
        victim = c.leader_of(0);
        REQUIRE(victim != 0);
        f = test::connect(c.node(victim == 1 ? 2 : 1).endpoint());
        c.create_stream(*f, 4);
    }
};

// Begins `n` transactions on sys/events, each of `events` events "t<t>-k<key>-<seq>" over `keys`
// keys, durable in the transaction (flushed), not committed.
std::vector<std::unique_ptr<client::transaction>> written_txns(client::client_factory& f,
                                                               int n,
                                                               int events,
                                                               int keys) {
    std::vector<std::unique_ptr<client::transaction>> txns;
    for (int t = 0; t < n; ++t) {
        auto txn = f.begin_transaction("sys", "events");
        REQUIRE(txn);
        for (int i = 0; i < events; ++i) {
            auto key = "k" + std::to_string(i % keys);
            REQUIRE(!(*txn)->write(
                key, "t" + std::to_string(t) + "-" + key + "-" + std::to_string(i / keys)));
        }
        REQUIRE(!(*txn)->flush());
        txns.push_back(std::move(*txn));
    }
    return txns;
}

// Commits every transaction at once, each retried for 30 s (a commit is idempotent), and waits
// until the first commit has begun (some transaction is no longer open).
std::vector<std::future<caf::expected<txn_record>>> commit_all(
    client::client_factory& f, std::vector<std::unique_ptr<client::transaction>>& txns) {
    std::vector<std::future<caf::expected<txn_record>>> commits;
    commits.reserve(txns.size());
    for (auto& txn : txns) {
        commits.push_back(std::async(std::launch::async, [&txn] {
            auto r = txn->commit();
            for (int i = 0; i < 300 && !r; ++i) {
                std::this_thread::sleep_for(100ms);
                r = txn->commit();
            }
            return r;
        }));
    }
    bool began = false;
    for (int i = 0; i < 2000 && !began; ++i) {
        auto list = f.list_transactions("sys", "events");
        began = list && std::any_of(list->begin(), list->end(),
                                    [](const txn_record& t) { return t.state != txn_state::open; });
        if (!began) {
            std::this_thread::sleep_for(5ms);
        }
    }
    REQUIRE(began);
    return commits;
}

// Each commit of `commits` ended committed.
void all_committed(std::vector<std::future<caf::expected<txn_record>>>& commits) {
    for (auto& fut : commits) {
        auto r = fut.get();
        INFO((r ? "" : render_error(r.error())));
        REQUIRE(r);
        CHECK(r->state == txn_state::committed);
    }
}

}  // namespace

TEST_CASE("the CLI begins, writes, commits, aborts, lists and expires transactions",
          "[system][txn]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    cli c{node.endpoint()};
    std::string out;
    REQUIRE(c.run("scope create sys", out) == 0);
    REQUIRE(c.run("stream create sys/events --segments 3", out) == 0);
    auto input = txn_input(dir.path(), 1, 60, 6);

    auto id = begin_txn(c, "sys/events");
    REQUIRE(c.run("write sys/events --txn " + id + " --key-delimiter :", out, input) == 0);
    CHECK(has(out, "60 events written to transaction " + id + " (not committed)"));
    REQUIRE(c.run("read sys/events", out) == 0);
    CHECK(out.empty());  // durable in the transaction, invisible in the stream
    REQUIRE(c.run("txn status sys/events " + id, out) == 0);
    CHECK(out == "open\n");
    REQUIRE(c.run("txn status sys/events " + id + " --json", out) == 0);
    CHECK(has(out, "\"id\":\"" + id + "\""));
    CHECK(has(out, "\"state\":\"open\""));
    CHECK(test::json_number(out, "lease_ms") == 30000);
    REQUIRE(c.run("txn list sys/events", out) == 0);
    REQUIRE(lines(out).size() == 1);
    CHECK(out.rfind(id + " open", 0) == 0);

    REQUIRE(c.run("txn commit sys/events " + id, out) == 0);
    CHECK(out == "committed\n");
    REQUIRE(c.run("read sys/events", out) == 0);
    CHECK(lines(out).size() == 60);
    REQUIRE(c.run("txn commit sys/events " + id, out) == 0);  // idempotent
    CHECK(out == "committed\n");
    CHECK(c.run("txn abort sys/events " + id, out) == 1);
    CHECK(has(out, "transaction_committed"));
    CHECK(c.run("write sys/events --txn " + id, out, input) == 1);
    CHECK(has(out, "transaction_not_open"));

    auto other = begin_txn(c, "sys/events");
    REQUIRE(c.run("write sys/events --txn " + other + " --key-delimiter :", out,
                  txn_input(dir.path(), 2, 30, 3)) == 0);
    REQUIRE(c.run("txn abort sys/events " + other, out) == 0);
    CHECK(out == "aborted\n");
    CHECK(c.run("txn commit sys/events " + other, out) == 1);
    CHECK(has(out, "transaction_aborted"));
    REQUIRE(c.run("txn status sys/events " + other, out) == 0);
    CHECK(out == "aborted\n");

    // --atomic: the id, then committed; all of it visible at once.
    REQUIRE(c.run("write sys/events --atomic --key-delimiter :", out,
                  txn_input(dir.path(), 3, 40, 4)) == 0);
    auto ls = lines(out);
    REQUIRE(ls.size() == 2);
    CHECK(ls[0].size() == 16);
    CHECK(ls[1] == "committed");
    // An event too large anywhere in the input: aborted, nothing of it visible.
    auto bad = dir.path() + "/bad.txt";
    {
        std::ofstream f(bad);
        f << "k1:t4-k1-0\nk2:t4-k2-0\nk1:" << std::string(9 * 1024 * 1024, 'x') << "\nk1:t4-k1-1\n";
    }
    CHECK(c.run("write sys/events --atomic --key-delimiter :", out, bad) == 1);
    CHECK(has(out, "event_too_large"));
    CHECK(has(out, "aborted: nothing is visible"));
    auto f = test::connect(node.endpoint());
    auto v = view_of(*f);
    CHECK(v.count == std::map<int, int>{{1, 60}, {3, 40}});
    CHECK(v.contiguous);
    CHECK(v.key_order);
    REQUIRE(c.run("txn list sys/events --json", out) == 0);
    CHECK(out == "[]\n");

    // A transaction nobody renews is aborted when its lease passes.
    auto lapsing = begin_txn(c, "sys/events", "--lease-ms 1000");
    CHECK(wait_aborted(c, lapsing) == "aborted\n");
    REQUIRE(c.run("txn status sys/events " + lapsing + " --json", out) == 0);
    CHECK(has(out, "\"reason\":\"lease\""));

    // Bad input: clear errors, nothing started.
    CHECK(c.run("txn status sys/events 00000000000fffff", out) == 1);
    CHECK(has(out, "transaction_not_found"));
    CHECK(c.run("txn status sys/events xyz", out) == 2);
    CHECK(has(out, "not a transaction id"));
    CHECK(c.run("txn commit sys/events", out) == 2);
    CHECK(c.run("write sys/events --txn " + id + " --atomic", out) == 2);
    CHECK(c.run("txn begin sys/nothing", out) == 1);
    CHECK(has(out, "stream_not_found"));
    CHECK(c.run("txn begin sys/events --lease-ms 10", out) == 1);
    CHECK(has(out, "invalid_argument"));
}

TEST_CASE("eight transactions written by eight processes: the committed ones whole, the rest never",
          "[system][txn]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    auto f = start_with_streams(node, {{"events", 4}});
    cli c{node.endpoint()};
    constexpr int n = 8;
    constexpr int events = 1000;
    constexpr int keys = 100;

    // Begins transactions first..first+n-1 (the last one of the first batch with a short lease)
    // and writes each from a process of its own, all at once.
    auto begin_and_write = [&](int first, bool short_last) {
        std::vector<std::string> ids;
        for (int t = first; t < first + n; ++t) {
            bool lapse = short_last && t == first + n - 1;
            ids.push_back(
                begin_txn(c, "sys/events", lapse ? "--lease-ms 3000" : "--lease-ms 60000"));
        }
        std::vector<std::unique_ptr<test::child_process>> writers;
        for (int t = first; t < first + n; ++t) {
            writers.push_back(c.spawn("write sys/events --key-delimiter : --txn " + ids[t - first],
                                      dir.path() + "/w" + std::to_string(t) + ".out",
                                      txn_input(dir.path(), t, events, keys)));
        }
        for (int t = first; t < first + n; ++t) {
            INFO("writer of t" << t << ": "
                               << test::read_text(dir.path() + "/w" + std::to_string(t) + ".out"));
            REQUIRE(writers[t - first]->wait(60s) == 0);
        }
        return ids;
    };

    auto ids = begin_and_write(0, true);
    // Half committed, three aborted, all at once; the last one left to expire.
    std::vector<std::unique_ptr<test::child_process>> deciders;
    deciders.reserve(n);
    for (int t = 0; t < n - 1; ++t) {
        deciders.push_back(
            c.spawn(std::string(t < n / 2 ? "txn commit" : "txn abort") + " sys/events " + ids[t],
                    dir.path() + "/d" + std::to_string(t) + ".out"));
    }
    for (int t = 0; t < n - 1; ++t) {
        REQUIRE(deciders[t]->wait(60s) == 0);
        CHECK(test::read_text(dir.path() + "/d" + std::to_string(t) + ".out") ==
              (t < n / 2 ? "committed\n" : "aborted\n"));
    }
    CHECK(wait_aborted(c, ids[n - 1]) == "aborted\n");
    auto v = view_of(*f);
    INFO(v.why);
    CHECK(v.count == std::map<int, int>{{0, events}, {1, events}, {2, events}, {3, events}});
    CHECK(v.others == 0);
    CHECK(v.contiguous);
    CHECK(v.key_order);

    // Eight more, all committed at once, and the node SIGKILLed once the first commit began.
    auto more = begin_and_write(n, false);
    deciders.clear();
    for (int t = n; t < 2 * n; ++t) {
        deciders.push_back(c.spawn("txn commit sys/events " + more[t - n],
                                   dir.path() + "/d" + std::to_string(t) + ".out"));
    }
    bool began = false;
    for (int i = 0; i < 2000 && !began; ++i) {
        auto list = f->list_transactions("sys", "events");
        REQUIRE(list);
        began = std::any_of(list->begin(), list->end(), [&](const txn_record& t) {
            return t.state != txn_state::open &&
                   std::find(more.begin(), more.end(), txn_id_text(t.id)) != more.end();
        });
        if (!began) {
            std::this_thread::sleep_for(5ms);
        }
    }
    REQUIRE(began);
    node.kill_hard();
    REQUIRE(node.start());
    std::set<int> acked;
    for (int t = n; t < 2 * n; ++t) {
        auto status = deciders[t - n]->wait(60s);
        auto text = test::read_text(dir.path() + "/d" + std::to_string(t) + ".out");
        INFO("commit of t" << t << ": " << status << " " << text);
        if (status == 0) {
            CHECK(text == "committed\n");
            acked.insert(t);
        } else {
            WARN("commit of t" << t << " exited " << status << ": " << text);
        }
    }
    f = test::connect(node.endpoint());
    REQUIRE(none_committing(*f));
    v = view_of(*f);
    INFO(v.why);
    CHECK(v.contiguous);
    CHECK(v.key_order);
    for (int t = n; t < 2 * n; ++t) {
        INFO("t" << t);
        int seen = v.count.count(t) ? v.count[t] : 0;
        CHECK((seen == 0 || seen == events));  // never a part
        if (acked.count(t) != 0) {
            CHECK(seen == events);
        }
        uint64_t id = 0;
        REQUIRE(parse_txn_id(more[t - n], id));
        auto txn = f->open_transaction("sys", "events", id);
        REQUIRE(txn);
        auto rec = (*txn)->status();
        REQUIRE(rec);
        CHECK((rec->state == txn_state::committed) == (seen == events));
    }
    WARN(acked.size() << " of " << n << " commits acknowledged across the SIGKILL");
}

TEST_CASE("commits cut short by a SIGKILL of the controller's leader are finished by the next",
          "[system][txn][cluster]") {
    txn_cluster tc;
    auto& c = tc.c;
    auto victim = tc.victim;
    auto& f = tc.f;
    constexpr int events = 500;
    auto txns = written_txns(*f, 4, events, 50);
    // Commit all at once, and kill the controller's leader once the first has begun.
    auto commits = commit_all(*f, txns);
    c.node(victim).kill_hard();
    all_committed(commits);
    auto v = view_of(*f);
    INFO(v.why);
    CHECK(v.count == std::map<int, int>{{0, events}, {1, events}, {2, events}, {3, events}});
    CHECK(v.contiguous);
    CHECK(v.key_order);
    txns.clear();
    REQUIRE(c.node(victim).start());
}

#ifndef PRAVAHA_EXACTLY_ONCE_BIN
#error "PRAVAHA_EXACTLY_ONCE_BIN must name the pravaha-example-exactly-once binary"
#endif

TEST_CASE("the exactly-once example processes every event once across kill -9s of the processor",
          "[system][txn][example]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    auto f = start_with_streams(node, {{"in", 2}, {"out", 2}});
    constexpr int events = 20000;
    constexpr int keys = 50;
    // The input arrives over about 5 s while the processor runs (so its batches stay small and
    // the kills land in the middle).
    auto producer = std::async(std::launch::async, [&]() -> std::string {
        auto w = f->create_writer("sys", "in");
        if (!w) {
            return render_error(w.error());
        }
        for (int i = 0; i < events; ++i) {
            auto key = "k" + std::to_string(i % keys);
            if (auto err = (*w)->write(key, key + ":v" + std::to_string(i))) {
                return render_error(err);
            }
            if (i % 200 == 199) {
                if (auto err = (*w)->flush()) {
                    return render_error(err);
                }
                std::this_thread::sleep_for(50ms);
            }
        }
        auto err = (*w)->close();
        return err ? render_error(err) : "";
    });
    auto output = [&] {
        std::vector<std::string> out;
        auto r = f->create_reader("sys", "out", client::start_position::head);
        REQUIRE(r);
        while (true) {
            auto ev = (*r)->read_next(0ms);
            REQUIRE(ev);
            if (!*ev) {
                return out;
            }
            out.push_back((*ev)->payload);
        }
    };
    int run = 0;
    auto start = [&] {
        ++run;
        return std::make_unique<test::child_process>(
            std::vector<std::string>{PRAVAHA_EXACTLY_ONCE_BIN, "--endpoint", node.endpoint(),
                                     "--input", "sys/in", "--output", "sys/out", "--group",
                                     "sys/eo", "--batch", "100", "--idle-exit-ms", "3000",
                                     "--verbose", "1"},
            dir.path() + "/run" + std::to_string(run) + ".log");
    };
    auto logs = [&] {
        std::string out;
        for (int i = 1; i <= run; ++i) {
            out += "run " + std::to_string(i) + ":\n" +
                   test::read_text(dir.path() + "/run" + std::to_string(i) + ".log");
        }
        return out;
    };
    // Two kill -9s in the middle, each once the output has grown past a mark.
    auto p = start();
    for (size_t mark : {size_t{events / 5}, size_t{events / 2}}) {
        size_t seen = 0;
        for (int i = 0; i < 600 && seen < mark; ++i) {
            std::this_thread::sleep_for(100ms);
            seen = output().size();
        }
        INFO(logs());
        REQUIRE(seen >= mark);
        REQUIRE(seen < static_cast<size_t>(events));  // the kill lands in the middle
        p->kill_hard();
        p = start();
    }
    CHECK(producer.get().empty());
    auto status = p->wait(180s);
    INFO(logs());
    REQUIRE(status == 0);
    auto out = output();
    std::map<std::string, int> times;
    std::map<std::string, int> last;  // per key, the last number seen
    std::string disorder;             // the first event that comes after a later one of its key
    for (size_t i = 0; i < out.size(); ++i) {
        const auto& e = out[i];
        ++times[e];
        auto colon = e.find(':');
        auto key = e.substr(0, colon);
        int n = std::stoi(e.substr(colon + 2));
        if (disorder.empty() && last.count(key) != 0 && last[key] >= n) {
            disorder = e + " (output " + std::to_string(i) + ") after " + key + ":V" +
                       std::to_string(last[key]);
        }
        last[key] = n;
    }
    CHECK(out.size() == static_cast<size_t>(events));
    CHECK(times.size() == static_cast<size_t>(events));
    for (int i = 0; i < events; i += 997) {
        auto key = "k" + std::to_string(i % keys);
        CHECK(times[key + ":V" + std::to_string(i)] == 1);
    }
    INFO("first event out of order: " << disorder);
    CHECK(disorder.empty());
    CHECK(has(logs(), "recovered: transaction"));
}

#ifndef PRAVAHA_BENCH_BIN
#error "PRAVAHA_BENCH_BIN must name the pravaha-bench binary"
#endif

TEST_CASE("pravaha-bench txn measures transactions against plain writes of the same events",
          "[system][txn][bench]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    std::string out;
    int rc =
        test::run_command(std::string(PRAVAHA_BENCH_BIN) + " txn --endpoint " + node.endpoint() +
                              " --stream bench/t --segments 2 --writers 2 --txn-size 20 "
                              "--duration 1 --quiet --json " +
                              dir.path() + "/t.json 2>&1",
                          out);
    INFO(out);
    REQUIRE(rc == 0);
    auto json = test::read_text(dir.path() + "/t.json");
    INFO(json);
    CHECK(test::json_number(json, "txn_size") == 20);
    CHECK(test::json_number(json, "plain_events_per_s") > 0);
    CHECK(test::json_number(json, "txn_events_per_s") > 0);
    CHECK(test::json_number(json, "transactions") > 0);
    CHECK(test::json_number(json, "commit_p50_us") > 0);
    // Every committed transaction is whole in the stream: 20 events each, none of another size.
    auto f = test::connect(node.endpoint());
    auto reader = f->create_reader("bench", "t", client::start_position::head);
    REQUIRE(reader);
    uint64_t events = 0;
    while (true) {
        auto ev = (*reader)->read_next(0ms);
        REQUIRE(ev);
        if (!*ev) {
            break;
        }
        ++events;
    }
    CHECK(events % 20 == 0);
    CHECK(events >= static_cast<uint64_t>(test::json_number(json, "transactions")) * 20);
    rc = test::run_command(std::string(PRAVAHA_BENCH_BIN) + " txn --endpoint " + node.endpoint() +
                               " --rate 100 --quiet 2>&1",
                           out);
    CHECK(rc == 2);
}

TEST_CASE("a transaction that lost an event cannot be committed, not even by a retried commit",
          "[system][txn]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    auto f = start_with_streams(node, {{"events", 1}});
    auto txn = f->begin_transaction("sys", "events");
    REQUIRE(txn);
    // Three events of 7 MiB into one transaction segment of at most 16 MiB: the third fails.
    std::string big(7 * 1024 * 1024, 'x');
    for (int i = 0; i < 3; ++i) {
        REQUIRE(!(*txn)->write("k", big));
    }
    auto first = (*txn)->commit();
    REQUIRE(!first);
    CHECK(code_of(first.error()) == errc::transaction_too_large);
    auto again = (*txn)->commit();
    REQUIRE(!again);
    CHECK(code_of(again.error()) == errc::transaction_too_large);
    auto rec = (*txn)->status();
    REQUIRE(rec);
    CHECK(rec->state == txn_state::open);  // nothing committed: abort it
    REQUIRE((*txn)->abort());
    auto reader = f->create_reader("sys", "events", client::start_position::head);
    REQUIRE(reader);
    auto ev = (*reader)->read_next(0ms);
    REQUIRE(ev);
    CHECK(!*ev);
}

TEST_CASE("a transaction begun before a split commits after it, between the events around it",
          "[system][txn][roll]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    cli c{node.endpoint()};
    std::string out;
    REQUIRE(c.run("scope create sys", out) == 0);
    REQUIRE(c.run("stream create sys/events --segments 2", out) == 0);
    auto plain = [&](const std::string& tag) {
        auto path = dir.path() + "/" + tag + ".txt";
        std::ofstream f(path);
        for (int k = 0; k < 6; ++k) {
            f << "k" << k << ":" << tag << "-k" << k << "\n";
        }
        f.close();
        REQUIRE(c.run("write sys/events --key-delimiter :", out, path) == 0);
    };
    auto id = begin_txn(c, "sys/events");
    plain("pre");
    REQUIRE(c.run("write sys/events --txn " + id + " --key-delimiter :", out,
                  txn_input(dir.path(), 1, 60, 6)) == 0);
    REQUIRE(c.run("stream scale sys/events --split 0.0 --into 2", out) == 0);
    plain("mid");  // after the split, before the commit
    REQUIRE(c.run("txn commit sys/events " + id, out) == 0);
    CHECK(out == "committed\n");
    plain("post");
    REQUIRE(c.run("txn status sys/events " + id, out) == 0);
    CHECK(out == "committed\n");
    REQUIRE(c.run("stream history sys/events --json", out) == 0);
    auto epochs = lines(out);
    REQUIRE(epochs.size() == 4);
    CHECK(has(epochs[1], "\"rolled\":false"));
    CHECK(has(epochs[2], "\"rolled\":true"));
    CHECK(has(epochs[3], "\"rolled\":true"));

    // Whole, contiguous, per key in write order; per key the events written before the commit
    // come before the transaction's, the ones after it after.
    auto f = test::connect(node.endpoint());
    auto v = view_of(*f);
    INFO(v.why);
    CHECK(v.count == std::map<int, int>{{1, 60}});
    CHECK(v.others == 18);
    CHECK(v.contiguous);
    CHECK(v.key_order);
    auto reader = f->create_reader("sys", "events", client::start_position::head);
    REQUIRE(reader);
    std::map<std::string, std::string> seen;  // per key, the kinds read in order (p, m, t, o)
    while (true) {
        auto ev = (*reader)->read_next(0ms);
        REQUIRE(ev);
        if (!*ev) {
            break;
        }
        const auto& p = (*ev)->payload;
        auto key = p.substr(p.find("-k") + 1, 2);
        char kind = p[0] == 't' ? 't' : p.rfind("pre", 0) == 0 ? 'p' : p[0] == 'm' ? 'm' : 'o';
        if (seen[key].empty() || seen[key].back() != kind) {
            seen[key] += kind;
        }
    }
    REQUIRE(seen.size() == 6);
    for (const auto& [key, kinds] : seen) {
        INFO(key);
        CHECK(kinds == "pmto");
    }

    // The stream scales again after the roll; seal and delete remove every segment.
    auto h = f->streams().history("sys", "events");
    REQUIRE(h);
    auto current = h->back().segments.at(0).range.id;
    REQUIRE(c.run("stream scale sys/events --split " + to_string(current) + " --into 2", out) == 0);
    REQUIRE(c.run("stream seal sys/events", out) == 0);
    REQUIRE(c.run("stream delete sys/events", out) == 0);
}

TEST_CASE("transactions begun before a split commit through a roll that a SIGKILL cuts short",
          "[system][txn][cluster][roll]") {
    txn_cluster tc;
    auto& c = tc.c;
    auto victim = tc.victim;
    auto& f = tc.f;
    constexpr int events = 300;
    auto txns = written_txns(*f, 3, events, 30);
    auto rec = f->streams().stream_info_of("sys", "events");
    REQUIRE(rec);
    REQUIRE(f->streams().split("sys", "events", rec->record.segments[1].id, 2));
    auto commits = commit_all(*f, txns);
    c.node(victim).kill_hard();
    all_committed(commits);
    auto v = view_of(*f);
    INFO(v.why);
    CHECK(v.count == std::map<int, int>{{0, events}, {1, events}, {2, events}});
    CHECK(v.contiguous);
    CHECK(v.key_order);
    auto h = f->streams().history("sys", "events");
    REQUIRE(h);
    CHECK(std::any_of(h->begin(), h->end(), [](const epoch_info& e) { return e.rolled; }));
    CHECK(none_committing(*f));
    txns.clear();
    REQUIRE(c.node(victim).start());
}
