#include "schema/schema.hpp"
#include "storage/storage.hpp"

#include "tests/storage/snapshot_copy.hpp"
#include "tests/support/temp_dir.hpp"
#include <catch2/catch.hpp>
#include <fmt/format.h>

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
    log.push_back(cmd::of(cmd::kind::create_scope, "s", "", 0, 0));
    log.push_back(cmd::of(cmd::kind::create_stream, "s", "t", 3, 1000));
    log.push_back(cmd::of(cmd::kind::create_stream, "s", "t", 3, 2000));  // refused: exists
    log.push_back(cmd::of(cmd::kind::create_stream, "nope", "t", 1, 0));  // refused: no scope
    log.push_back(cmd::of(cmd::kind::seal_stream, "s", "t", 0, 0));
    log.push_back(cmd::of(cmd::kind::create_stream, "s", "u", 2, 3000));
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
    test::temp_dir d3;
    auto s3 = open_rocksdb({d3.path()});
    REQUIRE(s3);
    controller_state c(**s3, true);
    REQUIRE(!c.load());
    test::copy_snapshot(
        **s1, [](store_view&) { return controller_state::state_ranges(); }, **s3, 0, index,
        [&](write_batch& wb) { c.stage_install(index, wb); });
    REQUIRE(!c.load());
    CHECK(c.applied_index() == index);
    CHECK(c.list_scopes() == a.list_scopes());
    auto u = c.get_stream("s", "u");
    REQUIRE(u);
    CHECK(u->uid == a.get_stream("s", "u")->uid);
    // Applying the same next command on both gives the same uid (next uid moved too).
    auto next = cmd::of(cmd::kind::create_stream, "s", "v", 1, 0);
    auto ra = a.apply(index + 1, next);
    auto rc = c.apply(index + 1, next);
    REQUIRE(ra);
    REQUIRE(rc);
    CHECK(ra->record.uid == rc->record.uid);
}

namespace {

using cmd = controller_state::command;

segment_id id(uint32_t epoch, uint32_t number) {
    return segment_id::make(epoch, number);
}

scale_request split_of(const stream_record& rec, segment_id seg, uint32_t parts) {
    scale_request req;
    req.expected_epoch = rec.epoch;
    req.seal = {seg};
    for (const auto& r : rec.segments) {
        if (r.id == seg) {
            req.create = *split_range({r.key_start, r.key_end}, parts);
        }
    }
    return req;
}

std::string error_text(const caf::error& err) {
    return render_error(err);
}

}  // namespace

TEST_CASE("controller_state scales a stream through recorded epochs", "[storage][scaling]") {
    test::temp_dir dir;
    auto store = open_rocksdb({dir.path()});
    REQUIRE(store);
    controller_state c(**store);
    REQUIRE(!c.load());
    REQUIRE(!c.create_scope("s"));
    auto rec = c.create_stream("s", "t", 2, 1000);
    REQUIRE(rec);
    CHECK(rec->policy == scaling_policy{scale_type::fixed, 0, 2, 2});
    CHECK(rec->next_number == 2);

    // Split 0.1 into three: epoch 1 is recorded at once, the current epoch moves at done.
    auto split = c.scale_begin("s", "t", split_of(*rec, id(0, 1), 3), 2000);
    REQUIRE(split);
    CHECK(split->epoch == 1);
    REQUIRE(split->created.size() == 3);
    CHECK(split->created[0].id == id(1, 2));
    CHECK(split->created[2].id == id(1, 4));
    CHECK(split->created[0].key_start == 0.5);
    CHECK(split->created[2].key_end == 1.0);
    auto mid = c.get_stream("s", "t");
    REQUIRE(mid);
    CHECK(mid->epoch == 0);
    CHECK(mid->has_transition);
    CHECK(mid->segments == rec->segments);
    // Successors are told once the scale is done (then every predecessor is sealed).
    auto early = c.successors("s", "t", id(0, 1));
    REQUIRE(early);
    CHECK(!early->sealed);
    CHECK(early->list.empty());
    CHECK(!c.successors("s", "t", id(0, 0))->sealed);
    CHECK(code_of(c.successors("s", "t", id(7, 7)).error()) == errc::segment_not_found);

    // While it runs: another scale, a seal and an update are refused with conflict.
    auto other = c.scale_begin("s", "t", split_of(*rec, id(0, 0), 2), 2100);
    CHECK(code_of(other.error()) == errc::conflict);
    CHECK(error_text(other.error()).find("scale in progress") != std::string::npos);
    CHECK(code_of(c.seal_stream("s", "t").error()) == errc::conflict);
    CHECK(code_of(c.update_stream("s", "t", {scale_type::by_events, 10, 2, 1}).error()) ==
          errc::conflict);
    // The same scale asked again (a client retry) answers the running scale.
    auto again = c.scale_begin("s", "t", split_of(*rec, id(0, 1), 3), 2200);
    REQUIRE(again);
    CHECK(*again == *split);

    // Done: lengths recorded, the new epoch current; repeating it changes nothing.
    CHECK(code_of(c.scale_done("s", "t", 1, {}).error()) == errc::invalid_argument);
    CHECK(code_of(c.scale_done("s", "t", 2, {{id(0, 1), 10}}).error()) == errc::invalid_argument);
    auto done = c.scale_done("s", "t", 1, {{id(0, 1), 4096}});
    REQUIRE(done);
    auto succ = c.successors("s", "t", id(0, 1));
    REQUIRE(succ);
    CHECK(succ->sealed);
    REQUIRE(succ->list.size() == 3);
    CHECK(succ->list[1].predecessors == std::vector<segment_id>{id(0, 1)});
    CHECK(!c.successors("s", "t", id(0, 0))->sealed);
    CHECK(done->epoch == 1);
    CHECK(!done->has_transition);
    REQUIRE(done->segments.size() == 4);
    CHECK(done->segments[0].id == id(0, 0));
    CHECK(done->segments[1].id == id(1, 2));
    REQUIRE(c.scale_done("s", "t", 1, {{id(0, 1), 4096}}));
    CHECK(c.get_stream("s", "t")->epoch == 1);
    // A retry after done still gets the scale's answer.
    auto late = c.scale_begin("s", "t", split_of(*rec, id(0, 1), 3), 2300);
    REQUIRE(late);
    CHECK(*late == *split);

    // Merge 1.3 and 1.4 (with their keys adjacent); 0.0 and 1.3 are not adjacent.
    auto cur = *c.get_stream("s", "t");
    scale_request far{1, {id(0, 0), id(1, 3)}, {{0.0, 0.25}, {0.25, 0.5}}, false};
    auto refused = c.scale_begin("s", "t", far, 3000);
    CHECK(code_of(refused.error()) == errc::invalid_argument);
    CHECK(error_text(refused.error()).find("segments 0.0 and 1.3 are not adjacent") !=
          std::string::npos);
    scale_request gone{1, {id(0, 1)}, {{0.5, 1.0}}, false};
    CHECK(error_text(c.scale_begin("s", "t", gone, 3000).error())
              .find("segment 0.1 is not in the current epoch (1)") != std::string::npos);
    scale_request short_cover{1, {id(1, 3), id(1, 4)}, {{cur.segments[2].key_start, 0.9}}, false};
    CHECK(code_of(c.scale_begin("s", "t", short_cover, 3000).error()) == errc::invalid_argument);
    scale_request automatic{1, {id(1, 3), id(1, 4)}, {{cur.segments[2].key_start, 1.0}}, true};
    CHECK(error_text(c.scale_begin("s", "t", automatic, 3000).error()).find("fixed policy") !=
          std::string::npos);
    scale_request merge{1, {id(1, 4), id(1, 3)}, {{cur.segments[2].key_start, 1.0}}, false};
    auto merged = c.scale_begin("s", "t", merge, 3000);
    REQUIRE(merged);
    CHECK(merged->epoch == 2);
    REQUIRE(merged->created.size() == 1);
    CHECK(merged->created[0].id == id(2, 5));
    REQUIRE(c.scale_done("s", "t", 2, {{id(1, 3), 7}, {id(1, 4), 8}}));

    auto h = c.history("s", "t");
    REQUIRE(h);
    REQUIRE(h->size() == 3);
    CHECK((*h)[0].created_ms == 1000);
    CHECK((*h)[1].created_ms == 2000);
    CHECK((*h)[0].segments[1].sealed_length == 4096);
    CHECK((*h)[0].segments[0].sealed_length == -1);
    CHECK((*h)[1].segments[2].sealed_length == 7);  // 1.3, in epoch 1
    CHECK((*h)[2].segments.back().predecessors == std::vector<segment_id>{id(1, 3), id(1, 4)});
    auto succ3 = c.successors("s", "t", id(1, 4));
    REQUIRE(succ3);
    REQUIRE(succ3->list.size() == 1);
    CHECK(succ3->list[0].range.id == id(2, 5));

    // Cuts: the head is the first epoch at 0; a cut is checked against the history.
    auto head = c.head_cut("s", "t");
    REQUIRE(head);
    CHECK(to_string(*head) == fmt::format("{}:0.0@0,0.1@0", rec->uid.value));
    auto uid = std::to_string(rec->uid.value);
    auto resolve = [&](const std::string& text) {
        auto parsed = parse_stream_cut(text);
        REQUIRE(parsed);
        return c.resolve_cut("s", "t", *parsed);
    };
    auto mixed = resolve(uid + ":2.5@0,1.2@5,0.0@3");
    REQUIRE(mixed);
    CHECK(to_string(*mixed) == uid + ":0.0@3,1.2@5,2.5@0");  // sorted by key start
    CHECK(mixed->segments[1].range.key_start == 0.5);
    for (const auto& bad : {uid + ":0.0@0", uid + ":0.0@0,0.1@4097", uid + ":0.0@0,0.1@0,2.5@0",
                            uid + ":0.0@0,9.9@0", std::string("999:0.0@0,0.1@0")}) {
        CAPTURE(bad);
        CHECK(code_of(resolve(bad).error()) == errc::invalid_argument);
    }
    CHECK(resolve(uid + ":0.0@0,0.1@4096"));  // at the end of a sealed segment

    // Everything survives a restart, the mid-scale state included.
    auto mid2 = c.scale_begin("s", "t", split_of(*c.get_stream("s", "t"), id(0, 0), 2), 4000);
    REQUIRE(mid2);
    auto before = *c.history("s", "t");
    auto before_rec = *c.get_stream("s", "t");
    controller_state reopened(**store);
    REQUIRE(!reopened.load());
    CHECK(*reopened.history("s", "t") == before);
    auto r = reopened.get_stream("s", "t");
    REQUIRE(r);
    CHECK(r->has_transition);
    CHECK(r->transition == before_rec.transition);
    CHECK(r->next_number == before_rec.next_number);
    CHECK(r->segments == before_rec.segments);
    REQUIRE(reopened.scale_done("s", "t", 3, {{id(0, 0), 1}}));
    controller_state third(**store);
    REQUIRE(!third.load());
    CHECK(third.history("s", "t")->at(0).segments[0].sealed_length == 1);
    CHECK(third.get_stream("s", "t")->epoch == 3);

    // Seal and delete take the history along; a new stream of the same name starts over.
    REQUIRE(third.seal_stream("s", "t"));
    auto sealed = *third.get_stream("s", "t");
    CHECK(code_of(third.scale_begin("s", "t", split_of(sealed, id(3, 7), 2), 5000).error()) ==
          errc::stream_sealed);
    CHECK(third.scale_begin("s", "t", merge, 5000));  // a late retry of a done scale still answers
    CHECK(third.successors("s", "t", id(3, 7))->stream_sealed);
    REQUIRE(!third.delete_stream("s", "t"));
    REQUIRE(third.create_stream("s", "t", 1, 6000));
    CHECK(third.history("s", "t")->size() == 1);
    controller_state fourth(**store);
    REQUIRE(!fourth.load());
    CHECK(fourth.history("s", "t")->size() == 1);
}

TEST_CASE("controller_state updates policies and validates them", "[storage][scaling]") {
    test::temp_dir dir;
    auto store = open_rocksdb({dir.path()});
    REQUIRE(store);
    controller_state c(**store);
    REQUIRE(!c.load());
    REQUIRE(!c.create_scope("s"));
    scaling_policy events{scale_type::by_events, 1000, 2, 2};
    CHECK(code_of(c.create_stream("s", "t", 1, 0, events).error()) == errc::invalid_argument);
    CHECK(code_of(c.create_stream("s", "t", 2, 0, {scale_type::by_events, 0, 2, 2}).error()) ==
          errc::invalid_argument);
    auto rec = c.create_stream("s", "t", 2, 0, events);
    REQUIRE(rec);
    CHECK(rec->policy == events);
    CHECK(code_of(c.update_stream("s", "t", {scale_type::by_kbytes, 1, 1, 1}).error()) ==
          errc::invalid_argument);
    auto updated = c.update_stream("s", "t", {scale_type::fixed, 0, 2, 5});
    REQUIRE(updated);
    CHECK(updated->segments.size() == 2);  // an update never rescales
    controller_state reopened(**store);
    REQUIRE(!reopened.load());
    CHECK(reopened.get_stream("s", "t")->policy == scaling_policy{scale_type::fixed, 0, 2, 5});
    // An automatic scale must not go below the policy's minimum.
    REQUIRE(reopened.update_stream("s", "t", events));
    scale_request below{0, {id(0, 0), id(0, 1)}, {{0.0, 1.0}}, true};
    CHECK(error_text(reopened.scale_begin("s", "t", below, 0).error()).find("minimum is 2") !=
          std::string::npos);
    below.automatic = false;  // an administrator may
    REQUIRE(reopened.scale_begin("s", "t", below, 0));
}

TEST_CASE("controller_state loads streams written before history existed", "[storage][scaling]") {
    test::temp_dir dir;
    auto store = open_rocksdb({dir.path()});
    REQUIRE(store);
    {
        controller_state c(**store);
        REQUIRE(!c.load());
        REQUIRE(!c.create_scope("s"));
        REQUIRE(c.create_stream("s", "old", 3, 100));
    }
    // Rewrite it as the first version stored it: a record without policy or next number, no
    // history key.
    stream_record legacy;
    legacy.scope = "s";
    legacy.name = "old";
    legacy.uid = stream_uid{1};
    legacy.segments = equal_ranges(3, 0, 0);
    legacy.created_ms = 100;
    write_batch b;
    b.put("Mts/old", encode_stream_record(legacy));
    b.erase_range("Mh", "Mi");
    REQUIRE(!(*store)->write(b, true));
    controller_state c(**store);
    REQUIRE(!c.load());
    auto h = c.history("s", "old");
    REQUIRE(h);
    REQUIRE(h->size() == 1);
    CHECK(h->front().segments.size() == 3);
    CHECK(h->front().created_ms == 100);
    auto rec = c.get_stream("s", "old");
    CHECK(rec->next_number == 3);
    auto res = c.scale_begin("s", "old", split_of(*rec, id(0, 2), 2), 200);
    REQUIRE(res);
    CHECK(res->created[0].id == id(1, 3));
    controller_state reopened(**store);
    REQUIRE(!reopened.load());
    CHECK(reopened.history("s", "old")->size() == 2);
}

TEST_CASE("replicated scale commands agree on every replica and move by snapshot",
          "[storage][scaling]") {
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
    std::vector<cmd> log;
    log.push_back(cmd::of(cmd::kind::create_scope, "s"));
    auto create = cmd::of(cmd::kind::create_stream, "s", "t", 2, 10);
    create.policy = {scale_type::by_kbytes, 100, 3, 1};
    log.push_back(create);
    auto begin = cmd::of(cmd::kind::scale_begin, "s", "t", 0, 20);
    begin.scale = {0, {id(0, 0)}, {{0.0, 0.25}, {0.25, 0.5}}, true};
    log.push_back(begin);
    log.push_back(begin);  // proposed twice (a retry): the second is a no-op
    auto done = cmd::of(cmd::kind::scale_done, "s", "t");
    done.target_epoch = 1;
    done.sealed_lengths = {{id(0, 0), 55}};
    log.push_back(done);
    log.push_back(done);
    auto update = cmd::of(cmd::kind::update_stream, "s", "t");
    update.policy = {scale_type::fixed, 0, 2, 3};
    log.push_back(update);
    uint64_t index = 0;
    for (const auto& c : log) {
        ++index;
        auto decoded = controller_state::decode(controller_state::encode(c));
        REQUIRE(decoded);
        auto ra = a.apply(index, *decoded);
        auto rb = b.apply(index, *decoded);
        REQUIRE(ra);
        REQUIRE(rb);
        CAPTURE(index);
        CHECK(!ra->error);
        CHECK(code_of(ra->error) == code_of(rb->error));
        CHECK(ra->scale == rb->scale);
    }
    CHECK(*a.history("s", "t") == *b.history("s", "t"));
    CHECK(a.get_stream("s", "t")->epoch == 1);
    CHECK(a.get_stream("s", "t")->policy.min_segments == 3);
    test::temp_dir d3;
    auto s3 = open_rocksdb({d3.path()});
    REQUIRE(s3);
    controller_state c3(**s3, true);
    REQUIRE(!c3.load());
    test::copy_snapshot(
        **s1, [](store_view&) { return controller_state::state_ranges(); }, **s3, 0, index,
        [&](write_batch& wb) { c3.stage_install(index, wb); });
    REQUIRE(!c3.load());
    CHECK(*c3.history("s", "t") == *a.history("s", "t"));
    CHECK(c3.get_stream("s", "t")->next_number == a.get_stream("s", "t")->next_number);
}
