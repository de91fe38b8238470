#include "sim/batch.hpp"

#include "schema/logging.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace pravaha::sim {

// One process per job; a seed goes down a pipe, "seed code wall fingerprint steps message\n"
// comes back.

namespace {

// A worker process's pipe to the parent and the seed it runs, for the assertion hook: a failed
// always-on assertion ends the worker, which first reports the seed as a crash with the
// assertion's text (else the parent sees only a dead child).
int worker_fd = -1;
unsigned long long worker_seed = 0;

constexpr const char* assertion_prefix = "assertion failed: ";

void report_assertion(const std::string& text) {
    std::string msg = assertion_prefix + text;
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    auto line = fmt::format("{} {} 0 0 0 {}\n", worker_seed, static_cast<int>(verdict::crash), msg);
    if (write(worker_fd, line.data(), line.size()) < 0) {
        return;  // the parent is gone: nothing to report to
    }
}

}  // namespace

namespace {

struct worker {
    pid_t pid = 0;
    int to_child = -1;
    int from_child = -1;
    bool busy = false;
    uint64_t seed = 0;  // the seed it runs
    std::string buffer;
};

// Child: reads seeds, answers "seed code wall fingerprint steps message\n" per run.
[[noreturn]] void worker_main(int in_fd,
                              int out_fd,
                              const std::function<run_result(uint64_t)>& run) {
    FILE* in = fdopen(in_fd, "r");
    unsigned long long seed = 0;
    worker_fd = out_fd;
    set_assert_hook(report_assertion);
    while (std::fscanf(in, "%llu", &seed) == 1) {
        worker_seed = seed;
        auto r = run(seed);
        std::string msg = r.message;
        std::replace(msg.begin(), msg.end(), '\n', ' ');
        auto line = fmt::format("{} {} {} {} {} {}\n", seed, static_cast<int>(r.result), r.wall_ms,
                                r.fingerprint, r.steps, msg);
        if (write(out_fd, line.data(), line.size()) < 0) {
            break;
        }
    }
    std::_Exit(0);
}

// Forks worker `w` (again, after its predecessor died).
void spawn(worker& w, std::vector<worker>& all, const std::function<run_result(uint64_t)>& run) {
    int down[2];
    int up[2];
    if (pipe(down) != 0 || pipe(up) != 0) {
        std::perror("pipe");
        std::exit(130);  // NOLINT(concurrency-mt-unsafe): the parent process has no threads
    }
    std::fflush(nullptr);
    w.pid = fork();
    if (w.pid == 0) {
        close(down[1]);
        close(up[0]);
        for (auto& other : all) {  // or a sibling never sees end-of-file
            if (&other != &w && other.pid != 0) {
                close(other.to_child);
                close(other.from_child);
            }
        }
        worker_main(down[0], up[1], run);
    }
    close(down[0]);
    close(up[1]);
    w.to_child = down[1];
    w.from_child = up[0];
    w.busy = false;
    w.buffer.clear();
}

// Reaps a dead worker's process and pipes.
void reap(worker& w) {
    close(w.to_child);
    close(w.from_child);
    int status = 0;
    waitpid(w.pid, &status, 0);
    w.pid = 0;
}

seed_result parse_line(const std::string& line) {
    seed_result r;
    unsigned long long seed = 0;
    long long wall = 0;
    unsigned long long fp = 0;
    unsigned long long steps = 0;
    int code = 0;
    int consumed = 0;
    std::sscanf(line.c_str(), "%llu %d %lld %llu %llu %n", &seed, &code, &wall, &fp, &steps,
                &consumed);
    r.fingerprint = fp;
    r.steps = steps;
    r.seed = seed;
    r.verdict_code = code;
    r.wall_ms = wall;
    r.message = line.substr(static_cast<size_t>(consumed));
    return r;
}

}  // namespace

void run_batch(unsigned jobs,
               const std::function<run_result(uint64_t)>& run,
               const std::function<std::optional<uint64_t>()>& next_seed,
               const std::function<void(const seed_result&)>& on_result) {
    std::vector<worker> workers(jobs);
    for (auto& w : workers) {
        spawn(w, workers, run);
    }
    auto feed = [&](worker& w) {
        auto s = next_seed();
        if (!s) {
            return false;
        }
        auto text = std::to_string(*s) + "\n";
        if (write(w.to_child, text.data(), text.size()) < 0) {
            return false;
        }
        w.busy = true;
        w.seed = *s;
        return true;
    };
    for (auto& w : workers) {
        feed(w);
    }
    for (;;) {
        std::vector<pollfd> fds;
        std::vector<size_t> idx;
        for (size_t i = 0; i < workers.size(); ++i) {
            if (workers[i].busy) {
                fds.push_back(pollfd{workers[i].from_child, POLLIN, 0});
                idx.push_back(i);
            }
        }
        if (fds.empty()) {
            break;
        }
        if (poll(fds.data(), fds.size(), -1) < 0) {
            continue;
        }
        for (size_t j = 0; j < fds.size(); ++j) {
            if ((fds[j].revents & (POLLIN | POLLHUP)) == 0) {
                continue;
            }
            auto& w = workers[idx[j]];
            char buf[4096];
            auto n = read(w.from_child, buf, sizeof(buf));
            if (n <= 0) {
                // The child died inside a run without reporting (a signal): report the seed it
                // was running, and carry on with a new worker.
                on_result(seed_result{w.seed, static_cast<int>(verdict::crash), 0,
                                      "simulator process died"});
                reap(w);
                spawn(w, workers, run);
                feed(w);
                continue;
            }
            w.buffer.append(buf, static_cast<size_t>(n));
            size_t nl;
            while ((nl = w.buffer.find('\n')) != std::string::npos) {
                auto r = parse_line(w.buffer.substr(0, nl));
                w.buffer.erase(0, nl + 1);
                w.busy = false;
                on_result(r);
                if (r.message.rfind(assertion_prefix, 0) == 0) {
                    // The worker reported a failed assertion and aborts: replace it.
                    reap(w);
                    spawn(w, workers, run);
                }
                feed(w);
            }
        }
    }
    for (auto& w : workers) {
        reap(w);
    }
}

}  // namespace pravaha::sim
