#include "client/directory.hpp"
#include "client/internal.hpp"
#include "client/node_link.hpp"
#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/default_attachable.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>

#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

namespace pravaha::client {

namespace detail {

bool needs_reconnect(const caf::error& err) {
    if (err.category() == caf::atom("system")) {
        return true;  // receiver down, timeout, connection failures: start over on a new link
    }
    // not_leader: ask a node again for the container's (new) leader.
    return code_of(err) == errc::unavailable || code_of(err) == errc::storage_io ||
           code_of(err) == errc::timeout || code_of(err) == errc::not_leader;
}

// Takes an argument on purpose: CAF 0.17.6 spawns an argument-less function actor through a null
// std::shared_ptr<std::tuple<>> (undefined behaviour that UBSan reports).
caf::behavior bridge_impl(caf::event_based_actor* self, const std::string& purpose) {
    module_log("client")->debug("bridge started purpose={}", purpose);
    return {[self](bridge_run_atom, std::shared_ptr<bridge_task>& task) { (*task)(self); }};
}

caf::actor spawn_bridge(caf::actor_system& sys, std::string purpose) {
    return sys.spawn(bridge_impl, std::move(purpose));
}

caf::io::middleman_actor connector_of(caf::actor_system& sys, const endpoint_info& ep) {
    if (ep.connector) {
        return caf::actor_cast<caf::io::middleman_actor>(ep.connector);
    }
    return transport::middleman(sys);
}

writer_id fresh_writer_id() {
    std::random_device rd;
    return writer_id{(uint64_t{rd()} << 32) | rd(), (uint64_t{rd()} << 32) | rd()};
}

caf::error cluster_guard::check(const std::string& cluster_id,
                                const std::string& host,
                                uint16_t port) {
    std::lock_guard<std::mutex> guard(mutex_);
    if (!configured_ && !known_) {
        expected_ = cluster_id;
        known_ = true;
        return {};
    }
    if (cluster_id == expected_) {
        return {};
    }
    return caf::make_error(
        errc::invalid_argument,
        fmt::format("the node at {}:{} belongs to cluster {}, not to cluster {} {}; check the "
                    "endpoint",
                    host, port, cluster_id.empty() ? "(none)" : cluster_id, expected_,
                    configured_ ? "(the client's cluster id)" : "that this client reached first"));
}

bool is_transient(const caf::error& err) {
    if (needs_reconnect(err)) {
        return true;
    }
    auto c = code_of(err);
    return c == errc::overloaded || c == errc::event_number_gap;
}

}  // namespace detail

namespace {

class manager_impl final : public stream_manager {
public:
    manager_impl(caf::actor_system& sys, detail::endpoint_info ep, transport::node_actor node)
        : sys_(sys), ep_(std::move(ep)), node_(std::move(node)) {}

    // The directory and the bridge are the factory's: they end with it (the actor system waits
    // for them otherwise).
    ~manager_impl() override {
        caf::anon_send_exit(ep_.directory, caf::exit_reason::user_shutdown);
        caf::anon_send_exit(ep_.bridge, caf::exit_reason::user_shutdown);
    }

    transport::node_actor node() {
        std::lock_guard<std::mutex> guard(mutex_);
        return node_;
    }

    // One blocking request; after a lost connection, reconnects once and retries. Every request
    // here is either idempotent by nature or answers "exists"/"not found" on a repeat.
    template <class R, class... Ts>
    caf::expected<R> call(Ts... xs) {
        auto res = call_once<R>(node(), xs...);
        if (!res && detail::needs_reconnect(res.error())) {
            auto fresh = transport::connect_node(sys_, ep_.host, ep_.port);
            if (!fresh) {
                return std::move(fresh.error());
            }
            if (auto err = identify(*fresh)) {
                return err;
            }
            {
                std::lock_guard<std::mutex> guard(mutex_);
                node_ = *fresh;
            }
            res = call_once<R>(*fresh, xs...);
            // A cluster electing its controller leader answers not_leader for a moment: retried
            // with the writers' and readers' pauses, for at most their retry timeout.
            auto policy = detail::retry_policy::of(ep_.cfg);
            auto pause = policy.first_pause;
            std::chrono::milliseconds paused{0};
            while (!res && code_of(res.error()) == errc::not_leader &&
                   paused + pause <= policy.give_up_after) {
                std::this_thread::sleep_for(pause);
                paused += pause;
                pause = policy.next_pause(pause);
                res = call_once<R>(*fresh, xs...);
            }
        }
        return res;
    }

    // A stream read for a new writer or reader, through the directory: the reads of many writers
    // created at once share requests (dir_query_atom), and none holds a request timeout of its
    // own (CAF's timer queue took thousands of them only slowly). Retried as `call` retries.
    template <class R, class Atom>
    caf::expected<R> query(Atom atom, const std::string& scope, const std::string& stream) {
        auto policy = detail::retry_policy::of(ep_.cfg);
        auto pause = policy.first_pause;
        std::chrono::milliseconds paused{0};
        for (;;) {
            auto out =
                detail::on_bridge<R>(ep_.bridge, [&](caf::event_based_actor* self, auto done) {
                    self->request(ep_.directory, caf::infinite, detail::dir_query_atom::value, atom,
                                  scope, stream)
                        .then([done](R& r) { done(std::move(r)); },
                              [done](caf::error& e) { done(std::move(e)); });
                });
            if (out || !detail::needs_reconnect(out.error()) ||
                paused + pause > policy.give_up_after) {
                return out;
            }
            std::this_thread::sleep_for(pause);
            paused += pause;
            pause = policy.next_pause(pause);
        }
    }

    template <class R, class... Ts>
    caf::expected<R> call_once(const transport::node_actor& dest, Ts... xs) {
        caf::scoped_actor self{sys_};
        // A request to the proxy of a node whose connection is gone is dropped silently and
        // would only time out. Monitoring a dead proxy yields a down message at once instead.
        self->monitor(dest);
        bool dead = false;
        self->receive([&](caf::down_msg&) { dead = true; },
                      caf::after(std::chrono::seconds(0)) >> [] {});
        if (dead) {
            return caf::make_error(errc::unavailable, "connection to the node was lost");
        }
        self->demonitor(dest.address());
        caf::expected<R> out{caf::make_error(errc::timeout, "no answer from node")};
        self->request(dest, ep_.cfg.request_timeout, xs...)
            .receive([&](R& r) { out = std::move(r); }, [&](caf::error& e) { out = std::move(e); });
        return out;
    }

    // Whether `node` belongs to the client's cluster (endpoint_info::guard).
    caf::error identify(const transport::node_actor& node) {
        if (!ep_.guard) {
            return {};
        }
        auto cid = call_once<std::string>(node, identify_atom::value);
        if (!cid) {
            return std::move(cid.error());
        }
        return ep_.guard->check(*cid, ep_.host, ep_.port);
    }

    static caf::error done(caf::expected<bool> r) {
        return r ? caf::error{} : std::move(r.error());
    }

    caf::error create_scope(const std::string& scope) override {
        return done(call<bool>(create_scope_atom::value, scope));
    }
    caf::error delete_scope(const std::string& scope) override {
        return done(call<bool>(delete_scope_atom::value, scope));
    }
    caf::expected<std::vector<std::string>> list_scopes() override {
        return call<std::vector<std::string>>(list_scopes_atom::value);
    }
    caf::expected<stream_record> create_stream(const std::string& scope,
                                               const std::string& stream,
                                               uint32_t segments) override {
        return call<stream_record>(create_stream_atom::value, scope, stream, segments);
    }
    caf::expected<std::vector<std::string>> list_streams(const std::string& scope) override {
        return call<std::vector<std::string>>(list_streams_atom::value, scope);
    }
    caf::expected<stream_info> stream_info_of(const std::string& scope,
                                              const std::string& stream) override {
        return call<stream_info>(stream_info_atom::value, scope, stream);
    }
    caf::error seal_stream(const std::string& scope, const std::string& stream) override {
        auto r = call<stream_record>(seal_stream_atom::value, scope, stream);
        return r ? caf::error{} : std::move(r.error());
    }
    caf::error delete_stream(const std::string& scope, const std::string& stream) override {
        return done(call<bool>(delete_stream_atom::value, scope, stream));
    }
    caf::expected<raft::cluster_info> cluster_status() override {
        return call<raft::cluster_info>(cluster_info_atom::value);
    }

    const detail::endpoint_info& endpoint() const { return ep_; }

private:
    caf::actor_system& sys_;
    detail::endpoint_info ep_;
    std::mutex mutex_;
    transport::node_actor node_;
};

class factory_impl final : public client_factory {
public:
    factory_impl(std::unique_ptr<caf::actor_system_config> cfg,
                 detail::endpoint_info ep,
                 caf::expected<transport::node_actor>& node_out)
        : cfg_(std::move(cfg)), sys_(*cfg_) {
        node_out = transport::connect_node(sys_, ep.host, ep.port);
        if (node_out) {
            ep.bridge = detail::spawn_bridge(sys_, "client facades");
            manager_ = std::make_unique<manager_impl>(
                sys_, detail::spawn_directory(sys_, ep, *node_out), *node_out);
            if (auto err = manager_->identify(*node_out)) {
                node_out = std::move(err);
            }
        }
    }

    ~factory_impl() override { manager_.reset(); }

    stream_manager& streams() override { return *manager_; }

    caf::expected<std::unique_ptr<event_writer>> create_writer(const std::string& scope,
                                                               const std::string& stream,
                                                               const writer_config& cfg) override {
        if (cfg.block_bytes_max == 0 || cfg.blocks_in_flight_max == 0 ||
            cfg.pending_bytes_max == 0) {
            return caf::make_error(errc::invalid_argument, "writer limits must be positive");
        }
        auto rec = manager_->query<stream_record>(get_stream_atom::value, scope, stream);
        if (!rec) {
            return std::move(rec.error());
        }
        if (rec->state == stream_state::sealed) {
            return caf::make_error(errc::stream_sealed,
                                   "stream " + scope + "/" + stream + " is sealed");
        }
        writer_id id;
        if (cfg.id) {
            id = *cfg.id;  // stable: the writer opens sessions (client.hpp)
        } else {
            id = detail::fresh_writer_id();  // one per writer object
        }
        return detail::make_writer(sys_, manager_->endpoint(), std::move(*rec), cfg, id);
    }

    caf::expected<std::unique_ptr<event_reader>> create_reader(const std::string& scope,
                                                               const std::string& stream,
                                                               start_position from) override {
        auto info = manager_->query<stream_info>(stream_info_atom::value, scope, stream);
        if (!info) {
            return std::move(info.error());
        }
        return detail::make_reader(sys_, manager_->endpoint(), *info, from);
    }

private:
    std::unique_ptr<caf::actor_system_config> cfg_;
    caf::actor_system sys_;
    std::unique_ptr<manager_impl> manager_;
};

}  // namespace

caf::expected<stream_manager_actor> spawn_stream_manager(caf::actor_system& sys,
                                                         const client_config& cfg) {
    if (!sys.has_middleman()) {
        return caf::make_error(errc::invalid_argument,
                               "the actor system has no middleman (load caf::io::middleman)");
    }
    detail::endpoint_info ep;
    ep.cfg = cfg;
    ep.guard = std::make_shared<detail::cluster_guard>(cfg.cluster_id);
    if (auto err = transport::parse_endpoint(cfg.endpoint, ep.host, ep.port)) {
        return err;
    }
    auto seed = detail::fresh_writer_id();  // the one source of randomness: an adapter here
    ep = detail::spawn_directory(sys, ep);
    return caf::actor_cast<stream_manager_actor>(detail::spawn_manager(sys, ep, seed.hi ^ seed.lo));
}

caf::expected<std::unique_ptr<client_factory>> client_factory::connect(const client_config& cfg) {
    detail::endpoint_info ep;
    ep.cfg = cfg;
    ep.guard = std::make_shared<detail::cluster_guard>(cfg.cluster_id);
    if (auto err = transport::parse_endpoint(cfg.endpoint, ep.host, ep.port)) {
        return err;
    }
    transport::system_options opts;
    opts.worker_threads = cfg.worker_threads;
    caf::expected<transport::node_actor> node{caf::error{}};
    auto f = std::make_unique<factory_impl>(transport::make_config(opts), ep, node);
    if (!node) {
        return std::move(node.error());
    }
    return std::unique_ptr<client_factory>(std::move(f));
}

}  // namespace pravaha::client
