#pragma once

#include "schema/raft_types.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>

namespace pravaha::storage::raft {

using pravaha::raft::replica_id;

/// What the Raft groups of one node share when their leaders send snapshots: the node's send
/// rate (a byte budget that every group's tick refills and every chunk sent is charged to) and
/// one transfer at a time to each follower node. A node rebuilding all of a member's groups
/// then gets one snapshot at a time, at the node's rate, not one per group at the rate each.
///
/// Thread-safe: the groups' replicas live in different actors. Holds no time of its own: it is
/// refilled by the replicas' ticks, so the simulator's ticks drive it.
class snapshot_pacer {
public:
    /// `bytes_per_tick`: the node's rate per tick of its groups (0: no limit); `groups`: how many
    /// replicas tick it (each tick adds 1/groups of the rate, so that the node's rate does not
    /// grow with its groups); the budget grows to at most max(bytes_per_tick, `burst_bytes`)
    /// (one chunk: a chunk larger than a tick's rate must still be able to go).
    snapshot_pacer(uint64_t bytes_per_tick, uint32_t groups, uint64_t burst_bytes);

    /// The replica `owner` (of group `group`) may send a snapshot to `follower`: no other replica
    /// of this node is sending it one. If so, the follower is held for it until `release`.
    bool claim(replica_id follower, const void* owner, uint32_t group);
    void release(replica_id follower, const void* owner);
    /// Releases every follower `owner` holds (it stopped leading, or it ends).
    void release_all(const void* owner);
    /// The group sending `follower` a snapshot, if any.
    std::optional<uint32_t> holder(replica_id follower) const;

    /// One group's tick: adds its share of the rate.
    void tick();
    /// Whether a chunk may be sent now: no limit, or budget left.
    bool may_send() const;
    /// Charges `bytes` sent (negative: a refund, when a chunk turned out smaller than charged).
    void charge(int64_t bytes);

private:
    // The budget counts in units of 1/groups byte, so that shares need no rounding.
    const int64_t per_tick_;
    const int64_t groups_;
    const int64_t cap_;
    mutable std::mutex mu_;
    int64_t budget_ = 0;
    struct hold {
        const void* owner = nullptr;
        uint32_t group = 0;
    };
    std::map<replica_id, hold> holders_;
};

}  // namespace pravaha::storage::raft
