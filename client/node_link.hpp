#pragma once

// Internal to client/: how a writer or reader actor reaches its segments. One `node_link` per
// actor holds the leader stores of its segments' containers, as the client's directory
// (client/directory.hpp) hands them out, and a generation that voids the answers of a link that
// was lost; it asks the directory again after a loss and gives up after one timeout
// (`retry_policy`, from client_config). The blocking stream manager and the directory retry with
// the same policy.

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

/// `(deadline_atom)`: a writer's or reader's `deadline_timer` fired.
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;

/// One timer per writer or reader for the deadlines of its requests to the stores, instead of a
/// CAF request timeout per request: CAF 0.17 hands every request timeout to its timer thread
/// twice (set, cancel), a cross-thread wake-up each; without them 1,000 one-at-a-time writers of
/// one process wrote 41,000-45,000 events/s instead of 32,000-33,000 (3 alternating runs each)
/// and one writer 20 % more. The actor keeps each request's deadline, calls `ensure` with it,
/// and on `(deadline_atom)` calls `fired`, fails the requests past their deadline and calls
/// `ensure` with the earliest one left.
class deadline_timer {
public:
    /// A `(deadline_atom)` reaches `self` at `when` at the latest (at once if it has passed).
    void ensure(caf::event_based_actor* self, caf::actor_clock::time_point when);

    /// On `(deadline_atom)`: `scan(now, note)` walks the requests in flight, calls
    /// `note(deadline)` for each one still in time and returns false, or fails one past its
    /// deadline (the link restarts and every request is sent again) and returns true; the timer
    /// is armed again for the earliest deadline noted unless the scan restarted the link.
    template <class Scan>
    void on_fired(caf::event_based_actor* self, Scan&& scan) {
        armed_.reset();
        std::optional<caf::actor_clock::time_point> earliest;
        auto note = [&](caf::actor_clock::time_point when) {
            earliest = earliest ? std::min(*earliest, when) : when;
        };
        if (!scan(self->clock().now(), note) && earliest) {
            ensure(self, *earliest);
        }
    }

private:
    std::optional<caf::actor_clock::time_point> armed_;
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

    /// Asks `ep.directory` at once for the leader stores of `keys`.
    void start(caf::event_based_actor* self,
               endpoint_info ep,
               std::vector<segment_key> keys,
               events ev);

    /// Adds segments (a writer's or reader's successors after a scale) and returns the index of
    /// the first; their stores are asked of the directory now (`events::attached` when they
    /// arrive) or with the next attach. Until then `attached(i)` is false for them.
    size_t add(std::vector<segment_key> keys);

    /// Starts a new generation (`events::reset`). With `lost`, the stores are dropped and asked
    /// of the directory again; `suspect`, the store whose request failed, is reported to it as
    /// stale (it may have lost its leadership).
    void restart(bool lost, const caf::actor_addr& suspect = {});

    /// Handles `(link_retry_atom, gen)`.
    void retry(uint64_t gen);

    /// Handles `(dir_lost_atom, store)`: whether the loss of `store` breaks this link.
    bool holds(const caf::actor_addr& store) const;

    /// A failure that may be the start of a run of failures: after `give_up_after` without
    /// `progressed()`, calls `events::gave_up` (and starts counting again).
    void failed();
    /// An answer arrived: a run of failures ends.
    void progressed() { failing_since_.reset(); }

    bool connected() const { return connected_; }
    /// Whether segment i's store is known (connected, and not added since the last attach).
    bool attached(size_t i) const { return connected_ && static_cast<bool>(stores_[i]); }
    uint64_t generation() const { return generation_; }
    const transport::segment_store_actor& store(size_t i) const { return stores_[i]; }
    const endpoint_info& endpoint() const { return ep_; }
    const retry_policy& policy() const { return policy_; }

private:
    void attach();

    caf::event_based_actor* self_ = nullptr;
    endpoint_info ep_;
    retry_policy policy_;
    events ev_;
    std::vector<segment_key> keys_;
    std::vector<transport::segment_store_actor> stores_;
    bool connected_ = false;
    uint64_t generation_ = 0;
    uint64_t losses_ = 0;  // restarts that dropped the stores (a subset of the generations)
    std::optional<caf::actor_clock::time_point> failing_since_;
    caf::error last_error_;  // of the directory, for the give-up message
};

}  // namespace pravaha::client::detail
