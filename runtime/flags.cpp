#include "runtime/runtime.hpp"
#include "schema/errc.hpp"

#include <caf/expected.hpp>

#include <string>
#include <string_view>

namespace pravaha::runtime {

const char* node_usage() {
    return "usage: pravaha-node --standalone [--data-dir DIR] [--port PORT] [--bind ADDR]\n"
           "                    [--log-level trace|debug|info|warn|error]\n"
           "       pravaha-node --node-id N --peers ID@HOST:PORT,... [--containers C]\n"
           "                    [--data-dir DIR] [--port PORT] [--bind ADDR] [--log-level L]\n"
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
           "                 free one; off: no RPC). Every node on one machine needs its own.\n";
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

caf::error parse_node_flags(int argc, char** argv, node_options& opts, bool& help) {
    help = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        auto value = [&](const char* name) -> caf::expected<std::string> {
            if (i + 1 >= argc) {
                return caf::make_error(errc::invalid_argument,
                                       std::string(name) + " needs a value");
            }
            return std::string(argv[++i]);
        };
        if (arg == "--help" || arg == "-h") {
            help = true;
            return {};
        } else if (arg == "--standalone") {
            opts.standalone = true;
        } else if (arg == "--node-id" || arg == "--containers") {
            auto v = value(arg == "--node-id" ? "--node-id" : "--containers");
            if (!v) {
                return std::move(v.error());
            }
            if (v->empty() || v->size() > 4 ||
                v->find_first_not_of("0123456789") != std::string::npos || std::stoul(*v) == 0 ||
                std::stoul(*v) > 1000) {
                return caf::make_error(errc::invalid_argument,
                                       std::string(arg) + " must be 1..1000, got " + *v);
            }
            (arg == "--node-id" ? opts.node_id : opts.containers) =
                static_cast<uint32_t>(std::stoul(*v));
        } else if (arg == "--rpc-port") {
            auto v = value("--rpc-port");
            if (!v) {
                return std::move(v.error());
            }
            if (*v == "off") {
                opts.rpc_port.reset();
            } else if (v->empty() || v->size() > 5 ||
                       v->find_first_not_of("0123456789") != std::string::npos ||
                       std::stoul(*v) > 65535) {
                return caf::make_error(errc::invalid_argument,
                                       "--rpc-port must be 0..65535 or off, got " + *v);
            } else {
                opts.rpc_port = static_cast<uint16_t>(std::stoul(*v));
            }
        } else if (arg == "--memory-limit") {
            auto v = value("--memory-limit");
            if (!v) {
                return std::move(v.error());
            }
            if (v->empty() || v->size() > 7 ||
                v->find_first_not_of("0123456789") != std::string::npos || std::stoul(*v) < 64 ||
                std::stoul(*v) > 1048576) {
                return caf::make_error(errc::invalid_argument,
                                       "--memory-limit must be 64..1048576 (MiB), got " + *v);
            }
            opts.memory_limit_mb = std::stoul(*v);
        } else if (arg == "--peers") {
            auto v = value("--peers");
            if (!v) {
                return std::move(v.error());
            }
            if (auto err = parse_peers(*v, opts.peers)) {
                return err;
            }
        } else if (arg == "--data-dir") {
            auto v = value("--data-dir");
            if (!v) {
                return std::move(v.error());
            }
            opts.data_dir = *v;
        } else if (arg == "--bind") {
            auto v = value("--bind");
            if (!v) {
                return std::move(v.error());
            }
            opts.bind = *v;
        } else if (arg == "--log-level") {
            auto v = value("--log-level");
            if (!v) {
                return std::move(v.error());
            }
            opts.log_level = *v;
        } else if (arg == "--port") {
            auto v = value("--port");
            if (!v) {
                return std::move(v.error());
            }
            if (v->empty() || v->size() > 5 ||
                v->find_first_not_of("0123456789") != std::string::npos || std::stoul(*v) > 65535) {
                return caf::make_error(errc::invalid_argument,
                                       "--port must be 0..65535, got " + *v);
            }
            opts.port = static_cast<uint16_t>(std::stoul(*v));
        } else {
            return caf::make_error(errc::invalid_argument, "unknown flag " + std::string(arg));
        }
    }
    if (opts.standalone && (opts.node_id != 0 || !opts.peers.empty())) {
        return caf::make_error(errc::invalid_argument,
                               "--standalone cannot be combined with --node-id or --peers");
    }
    if (!opts.standalone) {
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
    }
    return {};
}

}  // namespace pravaha::runtime
