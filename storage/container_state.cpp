#include "storage/container_state.hpp"

#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"
#include "schema/mutants.hpp"
#include "storage/keys.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pravaha::storage {

namespace {

// A writer attribute: last event number (8 bytes), session epoch (4), highest client number (8).
// Older records hold only the first one (epoch 0) or two (no client number).
constexpr size_t writer_attr_v1 = 8;                   // last
constexpr size_t writer_attr_v2 = writer_attr_v1 + 4;  // + epoch
constexpr size_t writer_attr_v3 = writer_attr_v2 + 8;  // + client_last
static_assert(writer_attr_v1 == 8 && writer_attr_v2 == 12 && writer_attr_v3 == 20,
              "writer attributes are stored in these three layouts: they must not change");

std::string encode_writer(int64_t last, uint32_t epoch, int64_t client_last) {
    std::string out;
    keys::put_u64(out, static_cast<uint64_t>(last));
    keys::put_u32(out, epoch);
    keys::put_u64(out, static_cast<uint64_t>(client_last));
    PRAVAHA_ASSERT(out.size() == writer_attr_v3, "writer attribute of {} bytes", out.size());
    return out;
}

std::string encode_i64(int64_t v) {
    std::string out;
    keys::put_u64(out, static_cast<uint64_t>(v));
    return out;
}

caf::error not_found(const segment_key& key) {
    return caf::make_error(errc::segment_not_found, "segment " + to_string(key));
}

// An append to a sealed segment: a transaction segment is sealed when its transaction was merged
// (committed) or is being given up, which the writer must not take for a scale.
caf::error sealed_error(const segment_key& key, const segment_meta& meta) {
    if (meta.limit > 0) {
        return caf::make_error(errc::transaction_not_open,
                               "transaction segment " + to_string(key) +
                                   (meta.merged ? " is committed" : " is sealed"));
    }
    return caf::make_error(errc::segment_sealed, "segment " + to_string(key) + " is sealed");
}

}  // namespace

std::optional<uint32_t> count_events(std::string_view data) {
    size_t pos = 0;
    uint32_t n = 0;
    while (pos < data.size()) {
        if (!next_event(data, pos)) {
            return std::nullopt;
        }
        ++n;
    }
    return n;
}

container_state::container_state(log_store& store, uint32_t container, uint32_t container_count)
    : store_(store), container_(container), container_count_(container_count) {}

bool container_state::owns(const segment_key& key) const {
    return container_count_ <= 1 || container_of(key, container_count_) == container_;
}

caf::error container_state::recover(local_log& log) {
    if (auto err = open()) {
        return err;
    }
    size_t replayed = 0;
    auto err =
        log.read_after(applied_index_, [&](uint64_t index, std::string_view bytes) -> caf::error {
            auto ops = decode_log_entry(bytes);
            if (!ops) {
                return std::move(ops.error());
            }
            auto res = apply_entry(index, std::move(*ops));
            if (!res) {
                return std::move(res.error());
            }
            ++replayed;
            return {};
        });
    if (err) {
        return err;
    }
    module_log("storage")->info(
        "container recovered container={} segments={} applied_index={} replayed_entries={}",
        container_, segments_.size(), applied_index_, replayed);
    return {};
}

caf::error container_state::open() {
    segments_.clear();
    caf::error decode_err;
    auto err = store_.scan("G", "H", [&](std::string_view k, std::string_view v) {
        if (k.size() != keys::segment_key_bytes) {
            decode_err = caf::make_error(errc::malformed_message, "bad segment key");
            return false;
        }
        auto meta = decode_segment_meta(v);
        if (!meta) {
            decode_err = std::move(meta.error());
            return false;
        }
        segment_key key{stream_uid{keys::get_u64(k, 1)}, segment_id{keys::get_u64(k, 9)}};
        if (owns(key)) {
            segments_[key].meta = *meta;
        }
        return true;
    });
    if (err || decode_err) {
        return err ? err : decode_err;
    }
    err = store_.scan("W", "X", [&](std::string_view k, std::string_view v) {
        if (k.size() != keys::writer_key_bytes ||
            (v.size() != writer_attr_v1 && v.size() != writer_attr_v2 &&
             v.size() != writer_attr_v3)) {
            decode_err = caf::make_error(errc::malformed_message, "bad writer attribute");
            return false;
        }
        segment_key key{stream_uid{keys::get_u64(k, 1)}, segment_id{keys::get_u64(k, 9)}};
        auto it = segments_.find(key);
        if (it != segments_.end()) {
            writer_id w{keys::get_u64(k, keys::segment_key_bytes),
                        keys::get_u64(k, keys::segment_key_bytes + 8)};
            auto& ws = it->second.writers[w];
            ws.last = static_cast<int64_t>(keys::get_u64(v, 0));
            ws.epoch = v.size() >= writer_attr_v2 ? keys::get_u32(v, writer_attr_v1) : 0;
            ws.client_last = v.size() == writer_attr_v3
                                 ? static_cast<int64_t>(keys::get_u64(v, writer_attr_v2))
                                 : no_event_number;
        }
        return true;
    });
    if (err || decode_err) {
        return err ? err : decode_err;
    }
    auto applied = store_.get(keys::applied(container_));
    if (!applied) {
        return std::move(applied.error());
    }
    applied_index_ = *applied && (*applied)->size() == 8 ? keys::get_u64(**applied, 0) : 0;
    return {};
}

caf::expected<std::vector<store_range>> container_state::state_ranges(store_view& view) const {
    // The segments this container owns in the view (the in-memory map is newer than the view).
    std::vector<store_range> out;
    auto err = view.scan("G", "H", [&](std::string_view k, std::string_view) {
        if (k.size() != keys::segment_key_bytes) {
            return true;
        }
        segment_key key{stream_uid{keys::get_u64(k, 1)}, segment_id{keys::get_u64(k, 9)}};
        if (owns(key)) {
            for (char tag : {'G', 'D', 'W'}) {
                auto prefix = keys::segment_prefix(tag, key);
                auto end = keys::prefix_end(prefix);
                out.push_back(store_range{std::move(prefix), std::move(end)});
            }
        }
        return true;
    });
    if (err) {
        return err;
    }
    return out;
}

void container_state::stage_install(uint64_t index, write_batch& b) const {
    for (const auto& [key, seg] : segments_) {
        for (char tag : {'G', 'D', 'W'}) {
            auto prefix = keys::segment_prefix(tag, key);
            b.erase_range(prefix, keys::prefix_end(prefix));
        }
    }
    b.put(keys::applied(container_), encode_i64(static_cast<int64_t>(index)));
}

caf::error container_state::precheck(const container_op& op) const {
    auto it = segments_.find(op.key);
    switch (op.type) {
        case container_op::kind::create_segment:
        case container_op::kind::delete_segment:
            return {};
        case container_op::kind::seal_segment:
            return it == segments_.end() ? not_found(op.key) : caf::error{};
        case container_op::kind::merge_segment:
            return check_merge(op).error;
        case container_op::kind::append:
            break;
        case container_op::kind::setup_writer:
            if (it == segments_.end()) {
                return not_found(op.key);
            }
            if (it->second.meta.sealed &&
                mutants::active(mutants::mutant::sealed_session_refused)) {
                return caf::make_error(errc::segment_sealed,
                                       "segment " + to_string(op.key) + " is sealed");
            }
            return {};
    }
    if (it == segments_.end()) {
        return not_found(op.key);
    }
    if (auto err = fenced(it->second, op)) {
        return err;
    }
    if (it->second.meta.sealed && !already_stored(it->second, op)) {
        return sealed_error(op.key, it->second.meta);
    }
    if (auto err = over_limit(op.key, it->second.meta, op.data.size())) {
        return err;
    }
    if (op.first_event_number < 0) {  // first: the difference below cannot overflow then
        return caf::make_error(errc::invalid_argument, "event numbers must not be negative");
    }
    if (op.event_count == 0 || op.last_event_number < op.first_event_number ||
        op.last_event_number - op.first_event_number + 1 != op.event_count) {
        return caf::make_error(errc::invalid_argument,
                               "append block event numbers do not match its event count");
    }
    // Validate framing: every event well-formed, none over 8 MiB, count matches.
    size_t pos = 0;
    uint32_t n = 0;
    while (pos < op.data.size()) {
        size_t before = pos;
        if (!next_event(op.data, pos)) {
            // Distinguish an oversized event from garbage for a clear error.
            if (op.data.size() - before >= event_header_bytes) {
                auto b = [&](size_t i) {
                    return static_cast<uint32_t>(static_cast<unsigned char>(op.data[before + i]));
                };
                uint32_t len = (b(4) << 24) | (b(5) << 16) | (b(6) << 8) | b(7);
                if (len > event_bytes_max) {
                    return caf::make_error(errc::event_too_large,
                                           fmt::format("event of {} bytes exceeds 8 MiB", len));
                }
            }
            return caf::make_error(errc::malformed_message, "append block has a malformed event");
        }
        ++n;
    }
    if (n != op.event_count) {
        return caf::make_error(
            errc::malformed_message,
            fmt::format("append block holds {} events, header says {}", n, op.event_count));
    }
    return {};
}

caf::expected<std::vector<op_result>> container_state::apply_entry(uint64_t index,
                                                                   std::vector<container_op> ops) {
    auto a = apply(index, ops);
    if (auto err = persist(a.writes)) {
        return err;
    }
    return std::move(a.results);
}

container_state::applied_entry container_state::apply(uint64_t index,
                                                      std::vector<container_op>& ops) {
    PRAVAHA_ASSERT(index > applied_index_, "entries apply in order: index={} applied={}", index,
                   applied_index_);
    applied_entry out;
    out.results.reserve(ops.size());
    for (auto& op : ops) {
        out.results.push_back(apply_op(op, out.writes));
    }
    // The final meta and writer state of every segment the appends touched (a segment deleted
    // later in the entry is gone, and its keys with it).
    for (const auto& key : dirty_meta_) {
        if (auto it = segments_.find(key); it != segments_.end()) {
            out.writes.put(keys::meta(key), encode_segment_meta(it->second.meta));
        }
    }
    for (const auto& [key, writer] : dirty_writers_) {
        auto it = segments_.find(key);
        if (it == segments_.end()) {
            continue;
        }
        if (auto w = it->second.writers.find(writer); w != it->second.writers.end()) {
            out.writes.put(keys::writer(key, writer),
                           encode_writer(w->second.last, w->second.epoch, w->second.client_last));
        }
    }
    dirty_meta_.clear();
    dirty_writers_.clear();
    out.writes.put(keys::applied(container_), encode_i64(static_cast<int64_t>(index)));
    applied_index_ = index;
    return out;
}

caf::expected<std::vector<op_result>> container_state::commit_entry(
    uint64_t index, std::vector<container_op>& ops) {
    auto a = apply(index, ops);
    if (failed_) {
        return failed_;
    }
    if (auto err = store_.write(a.writes, !mutants::active(mutants::mutant::ack_before_fsync))) {
        if (!mutants::active(mutants::mutant::sync_error_ignored)) {
            return err;
        }
    }
    return std::move(a.results);
}

caf::error container_state::persist(const write_batch& writes) {
    if (failed_) {
        return failed_;
    }
    return store_.write(writes, false);
}

op_result container_state::apply_op(container_op& op, write_batch& batch) {
    switch (op.type) {
        case container_op::kind::append:
            return apply_append(op, batch);
        case container_op::kind::setup_writer:
            return apply_setup_writer(op, batch);
        case container_op::kind::merge_segment:
            return apply_merge(op, batch);
        case container_op::kind::create_segment: {
            // Idempotent: the controller re-issues creates after a crash (a merged transaction
            // segment stays a tombstone: created again, it would take writes meant for nothing).
            if (segments_.find(op.key) == segments_.end() ||
                (mutants::active(mutants::mutant::scale_not_idempotent) &&
                 op.key.segment.epoch() > 0 && op.limit == 0)) {
                segment fresh;
                fresh.meta.limit = op.limit;
                segments_[op.key] = fresh;
                batch.put(keys::meta(op.key), encode_segment_meta(fresh.meta));
            }
            return {};
        }
        case container_op::kind::seal_segment: {
            auto it = segments_.find(op.key);
            if (it == segments_.end()) {
                return {not_found(op.key), {}};
            }
            if (!it->second.meta.sealed) {
                it->second.meta.sealed = true;
                batch.put(keys::meta(op.key), encode_segment_meta(it->second.meta));
            }
            return {};
        }
        case container_op::kind::delete_segment: {
            // Idempotent: deleting a missing segment succeeds.
            auto it = segments_.find(op.key);
            bool large = it != segments_.end() && it->second.meta.length > point_erase_bytes_max;
            segments_.erase(op.key);
            batch.erase(keys::meta(op.key));
            erase_prefix(keys::segment_prefix('D', op.key), large, batch);
            erase_prefix(keys::segment_prefix('W', op.key), false, batch);
            return {};
        }
    }
    return {caf::make_error(errc::malformed_message, "unknown op"), {}};
}

// A resent block whose events are all stored already (its first send was stored, the answer
// was lost). It is acknowledged even on a sealed segment: answering "sealed" would tell the
// writer that stored events failed (found by pravaha-sim, seal while writing).
bool container_state::adds_events(const container_op& op) const {
    auto it = segments_.find(op.key);
    if (op.type != container_op::kind::append || it == segments_.end()) {
        return op.type == container_op::kind::append;
    }
    auto wit = it->second.writers.find(op.writer);
    return wit == it->second.writers.end() || op.writer_epoch != wit->second.epoch ||
           op.first_event_number > wit->second.last;
}

bool container_state::already_stored(const segment& seg, const container_op& op) {
    auto wit = seg.writers.find(op.writer);
    return wit != seg.writers.end() && op.writer_epoch == wit->second.epoch &&
           op.last_event_number <= wit->second.last &&
           !mutants::active(mutants::mutant::no_idempotent_dedup);
}

// The segment an append or a writer session goes to, if it exists and is open.
caf::expected<container_state::segment*> container_state::open_segment(const segment_key& key) {
    auto it = segments_.find(key);
    if (it == segments_.end()) {
        return not_found(key);
    }
    if (it->second.meta.sealed) {
        return sealed_error(key, it->second.meta);
    }
    return &it->second;
}

// A block of an older session of this writer id (its replacement took over), or of a session
// this segment never opened: storing it could interleave two writers' events under one id and
// mistake later events for duplicates. Checked before "sealed": whether a superseded session's
// events are stored is unknown, so "failed" would be wrong (found by pravaha-sim with zombie
// writers: a zombie's late first session request took over from its replacement).
caf::error container_state::fenced(const segment& seg, const container_op& op) {
    auto wit = seg.writers.find(op.writer);
    uint32_t epoch = wit == seg.writers.end() ? 0 : wit->second.epoch;
    if (op.writer_epoch == epoch || mutants::active(mutants::mutant::no_writer_fencing)) {
        return {};
    }
    return caf::make_error(
        errc::writer_fenced,
        fmt::format("writer {} session {} is not the current session {} on "
                    "segment {}",
                    to_string(op.writer), op.writer_epoch, epoch, to_string(op.key)));
}

op_result container_state::apply_append(container_op& op, write_batch& batch) {
    auto it = segments_.find(op.key);
    if (it == segments_.end()) {
        return {not_found(op.key), {}};
    }
    auto& seg = it->second;
    if (auto err = fenced(seg, op)) {
        return {std::move(err), {}};
    }
    auto wit = seg.writers.find(op.writer);
    int64_t last = wit == seg.writers.end() ? no_event_number : wit->second.last;
    uint32_t epoch = wit == seg.writers.end() ? 0 : wit->second.epoch;
    append_ack ack{op.key, op.writer, op.last_event_number, seg.meta.length, 0, epoch};
    if (mutants::active(mutants::mutant::no_idempotent_dedup)) {
        last = op.first_event_number - 1;  // planted bug: every resend is stored again
    }
    if (op.last_event_number <= last) {
        // A retry of events already stored: acknowledge, store nothing; also on a sealed segment
        // (see already_stored).
        return {{}, ack};
    }
    if (seg.meta.sealed) {
        return {sealed_error(op.key, seg.meta), {}};
    }
    if (op.first_event_number > last + 1) {
        // An earlier block of this writer was not stored (rejected or lost); storing this one
        // would let the earlier block be mistaken for a duplicate later. The writer resends in
        // order from its first unacknowledged event.
        return {caf::make_error(errc::event_number_gap,
                                fmt::format("writer {} sent event {} after {}",
                                            to_string(op.writer), op.first_event_number, last)),
                {}};
    }
    // Every logged block passed precheck on the leader that logged it; a replica that applies
    // one that did not would store events whose numbers do not match their count.
    PRAVAHA_ASSERT(op.event_count > 0 && op.first_event_number >= 0 &&
                       op.last_event_number - op.first_event_number + 1 == op.event_count,
                   "logged block of writer {} numbers {}..{} for {} events", to_string(op.writer),
                   op.first_event_number, op.last_event_number, op.event_count);
    std::string_view data = op.data;
    uint32_t count = op.event_count;
    if (op.first_event_number <= last) {
        // Partial overlap with stored events (a retry re-batched differently): skip the prefix.
        auto skip = static_cast<uint32_t>(last - op.first_event_number + 1);
        size_t pos = 0;
        for (uint32_t i = 0; i < skip; ++i) {
            auto ev = next_event(data, pos);
            PRAVAHA_ASSERT(ev.has_value(), "prechecked block framing");
        }
        data = data.substr(pos);
        count -= skip;
    }
    // Per (writer, segment) stored numbers are contiguous: this block continues right after
    // the last stored one, and adds at least one event.
    PRAVAHA_ASSERT(count > 0 && !data.empty() && op.last_event_number - count + 1 == last + 1,
                   "append of writer {} stores {} events ending at {} after {}",
                   to_string(op.writer), count, op.last_event_number, last);
    if (auto err = over_limit(op.key, seg.meta, data.size())) {
        return {std::move(err), {}};  // precheck saw a shorter segment (blocks in one entry)
    }
    auto stored = static_cast<int64_t>(data.size());
    // The whole block is new (the usual case): its payload moves into the batch, uncopied.
    batch.put(keys::data(op.key, seg.meta.length),
              data.size() == op.data.size() ? std::move(op.data) : std::string(data));
    seg.meta.length += stored;
    auto& ws = seg.writers[op.writer];
    ws.last = op.last_event_number;
    ws.client_last = std::max(ws.client_last, op.client_last);
    dirty_meta_.insert(op.key);  // written once per entry, by apply
    dirty_writers_.emplace(op.key, op.writer);
    ack.end_offset = seg.meta.length;
    ack.appended_events = count;
    op_result out{{}, ack};
    out.stored_bytes = stored;
    return out;
}

op_result container_state::apply_setup_writer(const container_op& op, write_batch& batch) {
    if (auto it = segments_.find(op.key);
        it != segments_.end() && it->second.meta.sealed &&
        !mutants::active(mutants::mutant::sealed_session_refused)) {
        // No new session on a sealed segment, but the answer says what is stored under the id:
        // a writer reopened after a lost connection acknowledges its resent events that are
        // stored (and fails only the rest) instead of failing stored events as "sealed".
        // Nothing changes, so every replica applies it alike.
        const auto& seg = it->second;
        auto wit = seg.writers.find(op.writer);
        append_ack ack{op.key, op.writer, no_event_number, seg.meta.length, 0, 0};
        if (wit != seg.writers.end()) {
            ack.last_event_number = wit->second.last;
            ack.writer_epoch = wit->second.epoch;
            ack.client_last = wit->second.client_last;
        }
        ack.sealed = true;
        return {{}, ack};
    }
    auto open = open_segment(op.key);
    if (!open) {
        return {std::move(open.error()), {}};
    }
    auto& seg = **open;
    auto& ws = seg.writers[op.writer];
    if (op.writer_epoch != 0 && op.writer_epoch != ws.epoch) {
        return {caf::make_error(errc::writer_fenced,
                                fmt::format("writer {} session {} was superseded by session {} on "
                                            "segment {}",
                                            to_string(op.writer), op.writer_epoch, ws.epoch,
                                            to_string(op.key))),
                {}};
    }
    ++ws.epoch;
    batch.put(keys::writer(op.key, op.writer), encode_writer(ws.last, ws.epoch, ws.client_last));
    return {{},
            append_ack{op.key, op.writer, ws.last, seg.meta.length, 0, ws.epoch, ws.client_last}};
}

std::vector<segment_key> container_state::segment_keys() const {
    std::vector<segment_key> out;
    out.reserve(segments_.size());
    for (const auto& [key, seg] : segments_) {
        out.push_back(key);
    }
    std::sort(out.begin(), out.end());
    return out;
}

caf::expected<segment_meta> container_state::status(const segment_key& key) const {
    auto it = segments_.find(key);
    if (it == segments_.end()) {
        return not_found(key);
    }
    return it->second.meta;
}

caf::error container_state::over_limit(const segment_key& key,
                                       const segment_meta& meta,
                                       size_t bytes) {
    if (meta.limit == 0 || meta.length + static_cast<int64_t>(bytes) <= meta.limit) {
        return {};
    }
    return caf::make_error(
        errc::transaction_too_large,
        fmt::format("transaction segment {} would hold {} bytes, its limit is {}", to_string(key),
                    meta.length + static_cast<int64_t>(bytes), meta.limit));
}

// What a merge of op.source into op.key does now: refused, answered from the source's tombstone
// (merged before: a resumed commit), or to be done (`done` false, no error).
container_state::merge_check container_state::check_merge(const container_op& op) const {
    auto target = segments_.find(op.key);
    auto source = segments_.find(op.source);
    if (source == segments_.end()) {
        return {not_found(op.source)};
    }
    const auto& sm = source->second.meta;
    if (sm.merged) {
        if (sm.merged_into == op.key) {
            return {{}, true, sm.merged_at};
        }
        return {caf::make_error(
            errc::invalid_argument,
            fmt::format("transaction segment {} was merged into {}, not {}", to_string(op.source),
                        to_string(sm.merged_into), to_string(op.key)))};
    }
    if (target == segments_.end()) {
        return {not_found(op.key)};
    }
    if (sm.limit == 0 || target->second.meta.limit > 0) {
        return {caf::make_error(errc::invalid_argument,
                                fmt::format("only a transaction segment merges into a segment: {} "
                                            "into {}",
                                            to_string(op.source), to_string(op.key)))};
    }
    if (target->second.meta.sealed) {
        return {sealed_error(op.key, target->second.meta)};
    }
    return {};
}

// Erases every key under `prefix`: one by one when the store holds at most point_erase_max of
// them, none is in `batch` (this entry wrote it: a scan of the store cannot see it) and the caller
// knows of no reason against it (`range`: a large segment, whose scan would read its blocks);
// else, or when the store cannot be read, with one range delete. Range tombstones pile up in
// RocksDB's memtable, and every later iterator fragments all of them: with one per deleted
// segment (every transaction deletes its segments) reads slowed down with each transaction
// (measured: commits from 3 ms to 12 ms over 600 transactions). Deterministic on every replica:
// entries are applied and persisted one by one, so each scans the same store.
void container_state::erase_prefix(const std::string& prefix,
                                   bool range,
                                   write_batch& batch) const {
    constexpr size_t point_erase_max = 256;
    auto end = keys::prefix_end(prefix);
    range = range || std::any_of(batch.ops.begin(), batch.ops.end(), [&](const auto& op) {
                return op.key.compare(0, prefix.size(), prefix) == 0;
            });
    std::vector<std::string> found;
    bool many = false;
    auto err =
        range ? caf::error{} : store_.scan(prefix, end, [&](std::string_view k, std::string_view) {
            if (found.size() == point_erase_max) {
                many = true;
                return false;
            }
            found.emplace_back(k);
            return true;
        });
    if (err) {
        module_log("storage")->warn(
            "container={} a deleted segment's keys erased by a range (the store cannot be read): "
            "{}",
            container_, render_error(err));
    }
    if (range || err || many) {
        batch.erase_range(prefix, end);
        return;
    }
    for (auto& k : found) {
        batch.erase(std::move(k));
    }
}

// Moves the source's blocks behind the target's length, the target's length past them, and
// leaves the source a sealed, empty tombstone that remembers where its bytes went: one op of
// one entry, so every replica applies all of it or none (a transaction's part in this segment is
// visible whole or not at all). The blocks are read from the store: the source's appends in
// this same entry are only in the batch yet, so such a merge is refused (`conflict`; the
// controller retries once they are written).
op_result container_state::apply_merge(const container_op& op, write_batch& batch) {
    auto check = check_merge(op);
    op_result out;
    out.ack.key = op.key;
    if (check.error || check.done) {
        out.error = std::move(check.error);
        out.merged_at = check.merged_at;
        return out;
    }
    if (dirty_meta_.count(op.source) > 0) {
        out.error = caf::make_error(
            errc::conflict, "transaction segment " + to_string(op.source) +
                                " was appended to in the same log entry as its merge; retry");
        return out;
    }
    auto& target = segments_.at(op.key);
    auto& source = segments_.at(op.source);
    int64_t at = target.meta.length;
    int64_t moved = 0;
    caf::error bad;
    std::vector<std::string> copied;  // the source's block keys: erased one by one below
    auto copy = [&](std::string_view k, std::string_view block) {
        copied.emplace_back(k);
        auto offset = static_cast<int64_t>(keys::get_u64(k, keys::segment_key_bytes));
        if (offset != moved) {
            bad = caf::make_error(errc::corrupt_data,
                                  "gap between data blocks of " + to_string(op.source));
            return false;
        }
        batch.put(keys::data(op.key, at + offset), std::string(block));
        moved += static_cast<int64_t>(block.size());
        return true;
    };
    auto err =
        store_.scan(keys::data(op.source, 0), keys::data(op.source, source.meta.length), copy);
    if (!err && !bad && moved != source.meta.length) {
        bad = caf::make_error(errc::corrupt_data,
                              fmt::format("transaction segment {} holds {} of its {} bytes",
                                          to_string(op.source), moved, source.meta.length));
    }
    if (err || bad) {
        // This replica cannot apply the entry as the others do: it must stop (persist and
        // commit_entry answer the error and write nothing).
        failed_ = err ? err : bad;
        out.error = failed_;
        return out;
    }
    target.meta.length += moved;
    dirty_meta_.insert(op.key);
    // Every block of the source was read (its appends are all in the store: same-entry ones are
    // refused above): point deletes, no range tombstone (see erase_prefix).
    for (auto& k : copied) {
        batch.erase(std::move(k));
    }
    source.meta.sealed = true;
    source.meta.merged = true;
    source.meta.merged_into = op.key;
    source.meta.merged_at = at;
    source.meta.length = 0;
    batch.put(keys::meta(op.source), encode_segment_meta(source.meta));
    PRAVAHA_ASSERT(target.meta.length == at + moved, "merge into {} moved {} bytes from {}",
                   to_string(op.key), moved, at);
    out.merged_at = at;
    out.ack.end_offset = target.meta.length;
    return out;
}

caf::expected<read_result> container_state::read(const segment_key& key,
                                                 int64_t offset,
                                                 uint32_t max_bytes) const {
    auto it = segments_.find(key);
    if (it == segments_.end()) {
        return not_found(key);
    }
    const auto& meta = it->second.meta;
    read_result out;
    out.key = key;
    out.offset = offset;
    out.next_offset = offset;
    out.length = meta.length;
    out.sealed = meta.sealed;
    if (offset < 0 || offset > meta.length) {
        return caf::make_error(errc::bad_offset,
                               fmt::format("offset {} outside segment {} of length {}", offset,
                                           to_string(key), meta.length));
    }
    if (offset == meta.length) {
        return out;
    }
    auto first = store_.floor(keys::data(key, 0), keys::data(key, offset));
    if (!first) {
        return std::move(first.error());
    }
    if (!*first) {
        return caf::make_error(errc::corrupt_data, "no data block at offset of " + to_string(key));
    }
    int64_t block_start =
        static_cast<int64_t>(keys::get_u64((*first)->first, keys::segment_key_bytes));
    caf::error fail;
    bool started = false;
    auto visit = [&](std::string_view k, std::string_view block) {
        int64_t start = static_cast<int64_t>(keys::get_u64(k, keys::segment_key_bytes));
        if (start != (started ? out.next_offset : block_start)) {
            fail =
                caf::make_error(errc::corrupt_data, "gap between data blocks of " + to_string(key));
            return false;
        }
        size_t pos = 0;
        if (!started) {
            // Walk to the requested offset; it must be an event boundary.
            auto skip = static_cast<size_t>(offset - start);
            while (pos < skip) {
                if (!next_event(block, pos)) {
                    fail = caf::make_error(errc::corrupt_data,
                                           "bad event framing in " + to_string(key));
                    return false;
                }
            }
            if (pos != skip) {
                fail = caf::make_error(errc::bad_offset,
                                       fmt::format("offset {} is not an event boundary", offset));
                return false;
            }
            started = true;
        }
        while (pos < block.size()) {
            size_t before = pos;
            if (!next_event(block, pos)) {
                fail =
                    caf::make_error(errc::corrupt_data, "bad event framing in " + to_string(key));
                return false;
            }
            if (!out.data.empty() && out.data.size() + (pos - before) > max_bytes) {
                return false;
            }
            out.data.append(block.data() + before, pos - before);
            out.next_offset = offset + static_cast<int64_t>(out.data.size());
        }
        return out.data.size() < max_bytes;
    };
    if (auto err = store_.scan((*first)->first, keys::data(key, meta.length), visit)) {
        return err;
    }
    if (fail) {
        return fail;
    }
    out.next_offset = offset + static_cast<int64_t>(out.data.size());
    return out;
}

}  // namespace pravaha::storage
