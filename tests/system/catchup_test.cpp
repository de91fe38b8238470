// Rebuilding a cluster member from snapshots (issue 25): a node that was stopped while the others
// took several times their memory limit in data catches up from snapshots sent in chunks, and
// no node's peak resident memory passes its --memory-limit on the way; then the rebuilt node,
// with one of the others gone, serves every event. Also with the sending leader killed in the
// middle of the transfer. Real node processes; PRAVAHA_CATCHUP_RATE the nodes'
// --snapshot-rate-bytes (default 32M), PRAVAHA_CATCHUP_MIB the data written
// (default 1024 MiB; 128 MiB in a sanitizer build, which reports the peaks without bounding
// them: its shadow memory and quarantine are not ours).

#include "client/client.hpp"
#include "schema/errc.hpp"
#include "schema/raft_types.hpp"

#include "tests/system/system_support.hpp"
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace pravaha;

namespace {

constexpr size_t event_bytes = 1 << 20;
constexpr uint64_t memory_limit_mib = 256;

#ifdef PRAVAHA_SANITIZED
constexpr bool bound_memory = false;
constexpr uint64_t default_mib = 128;
#else
constexpr bool bound_memory = true;
constexpr uint64_t default_mib = 1024;
#endif

uint64_t data_mib() {
    const char* v = std::getenv("PRAVAHA_CATCHUP_MIB");  // NOLINT(concurrency-mt-unsafe)
    return v != nullptr ? std::strtoull(v, nullptr, 10) : default_mib;
}

// The peak resident set of a running process (VmHWM), in MiB.
uint64_t peak_rss_mib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            return std::strtoull(line.c_str() + 6, nullptr, 10) / 1024;
        }
    }
    return 0;
}

// Event i: its number, then bytes that do not compress (so that what a snapshot carries and
// what the disk holds are both the full size).
std::string payload_of(uint64_t i) {
    std::string p = fmt::format("e{:08}:", i);
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ULL;
    while (p.size() < event_bytes) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p.push_back(static_cast<char>('a' + x % 26));
    }
    return p;
}

void write_events(client::client_factory& f, uint64_t count) {
    auto writer = f.create_writer("sys", "events");
    REQUIRE(writer);
    std::atomic<uint64_t> failed{0};
    for (uint64_t i = 0; i < count; ++i) {
        REQUIRE(!(*writer)->write("k" + std::to_string(i % 16), payload_of(i),
                                  [&failed](const caf::error& e) {
                                      if (e) {
                                          ++failed;
                                      }
                                  }));
    }
    REQUIRE(!(*writer)->close());
    REQUIRE(failed.load() == 0);
}

// Every event once and intact, read through `f`.
void verify_events(client::client_factory& f, uint64_t count) {
    std::vector<int> seen(count, 0);
    uint64_t damaged = 0;
    test::read_all(f, [&](const std::string& p) {
        uint64_t i = std::strtoull(p.c_str() + 1, nullptr, 10);
        if (i >= count || p != payload_of(i)) {
            ++damaged;
            return;
        }
        ++seen[i];
    });
    uint64_t missing = 0;
    uint64_t repeated = 0;
    for (int n : seen) {
        missing += n == 0 ? 1 : 0;
        repeated += n > 1 ? 1 : 0;
    }
    CHECK(damaged == 0);
    CHECK(missing == 0);
    CHECK(repeated == 0);
}

// Each group's status as node `id` reports its own replicas (empty if it does not answer).
std::vector<raft::group_status> groups_of(test::node_process& node) {
    client::client_config cfg;
    cfg.endpoint = node.endpoint();
    auto f = client::client_factory::connect(cfg);
    if (!f) {
        return {};
    }
    auto info = (*f)->streams().cluster_status();
    return info ? info->groups : std::vector<raft::group_status>{};
}

// The highest commit index of each group among the running nodes but `except`.
std::map<uint32_t, uint64_t> commits(test::cluster3& c, uint32_t except) {
    std::map<uint32_t, uint64_t> out;
    for (uint32_t id = 1; id <= 3; ++id) {
        if (id == except || !c.node(id).running()) {
            continue;
        }
        for (const auto& g : groups_of(c.node(id))) {
            out[g.group] = std::max(out[g.group], g.commit);
        }
    }
    return out;
}

// Whether node `id` has applied every group through `target`.
bool applied_through(test::cluster3& c, uint32_t id, const std::map<uint32_t, uint64_t>& target) {
    auto groups = groups_of(c.node(id));
    if (groups.size() != target.size()) {
        return false;
    }
    for (const auto& g : groups) {
        if (!g.reachable || g.applied < target.at(g.group)) {
            return false;
        }
    }
    return true;
}

// The node (and group) leading a snapshot transfer to `to` with bytes sent, if any.
std::pair<uint32_t, raft::snapshot_status> transfer_to(test::cluster3& c, uint32_t to) {
    for (uint32_t id = 1; id <= 3; ++id) {
        if (id == to || !c.node(id).running()) {
            continue;
        }
        for (const auto& g : groups_of(c.node(id))) {
            for (const auto& s : g.snapshots) {
                if (s.follower == to && s.bytes_sent > 0) {
                    return {id, s};
                }
            }
        }
    }
    return {0, {}};
}

// A cluster of three with the test's memory limit, stream sys/events, node 3 stopped and
// `count` events of 1 MiB written without it.
struct behind {
    test::cluster3 c{[](uint32_t) {
        // 32 MiB/s: a transfer lasts long enough to be seen (and killed) in the middle.
        const char* rate = std::getenv("PRAVAHA_CATCHUP_RATE");  // NOLINT(concurrency-mt-unsafe)
        return std::vector<std::string>{"--memory-limit", std::to_string(memory_limit_mib),
                                        "--snapshot-rate-bytes", rate != nullptr ? rate : "32M"};
    }};
    uint64_t count = data_mib();
    std::map<uint32_t, uint64_t> target;

    behind() {
        auto f = test::connect(c.node(1).endpoint());
        c.create_stream(*f, 2);
        REQUIRE(c.node(3).stop() == 0);
        auto t0 = std::chrono::steady_clock::now();
        write_events(*f, count);
        auto s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("catch-up test: %llu MiB written to 2 of 3 nodes in %.1f s (%.0f MiB/s)\n",
                    static_cast<unsigned long long>(count), s, static_cast<double>(count) / s);
        for (uint32_t id = 1; id <= 2; ++id) {
            std::printf("catch-up test: node %u peak RSS while written to: %llu MiB\n", id,
                        static_cast<unsigned long long>(peak_rss_mib(c.node(id).pid())));
        }
        target = commits(c, 3);  // every event is committed through these
        REQUIRE(target.size() == 3);
        // Nodes 1 and 2 start again, so that their peaks measure the catch-up alone (the write
        // path's heap stays resident after the writes).
        for (uint32_t id = 1; id <= 2; ++id) {
            REQUIRE(c.node(id).stop() == 0);
        }
        for (uint32_t id = 1; id <= 2; ++id) {
            REQUIRE(c.node(id).start());
        }
        REQUIRE(
            test::eventually([&] { return commits(c, 3).size() == 3; }, std::chrono::seconds(30)));
    }

    // Restarts node 3, watches for a snapshot transfer to it (`during` runs once one is seen)
    // and waits until node 3 applied everything. Returns the seconds it took.
    double catch_up(const std::function<void(uint32_t sender)>& during = {}) {
        auto t0 = std::chrono::steady_clock::now();
        REQUIRE(c.node(3).start());
        bool transfer_seen = false;
        bool done = test::eventually(
            [&] {
                if (!transfer_seen) {
                    auto [sender, s] = transfer_to(c, 3);
                    if (sender != 0) {
                        transfer_seen = true;
                        std::printf(
                            "catch-up test: node %u sends a snapshot at index %llu: %llu "
                            "of about %llu MiB after %llu ms\n",
                            sender, static_cast<unsigned long long>(s.index),
                            static_cast<unsigned long long>(s.bytes_sent >> 20),
                            static_cast<unsigned long long>(s.bytes_total >> 20),
                            static_cast<unsigned long long>(s.elapsed_ms));
                        if (during) {
                            during(sender);
                        }
                    }
                }
                return applied_through(c, 3, target);
            },
            std::chrono::seconds(240));
        auto s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("catch-up test: node 3 caught up with %llu MiB in %.1f s (%.0f MiB/s)\n",
                    static_cast<unsigned long long>(count), s, static_cast<double>(count) / s);
        CHECK(transfer_seen);
        REQUIRE(done);
        return s;
    }

    // Peak RSS of the running nodes (started again before the catch-up).
    void check_memory() {
        for (uint32_t id = 1; id <= 3; ++id) {
            if (!c.node(id).running()) {
                continue;
            }
            auto rss = peak_rss_mib(c.node(id).pid());
            std::printf("catch-up test: node %u peak RSS %llu MiB (limit %llu)\n", id,
                        static_cast<unsigned long long>(rss),
                        static_cast<unsigned long long>(memory_limit_mib));
            CHECK(rss > 0);
            if (bound_memory) {
                CHECK(rss < memory_limit_mib);
            }
        }
    }
};

}  // namespace

TEST_CASE("a member rebuilt from snapshots of several times its memory limit stays within it",
          "[system][cluster][snapshot]") {
    behind b;
    std::string status;
    b.catch_up([&](uint32_t sender) {
        // An operator sees the transfer's progress (its rate after a second).
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        test::run_command(std::string(PRAVAHA_CLI_BIN) + " --endpoint " +
                              b.c.node(sender).endpoint() + " cluster status",
                          status);
    });
    CAPTURE(status);
    CHECK(status.find("sends node 3 a snapshot at index") != std::string::npos);
    CHECK(status.find(" MiB/s") != std::string::npos);
    b.check_memory();
    // With node 1 gone, nodes 2 and 3 hold everything.
    b.c.node(1).kill_hard();
    auto f = test::connect(b.c.node(3).endpoint());
    verify_events(*f, b.count);
    CHECK(b.c.node(2).stop() == 0);
    CHECK(b.c.node(3).stop() == 0);
}

TEST_CASE("a member catches up when the leader sending it a snapshot is killed mid-transfer",
          "[system][cluster][snapshot]") {
    behind b;
    uint32_t killed = 0;
    b.catch_up([&](uint32_t sender) {
        b.c.node(sender).kill_hard();
        killed = sender;
    });
    REQUIRE(killed != 0);
    b.check_memory();
    // The survivors: the other old member and the rebuilt node 3.
    auto f = test::connect(b.c.node(3).endpoint());
    verify_events(*f, b.count);
    for (uint32_t id = 1; id <= 3; ++id) {
        if (b.c.node(id).running()) {
            CHECK(b.c.node(id).stop() == 0);
        }
    }
}
