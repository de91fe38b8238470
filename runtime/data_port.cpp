#include "runtime/data_port.hpp"

#include "runtime/transport/listener.hpp"
#include "runtime/transport/out_buffer.hpp"
#include "schema/data_frames.hpp"
#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"

#include <caf/send.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>

namespace pravaha::runtime {

namespace {

constexpr uint64_t stop_id = 0;
constexpr uint64_t listen_id = 1;
constexpr size_t read_chunk = 64 * 1024;
// Read at most this much from one connection per turn, so that the others get theirs (the
// socket stays readable, epoll reports it again).
constexpr size_t read_max_per_turn = 4u << 20;
// A read buffer this large is given back once it is empty (after a large block).
constexpr size_t read_keep_bytes = 1u << 20;
constexpr int events_per_turn = 64;
// Answers waiting for a client that does not read them: beyond this the loop stops reading the
// connection (its appends wait in the sockets, the client's sends block) until they are down to
// half. A client's window keeps its answers far below it (a 1 MiB write takes about 30,000).
constexpr size_t out_pause_bytes = 1u << 20;
constexpr auto accept_pause = std::chrono::milliseconds(100);

std::string errno_text(int err) {
    return std::error_code(err, std::generic_category()).message();
}

// One client connection: its socket, what goes out (written by containers, sent by whichever
// thread finds the socket writable), and what came in (the loop's only). While more than
// out_pause_bytes of answers wait, the connection is not read (backpressure on a client that
// does not read its answers).
class connection final : public actors::data_sink {
public:
    connection(int fd, int epoll_fd, uint64_t id) : fd_(fd), epoll_fd_(epoll_fd), id_(id) {}
    ~connection() override { close_now(); }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    void queue(std::string_view frame) override {
        std::lock_guard<std::mutex> g(mutex_);
        if (fd_ >= 0) {
            out_.append(frame);
            if (!paused_ && waiting() > out_pause_bytes) {
                paused_ = true;
                watch();
            }
        }
    }

    void flush() override {
        std::lock_guard<std::mutex> g(mutex_);
        if (fd_ < 0 || waiting() == 0 || want_out_) {
            return;  // while waiting to be writable, the loop sends
        }
        send_some();
        if (waiting() > 0 && fd_ >= 0) {
            want_out_ = true;
            watch();
        }
    }

    // The loop: the socket is writable again.
    void on_writable() {
        std::lock_guard<std::mutex> g(mutex_);
        if (fd_ < 0) {
            return;
        }
        send_some();
        if (waiting() == 0 && want_out_ && fd_ >= 0) {
            want_out_ = false;
            watch();
        }
    }

    // The loop: whether it may read (not while too many answers wait).
    bool readable() {
        std::lock_guard<std::mutex> g(mutex_);
        return !paused_;
    }

    // Closes the socket; later answers are dropped. Under the mutex, so that no container
    // thread sends to a descriptor number the process has handed out again.
    void close_now() {
        std::lock_guard<std::mutex> g(mutex_);
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
            out_.clear();
        }
    }

    int fd() const { return fd_; }  // the loop's (only it closes)
    uint64_t id() const { return id_; }

    // The loop's own: bytes read and not yet taken as frames, and whether hello came.
    std::string in;
    size_t used = 0;
    bool greeted = false;

private:
    // Under mutex_: what the loop waits for, from paused_ and want_out_.
    void watch() {
        if (fd_ < 0) {
            return;
        }
        epoll_event ev{};
        ev.events = (paused_ ? 0U : static_cast<uint32_t>(EPOLLIN)) |
                    (want_out_ ? static_cast<uint32_t>(EPOLLOUT) : 0U);
        ev.data.u64 = id_;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd_, &ev);
    }

    // Under mutex_: sends what the socket takes.
    void send_some() {
        if (!out_.send_to(fd_)) {
            out_.clear();  // the peer is gone: the loop sees it on the socket and closes it
        }
        if (paused_ && waiting() <= out_pause_bytes / 2) {
            paused_ = false;
            watch();
        }
    }

    size_t waiting() const { return out_.waiting(); }

    std::mutex mutex_;
    int fd_;
    const int epoll_fd_;
    const uint64_t id_;
    transport::out_buffer out_;
    bool want_out_ = false;
    bool paused_ = false;
};

}  // namespace

struct data_port::impl {
    data_port_config cfg;
    int listen_fd = -1;
    int epoll_fd = -1;
    int stop_fd = -1;
    uint16_t port = 0;
    std::thread thread;
    std::unordered_map<uint64_t, std::shared_ptr<connection>> conns;
    uint64_t next_id = listen_id + 1;
    bool accept_paused = false;
    std::chrono::steady_clock::time_point accept_resume;
    std::vector<std::vector<actors::data_append>> out;  // per container, this turn's appends

    ~impl() {
        close_all();
        for (int fd : {epoll_fd, stop_fd}) {
            if (fd >= 0) {
                ::close(fd);
            }
        }
    }

    // Closes the listening socket and every connection (clients see them end).
    void close_all() {
        for (auto& [id, c] : conns) {
            c->close_now();
            cfg.listener->closed();
        }
        conns.clear();
        if (listen_fd >= 0) {
            ::close(listen_fd);
            listen_fd = -1;
        }
    }

    void watch_listen(bool on) {
        epoll_event ev{};
        ev.events = on ? static_cast<uint32_t>(EPOLLIN) : 0U;
        ev.data.u64 = listen_id;
        ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, listen_fd, &ev);
    }

    void run() {
        pthread_setname_np(pthread_self(), "pravaha.data");
        out.resize(cfg.containers.size());
        epoll_event evs[events_per_turn];
        for (;;) {
            int n = ::epoll_wait(epoll_fd, evs, events_per_turn,
                                 accept_paused ? static_cast<int>(accept_pause.count()) : -1);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                module_log("transport")
                    ->error(
                        "data port: epoll_wait failed: {}; its connections close and it takes no "
                        "more "
                        "(clients append over the node endpoint)",
                        errno_text(errno));
                close_all();
                return;
            }
            if (accept_paused && std::chrono::steady_clock::now() >= accept_resume) {
                accept_paused = false;
                watch_listen(true);
            }
            for (int i = 0; i < n; ++i) {
                auto id = evs[i].data.u64;
                if (id == stop_id) {
                    return;
                }
                if (id == listen_id) {
                    continue;  // after the connections' events (a new one may reuse an fd)
                }
                auto it = conns.find(id);
                if (it == conns.end()) {
                    continue;  // closed earlier in this turn
                }
                auto c = it->second;
                if ((evs[i].events & EPOLLOUT) != 0) {
                    c->on_writable();
                }
                if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 &&
                    (c->readable() || (evs[i].events & (EPOLLHUP | EPOLLERR)) != 0)) {
                    read_from(c);
                }
            }
            for (int i = 0; i < n; ++i) {
                if (evs[i].data.u64 == listen_id) {
                    accept_all();
                }
            }
            hand_over();
        }
    }

    // One message per container with everything that arrived for it this turn.
    void hand_over() {
        for (size_t i = 0; i < out.size(); ++i) {
            if (!out[i].empty()) {
                caf::anon_send(cfg.containers[i], actors::data_append_atom::value,
                               std::move(out[i]));
                out[i] = {};
            }
        }
    }

    void accept_all() {
        for (int i = 0; i < 64; ++i) {
            auto r = cfg.listener->accept_next(listen_fd);
            switch (r.outcome) {
                case transport::accept_outcome::accepted:
                    add(r.fd);
                    break;
                case transport::accept_outcome::refused: {
                    std::string f;
                    frames::encode_refused(
                        f, 0,
                        caf::make_error(errc::unavailable,
                                        "the node has as many connections as it allows "
                                        "(--max-connections)"));
                    ignore_result(::send(r.fd, f.data(), f.size(), MSG_NOSIGNAL | MSG_DONTWAIT));
                    ::close(r.fd);
                    break;
                }
                case transport::accept_outcome::shed:
                    break;
                case transport::accept_outcome::empty:
                    return;
                case transport::accept_outcome::failed:
                    accept_paused = true;
                    accept_resume = std::chrono::steady_clock::now() + accept_pause;
                    watch_listen(false);
                    return;
            }
        }
    }

    static void ignore_result(ssize_t) {}

    void add(int fd) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        auto id = next_id++;
        auto c = std::make_shared<connection>(fd, epoll_fd, id);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = id;
        if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            module_log("transport")
                ->warn("data port: cannot watch a connection: {}", errno_text(errno));
            c->close_now();
            cfg.listener->closed();
            return;
        }
        conns.emplace(id, std::move(c));
    }

    void close_conn(const std::shared_ptr<connection>& c) {
        if (conns.erase(c->id()) == 0) {
            return;
        }
        c->close_now();
        cfg.listener->closed();
    }

    // A connection that broke the protocol: told why (best effort), then closed.
    void refuse(const std::shared_ptr<connection>& c, const caf::error& why) {
        module_log("transport")->info("data port: closing a connection: {}", render_error(why));
        std::string f;
        frames::encode_refused(f, 0, why);
        c->queue(f);
        c->flush();
        close_conn(c);
    }

    void read_from(const std::shared_ptr<connection>& c) {
        size_t total = 0;
        bool eof = false;
        for (;;) {
            if (c->in.size() - c->used < read_chunk) {
                c->in.resize(std::max(c->in.size() * 2, c->used + read_chunk));
            }
            size_t room = c->in.size() - c->used;
            auto n = ::recv(c->fd(), c->in.data() + c->used, room, 0);
            if (n > 0) {
                c->used += static_cast<size_t>(n);
                total += static_cast<size_t>(n);
                if (static_cast<size_t>(n) < room || total >= read_max_per_turn) {
                    break;  // drained for now (epoll reports more)
                }
                continue;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                break;
            }
            eof = true;  // closed by the peer, or reset
            break;
        }
        take_frames(c);
        if (eof && conns.count(c->id()) != 0) {
            close_conn(c);
        }
    }

    void take_frames(const std::shared_ptr<connection>& c) {
        size_t off = 0;
        while (conns.count(c->id()) != 0) {
            size_t size = 0;
            auto f = frames::decode(std::string_view(c->in.data() + off, c->used - off), size);
            if (!f) {
                refuse(c, f.error());
                return;
            }
            if (!*f) {
                break;
            }
            off += size;
            take(c, std::move(**f));
        }
        if (off > 0 && conns.count(c->id()) != 0) {
            std::memmove(c->in.data(), c->in.data() + off, c->used - off);
            c->used -= off;
        }
        if (c->used == 0 && c->in.size() > read_keep_bytes) {
            c->in = std::string();
        }
    }

    void take(const std::shared_ptr<connection>& c, frames::frame f) {
        if (!c->greeted) {
            const auto* h = std::get_if<frames::hello>(&f);
            if (h == nullptr || h->version != frames::protocol_version) {
                refuse(c, caf::make_error(errc::malformed_message,
                                          h == nullptr
                                              ? std::string("the first frame must be a hello")
                                              : "protocol version " + std::to_string(h->version) +
                                                    ", this node speaks " +
                                                    std::to_string(frames::protocol_version)));
                return;
            }
            c->greeted = true;
            std::string reply;
            frames::encode_hello(reply, frames::protocol_version);
            c->queue(reply);
            c->flush();
            return;
        }
        auto* a = std::get_if<frames::append>(&f);
        if (a == nullptr) {
            refuse(c, caf::make_error(errc::malformed_message,
                                      "a client sends only appends after its hello"));
            return;
        }
        auto index = container_of(a->block.key, static_cast<uint32_t>(out.size()));
        out[index].push_back(
            actors::data_append{std::move(a->block), actors::data_reply{c, a->request}});
    }
};

data_port::data_port(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

data_port::~data_port() {
    uint64_t one = 1;
    if (::write(impl_->stop_fd, &one, sizeof(one)) < 0) {
        module_log("transport")->error("data port: cannot stop its thread: {}", errno_text(errno));
    }
    if (impl_->thread.joinable()) {
        impl_->thread.join();
    }
}

uint16_t data_port::port() const {
    return impl_->port;
}

caf::expected<std::unique_ptr<data_port>> data_port::start(data_port_config cfg) {
    if (cfg.containers.empty() || !cfg.listener) {
        return caf::make_error(errc::invalid_argument, "data port: no containers or no listener");
    }
    auto p = std::make_unique<impl>();
    p->cfg = std::move(cfg);
    auto fd = transport::listen_on("data port", p->cfg.bind, p->cfg.port);
    if (!fd) {
        return std::move(fd.error());
    }
    p->listen_fd = *fd;
    p->port = transport::local_port(*fd);
    p->cfg.listener->set_port(p->port);
    p->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    p->stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->epoll_fd < 0 || p->stop_fd < 0) {
        return caf::make_error(errc::unavailable,
                               "data port: cannot create its event loop: " + errno_text(errno));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = stop_id;
    ::epoll_ctl(p->epoll_fd, EPOLL_CTL_ADD, p->stop_fd, &ev);
    ev.data.u64 = listen_id;
    ::epoll_ctl(p->epoll_fd, EPOLL_CTL_ADD, p->listen_fd, &ev);
    auto* raw = p.get();
    std::unique_ptr<data_port> port(new data_port(std::move(p)));
    raw->thread = std::thread([raw] { raw->run(); });
    return port;
}

}  // namespace pravaha::runtime
