#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace pravaha::test {

/// Picks a free TCP port on 127.0.0.1 below the ephemeral range (where outgoing connections of
/// parallel tests cannot take it between the pick and the bind).
uint16_t free_port();

/// Forks and execs `args` (args[0] is the binary's path), with this soft and hard
/// RLIMIT_NOFILE (0: inherited), if `output` names a file stdout and stderr into it, and this
/// process's environment with the "NAME=VALUE" entries of `env` replacing their names'.
/// Returns the child's pid.
pid_t spawn_process(const std::vector<std::string>& args,
                    uint64_t open_files = 0,
                    const std::string& output = {},
                    const std::vector<std::string>& env = {});

/// SIGKILL (and SIGCONT, for a stopped one) and reap; sets `pid` to -1. Nothing if pid <= 0.
void kill_and_reap(pid_t& pid);

/// Any program as a child process (started at once); the destructor kills it if it still runs.
class child_process {
public:
    child_process(std::vector<std::string> args, std::string output = {});
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    static constexpr int still_running = -1000;
    /// Waits for the exit; its status (128 + signal when killed by one), or still_running.
    int wait(std::chrono::milliseconds timeout);
    void kill_hard() { kill_and_reap(pid_); }
    pid_t pid() const { return pid_; }

private:
    pid_t pid_;
    int exit_status_ = still_running;
};

/// A real `pravaha-node` child process on 127.0.0.1 (`--standalone`, or cluster mode with
/// `cluster_args` such as --node-id and --peers). The destructor kills it.
class node_process {
public:
    node_process(std::string data_dir, uint16_t port, std::vector<std::string> cluster_args = {});
    ~node_process();
    node_process(const node_process&) = delete;
    node_process& operator=(const node_process&) = delete;

    /// Starts the node and waits until its port and its RPC port accept connections. Returns
    /// false on timeout.
    bool start();
    /// SIGKILL and reap: a crash without any chance to flush.
    void kill_hard();
    /// Returned by stop() when the node did not exit within 30 s of SIGTERM (it is then killed).
    static constexpr int stop_timed_out = 1000;
    /// SIGTERM and reap; returns the exit status, or stop_timed_out.
    int stop();
    /// More flags for every start (after the mode flags), e.g. {"--max-connections", "8"}.
    void add_args(std::vector<std::string> args) {
        extra_args_.insert(extra_args_.end(), args.begin(), args.end());
    }
    /// Its stdout and stderr (its log) go into the file `path` from the next start on.
    void log_to(std::string path) { log_path_ = std::move(path); }
    /// Starts the node with this soft and hard RLIMIT_NOFILE (0: inherited).
    void limit_open_files(uint64_t n) { open_files_ = n; }
    /// SIGSTOP / SIGCONT: a node that holds its connections but answers nothing.
    void pause();
    void resume();
    bool running() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }
    uint16_t port() const { return port_; }
    /// The Cap'n Proto RPC port (picked once, kept across restarts).
    uint16_t rpc_port() const { return rpc_port_; }
    std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

private:
    std::string data_dir_;
    uint16_t port_;
    uint16_t rpc_port_;
    std::vector<std::string> cluster_args_;
    std::vector<std::string> extra_args_;
    pid_t pid_ = -1;
    uint64_t open_files_ = 0;
    std::string log_path_;
};

/// Connects to 127.0.0.1:port, sends `bytes`, and closes (for malformed-input tests). Gives up
/// after 2 s; returns whether the bytes went out.
bool send_raw(uint16_t port, const std::string& bytes);

/// Runs a shell command, returns its exit code and puts stdout (and stderr if asked) into out.
int run_command(const std::string& cmd, std::string& out);

/// A file's whole text ("" if it cannot be read).
std::string read_text(const std::string& path);

/// The number after "key": in a flat JSON object as pravaha-bench writes it (NaN if missing).
double json_number(const std::string& json, const std::string& key);

}  // namespace pravaha::test
