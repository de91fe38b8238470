#include "sim/oracles.hpp"

#include "schema/errc.hpp"
#include "sim/nodes.hpp"
#include "sim/workload.hpp"
#include "storage/storage.hpp"

#include <fmt/format.h>

namespace pravaha::sim {

namespace {

// The events a disk durably holds right now: in container Raft entries and in segment data.
std::set<writer_seq> held_now(disk_model& disk) {
    std::set<writer_seq> held;
    if (const auto* durable = disk.durable_map()) {
        for (const auto& [key, value] : *durable) {
            stored_events(key, value, held);
        }
    }
    return held;
}

}  // namespace

durability_oracles::durability_oracles(sim_env& env, node_set& nodes, workload& work)
    : env_(env),
      nodes_(nodes),
      work_(work),
      durable_by_node_(env.k.nodes),
      wiped_held_(env.k.nodes) {}

bool durability_oracles::active() const {
    return nodes_.durability_modelled();  // Tier A with oracles on
}

void durability_oracles::note_durable(uint32_t node, const storage::write_batch& b) {
    auto& into = durable_by_node_[node];
    for (const auto& op : b.ops) {
        if (op.type == storage::write_batch::kind::put) {
            stored_events(op.key, op.value, into);
        }
    }
}

void durability_oracles::note_wipe(uint32_t node, disk_model& disk) {
    if (active()) {
        auto held = held_now(disk);
        wiped_held_[node].insert(held.begin(), held.end());
    }
}

void durability_oracles::note_raft_send(uint32_t node, const raft::message& m, int64_t leaves_at) {
    bool vote = m.type == raft::msg_type::vote_resp && !m.reject;
    bool ack = m.type == raft::msg_type::append_resp && !m.reject && m.hint == 0 && m.index > 0;
    if (!vote && !ack) {
        return;
    }
    raft::message reply;
    reply.type = m.type;
    reply.group = m.group;
    reply.from = m.from;
    reply.to = m.to;
    reply.term = m.term;
    reply.index = m.index;
    auto inc = nodes_.at(node).inc;
    env_.kern.at(leaves_at, [this, node, inc, reply, vote] {
        const auto& n = nodes_.at(node);
        if (!n.up || n.inc != inc) {
            return;  // the reply never left: it died with the node before its fsync returned
        }
        if (vote) {
            // History (always): one vote per replica, group and term.
            if (auto other = votes_.record(reply.group, reply.term, reply.from, reply.to)) {
                env_.kern.fail(verdict::correctness,
                               fmt::format("node {} voted for {} and for {} in term {} of group {}",
                                           reply.from, *other, reply.to, reply.term, reply.group));
                return;
            }
        }
        if (active()) {
            check_raft_reply(node, reply);
        }
    });
}

void durability_oracles::check_raft_reply(uint32_t node, const raft::message& m) {
    const auto* durable = nodes_.at(node).disk->durable_map();
    if (durable == nullptr) {
        return;
    }
    if (m.type == raft::msg_type::vote_resp) {
        if (!vote_is_durable(*durable, m.group, m.term, m.to)) {
            env_.kern.fail(verdict::correctness,
                           fmt::format("node {} granted its vote in term {} of group {} to {} "
                                       "before the vote was durable",
                                       m.from, m.term, m.group, m.to));
        }
        return;
    }
    if (!entry_is_durable(*durable, m.group, m.index)) {
        env_.kern.fail(
            verdict::correctness,
            fmt::format("node {} acknowledged index {} of group {} to {} before it was durable",
                        m.from, m.index, m.group, m.to));
    }
}

void durability_oracles::on_acknowledged(const op_rec& op) {
    if (!active()) {
        return;
    }
    for (auto& n : nodes_.all()) {
        (void)n.disk->durable_map();  // completes the syncs that are done by now
    }
    writer_seq ev{op.id.writer, op.id.seq};
    auto& kern = env_.kern;
    if (env_.cluster()) {
        // Raft commits an entry once a majority fsynced it: only then may the client hear.
        auto copies = durable_copies(ev);
        if (copies < env_.k.nodes / 2 + 1) {
            kern.fail(verdict::correctness,
                      fmt::format("acknowledged before a durable quorum: writer={} seq={} was "
                                  "acknowledged at {:.6f}s but only {} of {} nodes durably hold it",
                                  op.id.writer, op.id.seq, kern.seconds(kern.now()), copies,
                                  env_.k.nodes));
        }
    } else if (!durable_by_node_[0].count(ev)) {
        auto full = durable_events();
        kern.fail(verdict::correctness,
                  fmt::format("acknowledged before durable: writer={} seq={} was acknowledged at "
                              "{:.6f}s but no durable write holds it (recovery {} it)",
                              op.id.writer, op.id.seq, kern.seconds(kern.now()),
                              full && full->count(ev) ? "finds" : "lacks"));
    }
}

// The ack-durability oracle: recovers the node from what is durable on its disk right now
// (what a power cut would leave) and checks that every acknowledged event is there.
void durability_oracles::check() {
    if (env_.kern.done() || work_.streams().empty()) {
        return;
    }
    if (env_.cluster()) {
        check_quorum();
        return;
    }
    auto present = durable_events();
    if (!present) {
        return;  // not modelled (Tier B) or already failed
    }
    env_.kern.count("oracle checks");
    const auto& h = work_.writes();
    if (const auto* op =
            first_unheld(h, [&](const writer_seq& ev) { return present->count(ev); })) {
        env_.kern.fail(verdict::correctness,
                       fmt::format("acknowledged event is not durable: writer={} seq={} "
                                   "(acknowledged at {:.3f}s) is missing from what a crash would "
                                   "keep",
                                   op->id.writer, op->id.seq, h.seconds(op->complete)));
    }
}

// Every acknowledged event is durably held by a quorum of nodes at every moment (a node that
// lost its disk counts for what it held then). Catches a follower that drops committed entries.
void durability_oracles::check_quorum() {
    if (!active()) {
        return;  // the disks do not model durability (Tier B)
    }
    std::vector<std::set<writer_seq>> held;
    for (auto& n : nodes_.all()) {
        held.push_back(held_now(*n.disk));
    }
    env_.kern.count("oracle checks");
    auto copies = [&](const writer_seq& ev) {
        uint32_t n = 0;
        for (size_t i = 0; i < held.size(); ++i) {
            n += held[i].count(ev) || wiped_held_[i].count(ev) ? 1 : 0;
        }
        return n;
    };
    auto quorum = env_.k.nodes / 2 + 1;
    const auto& h = work_.writes();
    if (const auto* op =
            first_unheld(h, [&](const writer_seq& ev) { return copies(ev) >= quorum; })) {
        env_.kern.fail(verdict::correctness,
                       fmt::format("acknowledged event writer={} seq={} (acknowledged at {:.3f}s) "
                                   "is durably held by only {} of {} nodes",
                                   op->id.writer, op->id.seq, h.seconds(op->complete),
                                   copies({op->id.writer, op->id.seq}), env_.k.nodes));
    }
}

uint32_t durability_oracles::durable_copies(const writer_seq& ev) const {
    uint32_t n = 0;
    for (const auto& held : durable_by_node_) {
        n += held.count(ev) ? 1 : 0;
    }
    return n;
}

// The events a node recovered from the durable part of its disk would hold (standalone; a
// cluster's acknowledgements are checked against its nodes' durable Raft logs instead).
std::optional<std::set<writer_seq>> durability_oracles::durable_events() {
    if (env_.cluster()) {
        return std::nullopt;
    }
    const auto* durable = nodes_.at(0).disk->durable_map();
    if (durable == nullptr) {
        return std::nullopt;  // not modelled (Tier B)
    }
    auto store = open_map_store(*durable);
    storage::local_log log(*store, 0);
    storage::container_state state(*store, 0);
    if (auto err = log.open(); err) {
        env_.kern.fail(verdict::crash, "oracle: durable log unreadable: " + render_error(err));
        return std::nullopt;
    }
    if (auto err = state.recover(log); err) {
        env_.kern.fail(verdict::crash,
                       "oracle: recovery from the durable disk failed: " + render_error(err));
        return std::nullopt;
    }
    std::set<writer_seq> present;
    // Every segment, of every epoch (scales create segments after the setup).
    for (const auto& key : state.segment_keys()) {
        int64_t offset = 0;
        for (;;) {
            auto r = state.read(key, offset, 1024 * 1024);
            if (!r || r->data.empty()) {
                break;
            }
            size_t pos = 0;
            while (auto ev = next_event(r->data, pos)) {
                if (auto id = parse_payload(*ev)) {
                    present.insert({id->writer, id->seq});
                }
            }
            offset = r->next_offset;
        }
    }
    return present;
}

std::string durability_oracles::describe_lost(const op_rec& op) {
    writer_seq ev{op.id.writer, op.id.seq};
    if (env_.cluster()) {
        return fmt::format("{} of {} nodes' disks ever durably held it", durable_copies(ev),
                           env_.k.nodes);
    }
    auto durable = durable_events();
    return fmt::format("the durable disk {} it", durable && durable->count(ev) ? "has" : "lacks");
}

}  // namespace pravaha::sim
