// The group readers of the node world's workload (sim/workload.hpp): processes that read a
// stream together through a reader group, each with the production stream manager and group
// reader, joining, reading, leaving, crashing, stalling past their lease and rejoining. What a
// group delivers is checked as it arrives (check_read per reader object, check_group_read over
// the group) and at the end (check_group_end). Internal to sim/.

#include "schema/errc.hpp"
#include "sim/harness.hpp"
#include "sim/net.hpp"
#include "sim/workload.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace pravaha::sim {

void workload::open_group_worker(client_t& c, const client::detail::endpoint_info& ep) {
    // A seed of its own per incarnation (the manager's join tokens and writer ids), so that the
    // run's other random streams stay as they are.
    auto seed = prng(env_.cfg.seed, "group-manager", mix(c.id, c.inc)).next();
    c.worker = client::detail::spawn_manager(env_.sys, ep, seed);
    env_.spawned.push_back(c.worker);
    c.driver = spawn_group_driver(env_.sys, *this, c.id, c.inc, c.worker);
    env_.spawned.push_back(c.driver);
}

std::string workload::group_of(uint32_t client) const {
    return group_of_stream(clients_[client].stream);
}

uint64_t workload::group_nonce(uint32_t client) {
    auto& c = clients_[client];
    return prng(env_.cfg.seed, "group-nonce", mix(c.id, ++c.joins)).next() | 1;
}

uint32_t workload::group_fetch_wait() {
    return group_rng_.chance(1, 4) ? 0 : 1000;
}

uint32_t workload::on_group_joined(uint32_t client, uint32_t inc, const caf::actor& reader) {
    auto& c = clients_[client];
    if (c.inc != inc || !c.up || c.object != 0 || env_.finished()) {
        // The process is gone (or stalled and replaced): nobody reads with it.
        caf::anon_send_exit(reader, caf::exit_reason::kill);
        return 0;
    }
    reader_object o;
    o.client = client;
    o.inc = inc;
    o.stream = c.stream;
    objects_.push_back(std::move(o));
    c.object = static_cast<uint32_t>(objects_.size() - 1);
    c.group_reader = reader;
    env_.kern.count("group joins");
    env_.kern.note(fmt::format("group reader client {} joined {} as {}: object {}", client,
                               group_of(client), c.reader_name, c.object));
    return c.object;
}

int64_t workload::on_group_join_failed(uint32_t client, uint32_t inc, const caf::error& err) {
    auto& c = clients_[client];
    if (c.inc != inc || !c.up || env_.finished()) {
        return -1;
    }
    // reader_exists: the reader's last process has not been declared offline yet; anything
    // else (timeouts, no leader): ask again.
    env_.kern.count(code_of(err) == errc::reader_exists ? "group joins refused (name taken)"
                                                        : "group joins failed");
    if (code_of(err) != errc::reader_exists) {
        env_.kern.note(
            fmt::format("group reader client {}: join failed: {}", client, render_error(err)));
    }
    return std::max<int64_t>(env_.k.group_lease_ms / 4, 100);
}

bool workload::on_group_read(uint32_t object, std::vector<client::event>& evs, int64_t asked_at) {
    auto& o = objects_[object];
    auto& kern = env_.kern;
    if (o.ended || env_.finished() || kern.done()) {
        return false;
    }
    auto& g = groups_[o.stream];
    auto uid = streams_[o.stream].record.uid.value;
    for (const auto& ev : evs) {
        if (!ev.checkpoint.empty()) {
            kern.count("group checkpoint markers");
            continue;
        }
        read_rec r;
        r.reader = o.client;
        r.segment = {uid, ev.segment.value};
        r.segment_id = static_cast<int64_t>(ev.segment.value);
        r.offset = ev.offset;
        r.payload = ev.payload;
        auto bad = check_read(history_, offsets_, o.view, r);
        if (!bad) {
            // Taken after a stall: handed out after it, whenever it was asked for.
            bool after_stall = o.stalled_until > 0 && now() >= o.stalled_until;
            auto handed_after = after_stall ? std::max(asked_at, o.stalled_until) : asked_at;
            o.after_stall += after_stall ? 1 : 0;
            bad = check_group_read(history_, g, object, r, client::detail::offset_after(ev), now(),
                                   handed_after);
        }
        if (bad) {
            kern.fail(verdict::correctness, *bad);
            return false;
        }
        on_txn_delivered(*parse_payload(ev.payload), r.segment, r.offset,
                         client::detail::offset_after(ev));
        if (kern.done()) {
            return false;
        }
        kern.count("events delivered by groups");
        if (clients_[o.client].inc != o.inc) {
            kern.count("events delivered by stalled group readers");
        }
    }
    return true;
}

void workload::end_object(uint32_t object, bool lost) {
    auto& o = objects_[object];
    o.ended = true;
    if (lost) {
        group_object_lost(groups_[o.stream], object);
    }
}

int64_t workload::on_group_lost(uint32_t object, const caf::error& err) {
    auto& o = objects_[object];
    if (o.ended) {
        return -1;
    }
    end_object(object, true);
    env_.kern.note(fmt::format("group reader object {} (client {}) ended: {}", object, o.client,
                               render_error(err)));
    // A stalled reader is past its lease when its process runs again: it hands out nothing until
    // a report sent since renews it, and after such a renewal the group can declare it offline
    // only a whole lease later. Told it is offline sooner, it was never renewed.
    if (o.after_stall > 0 && code_of(err) == errc::reader_offline &&
        now() < o.stalled_until + env_.k.group_lease_ms * ms) {
        env_.kern.fail(
            verdict::correctness,
            fmt::format("group reader object {} (client {}) handed out {} event(s) "
                        "after its stalled process ran again at {:.3f} s, and was told "
                        "it is offline {} ms later, within a lease: a reader past its "
                        "lease went on reading",
                        object, o.client, o.after_stall, env_.kern.seconds(o.stalled_until),
                        (now() - o.stalled_until) / ms));
        return -1;
    }
    env_.kern.count(code_of(err) == errc::reader_offline ? "group readers told they are offline"
                                                         : "group readers ended by an error");
    auto& c = clients_[o.client];
    if (c.inc != o.inc || !c.up || c.object != object || env_.finished()) {
        return -1;  // a stalled process's reader: its process was replaced
    }
    c.object = 0;
    c.group_reader = caf::actor{};
    return 100;
}

void workload::on_group_lost_leaving(uint32_t object, const caf::error& err) {
    auto& o = objects_[object];
    if (!o.ended) {
        end_object(object, true);
        env_.kern.count("group readers lost while leaving");
        env_.kern.note(fmt::format("group reader object {} (client {}) ended while leaving: {}",
                                   object, o.client, render_error(err)));
    }
}

int64_t workload::on_group_left(uint32_t object, const caf::error& err) {
    auto& o = objects_[object];
    bool graceful = !err;
    if (!o.ended) {
        o.ended = true;
        auto& g = groups_[o.stream];
        if (!graceful) {
            group_object_lost(g, object);
        } else if (auto bad = group_object_left(g, object)) {
            env_.kern.fail(verdict::correctness, *bad);
            return -1;
        }
        env_.kern.count(graceful ? "group readers left" : "group leaves failed");
        env_.kern.note(fmt::format("group reader object {} (client {}) {}", object, o.client,
                                   graceful ? "left" : "failed to leave: " + render_error(err)));
    }
    auto& c = clients_[o.client];
    if (c.inc != o.inc || !c.up || c.object != object || env_.finished()) {
        return -1;
    }
    c.object = 0;
    c.group_reader = caf::actor{};
    return group_rng_.range(50, 2000);
}

void workload::leave_group(client_t& c) {
    if (c.up && c.driver && c.object != 0) {
        caf::anon_send(c.driver, leave_atom::value);
        env_.kern.note(fmt::format("group reader client {} leaves", c.id));
    }
}

// The process stalls (a long GC pause, a frozen VM) past its reader's lease: its actors run
// nothing until then (the CAF work source skips them); its group declares the reader offline
// and a new incarnation joins under the same name. When it runs again its reader must hand out
// nothing more. The application loop (the driver) is not frozen: it takes at once what was
// handed out before the stall (as if it had just before), so everything it gets after the stall
// was handed out after it. Killed for good 20 s after the stall began.
void workload::stall_group_reader(client_t& c, prng& zombie) {
    auto lease = env_.k.group_lease_ms;
    auto until = now() + zombie.range(lease, 2 * lease + 1000) * ms;
    std::vector<caf::actor> frozen{c.worker, c.directory};
    if (c.group_reader) {
        frozen.push_back(c.group_reader);
    }
    if (c.object != 0) {
        group_object_lost(groups_[c.stream], c.object);  // what it delivered may be read again
        objects_[c.object].stalled_until = until;
    }
    stall_process(frozen, {c.driver}, until, fmt::format("group reader client {}", c.id));
    c.worker = caf::actor{};
    c.driver = caf::actor{};
    c.directory = caf::actor{};
    env_.kern.count("stalled group readers");
}

bool workload::groups_at_tail() const {
    for (const auto& g : groups_) {
        if (!g.suspects.empty()) {
            return false;  // a reader whose range another read must learn it is offline first
        }
    }
    for (auto id : audit_clients_) {
        if (undelivered(clients_[id]) > 0) {
            return false;
        }
    }
    return true;
}

size_t workload::undelivered(const client_t& audit) const {
    if (audit.stream >= groups_.size()) {
        return 0;  // no group reads its stream
    }
    const auto& g = groups_[audit.stream];
    return static_cast<size_t>(
        std::count_if(audit.view.seen.begin(), audit.view.seen.end(),
                      [&g](const auto& where) { return g.delivered.count(where) == 0; }));
}

finding workload::check_checkpoint(uint32_t stream,
                                   const std::vector<stream_cut>& cuts,
                                   const std::string& name) const {
    if (cuts.size() != 1) {
        return fmt::format("checkpoint {} of group {} has {} cuts for its one stream", name,
                           group_of_stream(stream), cuts.size());
    }
    auto uid = streams_[stream].record.uid.value;
    if (cuts[0].stream.value != uid) {
        return fmt::format("checkpoint {} of group {} is a cut of another stream", name,
                           group_of_stream(stream));
    }
    return check_group_cut(groups_[stream], uid, cuts[0], name);
}

finding workload::group_suspect() const {
    for (const auto& g : groups_) {
        if (!g.suspects.empty()) {
            return g.suspects.begin()->second;
        }
    }
    return std::nullopt;
}

finding workload::check_groups() const {
    for (auto id : audit_clients_) {
        const auto& a = clients_[id];
        if (a.stream < groups_.size()) {
            if (auto bad = check_group_end(groups_[a.stream], a.view.seen, group_of(id))) {
                return bad;
            }
        }
    }
    return std::nullopt;
}

}  // namespace pravaha::sim
