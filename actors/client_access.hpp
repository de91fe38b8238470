#pragma once

// Who a node lets in (--token-file, README "Security"): the client processes that presented a
// known token (`auth`) with their grants, the member nodes (trusted: they passed `hello`; mutual
// TLS is what makes that safe), and which scope each stream uid is in, so that a container can
// check an append or a read, which name a segment and not a scope. One per node, shared by its
// endpoint, containers and controller; thread-safe.

#include "schema/access.hpp"
#include "schema/atoms.hpp"
#include "schema/errc.hpp"
#include "schema/group_types.hpp"
#include "schema/txn_types.hpp"

#include <caf/actor_addr.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/node_id.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace pravaha::actors {

class client_access {
public:
    /// `check` empty: authentication off, everyone may do everything.
    explicit client_access(token_check check);

    [[nodiscard]] bool enabled() const { return static_cast<bool>(check_); }

    /// Lets the process of `who` (the sender of an `auth`) in with `token`: until every actor of
    /// that process that authenticated is gone (`forget`). Errors: unauthenticated (an unknown
    /// token, or none).
    /// `first`: whether `who` was not let in before (to be monitored).
    caf::expected<grants_ptr> admit(const caf::strong_actor_ptr& who,
                                    std::string_view token,
                                    bool& first);
    /// An actor that authenticated is gone (a down message): its process keeps its grants while
    /// another of its actors that authenticated lives.
    void forget(const caf::actor_addr& who);
    /// A member node said hello: everything it sends is trusted.
    void add_member(const caf::node_id& node);

    /// The grants of a message's sender: everything for this node's own actors, members and
    /// with authentication off; null for a process that has not authenticated (or an anonymous
    /// message).
    [[nodiscard]] grants_ptr of(const caf::strong_actor_ptr& sender,
                                const caf::node_id& self) const;

    /// The controller's record of stream uid to scope (its streams and transaction segments).
    void set_scopes(std::shared_ptr<const std::map<uint64_t, std::string>> scopes);
    /// Checks the sender's right `r` on the scope of `stream_uid`: an empty error, unauthenticated,
    /// permission_denied, or unavailable while the uid's scope is not known.
    [[nodiscard]] caf::error check_stream(const caf::strong_actor_ptr& sender,
                                          const caf::node_id& self,
                                          uint64_t stream_uid,
                                          right r) const;

private:
    struct session {
        grants_ptr grants;
        std::set<caf::actor_addr> actors;  ///< the actors of the process that authenticated
    };
    token_check check_;
    mutable std::mutex mutex_;
    std::map<caf::node_id, session> sessions_;
    std::set<caf::node_id> members_;
    std::shared_ptr<const std::map<uint64_t, std::string>> scopes_;
};

/// What a client request to a node's endpoint needs (README "Security" has the table): a right
/// on each of `scopes`; with `describe`, any right on them (writers read a stream's record and
/// history too); with no scope, only an authenticated client (listings then show what it sees).
struct requirement {
    std::vector<std::string> scopes;
    right r = right::read;
    bool describe = false;
};

template <class T, class... Us>
constexpr bool is_one_of_v = (std::is_same_v<T, Us> || ...);

/// The requirement of the request `(atom, xs...)` (the controller's interface).
template <class Atom, class First, class... Ts>
requirement required_for(Atom, const First& first, const Ts&... xs) {
    if constexpr (std::is_same_v<Atom, txn_atom>) {
        // Only transactions ask with a request: begin, commit, abort and their lease pings write.
        return {{first.scope}, right::write, first.op == txn_op::status};
    } else if constexpr (std::is_same_v<Atom, group_create_atom>) {
        // A group reads its streams: read on the group's scope and on each stream's.
        requirement req{{first}, right::read, false};
        auto add = [&req](const auto& x) {
            if constexpr (std::is_same_v<std::decay_t<decltype(x)>, group_config>) {
                for (const auto& s : x.streams) {
                    req.scopes.push_back(s.scope);
                }
            }
        };
        (add(xs), ...);
        return req;
    } else if constexpr (is_one_of_v<Atom, create_scope_atom, delete_scope_atom, create_stream_atom,
                                     seal_stream_atom, delete_stream_atom, update_stream_atom,
                                     scale_atom>) {
        return {{first}, right::admin, false};
    } else if constexpr (is_one_of_v<Atom, get_stream_atom, stream_info_atom, history_atom,
                                     successors_atom, stream_cut_atom, resolve_cut_atom,
                                     txn_list_atom>) {
        return {{first}, right::read, true};
    } else {
        static_assert(is_one_of_v<Atom, list_streams_atom, group_delete_atom, group_list_atom,
                                  group_info_atom, group_join_atom, group_sync_atom,
                                  group_leave_atom, group_checkpoint_atom, group_reset_atom>,
                      "every request with a scope has a rule");
        return {{first}, right::read, false};
    }
}

template <class Atom>
requirement required_for(Atom) {
    static_assert(std::is_same_v<Atom, list_scopes_atom>, "a request without a scope: a listing");
    return {};
}

/// Checks the sender of the request `self` handles, `(atom, xs...)`, against its requirement
/// (with `access` null or off: allowed). The error is unauthenticated or permission_denied.
template <class Self, class... Ts>
caf::error check_request(Self* self,
                         const std::shared_ptr<client_access>& access,
                         const Ts&... xs) {
    if (!access || !access->enabled()) {
        return {};
    }
    auto g = access->of(self->current_sender(), self->node());
    auto req = required_for(xs...);
    if (req.scopes.empty() || !g) {
        return g ? caf::error{} : check_right(nullptr, "", req.r);
    }
    for (const auto& scope : req.scopes) {
        if (req.describe && g->sees(scope)) {
            continue;
        }
        if (auto err = check_right(g.get(), scope, req.r)) {
            return err;
        }
    }
    return {};
}

/// Checks a message that names no scope: from any authenticated client (container handles, the
/// cluster's status), or with `internal` only from this node's own actors and members (segment
/// administration, Raft, the controller's handle). Errors: unauthenticated, permission_denied.
template <class Self>
caf::error check_client(Self* self, const std::shared_ptr<client_access>& access, bool internal) {
    if (!access || !access->enabled()) {
        return {};
    }
    auto g = access->of(self->current_sender(), self->node());
    if (!g) {
        return check_right(nullptr, "", right::read);
    }
    if (internal && !g->everything) {
        return caf::make_error(errc::permission_denied,
                               "this message is for the node's own actors and members only");
    }
    return {};
}

}  // namespace pravaha::actors
