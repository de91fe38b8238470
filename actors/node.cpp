#include "actors/actors.hpp"
#include "actors/client_access.hpp"
#include "actors/raft_driver.hpp"
#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"
#include "schema/mutants.hpp"
#include "storage/storage.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

namespace pravaha::actors {

struct endpoint_wiring {
    controller_actor controller;
    std::vector<container_actor> containers;
};

}  // namespace pravaha::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<pravaha::actors::endpoint_wiring>)

namespace pravaha::actors {

namespace {

using init_atom = caf::atom_constant<caf::atom("epinit")>;
using connect_tick_atom = caf::atom_constant<caf::atom("epconnect")>;

// Asks `dest` and answers the current request with `transform(answer)` (or the error).
template <class Result, class Self, class Dest, class Transform, class... Ts>
caf::result<Result> relay(Self* self,
                          const Dest& dest,
                          std::chrono::milliseconds timeout,
                          Transform transform,
                          Ts&&... xs) {
    auto rp = self->template make_response_promise<Result>();
    self->request(dest, timeout, std::forward<Ts>(xs)...)
        .then([rp, transform](Result& r) mutable { rp.deliver(transform(std::move(r))); },
              [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
    return rp;
}

// `list_scopes` for a sender that sees only some scopes: every scope asked of `dest`, then
// those the sender's grants show. Errors: unauthenticated.
template <class Self, class Dest>
caf::result<std::vector<std::string>> visible_listing(Self* self,
                                                      const Dest& dest,
                                                      std::chrono::milliseconds timeout,
                                                      grants_ptr g) {
    if (!g) {
        return check_right(nullptr, "", right::read);
    }
    return relay<std::vector<std::string>>(
        self, dest, timeout,
        [g](std::vector<std::string> all) { return visible_scopes(g.get(), std::move(all)); },
        list_scopes_atom::value);
}

// A client request to the controller, once its sender is allowed it (check_request). Without
// tokens delegated, so the controller answers the client directly (no extra hop on the way
// back); with tokens relayed (a delegated answer would hand the client the controller's handle,
// whose requests nothing checks).
template <class Result, class... Ts>
caf::result<Result> forward(node_api::pointer self,
                            const std::shared_ptr<client_access>& access,
                            const controller_actor& ctl,
                            Ts&&... xs) {
    if (!access || !access->enabled()) {
        return self->delegate(ctl, std::forward<Ts>(xs)...);
    }
    if (auto err = check_request(self, access, xs...)) {
        return err;
    }
    return relay<Result>(
        self, ctl, std::chrono::seconds(30), [](Result r) { return r; }, std::forward<Ts>(xs)...);
}

// `auth`: lets the sender's process in with `token` (monitored: its grants go with the last of
// its actors that authenticated) and answers the cluster id, as `identify` does.
template <class Self>
caf::result<std::string> authenticate(Self* self,
                                      const std::shared_ptr<client_access>& access,
                                      const std::string& token,
                                      const std::string& cluster_id) {
    if (!access || !access->enabled()) {
        return cluster_id;
    }
    bool first = false;
    auto g = access->admit(self->current_sender(), token, first);
    if (!g) {
        module_log("actors")->warn("client refused: {}", render_error(g.error()));
        return std::move(g.error());
    }
    if (first) {
        self->monitor(caf::actor_cast<caf::actor>(self->current_sender()));
        module_log("actors")->info("client authenticated token_name={}", (*g)->name);
    }
    return cluster_id;
}

// The framed data port a node answers to `data_port` (0: none yet, or none).
uint16_t port_of(const std::shared_ptr<const std::atomic<uint16_t>>& p) {
    return p ? p->load(std::memory_order_relaxed) : 0;
}

// The standalone endpoint: forwards each request to the actor that owns the state, which then
// answers the client directly (delegation, no extra hop on the way back).
node_api::behavior_type endpoint_impl(node_api::pointer self,
                                      controller_actor ctl,
                                      container_actor cnt,
                                      std::function<std::vector<raft::listener_status>()> listeners,
                                      storage_full_probe storage_full,
                                      std::string cluster_id,
                                      std::shared_ptr<const std::atomic<uint16_t>> data_port,
                                      std::shared_ptr<client_access> access) {
    self->set_down_handler([access](caf::down_msg& dm) {
        if (access) {
            access->forget(dm.source);
        }
    });
    return {
        [=](create_scope_atom a, std::string& s) {
            return forward<bool>(self, access, ctl, a, std::move(s));
        },
        [=](delete_scope_atom a, std::string& s) {
            return forward<bool>(self, access, ctl, a, std::move(s));
        },
        [=](list_scopes_atom a) -> caf::result<std::vector<std::string>> {
            if (!access || !access->enabled()) {
                return self->delegate(ctl, a);
            }
            return visible_listing(self, ctl, std::chrono::seconds(30),
                                   access->of(self->current_sender(), self->node()));
        },
        [=](create_stream_atom a, std::string& s, std::string& n, uint32_t k) {
            return forward<stream_record>(self, access, ctl, a, std::move(s), std::move(n), k);
        },
        [=](list_streams_atom a, std::string& s) {
            return forward<std::vector<std::string>>(self, access, ctl, a, std::move(s));
        },
        [=](get_stream_atom a, std::string& s, std::string& n) {
            return forward<stream_record>(self, access, ctl, a, std::move(s), std::move(n));
        },
        [=](seal_stream_atom a, std::string& s, std::string& n) {
            return forward<stream_record>(self, access, ctl, a, std::move(s), std::move(n));
        },
        [=](delete_stream_atom a, std::string& s, std::string& n) {
            return forward<bool>(self, access, ctl, a, std::move(s), std::move(n));
        },
        [=](stream_info_atom a, std::string& s, std::string& n) {
            return forward<stream_info>(self, access, ctl, a, std::move(s), std::move(n));
        },
        [=](create_stream_atom a, std::string& s, std::string& n, uint32_t k, scaling_policy& p) {
            return forward<stream_record>(self, access, ctl, a, std::move(s), std::move(n), k, p);
        },
        [=](update_stream_atom a, std::string& s, std::string& n, scaling_policy& p) {
            return forward<stream_record>(self, access, ctl, a, std::move(s), std::move(n), p);
        },
        [=](scale_atom a, std::string& s, std::string& n, scale_request& r) {
            return forward<scale_result>(self, access, ctl, a, std::move(s), std::move(n),
                                         std::move(r));
        },
        [=](history_atom a, std::string& s, std::string& n) {
            return forward<std::vector<epoch_info>>(self, access, ctl, a, std::move(s),
                                                    std::move(n));
        },
        [=](successors_atom a, std::string& s, std::string& n, segment_id id) {
            return forward<segment_successors>(self, access, ctl, a, std::move(s), std::move(n),
                                               id);
        },
        [=](stream_cut_atom a, std::string& s, std::string& n, bool head) {
            return forward<stream_cut>(self, access, ctl, a, std::move(s), std::move(n), head);
        },
        [=](resolve_cut_atom a, std::string& s, std::string& n, stream_cut& c) {
            return forward<stream_cut>(self, access, ctl, a, std::move(s), std::move(n),
                                       std::move(c));
        },
        [=](group_create_atom a, std::string& s, std::string& n, group_config& c) {
            return forward<group_info>(self, access, ctl, a, std::move(s), std::move(n),
                                       std::move(c));
        },
        [=](group_delete_atom a, std::string& s, std::string& n) {
            return forward<bool>(self, access, ctl, a, std::move(s), std::move(n));
        },
        [=](group_list_atom a, std::string& s) {
            return forward<std::vector<std::string>>(self, access, ctl, a, std::move(s));
        },
        [=](txn_atom a, txn_request& r) {
            return forward<txn_record>(self, access, ctl, a, std::move(r));
        },
        [=](txn_list_atom a, std::string& s, std::string& n) {
            return forward<std::vector<txn_record>>(self, access, ctl, a, std::move(s),
                                                    std::move(n));
        },
        [=](group_info_atom a, std::string& s, std::string& n) {
            return forward<group_info>(self, access, ctl, a, std::move(s), std::move(n));
        },
        [=](group_join_atom a, std::string& s, std::string& n, group_sync& r) {
            return forward<group_assignment>(self, access, ctl, a, std::move(s), std::move(n),
                                             std::move(r));
        },
        [=](group_sync_atom a, std::string& s, std::string& n, group_sync& r) {
            return forward<group_assignment>(self, access, ctl, a, std::move(s), std::move(n),
                                             std::move(r));
        },
        [=](group_leave_atom a, std::string& s, std::string& n, group_sync& r) {
            return forward<bool>(self, access, ctl, a, std::move(s), std::move(n), std::move(r));
        },
        [=](group_checkpoint_atom a, std::string& s, std::string& n, std::string& c) {
            return forward<std::vector<stream_cut>>(self, access, ctl, a, std::move(s),
                                                    std::move(n), std::move(c));
        },
        [=](group_reset_atom a, std::string& s, std::string& n, std::string& c,
            std::vector<stream_cut>& cuts, uint32_t seen) {
            return forward<uint32_t>(self, access, ctl, a, std::move(s), std::move(n), std::move(c),
                                     std::move(cuts), seen);
        },
        [=](get_segment_store_atom) -> caf::result<segment_store_api> {
            if (auto err = check_client(self, access, false)) {
                return err;
            }
            return segment_store_api{cnt};
        },
        [=](get_container_atom, uint32_t c) -> caf::result<segment_store_api> {
            if (auto err = check_client(self, access, false)) {
                return err;
            }
            if (c != 0) {
                return caf::make_error(errc::invalid_argument,
                                       "a standalone node has one container (0)");
            }
            return segment_store_api{cnt};
        },
        [=](cluster_info_atom) -> caf::result<raft::cluster_info> {
            if (auto err = check_client(self, access, false)) {
                return err;
            }
            raft::cluster_info info;
            info.node = 0;
            info.container_count = 1;
            if (listeners) {
                info.listeners = listeners();
            }
            if (storage_full) {
                info.storage_full = storage_full();
            }
            info.cluster_id = cluster_id;
            return info;
        },
        [=](raft_atom, raft::message&) {},  // a standalone node has no peers
        [=](get_controller_atom) -> caf::result<controller_api> {
            if (auto err = check_client(self, access, true)) {
                return err;
            }
            return controller_api{ctl};
        },
        [=](get_admin_atom, uint32_t) -> caf::result<segment_admin_api> {
            if (auto err = check_client(self, access, true)) {
                return err;
            }
            return segment_admin_api{cnt};
        },
        [=](get_replica_atom, uint32_t group) -> caf::result<raft_replica_api> {
            if (auto err = check_client(self, access, true)) {
                return err;
            }
            return group == 0 ? raft_replica_api{ctl} : raft_replica_api{cnt};
        },
        [=](identify_atom) -> caf::result<std::string> {
            if (auto err = check_client(self, access, false)) {
                return err;  // with tokens, the cluster id only after `auth`
            }
            return cluster_id;
        },
        [=](data_port_atom) -> caf::result<uint16_t> {
            if (auto err = check_client(self, access, true)) {
                return err;
            }
            return port_of(data_port);
        },
        [=](auth_atom, const std::string& token) {
            return authenticate(self, access, token, cluster_id);
        },
        [=](hello_atom, std::string&, uint32_t id, uint64_t) -> caf::result<std::string, uint32_t> {
            return caf::make_error(errc::invalid_argument,
                                   fmt::format("a standalone node refuses node {}: it is not a "
                                               "member of any cluster",
                                               id));
        },
    };
}

// -- cluster node --------------------------------------------------------------------------------

// The cluster endpoint, published as node_api. Locally it is also the Raft transport of the
// node's replicas (raft_atom: deliver locally or forward to the peer's endpoint) and the segment
// router of the controller (segment operations go to the leader of the segment's container).
using cluster_endpoint_actor = node_api::extend_with<segment_admin_api>::extend<
    caf::reacts_to<init_atom, std::shared_ptr<endpoint_wiring>>,
    caf::reacts_to<connect_tick_atom>>;

struct cluster_endpoint_state {
    cluster_config cfg;
    std::shared_ptr<client_access> access;  ///< the node's clients (--token-file)
    std::shared_ptr<endpoint_wiring> wiring;
    /// Members this node connected to and that answered its hello as themselves.
    std::map<uint32_t, node_api> peers;
    std::set<uint32_t> connecting;
    /// Members that said hello to this node: node id -> the actors that speak for it (one per
    /// connection) and the instance (process run) they speak for. Raft routes and relayed Raft
    /// messages are served only to them.
    struct speaker {
        uint64_t instance = 0;
        std::vector<caf::actor_addr> via;
    };
    std::map<uint32_t, speaker> greeted;
    /// A second speaker for a greeted id is being checked against the first (alive or gone).
    std::set<uint32_t> probing;
    /// The last refusal logged per member (a retry every connect tick logs only a change, and a
    /// transient one becomes an error after 10 s of refusals at least every 2 s).
    struct refusal {
        std::string text;
        caf::actor_clock::time_point since;
        caf::actor_clock::time_point last;
        bool escalated = false;
    };
    std::map<uint32_t, refusal> refusals;
    static inline const char* name = "endpoint";
};

using endpoint_ptr = cluster_endpoint_actor::stateful_pointer<cluster_endpoint_state>;

caf::error unavailable(const std::string& what) {
    return caf::make_error(errc::unavailable, what);
}

// Each local replica learns the handle of its group's replica on `peer`, and then sends its
// Raft messages there directly.
void exchange_routes(endpoint_ptr self, uint32_t id, const node_api& peer) {
    auto& st = self->state;
    if (!st.wiring) {
        return;
    }
    uint32_t groups = static_cast<uint32_t>(st.wiring->containers.size()) + 1;
    for (uint32_t g = 0; g < groups; ++g) {
        self->request(peer, st.cfg.request_timeout, get_replica_atom::value, g)
            .then(
                [=](raft_replica_api& replica) {
                    auto p = self->state.peers.find(id);
                    if (p == self->state.peers.end() || p->second != peer) {
                        return;  // that connection is gone: its handle would be a dead route
                    }
                    auto& w = self->state.wiring;
                    if (g == 0) {
                        self->send(w->controller, raft_route_atom::value, id, replica);
                    } else {
                        self->send(w->containers[g - 1], raft_route_atom::value, id, replica);
                    }
                },
                [](caf::error&) {});  // no route: messages keep going through the endpoints
    }
}

// Tells every local replica to stop using its direct route to `id` (the peer is gone).
void drop_routes(endpoint_ptr self, uint32_t id) {
    auto& w = self->state.wiring;
    if (!w) {
        return;
    }
    self->send(w->controller, raft_route_atom::value, id, raft_replica_api{});
    for (const auto& c : w->containers) {
        self->send(c, raft_route_atom::value, id, raft_replica_api{});
    }
}

// Logs a refusal between this node and member `id` once, until its text changes.
// A refusal that can be transient (a restarted member whose old connection is not yet gone)
// is a warning until it has lasted 10 s, then an error; a configuration mismatch is an error at
// once.
void log_refusal(endpoint_ptr self, uint32_t id, const std::string& text, bool transient) {
    auto& r = self->state.refusals[id];
    auto now = self->clock().now();
    // The same refusal after a pause of more than four connect ticks is a new episode (the one
    // before ended: the refused node went away or was taken), not one that lasted.
    if (r.text != text || now - r.last > std::chrono::seconds(2)) {
        r = {text, now, now, !transient};
        if (transient) {
            module_log("actors")->warn("{}", text);
        } else {
            module_log("actors")->error("{}", text);
        }
    } else if (!r.escalated && now - r.since >= std::chrono::seconds(10)) {
        r.escalated = true;
        module_log("actors")->error("{} (for 10 s)", text);
    }
    r.last = now;
}

// This node says hello to a member it connected to; only a member that answers as itself (same
// cluster id, the expected node id) becomes a peer with Raft routes.
void greet(endpoint_ptr self, uint32_t id, node_api peer) {
    auto& cfg = self->state.cfg;
    self->request(peer, cfg.request_timeout, hello_atom::value, cfg.cluster_id, cfg.node_id,
                  cfg.instance)
        .then(
            [=](std::string& cid, uint32_t pid) {
                auto& st = self->state;
                st.connecting.erase(id);
                if (cid != st.cfg.cluster_id || pid != id) {
                    log_refusal(self, id,
                                fmt::format("node {} refused member {}: the node at its address "
                                            "is node {} of cluster {}, not node {} of cluster {}",
                                            st.cfg.node_id, id, pid, cid, id, st.cfg.cluster_id),
                                false);
                    return;
                }
                st.refusals.erase(id);
                PRAVAHA_ASSERT(st.peers.count(id) == 0,
                               "node {} greeted member {} while connected to it", st.cfg.node_id,
                               id);
                self->monitor(peer);
                st.access->add_member(peer.node());
                st.peers[id] = peer;
                exchange_routes(self, id, peer);
                module_log("actors")->info("peer connected node={} peer={}", st.cfg.node_id, id);
            },
            [=](caf::error& e) {
                self->state.connecting.erase(id);
                if (e.category() != caf::atom("system")) {  // refused, not unreachable
                    log_refusal(self, id,
                                fmt::format("member {} refused node {}: {}", id,
                                            self->state.cfg.node_id, render_error(e)),
                                code_of(e) == errc::unavailable);
                }
            });
}

// Whether the current message comes from a local replica or a member that said hello.
bool from_member_or_local(endpoint_ptr self) {
    auto& st = self->state;
    const auto& src = self->current_sender();
    if (!src) {
        return false;
    }
    auto addr = src->address();
    if (st.wiring) {
        if (addr == st.wiring->controller.address()) {
            return true;
        }
        for (const auto& c : st.wiring->containers) {
            if (addr == c.address()) {
                return true;
            }
        }
    }
    for (const auto& [id, sp] : st.greeted) {
        if (std::find(sp.via.begin(), sp.via.end(), addr) != sp.via.end()) {
            return true;
        }
    }
    return false;
}

// Whether the instance that speaks for member `id` is still there: any answer (an error
// included) says it is; an unreachable one gives way, and the member's next hello is taken.
void probe_greeted(endpoint_ptr self, uint32_t id) {
    auto& st = self->state;
    auto it = st.greeted.find(id);
    if (st.probing.count(id) != 0 || it == st.greeted.end() || it->second.via.empty()) {
        return;
    }
    auto instance = it->second.instance;
    auto gone = [=] {
        auto g = self->state.greeted.find(id);
        if (g != self->state.greeted.end() && g->second.instance == instance) {
            self->state.greeted.erase(g);
            module_log("actors")->warn(
                "node={} member {} no longer answers at its old "
                "connections; its next hello is taken",
                self->state.cfg.node_id, id);
        }
    };
    auto handle =
        caf::actor_cast<node_api>(caf::actor_cast<caf::strong_actor_ptr>(it->second.via.front()));
    if (!handle) {
        gone();
        return;
    }
    st.probing.insert(id);
    self->request(handle, std::chrono::seconds(1), get_replica_atom::value, uint32_t{0})
        .then([=](raft_replica_api&) { self->state.probing.erase(id); },
              [=](caf::error& e) {
                  self->state.probing.erase(id);
                  if (e.category() == caf::atom("system")) {
                      gone();
                  }
              });
}

// A member says hello: refused when it belongs to another cluster, is not a member, or speaks
// for a node id that another instance (process run) still speaks for (two replicas under one
// identity break Raft's safety argument). Hellos of one instance over several connections are
// all taken.
caf::result<std::string, uint32_t> hello(endpoint_ptr self,
                                         const std::string& cid,
                                         uint32_t id,
                                         uint64_t instance) {
    auto& st = self->state;
    const auto& src = self->current_sender();
    if (!src) {
        return caf::make_error(errc::invalid_argument, "hello without a sender");
    }
    // unavailable: may pass (the old instance's connection goes); invalid_argument: never.
    auto refuse = [&](const std::string& why,
                      errc code = errc::invalid_argument) -> caf::result<std::string, uint32_t> {
        log_refusal(self, id,
                    fmt::format("node {} refused a node that says it is node {}: {}",
                                st.cfg.node_id, id, why),
                    code == errc::unavailable);
        return caf::make_error(code, why);
    };
    if (cid != st.cfg.cluster_id && !mutants::active(mutants::mutant::hello_other_cluster)) {
        return refuse(fmt::format("node {} belongs to cluster {}, not {}", st.cfg.node_id,
                                  st.cfg.cluster_id, cid));
    }
    bool member = std::any_of(st.cfg.members.begin(), st.cfg.members.end(),
                              [&](const raft::cluster_member& m) { return m.id == id; });
    if (!member || id == st.cfg.node_id) {
        return refuse(fmt::format("node {} is not another member of cluster {}", id, cid));
    }
    auto addr = src->address();
    auto it = st.greeted.find(id);
    if (it != st.greeted.end() && it->second.instance != instance) {
        probe_greeted(self, id);
        return refuse(fmt::format("node {} of cluster {} is already connected to node {}; a "
                                  "second node with --node-id {} is refused",
                                  id, cid, st.cfg.node_id, id),
                      errc::unavailable);
    }
    st.access->add_member(src->node());
    auto& sp = st.greeted[id];
    sp.instance = instance;
    if (std::find(sp.via.begin(), sp.via.end(), addr) == sp.via.end()) {
        sp.via.push_back(addr);
        self->monitor(caf::actor_cast<caf::actor>(src));
    }
    return caf::result<std::string, uint32_t>(st.cfg.cluster_id, st.cfg.node_id);
}

void connect_peers(endpoint_ptr self) {
    auto& st = self->state;
    for (const auto& m : st.cfg.members) {
        if (m.id == st.cfg.node_id || st.peers.count(m.id) || st.connecting.count(m.id)) {
            continue;
        }
        st.connecting.insert(m.id);
        auto id = m.id;
        self->request(st.cfg.connector, st.cfg.request_timeout, caf::connect_atom::value, m.host,
                      m.port)
            .then(
                [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
                    if (!ptr) {
                        self->state.connecting.erase(id);
                        return;
                    }
                    // Still connecting until the hello is answered: a second connection
                    // opened meanwhile would make two peers for one member, and the routes
                    // over the one that closes first would be left behind.
                    greet(self, id, caf::actor_cast<node_api>(ptr));
                },
                [=](caf::error&) { self->state.connecting.erase(id); });
    }
}

// Forwards a controller request to the local controller replica; if another replica leads,
// once to that replica (never further, so stale hints cannot make requests circle).
template <class Result, class... Ts>
caf::result<Result> to_controller(endpoint_ptr self, Ts... args) {
    auto& st = self->state;
    if (auto err = check_request(self, st.access, args...)) {
        return err;
    }
    if (!st.wiring) {
        return unavailable("node is starting");
    }
    auto rp = self->make_response_promise<Result>();
    auto timeout = st.cfg.request_timeout;
    self->request(st.wiring->controller, timeout, args...)
        .then([rp](Result& r) mutable { rp.deliver(std::move(r)); },
              [=](caf::error& err) mutable {
                  auto hint = leader_hint(err);
                  auto peer = self->state.peers.find(hint);
                  if (hint == 0 || hint == self->state.cfg.node_id ||
                      peer == self->state.peers.end()) {
                      rp.deliver(err);
                      return;
                  }
                  self->request(peer->second, timeout, get_controller_atom::value)
                      .then(
                          [=](controller_api& remote) mutable {
                              self->request(remote, timeout, args...)
                                  .then([rp](Result& r) mutable { rp.deliver(std::move(r)); },
                                        [rp](caf::error& e) mutable { rp.deliver(e); });
                          },
                          [rp](caf::error& e) mutable { rp.deliver(e); });
              });
    return rp;
}

// Runs `fn(leader_handle)` with the handle of container c's leader replica: the local one if it
// leads, else the leader's (asked from its node); errors go to `fail`.
template <class Handle, class Fn, class Fail>
void with_container_leader(endpoint_ptr self, uint32_t c, Fn fn, Fail fail) {
    auto& st = self->state;
    if (!st.wiring || c >= st.wiring->containers.size()) {
        fail(caf::make_error(errc::invalid_argument, "no container " + std::to_string(c)));
        return;
    }
    auto local = st.wiring->containers[c];
    auto timeout = st.cfg.request_timeout;
    self->request(local, timeout, raft_status_atom::value)
        .then(
            [=](const raft::group_status& g) mutable {
                if (g.role == raft::role::leader) {
                    fn(caf::actor_cast<Handle>(local));
                    return;
                }
                auto peer = self->state.peers.find(g.leader);
                if (g.leader == 0 || peer == self->state.peers.end()) {
                    fail(not_leader_error(g.leader));
                    return;
                }
                if constexpr (std::is_same_v<Handle, segment_store_api>) {
                    self->request(peer->second, timeout, get_container_atom::value, c)
                        .then([=](segment_store_api& h) mutable { fn(h); },
                              [=](caf::error& e) mutable { fail(e); });
                } else {
                    self->request(peer->second, timeout, get_admin_atom::value, c)
                        .then([=](segment_admin_api& h) mutable { fn(h); },
                              [=](caf::error& e) mutable { fail(e); });
                }
            },
            [=](caf::error& e) mutable { fail(e); });
}

// A segment operation of the local controller: sent to the leader of the segment's container.
template <class Result, class Atom, class... Ts>
caf::result<Result> route_segment_op(endpoint_ptr self, Atom a, const segment_key& key, Ts... xs) {
    if (auto err = check_client(self, self->state.access, true)) {
        return err;
    }
    auto rp = self->make_response_promise<Result>();
    auto c = container_of(key, self->state.cfg.container_count);
    auto timeout = self->state.cfg.request_timeout;
    with_container_leader<segment_admin_api>(
        self, c,
        [=](segment_admin_api h) mutable {
            self->request(h, timeout, a, key, xs...)
                .then([rp](Result& r) mutable { rp.deliver(std::move(r)); },
                      [rp](caf::error& e) mutable { rp.deliver(e); });
        },
        [rp](const caf::error& e) mutable { rp.deliver(e); });
    return rp;
}

// A Raft message: relayed to its node's endpoint, or handed to the local replica of its group.
void relay_raft(endpoint_ptr self, raft::message& m) {
    auto& st = self->state;
    if (!from_member_or_local(self)) {
        return;  // from a node that did not say hello as a member
    }
    if (m.to != st.cfg.node_id) {
        auto peer = st.peers.find(m.to);
        if (peer != st.peers.end()) {
            self->send(peer->second, raft_atom::value, std::move(m));
        }
        return;  // not connected yet: Raft resends
    }
    if (!st.wiring) {
        return;
    }
    if (m.group == 0) {
        self->send(st.wiring->controller, raft_atom::value, std::move(m));
    } else if (m.group <= st.wiring->containers.size()) {
        self->send(st.wiring->containers[m.group - 1], raft_atom::value, std::move(m));
    }
}

// The cluster's members and every local group's Raft status (`pravaha cluster status`).
caf::result<raft::cluster_info> cluster_status(endpoint_ptr self) {
    auto& st = self->state;
    if (!st.wiring) {
        return unavailable("node is starting");
    }
    auto info = std::make_shared<raft::cluster_info>();
    info->node = st.cfg.node_id;
    info->container_count = st.cfg.container_count;
    info->members = st.cfg.members;
    if (st.cfg.listeners) {
        info->listeners = st.cfg.listeners();
    }
    if (st.cfg.storage_full) {
        info->storage_full = st.cfg.storage_full();
    }
    info->cluster_id = st.cfg.cluster_id;
    auto rp = self->make_response_promise<raft::cluster_info>();
    auto groups =
        std::make_shared<std::vector<raft::group_status>>(st.wiring->containers.size() + 1);
    auto remaining = std::make_shared<size_t>(groups->size());
    auto done = [=]() mutable {
        if (--*remaining == 0) {
            info->groups = *groups;
            rp.deliver(*info);
        }
    };
    auto ask = [&](auto handle, size_t slot) {
        self->request(handle, st.cfg.request_timeout, raft_status_atom::value)
            .then(
                [=](raft::group_status& g) mutable {
                    (*groups)[slot] = std::move(g);
                    done();
                },
                [=](caf::error&) mutable {
                    (*groups)[slot].reachable = false;
                    done();
                });
    };
    ask(st.wiring->controller, 0);
    for (size_t i = 0; i < st.wiring->containers.size(); ++i) {
        ask(st.wiring->containers[i], i + 1);
    }
    return rp;
}

// The leader replica of container `c`, for a client that sends to it directly. With tokens, a
// client gets only a local leader's handle: it presented its token to this node, not to the
// leader's (it asks there itself, `pravaha cluster status` names the leader), so another node's
// handle is answered as not_leader with the leader's id.
caf::result<segment_store_api> leader_store(endpoint_ptr self, uint32_t c) {
    auto rp = self->make_response_promise<segment_store_api>();
    bool local_only = check_client(self, self->state.access, true) != caf::error{};
    auto node = self->node();
    with_container_leader<segment_store_api>(
        self, c,
        [rp, local_only, node](segment_store_api h) mutable {
            if (local_only && h.node() != node) {
                rp.deliver(caf::make_error(errc::unavailable,
                                           "the container's leader is on another node: ask it"));
                return;
            }
            rp.deliver(h);
        },
        [rp](const caf::error& e) mutable { rp.deliver(e); });
    return rp;
}

cluster_endpoint_actor::behavior_type cluster_endpoint_impl(endpoint_ptr self,
                                                            cluster_config cfg,
                                                            std::shared_ptr<client_access> access) {
    self->state.cfg = cfg;
    self->state.access = access;
    self->set_down_handler([=](caf::down_msg& dm) {
        access->forget(dm.source);
        auto& greeted = self->state.greeted;
        for (auto it = greeted.begin(); it != greeted.end(); ++it) {
            auto& via = it->second.via;
            via.erase(std::remove(via.begin(), via.end(), dm.source), via.end());
            if (via.empty()) {
                greeted.erase(it);
                break;
            }
        }
        for (auto it = self->state.peers.begin(); it != self->state.peers.end(); ++it) {
            if (it->second.address() == dm.source) {
                module_log("actors")->info("peer lost node={} peer={}", self->state.cfg.node_id,
                                           it->first);
                drop_routes(self, it->first);
                self->state.peers.erase(it);
                break;
            }
        }
    });
    self->send(self, connect_tick_atom::value);
    using ctl_bool = bool;
    return {
        [=](init_atom, std::shared_ptr<endpoint_wiring>& w) {
            self->state.wiring = std::move(w);
            for (const auto& [id, peer] : self->state.peers) {
                exchange_routes(self, id, peer);  // peers connected before the wiring arrived
            }
        },
        [=](connect_tick_atom) {
            if (check_client(self, access, true)) {
                return;  // only its own ticks: another would start a second loop
            }
            connect_peers(self);
            self->delayed_send(self, std::chrono::milliseconds(500), connect_tick_atom::value);
        },
        [=](raft_atom, raft::message& m) { relay_raft(self, m); },
        [=](create_scope_atom a, std::string& s) {
            return to_controller<ctl_bool>(self, a, std::move(s));
        },
        [=](delete_scope_atom a, std::string& s) {
            return to_controller<ctl_bool>(self, a, std::move(s));
        },
        [=](list_scopes_atom a) -> caf::result<std::vector<std::string>> {
            auto g = access->of(self->current_sender(), self->node());
            if (g && g->sees_all()) {
                return to_controller<std::vector<std::string>>(self, a);
            }
            // Asked of itself as a local sender (who sees all, and reaches the leader).
            return visible_listing(self, caf::actor_cast<node_api>(self),
                                   self->state.cfg.request_timeout, std::move(g));
        },
        [=](create_stream_atom a, std::string& s, std::string& n, uint32_t k) {
            return to_controller<stream_record>(self, a, std::move(s), std::move(n), k);
        },
        [=](list_streams_atom a, std::string& s) {
            return to_controller<std::vector<std::string>>(self, a, std::move(s));
        },
        [=](get_stream_atom a, std::string& s, std::string& n) {
            return to_controller<stream_record>(self, a, std::move(s), std::move(n));
        },
        [=](seal_stream_atom a, std::string& s, std::string& n) {
            return to_controller<stream_record>(self, a, std::move(s), std::move(n));
        },
        [=](delete_stream_atom a, std::string& s, std::string& n) {
            return to_controller<ctl_bool>(self, a, std::move(s), std::move(n));
        },
        [=](stream_info_atom a, std::string& s, std::string& n) {
            return to_controller<stream_info>(self, a, std::move(s), std::move(n));
        },
        [=](create_stream_atom a, std::string& s, std::string& n, uint32_t k, scaling_policy& p) {
            return to_controller<stream_record>(self, a, std::move(s), std::move(n), k, p);
        },
        [=](update_stream_atom a, std::string& s, std::string& n, scaling_policy& p) {
            return to_controller<stream_record>(self, a, std::move(s), std::move(n), p);
        },
        [=](scale_atom a, std::string& s, std::string& n, scale_request& r) {
            return to_controller<scale_result>(self, a, std::move(s), std::move(n), std::move(r));
        },
        [=](history_atom a, std::string& s, std::string& n) {
            return to_controller<std::vector<epoch_info>>(self, a, std::move(s), std::move(n));
        },
        [=](successors_atom a, std::string& s, std::string& n, segment_id id) {
            return to_controller<segment_successors>(self, a, std::move(s), std::move(n), id);
        },
        [=](stream_cut_atom a, std::string& s, std::string& n, bool head) {
            return to_controller<stream_cut>(self, a, std::move(s), std::move(n), head);
        },
        [=](resolve_cut_atom a, std::string& s, std::string& n, stream_cut& c) {
            return to_controller<stream_cut>(self, a, std::move(s), std::move(n), std::move(c));
        },
        [=](group_create_atom a, std::string& s, std::string& n, group_config& c) {
            return to_controller<group_info>(self, a, std::move(s), std::move(n), std::move(c));
        },
        [=](group_delete_atom a, std::string& s, std::string& n) {
            return to_controller<ctl_bool>(self, a, std::move(s), std::move(n));
        },
        [=](group_list_atom a, std::string& s) {
            return to_controller<std::vector<std::string>>(self, a, std::move(s));
        },
        [=](txn_atom a, txn_request& r) {
            return to_controller<txn_record>(self, a, std::move(r));
        },
        [=](txn_list_atom a, std::string& s, std::string& n) {
            return to_controller<std::vector<txn_record>>(self, a, std::move(s), std::move(n));
        },
        [=](group_info_atom a, std::string& s, std::string& n) {
            return to_controller<group_info>(self, a, std::move(s), std::move(n));
        },
        [=](group_join_atom a, std::string& s, std::string& n, group_sync& r) {
            return to_controller<group_assignment>(self, a, std::move(s), std::move(n),
                                                   std::move(r));
        },
        [=](group_sync_atom a, std::string& s, std::string& n, group_sync& r) {
            return to_controller<group_assignment>(self, a, std::move(s), std::move(n),
                                                   std::move(r));
        },
        [=](group_leave_atom a, std::string& s, std::string& n, group_sync& r) {
            return to_controller<ctl_bool>(self, a, std::move(s), std::move(n), std::move(r));
        },
        [=](group_checkpoint_atom a, std::string& s, std::string& n, std::string& c) {
            return to_controller<std::vector<stream_cut>>(self, a, std::move(s), std::move(n),
                                                          std::move(c));
        },
        [=](group_reset_atom a, std::string& s, std::string& n, std::string& c,
            std::vector<stream_cut>& cuts, uint32_t seen) {
            return to_controller<uint32_t>(self, a, std::move(s), std::move(n), std::move(c),
                                           std::move(cuts), seen);
        },
        [=](get_segment_store_atom) -> caf::result<segment_store_api> {
            if (auto err = check_client(self, access, false)) {
                return err;
            }
            return leader_store(self, 0);
        },
        [=](get_container_atom, uint32_t c) -> caf::result<segment_store_api> {
            if (auto err = check_client(self, access, false)) {
                return err;
            }
            return leader_store(self, c);
        },
        [=](get_controller_atom) -> caf::result<controller_api> {
            if (auto err = check_client(self, access, true)) {
                return err;
            }
            if (!self->state.wiring) {
                return unavailable("node is starting");
            }
            return controller_api{self->state.wiring->controller};
        },
        [=](hello_atom, std::string& cid, uint32_t id, uint64_t instance) {
            return hello(self, cid, id, instance);
        },
        [=](identify_atom) -> caf::result<std::string> {
            if (auto err = check_client(self, access, false)) {
                return err;  // with tokens, the cluster id only after `auth`
            }
            return self->state.cfg.cluster_id;
        },
        [=](data_port_atom) -> caf::result<uint16_t> {
            if (auto err = check_client(self, access, true)) {
                return err;
            }
            return port_of(self->state.cfg.data_port);
        },
        [=](auth_atom, const std::string& token) {
            return authenticate(self, access, token, self->state.cfg.cluster_id);
        },
        [=](get_replica_atom, uint32_t g) -> caf::result<raft_replica_api> {
            auto& st = self->state;
            if (!from_member_or_local(self)) {
                return caf::make_error(errc::invalid_argument,
                                       "Raft routes are for members that said hello");
            }
            if (!st.wiring || g > st.wiring->containers.size()) {
                return caf::make_error(errc::invalid_argument, "no group " + std::to_string(g));
            }
            if (g == 0) {
                return raft_replica_api{st.wiring->controller};
            }
            return raft_replica_api{st.wiring->containers[g - 1]};
        },
        [=](get_admin_atom, uint32_t c) -> caf::result<segment_admin_api> {
            if (auto err = check_client(self, access, true)) {
                return err;
            }
            auto& st = self->state;
            if (!st.wiring || c >= st.wiring->containers.size()) {
                return caf::make_error(errc::invalid_argument, "no container " + std::to_string(c));
            }
            return segment_admin_api{st.wiring->containers[c]};
        },
        [=](cluster_info_atom) -> caf::result<raft::cluster_info> {
            if (auto err = check_client(self, access, false)) {
                return err;
            }
            return cluster_status(self);
        },
        [=](create_segment_atom a, const segment_key& k) {
            return route_segment_op<bool>(self, a, k);
        },
        [=](seal_segment_atom a, const segment_key& k) {
            return route_segment_op<bool>(self, a, k);
        },
        [=](delete_segment_atom a, const segment_key& k) {
            return route_segment_op<bool>(self, a, k);
        },
        [=](segment_status_atom a, const segment_key& k) {
            return route_segment_op<segment_status>(self, a, k);
        },
        [=](segment_load_atom a, const segment_key& k) {
            return route_segment_op<segment_load>(self, a, k);
        },
        [=](create_txn_segment_atom a, const segment_key& k, int64_t limit) {
            return route_segment_op<bool>(self, a, k, limit);
        },
        [=](merge_segment_atom a, const segment_key& target, const segment_key& source) {
            // The target's container: the source lives there too (its uid is drawn for it).
            return route_segment_op<int64_t>(self, a, target, source);
        },
    };
}

void stop_all(const std::vector<container_actor>& containers) {
    for (const auto& c : containers) {
        caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    }
}

}  // namespace

memory_budget split_memory(size_t memory_bytes, uint32_t containers, uint32_t members) {
    containers = std::max<uint32_t>(containers, 1);
    // Every group (containers and the controller) may send to every other member at once.
    size_t transfers = size_t{containers + 1} * (std::max<uint32_t>(members, 2) - 1);
    raft_settings defaults;
    return memory_budget{
        memory_bytes / 4 / containers,
        memory_bytes / 4 / (containers + 1),
        std::max<size_t>(1000, memory_bytes / 8 / 1024 / containers),
        std::clamp<size_t>(memory_bytes / 16 / transfers / defaults.snapshot_window, 64u << 10,
                           defaults.snapshot_chunk_bytes),
    };
}

caf::expected<node_actors> spawn_node(caf::actor_system& sys, const node_config& cfg) {
    container_config ccfg;
    ccfg.store = cfg.store;
    if (cfg.memory_bytes > 0) {
        auto m = split_memory(cfg.memory_bytes, 1);
        ccfg.pending_bytes_max = m.pending_bytes_per_container;
        ccfg.parked_reads_max = m.parked_reads_per_container;
    }
    ccfg.detached = cfg.detached;
    ccfg.storage_full = cfg.storage_full;
    ccfg.rate_window_ms = cfg.scaling.window_ms;
    ccfg.metrics_per_stream = cfg.metrics_per_stream;
    auto access = std::make_shared<client_access>(cfg.tokens);
    ccfg.access = access;
    auto container = spawn_container(sys, ccfg);
    if (!container) {
        return std::move(container.error());
    }
    controller_config kcfg;
    kcfg.access = access;
    kcfg.metrics_per_stream = cfg.metrics_per_stream;
    kcfg.group_lag_every = cfg.group_lag_every;
    kcfg.store = cfg.store;
    kcfg.container = *container;
    kcfg.wall_clock_ms = cfg.wall_clock_ms;
    kcfg.detached = cfg.detached;
    kcfg.storage_full = cfg.storage_full;
    kcfg.scaling = cfg.scaling;
    auto controller = spawn_controller(sys, kcfg);
    if (!controller) {
        caf::anon_send_exit(*container, caf::exit_reason::user_shutdown);
        return std::move(controller.error());
    }
    node_actors out;
    out.container = *container;
    out.controller = *controller;
    out.containers = {*container};
    out.endpoint = sys.spawn(endpoint_impl, *controller, *container, cfg.listeners,
                             cfg.storage_full, cfg.cluster_id, cfg.data_port, access);
    return out;
}

caf::expected<node_actors> spawn_cluster_node(caf::actor_system& sys, const cluster_config& cfg) {
    PRAVAHA_ASSERT(cfg.store != nullptr, "cluster node needs a store");
    std::vector<uint32_t> ids;
    for (const auto& m : cfg.members) {
        ids.push_back(m.id);
    }
    if (std::count(ids.begin(), ids.end(), cfg.node_id) != 1 || ids.size() < 2) {
        return caf::make_error(errc::invalid_argument,
                               "node " + std::to_string(cfg.node_id) +
                                   " must be listed once among at least two members");
    }
    if (cfg.container_count == 0 || cfg.container_count > 1024) {
        return caf::make_error(errc::invalid_argument, "containers must be 1..1024");
    }
    auto access = std::make_shared<client_access>(cfg.tokens);
    auto endpoint = sys.spawn(cluster_endpoint_impl, cfg, access);
    raft_settings rs;
    rs.node_id = cfg.node_id;
    rs.members = ids;
    rs.peers = endpoint;
    rs.tick = cfg.tick;
    rs.election_ticks = cfg.election_ticks;
    auto budget =
        split_memory(cfg.memory_bytes, cfg.container_count, static_cast<uint32_t>(ids.size()));
    if (cfg.memory_bytes > 0) {
        rs.retained_bytes_max = budget.retained_bytes_per_group;
        rs.snapshot_chunk_bytes = budget.snapshot_chunk_bytes;
    }
    rs.snapshot_rate_bytes = cfg.snapshot_rate_bytes;
    if (cfg.snapshot_chunk_bytes > 0) {
        rs.snapshot_chunk_bytes = cfg.snapshot_chunk_bytes;
    }
    // The containers' groups and the controller's share the node's rate and its followers.
    rs.pacer = std::make_shared<storage::raft::snapshot_pacer>(
        snapshot_bytes_per_tick(rs), cfg.container_count + 1, rs.snapshot_chunk_bytes);
    std::vector<container_actor> containers;
    for (uint32_t c = 0; c < cfg.container_count; ++c) {
        container_config ccfg;
        ccfg.id = c;
        ccfg.store = cfg.store;
        ccfg.detached = cfg.detached;
        ccfg.container_count = cfg.container_count;
        ccfg.storage_full = cfg.storage_full;
        ccfg.rate_window_ms = cfg.scaling.window_ms;
        ccfg.metrics_per_stream = cfg.metrics_per_stream;
        ccfg.access = access;
        if (cfg.memory_bytes > 0) {
            ccfg.pending_bytes_max = budget.pending_bytes_per_container;
            ccfg.parked_reads_max = budget.parked_reads_per_container;
        }
        ccfg.raft = rs;
        ccfg.raft.seed = cfg.seed * 0x9E3779B97F4A7C15ULL + cfg.node_id * 1000003ULL + c + 1;
        auto container = spawn_container(sys, ccfg);
        if (!container) {
            stop_all(containers);
            caf::anon_send_exit(endpoint, caf::exit_reason::user_shutdown);
            return std::move(container.error());
        }
        containers.push_back(*container);
    }
    controller_config kcfg;
    kcfg.access = access;
    kcfg.metrics_per_stream = cfg.metrics_per_stream;
    kcfg.group_lag_every = cfg.group_lag_every;
    kcfg.store = cfg.store;
    kcfg.container = endpoint;
    kcfg.wall_clock_ms = cfg.wall_clock_ms;
    kcfg.detached = cfg.detached;
    kcfg.storage_full = cfg.storage_full;
    kcfg.scaling = cfg.scaling;
    kcfg.request_timeout = cfg.request_timeout;
    kcfg.container_count = cfg.container_count;
    kcfg.raft = rs;
    kcfg.raft.seed = cfg.seed * 0x9E3779B97F4A7C15ULL + cfg.node_id * 1000003ULL;
    auto controller = spawn_controller(sys, kcfg);
    if (!controller) {
        stop_all(containers);
        caf::anon_send_exit(endpoint, caf::exit_reason::user_shutdown);
        return std::move(controller.error());
    }
    auto wiring = std::make_shared<endpoint_wiring>();
    wiring->controller = *controller;
    wiring->containers = containers;
    caf::anon_send(endpoint, init_atom::value, wiring);
    node_actors out;
    out.endpoint = endpoint;
    out.container = containers.front();
    out.controller = *controller;
    out.containers = containers;
    return out;
}

}  // namespace pravaha::actors
