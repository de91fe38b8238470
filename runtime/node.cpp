#include "actors/actors.hpp"
#include "runtime/data_port.hpp"
#include "runtime/disk_guard.hpp"
#include "runtime/gateway.hpp"
#include "runtime/identity.hpp"
#include "runtime/metered_store.hpp"
#include "runtime/metrics_server.hpp"
#include "runtime/runtime.hpp"
#include "runtime/tls.hpp"
#include "runtime/tokens.hpp"
#include "runtime/transport/listener.hpp"
#include "runtime/transport/transport.hpp"
#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/metrics.hpp"
#include "storage/storage.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

namespace pravaha::runtime {

namespace {

std::atomic<int> stop_signal{0};

void on_signal(int sig) {
    stop_signal.store(sig);
}

// Ends the process with exit code 3 if shutdown takes longer than `timeout`. Runtime is the
// one module allowed to own threads and sleeps outside the actor system.
void start_shutdown_watchdog(std::chrono::milliseconds timeout) {
    std::thread([timeout] {
        std::this_thread::sleep_for(timeout);
        module_log("runtime")->error("node shutdown did not finish timeout_ms={}; exiting",
                                     timeout.count());
        spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
        std::_Exit(3);
    }).detach();
}

int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

namespace {

// The connections of one listening port, for the metrics port (`owner` keeps it alive).
void register_listener_metrics(const transport::listener& l,
                               const std::shared_ptr<transport::listener>& owner) {
    auto& r = metrics::global();
    auto status = l.status();
    metrics::labels port{{"port", status.name}};
    auto value = [owner](auto field) {
        return [owner, field] { return static_cast<double>(field(owner->status())); };
    };
    using st = raft::listener_status;
    r.gauge("pravaha_connections",
            "Open connections per listening port (client: the node endpoint, peers included; "
            "rpc: Cap'n Proto; data: the framed data port).",
            port, value([](const st& s) { return s.connections; }));
    r.gauge("pravaha_connections_limit",
            "The most connections the node keeps open, all ports together (--max-connections).", {},
            value([](const st& s) { return s.max_connections; }));
    r.counter_fn("pravaha_connections_refused_total",
                 "Connections closed at once because the node had the most open, per port.", port,
                 value([](const st& s) { return s.refused; }));
    r.counter_fn("pravaha_accept_failures_total",
                 "Failed accepts (out of descriptors, ...), per port.", port,
                 value([](const st& s) { return s.accept_failures; }));
}

// Two write buffers (one filling, one flushing) within an eighth of the memory limit.
size_t write_buffer_bytes(const node_options& opts) {
    return std::min<size_t>(64ull << 20, (opts.memory_limit_mb << 20) / 16);
}

// Creates the data directory and opens the store.
caf::expected<std::unique_ptr<storage::log_store>> open_store(const node_options& opts) {
    std::error_code ec;
    std::filesystem::create_directories(opts.data_dir, ec);
    if (ec) {
        return caf::make_error(errc::storage_io, "cannot create data directory " + opts.data_dir +
                                                     ": " + ec.message());
    }
    storage::rocksdb_options ropts;
    ropts.dir = opts.data_dir + "/db";
    ropts.write_buffer_bytes = write_buffer_bytes(opts);
    auto store = storage::open_rocksdb(ropts);
    if (!store) {
        return std::move(store.error());
    }
    return metered(std::move(*store));
}

// What every run of the node's core shares: the first one, and each after the store was
// reopened (it ran out of space).
struct core_context {
    std::function<std::vector<raft::listener_status>()> listeners;
    std::string cluster_id;
    token_check tokens;                       ///< --token-file (empty: none)
    std::shared_ptr<const tls_material> tls;  ///< --tls-* (null: plain TCP)
    /// This process's run (members refuse a second instance of one node id); one for every core
    /// it starts, since only one runs at a time.
    uint64_t instance = 0;
    actors::storage_full_probe storage_full;
    std::shared_ptr<transport::listener> client_listener;
    std::shared_ptr<transport::listener> rpc_listener;
    std::shared_ptr<transport::listener> data_listener;
    /// The ports as bound by the first run (a flag's 0 becomes the port picked); a later run
    /// binds the same ones.
    uint16_t port = 0;
    std::optional<uint16_t> rpc_port;
    std::optional<uint16_t> data_port;
    /// The data port while it listens (0: not), which the node endpoint tells clients.
    std::shared_ptr<std::atomic<uint16_t>> data_port_now =
        std::make_shared<std::atomic<uint16_t>>(0);
    /// Whether a core serves (the metrics port's `/ready`).
    std::shared_ptr<std::atomic<bool>> ready = std::make_shared<std::atomic<bool>>(false);
};

actors::scaling_settings scaling_of(const node_options& opts) {
    actors::scaling_settings s;
    s.window_ms = static_cast<int64_t>(opts.scale_window_s) * 1000;
    s.cooldown_ms = static_cast<int64_t>(opts.scale_cooldown_s) * 1000;
    return s;
}

// With a metrics port, the reader groups' unread bytes are refreshed every 5 s (a status request
// per current segment of each group's streams); without one, never.
std::chrono::milliseconds group_lag_every(const node_options& opts) {
    return opts.metrics_port ? std::chrono::milliseconds(5000) : std::chrono::milliseconds(0);
}

// The node's core actors: standalone, or one member of a cluster.
caf::expected<actors::node_actors> spawn_core(caf::actor_system& sys,
                                              const node_options& opts,
                                              storage::log_store* store,
                                              const core_context& ctx) {
    if (opts.standalone) {
        actors::node_config ncfg;
        ncfg.store = store;
        ncfg.wall_clock_ms = wall_clock_ms;
        ncfg.memory_bytes = opts.memory_limit_mb << 20;
        ncfg.listeners = ctx.listeners;
        ncfg.storage_full = ctx.storage_full;
        ncfg.scaling = scaling_of(opts);
        ncfg.metrics_per_stream = opts.metrics_per_stream;
        ncfg.group_lag_every = group_lag_every(opts);
        ncfg.cluster_id = ctx.cluster_id;
        ncfg.tokens = ctx.tokens;
        ncfg.data_port = ctx.data_port_now;
        return actors::spawn_node(sys, ncfg);
    }
    actors::cluster_config ccfg;
    ccfg.store = store;
    ccfg.cluster_id = ctx.cluster_id;
    ccfg.tokens = ctx.tokens;
    ccfg.instance = ctx.instance;
    ccfg.node_id = opts.node_id;
    for (const auto& p : opts.peers) {
        ccfg.members.push_back(raft::cluster_member{p.id, p.host, p.port});
    }
    ccfg.container_count = opts.containers;
    ccfg.memory_bytes = opts.memory_limit_mb << 20;
    ccfg.snapshot_rate_bytes = opts.snapshot_rate_bytes;
    ccfg.wall_clock_ms = wall_clock_ms;
    ccfg.connector = caf::actor_cast<caf::actor>(transport::middleman(sys));
    ccfg.listeners = ctx.listeners;
    ccfg.storage_full = ctx.storage_full;
    ccfg.scaling = scaling_of(opts);
    ccfg.metrics_per_stream = opts.metrics_per_stream;
    ccfg.group_lag_every = group_lag_every(opts);
    ccfg.data_port = ctx.data_port_now;
    return actors::spawn_cluster_node(sys, ccfg);
}

void stop_core(const actors::node_actors& node) {
    caf::anon_send_exit(node.endpoint, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(node.controller, caf::exit_reason::user_shutdown);
    for (const auto& c : node.containers) {
        caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    }
}

void log_started(const node_options& opts,
                 uint16_t port,
                 const std::string& rpc_text,
                 const std::string& data_text) {
    auto log = module_log("runtime");
    if (opts.standalone) {
        log->info("node started mode=standalone endpoint={}:{} rpc={} data_port={} data_dir={}",
                  opts.bind, port, rpc_text, data_text, opts.data_dir);
    } else {
        log->info(
            "node started mode=cluster node_id={} members={} containers={} "
            "endpoint={}:{} rpc={} data_port={} data_dir={}",
            opts.node_id, opts.peers.size(), opts.containers, opts.bind, port, rpc_text, data_text,
            opts.data_dir);
    }
}

// Fail-stop: if a container or the controller dies (storage error), returns 1 so that a
// restart recovers from disk instead of serving from broken state; on SIGINT or SIGTERM, 0.
// `self` monitors the core actors.
int wait_for_stop(caf::actor_system& sys,
                  caf::scoped_actor& self,
                  const storage::log_store& store) {
    auto log = module_log("runtime");
    int exit_code = 0;
    bool running = true;
    while (running) {
        self->receive(
            [&](caf::down_msg& dm) {
                if (store.out_of_space()) {
                    log->error(
                        "the store ran out of space: its core stops (writes in flight are "
                        "retried by their writers) and restarts once the store can be reopened; "
                        "free space on the data directory's file system reason={}",
                        sys.render(dm.reason));
                } else {
                    log->error("fatal: a core actor stopped reason={}", sys.render(dm.reason));
                }
                exit_code = 1;
                running = false;
            },
            caf::after(std::chrono::milliseconds(100)) >>
                [&] {
                    if (int sig = stop_signal.load(); sig != 0) {
                        // NOLINTNEXTLINE(concurrency-mt-unsafe): only this thread calls it
                        log->info("node stopping signal={}", strsignal(sig));
                        running = false;
                    }
                });
    }
    return exit_code;
}

// Waits until the core actors are gone (one already is after a fatal stop), at most the
// shutdown timeout per actor.
bool await_core_down(caf::scoped_actor& self,
                     const actors::node_actors& node,
                     const node_options& opts,
                     int exit_code) {
    size_t down = exit_code == 0 ? 0 : 1;
    while (down < node.containers.size() + 1) {
        bool timed_out = false;
        self->receive([&](caf::down_msg&) { ++down; },
                      caf::after(opts.shutdown_timeout) >> [&] { timed_out = true; });
        if (timed_out) {
            return false;
        }
    }
    return true;
}

// Every connection (client, RPC, other members) holds a descriptor, and so do RocksDB's files.
// The node raises its soft limit to the hard one where that is allowed, logs it, and warns when
// it is below what 10,000 connections and the store need or below what --max-connections needs
// (Debian's default soft limit is 1,024). Returns the maximum of connections.
constexpr rlim_t descriptors_wanted = 16384;

uint64_t size_descriptors(spdlog::logger& log, const node_options& opts) {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        log.warn("cannot read the file descriptor limit: errno {}", errno);
        return opts.max_connections.value_or(transport::default_max_connections(1024));
    }
    auto before = lim.rlim_cur;
    // An unlimited hard limit is capped (the kernel refuses more than fs.nr_open anyway).
    rlim_t target = lim.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : lim.rlim_max;
    if (lim.rlim_cur < target) {
        lim.rlim_cur = target;
        if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
            lim.rlim_cur = before;
        }
    }
    auto limit = transport::descriptor_limit();
    auto fits = transport::default_max_connections(limit);
    auto max = opts.max_connections.value_or(fits);
    log.info("file descriptor limit {}{}, connections at most {}{}", limit,
             limit != before ? fmt::format(" (raised from {})", before) : std::string{}, max,
             opts.max_connections ? "" : " (--max-connections, sized from the limit)");
    if (max > fits) {
        log.warn(
            "--max-connections {} needs more descriptors than the limit of {} leaves after the "
            "store's (about {} connections fit): beyond that, connections are closed as the "
            "node runs out of descriptors; raise the limit (ulimit -n or LimitNOFILE= in a "
            "systemd unit)",
            max, limit, fits);
    } else if (limit < descriptors_wanted) {
        log.warn(
            "file descriptor limit is {} (hard limit {}): every connection takes one, and the "
            "store some; for 10,000 connections raise it (ulimit -n {} or LimitNOFILE= in a "
            "systemd unit)",
            limit, lim.rlim_max, descriptors_wanted);
    }
    return max;
}

// serve_core's answer when the store ran out of space: reopen it and serve again.
constexpr int restart_core = -1;

// Runs the node's core on `store` and serves it on the client and RPC ports until a stop signal
// (0), a core actor's stop (1; restart_core when the store ran out of space), or a start that
// fails (1; 4 for a damaged store); then takes everything down so that nothing touches the store
// any more. The first run binds the ports and logs "node started"; a later one binds the same.
int serve_core(caf::actor_system& sys,
               const node_options& opts,
               storage::log_store& store,
               core_context& ctx,
               bool first) {
    auto log = module_log("runtime");
    auto node = spawn_core(sys, opts, &store, ctx);
    if (!node) {
        if (code_of(node.error()) == errc::corrupt_data) {
            // Damage, not configuration: the identity record matched the flags.
            log->error("node start failed: data directory {} is damaged: {}", opts.data_dir,
                       render_error(node.error()));
            return 4;
        }
        log->error("node start failed error={}", render_error(node.error()));
        return 1;
    }
    auto port =
        transport::publish_guarded(sys, node->endpoint, ctx.port, opts.bind, ctx.client_listener,
                                   ctx.tls ? ctx.tls->context : nullptr);
    if (!port) {
        log->error("{}", render_error(port.error()));
        stop_core(*node);
        return 1;
    }
    ctx.port = *port;
    std::unique_ptr<gateway> rpc;
    std::string rpc_text = "off";
    // A port that cannot start stops this core's start: what started goes, in reverse.
    auto abandon = [&](const caf::error& err) {
        log->error("{}", render_error(err));
        if (rpc) {
            rpc->stop();
        }
        sys.middleman().unpublish(node->endpoint, *port);
        stop_core(*node);
        return 1;
    };
    if (ctx.rpc_port) {
        gateway_config gcfg;
        gcfg.bind = opts.bind;
        gcfg.port = *ctx.rpc_port;
        gcfg.node_port = *port;
        gcfg.listener = ctx.rpc_listener;
        gcfg.tokens = ctx.tokens;
        gcfg.tls = ctx.tls;
        auto gw = gateway::start(sys, node->endpoint, gcfg);
        if (!gw) {
            return abandon(gw.error());
        }
        rpc = std::move(*gw);
        ctx.rpc_port = rpc->port();
        rpc_text = opts.bind + ":" + std::to_string(rpc->port());
    }
    std::unique_ptr<data_port> data;
    std::string data_text = "off";
    if (ctx.data_port) {
        data_port_config dcfg;
        dcfg.bind = opts.bind;
        dcfg.port = *ctx.data_port;
        dcfg.listener = ctx.data_listener;
        dcfg.containers = node->containers;
        auto dp = data_port::start(std::move(dcfg));
        if (!dp) {
            return abandon(dp.error());
        }
        data = std::move(*dp);
        ctx.data_port = data->port();
        ctx.data_port_now->store(data->port());
        data_text = opts.bind + ":" + std::to_string(data->port());
    }
    ctx.ready->store(true);
    if (first) {
        log_started(opts, *port, rpc_text, data_text);
    } else {
        log->warn("node core restarted on the reopened store endpoint={}:{} rpc={}", opts.bind,
                  *port, rpc_text);
    }
    caf::scoped_actor self{sys};
    for (const auto& c : node->containers) {
        self->monitor(c);
    }
    self->monitor(node->controller);
    int exit_code = wait_for_stop(sys, self, store);
    ctx.ready->store(false);
    bool restart = exit_code == 1 && store.out_of_space();
    if (!restart) {
        start_shutdown_watchdog(opts.shutdown_timeout);
    }
    // Stop top-down: no new connections, then the endpoint, the controller, the container,
    // and wait until the core actors are gone so that nothing touches the store any more.
    if (rpc) {
        rpc->stop();  // no new RPC calls; open ones end with their connections
    }
    ctx.data_port_now->store(0);
    data.reset();  // no new appends; answers still due are dropped with their connections
    sys.middleman().unpublish(node->endpoint, *port);
    stop_core(*node);
    bool all_down = await_core_down(self, *node, opts, exit_code);
    if (restart && !all_down) {
        log->error(
            "the core did not stop within {} ms: the node exits instead of reopening its "
            "store",
            opts.shutdown_timeout.count());
        return 1;
    }
    return restart ? restart_core : exit_code;
}

// Reopens the store after it ran out of space, once it can (a full file system refuses even the
// files an open writes): tried every second, the failure logged once and then every minute.
// Errors: unavailable (a stop signal came first).
caf::expected<std::unique_ptr<storage::log_store>> reopen_store(const node_options& opts) {
    auto log = module_log("runtime");
    for (int attempt = 0;; ++attempt) {
        auto store = open_store(opts);
        if (store) {
            log->warn("store reopened dir={} after {} s", opts.data_dir, attempt);
            return store;
        }
        if (attempt == 0 || attempt % 60 == 0) {
            log->error("cannot reopen the store yet dir={} error={} (trying every second)",
                       opts.data_dir, render_error(store.error()));
        }
        for (int i = 0; i < 10; ++i) {
            if (stop_signal.load() != 0) {
                return caf::make_error(errc::unavailable, "stopped while the store was closed");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
}

}  // namespace

int run_node(const node_options& opts) {
    auto log = module_log("runtime");
    token_check tokens;
    if (!opts.token_file.empty()) {
        auto loaded = load_token_file(opts.token_file);
        if (!loaded) {
            log->error("refusing to start: {}", render_error(loaded.error()));
            return 2;
        }
        tokens = std::move(*loaded);
        log->info("clients need a token token_file={}", opts.token_file);
    }
    std::shared_ptr<const tls_material> tls;
    if (!opts.tls_cert.empty() || !opts.tls_key.empty() || !opts.tls_ca.empty()) {
        if (opts.tls_cert.empty() || opts.tls_key.empty() || opts.tls_ca.empty()) {
            log->error("refusing to start: TLS needs all of --tls-cert, --tls-key and --tls-ca");
            return 2;
        }
        auto loaded = transport::load_tls(opts.tls_cert, opts.tls_key, opts.tls_ca);
        if (!loaded) {
            log->error("refusing to start: {}", render_error(loaded.error()));
            return 2;
        }
        tls = std::move(*loaded);
        log->info("TLS on every port cert={} ca={}", opts.tls_cert, opts.tls_ca);
    }
    // Before anything in the data directory is opened for writing: is it this node's?
    data_identity identity;
    auto found = check_identity(opts, identity);
    if (!found) {
        if (code_of(found.error()) == errc::invalid_argument) {
            log->error("refusing to start: {}", render_error(found.error()));
            return 2;
        }
        log->error("node start failed: data directory {} is damaged or unreadable: {}",
                   opts.data_dir, render_error(found.error()));
        return code_of(found.error()) == errc::corrupt_data ? 4 : 1;
    }
    if (*found == identity_outcome::initialised) {
        log->info("data directory initialised dir={} mode={} cluster_id={} node_id={}",
                  opts.data_dir, identity.mode, identity.cluster_id, identity.node_id);
    } else if (*found == identity_outcome::adopted) {
        log->warn(
            "data directory adopted dir={}: it held a store but no identity record (written by "
            "an older version); recorded mode={} cluster_id={} node_id={}, checked at every "
            "start from now on",
            opts.data_dir, identity.mode, identity.cluster_id, identity.node_id);
    }
    auto gate = std::make_shared<transport::connection_gate>(size_descriptors(*log, opts));
    core_context ctx;
    ctx.client_listener = std::make_shared<transport::listener>("client", gate);
    ctx.rpc_listener = std::make_shared<transport::listener>("rpc", gate);
    ctx.data_listener = std::make_shared<transport::listener>("data", gate);
    ctx.listeners = [client_port = ctx.client_listener, rpc_port = ctx.rpc_listener,
                     data_port = ctx.data_listener, has_rpc = opts.rpc_port.has_value(),
                     has_data = opts.data_port.has_value()] {
        std::vector<raft::listener_status> out{client_port->status()};
        if (has_rpc) {
            out.push_back(rpc_port->status());
        }
        if (has_data) {
            out.push_back(data_port->status());
        }
        return out;
    };
    register_listener_metrics(*ctx.client_listener, ctx.client_listener);
    if (opts.rpc_port) {
        register_listener_metrics(*ctx.rpc_listener, ctx.rpc_listener);
    }
    if (opts.data_port) {
        register_listener_metrics(*ctx.data_listener, ctx.data_listener);
    }
    ctx.cluster_id = identity.cluster_id;
    ctx.tokens = tokens;
    ctx.tls = tls;
    ctx.instance = (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
    ctx.port = opts.port;
    ctx.rpc_port = opts.rpc_port;
    ctx.data_port = opts.data_port;
    std::unique_ptr<metrics_server> metrics;
    if (opts.metrics_port) {
        register_process_metrics(PRAVAHA_VERSION_TEXT);
        metrics_server_config mcfg;
        mcfg.bind = opts.bind;
        mcfg.port = *opts.metrics_port;
        mcfg.tls = tls;
        mcfg.ready = [ready = ctx.ready]() -> std::string {
            if (!ready->load()) {
                return "the node's core is not serving";
            }
            auto raft = actors::summarize_raft_groups();
            if (raft.without_leader > 0) {
                return fmt::format("{} of {} Raft groups have no leader this node knows",
                                   raft.without_leader, raft.groups);
            }
            return {};
        };
        auto m = metrics_server::start(mcfg);
        if (m) {
            metrics = std::move(*m);
            log->info("metrics endpoint={}://{}:{}/metrics", tls ? "https" : "http", opts.bind,
                      metrics->port());
        } else if (opts.metrics_port_given) {
            log->error("{}", render_error(m.error()));
            return 1;
        } else {
            log->warn(
                "{}; the node runs without metrics (choose a port with --metrics-port, or "
                "--metrics-port off)",
                render_error(m.error()));
        }
    }
    auto store = open_store(opts);
    if (!store) {
        log->error("cannot open store dir={} error={}", opts.data_dir, render_error(store.error()));
        return 1;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    transport::system_options sys_opts;
    sys_opts.tls = tls != nullptr;
    auto cfg = transport::make_config(sys_opts);
    caf::actor_system sys{*cfg};
    std::unique_ptr<transport::tls_transport> secure;
    if (tls) {
        secure = std::make_unique<transport::tls_transport>(sys, tls->context);
    }
    auto guard = std::make_shared<disk_guard>(
        opts.data_dir, opts.min_free_bytes, opts.bind + ":" + std::to_string(opts.port),
        opts.disk_capacity_bytes, 2 * write_buffer_bytes(opts));
    guard->start();
    ctx.storage_full = [guard] { return guard->full(); };
    int exit_code = 0;
    for (bool first = true;; first = false) {
        exit_code = serve_core(sys, opts, **store, ctx, first);
        if (exit_code != restart_core) {
            break;
        }
        store->reset();  // closed: every core actor has stopped
        store = reopen_store(opts);
        if (!store) {
            exit_code = code_of(store.error()) == errc::unavailable ? 0 : 1;  // a stop signal
            break;
        }
    }
    // Close the store while the actor system still runs, then leave without its destructor:
    // CAF 0.17.6's ~actor_system can wait forever for a detached actor's thread (seen in about
    // 1 of 25 stops under ASan, main thread in await_detached_threads). Nothing is lost by
    // skipping it: every acknowledged append was fsynced, the store is closed, and the core
    // actors have stopped.
    if (store) {
        store->reset();
    }
    if (metrics) {
        metrics->stop();
    }
    log->info("node stopped exit_code={}", exit_code);
    spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
    std::fflush(nullptr);
    std::_Exit(exit_code);
}

}  // namespace pravaha::runtime
