// The `pravaha` CLI against a real node: the tour from the README and its bad-input errors.

#include "tests/support/node_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/system/cli_support.hpp"
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>

using namespace pravaha;

namespace {

using test::cli;
using test::has;
using test::lines;

}  // namespace

TEST_CASE("the CLI creates, writes, reads, seals and deletes", "[system]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    cli c{node.endpoint()};
    std::string out;
    REQUIRE(c.run("scope create tour", out) == 0);
    REQUIRE(c.run("stream create tour/orders --segments 3", out) == 0);
    CHECK(has(out, "3 segments"));
    REQUIRE(c.run("scope list", out) == 0);
    CHECK(lines(out) == std::vector<std::string>{"tour"});
    REQUIRE(c.run("stream list tour", out) == 0);
    CHECK(lines(out) == std::vector<std::string>{"orders"});

    auto input = dir.path() + "/in.txt";
    {
        std::ofstream f(input);
        f << "alice:a1\nbob:b1\nalice:a2\ncarol:c1\nbob:b2\nalice:a3\n";
    }
    REQUIRE(c.run("write tour/orders --key-delimiter :", out, input) == 0);
    CHECK(has(out, "6 events acknowledged"));

    REQUIRE(c.run("read tour/orders", out) == 0);
    auto events = lines(out);
    REQUIRE(events.size() == 6);
    auto pos = [&](const std::string& e) {
        return std::find(events.begin(), events.end(), e) - events.begin();
    };
    CHECK(pos("a1") < pos("a2"));
    CHECK(pos("a2") < pos("a3"));
    CHECK(pos("b1") < pos("b2"));
    CHECK(pos("c1") < 6);

    REQUIRE(c.run("read tour/orders --max 2 --json", out) == 0);
    auto js = lines(out);
    REQUIRE(js.size() == 2);
    CHECK(has(js[0], "\"segment\":\"0."));
    CHECK(has(js[0], "\"offset\":"));

    REQUIRE(c.run("read tour/orders --from tail", out) == 0);
    CHECK(out.empty());

    REQUIRE(c.run("stream info tour/orders --json", out) == 0);
    CHECK(has(out, "\"state\":\"active\""));
    // The stream, its policy and 3 segments.
    CHECK(std::count(out.begin(), out.end(), '{') == 5);
    CHECK(has(out, "\"policy\":{\"type\":\"fixed\",\"segments\":3}"));
    REQUIRE(c.run("stream info tour/orders", out) == 0);
    CHECK(has(out, "segments=3"));

    SECTION("bad input gets a clear error and changes nothing") {
        CHECK(c.run("scope create tour", out) != 0);
        CHECK(has(out, "scope_exists"));
        CHECK(c.run("scope create bad_name", out) != 0);
        CHECK(has(out, "invalid_name"));
        CHECK(c.run("stream create tour/" + std::string(251, 'x'), out) != 0);
        CHECK(has(out, "invalid_name"));
        CHECK(c.run("stream create tour/orders", out) != 0);
        CHECK(has(out, "stream_exists"));
        CHECK(c.run("stream create nope/s", out) != 0);
        CHECK(has(out, "scope_not_found"));
        CHECK(c.run("stream create tour/x --segments 0", out) != 0);
        CHECK(c.run("read tour/missing", out) != 0);
        CHECK(has(out, "stream_not_found"));
        CHECK(c.run("scope delete tour", out) != 0);
        CHECK(has(out, "scope_not_empty"));
        CHECK(c.run("stream delete tour/orders", out) != 0);
        CHECK(has(out, "stream_not_sealed"));
        CHECK(c.run("stream frobnicate tour/orders", out) == 2);
        CHECK(c.run("read tour/orders --from middle", out) == 2);

        auto big = dir.path() + "/big.txt";
        {
            std::ofstream f(big);
            f << "k:" << std::string(8 * 1024 * 1024 + 1, 'x') << "\nk:small\n";
        }
        CHECK(c.run("write tour/orders --key-delimiter :", out, big) != 0);
        CHECK(has(out, "event_too_large"));
        CHECK(has(out, "1 events acknowledged"));  // the small one still went in

        REQUIRE(c.run("stream seal tour/orders", out) == 0);
        CHECK(c.run("write tour/orders", out, input) != 0);
        CHECK(has(out, "stream_sealed"));
        // Nothing above changed the stored events; --follow ends at the end of a sealed stream.
        REQUIRE(c.run("read tour/orders", out) == 0);
        CHECK(lines(out).size() == 7);
        REQUIRE(c.run("read tour/orders --follow", out) == 0);
        CHECK(lines(out).size() == 7);
        REQUIRE(c.run("stream delete tour/orders", out) == 0);
        REQUIRE(c.run("scope delete tour", out) == 0);
        REQUIRE(c.run("scope list", out) == 0);
        CHECK(out.empty());
    }
    SECTION("metadata and events survive a restart") {
        CHECK(node.stop() == 0);
        REQUIRE(node.start());
        REQUIRE(c.run("read tour/orders", out) == 0);
        CHECK(lines(out) == events);
        REQUIRE(c.run("stream list tour", out) == 0);
        CHECK(lines(out) == std::vector<std::string>{"orders"});
    }
    CHECK(node.stop() == 0);
}

TEST_CASE("the CLI reports a node that is not running in one line", "[system]") {
    auto port = std::to_string(test::free_port());
    cli c{"127.0.0.1:" + port};
    std::string out;
    CHECK(c.run("scope list", out) == 1);
    INFO(out);
    // In the user's words, not the actor framework's ("ip_connect failed").
    CHECK(has(out,
              "unavailable: cannot reach a node at 127.0.0.1:" + port + " (connection refused)"));
    CHECK(!has(out, "ip_connect"));
    CHECK(lines(out).size() == 1);
    CHECK(c.run("scope list --endpoint no-such-host.invalid:9090", out) == 1);
    CHECK(has(out, "cannot reach a node at no-such-host.invalid:9090 (unknown host"));
    CHECK(c.run("scope list --endpoint nonsense", out) == 1);
    CHECK(has(out, "HOST:PORT"));
}

TEST_CASE("the CLI gives up on a node that accepts connections but never answers", "[system]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    cli c{node.endpoint()};
    std::string out;
    node.pause();
    auto start = std::chrono::steady_clock::now();
    CHECK(c.run("scope list", out) == 1);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(15));
    CHECK(has(out, "did not answer"));
    CHECK(lines(out).size() == 1);
    node.resume();
    CHECK(c.run("scope list", out) == 0);
    CHECK(node.stop() == 0);
}

TEST_CASE("the CLI splits and merges a stream and shows its history", "[system][scaling]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    cli c{node.endpoint()};
    std::string out;
    REQUIRE(c.run("scope create sc", out) == 0);
    REQUIRE(c.run("stream create sc/s --segments 2 --scale-by events --target 1000", out) == 0);
    CHECK(has(out, "by events: 1000/s per segment, factor 2, at least 2 segments"));
    REQUIRE(c.run("stream info sc/s --json", out) == 0);
    CHECK(has(out,
              "\"policy\":{\"type\":\"events\",\"target\":1000,\"factor\":2,"
              "\"min_segments\":2}"));
    CHECK(has(out, "\"scaling\":false"));

    auto input = dir.path() + "/in.txt";
    {
        std::ofstream f(input);
        for (int i = 0; i < 40; ++i) {
            f << "k" << i % 8 << ":e" << i << "\n";
        }
    }
    REQUIRE(c.run("write sc/s --key-delimiter :", out, input) == 0);
    REQUIRE(c.run("stream scale sc/s --split 0.1 --into 3", out) == 0);
    auto split = lines(out);
    REQUIRE(split.size() == 4);
    CHECK(split[0] == "scaled sc/s to epoch 1");
    CHECK(split[1] == "1.2 [0.500000, 0.666667)");
    CHECK(split[3] == "1.4 [0.833333, 1.000000)");
    REQUIRE(c.run("stream info sc/s --json", out) == 0);
    CHECK(has(out, "\"epoch\":1"));
    CHECK(has(out, "\"predecessors\":[\"0.1\"]"));
    // A writer opened on epoch 1 and events written after the split land in the successors.
    REQUIRE(c.run("write sc/s --key-delimiter :", out, input) == 0);
    REQUIRE(c.run("stream scale sc/s --merge 1.3,1.2", out) == 0);
    CHECK(lines(out) ==
          std::vector<std::string>{"scaled sc/s to epoch 2", "2.5 [0.500000, 0.833333)"});

    // The errors a script meets, each naming the problem.
    CHECK(c.run("stream scale sc/s --merge 0.0,1.4", out) == 1);
    CHECK(has(out, "segments 0.0 and 1.4 are not adjacent"));
    CHECK(c.run("stream scale sc/s --split 0.1", out) == 1);
    CHECK(has(out, "not in the current epoch"));
    CHECK(c.run("stream scale sc/s --split x.1", out) == 1);
    CHECK(has(out, "is not a segment id"));
    CHECK(c.run("stream scale sc/s --merge 2.5", out) == 2);
    CHECK(c.run("stream scale sc/s", out) == 2);
    CHECK(c.run("stream create sc/t --target 5", out) == 2);
    CHECK(c.run("stream create sc/t --scale-by events --target 5 --factor 1", out) == 2);
    CHECK(has(out, "factor must be at least 2"));

    REQUIRE(c.run("stream history sc/s --json", out) == 0);
    auto epochs = lines(out);
    REQUIRE(epochs.size() == 3);
    CHECK(has(epochs[0],
              "{\"epoch\":0,\"segments\":[{\"id\":\"0.0\",\"key_start\":0,"
              "\"key_end\":0.5,\"sealed_length\":null,\"predecessors\":[]}"));
    CHECK(has(epochs[0], "{\"id\":\"0.1\",\"key_start\":0.5,\"key_end\":1,\"sealed_length\":"));
    CHECK(!has(epochs[0], "\"id\":\"0.1\",\"key_start\":0.5,\"key_end\":1,\"sealed_length\":null"));
    CHECK(has(epochs[2], "\"id\":\"2.5\""));
    CHECK(has(epochs[2], "\"predecessors\":[\"1.2\",\"1.3\"]"));
    REQUIRE(c.run("stream update sc/s --segments 3", out) == 0);
    CHECK(has(out, "updated: fixed"));
    REQUIRE(c.run("stream cut sc/s --head", out) == 0);
    CHECK(has(out, ":0.0@0,0.1@0"));
    REQUIRE(c.run("stream cut sc/s", out) == 0);
    CHECK(has(out, ",2.5@"));

    // Everything written is read back from the head once, each key in order, across the epochs.
    REQUIRE(c.run("stream seal sc/s", out) == 0);
    REQUIRE(c.run("read sc/s --from head", out) == 0);
    auto events = lines(out);
    REQUIRE(events.size() == 80);
    std::map<std::string, std::vector<int>> per_key;
    for (int i = 0; i < 80; ++i) {
        per_key["k" + std::to_string(i % 8)].push_back(i % 40);
    }
    std::map<std::string, std::vector<int>> read;
    for (const auto& e : events) {
        int n = std::stoi(e.substr(1));
        read["k" + std::to_string(n % 8)].push_back(n);
    }
    CHECK(read == per_key);
}

TEST_CASE("the CLI reads between stream cuts across a split and refuses bad cuts",
          "[system][scaling]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    cli c{node.endpoint()};
    std::string out;
    REQUIRE(c.run("scope create sc", out) == 0);
    REQUIRE(c.run("stream create sc/s --segments 2", out) == 0);
    auto write = [&](int first) {
        auto input = dir.path() + "/in.txt";
        {
            std::ofstream f(input);
            for (int i = first; i < first + 40; ++i) {
                f << "k" << i % 8 << ":e" << i << "\n";
            }
        }
        REQUIRE(c.run("write sc/s --key-delimiter :", out, input) == 0);
    };
    auto cut = [&]() {
        REQUIRE(c.run("stream cut sc/s", out) == 0);
        auto l = lines(out);
        REQUIRE(l.size() == 1);
        return l[0];
    };
    auto read = [&](const std::string& args) {
        REQUIRE(c.run("read sc/s " + args, out) == 0);
        std::vector<int> got;
        for (const auto& e : lines(out)) {
            got.push_back(std::stoi(e.substr(e.find(":e") + 2)));
        }
        return got;
    };
    auto in_key_order = [](const std::vector<int>& got, int first) {
        std::map<int, std::vector<int>> per_key;
        for (int n : got) {
            per_key[n % 8].push_back(n);
        }
        std::map<int, std::vector<int>> want;
        for (int n = first; n < first + 40; ++n) {
            want[n % 8].push_back(n);
        }
        return per_key == want;
    };
    write(0);
    auto first = cut();
    REQUIRE(c.run("stream scale sc/s --split 0.1", out) == 0);
    write(40);
    auto second = cut();
    CHECK(has(second, "1.2@"));

    // Up to the first cut: the first 40; between the cuts: the next 40, across the split.
    CHECK(in_key_order(read("--to " + first), 0));
    CHECK(in_key_order(read("--from " + first + " --to " + second), 40));
    CHECK(in_key_order(read("--from " + first), 40));
    CHECK(read("--from " + second).empty());
    CHECK(read("--from " + second + " --to " + second).empty());

    // Bad cuts: not a cut, another stream's, an offset beyond its segment.
    CHECK(c.run("read sc/s --to 0.0@0", out) == 2);
    CHECK(has(out, "--to must be a stream cut"));
    CHECK(c.run("read sc/s --from nonsense", out) == 2);
    REQUIRE(c.run("stream create sc/other --segments 2", out) == 0);
    CHECK(c.run("read sc/other --from " + first, out) == 1);
    auto beyond = first.substr(0, first.rfind('@') + 1) + "99999999";
    CHECK(c.run("read sc/s --to " + beyond, out) == 1);
    CHECK(has(out, "invalid_argument"));
}

TEST_CASE("the CLI manages reader groups: create, info, checkpoint, reset, delete",
          "[system][groups]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    cli c{node.endpoint()};
    std::string out;
    REQUIRE(c.run("scope create gs", out) == 0);
    REQUIRE(c.run("stream create gs/t --segments 2", out) == 0);
    auto input = dir.path() + "/in.txt";
    {
        std::ofstream f(input);
        for (int i = 0; i < 20; ++i) {
            f << "k" << i % 4 << ":event-" << i << "\n";
        }
    }
    REQUIRE(c.run("write gs/t --key-delimiter :", out, input) == 0);

    // Bad input is refused before anything is created.
    CHECK(c.run("group create gs/g", out) == 2);
    CHECK(has(out, "needs --stream"));
    CHECK(c.run("group create gs/g --stream gs/t --lease-ms 5", out) == 1);
    CHECK(has(out, "invalid_argument: the reader lease must be"));
    CHECK(c.run("group create gs/g --stream gs/nope", out) == 1);
    CHECK(has(out, "stream_not_found"));
    CHECK(c.run("group create gs/bad/name --stream gs/t", out) != 0);

    REQUIRE(c.run("group create gs/g --stream gs/t --lease-ms 2000", out) == 0);
    CHECK(has(out, "reader group gs/g created over 1 stream(s)"));
    REQUIRE(c.run("group create gs/g --stream gs/t --lease-ms 2000", out) == 0);  // a retry
    CHECK(c.run("group create gs/g --stream gs/t --lease-ms 3000", out) == 1);
    CHECK(has(out, "group_exists"));
    REQUIRE(c.run("group list gs", out) == 0);
    CHECK(lines(out) == std::vector<std::string>{"g"});

    // Nothing read yet: all 20 events unread (8-byte header + payload each).
    REQUIRE(c.run("group info gs/g --json", out) == 0);
    INFO(out);
    size_t bytes = 0;
    for (int i = 0; i < 20; ++i) {
        bytes += 8 + std::string("event-").size() + std::to_string(i).size();
    }
    CHECK(has(out, "\"readers\":[]"));
    CHECK(has(out, "\"unread_bytes\":" + std::to_string(bytes)));
    CHECK(has(out, "\"id\":\"0.0\",\"offset\":0"));

    // Without readers a checkpoint completes at once, at the group's start; a reset to it works,
    // a reset to an unknown one is refused.
    REQUIRE(c.run("group checkpoint gs/g --name first", out) == 0);
    auto cuts = lines(out);
    REQUIRE(cuts.size() == 1);
    CHECK(has(cuts[0], ":0.0@0,0.1@0"));
    REQUIRE(c.run("group reset gs/g --to first", out) == 0);
    CHECK(has(out, "generation 1"));
    CHECK(c.run("group reset gs/g --to nothing", out) == 1);
    CHECK(has(out, "no completed checkpoint nothing"));
    // A reset to a cut of the stream's tail: nothing left to read.
    REQUIRE(c.run("stream cut gs/t", out) == 0);
    auto tail = lines(out).at(0);
    REQUIRE(c.run("group reset gs/g --to " + tail, out) == 0);
    CHECK(has(out, "generation 2"));
    REQUIRE(c.run("group info gs/g --json", out) == 0);
    CHECK(has(out, "\"unread_bytes\":0"));
    REQUIRE(c.run("group info gs/g", out) == 0);
    CHECK(has(out, "group gs/g generation 2, unread bytes 0"));

    // A group from the tail; a scope with groups is not empty.
    // A stream read by a group is not deleted; a scope with groups is not empty.
    REQUIRE(c.run("group create gs/late --stream gs/t --from tail", out) == 0);
    REQUIRE(c.run("stream seal gs/t", out) == 0);
    CHECK(c.run("stream delete gs/t", out) == 1);
    CHECK(has(out, "pravaha: conflict: stream gs/t is read by reader group gs/"));
    REQUIRE(c.run("group delete gs/g", out) == 0);
    REQUIRE(c.run("group delete gs/late", out) == 0);
    REQUIRE(c.run("group create gs/last --stream gs/t", out) == 0);
    REQUIRE(c.run("stream delete gs/t", out) == 1);
    CHECK(c.run("scope delete gs", out) == 1);
    CHECK(has(out, "still has"));
    REQUIRE(c.run("group delete gs/last", out) == 0);
    REQUIRE(c.run("stream delete gs/t", out) == 0);
    CHECK(c.run("group info gs/g", out) == 1);
    CHECK(has(out, "group_not_found"));
    REQUIRE(c.run("scope delete gs", out) == 0);
}
