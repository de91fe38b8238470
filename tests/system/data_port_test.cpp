// The node's framed data port (--data-port, runtime/data_port.hpp) on a real node process over
// real TCP: appends answered per request, stored and read back by the client library, kept
// across a kill -9; refusals per request; protocol errors close only the connection that made
// them.

#include "schema/data_frames.hpp"

#include "tests/support/node_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/system/system_support.hpp"
#include <catch2/catch.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace pravaha;
using std::chrono::milliseconds;

namespace {

// One client connection to the data port, read frame by frame.
class data_conn {
public:
    explicit data_conn(uint16_t port) : fd_(test::connect_loopback(port)) {}
    ~data_conn() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    data_conn(const data_conn&) = delete;
    data_conn& operator=(const data_conn&) = delete;

    bool connected() const { return fd_ >= 0; }

    void send(const std::string& bytes) {
        size_t sent = 0;
        while (sent < bytes.size()) {
            auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            REQUIRE(n > 0);
            sent += static_cast<size_t>(n);
        }
    }

    void hello(uint32_t version = frames::protocol_version) {
        std::string f;
        frames::encode_hello(f, version);
        send(f);
    }

    void append(uint64_t request, const append_block& b) {
        std::string f;
        frames::encode_append(f, request, b);
        send(f);
    }

    // The next frame, or nullopt when the node closed the connection or nothing came in 10 s.
    std::optional<frames::frame> next() {
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        for (;;) {
            size_t used = 0;
            auto f = frames::decode(in_, used);
            REQUIRE(f);
            if (f->has_value()) {
                in_.erase(0, used);
                return std::move(**f);
            }
            auto left =
                std::chrono::duration_cast<milliseconds>(until - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                return std::nullopt;
            }
            pollfd p{fd_, POLLIN, 0};
            ::poll(&p, 1, static_cast<int>(left.count()));
            char buf[4096];
            auto n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                closed_ = true;
                return std::nullopt;
            }
            if (n > 0) {
                in_.append(buf, static_cast<size_t>(n));
            }
        }
    }

    // Answers to `n` requests, by request number (containers answer in their own order).
    std::map<uint64_t, frames::frame> answers(size_t n) {
        std::map<uint64_t, frames::frame> out;
        while (out.size() < n) {
            auto f = next();
            REQUIRE(f);
            uint64_t request = 0;
            if (const auto* a = std::get_if<frames::appended>(&*f)) {
                request = a->request;
            } else {
                request = std::get<frames::refused>(*f).request;
            }
            out.emplace(request, std::move(*f));
        }
        return out;
    }

    // Sends `bytes` without blocking as far as the socket takes them: how many it took.
    size_t send_some(std::string_view bytes) {
        auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            REQUIRE((errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
            return 0;
        }
        return static_cast<size_t>(n);
    }

    // Counts the whole frames that arrived (without waiting), dropping them; false once the
    // node closed the connection.
    bool count_frames(size_t& count) {
        char buf[65536];
        for (;;) {
            auto n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                return false;
            }
            if (n <= 0) {
                break;
            }
            in_.append(buf, static_cast<size_t>(n));
        }
        size_t off = 0;
        for (;;) {
            size_t used = 0;
            auto f = frames::decode(std::string_view(in_).substr(off), used);
            REQUIRE(f);
            if (!f->has_value()) {
                break;
            }
            off += used;
            ++count;
        }
        in_.erase(0, off);
        return true;
    }

    int fd() const { return fd_; }

    // A small receive buffer (no autotuning): answers back up into the node at once.
    void small_receive_buffer() {
        int bytes = 16 * 1024;
        REQUIRE(::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) == 0);
    }

    // Whether the node closed the connection (after the frames it sent first).
    bool closed_by_node() {
        while (!closed_) {
            if (!next()) {
                break;
            }
        }
        return closed_;
    }

private:
    int fd_;
    std::string in_;
    bool closed_ = false;
};

append_block block(segment_key key,
                   writer_id w,
                   int64_t first,
                   const std::vector<std::string>& payloads) {
    append_block b;
    b.key = key;
    b.writer = w;
    b.first_event_number = first;
    b.last_event_number = first + static_cast<int64_t>(payloads.size()) - 1;
    b.event_count = static_cast<uint32_t>(payloads.size());
    for (const auto& p : payloads) {
        frame_event(b.data, p);
    }
    return b;
}

const frames::appended& ok(const std::map<uint64_t, frames::frame>& answers, uint64_t request) {
    auto it = answers.find(request);
    REQUIRE(it != answers.end());
    const auto* a = std::get_if<frames::appended>(&it->second);
    if (a == nullptr) {
        FAIL("request " << request << " refused: "
                        << render_error(frames::to_error(std::get<frames::refused>(it->second))));
    }
    return *a;
}

errc refused_code(const std::map<uint64_t, frames::frame>& answers, uint64_t request) {
    auto it = answers.find(request);
    REQUIRE(it != answers.end());
    const auto* r = std::get_if<frames::refused>(&it->second);
    REQUIRE(r != nullptr);
    return r->code;
}

// A standalone node with a data port, once both its ports take connections.
struct data_node {
    test::temp_dir dir;
    uint16_t data_port = test::free_port();
    test::node_process node{dir.path() + "/node", test::free_port()};

    data_node() {
        node.add_args({"--data-port", std::to_string(data_port)});
        start();
    }
    void start() {
        REQUIRE(node.start());
        REQUIRE(test::eventually(
            [&] {
                int fd = test::connect_loopback(data_port);
                if (fd >= 0) {
                    ::close(fd);
                }
                return fd >= 0;
            },
            milliseconds(10000)));
    }
};

// Creates stream s/t of `segments` segments; its segments.
std::vector<segment_key> create_stream(client::client_factory& f, uint32_t segments) {
    REQUIRE_FALSE(f.streams().create_scope("s"));
    REQUIRE(f.streams().create_stream("s", "t", segments));
    auto info = f.streams().stream_info_of("s", "t");
    REQUIRE(info);
    std::vector<segment_key> keys;
    for (const auto& seg : info->segments) {
        keys.push_back(segment_key{info->record.uid, seg.id});
    }
    return keys;
}

// Every payload of s/t, in the order a reader gets them.
std::vector<std::string> read_in_order(client::client_factory& f) {
    auto reader = f.create_reader("s", "t", client::start_position::head);
    REQUIRE(reader);
    std::vector<std::string> out;
    for (;;) {
        auto ev = (*reader)->read_next(milliseconds(0));
        REQUIRE(ev);
        if (!*ev) {
            break;
        }
        out.push_back((*ev)->payload);
    }
    return out;
}

std::vector<std::string> read_stream(client::client_factory& f) {
    auto out = read_in_order(f);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("appends over the data port are answered per request, stored, and survive kill -9",
          "[system][data_port]") {
    data_node n;
    auto f = test::connect(n.node.endpoint());
    auto seg = create_stream(*f, 2);
    REQUIRE(seg.size() == 2);

    data_conn c(n.data_port);
    REQUIRE(c.connected());
    c.hello();
    auto h = c.next();
    REQUIRE(h);
    CHECK(std::get<frames::hello>(*h).version == frames::protocol_version);

    writer_id w{1, 2};
    c.append(1, block(seg[0], w, 0, {"a", "b"}));
    c.append(2, block(seg[0], w, 2, {"c"}));
    c.append(3, block(seg[1], w, 0, {"d"}));
    auto answers = c.answers(3);
    CHECK(ok(answers, 1).last_event_number == 1);
    CHECK(ok(answers, 1).appended_events == 2);
    CHECK(ok(answers, 1).end_offset == 2 * (event_header_bytes + 1));
    CHECK(ok(answers, 2).last_event_number == 2);
    CHECK(ok(answers, 2).appended_events == 1);
    CHECK(ok(answers, 2).end_offset == 3 * (event_header_bytes + 1));
    CHECK(ok(answers, 3).appended_events == 1);

    // A resend is answered without storing again; refusals come per request and the connection
    // goes on.
    c.append(4, block(seg[0], w, 0, {"a", "b"}));
    c.append(5, block(seg[0], w, 5, {"gap"}));
    c.append(6, block(segment_key{seg[0].stream, segment_id{999}}, w, 0, {"nowhere"}));
    auto broken = block(seg[1], w, 1, {"e"});
    broken.data += "z";  // a byte after its one event
    c.append(7, broken);
    auto miscounted = block(seg[1], w, 1, {"e"});
    miscounted.event_count = 2;  // numbers 1..1 with a count of 2
    c.append(9, miscounted);
    c.append(8, block(seg[1], w, 1, {"e"}));
    answers = c.answers(6);
    CHECK(ok(answers, 4).appended_events == 0);
    CHECK(ok(answers, 4).last_event_number == 1);
    CHECK(refused_code(answers, 5) == errc::event_number_gap);
    CHECK(refused_code(answers, 6) == errc::segment_not_found);
    CHECK(refused_code(answers, 7) == errc::malformed_message);
    CHECK(refused_code(answers, 9) == errc::invalid_argument);
    CHECK(ok(answers, 8).appended_events == 1);

    std::vector<std::string> want{"a", "b", "c", "d", "e"};
    CHECK(read_stream(*f) == want);
    f.reset();
    n.node.kill_hard();
    n.start();
    f = test::connect(n.node.endpoint());
    CHECK(read_stream(*f) == want);
}

TEST_CASE("a data connection that breaks the protocol is told why and closed; others go on",
          "[system][data_port]") {
    data_node n;
    auto f = test::connect(n.node.endpoint());
    auto seg = create_stream(*f, 1);
    writer_id w{3, 4};

    auto refusal_then_close = [](data_conn& c, const std::string& says) {
        auto r = c.next();
        REQUIRE(r);
        const auto& refused = std::get<frames::refused>(*r);
        CHECK(refused.request == 0);
        CHECK(refused.code == errc::malformed_message);
        CHECK(refused.text.find(says) != std::string::npos);
        CHECK(c.closed_by_node());
    };
    {
        data_conn c(n.data_port);
        c.append(1, block(seg[0], w, 0, {"x"}));  // before hello
        refusal_then_close(c, "the first frame must be a hello");
    }
    {
        data_conn c(n.data_port);
        c.hello(2);
        refusal_then_close(c, "protocol version 2, this node speaks 1");
    }
    {
        data_conn c(n.data_port);
        c.hello();
        REQUIRE(c.next());
        c.send(std::string("\xff\xff\xff\x7f\x02", 5));  // a frame of 2 GiB
        refusal_then_close(c, "at most");
    }
    {
        data_conn c(n.data_port);
        c.hello();
        REQUIRE(c.next());
        std::string hello_again;
        frames::encode_hello(hello_again, 1);
        c.send(hello_again);
        refusal_then_close(c, "only appends after its hello");
    }
    {
        // Gone with appends in flight: they are committed, their answers dropped.
        data_conn c(n.data_port);
        c.hello();
        REQUIRE(c.next());
        for (int i = 0; i < 100; ++i) {
            c.append(static_cast<uint64_t>(i + 1), block(seg[0], w, i, {"y"}));
        }
    }
    data_conn c(n.data_port);
    c.hello();
    REQUIRE(c.next());
    writer_id w2{5, 6};
    c.append(1, block(seg[0], w2, 0, {"z"}));
    auto answers = c.answers(1);
    CHECK(ok(answers, 1).appended_events == 1);
    CHECK(n.node.running());
}

TEST_CASE("a client that does not read its answers is not read either, and loses none of them",
          "[system][data_port]") {
    data_node n;
    auto f = test::connect(n.node.endpoint());
    auto seg = create_stream(*f, 1);
    data_conn c(n.data_port);
    c.hello();
    REQUIRE(c.next());

    // Appends of one size (each refused: the segment does not exist), sent without reading.
    // Without backpressure the node reads them all and keeps their answers (up to the cap
    // below); with it, it stops once about a MiB of answers waits in it, and then only the
    // kernel's socket buffers fill: both directions' send and receive buffers, at most
    // tcp_rmem's and tcp_wmem's largest sizes each (32 and 4 MiB here), the answers' share
    // standing for more appends (an append is larger than its refusal), and a turn's read.
    writer_id w{7, 8};
    auto nowhere = block(segment_key{seg[0].stream, segment_id{999}}, w, 0, {"nowhere"});
    std::string one;
    frames::encode_append(one, 1, nowhere);
    std::string batch;
    for (int i = 0; i < 1000; ++i) {
        batch += one;
    }
    auto largest = [](const char* path) {
        std::ifstream in(path);
        size_t min = 0, def = 0, max = 0;
        in >> min >> def >> max;
        REQUIRE(max > 0);
        return max;
    };
    size_t kernel = largest("/proc/sys/net/ipv4/tcp_rmem") + largest("/proc/sys/net/ipv4/tcp_wmem");
    size_t bound = 4 * kernel + (32u << 20);
    size_t cap = 2 * bound;
    size_t sent = 0;
    auto last_progress = std::chrono::steady_clock::now();
    while (sent < cap && std::chrono::steady_clock::now() - last_progress < milliseconds(1500)) {
        auto took = c.send_some(std::string_view(batch).substr(sent % batch.size()));
        if (took > 0) {
            sent += took;
            last_progress = std::chrono::steady_clock::now();
        } else {
            pollfd p{c.fd(), POLLOUT, 0};
            ::poll(&p, 1, 100);
        }
    }
    INFO("sent " << sent << " bytes without reading an answer; bound " << bound);
    CHECK(sent < bound);

    // Reading again, the rest goes through and every append is answered once.
    size_t answered = 0;
    while (sent % one.size() != 0) {
        REQUIRE(c.count_frames(answered));
        sent += c.send_some(
            std::string_view(batch).substr(sent % batch.size(), one.size() - sent % one.size()));
    }
    size_t want = sent / one.size();
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (answered < want && std::chrono::steady_clock::now() < until) {
        REQUIRE(c.count_frames(answered));
        pollfd p{c.fd(), POLLIN, 0};
        ::poll(&p, 1, 100);
    }
    CHECK(answered == want);
    CHECK(n.node.running());
}

namespace {

// The node's open connections on its data port, from its metrics (-1: no such series).
int data_connections(uint16_t metrics_port) {
    return static_cast<int>(test::metric(metrics_port, "pravaha_connections{port=\"data\"}"));
}

void write_range(client::client_factory& f, int from, int to) {
    auto writer = f.create_writer("s", "t");
    REQUIRE(writer);
    for (int i = from; i < to; ++i) {
        REQUIRE_FALSE((*writer)->write("k" + std::to_string(i % 7), "e" + std::to_string(i)));
    }
    REQUIRE_FALSE((*writer)->flush());
}

}  // namespace

TEST_CASE("the client library appends over the node's data port by default, across a kill -9",
          "[system][data_port]") {
    test::temp_dir dir;
    auto metrics_port = test::free_port();
    test::node_process node(dir.path() + "/node", test::free_port());
    node.add_args({"--metrics-port", std::to_string(metrics_port)});  // the data port: default
    REQUIRE(node.start());
    auto f = test::connect(node.endpoint());
    create_stream(*f, 3);
    write_range(*f, 0, 200);
    CHECK(data_connections(metrics_port) == 1);

    // Killed and restarted: the writer's link breaks, its events in flight are resent (over a
    // new data connection) and stored once.
    auto writer = f->create_writer("s", "t");
    REQUIRE(writer);
    for (int i = 200; i < 300; ++i) {
        REQUIRE_FALSE((*writer)->write("k" + std::to_string(i % 7), "e" + std::to_string(i)));
    }
    node.kill_hard();
    REQUIRE(node.start());
    for (int i = 300; i < 400; ++i) {
        REQUIRE_FALSE((*writer)->write("k" + std::to_string(i % 7), "e" + std::to_string(i)));
    }
    REQUIRE_FALSE((*writer)->flush());
    CHECK(
        test::eventually([&] { return data_connections(metrics_port) == 1; }, milliseconds(10000)));

    // A client that keeps to the CAF connection opens none.
    client::client_config cfg;
    cfg.endpoint = node.endpoint();
    cfg.data_port = false;
    auto caf_only = client::client_factory::connect(cfg);
    REQUIRE(caf_only);
    write_range(**caf_only, 400, 450);
    CHECK(data_connections(metrics_port) == 1);

    std::vector<std::string> want;
    for (int i = 0; i < 450; ++i) {
        want.push_back("e" + std::to_string(i));
    }
    std::sort(want.begin(), want.end());
    CHECK(read_stream(*f) == want);
}

TEST_CASE(
    "events written from acknowledgement callbacks travel while that acknowledgement is "
    "still being answered",
    "[system][data_port]") {
    // A pipelined producer writes its next events from the callbacks of the previous ones. One
    // group commit answers a whole block (here 3,000 events) at once; if what the callbacks write
    // were sent only after the last callback of the answer, the node would sit idle while they
    // run and store them all as one group again (a convoy: the pipelined writer ran at half the
    // rate). The last callback of the big block waits for the node to have stored at least one
    // of the events the earlier callbacks wrote.
    test::temp_dir dir;
    auto metrics_port = test::free_port();
    test::node_process node(dir.path() + "/node", test::free_port());
    node.add_args({"--metrics-port", std::to_string(metrics_port)});
    REQUIRE(node.start());
    auto f = test::connect(node.endpoint());
    create_stream(*f, 1);
    auto writer = f->create_writer("s", "t");
    REQUIRE(writer);
    auto& w = **writer;

    constexpr int block = 3000;
    std::promise<void> first_called;
    std::atomic<bool> refills_stored{false};
    std::atomic<int> failed{0};
    // Event 0's callback holds the writer's thread while events 1..block are written, so that
    // they leave as one block with one answer.
    REQUIRE_FALSE(w.write("k", "e0", [&](const caf::error& err) {
        failed += err ? 1 : 0;
        first_called.set_value();
        std::this_thread::sleep_for(milliseconds(300));
    }));
    first_called.get_future().wait();
    for (int i = 1; i <= block; ++i) {
        REQUIRE_FALSE(w.write("k", "e" + std::to_string(i), [&, i](const caf::error& err) {
            failed += err ? 1 : 0;
            if (err) {
                return;
            }
            // The refill: written on the writer's own thread, from its callback.
            if (w.write("k", "r" + std::to_string(i))) {
                ++failed;
            }
            if (i == block) {
                refills_stored = test::eventually(
                    [&] {
                        return test::metric(metrics_port, "pravaha_appended_events_total{") >
                               block + 1;
                    },
                    milliseconds(5000));
            }
        }));
    }
    REQUIRE_FALSE(w.flush());
    CHECK(failed == 0);
    CHECK(refills_stored);

    // Each event once, in the order written: e0..e3000 and then each refill in turn.
    std::vector<std::string> want;
    for (int i = 0; i <= block; ++i) {
        want.push_back("e" + std::to_string(i));
    }
    for (int i = 1; i <= block; ++i) {
        want.push_back("r" + std::to_string(i));
    }
    CHECK(read_in_order(*f) == want);
}
