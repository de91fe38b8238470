#include "runtime/gateway_rpc.hpp"
#include "schema/logging.hpp"

#include <deque>

namespace pravaha::runtime::gw {

namespace {

struct fetched {
    std::vector<client::event> events;
    bool at_end = false;
};

// A reader capability: the client's reader actor inside the node, one `next` at a time.
class event_reader_impl final : public counted<rpc::EventReader::Server> {
public:
    event_reader_impl(caf::actor bridge,
                      owned_actor reader,
                      client::detail::start_offsets position,
                      bool group)
        : bridge_(std::move(bridge)),
          reader_(std::move(reader)),
          position_(std::move(position)),
          group_(group) {}

    // A group reader leaves its group (its position before the events not answered).
    ~event_reader_impl() {
        if (group_ && reader_.get()) {
            caf::anon_send(reader_.release(), client::close_atom::value, unanswered());
        }
    }

    kj::Promise<void> close(CloseContext ctx) override {
        if (!reader_.get()) {
            ctx.getResults();
            return kj::READY_NOW;
        }
        auto reader = reader_.release();
        auto unread = unanswered();
        return on_bridge<bool>(bridge_,
                               [reader, unread](caf::event_based_actor* self, reply_fn<bool> done) {
                                   self->request(reader, caf::infinite, client::close_atom::value,
                                                 unread)
                                       .then(
                                           [done](bool ok) {
                                               done(outcome<bool>{ok, {}});
                                           },
                                           [done](caf::error& err) {
                                               done(outcome<bool>{false, std::move(err)});
                                           });
                               })
            .then([ctx](outcome<bool> r) mutable {
                auto res = ctx.getResults();  // sized even without an error (clients read it)
                if (r.error) {
                    set_error(res.initError(), r.error);
                }
            });
    }

    kj::Promise<void> next(NextContext ctx) override {
        auto p = ctx.getParams();
        auto max = std::clamp<uint32_t>(p.getMaxEvents(), 1, 10000);
        auto wait = std::min<uint32_t>(p.getTimeoutMs(), 60000);
        if (!reader_.get()) {
            set_error(ctx.getResults().initError(), errc::invalid_argument, "the reader is closed");
            return kj::READY_NOW;
        }
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
                       self->request(reader, caf::infinite, client::fetch_atom::value, wait)
                           .then(
                               [done](std::vector<client::event>& evs, bool end) {
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
            if (!e.checkpoint.empty()) {
                out.setCheckpoint(e.checkpoint);
            } else {
                position_[e.segment.value] = client::detail::offset_after(e);
            }
            buffer_.pop_front();
        }
        res.setAtEnd(at_end_ && buffer_.empty());
        fill_position(res);
    }

    void fill_position(rpc::EventReader::NextResults::Builder res) {
        gw::fill_position(res.initPosition(static_cast<unsigned>(position_.size())), position_);
    }

    // The events fetched and not answered: a closing group reader's position stays before them.
    std::vector<client::event> unanswered() {
        std::vector<client::event> out(std::make_move_iterator(buffer_.begin()),
                                       std::make_move_iterator(buffer_.end()));
        buffer_.clear();
        return out;
    }

    caf::actor bridge_;
    owned_actor reader_;  // stopped with the capability (a group reader: closed)
    std::deque<client::event> buffer_;
    client::detail::start_offsets position_;  // after the last event answered, per segment
    bool group_ = false;
    bool at_end_ = false;
    bool busy_ = false;
};

}  // namespace

kj::Own<rpc::EventReader::Server> make_reader_capability(caf::actor bridge,
                                                         owned_actor reader,
                                                         client::detail::start_offsets start,
                                                         bool group) {
    return kj::heap<event_reader_impl>(std::move(bridge), std::move(reader), std::move(start),
                                       group);
}

}  // namespace pravaha::runtime::gw
