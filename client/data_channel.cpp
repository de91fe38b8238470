#include "client/data_channel.hpp"

#include "runtime/transport/out_buffer.hpp"
#include "runtime/transport/transport.hpp"
#include "schema/data_frames.hpp"
#include "schema/errc.hpp"
#include "schema/logging.hpp"

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

namespace pravaha::client::detail {

namespace {

/// One answer of the data port, for the store that sent the request.
struct data_answer {
    uint64_t request = 0;
    caf::error error;
    frames::appended ack;
};

}  // namespace

}  // namespace pravaha::client::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<pravaha::client::detail::data_answer>)

namespace pravaha::client::detail {

namespace {

/// `(data_answers_atom, answers)`: the link's thread hands a store the answers it read for it.
using data_answers_atom = caf::atom_constant<caf::atom("danswers")>;
/// `(data_lost_atom, error)`: the link broke.
using data_lost_atom = caf::atom_constant<caf::atom("dlinklost")>;
/// `(data_flush_atom)`: a store sends the appends it queued since its last flush.
using data_flush_atom = caf::atom_constant<caf::atom("dflush")>;

caf::error sys_error(const std::string& what) {
    return caf::make_error(errc::unavailable,
                           what + ": " + std::error_code(errno, std::generic_category()).message());
}

// Waits until `fd` is ready for `events` or `until` passes.
bool wait_for(int fd, short events, std::chrono::steady_clock::time_point until) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        until - std::chrono::steady_clock::now())
                        .count();
        if (left <= 0) {
            return false;
        }
        pollfd p{fd, events, 0};
        int rc = ::poll(&p, 1, static_cast<int>(left));
        if (rc > 0) {
            return true;
        }
        if (rc < 0 && errno != EINTR) {
            return false;
        }
    }
}

}  // namespace

class data_link {
public:
    explicit data_link(int fd) : fd_(fd), wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
        thread_ = std::thread([this] { run(); });
    }

    ~data_link() {
        stop_.store(true);
        wake();
        if (thread_.joinable() && thread_.get_id() == std::this_thread::get_id()) {
            thread_.detach();  // its last user was on it: it returns at once (stop_)
        } else if (thread_.joinable()) {
            thread_.join();
        }
        ::close(fd_);
        ::close(wake_fd_);
    }

    data_link(const data_link&) = delete;
    data_link& operator=(const data_link&) = delete;

    bool alive() const {
        std::lock_guard<std::mutex> g(mutex_);
        return !dead_;
    }

    // A store told when the link breaks; false if it broke already.
    bool attach(const caf::actor& store) {
        std::lock_guard<std::mutex> g(mutex_);
        if (dead_) {
            return false;
        }
        stores_.emplace(store.address(), store);
        return true;
    }

    void detach(const caf::actor_addr& store) {
        std::lock_guard<std::mutex> g(mutex_);
        stores_.erase(store);
    }

    // Queues an append for `store` (sent by the next flush): its request number, or 0 once the
    // link is broken.
    uint64_t queue(const caf::actor& store, const append_block& b) {
        std::lock_guard<std::mutex> g(mutex_);
        if (dead_) {
            return 0;
        }
        auto id = next_++;
        pending_.emplace(id, store);
        frames::encode_append(out_.tail(), id, b);
        return id;
    }

    // Sends what was queued: now as far as the socket takes it, the rest from the link's thread.
    void flush() {
        std::lock_guard<std::mutex> g(mutex_);
        if (dead_ || want_out_) {
            return;
        }
        send_some();
        if (out_.waiting() > 0) {
            want_out_ = true;
            wake();
        }
    }

private:
    void wake() {
        uint64_t one = 1;
        if (::write(wake_fd_, &one, sizeof(one)) < 0) {
            ignore_error(caf::make_error(errc::unavailable), "the counter is far from full");
        }
    }

    // Under mutex_. A broken socket keeps what waits: the reading side finds the break and
    // fails every pending append.
    void send_some() { out_.send_to(fd_); }

    void run() {
        pthread_setname_np(pthread_self(), "pravaha.dlink");
        for (;;) {
            bool out = false;
            {
                std::lock_guard<std::mutex> g(mutex_);
                out = want_out_;
            }
            pollfd fds[2] = {{fd_, static_cast<short>(POLLIN | (out ? POLLOUT : 0)), 0},
                             {wake_fd_, POLLIN, 0}};
            if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
                fail(sys_error("data port: poll"));
                return;
            }
            if (stop_.load()) {
                return;
            }
            if ((fds[1].revents & POLLIN) != 0) {
                uint64_t n = 0;
                if (::read(wake_fd_, &n, sizeof(n)) < 0) {
                    ignore_error(caf::make_error(errc::unavailable), "woken by someone else");
                }
            }
            if ((fds[0].revents & POLLOUT) != 0) {
                std::lock_guard<std::mutex> g(mutex_);
                send_some();
                want_out_ = out_.waiting() > 0;
            }
            if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !read_answers()) {
                return;
            }
        }
    }

    // Reads what arrived and hands each store its answers; false once the link broke.
    bool read_answers() {
        if (in_.size() - used_ < 64 * 1024) {
            in_.resize(std::max(in_.size() * 2, used_ + 64 * 1024));
        }
        auto n = ::recv(fd_, in_.data() + used_, in_.size() - used_, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            fail(n == 0 ? caf::make_error(errc::unavailable, "the node closed the data connection")
                        : sys_error("data port: reading"));
            return false;
        }
        if (n < 0) {
            return true;
        }
        used_ += static_cast<size_t>(n);
        std::map<caf::actor_addr, std::pair<caf::actor, std::vector<data_answer>>> out;
        size_t off = 0;
        for (;;) {
            size_t size = 0;
            auto f = frames::decode(std::string_view(in_.data() + off, used_ - off), size);
            if (!f) {
                fail(f.error());
                return false;
            }
            if (!*f) {
                break;
            }
            off += size;
            data_answer a;
            if (auto* ok = std::get_if<frames::appended>(&**f)) {
                a.request = ok->request;
                a.ack = *ok;
            } else if (auto* no = std::get_if<frames::refused>(&**f)) {
                a.request = no->request;
                a.error = frames::to_error(*no);
                if (a.request == 0) {
                    fail(a.error);  // the node closes the connection after this
                    return false;
                }
            } else {
                fail(caf::make_error(errc::malformed_message,
                                     "data port: an unexpected frame from the node"));
                return false;
            }
            caf::actor store;
            {
                std::lock_guard<std::mutex> g(mutex_);
                auto it = pending_.find(a.request);
                if (it == pending_.end()) {
                    continue;  // its store ended meanwhile
                }
                store = std::move(it->second);
                pending_.erase(it);
            }
            auto& slot = out[store.address()];
            slot.first = store;
            slot.second.push_back(std::move(a));
        }
        if (off > 0) {
            std::memmove(in_.data(), in_.data() + off, used_ - off);
            used_ -= off;
        }
        for (auto& [addr, slot] : out) {
            caf::anon_send(slot.first, data_answers_atom::value, std::move(slot.second));
        }
        return true;
    }

    void fail(const caf::error& why) {
        std::map<caf::actor_addr, caf::actor> told;
        {
            std::lock_guard<std::mutex> g(mutex_);
            if (dead_) {
                return;
            }
            dead_ = true;
            pending_.clear();
            told.swap(stores_);
        }
        module_log("client")->debug("data link broken: {}", render_error(why));
        for (auto& [addr, store] : told) {
            caf::anon_send(store, data_lost_atom::value, why);
        }
    }

    const int fd_;
    const int wake_fd_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    mutable std::mutex mutex_;
    bool dead_ = false;                                 // under mutex_
    transport::out_buffer out_;                         // under mutex_
    bool want_out_ = false;                             // under mutex_
    uint64_t next_ = 1;                                 // under mutex_
    std::unordered_map<uint64_t, caf::actor> pending_;  // under mutex_: request -> store
    std::map<caf::actor_addr, caf::actor> stores_;      // under mutex_
    std::string in_;                                    // the thread's
    size_t used_ = 0;                                   // the thread's
};

namespace {

// Connects to the data port and says hello, within `timeout` (connect_data_port_async runs it
// on a thread of its own).
caf::expected<std::shared_ptr<data_link>> connect_data_port(const std::string& host,
                                                            uint16_t port,
                                                            std::chrono::milliseconds timeout,
                                                            std::chrono::milliseconds stalled) {
    auto until = std::chrono::steady_clock::now() + timeout;
    auto where = host + ":" + std::to_string(port);
    auto conn = transport::tcp_connect(host, port, timeout);
    if (conn.fd < 0) {
        return caf::make_error(errc::unavailable,
                               "cannot connect to the data port " + where + ": " + conn.why);
    }
    int fd = conn.fd;
    auto user_timeout = static_cast<unsigned>(stalled.count());
    ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
    std::string hello;
    frames::encode_hello(hello, frames::protocol_version);
    std::string in;
    caf::error err;
    if (::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(hello.size())) {
        err = sys_error("data port " + where + ": sending hello");
    }
    while (!err) {
        size_t size = 0;
        auto f = frames::decode(in, size);
        if (!f) {
            err = std::move(f.error());
        } else if (f->has_value()) {
            if (auto* r = std::get_if<frames::refused>(&**f)) {
                err = frames::to_error(*r);
            } else if (std::get_if<frames::hello>(&**f) == nullptr) {
                err = caf::make_error(errc::malformed_message,
                                      "data port " + where + ": no hello from the node");
            }
            break;
        } else if (!wait_for(fd, POLLIN, until)) {
            err = caf::make_error(errc::unavailable, "data port " + where + ": no hello in time");
        } else {
            char buf[256];
            auto n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0) {
                in.append(buf, static_cast<size_t>(n));
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                err = caf::make_error(errc::unavailable,
                                      "data port " + where + ": closed before hello");
            }
        }
    }
    if (err) {
        ::close(fd);
        return err;
    }
    return std::make_shared<data_link>(fd);
}

// connect_data_port_async's actor. Its arguments go through spawn, not a lambda's captures:
// CAF 0.17 dereferences a null argument tuple when a spawned function takes none (UBSan).
void data_connector(caf::event_based_actor* self,
                    caf::actor reply_to,
                    const std::string& where,
                    const std::string& host,
                    uint16_t port,
                    std::chrono::milliseconds timeout,
                    std::chrono::milliseconds stalled) {
    auto made = connect_data_port(host, port, timeout, stalled);
    std::shared_ptr<data_link> link;
    caf::error err;
    if (made) {
        link = std::move(*made);
    } else {
        err = std::move(made.error());
    }
    caf::anon_send(reply_to, data_linked_atom::value, where, std::move(link), std::move(err));
    self->quit();
}

}  // namespace

void connect_data_port_async(caf::actor_system& sys,
                             caf::actor reply_to,
                             std::string where,
                             std::string host,
                             uint16_t port,
                             std::chrono::milliseconds timeout,
                             std::chrono::milliseconds stalled) {
    sys.spawn<caf::detached>(data_connector, std::move(reply_to), std::move(where), std::move(host),
                             port, timeout, stalled);
}

bool data_link_alive(const data_link& link) {
    return link.alive();
}

namespace {

struct pending_append {
    caf::typed_response_promise<append_ack> promise;
    segment_key key;
    writer_id writer;
};

struct data_store_state {
    std::shared_ptr<data_link> link;
    transport::segment_store_actor store;
    caf::actor_addr self;
    std::unordered_map<uint64_t, pending_append> pending;
    bool flush_due = false;  // a data_flush_atom to self is in the mailbox
    ~data_store_state() {
        if (link) {
            link->detach(self);
        }
    }
    static inline const char* name = "data_store";
};

using data_store_ptr = caf::stateful_actor<data_store_state>*;

// Answers every append in flight with `err` (their outcome is unknown: the writer resends).
void fail_pending(data_store_ptr self, const caf::error& err) {
    for (auto& [id, p] : self->state.pending) {
        p.promise.deliver(err);
    }
    self->state.pending.clear();
}

caf::behavior data_store(data_store_ptr self,
                         std::shared_ptr<data_link> link,
                         transport::segment_store_actor store) {
    auto& st = self->state;
    st.link = std::move(link);
    st.store = store;
    st.self = self->address();
    self->monitor(store);
    self->set_down_handler([self](caf::down_msg& dm) {
        fail_pending(self, caf::make_error(errc::unavailable, "the container's store is gone"));
        self->quit(dm.reason);
    });
    self->set_exit_handler([self](caf::exit_msg& em) {
        fail_pending(self, caf::make_error(errc::unavailable, "the data store was replaced"));
        self->quit(em.reason);
    });
    if (!st.link->attach(caf::actor_cast<caf::actor>(self))) {
        self->quit(caf::make_error(errc::unavailable, "the data connection broke"));
    }
    return {
        [self](append_atom a, const append_block& b) -> caf::result<append_ack> {
            auto& s = self->state;
            if (b.data.size() > append_block_bytes_max) {
                // Larger than a frame may be (a raised block_bytes_max): the store refuses or
                // takes it over CAF, answering this request alone, instead of a node closing
                // the link of every store on it.
                return self->delegate(s.store, a, b);
            }
            auto rp = self->make_response_promise<append_ack>();
            auto id = s.link->queue(caf::actor_cast<caf::actor>(self), b);
            if (id == 0) {
                rp.deliver(caf::make_error(errc::unavailable, "the data connection broke"));
                return rp;
            }
            s.pending.emplace(id, pending_append{rp, b.key, b.writer});
            // One send for the appends already in the mailbox: the flush queues behind them
            // (one syscall, and one wake-up of the node's data thread, per burst, not per event).
            if (!s.flush_due) {
                s.flush_due = true;
                self->send(self, data_flush_atom::value);
            }
            return rp;
        },
        [self](data_flush_atom) {
            self->state.flush_due = false;
            self->state.link->flush();
        },
        [self](read_atom a, const read_request& r) {
            return self->delegate(self->state.store, a, r);
        },
        [self](setup_writer_atom a, segment_key& k, writer_id& w, uint32_t epoch) {
            return self->delegate(self->state.store, a, k, w, epoch);
        },
        [self](data_answers_atom, std::vector<data_answer>& answers) {
            auto& s = self->state;
            for (auto& a : answers) {
                auto it = s.pending.find(a.request);
                if (it == s.pending.end()) {
                    continue;
                }
                if (a.error) {
                    it->second.promise.deliver(std::move(a.error));
                } else {
                    append_ack ack;
                    ack.key = it->second.key;
                    ack.writer = it->second.writer;
                    ack.last_event_number = a.ack.last_event_number;
                    ack.end_offset = a.ack.end_offset;
                    ack.appended_events = a.ack.appended_events;
                    it->second.promise.deliver(ack);
                }
                s.pending.erase(it);
            }
        },
        [self](data_lost_atom, caf::error& err) {
            fail_pending(self, err);
            self->quit(std::move(err));
        },
    };
}

}  // namespace

transport::segment_store_actor spawn_data_store(caf::actor_system& sys,
                                                std::shared_ptr<data_link> link,
                                                transport::segment_store_actor store) {
    return caf::actor_cast<transport::segment_store_actor>(
        sys.spawn<caf::detached>(data_store, std::move(link), std::move(store)));
}

}  // namespace pravaha::client::detail
