#include "runtime/transport/listener.hpp"

#include "schema/errc.hpp"
#include "schema/logging.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <system_error>

namespace pravaha::transport {

namespace {

// strerror's text, thread-safe.
std::string errno_text(int err) {
    return std::error_code(err, std::generic_category()).message();
}

int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// One descriptor held in reserve for the whole process, so that a listener out of descriptors
// can still take a waiting connection and close it. Every listener accepts under this mutex: a
// listener on another thread must not take the descriptor a shed frees for its accept (the
// spare would be lost, and with it every later shed).
std::mutex spare_mutex;
int spare_fd = -1;

void take_spare() {
    if (spare_fd < 0) {
        spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
}

// Out of descriptors: closes one waiting connection with the spare's descriptor. Returns
// whether a connection was closed. Called with spare_mutex held.
bool shed_one(int listen_fd) {
    take_spare();
    if (spare_fd < 0) {
        return false;
    }
    ::close(spare_fd);
    spare_fd = -1;
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
        ::close(fd);
    }
    take_spare();
    return fd >= 0;
}

// The process's open descriptors, as text. Reading /proc/self/fd needs a descriptor of its own;
// out of descriptors, the count is not known (the spare stays reserved for shedding).
std::string open_descriptors() {
    std::error_code ec;
    size_t n = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec)) {
        ++n;
    }
    if (!ec) {
        return std::to_string(n);
    }
    return ec.value() == EMFILE || ec.value() == ENFILE ? "unknown (none left to count them)"
                                                        : "unknown";
}

}  // namespace

bool connection_gate::try_enter() {
    auto n = open_.fetch_add(1, std::memory_order_relaxed);
    if (n >= max_) {
        open_.fetch_sub(1, std::memory_order_relaxed);
        return false;
    }
    return true;
}

void connection_gate::leave() {
    auto n = open_.fetch_sub(1, std::memory_order_relaxed);
    PRAVAHA_ASSERT(n > 0, "a connection left the gate that never entered it");
}

listener::listener(std::string name, std::shared_ptr<connection_gate> gate)
    : name_(std::move(name)), gate_(std::move(gate)) {
    std::lock_guard<std::mutex> g(spare_mutex);
    take_spare();
}

accept_result listener::accept_next(int listen_fd) {
    int err = 0;
    bool shed = false;
    {
        std::lock_guard<std::mutex> g(spare_mutex);
        for (;;) {
            int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd >= 0) {
                return admit(fd);
            }
            err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK) {
                return {};
            }
            if (err != EINTR && err != ECONNABORTED && err != EPROTO) {
                break;
            }
            // that connection is gone; take the next
        }
        // Not transient (EBADF, EINVAL): the socket itself is wrong; the caller's loop must not
        // spin on it. Out of descriptors: shed one waiting connection so the backlog drains.
        shed = (err == EMFILE || err == ENFILE) && shed_one(listen_fd);
    }
    count_failure(err, shed ? "closed a waiting connection" : "waiting");
    return {shed ? accept_outcome::shed : accept_outcome::failed, -1};
}

accept_result listener::admit(int fd) {
    if (!gate_->try_enter()) {
        auto n = refused_.fetch_add(1, std::memory_order_relaxed) + 1;
        if ((n & (n - 1)) == 0) {  // 1, 2, 4, 8, ...: a flood does not flood the log
            module_log("transport")
                ->warn(
                    "{} port refused a connection: the node has its maximum of {} open "
                    "(--max-connections; refused so far={})",
                    name_, gate_->max(), n);
        }
        return {accept_outcome::refused, fd};
    }
    open_.fetch_add(1, std::memory_order_relaxed);
    return {accept_outcome::accepted, fd};
}

void listener::closed() {
    auto n = open_.fetch_sub(1, std::memory_order_relaxed);
    PRAVAHA_ASSERT(n > 0, "a connection closed that the listener never accepted");
    gate_->leave();
}

void listener::count_failure(int err, const char* action) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    auto now = steady_ms();
    std::lock_guard<std::mutex> g(mutex_);
    last_failure_ms_ = now;
    rlimit lim{};
    ::getrlimit(RLIMIT_NOFILE, &lim);
    last_error_ =
        std::string(errno_text(err)) + " (descriptor limit " + std::to_string(lim.rlim_cur) + ")";
    ++unlogged_;
    if (last_log_ms_ < 0 || now - last_log_ms_ >= 1000) {
        module_log("transport")
            ->warn(
                "{} port cannot accept a connection, {} (failures since the last line={} "
                "descriptor limit={} open descriptors={}): {}",
                name_, action, unlogged_, lim.rlim_cur, open_descriptors(), errno_text(err));
        last_log_ms_ = now;
        unlogged_ = 0;
    }
}

raft::listener_status listener::status() const {
    raft::listener_status s;
    s.name = name_;
    s.port = port_.load(std::memory_order_relaxed);
    s.connections = open_.load(std::memory_order_relaxed);
    s.max_connections = gate_->max();
    s.refused = refused_.load(std::memory_order_relaxed);
    s.accept_failures = failures_.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> g(mutex_);
    s.backing_off = last_failure_ms_ >= 0 && steady_ms() - last_failure_ms_ < 10000;
    s.last_error = last_error_;
    return s;
}

caf::expected<int> listen_on(const std::string& who, const std::string& host, uint16_t port) {
    auto where = who + " cannot listen on " + host + ":" + std::to_string(port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    auto service = std::to_string(port);
    if (int rc =
            ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
        rc != 0) {
        return caf::make_error(errc::unavailable, where + ": " + ::gai_strerror(rc));
    }
    std::string why = "no address";
    for (auto* a = found; a != nullptr; a = a->ai_next) {
        int fd =
            ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            why = errno_text(errno);
            continue;
        }
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
            ::freeaddrinfo(found);
            return fd;
        }
        why = errno_text(errno);
        ::close(fd);
    }
    ::freeaddrinfo(found);
    return caf::make_error(errc::unavailable, where + ": " + why);
}

uint16_t local_port(int fd) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        return 0;
    }
    if (addr.ss_family == AF_INET) {
        return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    }
    if (addr.ss_family == AF_INET6) {
        return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    }
    return 0;
}

uint64_t default_max_connections(uint64_t descriptor_limit) {
    uint64_t reserve = std::clamp<uint64_t>(descriptor_limit / 4, 64, 4096);
    return descriptor_limit > reserve + 16 ? descriptor_limit - reserve : 16;
}

uint64_t descriptor_limit() {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) {
        return uint64_t{1} << 20;
    }
    return lim.rlim_cur;
}

}  // namespace pravaha::transport
