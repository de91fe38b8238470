#include "runtime/gateway_rpc.hpp"
#include "schema/names.hpp"

#include <memory>

namespace pravaha::runtime::gw {

namespace {

// One request to the gateway's stream manager actor (its retries ride out leader changes),
// answered with its result.
template <class T, class... Ts>
kj::Promise<outcome<T>> ask_manager(const group_parts& parts, Ts... args) {
    return on_bridge<T>(parts.bridge, [manager = parts.manager, args...](
                                          caf::event_based_actor* self, reply_fn<T> done) {
        self->request(manager, caf::infinite, args...)
            .then(
                [done](T& v) {
                    done(outcome<T>{std::move(v), {}});
                },
                [done](caf::error& e) {
                    done(outcome<T>{T{}, std::move(e)});
                });
    });
}

// A transaction as a call found it: with its writer and the pinger of its lease while it is open
// (both stopped with the capability).
struct opened_txn {
    txn_record rec;
    owned_actor writer;
    owned_actor pinger;
};

// Opens transaction `t`'s writer and pinger when it is open (in the bridge).
void open_txn_in(caf::event_based_actor* self,
                 const group_parts& parts,
                 txn_record t,
                 const reply_fn<opened_txn>& done) {
    if (t.state != txn_state::open) {
        done(outcome<opened_txn>{opened_txn{std::move(t), {}, {}}, {}});
        return;
    }
    client::writer_options opts;
    opts.id = client::detail::fresh_writer_id();  // one per transaction capability
    opts.exit_on_give_up = false;
    auto manager = parts.manager;
    self->request(manager, caf::infinite, client::open_txn_writer_atom::value, t, opts)
        .then(
            [self, manager, t, done](client::writer_actor& w) {
                auto pinger = client::detail::spawn_txn_pinger(self->system(), manager, t);
                done(outcome<opened_txn>{
                    opened_txn{t, owned_actor{caf::actor_cast<caf::actor>(w)}, owned_actor{pinger}},
                    {}});
            },
            [done](caf::error& err) {
                done(outcome<opened_txn>{{}, std::move(err)});
            });
}

// The Transaction capability: its writer (an EventWriter capability made once), and commit,
// abort and status through the stream manager.
class transaction_impl final : public counted<rpc::Transaction::Server> {
public:
    transaction_impl(group_parts parts, opened_txn t)
        : parts_(std::move(parts)),
          rec_(std::move(t.rec)),
          writer_actor_(t.writer.get()),
          pinger_(std::move(t.pinger)) {
        if (writer_actor_) {
            writer_ = rpc::EventWriter::Client(
                make_writer_capability(parts_.bridge, std::move(t.writer), no_event_number));
        }
    }

    kj::Promise<void> writer(WriterContext ctx) override {
        KJ_IF_MAYBE (w, writer_) {
            ctx.getResults().setWriter(*w);
        } else {
            set_error(ctx.getResults().initError(), errc::transaction_not_open,
                      "transaction " + txn_id_text(rec_.id) + " of " + rec_.scope + "/" +
                          rec_.stream + " was not open when this capability was made");
        }
        return kj::READY_NOW;
    }

    kj::Promise<void> commit(CommitContext ctx) override {
        // Every write made through the writer before this call reached the writer actor before
        // the flush does (both are sent from the kj thread in call order): a flush that
        // succeeds covers them, and one that fails commits nothing.
        auto parts = parts_;
        auto writer = writer_actor_;
        auto req = request(txn_op::commit);
        return answer(
            on_bridge<txn_record>(
                parts_.bridge,
                [parts, writer, req](caf::event_based_actor* self, reply_fn<txn_record> done) {
                    auto commit = [self, parts, req, done] {
                        self->request(parts.manager, caf::infinite, txn_atom::value, req)
                            .then(
                                [done](txn_record& t) {
                                    done(outcome<txn_record>{std::move(t), {}});
                                },
                                [done](caf::error& e) {
                                    done(outcome<txn_record>{{}, std::move(e)});
                                });
                    };
                    if (!writer) {
                        commit();
                        return;
                    }
                    self->request(writer, caf::infinite, client::flush_atom::value)
                        .then([commit](bool) { commit(); },
                              [done](caf::error& e) {
                                  done(outcome<txn_record>{{}, std::move(e)});
                              });
                }),
            ctx, [](auto res, auto& t) { fill_txn_info(res.initInfo(), t); });
    }

    kj::Promise<void> abort(AbortContext ctx) override {
        return answer(ask_manager<txn_record>(parts_, txn_atom::value, request(txn_op::abort)), ctx,
                      [](auto res, auto& t) { fill_txn_info(res.initInfo(), t); });
    }

    kj::Promise<void> status(StatusContext ctx) override {
        return answer(ask_manager<txn_record>(parts_, txn_atom::value, request(txn_op::status)),
                      ctx, [](auto res, auto& t) { fill_txn_info(res.initInfo(), t); });
    }

    kj::Promise<void> release(ReleaseContext) override {
        pinger_ = owned_actor{};
        return kj::READY_NOW;
    }

private:
    txn_request request(txn_op op) const {
        return client::detail::txn_request_of(op, rec_.scope, rec_.stream, rec_.id);
    }

    group_parts parts_;
    txn_record rec_;
    caf::actor writer_actor_;  // owned by the EventWriter capability
    kj::Maybe<rpc::EventWriter::Client> writer_;
    owned_actor pinger_;  // stopped with the capability: the lease then runs out
};

}  // namespace

void fill_txn_info(rpc::TransactionInfo::Builder out, const txn_record& t) {
    out.setId(txn_id_text(t.id));
    out.setScope(t.scope);
    out.setStream(t.stream);
    out.setState(to_string(t.state));
    out.setEpoch(t.epoch);
    out.setWriterId(to_string(t.writer));
    out.setBeganMs(t.began_ms);
    out.setLeaseMs(t.lease_ms);
    out.setDeadlineMs(t.deadline_ms);
    out.setCompletedMs(t.completed_ms);
    out.setCommitOrder(t.commit_order);
    out.setReason(t.reason);
    auto segs = out.initSegments(static_cast<unsigned>(t.segments.size()));
    for (unsigned i = 0; i < t.segments.size(); ++i) {
        segs[i].setId(t.segments[i].range.id.value);
        segs[i].setKeyStart(t.segments[i].range.key_start);
        segs[i].setKeyEnd(t.segments[i].range.key_end);
    }
}

namespace {

// Asks `req` (begin or status) of the stream manager and opens the transaction it answers.
kj::Promise<outcome<opened_txn>> ask_and_open(const group_parts& parts, const txn_request& req) {
    return on_bridge<opened_txn>(
        parts.bridge, [parts, req](caf::event_based_actor* self, reply_fn<opened_txn> done) {
            self->request(parts.manager, caf::infinite, txn_atom::value, req)
                .then([self, parts, done](txn_record& t) { open_txn_in(self, parts, t, done); },
                      [done](caf::error& e) {
                          done(outcome<opened_txn>{{}, std::move(e)});
                      });
        });
}

// The answer of beginTransaction and openTransaction: the record and the capability.
auto fill_opened(const group_parts& parts) {
    return [parts](auto res, opened_txn& t) {
        fill_txn_info(res.initInfo(), t.rec);
        res.setTransaction(kj::heap<transaction_impl>(parts, std::move(t)));
    };
}

}  // namespace

kj::Promise<void> begin_transaction(const group_parts& parts,
                                    capnp::CallContext<rpc::Pravaha::BeginTransactionParams,
                                                       rpc::Pravaha::BeginTransactionResults> ctx) {
    auto p = ctx.getParams();
    auto name = text(p.getWriterId());
    auto req =
        client::detail::txn_request_of(txn_op::begin, text(p.getScope()), text(p.getStream()), 0);
    req.lease_ms = p.getLeaseMs();
    if (!name.empty()) {
        req.writer = writer_id_of(name);
    }
    return answer(ask_and_open(parts, req), ctx, fill_opened(parts));
}

kj::Promise<void> open_transaction(const group_parts& parts,
                                   capnp::CallContext<rpc::Pravaha::OpenTransactionParams,
                                                      rpc::Pravaha::OpenTransactionResults> ctx) {
    auto p = ctx.getParams();
    uint64_t id = 0;
    if (!parse_txn_id(text(p.getId()), id)) {
        return answer(refused<opened_txn>(caf::make_error(
                          errc::invalid_argument,
                          "'" + text(p.getId()) + "' is not a transaction id (16 hex digits)")),
                      ctx, fill_opened(parts));
    }
    return answer(
        ask_and_open(parts, client::detail::txn_request_of(txn_op::status, text(p.getScope()),
                                                           text(p.getStream()), id)),
        ctx, fill_opened(parts));
}

kj::Promise<void> list_transactions(
    const group_parts& parts,
    capnp::CallContext<rpc::StreamManager::ListTransactionsParams,
                       rpc::StreamManager::ListTransactionsResults> ctx) {
    auto p = ctx.getParams();
    auto name = text(p.getWriterId());
    return answer(ask_manager<std::vector<txn_record>>(parts, txn_list_atom::value,
                                                       text(p.getScope()), text(p.getStream())),
                  ctx, [name](auto res, auto& all) {
                      std::vector<const txn_record*> keep;
                      for (const auto& t : all) {
                          if (name.empty() || t.writer == writer_id_of(name)) {
                              keep.push_back(&t);
                          }
                      }
                      auto out = res.initTransactions(static_cast<unsigned>(keep.size()));
                      for (unsigned i = 0; i < keep.size(); ++i) {
                          fill_txn_info(out[i], *keep[i]);
                      }
                  });
}

}  // namespace pravaha::runtime::gw
