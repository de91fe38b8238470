#include "sim/net.hpp"

#include "actors/actors.hpp"
#include "sim/harness.hpp"
#include "sim/nodes.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_companion.hpp>
#include <caf/actor_system.hpp>
#include <caf/detail/test_actor_clock.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <fmt/format.h>

namespace pravaha::sim {

network::network(sim_env& env, node_set& nodes)
    : env_(env), nodes_(nodes), rng_(env.cfg.seed, "net") {}

void network::add_node_links() {
    for (uint32_t i = 0; i < env_.k.nodes; ++i) {
        for (uint32_t j = 0; j < env_.k.nodes && env_.cluster(); ++j) {
            if (j != i) {
                node_links_[{i, j}].base_latency_ns = rng_.range(20, env_.k.latency_max_us) * 1000;
            }
        }
    }
}

void network::add_client_link(uint32_t client) {
    client_links_[client].base_latency_ns = rng_.range(20, env_.k.latency_max_us) * 1000;
}

bool network::cut(uint32_t origin, uint32_t node, bool to_node) const {
    for (const auto& p : partitions_) {
        if (p.until > env_.now() && p.clients.count(origin) &&
            (p.nodes.empty() || p.nodes.count(node)) && (to_node ? p.to_node : p.to_client)) {
            return true;
        }
    }
    return false;
}

int64_t network::link_delay(uint32_t origin, uint32_t node) {
    const auto& l =
        origin >= node_origin ? node_links_[{origin - node_origin, node}] : client_links_[origin];
    int64_t d = l.base_latency_ns + rng_.skewed(env_.k.jitter_max_us) * 1000;
    if (l.clog_until > env_.now()) {
        d += l.clog_extra_ns;
    }
    return d;
}

std::optional<uint32_t> network::node_at(uint16_t port) const {
    if (!env_.cluster()) {
        return port == node_port ? std::optional<uint32_t>{0} : std::nullopt;
    }
    if (port >= cluster_port && port < cluster_port + env_.k.nodes) {
        return static_cast<uint32_t>(port - cluster_port);
    }
    return std::nullopt;
}

void network::open_connection(uint32_t origin, uint16_t port, connect_fn done) {
    auto& kern = env_.kern;
    auto target = node_at(port);
    if (!target) {
        kern.at(env_.now() + 1 * ms, [done = std::move(done)] {
            done(caf::make_error(caf::sec::cannot_connect_to_node, "no such node"));
        });
        return;
    }
    // A node's connect is answered only to the incarnation that asked.
    uint64_t origin_inc = origin >= node_origin ? nodes_.at(origin - node_origin).inc : 0;
    auto delay = 2 * link_delay(origin, *target);
    kern.at(env_.now() + delay, [this, origin, origin_inc, node = *target, done = std::move(done)] {
        if (origin >= node_origin) {
            const auto& from = nodes_.at(origin - node_origin);
            if (!from.up || from.inc != origin_inc) {
                return;
            }
        }
        auto& n = nodes_.at(node);
        if (cut(origin, node, true) || cut(origin, node, false) || n.paused_until > env_.now()) {
            return;  // no answer: the connect request times out
        }
        if (!n.up) {
            done(caf::make_error(caf::sec::cannot_connect_to_node, "connection refused"));
            return;
        }
        auto* conn = add_connection(origin, node);
        done(caf::actor_cast<caf::strong_actor_ptr>(conn->channels[0].comp));
    });
}

connection* network::add_connection(uint32_t origin, uint32_t node) {
    auto c = std::make_unique<connection>();
    c->id = next_conn_++;
    c->client = origin;
    c->node = node;
    auto* raw = c.get();
    conns_.emplace(c->id, std::move(c));
    add_channel(*raw, caf::actor_cast<caf::strong_actor_ptr>(nodes_.at(node).actors.endpoint));
    env_.kern.count("connections");
    return raw;
}

size_t network::add_channel(connection& c, caf::strong_actor_ptr target) {
    auto comp = env_.sys.spawn<caf::actor_companion>();
    auto* raw = static_cast<caf::actor_companion*>(caf::actor_cast<caf::abstract_actor*>(comp));
    size_t index = c.channels.size();
    raw->on_enqueue([this, id = c.id, index](caf::mailbox_element_ptr p) {
        on_channel(id, index, std::move(p));
    });
    c.channels.push_back(channel_t{comp, std::move(target)});
    return index;
}

void network::on_channel(uint64_t id, size_t channel, caf::mailbox_element_ptr e) {
    auto it = conns_.find(id);
    if (it == conns_.end() || !it->second->open || !e) {
        return;
    }
    auto& c = *it->second;
    if (!e->sender && e->content().match_elements<link_tick_atom>()) {
        deliver_due(c);
        return;
    }
    bool to_node = !e->mid.is_response();
    if (to_node && c.draining) {
        return;
    }
    // A node blocked in fsync sends what this step produced once the fsync returns.
    auto sender_node =
        to_node ? (c.client >= node_origin ? std::optional<uint32_t>{c.client - node_origin}
                                           : std::nullopt)
                : std::optional<uint32_t>{c.node};
    auto now = env_.now();
    auto sent = sender_node ? std::max(now, nodes_.at(*sender_node).disk->sync_done_at()) : now;
    if (sender_node && env_.cluster() && on_raft_send_ &&
        e->content().match_elements<raft_atom, raft::message>()) {
        on_raft_send_(*sender_node, e->content().get_as<raft::message>(1), sent);
    }
    auto t = sent + link_delay(c.client, c.node);
    if (c.stall_until > now) {
        t = std::max(t, c.stall_until);  // a zombie's connection: nothing moves until then
    }
    auto& last = to_node ? c.last_to_node : c.last_to_client;
    t = std::max(t, last);  // one TCP connection: FIFO per direction
    last = t;
    (to_node ? c.to_node : c.to_client).push_back(in_flight{t, channel, std::move(e)});
    auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(env_.sys.scheduler());
    sched.clock().schedule_message(
        caf::actor_clock::time_point{std::chrono::nanoseconds{t}},
        caf::actor_cast<caf::strong_actor_ptr>(c.channels[0].comp),
        caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, link_tick_atom::value));
}

template <class Handle>
void network::wrap_handles(connection& c, caf::message& msg) {
    for (size_t i = 0; i < msg.size(); ++i) {
        if (!msg.match_element<Handle>(i) || !msg.get_as<Handle>(i)) {
            continue;
        }
        auto index = add_channel(c, caf::actor_cast<caf::strong_actor_ptr>(msg.get_as<Handle>(i)));
        msg.get_mutable_as<Handle>(i) = caf::actor_cast<Handle>(c.channels[index].comp);
    }
}

void network::deliver_due(connection& c) {
    for (bool to_node : {true, false}) {
        auto& q = to_node ? c.to_node : c.to_client;
        while (c.open && !q.empty() && q.front().at <= env_.now()) {
            auto f = std::move(q.front());
            q.pop_front();
            deliver(c, f, to_node);
        }
    }
}

void network::deliver(connection& c, in_flight& f, bool to_node) {
    auto& kern = env_.kern;
    if (cut(c.client, c.node, to_node)) {
        kern.count("messages dropped by partitions");
        reset(c);  // a lost segment breaks the TCP connection
        return;
    }
    auto& e = f.elem;
    auto& ch = c.channels[f.channel];
    auto self_ptr = caf::actor_cast<caf::strong_actor_ptr>(ch.comp);
    if (to_node) {
        auto msg = e->move_content_to_message();
        if (env_.cfg.verbose) {
            auto text = caf::to_string(msg);
            kern.count("to node " + text.substr(0, text.find(',')));
        }
        if (e->mid.is_request()) {
            auto rid = c.next_rid++;
            auto mid = caf::make_message_id(rid);
            c.requests[mid.request_id().integer_value()] = {e->sender, e->mid};
            ch.target->enqueue(caf::make_mailbox_element(self_ptr, mid, {}, std::move(msg)),
                               nullptr);
        } else {
            ch.target->enqueue(caf::make_mailbox_element(self_ptr, e->mid, {}, std::move(msg)),
                               nullptr);
        }
        kern.count("messages to the node");
        return;
    }
    auto rit = c.requests.find(e->mid.request_id().integer_value());
    if (rit == c.requests.end()) {
        return;
    }
    auto [sender, orig] = rit->second;
    c.requests.erase(rit);
    auto msg = e->move_content_to_message();
    // Members refuse an impostor's hello and serve it no Raft route (actors/node.cpp).
    if (c.client == impostor_origin &&
        (msg.match_elements<raft_replica_api>() || msg.match_elements<std::string, uint32_t>())) {
        kern.fail(verdict::correctness,
                  fmt::format("node {} accepted an impostor (a twin or another cluster's node "
                              "with a member's id): it answered {}",
                              c.node,
                              msg.match_elements<raft_replica_api>() ? "a Raft route request"
                                                                     : "its hello"));
    }
    // Handles to other actors of the node: the receiver reaches them over this connection (as
    // CAF's proxies do over BASP).
    wrap_handles<segment_store_api>(c, msg);
    wrap_handles<segment_admin_api>(c, msg);
    wrap_handles<raft_replica_api>(c, msg);
    wrap_handles<controller_api>(c, msg);
    wrap_handles<node_api>(c, msg);
    if (env_.cfg.verbose) {
        auto text = caf::to_string(msg);
        // Counted by the message's first element; an actor handle (an exit or down message's
        // source, "(ID@node)") by its kind, not by every actor id.
        auto cut = text.find_first_of(",@");
        auto name = "to client " + (cut != std::string::npos && text[cut] == '@'
                                        ? std::string("(an actor handle)")
                                        : text.substr(0, cut));
        kern.count(name);
        if (kern.counter(name) % 5000 == 0) {
            kern.note(fmt::format("client {} receives {}", c.client, text.substr(0, 300)));
        }
    }
    if (sender) {
        sender->enqueue(caf::make_mailbox_element(self_ptr, orig.response_id(), {}, std::move(msg)),
                        nullptr);
    }
    kern.count("messages to clients");
}

void network::reset(connection& c) {
    if (!c.open) {
        return;
    }
    c.open = false;
    c.to_node.clear();
    c.to_client.clear();
    c.requests.clear();
    env_.kern.count("connection resets");
    env_.kern.trace(mix(0x7e5e7, c.id));
    // Disconnect outside of the companion's own callback (it holds the companion's lock).
    auto id = c.id;
    env_.kern.at(env_.now(), [this, id] {
        auto it = conns_.find(id);
        if (it == conns_.end()) {
            return;
        }
        for (auto& ch : it->second->channels) {
            close_companion(ch.comp, caf::exit_reason::remote_link_unreachable);
        }
        conns_.erase(it);
    });
}

void network::node_down(uint32_t node, bool power_loss) {
    for (auto& [id, c] : conns_) {
        if (c->open && c->client == node_origin + node) {
            reset(*c);  // the connections this node opened to the others
            continue;
        }
        if (c->node != node || !c->open) {
            continue;
        }
        if (power_loss) {
            reset(*c);
            continue;
        }
        // A process that exits still gets what it already wrote to its sockets delivered (the
        // kernel sends it before the FIN); nothing new reaches it.
        c->draining = true;
        c->to_node.clear();
        auto cid = c->id;
        env_.kern.at(std::max(env_.now(), c->last_to_client) + 1, [this, cid] {
            auto it = conns_.find(cid);
            if (it != conns_.end()) {
                reset(*it->second);
            }
        });
    }
}

void network::client_crashed(uint32_t client, int64_t stall_until) {
    for (auto& [id, conn] : conns_) {
        if (conn->client == client && conn->open) {
            if (stall_until > 0) {
                conn->stall_until = stall_until;
            }
            // The bytes already sent may still arrive; answers are lost with the process.
            conn->to_client.clear();
            conn->requests.clear();
        }
    }
}

void network::close_origin(uint32_t origin) {
    for (auto& [id, c] : conns_) {
        if (c->open && c->client == origin) {
            reset(*c);
        }
    }
}

size_t network::open_connections(uint32_t origin) const {
    size_t open = 0;
    for (const auto& [cid, conn] : conns_) {
        open += conn->client == origin && conn->open ? 1 : 0;
    }
    return open;
}

void network::reset_random(prng& rng) {
    std::vector<connection*> open;
    for (auto& [id, c] : conns_) {
        if (c->open) {
            open.push_back(c.get());
        }
    }
    if (!open.empty()) {
        reset(*open[rng.below(open.size())]);
        env_.kern.note("connection reset");
    }
}

void network::heal() {
    partitions_.clear();
    for (auto& [link, l] : node_links_) {
        l.clog_until = 0;
    }
    for (auto& [id, l] : client_links_) {
        l.clog_until = 0;
    }
}

void network::close_all() {
    for (auto& [id, c] : conns_) {
        for (auto& ch : c->channels) {
            close_companion(ch.comp, caf::exit_reason::user_shutdown);
        }
    }
}

}  // namespace pravaha::sim
