#include "schema/data_frames.hpp"

#include <cstring>

namespace pravaha::frames {

namespace {

// Fixed bodies (after the type byte).
constexpr uint32_t hello_bytes = 4;
constexpr uint32_t appended_bytes = 28;
constexpr uint32_t refused_header_bytes = 13;
// A refusal's text is cut to this (it is for people; the code is what clients act on).
constexpr size_t refused_text_max = 4096;

template <class T>
void put(std::string& out, T v) {
    static_assert(std::is_integral_v<T>);
    auto u = static_cast<std::make_unsigned_t<T>>(v);
    for (size_t i = 0; i < sizeof(T); ++i) {
        out.push_back(static_cast<char>(static_cast<uint8_t>(u >> (8 * i))));
    }
}

// Reads integers from a body whose size was checked before.
class reader {
public:
    explicit reader(std::string_view in) : in_(in) {}
    template <class T>
    T get() {
        std::make_unsigned_t<T> u = 0;
        for (size_t i = 0; i < sizeof(T); ++i) {
            u |= static_cast<std::make_unsigned_t<T>>(static_cast<uint8_t>(in_[pos_ + i]))
                 << (8 * i);
        }
        pos_ += sizeof(T);
        return static_cast<T>(u);
    }
    std::string_view rest() const { return in_.substr(pos_); }

private:
    std::string_view in_;
    size_t pos_ = 0;
};

void put_header(std::string& out, uint32_t body, frame_type t) {
    put<uint32_t>(out, body + 1);
    out.push_back(static_cast<char>(t));
}

caf::error malformed(const std::string& why) {
    return caf::make_error(errc::malformed_message, "data frame: " + why);
}

bool known(errc code) {
    return std::string_view(to_string(code)) != "unknown";
}

caf::expected<frame> decode_append(std::string_view body) {
    if (body.size() < append_header_bytes) {
        return malformed("an append of " + std::to_string(body.size()) + " bytes, fewer than " +
                         std::to_string(append_header_bytes));
    }
    reader r(body);
    append a;
    a.request = r.get<uint64_t>();
    auto& b = a.block;
    b.key.stream.value = r.get<uint64_t>();
    b.key.segment.value = r.get<uint64_t>();
    b.writer.hi = r.get<uint64_t>();
    b.writer.lo = r.get<uint64_t>();
    b.first_event_number = r.get<int64_t>();
    b.last_event_number = r.get<int64_t>();
    b.event_count = r.get<uint32_t>();
    b.writer_epoch = r.get<uint32_t>();
    b.client_last = r.get<int64_t>();
    // Its numbers, count and events are the container's to check (precheck), which refuses
    // this request alone.
    b.data.assign(r.rest());
    return frame{std::move(a)};
}

}  // namespace

void encode_hello(std::string& out, uint32_t version) {
    put_header(out, hello_bytes, frame_type::hello);
    put<uint32_t>(out, version);
}

void encode_append(std::string& out, uint64_t request, const append_block& b) {
    out.reserve(out.size() + length_bytes + 1 + append_header_bytes + b.data.size());
    put_header(out, append_header_bytes + static_cast<uint32_t>(b.data.size()), frame_type::append);
    put<uint64_t>(out, request);
    put<uint64_t>(out, b.key.stream.value);
    put<uint64_t>(out, b.key.segment.value);
    put<uint64_t>(out, b.writer.hi);
    put<uint64_t>(out, b.writer.lo);
    put<int64_t>(out, b.first_event_number);
    put<int64_t>(out, b.last_event_number);
    put<uint32_t>(out, b.event_count);
    put<uint32_t>(out, b.writer_epoch);
    put<int64_t>(out, b.client_last);
    out.append(b.data);
}

void encode_appended(std::string& out, uint64_t request, const append_ack& ack) {
    put_header(out, appended_bytes, frame_type::appended);
    put<uint64_t>(out, request);
    put<int64_t>(out, ack.last_event_number);
    put<int64_t>(out, ack.end_offset);
    put<uint32_t>(out, ack.appended_events);
}

void encode_refused(std::string& out, uint64_t request, const caf::error& err) {
    auto code = code_of(err);
    std::string text;
    const auto& ctx = err.context();
    if (code == errc::none) {
        code = errc::unavailable;
        text = render_error(err);
    } else if (!ctx.empty() && ctx.match_elements<std::string>()) {
        text = ctx.get_as<std::string>(0);
    }
    if (text.size() > refused_text_max) {
        text.resize(refused_text_max);
    }
    put_header(out, refused_header_bytes + static_cast<uint32_t>(text.size()), frame_type::refused);
    put<uint64_t>(out, request);
    out.push_back(static_cast<char>(code));
    put<uint32_t>(out, leader_hint(err));
    out.append(text);
}

caf::expected<std::optional<frame>> decode(std::string_view in, size_t& consumed) {
    consumed = 0;
    if (in.size() < length_bytes) {
        return std::optional<frame>{};
    }
    auto length = reader(in).get<uint32_t>();
    if (length == 0 || length > frame_bytes_max) {
        return malformed("a frame of " + std::to_string(length) + " bytes (at most " +
                         std::to_string(frame_bytes_max) + ")");
    }
    if (in.size() < length_bytes + static_cast<size_t>(length)) {
        return std::optional<frame>{};
    }
    auto type = static_cast<uint8_t>(in[length_bytes]);
    auto body = in.substr(length_bytes + 1, length - 1);
    auto fixed = [&](uint32_t want, const char* what) -> caf::error {
        if (body.size() != want) {
            return malformed(std::string("a ") + what + " of " + std::to_string(body.size()) +
                             " bytes, not " + std::to_string(want));
        }
        return {};
    };
    caf::expected<frame> out = malformed("unknown frame type " + std::to_string(type));
    switch (static_cast<frame_type>(type)) {
        case frame_type::hello:
            if (auto err = fixed(hello_bytes, "hello")) {
                return err;
            }
            out = frame{hello{reader(body).get<uint32_t>()}};
            break;
        case frame_type::append:
            out = decode_append(body);
            break;
        case frame_type::appended: {
            if (auto err = fixed(appended_bytes, "answer")) {
                return err;
            }
            reader r(body);
            appended a;
            a.request = r.get<uint64_t>();
            a.last_event_number = r.get<int64_t>();
            a.end_offset = r.get<int64_t>();
            a.appended_events = r.get<uint32_t>();
            out = frame{a};
            break;
        }
        case frame_type::refused: {
            if (body.size() < refused_header_bytes ||
                body.size() > refused_header_bytes + refused_text_max) {
                return malformed("a refusal of " + std::to_string(body.size()) + " bytes");
            }
            reader r(body);
            refused f;
            f.request = r.get<uint64_t>();
            f.code = static_cast<errc>(r.get<uint8_t>());
            f.leader = r.get<uint32_t>();
            f.text.assign(r.rest());
            if (f.code == errc::none) {
                return malformed("a refusal without an error code");
            }
            if (!known(f.code)) {
                // A newer node's code: what this build can say about it.
                f.text = "error code " + std::to_string(static_cast<unsigned>(f.code)) +
                         " (unknown to this client): " + f.text;
                f.code = errc::unavailable;
            }
            out = frame{std::move(f)};
            break;
        }
    }
    if (!out) {
        return std::move(out.error());
    }
    consumed = length_bytes + length;
    return std::optional<frame>{std::move(*out)};
}

caf::error to_error(const refused& r) {
    if (r.code == errc::not_leader) {
        return not_leader_error(r.leader);
    }
    if (r.text.empty()) {
        return caf::make_error(r.code);
    }
    return caf::make_error(r.code, r.text);
}

}  // namespace pravaha::frames
