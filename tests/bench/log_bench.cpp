// pravaha-log-bench: the durable log alone, next to a raw write + fdatasync on the same disk.
// Separates the disk's cost from the messaging cost in pravaha-bench's end-to-end latency.
//
// usage: pravaha-log-bench DIR [appends] [entry_bytes]
// Prints one JSON object: p50/p99 of local_log::append (RocksDB write with sync=true) and of a
// raw write()+fdatasync() appending to a fresh file, interleaved in rounds of 100.

#include "schema/schema.hpp"
#include "storage/storage.hpp"

#include "tests/bench/bench_util.hpp"
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

using namespace pravaha;
using bench_util::bench_clock;
using bench_util::micros;
using bench_util::pct;

namespace {}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: pravaha-log-bench DIR [appends] [entry_bytes]\n");
        return 2;
    }
    std::string dir = argv[1];
    size_t n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 3000;
    size_t bytes = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 180;
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto store = storage::open_rocksdb({dir + "/db"});
    if (!store) {
        std::fprintf(stderr, "pravaha-log-bench: %s\n", render_error(store.error()).c_str());
        return 1;
    }
    storage::local_log log(**store, 0);
    if (auto err = log.open()) {
        std::fprintf(stderr, "pravaha-log-bench: %s\n", render_error(err).c_str());
        return 1;
    }
    int fd = ::open((dir + "/raw").c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0) {
        std::perror("pravaha-log-bench: open");
        return 1;
    }
    std::string entry(bytes, 'x');
    std::vector<double> log_us;
    std::vector<double> raw_us;
    for (size_t i = 0; i < n; i += 100) {
        for (size_t j = 0; j < 100; ++j) {
            auto t = bench_clock::now();
            auto idx = log.append(entry, log.last_index());
            if (!idx) {
                std::fprintf(stderr, "pravaha-log-bench: %s\n", render_error(idx.error()).c_str());
                return 1;
            }
            log_us.push_back(micros(t));
        }
        for (size_t j = 0; j < 100; ++j) {
            auto t = bench_clock::now();
            if (::write(fd, entry.data(), entry.size()) != static_cast<ssize_t>(entry.size()) ||
                ::fdatasync(fd) != 0) {
                std::perror("pravaha-log-bench: write");
                return 1;
            }
            raw_us.push_back(micros(t));
        }
    }
    ::close(fd);
    std::printf(
        "{\"system\":\"pravaha-log\",\"entry_bytes\":%zu,\"appends\":%zu,"
        "\"log_append_us\":{\"p50\":%.0f,\"p99\":%.0f},"
        "\"raw_write_fdatasync_us\":{\"p50\":%.0f,\"p99\":%.0f}}\n",
        bytes, log_us.size(), pct(log_us, 50), pct(log_us, 99), pct(raw_us, 50), pct(raw_us, 99));
    std::filesystem::remove_all(dir);
    return 0;
}
