#include "runtime/runtime.hpp"
#include "schema/errc.hpp"

#include <caf/expected.hpp>

#include <string>
#include <string_view>

namespace pravaha::runtime {

const char* node_usage() {
    return "usage: pravaha-node --standalone [--data-dir DIR] [--port PORT] [--bind ADDR]\n"
           "                    [--log-level trace|debug|info|warn|error]\n"
           "  --standalone   controller and one segment container in one process\n"
           "                 (replication factor 1)\n"
           "  --data-dir     where the node keeps its data (default ./data)\n"
           "  --port         node endpoint port for clients (default 9090; 0 picks a free one)\n"
           "  --bind         address to listen on (default 127.0.0.1)\n"
           "  --log-level    default info\n";
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
    if (!opts.standalone) {
        return caf::make_error(errc::invalid_argument,
                               "only --standalone mode exists so far (cluster mode comes with "
                               "replication)");
    }
    return {};
}

}  // namespace pravaha::runtime
