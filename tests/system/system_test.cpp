// Multi-process tests: a real pravaha-node on a free loopback port, driven through the C++
// client library over TCP.

#include "client/client.hpp"
#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"

#include "tests/support/node_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/system/system_support.hpp"
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

using namespace pravaha;

namespace {

constexpr int writers_n = 4;
constexpr int keys_n = 50;
constexpr int events_total = 100000;
constexpr int events_per_writer = events_total / writers_n;

struct decoded {
    int writer = 0;
    int key = 0;
    int seq = 0;
};

std::string payload_of(int w, int k, int seq) {
    return "w" + std::to_string(w) + " k" + std::to_string(k) + " n" + std::to_string(seq);
}

bool decode(const std::string& p, decoded& d) {
    return std::sscanf(p.c_str(), "w%d k%d n%d", &d.writer, &d.key, &d.seq) == 3;
}

using test::connect;

// Starts the node, connects, and creates the stream sys/events with `segments` segments.
// `data_port` false: the client's appends go over the node endpoint's CAF connection.
std::unique_ptr<client::client_factory> start_with_stream(test::node_process& node,
                                                          uint32_t segments,
                                                          bool data_port = true) {
    REQUIRE(node.start());
    std::unique_ptr<client::client_factory> f;
    if (data_port) {
        f = connect(node.endpoint());
    } else {
        client::client_config cfg;
        cfg.endpoint = node.endpoint();
        cfg.retry_timeout = std::chrono::seconds(60);
        cfg.data_port = false;
        auto made = client::client_factory::connect(cfg);
        REQUIRE(made);
        f = std::move(*made);
    }
    REQUIRE(!f->streams().create_scope("sys"));
    REQUIRE(f->streams().create_stream("sys", "events", segments));
    return f;
}

// Writes events_per_writer events over keys_n keys; per (writer, key) the sequence numbers
// count up from 0. Records which events were acknowledged.
void run_writer(client::client_factory& f,
                int w,
                std::atomic<int>& acked_total,
                std::mutex& mutex,
                std::set<std::string>& acked,
                std::vector<std::string>& failures,
                int flush_every = 0) {
    auto writer = f.create_writer("sys", "events");
    if (!writer) {
        std::lock_guard<std::mutex> g(mutex);
        failures.push_back(render_error(writer.error()));
        return;
    }
    std::vector<int> seq(keys_n, 0);
    for (int i = 0; i < events_per_writer; ++i) {
        int k = (i * 7 + w) % keys_n;
        auto p = payload_of(w, k, seq[k]++);
        auto err = (*writer)->write("key-" + std::to_string(k), p, [&, p](const caf::error& e) {
            std::lock_guard<std::mutex> g(mutex);
            if (e) {
                failures.push_back(render_error(e));
            } else {
                acked.insert(p);
                ++acked_total;
            }
        });
        if (err) {
            std::lock_guard<std::mutex> g(mutex);
            failures.push_back(render_error(err));
        }
        if (flush_every > 0 && (i + 1) % flush_every == 0) {
            if (auto ferr = (*writer)->flush()) {
                std::lock_guard<std::mutex> g(mutex);
                failures.push_back("flush: " + render_error(ferr));
            }
        }
    }
    if (auto err = (*writer)->close()) {
        std::lock_guard<std::mutex> g(mutex);
        failures.push_back("close: " + render_error(err));
    }
}

// Reads the whole stream from the head and checks: every acked event exactly once, nothing
// that was never written, and per (writer, key) the order in which it was written.
void verify_stream(client::client_factory& f, const std::set<std::string>& acked) {
    std::map<std::string, int> seen;
    std::map<std::pair<int, int>, int> last_seq;
    size_t out_of_order = 0;
    size_t undecodable = 0;
    size_t total = 0;
    test::read_all(f, [&](const std::string& payload) {
        ++total;
        decoded d;
        if (!decode(payload, d)) {
            ++undecodable;
            return;
        }
        seen[payload]++;
        auto& last = last_seq.try_emplace({d.writer, d.key}, -1).first->second;
        if (d.seq != last + 1) {
            ++out_of_order;
        }
        last = d.seq;
    });
    size_t duplicates = 0;
    for (auto& [p, n] : seen) {
        duplicates += static_cast<size_t>(n - 1);
    }
    size_t missing = 0;
    for (auto& p : acked) {
        missing += seen.count(p) == 0 ? 1 : 0;
    }
    CAPTURE(total, seen.size(), acked.size());
    CHECK(undecodable == 0);
    CHECK(duplicates == 0);
    CHECK(missing == 0);
    CHECK(out_of_order == 0);
    CHECK(seen.size() == static_cast<size_t>(events_total));
}

// The four writers of a test (run_writer each, on their own threads) and what they saw.
struct write_load {
    std::atomic<int> acked_total{0};
    std::mutex mutex;
    std::set<std::string> acked;
    std::vector<std::string> failures;
    std::vector<std::thread> threads;

    void start(client::client_factory& f, int flush_every = 0) {
        for (int w = 0; w < writers_n; ++w) {
            threads.emplace_back([this, &f, w, flush_every] {
                run_writer(f, w, acked_total, mutex, acked, failures, flush_every);
            });
        }
    }

    // A failed REQUIRE leaves the test early: wait for the writers rather than terminate.
    ~write_load() {
        for (auto& t : threads) {
            t.join();
        }
    }

    // Joins the writers; every event must have been acknowledged.
    void finish() {
        for (auto& t : threads) {
            t.join();
        }
        threads.clear();
        CAPTURE(failures.size(), failures.empty() ? "" : failures.front());
        REQUIRE(failures.empty());
        REQUIRE(acked.size() == static_cast<size_t>(events_total));
    }
};

}  // namespace

TEST_CASE("four writers store 100000 events over 50 keys exactly once and in key order",
          "[system]") {
    test::temp_dir dir;
    test::node_process node(dir.path(), test::free_port());
    auto f = start_with_stream(node, 4);
    write_load load;
    load.start(*f);
    load.finish();
    verify_stream(*f, load.acked);
    auto info = f->streams().stream_info_of("sys", "events");
    REQUIRE(info);
    REQUIRE(info->segments.size() == 4);
    for (auto& s : info->segments) {
        CHECK(s.length > 0);  // 50 keys spread over every segment
    }
    CHECK(node.stop() == 0);
}

TEST_CASE("acknowledged events survive SIGKILL of the node mid-write without duplicates",
          "[system]") {
    test::temp_dir dir;
    auto port = test::free_port();
    test::node_process node(dir.path(), port);
    auto f = start_with_stream(node, 4);
    write_load load;
    load.start(*f, 100);
    // Kill the node three times while the writers run, each time restarting it on the same data.
    std::vector<int> acked_at_kill;
    for (int threshold : {events_total / 5, events_total / 2, events_total * 4 / 5}) {
        for (int i = 0; i < 6000 && load.acked_total.load() < threshold; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        if (load.acked_total.load() >= events_total) {
            break;
        }
        node.kill_hard();
        acked_at_kill.push_back(load.acked_total.load());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        REQUIRE(node.start());
    }
    CAPTURE(acked_at_kill);
    load.finish();
    CHECK(acked_at_kill.size() >= 1);
    // A fresh client after a final kill -9: everything acknowledged must be there exactly once.
    node.kill_hard();
    REQUIRE(node.start());
    auto g = connect(node.endpoint());
    verify_stream(*g, load.acked);
    CHECK(node.stop() == 0);
}

TEST_CASE("sealing a stream fails later writes and lets readers reach its end", "[system]") {
    test::temp_dir dir;
    test::node_process node(dir.path(), test::free_port());
    auto f = start_with_stream(node, 2);
    auto writer = f->create_writer("sys", "events");
    REQUIRE(writer);
    for (int i = 0; i < 100; ++i) {
        REQUIRE(!(*writer)->write("k" + std::to_string(i % 5), "before-" + std::to_string(i)));
    }
    REQUIRE(!(*writer)->flush());
    auto reader = f->create_reader("sys", "events", client::start_position::head);
    REQUIRE(reader);
    REQUIRE(!f->streams().seal_stream("sys", "events"));

    std::atomic<int> sealed_errors{0};
    std::atomic<int> other{0};
    for (int i = 0; i < 10; ++i) {
        REQUIRE(!(*writer)->write("k", "after", [&](const caf::error& e) {
            if (code_of(e) == errc::segment_sealed) {
                ++sealed_errors;
            } else {
                ++other;
            }
        }));
    }
    auto err = (*writer)->flush();
    CHECK(code_of(err) == errc::segment_sealed);
    CHECK(sealed_errors == 10);
    CHECK(other == 0);
    CHECK(code_of(f->create_writer("sys", "events").error()) == errc::stream_sealed);

    int read = 0;
    while (true) {
        auto ev = (*reader)->read_next(std::chrono::milliseconds(2000));
        REQUIRE(ev);
        if (!*ev) {
            break;
        }
        ++read;
    }
    CHECK(read == 100);
    CHECK((*reader)->at_end());
    CHECK(node.stop() == 0);
}

TEST_CASE("garbage on the node port does not disturb the node or its data", "[system]") {
    test::temp_dir dir;
    test::node_process node(dir.path(), test::free_port());
    // Its appends over the node port itself, so that "the old connection still works" below
    // is the connection the garbage arrived beside (over the data port the write would not
    // touch it).
    auto f = start_with_stream(node, 1, false);
    auto writer = f->create_writer("sys", "events");
    REQUIRE(writer);
    REQUIRE(!(*writer)->write("k", "kept"));
    REQUIRE(!(*writer)->flush());
    // Random bytes, a truncated header and an absurd length prefix from raw TCP clients.
    std::vector<std::string> junk = {std::string(4096, '\xff'), std::string("\x00\x00", 2),
                                     std::string("\x7f\xff\xff\xff\x01\x02\x03\x04", 8)};
    for (size_t i = 0; i < 64; ++i) {
        std::string s;
        for (size_t j = 0; j < 64 + i * 13; ++j) {
            s.push_back(static_cast<char>((i * 131 + j * 7919) & 0xff));
        }
        junk.push_back(s);
    }
    size_t delivered = 0;
    for (const auto& bytes : junk) {
        delivered += test::send_raw(node.port(), bytes) ? 1 : 0;
    }
    CAPTURE(delivered);
    CHECK(delivered > junk.size() / 2);
    // The node still serves, the old connection still works, and the data is intact.
    REQUIRE(!(*writer)->write("k", "after"));
    REQUIRE(!(*writer)->flush());
    auto g = connect(node.endpoint());
    auto reader = g->create_reader("sys", "events", client::start_position::head);
    REQUIRE(reader);
    std::vector<std::string> got;
    while (auto ev = (*reader)->read_next(std::chrono::milliseconds(0))) {
        if (!*ev) {
            break;
        }
        got.push_back((*ev)->payload);
    }
    CHECK(got == std::vector<std::string>{"kept", "after"});
    CHECK(node.stop() == 0);
}

TEST_CASE("a following reader survives a node restart without losing or repeating events",
          "[system]") {
    test::temp_dir dir;
    test::node_process node(dir.path(), test::free_port());
    auto f = start_with_stream(node, 3);
    auto reader = f->create_reader("sys", "events", client::start_position::tail);
    REQUIRE(reader);
    auto write_batch = [&](int from, int to) {
        auto writer = f->create_writer("sys", "events");
        REQUIRE(writer);
        for (int i = from; i < to; ++i) {
            REQUIRE(!(*writer)->write("k" + std::to_string(i % 7), std::to_string(i)));
        }
        REQUIRE(!(*writer)->close());
    };
    std::vector<int> got;
    auto read_until = [&](size_t n) {
        int empty_reads = 0;
        while (got.size() < n && empty_reads < 100) {
            auto ev = (*reader)->read_next(std::chrono::milliseconds(100));
            REQUIRE(ev);
            if (*ev) {
                got.push_back(std::stoi((*ev)->payload));
            } else {
                ++empty_reads;
            }
        }
    };
    write_batch(0, 500);
    read_until(500);
    REQUIRE(got.size() == 500);
    node.kill_hard();
    REQUIRE(node.start());
    write_batch(500, 1000);
    read_until(1000);
    // Nothing more arrives: no repeats after the reconnect.
    auto extra = (*reader)->read_next(std::chrono::milliseconds(300));
    REQUIRE(extra);
    CHECK(!*extra);
    std::sort(got.begin(), got.end());
    REQUIRE(got.size() == 1000);
    for (int i = 0; i < 1000; ++i) {
        REQUIRE(got[static_cast<size_t>(i)] == i);
    }
    CHECK(node.stop() == 0);
}

// A client with a retry timeout of 1.5 s on `node`, and the stream sys/events of one segment.
std::unique_ptr<client::client_factory> client_with_short_retry(test::node_process& node) {
    client::client_config cfg;
    cfg.endpoint = node.endpoint();
    cfg.retry_timeout = std::chrono::milliseconds(1500);
    auto f = client::client_factory::connect(cfg);
    REQUIRE(f);
    REQUIRE(!(*f)->streams().create_scope("sys"));
    REQUIRE((*f)->streams().create_stream("sys", "events", 1));
    return std::move(*f);
}

TEST_CASE("a writer whose node stays down fails its events after the retry timeout", "[system]") {
    test::temp_dir dir;
    test::node_process node(dir.path(), test::free_port());
    REQUIRE(node.start());
    auto f = client_with_short_retry(node);
    auto writer = f->create_writer("sys", "events");
    REQUIRE(writer);
    REQUIRE(!(*writer)->write("k", "stored"));
    REQUIRE(!(*writer)->flush());
    node.kill_hard();
    std::atomic<int> unavailable{0};
    REQUIRE(!(*writer)->write("k", "lost", [&](const caf::error& e) {
        if (code_of(e) == errc::unavailable) {
            ++unavailable;
        }
    }));
    auto start = std::chrono::steady_clock::now();
    auto err = (*writer)->flush();
    auto waited = std::chrono::steady_clock::now() - start;
    CHECK(code_of(err) == errc::unavailable);
    CHECK(unavailable == 1);
    CHECK(waited < std::chrono::seconds(20));
    // The node comes back: the same writer object writes again. (It once stayed stuck here for
    // good: the failed event left a hole in its event numbers that the node refused.)
    REQUIRE(node.start());
    REQUIRE(!(*writer)->write("k", "after"));
    CHECK(!(*writer)->flush());
    auto reader = f->create_reader("sys", "events", client::start_position::head);
    REQUIRE(reader);
    std::vector<std::string> got;
    for (int i = 0; i < 50 && got.size() < 2; ++i) {
        auto ev = (*reader)->read_next(std::chrono::milliseconds(200));
        REQUIRE(ev);
        if (*ev) {
            got.push_back((*ev)->payload);
        }
    }
    CHECK(got == std::vector<std::string>{"stored", "after"});
}

TEST_CASE(
    "a reader whose node stays down reports unavailable after the retry timeout, then "
    "continues",
    "[system]") {
    test::temp_dir dir;
    test::node_process node(dir.path(), test::free_port());
    REQUIRE(node.start());
    auto f = client_with_short_retry(node);
    auto writer = f->create_writer("sys", "events");
    REQUIRE(writer);
    REQUIRE(!(*writer)->write("k", "first"));
    REQUIRE(!(*writer)->flush());
    auto reader = f->create_reader("sys", "events", client::start_position::head);
    REQUIRE(reader);
    auto ev = (*reader)->read_next(std::chrono::milliseconds(5000));
    REQUIRE(ev);
    REQUIRE(*ev);
    CHECK((*ev)->payload == "first");
    node.kill_hard();
    // Reads go on failing to reach the node; once the retry timeout has passed without an
    // answer, a read reports unavailable (it does not wait forever or hide the outage).
    auto start = std::chrono::steady_clock::now();
    caf::error err;
    while (!err && std::chrono::steady_clock::now() - start < std::chrono::seconds(20)) {
        auto next = (*reader)->read_next(std::chrono::milliseconds(500));
        if (!next) {
            err = next.error();
        } else {
            CHECK(!*next);  // nothing to read while the node is down
        }
    }
    CHECK(code_of(err) == errc::unavailable);
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(1500));
    // The node comes back: the same reader object reads what is written next.
    REQUIRE(node.start());
    REQUIRE(!(*writer)->write("k", "second"));
    REQUIRE(!(*writer)->flush());
    std::optional<std::string> got;
    for (int i = 0; i < 50 && !got; ++i) {
        auto next = (*reader)->read_next(std::chrono::milliseconds(200));
        if (next && *next) {
            got = (*next)->payload;
        }
    }
    CHECK(got == std::optional<std::string>("second"));
}

namespace {

// Every payload of sys/events, read from the head until nothing more is there (at most 200).
std::multiset<std::string> payloads_from_head(client::client_factory& f) {
    auto reader = f.create_reader("sys", "events", client::start_position::head);
    REQUIRE(reader);
    std::multiset<std::string> got;
    for (int i = 0; i < 200; ++i) {
        auto ev = (*reader)->read_next(std::chrono::milliseconds(0));
        REQUIRE(ev);
        if (!*ev) {
            break;
        }
        got.insert((*ev)->payload);
    }
    return got;
}

// Writes one event with `writer` and counts it in `fenced` when it fails with writer_fenced.
void write_counting_fenced(client::event_writer& writer,
                           const std::string& key,
                           const std::string& payload,
                           std::atomic<int>& fenced) {
    REQUIRE(!writer.write(key, payload, [&fenced](const caf::error& e) {
        if (code_of(e) == errc::writer_fenced) {
            ++fenced;
        }
    }));
}

}  // namespace

TEST_CASE("a stable writer id continues after a restart and fences the old writer", "[system]") {
    test::temp_dir dir;
    test::node_process node(dir.path(), test::free_port());
    auto f = start_with_stream(node, 2);
    client::writer_config wc;
    wc.id = writer_id{42, 7};
    auto first = f->create_writer("sys", "events", wc);
    REQUIRE(first);
    for (int i = 0; i < 10; ++i) {
        REQUIRE(!(*first)->write("k" + std::to_string(i % 3), "a" + std::to_string(i)));
    }
    REQUIRE(!(*first)->flush());
    // A second writer object with the same id (a restarted producer) takes over both segments.
    auto second = f->create_writer("sys", "events", wc);
    REQUIRE(second);
    for (int i = 0; i < 10; ++i) {
        REQUIRE(!(*second)->write("k" + std::to_string(i % 3), "b" + std::to_string(i)));
    }
    REQUIRE(!(*second)->flush());
    // The old one is fenced on every segment the new one opened a session on.
    std::atomic<int> fenced{0};
    for (int i = 0; i < 3; ++i) {
        write_counting_fenced(**first, "k" + std::to_string(i), "stale", fenced);
    }
    CHECK(code_of((*first)->flush()) == errc::writer_fenced);
    CHECK(fenced == 3);
    auto got = payloads_from_head(*f);
    std::multiset<std::string> want;
    for (int i = 0; i < 10; ++i) {
        want.insert("a" + std::to_string(i));
        want.insert("b" + std::to_string(i));
    }
    CHECK(got == want);
}

TEST_CASE("a writer fenced on one segment stops on every segment", "[system]") {
    // A replaced writer that went on where it was not fenced yet would store part of its
    // numbers in a segment, and its replacement would take the rest for stored there (found by
    // pravaha-sim, seed 0xe0cb6380: acknowledged events lost after a scale).
    test::temp_dir dir;
    test::node_process node(dir.path(), test::free_port());
    auto f = start_with_stream(node, 2);
    auto key_in = [](double lo, double hi) {
        for (int i = 0;; ++i) {
            auto k = "k" + std::to_string(i);
            auto h = routing_key_hash(k);
            if (lo <= h && h < hi) {
                return k;
            }
        }
    };
    auto low = key_in(0.0, 0.5);
    auto high = key_in(0.5, 1.0);
    client::writer_config wc;
    wc.id = writer_id{42, 8};
    auto first = f->create_writer("sys", "events", wc);
    REQUIRE(first);
    REQUIRE(!(*first)->write(low, "a0"));
    REQUIRE(!(*first)->write(high, "a1"));
    REQUIRE(!(*first)->flush());
    // The replacement takes over the low segment only.
    auto second = f->create_writer("sys", "events", wc);
    REQUIRE(second);
    REQUIRE(!(*second)->write(low, "b0"));
    REQUIRE(!(*second)->flush());
    REQUIRE(!(*first)->write(low, "stale"));
    CHECK(code_of((*first)->flush()) == errc::writer_fenced);
    // The high segment has no newer session, yet the fenced writer stores nothing there.
    std::atomic<int> fenced{0};
    write_counting_fenced(**first, high, "after", fenced);
    CHECK(code_of((*first)->flush()) == errc::writer_fenced);
    CHECK(fenced == 1);
    auto got = payloads_from_head(*f);
    CHECK(got == std::multiset<std::string>{"a0", "a1", "b0"});
}

TEST_CASE("a transaction's events are read only after its commit, whole and in order",
          "[system][txn]") {
    test::temp_dir dir;
    test::node_process node(dir.path(), test::free_port());
    auto f = start_with_stream(node, 2);
    client::txn_config tc;
    tc.writer = writer_id{5, 5};
    auto txn = f->begin_transaction("sys", "events", tc);
    REQUIRE(txn);
    auto plain = f->create_writer("sys", "events");
    REQUIRE(plain);
    for (int i = 0; i < 100; ++i) {
        REQUIRE(!(*txn)->write("k" + std::to_string(i % 10), "t" + std::to_string(i)));
    }
    REQUIRE(!(*txn)->flush());
    REQUIRE(!(*plain)->write("k1", "p0"));
    REQUIRE(!(*plain)->flush());
    // Durable in the transaction, invisible in the stream.
    CHECK(payloads_from_head(*f) == std::multiset<std::string>{"p0"});
    auto listed = f->list_transactions("sys", "events");
    REQUIRE(listed);
    REQUIRE(listed->size() == 1);
    CHECK((*listed)[0].writer == writer_id{5, 5});
    CHECK((*listed)[0].state == txn_state::open);

    auto committed = (*txn)->commit();
    REQUIRE(committed);
    CHECK(committed->state == txn_state::committed);
    CHECK(code_of((*txn)->write("k1", "late")) == errc::transaction_not_open);
    CHECK((*txn)->commit());  // a retry answers the same
    // Every event once; per key in write order.
    auto reader = f->create_reader("sys", "events", client::start_position::head);
    REQUIRE(reader);
    std::map<std::string, std::vector<int>> by_key;
    int count = 0;
    while (true) {
        auto ev = (*reader)->read_next(std::chrono::milliseconds(0));
        REQUIRE(ev);
        if (!*ev) {
            break;
        }
        const auto& p = (*ev)->payload;
        ++count;
        if (p[0] == 't') {
            int n = std::stoi(p.substr(1));
            by_key["k" + std::to_string(n % 10)].push_back(n);
        }
    }
    CHECK(count == 101);
    for (const auto& [k, ns] : by_key) {
        CHECK(ns.size() == 10);
        CHECK(std::is_sorted(ns.begin(), ns.end()));
    }
}

TEST_CASE("an aborted transaction is never read, and a restarted producer commits its own",
          "[system][txn]") {
    test::temp_dir dir;
    test::node_process node(dir.path(), test::free_port());
    auto f = start_with_stream(node, 2);
    auto aborted = f->begin_transaction("sys", "events");
    REQUIRE(aborted);
    REQUIRE(!(*aborted)->write("a", "gone"));
    auto a = (*aborted)->abort();
    REQUIRE(a);
    CHECK(a->state == txn_state::aborted);
    CHECK(code_of((*aborted)->commit().error()) == errc::transaction_aborted);
    // A producer writes a transaction and dies before deciding; its successor finds it by the
    // writer id and commits it.
    uint64_t id = 0;
    {
        auto producer = connect(node.endpoint());
        client::txn_config tc;
        tc.writer = writer_id{9, 9};
        auto t = producer->begin_transaction("sys", "events", tc);
        REQUIRE(t);
        id = (*t)->id();
        REQUIRE(!(*t)->write("b", "kept"));
        REQUIRE(!(*t)->flush());
    }
    auto list = f->list_transactions("sys", "events");
    REQUIRE(list);
    auto mine = std::find_if(list->begin(), list->end(), [](const txn_record& t) {
        return t.writer == writer_id{9, 9} && t.state == txn_state::open;
    });
    REQUIRE(mine != list->end());
    CHECK(mine->id == id);
    auto again = f->open_transaction("sys", "events", id);
    REQUIRE(again);
    REQUIRE((*again)->commit());
    CHECK(payloads_from_head(*f) == std::multiset<std::string>{"kept"});
    CHECK(code_of(f->open_transaction("sys", "events", 12345).error()) ==
          errc::transaction_not_found);
}

// -- cluster ------------------------------------------------------------------------------------

TEST_CASE("a 3-node cluster keeps every acknowledged event through SIGKILLs of leaders",
          "[system][cluster]") {
    test::cluster3 c;
    auto f = connect(c.node(1).endpoint());
    c.create_stream(*f, 4);
    auto probe_rec = f->streams().create_stream("sys", "probe", 1);
    REQUIRE(probe_rec);
    auto probe_group = 1 + container_of(segment_key{probe_rec->uid, probe_rec->segments[0].id}, 2);

    write_load load;
    load.start(*f, 100);
    // The probe writes one event at a time; the time from a kill to the acknowledgement of the
    // first probe event written after it is the failover time as a writer sees it. The probe
    // thread only records (start, acknowledged) pairs; assertions stay on the test thread (Catch2
    // v2's are not thread-safe).
    std::atomic<bool> probing{true};
    std::atomic<bool> probe_opened{false};
    std::mutex probe_mutex;
    std::vector<std::pair<int64_t, int64_t>> probe_acks;  // steady-clock ns, guarded
    std::thread probe([&] {
        auto w = f->create_writer("sys", "probe");
        if (!w) {
            probing = false;
            return;
        }
        probe_opened = true;
        for (int i = 0; probing.load(); ++i) {
            std::atomic<bool> ok{false};
            auto started = std::chrono::steady_clock::now().time_since_epoch().count();
            auto e = (*w)->write("p", "probe " + std::to_string(i),
                                 [&](const caf::error& x) { ok = !x; });
            if (!e && !(*w)->flush() && ok.load()) {
                auto acked = std::chrono::steady_clock::now().time_since_epoch().count();
                std::lock_guard<std::mutex> guard(probe_mutex);
                probe_acks.emplace_back(started, acked);
            }
        }
        (void)(*w)->close();
    });
    // A failed REQUIRE below must not leave the thread joinable (std::terminate).
    struct stop_probe {
        std::atomic<bool>& flag;
        std::thread& thread;
        ~stop_probe() {
            flag = false;
            if (thread.joinable()) {
                thread.join();
            }
        }
    } stop_probe_on_exit{probing, probe};
    // The acknowledgement time of the first probe event written after `since`, if any yet.
    auto first_ack_after = [&](int64_t since) -> std::optional<int64_t> {
        std::lock_guard<std::mutex> guard(probe_mutex);
        for (const auto& [started, acked] : probe_acks) {
            if (started > since) {
                return acked;
            }
        }
        return std::nullopt;
    };
    std::vector<double> failover_ms;
    std::vector<uint32_t> victims;
    auto wait_acks = [&](int n) {
        for (int i = 0; i < 20000 && load.acked_total.load() < n; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    };
    // Kill the leader of the probe's container four times (each time restarting it), then a
    // follower, then pause a leader for two seconds.
    for (int round = 0; round < 4 && load.acked_total.load() < events_total; ++round) {
        wait_acks(load.acked_total.load() + events_total / 12);
        auto victim = c.leader_of(probe_group);
        REQUIRE(victim != 0);
        auto killed_at = std::chrono::steady_clock::now().time_since_epoch().count();
        c.node(victim).kill_hard();
        std::optional<int64_t> acked;
        for (int i = 0; i < 20000 && !(acked = first_ack_after(killed_at)); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        INFO("round " << round << ": node " << victim << " killed");
        REQUIRE(probe_opened.load());
        REQUIRE(acked.has_value());  // no failover measured: no probe written after the kill
                                     // was acknowledged within 20 s
        failover_ms.push_back(double(*acked - killed_at) / 1e6);
        victims.push_back(victim);
        REQUIRE(c.node(victim).start());
    }
    auto leader = c.leader_of(probe_group);
    REQUIRE(leader != 0);
    auto follower = leader % 3 + 1;
    c.node(follower).kill_hard();
    wait_acks(load.acked_total.load() + 1000);
    REQUIRE(c.node(follower).start());
    leader = c.leader_of(probe_group);
    REQUIRE(leader != 0);
    c.node(leader).pause();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    c.node(leader).resume();
    probing = false;
    probe.join();
    load.finish();
    std::string times;
    for (auto ms : failover_ms) {
        times += std::to_string(static_cast<int>(ms)) + " ms ";
    }
    std::string killed;
    for (auto v : victims) {
        killed += std::to_string(v) + " ";
    }
    WARN("failover (kill -9 of the leader until the probe's next acknowledgement): "
         << times << "(nodes killed: " << killed << ")");
    for (auto ms : failover_ms) {
        CHECK(ms < 5000);
    }
    // Kill every node, restart all, and read through a fresh client: every acknowledged event
    // exactly once and in per-key order.
    for (uint32_t id = 1; id <= 3; ++id) {
        c.node(id).kill_hard();
    }
    for (uint32_t id = 1; id <= 3; ++id) {
        REQUIRE(c.node(id).start());
    }
    REQUIRE(c.leader_of(1) != 0);
    REQUIRE(c.leader_of(2) != 0);
    auto g = connect(c.node(2).endpoint());
    verify_stream(*g, load.acked);
    for (uint32_t id = 1; id <= 3; ++id) {
        CHECK(c.node(id).stop() == 0);
    }
}

TEST_CASE("a cluster node whose disk was wiped rejoins, catches up and counts again",
          "[system][cluster]") {
    test::cluster3 c;
    auto f = connect(c.node(1).endpoint());
    c.create_stream(*f, 4);
    write_load load;
    load.start(*f);
    // Wipe node 3 while the writers run: stop it, replace its data directory, start it again.
    for (int i = 0; i < 20000 && load.acked_total.load() < events_total / 3; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    c.node(3).kill_hard();
    c.dirs[2] = std::make_unique<test::temp_dir>();  // same flags, an empty directory
    c.nodes[2] = c.make_node(3);
    REQUIRE(c.node(3).start());
    load.finish();
    // Node 3 leaves its recovering state in every group (a leader elected after it came back
    // has caught it up).
    bool recovered = c.caught_up(3);
    std::string statuses;
    if (!recovered) {
        for (uint32_t id = 1; id <= 3; ++id) {
            std::string out;
            test::run_command(std::string(PRAVAHA_CLI_BIN) + " --endpoint " +
                                  c.node(id).endpoint() + " cluster status --json",
                              out);
            statuses += out;
        }
    }
    CAPTURE(statuses);
    REQUIRE(recovered);
    // Now it counts as a copy: with node 1 gone, nodes 2 and 3 hold everything.
    c.node(1).kill_hard();
    REQUIRE(c.leader_of(1) != 0);
    REQUIRE(c.leader_of(2) != 0);
    auto g = connect(c.node(3).endpoint());
    verify_stream(*g, load.acked);
    CHECK(c.node(2).stop() == 0);
    CHECK(c.node(3).stop() == 0);
}
