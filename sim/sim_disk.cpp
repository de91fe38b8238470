#include "sim/sim_disk.hpp"

#include "schema/errc.hpp"

namespace pravaha::sim {

namespace {

using kv = sim_disk::kv;

caf::error dead_node() {
    return caf::make_error(errc::storage_io, "simulated disk: the node crashed");
}

caf::error scan_map(const kv& m,
                    std::string_view from,
                    std::string_view to,
                    const std::function<bool(std::string_view, std::string_view)>& fn) {
    for (auto it = m.lower_bound(from); it != m.end() && std::string_view(it->first) < to; ++it) {
        if (!fn(it->first, it->second)) {
            break;
        }
    }
    return {};
}

std::optional<std::pair<std::string, std::string>> floor_map(const kv& m,
                                                             std::string_view lower,
                                                             std::string_view key) {
    auto it = m.upper_bound(key);
    if (it == m.begin()) {
        return std::nullopt;
    }
    --it;
    if (std::string_view(it->first) < lower) {
        return std::nullopt;
    }
    return std::make_pair(it->first, it->second);
}

// A view of a simulated disk: a copy of what was visible when it was taken (simulated stores are
// small). A view of an incarnation that crashed since fails, as RocksDB's store voids its views
// when it closes.
class map_view final : public storage::store_view {
public:
    map_view(kv data, const sim_disk* disk, uint64_t inc)
        : data_(std::move(data)), disk_(disk), inc_(inc) {}

    caf::error scan(std::string_view from,
                    std::string_view to,
                    const std::function<bool(std::string_view, std::string_view)>& fn) override {
        if (disk_ != nullptr && !disk_->live(inc_)) {
            return dead_node();
        }
        return scan_map(data_, from, to, fn);
    }

    uint64_t approximate_bytes(const storage::store_range& range) override {
        uint64_t n = 0;
        for (auto it = data_.lower_bound(range.from);
             it != data_.end() && std::string_view(it->first) < range.to; ++it) {
            n += it->first.size() + it->second.size();
        }
        return n;
    }

private:
    kv data_;
    const sim_disk* disk_;
    uint64_t inc_;
};

class disk_view final : public storage::log_store {
public:
    disk_view(sim_disk& disk, uint64_t inc) : disk_(disk), inc_(inc) {}

    caf::expected<std::optional<std::string>> get(std::string_view key) override {
        if (!disk_.live(inc_)) {
            return dead_node();
        }
        auto it = disk_.visible().find(key);
        if (it == disk_.visible().end()) {
            return std::optional<std::string>{};
        }
        return std::optional<std::string>{it->second};
    }

    caf::error write(const storage::write_batch& batch, bool sync) override {
        return disk_.write(inc_, batch, sync);
    }

    caf::error scan(std::string_view from,
                    std::string_view to,
                    const std::function<bool(std::string_view, std::string_view)>& fn) override {
        if (!disk_.live(inc_)) {
            return dead_node();
        }
        return scan_map(disk_.visible(), from, to, fn);
    }

    caf::expected<std::optional<std::pair<std::string, std::string>>> floor(
        std::string_view lower, std::string_view key) override {
        if (!disk_.live(inc_)) {
            return dead_node();
        }
        return floor_map(disk_.visible(), lower, key);
    }

    caf::expected<std::unique_ptr<storage::store_view>> view() override {
        if (!disk_.live(inc_)) {
            return dead_node();
        }
        return std::unique_ptr<storage::store_view>(
            std::make_unique<map_view>(disk_.visible(), &disk_, inc_));
    }

private:
    sim_disk& disk_;
    uint64_t inc_;
};

class map_store final : public storage::log_store {
public:
    explicit map_store(kv data) : data_(std::move(data)) {}

    caf::expected<std::optional<std::string>> get(std::string_view key) override {
        auto it = data_.find(key);
        if (it == data_.end()) {
            return std::optional<std::string>{};
        }
        return std::optional<std::string>{it->second};
    }
    caf::error write(const storage::write_batch& batch, bool) override {
        sim_disk::apply(data_, batch);
        return {};
    }
    caf::error scan(std::string_view from,
                    std::string_view to,
                    const std::function<bool(std::string_view, std::string_view)>& fn) override {
        return scan_map(data_, from, to, fn);
    }
    caf::expected<std::optional<std::pair<std::string, std::string>>> floor(
        std::string_view lower, std::string_view key) override {
        return floor_map(data_, lower, key);
    }
    caf::expected<std::unique_ptr<storage::store_view>> view() override {
        return std::unique_ptr<storage::store_view>(std::make_unique<map_view>(data_, nullptr, 0));
    }

private:
    kv data_;
};

}  // namespace

void sim_disk::apply(kv& m, const storage::write_batch& b) {
    for (const auto& op : b.ops) {
        switch (op.type) {
            case storage::write_batch::kind::put:
                m[op.key] = op.value;
                break;
            case storage::write_batch::kind::erase:
                m.erase(op.key);
                break;
            case storage::write_batch::kind::erase_range:
                m.erase(m.lower_bound(op.key), m.lower_bound(op.value));
                break;
        }
    }
}

caf::expected<std::unique_ptr<storage::log_store>> sim_disk::open(uint64_t inc) {
    incarnation_ = inc;
    failed_ = false;
    return std::unique_ptr<storage::log_store>(std::make_unique<disk_view>(*this, inc));
}

void sim_disk::make_durable(const storage::write_batch& b) {
    apply(durable_, b);
    if (on_durable_) {
        on_durable_(b);
    }
}

void sim_disk::settle() {
    auto now = now_();
    size_t n = 0;
    while (n < pending_.size() && (pending_[n].doomed || pending_[n].durable_at <= now)) {
        if (!pending_[n].doomed) {
            make_durable(pending_[n].batch);
        }
        ++n;
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
}

caf::error sim_disk::write(uint64_t inc, const storage::write_batch& batch, bool sync) {
    if (!live(inc)) {
        return dead_node();
    }
    if (failed_) {
        // As RocksDB after a failed WAL sync: no write succeeds until the database is reopened.
        return caf::make_error(errc::storage_io,
                               "simulated disk: writes stopped after a failed fsync");
    }
    settle();
    ++stats_.writes;
    apply(visible_, batch);
    pending_.push_back(pending_write{batch, false, INT64_MAX});
    if (!sync) {
        return {};
    }
    ++stats_.syncs;
    synced_ = true;
    if (rng_.chance(faults_.sync_error_num, faults_.sync_error_den)) {
        ++stats_.sync_errors;
        failed_ = true;
        for (auto& p : pending_) {
            if (p.durable_at == INT64_MAX) {
                p.doomed = true;
            }
        }
        return caf::make_error(errc::storage_io, "simulated disk: fsync failed");
    }
    auto at = now_() + faults_.sync_latency_ns;
    sync_done_at_ = at;
    for (auto& p : pending_) {
        if (p.durable_at == INT64_MAX && !p.doomed) {
            p.durable_at = at;
        }
    }
    return {};
}

void sim_disk::crash() {
    settle();
    ++stats_.crashes;
    ++incarnation_;  // fences every open view
    bool keeping = true;
    for (auto& p : pending_) {
        if (keeping && !p.doomed && rng_.chance(faults_.keep_num, faults_.keep_den)) {
            make_durable(p.batch);
            ++stats_.pending_kept;
            continue;
        }
        if (keeping && rng_.chance(1, 2)) {
            ++stats_.torn;  // the first lost write was half written; its checksum drops it
        }
        keeping = false;
        ++stats_.pending_lost;
    }
    pending_.clear();
    visible_ = durable_;
}

void sim_disk::process_exit() {
    settle();
    ++incarnation_;
    for (auto& p : pending_) {
        if (p.doomed) {
            break;
        }
        make_durable(p.batch);
    }
    pending_.clear();
    visible_ = durable_;
}

std::unique_ptr<storage::log_store> open_map_store(sim_disk::kv data) {
    return std::make_unique<map_store>(std::move(data));
}

}  // namespace pravaha::sim
