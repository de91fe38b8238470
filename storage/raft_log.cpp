#include "storage/raft_log.hpp"

#include "schema/errc.hpp"
#include "storage/keys.hpp"

#include <tuple>

namespace pravaha::storage::raft {

namespace {

// On-disk layouts (fixed: changing them needs a format version).
constexpr size_t hard_state_bytes = 8 + 4 + 8;  // term, vote, commit
constexpr size_t snapshot_point_bytes = 8 + 8;  // index, term
static_assert(hard_state_bytes == sizeof(hard_state{}.term) + sizeof(hard_state{}.vote) +
                                      sizeof(hard_state{}.commit),
              "the stored hard state holds exactly the fields of raft::hard_state");
static_assert(sizeof(uint64_t) + sizeof(uint64_t) == snapshot_point_bytes,
              "the stored snapshot point is an index and a term");

}  // namespace

raft_log::raft_log(log_store& store, uint32_t group) : store_(store), group_(group) {}

caf::expected<durable_state> raft_log::load() {
    durable_state st;
    auto hard = store_.get(keys::raft(group_, 'h'));
    if (!hard) {
        return std::move(hard.error());
    }
    if (*hard) {
        auto decoded = decode_hard_state(**hard);
        if (!decoded) {
            return caf::make_error(errc::corrupt_data,
                                   "raft hard state of group " + std::to_string(group_));
        }
        st.hard = *decoded;
    }
    auto snap = store_.get(keys::raft(group_, 's'));
    if (!snap) {
        return std::move(snap.error());
    }
    if (*snap) {
        auto point = decode_snapshot_point(**snap);
        if (!point) {
            return caf::make_error(errc::corrupt_data,
                                   "raft snapshot point of group " + std::to_string(group_));
        }
        std::tie(st.snapshot_index, st.snapshot_term) = *point;
    }
    auto marker = store_.get(keys::raft(group_, 'r'));
    if (!marker) {
        return std::move(marker.error());
    }
    st.recovering = marker->has_value();
    caf::error bad;
    auto err = store_.scan(
        keys::raft_entry(group_, st.snapshot_index + 1), keys::raft_entry(group_, UINT64_MAX),
        [&](std::string_view k, std::string_view v) {
            uint64_t index = keys::get_u64(k, 6);
            uint64_t expected = st.snapshot_index + st.entries.size() + 1;
            if (index != expected || v.size() < 8) {
                bad = caf::make_error(errc::corrupt_data,
                                      "raft log of group " + std::to_string(group_) +
                                          " has a gap or a short entry at index " +
                                          std::to_string(index));
                return false;
            }
            st.entries.push_back(entry{keys::get_u64(v, 0), index, std::string(v.substr(8))});
            return true;
        });
    if (err) {
        return err;
    }
    if (bad) {
        return bad;
    }
    first_index_ = st.snapshot_index + 1;
    last_index_ = st.snapshot_index + st.entries.size();
    // Entries at or below the snapshot point may remain from a compaction whose erase was lost
    // with unsynced writes; they are never read and the next compaction removes them.
    return st;
}

std::optional<hard_state> raft_log::decode_hard_state(std::string_view v) {
    if (v.size() != hard_state_bytes) {
        return std::nullopt;
    }
    hard_state h;
    h.term = keys::get_u64(v, 0);
    h.vote = keys::get_u32(v, 8);
    h.commit = keys::get_u64(v, 12);
    return h;
}

std::optional<std::pair<uint64_t, uint64_t>> raft_log::decode_snapshot_point(std::string_view v) {
    if (v.size() != snapshot_point_bytes) {
        return std::nullopt;
    }
    return std::make_pair(keys::get_u64(v, 0), keys::get_u64(v, 8));
}

void raft_log::stage(const ready& r, write_batch& b) {
    if (r.install) {
        b.erase_range(keys::raft_entry(group_, 0), keys::raft_entry(group_, UINT64_MAX));
        std::string v;
        keys::put_u64(v, r.install->index);
        keys::put_u64(v, r.install->term);
        b.put(keys::raft(group_, 's'), std::move(v));
        first_index_ = r.install->index + 1;
        last_index_ = r.install->index;
    }
    if (r.truncate_from != 0 && r.truncate_from <= last_index_) {
        b.erase_range(keys::raft_entry(group_, r.truncate_from),
                      keys::raft_entry(group_, last_index_ + 1));
        last_index_ = r.truncate_from - 1;
    }
    for (const auto& e : r.entries) {
        std::string v;
        v.reserve(8 + e.data.size());
        keys::put_u64(v, e.term);
        v.append(e.data);
        b.put(keys::raft_entry(group_, e.index), std::move(v));
        last_index_ = e.index;
    }
    if (r.hard) {
        std::string v;
        keys::put_u64(v, r.hard->term);
        keys::put_u32(v, r.hard->vote);
        keys::put_u64(v, r.hard->commit);
        b.put(keys::raft(group_, 'h'), std::move(v));
    }
    if (r.recovering) {
        if (*r.recovering) {
            b.put(keys::raft(group_, 'r'), "1");
        } else {
            b.erase(keys::raft(group_, 'r'));
        }
    }
}

void raft_log::stage_compaction(uint64_t index, uint64_t term, write_batch& b) {
    if (index < first_index_) {
        return;
    }
    // Usually a few entries: point deletes (range tombstones would pile up in the memtable).
    if (index - first_index_ < 1024) {
        for (auto i = first_index_; i <= index; ++i) {
            b.erase(keys::raft_entry(group_, i));
        }
    } else {
        b.erase_range(keys::raft_entry(group_, first_index_), keys::raft_entry(group_, index + 1));
    }
    std::string v;
    keys::put_u64(v, index);
    keys::put_u64(v, term);
    b.put(keys::raft(group_, 's'), std::move(v));
    first_index_ = index + 1;
}

void raft_log::stage_erase_all(write_batch& b) {
    b.erase_range(keys::raft(group_, 0), keys::raft(group_, '\x7f'));
    first_index_ = 1;
    last_index_ = 0;
}

}  // namespace pravaha::storage::raft
