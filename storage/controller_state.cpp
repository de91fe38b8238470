#include "storage/controller_state.hpp"

#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/names.hpp"
#include "schema/records.hpp"
#include "storage/keys.hpp"

#include <fmt/format.h>

namespace pravaha::storage {

controller_state::controller_state(log_store& store) : store_(store) {}

caf::error controller_state::load() {
    scopes_.clear();
    streams_.clear();
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
    return store_.write(batch, true);
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
