#include "schema/schema.hpp"
#include "storage/storage.hpp"

#include "tests/support/temp_dir.hpp"
#include <catch2/catch.hpp>

using namespace pravaha;
using namespace pravaha::storage;

TEST_CASE("controller_state manages scopes and streams durably", "[storage]") {
    test::temp_dir dir;
    auto store = open_rocksdb({dir.path()});
    REQUIRE(store);
    stream_uid first_uid;
    {
        controller_state c(**store);
        REQUIRE(!c.load());
        REQUIRE(!c.create_scope("s"));
        CHECK(code_of(c.create_scope("s")) == errc::scope_exists);
        CHECK(code_of(c.create_scope("bad/name")) == errc::invalid_name);
        auto rec = c.create_stream("s", "t", 4, 1000);
        REQUIRE(rec);
        first_uid = rec->uid;
        CHECK(rec->segments.size() == 4);
        CHECK(code_of(c.create_stream("s", "t", 4, 0).error()) == errc::stream_exists);
        CHECK(code_of(c.create_stream("nope", "t", 4, 0).error()) == errc::scope_not_found);
        CHECK(code_of(c.create_stream("s", "u", 0, 0).error()) == errc::invalid_argument);
        CHECK(code_of(c.create_stream("s", "u", 5000, 0).error()) == errc::invalid_argument);
        CHECK(code_of(c.delete_scope("s")) == errc::scope_not_empty);
        CHECK(code_of(c.delete_stream("s", "t")) == errc::stream_not_sealed);
    }
    store->reset();
    store = open_rocksdb({dir.path()});
    REQUIRE(store);
    controller_state c(**store);
    REQUIRE(!c.load());
    CHECK(c.list_scopes() == std::vector<std::string>{"s"});
    auto rec = c.get_stream("s", "t");
    REQUIRE(rec);
    CHECK(rec->uid == first_uid);
    CHECK(rec->segments.size() == 4);
    REQUIRE(c.seal_stream("s", "t"));
    CHECK(c.seal_stream("s", "t")->state == stream_state::sealed);  // idempotent
    REQUIRE(!c.delete_stream("s", "t"));
    CHECK(code_of(c.get_stream("s", "t").error()) == errc::stream_not_found);
    // A re-created stream gets a new uid, so old segment data can never reappear.
    auto again = c.create_stream("s", "t", 1, 0);
    REQUIRE(again);
    CHECK(again->uid.value > first_uid.value);
    REQUIRE(c.seal_stream("s", "t"));
    REQUIRE(!c.delete_stream("s", "t"));
    REQUIRE(!c.delete_scope("s"));
    CHECK(c.list_scopes().empty());
}
