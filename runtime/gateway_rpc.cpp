#include "runtime/gateway_rpc.hpp"

#include "schema/logging.hpp"

namespace pravaha::runtime::gw {

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

void set_error(rpc::Error::Builder out, errc code, const std::string& what) {
    set_error(out, caf::make_error(code, what));
}

std::string text(capnp::Text::Reader t) {
    return std::string(t.cStr(), t.size());
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

void fill_position(capnp::List<rpc::SegmentPosition>::Builder out,
                   const client::detail::start_offsets& position) {
    unsigned i = 0;
    for (const auto& [seg, offset] : position) {
        out[i].setSegmentId(seg);
        out[i].setOffset(offset);
        ++i;
    }
}

}  // namespace pravaha::runtime::gw
