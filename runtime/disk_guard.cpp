#include "runtime/disk_guard.hpp"

#include "schema/logging.hpp"

#include <fmt/format.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>

namespace pravaha::runtime {

namespace {

std::string mib(uint64_t bytes) {
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

}  // namespace

disk_guard::disk_guard(std::string dir,
                       std::optional<uint64_t> min_free,
                       std::string node,
                       uint64_t capacity,
                       uint64_t headroom)
    : dir_(std::move(dir)),
      min_free_flag_(min_free),
      node_(std::move(node)),
      capacity_(capacity),
      headroom_(headroom) {}

disk_guard::~disk_guard() {
    {
        std::lock_guard<std::mutex> g(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void disk_guard::start() {
    check();
    thread_ = std::thread([this] {
        std::unique_lock<std::mutex> lock(mutex_);
        while (!stop_) {
            wake_.wait_for(lock, std::chrono::milliseconds(50));
            if (stop_) {
                break;
            }
            lock.unlock();
            check();
            lock.lock();
        }
    });
}

std::string disk_guard::full() const {
    if (!is_full_.load(std::memory_order_acquire)) {
        return {};  // every append asks: no lock while the disk has room
    }
    std::lock_guard<std::mutex> g(mutex_);
    return full_;
}

void disk_guard::check() {
    struct statvfs fs {};
    if (::statvfs(dir_.c_str(), &fs) != 0) {
        // Unknown free space does not refuse writes: a real ENOSPC still fails them safely.
        module_log("runtime")->warn("cannot read the free space of {}: errno {}", dir_, errno);
        return;
    }
    uint64_t free = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
    uint64_t size = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
    if (capacity_ > 0) {
        // Test-only: a file system of `capacity_` bytes holding the data directory.
        uint64_t used = 0;
        std::error_code ec;
        for (std::filesystem::recursive_directory_iterator it(dir_, ec), end; !ec && it != end;
             it.increment(ec)) {
            if (it->is_regular_file(ec)) {
                used += it->file_size(ec);
            }
        }
        size = capacity_;
        free = used < capacity_ ? capacity_ - used : 0;
    }
    uint64_t min = min_free_flag_.value_or(std::min<uint64_t>(uint64_t{1} << 30, size / 20));
    bool was_full = is_full_.load(std::memory_order_acquire);
    std::string why;
    if (free < min || (was_full && free < min + headroom_)) {
        why = fmt::format(
            "disk full on node {} (data directory {}): {} free of {}, below --min-free-bytes "
            "{}; appends and stream creations are refused until {} are free (delete or "
            "truncate streams, or free the file system)",
            node_, dir_, mib(free), mib(size), mib(min), mib(min + headroom_));
    }
    std::string before;
    {
        std::lock_guard<std::mutex> g(mutex_);
        before = full_;
        full_ = why;
        is_full_.store(!why.empty(), std::memory_order_release);
    }
    if (before.empty() && !why.empty()) {
        module_log("runtime")->error("{}", why);
    } else if (!before.empty() && why.empty()) {
        module_log("runtime")->warn(
            "disk has room again on node {} (data directory {}): {} free, --min-free-bytes {}; "
            "writes resume",
            node_, dir_, mib(free), mib(min));
    }
}

std::optional<uint64_t> parse_bytes(const std::string& text) {
    if (text.empty() || text.size() > 20) {
        return std::nullopt;
    }
    size_t digits = text.find_first_not_of("0123456789");
    if (digits == 0) {
        return std::nullopt;
    }
    uint64_t shift = 0;
    if (digits != std::string::npos) {
        auto suffix = text.substr(digits);
        if (suffix == "K" || suffix == "KiB") {
            shift = 10;
        } else if (suffix == "M" || suffix == "MiB") {
            shift = 20;
        } else if (suffix == "G" || suffix == "GiB") {
            shift = 30;
        } else if (suffix == "T" || suffix == "TiB") {
            shift = 40;
        } else {
            return std::nullopt;
        }
    }
    auto number = std::stoull(text.substr(0, digits));
    if (number > (UINT64_MAX >> shift)) {
        return std::nullopt;
    }
    return number << shift;
}

}  // namespace pravaha::runtime
