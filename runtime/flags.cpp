#include "runtime/disk_guard.hpp"
#include "runtime/runtime.hpp"
#include "schema/errc.hpp"
#include "schema/text.hpp"

#include <CLI/App.hpp>
#include <CLI/Config.hpp>
#include <CLI/Formatter.hpp>
#include <caf/expected.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <string>
#include <string_view>

namespace pravaha::runtime {

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

// Applies one flag that takes a value.
caf::error apply_flag(std::string_view flag, const std::string& v, node_options& opts) {
    if (flag == "--node-id" || flag == "--containers") {
        auto n = parse_uint(flag, v, 1, 1000, "1..1000");
        if (!n) {
            return std::move(n.error());
        }
        (flag == "--node-id" ? opts.node_id : opts.containers) = static_cast<uint32_t>(*n);
    } else if (flag == "--rpc-port" || flag == "--metrics-port" || flag == "--data-port") {
        auto& port = flag == "--rpc-port"    ? opts.rpc_port
                     : flag == "--data-port" ? opts.data_port
                                             : opts.metrics_port;
        opts.metrics_port_given = opts.metrics_port_given || flag == "--metrics-port";
        opts.data_port_given = opts.data_port_given || flag == "--data-port";
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
    } else if (flag == "--snapshot-rate-bytes") {
        auto n = parse_bytes(v);
        if (!n) {
            return caf::make_error(errc::invalid_argument,
                                   "--snapshot-rate-bytes needs a byte count per second such "
                                   "as 67108864 or 64M (0: no limit), got '" +
                                       v + "'");
        }
        opts.snapshot_rate_bytes = *n;
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
    } else if (flag == "--token-file") {
        opts.token_file = v;
    } else if (flag == "--tls-cert") {
        opts.tls_cert = v;
    } else if (flag == "--tls-key") {
        opts.tls_key = v;
    } else if (flag == "--tls-ca") {
        opts.tls_ca = v;
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

// Standalone, or one member of a cluster that lists it exactly once among at least 3; the data
// port only where it cannot bypass a protection the node asks for.
caf::error check_mode(const node_options& opts) {
    if (opts.data_port && opts.data_port_given &&
        (!opts.token_file.empty() || !opts.tls_cert.empty())) {
        return caf::make_error(errc::invalid_argument,
                               "--data-port cannot be combined with --token-file or TLS yet (the "
                               "data port has neither)");
    }
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

namespace {

// One flag of pravaha-node that takes a value: its name (without "--"), the value's name in the
// help, and its help text.
struct flag_spec {
    const char* name;
    const char* value;
    const char* help;
    bool hidden = false;
};

const flag_spec valued_flags[] = {
    {"node-id", "N", "this node's id in a cluster (1..1000), listed in --peers"},
    {"peers", "ID@HOST:PORT,...",
     "every member of the cluster, this node included; each holds a replica of the controller "
     "and of every container (at least 3)"},
    {"containers", "C",
     "segment containers of the cluster (default 4; the same on every node, fixed when the "
     "cluster is created)"},
    {"data-dir", "DIR", "where the node keeps its data (default ./data)"},
    {"port", "PORT",
     "node endpoint port for clients and members (default 9090; 0 picks a free one)"},
    {"bind", "ADDR", "address to listen on (default 127.0.0.1)"},
    {"log-level", "LEVEL", "trace, debug, info, warn or error (default info)"},
    {"memory-limit", "MIB",
     "MiB the node may use for queued appends, parked reads, Raft logs kept for lagging "
     "followers and RocksDB write buffers (default 1024, 64..1048576); beyond it appends get "
     "`overloaded` and writers wait"},
    {"rpc-port", "PORT",
     "Cap'n Proto RPC port for other languages (default 9091; 0 picks a free one; off: no RPC). "
     "Every node on one machine needs its own."},
    {"data-port", "PORT",
     "port of the framed data path for appends, which clients learn from the node "
     "(ARCHITECTURE.md \"The framed data path\"; default 0: a free one; off: none, appends go "
     "over --port); off by default with --token-file or TLS, which a given port refuses"},
    {"metrics-port", "PORT",
     "HTTP port of /metrics (Prometheus), /health and /ready (default 9092; 0 picks a free one; "
     "off: none). One per node on a machine."},
    {"max-connections", "N",
     "connections the node takes on its ports together (client, RPC and other members; "
     "default: the descriptor limit less a quarter kept for the store, 1..1000000); a "
     "connection beyond it is closed at once and existing ones are unaffected"},
    {"min-free-bytes", "BYTES",
     "free space the data directory's file system keeps (default the smaller of 1G and 5 %; K, "
     "M, G suffixes); below it appends and stream creations get storage_full, reads and "
     "deletes go on"},
    {"snapshot-rate-bytes", "BYTES",
     "bytes per second a node sends to members rebuilt from snapshots (they fell behind the "
     "log kept for them), all its Raft groups together, one snapshot at a time per member "
     "(default 64M; K, M, G suffixes; 0: no limit)"},
    {"scale-window-s", "S",
     "the shortest window of the segments' measured rates that automatic scaling decides by "
     "(default 120; the others are 2.5, 5 and 10 times longer; 1..86400)"},
    {"scale-cooldown-s", "S",
     "pause after a scale before the next automatic one (default 600; 0..86400)"},
    {"token-file", "FILE",
     "clients need a token of this file (`pravaha-node token create`), with a right on each "
     "scope they use; without it every client may do everything"},
    {"tls-cert", "FILE",
     "the node's certificate (PEM), naming the hosts and addresses peers and clients use; with "
     "--tls-key and --tls-ca every port speaks TLS and wants a certificate of the CA"},
    {"tls-key", "FILE", "the private key of --tls-cert (PEM, unencrypted)"},
    {"tls-ca", "FILE",
     "the CA certificate (PEM) that clients' and members' certificates must chain to"},
    {"disk-capacity-bytes", "BYTES", "tests only: the file system's size the free-space guard sees",
     true},
};

// The environment variable of flag `name`: PRAVAHA_ and the name in capitals, '-' as '_'.
std::string env_name(const std::string& name) {
    std::string out = "PRAVAHA_";
    for (char c : name) {
        out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

const flag_spec* find_flag(const std::string& name) {
    for (const auto& f : valued_flags) {
        if (name == f.name) {
            return &f;
        }
    }
    return nullptr;
}

// The arguments a TOML configuration file stands for: `key = value` per flag (`standalone =
// true` for the switch; `peers` a string or an array). Errors: unreadable file, a section, an
// unknown key.
caf::expected<std::vector<std::string>> config_args(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        return caf::make_error(errc::invalid_argument,
                               "cannot read the configuration file " + path);
    }
    std::vector<CLI::ConfigItem> items;
    try {
        items = CLI::ConfigTOML().from_config(in);
    } catch (const CLI::Error& e) {
        return caf::make_error(errc::invalid_argument,
                               "configuration file " + path + ": " + e.what());
    }
    std::vector<std::string> out;
    for (const auto& item : items) {
        if (!item.parents.empty()) {
            if (item.name == "++" || item.name == "--") {
                continue;  // CLI11's markers of a section's start and end
            }
            return caf::make_error(
                errc::invalid_argument,
                "configuration file " + path + ": no sections, got [" + item.parents.front() + "]");
        }
        if (item.name == "standalone" || item.name == "metrics-per-stream") {
            if (item.inputs.size() != 1 ||
                (item.inputs[0] != "true" && item.inputs[0] != "false")) {
                return caf::make_error(errc::invalid_argument, "configuration file " + path + ": " +
                                                                   item.name + " = true or false");
            }
            if (item.inputs[0] == "true") {
                out.push_back("--" + item.name);
            }
            continue;
        }
        if (find_flag(item.name) == nullptr) {
            return caf::make_error(errc::invalid_argument, "configuration file " + path +
                                                               ": unknown key '" + item.name + "'");
        }
        std::string value;
        for (size_t i = 0; i < item.inputs.size(); ++i) {
            value += (i > 0 ? "," : "") + item.inputs[i];
        }
        out.push_back("--" + item.name);
        out.push_back(value);
    }
    return out;
}

// A value as TOML writes it.
std::string toml_string(const std::string& v) {
    std::string out = "\"";
    for (char c : v) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "\"";
}

}  // namespace

std::string render_config(const node_options& opts) {
    std::string out =
        "# pravaha-node's configuration (flags over PRAVAHA_* variables over --config)\n";
    auto line = [&out](const std::string& key, const std::string& value) {
        out += key + " = " + value + "\n";
    };
    auto port = [](const std::optional<uint16_t>& p) {
        return p ? std::to_string(*p) : toml_string("off");
    };
    line("standalone", opts.standalone ? "true" : "false");
    if (!opts.standalone) {
        line("node-id", std::to_string(opts.node_id));
        std::string peers;
        for (const auto& p : opts.peers) {
            peers += (peers.empty() ? "" : ",") + std::to_string(p.id) + "@" + p.host + ":" +
                     std::to_string(p.port);
        }
        line("peers", toml_string(peers));
        line("containers", std::to_string(opts.containers));
    }
    line("data-dir", toml_string(opts.data_dir));
    line("port", std::to_string(opts.port));
    line("bind", toml_string(opts.bind));
    line("log-level", toml_string(opts.log_level));
    line("memory-limit", std::to_string(opts.memory_limit_mb));
    line("rpc-port", port(opts.rpc_port));
    line("metrics-port", port(opts.metrics_port));
    line("data-port", port(opts.data_port));
    if (opts.max_connections) {
        line("max-connections", std::to_string(*opts.max_connections));
    } else {
        out += "# max-connections: from the descriptor limit\n";
    }
    if (opts.min_free_bytes) {
        line("min-free-bytes", std::to_string(*opts.min_free_bytes));
    } else {
        out += "# min-free-bytes: the smaller of 1G and 5 % of the file system\n";
    }
    line("snapshot-rate-bytes", std::to_string(opts.snapshot_rate_bytes));
    line("metrics-per-stream", opts.metrics_per_stream ? "true" : "false");
    if (!opts.token_file.empty()) {
        line("token-file", toml_string(opts.token_file));
    }
    for (const auto& [name, value] :
         {std::pair{"tls-cert", &opts.tls_cert}, std::pair{"tls-key", &opts.tls_key},
          std::pair{"tls-ca", &opts.tls_ca}}) {
        if (!value->empty()) {
            line(name, toml_string(*value));
        }
    }
    line("scale-window-s", std::to_string(opts.scale_window_s));
    line("scale-cooldown-s", std::to_string(opts.scale_cooldown_s));
    return out;
}

flags_outcome parse_node_flags(int argc,
                               char** argv,
                               node_options& opts,
                               const std::function<const char*(const char*)>& env) {
    constexpr size_t column = 34;
    constexpr size_t help_width = 98 - column;
    CLI::App app{
        "Pravaha stream store node: standalone, or one member of a cluster.\n"
        "  pravaha-node --standalone [OPTIONS]\n"
        "  pravaha-node --node-id N --peers ID@HOST:PORT,... [OPTIONS]\n"
        "  pravaha-node inspect --data-dir DIR [--json]   (a data directory, read-only)\n"
        "  pravaha-node token create NAME SCOPE=RIGHTS... | token hash   (--token-file lines)",
        "pravaha-node"};
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.get_formatter()->column_width(column);
    app.footer(wrap_words(
        "Every option also comes from the environment (PRAVAHA_ and its name in capitals with _ "
        "for -, e.g. PRAVAHA_MEMORY_LIMIT=2048) and from the --config file (name = value, e.g. "
        "memory-limit = 2048); a flag wins over the environment, which wins over the file.",
        98));
    bool standalone = false;
    std::string config;
    bool print = false;
    std::map<std::string, std::string> values;
    app.add_flag(
        "--standalone", standalone,
        wrap_words("controller and one segment container in one process (replication factor "
                   "1)",
                   help_width));
    for (const auto& f : valued_flags) {
        auto* o = app.add_option(std::string("--") + f.name, values[f.name],
                                 wrap_words(f.help, help_width))
                      ->type_name(f.value);
        if (f.hidden) {
            o->group("");
        }
    }
    bool per_stream = false;
    app.add_flag(
        "--metrics-per-stream", per_stream,
        wrap_words("append and read counters per stream too (label stream_uid; "
                   "pravaha_stream_info names the streams): a series per stream, so off by "
                   "default",
                   help_width));
    app.add_option("--config", config, "a TOML file of options (name = value)")->type_name("FILE");
    app.add_flag(
        "--print-config", print,
        wrap_words("print the configuration these flags, variables and file make, then exit",
                   help_width));

    // The file's arguments, then the environment's, then the command line's: the last of each
    // option wins (flag over environment over file). --config itself comes from the command line
    // or PRAVAHA_CONFIG.
    std::vector<std::string> cmdline(argv + 1, argv + argc);
    for (size_t i = 0; i < cmdline.size(); ++i) {
        if (cmdline[i] == "--config" && i + 1 < cmdline.size()) {
            config = cmdline[i + 1];
        } else if (cmdline[i].rfind("--config=", 0) == 0) {
            config = cmdline[i].substr(9);
        }
    }
    if (config.empty()) {
        if (const char* v = env("PRAVAHA_CONFIG"); v != nullptr) {
            config = v;
        }
    }
    std::vector<std::string> args;
    if (!config.empty()) {
        auto from_file = config_args(config);
        if (!from_file) {
            return {false, 2,
                    usage_failure("pravaha-node", render_error(from_file.error()),
                                  "pravaha-node --help")};
        }
        args = std::move(*from_file);
    }
    for (const char* name : {"standalone", "metrics-per-stream"}) {
        if (const char* v = env(env_name(name).c_str()); v != nullptr && std::string(v) == "true") {
            args.push_back(std::string("--") + name);
        }
    }
    for (const auto& f : valued_flags) {
        if (const char* v = env(env_name(f.name).c_str()); v != nullptr) {
            args.push_back(std::string("--") + f.name);
            args.emplace_back(v);
        }
    }
    args.insert(args.end(), cmdline.begin(), cmdline.end());
    std::reverse(args.begin(), args.end());  // CLI11 takes them last first
    try {
        app.parse(args);
    } catch (const CLI::CallForHelp&) {
        return {false, 0, app.help()};
    } catch (const CLI::ParseError& e) {
        return {false, 2, usage_failure("pravaha-node", e.what(), "pravaha-node --help")};
    }
    opts.standalone = standalone;
    opts.metrics_per_stream = per_stream;
    for (const auto& f : valued_flags) {
        auto* o = app.get_option(std::string("--") + f.name);
        if (o->count() == 0) {
            continue;
        }
        if (auto err = apply_flag(std::string("--") + f.name, values[f.name], opts)) {
            return {false, 2,
                    usage_failure("pravaha-node", render_error(err), "pravaha-node --help")};
        }
    }
    if (auto err = check_mode(opts)) {
        return {false, 2, usage_failure("pravaha-node", render_error(err), "pravaha-node --help")};
    }
    if (!opts.data_port_given && (!opts.token_file.empty() || !opts.tls_cert.empty())) {
        opts.data_port.reset();  // the default gives way to a protection the port lacks
    }
    if (print) {
        return {false, 0, render_config(opts)};
    }
    return {true, 0, {}};
}

}  // namespace pravaha::runtime
