#include "runtime/gateway.hpp"

// The generated capnp Server classes have non-virtual destructors (they are owned through
// kj::Own, which deletes the most derived type).
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"

#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/pravaha.capnp.h"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/async.h>

#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace pravaha::runtime::detail {
/// Work the bridge actor runs in its own context (issues CAF requests, completes an RPC).
using bridge_task = std::function<void(caf::event_based_actor*)>;
}  // namespace pravaha::runtime::detail

// Local only: the task never leaves the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<pravaha::runtime::detail::bridge_task>)

namespace pravaha::runtime {

namespace {

using detail::bridge_task;
using gw_run_atom = caf::atom_constant<caf::atom("gwrun")>;

caf::behavior bridge_impl(caf::event_based_actor* self) {
    return {
        [=](gw_run_atom, std::shared_ptr<bridge_task>& task) { (*task)(self); },
    };
}

// The documented error of a result: Pravaha's code and name; CAF's own errors (timeouts, a node
// that went away) as timeout or unavailable.
void set_error(rpc::Error::Builder out, const caf::error& err) {
    if (!err) {
        return;
    }
    auto code = code_of(err);
    if (code == errc::none) {
        code = err == caf::sec::request_timeout ? errc::timeout : errc::unavailable;
    }
    out.setCode(static_cast<uint8_t>(code));
    out.setName(to_string(code));
    out.setMessage(render_error(err));
}

std::string text(capnp::Text::Reader t) {
    return std::string(t.cStr(), t.size());
}

// What the node answered: a value or an error (a plain struct: kj promises of caf::expected
// trip GCC 12's maybe-uninitialized analysis).
template <class T>
struct outcome {
    T value{};
    caf::error error;
};

template <class T>
using reply_fn = std::function<void(outcome<T>)>;

// Runs `start(self, done)` in the bridge actor; the returned promise (on the kj thread) resolves
// with what `done` is given. If the bridge is gone the fulfiller dies unfulfilled and the call
// fails with an exception instead of hanging.
template <class T, class Start>
kj::Promise<outcome<T>> on_bridge(const caf::actor& bridge, Start start) {
    auto paf = kj::newPromiseAndCrossThreadFulfiller<outcome<T>>();
    auto fulfiller = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<outcome<T>>>>(
        kj::mv(paf.fulfiller));
    auto task = std::make_shared<bridge_task>([fulfiller, start](caf::event_based_actor* self) {
        start(self, reply_fn<T>([fulfiller](outcome<T> r) { (*fulfiller)->fulfill(kj::mv(r)); }));
    });
    caf::anon_send(bridge, gw_run_atom::value, std::move(task));
    return kj::mv(paf.promise);
}

// One request to the node endpoint, answered with its result.
template <class T, class... Ts>
kj::Promise<outcome<T>> ask_node(const caf::actor& bridge,
                                 const node_api& node,
                                 std::chrono::milliseconds timeout,
                                 Ts... args) {
    return on_bridge<T>(bridge,
                        [node, timeout, args...](caf::event_based_actor* self, reply_fn<T> done) {
                            self->request(node, timeout, args...)
                                .then(
                                    [done](T& v) {
                                        done(outcome<T>{std::move(v), {}});
                                    },
                                    [done](caf::error& e) {
                                        done(outcome<T>{T{}, std::move(e)});
                                    });
                        });
}

void fill_info(rpc::StreamInfo::Builder out, const stream_record& rec) {
    out.setScope(rec.scope);
    out.setName(rec.name);
    out.setSealed(rec.state == stream_state::sealed);
    auto segs = out.initSegmentInfos(static_cast<unsigned>(rec.segments.size()));
    for (size_t i = 0; i < rec.segments.size(); ++i) {
        auto s = segs[static_cast<unsigned>(i)];
        s.setId(rec.segments[i].id.value);
        s.setKeyStart(rec.segments[i].key_start);
        s.setKeyEnd(rec.segments[i].key_end);
    }
}

void fill_info(rpc::StreamInfo::Builder out, const stream_info& info) {
    fill_info(out, info.record);
    auto segs = out.getSegmentInfos();
    for (size_t i = 0; i < info.segments.size() && i < segs.size(); ++i) {
        auto s = segs[static_cast<unsigned>(i)];
        s.setId(info.segments[i].id.value);
        s.setLength(info.segments[i].length);
        s.setSealed(info.segments[i].sealed);
    }
}

void fill_list(capnp::List<capnp::Text>::Builder out, const std::vector<std::string>& names) {
    for (size_t i = 0; i < names.size(); ++i) {
        out.set(static_cast<unsigned>(i), names[i]);
    }
}

class stream_manager_impl final : public rpc::StreamManager::Server {
public:
    stream_manager_impl(caf::actor bridge, node_api node, std::chrono::milliseconds timeout)
        : bridge_(std::move(bridge)), node_(std::move(node)), timeout_(timeout) {}

    kj::Promise<void> createScope(CreateScopeContext ctx) override {
        return done_only(ask<bool>(create_scope_atom::value, text(ctx.getParams().getScope())),
                         ctx);
    }

    kj::Promise<void> deleteScope(DeleteScopeContext ctx) override {
        return done_only(ask<bool>(delete_scope_atom::value, text(ctx.getParams().getScope())),
                         ctx);
    }

    kj::Promise<void> listScopes(ListScopesContext ctx) override {
        return ask<std::vector<std::string>>(list_scopes_atom::value)
            .then([ctx](outcome<std::vector<std::string>> r) mutable {
                auto res = ctx.getResults();
                if (r.error) {
                    set_error(res.initError(), r.error);
                    return;
                }
                fill_list(res.initScopes(static_cast<unsigned>(r.value.size())), r.value);
            });
    }

    kj::Promise<void> createStream(CreateStreamContext ctx) override {
        auto p = ctx.getParams();
        return ask<stream_record>(create_stream_atom::value, text(p.getScope()),
                                  text(p.getStream()), p.getSegments())
            .then([ctx](outcome<stream_record> r) mutable {
                auto res = ctx.getResults();
                if (r.error) {
                    set_error(res.initError(), r.error);
                    return;
                }
                fill_info(res.initInfo(), r.value);
            });
    }

    kj::Promise<void> listStreams(ListStreamsContext ctx) override {
        return ask<std::vector<std::string>>(list_streams_atom::value,
                                             text(ctx.getParams().getScope()))
            .then([ctx](outcome<std::vector<std::string>> r) mutable {
                auto res = ctx.getResults();
                if (r.error) {
                    set_error(res.initError(), r.error);
                    return;
                }
                fill_list(res.initStreams(static_cast<unsigned>(r.value.size())), r.value);
            });
    }

    kj::Promise<void> streamInfo(StreamInfoContext ctx) override {
        auto p = ctx.getParams();
        return ask<stream_info>(stream_info_atom::value, text(p.getScope()), text(p.getStream()))
            .then([ctx](outcome<stream_info> r) mutable {
                auto res = ctx.getResults();
                if (r.error) {
                    set_error(res.initError(), r.error);
                    return;
                }
                fill_info(res.initInfo(), r.value);
            });
    }

    kj::Promise<void> sealStream(SealStreamContext ctx) override {
        auto p = ctx.getParams();
        return done_only(
            ask<stream_record>(seal_stream_atom::value, text(p.getScope()), text(p.getStream())),
            ctx);
    }

    kj::Promise<void> deleteStream(DeleteStreamContext ctx) override {
        auto p = ctx.getParams();
        return done_only(
            ask<bool>(delete_stream_atom::value, text(p.getScope()), text(p.getStream())), ctx);
    }

private:
    template <class T, class... Ts>
    kj::Promise<outcome<T>> ask(Ts... args) {
        return ask_node<T>(bridge_, node_, timeout_, args...);
    }

    // Calls whose result is only success or an error.
    template <class T, class Context>
    static kj::Promise<void> done_only(kj::Promise<outcome<T>> p, Context ctx) {
        return p.then([ctx](outcome<T> r) mutable {
            if (r.error) {
                set_error(ctx.getResults().initError(), r.error);
            }
        });
    }

    caf::actor bridge_;
    node_api node_;
    std::chrono::milliseconds timeout_;
};

class pravaha_impl final : public rpc::Pravaha::Server {
public:
    pravaha_impl(caf::actor bridge, node_api node, std::chrono::milliseconds timeout)
        : bridge_(std::move(bridge)), node_(std::move(node)), timeout_(timeout) {}

    kj::Promise<void> streamManager(StreamManagerContext ctx) override {
        ctx.getResults().setManager(kj::heap<stream_manager_impl>(bridge_, node_, timeout_));
        return kj::READY_NOW;
    }

private:
    caf::actor bridge_;
    node_api node_;
    std::chrono::milliseconds timeout_;
};

class gateway_impl final : public gateway {
public:
    gateway_impl(caf::actor bridge, node_api node, gateway_config cfg)
        : bridge_(std::move(bridge)), node_(std::move(node)), cfg_(std::move(cfg)) {}

    ~gateway_impl() override { stop(); }

    // Binds on the event-loop thread; returns the bound port or why binding failed.
    caf::expected<uint16_t> run() {
        std::promise<caf::expected<uint16_t>> bound;
        auto ready = bound.get_future();
        thread_ = std::thread([this, &bound] { loop(bound); });
        auto port = ready.get();
        if (port) {
            port_ = *port;
        }
        return port;
    }

    uint16_t port() const override { return port_; }

    void stop() override {
        {
            std::lock_guard<std::mutex> g(mutex_);
            if (stop_) {
                (*stop_)->fulfill();
                stop_.reset();
            }
        }
        if (thread_.joinable()) {
            thread_.join();
        }
        if (bridge_) {
            caf::anon_send_exit(bridge_, caf::exit_reason::user_shutdown);
            bridge_ = caf::actor{};
        }
    }

private:
    void loop(std::promise<caf::expected<uint16_t>>& bound) {
        bool reported = false;
        try {
            auto io = kj::setupAsyncIo();
            auto addr = io.provider->getNetwork()
                            .parseAddress(cfg_.bind.c_str(), cfg_.port)
                            .wait(io.waitScope);
            auto listener = addr->listen();
            auto stop = kj::newPromiseAndCrossThreadFulfiller<void>();
            {
                std::lock_guard<std::mutex> g(mutex_);
                stop_ = std::make_unique<kj::Own<kj::CrossThreadPromiseFulfiller<void>>>(
                    kj::mv(stop.fulfiller));
            }
            capnp::TwoPartyServer server(
                kj::heap<pravaha_impl>(bridge_, node_, cfg_.request_timeout));
            bound.set_value(static_cast<uint16_t>(listener->getPort()));
            reported = true;
            // A connection's failure (bad frames, disconnects) ends that connection in
            // TwoPartyServer; only the stop request ends the listening.
            server.listen(*listener).exclusiveJoin(kj::mv(stop.promise)).wait(io.waitScope);
        } catch (const kj::Exception& e) {
            auto what = std::string(e.getDescription().cStr());
            if (!reported) {
                bound.set_value(caf::make_error(errc::unavailable,
                                                "rpc gateway cannot listen on " + cfg_.bind + ":" +
                                                    std::to_string(cfg_.port) + ": " + what));
            } else {
                module_log("runtime")->error("rpc gateway stopped error={}", what);
            }
        }
    }

    caf::actor bridge_;
    node_api node_;
    gateway_config cfg_;
    std::thread thread_;
    std::mutex mutex_;
    // In a unique_ptr: kj::Own's destructor may throw, which an overriding destructor cannot.
    std::unique_ptr<kj::Own<kj::CrossThreadPromiseFulfiller<void>>> stop_;
    uint16_t port_ = 0;
};

}  // namespace

caf::expected<std::unique_ptr<gateway>> gateway::start(caf::actor_system& sys,
                                                       node_api node,
                                                       const gateway_config& cfg) {
    auto bridge = sys.spawn(bridge_impl);
    auto gw = std::make_unique<gateway_impl>(bridge, std::move(node), cfg);
    auto port = gw->run();
    if (!port) {
        gw->stop();
        return std::move(port.error());
    }
    return std::unique_ptr<gateway>(std::move(gw));
}

}  // namespace pravaha::runtime
