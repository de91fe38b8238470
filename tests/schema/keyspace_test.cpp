#include "schema/schema.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <string>

using namespace pravaha;

TEST_CASE("routing_key_hash is stable and inside the unit interval", "[schema]") {
    // Golden values: every client language must reproduce these exactly, and a change to the
    // hash would move existing keys to other segments.
    CHECK(routing_key_hash("") == 0.93676944839043996);
    CHECK(routing_key_hash("a") == 0.51029451765657108);
    CHECK(routing_key_hash("key-1") == 0.62504394611526726);
    CHECK(routing_key_hash("alice") == 0.20715047597194325);
    for (int i = 0; i < 10000; ++i) {
        double h = routing_key_hash("key-" + std::to_string(i));
        REQUIRE(h >= 0.0);
        REQUIRE(h < 1.0);
    }
    CHECK(routing_key_hash("a") != routing_key_hash("b"));
}

TEST_CASE("routing_key_hash spreads keys evenly over equal ranges", "[schema]") {
    auto ranges = equal_ranges(4, 0, 0);
    std::map<size_t, int> counts;
    for (int i = 0; i < 40000; ++i) {
        counts[find_range(ranges, routing_key_hash("k" + std::to_string(i)))]++;
    }
    REQUIRE(counts.size() == 4);
    for (auto& [idx, n] : counts) {
        CAPTURE(idx, n);
        CHECK(n > 9000);
        CHECK(n < 11000);
    }
}

TEST_CASE("equal_ranges cover the unit interval without gaps and carry the epoch", "[schema]") {
    for (uint32_t n : {1u, 2u, 3u, 7u, 1024u}) {
        auto r = equal_ranges(n, 5, 10);
        REQUIRE(r.size() == n);
        CHECK(r.front().key_start == 0.0);
        CHECK(r.back().key_end == 1.0);
        for (size_t i = 0; i + 1 < r.size(); ++i) {
            CHECK(r[i].key_end == r[i + 1].key_start);
            CHECK(r[i].key_start < r[i].key_end);
        }
        CHECK(r[0].id.epoch() == 5);
        CHECK(r[0].id.number() == 10);
        CHECK(r[0].id.value == (uint64_t{5} << 32 | 10));
    }
}

TEST_CASE("find_range picks the half-open range holding the key", "[schema]") {
    auto r = equal_ranges(4, 0, 0);
    CHECK(find_range(r, 0.0) == 0);
    CHECK(find_range(r, 0.2499999) == 0);
    CHECK(find_range(r, 0.25) == 1);
    CHECK(find_range(r, 0.5) == 2);
    CHECK(find_range(r, 0.9999999) == 3);
}

TEST_CASE("names follow Pravega's rules", "[schema]") {
    CHECK(!validate_name("scope", "my-scope.1"));
    CHECK(code_of(validate_name("scope", "")) == errc::invalid_name);
    CHECK(code_of(validate_name("scope", "a/b")) == errc::invalid_name);
    CHECK(code_of(validate_name("scope", "_system")) == errc::invalid_name);
    CHECK(code_of(validate_name("scope", "spaces no")) == errc::invalid_name);
    CHECK(!validate_name("stream", std::string(250, 'a')));
    CHECK(code_of(validate_name("stream", std::string(251, 'a'))) == errc::invalid_name);
    std::string scope, stream;
    CHECK(!split_stream_name("s/t", scope, stream));
    CHECK(scope == "s");
    CHECK(stream == "t");
    CHECK(code_of(split_stream_name("st", scope, stream)) == errc::invalid_name);
    CHECK(code_of(split_stream_name("s/", scope, stream)) == errc::invalid_name);
    CHECK(code_of(split_stream_name("s/t/u", scope, stream)) == errc::invalid_name);
}

TEST_CASE("split_range makes equal parts with exact outer boundaries", "[schema][scaling]") {
    for (uint32_t parts : {2u, 3u, 7u, 10u}) {
        CAPTURE(parts);
        key_range r{0.1, 0.7};
        auto s = split_range(r, parts);
        REQUIRE(s);
        REQUIRE(s->size() == parts);
        CHECK(s->front().start == 0.1);
        CHECK(s->back().end == 0.7);
        for (size_t i = 0; i + 1 < s->size(); ++i) {
            CHECK((*s)[i].end == (*s)[i + 1].start);
            CHECK((*s)[i].start < (*s)[i].end);
            CHECK((*s)[i].end - (*s)[i].start == Approx(0.6 / parts));
        }
        // What a split produces always passes the scale validation against what it split.
        CHECK(!check_cover({r}, *s));
    }
    CHECK(code_of(split_range({0.1, 0.7}, 1).error()) == errc::invalid_argument);
    CHECK(code_of(split_range({0.5, 0.5}, 2).error()) == errc::invalid_argument);
    CHECK(code_of(split_range({0.5, 1.5}, 2).error()) == errc::invalid_argument);
    // Two adjacent doubles have nothing between them.
    double a = 0.5;
    double b = std::nextafter(a, 1.0);
    CHECK(code_of(split_range({a, b}, 2).error()) == errc::invalid_argument);
}

TEST_CASE("merge_ranges joins neighbours in any order and names a gap", "[schema][scaling]") {
    auto m = merge_ranges({{0.5, 0.75}, {0.25, 0.5}, {0.75, 1.0}});
    REQUIRE(m);
    CHECK(*m == key_range{0.25, 1.0});
    auto gap = merge_ranges({{0.0, 0.25}, {0.5, 0.75}});
    REQUIRE(!gap);
    CHECK(render_error(gap.error()).find("not adjacent: nothing covers [0.25, 0.5)") !=
          std::string::npos);
    CHECK(code_of(merge_ranges({{0.0, 0.5}}).error()) == errc::invalid_argument);
    CHECK(code_of(merge_ranges({{0.0, 0.5}, {0.4, 0.6}}).error()) == errc::invalid_argument);
}

TEST_CASE("check_cover accepts exactly the same union", "[schema][scaling]") {
    // A merge, a split, and a simultaneous split and merge of disjoint groups.
    CHECK(!check_cover({{0.0, 0.5}, {0.5, 1.0}}, {{0.0, 1.0}}));
    CHECK(!check_cover({{0.25, 0.5}}, {{0.25, 0.3}, {0.3, 0.5}}));
    CHECK(
        !check_cover({{0.0, 0.1}, {0.5, 0.6}, {0.6, 0.7}}, {{0.5, 0.7}, {0.0, 0.05}, {0.05, 0.1}}));
    // Differences: a hole, more than sealed, an overlap, an empty list, a bit off at the end.
    CHECK(code_of(check_cover({{0.0, 0.5}}, {{0.0, 0.2}, {0.3, 0.5}})) == errc::invalid_argument);
    CHECK(code_of(check_cover({{0.0, 0.5}}, {{0.0, 0.6}})) == errc::invalid_argument);
    CHECK(code_of(check_cover({{0.0, 0.5}}, {{0.0, 0.3}, {0.2, 0.5}})) == errc::invalid_argument);
    CHECK(code_of(check_cover({}, {{0.0, 0.5}})) == errc::invalid_argument);
    CHECK(code_of(check_cover({{0.0, 0.5}}, {})) == errc::invalid_argument);
    CHECK(code_of(check_cover({{0.0, 0.5}}, {{0.0, std::nextafter(0.5, 1.0)}})) ==
          errc::invalid_argument);
    CHECK(code_of(check_cover({{0.0, 0.5}, {0.5, 0.5}}, {{0.0, 0.5}})) == errc::invalid_argument);
    auto err = check_cover({{0.0, 0.5}}, {{0.0, 0.25}});
    CHECK(render_error(err).find("the new ranges cover [0, 0.25) but the sealed segments cover "
                                 "[0, 0.5)") != std::string::npos);
}

TEST_CASE("parse_segment_id reads what to_string prints and nothing else", "[schema][scaling]") {
    for (auto id : {segment_id::make(0, 0), segment_id::make(3, 17),
                    segment_id::make(UINT32_MAX, UINT32_MAX)}) {
        auto parsed = parse_segment_id(to_string(id));
        REQUIRE(parsed);
        CHECK(*parsed == id);
    }
    for (const char* bad : {"", "1", "1.", ".1", "1.2.3", "a.1", "1.b", "-1.2", "1.-2",
                            "4294967296.0", "1 .2", "+1.2", "1.2 "}) {
        CAPTURE(bad);
        auto parsed = parse_segment_id(bad);
        REQUIRE(!parsed);
        CHECK(code_of(parsed.error()) == errc::invalid_argument);
    }
}

TEST_CASE("scaling policies are checked like Pravega's", "[schema][scaling]") {
    scaling_policy fixed;
    CHECK(!validate_policy(fixed));
    CHECK(to_string(fixed) == "fixed");
    scaling_policy events{scale_type::by_events, 1000, 2, 1};
    CHECK(!validate_policy(events));
    CHECK(to_string(events) == "by events: 1000/s per segment, factor 2, at least 1 segment");
    scaling_policy kbytes{scale_type::by_kbytes, 512, 4, 3};
    CHECK(!validate_policy(kbytes));
    CHECK(to_string(kbytes) == "by KiB: 512/s per segment, factor 4, at least 3 segments");
    auto refused = [](scaling_policy p, const std::string& says) {
        CAPTURE(says);
        auto err = validate_policy(p);
        CHECK(code_of(err) == errc::invalid_argument);
        CHECK(render_error(err).find(says) != std::string::npos);
    };
    refused({scale_type::fixed, 10, 2, 1}, "a fixed policy has no target");
    refused({scale_type::by_events, 0, 2, 1}, "target must be above 0");
    refused({scale_type::by_kbytes, 0, 2, 1}, "target must be above 0");
    refused({scale_type::by_events, 100, 1, 1}, "at least 2, not 1");
    refused({scale_type::by_events, 100, 2, 0}, "must be 1..1024, not 0");
    refused({scale_type::by_events, 100, 2, stream_segments_max + 1}, "not 1025");
    refused({static_cast<scale_type>(7), 100, 2, 1}, "unknown scaling policy type 7");
}

TEST_CASE("stream cuts print as one token and parse back strictly", "[schema][scaling]") {
    stream_cut cut;
    cut.stream = stream_uid{7};
    cut.segments.push_back({{segment_id::make(0, 0), 0.0, 0.5}, 1024});
    cut.segments.push_back({{segment_id::make(1, 2), 0.5, 0.75}, 0});
    cut.segments.push_back({{segment_id::make(1, 3), 0.75, 1.0}, 77});
    CHECK(to_string(cut) == "7:0.0@1024,1.2@0,1.3@77");
    auto back = parse_stream_cut(to_string(cut));
    REQUIRE(back);
    CHECK(back->stream == cut.stream);
    REQUIRE(back->segments.size() == 3);
    for (size_t i = 0; i < 3; ++i) {
        CHECK(back->segments[i].range.id == cut.segments[i].range.id);
        CHECK(back->segments[i].offset == cut.segments[i].offset);
    }
    auto big = parse_stream_cut("18446744073709551615:4294967295.4294967295@9223372036854775807");
    REQUIRE(big);
    CHECK(big->stream.value == UINT64_MAX);
    CHECK(big->segments[0].offset == INT64_MAX);
    for (const char* bad :
         {"", "7", "7:", ":0.0@0", "0:0.0@0", "x:0.0@0", "7:0.0", "7:0.0@", "7:0@5", "7:0.0@-1",
          "7:0.0@+1", "7:0.0@1,", "7:0.0@1,,1.1@0", "7:0.0@1,0.0@2", "7:0.0@9223372036854775808",
          "7:0.0@1 ", " 7:0.0@1", "7:0.0@1;rm"}) {
        CAPTURE(bad);
        auto parsed = parse_stream_cut(bad);
        REQUIRE(!parsed);
        CHECK(code_of(parsed.error()) == errc::invalid_argument);
    }
    CHECK(render_error(parse_stream_cut("7:0.0@1,0.0@2").error()).find("appears twice") !=
          std::string::npos);
}
