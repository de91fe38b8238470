#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "storage/keys.hpp"
#include "storage/log_store.hpp"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string_view>

namespace pravaha::storage {

void write_batch::put(std::string key, std::string value) {
    bytes += key.size() + value.size();
    ops.push_back({kind::put, std::move(key), std::move(value)});
}

void write_batch::erase(std::string key) {
    bytes += key.size();
    ops.push_back({kind::erase, std::move(key), {}});
}

void write_batch::erase_range(std::string from, std::string to) {
    bytes += from.size() + to.size();
    ops.push_back({kind::erase_range, std::move(from), std::move(to)});
}

namespace {

caf::error io_error(const rocksdb::Status& s, const char* what) {
    return caf::make_error(errc::storage_io, std::string(what) + ": " + s.ToString());
}

rocksdb::Slice slice(std::string_view s) {
    return rocksdb::Slice(s.data(), s.size());
}

// What RocksDB's WriteBatch of `batch` will hold: its 12-byte header, and per operation a tag,
// two varint lengths (5 bytes each at most) and the key and value (`bytes`).
size_t batch_bytes(const write_batch& batch) {
    return 12 + batch.bytes + 11 * batch.ops.size();
}

// Whether a failed write ran out of space. RocksDB also returns the background error of a flush
// or compaction that hit ENOSPC wrapped in another code ("Result incomplete: IO error: No space
// left on device ..."), for which IsNoSpace() is false; missing it made a full cluster member
// exit instead of restarting its core (disk_full_test, once in CI-like runs).
bool no_space(const rocksdb::Status& s) {
    return s.IsNoSpace() || s.subcode() == rocksdb::Status::SubCode::kNoSpace ||
           s.ToString().find("No space left on device") != std::string::npos;
}

// The memtable insert hints' run of `key` (run_prefix below): how many of its first bytes name
// the run, or 0 for a key without a hint. Data keys (25 bytes, tag 'D') share their segment's
// run; each writer key (33 bytes, tag 'W') is a run of its own.
size_t hint_run_length(std::string_view key) {
    if (key.size() == keys::data_key_bytes && key[0] == 'D') {
        return keys::segment_key_bytes;
    }
    if (key.size() == keys::writer_key_bytes && key[0] == 'W') {
        return keys::writer_key_bytes;
    }
    return 0;
}

// Visits [from, to) with `ro` (which it completes with the upper bound).
caf::error scan_db(rocksdb::DB& db,
                   rocksdb::ReadOptions ro,
                   std::string_view from,
                   std::string_view to,
                   const std::function<bool(std::string_view, std::string_view)>& fn) {
    rocksdb::Slice upper = slice(to);
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(ro));
    for (it->Seek(slice(from)); it->Valid(); it->Next()) {
        auto k = it->key();
        auto v = it->value();
        if (!fn(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()))) {
            break;
        }
    }
    if (!it->status().ok()) {
        return io_error(it->status(), "scan");
    }
    return {};
}

// The RocksDB snapshots of a store's open views. RocksDB must not close with one unreleased, and
// a view may outlive its store (an actor's state ends after the node closed the store): a view
// that ends first releases its snapshot; a store that closes first releases them all and voids
// the views (their reads then fail).
struct view_registry {
    std::mutex mu;
    rocksdb::DB* db = nullptr;  ///< null once the store closed
    std::set<const rocksdb::Snapshot*> live;
};

class rocksdb_view final : public store_view {
public:
    rocksdb_view(std::shared_ptr<view_registry> reg, const rocksdb::Snapshot* snap)
        : reg_(std::move(reg)), snap_(snap) {}
    rocksdb_view(const rocksdb_view&) = delete;
    rocksdb_view& operator=(const rocksdb_view&) = delete;

    ~rocksdb_view() override {
        std::lock_guard<std::mutex> g(reg_->mu);
        if (reg_->db != nullptr && reg_->live.erase(snap_) > 0) {
            reg_->db->ReleaseSnapshot(snap_);
        }
    }

    caf::error scan(std::string_view from,
                    std::string_view to,
                    const std::function<bool(std::string_view, std::string_view)>& fn) override {
        std::lock_guard<std::mutex> g(reg_->mu);
        if (reg_->db == nullptr) {
            return caf::make_error(errc::storage_io, "scan: the store was closed");
        }
        rocksdb::ReadOptions ro;
        ro.snapshot = snap_;
        // A snapshot is read once, start to end: keep its blocks out of the cache.
        ro.fill_cache = false;
        return scan_db(*reg_->db, ro, from, to, fn);
    }

    uint64_t approximate_bytes(const store_range& range) override {
        std::lock_guard<std::mutex> g(reg_->mu);
        if (reg_->db == nullptr) {
            return 0;
        }
        auto& db = *reg_->db;
        rocksdb::Range r(slice(range.from), slice(range.to));
        auto approximate = [&db, &r](bool memtables, bool files) -> uint64_t {
            uint64_t size = 0;
            rocksdb::SizeApproximationOptions o;
            o.include_memtables = memtables;
            o.include_files = files;
            auto s = db.GetApproximateSizes(o, db.DefaultColumnFamily(), &r, 1, &size);
            return s.ok() ? size : 0;
        };
        auto memtables = approximate(true, false);
        auto files = approximate(false, true);
        // RocksDB sizes the SST files only, where a value kept in a blob file is a reference of
        // a few bytes; the range's share of the live blob files is estimated as its share of
        // the SST files: an estimate for progress reports, never for a decision, close where
        // the ranges hold alike values and off where one holds large events and another small.
        uint64_t blob = 0;
        uint64_t sst = 0;
        if (files > 0 && db.GetIntProperty(rocksdb::DB::Properties::kLiveBlobFileSize, &blob) &&
            blob > 0 && db.GetIntProperty(rocksdb::DB::Properties::kLiveSstFilesSize, &sst) &&
            sst > 0) {
            auto share = std::min(1.0, static_cast<double>(files) / static_cast<double>(sst));
            files += static_cast<uint64_t>(static_cast<double>(blob) * share);
        }
        return memtables + files;
    }

private:
    std::shared_ptr<view_registry> reg_;
    const rocksdb::Snapshot* snap_;
};

class rocksdb_store final : public log_store {
public:
    explicit rocksdb_store(std::unique_ptr<rocksdb::DB> db)
        : db_(std::move(db)), views_(std::make_shared<view_registry>()) {
        views_->db = db_.get();
    }
    rocksdb_store(const rocksdb_store&) = delete;
    rocksdb_store& operator=(const rocksdb_store&) = delete;

    ~rocksdb_store() override {
        std::lock_guard<std::mutex> g(views_->mu);
        for (const auto* snap : views_->live) {
            db_->ReleaseSnapshot(snap);
        }
        views_->live.clear();
        views_->db = nullptr;
    }

    caf::expected<std::unique_ptr<store_view>> view() override {
        const auto* snap = db_->GetSnapshot();
        if (snap == nullptr) {
            return caf::make_error(errc::storage_io, "view: RocksDB gave no snapshot");
        }
        std::lock_guard<std::mutex> g(views_->mu);
        views_->live.insert(snap);
        return std::unique_ptr<store_view>(new rocksdb_view(views_, snap));
    }

    bool out_of_space() const override { return out_of_space_.load(); }

    std::optional<store_stats> stats() const override {
        store_stats st;
        auto int_property = [this](const std::string& name) {
            uint64_t v = 0;
            return db_->GetIntProperty(name, &v) ? v : 0;
        };
        st.memtable_bytes = int_property(rocksdb::DB::Properties::kCurSizeAllMemTables);
        st.sst_bytes = int_property(rocksdb::DB::Properties::kTotalSstFilesSize);
        st.blob_bytes = int_property(rocksdb::DB::Properties::kTotalBlobFileSize);
        st.blob_garbage_bytes = int_property(rocksdb::DB::Properties::kLiveBlobFileGarbageSize);
        st.pending_compaction_bytes =
            int_property(rocksdb::DB::Properties::kEstimatePendingCompactionBytes);
        st.writes_stopped = int_property(rocksdb::DB::Properties::kIsWriteStopped) != 0;
        std::map<std::string, std::string> cf;
        if (db_->GetMapProperty(rocksdb::DB::Properties::kCFStats, &cf)) {
            auto count = [&cf](const char* key) -> uint64_t {
                auto it = cf.find(key);
                return it == cf.end() ? 0 : std::strtoull(it->second.c_str(), nullptr, 10);
            };
            st.stall_stops = count("io_stalls.total_stop");
            st.stall_slowdowns = count("io_stalls.total_slowdown");
        }
        return st;
    }

    caf::expected<std::optional<std::string>> get(std::string_view key) override {
        std::string value;
        auto s = db_->Get(rocksdb::ReadOptions(), slice(key), &value);
        if (s.IsNotFound()) {
            return std::optional<std::string>{};
        }
        if (!s.ok()) {
            return io_error(s, "get");
        }
        return std::optional<std::string>{std::move(value)};
    }

    caf::error write(const write_batch& batch, bool sync) override {
        // Sized once: grown by doubling, a batch holding a 1 MiB event was allocated and copied
        // again by the small puts after it (three growth sites per large event in a profile).
        rocksdb::WriteBatch wb(batch_bytes(batch));
        for (const auto& op : batch.ops) {
            rocksdb::Status s;
            switch (op.type) {
                case write_batch::kind::put:
                    s = wb.Put(slice(op.key), slice(op.value));
                    break;
                case write_batch::kind::erase:
                    s = wb.Delete(slice(op.key));
                    break;
                case write_batch::kind::erase_range:
                    // A tombstone must never start at a hinted key: it would be inserted into
                    // the tombstones' skip list from a point's hint (see run_prefix).
                    PRAVAHA_ASSERT(hint_run_length(op.key) == 0,
                                   "a range tombstone starts at a hinted key ({} bytes, tag {})",
                                   op.key.size(), op.key.empty() ? '?' : op.key[0]);
                    s = wb.DeleteRange(slice(op.key), slice(op.value));
                    break;
            }
            if (!s.ok()) {
                return io_error(s, "batch");
            }
        }
        rocksdb::WriteOptions wo;
        wo.sync = sync;
        auto s = db_->Write(wo, &wb);
        if (!s.ok()) {
            // A failed write, or RocksDB's background error (a flush or compaction that ran out
            // of space) that it returns for every write from then on.
            if (no_space(s)) {
                out_of_space_.store(true);
            }
            return io_error(s, sync ? "synced write" : "write");
        }
        return {};
    }

    caf::error scan(std::string_view from,
                    std::string_view to,
                    const std::function<bool(std::string_view, std::string_view)>& fn) override {
        return scan_db(*db_, rocksdb::ReadOptions(), from, to, fn);
    }

    caf::expected<std::optional<std::pair<std::string, std::string>>> floor(
        std::string_view lower, std::string_view key) override {
        rocksdb::ReadOptions ro;
        rocksdb::Slice lower_slice = slice(lower);
        ro.iterate_lower_bound = &lower_slice;
        std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
        it->SeekForPrev(slice(key));
        if (!it->status().ok()) {
            return io_error(it->status(), "seek");
        }
        if (!it->Valid()) {
            return std::optional<std::pair<std::string, std::string>>{};
        }
        return std::optional<std::pair<std::string, std::string>>{
            std::make_pair(it->key().ToString(), it->value().ToString())};
    }

private:
    std::unique_ptr<rocksdb::DB> db_;
    std::shared_ptr<view_registry> views_;
    std::atomic<bool> out_of_space_{false};
};

// RocksDB's info log, written through our logging (module storage, prefixed "rocksdb:") instead
// of its own LOG file: the file logger of Debian's RocksDB 7.8 (built with assertions) aborts the
// process on the first line after a write to its file failed, and a full disk makes that
// certain (and a read-only open, `pravaha-node inspect`, writes no file into the directory). Its
// info lines are debug here, its warnings info, and its errors warnings (the failure itself
// reaches us as a failed write, and we report that).
class spdlog_logger final : public rocksdb::Logger {
public:
    using rocksdb::Logger::Logv;
    explicit spdlog_logger(rocksdb::InfoLogLevel level)
        : rocksdb::Logger(level), log_(module_log("storage")) {}

    void Logv(const char* format, va_list ap) override {
        Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
    }

    void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
        if (level < GetInfoLogLevel()) {
            return;
        }
        auto to = level >= rocksdb::InfoLogLevel::ERROR_LEVEL  ? spdlog::level::warn
                  : level == rocksdb::InfoLogLevel::WARN_LEVEL ? spdlog::level::info
                                                               : spdlog::level::debug;
        if (!log_->should_log(to)) {
            return;
        }
        char text[1024];
        va_list copy;
        va_copy(copy, ap);
        // NOLINTNEXTLINE: RocksDB hands over a printf format and its arguments
        int n = std::vsnprintf(text, sizeof text, format, copy);
        va_end(copy);
        if (n < 0) {
            return;
        }
        auto len = std::min(static_cast<size_t>(n), sizeof text - 1);
        while (len > 0 && text[len - 1] == '\n') {
            --len;
        }
        log_->log(to, "rocksdb: {}", std::string_view(text, len));
    }

private:
    std::shared_ptr<spdlog::logger> log_;
};

// Where a key's run of neighbours starts, for the memtable's insert hints: a segment's data keys
// (tag + stream uid + segment id) and each writer attribute (its whole key). Appends insert the
// data keys of a segment in order (offsets grow) and a new version of a writer's key sorts just
// before its last one, so RocksDB starts each insert from where the run's previous one ended
// instead of searching the skip list from the top: that search's key compares were the
// container's top cost under many writers (perf at 64 writers: FindSpliceForLevel and
// KeyComparator, about 30 % of its thread). Only the insert position changes, never what is
// stored or read.
//
// RocksDB 7.8 keeps one hint per prefix for both skip lists of a memtable, the points' and the
// range tombstones' (MemTable::Add looks the hint up by the user key alone), and a tombstone
// inserted from a point's hint breaks the skip list (Debian's build asserts
// "splice->prev_[splice->height_] == head_"; the raft and segment-delete tests hit it). Our
// tombstones begin at a segment prefix (keys::segment_prefix, 17 bytes) or a Raft, log or
// metadata key, so only full-length data and writer keys are in the domain; log entries (whose
// truncations begin at an entry key) and segment meta keys (as long as a tombstone's start) stay
// out (PRAVAHA_ASSERT in write). Each run's hint is a splice in the memtable's arena (a few
// hundred bytes), so a memtable of many writers' keys fills a little sooner.
class run_prefix final : public rocksdb::SliceTransform {
public:
    const char* Name() const override { return "pravaha.run_prefix"; }
    rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
        return {key.data(), hint_run_length({key.data(), key.size()})};
    }
    bool InDomain(const rocksdb::Slice& key) const override {
        return hint_run_length({key.data(), key.size()}) > 0;
    }
};

}  // namespace

caf::expected<std::unique_ptr<log_store>> open_rocksdb(const rocksdb_options& opts) {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.write_buffer_size = opts.write_buffer_bytes;
    // The WAL is our durability mechanism: never recycle or skip it.
    o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
    o.memtable_insert_with_hint_prefix_extractor = std::make_shared<run_prefix>();
    // Large values go to blob files at their flush instead of being rewritten by every
    // compaction that passes their keys: with 1 MiB events the node wrote 3.2-4.2x the events'
    // bytes to disk (WAL, flush, compaction; more as the store grows), and the disk's bandwidth
    // for new files is what bounds that row. Blob files are compressed as the SST files are (an
    // incompressible value costs snappy next to nothing). A blob file holds a whole flush (every
    // container's segments, and in a cluster the Raft log entries not yet compacted) and would
    // go only once all its values are deleted, so blob garbage collection is on for the oldest
    // tenth of the blob files: compactions that meet them move their live values to new files,
    // which bounds what deleted values keep on disk (`pravaha_rocksdb_blob_garbage_bytes`).
    // Stop 55, incompressible 1 MiB events, lean client, against no blob files: 1 GiB 288-308
    // against 259-264 MB/s (2.0x written against 2.9-3.2x; 2 interleaved pairs), 4 GiB 197-204
    // against 161-167 (2.5x against 4.0-4.2x; 2 runs each, not interleaved); the oldest quarter
    // (RocksDB's default) rewrote 3.0x and gained nothing at 4 GiB, no collection 2.0x and 227
    // MB/s.
    if (opts.blob_min_bytes > 0) {
        o.enable_blob_files = true;
        o.min_blob_size = opts.blob_min_bytes;
        o.blob_compression_type = o.compression;
        o.enable_blob_garbage_collection = true;
        o.blob_garbage_collection_age_cutoff = 0.1;
    }
    if (opts.env != nullptr) {
        o.env = opts.env;
    }
    if (opts.deterministic) {
        o.disable_auto_compactions = true;
        o.max_background_jobs = 1;
        o.stats_dump_period_sec = 0;
        o.stats_persist_period_sec = 0;
        o.avoid_flush_during_shutdown = true;
        o.info_log_level = rocksdb::InfoLogLevel::HEADER_LEVEL;
    } else {
        o.IncreaseParallelism(2);
        // Flushes and compactions hand their files' pages to the disk every MiB
        // (sync_file_range) instead of in one burst at the file's end, where the WAL's fdatasync
        // waited behind it: 1 MiB events 5 of 6 interleaved pairs ahead, median +5 % (stop 55).
        // A hint for the kernel's write-back only; durability still comes from each file's sync.
        o.bytes_per_sync = 1 << 20;
    }
    o.info_log = std::make_shared<spdlog_logger>(o.info_log_level);
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s;
    if (opts.read_only) {
        o.create_if_missing = false;
        s = rocksdb::DB::OpenForReadOnly(o, opts.dir, &raw);
    } else {
        s = rocksdb::DB::Open(o, opts.dir, &raw);
    }
    if (!s.ok()) {
        return io_error(s, "open");
    }
    return std::unique_ptr<log_store>(new rocksdb_store(std::unique_ptr<rocksdb::DB>(raw)));
}

}  // namespace pravaha::storage
