#include "runtime/metered_store.hpp"

#include "schema/metrics.hpp"

#include <chrono>
#include <mutex>
#include <optional>

namespace pravaha::runtime {

namespace {

// The store the gauges read: cleared (under the mutex) before the store closes, so a scrape
// never reads a closed one.
struct store_probe {
    std::mutex mutex;
    storage::log_store* store = nullptr;

    std::optional<storage::store_stats> stats() {
        std::lock_guard<std::mutex> lock(mutex);
        return store != nullptr ? store->stats() : std::nullopt;
    }
};

class metered_store final : public storage::log_store {
public:
    explicit metered_store(std::unique_ptr<storage::log_store> inner)
        : inner_(std::move(inner)),
          probe_(std::make_shared<store_probe>()),
          sync_seconds_(metrics::global().histogram_of(
              "pravaha_store_sync_seconds",
              "Time of one synced write to the node's store (the fsync acknowledgements wait for), "
              "in seconds.",
              metrics::latency_bounds())),
          written_bytes_(metrics::global().counter_of(
              "pravaha_store_written_bytes_total",
              "Bytes of keys and values written to the node's store.")),
          errors_(metrics::global().counter_of(
              "pravaha_store_errors_total",
              "Failed operations of the node's store (a failed synced write stops the node's "
              "core).")) {
        probe_->store = inner_.get();
        register_gauges();
    }

    ~metered_store() override {
        std::lock_guard<std::mutex> lock(probe_->mutex);
        probe_->store = nullptr;
    }

    metered_store(const metered_store&) = delete;
    metered_store& operator=(const metered_store&) = delete;

    caf::expected<std::optional<std::string>> get(std::string_view key) override {
        auto r = inner_->get(key);
        if (!r) {
            errors_.inc();
        }
        return r;
    }

    caf::error write(const storage::write_batch& batch, bool sync) override {
        auto start = std::chrono::steady_clock::now();
        auto err = inner_->write(batch, sync);
        if (err) {
            errors_.inc();
            return err;
        }
        if (sync) {
            sync_seconds_.observe(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        }
        written_bytes_.inc(batch.bytes);
        return err;
    }

    caf::error scan(
        std::string_view from,
        std::string_view to,
        const std::function<bool(std::string_view key, std::string_view value)>& fn) override {
        auto err = inner_->scan(from, to, fn);
        if (err) {
            errors_.inc();
        }
        return err;
    }

    caf::expected<std::optional<std::pair<std::string, std::string>>> floor(
        std::string_view lower, std::string_view key) override {
        auto r = inner_->floor(lower, key);
        if (!r) {
            errors_.inc();
        }
        return r;
    }

    caf::expected<std::unique_ptr<storage::store_view>> view() override {
        auto v = inner_->view();
        if (!v) {
            errors_.inc();
        }
        return v;
    }

    bool out_of_space() const override { return inner_->out_of_space(); }

    std::optional<storage::store_stats> stats() const override { return inner_->stats(); }

private:
    void register_gauges() {
        auto& r = metrics::global();
        auto gauge = [&r, probe = probe_](const char* name, const char* help, const auto& field) {
            r.gauge(name, help, {}, [probe, field] {
                auto st = probe->stats();
                return st ? static_cast<double>(field(*st)) : 0.0;
            });
        };
        gauge("pravaha_rocksdb_memtable_bytes", "Bytes in RocksDB's memtables.",
              [](const storage::store_stats& s) { return s.memtable_bytes; });
        gauge("pravaha_rocksdb_sst_bytes", "Bytes in RocksDB's SST files.",
              [](const storage::store_stats& s) { return s.sst_bytes; });
        gauge("pravaha_rocksdb_blob_bytes",
              "Bytes in RocksDB's blob files (values of large events, kept out of compaction).",
              [](const storage::store_stats& s) { return s.blob_bytes; });
        gauge("pravaha_rocksdb_blob_garbage_bytes",
              "Bytes of RocksDB's live blob files whose values were deleted, until compaction's "
              "blob garbage collection reclaims them.",
              [](const storage::store_stats& s) { return s.blob_garbage_bytes; });
        gauge("pravaha_rocksdb_pending_compaction_bytes",
              "Bytes RocksDB estimates its compactions have to rewrite.",
              [](const storage::store_stats& s) { return s.pending_compaction_bytes; });
        gauge("pravaha_rocksdb_writes_stopped", "1 while RocksDB stops writes, else 0.",
              [](const storage::store_stats& s) { return s.writes_stopped ? 1 : 0; });
        for (bool stop : {true, false}) {
            r.counter_fn(
                "pravaha_rocksdb_write_stalls_total",
                "Times RocksDB stopped or slowed writes since the store opened.",
                {{"kind", stop ? "stop" : "slowdown"}}, [probe = probe_, stop] {
                    auto st = probe->stats();
                    if (!st) {
                        return 0.0;
                    }
                    return static_cast<double>(stop ? st->stall_stops : st->stall_slowdowns);
                });
        }
    }

    std::unique_ptr<storage::log_store> inner_;
    std::shared_ptr<store_probe> probe_;
    metrics::histogram& sync_seconds_;
    metrics::counter& written_bytes_;
    metrics::counter& errors_;
};

}  // namespace

std::unique_ptr<storage::log_store> metered(std::unique_ptr<storage::log_store> inner) {
    return std::make_unique<metered_store>(std::move(inner));
}

}  // namespace pravaha::runtime
