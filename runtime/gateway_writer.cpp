#include "runtime/gateway_rpc.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"

#include <string_view>

namespace pravaha::runtime::gw {

namespace {

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

// A writer capability: the client's writer actor (batching, retries, sessions) inside the node.
// Its events go to the actor straight from the kj thread; their acknowledgements complete the
// call through a cross-thread fulfiller. The actor ends with the capability (the connection
// closed or the client released it).
class event_writer_impl final : public counted<rpc::EventWriter::Server> {
public:
    event_writer_impl(caf::actor bridge, owned_actor writer, int64_t last_stored)
        : bridge_(std::move(bridge)), writer_(std::move(writer)), next_number_(last_stored + 1) {}

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
        return flushed().then([ctx](outcome<bool> r) mutable {
            set_error(ctx.getResults().initError(), r.error);  // an error (or none) either way
        });
    }

    kj::Promise<void> release(ReleaseContext) override {
        if (released_) {
            return kj::READY_NOW;
        }
        released_ = true;  // from now on writes are refused: the flush below covers every one
        return flushed().then([this](outcome<bool>) { writer_ = owned_actor{}; });
    }

private:
    // Completes once everything written before is acknowledged or failed.
    kj::Promise<outcome<bool>> flushed() {
        auto writer = writer_.get();
        if (!writer) {
            return outcome<bool>{true, {}};  // released: nothing can be in flight
        }
        return on_bridge<bool>(bridge_,
                               [writer](caf::event_based_actor* self, reply_fn<bool> done) {
                                   self->request(writer, caf::infinite, client::flush_atom::value)
                                       .then(
                                           [done](bool) {
                                               done(outcome<bool>{true, {}});
                                           },
                                           [done](caf::error& err) {
                                               done(outcome<bool>{false, std::move(err)});
                                           });
                               });
    }

    // Checks the call's bounds and numbers, hands the events to the writer actor in one message
    // and completes the call once all are acknowledged (or failed).
    template <class Context>
    kj::Promise<void> write_events(Context ctx,
                                   const std::vector<event_view>& events,
                                   int64_t first) {
        auto res = ctx.getResults();
        if (released_) {
            set_error(res.initError(), errc::invalid_argument,
                      "this writer was released: open another one");
            return kj::READY_NOW;
        }
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
            out.key_hash = routing_key_hash(e.key);
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
        caf::anon_send(writer_.get(), client::write_atom::value, std::move(batch));
        return paf.promise.then([this, ctx, bytes](outcome<bool> r) mutable {
            unacked_bytes_ -= bytes;
            set_error(ctx.getResults().initError(), r.error);
        });
    }

    caf::actor bridge_;
    owned_actor writer_;                   // stopped with the capability
    int64_t next_number_ = 0;              // the next number the gateway gives
    int64_t last_used_ = no_event_number;  // the highest number written through this object
    size_t unacked_bytes_ = 0;             // on the kj thread only
    bool released_ = false;                // release() was called: writes are refused
};

}  // namespace

kj::Own<rpc::EventWriter::Server> make_writer_capability(caf::actor bridge,
                                                         owned_actor writer,
                                                         int64_t last_stored) {
    return kj::heap<event_writer_impl>(std::move(bridge), std::move(writer), last_stored);
}

}  // namespace pravaha::runtime::gw
