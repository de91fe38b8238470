// The auto-scaler's measurement and rules (storage/scaling.hpp), on explicit time.

#include "schema/schema.hpp"
#include "storage/storage.hpp"

#include <catch2/catch.hpp>

using namespace pravaha;
using namespace pravaha::storage;

namespace {

constexpr int64_t W = 120'000;  // the default shortest window: 2 minutes

// A load with the same rate over all four windows.
segment_load flat(segment_id id, double events, int64_t age_ms) {
    return segment_load{id, {events, events, events, events}, {0, 0, 0, 0}, age_ms};
}

scaling_input input_of(std::vector<segment_load> loads, uint32_t min_segments = 1) {
    scaling_input in;
    in.policy = {scale_type::by_events, 100, 3, min_segments};
    in.segments = equal_ranges(static_cast<uint32_t>(loads.size()), 0, 0);
    in.loads = std::move(loads);
    in.window_ms = W;
    in.now_ms = 10 * W;
    in.last_scale_ms = 0;
    in.cooldown_ms = 600'000;
    return in;
}

}  // namespace

TEST_CASE("rate meters rise with appends and decay when idle", "[storage][scaling]") {
    rate_meter m(W, 0);
    auto tick = W / 24;  // 5 s
    // 1,000 events/s of 1 KiB for 20 minutes.
    for (int64_t t = 0; t < 20 * 60'000; t += 100) {
        m.record(t, 100, 100 * 1024);
    }
    auto busy = m.load_at(20 * 60'000);
    REQUIRE(busy.events_per_s.size() == 4);
    for (size_t i = 0; i < 4; ++i) {
        CAPTURE(i);
        CHECK(busy.events_per_s[i] == Approx(1000).epsilon(0.01));
        CHECK(busy.kbytes_per_s[i] == Approx(1000).epsilon(0.01));
    }
    CHECK(busy.age_ms == 20 * 60'000);
    // Idle for one shortest window: the shorter a window, the more it has forgotten.
    auto idle = m.load_at(20 * 60'000 + W);
    CHECK(idle.events_per_s[0] == Approx(1000 * std::exp(-1.0)).epsilon(0.02));
    CHECK(idle.events_per_s[0] < idle.events_per_s[1]);
    CHECK(idle.events_per_s[2] < idle.events_per_s[3]);
    // The first closed tick sets the rate; an open tick does not count yet.
    rate_meter fresh(W, 0);
    fresh.record(1, 50, 0);
    CHECK(fresh.load_at(tick - 1).events_per_s[0] == 0);
    CHECK(fresh.load_at(tick).events_per_s[3] == Approx(10));  // 50 events in 5 s
}

TEST_CASE("hot and cold follow Pravega's thresholds and ages", "[storage][scaling]") {
    scaling_policy p{scale_type::by_events, 100, 2, 1};
    auto id = segment_id::make(0, 0);
    // Hot by the first window only above 5 T, by the second above 2 T, the third above T.
    CHECK(is_hot(p, segment_load{id, {501, 0, 0, 0}, {}, W + 1}, W));
    CHECK(!is_hot(p, segment_load{id, {499, 0, 0, 0}, {}, W + 1}, W));
    CHECK(!is_hot(p, segment_load{id, {501, 0, 0, 0}, {}, W}, W));  // too young
    CHECK(is_hot(p, segment_load{id, {0, 201, 0, 0}, {}, 3 * W}, W));
    CHECK(!is_hot(p, segment_load{id, {0, 201, 0, 0}, {}, 2 * W}, W));
    CHECK(is_hot(p, segment_load{id, {0, 0, 101, 0}, {}, 6 * W}, W));
    // Cold only when every window is low and the segment is older than the longest.
    CHECK(is_cold(p, segment_load{id, {99, 99, 99, 49}, {}, 10 * W + 1}, W));
    CHECK(!is_cold(p, segment_load{id, {99, 99, 99, 51}, {}, 10 * W + 1}, W));
    CHECK(!is_cold(p, segment_load{id, {101, 0, 0, 0}, {}, 10 * W + 1}, W));
    CHECK(!is_cold(p, segment_load{id, {0, 0, 0, 0}, {}, 10 * W}, W));
    // By KiB/s, the byte rates count.
    scaling_policy kb{scale_type::by_kbytes, 100, 2, 1};
    CHECK(is_hot(kb, segment_load{id, {0, 0, 0, 0}, {600, 0, 0, 0}, W + 1}, W));
    CHECK(!is_hot(kb, segment_load{id, {600, 0, 0, 0}, {0, 0, 0, 0}, W + 1}, W));
}

TEST_CASE("decide splits the hottest segment and merges only cold neighbours",
          "[storage][scaling]") {
    auto a = segment_id::make(0, 0);
    auto b = segment_id::make(0, 1);
    auto c = segment_id::make(0, 2);
    auto d = segment_id::make(0, 3);
    // Split: 250 events/s against 100 wants 3 parts; factor 3 allows them.
    auto in = input_of({flat(a, 50, 10 * W), flat(b, 250, 10 * W), flat(c, 120, 10 * W)});
    auto req = decide(in);
    REQUIRE(req);
    CHECK(req->automatic);
    CHECK(req->seal == std::vector<segment_id>{b});
    REQUIRE(req->create.size() == 3);
    CHECK(req->create.front().start == in.segments[1].key_start);
    CHECK(req->create.back().end == in.segments[1].key_end);
    CHECK(!check_cover({{in.segments[1].key_start, in.segments[1].key_end}}, req->create));
    // 1,000 events/s would want 10 parts: the factor caps them.
    in.loads[1] = flat(b, 1000, 10 * W);
    CHECK(decide(in)->create.size() == 3);
    // Within the cooldown nothing happens.
    in.last_scale_ms = in.now_ms - 1000;
    CHECK(!decide(in));

    // Merge: cold, cold, warm, cold: the first two merge; a warm one never joins.
    auto m = input_of(
        {flat(a, 10, 11 * W), flat(b, 10, 11 * W), flat(c, 90, 11 * W), flat(d, 10, 11 * W)});
    auto merge = decide(m);
    REQUIRE(merge);
    CHECK(merge->seal == std::vector<segment_id>{a, b});
    REQUIRE(merge->create.size() == 1);
    CHECK(merge->create[0].start == 0.0);
    CHECK(merge->create[0].end == m.segments[1].key_end);
    // Three cold neighbours merge together while the minimum leaves room.
    auto three = input_of(
        {flat(a, 10, 11 * W), flat(b, 10, 11 * W), flat(c, 10, 11 * W), flat(d, 500, 11 * W)});
    three.loads[3] = flat(d, 50, 11 * W);  // not hot, not cold (T / 2 over the longest)
    three.loads[3].events_per_s[3] = 60;
    CHECK(decide(three)->seal.size() == 3);
    // Never below min_segments: with 4 and a minimum of 3, only two merge; with 4, none.
    three.policy.min_segments = 3;
    CHECK(decide(three)->seal.size() == 2);
    three.policy.min_segments = 4;
    CHECK(!decide(three));
    // Cold next to warm: no merge at all.
    auto lone = input_of({flat(a, 10, 11 * W), flat(b, 90, 11 * W)});
    CHECK(!decide(lone));
    // A fixed policy never scales.
    in.policy.type = scale_type::fixed;
    in.last_scale_ms = 0;
    CHECK(!decide(in));
}
