#include "storage/snapshot_pacer.hpp"

#include <algorithm>

namespace pravaha::storage::raft {

snapshot_pacer::snapshot_pacer(uint64_t bytes_per_tick, uint32_t groups, uint64_t burst_bytes)
    : per_tick_(static_cast<int64_t>(bytes_per_tick)),
      groups_(std::max<int64_t>(1, groups)),
      cap_(std::max(per_tick_, static_cast<int64_t>(burst_bytes)) * groups_) {}

bool snapshot_pacer::claim(replica_id follower, const void* owner, uint32_t group) {
    std::lock_guard lock(mu_);
    auto [it, fresh] = holders_.try_emplace(follower, hold{owner, group});
    return fresh || it->second.owner == owner;
}

void snapshot_pacer::release(replica_id follower, const void* owner) {
    std::lock_guard lock(mu_);
    auto it = holders_.find(follower);
    if (it != holders_.end() && it->second.owner == owner) {
        holders_.erase(it);
    }
}

void snapshot_pacer::release_all(const void* owner) {
    std::lock_guard lock(mu_);
    std::erase_if(holders_, [owner](const auto& h) { return h.second.owner == owner; });
}

std::optional<uint32_t> snapshot_pacer::holder(replica_id follower) const {
    std::lock_guard lock(mu_);
    auto it = holders_.find(follower);
    if (it == holders_.end()) {
        return std::nullopt;
    }
    return it->second.group;
}

void snapshot_pacer::tick() {
    if (per_tick_ == 0) {
        return;
    }
    std::lock_guard lock(mu_);
    budget_ = std::min(budget_ + per_tick_, cap_);
}

bool snapshot_pacer::may_send() const {
    if (per_tick_ == 0) {
        return true;
    }
    std::lock_guard lock(mu_);
    return budget_ > 0;
}

void snapshot_pacer::charge(int64_t bytes) {
    if (per_tick_ == 0) {
        return;
    }
    std::lock_guard lock(mu_);
    budget_ = std::min(budget_ - bytes * groups_, cap_);
}

}  // namespace pravaha::storage::raft
