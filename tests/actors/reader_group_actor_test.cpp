// The reader-group actor (its leases) on CAF's deterministic test scheduler, against a scripted
// controller.

#include "actors/reader_group_actor.hpp"

#include "actors/actors.hpp"
#include "schema/schema.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/test_actor_clock.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include <memory>
#include <vector>

using namespace pravaha;

namespace {

// The syncs count of every offline the controller was asked for.
using asked_list = std::shared_ptr<std::vector<uint64_t>>;

// Answers the first offline as void (a report was applied since: it tells the group actor of it
// first, as the controller does when it applies a sync), and every later one as done.
caf::behavior scripted_controller(caf::event_based_actor* self, asked_list asked) {
    return {
        [=](actors::group_offline_atom, const std::string&, const std::string&,
            const std::string& reader, uint64_t session, uint64_t syncs) {
            asked->push_back(syncs);
            if (asked->size() == 1) {
                auto group = caf::actor_cast<caf::actor>(self->current_sender());
                self->send(group, actors::group_seen_atom::value, reader, session, syncs + 1);
                return false;
            }
            return true;
        },
    };
}

}  // namespace

TEST_CASE(
    "a reader whose offline was void (a report came first) keeps its lease and is "
    "declared offline once it is silent for a lease",
    "[actors][groups]") {
    caf::actor_system_config cfg;
    cfg.set("scheduler.policy", caf::atom("testing"));
    add_message_types(cfg);
    caf::actor_system sys{cfg};
    auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
    auto asked = std::make_shared<std::vector<uint64_t>>();
    auto controller = sys.spawn(scripted_controller, asked);
    caf::actor group;
    {
        caf::scoped_actor parent{sys};
        actors::group_actor_config gc;
        gc.scope = "s";
        gc.name = "g";
        gc.controller = caf::actor_cast<actors::controller_actor>(controller);
        gc.lease_ms = 160;  // ticks every 20 ms
        gc.readers = {{"r", 1, 5}};
        group = actors::spawn_group_actor(parent.ptr(), gc);
    }
    sched.run();
    auto advance = [&](int64_t ms) {
        for (int64_t t = 0; t < ms; t += 10) {
            sched.clock().advance_time(std::chrono::milliseconds(10));  // fires what is due
            sched.run();
        }
    };
    advance(150);
    CHECK(asked->empty());  // within its lease
    advance(30);
    REQUIRE(asked->size() == 1);  // lease passed: asked with the 5 reports it had seen
    CHECK(asked->front() == 5);
    // The void answer came after the report it was void for (at 160 ms): the lease runs from
    // that report.
    advance(120);
    CHECK(asked->size() == 1);
    advance(60);
    REQUIRE(asked->size() == 2);  // silent for a whole lease since: asked again, done
    CHECK(asked->back() == 6);
    advance(400);
    CHECK(asked->size() == 2);  // declared offline once
    caf::anon_send_exit(controller, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(group, caf::exit_reason::user_shutdown);
    sched.run();
}
