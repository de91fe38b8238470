// The reader-group actor: one per reader group, on the controller's leader. It keeps when each
// online reader was last heard of (the controller tells it of every committed join and sync) and,
// when a lease passes, asks the controller to declare the reader offline (Pravega has no such
// detector: a crashed reader's segments stay stuck until an application calls readerOffline).
// It also starts the group's automatic (silent) checkpoints.

#include "actors/reader_group_actor.hpp"

#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/mutants.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include <algorithm>
#include <map>

namespace pravaha::actors {

namespace {

using group_tick_atom = caf::atom_constant<caf::atom("grptick")>;

struct lease {
    uint64_t session = 0;
    uint64_t syncs = 0;  // the reports of the session seen (the offline carries it)
    caf::actor_clock::time_point deadline;
    bool asked = false;  // an offline request is in flight
};

struct group_actor_state {
    group_actor_config cfg;
    std::map<std::string, lease> leases;
    caf::actor_clock::time_point next_checkpoint;
    bool checkpoint_asked = false;
    static inline const char* name = "reader_group";
};

using group_ptr = caf::stateful_actor<group_actor_state>*;

std::chrono::milliseconds ms(int64_t n) {
    return std::chrono::milliseconds(n);
}

std::chrono::milliseconds tick_of(const group_actor_config& cfg) {
    return ms(std::clamp<int64_t>(cfg.lease_ms / 8, 20, 1000));
}

void on_tick(group_ptr self) {
    auto& st = self->state;
    auto now = self->clock().now();
    for (auto& [reader, l] : st.leases) {
        if (l.asked || now < l.deadline || mutants::active(mutants::mutant::no_lease_expiry)) {
            continue;
        }
        l.asked = true;
        module_log("actors")->info("reader lease passed group={}/{} reader={} session={}",
                                   st.cfg.scope, st.cfg.name, reader, l.session);
        auto name = reader;
        auto session = l.session;
        self->request(st.cfg.controller, ms(st.cfg.lease_ms), group_offline_atom::value,
                      st.cfg.scope, st.cfg.name, reader, l.session, l.syncs)
            .then(
                [self, name, session](bool changed) {
                    auto it = self->state.leases.find(name);
                    if (it == self->state.leases.end() || it->second.session != session) {
                        return;
                    }
                    if (changed) {
                        self->state.leases.erase(it);
                    } else {
                        // Void: a report was applied since (its group_seen renews the lease,
                        // before or after this answer). The lease stays: without it a reader
                        // that then died would never be declared offline.
                        it->second.asked = false;
                    }
                },
                [self, name, session](caf::error&) {
                    // Not committed (a leader change, a timeout): asked again next tick.
                    auto it = self->state.leases.find(name);
                    if (it != self->state.leases.end() && it->second.session == session) {
                        it->second.asked = false;
                    }
                });
    }
    if (st.cfg.checkpoint_interval_ms > 0 && !st.checkpoint_asked && !st.leases.empty() &&
        now >= st.next_checkpoint) {
        st.checkpoint_asked = true;
        st.next_checkpoint = now + ms(st.cfg.checkpoint_interval_ms);
        self->request(st.cfg.controller, ms(st.cfg.checkpoint_interval_ms), group_auto_atom::value,
                      st.cfg.scope, st.cfg.name)
            .then([self](bool) { self->state.checkpoint_asked = false; },
                  [self](caf::error&) { self->state.checkpoint_asked = false; });
    }
    self->delayed_send(self, tick_of(st.cfg), group_tick_atom::value);
}

caf::behavior group_impl(group_ptr self, group_actor_config cfg) {
    auto& st = self->state;
    st.cfg = std::move(cfg);
    auto now = self->clock().now();
    for (const auto& r : st.cfg.readers) {
        st.leases[r.name] = lease{r.session, r.syncs, now + ms(st.cfg.lease_ms), false};
    }
    st.next_checkpoint = now + ms(st.cfg.checkpoint_interval_ms);
    self->monitor(st.cfg.controller);
    self->set_down_handler([self](caf::down_msg&) { self->quit(); });
    self->delayed_send(self, tick_of(st.cfg), group_tick_atom::value);
    return {
        [=](group_tick_atom) { on_tick(self); },
        [=](group_seen_atom, const std::string& reader, uint64_t session, uint64_t syncs) {
            auto& l = self->state.leases[reader];
            if (l.session != session) {
                l.asked = false;
            }
            l.session = session;
            l.syncs = syncs;
            l.deadline = self->clock().now() + ms(self->state.cfg.lease_ms);
        },
        [=](group_gone_atom, const std::string& reader) {
            if (reader.empty()) {
                self->state.leases.clear();
            } else {
                self->state.leases.erase(reader);
            }
        },
    };
}

}  // namespace

caf::actor spawn_group_actor(caf::local_actor* parent, group_actor_config cfg) {
    return parent->spawn(group_impl, std::move(cfg));
}

}  // namespace pravaha::actors
