#pragma once

// What waits to go out on a non-blocking socket of our own (the node's data port connections,
// the client's data link): appended at the end, sent from an offset as far as the socket takes
// it. What was sent is dropped once it is half the buffer, not at every partial send: a peer
// reading slowly would make each send move the whole buffer (it stalled the node's data thread
// in the first version of the backpressure test).

#include <cstddef>
#include <string>
#include <string_view>

namespace pravaha::transport {

class out_buffer {
public:
    /// Where encoders append a frame (frames::encode_*), or `append`.
    std::string& tail() { return buf_; }
    void append(std::string_view bytes) { buf_.append(bytes); }

    /// Bytes not yet sent.
    [[nodiscard]] size_t waiting() const { return buf_.size() - sent_; }

    /// Sends what waits until the socket is full or all is sent: false once the socket is
    /// broken (the peer gone; what waits stays, the caller drops it or lets the reading side
    /// find out).
    bool send_to(int fd);

    void clear() {
        buf_.clear();
        sent_ = 0;
    }

private:
    std::string buf_;
    size_t sent_ = 0;  // the part of buf_ already sent
};

}  // namespace pravaha::transport
