#include "actors/client_access.hpp"

#include "schema/errc.hpp"

#include <caf/actor_control_block.hpp>
#include <fmt/format.h>

namespace pravaha::actors {

client_access::client_access(token_check check) : check_(std::move(check)) {}

caf::expected<grants_ptr> client_access::admit(const caf::strong_actor_ptr& who,
                                               std::string_view token,
                                               bool& first) {
    first = false;
    if (!enabled()) {
        return allow_everything();
    }
    auto g = token.empty() ? nullptr : check_(token);
    if (!g) {
        return caf::make_error(
            errc::unauthenticated,
            token.empty() ? "this node needs a token (--token, PRAVAHA_TOKEN)" : "unknown token");
    }
    if (!who) {
        return caf::make_error(errc::unauthenticated, "an anonymous message cannot authenticate");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    auto& s = sessions_[who->node()];
    // A process has one token: a second actor of it with another token replaces the grants of
    // all (the C++ client uses one token per actor system).
    s.grants = g;
    first = s.actors.insert(who->address()).second;
    return g;
}

void client_access::forget(const caf::actor_addr& who) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sessions_.find(who.node());
    if (it == sessions_.end()) {
        return;
    }
    it->second.actors.erase(who);
    if (it->second.actors.empty()) {
        sessions_.erase(it);
    }
}

void client_access::add_member(const caf::node_id& node) {
    std::lock_guard<std::mutex> lock(mutex_);
    members_.insert(node);
}

grants_ptr client_access::of(const caf::strong_actor_ptr& sender, const caf::node_id& self) const {
    if (!enabled()) {
        return allow_everything();
    }
    if (!sender) {
        return nullptr;
    }
    auto node = sender->node();
    if (node == self) {
        return allow_everything();  // the node's own actors: the gateway checks its clients
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (members_.count(node) != 0) {
        return allow_everything();
    }
    auto it = sessions_.find(node);
    return it == sessions_.end() ? nullptr : it->second.grants;
}

void client_access::set_scopes(std::shared_ptr<const std::map<uint64_t, std::string>> scopes) {
    std::lock_guard<std::mutex> lock(mutex_);
    scopes_ = std::move(scopes);
}

caf::error client_access::check_stream(const caf::strong_actor_ptr& sender,
                                       const caf::node_id& self,
                                       uint64_t stream_uid,
                                       right r) const {
    if (!enabled()) {
        return {};
    }
    // Every append and read comes here: one lock, the scope map held (immutable), no copies.
    grants_ptr g;
    std::shared_ptr<const std::map<uint64_t, std::string>> scopes;
    if (sender && sender->node() == self) {
        return {};  // the node's own actors: the gateway checks its clients
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (sender) {
            if (members_.count(sender->node()) != 0) {
                return {};
            }
            if (auto it = sessions_.find(sender->node()); it != sessions_.end()) {
                g = it->second.grants;
            }
        }
        scopes = scopes_;
    }
    if (!g) {
        return check_right(nullptr, "", r);
    }
    const std::string* scope = nullptr;
    if (scopes) {
        if (auto it = scopes->find(stream_uid); it != scopes->end()) {
            scope = &it->second;
        }
    }
    if (scope == nullptr) {
        // The node's controller replica has not applied the stream's creation yet: retry.
        return caf::make_error(errc::unavailable,
                               fmt::format("stream {} is not known on this node yet", stream_uid));
    }
    return check_right(g.get(), *scope, r);
}

}  // namespace pravaha::actors
