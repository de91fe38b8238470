#include "schema/schema.hpp"

#include <catch2/catch.hpp>

using namespace pravaha;

TEST_CASE("log entries round-trip through the capnp codec", "[schema]") {
    container_op a;
    a.type = container_op::kind::append;
    a.key = {stream_uid{7}, segment_id::make(1, 2)};
    a.writer = {0x1234, 0x5678};
    a.first_event_number = 10;
    a.last_event_number = 11;
    a.event_count = 2;
    a.client_last = 99;
    frame_event(a.data, "hello");
    frame_event(a.data, std::string(1000, 'x'));
    container_op s;
    s.type = container_op::kind::seal_segment;
    s.key = a.key;
    auto bytes = encode_log_entry({a, s});
    auto ops = decode_log_entry(bytes);
    REQUIRE(ops);
    REQUIRE(ops->size() == 2);
    CHECK((*ops)[0].type == container_op::kind::append);
    CHECK((*ops)[0].key == a.key);
    CHECK((*ops)[0].writer == a.writer);
    CHECK((*ops)[0].first_event_number == 10);
    CHECK((*ops)[0].last_event_number == 11);
    CHECK((*ops)[0].client_last == 99);
    CHECK((*ops)[0].data == a.data);
    CHECK((*ops)[1].type == container_op::kind::seal_segment);
    CHECK((*ops)[1].client_last == no_event_number);  // the schema's default: none
}

TEST_CASE("malformed records give malformed_message and never crash", "[schema]") {
    auto bytes = encode_log_entry({container_op{}});
    for (size_t cut = 0; cut < bytes.size(); cut += 8) {
        auto r = decode_log_entry(std::string_view(bytes).substr(0, cut));
        if (!r) {
            CHECK(code_of(r.error()) == errc::malformed_message);
        }
    }
    CHECK(!decode_log_entry("garbage!"));
    std::string junk(64, '\xff');
    CHECK(code_of(decode_stream_record(junk).error()) == errc::malformed_message);
    CHECK(!decode_segment_meta("abc"));
}

TEST_CASE("stream records round-trip", "[schema]") {
    stream_record rec;
    rec.scope = "sc";
    rec.name = "st";
    rec.uid = stream_uid{42};
    rec.state = stream_state::sealed;
    rec.segments = equal_ranges(3, 0, 0);
    rec.created_ms = 123;
    auto back = decode_stream_record(encode_stream_record(rec));
    REQUIRE(back);
    CHECK(back->scope == "sc");
    CHECK(back->name == "st");
    CHECK(back->uid == rec.uid);
    CHECK(back->state == stream_state::sealed);
    REQUIRE(back->segments.size() == 3);
    CHECK(back->segments[2].key_end == 1.0);
    CHECK(back->created_ms == 123);
}

TEST_CASE("event framing parses only complete and well-formed events", "[schema]") {
    std::string data;
    frame_event(data, "a");
    frame_event(data, "");
    frame_event(data, "bcd");
    size_t pos = 0;
    CHECK(next_event(data, pos) == std::optional<std::string_view>("a"));
    CHECK(next_event(data, pos) == std::optional<std::string_view>(""));
    CHECK(next_event(data, pos) == std::optional<std::string_view>("bcd"));
    CHECK(pos == data.size());
    CHECK(!next_event(data, pos));
    pos = 0;
    CHECK(!next_event(std::string_view(data).substr(0, 5), pos));
    std::string bad = data;
    bad[0] = 1;  // unknown type
    pos = 0;
    CHECK(!next_event(bad, pos));
}
