#pragma once

// A standalone node's real actors on RocksDB in this process, its published endpoint and its
// RPC gateway: for tests and fuzzing that talk to the gateway over socket pairs.

#include "actors/actors.hpp"
#include "runtime/gateway.hpp"
#include "storage/storage.hpp"

#include "tests/support/temp_dir.hpp"
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <memory>

namespace pravaha::test {

class in_process_node {
public:
    /// Starts everything; throws std::runtime_error with the reason on failure.
    in_process_node();
    ~in_process_node();
    in_process_node(const in_process_node&) = delete;
    in_process_node& operator=(const in_process_node&) = delete;

    runtime::gateway& gateway() { return *gateway_; }
    caf::actor_system& system() { return *sys_; }

    /// A connected socket pair: one end served by the gateway, the other returned (the caller
    /// closes it). Throws when the gateway refuses it.
    int connect_pair();

private:
    temp_dir dir_;
    std::unique_ptr<storage::log_store> store_;
    std::unique_ptr<caf::actor_system_config> cfg_;
    std::unique_ptr<caf::actor_system> sys_;
    actors::node_actors node_;
    std::unique_ptr<runtime::gateway> gateway_;
};

}  // namespace pravaha::test
