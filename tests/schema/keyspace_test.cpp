#include "schema/schema.hpp"

#include <catch2/catch.hpp>

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
