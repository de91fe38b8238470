#pragma once

/// Part of module `runtime` (internal): the node's framed data port (`--data-port`), the
/// production transport of the framed data path (schema/data_frames.hpp, ARCHITECTURE.md "The
/// framed data path"). One thread runs an epoll loop over the listening socket and every data
/// connection: it reads whatever frames are ready, hands the appends of one turn to each
/// container in one message (`data_append_atom`), and the container writes the answers to the
/// connection itself when their group is committed (`data_sink`), so an append crosses one
/// thread boundary in the node instead of two (the CAF/BASP path: the multiplexer's thread, the
/// container's, the multiplexer's again) and is never serialised by CAF.
///
/// Connections are admitted through the node's `listener` (the `--max-connections` gate,
/// shedding when out of descriptors). A connection that sends anything but a hello of this
/// protocol version first, a malformed frame or a frame a client may not send gets one refusal
/// (request 0, malformed_message with the reason) and is closed; its appends already handed to a
/// container are still committed and their answers dropped.

#include "actors/actors.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pravaha::transport {
class listener;
}

namespace pravaha::runtime {

struct data_port_config {
    std::string bind = "127.0.0.1";
    uint16_t port = 0;  ///< 0: any free port
    std::shared_ptr<transport::listener> listener;
    /// The node's containers, by container number (a block goes to `container_of(key, size)`).
    std::vector<actors::container_actor> containers;
};

class data_port {
public:
    /// Listens and starts the thread. Errors: errc::unavailable (cannot listen, no epoll).
    [[nodiscard]] static caf::expected<std::unique_ptr<data_port>> start(data_port_config cfg);
    /// Stops the thread and closes the listening socket and every connection.
    ~data_port();
    data_port(const data_port&) = delete;
    data_port& operator=(const data_port&) = delete;

    uint16_t port() const;

    struct impl;

private:
    explicit data_port(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace pravaha::runtime
