// The reading half of the node world's workload (sim/workload.hpp): following and audit
// readers, what they are given and the checks that run as they read. Internal to sim/.

#include "sim/harness.hpp"
#include "sim/net.hpp"
#include "sim/workload.hpp"

#include <caf/actor_system.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace pravaha::sim {

uint32_t workload::fetch_wait(uint32_t client) {
    const auto& c = clients_[client];
    if (c.kind == client_kind::audit || read_rng_.chance(1, 4)) {
        return 0;
    }
    return 1000;
}

bool workload::on_read(uint32_t client,
                       uint32_t inc,
                       std::vector<client::event>& evs,
                       bool end,
                       uint32_t wait_ms,
                       int64_t asked_at) {
    auto& c = clients_[client];
    auto& kern = env_.kern;
    if (c.inc != inc || !c.up) {
        return false;
    }
    for (const auto& ev : evs) {
        observe(c, ev);
        if (kern.done()) {
            return false;
        }
    }
    // Oracle: a reader told "nothing more" (a catch-up read found every segment at its tail, or
    // the stream's end) has read every event acknowledged before it asked. Catches a leader
    // that answers from a state lagging what the group committed (seed 0xdf1c6a2c: a paused
    // leader, long replaced, answered an audit's catch-up read) at that read.
    if ((end || (wait_ms == 0 && evs.empty())) && env_.cfg.oracles) {
        if (journaling_) {
            journal_entry j;
            j.type = journal_entry::kind::caught_up;
            j.client = c.id;
            j.stream = c.stream;
            j.at = asked_at;
            journal_.push_back(j);
        }
        if (auto bad = check_caught_up(history_, c.view, c.id, c.stream, asked_at)) {
            kern.fail(verdict::correctness, *bad);
            return false;
        }
    }
    if (c.kind == client_kind::audit && evs.empty()) {
        c.caught_up = true;
        return false;
    }
    if (end) {
        c.caught_up = true;  // every segment sealed and read: nothing will follow
        kern.count("readers at the end of a sealed stream");
        return false;
    }
    return true;
}

void workload::observe(client_t& c, const client::event& ev) {
    read_rec r;
    r.reader = c.id;
    r.segment = {streams_[c.stream].record.uid.value, ev.segment.value};
    r.segment_id = static_cast<int64_t>(ev.segment.value);
    r.offset = ev.offset;
    r.payload = ev.payload;
    if (journaling_) {
        journal_entry j;
        j.type = journal_entry::kind::read;
        j.client = r.reader;
        j.segment = r.segment;
        j.segment_id = r.segment_id;
        j.offset = r.offset;
        j.event = parse_payload(r.payload);
        j.hash = payload_hash(r.payload);
        journal_.push_back(j);
    }
    if (auto bad = check_read(history_, offsets_, c.view, r)) {
        env_.kern.fail(verdict::correctness, *bad);
        return;
    }
    c.position[ev.segment.value] = client::detail::offset_after(ev);
    on_txn_delivered(*parse_payload(ev.payload), r.segment, r.offset, c.position[ev.segment.value]);
    if (env_.kern.done()) {
        return;
    }
    if (c.kind == client_kind::audit) {
        c.audited.push_back(*parse_payload(ev.payload));
    }
    env_.kern.count("events read");
}

void workload::start_audit() {
    for (uint32_t s = 0; s < streams_.size(); ++s) {
        auto& c = add_client(client_kind::audit, s, true);
        audit_clients_.push_back(c.id);
        start_client(c);
    }
}

bool workload::audited() const {
    for (auto id : audit_clients_) {
        if (!clients_[id].caught_up) {
            return false;
        }
    }
    return true;
}

bool workload::readers_at_tail() const {
    for (const auto& c : clients_) {
        if (c.kind != client_kind::reader) {
            continue;
        }
        for (auto id : audit_clients_) {
            const auto& a = clients_[id];
            if (a.stream != c.stream) {
                continue;
            }
            for (const auto& where : a.view.seen) {
                if (!c.view.seen.count(where)) {
                    return false;
                }
            }
        }
    }
    return true;
}

std::string workload::lagging() const {
    std::string out;
    for (auto id : audit_clients_) {
        if (!clients_[id].caught_up) {
            out += fmt::format("audit client {} read {} events and did not reach the tail; ", id,
                               clients_[id].audited.size());
        }
    }
    for (const auto& c : clients_) {
        if (c.kind != client_kind::reader) {
            continue;
        }
        size_t missing = 0;
        for (auto id : audit_clients_) {
            const auto& a = clients_[id];
            if (a.stream == c.stream) {
                for (const auto& where : a.view.seen) {
                    missing += c.view.seen.count(where) ? 0 : 1;
                }
            }
        }
        if (missing > 0) {
            out += fmt::format("reader client {} (up={}) misses {} of the audited events; ", c.id,
                               c.up, missing);
        }
    }
    for (auto id : audit_clients_) {
        const auto& a = clients_[id];
        if (auto missing = undelivered(a); missing > 0) {
            out += fmt::format(
                "reader group {} misses {} of the audited events (readers:", group_of(id), missing);
            for (const auto& c : clients_) {
                if (c.kind == client_kind::group_reader && c.stream == a.stream) {
                    out += fmt::format(" client {} {} {}", c.id, c.up ? "up" : "down",
                                       c.object != 0 ? "reading" : "not joined");
                }
            }
            out += "); ";
        }
    }
    return out.empty() ? "nothing lags" : out;
}

}  // namespace pravaha::sim
