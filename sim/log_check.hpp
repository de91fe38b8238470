#pragma once

// The simulator's error-log rule (style.md 8, FoundationDB's SevError): an `error` line the node
// code logs during a run fails the run unless the run's injected faults explain it.

#include <memory>
#include <string>
#include <vector>

namespace pravaha::sim {

/// Counts the error-level lines of every module logger while it lives, whatever level is
/// printed (`--log-level`, off by default). One per run; runs do not overlap in a process.
class error_log {
public:
    /// Installs the counting sink; `print_level` is what the console still shows.
    explicit error_log(const std::string& print_level);
    ~error_log();
    error_log(const error_log&) = delete;
    error_log& operator=(const error_log&) = delete;

    /// The error lines logged so far ("module: text"), in order.
    std::vector<std::string> lines() const;

    struct sink;

private:
    std::shared_ptr<sink> sink_;
};

/// The first line no injected fault explains, or empty. A storage error (a failed fsync, a
/// failed state write) is expected only in a run that injected fsync errors, or from a node
/// whose disk failed its last writes because it lost power; nothing else is ever expected (two
/// leaders in a term, a gateway that stopped).
std::string unexpected_error(const std::vector<std::string>& lines,
                             bool storage_faults,
                             bool impostors = false);

}  // namespace pravaha::sim
