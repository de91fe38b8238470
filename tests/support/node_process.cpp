#include "tests/support/node_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

#ifndef PRAVAHA_NODE_BIN
#error "PRAVAHA_NODE_BIN must name the pravaha-node binary"
#endif

namespace pravaha::test {

namespace {

sockaddr_in loopback(uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

bool can_connect(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return false;
    }
    auto addr = loopback(port);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
}

}  // namespace

pid_t spawn_process(const std::vector<std::string>& args,
                    uint64_t open_files,
                    const std::string& output,
                    const std::vector<std::string>& env) {
    // Everything the child needs is made before the fork (the test process has threads).
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (const auto& a : args) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    // This process's environment with `env`'s entries replacing those of the same name.
    std::vector<char*> envp;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string_view entry{*e};
        auto name = entry.substr(0, entry.find('=') + 1);
        bool replaced = std::any_of(env.begin(), env.end(),
                                    [&](const std::string& x) { return x.rfind(name, 0) == 0; });
        if (!replaced) {
            envp.push_back(*e);
        }
    }
    for (const auto& x : env) {
        envp.push_back(const_cast<char*>(x.c_str()));
    }
    envp.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid != 0) {
        return pid;
    }
    if (open_files > 0) {
        rlimit lim{open_files, open_files};
        if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
            std::perror("setrlimit");
            ::_exit(127);
        }
    }
    if (!output.empty()) {
        int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0) {
            std::perror("redirect output");
            ::_exit(127);
        }
    }
    // Not the test's sockets and files (a node must not hold another node's connections).
    ::close_range(3, ~0U, 0);
    ::execve(argv[0], argv.data(), envp.data());
    std::perror("exec");
    ::_exit(127);
}

void kill_and_reap(pid_t& pid) {
    if (pid <= 0) {
        return;
    }
    ::kill(pid, SIGKILL);
    ::kill(pid, SIGCONT);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
}

child_process::child_process(std::vector<std::string> args, std::string output)
    : pid_(spawn_process(args, 0, output)) {}

child_process::~child_process() {
    kill_and_reap(pid_);
}

int child_process::wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pid_ > 0) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            return still_running;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exit_status_;
}

// A port below the kernel's ephemeral range (32768-60999 on Linux by default), free now. A port
// the kernel picked (bind to port 0) comes from that range, from which every outgoing
// connection of every test running in parallel takes its local port too: one took an RPC port
// between its pick and the node's bind ("Address already in use", seen under ASan in CI runs).
namespace {

// Whether this process may hand out `port`: never twice itself (a cluster's ports are all picked
// before its first node binds), and never one another test process holds: an flock on a file
// named after the port, held until this process ends (seen: a port that the bind check found
// free was taken by a test running beside it before the node bound it).
bool claim(uint16_t port) {
    static std::mutex mutex;
    static std::set<uint16_t> mine;
    std::lock_guard<std::mutex> guard(mutex);
    if (mine.count(port) != 0) {
        return false;
    }
    auto dir = std::filesystem::temp_directory_path() / "pravaha-test-ports";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    int fd = ::open((dir / std::to_string(port)).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return false;
    }
    mine.insert(port);  // the descriptor stays open: the lock lasts as long as this process
    return true;
}

}  // namespace

uint16_t free_port() {
    static std::mt19937 pick{std::random_device{}()};
    for (int attempt = 0; attempt < 1000; ++attempt) {
        auto port = static_cast<uint16_t>(20000 + pick() % 12000);
        if (!claim(port)) {
            continue;
        }
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) {
            throw std::runtime_error("socket failed");
        }
        auto addr = loopback(port);
        bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
        ::close(fd);
        if (free) {
            return port;
        }
    }
    throw std::runtime_error("no free port in 20000-31999");
}

node_process::node_process(std::string data_dir,
                           uint16_t port,
                           std::vector<std::string> cluster_args)
    : data_dir_(std::move(data_dir)),
      port_(port),
      rpc_port_(free_port()),
      cluster_args_(std::move(cluster_args)) {}

node_process::~node_process() {
    if (pid_ > 0) {
        kill_hard();
    }
}

bool node_process::start() {
    std::vector<std::string> args{PRAVAHA_NODE_BIN,
                                  "--data-dir",
                                  data_dir_,
                                  "--port",
                                  std::to_string(port_),
                                  "--bind",
                                  "127.0.0.1",
                                  "--log-level",
                                  "warn",
                                  "--rpc-port",
                                  std::to_string(rpc_port_),
                                  "--metrics-port",
                                  "off"};  // a test that scrapes adds its own port
    if (cluster_args_.empty()) {
        args.push_back("--standalone");
    }
    args.insert(args.end(), cluster_args_.begin(), cluster_args_.end());
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<std::string> env;
    if (open_files_ > 0) {
        // A node run out of descriptors on purpose: UBSan's vptr check reads memory through a
        // pipe (IsAccessibleMemoryRange) and, with no descriptor left for it, reports every
        // check that misses its cache as an "invalid vptr" (seen in the ASan ctest). That check
        // cannot work in such a process, so it is suppressed there; every other check stays on.
        auto supp = data_dir_ + ".ubsan-suppressions";
        std::ofstream(supp) << "vptr_check:*\n";
        const char* cur = std::getenv("UBSAN_OPTIONS");  // NOLINT(concurrency-mt-unsafe)
        env.push_back("UBSAN_OPTIONS=" + std::string(cur != nullptr ? cur : "") +
                      (cur != nullptr && *cur != 0 ? ":" : "") + "suppressions=" + supp);
    }
    pid_ = spawn_process(args, open_files_, log_path_, env);
    for (int i = 0; i < 300; ++i) {
        if (can_connect(port_) && can_connect(rpc_port_)) {
            return true;
        }
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

void node_process::kill_hard() {
    kill_and_reap(pid_);
}

namespace {

// Whether every thread of `pid` is stopped (state T in /proc/<pid>/task/<tid>/stat).
bool all_threads_stopped(pid_t pid) {
    auto dir = "/proc/" + std::to_string(pid) + "/task";
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator(dir, ec)) {
        std::ifstream in(task.path() / "stat");
        std::string line;
        std::getline(in, line);
        auto paren = line.rfind(')');
        if (paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'T') {
            return false;
        }
    }
    return !ec;
}

}  // namespace

void node_process::pause() {
    if (pid_ <= 0) {
        return;
    }
    ::kill(pid_, SIGSTOP);
    // The signal stops the threads asynchronously; one still running could take what the test
    // sends next.
    for (int i = 0; i < 2000 && !all_threads_stopped(pid_); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

void node_process::resume() {
    if (pid_ > 0) {
        ::kill(pid_, SIGCONT);
    }
}

int node_process::stop() {
    if (pid_ <= 0) {
        return -1;
    }
    ::kill(pid_, SIGCONT);  // a paused node must be able to act on SIGTERM
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 3000; ++i) {  // 30 s for a graceful stop
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    // Leave evidence of where it hangs before killing it (gdb is optional).
    std::string out;
    run_command("gdb -p " + std::to_string(pid_) +
                    " -batch -ex 'thread apply all bt 12' 2>/dev/null | grep -E '^(#|Thread)'",
                out);
    std::fprintf(stderr, "node pid %d did not stop within 30 s; its threads:\n%s\n",
                 static_cast<int>(pid_), out.c_str());
    kill_hard();
    return stop_timed_out;
}

bool send_raw(uint16_t port, const std::string& bytes) {
    // Non-blocking with a bounded wait: a busy node with a full accept queue must not stall the
    // test in connect() (the kernel retries SYNs for minutes).
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return false;
    }
    auto addr = loopback(port);
    bool sent = false;
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    if (rc != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        rc = ::poll(&p, 1, 2000) == 1 && (p.revents & POLLOUT) != 0 ? 0 : -1;
        int err = 0;
        socklen_t len = sizeof(err);
        if (rc == 0 && (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)) {
            rc = -1;
        }
    }
    if (rc == 0) {
        sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT) > 0;
    }
    ::close(fd);
    return sent;
}

int run_command(const std::string& cmd, std::string& out) {
    out.clear();
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) {
        return -1;
    }
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) {
        out.append(buf, n);
    }
    int status = ::pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

double json_number(const std::string& json, const std::string& key) {
    auto at = json.find("\"" + key + "\":");
    if (at == std::string::npos) {
        return std::nan("");
    }
    return std::strtod(json.c_str() + at + key.size() + 3, nullptr);
}

}  // namespace pravaha::test
