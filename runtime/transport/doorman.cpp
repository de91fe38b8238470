// The node endpoint's listening port under a `listener` (runtime/transport/listener.hpp).
//
// CAF 0.17's own doorman accepts with `policy::tcp::try_accept`, which ignores every error but
// EAGAIN: out of descriptors, the listening socket stays readable and the multiplexer thread
// spins on it until a descriptor frees, and a connection beyond any maximum cannot be refused. This
// doorman replaces it for the published node endpoint: it accepts through `listener::accept_next`
// (maximum, shedding, logging) and hands every admitted connection to the BASP broker in a scribe
// that tells the listener when it is gone. It is added to the broker with the same message CAF's
// middleman actor sends after opening its own doorman, so publishing, unpublishing and BASP's
// handshake stay CAF's.

#include "runtime/transport/listener.hpp"
#include "runtime/transport/tls_transport.hpp"
#include "runtime/transport/transport.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/doorman.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/acceptor.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/scribe_impl.hpp>
#include <caf/send.hpp>
#include <unistd.h>

namespace pravaha::transport {

namespace {

namespace net = caf::io::network;

// A connection admitted by the listener; its end (the broker and the multiplexer have let it
// go, and the event handler closed the socket) gives the slot back.
class gated_scribe final : public net::scribe_impl {
public:
    gated_scribe(net::default_multiplexer& mx, net::native_socket fd, std::shared_ptr<listener> l)
        : scribe_impl(mx, fd), listener_(std::move(l)) {}
    ~gated_scribe() override { listener_->closed(); }

private:
    std::shared_ptr<listener> listener_;
};

class guarded_doorman;

using resume_atom = caf::atom_constant<caf::atom("lresume")>;

// The doorman's socket. It is a member of its doorman, so `owner_` never outlives it; the
// multiplexer calls handle_event only while the socket is in its loop (after launch, until
// removed_from_loop).
class guarded_acceptor final : public net::acceptor {
public:
    guarded_acceptor(net::default_multiplexer& mx,
                     net::native_socket fd,
                     std::shared_ptr<listener> l,
                     guarded_doorman* owner)
        : acceptor(mx, fd), listener_(std::move(l)), owner_(owner) {}

    void handle_event(net::operation op) override;

private:
    std::shared_ptr<listener> listener_;
    guarded_doorman* owner_;
};

class guarded_doorman final : public caf::io::doorman {
public:
    guarded_doorman(caf::actor_system& sys,
                    net::default_multiplexer& mx,
                    net::native_socket fd,
                    std::shared_ptr<listener> l,
                    std::shared_ptr<const tls_context> tls)
        : doorman(net::accept_hdl_from_socket(fd)),
          sys_(sys),
          acceptor_(mx, fd, l, this),
          listener_(std::move(l)),
          tls_(std::move(tls)) {}

    // Accept failed without a connection to shed (ENOBUFS, ENOMEM, or the spare descriptor was
    // taken): the socket leaves the loop for 100 ms instead of coming back at once (CAF's
    // epoll is level-triggered, so waiting in the loop would spin the multiplexer thread).
    void pause() {
        acceptor_.passivate();
        // Spawned with arguments: CAF 0.17's spawn of a function without any binds a null
        // reference (UBSan reported it under ASan when a test ran the node out of descriptors).
        sys_.spawn(
            [](caf::event_based_actor* timer, caf::intrusive_ptr<guarded_doorman> self,
               net::default_multiplexer* mx) -> caf::behavior {
                timer->delayed_send(timer, std::chrono::milliseconds(100), resume_atom::value);
                return {[=](resume_atom) {
                    mx->dispatch([self] { self->resume(); });
                    timer->quit();
                }};
            },
            caf::intrusive_ptr<guarded_doorman>{this}, &acceptor_.backend());
    }

    bool new_connection() override {
        auto fd = acceptor_.accepted_socket();
        if (detached()) {
            // The broker let go of this doorman while the multiplexer still had its event.
            ::close(fd);
            listener_->closed();
            return false;
        }
        auto& mx = acceptor_.backend();
        if (tls_) {
            // BASP sees the connection once its handshake is done (if this doorman is still
            // published then).
            accept_tls(mx, fd, tls_, listener_,
                       [self = caf::intrusive_ptr<guarded_doorman>{this}](caf::io::scribe_ptr s) {
                           self->handshake_done(std::move(s));
                       });
            return true;
        }
        return add(caf::make_counted<gated_scribe>(mx, fd, listener_));
    }
    void graceful_shutdown() override {
        acceptor_.graceful_shutdown();
        detach(&acceptor_.backend(), false);
    }
    void launch() override { acceptor_.start(this); }
    void resume() {
        if (!detached()) {
            acceptor_.activate(this);
        }
    }
    std::string addr() const override {
        auto x = net::local_addr_of_fd(acceptor_.fd());
        return x ? *x : std::string{};
    }
    uint16_t port() const override {
        auto x = net::local_port_of_fd(acceptor_.fd());
        return x ? *x : uint16_t{0};
    }
    void add_to_loop() override { acceptor_.activate(this); }
    void remove_from_loop() override { acceptor_.passivate(); }

private:
    bool add(caf::io::scribe_ptr sptr) {
        auto hdl = sptr->hdl();
        parent()->add_scribe(std::move(sptr));
        return doorman::new_connection(&acceptor_.backend(), hdl);
    }

    void handshake_done(caf::io::scribe_ptr s) {
        if (!detached()) {
            add(std::move(s));
        }  // else dropped: the scribe closes its socket and frees its slot
    }

    caf::actor_system& sys_;
    guarded_acceptor acceptor_;
    std::shared_ptr<listener> listener_;
    std::shared_ptr<const tls_context> tls_;  ///< null: plain TCP
};

void guarded_acceptor::handle_event(net::operation op) {
    if (op != net::operation::read) {
        return;
    }
    // At most 64 connections per event, so that the other sockets of the multiplexer get their
    // turn; the socket stays readable (level-triggered) while more wait.
    for (int i = 0; i < 64; ++i) {
        auto r = listener_->accept_next(fd());
        switch (r.outcome) {
            case accept_outcome::accepted:
                accepted_socket() = r.fd;
                if (!owner_->new_connection()) {
                    return;  // detached from the broker (unpublished): accept no more
                }
                break;
            case accept_outcome::refused:
                // BASP has no message a server may send before its handshake: just closed.
                ::close(r.fd);
                break;
            case accept_outcome::shed:
                break;
            case accept_outcome::empty:
                return;
            case accept_outcome::failed:
                owner_->pause();
                return;
        }
    }
}

}  // namespace

caf::expected<uint16_t> publish_guarded(caf::actor_system& sys,
                                        const node_actor& node,
                                        uint16_t port,
                                        const std::string& bind,
                                        std::shared_ptr<listener> l,
                                        std::shared_ptr<const tls_context> tls) {
    auto fd = listen_on("node endpoint", bind, port);
    if (!fd) {
        return std::move(fd.error());
    }
    auto actual = local_port(*fd);
    l->set_port(actual);
    auto& mx = static_cast<net::default_multiplexer&>(sys.middleman().backend());
    caf::io::doorman_ptr ptr =
        caf::make_counted<guarded_doorman>(sys, mx, *fd, std::move(l), std::move(tls));
    auto basp = sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
    caf::anon_send(basp, caf::publish_atom::value, std::move(ptr), actual,
                   caf::actor_cast<caf::strong_actor_ptr>(node), sys.message_types<node_actor>());
    return actual;
}

}  // namespace pravaha::transport
