#include "client/node_link.hpp"

#include "client/directory.hpp"
#include "schema/errc.hpp"
#include "schema/logging.hpp"

#include <algorithm>

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

void deadline_timer::ensure(caf::event_based_actor* self, caf::actor_clock::time_point when) {
    if (armed_ && *armed_ <= when) {
        return;  // an earlier tick comes; the actor arms again from there
    }
    armed_ = when;
    auto now = self->clock().now();
    auto delay = when > now ? std::chrono::duration_cast<std::chrono::milliseconds>(when - now) +
                                  std::chrono::milliseconds(1)
                            : std::chrono::milliseconds(0);
    self->delayed_send(self, delay, deadline_atom::value);
}

void node_link::start(caf::event_based_actor* self,
                      endpoint_info ep,
                      std::vector<segment_key> keys,
                      events ev) {
    PRAVAHA_ASSERT(ep.directory, "a link to {}:{} without a directory", ep.host, ep.port);
    self_ = self;
    ep_ = std::move(ep);
    policy_ = retry_policy::of(ep_.cfg);
    ev_ = std::move(ev);
    keys_ = std::move(keys);
    stores_.resize(keys_.size());
    attach();
}

// Asks the directory for the leader store of each segment's container. No timeout: the directory
// is local and answers every request, with an error when its lookup failed.
void node_link::attach() {
    auto gen = generation_;
    self_->request(ep_.directory, caf::infinite, dir_attach_atom::value, keys_)
        .then(
            [this, gen](std::vector<transport::segment_store_actor>& stores) {
                if (gen != generation_) {
                    return;
                }
                if (stores.size() != keys_.size()) {
                    attach();  // segments were added meanwhile: ask for all of them
                    return;
                }
                stores_ = std::move(stores);
                connected_ = true;
                module_log("client")->debug("client link attached actor={} generation={}",
                                            self_->id(), generation_);
                ev_.attached();
            },
            [this, gen](caf::error& err) {
                if (gen != generation_) {
                    return;
                }
                // The directory backs off between its lookups; a short pause here only keeps a
                // directory that is gone (the actor system ending) from being asked in a spin.
                if (!is_transient(err)) {
                    // Final (a node of another cluster at the endpoint): what is pending fails
                    // now, with that error, not after the retry timeout.
                    failing_since_.reset();
                    ev_.gave_up(err);
                } else {
                    last_error_ = std::move(err);
                    failed();
                }
                self_->delayed_send(self_, policy_.first_pause, link_retry_atom::value, gen);
            });
}

size_t node_link::add(std::vector<segment_key> keys) {
    auto first = keys_.size();
    keys_.insert(keys_.end(), keys.begin(), keys.end());
    stores_.resize(keys_.size());
    if (!connected_) {
        return first;  // the attach in flight (or the next) asks for every key
    }
    // Stores stay valid across a restart that keeps the link (a new generation for a transient
    // refusal): only a loss voids this answer (the attach after it asks for every key).
    auto losses = losses_;
    self_->request(ep_.directory, caf::infinite, dir_attach_atom::value, std::move(keys))
        .then(
            [this, losses, first](std::vector<transport::segment_store_actor>& stores) {
                if (losses != losses_ || !connected_) {
                    return;
                }
                for (size_t i = 0; i < stores.size() && first + i < stores_.size(); ++i) {
                    stores_[first + i] = std::move(stores[i]);
                }
                ev_.attached();
            },
            [this, losses](caf::error&) {
                if (losses == losses_ && connected_) {
                    restart(true);  // asks for every key again, with the link's back-off
                }
            });
    return first;
}

void node_link::restart(bool lost, const caf::actor_addr& suspect) {
    ++generation_;
    ev_.reset();
    // failed() may have given up and its owner quit (exit_on_give_up): a request sent now would
    // keep the actor alive for good in CAF 0.17 (a response still pending outlives quit, and no
    // exit message ends it then), and the directory may never answer it (pravaha-sim seed
    // 2232694721: a group reader outlived its crashed process and hung the teardown).
    if (!lost || !self_->has_behavior()) {
        return;
    }
    ++losses_;
    if (suspect) {
        self_->send(ep_.directory, dir_stale_atom::value, suspect);
    }
    module_log("client")->debug("client link lost actor={} generation={}", self_->id(),
                                generation_);
    // A pending attach (or its retry) belongs to the old generation: ask anew.
    connected_ = false;
    std::fill(stores_.begin(), stores_.end(), transport::segment_store_actor{});
    attach();
}

void node_link::retry(uint64_t gen) {
    if (gen == generation_ && !connected_) {
        attach();
    }
}

bool node_link::holds(const caf::actor_addr& store) const {
    return connected_ && std::any_of(stores_.begin(), stores_.end(),
                                     [&](const auto& s) { return store == s.address(); });
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
            errc::unavailable,
            "no answer from the cluster at " + ep_.host + ":" + std::to_string(ep_.port) +
                " within the retry timeout of " + std::to_string(policy_.give_up_after.count()) +
                " ms" + (last_error_ ? " (last: " + render_error(last_error_) + ")" : "")));
    }
}

}  // namespace pravaha::client::detail
