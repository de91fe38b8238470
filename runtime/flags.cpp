#include "runtime/disk_guard.hpp"
#include "runtime/runtime.hpp"
#include "schema/errc.hpp"

#include <caf/expected.hpp>

#include <algorithm>
#include <iterator>
#include <string>
#include <string_view>

namespace pravaha::runtime {

const char* node_usage() {
    return "usage: pravaha-node --standalone [--data-dir DIR] [--port PORT] [--bind ADDR]\n"
           "                    [--log-level trace|debug|info|warn|error]\n"
           "       pravaha-node --node-id N --peers ID@HOST:PORT,... [--containers C]\n"
           "                    [--data-dir DIR] [--port PORT] [--bind ADDR] [--log-level L]\n"
           "       pravaha-node inspect --data-dir DIR [--json]\n"
           "  --standalone   controller and one segment container in one process\n"
           "                 (replication factor 1)\n"
           "  --node-id      this node's id in a cluster (1..1000), listed in --peers\n"
           "  --peers        every member of the cluster, this node included; each holds a\n"
           "                 replica of the controller and of every container (at least 3)\n"
           "  --containers   segment containers of the cluster (default 4; the same on every\n"
           "                 node, fixed when the cluster is created)\n"
           "  --data-dir     where the node keeps its data (default ./data)\n"
           "  --port         node endpoint port for clients (default 9090; 0 picks a free one)\n"
           "  --bind         address to listen on (default 127.0.0.1)\n"
           "  --log-level    default info\n"
           "  --memory-limit MiB the node may use for queued appends, parked reads, Raft logs\n"
           "                 kept for lagging followers and RocksDB write buffers (default 1024,\n"
           "                 64..1048576); beyond it appends get `overloaded` and writers wait\n"
           "  --rpc-port     Cap'n Proto RPC port for other languages (default 9091; 0 picks a\n"
           "                 free one; off: no RPC). Every node on one machine needs its own.\n"
           "  --metrics-port HTTP port of /metrics (Prometheus), /health and /ready (default\n"
           "                 9092; 0 picks a free one; off: none). One per node on a machine.\n"
           "  --max-connections  connections the node takes on its ports together (client,\n"
           "                 RPC and other members; default: the descriptor limit less a\n"
           "                 quarter kept for the store, 1..1000000); a connection beyond it is\n"
           "                 closed at once and existing ones are unaffected\n"
           "  --min-free-bytes  free space the data directory's file system keeps (default the\n"
           "                 smaller of 1G and 5 %; K, M, G suffixes); below it appends and\n"
           "                 stream creations get storage_full, reads and deletes go on\n"
           "  --scale-window-s  the shortest window of the segments' measured rates that\n"
           "                 automatic scaling decides by (default 120; the others are 2.5, 5 and\n"
           "                 10 times longer; 1..86400)\n"
           "  --scale-cooldown-s  pause after a scale before the next automatic one (default\n"
           "                 600; 0..86400)\n";
}

caf::error parse_peers(const std::string& text, std::vector<peer_option>& out) {
    size_t pos = 0;
    while (pos <= text.size()) {
        auto comma = text.find(',', pos);
        auto item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        auto at = item.find('@');
        auto colon = item.rfind(':');
        auto bad = caf::make_error(errc::invalid_argument,
                                   "--peers expects ID@HOST:PORT,..., got '" + item + "'");
        if (at == std::string::npos || colon == std::string::npos || colon < at || at == 0 ||
            at > 4 || item.substr(0, at).find_first_not_of("0123456789") != std::string::npos) {
            return bad;
        }
        peer_option p;
        p.id = static_cast<uint32_t>(std::stoul(item.substr(0, at)));
        p.host = item.substr(at + 1, colon - at - 1);
        auto port = item.substr(colon + 1);
        if (p.id == 0 || p.host.empty() || port.empty() || port.size() > 5 ||
            port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) == 0 ||
            std::stoul(port) > 65535) {
            return bad;
        }
        p.port = static_cast<uint16_t>(std::stoul(port));
        for (const auto& q : out) {
            if (q.id == p.id) {
                return caf::make_error(errc::invalid_argument,
                                       "--peers lists node " + std::to_string(p.id) + " twice");
            }
        }
        out.push_back(p);
        if (comma == std::string::npos) {
            break;
        }
        pos = comma + 1;
    }
    return {};
}

namespace {

// `text` as a decimal number in [lo, hi]. Errors: invalid_argument naming `flag`.
caf::expected<uint64_t> parse_uint(std::string_view flag,
                                   const std::string& text,
                                   uint64_t lo,
                                   uint64_t hi,
                                   const std::string& range_text) {
    if (text.empty() || text.size() > 10 ||
        text.find_first_not_of("0123456789") != std::string::npos || std::stoull(text) < lo ||
        std::stoull(text) > hi) {
        return caf::make_error(errc::invalid_argument,
                               std::string(flag) + " must be " + range_text + ", got " + text);
    }
    return std::stoull(text);
}

// The flags that take a value (apply_flag knows each).
constexpr std::string_view valued_flags[] = {"--node-id",
                                             "--containers",
                                             "--rpc-port",
                                             "--memory-limit",
                                             "--metrics-port",
                                             "--peers",
                                             "--data-dir",
                                             "--bind",
                                             "--log-level",
                                             "--port",
                                             "--max-connections",
                                             "--min-free-bytes",
                                             "--disk-capacity-bytes",
                                             "--scale-window-s",
                                             "--scale-cooldown-s"};

// Applies one flag that takes a value.
caf::error apply_flag(std::string_view flag, const std::string& v, node_options& opts) {
    if (flag == "--node-id" || flag == "--containers") {
        auto n = parse_uint(flag, v, 1, 1000, "1..1000");
        if (!n) {
            return std::move(n.error());
        }
        (flag == "--node-id" ? opts.node_id : opts.containers) = static_cast<uint32_t>(*n);
    } else if (flag == "--rpc-port" || flag == "--metrics-port") {
        auto& port = flag == "--rpc-port" ? opts.rpc_port : opts.metrics_port;
        opts.metrics_port_given = opts.metrics_port_given || flag == "--metrics-port";
        if (v == "off") {
            port.reset();
            return {};
        }
        auto n = parse_uint(flag, v, 0, 65535, "0..65535 or off");
        if (!n) {
            return std::move(n.error());
        }
        port = static_cast<uint16_t>(*n);
    } else if (flag == "--memory-limit") {
        auto n = parse_uint(flag, v, 64, 1048576, "64..1048576 (MiB)");
        if (!n) {
            return std::move(n.error());
        }
        opts.memory_limit_mb = *n;
    } else if (flag == "--scale-window-s" || flag == "--scale-cooldown-s") {
        bool window = flag == "--scale-window-s";
        auto n = parse_uint(flag, v, window ? 1 : 0, 86400, window ? "1..86400" : "0..86400");
        if (!n) {
            return std::move(n.error());
        }
        (window ? opts.scale_window_s : opts.scale_cooldown_s) = *n;
    } else if (flag == "--max-connections") {
        auto n = parse_uint(flag, v, 1, 1000000, "1..1000000");
        if (!n) {
            return std::move(n.error());
        }
        opts.max_connections = *n;
    } else if (flag == "--min-free-bytes") {
        auto n = parse_bytes(v);
        if (!n) {
            return caf::make_error(errc::invalid_argument,
                                   "--min-free-bytes needs a byte count such as 1073741824, "
                                   "512M or 1G, got '" +
                                       v + "'");
        }
        opts.min_free_bytes = *n;
    } else if (flag == "--disk-capacity-bytes") {
        auto n = parse_bytes(v);
        if (!n || *n == 0) {
            return caf::make_error(errc::invalid_argument,
                                   "--disk-capacity-bytes needs a byte count, got '" + v + "'");
        }
        opts.disk_capacity_bytes = *n;
    } else if (flag == "--peers") {
        return parse_peers(v, opts.peers);
    } else if (flag == "--data-dir") {
        opts.data_dir = v;
    } else if (flag == "--bind") {
        opts.bind = v;
    } else if (flag == "--log-level") {
        opts.log_level = v;
    } else if (flag == "--port") {
        auto n = parse_uint(flag, v, 0, 65535, "0..65535");
        if (!n) {
            return std::move(n.error());
        }
        opts.port = static_cast<uint16_t>(*n);
    } else {
        return caf::make_error(errc::invalid_argument, "unknown flag " + std::string(flag));
    }
    return {};
}

// Standalone, or one member of a cluster that lists it exactly once among at least 3.
caf::error check_mode(const node_options& opts) {
    if (opts.standalone && (opts.node_id != 0 || !opts.peers.empty())) {
        return caf::make_error(errc::invalid_argument,
                               "--standalone cannot be combined with --node-id or --peers");
    }
    if (opts.standalone) {
        return {};
    }
    if (opts.node_id == 0 || opts.peers.empty()) {
        return caf::make_error(errc::invalid_argument,
                               "give --standalone, or --node-id and --peers for a cluster");
    }
    if (opts.peers.size() < 3) {
        return caf::make_error(errc::invalid_argument,
                               "a cluster needs at least 3 members in --peers");
    }
    size_t self = 0;
    for (const auto& p : opts.peers) {
        self += p.id == opts.node_id ? 1 : 0;
    }
    if (self != 1) {
        return caf::make_error(
            errc::invalid_argument,
            "--peers must list --node-id " + std::to_string(opts.node_id) + " exactly once");
    }
    return {};
}

}  // namespace

caf::error parse_node_flags(int argc, char** argv, node_options& opts, bool& help) {
    help = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            help = true;
            return {};
        }
        if (arg == "--standalone") {
            opts.standalone = true;
            continue;
        }
        if (std::find(std::begin(valued_flags), std::end(valued_flags), arg) ==
            std::end(valued_flags)) {
            return caf::make_error(errc::invalid_argument, "unknown flag " + std::string(arg));
        }
        if (i + 1 >= argc) {
            return caf::make_error(errc::invalid_argument, std::string(arg) + " needs a value");
        }
        if (auto err = apply_flag(arg, argv[++i], opts)) {
            return err;
        }
    }
    return check_mode(opts);
}

}  // namespace pravaha::runtime
