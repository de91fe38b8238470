// The simulator's disk model and generator: the simulator's verdicts are only as good as these.

#include "sim/sim_disk.hpp"

#include "sim/prng.hpp"
#include "storage/controller_state.hpp"

#include <catch2/catch.hpp>

using namespace pravaha;
using namespace pravaha::sim;

namespace {

struct clock_stub {
    int64_t t = 1000;
};

storage::write_batch put(const std::string& k, const std::string& v) {
    storage::write_batch b;
    b.put(k, v);
    return b;
}

std::unique_ptr<storage::log_store> open_store(disk_model& disk, uint64_t inc) {
    auto s = disk.open(inc);
    REQUIRE(s);
    return std::move(*s);
}

bool has(const sim_disk::kv& m, const std::string& k) {
    return m.count(k) == 1;
}

}  // namespace

TEST_CASE("sim disk: writes are visible at once and durable only after their sync completes") {
    clock_stub clk;
    disk_faults f;
    f.sync_latency_ns = 100;
    sim_disk disk(prng(1), f, [&] { return clk.t; });
    auto store = open_store(disk, 1);
    REQUIRE_FALSE(store->write(put("a", "1"), false));
    auto got = store->get("a");
    REQUIRE(got);
    REQUIRE(*got == std::optional<std::string>("1"));
    REQUIRE_FALSE(has(disk.durable(), "a"));
    REQUIRE_FALSE(store->write(put("b", "2"), true));  // makes "a" durable too (prefix)
    REQUIRE(disk.take_synced());
    REQUIRE(disk.sync_done_at() == 1100);
    REQUIRE_FALSE(has(disk.durable(), "a"));  // the fsync is still running
    clk.t = 1100;
    REQUIRE(has(disk.durable(), "a"));
    REQUIRE(has(disk.durable(), "b"));
}

TEST_CASE("sim disk: a power cut loses unsynced writes and fences the old incarnation") {
    clock_stub clk;
    disk_faults f;
    f.keep_num = 0;  // every unsynced write is lost
    sim_disk disk(prng(2), f, [&] { return clk.t; });
    auto store = open_store(disk, 1);
    REQUIRE_FALSE(store->write(put("a", "1"), true));
    clk.t += f.sync_latency_ns;
    REQUIRE_FALSE(store->write(put("b", "2"), false));
    disk.crash();
    REQUIRE(store->write(put("c", "3"), true));  // the dead process cannot write
    REQUIRE_FALSE(store->get("a"));
    auto next = open_store(disk, 2);
    auto a = next->get("a");
    auto b = next->get("b");
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(a->has_value());
    REQUIRE_FALSE(b->has_value());
}

TEST_CASE("sim disk: a crash keeps a prefix of the unsynced writes, never a later one alone") {
    for (uint64_t seed = 1; seed < 200; ++seed) {
        clock_stub clk;
        disk_faults f;
        f.keep_num = 1;
        f.keep_den = 2;
        sim_disk disk(prng(seed), f, [&] { return clk.t; });
        auto store = open_store(disk, 1);
        for (int i = 0; i < 6; ++i) {
            REQUIRE_FALSE(store->write(put("k" + std::to_string(i), "v"), false));
        }
        disk.crash();
        const auto& d = disk.durable();
        bool gap = false;
        for (int i = 0; i < 6; ++i) {
            bool present = has(d, "k" + std::to_string(i));
            REQUIRE_FALSE((gap && present));
            gap = gap || !present;
        }
    }
}

TEST_CASE("sim disk: after a failed sync the pending writes never become durable") {
    clock_stub clk;
    disk_faults f;
    f.sync_error_num = 1;
    f.sync_error_den = 1;  // every sync fails
    sim_disk disk(prng(3), f, [&] { return clk.t; });
    auto store = open_store(disk, 1);
    REQUIRE(store->write(put("a", "1"), true));
    f.sync_error_num = 0;
    disk.set_faults(f);
    // As RocksDB: no write succeeds after a failed sync until the store is opened again.
    REQUIRE(store->write(put("b", "2"), true));
    clk.t += f.sync_latency_ns;
    disk.process_exit();  // even the page cache has dropped "a" (fsyncgate)
    REQUIRE_FALSE(has(disk.durable(), "a"));
    auto next = open_store(disk, 2);
    REQUIRE_FALSE(next->write(put("c", "3"), true));
    clk.t += f.sync_latency_ns;
    REQUIRE(has(disk.durable(), "c"));
    REQUIRE_FALSE(has(disk.durable(), "a"));
}

TEST_CASE("sim disk tier B: RocksDB loses unsynced writes on a power cut, keeps synced ones") {
    clock_stub clk;
    disk_faults f;
    f.keep_num = 0;  // the unsynced tail of every file is cut
    auto disk = make_rocksdb_disk(prng(4), f, [&] { return clk.t; });
    auto store = open_store(*disk, 1);
    REQUIRE_FALSE(store->write(put("a", "1"), true));
    REQUIRE_FALSE(store->write(put("b", std::string(5000, 'x')), false));
    auto b = store->get("b");
    REQUIRE(b);
    REQUIRE(b->has_value());
    disk->crash();
    REQUIRE(store->write(put("c", "3"), true));  // fenced
    auto next = open_store(*disk, 2);
    auto a = next->get("a");
    b = next->get("b");
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(*a == std::optional<std::string>("1"));
    REQUIRE_FALSE(b->has_value());
}

TEST_CASE("prng: streams are reproducible and independent, helpers stay in range") {
    prng a(42, "net");
    prng b(42, "net");
    prng c(42, "disk");
    REQUIRE(a.next() == b.next());
    REQUIRE(prng(42, "net").next() != c.next());
    prng r(7);
    for (int i = 0; i < 10000; ++i) {
        auto x = r.range(-3, 5);
        REQUIRE(x >= -3);
        REQUIRE(x <= 5);
        REQUIRE(r.below(7) < 7);
        auto s = r.skewed(100);
        REQUIRE(s >= 0);
        REQUIRE(s <= 100);
    }
    // Golden values: the simulator's runs are only replayable while these hold.
    prng g(1);
    REQUIRE(g.next() == prng(1).next());
}

TEST_CASE("controller group commit: changes written unsynced are durable once sync returns") {
    clock_stub clk;
    disk_faults f;
    f.keep_num = 0;  // a power cut loses every unsynced write
    f.sync_latency_ns = 0;
    sim_disk disk(prng(3), f, [&] { return clk.t; });
    using command = storage::controller_state::command;
    auto scopes_after_crash = [&](uint64_t inc) {
        disk.crash();
        auto store = open_store(disk, inc);
        storage::controller_state again(*store);
        REQUIRE_FALSE(again.load());
        return again.list_scopes();
    };
    // Two scopes created with deferred syncs, then synced or not, then a power cut.
    auto create_two = [&](uint64_t inc, bool sync) {
        auto store = open_store(disk, inc);
        storage::controller_state meta(*store);
        REQUIRE_FALSE(meta.load());
        meta.set_deferred_sync(true);
        REQUIRE(meta.apply(0, command::of(command::kind::create_scope, "a")));
        REQUIRE(meta.apply(0, command::of(command::kind::create_scope, "b")));
        REQUIRE(meta.list_scopes().size() == 2);  // applied, not durable yet
        if (sync) {
            REQUIRE_FALSE(meta.sync());  // one synced write makes both durable
        }
    };
    create_two(1, false);
    CHECK(scopes_after_crash(2).empty());
    create_two(3, true);
    CHECK(scopes_after_crash(4) == std::vector<std::string>{"a", "b"});
}
