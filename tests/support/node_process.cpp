#include "tests/support/node_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <thread>

#ifndef PRAVAHA_NODE_BIN
#error "PRAVAHA_NODE_BIN must name the pravaha-node binary"
#endif

namespace pravaha::test {

namespace {

bool can_connect(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
}

}  // namespace

uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(fd);
        throw std::runtime_error("bind failed");
    }
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

node_process::node_process(std::string data_dir, uint16_t port)
    : data_dir_(std::move(data_dir)), port_(port) {}

node_process::~node_process() {
    if (pid_ > 0) {
        kill_hard();
    }
}

bool node_process::start() {
    pid_ = ::fork();
    if (pid_ == 0) {
        auto port = std::to_string(port_);
        ::execl(PRAVAHA_NODE_BIN, PRAVAHA_NODE_BIN, "--standalone", "--data-dir", data_dir_.c_str(),
                "--port", port.c_str(), "--bind", "127.0.0.1", "--log-level", "warn",
                static_cast<char*>(nullptr));
        std::perror("exec pravaha-node");
        ::_exit(127);
    }
    for (int i = 0; i < 300; ++i) {
        if (can_connect(port_)) {
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
    if (pid_ <= 0) {
        return;
    }
    ::kill(pid_, SIGKILL);
    ::kill(pid_, SIGCONT);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

void node_process::pause() {
    if (pid_ > 0) {
        ::kill(pid_, SIGSTOP);
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
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void send_raw(uint16_t port, const std::string& bytes) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
        auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        (void)n;
    }
    ::close(fd);
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

}  // namespace pravaha::test
