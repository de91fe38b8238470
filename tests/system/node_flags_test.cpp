// pravaha-node's command line (issue 19): CLI11's generated help (a golden file), options from a
// TOML --config file and PRAVAHA_* variables with a flag over a variable over the file,
// --print-config, and exit code 2 for every usage error. The real binary, as an operator runs it.

#include "tests/system/system_support.hpp"
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

using namespace pravaha;

namespace {

std::string node_bin() {
    return PRAVAHA_NODE_BIN;
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
}

bool has(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("pravaha-node --help is CLI11's generated help, as in the golden file",
          "[system][flags]") {
    std::string out;
    REQUIRE(test::run_command(node_bin() + " --help", out) == 0);
    auto golden =
        test::read_text(std::string(PRAVAHA_SOURCE_DIR) + "/tests/golden/pravaha-node-help.txt");
    // A changed flag changes the golden file: build/runtime/pravaha-node --help >
    // tests/golden/pravaha-node-help.txt
    CHECK(out == golden);
    CHECK(has(out, "--memory-limit MIB"));
    CHECK(!has(out, "--disk-capacity-bytes"));  // tests only: hidden
}

TEST_CASE("pravaha-node takes options from a file, the environment and flags, in that order",
          "[system][flags]") {
    test::temp_dir dir;
    auto config = dir.path() + "/node.toml";
    write_file(config,
               "# a node\nstandalone = true\nport = 7000\nmemory-limit = 2048\n"
               "bind = \"0.0.0.0\"\nrpc-port = \"off\"\nscale-window-s = 30\n");
    std::string out;
    REQUIRE(test::run_command(node_bin() + " --config " + config + " --print-config", out) == 0);
    CHECK(has(out, "standalone = true\n"));
    CHECK(has(out, "port = 7000\n"));
    CHECK(has(out, "memory-limit = 2048\n"));
    CHECK(has(out, "bind = \"0.0.0.0\"\n"));
    CHECK(has(out, "rpc-port = \"off\"\n"));
    CHECK(has(out, "scale-window-s = 30\n"));
    // A variable over the file, a flag over both.
    REQUIRE(test::run_command("env PRAVAHA_PORT=7100 PRAVAHA_MEMORY_LIMIT=4096 " + node_bin() +
                                  " --config " + config + " --port 7200 --print-config",
                              out) == 0);
    CHECK(has(out, "\nport = 7200\n"));
    CHECK(has(out, "memory-limit = 4096\n"));
    // The file may come from PRAVAHA_CONFIG; what --print-config prints reads back the same.
    std::string printed;
    REQUIRE(test::run_command("env PRAVAHA_CONFIG=" + config + " " + node_bin() + " --print-config",
                              printed) == 0);
    auto again = dir.path() + "/printed.toml";
    write_file(again, printed);
    REQUIRE(test::run_command(node_bin() + " --config " + again + " --print-config", out) == 0);
    CHECK(out == printed);
    // A cluster member's peers as a TOML array.
    write_file(config, "node-id = 2\npeers = [\"1@a:9090\", \"2@b:9090\", \"3@c:9090\"]\n");
    REQUIRE(test::run_command(node_bin() + " --config " + config + " --print-config", out) == 0);
    CHECK(has(out, "node-id = 2\n"));
    CHECK(has(out, "peers = \"1@a:9090,2@b:9090,3@c:9090\"\n"));
}

TEST_CASE("pravaha-node exits with 2 and one clear line for every usage error", "[system][flags]") {
    test::temp_dir dir;
    auto config = dir.path() + "/node.toml";
    struct usage_case {
        std::string args;
        std::string file;
        std::string says;
    };
    std::vector<usage_case> cases{
        {"--standalone --nope", "", "--nope"},
        {"--standalone --port x", "", "--port must be 0..65535, got x"},
        {"--port 1", "", "give --standalone, or --node-id and --peers"},
        {"--standalone --node-id 1 --peers 1@a:1,2@b:2,3@c:3", "", "cannot be combined"},
        {"--config " + dir.path() + "/missing.toml", "", "cannot read the configuration file"},
        {"--config " + config, "prot = 1\n", "unknown key 'prot'"},
        {"--config " + config, "[server]\nport = 1\n", "no sections"},
        {"--config " + config, "standalone = yes\n", "standalone = true or false"},
        {"--config " + config, "standalone = true\nmemory-limit = 1\n", "--memory-limit must be"},
        {"--standalone --memory-limit", "", "--memory-limit"},
        {"--standalone --data-port 0 --token-file " + config, "", "--data-port cannot be combined"},
    };
    for (const auto& c : cases) {
        if (!c.file.empty()) {
            write_file(config, c.file);
        }
        std::string out;
        INFO(c.args << " with " << c.file);
        CHECK(test::run_command(node_bin() + " " + c.args + " 2>&1", out) == 2);
        INFO(out);
        CHECK(has(out, c.says));
        CHECK(out.rfind("pravaha-node: ", 0) == 0);
    }
}

TEST_CASE("a node starts from its configuration file alone", "[system][flags]") {
    test::temp_dir dir;
    auto port = test::free_port();
    auto config = dir.path() + "/node.toml";
    write_file(config, "standalone = true\ndata-dir = \"" + dir.path() + "/data\"\nport = " +
                           std::to_string(port) + "\nrpc-port = \"off\"\nmetrics-port = \"off\"\n");
    std::string out;
    test::run_command("timeout -s TERM 3 " + node_bin() + " --config " + config + " 2>&1", out);
    INFO(out);
    CHECK(has(out, "node started mode=standalone endpoint=127.0.0.1:" + std::to_string(port)));
    CHECK(has(out, "node stopped exit_code=0"));
}
