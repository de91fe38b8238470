// pravaha-example-wordcount: see word_count.hpp for what the two roles do.
//
//   pravaha-example-wordcount counter --endpoint H:P --port P2 [--scope S] [--window N]
//                                     [--kill-writer-every N] [--retry-timeout-ms MS]
//   pravaha-example-wordcount source  --endpoint H:P --counter H2:P2 [--scope S] [--lines N]
//                                     [--seed N] [--retry-timeout-ms MS]

#include "client/examples/word_count/word_count.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <cstdio>
#include <exception>
#include <map>
#include <string>

namespace {

using pravaha::example::options;

void usage() {
    std::fprintf(
        stderr,
        "usage: pravaha-example-wordcount counter --endpoint HOST:PORT --port PORT\n"
        "           [--scope S] [--window N] [--kill-writer-every N] [--retry-timeout-ms MS]\n"
        "       pravaha-example-wordcount source --endpoint HOST:PORT --counter HOST:PORT\n"
        "           [--scope S] [--lines N] [--seed N] [--retry-timeout-ms MS]\n");
}

// Parses the command line; false (after saying why) on anything it does not know.
bool parse(int argc, char** argv, options& opts) {
    if (argc < 2) {
        usage();
        return false;
    }
    opts.role = argv[1];
    if (opts.role != "counter" && opts.role != "source") {
        std::fprintf(stderr, "unknown role '%s'\n", opts.role.c_str());
        usage();
        return false;
    }
    std::map<std::string, std::string> flags;
    for (int i = 2; i < argc; i += 2) {
        std::string name = argv[i];
        if (name.rfind("--", 0) != 0 || i + 1 >= argc) {
            std::fprintf(stderr, "expected --flag value, got '%s'\n", name.c_str());
            usage();
            return false;
        }
        flags[name.substr(2)] = argv[i + 1];
    }
    try {
        for (auto& [name, value] : flags) {
            if (name == "endpoint") {
                opts.endpoint = value;
            } else if (name == "scope") {
                opts.scope = value;
            } else if (name == "port") {
                opts.counter_port = static_cast<uint16_t>(std::stoul(value));
            } else if (name == "counter") {
                auto colon = value.rfind(':');
                if (colon == std::string::npos) {
                    throw std::invalid_argument("--counter needs HOST:PORT");
                }
                opts.counter_host = value.substr(0, colon);
                opts.counter_port = static_cast<uint16_t>(std::stoul(value.substr(colon + 1)));
            } else if (name == "lines") {
                opts.lines = std::stoull(value);
            } else if (name == "seed") {
                opts.seed = std::stoull(value);
            } else if (name == "window") {
                opts.window = static_cast<uint32_t>(std::stoul(value));
            } else if (name == "kill-writer-every") {
                opts.kill_writer_every = std::stoull(value);
            } else if (name == "retry-timeout-ms") {
                opts.retry_timeout_ms = std::stoll(value);
            } else {
                throw std::invalid_argument("unknown flag --" + name);
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bad arguments: %s\n", e.what());
        usage();
        return false;
    }
    if (opts.counter_port == 0 || opts.window == 0 || opts.retry_timeout_ms <= 0) {
        std::fprintf(stderr, "the counter's port, --window and --retry-timeout-ms must be > 0\n");
        usage();
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines appear as they happen
    options opts;
    if (!parse(argc, argv, opts)) {
        return 2;
    }
    // An application's actor system as client/actor_api.hpp sets it up.
    caf::actor_system_config cfg;
    pravaha::client::add_actor_api_types(cfg);
    cfg.load<caf::io::middleman>();
    cfg.set("scheduler.max-threads", 2);
    cfg.set("logger.console", caf::atom("none"));
    caf::actor_system sys{cfg};
    int rc = opts.role == "counter" ? pravaha::example::run_counter(sys, opts)
                                    : pravaha::example::run_source(sys, opts);
    std::fflush(stdout);
    return rc;
}

namespace pravaha::example {

std::optional<client::stream_manager_actor> open_manager(caf::actor_system& sys,
                                                         const options& opts) {
    client::client_config cfg;
    cfg.endpoint = opts.endpoint;
    cfg.retry_timeout = std::chrono::milliseconds(opts.retry_timeout_ms);
    auto mgr = client::spawn_stream_manager(sys, cfg);
    if (!mgr) {
        std::fprintf(stderr, "cannot open a client of %s: %s\n", opts.endpoint.c_str(),
                     render_error(mgr.error()).c_str());
        return std::nullopt;
    }
    return *mgr;
}

bool create_stream(caf::actor_system& sys,
                   const client::stream_manager_actor& mgr,
                   const std::string& scope,
                   const std::string& stream) {
    caf::scoped_actor self{sys};
    caf::error err;
    self->request(mgr, caf::infinite, create_scope_atom::value, scope)
        .receive([](bool) {}, [&](caf::error& e) { err = std::move(e); });
    if (err && code_of(err) != errc::scope_exists) {
        std::fprintf(stderr, "cannot create scope %s: %s\n", scope.c_str(),
                     render_error(err).c_str());
        return false;
    }
    err = caf::error{};
    self->request(mgr, caf::infinite, create_stream_atom::value, scope, stream, uint32_t{1})
        .receive([](stream_record&) {}, [&](caf::error& e) { err = std::move(e); });
    if (err) {
        std::fprintf(stderr, "cannot create stream %s/%s: %s%s\n", scope.c_str(), stream.c_str(),
                     render_error(err).c_str(),
                     code_of(err) == errc::stream_exists ? " (give another --scope)" : "");
        return false;
    }
    return true;
}

}  // namespace pravaha::example
