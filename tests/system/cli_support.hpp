#pragma once
// What the tests of the `pravaha` CLI share: running it against a node, as a command or as a
// child process, and taking its output apart.

#include "tests/support/node_process.hpp"

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#ifndef PRAVAHA_CLI_BIN
#error "PRAVAHA_CLI_BIN must name the pravaha binary"
#endif

namespace pravaha::test {

/// The CLI against one endpoint.
struct cli {
    std::string endpoint;

    /// The command line of `args` (stdin from `stdin_file` when not "").
    std::string command(const std::string& args, const std::string& stdin_file = "") const {
        std::string cmd = std::string(PRAVAHA_CLI_BIN) + " --endpoint " + endpoint + " " + args;
        return stdin_file.empty() ? cmd : cmd + " < " + stdin_file;
    }
    /// Runs it to its end; its exit code, stdout and stderr together in `out`.
    int run(const std::string& args, std::string& out, const std::string& stdin_file = "") const {
        return run_command(command(args, stdin_file) + " 2>&1", out);
    }
    /// Starts it as a child process writing stdout and stderr into the file `out`.
    std::unique_ptr<child_process> spawn(const std::string& args,
                                         const std::string& out,
                                         const std::string& stdin_file = "") const {
        return std::make_unique<child_process>(
            std::vector<std::string>{"/bin/sh", "-c", command(args, stdin_file)}, out);
    }
};

inline std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    std::string l;
    while (std::getline(in, l)) {
        out.push_back(l);
    }
    return out;
}

inline bool has(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

}  // namespace pravaha::test
