#include "client/internal.hpp"
#include "client/node_link.hpp"
#include "schema/errc.hpp"
#include "schema/keyspace.hpp"

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

void unwatch(const caf::actor_addr& me, const caf::actor_addr& whom) {
    if (auto ptr = caf::actor_cast<caf::strong_actor_ptr>(whom)) {
        ptr->get()->detach(
            caf::default_attachable::observe_token{me, caf::default_attachable::monitor});
    }
}

void attach_containers(caf::event_based_actor* self,
                       const caf::io::middleman_actor& connector,
                       const transport::node_actor& node,
                       const std::vector<segment_key>& keys,
                       std::chrono::milliseconds timeout,
                       std::function<void(std::vector<transport::segment_store_actor>,
                                          std::vector<node_address>)> done,
                       std::function<void(caf::error)> fail) {
    self->request(node, timeout, cluster_info_atom::value)
        .then(
            [=](const raft::cluster_info& info) {
                std::vector<node_address> members;
                std::map<uint32_t, node_address> by_id;
                for (const auto& m : info.members) {
                    members.push_back(node_address{m.host, m.port});
                    by_id[m.id] = node_address{m.host, m.port};
                }
                auto count = std::max<uint32_t>(1, info.container_count);
                std::map<uint32_t, std::vector<size_t>> wanted;  // container -> key indexes
                for (size_t i = 0; i < keys.size(); ++i) {
                    wanted[container_of(keys[i], count)].push_back(i);
                }
                auto stores =
                    std::make_shared<std::vector<transport::segment_store_actor>>(keys.size());
                auto remaining = std::make_shared<size_t>(wanted.size());
                auto failed = std::make_shared<bool>(false);
                if (wanted.empty()) {
                    done({}, members);
                    return;
                }
                auto got = [=](std::vector<size_t> idx, const transport::segment_store_actor& st) {
                    // A leader on another node: its death ends the connection to it.
                    self->monitor(st);
                    for (auto i : idx) {
                        (*stores)[i] = st;
                    }
                    if (--*remaining == 0 && !*failed) {
                        done(*stores, members);
                    }
                };
                auto lost = [=](caf::error err) {
                    if (!*failed) {
                        *failed = true;
                        fail(std::move(err));
                    }
                };
                auto ask = [=](const transport::node_actor& dest, uint32_t c,
                               std::vector<size_t> idx) {
                    self->request(dest, timeout, get_container_atom::value, c)
                        .then([=](const transport::segment_store_actor& st) { got(idx, st); },
                              [=](caf::error& err) { lost(std::move(err)); });
                };
                for (const auto& [c, idx] : wanted) {
                    uint32_t leader = 0;
                    for (const auto& g : info.groups) {
                        leader = g.group == c + 1 ? g.leader : leader;
                    }
                    auto addr = by_id.find(leader);
                    if (leader == 0 || leader == info.node || addr == by_id.end()) {
                        ask(node, c, idx);
                        continue;
                    }
                    auto cc = c;
                    auto ii = idx;
                    self->request(connector, timeout, caf::connect_atom::value, addr->second.host,
                                  addr->second.port)
                        .then(
                            [=](const caf::node_id&, caf::strong_actor_ptr& ptr,
                                const std::set<std::string>&) {
                                if (!ptr) {
                                    lost(caf::make_error(errc::unavailable,
                                                         "container leader unreachable"));
                                    return;
                                }
                                ask(transport::as_node(ptr), cc, ii);
                            },
                            [=](caf::error& err) { lost(std::move(err)); });
                }
            },
            [=](caf::error& err) { fail(std::move(err)); });
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
            manager_ = std::make_unique<manager_impl>(sys_, ep, *node_out);
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
        auto rec = manager_->call<stream_record>(get_stream_atom::value, scope, stream);
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
        return detail::make_writer(sys_, manager_->endpoint(), manager_->node(), std::move(*rec),
                                   cfg, id);
    }

    caf::expected<std::unique_ptr<event_reader>> create_reader(const std::string& scope,
                                                               const std::string& stream,
                                                               start_position from) override {
        auto info = manager_->stream_info_of(scope, stream);
        if (!info) {
            return std::move(info.error());
        }
        return detail::make_reader(sys_, manager_->endpoint(), manager_->node(), *info, from);
    }

private:
    std::unique_ptr<caf::actor_system_config> cfg_;
    caf::actor_system sys_;
    std::unique_ptr<manager_impl> manager_;
};

}  // namespace

caf::expected<std::unique_ptr<client_factory>> client_factory::connect(const client_config& cfg) {
    detail::endpoint_info ep;
    ep.cfg = cfg;
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
