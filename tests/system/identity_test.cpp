// A data directory knows whose it is: wrong starts are refused before anything is written, and
// `pravaha-node inspect` reads a directory without changing it.

#include "tests/system/system_support.hpp"
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace pravaha;

namespace {

namespace fs = std::filesystem;

// Every file's path and bytes under `dir`, hashed (FNV-1a): equal before and after means the
// directory was not touched.
uint64_t checksum(const std::string& dir) {
    std::map<std::string, std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (e.is_regular_file()) {
            std::ifstream in(e.path(), std::ios::binary);
            std::stringstream bytes;
            bytes << in.rdbuf();
            files[fs::relative(e.path(), dir).string()] = bytes.str();
        }
    }
    uint64_t h = 1469598103934665603ull;
    auto mix = [&](const std::string& s) {
        for (unsigned char c : s) {
            h = (h ^ c) * 1099511628211ull;
        }
        h = (h ^ 0xff) * 1099511628211ull;
    };
    for (const auto& [name, bytes] : files) {
        mix(name);
        mix(bytes);
    }
    return h;
}

// Runs pravaha-node with `args` in the foreground (ended after 6 s if it is still running); its
// exit code, and its output in `out`.
int run_node(const std::string& args, std::string& out) {
    return test::run_command(
        "timeout -s TERM 6 " + std::string(PRAVAHA_NODE_BIN) + " " + args + " 2>&1", out);
}

void write_events(client::client_factory& f, int n) {
    auto writer = f.create_writer("sys", "events");
    REQUIRE(writer);
    for (int i = 0; i < n; ++i) {
        REQUIRE(!(*writer)->write("k" + std::to_string(i % 16), "event-" + std::to_string(i)));
    }
    REQUIRE(!(*writer)->flush());
}

}  // namespace

TEST_CASE("wrong starts on a cluster node's data directory are refused and change nothing",
          "[system][identity]") {
    test::cluster3 c;
    auto f = test::connect(c.node(1).endpoint());
    c.create_stream(*f, 4);
    write_events(*f, 2000);
    REQUIRE(c.node(3).stop() == 0);
    auto dir = c.dirs[2]->path();
    auto before = checksum(dir);
    auto peers = c.peers();
    auto port = std::to_string(test::free_port());
    auto common = " --data-dir " + dir + " --port " + port + " --rpc-port 0 --metrics-port off";
    struct wrong {
        std::string flags;
        std::string field;
    };
    std::vector<wrong> starts = {
        {"--standalone", "field=mode stored=cluster given=standalone"},
        {"--standalone", "field=mode stored=cluster given=standalone"},  // twice
        {"--node-id 3 --containers 8 --peers " + peers, "field=containers stored=2 given=8"},
        {"--node-id 2 --containers 2 --peers " + peers, "field=node_id stored=3 given=2"},
        {"--node-id 3 --containers 2 --peers " + peers + ",4@127.0.0.1:1", "field=peers stored="},
    };
    for (const auto& w : starts) {
        INFO(w.flags);
        std::string out;
        CHECK(run_node(w.flags + common, out) == 2);
        CHECK(out.find("refusing to start") != std::string::npos);
        CHECK(out.find(w.field) != std::string::npos);
        CHECK(out.find("belongs to node 3 of cluster") != std::string::npos);
        CHECK(checksum(dir) == before);
    }

    // inspect reads it without writing.
    std::string shown;
    CHECK(run_node("inspect --data-dir " + dir, shown) == 0);
    CHECK(shown.find("mode cluster") != std::string::npos);
    CHECK(shown.find("node 3, containers 2") != std::string::npos);
    CHECK(shown.find("controller") != std::string::npos);
    CHECK(shown.find("container 1") != std::string::npos);
    CHECK(checksum(dir) == before);

    // Started as itself, node 3 is whole: every event is readable through it.
    REQUIRE(c.node(3).start());
    REQUIRE(c.node(1).stop() == 0);  // node 3 must serve: a quorum of 2 and 3
    auto g = test::connect(c.node(3).endpoint());
    size_t read = 0;
    test::read_all(*g, [&](const std::string&) { ++read; });
    CHECK(read == 2000);
}

TEST_CASE("a standalone data directory knows it is one", "[system][identity]") {
    test::temp_dir tmp;
    auto dir = tmp.path() + "/node";
    {
        test::node_process node(dir, test::free_port());
        REQUIRE(node.start());
        auto f = test::connect(node.endpoint());
        REQUIRE(!f->streams().create_scope("sys"));
        REQUIRE(f->streams().create_stream("sys", "events", 2));
        write_events(*f, 100);
        REQUIRE(node.stop() == 0);
    }
    auto before = checksum(dir);
    std::string out;
    auto port = std::to_string(test::free_port());
    CHECK(run_node("--node-id 1 --peers 1@127.0.0.1:1,2@127.0.0.1:2,3@127.0.0.1:3 --data-dir " +
                       dir + " --port " + port + " --rpc-port 0 --metrics-port off",
                   out) == 2);
    CHECK(out.find("belongs to a standalone node, not node 1 of a cluster") != std::string::npos);
    CHECK(checksum(dir) == before);

    // A directory that holds something else is not taken.
    auto other = tmp.path() + "/other";
    fs::create_directories(other);
    std::ofstream(other + "/notes.txt") << "mine";
    CHECK(run_node("--standalone --data-dir " + other + " --port " + port +
                       " --rpc-port 0 --metrics-port off",
                   out) == 2);
    CHECK(out.find("is not empty and holds no Pravaha data") != std::string::npos);
    CHECK(fs::exists(other + "/notes.txt"));
    CHECK(!fs::exists(other + "/identity"));

    // A directory of an older version (a store, no record) is adopted once, then checked.
    fs::remove(dir + "/identity");
    {
        test::node_process node(dir, test::free_port());
        REQUIRE(node.start());
        auto f = test::connect(node.endpoint());
        size_t read = 0;
        test::read_all(*f, [&](const std::string&) { ++read; });
        CHECK(read == 100);
        REQUIRE(node.stop() == 0);
    }
    CHECK(fs::exists(dir + "/identity"));
    CHECK(run_node("inspect --data-dir " + dir + " --json", out) == 0);
    CHECK(out.find("\"mode\":\"standalone\"") != std::string::npos);
    CHECK(out.find("\"streams\":1,\"segments\":2") != std::string::npos);
}

TEST_CASE("members refuse a second node with their id and a node of another cluster",
          "[system][identity]") {
    test::cluster3 c;
    auto f = test::connect(c.node(1).endpoint());
    c.create_stream(*f, 4);
    write_events(*f, 200);
    auto terms = [&] {
        auto info = f->streams().cluster_status();
        REQUIRE(info);
        std::vector<uint64_t> out;
        for (const auto& g : info->groups) {
            out.push_back(g.term);
        }
        return out;
    };
    auto before = terms();
    auto peers = c.peers();
    auto intruder_port = test::free_port();
    auto other_peers = fmt::format("1@127.0.0.1:{},2@127.0.0.1:{},3@127.0.0.1:{}", c.ports[0],
                                   c.ports[1], intruder_port);
    // Each intruder starts on an empty directory (so its own identity check passes) and runs
    // for 6 s while the cluster keeps writing.
    test::temp_dir intruders;
    auto twin_port = test::free_port();
    std::string twin_out;
    std::string foreign_out;
    std::thread twin([&] {
        run_node(
            fmt::format(
                "--node-id 2 --peers {} --containers 2 --port {} --rpc-port 0 --metrics-port off "
                "--data-dir {}/twin --log-level warn",
                peers, twin_port, intruders.path()),
            twin_out);
    });
    std::thread foreign([&] {
        run_node(
            fmt::format(
                "--node-id 3 --peers {} --containers 2 --port {} --rpc-port 0 --metrics-port off "
                "--data-dir {}/foreign --log-level warn",
                other_peers, intruder_port, intruders.path()),
            foreign_out);
    });
    write_events(*f, 300);
    std::this_thread::sleep_for(std::chrono::seconds(3));
    write_events(*f, 300);
    // run_node's command ends the intruders after 6 s (timeout).
    twin.join();
    foreign.join();
    CHECK(twin_out.find("a second node with --node-id 2 is refused") != std::string::npos);
    CHECK(foreign_out.find("belongs to cluster") != std::string::npos);
    // Nothing of theirs reached the members' Raft groups: no election, every event there.
    CHECK(terms() == before);
    size_t read = 0;
    test::read_all(*f, [&](const std::string&) { ++read; });
    CHECK(read == 800);
}

TEST_CASE("a client refuses a node of another cluster at its endpoint", "[system][identity]") {
    test::temp_dir dir_a;
    test::temp_dir dir_b;
    auto port = test::free_port();
    test::node_process a(dir_a.path(), port);
    REQUIRE(a.start());
    auto f = test::connect(a.endpoint());
    auto info = f->streams().cluster_status();
    REQUIRE(info);
    auto cluster_a = info->cluster_id;
    REQUIRE(!cluster_a.empty());
    REQUIRE(!f->streams().create_scope("s"));
    REQUIRE(f->streams().create_stream("s", "events", 2));
    auto writer = f->create_writer("s", "events");
    REQUIRE(writer);
    for (int i = 0; i < 10; ++i) {
        REQUIRE(!(*writer)->write("k" + std::to_string(i), "before"));
    }
    REQUIRE(!(*writer)->flush());

    // Another standalone node (another cluster) takes over the address.
    REQUIRE(a.stop() == 0);
    test::node_process b(dir_b.path(), port);
    REQUIRE(b.start());
    for (int i = 0; i < 10; ++i) {
        REQUIRE(!(*writer)->write("k" + std::to_string(i), "after"));
    }
    auto flushed = (*writer)->flush();
    CHECK(code_of(flushed) == errc::invalid_argument);
    CHECK(render_error(flushed).find("belongs to cluster") != std::string::npos);
    auto scopes = f->streams().list_scopes();
    REQUIRE(!scopes);
    CHECK(render_error(scopes.error()).find("not to cluster " + cluster_a) != std::string::npos);
    // Nothing reached node B.
    auto g = test::connect(b.endpoint());
    auto b_scopes = g->streams().list_scopes();
    REQUIRE(b_scopes);
    CHECK(b_scopes->empty());

    // A client told its cluster refuses another one at once, and takes its own.
    client::client_config cfg;
    cfg.endpoint = b.endpoint();
    cfg.cluster_id = cluster_a;
    auto wrong = client::client_factory::connect(cfg);
    REQUIRE(!wrong);
    CHECK(code_of(wrong.error()) == errc::invalid_argument);
    cfg.cluster_id = g->streams().cluster_status()->cluster_id;
    CHECK(client::client_factory::connect(cfg));
    // The CLI says so too.
    std::string out;
    CHECK(test::run_command(std::string(PRAVAHA_CLI_BIN) + " --endpoint " + b.endpoint() +
                                " --cluster-id " + cluster_a + " scope list 2>&1",
                            out) != 0);
    CHECK(out.find("belongs to cluster") != std::string::npos);
    CHECK(b.stop() == 0);
}
