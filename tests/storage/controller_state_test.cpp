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

TEST_CASE("controller_state applies replicated commands deterministically and moves by snapshot",
          "[storage]") {
    using cmd = controller_state::command;
    std::vector<cmd> log;
    log.push_back({cmd::kind::create_scope, "s", "", 0, 0});
    log.push_back({cmd::kind::create_stream, "s", "t", 3, 1000});
    log.push_back({cmd::kind::create_stream, "s", "t", 3, 2000});  // refused: exists
    log.push_back({cmd::kind::create_stream, "nope", "t", 1, 0});  // refused: no scope
    log.push_back({cmd::kind::seal_stream, "s", "t", 0, 0});
    log.push_back({cmd::kind::create_stream, "s", "u", 2, 3000});
    test::temp_dir d1;
    test::temp_dir d2;
    auto s1 = open_rocksdb({d1.path()});
    auto s2 = open_rocksdb({d2.path()});
    REQUIRE(s1);
    REQUIRE(s2);
    controller_state a(**s1, true);
    controller_state b(**s2, true);
    REQUIRE(!a.load());
    REQUIRE(!b.load());
    uint64_t index = 0;
    for (const auto& c : log) {
        ++index;
        auto bytes = controller_state::encode(c);
        auto decoded = controller_state::decode(bytes);
        REQUIRE(decoded);
        auto ra = a.apply(index, *decoded);
        auto rb = b.apply(index, *decoded);
        REQUIRE(ra);
        REQUIRE(rb);
        CHECK(code_of(ra->error) == code_of(rb->error));
        CHECK(ra->record.uid == rb->record.uid);
    }
    CHECK(a.applied_index() == index);
    CHECK(code_of(controller_state::decode("\x09zz").error()) == errc::malformed_message);
    auto t = a.get_stream("s", "t");
    REQUIRE(t);
    CHECK(t->state == stream_state::sealed);
    // A third replica catches up from a snapshot and agrees after a reload.
    auto snap = a.snapshot();
    REQUIRE(snap);
    test::temp_dir d3;
    auto s3 = open_rocksdb({d3.path()});
    REQUIRE(s3);
    controller_state c(**s3, true);
    REQUIRE(!c.load());
    write_batch wb;
    REQUIRE(!c.stage_install(*snap, index, wb));
    REQUIRE(!(*s3)->write(wb, true));
    REQUIRE(!c.load());
    CHECK(c.applied_index() == index);
    CHECK(c.list_scopes() == a.list_scopes());
    auto u = c.get_stream("s", "u");
    REQUIRE(u);
    CHECK(u->uid == a.get_stream("s", "u")->uid);
    // Applying the same next command on both gives the same uid (next uid moved too).
    auto next = controller_state::command{cmd::kind::create_stream, "s", "v", 1, 0};
    auto ra = a.apply(index + 1, next);
    auto rc = c.apply(index + 1, next);
    REQUIRE(ra);
    REQUIRE(rc);
    CHECK(ra->record.uid == rc->record.uid);
}
