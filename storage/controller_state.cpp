#include "storage/controller_state.hpp"

#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"
#include "schema/names.hpp"
#include "schema/records.hpp"
#include "storage/keys.hpp"

#include <fmt/format.h>

namespace pravaha::storage {

namespace {

std::string applied_key() {
    return "Ma";
}

void put_string(std::string& out, const std::string& v) {
    keys::put_u32(out, static_cast<uint32_t>(v.size()));
    out += v;
}

bool get_string(std::string_view in, size_t& pos, std::string& out) {
    if (pos + 4 > in.size()) {
        return false;
    }
    auto n = keys::get_u32(in, pos);
    pos += 4;
    if (pos + n > in.size()) {
        return false;
    }
    out = std::string(in.substr(pos, n));
    pos += n;
    return true;
}

}  // namespace

controller_state::controller_state(log_store& store, bool replicated)
    : store_(store), replicated_(replicated) {}

std::string controller_state::encode(const command& c) {
    std::string out;
    out.push_back(static_cast<char>(c.type));
    put_string(out, c.scope);
    put_string(out, c.name);
    keys::put_u32(out, c.segments);
    keys::put_u64(out, static_cast<uint64_t>(c.now_ms));
    return out;
}

caf::expected<controller_state::command> controller_state::decode(std::string_view bytes) {
    command c;
    size_t pos = 1;
    auto bad = caf::make_error(errc::malformed_message, "malformed controller command");
    if (bytes.empty() || bytes[0] < 1 || bytes[0] > 5) {
        return bad;
    }
    c.type = static_cast<command::kind>(bytes[0]);
    if (!get_string(bytes, pos, c.scope) || !get_string(bytes, pos, c.name) ||
        pos + 12 != bytes.size()) {
        return bad;
    }
    c.segments = keys::get_u32(bytes, pos);
    c.now_ms = static_cast<int64_t>(keys::get_u64(bytes, pos + 4));
    return c;
}

caf::expected<controller_state::outcome> controller_state::apply(uint64_t index, const command& c) {
    // Replicated: each committed entry once, in order (standalone commands carry no index).
    PRAVAHA_ASSERT(!replicated_ || index > applied_index_, "controller applies entry {} after {}",
                   index, applied_index_);
    applying_index_ = index;
    outcome out;
    switch (c.type) {
        case command::kind::create_scope:
            out.error = create_scope(c.scope);
            break;
        case command::kind::delete_scope:
            out.error = delete_scope(c.scope);
            break;
        case command::kind::create_stream: {
            auto rec = create_stream(c.scope, c.name, c.segments, c.now_ms);
            rec ? (void)(out.record = std::move(*rec)) : (void)(out.error = std::move(rec.error()));
            break;
        }
        case command::kind::seal_stream: {
            auto rec = seal_stream(c.scope, c.name);
            rec ? (void)(out.record = std::move(*rec)) : (void)(out.error = std::move(rec.error()));
            break;
        }
        case command::kind::delete_stream:
            out.error = delete_stream(c.scope, c.name);
            break;
    }
    if (code_of(out.error) == errc::storage_io) {
        return std::move(out.error);
    }
    if (applied_index_ < index) {
        // The command changed nothing (refused): still record that the entry was applied.
        if (auto err = apply_noop(index)) {
            return err;
        }
    }
    return out;
}

caf::error controller_state::apply_noop(uint64_t index) {
    PRAVAHA_ASSERT(index > applied_index_, "controller applies entry {} after {}", index,
                   applied_index_);
    write_batch b;
    std::string v;
    keys::put_u64(v, index);
    b.put(applied_key(), std::move(v));
    if (auto err = store_.write(b, false)) {
        return err;
    }
    applied_index_ = index;
    return {};
}

caf::expected<std::string> controller_state::snapshot() const {
    std::string out;
    auto err = store_.scan("Mb", "Mv", [&](std::string_view k, std::string_view v) {
        put_string(out, std::string(k));
        put_string(out, std::string(v));
        return true;
    });
    if (err) {
        return err;
    }
    return out;
}

caf::error controller_state::stage_install(std::string_view data, uint64_t index, write_batch& b) {
    std::vector<std::pair<std::string, std::string>> records;
    size_t pos = 0;
    while (pos < data.size()) {
        std::string k;
        std::string v;
        if (!get_string(data, pos, k) || !get_string(data, pos, v) || k.size() < 2 || k[0] != 'M') {
            return caf::make_error(errc::malformed_message, "controller snapshot is malformed");
        }
        records.emplace_back(std::move(k), std::move(v));
    }
    b.erase_range("Mb", "Mv");
    for (auto& [k, v] : records) {
        b.put(std::move(k), std::move(v));
    }
    std::string v;
    keys::put_u64(v, index);
    b.put(applied_key(), std::move(v));
    return {};
}

caf::error controller_state::load() {
    scopes_.clear();
    streams_.clear();
    next_uid_ = 1;
    auto applied = store_.get(applied_key());
    if (!applied) {
        return std::move(applied.error());
    }
    applied_index_ = *applied && (*applied)->size() == 8 ? keys::get_u64(**applied, 0) : 0;
    if (auto err = store_.scan("Ms", "Mt", [&](std::string_view k, std::string_view) {
            scopes_.emplace(k.substr(2));
            return true;
        })) {
        return err;
    }
    caf::error decode_err;
    if (auto err = store_.scan("Mt", "Mu", [&](std::string_view, std::string_view v) {
            auto rec = decode_stream_record(v);
            if (!rec) {
                decode_err = std::move(rec.error());
                return false;
            }
            next_uid_ = std::max(next_uid_, rec->uid.value + 1);
            streams_[{rec->scope, rec->name}] = std::move(*rec);
            return true;
        })) {
        return err;
    }
    if (decode_err) {
        return decode_err;
    }
    auto uid = store_.get(keys::next_uid());
    if (!uid) {
        return std::move(uid.error());
    }
    if (*uid && (*uid)->size() == 8) {
        next_uid_ = std::max(next_uid_, keys::get_u64(**uid, 0));
    }
    return {};
}

caf::error controller_state::persist(write_batch& batch) {
    if (!replicated_) {
        return store_.write(batch, true);
    }
    std::string v;
    keys::put_u64(v, applying_index_);
    batch.put(applied_key(), std::move(v));
    if (auto err = store_.write(batch, false)) {
        return err;
    }
    applied_index_ = applying_index_;
    return {};
}

caf::error controller_state::create_scope(const std::string& scope) {
    if (auto err = validate_name("scope", scope)) {
        return err;
    }
    if (scopes_.count(scope) != 0) {
        return caf::make_error(errc::scope_exists, "scope " + scope + " already exists");
    }
    write_batch b;
    b.put(keys::scope(scope), "");
    if (auto err = persist(b)) {
        return err;
    }
    scopes_.insert(scope);
    return {};
}

caf::error controller_state::delete_scope(const std::string& scope) {
    if (auto err = validate_name("scope", scope)) {
        return err;
    }
    if (scopes_.count(scope) == 0) {
        return caf::make_error(errc::scope_not_found, "scope " + scope + " does not exist");
    }
    auto it = streams_.lower_bound({scope, ""});
    if (it != streams_.end() && it->first.first == scope) {
        return caf::make_error(errc::scope_not_empty,
                               "scope " + scope + " still has streams (e.g. " + it->first.second +
                                   "); seal and delete them first");
    }
    write_batch b;
    b.erase(keys::scope(scope));
    if (auto err = persist(b)) {
        return err;
    }
    scopes_.erase(scope);
    return {};
}

std::vector<std::string> controller_state::list_scopes() const {
    return {scopes_.begin(), scopes_.end()};
}

caf::expected<stream_record> controller_state::create_stream(const std::string& scope,
                                                             const std::string& name,
                                                             uint32_t segments,
                                                             int64_t now_ms) {
    if (auto err = validate_name("scope", scope)) {
        return err;
    }
    if (auto err = validate_name("stream", name)) {
        return err;
    }
    if (segments == 0 || segments > stream_segments_max) {
        return caf::make_error(
            errc::invalid_argument,
            fmt::format("segment count must be 1..{}, got {}", stream_segments_max, segments));
    }
    if (scopes_.count(scope) == 0) {
        return caf::make_error(errc::scope_not_found, "scope " + scope + " does not exist");
    }
    if (streams_.count({scope, name}) != 0) {
        return caf::make_error(errc::stream_exists,
                               "stream " + scope + "/" + name + " already exists");
    }
    stream_record rec;
    rec.scope = scope;
    rec.name = name;
    rec.uid = stream_uid{next_uid_};
    rec.state = stream_state::active;
    rec.epoch = 0;
    rec.segments = equal_ranges(segments, 0, 0);
    // A stream's segments own the whole key space [0, 1), in order, without gaps or overlaps.
    PRAVAHA_ASSERT(rec.segments.size() == segments && rec.segments.front().key_start == 0.0 &&
                       rec.segments.back().key_end == 1.0,
                   "stream {}/{}: {} segments over [{}, {})", scope, name, rec.segments.size(),
                   rec.segments.front().key_start, rec.segments.back().key_end);
    for (size_t i = 1; i < rec.segments.size(); ++i) {
        PRAVAHA_ASSERT(rec.segments[i].key_start == rec.segments[i - 1].key_end,
                       "stream {}/{}: segment {} starts at {}, its predecessor ends at {}", scope,
                       name, i, rec.segments[i].key_start, rec.segments[i - 1].key_end);
    }
    rec.created_ms = now_ms;
    write_batch b;
    b.put(keys::stream(scope, name), encode_stream_record(rec));
    std::string uid;
    keys::put_u64(uid, next_uid_ + 1);
    b.put(keys::next_uid(), uid);
    if (auto err = persist(b)) {
        return err;
    }
    ++next_uid_;
    streams_[{scope, name}] = rec;
    return rec;
}

caf::expected<std::vector<std::string>> controller_state::list_streams(
    const std::string& scope) const {
    if (scopes_.count(scope) == 0) {
        return caf::make_error(errc::scope_not_found, "scope " + scope + " does not exist");
    }
    std::vector<std::string> out;
    for (auto it = streams_.lower_bound({scope, ""});
         it != streams_.end() && it->first.first == scope; ++it) {
        out.push_back(it->first.second);
    }
    return out;
}

caf::expected<stream_record> controller_state::get_stream(const std::string& scope,
                                                          const std::string& name) const {
    if (auto err = validate_name("scope", scope)) {
        return err;
    }
    if (auto err = validate_name("stream", name)) {
        return err;
    }
    if (scopes_.count(scope) == 0) {
        return caf::make_error(errc::scope_not_found, "scope " + scope + " does not exist");
    }
    auto it = streams_.find({scope, name});
    if (it == streams_.end()) {
        return caf::make_error(errc::stream_not_found,
                               "stream " + scope + "/" + name + " does not exist");
    }
    return it->second;
}

caf::expected<stream_record> controller_state::seal_stream(const std::string& scope,
                                                           const std::string& name) {
    auto rec = get_stream(scope, name);
    if (!rec || rec->state == stream_state::sealed) {
        return rec;
    }
    rec->state = stream_state::sealed;
    write_batch b;
    b.put(keys::stream(scope, name), encode_stream_record(*rec));
    if (auto err = persist(b)) {
        return err;
    }
    streams_[{scope, name}] = *rec;
    return rec;
}

caf::error controller_state::delete_stream(const std::string& scope, const std::string& name) {
    auto rec = get_stream(scope, name);
    if (!rec) {
        return std::move(rec.error());
    }
    if (rec->state != stream_state::sealed) {
        return caf::make_error(errc::stream_not_sealed,
                               "stream " + scope + "/" + name + " must be sealed before delete");
    }
    write_batch b;
    b.erase(keys::stream(scope, name));
    if (auto err = persist(b)) {
        return err;
    }
    streams_.erase({scope, name});
    return {};
}

std::vector<stream_record> controller_state::all_streams() const {
    std::vector<stream_record> out;
    out.reserve(streams_.size());
    for (const auto& [k, rec] : streams_) {
        out.push_back(rec);
    }
    return out;
}

}  // namespace pravaha::storage
