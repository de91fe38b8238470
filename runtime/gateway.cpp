#include "runtime/gateway.hpp"

// The generated capnp Server classes have non-virtual destructors (they are owned through
// kj::Own, which deletes the most derived type).
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"

#include "client/internal.hpp"
#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"
#include "schema/pravaha.capnp.h"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/async.h>
#include <unistd.h>

#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <utility>

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

// Takes an argument on purpose: CAF 0.17.6 spawns an argument-less function actor through a null
// std::shared_ptr<std::tuple<>> (undefined behaviour that UBSan reports and stops the node on).
caf::behavior bridge_impl(caf::event_based_actor* self, uint16_t port) {
    module_log("runtime")->debug("rpc bridge started port={}", port);
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

// For calls whose result is only success or an error.
constexpr auto nothing_to_fill = [](auto&&, auto&) {};

class stream_manager_impl final : public rpc::StreamManager::Server {
public:
    stream_manager_impl(caf::actor bridge, node_api node, std::chrono::milliseconds timeout)
        : bridge_(std::move(bridge)), node_(std::move(node)), timeout_(timeout) {}

    kj::Promise<void> createScope(CreateScopeContext ctx) override {
        return answer(ask<bool>(create_scope_atom::value, text(ctx.getParams().getScope())), ctx,
                      nothing_to_fill);
    }

    kj::Promise<void> deleteScope(DeleteScopeContext ctx) override {
        return answer(ask<bool>(delete_scope_atom::value, text(ctx.getParams().getScope())), ctx,
                      nothing_to_fill);
    }

    kj::Promise<void> listScopes(ListScopesContext ctx) override {
        return answer(ask<std::vector<std::string>>(list_scopes_atom::value), ctx,
                      [](auto res, auto& names) {
                          fill_list(res.initScopes(static_cast<unsigned>(names.size())), names);
                      });
    }

    kj::Promise<void> createStream(CreateStreamContext ctx) override {
        auto p = ctx.getParams();
        return answer(ask<stream_record>(create_stream_atom::value, text(p.getScope()),
                                         text(p.getStream()), p.getSegments()),
                      ctx, [](auto res, auto& rec) { fill_info(res.initInfo(), rec); });
    }

    kj::Promise<void> listStreams(ListStreamsContext ctx) override {
        return answer(ask<std::vector<std::string>>(list_streams_atom::value,
                                                    text(ctx.getParams().getScope())),
                      ctx, [](auto res, auto& names) {
                          fill_list(res.initStreams(static_cast<unsigned>(names.size())), names);
                      });
    }

    kj::Promise<void> streamInfo(StreamInfoContext ctx) override {
        auto p = ctx.getParams();
        return answer(
            ask<stream_info>(stream_info_atom::value, text(p.getScope()), text(p.getStream())), ctx,
            [](auto res, auto& info) { fill_info(res.initInfo(), info); });
    }

    kj::Promise<void> sealStream(SealStreamContext ctx) override {
        auto p = ctx.getParams();
        return answer(
            ask<stream_record>(seal_stream_atom::value, text(p.getScope()), text(p.getStream())),
            ctx, nothing_to_fill);
    }

    kj::Promise<void> deleteStream(DeleteStreamContext ctx) override {
        auto p = ctx.getParams();
        return answer(ask<bool>(delete_stream_atom::value, text(p.getScope()), text(p.getStream())),
                      ctx, nothing_to_fill);
    }

private:
    template <class T, class... Ts>
    kj::Promise<outcome<T>> ask(Ts... args) {
        return ask_node<T>(bridge_, node_, timeout_, args...);
    }

    caf::actor bridge_;
    node_api node_;
    std::chrono::milliseconds timeout_;
};

void set_error(rpc::Error::Builder out, errc code, const std::string& what) {
    set_error(out, caf::make_error(code, what));
}

constexpr uint32_t write_events_max = 10000;
constexpr size_t write_bytes_max = 16ull << 20;
constexpr size_t writer_unacked_bytes_max = 64ull << 20;

// One event of a write call, pointing into the call's message.
struct event_view {
    std::string_view key;
    std::string_view payload;
};

// The events of a writePacked blob: `count` times (key length, key, payload length, payload),
// lengths as little-endian UInt32. Anything else (short, long, lengths past the end):
// invalid_argument.
caf::expected<std::vector<event_view>> unpack(std::string_view packed, uint32_t count) {
    if (count > write_events_max) {
        return caf::make_error(errc::invalid_argument,
                               "a write carries at most 10000 events and 16 MiB");
    }
    std::vector<event_view> events;
    events.reserve(count);
    size_t pos = 0;
    auto take = [&](std::string_view& out) {
        if (packed.size() - pos < 4) {
            return false;
        }
        uint32_t len = 0;
        for (int i = 3; i >= 0; --i) {
            len = (len << 8) | static_cast<unsigned char>(packed[pos + static_cast<size_t>(i)]);
        }
        pos += 4;
        if (packed.size() - pos < len) {
            return false;
        }
        out = packed.substr(pos, len);
        pos += len;
        return true;
    };
    for (uint32_t i = 0; i < count; ++i) {
        event_view e;
        if (!take(e.key) || !take(e.payload)) {
            return caf::make_error(errc::invalid_argument, "packed events end before event " +
                                                               std::to_string(i) + " of " +
                                                               std::to_string(count));
        }
        events.push_back(e);
    }
    if (pos != packed.size()) {
        return caf::make_error(errc::invalid_argument, std::to_string(packed.size() - pos) +
                                                           " bytes follow the last packed event");
    }
    return events;
}

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

private:
    void stop() {
        if (actor_) {
            caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
            actor_ = caf::actor{};
        }
    }
    caf::actor actor_;
};

// A writer capability: the client's writer actor (batching, retries, sessions) inside the node.
// Its events go to the actor straight from the kj thread; their acknowledgements complete the
// call through a cross-thread fulfiller. The actor ends with the capability (the connection
// closed or the client released it).
class event_writer_impl final : public rpc::EventWriter::Server {
public:
    event_writer_impl(caf::actor bridge, owned_actor writer, stream_record rec, int64_t last_stored)
        : bridge_(std::move(bridge)),
          writer_(std::move(writer)),
          rec_(std::move(rec)),
          next_number_(last_stored + 1) {}

    kj::Promise<void> write(WriteContext ctx) override {
        auto params = ctx.getParams();
        std::vector<event_view> events;
        events.reserve(params.getEvents().size());
        for (auto e : params.getEvents()) {
            auto key = e.getRoutingKey();
            auto payload = e.getPayload();
            events.push_back(
                {std::string_view(key.cStr(), key.size()),
                 std::string_view(reinterpret_cast<const char*>(payload.begin()), payload.size())});
        }
        return write_events(ctx, events, params.getFirstEventNumber());
    }

    kj::Promise<void> writePacked(WritePackedContext ctx) override {
        auto params = ctx.getParams();
        auto packed = params.getPacked();
        auto events =
            unpack(std::string_view(reinterpret_cast<const char*>(packed.begin()), packed.size()),
                   params.getCount());
        if (!events) {
            set_error(ctx.getResults().initError(), events.error());
            return kj::READY_NOW;
        }
        return write_events(ctx, *events, params.getFirstEventNumber());
    }

    kj::Promise<void> flush(FlushContext ctx) override {
        auto writer = writer_.get();
        return on_bridge<bool>(bridge_,
                               [writer](caf::event_based_actor* self, reply_fn<bool> done) {
                                   self->request(writer, caf::infinite,
                                                 client::detail::wflush_atom::value)
                                       .then(
                                           [done](caf::error& err, bool) {
                                               done(outcome<bool>{true, std::move(err)});
                                           },
                                           [done](caf::error& err) {
                                               done(outcome<bool>{false, std::move(err)});
                                           });
                               })
            .then([ctx](outcome<bool> r) mutable {
                set_error(ctx.getResults().initError(), r.error);  // an error (or none) either way
            });
    }

private:
    // Checks the call's bounds and numbers, hands the events to the writer actor in one message
    // and completes the call once all are acknowledged (or failed).
    template <class Context>
    kj::Promise<void> write_events(Context ctx,
                                   const std::vector<event_view>& events,
                                   int64_t first) {
        auto res = ctx.getResults();
        size_t bytes = 0;
        for (const auto& e : events) {
            if (e.payload.size() > event_bytes_max) {
                set_error(res.initError(), errc::event_too_large,
                          "event of " + std::to_string(e.payload.size()) +
                              " bytes exceeds the 8 MiB limit");
                return kj::READY_NOW;
            }
            bytes += e.payload.size() + e.key.size();
        }
        if (events.size() > write_events_max || bytes > write_bytes_max) {
            set_error(res.initError(), errc::invalid_argument,
                      "a write carries at most 10000 events and 16 MiB");
            return kj::READY_NOW;
        }
        if (unacked_bytes_ + bytes > writer_unacked_bytes_max) {
            set_error(res.initError(), errc::overloaded,
                      "more than 64 MiB of this writer's events are not acknowledged yet");
            return kj::READY_NOW;
        }
        auto count = events.size();
        if (first < 0) {
            first = next_number_;
        } else if (first <= last_used_) {
            // Explicit numbers may lie below next_number_ (resends after a reconnect) but must
            // grow within one writer object.
            set_error(
                res.initError(), errc::invalid_argument,
                "event numbers must grow: this writer already used " + std::to_string(last_used_));
            return kj::READY_NOW;
        }
        if (first > INT64_MAX - static_cast<int64_t>(count)) {
            set_error(res.initError(), errc::invalid_argument, "event number out of range");
            return kj::READY_NOW;
        }
        if (count > 0) {
            last_used_ = first + static_cast<int64_t>(count) - 1;
            next_number_ = std::max(next_number_, last_used_ + 1);
        }
        res.setFirstEventNumber(first);
        res.setCount(count);
        if (count == 0) {
            return kj::READY_NOW;
        }
        struct call_state {
            std::mutex mutex;
            size_t remaining = 0;
            caf::error first_error;
            kj::Own<kj::CrossThreadPromiseFulfiller<outcome<bool>>> fulfiller;
        };
        auto paf = kj::newPromiseAndCrossThreadFulfiller<outcome<bool>>();
        auto st = std::make_shared<call_state>();
        st->remaining = count;
        st->fulfiller = kj::mv(paf.fulfiller);
        unacked_bytes_ += bytes;
        auto number = first;
        std::vector<client::detail::outgoing> batch;
        batch.reserve(count);
        for (const auto& e : events) {
            client::detail::outgoing out;
            out.client_number = number++;
            out.segment_index =
                static_cast<uint32_t>(find_range(rec_.segments, routing_key_hash(e.key)));
            frame_event(out.framed, e.payload);
            out.done = [st](const caf::error& err) {
                std::lock_guard<std::mutex> g(st->mutex);
                if (err && !st->first_error) {
                    st->first_error = err;
                }
                if (--st->remaining == 0) {
                    st->fulfiller->fulfill(outcome<bool>{true, st->first_error});
                }
            };
            batch.push_back(std::move(out));
        }
        caf::anon_send(writer_.get(), client::detail::write_atom::value, std::move(batch));
        return paf.promise.then([this, ctx, bytes](outcome<bool> r) mutable {
            unacked_bytes_ -= bytes;
            set_error(ctx.getResults().initError(), r.error);
        });
    }

    caf::actor bridge_;
    owned_actor writer_;  // stopped with the capability
    stream_record rec_;
    int64_t next_number_ = 0;              // the next number the gateway gives
    int64_t last_used_ = no_event_number;  // the highest number written through this object
    size_t unacked_bytes_ = 0;             // on the kj thread only
};

struct fetched {
    std::deque<client::event> events;
    bool at_end = false;
};

void fill_position(capnp::List<rpc::SegmentPosition>::Builder out,
                   const client::detail::start_offsets& position) {
    unsigned i = 0;
    for (const auto& [seg, offset] : position) {
        out[i].setSegmentId(seg);
        out[i].setOffset(offset);
        ++i;
    }
}

// A reader capability: the client's reader actor inside the node, one `next` at a time.
class event_reader_impl final : public rpc::EventReader::Server {
public:
    event_reader_impl(caf::actor bridge, owned_actor reader, client::detail::start_offsets position)
        : bridge_(std::move(bridge)), reader_(std::move(reader)), position_(std::move(position)) {}

    kj::Promise<void> next(NextContext ctx) override {
        auto p = ctx.getParams();
        auto max = std::clamp<uint32_t>(p.getMaxEvents(), 1, 10000);
        auto wait = std::min<uint32_t>(p.getTimeoutMs(), 60000);
        if (!buffer_.empty() || at_end_) {
            serve(ctx.getResults(), max);
            return kj::READY_NOW;
        }
        if (busy_) {
            set_error(ctx.getResults().initError(), errc::invalid_argument,
                      "another next() of this reader is still waiting");
            return kj::READY_NOW;
        }
        busy_ = true;
        auto reader = reader_.get();
        return on_bridge<fetched>(
                   bridge_,
                   [reader, wait](caf::event_based_actor* self, reply_fn<fetched> done) {
                       self->request(reader, caf::infinite, client::detail::fetch_atom::value, wait)
                           .then(
                               [done](std::deque<client::event>& evs, bool end) {
                                   done(outcome<fetched>{fetched{std::move(evs), end}, {}});
                               },
                               [done](caf::error& err) {
                                   done(outcome<fetched>{fetched{}, std::move(err)});
                               });
                   })
            .then([this, ctx, max](outcome<fetched> r) mutable {
                busy_ = false;
                auto res = ctx.getResults();
                if (r.error) {
                    set_error(res.initError(), r.error);
                    fill_position(res);
                    return;
                }
                for (auto& e : r.value.events) {
                    buffer_.push_back(std::move(e));
                }
                at_end_ = r.value.at_end;
                serve(res, max);
            });
    }

private:
    void serve(rpc::EventReader::NextResults::Builder res, uint32_t max) {
        auto n = static_cast<unsigned>(std::min<size_t>(buffer_.size(), max));
        auto list = res.initEvents(n);
        for (unsigned i = 0; i < n; ++i) {
            auto& e = buffer_.front();
            auto out = list[i];
            out.setPayload(kj::arrayPtr(reinterpret_cast<const kj::byte*>(e.payload.data()),
                                        e.payload.size()));
            out.setSegmentId(e.segment.value);
            out.setOffset(e.offset);
            position_[e.segment.value] = client::detail::offset_after(e);
            buffer_.pop_front();
        }
        res.setAtEnd(at_end_ && buffer_.empty());
        fill_position(res);
    }

    void fill_position(rpc::EventReader::NextResults::Builder res) {
        runtime::fill_position(res.initPosition(static_cast<unsigned>(position_.size())),
                               position_);
    }

    caf::actor bridge_;
    owned_actor reader_;  // stopped with the capability
    std::deque<client::event> buffer_;
    client::detail::start_offsets position_;  // after the last event answered, per segment
    bool at_end_ = false;
    bool busy_ = false;
};

// A stable writer id from the client's name for it (FNV-1a 64, twice with different seeds).
writer_id writer_id_of(std::string_view name) {
    auto fnv = [&](uint64_t h) {
        for (unsigned char c : name) {
            h = (h ^ c) * 0x100000001b3ULL;
        }
        return h;
    };
    return writer_id{fnv(0xcbf29ce484222325ULL), fnv(0x84222325cbf29ce4ULL)};
}

struct opened_writer {
    owned_actor writer;
    stream_record rec;
    int64_t last_stored = no_event_number;
};

struct opened_reader {
    owned_actor reader;
    client::detail::start_offsets start;
};

// Where a reader starts in every segment of the stream: at `asked` where listed (checked against
// the stream), else at the head or the tail.
caf::expected<client::detail::start_offsets> start_of(const stream_info& info,
                                                      bool from_tail,
                                                      const client::detail::start_offsets& asked) {
    client::detail::start_offsets start;
    for (const auto& seg : info.segments) {
        start[seg.id.value] = from_tail ? seg.length : 0;
    }
    for (const auto& [seg, offset] : asked) {
        auto it = std::find_if(info.segments.begin(), info.segments.end(),
                               [seg = seg](const segment_status& s) { return s.id.value == seg; });
        if (it == info.segments.end()) {
            return caf::make_error(errc::invalid_argument,
                                   "segment " + std::to_string(seg) + " is not part of stream " +
                                       info.record.scope + "/" + info.record.name);
        }
        if (offset < 0 || offset > it->length) {
            return caf::make_error(errc::bad_offset, "offset " + std::to_string(offset) +
                                                         " is outside segment " +
                                                         std::to_string(seg) + " (length " +
                                                         std::to_string(it->length) + ")");
        }
        start[seg] = offset;
    }
    return start;
}

class pravaha_impl final : public rpc::Pravaha::Server {
public:
    pravaha_impl(caf::actor bridge, node_api node, gateway_config cfg)
        : bridge_(std::move(bridge)), node_(std::move(node)), cfg_(std::move(cfg)) {}

    kj::Promise<void> streamManager(StreamManagerContext ctx) override {
        ctx.getResults().setManager(
            kj::heap<stream_manager_impl>(bridge_, node_, cfg_.request_timeout));
        return kj::READY_NOW;
    }

    kj::Promise<void> openWriter(OpenWriterContext ctx) override {
        auto p = ctx.getParams();
        auto scope = text(p.getScope());
        auto stream = text(p.getStream());
        auto name = text(p.getWriterId());
        auto node = node_;
        auto timeout = cfg_.request_timeout;
        auto ep = endpoint();
        auto bridge = bridge_;
        return answer(
            on_bridge<opened_writer>(
                bridge_,
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
                                auto w = client::detail::spawn_writer(self->system(), ep, node, rec,
                                                                      wc, id);
                                if (name.empty()) {
                                    done(outcome<opened_writer>{{owned_actor{w}, std::move(rec)},
                                                                {}});
                                    return;
                                }
                                // A stable id: its sessions tell what is stored. Owned by the
                                // handlers until answered (dropped with them if never).
                                auto owned = std::make_shared<owned_actor>(w);
                                self->request(w, timeout, client::detail::wsessions_atom::value)
                                    .then(
                                        [=](int64_t last) mutable {
                                            done(outcome<opened_writer>{
                                                {std::move(*owned), std::move(rec), last}, {}});
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
                res.setWriter(kj::heap<event_writer_impl>(bridge, std::move(w.writer),
                                                          std::move(w.rec), w.last_stored));
            });
    }

    kj::Promise<void> openReader(OpenReaderContext ctx) override {
        auto p = ctx.getParams();
        auto scope = text(p.getScope());
        auto stream = text(p.getStream());
        auto from_tail = p.getFromTail();
        client::detail::start_offsets asked;
        for (auto pos : p.getPosition()) {
            asked[pos.getSegmentId()] = pos.getOffset();
        }
        auto node = node_;
        auto timeout = cfg_.request_timeout;
        auto ep = endpoint();
        auto bridge = bridge_;
        return answer(
            on_bridge<opened_reader>(
                bridge_,
                [=](caf::event_based_actor* self, reply_fn<opened_reader> done) {
                    self->request(node, timeout, stream_info_atom::value, scope, stream)
                        .then(
                            [=](stream_info& info) {
                                auto start = start_of(info, from_tail, asked);
                                if (!start) {
                                    done(outcome<opened_reader>{{}, std::move(start.error())});
                                    return;
                                }
                                auto from = from_tail ? client::start_position::tail
                                                      : client::start_position::head;
                                auto r = client::detail::spawn_reader(self->system(), ep, node,
                                                                      info, from, *start);
                                done(outcome<opened_reader>{{owned_actor{r}, std::move(*start)},
                                                            {}});
                            },
                            [=](caf::error& err) {
                                done(outcome<opened_reader>{{}, std::move(err)});
                            });
                }),
            ctx, [bridge](auto res, opened_reader& r) {
                fill_position(res.initPosition(static_cast<unsigned>(r.start.size())), r.start);
                res.setReader(
                    kj::heap<event_reader_impl>(bridge, std::move(r.reader), std::move(r.start)));
            });
    }

private:
    // Where the in-node writers and readers would reconnect (the node's own endpoint).
    client::detail::endpoint_info endpoint() const {
        client::detail::endpoint_info ep;
        ep.host = cfg_.bind;
        ep.port = cfg_.node_port;
        ep.cfg.request_timeout = cfg_.request_timeout;
        return ep;
    }

    caf::actor bridge_;
    node_api node_;
    gateway_config cfg_;
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
            capnp::TwoPartyServer server(kj::heap<pravaha_impl>(bridge_, node_, cfg_));
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
    // The loop's, while it runs (under mutex_); in a unique_ptr for the same reason as stop_.
    std::unique_ptr<kj::Own<const kj::Executor>> executor_;
    capnp::TwoPartyServer* server_ = nullptr;    // loop thread only
    kj::LowLevelAsyncIoProvider* io_ = nullptr;  // loop thread only
    uint16_t port_ = 0;
};

}  // namespace

caf::expected<std::unique_ptr<gateway>> gateway::start(caf::actor_system& sys,
                                                       node_api node,
                                                       const gateway_config& cfg) {
    auto bridge = sys.spawn(bridge_impl, cfg.port);
    auto gw = std::make_unique<gateway_impl>(bridge, std::move(node), cfg);
    auto port = gw->run();
    if (!port) {
        gw->stop();
        return std::move(port.error());
    }
    return std::unique_ptr<gateway>(std::move(gw));
}

}  // namespace pravaha::runtime
