// The actor API's message types: each registered under its name and carried through CAF's
// binary serialization (what BASP does between processes) without change.

#include "client/actor_api.hpp"
#include "schema/interfaces.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/message.hpp>
#include <caf/rtti_pair.hpp>
#include <caf/uniform_type_info_map.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace pravaha;
using namespace pravaha::client;

namespace {

struct api_system {
    api_system() {
        add_actor_api_types(cfg);
        sys = std::make_unique<caf::actor_system>(cfg);
    }
    caf::actor_system_config cfg;
    std::unique_ptr<caf::actor_system> sys;

    // `value` as a message through the binary serializer and back.
    template <class T>
    T round_trip(const T& value) {
        std::vector<char> buf;
        caf::binary_serializer sink{*sys, buf};
        auto msg = caf::make_message(value);
        REQUIRE(!sink(msg));
        caf::message out;
        caf::binary_deserializer source{*sys, buf};
        REQUIRE(!source(out));
        REQUIRE(out.match_elements<T>());
        return out.get_as<T>(0);
    }

    template <class T>
    std::string name_of() {
        return sys->types().portable_name(caf::make_rtti_pair<T>());
    }
};

}  // namespace

TEST_CASE("actor api values survive serialization unchanged", "[client]") {
    api_system s;
    stream_position pos;
    pos.offsets = {{3, 0}, {7, 4096}, {UINT64_MAX, INT64_MAX}};
    CHECK(s.round_trip(pos) == pos);
    CHECK(s.round_trip(stream_position{}) == stream_position{});

    event_ack ack{segment_id{42}, 17};
    CHECK(s.round_trip(ack) == ack);

    std::vector<event_to_write> batch{{"key-a", std::string("\0bin\xff", 5), 1},
                                      {"", "", no_event_number}};
    CHECK(s.round_trip(batch) == batch);
    CHECK(s.round_trip(batch_ack{5, 2}) == batch_ack{5, 2});

    writer_options w;
    w.id = writer_id{1, 2};
    w.stable_id = true;
    w.block_bytes_max = 4096;
    w.blocks_in_flight_max = 3;
    w.pending_bytes_max = 1 << 20;
    w.exit_on_give_up = false;
    CHECK(s.round_trip(w) == w);

    reader_options r;
    r.from = start_position::tail;
    r.at = pos;
    r.buffer_bytes_max = 123;
    r.exit_on_give_up = false;
    CHECK(s.round_trip(r) == r);

    // The scaling policy (issue 15) travels in stream records and manager requests.
    scaling_policy policy{scale_type::by_kbytes, 512, 3, 2};
    CHECK(s.round_trip(policy) == policy);

    std::vector<event> evs{{"payload", segment_id{9}, 128, {}},
                           {std::string(70000, 'x'), {}, 0, {}},
                           {{}, {}, 0, "checkpoint-1"}};
    auto back = s.round_trip(evs);
    REQUIRE(back.size() == 3);
    for (size_t i = 0; i < evs.size(); ++i) {
        CHECK(back[i].payload == evs[i].payload);
        CHECK(back[i].segment == evs[i].segment);
        CHECK(back[i].offset == evs[i].offset);
        CHECK(back[i].checkpoint == evs[i].checkpoint);
    }
    group_reader_options gopts{42, 1024, false};
    CHECK(s.round_trip(gopts) == gopts);
}

TEST_CASE("actor api types are registered under their documented names", "[client]") {
    api_system s;
    CHECK(s.name_of<event>() == "pravaha.event");
    CHECK(s.name_of<std::vector<event>>() == "std::vector<pravaha.event>");
    CHECK(s.name_of<stream_position>() == "pravaha.stream_position");
    CHECK(s.name_of<event_ack>() == "pravaha.event_ack");
    CHECK(s.name_of<std::vector<event_to_write>>() == "std::vector<pravaha.event_to_write>");
    CHECK(s.name_of<batch_ack>() == "pravaha.batch_ack");
    CHECK(s.name_of<writer_options>() == "pravaha.writer_options");
    CHECK(s.name_of<reader_options>() == "pravaha.reader_options");
    CHECK(s.name_of<group_reader_options>() == "pravaha.group_reader_options");
    CHECK(s.name_of<writer_actor>() == "pravaha.writer_actor");
    CHECK(s.name_of<reader_actor>() == "pravaha.reader_actor");
    CHECK(s.name_of<event_sink_actor>() == "pravaha.event_sink_actor");
    CHECK(s.name_of<stream_manager_actor>() == "pravaha.stream_manager_actor");
    // The node's handles travel to the application's writers too.
    CHECK(s.name_of<segment_store_api>() == "pravaha.segment_store_actor");
}
