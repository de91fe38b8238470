#include "runtime/metrics_server.hpp"

#include "runtime/kj_thread.hpp"
#include "runtime/tls.hpp"
#include "runtime/transport/listener.hpp"
#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/metrics.hpp"

#include <kj/async-io.h>
#include <kj/compat/http.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

namespace pravaha::runtime {

namespace {

// kj::HttpService has no virtual destructor; this one is destroyed as itself (a local below).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class http_service final : public kj::HttpService {
public:
    http_service(const kj::HttpHeaderTable& table, std::function<std::string()> ready)
        : table_(table), ready_(std::move(ready)) {}

    kj::Promise<void> request(kj::HttpMethod method,
                              kj::StringPtr url,
                              const kj::HttpHeaders&,
                              kj::AsyncInputStream&,
                              Response& response) override {
        std::string path(url.cStr());
        if (auto q = path.find('?'); q != std::string::npos) {
            path.resize(q);
        }
        if (method != kj::HttpMethod::GET && method != kj::HttpMethod::HEAD) {
            return send(response, 405, "Method Not Allowed", "only GET and HEAD\n", method);
        }
        if (path == "/metrics") {
            return send(response, 200, "OK", metrics::global().render(), method,
                        "text/plain; version=0.0.4; charset=utf-8");
        }
        if (path == "/health") {
            return send(response, 200, "OK", "ok\n", method);
        }
        if (path == "/ready") {
            auto why = ready_ ? ready_() : std::string("no readiness check");
            bool ok = why.empty();
            return send(response, ok ? 200 : 503, ok ? "OK" : "Service Unavailable",
                        ok ? "ready\n" : "not ready: " + why + "\n", method);
        }
        return send(response, 404, "Not Found", "no such path (/metrics, /health, /ready)\n",
                    method);
    }

private:
    kj::Promise<void> send(Response& response,
                           unsigned status,
                           kj::StringPtr text,
                           std::string body,
                           kj::HttpMethod method,
                           const char* type = "text/plain; charset=utf-8") {
        kj::HttpHeaders headers(table_);
        headers.set(kj::HttpHeaderId::CONTENT_TYPE, type);
        auto size = body.size();
        auto out = response.send(status, text, headers, size);
        if (method == kj::HttpMethod::HEAD) {
            return kj::READY_NOW;
        }
        auto data = std::make_unique<std::string>(std::move(body));
        auto promise = out->write(data->data(), data->size());
        return promise.attach(kj::mv(out), kj::heap<std::unique_ptr<std::string>>(std::move(data)));
    }

    const kj::HttpHeaderTable& table_;
    std::function<std::string()> ready_;
};
#pragma GCC diagnostic pop

class metrics_server_impl final : public metrics_server {
public:
    explicit metrics_server_impl(metrics_server_config cfg) : cfg_(std::move(cfg)) {}
    ~metrics_server_impl() override { stop(); }

    caf::expected<uint16_t> run() {
        auto port = thread_.start(
            "metrics port", cfg_.bind + ":" + std::to_string(cfg_.port),
            [this](kj::AsyncIoContext& io, kj::Promise<void> stop, const auto& bound) {
                auto fd = transport::listen_on("metrics port", cfg_.bind, cfg_.port);
                if (!fd) {
                    bound(std::move(fd.error()));
                    return;
                }
                auto receiver = io.lowLevelProvider->wrapListenSocketFd(
                    *fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
                kj::HttpHeaderTable table;
                http_service service(table, cfg_.ready);
                kj::HttpServer server(io.provider->getTimer(), table, service);
                bound(static_cast<uint16_t>(receiver->getPort()));
                auto tls = cfg_.tls
                               ? std::make_unique<tls_server>(*cfg_.tls, io.provider->getTimer())
                               : nullptr;
                tls_failures errors("metrics port");
                kj::TaskSet connections(errors);
                serve(server, *receiver, io.provider->getTimer(), tls.get(), connections)
                    .exclusiveJoin(kj::mv(stop))
                    .wait(io.waitScope);
            });
        if (port) {
            port_ = *port;
        }
        return port;
    }

    uint16_t port() const override { return port_; }
    void stop() override { thread_.stop(); }

private:
    // Accepts each connection (HTTPS: after its handshake) and serves HTTP on it as a task of
    // its own. kj's listenHttp and wrapPort end for good on the first accept error (out of
    // descriptors, say): this loop logs it, waits a moment and goes on, so a scrape works once
    // descriptors are free.
    kj::Promise<void> serve(kj::HttpServer& server,
                            kj::ConnectionReceiver& receiver,
                            kj::Timer& timer,
                            tls_server* tls,
                            kj::TaskSet& connections) {
        return receiver.accept().then(
            [this, &server, &receiver, &timer, tls,
             &connections](kj::Own<kj::AsyncIoStream> stream) -> kj::Promise<void> {
                if (tls == nullptr) {
                    connections.add(server.listenHttp(kj::mv(stream)));
                } else {
                    connections.add(tls->wrap(kj::mv(stream))
                                        .then([&server](kj::Own<kj::AsyncIoStream> secure) {
                                            return server.listenHttp(kj::mv(secure));
                                        }));
                }
                return serve(server, receiver, timer, tls, connections);
            },
            [this, &server, &receiver, &timer, tls,
             &connections](kj::Exception&& e) -> kj::Promise<void> {
                module_log("runtime")->warn("metrics port cannot accept, waiting error={}",
                                            e.getDescription().cStr());
                return timer.afterDelay(100 * kj::MILLISECONDS)
                    .then([this, &server, &receiver, &timer, tls, &connections] {
                        return serve(server, receiver, timer, tls, connections);
                    });
            });
    }

    metrics_server_config cfg_;
    kj_thread thread_;
    uint16_t port_ = 0;
};

// The number of open descriptors (-1 when /proc cannot be read).
double open_fds() {
    std::error_code ec;
    double n = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec)) {
        ++n;
    }
    return ec ? -1 : n;
}

// Resident memory in bytes, from /proc/self/statm.
double resident_bytes() {
    std::ifstream in("/proc/self/statm");
    uint64_t size = 0;
    uint64_t resident = 0;
    if (!(in >> size >> resident)) {
        return -1;
    }
    return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

double cpu_seconds() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    auto secs = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return secs(u.ru_utime) + secs(u.ru_stime);
}

double max_fds() {
    rlimit lim{};
    ::getrlimit(RLIMIT_NOFILE, &lim);
    return static_cast<double>(lim.rlim_cur);
}

}  // namespace

caf::expected<std::unique_ptr<metrics_server>> metrics_server::start(
    const metrics_server_config& cfg) {
    auto s = std::make_unique<metrics_server_impl>(cfg);
    auto port = s->run();
    if (!port) {
        s->stop();
        return std::move(port.error());
    }
    return std::unique_ptr<metrics_server>(std::move(s));
}

void register_process_metrics(const std::string& version) {
    auto& r = metrics::global();
    r.gauge("pravaha_build_info", "The running build: always 1, its version as a label.",
            {{"version", version}}, [] { return 1.0; });
    r.gauge("process_open_fds", "Open file descriptors.", {}, open_fds);
    r.gauge("process_max_fds", "The file descriptor limit.", {}, max_fds);
    r.gauge("process_resident_memory_bytes", "Resident memory.", {}, resident_bytes);
    r.counter_fn("process_cpu_seconds_total", "User and system CPU time used, in seconds.", {},
                 cpu_seconds);
}

}  // namespace pravaha::runtime
