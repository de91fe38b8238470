#include "runtime/runtime.hpp"
#include "schema/errc.hpp"
#include "schema/logging.hpp"

#include <cstdio>
#include <string_view>

int main(int argc, char** argv) {
    if (argc > 1 && std::string_view(argv[1]) == "inspect") {
        return pravaha::runtime::run_inspect(argc - 2, argv + 2);
    }
    pravaha::runtime::node_options opts;
    bool help = false;
    if (auto err = pravaha::runtime::parse_node_flags(argc, argv, opts, help)) {
        std::fprintf(stderr, "pravaha-node: %s\n%s", pravaha::render_error(err).c_str(),
                     pravaha::runtime::node_usage());
        return 2;
    }
    if (help) {
        std::fputs(pravaha::runtime::node_usage(), stdout);
        return 0;
    }
    if (!pravaha::configure_logging(opts.log_level)) {
        std::fprintf(stderr, "pravaha-node: unknown log level %s\n", opts.log_level.c_str());
        return 2;
    }
    return pravaha::runtime::run_node(opts);
}
