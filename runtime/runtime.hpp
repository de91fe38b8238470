#pragma once

/// Module `runtime`: the node process. Flags, logging setup, start-up order (store, container,
/// controller, endpoint, publish), fail-stop on storage errors, signal handling and shutdown.
///
/// May include: schema, storage, actors, runtime/transport, runtime/gateway.

#include <caf/error.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pravaha::runtime {

/// A member of a cluster as given by `--peers ID@HOST:PORT,...`.
struct peer_option {
    uint32_t id = 0;
    std::string host;
    uint16_t port = 0;
};

struct node_options {
    bool standalone = false;
    /// Cluster mode: this node's id and every member (this one included).
    uint32_t node_id = 0;
    std::vector<peer_option> peers;
    uint32_t containers = 4;
    std::string data_dir = "./data";
    std::string bind = "127.0.0.1";
    uint16_t port = 9090;
    std::string log_level = "info";
    /// The node's memory limit for what load can grow (queued appends, parked reads, Raft logs
    /// kept for followers, RocksDB write buffers), in MiB.
    size_t memory_limit_mb = 1024;
    /// Snapshot bytes a leader replica sends per second to followers behind its compacted log
    /// (0: no limit), so that rebuilding a member does not starve the leader's own disk.
    uint64_t snapshot_rate_bytes = 64ull << 20;
    /// The Cap'n Proto RPC port (schema/pravaha.capnp); 0 picks a free one; no value: off.
    std::optional<uint16_t> rpc_port = 9091;
    /// The framed data port (runtime/data_port.hpp: appends without CAF's transport; clients
    /// learn it from the node endpoint); 0 picks a free one; no value: off. Off by default with
    /// --token-file or TLS (the port has neither yet), which an explicit port refuses.
    std::optional<uint16_t> data_port = 0;
    bool data_port_given = false;
    /// The metrics port (`/metrics`, `/health`, `/ready`); 0 picks a free one; no value: off.
    std::optional<uint16_t> metrics_port = 9092;
    /// Whether --metrics-port was given: then a port that cannot be bound stops the start; the
    /// default one only logs a warning (several nodes on one machine, tests).
    bool metrics_port_given = false;
    /// Append and read counters per stream as well as per container (a series per stream).
    bool metrics_per_stream = false;
    /// Connections the node takes on all its ports together; beyond it a new connection is
    /// closed at once. No value: sized from the descriptor limit
    /// (transport::default_max_connections).
    std::optional<uint64_t> max_connections;
    /// Below this much free space on the data directory's file system, appends and stream
    /// creations are refused with storage_full. No value: min(1 GiB, 5 % of the file system).
    std::optional<uint64_t> min_free_bytes;
    /// Tests only (0: off): the free-space guard sees a file system of this many bytes that holds
    /// just the data directory (for machines where a test cannot mount a small file system).
    uint64_t disk_capacity_bytes = 0;
    /// Automatic scaling: the shortest rate window and the cooldown after a scale, in seconds
    /// (Pravega's 2 and 10 minutes by default; the same on every node of a cluster).
    uint64_t scale_window_s = 120;
    uint64_t scale_cooldown_s = 600;
    /// A graceful stop that takes longer ends the process (exit code 3).
    std::chrono::milliseconds shutdown_timeout{10000};
    /// --token-file (runtime/tokens.hpp): clients need a token of this file, with the right on
    /// each scope they use. Empty: no authentication.
    std::string token_file;
    /// --tls-cert, --tls-key, --tls-ca (PEM files; all three or none): TLS with client
    /// certificates of the CA on the RPC and metrics ports (runtime/tls.hpp).
    std::string tls_cert;
    std::string tls_key;
    std::string tls_ca;
};

/// What pravaha-node's command line decided: run the node, or print `text` (to stdout when
/// `exit_code` is 0: --help, --print-config; else to stderr) and exit with `exit_code` (2: a
/// usage error).
struct flags_outcome {
    bool run = false;
    int exit_code = 0;
    std::string text;
};

/// Parses pravaha-node's flags (CLI11), the PRAVAHA_* variables `env` gives and the --config
/// file (TOML, `name = value`), a flag winning over a variable over the file.
[[nodiscard]] flags_outcome parse_node_flags(
    int argc,
    char** argv,
    node_options& opts,
    const std::function<const char*(const char*)>& env = [](const char* n) {
        // NOLINTNEXTLINE(concurrency-mt-unsafe): read at start-up; nothing sets the environment
        return std::getenv(n);
    });

/// The configuration `opts` stand for, as a --config file (TOML) would give it.
std::string render_config(const node_options& opts);

/// `pravaha-node inspect` (argv after "inspect"): prints a data directory's identity record and
/// a summary of its store, read-only. Returns the exit code (2: bad arguments or no data
/// directory, 4: damaged).
int run_inspect(int argc, char** argv);
/// `pravaha-node token create|hash` (argv after "token"; runtime/tokens.hpp).
int run_token_command(int argc, char** argv);
const char* inspect_usage();

/// Runs a node until SIGINT/SIGTERM or a fatal storage error, then ends the process itself
/// (exit code 0, or 1 after a fatal error; 3 if stopping takes longer than shutdown_timeout).
/// Returns only when the node cannot start: 2 when the data directory is not what the flags say
/// (runtime/identity.hpp; nothing was written), 4 when it is damaged, 1 otherwise.
int run_node(const node_options& opts);

}  // namespace pravaha::runtime
