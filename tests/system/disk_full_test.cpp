// A full disk: the node refuses appends and stream creations with storage_full, keeps serving
// reads, seals and deletes, and takes writes again once space is freed, without a restart.

#include "tests/system/system_support.hpp"
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace pravaha;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

namespace fs = std::filesystem;

// A tmpfs of `mib` MiB mounted at a new directory when the machine allows it (root); otherwise
// nothing, and the node is told the capacity with --disk-capacity-bytes (its guard then counts
// the data directory's bytes against it).
struct small_disk {
    test::temp_dir dir;
    bool mounted = false;
    explicit small_disk(int mib) {
        std::string out;
        mounted =
            test::run_command(
                fmt::format("mount -t tmpfs -o size={}m tmpfs {} 2>&1", mib, dir.path()), out) == 0;
        if (!mounted) {
            WARN("no tmpfs (" << out << "): the node's guard is given the capacity instead");
        }
    }
    ~small_disk() {
        std::string out;
        for (int i = 0; mounted && i < 50; ++i) {
            if (test::run_command("umount " + dir.path() + " 2>&1", out) == 0) {
                break;
            }
            std::this_thread::sleep_for(milliseconds(100));
        }
    }
};

// Incompressible bytes (RocksDB compresses blocks), as text.
std::string noise(std::mt19937_64& rng, size_t n) {
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::string s(n, ' ');
    for (auto& c : s) {
        c = letters[rng() % (sizeof letters - 1)];
    }
    return s;
}

}  // namespace

TEST_CASE("a full disk refuses writes with storage_full and takes them again when space is freed",
          "[system][disk]") {
    small_disk disk(64);
    auto data = disk.dir.path() + "/node";
    fs::create_directories(data);
    test::node_process node(data, test::free_port());
    node.add_args({"--min-free-bytes", "24M", "--memory-limit", "64"});
    if (!disk.mounted) {
        node.add_args({"--disk-capacity-bytes", "64M"});
    }
    REQUIRE(node.start());
    // What an operator can delete later: 16 MiB on the same file system.
    {
        std::mt19937_64 rng(1);
        std::ofstream filler(data + "/operator-filler", std::ios::binary);
        filler << noise(rng, 16 << 20);
    }
    auto f = test::connect(node.endpoint());
    REQUIRE(!f->streams().create_scope("s"));
    REQUIRE(f->streams().create_stream("s", "keep", 2));
    REQUIRE(f->streams().create_stream("s", "other", 1));

    auto writer = f->create_writer("s", "keep");
    REQUIRE(writer);
    std::mutex mutex;
    std::set<std::string> acked;
    std::atomic<bool> full{false};
    std::atomic<int64_t> full_at_ms{0};
    std::atomic<int> other_errors{0};
    auto now_ms = [] {
        return std::chrono::duration_cast<milliseconds>(steady_clock::now().time_since_epoch())
            .count();
    };
    std::mt19937_64 rng(2);
    int sent = 0;
    for (; sent < 300000 && !full; ++sent) {
        auto id = fmt::format("e{}-", sent);
        auto err = (*writer)->write("k" + std::to_string(sent % 8), id + noise(rng, 400),
                                    [&, id](const caf::error& e) {
                                        if (!e) {
                                            std::lock_guard<std::mutex> g(mutex);
                                            acked.insert(id);
                                        } else if (code_of(e) == errc::storage_full) {
                                            if (!full.exchange(true)) {
                                                full_at_ms = now_ms();
                                            }
                                        } else {
                                            ++other_errors;
                                        }
                                    });
        REQUIRE(!err);
    }
    REQUIRE(full);
    // Everything pending resolves at once, not after a minute of retries.
    auto flushed = (*writer)->flush();
    CHECK(code_of(flushed) == errc::storage_full);
    CHECK(now_ms() - full_at_ms.load() < 1000);
    CHECK(other_errors == 0);
    INFO("events sent " << sent << ", acknowledged " << acked.size());

    // Meanwhile: no new stream, but reads, seals, deletes and the status work.
    CHECK(code_of(f->streams().create_stream("s", "new", 1).error()) == errc::storage_full);
    auto info = f->streams().cluster_status();
    REQUIRE(info);
    CHECK(info->storage_full.find("disk full on node") != std::string::npos);
    {
        auto reader = f->create_reader("s", "keep", client::start_position::head);
        REQUIRE(reader);
        auto ev = (*reader)->read_next(milliseconds(2000));
        REQUIRE(ev);
        CHECK(*ev);
    }
    CHECK(!f->streams().seal_stream("s", "other"));
    CHECK(!f->streams().delete_stream("s", "other"));

    // The operator frees space: writes resume on the same writer, without a restart.
    fs::remove(data + "/operator-filler");
    auto freed = steady_clock::now();
    bool resumed = false;
    while (!resumed && steady_clock::now() - freed < std::chrono::seconds(5)) {
        auto id = fmt::format("after{}-", sent++);
        REQUIRE(!(*writer)->write("k0", id + noise(rng, 400)));
        if (!(*writer)->flush()) {
            std::lock_guard<std::mutex> g(mutex);
            acked.insert(id);
            resumed = true;
        } else {
            std::this_thread::sleep_for(milliseconds(100));
        }
    }
    CHECK(resumed);
    CHECK(f->streams().create_stream("s", "new", 1));

    // Every acknowledged event is there exactly once, and nothing that failed.
    std::set<std::string> stored;
    size_t duplicates = 0;
    auto reader = f->create_reader("s", "keep", client::start_position::head);
    REQUIRE(reader);
    while (true) {
        auto ev = (*reader)->read_next(milliseconds(0));
        REQUIRE(ev);
        if (!*ev) {
            break;
        }
        auto id = (*ev)->payload.substr(0, (*ev)->payload.find('-') + 1);
        duplicates += stored.insert(id).second ? 0 : 1;
    }
    CHECK(duplicates == 0);
    std::vector<std::string> lost;
    std::vector<std::string> failed_but_stored;
    std::set_difference(acked.begin(), acked.end(), stored.begin(), stored.end(),
                        std::back_inserter(lost));
    std::set_difference(stored.begin(), stored.end(), acked.begin(), acked.end(),
                        std::back_inserter(failed_but_stored));
    INFO("acknowledged " << acked.size() << ", stored " << stored.size() << ", first lost "
                         << (lost.empty() ? "-" : lost.front()) << ", first failed but stored "
                         << (failed_but_stored.empty() ? "-" : failed_but_stored.front()));
    CHECK(lost.empty());
    CHECK(failed_but_stored.empty());
    CHECK(node.stop() == 0);
}
