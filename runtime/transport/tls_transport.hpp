#pragma once

// TLS on the CAF port (internal to runtime/transport; README "Security: TLS"). Our own, on
// OpenSSL directly, rather than CAF's OpenSSL module, which builds a context and reads the key
// files again for every connection (throwing inside the multiplexer when they became
// unreadable), checks no host name, spins the multiplexer while a silent peer's handshake is
// pending, and has no handshake timeout (ARCHITECTURE "TLS on the client port").
//
// - Accepted connections (the node's listener, doorman.cpp) are taken through the handshake on
//   the multiplexer by `accept_tls` before BASP sees them; a peer that has not finished in 10 s
//   is closed.
// - Outgoing connections are made by `tls_connector`, a middleman actor (the handle
//   `transport::middleman` returns while a `tls_transport` lives) whose handshake blocks its own
//   thread, at most 10 s, and checks the host name it connected to against the certificate.

#include "runtime/transport/listener.hpp"
#include "runtime/transport/transport.hpp"

#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/scribe.hpp>

#include <functional>
#include <memory>

namespace pravaha::transport {

/// Runs `fd` (admitted by `l`) through a server-side TLS handshake on `mx` (call on its thread).
/// `done` gets the connection's scribe once the peer presented a certificate of the CA; a failed
/// or timed-out handshake closes the socket, gives `l` its slot back and never calls `done`.
void accept_tls(caf::io::network::default_multiplexer& mx,
                int fd,
                const std::shared_ptr<const tls_context>& ctx,
                std::shared_ptr<listener> l,
                std::function<void(caf::io::scribe_ptr)> done);

}  // namespace pravaha::transport
