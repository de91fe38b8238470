#include "client/directory.hpp"
#include "client/internal.hpp"
#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <random>

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

using txn_ping_atom = caf::atom_constant<caf::atom("txnpingt")>;

txn_request txn_request_of(txn_op op,
                           const std::string& scope,
                           const std::string& stream,
                           uint64_t id) {
    txn_request r;
    r.op = op;
    r.scope = scope;
    r.stream = stream;
    r.id = id;
    return r;
}

namespace {

// Renews a transaction's lease every `every` until it is no longer open (or unknown).
caf::behavior txn_pinger(caf::event_based_actor* self,
                         caf::actor manager,
                         txn_request ping,
                         std::chrono::milliseconds every) {
    self->delayed_send(self, every, txn_ping_atom::value);
    return {
        [=](txn_ping_atom) {
            self->request(manager, every, txn_atom::value, ping)
                .then(
                    [=](const txn_record& t) {
                        if (t.state != txn_state::open) {
                            self->quit();
                            return;
                        }
                        self->delayed_send(self, every, txn_ping_atom::value);
                    },
                    [=](caf::error& err) {
                        if (code_of(err) == errc::transaction_not_found ||
                            code_of(err) == errc::stream_not_found) {
                            self->quit();
                            return;
                        }
                        self->delayed_send(self, every, txn_ping_atom::value);  // a failover
                    });
        },
    };
}

}  // namespace

caf::actor spawn_txn_pinger(caf::actor_system& sys,
                            const caf::actor& manager,
                            const txn_record& t) {
    auto ping = detail::txn_request_of(txn_op::ping, t.scope, t.stream, t.id);
    auto every = std::chrono::milliseconds(std::max<int64_t>(t.lease_ms / 3, 100));
    return sys.spawn(txn_pinger, manager, ping, every);
}

}  // namespace detail

caf::expected<scale_result> stream_manager::split(const std::string& scope,
                                                  const std::string& stream,
                                                  segment_id segment,
                                                  uint32_t parts) {
    auto info = stream_info_of(scope, stream);
    if (!info) {
        return std::move(info.error());
    }
    for (const auto& s : info->record.segments) {
        if (s.id == segment) {
            auto ranges = split_range({s.key_start, s.key_end}, parts);
            if (!ranges) {
                return std::move(ranges.error());
            }
            return scale(scope, stream, scale_request{info->record.epoch, {segment}, *ranges});
        }
    }
    return caf::make_error(errc::invalid_argument,
                           fmt::format("segment {} is not in the current epoch ({}) of {}/{}",
                                       to_string(segment), info->record.epoch, scope, stream));
}

caf::expected<scale_result> stream_manager::merge(const std::string& scope,
                                                  const std::string& stream,
                                                  const std::vector<segment_id>& segments) {
    auto info = stream_info_of(scope, stream);
    if (!info) {
        return std::move(info.error());
    }
    std::vector<segment_range> chosen;
    for (auto id : segments) {
        auto it = std::find_if(info->record.segments.begin(), info->record.segments.end(),
                               [id](const segment_range& r) { return r.id == id; });
        if (it == info->record.segments.end()) {
            return caf::make_error(errc::invalid_argument,
                                   fmt::format("segment {} is not in the current epoch ({}) of "
                                               "{}/{}",
                                               to_string(id), info->record.epoch, scope, stream));
        }
        chosen.push_back(*it);
    }
    std::sort(chosen.begin(), chosen.end(), [](const segment_range& a, const segment_range& b) {
        return a.key_start < b.key_start;
    });
    std::vector<key_range> ranges;
    for (size_t i = 0; i < chosen.size(); ++i) {
        if (i > 0 && chosen[i - 1].key_end != chosen[i].key_start) {
            return caf::make_error(
                errc::invalid_argument,
                fmt::format("segments {} and {} are not adjacent", to_string(chosen[i - 1].id),
                            to_string(chosen[i].id)));
        }
        ranges.push_back({chosen[i].key_start, chosen[i].key_end});
    }
    auto merged = merge_ranges(ranges);
    if (!merged) {
        return std::move(merged.error());
    }
    return scale(scope, stream, scale_request{info->record.epoch, segments, {*merged}});
}

namespace {

// One blocking request to the stream manager actor through the bridge. No timeout here: the
// manager answers every call within the retry timeout.
template <class R, class... Ts>
caf::expected<R> call_manager(const caf::actor& bridge, const caf::actor& manager, Ts... xs) {
    return detail::on_bridge<R>(bridge, [manager, xs...](caf::event_based_actor* self, auto done) {
        self->request(manager, caf::infinite, xs...)
            .then([done](R& r) { done(std::move(r)); },
                  [done](caf::error& e) { done(std::move(e)); });
    });
}

// The blocking stream manager (call_manager for each operation).
class manager_facade final : public stream_manager, public reader_group_manager {
public:
    manager_facade(detail::endpoint_info ep, caf::actor manager)
        : ep_(std::move(ep)), manager_(std::move(manager)) {}

    // The manager (with its directory, writers and readers) and the bridge are the factory's:
    // they end with it (the actor system waits for them otherwise).
    ~manager_facade() override {
        caf::anon_send_exit(manager_, caf::exit_reason::user_shutdown);
        caf::anon_send_exit(ep_.bridge, caf::exit_reason::user_shutdown);
    }

    template <class R, class... Ts>
    caf::expected<R> call(Ts... xs) {
        return call_manager<R>(ep_.bridge, manager_, xs...);
    }

    static caf::error done(caf::expected<bool> r) {
        return r ? caf::error{} : std::move(r.error());
    }

    caf::error create_scope(const std::string& scope) override {
        return done(call<bool>(create_scope_atom::value, scope));
    }
    caf::expected<group_info> create_group(const std::string& scope,
                                           const std::string& name,
                                           const group_config& cfg) override {
        return call<group_info>(group_create_atom::value, scope, name, cfg);
    }
    caf::error delete_group(const std::string& scope, const std::string& name) override {
        return done(call<bool>(group_delete_atom::value, scope, name));
    }
    caf::expected<std::vector<std::string>> list_groups(const std::string& scope) override {
        return call<std::vector<std::string>>(group_list_atom::value, scope);
    }
    caf::expected<group_info> group(const std::string& scope, const std::string& name) override {
        return call<group_info>(group_info_atom::value, scope, name);
    }
    caf::expected<std::vector<stream_cut>> checkpoint(const std::string& scope,
                                                      const std::string& name,
                                                      const std::string& checkpoint) override {
        return call<std::vector<stream_cut>>(group_checkpoint_atom::value, scope, name, checkpoint);
    }
    caf::expected<uint32_t> reset(const std::string& scope,
                                  const std::string& name,
                                  const std::string& checkpoint,
                                  const std::vector<stream_cut>& cuts) override {
        return call<uint32_t>(group_reset_atom::value, scope, name, checkpoint, cuts, UINT32_MAX);
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
    caf::expected<stream_record> create_stream(const std::string& scope,
                                               const std::string& stream,
                                               uint32_t segments,
                                               const scaling_policy& policy) override {
        return call<stream_record>(create_stream_atom::value, scope, stream, segments, policy);
    }
    caf::expected<stream_record> update_stream(const std::string& scope,
                                               const std::string& stream,
                                               const scaling_policy& policy) override {
        return call<stream_record>(update_stream_atom::value, scope, stream, policy);
    }
    caf::expected<scale_result> scale(const std::string& scope,
                                      const std::string& stream,
                                      const scale_request& req) override {
        return call<scale_result>(scale_atom::value, scope, stream, req);
    }
    caf::expected<std::vector<epoch_info>> history(const std::string& scope,
                                                   const std::string& stream) override {
        return call<std::vector<epoch_info>>(history_atom::value, scope, stream);
    }
    caf::expected<stream_cut> cut(const std::string& scope,
                                  const std::string& stream,
                                  bool head) override {
        return call<stream_cut>(stream_cut_atom::value, scope, stream, head);
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
    const caf::actor& actor() const { return manager_; }

private:
    detail::endpoint_info ep_;
    caf::actor manager_;
};

// One transaction: a writer on its segments (none when it was not open), the pinger of its
// lease, and the manager for the decisions (like the writers, it must not outlive its factory:
// their actor system is the factory's).
class transaction_impl final : public transaction {
public:
    transaction_impl(const manager_facade& m,
                     txn_record rec,
                     std::unique_ptr<event_writer> writer,
                     caf::actor pinger)
        : bridge_(m.endpoint().bridge),
          manager_(m.actor()),
          rec_(std::move(rec)),
          writer_(std::move(writer)),
          pinger_(std::move(pinger)) {}

    ~transaction_impl() override {
        if (pinger_) {
            caf::anon_send_exit(pinger_, caf::exit_reason::user_shutdown);
        }
    }

    uint64_t id() const override { return rec_.id; }

    caf::error write(std::string_view routing_key,
                     std::string_view payload,
                     ack_callback done) override {
        if (!writer_ || decided_) {
            return not_open();
        }
        return writer_->write(routing_key, payload, std::move(done));
    }

    caf::error flush() override { return writer_ ? writer_->flush() : caf::error{}; }

    caf::expected<txn_record> commit() override {
        if (!decided_) {
            if (auto err = flush()) {
                return err;  // nothing is committed: events failed
            }
        }
        return decide(txn_op::commit);
    }

    caf::expected<txn_record> abort() override { return decide(txn_op::abort); }

    caf::expected<txn_record> status() override {
        return call_manager<txn_record>(bridge_, manager_, txn_atom::value,
                                        request(txn_op::status));
    }

private:
    txn_request request(txn_op op) const {
        return detail::txn_request_of(op, rec_.scope, rec_.stream, rec_.id);
    }

    caf::expected<txn_record> decide(txn_op op) {
        decided_ = true;  // no more writes, whatever the answer
        auto r = call_manager<txn_record>(bridge_, manager_, txn_atom::value, request(op));
        if (r && writer_) {
            pravaha::ignore_error(writer_->close(),
                                  "the transaction ended: its segments are merged or gone");
            writer_.reset();
        }
        if (r && pinger_) {
            caf::anon_send_exit(pinger_, caf::exit_reason::user_shutdown);
            pinger_ = nullptr;
        }
        return r;
    }

    caf::error not_open() const {
        return caf::make_error(errc::transaction_not_open,
                               fmt::format("transaction {} of {}/{} takes no more events",
                                           txn_id_text(rec_.id), rec_.scope, rec_.stream));
    }

    caf::actor bridge_;
    caf::actor manager_;
    txn_record rec_;
    std::unique_ptr<event_writer> writer_;
    caf::actor pinger_;
    bool decided_ = false;
};

class factory_impl final : public client_factory {
public:
    factory_impl(std::unique_ptr<caf::actor_system_config> cfg,
                 std::shared_ptr<const transport::tls_context> tls,
                 detail::endpoint_info ep,
                 caf::expected<transport::node_actor>& node_out)
        : cfg_(std::move(cfg)), sys_(*cfg_) {
        if (tls) {
            tls_ = std::make_unique<transport::tls_transport>(sys_, std::move(tls));
        }
        // Connected here, blocking, for the errors a command-line user reads ("did not
        // answer", "unavailable"); the manager's directory starts with this node.
        node_out = transport::connect_node(sys_, ep.host, ep.port);
        if (!node_out) {
            return;
        }
        ep.bridge = detail::spawn_bridge(sys_, "client facades");
        auto seed = detail::fresh_writer_id();
        ep = detail::spawn_directory(sys_, ep, *node_out);
        manager_ = std::make_unique<manager_facade>(
            ep, detail::spawn_manager(sys_, ep, seed.hi ^ seed.lo));
        // The directory was handed the node: check that it belongs to the client's cluster.
        auto cid = manager_->call<std::string>(identify_atom::value);
        if (!cid) {
            node_out = std::move(cid.error());
        } else if (ep.guard) {
            if (auto err = ep.guard->check(*cid, ep.host, ep.port)) {
                node_out = std::move(err);
            }
        }
    }

    ~factory_impl() override { manager_.reset(); }

    stream_manager& streams() override { return *manager_; }
    reader_group_manager& groups() override { return *manager_; }

    caf::expected<std::unique_ptr<event_writer>> create_writer(const std::string& scope,
                                                               const std::string& stream,
                                                               const writer_config& cfg) override {
        writer_options opts;
        opts.block_bytes_max = cfg.block_bytes_max;
        opts.blocks_in_flight_max = cfg.blocks_in_flight_max;
        opts.pending_bytes_max = cfg.pending_bytes_max;
        opts.exit_on_give_up = false;  // the facade fails what is pending and stays usable
        if (cfg.id) {
            opts.id = *cfg.id;  // stable: the writer opens sessions (client.hpp)
            opts.stable_id = true;
        } else {
            opts.id = detail::fresh_writer_id();  // one per writer object
        }
        auto w = manager_->call<writer_actor>(open_writer_atom::value, scope, stream, opts);
        if (!w) {
            return std::move(w.error());
        }
        return detail::make_writer(manager_->endpoint().bridge, caf::actor_cast<caf::actor>(*w),
                                   cfg, opts.id);
    }

    caf::expected<std::unique_ptr<event_reader>> create_reader(const std::string& scope,
                                                               const std::string& stream,
                                                               start_position from) override {
        reader_options opts;
        opts.from = from;
        return open(scope, stream, std::move(opts));
    }

    caf::expected<std::unique_ptr<event_reader>> create_reader(const std::string& scope,
                                                               const std::string& stream,
                                                               const stream_cut& from,
                                                               const stream_cut& to) override {
        reader_options opts;
        opts.from_cut = from;
        opts.to_cut = to;
        return open(scope, stream, std::move(opts));
    }

    caf::expected<std::unique_ptr<event_reader>> create_group_reader(
        const std::string& scope, const std::string& group, const std::string& reader) override {
        group_reader_options opts;
        opts.nonce = detail::fresh_writer_id().lo | 1;  // one per reader object
        opts.exit_on_give_up = false;
        auto r =
            manager_->call<reader_actor>(open_group_reader_atom::value, scope, group, reader, opts);
        if (!r) {
            return std::move(r.error());
        }
        return detail::make_reader(manager_->endpoint().bridge, caf::actor_cast<caf::actor>(*r),
                                   manager_->endpoint().cfg.request_timeout);
    }

    caf::expected<std::unique_ptr<transaction>> begin_transaction(const std::string& scope,
                                                                  const std::string& stream,
                                                                  const txn_config& cfg) override {
        auto req = detail::txn_request_of(txn_op::begin, scope, stream, 0);
        req.lease_ms = cfg.lease_ms;
        req.writer = cfg.writer;
        auto t = manager_->call<txn_record>(txn_atom::value, req);
        if (!t) {
            return std::move(t.error());
        }
        return transaction_of(std::move(*t), cfg);
    }

    caf::expected<std::unique_ptr<transaction>> open_transaction(const std::string& scope,
                                                                 const std::string& stream,
                                                                 uint64_t id,
                                                                 const txn_config& cfg) override {
        auto t = manager_->call<txn_record>(
            txn_atom::value, detail::txn_request_of(txn_op::status, scope, stream, id));
        if (!t) {
            return std::move(t.error());
        }
        return transaction_of(std::move(*t), cfg);
    }

    caf::expected<std::vector<txn_record>> list_transactions(const std::string& scope,
                                                             const std::string& stream) override {
        return manager_->call<std::vector<txn_record>>(txn_list_atom::value, scope, stream);
    }

private:
    // The object of transaction `t`: with a writer and a pinger while it is open.
    caf::expected<std::unique_ptr<transaction>> transaction_of(txn_record t,
                                                               const txn_config& cfg) {
        if (t.state != txn_state::open) {
            return std::unique_ptr<transaction>(
                std::make_unique<transaction_impl>(*manager_, std::move(t), nullptr, nullptr));
        }
        writer_options opts;
        opts.id = detail::fresh_writer_id();  // one per transaction object
        opts.block_bytes_max = cfg.block_bytes_max;
        opts.pending_bytes_max = cfg.pending_bytes_max;
        opts.exit_on_give_up = false;
        auto w = manager_->call<writer_actor>(open_txn_writer_atom::value, t, opts);
        if (!w) {
            return std::move(w.error());
        }
        writer_config wc;
        wc.block_bytes_max = cfg.block_bytes_max;
        wc.pending_bytes_max = cfg.pending_bytes_max;
        auto writer = detail::make_writer(manager_->endpoint().bridge,
                                          caf::actor_cast<caf::actor>(*w), wc, opts.id);
        if (!writer) {
            return std::move(writer.error());
        }
        auto pinger = detail::spawn_txn_pinger(sys_, manager_->actor(), t);
        return std::unique_ptr<transaction>(std::make_unique<transaction_impl>(
            *manager_, std::move(t), std::move(*writer), std::move(pinger)));
    }

    caf::expected<std::unique_ptr<event_reader>> open(const std::string& scope,
                                                      const std::string& stream,
                                                      reader_options opts) {
        opts.exit_on_give_up = false;
        auto r = manager_->call<reader_actor>(open_reader_atom::value, scope, stream, opts);
        if (!r) {
            return std::move(r.error());
        }
        return detail::make_reader(manager_->endpoint().bridge, caf::actor_cast<caf::actor>(*r),
                                   manager_->endpoint().cfg.request_timeout);
    }

    std::unique_ptr<caf::actor_system_config> cfg_;
    caf::actor_system sys_;
    std::unique_ptr<transport::tls_transport> tls_;  ///< before the actors that connect
    std::unique_ptr<manager_facade> manager_;
};

}  // namespace

caf::expected<stream_manager_actor> spawn_stream_manager(caf::actor_system& sys,
                                                         const client_config& cfg) {
    if (!sys.has_middleman()) {
        return caf::make_error(errc::invalid_argument,
                               "the actor system has no middleman (load caf::io::middleman)");
    }
    if (!cfg.tls_ca.empty() || !cfg.tls_cert.empty() || !cfg.tls_key.empty()) {
        // Never plain TCP for a configuration that asks for TLS.
        return caf::make_error(errc::invalid_argument,
                               "TLS is not available on an application's own actor system yet "
                               "(use client_factory::connect)");
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
    std::shared_ptr<const transport::tls_context> tls;
    if (!cfg.tls_ca.empty() || !cfg.tls_cert.empty() || !cfg.tls_key.empty()) {
        if (cfg.tls_ca.empty() || cfg.tls_cert.empty() || cfg.tls_key.empty()) {
            return caf::make_error(errc::invalid_argument,
                                   "TLS needs all of the CA, the certificate and the key");
        }
        auto loaded = transport::load_tls(cfg.tls_cert, cfg.tls_key, cfg.tls_ca);
        if (!loaded) {
            return std::move(loaded.error());
        }
        tls = (*loaded)->context;
        opts.tls = true;
    }
    caf::expected<transport::node_actor> node{caf::error{}};
    auto f = std::make_unique<factory_impl>(transport::make_config(opts), std::move(tls), ep, node);
    if (!node) {
        return std::move(node.error());
    }
    return std::unique_ptr<client_factory>(std::move(f));
}

}  // namespace pravaha::client
