#include "storage/controller_state.hpp"

#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"
#include "schema/names.hpp"
#include "schema/records.hpp"
#include "storage/keys.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pravaha::storage {

namespace {

// Written by `sync` only: no reader of the state scans it.
std::string sync_marker_key() {
    return "Mz";
}

std::string applied_key() {
    return "Ma";
}

}  // namespace

// Records each segment's final length in every epoch of `h` that holds it.
void controller_state::set_sealed_lengths(
    std::vector<epoch_info>& h, const std::vector<std::pair<segment_id, int64_t>>& lengths) {
    for (const auto& [id, length] : lengths) {
        for (auto& e : h) {
            for (auto& seg : e.segments) {
                if (seg.range.id == id) {
                    seg.sealed_length = length;
                }
            }
        }
    }
}

controller_state::controller_state(log_store& store,
                                   bool replicated,
                                   uint32_t container_count,
                                   txn_limits limits)
    : store_(store),
      replicated_(replicated),
      container_count_(std::max<uint32_t>(container_count, 1)),
      limits_(limits) {}

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
            auto rec = create_stream(c.scope, c.name, c.segments, c.now_ms, c.policy);
            rec ? (void)(out.record = std::move(*rec)) : (void)(out.error = std::move(rec.error()));
            break;
        }
        case command::kind::update_stream: {
            auto rec = update_stream(c.scope, c.name, c.policy);
            rec ? (void)(out.record = std::move(*rec)) : (void)(out.error = std::move(rec.error()));
            break;
        }
        case command::kind::scale_begin: {
            auto res = scale_begin(c.scope, c.name, c.scale, c.now_ms);
            if (res) {
                out.scale = std::move(*res);
                out.record = streams_.at({c.scope, c.name});
            } else {
                out.error = std::move(res.error());
            }
            break;
        }
        case command::kind::scale_done: {
            // A repeat of a scale that is done changes nothing (changed: false).
            auto it = streams_.find({c.scope, c.name});
            out.changed = it != streams_.end() && it->second.has_transition;
            auto rec = scale_done(c.scope, c.name, c.target_epoch, c.sealed_lengths);
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
        case command::kind::group_create:
        case command::kind::group_delete:
        case command::kind::group_join:
        case command::kind::group_sync:
        case command::kind::group_leave:
        case command::kind::group_offline:
        case command::kind::group_checkpoint:
        case command::kind::group_reset:
            apply_group(c, out);
            break;
        case command::kind::txn_begin:
        case command::kind::txn_commit:
        case command::kind::txn_abort:
        case command::kind::txn_done:
            apply_txn(c, out);
            break;
        case command::kind::txn_roll:
            begin_roll(c, out);
            break;
        case command::kind::txn_rolled:
            finish_roll(c, out);
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

caf::error controller_state::sync() {
    if (!unsynced_) {
        return {};
    }
    // A synced write makes every earlier write of the store durable (the WAL is one sequence;
    // the simulator's disks keep the same prefix contract): a marker outside every range the
    // state reads.
    write_batch b;
    b.put(sync_marker_key(), "");
    if (auto err = store_.write(b, true)) {
        return err;
    }
    unsynced_ = false;
    return {};
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

std::vector<store_range> controller_state::state_ranges() {
    return {store_range{"Mb", "Mv"}};
}

void controller_state::stage_install(uint64_t index, write_batch& b) const {
    b.erase_range("Mb", "Mv");
    std::string v;
    keys::put_u64(v, index);
    b.put(applied_key(), std::move(v));
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
    history_.clear();
    // History: "Mh" scope '/' stream '/' epoch u32 (names hold no '/').
    std::map<stream_name, std::vector<epoch_record>> stored;
    if (auto err = store_.scan("Mh", "Mi", [&](std::string_view k, std::string_view v) {
            auto rec = decode_epoch_record(v);
            auto slash = k.find('/');
            if (!rec || k.size() < 8 || slash == std::string_view::npos || k[k.size() - 5] != '/' ||
                slash >= k.size() - 5) {
                decode_err = rec ? caf::make_error(errc::malformed_message, "bad history key")
                                 : std::move(rec.error());
                return false;
            }
            stream_name n{std::string(k.substr(2, slash - 2)),
                          std::string(k.substr(slash + 1, k.size() - 5 - slash - 1))};
            stored[n].push_back(std::move(*rec));
            return true;
        })) {
        return err;
    }
    if (decode_err) {
        return decode_err;
    }
    for (auto& [n, rec] : streams_) {
        auto& h = history_[n];
        auto it = stored.find(n);
        if (it == stored.end()) {
            // Written before streams had a history: never scaled, so epoch 0 is the record.
            epoch_info e;
            e.epoch = rec.epoch;
            e.created_ms = rec.created_ms;
            for (const auto& seg : rec.segments) {
                e.segments.push_back({seg, -1, {}});
            }
            h.push_back(std::move(e));
        } else {
            for (auto& er : it->second) {
                if (er.epoch.epoch != h.size()) {
                    return caf::make_error(
                        errc::malformed_message,
                        "history of " + n.first + "/" + n.second + " misses an epoch");
                }
                set_sealed_lengths(h, er.sealed);
                h.push_back(std::move(er.epoch));
            }
        }
        if (rec.next_number == 0) {
            // Written before scaling: never scaled, numbers 0..n-1.
            for (const auto& seg : rec.segments) {
                rec.next_number = std::max(rec.next_number, seg.id.number() + 1);
            }
        }
        check_stream(n);
    }
    auto uid = store_.get(keys::next_uid());
    if (!uid) {
        return std::move(uid.error());
    }
    if (*uid && (*uid)->size() == 8) {
        next_uid_ = std::max(next_uid_, keys::get_u64(**uid, 0));
    }
    if (auto err = load_groups()) {
        return err;
    }
    if (auto err = load_txns()) {
        return err;
    }
    for (const auto& [id, t] : txns_) {
        // Ids and segment uids come from the same counter: never given twice.
        next_uid_ = std::max(next_uid_, id + 1);
        for (const auto& s : t.segments) {
            next_uid_ = std::max(next_uid_, s.key.stream.value + 1);
        }
    }
    return {};
}

caf::error controller_state::persist(write_batch& batch) {
    if (!replicated_) {
        unsynced_ = unsynced_ || defer_sync_;
        return store_.write(batch, !defer_sync_);
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

caf::error controller_state::save(const stream_record& rec, write_batch& b) {
    b.put(keys::stream(rec.scope, rec.name), encode_stream_record(rec));
    if (auto err = persist(b)) {
        return err;
    }
    streams_[{rec.scope, rec.name}] = rec;
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
    auto g = groups_.lower_bound({scope, ""});
    if (g != groups_.end() && g->first.first == scope) {
        return caf::make_error(errc::scope_not_empty, "scope " + scope +
                                                          " still has reader groups (e.g. " +
                                                          g->first.second + "); delete them first");
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
                                                             int64_t now_ms,
                                                             scaling_policy policy) {
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
    if (policy.type == scale_type::fixed) {
        policy = scaling_policy{scale_type::fixed, 0, 2, segments};
    }
    if (auto err = validate_policy(policy)) {
        return err;
    }
    if (segments < policy.min_segments) {
        return caf::make_error(errc::invalid_argument,
                               fmt::format("a stream of {} segments cannot have a minimum of {}",
                                           segments, policy.min_segments));
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
    rec.policy = policy;
    rec.next_number = segments;
    stream_name n{scope, name};
    epoch_info first;
    first.created_ms = now_ms;
    for (const auto& seg : rec.segments) {
        first.segments.push_back({seg, -1, {}});
    }
    write_batch b;
    b.put(keys::stream(scope, name), encode_stream_record(rec));
    b.put(keys::epoch(scope, name, 0), encode_epoch_record({first, {}}));
    std::string uid;
    keys::put_u64(uid, next_uid_ + 1);
    b.put(keys::next_uid(), uid);
    if (auto err = persist(b)) {
        return err;
    }
    ++next_uid_;
    streams_[n] = rec;
    history_[n] = {std::move(first)};
    check_stream(n);
    return rec;
}

caf::expected<std::vector<std::string>> controller_state::list_streams(
    const std::string& scope) const {
    return names_in(streams_, scope);
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
    if (rec->has_transition) {
        return caf::make_error(
            errc::conflict,
            "stream " + scope + "/" + name +
                (rec->transition.rolling ? " is rolling a transaction commit: seal it once done"
                                         : " is scaling: seal it once the scale is done"));
    }
    rec->state = stream_state::sealed;
    write_batch b;
    if (auto err = seal_txns(rec->uid, b)) {
        return err;
    }
    if (auto err = save(*rec, b)) {
        return err;
    }
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
    for (const auto& [gn, g] : groups_) {
        for (const auto& st : g.config.streams) {
            if (st.start.stream == rec->uid) {
                return caf::make_error(errc::conflict,
                                       fmt::format("stream {}/{} is read by reader group {}/{}; "
                                                   "delete the group first",
                                                   scope, name, gn.first, gn.second));
            }
        }
    }
    write_batch b;
    b.erase(keys::stream(scope, name));
    auto h = keys::history(scope, name);
    b.erase_range(h, keys::prefix_end(h));
    auto t = keys::txns(rec->uid);
    b.erase_range(t, keys::prefix_end(t));
    if (auto err = persist(b)) {
        return err;
    }
    std::vector<uint64_t> gone;
    for (const auto& [id, txn] : txns_) {
        if (txn.uid == rec->uid) {
            gone.push_back(id);
        }
    }
    for (auto id : gone) {
        forget_txn(id);
    }
    streams_.erase({scope, name});
    history_.erase({scope, name});
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

caf::expected<stream_record> controller_state::update_stream(const std::string& scope,
                                                             const std::string& name,
                                                             scaling_policy policy) {
    auto rec = get_stream(scope, name);
    if (!rec) {
        return rec;
    }
    if (auto err = validate_policy(policy)) {
        return err;
    }
    if (rec->state == stream_state::sealed) {
        return caf::make_error(errc::stream_sealed, "stream " + scope + "/" + name + " is sealed");
    }
    if (rec->has_transition) {
        return caf::make_error(
            errc::conflict,
            "stream " + scope + "/" + name +
                (rec->transition.rolling ? " is rolling a transaction commit: update it once done"
                                         : " is scaling: update it once the scale is done"));
    }
    rec->policy = policy;
    write_batch b;
    if (auto err = save(*rec, b)) {
        return err;
    }
    return rec;
}

namespace {

// Whether `e`, an epoch made by a scale, is the scale `req` asks for: it replaced exactly the
// segments `req` seals by segments over exactly its ranges.
bool made_by(const epoch_info& e, const scale_request& req) {
    if (e.rolled) {
        return false;  // a roll's epochs look like scales but none asked for them
    }
    std::set<segment_id> preds;
    std::vector<key_range> created;
    for (const auto& seg : e.segments) {
        if (seg.range.id.epoch() == e.epoch && !seg.predecessors.empty()) {
            preds.insert(seg.predecessors.begin(), seg.predecessors.end());
            created.push_back({seg.range.key_start, seg.range.key_end});
        }
    }
    auto create = req.create;
    std::sort(create.begin(), create.end(),
              [](const key_range& a, const key_range& b) { return a.start < b.start; });
    return preds == std::set<segment_id>(req.seal.begin(), req.seal.end()) && created == create;
}

scale_result result_of(const epoch_info& e) {
    scale_result r;
    r.epoch = e.epoch;
    for (const auto& seg : e.segments) {
        if (seg.range.id.epoch() == e.epoch && !seg.predecessors.empty()) {
            r.created.push_back(seg.range);
        }
    }
    return r;
}

}  // namespace

caf::expected<scale_result> controller_state::scale_begin(const std::string& scope,
                                                          const std::string& name,
                                                          const scale_request& req,
                                                          int64_t now_ms) {
    auto rec = get_stream(scope, name);
    if (!rec) {
        return std::move(rec.error());
    }
    stream_name n{scope, name};
    const auto& h = history_.at(n);
    auto qualified = scope + "/" + name;
    // A retry of a scale that already happened (its answer lost) gets that scale's answer.
    for (size_t e = req.expected_epoch + 1; e < h.size(); ++e) {
        if (made_by(h[e], req) && (!rec->has_transition || e != h.size() - 1 ||
                                   rec->transition.seal.size() == req.seal.size())) {
            return result_of(h[e]);
        }
    }
    if (rec->state == stream_state::sealed) {
        return caf::make_error(errc::stream_sealed, "stream " + qualified + " is sealed");
    }
    if (rec->has_transition) {
        const auto& t = rec->transition;
        return caf::make_error(
            errc::conflict,
            t.rolling ? fmt::format("{} transaction(s) of {} commit through a roll (epoch {} to "
                                    "{}), which replaces every current segment: read the "
                                    "stream's new segments once they are committed",
                                    t.txns.size(), qualified, t.from_epoch, t.from_epoch + 2)
                      : fmt::format("scale in progress on {} (epoch {} to {})", qualified,
                                    t.from_epoch, t.from_epoch + 1));
    }
    if (auto err = direct_commit_pending(*rec)) {
        return err;  // its merges go into the current epoch's segments: the scale waits
    }
    if (req.seal.empty()) {
        return caf::make_error(errc::invalid_argument, "a scale must seal at least one segment");
    }
    std::vector<segment_range> sealed;
    for (auto id : req.seal) {
        auto it = std::find_if(rec->segments.begin(), rec->segments.end(),
                               [id](const segment_range& r) { return r.id == id; });
        if (it == rec->segments.end()) {
            return caf::make_error(errc::invalid_argument,
                                   fmt::format("segment {} is not in the current epoch ({}) of {}",
                                               to_string(id), rec->epoch, qualified));
        }
        for (const auto& other : sealed) {
            if (other.id == id) {
                return caf::make_error(errc::invalid_argument,
                                       "segment " + to_string(id) + " is named twice");
            }
        }
        sealed.push_back(*it);
    }
    std::sort(sealed.begin(), sealed.end(), [](const segment_range& a, const segment_range& b) {
        return a.key_start < b.key_start;
    });
    for (size_t i = 1; i < sealed.size(); ++i) {
        if (sealed[i - 1].key_end != sealed[i].key_start) {
            return caf::make_error(
                errc::invalid_argument,
                fmt::format("segments {} and {} are not adjacent", to_string(sealed[i - 1].id),
                            to_string(sealed[i].id)));
        }
    }
    std::vector<key_range> old_ranges;
    old_ranges.reserve(sealed.size());
    for (const auto& r : sealed) {
        old_ranges.push_back({r.key_start, r.key_end});
    }
    if (auto err = check_cover(old_ranges, req.create)) {
        return err;
    }
    auto count = rec->segments.size() - sealed.size() + req.create.size();
    if (count > stream_segments_max) {
        return caf::make_error(errc::invalid_argument,
                               fmt::format("a stream has at most {} segments, the scale makes {}",
                                           stream_segments_max, count));
    }
    if (req.automatic && rec->policy.type == scale_type::fixed) {
        return caf::make_error(errc::invalid_argument,
                               "stream " + qualified + " has a fixed policy: no automatic scale");
    }
    if (req.automatic && count < rec->policy.min_segments) {
        return caf::make_error(
            errc::invalid_argument,
            fmt::format("the scale leaves {} segments, the policy's minimum is {}", count,
                        rec->policy.min_segments));
    }
    auto create = req.create;
    std::sort(create.begin(), create.end(),
              [](const key_range& a, const key_range& b) { return a.start < b.start; });
    uint32_t to = rec->epoch + 1;
    PRAVAHA_ASSERT(h.size() == to, "stream {}: history of {} epochs at epoch {}", qualified,
                   h.size(), rec->epoch);
    epoch_info next;
    next.epoch = to;
    next.created_ms = now_ms;
    scale_transition t;
    t.from_epoch = rec->epoch;
    t.seal = req.seal;
    t.automatic = req.automatic;
    t.started_ms = now_ms;
    for (const auto& r : create) {
        history_segment seg;
        seg.range = {segment_id::make(to, rec->next_number++), r.start, r.end};
        for (const auto& p : sealed) {
            if (overlaps(p, seg.range)) {
                seg.predecessors.push_back(p.id);
            }
        }
        t.create.push_back(seg.range);
        next.segments.push_back(std::move(seg));
    }
    for (const auto& cur : rec->segments) {
        if (std::find(req.seal.begin(), req.seal.end(), cur.id) == req.seal.end()) {
            next.segments.push_back({cur, -1, {}});
        }
    }
    std::sort(next.segments.begin(), next.segments.end(),
              [](const history_segment& a, const history_segment& b) {
                  return a.range.key_start < b.range.key_start;
              });
    rec->has_transition = true;
    rec->transition = std::move(t);
    write_batch b;
    put_epoch(b, n, h.size() - 1);  // written once more: streams from before history lack it
    b.put(keys::epoch(scope, name, to), encode_epoch_record({next, {}}));
    if (auto err = save(*rec, b)) {
        return err;
    }
    auto result = result_of(next);
    history_[n].push_back(std::move(next));
    check_stream(n);
    return result;
}

caf::expected<stream_record> controller_state::scale_done(
    const std::string& scope,
    const std::string& name,
    uint32_t target_epoch,
    const std::vector<std::pair<segment_id, int64_t>>& lengths) {
    auto rec = get_stream(scope, name);
    if (!rec) {
        return rec;
    }
    stream_name n{scope, name};
    if (!rec->has_transition || rec->transition.rolling ||
        rec->transition.from_epoch + 1 != target_epoch) {
        if (!rec->has_transition && rec->epoch >= target_epoch) {
            return rec;  // done already (a repeated command)
        }
        return caf::make_error(
            errc::invalid_argument,
            fmt::format("stream {}/{} has no scale to epoch {}", scope, name, target_epoch));
    }
    for (auto id : rec->transition.seal) {
        auto it = std::find_if(lengths.begin(), lengths.end(),
                               [id](const auto& l) { return l.first == id; });
        if (it == lengths.end() || it->second < 0 ||
            lengths.size() != rec->transition.seal.size()) {
            return caf::make_error(errc::invalid_argument,
                                   "the final lengths of the sealed segments are missing");
        }
    }
    auto& h = history_.at(n);
    PRAVAHA_ASSERT(h.size() == target_epoch + 1, "stream {}/{}: scale to {} with {} epochs", scope,
                   name, target_epoch, h.size());
    rec->epoch = target_epoch;
    rec->segments.clear();
    for (const auto& seg : h.back().segments) {
        rec->segments.push_back(seg.range);
    }
    rec->has_transition = false;
    rec->transition = {};
    write_batch b;
    b.put(keys::epoch(scope, name, target_epoch), encode_epoch_record({h.back(), lengths}));
    if (auto err = save(*rec, b)) {
        return err;
    }
    set_sealed_lengths(h, lengths);
    check_stream(n);
    return rec;
}

void controller_state::put_epoch(write_batch& b, const stream_name& n, size_t i) const {
    const auto& h = history_.at(n);
    epoch_record r{h[i], {}};
    if (i > 0) {
        // The lengths of the segments this epoch replaced.
        for (const auto& seg : h[i - 1].segments) {
            bool kept =
                std::any_of(h[i].segments.begin(), h[i].segments.end(),
                            [&](const history_segment& s) { return s.range.id == seg.range.id; });
            if (!kept && seg.sealed_length >= 0) {
                r.sealed.emplace_back(seg.range.id, seg.sealed_length);
            }
        }
    }
    b.put(keys::epoch(n.first, n.second, h[i].epoch), encode_epoch_record(r));
}

void controller_state::check_stream(const stream_name& n) const {
    const auto& rec = streams_.at(n);
    const auto& h = history_.at(n);
    auto name = n.first + "/" + n.second;
    // The current segments own the whole key space [0, 1), in order, without gaps or overlaps,
    // and are the current epoch's in the history; every epoch does the same.
    auto check_cover_of = [&](const auto& ranges, auto range_of, uint32_t epoch) {
        PRAVAHA_ASSERT(!ranges.empty() && range_of(ranges.front()).key_start == 0.0 &&
                           range_of(ranges.back()).key_end == 1.0,
                       "stream {} epoch {}: {} segments not over [0, 1)", name, epoch,
                       ranges.size());
        for (size_t i = 1; i < ranges.size(); ++i) {
            PRAVAHA_ASSERT(range_of(ranges[i]).key_start == range_of(ranges[i - 1]).key_end,
                           "stream {} epoch {}: segment {} starts at {}, the one before ends at {}",
                           name, epoch, i, range_of(ranges[i]).key_start,
                           range_of(ranges[i - 1]).key_end);
        }
    };
    check_cover_of(
        rec.segments, [](const segment_range& r) { return r; }, rec.epoch);
    size_t pending = rec.has_transition ? (rec.transition.rolling ? 2 : 1) : 0;
    PRAVAHA_ASSERT(h.size() == rec.epoch + 1 + pending,
                   "stream {}: {} epochs in history at epoch {}", name, h.size(), rec.epoch);
    for (size_t e = 0; e < h.size(); ++e) {
        PRAVAHA_ASSERT(h[e].epoch == e, "stream {}: history epoch {} at {}", name, h[e].epoch, e);
        check_cover_of(
            h[e].segments, [](const history_segment& s) { return s.range; }, h[e].epoch);
        for (const auto& seg : h[e].segments) {
            PRAVAHA_ASSERT(seg.range.id.number() < rec.next_number,
                           "stream {}: segment {} at or above the next number {}", name,
                           to_string(seg.range.id), rec.next_number);
            if (seg.duplicate && seg.range.id.epoch() == e) {
                // A roll's duplicate repeats its origin's range in its origin's container, so
                // that the origin's transaction segments merge into it.
                const auto origin = seg.origin;
                const auto* o = origin.epoch() < e ? &h[origin.epoch()] : nullptr;
                auto it = o ? std::find_if(o->segments.begin(), o->segments.end(),
                                           [origin](const history_segment& s) {
                                               return s.range.id == origin;
                                           })
                            : std::vector<history_segment>::const_iterator{};
                PRAVAHA_ASSERT(
                    o != nullptr && it != o->segments.end() && !it->duplicate &&
                        it->range.key_start == seg.range.key_start &&
                        it->range.key_end == seg.range.key_end &&
                        container_of(segment_key{rec.uid, origin}, container_count_) ==
                            container_of(segment_key{rec.uid, seg.range.id}, container_count_),
                    "stream {}: duplicate {} does not repeat its origin {}", name,
                    to_string(seg.range.id), to_string(origin));
            }
        }
    }
    PRAVAHA_ASSERT(h[rec.epoch].segments.size() == rec.segments.size(),
                   "stream {}: the current epoch differs from its history", name);
}

caf::expected<std::vector<epoch_info>> controller_state::history(const std::string& scope,
                                                                 const std::string& name) const {
    auto rec = get_stream(scope, name);
    if (!rec) {
        return std::move(rec.error());
    }
    return history_.at({scope, name});
}

caf::expected<segment_successors> controller_state::successors(const std::string& scope,
                                                               const std::string& name,
                                                               segment_id segment) const {
    auto rec = get_stream(scope, name);
    if (!rec) {
        return std::move(rec.error());
    }
    const auto& h = history_.at({scope, name});
    segment_successors out;
    // The epoch after the last one that holds the segment has its successors.
    for (size_t e = h.size(); e-- > 0;) {
        auto in = [&](size_t i) {
            return std::any_of(h[i].segments.begin(), h[i].segments.end(),
                               [&](const history_segment& s) { return s.range.id == segment; });
        };
        if (!in(e)) {
            continue;
        }
        if (e + 1 == h.size()) {
            out.stream_sealed = rec->state == stream_state::sealed;
            out.sealed = out.stream_sealed;
            return out;
        }
        if (rec->has_transition && e >= rec->transition.from_epoch) {
            // Its scale (or roll) runs: the successors are told once it is done, when every
            // segment they replace is sealed (a writer drains the other predecessors of a merge
            // at once).
            return out;
        }
        out.sealed = true;
        for (const auto& seg : h[e + 1].segments) {
            if (std::find(seg.predecessors.begin(), seg.predecessors.end(), segment) !=
                seg.predecessors.end()) {
                out.list.push_back({seg.range, seg.predecessors});
            }
        }
        return out;
    }
    return caf::make_error(errc::segment_not_found, "stream " + scope + "/" + name +
                                                        " has no segment " + to_string(segment));
}

caf::expected<stream_cut> controller_state::head_cut(const std::string& scope,
                                                     const std::string& name) const {
    auto rec = get_stream(scope, name);
    if (!rec) {
        return std::move(rec.error());
    }
    stream_cut cut;
    cut.stream = rec->uid;
    for (const auto& seg : history_.at({scope, name}).front().segments) {
        cut.segments.push_back({seg.range, 0});
    }
    return cut;
}

caf::expected<stream_cut> controller_state::resolve_cut(const std::string& scope,
                                                        const std::string& name,
                                                        const stream_cut& cut) const {
    auto rec = get_stream(scope, name);
    if (!rec) {
        return std::move(rec.error());
    }
    auto bad = [](std::string why) {
        return caf::make_error(errc::invalid_argument, "stream cut: " + why);
    };
    if (cut.stream != rec->uid) {
        return bad(fmt::format("it is of stream uid {}, {}/{} is uid {}", cut.stream.value, scope,
                               name, rec->uid.value));
    }
    const auto& h = history_.at({scope, name});
    stream_cut out;
    out.stream = rec->uid;
    for (const auto& c : cut.segments) {
        const history_segment* found = nullptr;
        for (const auto& e : h) {
            for (const auto& seg : e.segments) {
                if (seg.range.id == c.range.id) {
                    found = &seg;
                }
            }
        }
        if (found == nullptr) {
            return bad("the stream has no segment " + to_string(c.range.id));
        }
        if (c.offset < 0 || (found->sealed_length >= 0 && c.offset > found->sealed_length)) {
            return bad(fmt::format("offset {} is outside segment {} (length {})", c.offset,
                                   to_string(c.range.id), found->sealed_length));
        }
        out.segments.push_back({found->range, c.offset});
    }
    std::sort(out.segments.begin(), out.segments.end(),
              [](const cut_segment& a, const cut_segment& b) {
                  return a.range.key_start < b.range.key_start;
              });
    double at = 0;
    for (const auto& c : out.segments) {
        if (c.range.key_start != at) {
            return bad(c.range.key_start > at
                           ? fmt::format("nothing covers keys [{}, {})", at, c.range.key_start)
                           : fmt::format("segment {} overlaps another", to_string(c.range.id)));
        }
        at = c.range.key_end;
    }
    if (at != 1.0) {
        return bad(fmt::format("nothing covers keys [{}, 1)", at));
    }
    return out;
}

}  // namespace pravaha::storage
