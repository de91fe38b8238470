#include "sim/workload.hpp"

#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"
#include "sim/harness.hpp"
#include "sim/net.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace pravaha::sim {

using namespace std::chrono_literals;

workload::workload(sim_env& env, network& net)
    : env_(env),
      net_(net),
      work_rng_(env.cfg.seed, "workload"),
      read_rng_(env.cfg.seed, "reads"),
      txn_rng_(env.cfg.seed, "txn-work"),
      history_(env.kern.now()),
      group_rng_(env.cfg.seed, "group-reads"),
      objects_(1) {}

client_t& workload::add_client(client_kind kind, uint32_t stream, bool idempotent) {
    client_t c;
    c.id = static_cast<uint32_t>(clients_.size());
    c.kind = kind;
    c.stream = stream;
    c.idempotent = idempotent;
    net_.add_client_link(c.id);
    auto seed = env_.cfg.seed;
    // Half the idempotent writers resend their unanswered writes after a restart (as an RPC
    // client does); the others lost them with the process and write new events (a zombie's late
    // blocks then differ from the new session's: fencing matters).
    c.resends = idempotent && prng(seed, "resends", c.id).chance(1, 2);
    // Half the following readers reopen at the position after the last event they returned, as
    // an RPC client's reader does after a lost connection (the others start over at the head).
    c.resumes = kind == client_kind::reader && prng(seed, "resumes", c.id).chance(1, 2);
    if (kind == client_kind::writer) {
        // The application's configuration, the same in every incarnation: block sizes (one event
        // per block up to 64 KiB), blocks in flight, and a write buffer sized to what the writer
        // drains in a few seconds at worst (about 250 round trips of full blocks).
        prng conf(seed, "writer-config", c.id);
        c.writer.block_bytes_max = static_cast<size_t>(conf.range(1, 64 * 1024));
        c.writer.blocks_in_flight_max = static_cast<size_t>(conf.range(1, 8));
        auto drains =
            c.writer.blocks_in_flight_max * std::max<size_t>(c.writer.block_bytes_max, 512) * 250;
        c.writer.pending_bytes_max = static_cast<size_t>(
            conf.range(8 * 1024, static_cast<int64_t>(std::min<size_t>(drains, 4 << 20))));
    }
    if (kind == client_kind::group_reader) {
        auto same = std::count_if(clients_.begin(), clients_.end(), [&](const client_t& o) {
            return o.kind == client_kind::group_reader && o.stream == stream;
        });
        c.reader_name = "r" + std::to_string(same);
    }
    clients_.push_back(std::move(c));
    auto& ref = clients_.back();
    ref.connector = spawn_connector(env_.sys, net_, ref.id);
    return ref;
}

client::detail::endpoint_info workload::endpoint_for(client_t& c, uint16_t port) {
    client::detail::endpoint_info ep;
    ep.host = "node" + std::to_string(port - (env_.cluster() ? cluster_port : node_port));
    ep.port = port;
    ep.connector = c.connector;
    ep.cfg.request_timeout = 3s;
    ep.cfg.retry_timeout = 15s;
    return ep;
}

void workload::start_client(client_t& c) {
    ++c.inc;
    c.up = true;
    c.caught_up = false;
    auto id = c.id;
    auto inc = c.inc;
    auto attempt = ++c.attempt;
    auto& kern = env_.kern;
    // Like the 5 s connect timeout of a real client: no answer (partition, paused node) means
    // try again.
    kern.at(now() + 5000 * ms, [this, id, inc, attempt] {
        auto& again = clients_[id];
        if (again.inc == inc && again.attempt == attempt && again.up && !again.worker &&
            !env_.finished()) {
            --again.inc;
            start_client(again);
        }
    });
    // A cluster client starts at some node (a different one on each attempt).
    auto port = env_.cluster() ? static_cast<uint16_t>(cluster_port + (id + attempt) % env_.k.nodes)
                               : node_port;
    net_.open_connection(
        id, port, [this, id, inc, attempt, port](caf::expected<caf::strong_actor_ptr> r) {
            auto& cl = clients_[id];
            if (cl.inc != inc || cl.attempt != attempt || !cl.up || cl.worker || env_.finished()) {
                return;
            }
            if (!r) {
                env_.kern.at(now() + 300 * ms, [this, id, inc, attempt] {
                    auto& again = clients_[id];
                    if (again.inc == inc && again.attempt == attempt && again.up) {
                        --again.inc;
                        start_client(again);
                    }
                });
                return;
            }
            open_worker(id, port, std::move(*r));
        });
}

void workload::open_worker(uint32_t id, uint16_t port, caf::strong_actor_ptr ptr) {
    auto& cl = clients_[id];
    auto inc = cl.inc;
    auto node = caf::actor_cast<node_api>(ptr);
    const auto& info = streams_[cl.stream];
    // One directory per client process, as a client factory has.
    auto ep = client::detail::spawn_directory(env_.sys, endpoint_for(cl, port), node);
    cl.directory = ep.directory;
    env_.spawned.push_back(cl.directory);
    if (cl.kind == client_kind::group_reader) {
        open_group_worker(cl, ep);
        return;
    }
    if (cl.kind == client_kind::txn_writer) {
        open_txn_worker(cl, ep);
        return;
    }
    if (cl.kind != client_kind::writer) {
        // A position names every segment the reader started (as the RPC gateway's does: the
        // first epoch's from the start, at 0 until an event of theirs was read).
        if (cl.resumes && !cl.position.empty()) {
            for (const auto& seg : info.segments) {
                cl.position.emplace(seg.id.value, 0);
            }
        }
        cl.worker = client::detail::spawn_reader(
            env_.sys, ep, info, client::start_position::head,
            cl.resumes ? cl.position : client::detail::start_offsets{});
        cl.driver = spawn_reader_driver(env_.sys, *this, id, inc, cl.worker);
        env_.spawned.push_back(cl.worker);
        env_.spawned.push_back(cl.driver);
        return;
    }
    // A writer routes by the stream's current epoch, as a client's open_writer asks the
    // controller for the record first (the setup's record is older once the stream scaled;
    // without an answer the writer starts from it and follows the successors).
    env_.spawned.push_back(env_.sys.spawn(
        [this, id, inc, ep](caf::event_based_actor* self, node_api at) {
            self->request(at, 3s, get_stream_atom::value, std::string("sim"),
                          streams_[clients_[id].stream].record.name)
                .then(
                    [this, self, id, inc, ep](const stream_record& rec) {
                        spawn_writer(id, inc, ep, rec);
                        self->quit();
                    },
                    [this, self, id, inc, ep](caf::error&) {
                        spawn_writer(id, inc, ep, streams_[clients_[id].stream].record);
                        self->quit();
                    });
            return caf::behavior{[](tick_atom) {}};
        },
        node));
}

void workload::spawn_writer(uint32_t id,
                            uint32_t inc,
                            const client::detail::endpoint_info& ep,
                            const stream_record& rec) {
    auto& cl = clients_[id];
    if (cl.inc != inc || !cl.up || cl.worker || env_.finished()) {
        return;
    }
    auto wc = cl.writer;
    // Idempotent producers keep their writer id across restarts (writer sessions); the
    // at-least-once ones get a fresh id per process, as Pravega's writers do.
    writer_id wid{0x5157000000000000ULL | (uint64_t{cl.id} << 32) | cl.inc, work_rng_.next()};
    if (cl.idempotent) {
        wid = writer_id{0x5157000000000000ULL | cl.id, 0x57AB1E};
        wc.id = wid;
    }
    cl.worker = client::detail::spawn_writer(env_.sys, ep, rec, wc, wid);
    env_.spawned.push_back(cl.worker);
    if (cl.idempotent) {
        // What an RPC client's openWriter answers as lastEventNumber.
        env_.spawned.push_back(env_.sys.spawn(
            [this, id, inc, opened_at = now()](caf::event_based_actor* self, caf::actor w) {
                self->request(w, caf::infinite, client::sessions_atom::value)
                    .then(
                        [this, self, id, inc, opened_at](int64_t last) {
                            on_sessions(id, inc, opened_at, last);
                            self->quit();
                        },
                        [=](caf::error&) { self->quit(); });
                return caf::behavior{[](tick_atom) {}};
            },
            cl.worker));
    }
    // A non-idempotent application resends what it does not know to be stored; an idempotent
    // one (numbered events, the same writer id) resends, in order and with their numbers, the
    // writes that had no answer when it crashed, as an RPC client resends its unanswered calls:
    // stored ones are acknowledged, not stored again, also on sealed segments.
    auto& ops = history_.ops();
    for (size_t i = 0; i < ops.size(); ++i) {
        auto& op = ops[i];
        if (op.id.writer == cl.id &&
            ((!op.idempotent && op.out == outcome::unknown) || op.resend)) {
            op.out = outcome::pending;
            op.resend = false;
            submit(cl, i);
            env_.kern.count("resends after a restart", op.idempotent ? 1 : 0);
        }
    }
}

// Oracle: a writer reopened under its id learns a number at or above every event of the id
// acknowledged before it opened (they are stored), and never one the id has not sent.
void workload::on_sessions(uint32_t client, uint32_t inc, int64_t opened_at, int64_t last) {
    auto& c = clients_[client];
    if (c.inc != inc || !c.up || env_.kern.done() || !env_.cfg.oracles) {
        return;
    }
    env_.kern.count("writer reopenings checked");
    if (journaling_) {
        journal_entry j;
        j.type = journal_entry::kind::reopen;
        j.client = client;
        j.at = opened_at;
        j.last = last;
        j.next_seq = c.next_seq;
        journal_.push_back(j);
    }
    if (auto bad = check_reopen(history_, client, opened_at, last, c.next_seq)) {
        env_.kern.fail(verdict::correctness, *bad);
    }
}

// A transaction process's events still in flight (of transaction `n`, or of all its
// transactions with 0) get an unknown outcome: nobody will answer them.
void workload::forget_pending_txn_ops(uint32_t client, uint32_t n) {
    auto forget = [this](op_rec& op) {
        if (op.out == outcome::pending) {
            op.out = outcome::unknown;
            op.maybe_stored = true;
            op.complete = now();
        }
    };
    if (n != 0) {
        for (auto index : history_.txn(n).ops) {
            forget(history_.op(index));
        }
        return;
    }
    for (auto& op : history_.ops()) {
        if (op.txn != 0 && history_.txn(op.txn).client == client) {
            forget(op);
        }
    }
}

void workload::crash_client(client_t& c, prng* zombie) {
    if (!c.up) {
        return;
    }
    c.up = false;
    c.outbox.clear();  // the writes waiting in the process are pending: unknown below
    c.hold_until =
        0;  // its full-disk back-off died with it (the hold timer is for its incarnation)
    c.pending_bytes = 0;
    int64_t stall = 0;
    if (zombie != nullptr && c.kind == client_kind::writer && c.worker) {
        // The process is presumed dead and replaced, but it only stalled (a long GC pause, a
        // frozen VM): its connections hold everything for a while, then it carries on sending.
        // Nobody sees its acknowledgements any more. Killed for good after 20 s.
        stall = now() + zombie->range(500, 5000) * ms;
        auto old = c.worker;
        auto old_directory = c.directory;
        c.worker = caf::actor{};
        c.directory = caf::actor{};
        env_.kern.at(now() + 20000 * ms, [old, old_directory] {
            caf::anon_send_exit(old, caf::exit_reason::kill);
            caf::anon_send_exit(old_directory, caf::exit_reason::kill);
        });
        env_.kern.count("zombie clients");
    }
    if (c.kind == client_kind::group_reader) {
        if (zombie != nullptr && c.worker) {
            stall_group_reader(c, *zombie);
        } else if (c.object != 0) {
            end_object(c.object, true);
        }
        c.object = 0;
        c.group_reader = caf::actor{};
    }
    bool stalled = false;
    if (c.kind == client_kind::txn_writer) {
        // Its transaction is left to its lease (or to a successor that recovers it), unless the
        // process only stalls: then it carries on, unheard, when it runs again.
        if (zombie != nullptr && c.worker) {
            stall_txn_process(c, *zombie);
            stalled = true;
        } else {
            end_txn_process_state(c);
        }
        forget_calls(c.id);
    }
    for (auto* a : {&c.worker, &c.driver, &c.directory}) {
        if (*a) {
            caf::anon_send_exit(*a, caf::exit_reason::kill);
            *a = caf::actor{};
        }
    }
    if ((c.kind != client_kind::group_reader || zombie == nullptr) && !stalled) {
        net_.client_crashed(c.id, stall);  // a stalled process (group reader, transaction
    }                                      // process) holds its own connections
    // In-flight operations of a crashed client have unknown outcomes (a transaction's events
    // are never resent: a new writer id would store them twice).
    forget_pending_txn_ops(c.id, 0);
    for (auto& op : history_.ops()) {
        if (op.txn == 0 && op.id.writer == c.id && op.out == outcome::pending) {
            op.out = outcome::unknown;
            op.maybe_stored = true;
            op.resend = op.idempotent && c.resends;
            op.complete = now();
        }
    }
    if (!c.resumes) {
        // A restarted reader reads from the head again; one that resumes keeps what it saw, so
        // that a repeated or skipped event shows.
        c.view = reader_view{};
        if (journaling_) {
            journal_entry j;
            j.type = journal_entry::kind::view_reset;
            j.client = c.id;
            journal_.push_back(j);
        }
    }
    env_.kern.count("client crashes");
    env_.kern.note(fmt::format("client {} crashed", c.id));
}

void workload::stall_process(const std::vector<caf::actor>& frozen,
                             const std::vector<caf::actor>& also_killed,
                             int64_t until,
                             const std::string& who) {
    for (const auto& a : frozen) {
        env_.frozen[a.id()] = until;
    }
    env_.kern.at(until, [this, frozen, who] {
        for (const auto& a : frozen) {
            env_.frozen.erase(a.id());
        }
        env_.kern.note(who + ": the stalled process runs again");
    });
    auto process = frozen;
    process.insert(process.end(), also_killed.begin(), also_killed.end());
    env_.kern.at(now() + 20000 * ms, [process] {
        for (const auto& a : process) {
            caf::anon_send_exit(a, caf::exit_reason::kill);
        }
    });
}

void workload::crash_and_restart(client_t& c, prng* zombie, int64_t restart_at) {
    crash_client(c, zombie);
    auto id = c.id;
    env_.kern.at(restart_at, [this, id] {
        auto& again = clients_[id];
        if (!again.up && !env_.finished()) {
            start_client(again);
        }
    });
}

void workload::start_writing(client_t& c) {
    auto id = c.id;
    env_.kern.at(now() + 100 * ms, [this, id] { write_next(clients_[id]); });
}

void workload::write_next(client_t& c) {
    if (env_.ph != phase::chaos) {
        return;
    }
    // An application blocked in write() (back-pressure) writes nothing else meanwhile.
    if (c.up && c.worker && c.outbox.empty()) {
        op_rec op;
        op.id.writer = c.id;
        op.id.incarnation = c.inc;
        op.id.seq = c.next_seq++;
        // Streams that scale by themselves get a skewed key popularity: hot and cold segments
        // side by side, as the auto-scaler's rules are about.
        op.id.key = static_cast<uint32_t>(env_.k.autoscale ? work_rng_.skewed(env_.k.keys - 1, 2)
                                                           : work_rng_.below(env_.k.keys));
        op.id.stream = c.stream;
        op.idempotent = c.idempotent;
        op.invoke = now();
        submit(c, history_.invoke(op));
    }
    auto id = c.id;
    env_.kern.at(now() + work_rng_.range(1, 2 * env_.k.write_interval_ms) * ms,
                 [this, id] { write_next(clients_[id]); });
}

void workload::submit(client_t& c, size_t index) {
    c.outbox.push_back(index);
    drain_outbox(c);
}

void workload::on_answer(uint32_t client, uint32_t inc, size_t bytes) {
    auto& c = clients_[client];
    if (c.inc != inc || !c.up) {
        return;  // a crashed incarnation's writer: its budget went with it
    }
    PRAVAHA_ASSERT(c.pending_bytes >= bytes, "sim: more bytes answered than handed over");
    c.pending_bytes -= bytes;
    drain_outbox(c);
}

void workload::drain_outbox(client_t& c) {
    while (!c.outbox.empty() && c.up && c.worker && c.hold_until <= now()) {
        auto index = c.outbox.front();
        auto& op = history_.op(index);
        // The same bytes on every send: a resend is the same event.
        prng filler(env_.cfg.seed, "filler", mix(op.id.writer, op.id.seq));
        auto payload = make_payload(
            op.id, static_cast<size_t>(filler.skewed(static_cast<int64_t>(env_.k.filler_max))));
        client::detail::outgoing ev;
        frame_event(ev.framed, payload);
        auto bytes = ev.framed.size();
        if (c.pending_bytes > 0 && c.pending_bytes + bytes > c.writer.pending_bytes_max) {
            return;  // the application waits in write() until answers free room
        }
        c.outbox.pop_front();
        c.pending_bytes += bytes;
        op.hash = payload_hash(payload);
        ++op.sends;
        auto key = "k" + std::to_string(op.id.key);
        ev.key_hash = routing_key_hash(key);
        if (op.idempotent) {
            // Numbered as the RPC clients number theirs (one sequence per writer id): a writer
            // reopened after a crash acknowledges resent events its segments hold.
            ev.client_number = static_cast<int64_t>(op.id.seq);
        }
        auto id = c.id;
        auto inc = c.inc;
        ev.done = [this, id, inc, index, bytes](const caf::error& err) {
            on_ack(id, inc, index, err);
            on_answer(id, inc, bytes);
        };
        caf::anon_send(c.worker, client::write_atom::value, std::move(ev));
    }
}

void workload::on_ack(uint32_t client, uint32_t inc, size_t index, const caf::error& err) {
    auto& c = clients_[client];
    auto& op = history_.op(index);
    if (c.inc != inc || !c.up || op.out != outcome::pending) {
        return;  // a crashed client never saw this answer
    }
    auto& kern = env_.kern;
    kern.trace(mix(index, err ? 1 : 2));
    if (!err) {
        op.out = outcome::ok;
        op.complete = now();
        history_.acknowledged(index);
        if (on_acked_) {
            on_acked_(op);
        }
        return;
    }
    if (env_.cfg.verbose) {
        kern.count("write errors");
        if (kern.counter("write errors") < 20) {
            kern.note(fmt::format("client {} write seq={} failed: {}", client, op.id.seq,
                                  render_error(err)));
        }
    }
    // A sealed or deleted segment refuses the write for good: the client is told it failed,
    // so it must not be stored. Anything else (timeouts, giving up) leaves it unknown.
    auto code = code_of(err);
    bool definite = code == errc::segment_sealed || code == errc::stream_sealed ||
                    code == errc::segment_not_found;
    if (definite) {
        // ... unless an earlier attempt of this (at-least-once) write may have been stored. An
        // idempotent write's earlier attempts are known to the segment: it would have been
        // acknowledged.
        op.out = op.maybe_stored && !op.idempotent ? outcome::unknown : outcome::fail;
        op.complete = now();
        kern.count("writes refused (sealed)");
        return;
    }
    op.maybe_stored = true;
    if (code == errc::storage_full && !op.idempotent && !env_.finished()) {
        // An application backs off while the node's disk is full instead of spinning, and keeps
        // its order: the refused write goes back into the outbox in sequence, and nothing of
        // the outbox is sent for 100 ms.
        c.outbox.push_back(index);
        std::sort(c.outbox.begin(), c.outbox.end(), [this](size_t x, size_t y) {
            return history_.op(x).id.seq < history_.op(y).id.seq;
        });
        if (c.hold_until <= now()) {
            c.hold_until = now() + 100 * ms;
            env_.kern.at(c.hold_until, [this, client, inc] {
                auto& cc = clients_[client];
                if (cc.inc == inc && cc.up) {
                    drain_outbox(cc);
                }
            });
        }
        kern.count("application resends after a full disk");
        return;
    }
    if (!op.idempotent && !env_.finished()) {
        submit(c, index);  // at-least-once application: try again
        kern.count("application resends");
        return;
    }
    op.out = outcome::unknown;
    op.complete = now();
}

std::string workload::pending_writes() const {
    std::map<uint32_t, size_t> by_client;
    size_t pending = 0;
    for (const auto& op : history_.ops()) {
        auto p = op.out == outcome::pending ? 1 : 0;
        by_client[op.txn != 0 ? history_.txn(op.txn).client : op.id.writer] += p;
        pending += p;
    }
    if (pending == 0) {
        return {};
    }
    auto what = fmt::format("{} write(s) still pending (", pending);
    for (const auto& [id, n] : by_client) {
        if (n == 0) {
            continue;
        }
        const auto& c = clients_[id];
        what +=
            fmt::format("client {}: {} pending, {}, {} writer, {} open connections; ", id, n,
                        c.up ? "up" : "down", c.worker ? "has a" : "no", net_.open_connections(id));
    }
    return what + ")";
}

bool workload::writes_unresolved() const {
    for (const auto& op : history_.ops()) {
        if (op.out == outcome::pending) {
            return true;
        }
    }
    for (const auto& c : clients_) {
        // A writer still reconnecting may resend (non-idempotent) writes of unknown outcome.
        if (c.kind == client_kind::writer && !c.worker) {
            return true;
        }
    }
    return false;
}

std::map<writer_seq, uint32_t> workload::audited_counts() const {
    std::map<writer_seq, uint32_t> stored;
    for (auto id : audit_clients_) {
        for (const auto& ev : clients_[id].audited) {
            ++stored[{ev.writer, ev.seq}];
        }
    }
    return stored;
}

recorded_run workload::recorded(const std::string& header, bool audited) const {
    recorded_run rec;
    rec.header = header;
    rec.writes = history_;
    rec.journal = journal_;
    rec.audited = audited;
    if (audited) {
        rec.stored = audited_counts();
    }
    return rec;
}

}  // namespace pravaha::sim
