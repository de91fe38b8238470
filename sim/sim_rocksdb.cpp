// Tier B simulated disk: the real RocksDB (storage::open_rocksdb) on an in-memory file system
// that tracks, per file, how many bytes were synced, and on a simulated power cut keeps a random
// prefix of the unsynced bytes, sometimes followed by garbage (a torn write). RocksDB's WAL
// checksums and point-in-time recovery must then find the durable prefix.
//
// Determinism: RocksDB runs with auto compactions off and a write buffer larger than any run
// writes, so its background threads never act; every file operation happens on the sim thread.

#include "schema/errc.hpp"
#include "sim/sim_disk.hpp"

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <map>

namespace pravaha::sim {

namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;

class crash_fs;

struct file_state {
    uint64_t size = 0;
    uint64_t synced = 0;
};

class tracked_file final : public rocksdb::FSWritableFileOwnerWrapper {
public:
    tracked_file(std::unique_ptr<rocksdb::FSWritableFile>&& f, crash_fs* fs, std::string name)
        : FSWritableFileOwnerWrapper(std::move(f)), fs_(fs), name_(std::move(name)) {}

    IOStatus Append(const rocksdb::Slice& data, const IOOptions& o, IODebugContext* d) override;
    IOStatus Append(const rocksdb::Slice& data,
                    const IOOptions& o,
                    const rocksdb::DataVerificationInfo&,
                    IODebugContext* d) override {
        return Append(data, o, d);
    }
    IOStatus Sync(const IOOptions& o, IODebugContext* d) override;
    IOStatus Fsync(const IOOptions& o, IODebugContext* d) override { return Sync(o, d); }
    IOStatus RangeSync(uint64_t, uint64_t, const IOOptions&, IODebugContext*) override {
        return IOStatus::OK();  // no durability promise
    }

private:
    crash_fs* fs_;
    std::string name_;
};

class crash_fs final : public rocksdb::FileSystemWrapper {
public:
    crash_fs(std::shared_ptr<rocksdb::FileSystem> base,
             disk_faults* faults,
             disk_stats* stats,
             prng* rng,
             disk_model::clock_fn now)
        : FileSystemWrapper(base),
          faults_(faults),
          stats_(stats),
          rng_(rng),
          now_(std::move(now)) {}

    const char* Name() const override { return "PravahaSimCrashFS"; }

    IOStatus NewWritableFile(const std::string& f,
                             const rocksdb::FileOptions& o,
                             std::unique_ptr<rocksdb::FSWritableFile>* r,
                             IODebugContext* d) override {
        if (!active_) {
            return IOStatus::IOError("simulated power loss");
        }
        auto s = target()->NewWritableFile(f, o, r, d);
        if (s.ok()) {
            files_[f] = file_state{};
            *r = std::make_unique<tracked_file>(std::move(*r), this, f);
        }
        return s;
    }

    IOStatus ReopenWritableFile(const std::string& f,
                                const rocksdb::FileOptions& o,
                                std::unique_ptr<rocksdb::FSWritableFile>* r,
                                IODebugContext* d) override {
        if (!active_) {
            return IOStatus::IOError("simulated power loss");
        }
        uint64_t size = 0;
        if (!target()->GetFileSize(f, IOOptions(), &size, d).ok()) {
            size = 0;
        }
        auto s = target()->ReopenWritableFile(f, o, r, d);
        if (s.ok()) {
            files_[f] = file_state{size, size};
            *r = std::make_unique<tracked_file>(std::move(*r), this, f);
        }
        return s;
    }

    IOStatus RenameFile(const std::string& src,
                        const std::string& dst,
                        const IOOptions& o,
                        IODebugContext* d) override {
        if (!active_) {
            return IOStatus::IOError("simulated power loss");
        }
        auto s = target()->RenameFile(src, dst, o, d);
        if (s.ok()) {
            auto it = files_.find(src);
            if (it != files_.end()) {
                files_[dst] = it->second;
                files_.erase(it);
            }
        }
        return s;
    }

    IOStatus DeleteFile(const std::string& f, const IOOptions& o, IODebugContext* d) override {
        if (!active_) {
            return IOStatus::IOError("simulated power loss");
        }
        files_.erase(f);
        return target()->DeleteFile(f, o, d);
    }

    void set_active(bool on) { active_ = on; }
    bool active() const { return active_; }

    IOStatus on_append(const std::string& name, size_t n) {
        if (!active_) {
            return IOStatus::IOError("simulated power loss");
        }
        files_[name].size += n;
        ++stats_->writes;
        return IOStatus::OK();
    }

    IOStatus on_sync(const std::string& name) {
        if (!active_) {
            return IOStatus::IOError("simulated power loss");
        }
        ++stats_->syncs;
        synced_ = true;
        sync_done_at_ = now_() + faults_->sync_latency_ns;
        if (rng_->chance(faults_->sync_error_num, faults_->sync_error_den)) {
            ++stats_->sync_errors;
            return IOStatus::IOError("simulated fsync failure");
        }
        auto& st = files_[name];
        st.synced = st.size;
        return IOStatus::OK();
    }

    bool take_synced() {
        bool s = synced_;
        synced_ = false;
        return s;
    }
    int64_t sync_done_at() const { return sync_done_at_; }

    // Power cut: every file keeps its synced bytes and a random prefix of the rest, maybe with
    // a few garbage bytes where the cut fell (a torn write).
    void drop_unsynced() {
        for (auto& [name, st] : files_) {
            if (st.size <= st.synced) {
                continue;
            }
            std::string content;
            if (!read_all(name, content)) {
                continue;
            }
            auto unsynced = st.size - st.synced;
            uint64_t keep = unsynced;
            if (!rng_->chance(faults_->keep_num, faults_->keep_den)) {
                keep = rng_->below(unsynced);
            }
            ++(keep == unsynced ? stats_->pending_kept : stats_->pending_lost);
            content.resize(static_cast<size_t>(st.synced + keep));
            if (keep < unsynced && rng_->chance(1, 2)) {
                auto garbage = 1 + rng_->below(std::min<uint64_t>(unsynced - keep, 64));
                for (uint64_t i = 0; i < garbage; ++i) {
                    content.push_back(static_cast<char>(rng_->below(256)));
                }
                ++stats_->torn;
            }
            rewrite(name, content);
            st.size = st.synced = content.size();
        }
    }

private:
    bool read_all(const std::string& name, std::string& out) {
        std::unique_ptr<rocksdb::FSSequentialFile> f;
        if (!target()->NewSequentialFile(name, rocksdb::FileOptions(), &f, nullptr).ok()) {
            return false;
        }
        std::string buf(1 << 16, '\0');
        for (;;) {
            rocksdb::Slice got;
            if (!f->Read(buf.size(), IOOptions(), &got, buf.data(), nullptr).ok()) {
                return false;
            }
            if (got.empty()) {
                return true;
            }
            out.append(got.data(), got.size());
        }
    }

    void rewrite(const std::string& name, const std::string& content) {
        std::unique_ptr<rocksdb::FSWritableFile> f;
        if (target()->NewWritableFile(name, rocksdb::FileOptions(), &f, nullptr).ok()) {
            (void)f->Append(content, IOOptions(), nullptr);
            (void)f->Close(IOOptions(), nullptr);
        }
    }

    disk_faults* faults_;
    disk_stats* stats_;
    prng* rng_;
    disk_model::clock_fn now_;
    bool active_ = true;
    bool synced_ = false;
    int64_t sync_done_at_ = 0;
    std::map<std::string, file_state> files_;
};

IOStatus tracked_file::Append(const rocksdb::Slice& data, const IOOptions& o, IODebugContext* d) {
    if (!fs_->active()) {
        return IOStatus::IOError("simulated power loss");
    }
    auto s = target()->Append(data, o, d);
    if (s.ok()) {
        s = fs_->on_append(name_, data.size());
    }
    return s;
}

IOStatus tracked_file::Sync(const IOOptions& o, IODebugContext* d) {
    if (!fs_->active()) {
        return IOStatus::IOError("simulated power loss");
    }
    auto s = target()->Sync(o, d);
    if (s.ok()) {
        s = fs_->on_sync(name_);
    }
    return s;
}

class rocks_disk;

// A node incarnation's handle on the database; fails once that incarnation crashed.
class fenced_store final : public storage::log_store {
public:
    fenced_store(rocks_disk& disk, uint64_t inc) : disk_(disk), inc_(inc) {}
    caf::expected<std::optional<std::string>> get(std::string_view key) override;
    caf::error write(const storage::write_batch& batch, bool sync) override;
    caf::error scan(std::string_view from,
                    std::string_view to,
                    const std::function<bool(std::string_view, std::string_view)>& fn) override;
    caf::expected<std::optional<std::pair<std::string, std::string>>> floor(
        std::string_view lower, std::string_view key) override;
    caf::expected<std::unique_ptr<storage::store_view>> view() override;

private:
    storage::log_store* live();
    rocks_disk& disk_;
    uint64_t inc_;
};

caf::error dead_node() {
    return caf::make_error(errc::storage_io, "simulated disk: the node crashed");
}

class rocks_disk final : public disk_model {
public:
    rocks_disk(prng rng, disk_faults faults, clock_fn now)
        : rng_(rng), faults_(faults), mem_env_(rocksdb::NewMemEnv(rocksdb::Env::Default())) {
        fs_ = std::make_shared<crash_fs>(mem_env_->GetFileSystem(), &faults_, &stats_, &rng_,
                                         std::move(now));
        env_ = rocksdb::NewCompositeEnv(fs_);
    }

    ~rocks_disk() override {
        db_.reset();
        env_.reset();
        fs_.reset();
    }

    caf::expected<std::unique_ptr<storage::log_store>> open(uint64_t inc) override {
        live_inc_ = inc;
        fs_->set_active(true);
        storage::rocksdb_options o;
        o.dir = "/pravaha-sim/db";
        o.write_buffer_bytes = 256 * 1024 * 1024;
        // Every value of a block takes the blob path the node's large events take: the flush at
        // recovery then writes blob files through the crash file system too.
        o.blob_min_bytes = 64;
        o.env = env_.get();
        o.deterministic = true;
        auto db = storage::open_rocksdb(o);
        if (!db) {
            return std::move(db.error());
        }
        db_ = std::move(*db);
        return std::unique_ptr<storage::log_store>(std::make_unique<fenced_store>(*this, inc));
    }

    void crash() override {
        ++stats_.crashes;
        stop();
        fs_->drop_unsynced();
    }

    void process_exit() override { stop(); }

    bool take_synced() override { return fs_->take_synced(); }
    int64_t sync_done_at() const override { return fs_->sync_done_at(); }
    void set_faults(const disk_faults& f) override { faults_ = f; }
    const disk_faults& faults() const override { return faults_; }
    const disk_stats& stats() const override { return stats_; }

    storage::log_store* live(uint64_t inc) { return inc == live_inc_ ? db_.get() : nullptr; }

private:
    // The process is gone: fence its handles, and close the database without letting it write
    // anything more (the file system refuses while inactive).
    void stop() {
        ++live_inc_;
        fs_->set_active(false);
        db_.reset();
        fs_->set_active(true);
    }

    prng rng_;
    disk_faults faults_;
    disk_stats stats_;
    std::unique_ptr<rocksdb::Env> mem_env_;
    std::shared_ptr<crash_fs> fs_;
    std::unique_ptr<rocksdb::Env> env_;
    std::unique_ptr<storage::log_store> db_;
    uint64_t live_inc_ = 0;
};

storage::log_store* fenced_store::live() {
    return disk_.live(inc_);
}

caf::expected<std::optional<std::string>> fenced_store::get(std::string_view key) {
    auto* s = live();
    if (s == nullptr) {
        return dead_node();
    }
    return s->get(key);
}

caf::error fenced_store::write(const storage::write_batch& batch, bool sync) {
    auto* s = live();
    return s == nullptr ? dead_node() : s->write(batch, sync);
}

// A view of a crashed incarnation's database: RocksDB's store releases its snapshot when it
// closes (at the crash) and voids the view.
caf::expected<std::unique_ptr<storage::store_view>> fenced_store::view() {
    auto* s = live();
    if (s == nullptr) {
        return dead_node();
    }
    return s->view();
}

caf::error fenced_store::scan(std::string_view from,
                              std::string_view to,
                              const std::function<bool(std::string_view, std::string_view)>& fn) {
    auto* s = live();
    return s == nullptr ? dead_node() : s->scan(from, to, fn);
}

caf::expected<std::optional<std::pair<std::string, std::string>>> fenced_store::floor(
    std::string_view lower, std::string_view key) {
    auto* s = live();
    if (s == nullptr) {
        return dead_node();
    }
    return s->floor(lower, key);
}

}  // namespace

std::unique_ptr<disk_model> make_rocksdb_disk(prng rng,
                                              disk_faults faults,
                                              disk_model::clock_fn now) {
    return std::make_unique<rocks_disk>(rng, faults, std::move(now));
}

}  // namespace pravaha::sim
