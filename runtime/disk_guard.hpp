#pragma once

/// Part of module `runtime` (internal): the free-space guard of the data directory. A thread
/// reads the file system's free space (statvfs) every 50 ms (a writer at 40 MB/s moves it by
/// 2 MB in that time); below the minimum, `full()` says
/// why, and the node refuses appends and stream creations with errc::storage_full (actors:
/// `storage_full_probe`) while reads, seals and deletes go on. Above it again, writes resume by
/// themselves. Transitions are logged.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace pravaha::runtime {

class disk_guard {
public:
    /// `min_free`: no value means min(1 GiB, 5 % of the file system). `node` names the node in
    /// the refusal ("127.0.0.1:9090"). `capacity` (tests only, 0: off) makes the guard see a
    /// file system of that size holding just the data directory.
    /// Once full, the disk counts as having room again only at `headroom` bytes above the
    /// minimum (the store frees some by itself, a flush deletes its log: no flapping).
    disk_guard(std::string dir,
               std::optional<uint64_t> min_free,
               std::string node,
               uint64_t capacity = 0,
               uint64_t headroom = 0);
    ~disk_guard();
    disk_guard(const disk_guard&) = delete;
    disk_guard& operator=(const disk_guard&) = delete;

    /// Checks once (so the first answer is known at start), then every 50 ms on a thread.
    void start();
    /// Why the disk takes no new data, "" while it has room. Thread-safe.
    std::string full() const;

private:
    void check();

    const std::string dir_;
    const std::optional<uint64_t> min_free_flag_;
    const std::string node_;
    const uint64_t capacity_;
    const uint64_t headroom_;
    mutable std::mutex mutex_;
    std::string full_;  // under mutex_
    std::atomic<bool> is_full_{false};
    std::condition_variable wake_;
    bool stop_ = false;  // under mutex_
    std::thread thread_;
};

/// Parses a byte count with an optional suffix (K, M, G, T: powers of 1024), e.g. "512M".
[[nodiscard]] std::optional<uint64_t> parse_bytes(const std::string& text);

}  // namespace pravaha::runtime
