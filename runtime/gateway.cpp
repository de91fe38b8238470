#include "runtime/gateway.hpp"

#include "runtime/gateway_rpc.hpp"
#include "runtime/kj_thread.hpp"
#include "runtime/tls.hpp"
#include "runtime/transport/listener.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <capnp/rpc-twoparty.h>
#include <capnp/rpc.capnp.h>
#include <capnp/serialize.h>
#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <kj/async.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace pravaha::runtime {

namespace {

using namespace gw;

class stream_manager_impl final : public counted<rpc::StreamManager::Server> {
public:
    explicit stream_manager_impl(group_parts parts)
        : bridge_(parts.bridge),
          node_(parts.node),
          timeout_(parts.timeout),
          parts_(std::move(parts)) {}

    kj::Promise<void> createReaderGroup(CreateReaderGroupContext ctx) override {
        // A group reads its streams: read on its scope and on each stream's.
        if (auto err = parts_.need(text(ctx.getParams().getScope()), right::read)) {
            return denied(ctx, err);
        }
        for (auto st : ctx.getParams().getConfig().getStreams()) {
            if (auto err = parts_.need(text(st.getScope()), right::read)) {
                return denied(ctx, err);
            }
        }
        auto p = ctx.getParams();
        auto scope = text(p.getScope());
        auto name = text(p.getGroup());
        return answer(create_group(parts_, scope, name, p.getConfig()), ctx,
                      [parts = parts_, scope, name](auto res, auto& g) {
                          fill_group_info(res.initInfo(), g);
                          res.setGroup(make_group_capability(parts, scope, name));
                      });
    }

    kj::Promise<void> deleteReaderGroup(DeleteReaderGroupContext ctx) override {
        if (auto err = parts_.need(text(ctx.getParams().getScope()), right::read)) {
            return denied(ctx, err);
        }
        auto p = ctx.getParams();
        return answer(ask<bool>(group_delete_atom::value, text(p.getScope()), text(p.getGroup())),
                      ctx, nothing_to_fill);
    }

    kj::Promise<void> listTransactions(ListTransactionsContext ctx) override {
        if (auto err = parts_.need(text(ctx.getParams().getScope()), right::read, true)) {
            return denied(ctx, err);
        }
        return list_transactions(parts_, ctx);
    }

    kj::Promise<void> listReaderGroups(ListReaderGroupsContext ctx) override {
        if (auto err = parts_.need(text(ctx.getParams().getScope()), right::read)) {
            return denied(ctx, err);
        }
        return answer(
            ask<std::vector<std::string>>(group_list_atom::value, text(ctx.getParams().getScope())),
            ctx, [](auto res, auto& names) {
                fill_list(res.initGroups(static_cast<unsigned>(names.size())), names);
            });
    }

    kj::Promise<void> createScope(CreateScopeContext ctx) override {
        if (auto err = parts_.need(text(ctx.getParams().getScope()), right::admin)) {
            return denied(ctx, err);
        }
        return answer(ask<bool>(create_scope_atom::value, text(ctx.getParams().getScope())), ctx,
                      nothing_to_fill);
    }

    kj::Promise<void> deleteScope(DeleteScopeContext ctx) override {
        if (auto err = parts_.need(text(ctx.getParams().getScope()), right::admin)) {
            return denied(ctx, err);
        }
        return answer(ask<bool>(delete_scope_atom::value, text(ctx.getParams().getScope())), ctx,
                      nothing_to_fill);
    }

    kj::Promise<void> listScopes(ListScopesContext ctx) override {
        if (!parts_.grants) {
            return denied(ctx, check_right(nullptr, "", right::read));
        }
        return answer(ask<std::vector<std::string>>(list_scopes_atom::value), ctx,
                      [grants = parts_.grants](auto res, auto& all) {
                          auto names = visible_scopes(grants.get(), all);
                          fill_list(res.initScopes(static_cast<unsigned>(names.size())), names);
                      });
    }

    kj::Promise<void> createStream(CreateStreamContext ctx) override {
        if (auto err = parts_.need(text(ctx.getParams().getScope()), right::admin)) {
            return denied(ctx, err);
        }
        auto p = ctx.getParams();
        return answer(ask<stream_record>(create_stream_atom::value, text(p.getScope()),
                                         text(p.getStream()), p.getSegments()),
                      ctx, [](auto res, auto& rec) { fill_info(res.initInfo(), rec); });
    }

    kj::Promise<void> listStreams(ListStreamsContext ctx) override {
        if (auto err = parts_.need(text(ctx.getParams().getScope()), right::read)) {
            return denied(ctx, err);
        }
        return answer(ask<std::vector<std::string>>(list_streams_atom::value,
                                                    text(ctx.getParams().getScope())),
                      ctx, [](auto res, auto& names) {
                          fill_list(res.initStreams(static_cast<unsigned>(names.size())), names);
                      });
    }

    kj::Promise<void> streamInfo(StreamInfoContext ctx) override {
        if (auto err = parts_.need(text(ctx.getParams().getScope()), right::read, true)) {
            return denied(ctx, err);
        }
        auto p = ctx.getParams();
        return answer(
            ask<stream_info>(stream_info_atom::value, text(p.getScope()), text(p.getStream())), ctx,
            [](auto res, auto& info) { fill_info(res.initInfo(), info); });
    }

    kj::Promise<void> sealStream(SealStreamContext ctx) override {
        if (auto err = parts_.need(text(ctx.getParams().getScope()), right::admin)) {
            return denied(ctx, err);
        }
        auto p = ctx.getParams();
        return answer(
            ask<stream_record>(seal_stream_atom::value, text(p.getScope()), text(p.getStream())),
            ctx, nothing_to_fill);
    }

    kj::Promise<void> deleteStream(DeleteStreamContext ctx) override {
        if (auto err = parts_.need(text(ctx.getParams().getScope()), right::admin)) {
            return denied(ctx, err);
        }
        auto p = ctx.getParams();
        return answer(ask<bool>(delete_stream_atom::value, text(p.getScope()), text(p.getStream())),
                      ctx, nothing_to_fill);
    }

    kj::Promise<void> createScalingStream(CreateScalingStreamContext ctx) override {
        if (auto err = parts_.need(text(ctx.getParams().getScope()), right::admin)) {
            return denied(ctx, err);
        }
        auto p = ctx.getParams();
        return with_policy(ctx, p.getPolicy(), [&](const scaling_policy& policy) {
            return ask<stream_record>(create_stream_atom::value, text(p.getScope()),
                                      text(p.getStream()), p.getSegments(), policy);
        });
    }

    kj::Promise<void> updateStream(UpdateStreamContext ctx) override {
        if (auto err = parts_.need(text(ctx.getParams().getScope()), right::admin)) {
            return denied(ctx, err);
        }
        auto p = ctx.getParams();
        return with_policy(ctx, p.getPolicy(), [&](const scaling_policy& policy) {
            return ask<stream_record>(update_stream_atom::value, text(p.getScope()),
                                      text(p.getStream()), policy);
        });
    }

    kj::Promise<void> scaleStream(ScaleStreamContext ctx) override {
        if (auto err = parts_.need(text(ctx.getParams().getScope()), right::admin)) {
            return denied(ctx, err);
        }
        auto p = ctx.getParams();
        scale_request req;
        req.expected_epoch = p.getExpectedEpoch();
        for (auto id : p.getSeal()) {
            req.seal.push_back(segment_id{id});
        }
        for (auto r : p.getCreate()) {
            req.create.push_back(key_range{r.getKeyStart(), r.getKeyEnd()});
        }
        return answer(ask<scale_result>(scale_atom::value, text(p.getScope()), text(p.getStream()),
                                        std::move(req)),
                      ctx, [](auto res, auto& r) {
                          res.setEpoch(r.epoch);
                          auto out = res.initCreated(static_cast<unsigned>(r.created.size()));
                          for (size_t i = 0; i < r.created.size(); ++i) {
                              auto s = out[static_cast<unsigned>(i)];
                              s.setId(r.created[i].id.value);
                              s.setKeyStart(r.created[i].key_start);
                              s.setKeyEnd(r.created[i].key_end);
                          }
                      });
    }

    kj::Promise<void> history(HistoryContext ctx) override {
        if (auto err = parts_.need(text(ctx.getParams().getScope()), right::read, true)) {
            return denied(ctx, err);
        }
        auto p = ctx.getParams();
        return answer(ask<std::vector<epoch_info>>(history_atom::value, text(p.getScope()),
                                                   text(p.getStream())),
                      ctx, [](auto res, auto& h) {
                          fill_history(res.initEpochs(static_cast<unsigned>(h.size())), h);
                      });
    }

    kj::Promise<void> streamCut(StreamCutContext ctx) override {
        if (auto err = parts_.need(text(ctx.getParams().getScope()), right::read, true)) {
            return denied(ctx, err);
        }
        auto p = ctx.getParams();
        return answer(ask<stream_cut>(stream_cut_atom::value, text(p.getScope()),
                                      text(p.getStream()), p.getHead()),
                      ctx, [](auto res, auto& cut) { res.setCut(to_string(cut)); });
    }

private:
    template <class T, class... Ts>
    kj::Promise<outcome<T>> ask(Ts... args) {
        return ask_node<T>(bridge_, node_, timeout_, args...);
    }

    // A call that carries a scaling policy and answers the stream: refused before the node when
    // the policy's type is unknown (the controller checks its numbers).
    template <class Context, class Ask>
    kj::Promise<void> with_policy(Context ctx, rpc::ScalingPolicy::Reader in, Ask ask_with) {
        auto fill = [](auto res, auto& rec) { fill_info(res.initInfo(), rec); };
        auto policy = read_policy(in);
        if (!policy) {
            return answer(refused<stream_record>(std::move(policy.error())), ctx, fill);
        }
        return answer(ask_with(*policy), ctx, fill);
    }

    caf::actor bridge_;
    node_api node_;
    std::chrono::milliseconds timeout_;
    group_parts parts_;
};

struct opened_writer {
    owned_actor writer;
    int64_t last_stored = no_event_number;
};

struct opened_reader {
    owned_actor reader;
    client::detail::start_offsets start;
};

// Opens a reader in the bridge: at `from` when it names segments (a resolved cut: its segments,
// of whatever epochs, at its offsets), else over the current segments at `asked` or the head or
// tail (a scaled stream's head is its head cut: the first epoch's segments), up to `to` when it
// names segments (resolved).
void open_reader_in(caf::event_based_actor* self,
                    node_api node,
                    std::chrono::milliseconds timeout,
                    const client::detail::endpoint_info& ep,
                    const std::string& scope,
                    const std::string& stream,
                    bool from_tail,
                    const client::detail::start_offsets& asked,
                    const stream_cut& from,
                    const stream_cut& to,
                    const reply_fn<opened_reader>& done) {
    auto fail = [done](caf::error& err) { done(outcome<opened_reader>{{}, std::move(err)}); };
    self->request(node, timeout, stream_info_atom::value, scope, stream)
        .then(
            [=](stream_info& info) {
                if (from.segments.empty() && !from_tail && asked.empty() && info.record.epoch > 0) {
                    self->request(node, timeout, stream_cut_atom::value, scope, stream, true)
                        .then(
                            [=](stream_cut& head) {
                                open_reader_in(self, node, timeout, ep, scope, stream, false, asked,
                                               head, to, done);
                            },
                            fail);
                    return;
                }
                auto pos = from_tail ? client::start_position::tail : client::start_position::head;
                caf::expected<client::detail::start_offsets> start{client::detail::start_offsets{}};
                if (from.segments.empty()) {
                    start = client::detail::start_of(info, pos, asked);
                } else {
                    for (const auto& c : from.segments) {
                        (*start)[c.range.id.value] = c.offset;
                    }
                }
                if (!start) {
                    done(outcome<opened_reader>{{}, std::move(start.error())});
                    return;
                }
                client::detail::reader_mode mode;
                for (const auto& c : to.segments) {
                    mode.until[c.range.id.value] = c.offset;
                }
                auto r = client::detail::spawn_reader(self->system(), ep, info, pos, *start, mode);
                done(outcome<opened_reader>{{owned_actor{r}, std::move(*start)}, {}});
            },
            fail);
}

// What the gateway's calls run on: the node endpoint, the configuration, and the client side
// (`ep`: the bridge actor, the directory of the writers and readers it opens).
struct gateway_parts {
    node_api node;
    gateway_config cfg;
    client::detail::endpoint_info ep;
    /// A stream manager actor on `ep`: it joins the group readers, which report through it.
    caf::actor manager;

    group_parts groups(grants_ptr grants) const {
        return group_parts{ep.bridge, node, cfg.request_timeout, manager, std::move(grants)};
    }
};

class pravaha_impl final : public counted<rpc::Pravaha::Server> {
public:
    pravaha_impl(const gateway_parts& parts, grants_ptr grants)
        : parts_(parts), groups_(parts.groups(std::move(grants))) {}

    kj::Promise<void> authenticate(AuthenticateContext ctx) override {
        auto res = ctx.getResults();
        if (!parts_.cfg.tokens) {
            res.setPravaha(kj::heap<pravaha_impl>(parts_, allow_everything()));
            return kj::READY_NOW;
        }
        auto g = parts_.cfg.tokens(text(ctx.getParams().getToken()));
        if (!g) {
            module_log("runtime")->warn("rpc client refused: unknown token");
            set_error(res.initError(), errc::unauthenticated, "unknown token");
            return kj::READY_NOW;
        }
        module_log("runtime")->info("rpc client authenticated token_name={}", g->name);
        res.setPravaha(kj::heap<pravaha_impl>(parts_, std::move(g)));
        return kj::READY_NOW;
    }

    kj::Promise<void> streamManager(StreamManagerContext ctx) override {
        ctx.getResults().setManager(kj::heap<stream_manager_impl>(groups_));
        return kj::READY_NOW;
    }

    kj::Promise<void> beginTransaction(BeginTransactionContext ctx) override {
        if (auto err = groups_.need(text(ctx.getParams().getScope()), right::write)) {
            return denied(ctx, err);
        }
        return begin_transaction(groups_, ctx);
    }

    kj::Promise<void> openTransaction(OpenTransactionContext ctx) override {
        if (auto err = groups_.need(text(ctx.getParams().getScope()), right::write)) {
            return denied(ctx, err);
        }
        return open_transaction(groups_, ctx);
    }

    kj::Promise<void> readerGroup(ReaderGroupContext ctx) override {
        if (auto err = groups_.need(text(ctx.getParams().getScope()), right::read)) {
            return denied(ctx, err);
        }
        auto p = ctx.getParams();
        auto scope = text(p.getScope());
        auto name = text(p.getGroup());
        return answer(
            ask_node<group_info>(parts_.ep.bridge, parts_.node, parts_.cfg.request_timeout,
                                 group_info_atom::value, scope, name),
            ctx, [parts = groups_, scope, name](auto res, auto& g) {
                // Its readers read the group's streams: read on each stream's scope
                // too (the node's containers trust the gateway's own readers).
                for (const auto& st : g.config.streams) {
                    if (auto err = parts.need(st.scope, right::read)) {
                        set_error(res.initError(), err);
                        return;
                    }
                }
                res.setGroup(make_group_capability(parts, scope, name));
            });
    }

    kj::Promise<void> openWriter(OpenWriterContext ctx) override {
        if (auto err = groups_.need(text(ctx.getParams().getScope()), right::write)) {
            return denied(ctx, err);
        }
        auto p = ctx.getParams();
        auto scope = text(p.getScope());
        auto stream = text(p.getStream());
        auto name = text(p.getWriterId());
        auto node = parts_.node;
        auto timeout = parts_.cfg.request_timeout;
        auto ep = parts_.ep;
        auto bridge = parts_.ep.bridge;
        return answer(
            on_bridge<opened_writer>(
                parts_.ep.bridge,
                [=](caf::event_based_actor* self, reply_fn<opened_writer> done) {
                    self->request(node, timeout, get_stream_atom::value, scope, stream)
                        .then(
                            [=](stream_record& rec) {
                                client::writer_config wc;
                                // Without a name a random id, as the C++ client's: an id
                                // derived from a counter would repeat after a restart,
                                // and the node would take the new events for stored ones.
                                auto id = name.empty() ? client::detail::fresh_writer_id()
                                                       : writer_id_of(name);
                                if (!name.empty()) {
                                    wc.id = id;
                                }
                                auto w =
                                    client::detail::spawn_writer(self->system(), ep, rec, wc, id);
                                if (name.empty()) {
                                    done(outcome<opened_writer>{{owned_actor{w}}, {}});
                                    return;
                                }
                                // A stable id: its sessions tell what is stored. Owned by the
                                // handlers until answered (dropped with them if never).
                                auto owned = std::make_shared<owned_actor>(w);
                                self->request(w, timeout, client::sessions_atom::value)
                                    .then(
                                        [=](int64_t last) mutable {
                                            done(outcome<opened_writer>{{std::move(*owned), last},
                                                                        {}});
                                        },
                                        [=](caf::error& err) {
                                            *owned = owned_actor{};
                                            done(outcome<opened_writer>{{}, std::move(err)});
                                        });
                            },
                            [=](caf::error& err) {
                                done(outcome<opened_writer>{{}, std::move(err)});
                            });
                }),
            ctx, [bridge](auto res, opened_writer& w) {
                res.setLastEventNumber(w.last_stored);
                res.setWriter(make_writer_capability(bridge, std::move(w.writer), w.last_stored));
            });
    }

    kj::Promise<void> openReader(OpenReaderContext ctx) override {
        if (auto err = groups_.need(text(ctx.getParams().getScope()), right::read)) {
            return denied(ctx, err);
        }
        auto p = ctx.getParams();
        auto scope = text(p.getScope());
        auto stream = text(p.getStream());
        auto from_tail = p.getFromTail();
        client::detail::start_offsets asked;
        for (auto pos : p.getPosition()) {
            asked[pos.getSegmentId()] = pos.getOffset();
        }
        auto node = parts_.node;
        auto timeout = parts_.cfg.request_timeout;
        auto ep = parts_.ep;
        auto bridge = parts_.ep.bridge;
        return answer(
            on_bridge<opened_reader>(
                parts_.ep.bridge,
                [=](caf::event_based_actor* self, reply_fn<opened_reader> done) {
                    open_reader_in(self, node, timeout, ep, scope, stream, from_tail, asked, {}, {},
                                   done);
                }),
            ctx, [bridge](auto res, opened_reader& r) {
                fill_position(res.initPosition(static_cast<unsigned>(r.start.size())), r.start);
                res.setReader(
                    make_reader_capability(bridge, std::move(r.reader), std::move(r.start)));
            });
    }

    kj::Promise<void> openReaderBetween(OpenReaderBetweenContext ctx) override {
        if (auto err = groups_.need(text(ctx.getParams().getScope()), right::read)) {
            return denied(ctx, err);
        }
        auto p = ctx.getParams();
        auto scope = text(p.getScope());
        auto stream = text(p.getStream());
        auto fill = [bridge = parts_.ep.bridge](auto res, opened_reader& r) {
            fill_position(res.initPosition(static_cast<unsigned>(r.start.size())), r.start);
            res.setReader(make_reader_capability(bridge, std::move(r.reader), std::move(r.start)));
        };
        stream_cut cuts[2];
        const capnp::Text::Reader texts[2] = {p.getFromCut(), p.getToCut()};
        for (int i = 0; i < 2; ++i) {
            if (texts[i].size() == 0) {
                continue;
            }
            auto cut = parse_stream_cut(text(texts[i]));
            if (!cut) {
                return answer(refused<opened_reader>(std::move(cut.error())), ctx, fill);
            }
            cuts[i] = std::move(*cut);
        }
        client::detail::start_offsets asked;
        for (auto pos : p.getPosition()) {
            asked[pos.getSegmentId()] = pos.getOffset();
        }
        auto node = parts_.node;
        auto timeout = parts_.cfg.request_timeout;
        auto ep = parts_.ep;
        auto from = asked.empty() ? cuts[0] : stream_cut{};
        auto to = cuts[1];
        return answer(on_bridge<opened_reader>(
                          parts_.ep.bridge,
                          [=](caf::event_based_actor* self, reply_fn<opened_reader> done) {
                              auto fail = [done](caf::error& err) {
                                  done(outcome<opened_reader>{{}, std::move(err)});
                              };
                              // Both cuts are checked against the stream (resolve_cut) first.
                              auto resolve = [=](const stream_cut& cut,
                                                 std::function<void(stream_cut)> then) {
                                  if (cut.segments.empty()) {
                                      then(stream_cut{});
                                      return;
                                  }
                                  self->request(node, timeout, resolve_cut_atom::value, scope,
                                                stream, cut)
                                      .then([then](stream_cut& r) { then(std::move(r)); }, fail);
                              };
                              resolve(to, [=](stream_cut end) {
                                  resolve(from, [=](stream_cut start) {
                                      open_reader_in(self, node, timeout, ep, scope, stream, false,
                                                     asked, start, end, done);
                                  });
                              });
                          }),
                      ctx, fill);
    }

private:
    gateway_parts parts_;
    group_parts groups_;
};

// The RPC port's accept loop: every connection waiting on the listening socket is taken
// through the node's listener (transport::listener: --max-connections, shedding when out of
// descriptors, rate-limited logs), and the loop waits for the socket to become readable again.
// An accept that fails without shedding (ENOBUFS, ENOMEM) is retried after 100 ms. Only the
// gateway's stop ends the loop (Cap'n Proto's TwoPartyServer::listen ends on the first error,
// which closed the RPC port for good).
class accept_loop {
public:
    accept_loop(capnp::TwoPartyServer& server,
                kj::LowLevelAsyncIoProvider& io,
                kj::UnixEventPort& events,
                kj::Timer& timer,
                int listen_fd,
                std::shared_ptr<transport::listener> l,
                tls_server* tls)
        : server_(server),
          io_(io),
          observer_(events, listen_fd, kj::UnixEventPort::FdObserver::OBSERVE_READ),
          timer_(timer),
          fd_(listen_fd),
          listener_(std::move(l)),
          tls_(tls) {}

    kj::Promise<void> run() {
        // At most 64 connections per turn, so that a flood does not starve the connections
        // the loop already serves; the next turn continues without waiting (the observer is
        // edge-triggered: only an EAGAIN may be followed by a wait).
        for (int i = 0; i < 64; ++i) {
            auto r = listener_->accept_next(fd_);
            switch (r.outcome) {
                case transport::accept_outcome::accepted:
                    serve(r.fd);
                    break;
                case transport::accept_outcome::refused:
                    refuse(r.fd);
                    break;
                case transport::accept_outcome::shed:
                    break;
                case transport::accept_outcome::empty:
                    return observer_.whenBecomesReadable().then([this] { return run(); });
                case transport::accept_outcome::failed:
                    return timer_.afterDelay(100 * kj::MILLISECONDS).then([this] { return run(); });
            }
        }
        return kj::evalLater([this] { return run(); });
    }

private:
    // Hands an admitted connection to the RPC server; the stream lives as long as its
    // connection, and its end frees the slot. A connection kj cannot take (epoll_ctl failing
    // with ENOMEM) is closed by kj and its slot freed here; the loop goes on.
    void serve(int fd) {
        kj::Own<kj::AsyncIoStream> stream;
        KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                         stream = io_.wrapSocketFd(
                             fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                                     kj::LowLevelAsyncIoProvider::ALREADY_NONBLOCK |
                                     kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC);
                     })) {
            listener_->closed();
            module_log("runtime")->warn("rpc gateway cannot serve a connection: {}",
                                        e->getDescription().cStr());
            return;
        }
        auto l = listener_;
        auto owned = stream.attach(kj::defer([l] { l->closed(); }));
        if (tls_ == nullptr) {
            server_.accept(kj::mv(owned));
            return;
        }
        // A failed handshake (no certificate of the CA, plain TCP, silence for 10 s) ends
        // only that connection, and its slot with it.
        handshakes_.add(tls_->wrap(kj::mv(owned)).then([this](kj::Own<kj::AsyncIoStream> secure) {
            server_.accept(kj::mv(secure));
        }));
    }

    // A connection beyond the node's maximum gets the RPC protocol's Abort message (its pending
    // bootstrap call fails with the reason, type OVERLOADED) and is closed (under TLS only
    // closed: a TLS client would not read a plain message).
    void refuse(int fd) {
        if (tls_ != nullptr) {
            ::close(fd);
            return;
        }
        try {
            capnp::MallocMessageBuilder message(64);
            auto abort = message.initRoot<capnp::rpc::Message>().initAbort();
            abort.setType(capnp::rpc::Exception::Type::OVERLOADED);
            abort.setReason(
                "the node has its maximum of connections open (--max-connections); retry later");
            capnp::writeMessageToFd(fd, message);
        } catch (const kj::Exception&) {
            // The socket's buffer is empty, so this fits; if not, the close alone says it.
        }
        // Closing a socket with unread input resets the connection, and a reset can drop the
        // Abort at the client before it reads it (seen in CI: the client's bootstrap call arrived
        // just after our close). So: end our side after the Abort, and close only when the
        // client has closed too (it does once it read the Abort), or after a second.
        ::shutdown(fd, SHUT_WR);
        kj::Own<kj::AsyncIoStream> stream;
        if (kj::runCatchingExceptions([&] {
                stream = io_.wrapSocketFd(fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                                                  kj::LowLevelAsyncIoProvider::ALREADY_NONBLOCK |
                                                  kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC);
            }) != nullptr) {
            return;  // kj closed it (no room in epoll): the close alone says it
        }
        refusals_.add(timer_.timeoutAfter(1 * kj::SECONDS, drain(*stream))
                          .then([] {}, [](kj::Exception&&) {})
                          .attach(kj::mv(stream)));
    }

    // Reads and drops what a refused client sends until it closes.
    static kj::Promise<void> drain(kj::AsyncIoStream& stream) {
        auto buffer = kj::heapArray<kj::byte>(4096);
        auto read = stream.tryRead(buffer.begin(), 1, buffer.size());
        return read.then([&stream, buffer = kj::mv(buffer)](size_t n) -> kj::Promise<void> {
            if (n == 0) {
                return kj::READY_NOW;
            }
            return drain(stream);
        });
    }

    capnp::TwoPartyServer& server_;
    kj::LowLevelAsyncIoProvider& io_;
    kj::UnixEventPort::FdObserver observer_;
    kj::Timer& timer_;
    int fd_;
    std::shared_ptr<transport::listener> listener_;
    tls_server* tls_;  ///< null: plain TCP
    tls_failures handshake_errors_{"rpc port"};
    kj::TaskSet handshakes_{handshake_errors_};
    kj::TaskSet refusals_{handshake_errors_};  ///< refused connections until their client closes
};

class gateway_impl final : public gateway {
public:
    explicit gateway_impl(gateway_parts parts) : parts_(std::move(parts)) {}

    ~gateway_impl() override { stop(); }

    // Binds on the event-loop thread; returns the bound port or why binding failed.
    caf::expected<uint16_t> run() {
        auto port =
            thread_.start("rpc gateway", parts_.cfg.bind + ":" + std::to_string(parts_.cfg.port),
                          [this](kj::AsyncIoContext& io, kj::Promise<void> stop,
                                 const auto& bound) { loop(io, kj::mv(stop), bound); });
        if (port) {
            port_ = *port;
        }
        return port;
    }

    uint16_t port() const override { return port_; }

    caf::error accept(int fd) override {
        kj::Own<const kj::Executor> executor;
        {
            std::lock_guard<std::mutex> g(mutex_);
            if (executor_) {
                executor = (*executor_)->addRef();
            }
        }
        if (!executor) {
            ::close(fd);
            return caf::make_error(errc::unavailable, "the rpc gateway is stopped");
        }
        try {
            // On the loop thread, where server_ and io_ live until the loop ends.
            executor->executeSync([this, fd] {
                if (server_ == nullptr) {
                    ::close(fd);
                    return;
                }
                server_->accept(io_->wrapSocketFd(fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP));
            });
        } catch (const kj::Exception& e) {
            // The loop ended before running it: the fd was not taken.
            ::close(fd);
            return caf::make_error(errc::unavailable, std::string("the rpc gateway is stopped: ") +
                                                          e.getDescription().cStr());
        }
        return caf::error{};
    }

    void stop() override {
        thread_.stop();
        for (auto* a : {&parts_.manager, &parts_.ep.bridge, &parts_.ep.directory}) {
            if (*a) {
                caf::anon_send_exit(*a, caf::exit_reason::user_shutdown);
                *a = caf::actor{};
            }
        }
    }

private:
    void loop(kj::AsyncIoContext& io,
              kj::Promise<void> stop,
              const std::function<void(caf::expected<uint16_t>)>& bound) {
        auto fd = transport::listen_on("rpc gateway", parts_.cfg.bind, parts_.cfg.port);
        if (!fd) {
            bound(std::move(fd.error()));
            return;
        }
        // Closed when the loop ends, after the accept loop that watches it.
        KJ_DEFER(::close(*fd));
        auto bound_port = transport::local_port(*fd);
        parts_.cfg.listener->set_port(bound_port);
        // With tokens, the bootstrap may do nothing until `authenticate`.
        capnp::TwoPartyServer server(
            kj::heap<pravaha_impl>(parts_, parts_.cfg.tokens ? grants_ptr{} : allow_everything()));
        server_ = &server;
        io_ = io.lowLevelProvider.get();
        {
            std::lock_guard<std::mutex> g(mutex_);
            executor_ = std::make_unique<kj::Own<const kj::Executor>>(
                kj::getCurrentThreadExecutor().addRef());
        }
        KJ_DEFER({
            std::lock_guard<std::mutex> g(mutex_);
            executor_.reset();
            server_ = nullptr;
            io_ = nullptr;
        });
        bound(bound_port);
        // A connection's failure (bad frames, disconnects) ends that connection in
        // TwoPartyServer, an accept error is waited out (accept_loop); only the stop request
        // ends the listening.
        std::optional<tls_server> tls;
        if (parts_.cfg.tls) {
            tls.emplace(*parts_.cfg.tls, io.provider->getTimer());
        }
        accept_loop accepting(server, *io.lowLevelProvider, io.unixEventPort,
                              io.provider->getTimer(), *fd, parts_.cfg.listener,
                              tls ? &*tls : nullptr);
        accepting.run().exclusiveJoin(kj::mv(stop)).wait(io.waitScope);
    }

    gateway_parts parts_;
    kj_thread thread_;
    std::mutex mutex_;  // executor_
    // The loop's, while it runs (under mutex_); in a unique_ptr: kj::Own's destructor may throw.
    std::unique_ptr<kj::Own<const kj::Executor>> executor_;
    capnp::TwoPartyServer* server_ = nullptr;    // loop thread only
    kj::LowLevelAsyncIoProvider* io_ = nullptr;  // loop thread only
    uint16_t port_ = 0;
};

}  // namespace

caf::expected<std::unique_ptr<gateway>> gateway::start(caf::actor_system& sys,
                                                       node_api node,
                                                       const gateway_config& cfg) {
    // The in-node writers and readers find their containers' leaders through one directory, which
    // reconnects to the node's own endpoint when it must.
    client::detail::endpoint_info ep;
    ep.host = cfg.bind;
    ep.port = cfg.node_port;
    ep.cfg.request_timeout = cfg.request_timeout;
    ep.bridge = client::detail::spawn_bridge(sys, "rpc gateway");
    ep = client::detail::spawn_directory(sys, std::move(ep), node);
    // Its group readers' manager (which ends the directory with itself: stopped first).
    auto seed = client::detail::fresh_writer_id();
    auto manager = client::detail::spawn_manager(sys, ep, seed.hi ^ seed.lo);
    auto parts = gateway_parts{std::move(node), cfg, std::move(ep), std::move(manager)};
    if (!parts.cfg.listener) {
        parts.cfg.listener = std::make_shared<transport::listener>(
            "rpc", std::make_shared<transport::connection_gate>(UINT64_MAX));
    }
    auto gw = std::make_unique<gateway_impl>(std::move(parts));
    auto port = gw->run();
    if (!port) {
        gw->stop();
        return std::move(port.error());
    }
    return std::unique_ptr<gateway>(std::move(gw));
}

}  // namespace pravaha::runtime
