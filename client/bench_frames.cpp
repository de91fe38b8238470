// pravaha-bench's write mode over the node's framed data port (--api frames, --data-port): the
// same closed loop as the other APIs, run by one thread that keeps every writer's events in
// flight on one connection (as the C++ client multiplexes its writers over one), written with
// the data path's frames (schema/data_frames.hpp) and nothing else: no client library, no
// actor system. It measures what the node's data path costs with a client that costs almost
// nothing, the shape redis-benchmark measures Redis in.
//
// Each writer writes one event per block to one segment of the stream (writer w: segment
// w mod segments), numbered from 0 under a writer id of its own, without a session. A refused
// event counts as failed and its window slot is lost (as the other loops do).

#include "client/bench_run.hpp"
#include "runtime/transport/transport.hpp"
#include "schema/data_frames.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <system_error>
#include <unordered_map>

namespace pravaha::bench {

namespace {

struct frame_writer {
    segment_key key;
    writer_id id;
    uint64_t next = 0;  // events sent (the next event number)
    uint64_t in_flight = 0;
    uint64_t lost = 0;
    bool stopped = false;
    int64_t last_ack_ns = -1;
    bool progressed = false;
};

struct pending {
    size_t writer = 0;
    bench_clock::time_point start;
    uint32_t at_ms = 0;
    bool measured = false;
};

caf::error sys_error(const std::string& what) {
    return caf::make_error(errc::unavailable,
                           what + ": " + std::error_code(errno, std::generic_category()).message());
}

caf::expected<int> connect_to(const std::string& host, uint16_t port) {
    auto conn = transport::tcp_connect(host, port, std::chrono::seconds(5));
    if (conn.fd < 0) {
        return caf::make_error(errc::unavailable, "cannot connect to the data port " + host + ":" +
                                                      std::to_string(port) + ": " + conn.why);
    }
    return conn.fd;
}

class frame_loop {
public:
    frame_loop(const options& o, run_state& rs, int fd, const std::vector<segment_key>& segments)
        : o_(o), rs_(rs), fd_(fd), payload_(make_payload(o)) {
        std::random_device rd;
        uint64_t hi = (uint64_t{rd()} << 32) | rd();
        for (size_t w = 0; w < o.writers; ++w) {
            frame_writer fw;
            fw.key = segments[w % segments.size()];
            fw.id = writer_id{hi, w};
            writers_.push_back(fw);
        }
    }

    const std::vector<sample>& samples() const { return samples_; }

    caf::error run() {
        if (auto err = greet()) {
            return err;
        }
        rs_.setup_s = since(rs_.start) / 1e9;
        if (o_.duration_s > 0) {
            deadline_ = bench_clock::now() + std::chrono::seconds(o_.duration_s);
        }
        rs_.go_ns = since(rs_.start);
        for (size_t w = 0; w < writers_.size(); ++w) {
            fill(w);
        }
        while (!pending_.empty() || !out_.empty()) {
            if (auto err = turn()) {
                return err;
            }
        }
        return {};
    }

private:
    caf::error greet() {
        frames::encode_hello(out_, frames::protocol_version);
        while (!out_.empty()) {
            if (auto err = send_out()) {
                return err;
            }
        }
        for (;;) {
            if (auto err = receive(true)) {
                return err;
            }
            size_t size = 0;
            auto f = frames::decode(std::string_view(in_).substr(0, used_), size);
            if (!f) {
                return std::move(f.error());
            }
            if (!*f) {
                continue;
            }
            consume(size);
            if (auto* r = std::get_if<frames::refused>(&**f)) {
                return frames::to_error(*r);
            }
            if (std::get_if<frames::hello>(&**f) == nullptr) {
                return caf::make_error(errc::malformed_message, "the node did not answer hello");
            }
            return {};
        }
    }

    // Sends what the writer's window allows.
    void fill(size_t w) {
        auto& fw = writers_[w];
        uint64_t count = o_.events / o_.writers;
        for (;;) {
            if (!fw.stopped &&
                (deadline_ ? bench_clock::now() >= *deadline_ : fw.next >= o_.warmup + count)) {
                fw.stopped = true;
            }
            if (fw.lost >= o_.window) {
                fw.stopped = true;
            }
            if (fw.stopped || fw.in_flight + 1 > o_.window - fw.lost) {
                return;
            }
            auto n = fw.next++;
            ++fw.in_flight;
            append_block b;
            b.key = fw.key;
            b.writer = fw.id;
            b.first_event_number = static_cast<int64_t>(n);
            b.last_event_number = static_cast<int64_t>(n);
            b.event_count = 1;
            frame_event(b.data, payload_);
            auto start = bench_clock::now();
            pending p;
            p.writer = w;
            p.start = start;
            p.at_ms = static_cast<uint32_t>(
                std::chrono::duration_cast<std::chrono::milliseconds>(start - rs_.start).count());
            p.measured = n >= o_.warmup;
            if (p.measured && n == o_.warmup) {
                rs_.measured_send(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(start - rs_.start)
                        .count());
            }
            auto request = next_request_++;
            pending_.emplace(request, p);
            frames::encode_append(out_, request, b);
        }
    }

    caf::error turn() {
        if (!out_.empty()) {
            if (auto err = send_out()) {
                return err;
            }
        }
        if (pending_.empty()) {
            return {};
        }
        if (auto err = receive(out_.empty())) {
            return err;
        }
        size_t off = 0;
        std::vector<size_t> refill;
        for (;;) {
            size_t size = 0;
            auto f = frames::decode(std::string_view(in_.data() + off, used_ - off), size);
            if (!f) {
                return std::move(f.error());
            }
            if (!*f) {
                break;
            }
            off += size;
            if (auto err = answered(**f, refill)) {
                return err;
            }
        }
        consume(off);
        for (auto w : refill) {
            fill(w);
        }
        return {};
    }

    caf::error answered(const frames::frame& f, std::vector<size_t>& refill) {
        uint64_t request = 0;
        caf::error err;
        if (const auto* a = std::get_if<frames::appended>(&f)) {
            request = a->request;
        } else if (const auto* r = std::get_if<frames::refused>(&f)) {
            request = r->request;
            err = frames::to_error(*r);
            if (request == 0) {
                return err;  // the node closed the connection
            }
        } else {
            return caf::make_error(errc::malformed_message, "an unexpected frame from the node");
        }
        auto it = pending_.find(request);
        if (it == pending_.end()) {
            return caf::make_error(
                errc::malformed_message,
                "an answer to request " + std::to_string(request) + " that is not in flight");
        }
        auto p = it->second;
        pending_.erase(it);
        auto& fw = writers_[p.writer];
        --fw.in_flight;
        rs_.written.fetch_add(1);
        refill.push_back(p.writer);
        if (err) {
            rs_.error(err);
            ++fw.lost;
            return {};
        }
        auto now_ns = since(rs_.start);
        rs_.acked(fw.last_ack_ns, now_ns);
        if (!p.measured) {
            return {};
        }
        auto us =
            std::chrono::duration_cast<std::chrono::microseconds>(bench_clock::now() - p.start)
                .count();
        auto lat = static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX));
        rs_.live.record(lat);
        samples_.push_back(sample{p.at_ms, lat});
        rs_.done_ops.fetch_add(1);
        rs_.completed(now_ns);
        if (!fw.progressed) {
            fw.progressed = true;
            rs_.writers_progressed.fetch_add(1);
        }
        return {};
    }

    // Sends from out_sent_ on; out_ is emptied once all of it went (not shifted per send: with
    // large events that would move megabytes for every partial send).
    caf::error send_out() {
        while (out_sent_ < out_.size()) {
            auto n = ::send(fd_, out_.data() + out_sent_, out_.size() - out_sent_,
                            MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                out_sent_ += static_cast<size_t>(n);
                if (out_sent_ == out_.size()) {
                    out_.clear();
                    out_sent_ = 0;
                }
                continue;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                return {};  // the rest when the socket is writable (turn polls for it)
            }
            return sys_error("sending to the data port");
        }
        return {};
    }

    // Waits (up to 10 s without any answer) until the socket is readable or, with bytes to
    // send, writable; reads what is there.
    caf::error receive(bool only_read) {
        pollfd p{};
        p.fd = fd_;
        p.events = static_cast<short>(POLLIN | (only_read ? 0 : POLLOUT));
        int rc = ::poll(&p, 1, 10000);
        if (rc < 0) {
            return errno == EINTR ? caf::error{} : sys_error("poll");
        }
        if (rc == 0) {
            return caf::make_error(errc::timeout, "no answer from the data port within 10 s");
        }
        if ((p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
            return {};
        }
        if (in_.size() - used_ < 64 * 1024) {
            in_.resize(std::max(in_.size() * 2, used_ + 64 * 1024));
        }
        auto n = ::recv(fd_, in_.data() + used_, in_.size() - used_, MSG_DONTWAIT);
        if (n > 0) {
            used_ += static_cast<size_t>(n);
            return {};
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            return {};
        }
        return n == 0 ? caf::make_error(errc::unavailable, "the node closed the data connection")
                      : sys_error("reading from the data port");
    }

    void consume(size_t n) {
        if (n > 0) {
            std::memmove(in_.data(), in_.data() + n, used_ - n);
            used_ -= n;
        }
    }

    const options& o_;
    run_state& rs_;
    int fd_;
    std::string payload_;
    std::vector<frame_writer> writers_;
    std::unordered_map<uint64_t, pending> pending_;
    uint64_t next_request_ = 1;
    std::optional<bench_clock::time_point> deadline_;
    std::string out_;
    size_t out_sent_ = 0;
    std::string in_;
    size_t used_ = 0;
    std::vector<sample> samples_;
};

}  // namespace

void run_frame_writers(const options& o, run_state& rs, const std::vector<segment_key>& segments) {
    if (segments.empty()) {
        rs.error(caf::make_error(errc::stream_not_found, "the stream has no open segments"));
        return;
    }
    auto host = o.endpoint.substr(0, o.endpoint.rfind(':'));
    auto fd = connect_to(host, static_cast<uint16_t>(o.data_port));
    if (!fd) {
        rs.error(fd.error());
        return;
    }
    frame_loop loop(o, rs, *fd, segments);
    auto err = loop.run();
    ::close(*fd);
    if (err) {
        std::lock_guard<std::mutex> g(rs.mutex);
        if (rs.first_error.empty()) {
            rs.first_error = render_error(err);
        }
    }
    std::lock_guard<std::mutex> g(rs.mutex);
    rs.write_samples.insert(rs.write_samples.end(), loop.samples().begin(), loop.samples().end());
}

}  // namespace pravaha::bench
