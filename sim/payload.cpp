#include "sim/payload.hpp"

#include "schema/records.hpp"
#include "schema/types.hpp"
#include "sim/prng.hpp"
#include "storage/storage.hpp"

namespace pravaha::sim {

namespace {

constexpr std::string_view payload_magic = "PVSIM";
// magic, writer, incarnation, seq, key, stream
constexpr size_t payload_fixed_bytes = 5 + 4 + 4 + 8 + 4 + 4;
static_assert(payload_magic.size() == 5, "the payload layout starts with a 5-byte magic");

template <class T>
void put_int(std::string& out, T v) {
    for (size_t i = 0; i < sizeof(T); ++i) {
        out.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
    }
}

template <class T>
T get_int(std::string_view in, size_t pos) {
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
        v |= uint64_t{static_cast<unsigned char>(in[pos + i])} << (8 * i);
    }
    return static_cast<T>(v);
}

}  // namespace

std::string make_payload(const event_id& id, size_t filler) {
    std::string out(payload_magic);
    put_int(out, id.writer);
    put_int(out, id.incarnation);
    put_int(out, id.seq);
    put_int(out, id.key);
    put_int(out, id.stream);
    for (size_t i = 0; i < filler; ++i) {
        out.push_back(static_cast<char>('a' + (id.seq * 7 + i) % 26));
    }
    return out;
}

std::optional<event_id> parse_payload(std::string_view p) {
    if (p.size() < payload_fixed_bytes || p.substr(0, payload_magic.size()) != payload_magic) {
        return std::nullopt;
    }
    event_id id;
    id.writer = get_int<uint32_t>(p, 5);
    id.incarnation = get_int<uint32_t>(p, 9);
    id.seq = get_int<uint64_t>(p, 13);
    id.key = get_int<uint32_t>(p, 21);
    id.stream = get_int<uint32_t>(p, 25);
    return id;
}

uint64_t payload_hash(std::string_view p) {
    return hash_name(p);
}

void stored_events(std::string_view key, std::string_view value, std::set<writer_seq>& into) {
    auto add_events = [&into](std::string_view data) {
        size_t pos = 0;
        while (auto ev = next_event(data, pos)) {
            if (auto id = parse_payload(*ev)) {
                into.insert({id->writer, id->seq});
            }
        }
    };
    if (key.empty()) {
        return;
    }
    bool raft_entry = key[0] == 'R' && key.size() == 14 && key[5] == 'e' &&
                      storage::keys::get_u32(key, 1) != 0 && value.size() >= 8;
    if (key[0] == 'L' || raft_entry) {
        if (auto ops = decode_log_entry(raft_entry ? value.substr(8) : value)) {
            for (const auto& c : *ops) {
                add_events(c.data);
            }
        }
    } else if (key[0] == 'D') {
        add_events(value);
    }
}

}  // namespace pravaha::sim
