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
            position_[e.segment.value] = client::detail::offset_after(e);
            buffer_.pop_front();
        }
        res.setAtEnd(at_end_ && buffer_.empty());
        fill_position(res);
    }

    void fill_position(rpc::EventReader::NextResults::Builder res) {
        gw::fill_position(res.initPosition(static_cast<unsigned>(position_.size())), position_);
    }

    caf::actor bridge_;
    owned_actor reader_;  // stopped with the capability
    std::deque<client::event> buffer_;
    client::detail::start_offsets position_;  // after the last event answered, per segment
    bool at_end_ = false;
    bool busy_ = false;
};

}  // namespace

kj::Own<rpc::EventReader::Server> make_reader_capability(caf::actor bridge,
                                                         owned_actor reader,
                                                         client::detail::start_offsets start) {
    return kj::heap<event_reader_impl>(std::move(bridge), std::move(reader), std::move(start));
}

}  // namespace pravaha::runtime::gw
