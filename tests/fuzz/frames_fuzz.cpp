// libFuzzer target: each input is what a peer sends on one data-port connection, decoded frame
// by frame as the node's data thread and the client's data link do (schema/data_frames.hpp).
// Checked for every input: no crash or sanitizer report; a frame taken consumes at least its
// header and at most what was given; the same bytes cut anywhere before the frame's end ask for
// more instead of giving another frame or error; and a decoded frame encodes to bytes that decode
// and encode again to the same bytes (what a node relays or answers is what it read).
//
// `pravaha-frames-fuzz -make_seeds=DIR` writes seed inputs: a client's hello and appends, a
// node's answers and refusals.

#include "schema/data_frames.hpp"
#include "schema/errc.hpp"

#include "tests/fuzz/make_seeds.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <variant>

using namespace pravaha;

namespace {

[[noreturn]] void found(const char* what) {
    std::fprintf(stderr, "frames fuzz: %s\n", what);
    std::abort();
}

std::string encode(const frames::frame& f) {
    std::string out;
    if (const auto* h = std::get_if<frames::hello>(&f)) {
        frames::encode_hello(out, h->version);
    } else if (const auto* a = std::get_if<frames::append>(&f)) {
        frames::encode_append(out, a->request, a->block);
    } else if (const auto* ok = std::get_if<frames::appended>(&f)) {
        append_ack ack;
        ack.last_event_number = ok->last_event_number;
        ack.end_offset = ok->end_offset;
        ack.appended_events = ok->appended_events;
        frames::encode_appended(out, ok->request, ack);
    } else {
        const auto& r = std::get<frames::refused>(f);
        frames::encode_refused(out, r.request, frames::to_error(r));
    }
    return out;
}

// Decodes the one frame `bytes` holds; aborts unless it is exactly one whole frame.
frames::frame decode_whole(const std::string& bytes) {
    size_t used = 0;
    auto f = frames::decode(bytes, used);
    if (!f || !f->has_value() || used != bytes.size()) {
        found("an encoded frame does not decode to itself");
    }
    return std::move(**f);
}

void check_one(std::string_view in, const frames::frame& f, size_t used) {
    if (used <= frames::length_bytes || used > in.size()) {
        found("a frame consumed less than its header or more than was given");
    }
    // Cut before its end, the frame is not there yet: never another frame, never an error.
    for (size_t cut : {size_t{0}, size_t{1}, size_t{frames::length_bytes}, used / 2, used - 1}) {
        if (cut >= used) {
            continue;
        }
        size_t part_used = 0;
        auto part = frames::decode(in.substr(0, cut), part_used);
        if (!part || part->has_value()) {
            found("a frame cut short decoded to something");
        }
    }
    auto once = encode(f);
    auto twice = encode(decode_whole(once));
    if (once != twice) {
        found("re-encoding a decoded frame changed it");
    }
}

void write_seed(const std::string& dir, int n, const std::string& bytes) {
    std::ofstream(dir + "/seed" + std::to_string(n), std::ios::binary) << bytes;
}

void make_seeds(const std::string& dir) {
    std::string client;
    frames::encode_hello(client, frames::protocol_version);
    append_block b;
    b.key = segment_key{stream_uid{7}, segment_id{1}};
    b.writer = writer_id{1, 2};
    b.first_event_number = 0;
    b.last_event_number = 1;
    b.event_count = 2;
    frame_event(b.data, "first");
    frame_event(b.data, "second");
    frames::encode_append(client, 1, b);
    b.first_event_number = 2;
    b.last_event_number = 2;
    b.event_count = 1;
    b.data.clear();
    frame_event(b.data, std::string(300, 'x'));
    frames::encode_append(client, 2, b);
    write_seed(dir, 0, client);

    std::string node;
    frames::encode_hello(node, frames::protocol_version);
    append_ack ack;
    ack.last_event_number = 1;
    ack.end_offset = 40;
    ack.appended_events = 2;
    frames::encode_appended(node, 1, ack);
    frames::encode_refused(node, 2, not_leader_error(3));
    frames::encode_refused(node, 3, caf::make_error(errc::event_number_gap, "a gap"));
    frames::encode_refused(node, 0, caf::make_error(errc::malformed_message, "closing"));
    write_seed(dir, 1, node);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
    test::make_seeds_if_asked(*argc, *argv, make_seeds);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    while (!in.empty()) {
        size_t used = 0;
        auto f = frames::decode(in, used);
        if (!f || !f->has_value()) {
            break;  // a protocol error (the connection closes) or a frame not complete yet
        }
        check_one(in, **f, used);
        in.remove_prefix(used);
    }
    return 0;
}
