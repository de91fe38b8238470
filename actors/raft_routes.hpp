#pragma once

// Internal to actors/: where a Raft replica (the controller's or a container's) sends its
// messages. Straight to the peer node's replica of the same group once the endpoint handed over
// its handle (`raft_route_atom`), else through the peers actor (the node endpoint, which relays;
// the simulator's network in pravaha-sim). One way, best effort: Raft resends what is lost, and
// the switch between the two paths may reorder a few messages, which Raft tolerates.

#include "actors/actors.hpp"

#include <cstdint>
#include <map>
#include <utility>

namespace pravaha::actors {

class raft_routes {
public:
    explicit raft_routes(raft_peers_actor peers = {}) : peers_(std::move(peers)) {}

    /// Node `node`'s replica of this group is `replica`; a null handle drops the route (the
    /// peer's connection is gone: messages go through the endpoint again).
    void update(uint32_t node, raft_replica_api replica) {
        if (replica) {
            routes_[node] = std::move(replica);
        } else {
            routes_.erase(node);
        }
    }

    template <class Self>
    void send(Self* self, raft::message m) const {
        if (auto it = routes_.find(m.to); it != routes_.end()) {
            self->send(it->second, raft_atom::value, std::move(m));
        } else {
            self->send(peers_, raft_atom::value, std::move(m));
        }
    }

private:
    raft_peers_actor peers_;
    std::map<uint32_t, raft_replica_api> routes_;  ///< node -> its replica of this group
};

}  // namespace pravaha::actors
