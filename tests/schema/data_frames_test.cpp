// The framed data protocol's codec (schema/data_frames.hpp): every frame round-trips, a frame
// split anywhere waits for its rest, and each malformed input gets a malformed_message error.

#include "schema/data_frames.hpp"

#include <caf/sec.hpp>
#include <catch2/catch.hpp>

#include <string>

using namespace pravaha;

namespace {

frames::frame decode_one(const std::string& bytes) {
    size_t used = 0;
    auto f = frames::decode(bytes, used);
    REQUIRE(f);
    REQUIRE(f->has_value());
    CHECK(used == bytes.size());
    return std::move(**f);
}

append_block sample_block() {
    append_block b;
    b.key = segment_key{stream_uid{7}, segment_id{3}};
    b.writer = writer_id{0x1122334455667788ULL, 0x99aabbccddeeff00ULL};
    b.first_event_number = 10;
    b.last_event_number = 11;
    b.event_count = 2;
    b.writer_epoch = 4;
    b.client_last = -1;
    frame_event(b.data, "first");
    frame_event(b.data, "second");
    return b;
}

errc malformed_code(const std::string& bytes) {
    size_t used = 0;
    auto f = frames::decode(bytes, used);
    REQUIRE_FALSE(f);
    CHECK(used == 0);
    return code_of(f.error());
}

// A frame with this length field, type and body.
std::string raw(uint32_t length, uint8_t type, const std::string& body) {
    std::string out;
    for (int i = 0; i < 4; ++i) {
        out.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
    }
    out.push_back(static_cast<char>(type));
    return out + body;
}

}  // namespace

TEST_CASE("data frames round-trip", "[schema][frames]") {
    std::string bytes;
    frames::encode_hello(bytes, frames::protocol_version);
    auto h = std::get<frames::hello>(decode_one(bytes));
    CHECK(h.version == frames::protocol_version);

    auto b = sample_block();
    bytes.clear();
    frames::encode_append(bytes, 42, b);
    CHECK(bytes.size() == frames::length_bytes + 1 + frames::append_header_bytes + b.data.size());
    auto a = std::get<frames::append>(decode_one(bytes));
    CHECK(a.request == 42);
    CHECK(a.block.key == b.key);
    CHECK(a.block.writer == b.writer);
    CHECK(a.block.first_event_number == 10);
    CHECK(a.block.last_event_number == 11);
    CHECK(a.block.event_count == 2);
    CHECK(a.block.writer_epoch == 4);
    CHECK(a.block.client_last == -1);
    CHECK(a.block.data == b.data);

    append_ack ack;
    ack.last_event_number = 11;
    ack.end_offset = 1234567890123LL;
    ack.appended_events = 2;
    bytes.clear();
    frames::encode_appended(bytes, 43, ack);
    auto d = std::get<frames::appended>(decode_one(bytes));
    CHECK(d.request == 43);
    CHECK(d.last_event_number == 11);
    CHECK(d.end_offset == 1234567890123LL);
    CHECK(d.appended_events == 2);
}

TEST_CASE("a refusal carries the error's code, text and leader hint", "[schema][frames]") {
    std::string bytes;
    frames::encode_refused(bytes, 5, caf::make_error(errc::segment_sealed, "s/t segment 3"));
    auto r = std::get<frames::refused>(decode_one(bytes));
    CHECK(r.request == 5);
    auto err = frames::to_error(r);
    CHECK(code_of(err) == errc::segment_sealed);
    CHECK(render_error(err) == "segment_sealed: s/t segment 3");

    bytes.clear();
    frames::encode_refused(bytes, 6, not_leader_error(3));
    err = frames::to_error(std::get<frames::refused>(decode_one(bytes)));
    CHECK(code_of(err) == errc::not_leader);
    CHECK(leader_hint(err) == 3);

    // Another category goes as unavailable with its rendering.
    bytes.clear();
    frames::encode_refused(bytes, 7, caf::make_error(caf::sec::request_timeout));
    err = frames::to_error(std::get<frames::refused>(decode_one(bytes)));
    CHECK(code_of(err) == errc::unavailable);
    CHECK(render_error(err) == "unavailable: timeout");
}

TEST_CASE("a refusal with a code this build does not know is taken as unavailable",
          "[schema][frames]") {
    std::string body(13, '\0');
    body[0] = 9;                       // request 9
    body[8] = static_cast<char>(250);  // a newer node's code
    body += "why";
    auto r = std::get<frames::refused>(decode_one(raw(1 + 16, 4, body)));
    CHECK(r.request == 9);
    auto err = frames::to_error(r);
    CHECK(code_of(err) == errc::unavailable);
    CHECK(render_error(err) == "unavailable: error code 250 (unknown to this client): why");
}

TEST_CASE("a frame split anywhere waits for its rest; frames in a row are taken one by one",
          "[schema][frames]") {
    std::string bytes;
    frames::encode_append(bytes, 1, sample_block());
    auto first = bytes.size();
    frames::encode_hello(bytes, 1);
    for (size_t cut = 0; cut < first; ++cut) {
        size_t used = 99;
        auto f = frames::decode(std::string_view(bytes).substr(0, cut), used);
        REQUIRE(f);
        CHECK_FALSE(f->has_value());
        CHECK(used == 0);
    }
    size_t used = 0;
    auto f = frames::decode(bytes, used);
    REQUIRE(f);
    REQUIRE(f->has_value());
    CHECK(std::holds_alternative<frames::append>(**f));
    CHECK(used == first);
    f = frames::decode(std::string_view(bytes).substr(used), used);
    REQUIRE(f);
    REQUIRE(f->has_value());
    CHECK(std::holds_alternative<frames::hello>(**f));
}

TEST_CASE("malformed data frames are refused with a reason", "[schema][frames]") {
    // Lengths: none, and one beyond the largest block.
    CHECK(malformed_code(raw(0, 1, "")) == errc::malformed_message);
    CHECK(malformed_code(raw(frames::frame_bytes_max + 1, 2, "")) == errc::malformed_message);
    // An unknown type, and known types of the wrong size.
    CHECK(malformed_code(raw(5, 99, "abcd")) == errc::malformed_message);
    CHECK(malformed_code(raw(4, 1, "abc")) == errc::malformed_message);
    CHECK(malformed_code(raw(1 + 27, 3, std::string(27, '\0'))) == errc::malformed_message);
    CHECK(malformed_code(raw(1 + 10, 2, std::string(10, '\0'))) == errc::malformed_message);
    CHECK(malformed_code(raw(1 + 5, 4, std::string(5, '\0'))) == errc::malformed_message);
    // A refusal without a code.
    std::string body(13, '\0');
    CHECK(malformed_code(raw(1 + 13, 4, body)) == errc::malformed_message);
    // The reason says what was wrong.
    size_t used = 0;
    auto f = frames::decode(raw(5, 99, "abcd"), used);
    REQUIRE_FALSE(f);
    CHECK(render_error(f.error()) == "malformed_message: data frame: unknown frame type 99");
}
