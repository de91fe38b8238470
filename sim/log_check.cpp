#include "sim/log_check.hpp"

#include "schema/logging.hpp"
#include "sim/env.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>

namespace pravaha::sim {

namespace {

// The phrases of the error lines a storage fault causes (actors/container.cpp,
// actors/controller.cpp): the node stops, recovery decides from disk.
constexpr const char* storage_failures[] = {
    "container log write failed", "container raft storage failed", "controller raft storage failed",
    "controller storage failed",  "segment re-create failed",      "segment re-seal failed",
};

// What the simulated disk answers a write or sync of a node that lost power.
constexpr const char* crashed_disk = "simulated disk: the node crashed";
// What a snapshot's view of the store answers once the node closed the store (it lost power:
// the crash closes it while the node's actors still run; storage/rocksdb_store.cpp): the same
// crash, seen by a transfer's next chunk (Tier B seed 0xe893e12 of the cluster profile).
constexpr const char* closed_store = "the store was closed";

}  // namespace

struct error_log::sink final : spdlog::sinks::base_sink<std::mutex> {
    std::vector<std::string> copy() {
        std::lock_guard<std::mutex> guard(mutex_);
        return lines;
    }

private:
    std::vector<std::string> lines;

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        lines.push_back(std::string(msg.logger_name.data(), msg.logger_name.size()) + ": " +
                        std::string(msg.payload.data(), msg.payload.size()));
    }
    void flush_() override {}
};

error_log::error_log(const std::string& print_level) : sink_(std::make_shared<sink>()) {
    auto shown = spdlog::level::from_str(print_level);
    sink_->set_level(spdlog::level::err);
    for (const char* name : log_modules) {
        auto l = module_log(name);
        for (auto& s : l->sinks()) {
            s->set_level(shown);
        }
        l->sinks().push_back(sink_);
        l->set_level(std::min(shown, spdlog::level::err));
    }
}

error_log::~error_log() {
    for (const char* name : log_modules) {
        auto& sinks = module_log(name)->sinks();
        sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    }
}

std::vector<std::string> error_log::lines() const {
    return sink_->copy();
}

std::string unexpected_error(const std::vector<std::string>& lines,
                             bool storage_faults,
                             bool impostors) {
    for (const auto& line : lines) {
        // Another cluster's node said hello (the impostor fault): the members refuse it, and
        // it is refused (actors/node.cpp's refusal lines name its cluster id). A twin's
        // refusals are warnings: it stops before they would last 10 s.
        if (impostors && line.find(" refused ") != std::string::npos &&
            line.find(impostor_cluster) != std::string::npos) {
            continue;
        }
        // The simulated disk fails what a node still has in flight when it loses power
        // (sim_disk.cpp); the process is dead, its last words are the fault's.
        bool storage_cause = storage_faults || line.find(crashed_disk) != std::string::npos ||
                             line.find(closed_store) != std::string::npos;
        bool explained = false;
        for (const char* phrase : storage_failures) {
            explained = explained || (storage_cause && line.find(phrase) != std::string::npos);
        }
        if (!explained) {
            return line;
        }
    }
    return {};
}

}  // namespace pravaha::sim
