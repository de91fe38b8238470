#include "runtime/transport/out_buffer.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace pravaha::transport {

bool out_buffer::send_to(int fd) {
    bool ok = true;
    while (sent_ < buf_.size()) {
        auto n = ::send(fd, buf_.data() + sent_, buf_.size() - sent_, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            sent_ += static_cast<size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            ok = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);  // full, or broken
            break;
        }
    }
    if (sent_ == buf_.size()) {
        clear();
    } else if (sent_ >= buf_.size() / 2) {
        buf_.erase(0, sent_);
        sent_ = 0;
    }
    return ok;
}

}  // namespace pravaha::transport
