// The rules of reader groups (storage/reader_group.hpp) on a hand-made history, and their home in
// the controller state (commands, persistence, snapshots).

#include "schema/schema.hpp"
#include "storage/storage.hpp"

#include "tests/storage/snapshot_copy.hpp"
#include "tests/support/temp_dir.hpp"
#include <catch2/catch.hpp>

using namespace pravaha;
using namespace pravaha::storage;

namespace {

constexpr stream_uid uid{7};

segment_id seg(uint32_t epoch, uint32_t number) {
    return segment_id::make(epoch, number);
}

segment_key key(uint32_t epoch, uint32_t number) {
    return segment_key{uid, seg(epoch, number)};
}

// One stream: epoch 0 = A [0,.5) B [.5,1); epoch 1 = A split into C [0,.25) D [.25,.5);
// epoch 2 = D and B merged into E [.25,1).
struct scaled_stream {
    std::vector<epoch_info> h{
        {0, 0, {{{seg(0, 0), 0, .5}, -1, {}}, {{seg(0, 1), .5, 1}, -1, {}}}},
        {1,
         0,
         {{{seg(1, 2), 0, .25}, -1, {seg(0, 0)}},
          {{seg(1, 3), .25, .5}, -1, {seg(0, 0)}},
          {{seg(0, 1), .5, 1}, -1, {}}}},
        {2, 0, {{{seg(1, 2), 0, .25}, -1, {}}, {{seg(2, 4), .25, 1}, -1, {seg(1, 3), seg(0, 1)}}}},
    };

    group_streams view() const {
        group_streams s;
        s.successors = [this](const segment_key& k) {
            std::vector<successor> out;
            for (size_t e = h.size(); e-- > 0;) {
                bool in = false;
                for (const auto& x : h[e].segments) {
                    in = in || x.range.id == k.segment;
                }
                if (!in) {
                    continue;
                }
                if (e + 1 < h.size()) {
                    for (const auto& x : h[e + 1].segments) {
                        for (auto p : x.predecessors) {
                            if (p == k.segment) {
                                out.push_back({x.range, x.predecessors});
                            }
                        }
                    }
                }
                break;
            }
            return out;
        };
        s.range = [this](const segment_key& k) -> std::optional<segment_range> {
            for (const auto& e : h) {
                for (const auto& x : e.segments) {
                    if (x.range.id == k.segment) {
                        return x.range;
                    }
                }
            }
            return std::nullopt;
        };
        return s;
    }
};

// A group over the stream from `cut` (epoch 0 at 0 by default).
reader_group_record group_from(std::vector<cut_segment> cut = {{{seg(0, 0), 0, .5}, 0},
                                                               {{seg(0, 1), .5, 1}, 0}}) {
    group_config cfg;
    cfg.streams.push_back(group_stream{"s", "t", stream_cut{uid, std::move(cut)}, {uid, {}}});
    return make_group("s", "g", cfg, 1000);
}

group_sync report(const std::string& reader, const group_assignment& a) {
    group_sync r;
    r.reader = reader;
    r.session = a.session;
    for (const auto& s : a.segments) {
        r.positions.push_back({s.key, s.offset});
    }
    return r;
}

std::vector<segment_key> keys_of(const group_assignment& a) {
    std::vector<segment_key> out;
    for (const auto& s : a.segments) {
        out.push_back(s.key);
    }
    return out;
}

}  // namespace

TEST_CASE("a reader group shares its segments fairly and moves them at their positions",
          "[storage][groups]") {
    scaled_stream st;
    auto v = st.view();
    // Four segments: epoch 1's three plus nothing else would be three; use a fixed cut of 4.
    auto g =
        group_from({{{seg(1, 2), 0, .25}, 5}, {{seg(1, 3), .25, .5}, 6}, {{seg(0, 1), .5, 1}, 7}});
    auto a1 = group_join(g, group_sync{"r1", 0, {}, {}, {}, {}, true, 11}, v);
    REQUIRE(a1);
    CHECK(a1->segments.size() == 3);
    CHECK(a1->segments[0].offset == 7);  // in key order: segment 0.1 (B) first
    check_group(g);

    // Same name, another reader object: refused; the same join retried: the same session.
    CHECK(code_of(group_join(g, group_sync{"r1", 0, {}, {}, {}, {}, true, 12}, v).error()) ==
          errc::reader_exists);
    auto again = group_join(g, group_sync{"r1", 0, {}, {}, {}, {}, true, 11}, v);
    REQUIRE(again);
    CHECK(again->session == a1->session);
    // Reader names follow the rules of every name (no empty, NUL or slash-bearing names).
    for (const auto* bad_name : {"", "a/b", "with space"}) {
        CHECK(
            code_of(group_join(g, group_sync{bad_name, 0, {}, {}, {}, {}, true, 13}, v).error()) ==
            errc::invalid_name);
    }
    CHECK(code_of(group_join(g, group_sync{std::string("n\0ul", 4), 0, {}, {}, {}, {}, true, 14}, v)
                      .error()) == errc::invalid_name);

    // r2 joins: nothing unassigned, so r1 is told to give one back (3 / 2 = 1 each at least).
    auto a2 = group_join(g, group_sync{"r2", 0, {}, {}, {}, {}, true, 21}, v);
    REQUIRE(a2);
    CHECK(a2->segments.empty());
    auto s1 = report("r1", *a1);
    s1.positions[0].offset = 100;
    auto b1 = group_sync_reader(g, s1, v);
    REQUIRE(b1);
    REQUIRE(b1->release.size() == 1);
    auto victim = b1->release[0];
    CHECK(victim == key(1, 3));  // its highest
    // It releases at the offset it delivered up to, beyond its last report.
    auto s1b = report("r1", *b1);
    s1b.released.push_back({victim, 250});
    auto c1 = group_sync_reader(g, s1b, v);
    REQUIRE(c1);
    CHECK(c1->segments.size() == 2);
    CHECK(c1->release.empty());
    auto c2 = group_sync_reader(g, report("r2", *a2), v);
    REQUIRE(c2);
    REQUIRE(c2->segments.size() == 1);
    CHECK(c2->segments[0].key == victim);
    CHECK(c2->segments[0].offset == 250);
    check_group(g);

    // A report of another session is refused; r2's lease passes: its segment goes back at its
    // last reported offset, and r1 takes it.
    auto stale = report("r2", *c2);
    stale.session = 999;
    CHECK(code_of(group_sync_reader(g, stale, v).error()) == errc::reader_offline);
    auto seen = g.readers.at("r2").syncs;  // what the lease actor saw when the lease passed
    auto s2 = report("r2", *c2);
    s2.positions[0].offset = 300;
    REQUIRE(group_sync_reader(g, s2, v));
    CHECK(!group_offline(g, "r2", 999, seen + 1, v));  // a stale session changes nothing
    // A report applied after the lease actor looked renewed the reader: its offline is void
    // (else the reader, told its report was taken, reads on while another takes its segment).
    CHECK(!group_offline(g, "r2", c2->session, seen, v));
    REQUIRE(g.readers.count("r2") == 1);
    CHECK(group_offline(g, "r2", c2->session, seen + 1, v));
    CHECK(code_of(group_sync_reader(g, report("r2", *c2), v).error()) == errc::reader_offline);
    auto d1 = group_sync_reader(g, report("r1", *c1), v);
    REQUIRE(d1);
    CHECK(d1->segments.size() == 3);
    for (const auto& s : d1->segments) {
        if (s.key == victim) {
            CHECK(s.offset == 300);
        }
    }
    check_group(g);
}

TEST_CASE("a reader group hands out a successor once every predecessor is read to its end",
          "[storage][groups]") {
    scaled_stream st;
    auto v = st.view();
    auto g = group_from();
    auto a = group_join(g, group_sync{"r", 0, {}, {}, {}, {}, true, 1}, v);
    REQUIRE(a);
    REQUIRE(a->segments.size() == 2);
    // A (0.0) ends: its split successors C and D are unassigned at 0 and taken.
    auto r = report("r", *a);
    r.finished.push_back({key(0, 0), 40});
    auto b = group_sync_reader(g, r, v);
    REQUIRE(b);
    CHECK(keys_of(*b) == std::vector<segment_key>{key(0, 1), key(1, 2), key(1, 3)});
    CHECK(b->segments[1].offset == 0);
    CHECK(g.finished.empty());
    // D (1.3) ends: E waits for B (0.1).
    r = report("r", *b);
    r.finished.push_back({key(1, 3), 10});
    auto c = group_sync_reader(g, r, v);
    REQUIRE(c);
    CHECK(keys_of(*c) == std::vector<segment_key>{key(0, 1), key(1, 2)});
    CHECK(g.future.count(key(2, 4)) == 1);
    CHECK(g.finished.at(key(1, 3)) == 10);
    check_group(g);
    // B ends: E is handed out, D forgotten.
    r = report("r", *c);
    r.finished.push_back({key(0, 1), 20});
    auto d = group_sync_reader(g, r, v);
    REQUIRE(d);
    CHECK(keys_of(*d) == std::vector<segment_key>{key(1, 2), key(2, 4)});
    CHECK(g.future.empty());
    CHECK(g.finished.empty());
    // A report of a segment it does not own is ignored; E and C end: nothing follows, both stay
    // as the group's end.
    r = report("r", *d);
    r.finished.push_back({key(1, 2), 5});
    r.finished.push_back({key(2, 4), 9});
    r.finished.push_back({key(0, 0), 1});
    auto e = group_sync_reader(g, r, v);
    REQUIRE(e);
    CHECK(e->segments.empty());
    CHECK(g.finished.size() == 2);
    check_group(g);
}

TEST_CASE("a group's checkpoint is one cut of positions recorded at different moments",
          "[storage][groups]") {
    scaled_stream st;
    auto v = st.view();
    auto g = group_from();
    auto a1 = group_join(g, group_sync{"r1", 0, {}, {}, {}, {}, true, 1}, v);
    auto a2 = group_join(g, group_sync{"r2", 0, {}, {}, {}, {}, true, 2}, v);
    REQUIRE(a1);
    REQUIRE(a2);
    // r1 took both; r2 joined with nothing left: r1 gives one back.
    auto b1 = group_sync_reader(g, report("r1", *a1), v);
    REQUIRE(b1);
    REQUIRE(b1->release.size() == 1);
    auto s = report("r1", *b1);
    s.released.push_back({b1->release[0], 0});
    b1 = group_sync_reader(g, s, v);
    auto b2 = group_sync_reader(g, report("r2", *a2), v);
    REQUIRE(b1);
    REQUIRE(b2);
    REQUIRE(b1->segments.size() == 1);
    REQUIRE(b2->segments.size() == 1);
    CHECK(b1->segments[0].key == key(0, 0));

    REQUIRE(!group_checkpoint_begin(g, "cp1", false, 2000, v));
    REQUIRE(!group_checkpoint_begin(g, "cp1", false, 2001, v));  // idempotent
    REQUIRE(!group_checkpoint_begin(g, "auto", true, 2002, v));
    auto c1 = group_sync_reader(g, report("r1", *b1), v);
    REQUIRE(c1);
    CHECK(c1->checkpoints == std::vector<std::string>{"cp1"});
    CHECK(c1->silent_checkpoints == std::vector<std::string>{"auto"});
    // r1 records cp1 at offset 30 of A.
    s = report("r1", *c1);
    s.positions[0].offset = 30;
    s.recorded = {"cp1"};
    c1 = group_sync_reader(g, s, v);
    REQUIRE(c1);
    CHECK(c1->checkpoints.empty());
    // r1 then reads A to its end at 50 while cp1 is pending: A stays with it, done, so that its
    // successors do not enter a cut that holds A at 30.
    s = report("r1", *c1);
    s.finished.push_back({key(0, 0), 50});
    c1 = group_sync_reader(g, s, v);
    REQUIRE(c1);
    CHECK(c1->segments.empty());
    CHECK(g.unassigned.empty());
    CHECK(!group_checkpoint_of(g, "cp1")->complete);
    // r2 records cp1 and auto: cp1 completes as a cut; A's successors are handed out after.
    auto c2 = group_sync_reader(g, report("r2", *b2), v);
    REQUIRE(c2);
    s = report("r2", *c2);
    s.positions[0].offset = 12;
    s.recorded = {"cp1"};
    REQUIRE(group_sync_reader(g, s, v));
    const auto* cp = group_checkpoint_of(g, "cp1");
    REQUIRE(cp->complete);
    CHECK(!cp->forced);  // every reader recorded it
    REQUIRE(cp->cuts.size() == 1);
    CHECK(cp->cuts[0].stream == uid);
    REQUIRE(cp->cuts[0].segments.size() == 2);
    CHECK(cp->cuts[0].segments[0].range.id == seg(0, 0));
    CHECK(cp->cuts[0].segments[0].offset == 30);
    CHECK(cp->cuts[0].segments[1].offset == 12);
    CHECK(!group_checkpoint_of(g, "auto")->complete);  // nobody recorded it yet
    s = report("r1", *c1);
    s.recorded = {"auto"};
    REQUIRE(group_sync_reader(g, s, v));
    s = report("r2", *c2);
    s.positions[0].offset = 14;
    s.recorded = {"auto"};
    REQUIRE(group_sync_reader(g, s, v));
    REQUIRE(group_checkpoint_of(g, "auto")->complete);
    CHECK(group_checkpoint_of(g, "auto")->cuts[0].segments[0].offset == 50);  // A at its end
    CHECK(group_checkpoint_of(g, "auto")->cuts[0].segments[1].offset == 14);
    // Nothing pending: A's successors C and D are out. r2 took none in the sync that completed
    // the checkpoint (r1 had nothing: r2's share was floor(3 / 2) = 1), r1 takes both.
    CHECK(g.readers.at("r2").owned.size() == 1);
    auto d1 = group_sync_reader(g, report("r1", *c1), v);
    REQUIRE(d1);
    CHECK(keys_of(*d1) == std::vector<segment_key>{key(1, 2), key(1, 3)});
    CHECK(g.unassigned.empty());
    check_group(g);

    // At most three pending; a group without readers completes a checkpoint at once.
    REQUIRE(!group_checkpoint_begin(g, "x1", false, 3000, v));
    REQUIRE(!group_checkpoint_begin(g, "x2", false, 3000, v));
    REQUIRE(!group_checkpoint_begin(g, "x3", false, 3000, v));
    CHECK(code_of(group_checkpoint_begin(g, "x4", false, 3000, v)) == errc::conflict);
    auto empty = group_from();
    REQUIRE(!group_checkpoint_begin(empty, "now", false, 1, v));
    CHECK(group_checkpoint_of(empty, "now")->complete);
    CHECK(group_checkpoint_of(empty, "now")->cuts[0].segments.size() == 2);
}

TEST_CASE("a reset rewinds a group to a checkpoint and a new generation", "[storage][groups]") {
    scaled_stream st;
    auto v = st.view();
    auto g = group_from();
    auto a = group_join(g, group_sync{"r", 0, {}, {}, {}, {}, true, 1}, v);
    REQUIRE(a);
    auto s = report("r", *a);
    s.positions[0].offset = 8;
    s.positions[1].offset = 9;
    REQUIRE(group_sync_reader(g, s, v));
    REQUIRE(!group_checkpoint_begin(g, "cp", false, 5, v));
    s.recorded = {"cp"};
    REQUIRE(group_sync_reader(g, s, v));
    REQUIRE(group_checkpoint_of(g, "cp")->complete);
    s = report("r", *a);
    s.positions[0].offset = 80;
    s.positions[1].offset = 90;
    REQUIRE(group_sync_reader(g, s, v));

    auto cuts = group_checkpoint_of(g, "cp")->cuts;
    CHECK(code_of(group_reset(g, 3, cuts)) == errc::invalid_argument);
    REQUIRE(!group_reset(g, 0, cuts));
    CHECK(g.generation == 1);
    CHECK(g.readers.empty());
    CHECK(g.unassigned.at(key(0, 0)) == 8);
    CHECK(g.unassigned.at(key(0, 1)) == 9);
    CHECK(code_of(group_sync_reader(g, s, v).error()) == errc::reader_offline);
    REQUIRE(!group_reset(g, 0, cuts));  // a retried reset: done already
    CHECK(g.generation == 1);
    CHECK(code_of(group_reset(g, 1, {})) == errc::invalid_argument);
    auto b = group_join(g, group_sync{"r", 0, {}, {}, {}, {}, true, 2}, v);
    REQUIRE(b);
    CHECK(b->generation == 1);
    CHECK(b->segments.size() == 2);
    check_group(g);
}

TEST_CASE("a group stops at its end cut and a leaving reader's segments stay where it was",
          "[storage][groups]") {
    scaled_stream st;
    auto v = st.view();
    auto g = group_from();
    g.config.streams[0].end = stream_cut{uid, {{{seg(0, 0), 0, .5}, 40}, {{seg(0, 1), .5, 1}, 60}}};
    auto a = group_join(g, group_sync{"r", 0, {}, {}, {}, {}, true, 1}, v);
    REQUIRE(a);
    REQUIRE(a->segments.size() == 2);
    CHECK(a->segments[0].end_offset == 40);
    CHECK(a->segments[1].end_offset == 60);
    auto s = report("r", *a);
    s.finished.push_back({key(0, 0), 40});
    auto b = group_sync_reader(g, s, v);
    REQUIRE(b);
    CHECK(b->segments.size() == 1);  // nothing after A: its successors lie past the end cut
    CHECK(g.finished.at(key(0, 0)) == 40);
    REQUIRE(!group_checkpoint_begin(g, "cp", false, 1, v));
    s = report("r", *b);
    s.positions[0].offset = 33;
    REQUIRE(!group_leave(g, s, v));
    CHECK(g.readers.empty());
    CHECK(g.unassigned.at(key(0, 1)) == 33);
    CHECK(group_checkpoint_of(g, "cp")->complete);  // nobody left to wait for
    CHECK(group_checkpoint_of(g, "cp")->forced);    // without r's recorded position
    CHECK(code_of(group_leave(g, s, v)) == errc::reader_offline);
    check_group(g);
}

TEST_CASE("controller_state keeps reader groups through commands, restarts and snapshots",
          "[storage][groups]") {
    using cmd = controller_state::command;
    using kind = cmd::kind;
    test::temp_dir dir;
    auto store = open_rocksdb({dir.path() + "/a"});
    REQUIRE(store);
    controller_state c(**store, true);
    REQUIRE(!c.load());
    uint64_t index = 0;
    auto apply = [&](const cmd& x) {
        auto out = c.apply(++index, x);
        REQUIRE(out);
        return *out;
    };
    REQUIRE(!apply(cmd::of(kind::create_scope, "s")).error);
    auto made = apply(cmd::of(kind::create_stream, "s", "t", 2, 10));
    REQUIRE(!made.error);
    auto head = c.head_cut("s", "t");
    REQUIRE(head);

    auto create = cmd::of(kind::group_create, "s", "g", 0, 20);
    create.group.streams.push_back({"s", "t", *head, {}});
    auto bad = create;
    bad.group.lease_ms = 5;
    CHECK(code_of(apply(bad).error) == errc::invalid_argument);
    bad = create;
    bad.group.streams[0].name = "nope";
    CHECK(code_of(apply(bad).error) == errc::stream_not_found);
    bad = cmd::of(kind::group_create, "s", "bad/name", 0, 20);
    bad.group = create.group;
    CHECK(code_of(apply(bad).error) == errc::invalid_name);
    auto created = apply(create);
    REQUIRE(!created.error);
    CHECK(created.group.unassigned.size() == 2);
    CHECK(!apply(create).error);  // a retried create
    bad = create;
    bad.group.lease_ms = 20000;
    CHECK(code_of(apply(bad).error) == errc::group_exists);
    CHECK(code_of(apply(cmd::of(kind::delete_scope, "s")).error) == errc::scope_not_empty);

    auto join = cmd::of(kind::group_join, "s", "g");
    join.sync.reader = "r";
    join.sync.nonce = 5;
    auto joined = apply(join);
    REQUIRE(!joined.error);
    CHECK(joined.assignment.segments.size() == 2);
    auto sync = cmd::of(kind::group_sync, "s", "g");
    sync.sync = group_sync{"r", joined.assignment.session, {}, {}, {}, {}, true, 0};
    for (const auto& x : joined.assignment.segments) {
        sync.sync.positions.push_back({x.key, 77});
    }
    REQUIRE(!apply(sync).error);
    auto cp = cmd::of(kind::group_checkpoint, "s", "g", 0, 30);
    cp.checkpoint = "one";
    REQUIRE(!apply(cp).error);
    CHECK(code_of(apply(cmd::of(kind::group_join, "s", "other")).error) == errc::group_not_found);

    // Restart: the same groups.
    auto before = c.get_group("s", "g");
    REQUIRE(before);
    CHECK(before->readers.at("r").owned.begin()->second == 77);
    {
        controller_state again(**store, true);
        REQUIRE(!again.load());
        auto after = again.get_group("s", "g");
        REQUIRE(after);
        CHECK(*after == *before);
        CHECK(again.list_groups("s") == std::vector<std::string>{"g"});
    }
    // A follower installs a snapshot: the same groups.
    auto other = open_rocksdb({dir.path() + "/b"});
    REQUIRE(other);
    controller_state follower(**other, true);
    REQUIRE(!follower.load());
    test::copy_snapshot(
        **store, [](store_view&) { return controller_state::state_ranges(); }, **other, 0, index,
        [&](write_batch& wb) { follower.stage_install(index, wb); });
    REQUIRE(!follower.load());
    auto installed = follower.get_group("s", "g");
    REQUIRE(installed);
    CHECK(*installed == *before);

    // An offline of a stale session changes nothing; the real one frees the segments.
    auto off = cmd::of(kind::group_offline, "s", "g");
    off.sync.reader = "r";
    off.sync.session = joined.assignment.session + 1;
    CHECK(!apply(off).changed);
    off.sync.session = joined.assignment.session;
    off.sync.syncs = c.get_group("s", "g")->readers.at("r").syncs + 1;  // seen a report too many
    CHECK(!apply(off).changed);
    off.sync.syncs = c.get_group("s", "g")->readers.at("r").syncs;
    CHECK(apply(off).changed);
    CHECK(c.get_group("s", "g")->readers.empty());
    REQUIRE(!apply(cmd::of(kind::seal_stream, "s", "t")).error);
    CHECK(code_of(apply(cmd::of(kind::delete_stream, "s", "t")).error) == errc::conflict);
    REQUIRE(!apply(cmd::of(kind::group_delete, "s", "g")).error);
    REQUIRE(!apply(cmd::of(kind::delete_stream, "s", "t")).error);
    CHECK(code_of(c.get_group("s", "g").error()) == errc::group_not_found);
    CHECK(code_of(apply(cmd::of(kind::group_delete, "s", "g")).error) == errc::group_not_found);
    CHECK(c.all_groups().empty());
}

TEST_CASE("a group hands out an uneven scale's successors together, so its checkpoints stay cuts",
          "[storage][groups]") {
    // P [0,.5) and Q [.5,1) replaced by R [0,.3) (from P) and S [.3,1) (from P and Q).
    scaled_stream st;
    st.h = {
        {0, 0, {{{seg(0, 0), 0, .5}, -1, {}}, {{seg(0, 1), .5, 1}, -1, {}}}},
        {1,
         0,
         {{{seg(1, 2), 0, .3}, -1, {seg(0, 0)}}, {{seg(1, 3), .3, 1}, -1, {seg(0, 0), seg(0, 1)}}}},
    };
    auto v = st.view();
    auto g = group_from();
    auto a = group_join(g, group_sync{"r", 0, {}, {}, {}, {}, true, 1}, v);
    REQUIRE(a);
    auto r = report("r", *a);
    r.finished.push_back({key(0, 0), 70});
    auto b = group_sync_reader(g, r, v);
    REQUIRE(b);
    // R would overlap P (held for S): it waits with S for Q.
    CHECK(keys_of(*b) == std::vector<segment_key>{key(0, 1)});
    CHECK(g.future.at(key(1, 2)) == std::set<segment_id>{seg(0, 1)});
    CHECK(g.future.at(key(1, 3)) == std::set<segment_id>{seg(0, 1)});
    check_group(g);  // the controller checks every saved group
    REQUIRE(!group_checkpoint_begin(g, "cp", false, 1, v));
    r = report("r", *b);
    r.positions[0].offset = 5;
    r.recorded = {"cp"};
    REQUIRE(group_sync_reader(g, r, v));
    const auto* cp = group_checkpoint_of(g, "cp");
    REQUIRE(cp->complete);
    REQUIRE(cp->cuts[0].segments.size() == 2);
    CHECK(cp->cuts[0].segments[0].offset == 70);  // P at its end
    CHECK(cp->cuts[0].segments[1].offset == 5);   // Q
    r = report("r", *b);
    r.finished.push_back({key(0, 1), 9});
    auto c = group_sync_reader(g, r, v);
    REQUIRE(c);
    CHECK(keys_of(*c) == std::vector<segment_key>{key(1, 2), key(1, 3)});
    CHECK(g.finished.empty());
    CHECK(g.future.empty());
    check_group(g);
}

TEST_CASE("a reader that gives a segment back does not take it again from a starving one",
          "[storage][groups]") {
    scaled_stream st;
    auto v = st.view();
    auto g = group_from({{{seg(1, 2), 0, .25}, 0},
                         {{seg(1, 3), .25, .5}, 0},
                         {{seg(0, 1), .5, .75}, 0},
                         {{seg(0, 9), .75, 1}, 0}});
    auto a1 = group_join(g, group_sync{"r1", 0, {}, {}, {}, {}, true, 1}, v);
    auto a2 = group_join(g, group_sync{"r2", 0, {}, {}, {}, {}, true, 2}, v);
    REQUIRE(a1);
    REQUIRE(a2);
    // r1 took all four; told to give two back, it does, and r2 takes them.
    auto b1 = group_sync_reader(g, report("r1", *a1), v);
    REQUIRE(b1);
    REQUIRE(b1->release.size() == 2);
    auto give = report("r1", *b1);
    for (const auto& k : b1->release) {
        give.released.push_back({k, 0});
    }
    b1 = group_sync_reader(g, give, v);
    auto b2 = group_sync_reader(g, report("r2", *a2), v);
    REQUIRE(b1);
    REQUIRE(b2);
    REQUIRE(b1->segments.size() == 2);
    REQUIRE(b2->segments.size() == 2);
    auto a3 = group_join(g, group_sync{"r3", 0, {}, {}, {}, {}, true, 3}, v);
    REQUIRE(a3);
    CHECK(a3->segments.empty());
    auto c1 = group_sync_reader(g, report("r1", *b1), v);
    REQUIRE(c1);
    REQUIRE(c1->release.size() == 1);
    auto s = report("r1", *c1);
    s.released.push_back({c1->release[0], 3});
    auto d1 = group_sync_reader(g, s, v);
    REQUIRE(d1);
    CHECK(d1->segments.size() == 1);  // it keeps floor(4 / 3) = 1 while r3 has none
    auto d3 = group_sync_reader(g, report("r3", *a3), v);
    REQUIRE(d3);
    REQUIRE(d3->segments.size() == 1);
    CHECK(d3->segments[0].offset == 3);
    check_group(g);
}

TEST_CASE("a group keeps the newest completed checkpoints by completion", "[storage][groups]") {
    scaled_stream st;
    auto v = st.view();
    auto g = group_from();
    auto a = group_join(g, group_sync{"r", 0, {}, {}, {}, {}, true, 1}, v);
    REQUIRE(a);
    REQUIRE(!group_checkpoint_begin(g, "mine", false, 1, v));  // the reader does not record yet
    for (int i = 0; i < 12; ++i) {
        REQUIRE(!group_checkpoint_begin(g, "auto" + std::to_string(i), true, 2 + i, v));
        auto r = report("r", *a);
        r.recorded = {"auto" + std::to_string(i)};
        REQUIRE(group_sync_reader(g, r, v));
    }
    auto r = report("r", *a);
    r.recorded = {"mine"};
    REQUIRE(group_sync_reader(g, r, v));
    REQUIRE(group_checkpoint_of(g, "mine") != nullptr);  // just completed: kept
    CHECK(group_checkpoint_of(g, "mine")->complete);
    CHECK(group_checkpoint_of(g, "auto0") == nullptr);  // the oldest went
    CHECK(g.checkpoints.size() == group_checkpoints_kept);
}

TEST_CASE("a checkpoint completed by a reader's lapse is marked forced, a recorded one is not",
          "[storage][groups]") {
    scaled_stream st;
    auto v = st.view();
    auto g = group_from();
    auto a = group_join(g, group_sync{"r", 0, {}, {}, {}, {}, true, 1}, v);
    REQUIRE(a);
    REQUIRE(!group_checkpoint_begin(g, "recorded", false, 1, v));
    auto r = report("r", *a);
    r.recorded = {"recorded"};
    REQUIRE(group_sync_reader(g, r, v));
    REQUIRE(!group_checkpoint_begin(g, "lapsed", false, 2, v));
    r = report("r", *a);
    r.positions[0].offset = 17;  // the last report: past where "lapsed" was begun
    REQUIRE(group_sync_reader(g, r, v));
    const auto& m = g.readers.at("r");
    REQUIRE(group_offline(g, "r", m.session, m.syncs, v));
    const auto* lapsed = group_checkpoint_of(g, "lapsed");
    REQUIRE(lapsed != nullptr);
    CHECK(lapsed->complete);
    CHECK(lapsed->forced);
    CHECK(lapsed->cuts[0].segments[0].offset == 17);
    CHECK(group_checkpoint_of(g, "recorded")->complete);
    CHECK(!group_checkpoint_of(g, "recorded")->forced);
    check_group(g);
}
