#include "storage/local_log.hpp"

#include "schema/errc.hpp"
#include "schema/mutants.hpp"
#include "storage/keys.hpp"

namespace pravaha::storage {

local_log::local_log(log_store& store, uint32_t container) : store_(store), container_(container) {}

caf::error local_log::open() {
    auto lo = keys::log(container_, 0);
    auto hi = keys::log(container_, UINT64_MAX);
    auto last = store_.floor(lo, hi);
    if (!last) {
        return std::move(last.error());
    }
    last_index_ = *last ? keys::get_u64((*last)->first, 5) : 0;
    // Entries below the first stored one were truncated; remember so truncation stays cheap.
    std::optional<uint64_t> first;
    if (auto err = store_.scan(lo, hi, [&](std::string_view k, std::string_view) {
            first = keys::get_u64(k, 5);
            return false;
        })) {
        return err;
    }
    truncated_through_ = first ? *first - 1 : last_index_;
    // The applied index is stored separately; if it is ahead of the log (all entries truncated),
    // the caller's read_after simply finds nothing.
    return {};
}

caf::expected<uint64_t> local_log::append(std::string entry, uint64_t truncate_through) {
    write_batch b;
    auto index = last_index_ + 1;
    b.put(keys::log(container_, index), std::move(entry));
    if (truncate_through > truncated_through_) {
        // Usually one or two entries: point deletes. Range tombstones would pile up in the
        // memtable (one per group commit) and slow down every iterator.
        if (truncate_through - truncated_through_ <= 1024) {
            for (auto i = truncated_through_ + 1; i <= truncate_through; ++i) {
                b.erase(keys::log(container_, i));
            }
        } else {
            b.erase_range(keys::log(container_, truncated_through_ + 1),
                          keys::log(container_, truncate_through + 1));
        }
    }
    if (auto err = store_.write(b, !mutants::active(mutants::mutant::ack_before_fsync))) {
        if (!mutants::active(mutants::mutant::sync_error_ignored)) {
            return err;
        }
    }
    last_index_ = index;
    if (truncate_through > truncated_through_) {
        truncated_through_ = truncate_through;
    }
    return index;
}

caf::error local_log::read_after(uint64_t index,
                                 const std::function<caf::error(uint64_t, std::string_view)>& fn) {
    caf::error result;
    auto err = store_.scan(keys::log(container_, index + 1), keys::log(container_, UINT64_MAX),
                           [&](std::string_view k, std::string_view v) {
                               result = fn(keys::get_u64(k, 5), v);
                               return !result;
                           });
    return err ? err : result;
}

}  // namespace pravaha::storage
