#include "client/internal.hpp"
#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/mutants.hpp"

#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

namespace pravaha::client::detail {

namespace {

using fetch_timeout_atom = caf::atom_constant<caf::atom("rfetchtmo")>;
using reconnect_atom = caf::atom_constant<caf::atom("rreconn")>;

constexpr uint32_t read_bytes = 1024 * 1024;
constexpr uint32_t poll_wait_ms = 2000;

struct segment_reader {
    segment_key key;
    int64_t offset = 0;
    bool outstanding = false;
    bool finished = false;                 // sealed and fully read
    uint64_t asked_in_fetch = UINT64_MAX;  // a zero-wait fetch asks each segment once
    transport::segment_store_actor store;  // the leader of its container; valid while connected
};

struct reader_state {
    endpoint_info ep;
    transport::node_actor node;
    bool connected = false;
    /// Nodes to try after losing the current one (the cluster's members; else just `ep`).
    std::vector<node_address> nodes;
    size_t node_index = 0;
    uint64_t generation = 0;
    caf::actor_clock::time_point down_since;
    std::vector<segment_reader> segments;
    std::deque<event> buffer;
    // The one pending fetch of the facade.
    caf::response_promise fetch;
    bool fetch_pending = false;
    uint64_t fetch_id = 0;
    uint32_t fetch_wait_ms = 0;
    caf::error failure;
    caf::actor_addr self_addr;
    static inline const char* name = "event_reader";

    // Runs when the actor ends: its monitors must not outlive it (see unwatch).
    ~reader_state() {
        unwatch(self_addr, node.address());
        for (const auto& s : segments) {
            unwatch(self_addr, s.store.address());
        }
    }
};

using reader_ptr = caf::stateful_actor<reader_state>*;

void issue_reads(reader_ptr self);

// A zero-wait fetch has its answer once every unfinished segment was asked in this fetch and
// has answered (so "nothing" really means "caught up", also right after a reconnect).
bool all_asked_and_answered(reader_ptr self) {
    const auto& st = self->state;
    if (!st.connected) {
        return false;
    }
    for (const auto& s : st.segments) {
        if (!s.finished && (s.outstanding || s.asked_in_fetch != st.fetch_id)) {
            return false;
        }
    }
    return true;
}

bool all_finished(reader_ptr self) {
    for (auto& s : self->state.segments) {
        if (!s.finished) {
            return false;
        }
    }
    return true;
}

void answer_fetch(reader_ptr self) {
    auto& st = self->state;
    if (!st.fetch_pending) {
        return;
    }
    if (st.failure) {
        st.fetch.deliver(st.failure);
        st.failure = caf::error{};
    } else {
        std::deque<event> out;
        out.swap(st.buffer);
        st.fetch.deliver(std::move(out), all_finished(self));
    }
    st.fetch_pending = false;
    ++st.fetch_id;
}

void maybe_answer(reader_ptr self) {
    auto& st = self->state;
    if (!st.fetch_pending) {
        return;
    }
    if (!st.buffer.empty() || st.failure || all_finished(self) ||
        (st.fetch_wait_ms == 0 && all_asked_and_answered(self))) {
        answer_fetch(self);
    }
}

void lose_link(reader_ptr self, bool pause = false);

// Asks the node for the leader replica of each segment's container, then reads straight from
// them.
void attach_store(reader_ptr self) {
    auto gen = self->state.generation;
    std::vector<segment_key> keys;
    for (const auto& seg : self->state.segments) {
        keys.push_back(seg.key);
    }
    attach_containers(
        self, connector_of(self->system(), self->state.ep), self->state.node, keys,
        attach_timeout(self->state.ep.cfg),
        [=](std::vector<transport::segment_store_actor> stores, std::vector<node_address> nodes) {
            auto& s = self->state;
            if (gen != s.generation) {
                return;
            }
            for (size_t i = 0; i < stores.size(); ++i) {
                s.segments[i].store = std::move(stores[i]);
            }
            if (!nodes.empty()) {
                s.nodes = std::move(nodes);
            }
            s.connected = true;
            issue_reads(self);
        },
        [=](caf::error) {
            if (gen == self->state.generation) {
                lose_link(self, true);  // e.g. an election: ask again after a pause
            }
        });
}

void reconnect(reader_ptr self) {
    auto& st = self->state;
    auto gen = st.generation;
    if (st.nodes.empty()) {
        st.nodes.push_back(node_address{st.ep.host, st.ep.port});
    }
    auto target = st.nodes[st.node_index % st.nodes.size()];
    self->request(connector_of(self->system(), self->state.ep), std::chrono::seconds(5),
                  caf::connect_atom::value, target.host, target.port)
        .then(
            [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
                auto& s = self->state;
                if (gen != s.generation || s.connected) {
                    return;
                }
                if (!ptr) {
                    ++s.node_index;
                    self->delayed_send(self, std::chrono::milliseconds(200), reconnect_atom::value,
                                       gen);
                    return;
                }
                s.node = transport::as_node(ptr);
                self->monitor(s.node);
                attach_store(self);
            },
            [=](caf::error&) {
                auto& s = self->state;
                if (gen != s.generation) {
                    return;
                }
                ++s.node_index;  // try the next member of the cluster
                if (self->clock().now() - s.down_since > s.ep.cfg.retry_timeout) {
                    s.failure =
                        caf::make_error(errc::unavailable, "node unreachable at " + target.host +
                                                               ":" + std::to_string(target.port));
                    s.down_since = self->clock().now();
                    maybe_answer(self);
                }
                self->delayed_send(self, std::chrono::milliseconds(200), reconnect_atom::value,
                                   gen);
            });
}

void lose_link(reader_ptr self, bool pause) {
    auto& st = self->state;
    ++st.generation;
    for (auto& s : st.segments) {
        if (s.outstanding) {
            // Its answer is lost with the link: not answered in this fetch, so a zero-wait fetch
            // asks it again after reconnecting (else the fetch would wait forever).
            s.asked_in_fetch = UINT64_MAX;
        }
        s.outstanding = false;
    }
    if (st.connected) {
        st.connected = false;
        st.down_since = self->clock().now();
        self->demonitor(st.node.address());
        st.node = transport::node_actor{};
        for (auto& seg : st.segments) {
            seg.store = transport::segment_store_actor{};
        }
    }
    if (pause) {
        self->delayed_send(self, std::chrono::milliseconds(100), reconnect_atom::value,
                           st.generation);
    } else {
        reconnect(self);
    }
}

void issue_reads(reader_ptr self) {
    auto& st = self->state;
    if (!st.connected || !st.fetch_pending) {
        return;
    }
    for (size_t i = 0; i < st.segments.size(); ++i) {
        auto& seg = st.segments[i];
        if (seg.outstanding || seg.finished ||
            (st.fetch_wait_ms == 0 && seg.asked_in_fetch == st.fetch_id)) {
            continue;
        }
        seg.outstanding = true;
        seg.asked_in_fetch = st.fetch_id;
        auto gen = st.generation;
        read_request req{seg.key, seg.offset, read_bytes,
                         st.fetch_wait_ms == 0 ? 0u : poll_wait_ms};
        auto timeout = st.ep.cfg.request_timeout + std::chrono::milliseconds(req.wait_ms);
        self->request(seg.store, timeout, read_atom::value, req)
            .then(
                [=](read_result& r) {
                    auto& s = self->state;
                    if (gen != s.generation) {
                        return;
                    }
                    auto& sg = s.segments[i];
                    sg.outstanding = false;
                    size_t pos = 0;
                    int64_t base = r.offset;
                    while (pos < r.data.size()) {
                        auto start = pos;
                        auto ev = next_event(r.data, pos);
                        if (!ev) {
                            s.failure = caf::make_error(errc::corrupt_data,
                                                        "bad event framing from the node");
                            break;
                        }
                        s.buffer.push_back(event{std::string(*ev), sg.key.segment,
                                                 base + static_cast<int64_t>(start)});
                    }
                    sg.offset = r.next_offset;
                    sg.finished = r.sealed && sg.offset >= r.length;
                    maybe_answer(self);
                    issue_reads(self);
                },
                [=](caf::error& err) {
                    auto& s = self->state;
                    if (gen != s.generation) {
                        return;
                    }
                    s.segments[i].outstanding = false;
                    if (needs_reconnect(err)) {
                        s.segments[i].asked_in_fetch = UINT64_MAX;  // ask again, see lose_link
                        lose_link(self);
                        return;
                    }
                    s.failure = err;
                    maybe_answer(self);
                });
    }
}

caf::behavior reader_impl(reader_ptr self,
                          endpoint_info ep,
                          transport::node_actor node,
                          stream_info info,
                          start_position from,
                          start_offsets offsets) {
    auto& st = self->state;
    st.ep = std::move(ep);
    st.self_addr = self->address();
    st.node = std::move(node);
    st.down_since = self->clock().now();
    self->monitor(st.node);
    for (const auto& s : info.segments) {
        segment_reader r;
        r.key = segment_key{info.record.uid, s.id};
        r.offset = from == start_position::tail ? s.length : 0;
        if (auto it = offsets.find(s.id.value); it != offsets.end()) {
            r.offset = it->second;
        }
        st.segments.push_back(r);
    }
    attach_store(self);
    self->set_down_handler([=](caf::down_msg& dm) {
        auto& s = self->state;
        bool ours = dm.source == s.node.address();
        for (const auto& seg : s.segments) {
            ours = ours || dm.source == seg.store.address();
        }
        if (s.connected && ours) {
            lose_link(self);
        }
    });
    return {
        [=](fetch_atom, uint32_t wait_ms) -> caf::result<std::deque<event>, bool> {
            auto& s = self->state;
            s.fetch = self->make_response_promise();
            s.fetch_pending = true;
            s.fetch_wait_ms = wait_ms;
            if (!s.buffer.empty()) {
                answer_fetch(self);
            } else {
                // Ask every segment first: with wait 0, "all answered and nothing" is how the
                // caller learns it has caught up.
                issue_reads(self);
                if (s.fetch_pending && wait_ms > 0) {
                    self->delayed_send(self, std::chrono::milliseconds(wait_ms),
                                       fetch_timeout_atom::value, s.fetch_id);
                }
                maybe_answer(self);
            }
            return caf::delegated<std::deque<event>, bool>{};
        },
        [=](fetch_timeout_atom, uint64_t id) {
            if (self->state.fetch_pending && self->state.fetch_id == id) {
                answer_fetch(self);
            }
        },
        [=](reconnect_atom, uint64_t gen) {
            if (gen == self->state.generation && !self->state.connected) {
                reconnect(self);
            }
        },
    };
}

class reader_facade final : public event_reader {
public:
    reader_facade(caf::actor_system& sys,
                  const endpoint_info& ep,
                  transport::node_actor node,
                  const stream_info& info,
                  start_position from)
        : sys_(sys), ep_(ep) {
        actor_ = sys.spawn(reader_impl, ep, std::move(node), info, from, start_offsets{});
    }

    ~reader_facade() override { caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown); }

    bool at_end() const override { return end_ && local_.empty(); }

    caf::expected<std::optional<event>> read_next(std::chrono::milliseconds timeout) override {
        if (local_.empty()) {
            caf::scoped_actor self{sys_};
            caf::error failure;
            auto wait_ms = static_cast<uint32_t>(std::max<int64_t>(timeout.count(), 0));
            self->request(actor_, timeout + ep_.cfg.request_timeout + std::chrono::seconds(1),
                          fetch_atom::value, wait_ms)
                .receive(
                    [&](std::deque<event>& evs, bool end) {
                        local_ = std::move(evs);
                        end_ = end;
                    },
                    [&](caf::error& err) { failure = std::move(err); });
            if (failure) {
                return failure;
            }
        }
        if (local_.empty()) {
            return std::optional<event>{};
        }
        auto ev = std::move(local_.front());
        local_.pop_front();
        return std::optional<event>{std::move(ev)};
    }

private:
    caf::actor_system& sys_;
    endpoint_info ep_;
    caf::actor actor_;
    std::deque<event> local_;
    bool end_ = false;
};

}  // namespace

int64_t offset_after(const event& ev) {
    auto header =
        mutants::active(mutants::mutant::position_without_header) ? 0 : event_header_bytes;
    return ev.offset + header + static_cast<int64_t>(ev.payload.size());
}

caf::actor spawn_reader(caf::actor_system& sys,
                        const endpoint_info& ep,
                        transport::node_actor node,
                        const stream_info& info,
                        start_position from,
                        start_offsets offsets) {
    return sys.spawn(reader_impl, ep, std::move(node), info, from, std::move(offsets));
}

std::unique_ptr<event_reader> make_reader(caf::actor_system& sys,
                                          const endpoint_info& ep,
                                          transport::node_actor node,
                                          const stream_info& info,
                                          start_position from) {
    return std::make_unique<reader_facade>(sys, ep, std::move(node), info, from);
}

}  // namespace pravaha::client::detail
