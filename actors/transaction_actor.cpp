// The transaction actor: one per open transaction, on the controller's leader. A transaction not
// pinged for its lease, or open past its maximum lifetime, is aborted through a committed command
// (txn_abort with the reason "lease" or "lifetime"), so every replica agrees and a commit
// requested meanwhile either came first or is refused (transaction_aborted).

#include "actors/transaction_actor.hpp"

#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/mutants.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include <algorithm>

namespace pravaha::actors {

namespace {

using txn_tick_atom = caf::atom_constant<caf::atom("txntick")>;

struct txn_actor_state {
    txn_actor_config cfg;
    caf::actor_clock::time_point lease_end;
    caf::actor_clock::time_point lifetime_end;
    bool asked = false;  // an abort request is in flight
    static inline const char* name = "transaction";
};

using txn_ptr = caf::stateful_actor<txn_actor_state>*;

std::chrono::milliseconds ms(int64_t n) {
    return std::chrono::milliseconds(n);
}

std::chrono::milliseconds tick_of(const txn_actor_config& cfg) {
    return ms(std::clamp<int64_t>(cfg.lease_ms / 8, 20, 1000));
}

void on_tick(txn_ptr self) {
    auto& st = self->state;
    auto now = self->clock().now();
    const char* reason =
        now >= st.lifetime_end                                                         ? "lifetime"
        : now >= st.lease_end && !mutants::active(mutants::mutant::lease_not_enforced) ? "lease"
                                                                                       : nullptr;
    if (reason != nullptr && !st.asked) {
        st.asked = true;
        module_log("actors")->info("transaction {} passed stream={}/{} id={}", reason, st.cfg.scope,
                                   st.cfg.stream, txn_id_text(st.cfg.id));
        self->request(st.cfg.controller, ms(std::max<int64_t>(st.cfg.lease_ms, 1000)),
                      txn_expire_atom::value, st.cfg.scope, st.cfg.stream, st.cfg.id,
                      std::string(reason))
            .then([](bool) {},  // the controller stops this actor once it is aborting
                  [self](caf::error&) {
                      self->state.asked = false;  // not committed: asked again next tick
                  });
    }
    self->delayed_send(self, tick_of(st.cfg), txn_tick_atom::value);
}

caf::behavior txn_impl(txn_ptr self, txn_actor_config cfg) {
    auto& st = self->state;
    st.cfg = std::move(cfg);
    auto now = self->clock().now();
    st.lease_end = now + ms(st.cfg.lease_ms);
    st.lifetime_end = now + ms(std::max<int64_t>(st.cfg.lifetime_left_ms, 0));
    self->monitor(st.cfg.controller);
    self->set_down_handler([self](caf::down_msg&) { self->quit(); });
    self->delayed_send(self, tick_of(st.cfg), txn_tick_atom::value);
    return {
        [=](txn_tick_atom) { on_tick(self); },
        [=](txn_seen_atom) {
            self->state.lease_end = self->clock().now() + ms(self->state.cfg.lease_ms);
        },
    };
}

}  // namespace

caf::actor spawn_txn_actor(caf::local_actor* parent, txn_actor_config cfg) {
    return parent->spawn(txn_impl, std::move(cfg));
}

}  // namespace pravaha::actors
