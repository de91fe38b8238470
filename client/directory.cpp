#include "client/directory.hpp"

#include "client/data_channel.hpp"
#include "client/node_link.hpp"
#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <functional>
#include <map>
#include <memory>
#include <set>

namespace pravaha::client::detail {

namespace {

using resume_atom = caf::atom_constant<caf::atom("dresume")>;

struct waiter {
    std::vector<segment_key> keys;
    caf::response_promise rp;
    caf::actor_addr who;
};

// Queries of one stream: the one in flight, and the callers that wait for the next.
struct query_slot {
    bool in_flight = false;
    std::vector<caf::response_promise> next;
};

// What is asked, of which stream, and (successors) of which segment.
using query_key = std::tuple<caf::atom_value, std::string, std::string, uint64_t>;

struct directory_state {
    directory_state() = default;
    directory_state(const directory_state&) = delete;
    directory_state& operator=(const directory_state&) = delete;
    // The wrapped stores end with the directory (the client's actor system waits for every
    // actor when it stops).
    ~directory_state() {
        for (const auto& [store, wrapper] : wrappers) {
            caf::anon_send_exit(wrapper, caf::exit_reason::user_shutdown);
        }
    }
    endpoint_info ep;
    retry_policy policy;
    transport::node_actor node;  // where lookups go; empty while not connected
    bool node_checked = false;   // `node` belongs to the client's cluster (identify answered)
    std::vector<node_address> members;  // the cluster's members; empty: just ep
    size_t member_index = 0;
    node_address last_tried;
    uint32_t container_count = 0;  // 0 until a node answered (fixed for a cluster's life)
    /// Container -> its leader's store, as last looked up.
    std::map<uint32_t, transport::segment_store_actor> leaders;
    /// Store -> the actors it was handed to (told when it is lost).
    std::map<caf::actor_addr, std::set<caf::actor_addr>> holders;
    std::set<caf::actor_addr> watched;  // stores and holders this actor monitors
    std::vector<waiter> waiters;
    std::map<query_key, query_slot> queries;
    std::vector<caf::response_promise> node_waiters;  // dir_node_atom while not connected
    bool looking = false;                             // a lookup runs
    bool paused = false;                              // after a failed lookup, until resume_atom
    std::chrono::milliseconds pause{0};
    std::chrono::milliseconds timeout{0};  // of one lookup request; grows while they time out
    /// The connections to nodes' data ports (host:port), shared by the stores wrapped for them,
    /// which keep them open (client/data_channel.hpp), and when a connection last failed (none
    /// is tried for a minute after).
    std::map<std::string, std::weak_ptr<data_link>> links;
    std::map<std::string, caf::actor_clock::time_point> link_failed;
    /// The lookups waiting for a connection being made, per host:port (their continuations,
    /// called with the link, or null when it failed).
    std::map<std::string, std::vector<std::function<void(const std::shared_ptr<data_link>&)>>>
        connecting;
    /// Each real store's wrapper (a data store), reused by every lookup that answers that
    /// store: at most one per container replica the client reached; each ends with its store,
    /// its link or the directory.
    std::map<caf::actor_addr, transport::segment_store_actor> wrappers;
    static inline const char* name = "client_directory";
};

using dir_ptr = caf::stateful_actor<directory_state>*;

void lookup(dir_ptr self);
void send_queries(dir_ptr self);
bool queries_waiting(dir_ptr self);

void watch(dir_ptr self, const caf::actor_addr& who) {
    if (who && self->state.watched.insert(who).second) {
        self->monitor(who);
    }
}

// Whether this client sends appends over data ports: configured, in production (the
// simulator's clients connect through their world's connector), without a token or TLS.
bool uses_data_ports(dir_ptr self) {
    const auto& ep = self->state.ep;
    return ep.cfg.data_port && !ep.connector && ep.cfg.token.empty() && ep.cfg.tls_ca.empty();
}

// Hands `done` the store `s` of node `dest` (at `host`), wrapped to send its appends over the
// node's data port when the node has one; `s` itself when it has none, when `s` lives on
// another node (a leader that moved: `dest` handed out its handle) or when the port cannot be
// reached (then the CAF connection carries them, as before, and the port is not tried again
// for a minute). A new connection is opened on a thread of its own (connect_data_port_async),
// within a second: the lookups that need it meanwhile wait for it, and the directory, and every
// actor on the client's worker with it, go on.
template <class Done>
void wrap_store(dir_ptr self,
                const transport::node_actor& dest,
                const std::string& host,
                transport::segment_store_actor s,
                Done done) {
    if (!uses_data_ports(self) || s.node() != dest.node()) {
        done(std::move(s));
        return;
    }
    if (auto it = self->state.wrappers.find(s.address()); it != self->state.wrappers.end()) {
        done(it->second);
        return;
    }
    self->request(dest, self->state.timeout, data_port_atom::value)
        .then(
            [=](uint16_t port) {
                if (port == 0) {
                    done(s);
                    return;
                }
                auto& st = self->state;
                // With the link (null: appends go over CAF).
                auto finish = [=](const std::shared_ptr<data_link>& link) {
                    auto& wrappers = self->state.wrappers;
                    if (!link) {
                        done(s);
                        return;
                    }
                    if (auto it = wrappers.find(s.address()); it != wrappers.end()) {
                        done(it->second);  // made meanwhile, by another lookup
                        return;
                    }
                    auto w = spawn_data_store(self->system(), link, s);
                    wrappers.emplace(s.address(), w);
                    done(std::move(w));
                };
                auto where = host + ":" + std::to_string(port);
                if (auto link = st.links[where].lock(); link && data_link_alive(*link)) {
                    finish(link);
                    return;
                }
                if (auto f = st.link_failed.find(where);
                    f != st.link_failed.end() &&
                    self->clock().now() - f->second < std::chrono::minutes(1)) {
                    done(s);
                    return;
                }
                auto& waiting = st.connecting[where];
                waiting.emplace_back(std::move(finish));
                if (waiting.size() == 1) {
                    connect_data_port_async(
                        self->system(), caf::actor_cast<caf::actor>(self), where, host, port,
                        std::min<std::chrono::milliseconds>(st.timeout, std::chrono::seconds(1)),
                        st.ep.cfg.request_timeout);
                }
            },
            [=](caf::error&) { done(s); });  // a node that has no data port to tell
}

// A data port connection was made (or not): every lookup waiting for it goes on.
void on_data_linked(dir_ptr self,
                    const std::string& where,
                    std::shared_ptr<data_link> link,
                    const caf::error& err) {
    auto& st = self->state;
    auto waiting = std::move(st.connecting[where]);
    st.connecting.erase(where);
    if (link) {
        st.links[where] = link;
    } else {
        module_log("client")->warn("appends go over the CAF connection for a minute: {}",
                                   render_error(err));
        st.link_failed[where] = self->clock().now();
    }
    for (auto& finish : waiting) {
        finish(link);
    }
}

// The stores of `keys`, when every one is known.
std::optional<std::vector<transport::segment_store_actor>> known_stores(
    dir_ptr self, const std::vector<segment_key>& keys) {
    auto& st = self->state;
    if (st.container_count == 0) {
        return std::nullopt;
    }
    std::vector<transport::segment_store_actor> out;
    out.reserve(keys.size());
    for (const auto& k : keys) {
        auto it = st.leaders.find(container_of(k, st.container_count));
        if (it == st.leaders.end()) {
            return std::nullopt;
        }
        out.push_back(it->second);
    }
    return out;
}

// Answers `w` when its stores are all known.
bool try_serve(dir_ptr self, waiter& w) {
    auto stores = known_stores(self, w.keys);
    if (!stores) {
        return false;
    }
    for (const auto& s : *stores) {
        self->state.holders[s.address()].insert(w.who);
    }
    watch(self, w.who);
    w.rp.deliver(std::move(*stores));
    return true;
}

// Answers every waiter whose stores are all known; with `err`, fails the others.
void serve(dir_ptr self, const caf::error& err = {}) {
    auto& st = self->state;
    std::vector<waiter> left;
    for (auto& w : st.waiters) {
        if (try_serve(self, w)) {
            continue;
        }
        if (err) {
            w.rp.deliver(err);
        } else {
            left.push_back(std::move(w));
        }
    }
    st.waiters = std::move(left);
}

void lookup_done(dir_ptr self) {
    auto& st = self->state;
    st.looking = false;
    st.pause = std::chrono::milliseconds{0};
    st.timeout = attach_timeout(st.ep.cfg);
    serve(self);
    lookup(self);  // waiters that came during the lookup may want other containers
}

// A lookup failed: every waiter it could not serve gets the error (and asks again, or gives up
// after its retry timeout), and the next lookup waits for a pause that grows.
void lookup_failed(dir_ptr self, const caf::error& err) {
    auto& st = self->state;
    st.looking = false;
    if (err == caf::sec::request_timeout) {
        // A node that just died can look connected for a moment (its proxy swallows requests),
        // so the first lookups are short; a node that is only busy gets longer and longer ones.
        st.timeout = std::min(st.timeout * 2, st.ep.cfg.request_timeout);
    }
    if (needs_reconnect(err) && st.node) {
        st.node = transport::node_actor{};
        ++st.member_index;  // a node on the way is gone or does not answer: try the next one
    }
    module_log("client")->debug("client lookup failed last_tried={}:{} error={}",
                                st.last_tried.host, st.last_tried.port, render_error(err));
    serve(self, err);
    for (auto& rp : st.node_waiters) {
        rp.deliver(err);
    }
    st.node_waiters.clear();
    for (auto it = st.queries.begin(); it != st.queries.end();) {
        if (it->second.in_flight) {
            ++it;
            continue;
        }
        for (auto& rp : it->second.next) {
            rp.deliver(err);
        }
        it = st.queries.erase(it);
    }
    st.pause = st.policy.next_pause(st.pause);
    st.paused = true;
    self->delayed_send(self, st.pause, resume_atom::value);
}

// The containers some waiter needs and no store is known for.
std::set<uint32_t> wanted(dir_ptr self) {
    auto& st = self->state;
    std::set<uint32_t> out;
    for (const auto& w : st.waiters) {
        for (const auto& k : w.keys) {
            auto c = container_of(k, st.container_count);
            if (st.leaders.count(c) == 0) {
                out.insert(c);
            }
        }
    }
    return out;
}

// Asks for the leader store of each wanted container: from the leader's own node, connected
// directly (so that its death ends a connection the holders are told of, and appends take no
// detour), or from the node the directory is connected to when it knows no leader.
void ask_leaders(dir_ptr self, const raft::cluster_info& info) {
    auto containers = wanted(self);
    if (containers.empty()) {
        lookup_done(self);
        return;
    }
    struct round {
        size_t remaining = 0;
        caf::error first_error;
    };
    auto r = std::make_shared<round>();
    r->remaining = containers.size();
    auto finish_one = [self, r](uint32_t c, caf::expected<transport::segment_store_actor> got) {
        if (got) {
            self->state.leaders[c] = *got;
            watch(self, got->address());
        } else if (!r->first_error) {
            r->first_error = std::move(got.error());
        }
        if (--r->remaining == 0) {
            if (r->first_error) {
                lookup_failed(self, r->first_error);
            } else {
                lookup_done(self);
            }
        }
    };
    std::map<uint32_t, node_address> by_id;
    for (const auto& m : info.members) {
        by_id[m.id] = node_address{m.host, m.port};
    }
    auto timeout = self->state.timeout;
    auto ask = [self, timeout, finish_one](const transport::node_actor& dest, uint32_t c,
                                           const std::string& host) {
        self->request(dest, timeout, get_container_atom::value, c)
            .then(
                [=](const transport::segment_store_actor& s) {
                    wrap_store(self, dest, host, s,
                               [=](transport::segment_store_actor w) { finish_one(c, w); });
                },
                [=](caf::error& err) { finish_one(c, std::move(err)); });
    };
    for (auto c : containers) {
        uint32_t leader = 0;
        for (const auto& g : info.groups) {
            leader = g.group == c + 1 ? g.leader : leader;
        }
        auto addr = by_id.find(leader);
        if (leader == 0 || leader == info.node || addr == by_id.end()) {
            ask(self->state.node, c, self->state.last_tried.host);
            continue;
        }
        auto host = addr->second.host;  // (by_id is gone when the answer comes)
        self->request(connector_of(self->system(), self->state.ep), timeout,
                      caf::connect_atom::value, addr->second.host, addr->second.port)
            .then(
                [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
                    if (!ptr) {
                        finish_one(
                            c, caf::make_error(errc::unavailable, "container leader unreachable"));
                        return;
                    }
                    auto node = transport::as_node(ptr);
                    const auto& token = self->state.ep.cfg.token;
                    if (token.empty()) {
                        ask(node, c, host);
                        return;
                    }
                    // A node of its own: the token is presented there too.
                    self->request(node, timeout, auth_atom::value, token)
                        .then([=](const std::string&) { ask(node, c, host); },
                              [=](caf::error& err) { finish_one(c, std::move(err)); });
                },
                [=](caf::error& err) { finish_one(c, std::move(err)); });
    }
}

// Asks the node for the cluster (container count, members, leaders as it sees them).
void ask_cluster(dir_ptr self) {
    auto& st = self->state;
    self->request(st.node, st.timeout, cluster_info_atom::value)
        .then(
            [self](const raft::cluster_info& info) {
                auto& s = self->state;
                s.container_count = std::max<uint32_t>(1, info.container_count);
                if (!info.members.empty()) {
                    s.members.clear();
                    for (const auto& m : info.members) {
                        s.members.push_back(node_address{m.host, m.port});
                    }
                }
                ask_leaders(self, info);
            },
            [self](caf::error& err) { lookup_failed(self, err); });
}

// With a node: sends the waiting stream queries, and looks up the stores the waiters need.
void proceed(dir_ptr self) {
    for (auto& rp : self->state.node_waiters) {
        rp.deliver(self->state.node);
    }
    self->state.node_waiters.clear();
    send_queries(self);
    if (self->state.waiters.empty()) {
        lookup_done(self);
    } else {
        ask_cluster(self);
    }
}

// A node just connected to: used once it shows it belongs to the client's cluster.
void identify(dir_ptr self, const node_address& target) {
    auto& st = self->state;
    auto accept = [self, target] {
        self->state.node_checked = true;
        watch(self, self->state.node.address());
        module_log("client")->info("client connected endpoint={}:{}", target.host, target.port);
        proceed(self);
    };
    if (!st.ep.guard && st.ep.cfg.token.empty()) {
        accept();
        return;
    }
    // With a token, `auth` presents it (and answers the cluster id too).
    auto asked = st.ep.cfg.token.empty()
                     ? self->request(st.node, st.timeout, identify_atom::value)
                     : self->request(st.node, st.timeout, auth_atom::value, st.ep.cfg.token);
    asked.then(
        [self, target, accept](const std::string& cluster_id) {
            auto& s = self->state;
            if (!s.ep.guard) {
                accept();
                return;
            }
            if (auto err = s.ep.guard->check(cluster_id, target.host, target.port)) {
                module_log("client")->error("client refused a node: {}", render_error(err));
                s.node = transport::node_actor{};  // the next lookup connects (and checks) anew
                ++s.member_index;
                lookup_failed(self, err);
                return;
            }
            accept();
        },
        [self](caf::error& err) { lookup_failed(self, err); });
}

// Connects to the next member of the cluster (the endpoint while no member list is known).
void connect(dir_ptr self) {
    auto& st = self->state;
    if (st.members.empty()) {
        st.members.push_back(node_address{st.ep.host, st.ep.port});
    }
    auto target = st.members[st.member_index % st.members.size()];
    st.last_tried = target;
    self->request(connector_of(self->system(), st.ep), st.policy.connect_timeout,
                  caf::connect_atom::value, target.host, target.port)
        .then(
            [self, target](const caf::node_id&, caf::strong_actor_ptr& ptr,
                           const std::set<std::string>&) {
                if (!ptr) {
                    ++self->state.member_index;
                    lookup_failed(
                        self, caf::make_error(errc::unavailable, "no node at " + target.host + ":" +
                                                                     std::to_string(target.port)));
                    return;
                }
                self->state.node = transport::as_node(ptr);
                self->state.node_checked = false;
                identify(self, target);
            },
            [self](caf::error& err) {
                ++self->state.member_index;  // try the next member of the cluster
                lookup_failed(self, err);
            });
}

// Starts a lookup for the waiters, unless one runs or the directory pauses after a failure.
void lookup(dir_ptr self) {
    auto& st = self->state;
    if (st.looking || st.paused ||
        (st.waiters.empty() && st.node_waiters.empty() && !queries_waiting(self))) {
        return;
    }
    st.looking = true;
    if (st.node && st.node_checked) {
        proceed(self);
    } else if (st.node) {
        identify(self, st.last_tried);  // a token not yet presented (or refused before)
    } else {
        connect(self);
    }
}

// Sends the next request of a stream query for the callers waiting on it.
template <class R, class Atom>
void send_query(dir_ptr self, const query_key& key) {
    auto& slot = self->state.queries[key];
    slot.in_flight = true;
    auto waiting = std::make_shared<std::vector<caf::response_promise>>(std::move(slot.next));
    slot.next.clear();
    auto node = self->state.node;
    auto finish = [self, key, waiting, node](auto&& answer) {
        for (auto& rp : *waiting) {
            rp.deliver(answer);
        }
        auto& st = self->state;
        auto& sl = st.queries[key];
        sl.in_flight = false;
        if (!sl.next.empty()) {
            if (st.node) {
                send_query<R, Atom>(self, key);
            } else {
                lookup(self);
            }
        } else {
            st.queries.erase(key);
        }
    };
    auto sent = [&] {
        auto timeout = self->state.ep.cfg.request_timeout;
        if constexpr (std::is_same_v<Atom, successors_atom>) {
            return self->request(node, timeout, Atom::value, std::get<1>(key), std::get<2>(key),
                                 segment_id{std::get<3>(key)});
        } else {
            return self->request(node, timeout, Atom::value, std::get<1>(key), std::get<2>(key));
        }
    };
    sent().then([finish](R& r) { finish(std::move(r)); },
                [self, finish, node](caf::error& err) {
                    auto& st = self->state;
                    if (needs_reconnect(err) && st.node == node) {
                        st.node = transport::node_actor{};
                        ++st.member_index;
                    }
                    finish(std::move(err));
                });
}

// Sends the queries that wait and have none in flight (the directory has a node).
void send_queries(dir_ptr self) {
    for (auto& [key, slot] : self->state.queries) {
        if (slot.in_flight || slot.next.empty()) {
            continue;
        }
        if (std::get<0>(key) == get_stream_atom::value) {
            send_query<stream_record, get_stream_atom>(self, key);
        } else if (std::get<0>(key) == history_atom::value) {
            send_query<std::vector<epoch_info>, history_atom>(self, key);
        } else if (std::get<0>(key) == successors_atom::value) {
            send_query<segment_successors, successors_atom>(self, key);
        } else {
            send_query<stream_info, stream_info_atom>(self, key);
        }
    }
}

bool queries_waiting(dir_ptr self) {
    for (const auto& [key, slot] : self->state.queries) {
        if (!slot.in_flight && !slot.next.empty()) {
            return true;
        }
    }
    return false;
}

caf::response_promise add_query(dir_ptr self, query_key key) {
    auto rp = self->make_response_promise();
    auto& slot = self->state.queries[key];
    slot.next.push_back(rp);
    if (!slot.in_flight) {
        if (self->state.node) {
            send_queries(self);
        } else {
            lookup(self);
        }
    }
    return rp;
}

// A monitored actor is gone: a store (its holders are told), the node, or a holder.
void on_down(dir_ptr self, const caf::actor_addr& source) {
    auto& st = self->state;
    st.watched.erase(source);
    if (source == st.node.address()) {
        st.node = transport::node_actor{};
    }
    for (auto it = st.leaders.begin(); it != st.leaders.end();) {
        it = it->second.address() == source ? st.leaders.erase(it) : std::next(it);
    }
    for (auto it = st.wrappers.begin(); it != st.wrappers.end();) {
        it = it->second.address() == source ? st.wrappers.erase(it) : std::next(it);
    }
    if (auto it = st.holders.find(source); it != st.holders.end()) {
        for (const auto& h : it->second) {
            if (auto who = caf::actor_cast<caf::actor>(h)) {
                self->send(who, dir_lost_atom::value, source);
            }
        }
        st.holders.erase(it);
    }
    for (auto& [store, who] : st.holders) {
        who.erase(source);
    }
}

caf::behavior directory_impl(dir_ptr self, endpoint_info ep, transport::node_actor node) {
    auto& st = self->state;
    st.ep = std::move(ep);
    st.policy = retry_policy::of(st.ep.cfg);
    st.timeout = attach_timeout(st.ep.cfg);
    st.last_tried = node_address{st.ep.host, st.ep.port};
    if (node) {
        st.node = std::move(node);
        // The spawner checked it (the client factory does); a token is presented first.
        st.node_checked = st.ep.cfg.token.empty();
        watch(self, st.node.address());
    }
    self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm.source); });
    return {
        [self](dir_attach_atom, std::vector<segment_key>& keys)
            -> caf::result<std::vector<transport::segment_store_actor>> {
            // Before the promise: making it takes the sender out of the current message.
            auto who = caf::actor_cast<caf::actor_addr>(self->current_sender());
            auto rp = self->make_response_promise<std::vector<transport::segment_store_actor>>();
            waiter w{std::move(keys), rp, who};
            if (!try_serve(self, w)) {
                self->state.waiters.push_back(std::move(w));
                lookup(self);
            }
            return rp;
        },
        [self](dir_stale_atom, const caf::actor_addr& store) {
            auto& s = self->state;
            if (s.node && store == s.node.address()) {
                s.node = transport::node_actor{};
                ++s.member_index;  // as after a failed query (send_query)
            }
            for (auto it = s.leaders.begin(); it != s.leaders.end();) {
                it = it->second.address() == store ? s.leaders.erase(it) : std::next(it);
            }
        },
        [self](dir_query_atom, get_stream_atom, std::string& scope, std::string& stream) {
            return add_query(
                self, query_key{get_stream_atom::value, std::move(scope), std::move(stream), 0});
        },
        [self](dir_query_atom, history_atom, std::string& scope, std::string& stream) {
            return add_query(
                self, query_key{history_atom::value, std::move(scope), std::move(stream), 0});
        },
        [self](dir_query_atom, stream_info_atom, std::string& scope, std::string& stream) {
            return add_query(
                self, query_key{stream_info_atom::value, std::move(scope), std::move(stream), 0});
        },
        [self](dir_query_atom, successors_atom, std::string& scope, std::string& stream,
               segment_id segment) {
            return add_query(self, query_key{successors_atom::value, std::move(scope),
                                             std::move(stream), segment.value});
        },
        [self](dir_node_atom) -> caf::result<transport::node_actor> {
            auto& s = self->state;
            if (s.node && s.node_checked) {
                return s.node;
            }
            s.node_waiters.push_back(self->make_response_promise());
            lookup(self);
            return caf::delegated<transport::node_actor>{};
        },
        [self](data_linked_atom, std::string& where, std::shared_ptr<data_link>& link,
               caf::error& err) { on_data_linked(self, where, std::move(link), err); },
        [self](resume_atom) {
            self->state.paused = false;
            lookup(self);
        },
    };
}

}  // namespace

endpoint_info spawn_directory(caf::actor_system& sys,
                              endpoint_info ep,
                              transport::node_actor node) {
    PRAVAHA_ASSERT(!ep.directory, "a directory exists already for {}:{}", ep.host, ep.port);
    auto copy = ep;
    ep.directory = sys.spawn(directory_impl, std::move(copy), std::move(node));
    return ep;
}

}  // namespace pravaha::client::detail
