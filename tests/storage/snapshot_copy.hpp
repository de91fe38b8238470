#pragma once

// Moves an owner's state from one store to another the way a Raft follower receives it: read in
// chunks from a view of the source (snapshot_source), each chunk staged on the target, then
// the install marker with the owner's own removal of its old state, then the move into place.

#include "storage/log_store.hpp"
#include "storage/raft_runner.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <vector>

namespace pravaha::test {

inline void copy_snapshot(
    storage::log_store& from,
    const std::function<caf::expected<std::vector<storage::store_range>>(storage::store_view&)>&
        ranges,
    storage::log_store& to,
    uint32_t group,
    uint64_t index,
    const std::function<void(storage::write_batch&)>& stage_owner,
    size_t chunk_bytes = 64) {
    auto view = from.view();
    REQUIRE(view);
    auto r = ranges(**view);
    REQUIRE(r);
    storage::raft::snapshot_source src(std::move(*view), std::move(*r), chunk_bytes);
    for (uint64_t n = 1;; ++n) {
        bool last = false;
        auto data = src.read(n, last);
        REQUIRE(data);
        storage::write_batch b;
        REQUIRE(!storage::raft::stage_chunk(group, {index, n, std::move(*data)}, b));
        REQUIRE(!to.write(b, false));
        if (last) {
            break;
        }
    }
    storage::write_batch b;
    stage_owner(b);
    storage::raft::stage_install_marker(group, {index, 1}, b);
    REQUIRE(!to.write(b, true));
    REQUIRE(!storage::raft::complete_install(to, group, chunk_bytes));
}

}  // namespace pravaha::test
