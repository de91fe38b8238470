#pragma once

// Internal to client/: how a writer or reader actor reaches the cluster. One `node_link` per
// actor holds its node, the leader stores of its segments' containers, the members to fall back
// on, and a generation that voids the answers of a link that was lost; it reconnects with one
// backoff and gives up after one timeout (`retry_policy`, from client_config). The blocking
// stream manager retries with the same policy.

#include "client/internal.hpp"

#include <caf/actor_clock.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <vector>

namespace pravaha::client::detail {

/// `(link_retry_atom, generation)`: the actor's own reminder to reconnect its link; actors
/// forward it to `node_link::retry`.
using link_retry_atom = caf::atom_constant<caf::atom("lretry")>;

/// How writers, readers and the stream manager retry after losing their node.
struct retry_policy {
    std::chrono::milliseconds first_pause{50};  ///< the first pause before reconnecting
    std::chrono::milliseconds max_pause{1000};  ///< pauses double up to this
    std::chrono::milliseconds connect_timeout{5000};
    /// Failures without progress for this long fail what is pending (errc::unavailable).
    std::chrono::milliseconds give_up_after{60000};

    static retry_policy of(const client_config& cfg);
    /// The pause after `previous` (doubled, at most max_pause).
    std::chrono::milliseconds next_pause(std::chrono::milliseconds previous) const;
};

class node_link {
public:
    struct events {
        /// Every store is attached: the actor may send.
        std::function<void()> attached;
        /// A new generation starts: answers to requests of the old one are void.
        std::function<void()> reset;
        /// Failures without progress lasted `give_up_after`: fail what is pending.
        std::function<void(caf::error)> gave_up;
    };

    /// Attaches at once through `node` (already connected) to the leader stores of `keys`.
    void start(caf::event_based_actor* self,
               endpoint_info ep,
               transport::node_actor node,
               std::vector<segment_key> keys,
               events ev);

    /// Starts a new generation (`events::reset`). With `lost`, the link is dropped and
    /// reconnected (after a growing pause with `pause`: an election may be running).
    void restart(bool lost, bool pause);

    /// Handles `(link_retry_atom, gen)`.
    void retry(uint64_t gen);

    /// Whether a down message from `source` breaks this link (the node or a store).
    bool watches(const caf::actor_addr& source) const;

    /// A failure that may be the start of a run of failures: after `give_up_after` without
    /// `progressed()`, calls `events::gave_up` (and starts counting again).
    void failed();
    /// An answer arrived: a run of failures ends.
    void progressed() { failing_since_.reset(); }

    bool connected() const { return connected_; }
    uint64_t generation() const { return generation_; }
    const transport::segment_store_actor& store(size_t i) const { return stores_[i]; }
    const endpoint_info& endpoint() const { return ep_; }
    const retry_policy& policy() const { return policy_; }

    /// Removes the actor's monitors from the node and stores (see `unwatch`); for the state's
    /// destructor.
    void unwatch_all(const caf::actor_addr& me) const;

private:
    void attach();
    void reconnect();
    void retry_later();

    caf::event_based_actor* self_ = nullptr;
    endpoint_info ep_;
    retry_policy policy_;
    events ev_;
    std::vector<segment_key> keys_;
    transport::node_actor node_;
    std::vector<transport::segment_store_actor> stores_;
    bool connected_ = false;
    std::vector<node_address> nodes_;  ///< the cluster's members to try; else just `ep`
    size_t node_index_ = 0;
    node_address last_tried_;
    uint64_t generation_ = 0;
    std::chrono::milliseconds pause_{0};
    std::optional<caf::actor_clock::time_point> failing_since_;
};

}  // namespace pravaha::client::detail
