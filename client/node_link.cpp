#include "client/node_link.hpp"

#include "schema/errc.hpp"
#include "schema/logging.hpp"

#include <caf/io/middleman_actor.hpp>

#include <algorithm>
#include <set>

namespace pravaha::client::detail {

retry_policy retry_policy::of(const client_config& cfg) {
    retry_policy p;
    p.connect_timeout = std::min(cfg.request_timeout, p.connect_timeout);
    p.give_up_after = cfg.retry_timeout;
    return p;
}

std::chrono::milliseconds retry_policy::next_pause(std::chrono::milliseconds previous) const {
    if (previous < first_pause) {
        return first_pause;
    }
    return std::min(previous * 2, max_pause);
}

void node_link::start(caf::event_based_actor* self,
                      endpoint_info ep,
                      transport::node_actor node,
                      std::vector<segment_key> keys,
                      events ev) {
    self_ = self;
    ep_ = std::move(ep);
    last_tried_ = node_address{ep_.host, ep_.port};
    policy_ = retry_policy::of(ep_.cfg);
    pause_ = policy_.first_pause;
    ev_ = std::move(ev);
    keys_ = std::move(keys);
    stores_.resize(keys_.size());
    node_ = std::move(node);
    self_->monitor(node_);
    attach();
}

// Asks the node for the leader replica of each segment's container (attach_containers).
void node_link::attach() {
    auto gen = generation_;
    attach_containers(
        self_, connector_of(self_->system(), ep_), node_, keys_, attach_timeout(ep_.cfg),
        [this, gen](std::vector<transport::segment_store_actor> stores,
                    std::vector<node_address> nodes) {
            if (gen != generation_) {
                return;
            }
            PRAVAHA_ASSERT(stores.size() == keys_.size(), "attached {} stores for {} segments",
                           stores.size(), keys_.size());
            stores_ = std::move(stores);
            if (!nodes.empty()) {
                nodes_ = std::move(nodes);
            }
            connected_ = true;
            pause_ = policy_.first_pause;
            ev_.attached();
        },
        [this, gen](const caf::error&) {
            if (gen != generation_) {
                return;
            }
            // No leader yet (an election) or a node on the way is gone: ask again after a pause
            // that grows, instead of spinning while the cluster elects.
            failed();
            restart(true, true);
        });
}

void node_link::restart(bool lost, bool pause) {
    ++generation_;
    ev_.reset();
    if (!lost) {
        return;
    }
    if (connected_) {
        connected_ = false;
        self_->demonitor(node_.address());
        node_ = transport::node_actor{};
        std::fill(stores_.begin(), stores_.end(), transport::segment_store_actor{});
    }
    if (pause) {
        retry_later();
    } else {
        reconnect();
    }
}

void node_link::retry(uint64_t gen) {
    if (gen == generation_ && !connected_) {
        reconnect();
    }
}

void node_link::retry_later() {
    pause_ = policy_.next_pause(pause_);
    self_->delayed_send(self_, pause_, link_retry_atom::value, generation_);
}

// Connects to the next member of the cluster (the node the link was opened with when no member
// list is known), then attaches through it.
void node_link::reconnect() {
    auto gen = generation_;
    if (nodes_.empty()) {
        nodes_.push_back(node_address{ep_.host, ep_.port});
    }
    auto target = nodes_[node_index_ % nodes_.size()];
    last_tried_ = target;
    self_
        ->request(connector_of(self_->system(), ep_), policy_.connect_timeout,
                  caf::connect_atom::value, target.host, target.port)
        .then(
            [this, gen, target](const caf::node_id&, caf::strong_actor_ptr& ptr,
                                const std::set<std::string>&) {
                if (gen != generation_ || connected_) {
                    return;
                }
                if (!ptr) {
                    ++node_index_;
                    retry_later();
                    return;
                }
                node_ = transport::as_node(ptr);
                self_->monitor(node_);
                module_log("client")->info("client reconnected endpoint={}:{}", target.host,
                                           target.port);
                attach();
            },
            [this, gen](const caf::error&) {
                if (gen != generation_) {
                    return;
                }
                failed();
                ++node_index_;  // try the next member of the cluster
                retry_later();
            });
}

bool node_link::watches(const caf::actor_addr& source) const {
    if (source == node_.address()) {
        return true;
    }
    return std::any_of(stores_.begin(), stores_.end(),
                       [&](const auto& s) { return source == s.address(); });
}

void node_link::failed() {
    auto now = self_->clock().now();
    if (!failing_since_) {
        failing_since_ = now;
        return;
    }
    if (now - *failing_since_ > policy_.give_up_after) {
        failing_since_ = now;
        ev_.gave_up(caf::make_error(
            errc::unavailable, "no answer from the cluster (last tried " + last_tried_.host + ":" +
                                   std::to_string(last_tried_.port) +
                                   ") within the retry timeout of " +
                                   std::to_string(policy_.give_up_after.count()) + " ms"));
    }
}

void node_link::unwatch_all(const caf::actor_addr& me) const {
    unwatch(me, node_.address());
    for (const auto& s : stores_) {
        unwatch(me, s.address());
    }
}

}  // namespace pravaha::client::detail
