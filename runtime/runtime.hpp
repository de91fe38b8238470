#pragma once

/// Module `runtime`: the node process. Flags, logging setup, start-up order (store, container,
/// controller, endpoint, publish), fail-stop on storage errors, signal handling and shutdown.
///
/// May include: schema, storage, actors, runtime/transport.

#include <caf/error.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace pravaha::runtime {

struct node_options {
    bool standalone = false;
    std::string data_dir = "./data";
    std::string bind = "127.0.0.1";
    uint16_t port = 9090;
    std::string log_level = "info";
    /// A graceful stop that takes longer ends the process (exit code 3).
    std::chrono::milliseconds shutdown_timeout{10000};
};

/// Parses pravaha-node's flags. On `--help` sets `help` and returns no error.
[[nodiscard]] caf::error parse_node_flags(int argc, char** argv, node_options& opts, bool& help);

const char* node_usage();

/// Runs a node until SIGINT/SIGTERM or a fatal storage error, then ends the process itself
/// (exit code 0, or 1 after a fatal error; 3 if stopping takes longer than shutdown_timeout).
/// Returns (with 1) only when the node cannot start.
int run_node(const node_options& opts);

}  // namespace pravaha::runtime
