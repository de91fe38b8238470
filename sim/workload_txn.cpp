// The transaction processes of the node world's workload (sim/workload.hpp,
// docs/sim_txn_plan.md): applications that begin a transaction, write events into it through
// the production stream manager and transaction writer, then commit or abort it (sometimes with
// an abort racing the commit), crash, and, restarted, commit or abort what they left (as
// client/examples/exactly_once does). What readers are given of transactions is checked as it
// arrives (R1, R2) and at the end (F1-F4, sim/txn_checkers.hpp).

#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "sim/harness.hpp"
#include "sim/net.hpp"
#include "sim/workload.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <set>

namespace pravaha::sim {

using namespace std::chrono_literals;

namespace {

txn_end end_of(txn_state s) {
    switch (s) {
        case txn_state::committed:
            return txn_end::committed;
        case txn_state::aborted:
            return txn_end::aborted;
        default:
            return txn_end::none;
    }
}

}  // namespace

void workload::open_txn_worker(client_t& c, const client::detail::endpoint_info& ep) {
    auto seed = prng(env_.cfg.seed, "txn-manager", mix(c.id, c.inc)).next();
    c.worker = client::detail::spawn_manager(env_.sys, ep, seed);
    env_.spawned.push_back(c.worker);
    if (c.inc > 1 && c.recovers) {
        recover_txns(c);
    }
    if (c.txn == 0) {
        auto id = c.id;
        auto inc = c.inc;
        env_.kern.at(now() + txn_rng_.range(0, env_.k.txn_interval_ms) * ms,
                     [this, id, inc] { begin_next_txn(id, inc); });
    }
}

void workload::start_transactions(client_t& c) {
    c.txn_wid = writer_id{0x5458000000000000ULL | c.id, 0x7A};
    c.recovers =
        prng(env_.cfg.seed, "txn-recovers", c.id).below(1000) < env_.k.txn_recover_per_mille;
    start_client(c);
}

void workload::txn_call(client_t& c,
                        const txn_request& req,
                        std::function<void(caf::expected<txn_record>)> fn) {
    if (!c.worker) {
        fn(caf::make_error(errc::unavailable, "the process has no stream manager"));
        return;
    }
    auto process = call_started(c);
    env_.spawned.push_back(env_.sys.spawn(
        [this, req, process, fn = std::move(fn)](caf::event_based_actor* self, caf::actor manager) {
            // The manager retries transient errors for its retry timeout (15 s), then answers.
            self->request(manager, 30s, txn_atom::value, req)
                .then(
                    [this, self, process, fn](const txn_record& rec) {
                        call_ended(process);
                        fn(rec);
                        self->quit();
                    },
                    [this, self, process, fn](caf::error& err) {
                        call_ended(process);
                        fn(std::move(err));
                        self->quit();
                    });
            return caf::behavior{[](tick_atom) {}};
        },
        c.worker));
}

std::pair<uint32_t, uint32_t> workload::call_started(const client_t& c) {
    auto process = std::make_pair(c.id, c.inc);
    ++txn_calls_[process];
    return process;
}

void workload::call_ended(std::pair<uint32_t, uint32_t> process) {
    auto it = txn_calls_.find(process);
    if (it != txn_calls_.end() && --it->second == 0) {
        txn_calls_.erase(it);
    }
}

void workload::forget_calls(uint32_t client) {
    // A dead process's requests change nothing the run waits for (a commit it sent shows in
    // the controller's listing); the manager died with them, so some are never answered.
    for (auto it = txn_calls_.begin(); it != txn_calls_.end();) {
        it = it->first.first == client ? txn_calls_.erase(it) : std::next(it);
    }
}

void workload::begin_next_txn(uint32_t client, uint32_t inc) {
    auto& c = clients_[client];
    if (c.inc != inc || !c.up || !c.worker || c.txn != 0 || env_.ph != phase::chaos) {
        return;
    }
    txn_rec t;
    t.client = c.id;
    t.inc = c.inc;
    t.stream = c.stream;
    t.lease_ms = env_.k.txn_lease_ms;
    auto n = history_.add_txn(t);
    c.txn = n;
    c.txn_deciding = false;
    c.txn_planned = static_cast<uint32_t>(txn_rng_.range(1, env_.k.txn_events_max));
    c.txn_answered = 0;
    auto req =
        client::detail::txn_request_of(txn_op::begin, "sim", streams_[c.stream].record.name, 0);
    req.lease_ms = t.lease_ms;
    req.writer = c.txn_wid;
    txn_call(c, req, [this, client, inc, n](caf::expected<txn_record> r) {
        on_txn_begun(client, inc, n, std::move(r));
    });
}

void workload::on_txn_begun(uint32_t client,
                            uint32_t inc,
                            uint32_t n,
                            caf::expected<txn_record> r) {
    auto& c = clients_[client];
    auto& kern = env_.kern;
    if (r) {
        // Known even to a crashed incarnation's successor only through its listing; the run
        // knows it to follow its end.
        history_.txn(n).id = r->id;
        txn_by_id_[r->id] = n;
    }
    if (c.inc != inc || !c.up || c.txn != n) {
        return;  // the process died while it asked: the transaction is left to its lease
    }
    if (!r) {
        kern.count("transaction begins failed");
        c.txn = 0;
        if (code_of(r.error()) == errc::stream_sealed) {
            return;  // the application's transactions end with its stream
        }
        auto at = now() + std::max<int64_t>(env_.k.txn_interval_ms, 100) * ms;
        kern.at(at, [this, client, inc] { begin_next_txn(client, inc); });
        return;
    }
    kern.count("transactions begun");
    c.pinger = client::detail::spawn_txn_pinger(env_.sys, c.worker, *r);
    env_.spawned.push_back(c.pinger);
    client::writer_options opts;
    prng conf(env_.cfg.seed, "txn-writer-config", c.id);
    opts.block_bytes_max = static_cast<uint64_t>(conf.range(1, 64 * 1024));
    opts.blocks_in_flight_max = static_cast<uint64_t>(conf.range(1, 8));
    opts.exit_on_give_up = false;
    auto rec = *r;
    env_.spawned.push_back(env_.sys.spawn(
        [this, client, inc, n, rec, opts](caf::event_based_actor* self, caf::actor manager) {
            self->request(manager, 30s, client::open_txn_writer_atom::value, rec, opts)
                .then(
                    [this, self, client, inc, n](const client::writer_actor& w) {
                        auto& cl = clients_[client];
                        auto a = caf::actor_cast<caf::actor>(w);
                        if (cl.inc != inc || !cl.up || cl.txn != n) {
                            caf::anon_send_exit(a, caf::exit_reason::kill);
                        } else {
                            cl.txn_writer = a;
                            write_txn_event(client, inc, n);
                        }
                        self->quit();
                    },
                    [this, self, client, inc, n](caf::error&) {
                        auto& cl = clients_[client];
                        if (cl.inc == inc && cl.up && cl.txn == n) {
                            cl.txn_planned = 0;  // nothing written: abort it
                            decide_txn(client, inc, n);
                        }
                        self->quit();
                    });
            return caf::behavior{[](tick_atom) {}};
        },
        c.worker));
}

void workload::write_txn_event(uint32_t client, uint32_t inc, uint32_t n) {
    auto& c = clients_[client];
    if (c.inc != inc || !c.up || c.txn != n || !c.txn_writer) {
        return;
    }
    auto& t = history_.txn(n);
    op_rec op;
    op.id.writer = txn_writer_base + n;
    op.id.incarnation = c.id;
    op.id.seq = t.ops.size();
    op.id.key = static_cast<uint32_t>(txn_rng_.below(env_.k.keys));
    op.id.stream = c.stream;
    op.idempotent = true;
    op.txn = n;
    op.invoke = now();
    auto index = history_.invoke(op);
    t.ops.push_back(index);
    prng filler(env_.cfg.seed, "filler", mix(op.id.writer, op.id.seq));
    auto payload = make_payload(
        op.id, static_cast<size_t>(filler.skewed(static_cast<int64_t>(env_.k.filler_max))));
    client::detail::outgoing ev;
    frame_event(ev.framed, payload);
    auto& rec = history_.op(index);
    rec.hash = payload_hash(payload);
    ++rec.sends;
    ev.key_hash = routing_key_hash("k" + std::to_string(op.id.key));
    ev.done = [this, client, inc, index](const caf::error& err) {
        on_txn_ack(client, inc, index, err);
    };
    caf::anon_send(c.txn_writer, client::write_atom::value, std::move(ev));
    if (t.ops.size() < c.txn_planned) {
        env_.kern.at(now() + txn_rng_.range(1, 2 * env_.k.write_interval_ms) * ms,
                     [this, client, inc, n] { write_txn_event(client, inc, n); });
    }
}

void workload::on_txn_ack(uint32_t client, uint32_t inc, size_t index, const caf::error& err) {
    auto& c = clients_[client];
    auto& op = history_.op(index);
    if (c.inc != inc || !c.up || op.out != outcome::pending) {
        return;  // a crashed process never saw this answer
    }
    op.complete = now();
    if (!err) {
        op.out = outcome::ok;
        if (on_acked_) {
            on_acked_(op);  // durable in its transaction segment
        }
    } else {
        // A resend to a merged or deleted transaction segment is refused: not proof that it is
        // not stored.
        op.out = outcome::unknown;
        op.maybe_stored = true;
        env_.kern.count("transaction writes failed");
    }
    if (c.txn == op.txn && ++c.txn_answered == c.txn_planned) {
        decide_txn(client, inc, op.txn);
    }
}

// Every event answered (as the facade's commit flushes first): abort when one failed, else
// commit, abort, or linger a while (the pinger keeps it open) and draw again.
void workload::decide_txn(uint32_t client, uint32_t inc, uint32_t n) {
    auto& c = clients_[client];
    if (c.inc != inc || !c.up || c.txn != n || c.txn_deciding) {
        return;
    }
    const auto& t = history_.txn(n);
    bool all_ok = c.txn_answered == c.txn_planned && !t.ops.empty();
    for (auto index : t.ops) {
        all_ok = all_ok && history_.op(index).out == outcome::ok;
    }
    auto draw = txn_rng_.below(10);
    if (all_ok && draw == 9 && env_.ph == phase::chaos) {
        c.txn_deciding = true;  // lingers
        env_.kern.at(now() + txn_rng_.range(500, 3000) * ms, [this, client, inc, n] {
            auto& cl = clients_[client];
            if (cl.inc == inc && cl.txn == n) {
                cl.txn_deciding = false;
                decide_txn(client, inc, n);
            }
        });
        return;
    }
    c.txn_deciding = true;
    auto op = all_ok && draw < 7 ? txn_op::commit : txn_op::abort;
    send_decision(c, n, t.id, op);
    if (op == txn_op::commit && txn_rng_.below(1000) < env_.k.txn_race_per_mille) {
        // The application cancels while its commit is in flight (or a restarted process aborts
        // "the others" while a late commit lands).
        auto id = t.id;
        env_.kern.at(now() + txn_rng_.range(0, 30) * ms, [this, client, inc, n, id] {
            auto& cl = clients_[client];
            if (cl.inc == inc && cl.up && cl.worker) {
                env_.kern.count("aborts racing a commit");
                send_decision(cl, n, id, txn_op::abort);
            }
        });
    }
}

void workload::send_decision(client_t& c, uint32_t n, uint64_t id, txn_op op) {
    if (n != 0 && op == txn_op::commit && history_.txn(n).commit_asked == 0) {
        history_.txn(n).commit_asked = now();
    }
    auto req = client::detail::txn_request_of(op, "sim", streams_[c.stream].record.name, id);
    auto client = c.id;
    auto inc = c.inc;
    txn_call(c, req, [this, client, inc, n, op](caf::expected<txn_record> r) {
        on_txn_decided(n, op, r);
        auto& cl = clients_[client];
        if (n != 0 && cl.inc == inc && cl.up && cl.txn == n) {
            end_txn_process_state(cl);
            auto at = now() + env_.k.txn_interval_ms * ms;
            env_.kern.at(at, [this, client, inc] { begin_next_txn(client, inc); });
        }
    });
}

void workload::on_txn_decided(uint32_t n, txn_op op, const caf::expected<txn_record>& r) {
    if (n == 0 || env_.kern.done()) {
        return;
    }
    auto& kern = env_.kern;
    if (r) {
        if (r->state == txn_state::committed && op == txn_op::commit) {
            kern.count("transactions committed");
        }
        learn_txn(n, *r, false);
        return;
    }
    auto code = code_of(r.error());
    if (code == errc::transaction_aborted) {
        txn_record told;
        told.id = history_.txn(n).id;
        told.state = txn_state::aborted;
        learn_txn(n, told, false);
    } else if (code == errc::transaction_committed) {
        // An abort of a committing or committed transaction: it commits (when is not known, so
        // no visibility time).
        history_.txn(n).answer = txn_end::committed;
        if (auto bad = check_txn_learnt(history_, n)) {
            kern.fail(verdict::correctness, *bad);
        }
    } else {
        kern.count("transaction decisions without an answer");
    }
}

void workload::learn_txn(uint32_t n, const txn_record& rec, bool listed) {
    auto& t = history_.txn(n);
    if (rec.commit_order != 0) {
        t.commit_order = rec.commit_order;
    }
    auto end = end_of(rec.state);
    if (listed) {
        t.final_state = end;
    } else if (end != txn_end::none) {
        t.answer = end;
    }
    if (end == txn_end::committed && !listed && t.committed_at == 0) {
        // From now on its acknowledged events are visible: the caught-up oracle covers them.
        t.committed_at = now();
        for (auto index : t.ops) {
            if (history_.op(index).out == outcome::ok) {
                history_.acknowledged(index);
            }
        }
    }
    if (auto bad = check_txn_learnt(history_, n)) {
        env_.kern.fail(verdict::correctness, *bad);
    }
}

void workload::end_txn_process_state(client_t& c) {
    for (auto* a : {&c.pinger, &c.txn_writer}) {
        if (*a) {
            caf::anon_send_exit(*a, caf::exit_reason::kill);
            *a = caf::actor{};
        }
    }
    // Events of its transaction still in flight are answered by nobody now (a killed writer
    // skips its callbacks): their outcome is unknown, as at a crash.
    if (c.txn != 0) {
        forget_pending_txn_ops(c.id, c.txn);
    }
    c.txn = 0;
    c.txn_deciding = false;
}

// The process stalls (a long GC pause, a frozen VM) for half a lease to two leases and a second:
// its stream manager, directory, pinger and transaction writer run nothing until then (the CAF
// work source skips them), so its transaction's lease may pass. Then it carries on unheard: its
// pinger pings again, its writer sends what it held, a commit it had sent goes through; every
// answer it gets is still checked (a late commit of an expired transaction must not make any of
// it visible). Killed for good 20 s after the stall began.
void workload::stall_txn_process(client_t& c, prng& zombie) {
    auto lease = env_.k.txn_lease_ms;
    auto until = now() + zombie.range(lease / 2, 2 * lease + 1000) * ms;
    std::vector<caf::actor> frozen{c.worker, c.directory};
    for (const auto* a : {&c.pinger, &c.txn_writer}) {
        if (*a) {
            frozen.push_back(*a);
        }
    }
    stall_process(frozen, {}, until, fmt::format("transaction process {}", c.id));
    c.worker = caf::actor{};
    c.directory = caf::actor{};
    c.pinger = caf::actor{};
    c.txn_writer = caf::actor{};
    c.txn = 0;
    c.txn_deciding = false;
    env_.kern.count("stalled transaction processes");
}

// A restarted process with a stable writer id finds the transactions its predecessor left:
// commits the open ones whose events were all acknowledged, aborts the others, and asks the
// committing ones again (the commit is idempotent) to learn their end.
void workload::recover_txns(client_t& c) {
    auto client = c.id;
    auto inc = c.inc;
    auto stream = streams_[c.stream].record.name;
    auto process = call_started(c);
    env_.spawned.push_back(env_.sys.spawn(
        [this, client, inc, stream, process](caf::event_based_actor* self, caf::actor manager) {
            self->request(manager, 30s, txn_list_atom::value, std::string("sim"), stream)
                .then(
                    [this, self, client, inc, process](const std::vector<txn_record>& recs) {
                        call_ended(process);
                        auto& cl = clients_[client];
                        for (const auto& rec : recs) {
                            if (cl.inc != inc || !cl.up || !cl.worker) {
                                break;
                            }
                            if (rec.writer != cl.txn_wid || (rec.state != txn_state::open &&
                                                             rec.state != txn_state::committing)) {
                                continue;
                            }
                            auto it = txn_by_id_.find(rec.id);
                            uint32_t n = it == txn_by_id_.end() ? 0 : it->second;
                            if (n != 0 && history_.txn(n).inc == inc) {
                                // Its own, begun while this listing was on its way (seed
                                // 0x9463b7fa: aborted here with an event in flight).
                                continue;
                            }
                            if (n != 0) {
                                learn_txn(n, rec, false);  // a committing one was ordered
                            }
                            bool whole = n != 0 && !history_.txn(n).ops.empty();
                            for (auto index :
                                 n != 0 ? history_.txn(n).ops : std::vector<size_t>{}) {
                                whole = whole && history_.op(index).out == outcome::ok;
                            }
                            auto op = rec.state == txn_state::committing || whole ? txn_op::commit
                                                                                  : txn_op::abort;
                            env_.kern.count(op == txn_op::commit ? "recovered commits"
                                                                 : "recovered aborts");
                            send_decision(cl, n, rec.id, op);
                        }
                        self->quit();
                    },
                    [this, self, process](caf::error&) {
                        call_ended(process);
                        self->quit();
                    });
            return caf::behavior{[](tick_atom) {}};
        },
        c.worker));
}

// The resolver: the controller's listing of each stream's transactions (a linearized read of
// its state), copied into the run's transactions as their final state.
void workload::list_txns() {
    if (listing_ || now() - listed_at_ < 500 * ms) {
        return;
    }
    // Any process's manager finds the controller; all were restarted when the faults healed.
    const client_t* via = nullptr;
    for (const auto& c : clients_) {
        if (c.kind == client_kind::txn_writer && c.up && c.worker) {
            via = &c;
            break;
        }
    }
    if (via == nullptr) {
        return;
    }
    listing_ = true;
    std::vector<std::string> names;
    for (const auto& s : streams_) {
        names.push_back(s.record.name);
    }
    env_.spawned.push_back(env_.sys.spawn(
        [this, names](caf::event_based_actor* self, caf::actor manager) {
            auto found = std::make_shared<std::vector<txn_record>>();
            auto left = std::make_shared<size_t>(names.size());
            auto failed = std::make_shared<bool>(false);
            for (const auto& name : names) {
                self->request(manager, 30s, txn_list_atom::value, std::string("sim"), name)
                    .then(
                        [this, self, found, left, failed](const std::vector<txn_record>& recs) {
                            found->insert(found->end(), recs.begin(), recs.end());
                            if (--*left == 0) {
                                listing_ = false;
                                listed_at_ = now();
                                if (!*failed) {
                                    on_listed(*found);
                                }
                                self->quit();
                            }
                        },
                        [this, self, left, failed](caf::error&) {
                            *failed = true;
                            if (--*left == 0) {
                                listing_ = false;
                                listed_at_ = now();
                                self->quit();
                            }
                        });
            }
            return caf::behavior{[](tick_atom) {}};
        },
        caf::actor(via->worker)));
}

void workload::on_listed(const std::vector<txn_record>& recs) {
    if (env_.kern.done()) {
        return;
    }
    std::set<uint64_t> ids;
    unresolved_.clear();
    for (const auto& rec : recs) {
        ids.insert(rec.id);
        if (rec.state != txn_state::committed && rec.state != txn_state::aborted) {
            auto it = txn_by_id_.find(rec.id);
            unresolved_ +=
                fmt::format("transaction {} ({}, stream {}, lease {} ms) still {}; ",
                            it == txn_by_id_.end() ? std::string("of a lost begin answer")
                                                   : std::to_string(it->second),
                            txn_id_text(rec.id), rec.stream, rec.lease_ms, to_string(rec.state));
            continue;
        }
        if (auto it = txn_by_id_.find(rec.id); it != txn_by_id_.end()) {
            learn_txn(it->second, rec, true);
        }
    }
    for (const auto& [id, n] : txn_by_id_) {
        if (!ids.count(id)) {
            unresolved_ += fmt::format("transaction {} ({}) is not listed; ", n, txn_id_text(id));
        }
    }
    listed_all_ = unresolved_.empty();
}

bool workload::txns_unresolved() {
    if (env_.k.txn_writers == 0) {
        return false;
    }
    listed_all_ = listed_all_ && txn_calls_.empty();
    for (const auto& c : clients_) {
        if (c.kind == client_kind::txn_writer && (c.txn != 0 || !c.worker)) {
            listed_all_ = false;  // a process has not decided yet, or is still reconnecting
            return true;
        }
    }
    if (!txn_calls_.empty()) {
        return true;
    }
    if (!listed_all_) {
        list_txns();
        return true;
    }
    return false;
}

std::string workload::pending_txns() const {
    std::string what;
    for (const auto& [process, n] : txn_calls_) {
        what += fmt::format("transaction process {} (incarnation {}): {} request(s) in flight; ",
                            process.first, process.second, n);
    }
    for (const auto& c : clients_) {
        if (c.kind == client_kind::txn_writer && (c.txn != 0 || !c.worker)) {
            what += fmt::format("transaction process {} {}; ", c.id,
                                c.worker ? fmt::format("has not decided transaction {}", c.txn)
                                         : std::string("has not reconnected"));
        }
    }
    what += unresolved_;
    if (what.size() >= 2) {
        what.resize(what.size() - 2);  // the last "; "
    }
    return what;
}

void workload::on_txn_delivered(const event_id& ev,
                                segment_ref segment,
                                int64_t offset,
                                int64_t after) {
    if (env_.k.txn_writers == 0) {
        return;
    }
    uint32_t n = ev.writer >= txn_writer_base ? ev.writer - txn_writer_base : 0;
    layout_.emplace(std::make_pair(segment, offset), std::make_pair(n, after));
    if (n == 0 || n > history_.txns().size()) {
        return;
    }
    auto& t = history_.txn(n);
    if (t.first_seen == 0) {
        t.first_seen = now();
    }
    if (auto bad = check_txn_delivery(history_, n, now())) {
        env_.kern.fail(verdict::correctness, *bad);
    }
}

finding workload::check_txns() const {
    if (env_.k.txn_writers == 0) {
        return std::nullopt;
    }
    return check_txn_final(history_, layout_, audited_counts());
}

}  // namespace pravaha::sim
