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

TEST_CASE("transaction segments and merges round-trip, and segment records keep their marks",
          "[schema][txn]") {
    container_op c;
    c.type = container_op::kind::create_segment;
    c.key = {stream_uid{70}, segment_id::make(1, 2)};
    c.limit = 16 << 20;
    container_op m;
    m.type = container_op::kind::merge_segment;
    m.key = {stream_uid{7}, segment_id::make(1, 2)};
    m.source = c.key;
    auto ops = decode_log_entry(encode_log_entry({c, m}));
    REQUIRE(ops);
    REQUIRE(ops->size() == 2);
    CHECK((*ops)[0].limit == 16 << 20);
    CHECK((*ops)[1].type == container_op::kind::merge_segment);
    CHECK((*ops)[1].source == c.key);
    CHECK((*ops)[1].limit == 0);
    segment_meta meta;
    meta.length = 0;
    meta.sealed = true;
    meta.limit = 1024;
    meta.merged = true;
    meta.merged_into = m.key;
    meta.merged_at = 4096;
    auto back = decode_segment_meta(encode_segment_meta(meta));
    REQUIRE(back);
    CHECK(back->sealed);
    CHECK(back->limit == 1024);
    CHECK(back->merged);
    CHECK(back->merged_into == m.key);
    CHECK(back->merged_at == 4096);
    segment_meta twelve;
    twelve.length = 12;
    auto plain = decode_segment_meta(encode_segment_meta(twelve));
    REQUIRE(plain);
    CHECK(plain->limit == 0);
    CHECK(!plain->merged);
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

TEST_CASE("stream records written before scaling decode with a fixed policy", "[schema][scaling]") {
    // The bytes the first StreamRecord schema (fields @0-@6, 3 data and 3 pointer words) wrote
    // for sc/st, uid 9, created at 100 ms, segments 0.0 [0, 0.5) and 0.1 [0.5, 1).
    const std::string old(
        "\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x03\x00\x03\x00"
        "\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        "\x64\x00\x00\x00\x00\x00\x00\x00\x09\x00\x00\x00\x1a\x00\x00\x00"
        "\x09\x00\x00\x00\x1a\x00\x00\x00\x09\x00\x00\x00\x37\x00\x00\x00"
        "\x73\x63\x00\x00\x00\x00\x00\x00\x73\x74\x00\x00\x00\x00\x00\x00"
        "\x08\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xe0\x3f"
        "\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xe0\x3f"
        "\x00\x00\x00\x00\x00\x00\xf0\x3f",
        136);
    auto rec = decode_stream_record(old);
    REQUIRE(rec);
    CHECK(rec->scope == "sc");
    CHECK(rec->uid.value == 9);
    CHECK(rec->created_ms == 100);
    CHECK(rec->policy.type == scale_type::fixed);
    CHECK(rec->next_number == 0);  // derived from the segments when the controller loads
    CHECK(!rec->has_transition);
    REQUIRE(rec->segments.size() == 2);
    CHECK(rec->segments[1].key_start == 0.5);
    // An unknown policy type (from a newer writer) is refused, never guessed.
    stream_record newer = *rec;
    newer.policy.type = static_cast<scale_type>(7);
    CHECK(code_of(decode_stream_record(encode_stream_record(newer)).error()) ==
          errc::malformed_message);
}

TEST_CASE("stream records carry the policy and a running scale", "[schema][scaling]") {
    stream_record rec;
    rec.scope = "sc";
    rec.name = "st";
    rec.uid = stream_uid{3};
    rec.epoch = 4;
    rec.segments = equal_ranges(2, 4, 9);
    rec.policy = {scale_type::by_kbytes, 512, 3, 2};
    rec.next_number = 11;
    rec.has_transition = true;
    rec.transition.from_epoch = 4;
    rec.transition.seal = {segment_id::make(4, 9)};
    rec.transition.create = {{segment_id::make(5, 11), 0.0, 0.25},
                             {segment_id::make(5, 12), 0.25, 0.5}};
    rec.transition.automatic = true;
    rec.transition.started_ms = 77;
    auto back = decode_stream_record(encode_stream_record(rec));
    REQUIRE(back);
    CHECK(back->policy == rec.policy);
    CHECK(back->next_number == 11);
    CHECK(back->has_transition);
    CHECK(back->transition == rec.transition);
    rec.has_transition = false;  // a finished transition leaves nothing behind
    back = decode_stream_record(encode_stream_record(rec));
    REQUIRE(back);
    CHECK(!back->has_transition);
    CHECK(back->transition == scale_transition{});
    // A rolling transaction's transition: two epochs of segments and its batch.
    rec.has_transition = true;
    rec.transition.rolling = true;
    rec.transition.txns = {17, 5, 99};
    back = decode_stream_record(encode_stream_record(rec));
    REQUIRE(back);
    CHECK(back->transition == rec.transition);
}

TEST_CASE("epoch records round-trip with links and sealed lengths", "[schema][scaling]") {
    epoch_record rec;
    rec.epoch.epoch = 2;
    rec.epoch.created_ms = 5000;
    rec.epoch.segments.push_back(
        {{segment_id::make(2, 3), 0.0, 0.5}, -1, {segment_id::make(0, 0), segment_id::make(1, 2)}});
    rec.epoch.segments.push_back({{segment_id::make(1, 1), 0.5, 1.0}, -1, {}});
    rec.sealed = {{segment_id::make(0, 0), 4096}, {segment_id::make(1, 2), 0}};
    auto back = decode_epoch_record(encode_epoch_record(rec));
    REQUIRE(back);
    CHECK(back->epoch == rec.epoch);
    CHECK(back->sealed == rec.sealed);
    CHECK(!back->epoch.rolled);
    CHECK(!back->epoch.segments[0].duplicate);
    // A roll's epoch: duplicates with their origins.
    rec.epoch.rolled = true;
    rec.epoch.segments[0].duplicate = true;
    rec.epoch.segments[0].origin = segment_id::make(0, 7);
    back = decode_epoch_record(encode_epoch_record(rec));
    REQUIRE(back);
    CHECK(back->epoch == rec.epoch);
    CHECK(root_of(back->epoch.segments[0]) == segment_id::make(0, 7));
    CHECK(root_of(back->epoch.segments[1]) == segment_id::make(1, 1));
    CHECK(code_of(decode_epoch_record("12345678").error()) == errc::malformed_message);
}

TEST_CASE("controller commands keep the first format's bytes and version the rest",
          "[schema][scaling]") {
    using kind = controller_command::kind;
    // The bytes the first encoder wrote for "create s/t with 4 segments at 1000 ms" (Raft logs
    // of running clusters hold these).
    const std::string legacy("\x03\0\0\0\x01s\0\0\0\x01t\0\0\0\x04\0\0\0\0\0\0\x03\xe8", 23);
    auto c = controller_command::of(kind::create_stream, "s", "t", 4, 1000);
    CHECK(encode_controller_command(c) == legacy);
    auto back = decode_controller_command(legacy);
    REQUIRE(back);
    CHECK(back->type == kind::create_stream);
    CHECK(back->scope == "s");
    CHECK(back->name == "t");
    CHECK(back->segments == 4);
    CHECK(back->now_ms == 1000);
    CHECK(back->policy.type == scale_type::fixed);
    for (auto k :
         {kind::create_scope, kind::delete_scope, kind::seal_stream, kind::delete_stream}) {
        auto bytes = encode_controller_command(controller_command::of(k, "scope", "name"));
        CHECK(bytes[0] == static_cast<char>(k));
        auto d = decode_controller_command(bytes);
        REQUIRE(d);
        CHECK(d->type == k);
        CHECK(d->scope == "scope");
    }
    // What the first format cannot carry goes versioned: a policy, a scale, a scale's end.
    auto create = controller_command::of(kind::create_stream, "s", "t", 2, 5);
    create.policy = {scale_type::by_events, 1000, 4, 2};
    auto scale = controller_command::of(kind::scale_begin, "s", "t", 0, 6);
    scale.scale = {3, {segment_id::make(3, 1), segment_id::make(2, 0)}, {{0.0, 0.75}}, true};
    auto done = controller_command::of(kind::scale_done, "s", "t");
    done.target_epoch = 4;
    done.sealed_lengths = {{segment_id::make(3, 1), 100}, {segment_id::make(2, 0), 0}};
    auto update = controller_command::of(kind::update_stream, "s", "t");
    update.policy = {scale_type::fixed, 0, 2, 3};
    for (const auto& cmd : {create, scale, done, update}) {
        auto bytes = encode_controller_command(cmd);
        CHECK(static_cast<unsigned char>(bytes[0]) == 0x80);
        auto d = decode_controller_command(bytes);
        REQUIRE(d);
        CHECK(d->type == cmd.type);
        CHECK(d->scope == cmd.scope);
        CHECK(d->name == cmd.name);
        CHECK(d->segments == cmd.segments);
        CHECK(d->now_ms == cmd.now_ms);
        CHECK(d->policy == cmd.policy);
        CHECK(d->scale == cmd.scale);
        CHECK(d->target_epoch == cmd.target_epoch);
        CHECK(d->sealed_lengths == cmd.sealed_lengths);
        // Without its marker the message is not a command of either format; cut short or with
        // an unknown kind neither (and nothing crashes).
        CHECK(!decode_controller_command(std::string_view(bytes).substr(1)));
        for (size_t cut = 0; cut < bytes.size(); ++cut) {
            CHECK(!decode_controller_command(std::string_view(bytes).substr(0, cut)));
        }
    }
    // A kind from a newer version: the versioned form of scale_done with its kind byte raised.
    auto newer = encode_controller_command(controller_command::of(kind::scale_done, "s", "t"));
    // After the marker: the segment table (8 bytes), the root pointer (8), then the root's data
    // section, whose first byte is kind @0.
    REQUIRE(newer[1 + 16] == '\x08');
    newer[1 + 16] = '\x17';  // one past txn_rolled (22)
    auto refused = decode_controller_command(newer);
    REQUIRE(!refused);
    CHECK(code_of(refused.error()) == errc::malformed_message);
    CHECK(code_of(decode_controller_command("\x09zz").error()) == errc::malformed_message);
    CHECK(code_of(decode_controller_command(std::string("\x03\0\0\0\x05s", 6)).error()) ==
          errc::malformed_message);
}

TEST_CASE("reader group records and group commands round-trip", "[schema][groups]") {
    using kind = controller_command::kind;
    stream_uid uid{3};
    stream_cut head{uid,
                    {{{segment_id::make(0, 0), 0, .5}, 0}, {{segment_id::make(0, 1), .5, 1}, 0}}};
    stream_cut end{uid, {{{segment_id::make(1, 2), 0, 1}, 4096}}};
    reader_group_record g;
    g.scope = "s";
    g.name = "g";
    g.config.streams.push_back({"s", "t", head, end});
    g.config.lease_ms = 2500;
    g.config.checkpoint_interval_ms = 0;
    g.created_ms = 77;
    g.generation = 3;
    g.next_session = 9;
    segment_key a{uid, segment_id::make(0, 0)};
    segment_key b{uid, segment_id::make(0, 1)};
    segment_key c{uid, segment_id::make(1, 2)};
    g.readers["r1"] = online_reader{4, 0xfeed, 7, {{a, 10}, {b, 20}}, {b}, {a}};
    g.readers["r2"] = online_reader{8, 1, 0, {}, {}, {}};
    g.unassigned[segment_key{uid, segment_id::make(1, 5)}] = 30;
    g.future[c] = {segment_id::make(0, 0), segment_id::make(0, 1)};
    g.finished[segment_key{uid, segment_id::make(0, 9)}] = 40;
    group_checkpoint cp;
    cp.name = "cp";
    cp.silent = true;
    cp.created_ms = 5;
    cp.waiting = {"r2"};
    cp.positions = {{a, 10}};
    g.checkpoints.push_back(cp);
    cp.name = "done";
    cp.silent = false;
    cp.complete = true;
    cp.forced = true;
    cp.waiting.clear();
    cp.cuts = {head};
    g.checkpoints.push_back(cp);
    auto bytes = encode_group_record(g);
    auto back = decode_group_record(bytes);
    REQUIRE(back);
    CHECK(*back == g);
    for (size_t cut = 0; cut < bytes.size(); cut += 8) {
        auto r = decode_group_record(std::string_view(bytes).substr(0, cut));
        if (!r) {
            CHECK(code_of(r.error()) == errc::malformed_message);
        }
    }

    auto create = controller_command::of(kind::group_create, "s", "g", 0, 12);
    create.group = g.config;
    auto sync = controller_command::of(kind::group_sync, "s", "g");
    sync.sync = group_sync{"r1", 4, {{a, 11}}, {{b, 99}}, {{c, 3}}, {"cp"}, false, 42, 9};
    auto reset = controller_command::of(kind::group_reset, "s", "g");
    reset.cuts = {head};
    reset.generation = 3;
    auto ckpt = controller_command::of(kind::group_checkpoint, "s", "g", 0, 13);
    ckpt.checkpoint = "x";
    ckpt.silent = true;
    for (const auto& cmd : {create, sync, reset, ckpt}) {
        auto d = decode_controller_command(encode_controller_command(cmd));
        REQUIRE(d);
        CHECK(d->type == cmd.type);
        CHECK(d->now_ms == cmd.now_ms);
        CHECK(d->group == cmd.group);
        CHECK(d->sync == cmd.sync);
        CHECK(d->cuts == cmd.cuts);
        CHECK(d->generation == cmd.generation);
        CHECK(d->checkpoint == cmd.checkpoint);
        CHECK(d->silent == cmd.silent);
    }
}

TEST_CASE("transaction records and commands round-trip", "[schema][txn]") {
    using kind = controller_command::kind;
    txn_record t;
    t.id = 0x1234;
    t.scope = "s";
    t.stream = "t";
    t.uid = stream_uid{9};
    t.epoch = 3;
    t.state = txn_state::committing;
    t.writer = writer_id{1, 2};
    t.began_ms = 100;
    t.lease_ms = 5000;
    t.deadline_ms = 86'400'100;
    t.commit_order = 77;
    t.reason = "";
    t.merged_epoch = 6;
    t.segments = {{{segment_id::make(3, 4), 0, .5}, {stream_uid{40}, segment_id::make(3, 4)}},
                  {{segment_id::make(3, 5), .5, 1}, {stream_uid{41}, segment_id::make(3, 5)}}};
    auto back = decode_txn_record(encode_txn_record(t));
    REQUIRE(back);
    CHECK(*back == t);
    CHECK(std::string(to_string(back->state)) == "committing");
    auto bytes = encode_txn_record(t);
    for (size_t cut = 0; cut < bytes.size(); cut += 8) {
        auto r = decode_txn_record(std::string_view(bytes).substr(0, cut));
        if (!r) {
            CHECK(code_of(r.error()) == errc::malformed_message);
        }
    }
    for (auto k : {kind::txn_begin, kind::txn_commit, kind::txn_abort, kind::txn_done,
                   kind::txn_roll, kind::txn_rolled}) {
        auto c = controller_command::of(k, "s", "t", 0, 42);
        c.txn = 0x1234;
        c.writer = writer_id{7, 8};
        c.lease_ms = 3000;
        c.reason = "lease";
        c.target_epoch = 9;  // txn_rolled
        c.sealed_lengths = {{segment_id::make(7, 3), 12}};
        auto d = decode_controller_command(encode_controller_command(c));
        REQUIRE(d);
        CHECK(d->type == k);
        CHECK(d->target_epoch == 9);
        CHECK(d->sealed_lengths == c.sealed_lengths);
        CHECK(d->txn == 0x1234);
        CHECK(d->writer == writer_id{7, 8});
        CHECK(d->lease_ms == 3000);
        CHECK(d->reason == "lease");
        CHECK(d->now_ms == 42);
    }
}
