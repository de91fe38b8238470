// The command lines of `pravaha` and `pravaha-bench` on CLI11 (issue 19): generated help as in
// the golden files, exit code 2 with one line and where help is for every usage error, the
// endpoint from the environment, and the bash completion `pravaha completion bash` prints (run by
// a real bash). No node runs: every command here fails or finishes before connecting.

#include "tests/system/cli_support.hpp"
#include "tests/system/system_support.hpp"
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

using namespace pravaha;

namespace {

using test::has;

std::string cli_bin() {
    return PRAVAHA_CLI_BIN;
}

std::string golden(const std::string& name) {
    return test::read_text(std::string(PRAVAHA_SOURCE_DIR) + "/tests/golden/" + name);
}

/// What bash completes for the words of `line` (the cursor after its last word; a line ending
/// in a space completes a new, empty word), one candidate per line.
std::string complete(const std::string& line) {
    test::temp_dir dir;
    auto script = dir.path() + "/complete.sh";
    {
        std::ofstream f(script);
        f << "source <(" << cli_bin() << " completion bash) || exit 3\n"
          << "read -ra COMP_WORDS <<< \"" << line << "\"\n"
          << (line.back() == ' ' ? "COMP_WORDS+=(\"\")\n" : "")
          << "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
          << "_pravaha\n"
          << "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
    }
    std::string out;
    REQUIRE(test::run_command("bash " + script + " 2>&1", out) == 0);
    return out;
}

}  // namespace

TEST_CASE("pravaha and pravaha-bench --help are CLI11's generated help, as in the golden files",
          "[system][flags]") {
    // A changed command or flag changes its golden file, e.g.:
    // build/client/pravaha stream create --help > tests/golden/pravaha-stream-create-help.txt
    std::string out;
    REQUIRE(test::run_command(cli_bin() + " --help", out) == 0);
    CHECK(out == golden("pravaha-help.txt"));
    CHECK(has(out, "--endpoint HOST:PORT"));
    REQUIRE(test::run_command(cli_bin() + " stream create --help", out) == 0);
    CHECK(out == golden("pravaha-stream-create-help.txt"));
    CHECK(has(out, "--scale-by events|kbytes"));
    REQUIRE(test::run_command(std::string(PRAVAHA_BENCH_BIN) + " --help", out) == 0);
    CHECK(out == golden("pravaha-bench-help.txt"));
    CHECK(has(out, "--event-size N"));
}

TEST_CASE("a usage error exits with 2, one line naming it and where help is", "[system][flags]") {
    struct bad {
        std::string args;
        std::string says;
        std::string help;
    };
    for (const auto& b : std::vector<bad>{
             {"frobnicate", "'frobnicate' is not a command of 'pravaha'", "pravaha --help"},
             {"stream frobnicate a/b", "frobnicate", "pravaha stream --help"},
             {"stream create", "SCOPE/STREAM is required", "pravaha stream create --help"},
             {"stream create a/b --json", "--json", "pravaha stream create --help"},
             {"stream create a/b --segments", "--segments", "pravaha stream create --help"},
             {"scope create a b", "b", "pravaha scope create --help"},
             {"txn commit a/b", "ID is required", "pravaha txn commit --help"},
             {"stream create a/b --target 5", "--target needs --scale-by", "pravaha --help"},
             {"read a/b --from middle", "--from must be head, tail or a stream cut",
              "pravaha --help"},
         }) {
        INFO(b.args);
        std::string out;
        CHECK(test::run_command(cli_bin() + " " + b.args + " 2>&1", out) == 2);
        CHECK(out.rfind("pravaha: ", 0) == 0);
        CHECK(has(out, b.says));
        CHECK(has(out, "Run '" + b.help + "' for more information."));
        CHECK(test::lines(out).size() == 2);
    }
    std::string out;
    CHECK(test::run_command(cli_bin() + " 2>&1", out) == 2);  // no command: the help, on stderr
    CHECK(has(out, "Subcommands:"));
    for (const auto& args :
         {"nomode", "write --api nope", "--segments 1001 write", "txn --rate 5",
          "write --segments 0", "write --events -1", "write --window x", "read --duration 3"}) {
        INFO(args);
        CHECK(test::run_command(std::string(PRAVAHA_BENCH_BIN) + " " + args + " 2>&1", out) == 2);
        CHECK(out.rfind("pravaha-bench: ", 0) == 0);
        CHECK(has(out, "Run 'pravaha-bench --help' for more information."));
    }
}

TEST_CASE("the endpoint comes from a flag anywhere on the line, else PRAVAHA_ENDPOINT",
          "[system][flags]") {
    auto port = std::to_string(test::free_port());  // nothing listens there
    std::string out;
    CHECK(test::run_command(
              "PRAVAHA_ENDPOINT=127.0.0.1:" + port + " " + cli_bin() + " scope list 2>&1", out) ==
          1);
    CHECK(has(out, "cannot reach a node at 127.0.0.1:" + port));
    CHECK(test::run_command("PRAVAHA_ENDPOINT=127.0.0.1:1 " + cli_bin() +
                                " scope list --endpoint 127.0.0.1:" + port + " 2>&1",
                            out) == 1);
    CHECK(has(out, "cannot reach a node at 127.0.0.1:" + port));
}

TEST_CASE("pravaha completion bash completes commands, subcommands, flags and their values",
          "[system][flags]") {
    CHECK(complete("pravaha str") == "stream\n");
    CHECK(complete("pravaha stream cr") == "create\n");
    CHECK(complete("pravaha --endpoint 127.0.0.1:9090 gr") == "group\n");
    CHECK(complete("pravaha stream create s/t --seg") == "--segments\n");
    CHECK(complete("pravaha stream create s/t --scale-by ") == "events\nkbytes\n");
    CHECK(complete("pravaha read s/t --fo") == "--follow\n");
    CHECK(complete("pravaha txn ") == "begin\ncommit\nabort\nstatus\nlist\n");
    CHECK(complete("pravaha scope list --end") == "--endpoint\n");
    CHECK(complete("pravaha stream create s/t --json") == "\n");  // not a flag of create
}
