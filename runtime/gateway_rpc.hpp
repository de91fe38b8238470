#pragma once

// Internal to runtime/ (the RPC gateway, runtime/gateway.hpp): what its files share. The bridge
// actor runs tasks for the kj thread; calls reach the node through it and complete through
// cross-thread fulfillers. Cap'n Proto's generated code stays inside runtime/gateway*.
//
// runtime/gateway_rpc.cpp: error mapping and result builders.
// runtime/gateway_writer.cpp: the writer capability (limits, packed events, numbering).
// runtime/gateway_reader.cpp: the reader capability (one `next` at a time, positions).
// runtime/gateway_group.cpp: reader groups (create, the ReaderGroup capability, group readers).
// runtime/gateway_txn.cpp: transactions (begin, open, list, the Transaction capability).
// runtime/gateway.cpp: the bootstrap and stream manager, opening writers and readers, and the
// kj event-loop thread.

// The generated capnp Server classes have non-virtual destructors (they are owned through
// kj::Own, which deletes the most derived type).
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"

#include "client/internal.hpp"
#include "runtime/gateway.hpp"
#include "schema/errc.hpp"
#include "schema/pravaha.capnp.h"

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <capnp/schema.h>
#include <kj/async.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pravaha::runtime::gw {

// The bridge between the kj thread and the actors is the client's (client/internal.hpp).
using client::detail::bridge_run_atom;
using client::detail::bridge_task;

/// The documented error of a result: Pravaha's code and name; CAF's own errors (timeouts, a node
/// that went away) as timeout or unavailable.
void set_error(rpc::Error::Builder out, const caf::error& err);
void set_error(rpc::Error::Builder out, errc code, const std::string& what);
std::string text(capnp::Text::Reader t);
void fill_info(rpc::StreamInfo::Builder out, const stream_record& rec);
void fill_info(rpc::StreamInfo::Builder out, const stream_info& info);
void fill_list(capnp::List<capnp::Text>::Builder out, const std::vector<std::string>& names);
void fill_policy(rpc::ScalingPolicy::Builder out, const scaling_policy& p);
/// The policy a call names; invalid_argument for an unknown type (the controller checks the
/// numbers).
caf::expected<scaling_policy> read_policy(rpc::ScalingPolicy::Reader in);
void fill_history(capnp::List<rpc::EpochInfo>::Builder out, const std::vector<epoch_info>& h);
void fill_position(capnp::List<rpc::SegmentPosition>::Builder out,
                   const client::detail::start_offsets& position);

/// Counts call `method_id` of `schema` (or of the interface `interface_id` it extends) into
/// `pravaha_rpc_calls_total{method, result}` once `done` settles: result `ok`, the name of the
/// error the results carry, or `exception`.
kj::Promise<void> count_call(capnp::InterfaceSchema schema,
                             uint64_t interface_id,
                             uint16_t method_id,
                             capnp::CallContext<capnp::AnyPointer, capnp::AnyPointer> context,
                             kj::Promise<void> done);

/// A generated Server class whose every call is counted (count_call).
template <class Server>
class counted : public Server {
public:
    capnp::Capability::Server::DispatchCallResult dispatchCall(
        uint64_t interface_id,
        uint16_t method_id,
        capnp::CallContext<capnp::AnyPointer, capnp::AnyPointer> context) override {
        auto r = Server::dispatchCall(interface_id, method_id, context);
        r.promise = count_call(capnp::Schema::from<typename Server::Serves>(), interface_id,
                               method_id, context, kj::mv(r.promise));
        return r;
    }
};

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
    caf::anon_send(bridge, bridge_run_atom::value, std::move(task));
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

// Completes a call: the node's error goes into the result's `error`, else `fill(results, value)`.
template <class T, class Context, class Fill>
kj::Promise<void> answer(kj::Promise<outcome<T>> p, Context ctx, Fill fill) {
    return p.then([ctx, fill](outcome<T> r) mutable {
        auto res = ctx.getResults();
        if (r.error) {
            set_error(res.initError(), r.error);
            return;
        }
        fill(res, r.value);
    });
}

// A call refused before it reaches the node (bad input).
template <class T>
kj::Promise<outcome<T>> refused(caf::error err) {
    return outcome<T>{T{}, std::move(err)};
}

// For calls whose result is only success or an error.
constexpr auto nothing_to_fill = [](auto&&, auto&) {};

// An in-node writer or reader actor, stopped when its owner goes: first the answer of the call
// that opened it, then the capability. So an answer that is never taken (the gateway stopped, or
// its bridge died, while the call was in flight) stops the actor as a dropped capability does,
// instead of leaving it running with nobody to end it.
class owned_actor {
public:
    owned_actor() = default;
    explicit owned_actor(caf::actor a) : actor_(std::move(a)) {}
    owned_actor(owned_actor&& other) noexcept : actor_(std::exchange(other.actor_, caf::actor{})) {}
    owned_actor& operator=(owned_actor&& other) noexcept {
        stop();
        actor_ = std::exchange(other.actor_, caf::actor{});
        return *this;
    }
    owned_actor(const owned_actor&) = delete;
    owned_actor& operator=(const owned_actor&) = delete;
    ~owned_actor() { stop(); }

    const caf::actor& get() const { return actor_; }
    /// Forgets the actor without stopping it (it ends on its own: a group reader leaving).
    caf::actor release() { return std::exchange(actor_, caf::actor{}); }

private:
    void stop() {
        if (actor_) {
            caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
            actor_ = caf::actor{};
        }
    }
    caf::actor actor_;
};

/// The writer capability over an opened writer actor whose events are numbered after
/// `last_stored`.
kj::Own<rpc::EventWriter::Server> make_writer_capability(caf::actor bridge,
                                                         owned_actor writer,
                                                         int64_t last_stored);

/// The reader capability over an opened reader actor that starts at `start`. A group reader's
/// capability, dropped without `close`, still closes the reader (it leaves its group).
kj::Own<rpc::EventReader::Server> make_reader_capability(caf::actor bridge,
                                                         owned_actor reader,
                                                         client::detail::start_offsets start,
                                                         bool group = false);

// -- reader groups (runtime/gateway_group.cpp) ------------------------------------------------

/// What the reader group calls work with: the gateway's stream manager actor joins group
/// readers, which report through it.
struct group_parts {
    caf::actor bridge;
    node_api node;
    std::chrono::milliseconds timeout{10000};
    caf::actor manager;
    /// What the connection's token may do (null: nothing before `authenticate`).
    grants_ptr grants;

    /// Checks right `r` on `scope` (with `describe`, any right on it will do): empty,
    /// unauthenticated or permission_denied.
    [[nodiscard]] caf::error need(std::string_view scope, right r, bool describe = false) const {
        if (describe && grants && grants->sees(scope)) {
            return {};
        }
        return check_right(grants.get(), scope, r);
    }
};

// Completes a call refused for its token's rights: only its `error` is set.
template <class Context>
kj::Promise<void> denied(Context ctx, const caf::error& err) {
    set_error(ctx.getResults().initError(), err);
    return kj::READY_NOW;
}

void fill_group_info(rpc::ReaderGroupInfo::Builder out, const group_info& g);

/// Creates the group (a start cut "tail" is asked of the node first). Errors: those of the node,
/// invalid_argument (a cut that does not parse).
kj::Promise<outcome<group_info>> create_group(const group_parts& parts,
                                              const std::string& scope,
                                              const std::string& name,
                                              rpc::ReaderGroupConfig::Reader in);

/// The capability of group scope/name (its existence checked by the caller).
kj::Own<rpc::ReaderGroup::Server> make_group_capability(group_parts parts,
                                                        std::string scope,
                                                        std::string name);

// -- transactions (runtime/gateway_txn.cpp) ----------------------------------------------------

/// A stable writer id from the client's name for it (FNV-1a 64, twice with different seeds):
/// openWriter's and beginTransaction's `writerId`.
writer_id writer_id_of(std::string_view name);

void fill_txn_info(rpc::TransactionInfo::Builder out, const txn_record& t);

/// Pravaha.beginTransaction, Pravaha.openTransaction, StreamManager.listTransactions: through
/// the gateway's stream manager actor (`parts.manager`).
kj::Promise<void> begin_transaction(const group_parts& parts,
                                    capnp::CallContext<rpc::Pravaha::BeginTransactionParams,
                                                       rpc::Pravaha::BeginTransactionResults> ctx);
kj::Promise<void> open_transaction(const group_parts& parts,
                                   capnp::CallContext<rpc::Pravaha::OpenTransactionParams,
                                                      rpc::Pravaha::OpenTransactionResults> ctx);
kj::Promise<void> list_transactions(
    const group_parts& parts,
    capnp::CallContext<rpc::StreamManager::ListTransactionsParams,
                       rpc::StreamManager::ListTransactionsResults> ctx);

}  // namespace pravaha::runtime::gw
