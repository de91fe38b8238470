#pragma once

// Part of module `runtime` (internal): a kj event loop on a thread of its own that binds a port
// first and then serves until stopped. The RPC gateway and the metrics port run on one each.

#include "schema/errc.hpp"
#include "schema/logging.hpp"

#include <caf/expected.hpp>
#include <kj/async-io.h>

#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace pravaha::runtime {

class kj_thread {
public:
    /// Runs on the thread with its event loop: binds, then calls `bound` with the port (at most
    /// once), then serves until `stop` resolves (join it: `.exclusiveJoin(kj::mv(stop))`).
    using body = std::function<void(kj::AsyncIoContext& io,
                                    kj::Promise<void> stop,
                                    const std::function<void(caf::expected<uint16_t>)>& bound)>;

    kj_thread() = default;
    kj_thread(const kj_thread&) = delete;
    kj_thread& operator=(const kj_thread&) = delete;
    ~kj_thread() { stop(); }

    /// Starts the thread and waits until `b` reported the port, or failed. `what` names the server
    /// in errors and logs ("rpc gateway cannot listen on HOST:PORT: ...").
    caf::expected<uint16_t> start(std::string what, std::string where, body b) {
        std::promise<caf::expected<uint16_t>> bound;
        auto ready = bound.get_future();
        thread_ = std::thread(
            [this, &bound, what = std::move(what), where = std::move(where), b = std::move(b)] {
                bool reported = false;
                auto report = [&](caf::expected<uint16_t> port) {
                    if (!reported) {
                        reported = true;
                        bound.set_value(std::move(port));
                    }
                };
                try {
                    auto io = kj::setupAsyncIo();
                    auto stop = kj::newPromiseAndCrossThreadFulfiller<void>();
                    {
                        std::lock_guard<std::mutex> g(mutex_);
                        stop_ = std::make_unique<kj::Own<kj::CrossThreadPromiseFulfiller<void>>>(
                            kj::mv(stop.fulfiller));
                    }
                    b(io, kj::mv(stop.promise), report);
                    report(caf::make_error(errc::unavailable, what + " ended before it listened"));
                } catch (const kj::Exception& e) {
                    auto text = std::string(e.getDescription().cStr());
                    if (!reported) {
                        report(caf::make_error(errc::unavailable,
                                               what + " cannot listen on " + where + ": " + text));
                    } else {
                        module_log("runtime")->error("{} stopped error={}", what, text);
                    }
                }
            });
        return ready.get();
    }

    /// Ends the loop (its serving promise is cancelled) and joins the thread. Idempotent.
    void stop() {
        {
            std::lock_guard<std::mutex> g(mutex_);
            if (stop_) {
                (*stop_)->fulfill();
                stop_.reset();
            }
        }
        if (thread_.joinable()) {
            thread_.join();
        }
    }

private:
    std::thread thread_;
    std::mutex mutex_;
    // In a unique_ptr: kj::Own's destructor may throw, which a destructor must not let out.
    std::unique_ptr<kj::Own<kj::CrossThreadPromiseFulfiller<void>>> stop_;
};

}  // namespace pravaha::runtime
