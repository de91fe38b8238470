#include "runtime/runtime.hpp"
#include "schema/errc.hpp"
#include "schema/logging.hpp"

#include <cstdio>
#include <string_view>

int main(int argc, char** argv) {
    if (argc > 1 && std::string_view(argv[1]) == "inspect") {
        return pravaha::runtime::run_inspect(argc - 2, argv + 2);
    }
    if (argc > 1 && std::string_view(argv[1]) == "token") {
        return pravaha::runtime::run_token_command(argc - 2, argv + 2);
    }
    pravaha::runtime::node_options opts;
    auto parsed = pravaha::runtime::parse_node_flags(argc, argv, opts);
    if (!parsed.run) {
        std::fputs(parsed.text.c_str(), parsed.exit_code == 0 ? stdout : stderr);
        return parsed.exit_code;
    }
    if (!pravaha::configure_logging(opts.log_level)) {
        std::fprintf(stderr, "pravaha-node: unknown log level %s\n", opts.log_level.c_str());
        return 2;
    }
    return pravaha::runtime::run_node(opts);
}
