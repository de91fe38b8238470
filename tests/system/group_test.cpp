// Reader groups against real node processes: a group and its checkpoints live in the controller's
// replicated state, so a SIGKILL of the controller's leader loses none of it.

#include "tests/system/cli_support.hpp"
#include "tests/system/system_support.hpp"

#include <atomic>
#include <csignal>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

using namespace pravaha;
using namespace std::chrono_literals;

namespace {

// Retries `call` while the cluster elects (not_leader, unavailable, timeout), up to 20 s.
template <class F>
auto retried(F call) {
    auto r = call();
    for (int i = 0; i < 200 && !r; ++i) {
        auto code = code_of(r.error());
        if (code != errc::not_leader && code != errc::unavailable && code != errc::timeout) {
            break;
        }
        std::this_thread::sleep_for(100ms);
        r = call();
    }
    return r;
}

// One event a `pravaha read --group --json` printed.
struct delivery {
    std::string segment;
    int64_t offset = 0;
    std::string payload;  // "k<key>-<sequence>"
};

// The string value of "key" in a flat JSON line ("" when missing).
std::string json_string(const std::string& line, const std::string& key) {
    auto at = line.find("\"" + key + "\":\"");
    if (at == std::string::npos) {
        return {};
    }
    at += key.size() + 4;
    return line.substr(at, line.find('"', at) - at);
}

// The events of a reader's output file (checkpoint lines left out).
std::vector<delivery> deliveries(const std::string& path) {
    std::vector<delivery> out;
    std::istringstream in(test::read_text(path));
    std::string line;
    while (std::getline(in, line)) {
        if (line.find("\"event\"") == std::string::npos) {
            continue;
        }
        delivery d;
        d.segment = json_string(line, "segment");
        d.offset = static_cast<int64_t>(test::json_number(line, "offset"));
        d.payload = json_string(line, "event");
        out.push_back(d);
    }
    return out;
}

std::pair<std::string, int64_t> key_and_sequence(const std::string& payload) {
    auto dash = payload.rfind('-');
    return {payload.substr(0, dash), std::stoll(payload.substr(dash + 1))};
}

// Per key, the sequence numbers a reader printed grow.
void check_key_order(const std::vector<delivery>& ds, const std::string& who) {
    std::map<std::string, int64_t> last;
    for (const auto& d : ds) {
        auto [key, seq] = key_and_sequence(d.payload);
        auto it = last.find(key);
        INFO(who << " key " << key << " sequence " << seq);
        CHECK((it == last.end() || it->second < seq));
        last[key] = seq;
    }
}

// A `pravaha read --group` process printing JSON lines into `out`.
std::unique_ptr<test::child_process> group_reader(const std::string& endpoint,
                                                  const std::string& reader,
                                                  const std::string& out) {
    return std::make_unique<test::child_process>(
        std::vector<std::string>{PRAVAHA_CLI_BIN, "--endpoint", endpoint, "read", "--group",
                                 "sys/g", "--reader", reader, "--follow", "--json"},
        out);
}

// Writes `count` events "k<i % keys>-<i / keys>" (a sequence per key) to sys/events.
void write_events(client::client_factory& f, int from, int count, int keys) {
    auto w = f.create_writer("sys", "events");
    REQUIRE(w);
    for (int i = from; i < from + count; ++i) {
        auto key = "k" + std::to_string(i % keys);
        REQUIRE(!(*w)->write(key, key + "-" + std::to_string(i / keys)));
    }
    REQUIRE(!(*w)->close());
}

// Polls the group until `done(info)` holds, up to `limit`; the time it took (limit + 1 s if never).
std::chrono::milliseconds wait_group(client::client_factory& f,
                                     std::chrono::milliseconds limit,
                                     const std::function<bool(const group_info&)>& done) {
    auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < limit) {
        auto info = f.groups().group("sys", "g");
        REQUIRE(info);
        if (done(*info)) {
            return std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start);
        }
        std::this_thread::sleep_for(50ms);
    }
    return limit + 1s;
}

bool has_reader(const group_info& g, const std::string& name) {
    return std::any_of(g.readers.begin(), g.readers.end(),
                       [&](const group_reader_info& r) { return r.name == name; });
}

size_t segments_of(const group_info& g, const std::string& name) {
    for (const auto& r : g.readers) {
        if (r.name == name) {
            return r.segments.size();
        }
    }
    return 0;
}

// A standalone node with stream sys/events of `segments` segments and group sys/g over it.
struct standalone_group {
    standalone_group(uint32_t segments, int64_t lease_ms, int64_t checkpoint_interval_ms)
        : node(dir.path() + "/node", test::free_port()) {
        REQUIRE(node.start());
        f = test::connect(node.endpoint());
        REQUIRE(!f->streams().create_scope("sys"));
        REQUIRE(f->streams().create_stream("sys", "events", segments));
        group_config cfg;
        cfg.streams.push_back({"sys", "events", {}, {}});
        cfg.lease_ms = lease_ms;
        cfg.checkpoint_interval_ms = checkpoint_interval_ms;
        REQUIRE(f->groups().create_group("sys", "g", cfg));
    }
    test::temp_dir dir;
    test::node_process node;
    std::unique_ptr<client::client_factory> f;
};

}  // namespace

TEST_CASE("three CLI readers share a stream, and a SIGKILLed reader's segments go to the others",
          "[system][groups]") {
    standalone_group sg(6, 2000, 30'000);
    auto& dir = sg.dir;
    auto& node = sg.node;
    auto& f = sg.f;

    std::map<std::string, std::unique_ptr<test::child_process>> readers;
    for (const auto* name : {"r1", "r2", "r3"}) {
        readers[name] = group_reader(node.endpoint(), name, dir.path() + "/" + name + ".out");
    }
    // Every reader owns two segments before the writes begin.
    REQUIRE(wait_group(*f, 10s, [](const group_info& g) {
                return g.readers.size() == 3 && segments_of(g, "r1") == 2 &&
                       segments_of(g, "r2") == 2 && segments_of(g, "r3") == 2;
            }) < 10s);
    constexpr int total = 30'000;
    constexpr int keys = 200;
    // Written in steps, so that r1 dies in the middle of reading (without leaving): what it
    // read after its last report is read again by the reader that takes over.
    std::chrono::steady_clock::time_point killed;
    for (int step = 0; step < 30; ++step) {
        write_events(*f, step * total / 30, total / 30, keys);
        if (step == 15) {
            readers["r1"]->kill_hard();
            killed = std::chrono::steady_clock::now();
        }
        std::this_thread::sleep_for(40ms);
    }
    auto takeover = wait_group(*f, 15s, [](const group_info& g) {
        return !has_reader(g, "r1") && g.unassigned.empty() && g.readers.size() == 2;
    });
    auto since_kill = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - killed);
    WARN("takeover after " << since_kill.count() << " ms since the SIGKILL (lease 2000 ms)");
    CHECK(takeover < 15s);
    CHECK(since_kill < 2000ms + 5s);  // the lease and a few seconds
    REQUIRE(wait_group(*f, 30s, [](const group_info& g) { return g.unread_bytes == 0; }) < 30s);

    // A fourth reader joining later gets segments from the others.
    readers["r4"] = group_reader(node.endpoint(), "r4", dir.path() + "/r4.out");
    CHECK(wait_group(*f, 10s, [](const group_info& g) { return segments_of(g, "r4") > 0; }) < 10s);
    // The three leave on SIGTERM: the group has no readers, and nothing is unread.
    for (const auto* name : {"r2", "r3", "r4"}) {
        REQUIRE(::kill(readers[name]->pid(), SIGTERM) == 0);
    }
    for (const auto* name : {"r2", "r3", "r4"}) {
        CHECK(readers[name]->wait(20s) == 0);
    }
    auto after = f->groups().group("sys", "g");
    REQUIRE(after);
    CHECK(after->readers.empty());
    CHECK(after->unread_bytes == 0);

    // Every event read; twice only when r1 read it before it died (its range after its last
    // reported position), never twice by the live readers; per key in order in every output.
    std::map<std::string, std::vector<std::string>> readers_of;  // payload -> who read it
    for (const auto* name : {"r1", "r2", "r3", "r4"}) {
        auto ds = deliveries(dir.path() + "/" + name + ".out");
        check_key_order(ds, name);
        for (const auto& d : ds) {
            readers_of[d.payload].push_back(name);
        }
    }
    CHECK(readers_of.size() == static_cast<size_t>(total));
    size_t twice = 0;
    for (const auto& [payload, who] : readers_of) {
        if (who.size() > 1) {
            INFO(payload << " read " << who.size() << " times");
            CHECK(who.size() == 2);
            CHECK(std::count(who.begin(), who.end(), "r1") == 1);
            ++twice;
        }
    }
    WARN("events read twice (after r1's last reported position): " << twice);
}

TEST_CASE("a reader group's checkpoint marks the readers, and a reset reads after it again",
          "[system][groups]") {
    standalone_group sg(3, 4000, 0);
    auto& f = sg.f;
    write_events(*f, 0, 150, 30);

    auto reader = f->create_group_reader("sys", "g", "only");
    REQUIRE(reader);
    // A second reader with the same name is refused while the first lives.
    auto twin = f->create_group_reader("sys", "g", "only");
    REQUIRE(!twin);
    CHECK(code_of(twin.error()) == errc::reader_exists);
    auto read_available = [&](std::vector<std::string>& into) {
        while (true) {
            auto ev = (*reader)->read_next(0ms);
            REQUIRE(ev);
            if (!*ev) {
                return;
            }
            REQUIRE((*ev)->checkpoint.empty());
            into.push_back((*ev)->payload);
        }
    };
    std::vector<std::string> before;
    read_available(before);
    CHECK(before.size() == 150);
    // The checkpoint completes once the reader handed out its marker and was asked for more.
    auto cut_answer =
        std::async(std::launch::async, [&] { return f->groups().checkpoint("sys", "g", "cp1"); });
    std::optional<client::event> marker;
    for (int i = 0; i < 100 && !marker; ++i) {
        auto ev = (*reader)->read_next(100ms);
        REQUIRE(ev);
        marker = *ev;
    }
    REQUIRE(marker);
    CHECK(marker->checkpoint == "cp1");
    CHECK(marker->payload.empty());
    CHECK(cut_answer.wait_for(300ms) == std::future_status::timeout);  // not recorded yet
    write_events(*f, 150, 150, 30);
    std::vector<std::string> after_marker;
    read_available(after_marker);  // records the checkpoint first
    auto cuts = cut_answer.get();
    REQUIRE(cuts);
    REQUIRE(cuts->size() == 1);
    for (int i = 0; i < 50 && after_marker.size() < 150; ++i) {
        std::this_thread::sleep_for(50ms);
        read_available(after_marker);
    }
    CHECK(after_marker.size() == 150);

    // Rewind to the checkpoint: the reader is told it is offline, a new one reads exactly the
    // events after the marker again.
    auto gen = f->groups().reset("sys", "g", "cp1", {});
    REQUIRE(gen);
    CHECK(*gen == 1);
    caf::expected<std::optional<client::event>> told{std::nullopt};
    for (int i = 0; i < 100; ++i) {
        told = (*reader)->read_next(100ms);
        if (!told) {
            break;
        }
    }
    REQUIRE(!told);
    CHECK(code_of(told.error()) == errc::reader_offline);
    reader->reset();
    auto again = f->create_group_reader("sys", "g", "only");
    REQUIRE(again);
    std::vector<std::string> reread;
    while (true) {
        auto ev = (*again)->read_next(0ms);
        REQUIRE(ev);
        if (!*ev) {
            break;
        }
        reread.push_back((*ev)->payload);
    }
    std::sort(reread.begin(), reread.end());
    std::sort(after_marker.begin(), after_marker.end());
    CHECK(reread == after_marker);
    REQUIRE(!(*again)->close());
    auto info = f->groups().group("sys", "g");
    REQUIRE(info);
    CHECK(info->readers.empty());
    CHECK(info->unread_bytes == 0);
}

TEST_CASE("two group readers follow a merge and a split: every event once, per key in order",
          "[system][groups]") {
    standalone_group sg(2, 3000, 0);
    auto& f = sg.f;
    // Every event handed out, in the order the two readers handed them out.
    std::mutex mutex;
    std::vector<std::pair<std::string, std::string>> delivered;  // (reader, payload)
    std::atomic<bool> stop{false};
    // Reader b is slow (1 ms an event): its segments lag, so a successor handed out before all
    // of its predecessors were read would put a key's later events out before its earlier ones.
    auto read_as = [&](const std::string& name, std::chrono::microseconds pause) {
        auto r = f->create_group_reader("sys", "g", name);
        REQUIRE(r);
        while (!stop) {
            auto ev = (*r)->read_next(100ms);
            REQUIRE(ev);
            if (*ev && (*ev)->checkpoint.empty()) {
                std::lock_guard<std::mutex> lock(mutex);
                delivered.emplace_back(name, (*ev)->payload);
            }
            std::this_thread::sleep_for(pause);
        }
        REQUIRE(!(*r)->close());
    };
    auto a = std::async(std::launch::async, read_as, "a", 0us);
    auto b = std::async(std::launch::async, read_as, "b", 1000us);
    constexpr int keys = 40;
    // Both readers own one segment (the second to join took one of the first's) before the
    // two segments merge; then the merged one splits.
    REQUIRE(wait_group(*f, 10s, [](const group_info& g) {
                return segments_of(g, "a") == 1 && segments_of(g, "b") == 1;
            }) < 10s);
    write_events(*f, 0, 2000, keys);
    auto merged =
        f->streams().merge("sys", "events", {segment_id::make(0, 0), segment_id::make(0, 1)});
    REQUIRE(merged);
    REQUIRE(merged->created.size() == 1);
    write_events(*f, 2000, 2000, keys);
    REQUIRE(f->streams().split("sys", "events", merged->created[0].id, 2));
    write_events(*f, 4000, 2000, keys);
    CHECK(wait_group(*f, 30s, [&](const group_info& g) {
              std::lock_guard<std::mutex> lock(mutex);
              return g.unread_bytes == 0 && g.future.empty() && delivered.size() >= 6000;
          }) < 30s);
    stop = true;
    a.get();
    b.get();
    std::lock_guard<std::mutex> lock(mutex);
    std::map<std::string, int> times;
    std::map<std::string, int64_t> last;  // key -> sequence
    std::set<std::string> who;
    for (const auto& [reader, payload] : delivered) {
        ++times[payload];
        who.insert(reader);
        auto [key, seq] = key_and_sequence(payload);
        auto it = last.find(key);
        INFO(reader << " handed out " << payload << " after sequence "
                    << (it == last.end() ? -1 : it->second));
        CHECK((it == last.end() || it->second < seq));
        last[key] = seq;
    }
    CHECK(times.size() == 6000);
    CHECK(std::all_of(times.begin(), times.end(), [](const auto& t) { return t.second == 1; }));
    CHECK(who.size() == 2);  // both read
}

TEST_CASE("a reader group and its checkpoint survive a SIGKILL of the controller's leader",
          "[system][groups][cluster]") {
    test::cluster3 c;
    auto f = test::connect(c.node(1).endpoint());
    c.create_stream(*f, 2);
    auto w = f->create_writer("sys", "events");
    REQUIRE(w);
    for (int i = 0; i < 10; ++i) {
        REQUIRE(!(*w)->write("k" + std::to_string(i), "payload-" + std::to_string(i)));
    }
    REQUIRE(!(*w)->flush());
    int64_t written = 10 * (8 + 9);

    group_config cfg;
    cfg.streams.push_back({"sys", "events", {}, {}});
    cfg.lease_ms = 3000;
    auto made = retried([&] { return f->groups().create_group("sys", "g", cfg); });
    REQUIRE(made);
    auto cuts = retried([&] { return f->groups().checkpoint("sys", "g", "one"); });
    REQUIRE(cuts);
    REQUIRE(cuts->size() == 1);
    CHECK(cuts->at(0).segments.size() == 2);

    auto victim = c.leader_of(0);
    REQUIRE(victim != 0);
    c.node(victim).kill_hard();
    uint32_t other = victim == 1 ? 2 : 1;
    auto g = test::connect(c.node(other).endpoint());
    auto info = retried([&] { return g->groups().group("sys", "g"); });
    REQUIRE(info);
    CHECK(info->readers.empty());
    CHECK(info->unassigned.size() == 2);
    CHECK(info->unread_bytes == written);
    REQUIRE(info->checkpoints.size() == 1);
    CHECK(info->checkpoints[0].name == "one");
    CHECK(info->checkpoints[0].complete);
    CHECK(info->checkpoints[0].cuts == *cuts);
    auto list = retried([&] { return g->groups().list_groups("sys"); });
    REQUIRE(list);
    CHECK(*list == std::vector<std::string>{"g"});
    REQUIRE(c.node(victim).start());
    auto gen = retried([&] { return g->groups().reset("sys", "g", "one", {}); });
    REQUIRE(gen);
    CHECK(*gen == 1);
}

TEST_CASE("group readers read on through a SIGKILL of the controller's leader",
          "[system][groups][cluster]") {
    test::cluster3 c;
    auto victim = c.leader_of(0);
    REQUIRE(victim != 0);
    // The readers' client and the writers' go through a node that survives.
    uint32_t other = victim == 1 ? 2 : 1;
    auto f = test::connect(c.node(other).endpoint());
    c.create_stream(*f, 4);
    group_config cfg;
    cfg.streams.push_back({"sys", "events", {}, {}});
    cfg.lease_ms = 4000;
    REQUIRE(retried([&] { return f->groups().create_group("sys", "g", cfg); }));
    std::mutex mutex;
    std::map<std::string, int> times;
    std::atomic<bool> stop{false};
    std::atomic<int> rejoins{0};
    auto read_as = [&](const std::string& name) {
        auto r = f->create_group_reader("sys", "g", name);
        REQUIRE(r);
        while (!stop) {
            auto ev = (*r)->read_next(100ms);
            if (!ev && code_of(ev.error()) == errc::reader_offline) {
                ++rejoins;  // declared offline while the controller moved: join again
                r->reset();
                r = retried([&] { return f->create_group_reader("sys", "g", name); });
                REQUIRE(r);
                continue;
            }
            REQUIRE(ev);
            if (*ev && (*ev)->checkpoint.empty()) {
                std::lock_guard<std::mutex> lock(mutex);
                ++times[(*ev)->payload];
            }
        }
        auto closed = (*r)->close();
        if (closed && code_of(closed) == errc::reader_offline) {
            ++rejoins;  // declared offline at the end: the group keeps its last report
        } else {
            CHECK(!closed);
        }
    };
    auto a = std::async(std::launch::async, read_as, "a");
    auto b = std::async(std::launch::async, read_as, "b");
    constexpr int keys = 50;
    write_events(*f, 0, 3000, keys);
    c.node(victim).kill_hard();
    write_events(*f, 3000, 3000, keys);
    auto all_read = [&] {
        std::lock_guard<std::mutex> lock(mutex);
        return times.size() == 6000;
    };
    for (int i = 0; i < 300 && !all_read(); ++i) {
        std::this_thread::sleep_for(100ms);
    }
    stop = true;
    a.get();
    b.get();
    CHECK(all_read());
    int twice = 0;
    for (const auto& [payload, n] : times) {
        twice += n > 1 ? 1 : 0;
    }
    // Exactly once unless a reader was declared offline while the controller moved.
    if (rejoins == 0) {
        CHECK(twice == 0);
    }
    WARN("rejoins " << rejoins.load() << ", events read twice " << twice);
    auto info = retried([&] { return f->groups().group("sys", "g"); });
    REQUIRE(info);
    CHECK(info->readers.empty());
    std::string where;
    for (const auto& u : info->unassigned) {
        where += " " + to_string(u.key.segment) + "@" + std::to_string(u.offset);
    }
    INFO("unassigned:" << where);
    if (rejoins == 0) {
        CHECK(info->unread_bytes == 0);  // both left where they stopped
    }
}
