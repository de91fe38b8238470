#include "sim/world.hpp"

#include "actors/actors.hpp"
#include "client/internal.hpp"
#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"
#include "schema/records.hpp"
#include "sim/log_check.hpp"
#include "sim/prng.hpp"
#include "sim/sim_disk.hpp"
#include "storage/storage.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_companion.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/test_actor_clock.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <caf/typed_response_promise.hpp>
#include <fmt/format.h>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>

namespace pravaha::sim {

const char* to_string(verdict v) {
    switch (v) {
        case verdict::pass:
            return "PASS";
        case verdict::crash:
            return "CRASH";
        case verdict::liveness:
            return "LIVENESS";
        case verdict::correctness:
            return "CORRECTNESS";
        case verdict::invalid:
            return "INVALID";
        case verdict::wall_timeout:
            return "WALL-TIMEOUT";
    }
    return "?";
}

std::vector<std::string> profile_names() {
    return {"default", "quiet", "net",   "crash",      "disk",           "swarm",
            "cluster", "raft",  "raft5", "raft-stale", "raft-stale-read"};
}

namespace {

using namespace std::chrono_literals;

using watch_atom = caf::atom_constant<caf::atom("simwatch")>;
using tick_atom = caf::atom_constant<caf::atom("simtick")>;
using link_tick_atom = caf::atom_constant<caf::atom("simlink")>;
using connect_done_atom = caf::atom_constant<caf::atom("simconn")>;

constexpr int64_t ms = 1'000'000;  // nanoseconds
constexpr int64_t no_time = INT64_MAX;
constexpr uint16_t node_port = 9090;     // the standalone node
constexpr uint16_t cluster_port = 9101;  // cluster node i listens on cluster_port + i
// Connection origins: clients are numbered from 0; node i's outgoing connections (its endpoint
// reaching the other nodes) have origin node_origin + i.
constexpr uint32_t node_origin = 1u << 30;

// -- workload payloads ---------------------------------------------------------------------------

constexpr std::string_view payload_magic = "PVSIM";

struct event_id {
    uint32_t writer = 0;
    uint32_t incarnation = 0;
    uint64_t seq = 0;
    uint32_t key = 0;
    uint32_t stream = 0;
};

template <class T>
void put_int(std::string& out, T v) {
    for (size_t i = 0; i < sizeof(T); ++i) {
        out.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
    }
}

template <class T>
T get_int(std::string_view in, size_t pos) {
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
        v |= uint64_t{static_cast<unsigned char>(in[pos + i])} << (8 * i);
    }
    return static_cast<T>(v);
}

std::string make_payload(const event_id& id, size_t filler) {
    std::string out(payload_magic);
    put_int(out, id.writer);
    put_int(out, id.incarnation);
    put_int(out, id.seq);
    put_int(out, id.key);
    put_int(out, id.stream);
    for (size_t i = 0; i < filler; ++i) {
        out.push_back(static_cast<char>('a' + (id.seq * 7 + i) % 26));
    }
    return out;
}

std::optional<event_id> parse_payload(std::string_view p) {
    constexpr size_t fixed = 5 + 4 + 4 + 8 + 4 + 4;
    if (p.size() < fixed || p.substr(0, 5) != payload_magic) {
        return std::nullopt;
    }
    event_id id;
    id.writer = get_int<uint32_t>(p, 5);
    id.incarnation = get_int<uint32_t>(p, 9);
    id.seq = get_int<uint64_t>(p, 13);
    id.key = get_int<uint32_t>(p, 21);
    id.stream = get_int<uint32_t>(p, 25);
    return id;
}

uint64_t payload_hash(std::string_view p) {
    return hash_name(p);
}

// The workload events a stored key/value holds: a standalone log entry (L), a container's Raft
// entry (R, group not 0 (the controller's), 'e', index; the value is the term, then the log
// entry), or segment data (D).
template <class Set>
void stored_events(std::string_view key, std::string_view value, Set& into) {
    auto add_events = [&into](std::string_view data) {
        size_t pos = 0;
        while (auto ev = next_event(data, pos)) {
            if (auto id = parse_payload(*ev)) {
                into.insert({id->writer, id->seq});
            }
        }
    };
    if (key.empty()) {
        return;
    }
    bool raft_entry = key[0] == 'R' && key.size() == 14 && key[5] == 'e' &&
                      storage::keys::get_u32(key, 1) != 0 && value.size() >= 8;
    if (key[0] == 'L' || raft_entry) {
        if (auto ops = decode_log_entry(raft_entry ? value.substr(8) : value)) {
            for (const auto& c : *ops) {
                add_events(c.data);
            }
        }
    } else if (key[0] == 'D') {
        add_events(value);
    }
}

// -- history -------------------------------------------------------------------------------------

enum class outcome : uint8_t { pending, ok, fail, unknown };

struct op_rec {
    event_id id;
    bool idempotent = true;
    uint64_t hash = 0;
    int64_t invoke = 0;
    int64_t complete = 0;
    outcome out = outcome::pending;
    uint32_t sends = 0;
    bool maybe_stored = false;  // an attempt ended without a definite answer
    bool resend = false;        // idempotent: pending when its client crashed, resent on restart
};

using writer_seq = std::pair<uint32_t, uint64_t>;

// -- the world ------------------------------------------------------------------------------------

struct knobs {
    uint32_t streams = 1;
    uint32_t segments = 2;
    uint32_t writers = 3;
    uint32_t non_idempotent = 1;  // how many of the writers
    uint32_t keys = 8;
    int64_t write_interval_ms = 20;
    size_t filler_max = 600;
    bool inline_log = true;
    bool fifo_bias = true;  // job pick: mostly oldest first, else uniform
    int64_t latency_max_us = 2000;
    int64_t jitter_max_us = 3000;
    int64_t sync_latency_us = 500;
    int64_t seal_at_ms = 0;   // seal stream 0 this far into the safety phase (0: never)
    uint32_t nodes = 1;       // more than one: a Raft cluster (profile cluster)
    uint32_t containers = 1;  // segment containers of a cluster (Raft groups 1..containers)
    fault_knobs faults;
};

// A one-way network path's delay and clog (client to node, or node to node).
struct link_t {
    int64_t base_latency_ns = 0;
    int64_t clog_until = 0;
    int64_t clog_extra_ns = 0;
};

struct node_t {
    uint32_t id = 0;
    std::unique_ptr<disk_model> disk;
    std::vector<std::unique_ptr<disk_model>> old_disks;  // wiped; old views may still refer to them
    caf::actor connector;  // cluster: opens this incarnation's connections to other nodes
    std::vector<std::unique_ptr<storage::log_store>> old_stores;  // zombies may still hold them
    std::unique_ptr<storage::log_store> store;
    uint64_t inc = 0;
    bool up = false;
    int64_t paused_until = 0;
    actors::node_actors actors;
    std::set<caf::actor_id> actor_ids;
};

struct in_flight {
    int64_t at = 0;
    size_t channel = 0;
    caf::mailbox_element_ptr elem;
};

struct channel_t {
    caf::actor comp;
    caf::strong_actor_ptr target;
};

struct connection {
    uint64_t id = 0;
    uint32_t client = 0;  // the origin: a client, or node_origin + the node that connected
    uint32_t node = 0;
    bool open = true;
    std::vector<channel_t> channels;
    std::deque<in_flight> to_node;
    std::deque<in_flight> to_client;
    int64_t last_to_node = 0;
    int64_t last_to_client = 0;
    uint64_t next_rid = 1;
    std::map<uint64_t, std::pair<caf::strong_actor_ptr, caf::message_id>> requests;
    int64_t stall_until = 0;
    bool draining = false;  // the node process exited; queued answers still arrive
};

enum class client_kind : uint8_t { writer, reader, audit };

struct client_t {
    uint32_t id = 0;
    client_kind kind = client_kind::writer;
    bool idempotent = true;
    bool resends = false;  // idempotent: after a restart, resends what had no answer
    bool resumes = false;  // following reader: reopens at its position after a restart
    client::detail::start_offsets position;  // after the last event observed, per segment
    uint32_t stream = 0;
    uint32_t inc = 0;
    uint64_t attempt = 0;  // connection attempts of this client
    bool up = false;
    caf::actor connector;
    caf::actor worker;
    caf::actor driver;
    uint64_t next_seq = 0;
    // Writers: the application's back-pressure, as the writer facade's pending_bytes_max: it
    // hands a write to its writer object only while the bytes handed over and not yet answered
    // stay within writer.pending_bytes_max (or none are), and writes nothing new while a write
    // waits. Without it a writer slower than the offered load (one small block in flight)
    // queued thousands of events and could not drain them in the time allowed after healing
    // (seed 0xaf773a66 of the cluster profile).
    client::writer_config writer;  // the same in every incarnation
    size_t pending_bytes = 0;      // handed to the current writer object, not answered yet
    std::deque<size_t> outbox;     // writes (op indices) waiting for room, in order
    link_t link;
    // readers
    std::map<std::tuple<uint32_t, uint32_t, uint32_t>, uint64_t> last_seq;  // order per reader
    std::set<std::pair<uint64_t, int64_t>> seen;  // (segment, offset) observed
    std::set<writer_seq> observed;                // events read (this incarnation)
    size_t verified =
        0;  // acknowledged events of its stream known to be observed (catch-up oracle)
    bool caught_up = false;
    std::vector<event_id> audited;  // audit clients: every event read, in order
};

struct partition_t {
    int64_t until = 0;
    std::set<uint32_t> clients;  // connection origins (clients or nodes) on one side
    std::set<uint32_t> nodes;    // the nodes on the other side (empty: every node)
    bool to_node = true;         // messages towards the node are dropped
    bool to_client = true;       // messages towards the clients are dropped
};

class world {
public:
    explicit world(const run_config& cfg);
    ~world();

    run_result run();

    // -- called from actors and callbacks --
    void on_core_down(uint32_t node, uint64_t inc);
    void open_connection(uint32_t client,
                         uint16_t port,
                         std::function<void(caf::expected<caf::strong_actor_ptr>)> done);
    void on_channel(uint64_t conn, size_t channel, caf::mailbox_element_ptr e);
    void on_setup(caf::expected<std::vector<stream_info>> infos);
    /// A (re)opened writer with a stable id answered the highest client number its segments
    /// hold (the gateway's lastEventNumber).
    void on_sessions(uint32_t client, uint32_t inc, int64_t opened_at, int64_t last);
    /// Returns whether the reader should go on reading. `wait_ms` and `asked_at` describe the
    /// fetch that returned `evs`.
    bool on_read(uint32_t client,
                 uint32_t inc,
                 std::deque<client::event>& evs,
                 bool end,
                 uint32_t wait_ms,
                 int64_t asked_at);
    /// How long the next fetch of `client` may wait at the tail: 0 (a catch-up read: "what is
    /// there now?") for audits and sometimes for following readers.
    uint32_t fetch_wait(uint32_t client);
    int64_t now() const { return clock_->current_time.time_since_epoch().count(); }

private:
    void at(int64_t t, std::function<void()> fn);
    void fail(verdict v, std::string msg);
    void trace(uint64_t v) { fingerprint_ = mix(fingerprint_, v); }
    void note(const std::string& what);

    void draw_knobs();
    bool step();
    void check_wall();

    // nodes
    void start_node(node_t& n);
    void failed_start(node_t& n, const char* what, const caf::error& err);
    void crash_node(node_t& n, bool power_loss);
    bool paused(caf::actor_id id) const;

    // network
    connection* add_connection(uint32_t origin, node_t& n);
    size_t add_channel(connection& c, caf::strong_actor_ptr target);
    template <class Handle>
    void wrap_handles(connection& c, caf::message& msg);
    void deliver_due(connection& c);
    void deliver(connection& c, in_flight& f, bool to_node);
    void reset_connection(connection& c);
    bool cut(uint32_t origin, uint32_t node, bool to_node) const;
    int64_t link_delay(uint32_t origin, uint32_t node);
    std::optional<uint32_t> node_at(uint16_t port) const;
    bool cluster() const { return k_.nodes > 1; }
    node_t& pick_node();
    std::unique_ptr<disk_model> make_disk(uint32_t node, uint64_t salt, const disk_faults& df);
    void wipe_node(node_t& n);
    void spawn_setup();

    // clients
    client_t& add_client(client_kind kind, uint32_t stream, bool idempotent);
    client::detail::endpoint_info endpoint_for(client_t& c, uint16_t port);
    void start_client(client_t& c);
    void crash_client(client_t& c, bool zombie = false);
    /// Crashes `c` (a zombie: it only stalls) and starts it again at `restart_at`.
    void crash_and_restart(client_t& c, bool zombie, int64_t restart_at);
    void write_next(client_t& c);
    void submit(client_t& c, size_t op_index);
    void drain_outbox(client_t& c);
    void on_answer(uint32_t client, uint32_t inc, size_t bytes);
    void on_ack(uint32_t client, uint32_t inc, size_t op_index, const caf::error& err);
    void observe(client_t& c, const client::event& ev);
    void check_caught_up(client_t& c, int64_t asked_at);

    // phases and faults
    void begin_chaos();
    void schedule_fault(const std::string& kind, int64_t mean_ms);
    void inject(const std::string& kind);
    void heal();
    void seal_stream(uint32_t stream);
    void live_check();
    void start_audit();
    void oracle();
    void oracle_tick();
    static constexpr int64_t oracle_period = 1000 * ms;
    void final_checks();
    void note_durable(uint32_t node, const storage::write_batch& b);
    void note_raft_reply(uint32_t node, const raft::message& m, int64_t leaves_at);
    void check_raft_reply(uint32_t node, const raft::message& m);
    std::set<writer_seq> held_now(disk_model& disk);
    void quorum_oracle();
    uint32_t durable_copies(const writer_seq& ev) const;
    std::optional<std::set<writer_seq>> durable_events();
    bool readers_at_tail() const;
    std::string lagging() const;
    std::string summary() const;

    run_config cfg_;
    knobs k_;
    prng params_;
    prng sched_rng_;
    prng net_rng_;
    prng fault_rng_;
    prng work_rng_;
    prng read_rng_;  // which following-reader fetches are catch-up reads
    std::unique_ptr<caf::actor_system_config> sys_cfg_;
    std::unique_ptr<caf::actor_system> sys_;
    caf::scheduler::test_coordinator* sched_ = nullptr;
    caf::detail::test_actor_clock* clock_ = nullptr;

    std::multimap<std::pair<int64_t, uint64_t>, std::function<void()>> events_;
    uint64_t event_seq_ = 0;
    uint64_t steps_ = 0;
    uint64_t fingerprint_ = 0;
    std::chrono::steady_clock::time_point wall_start_;
    bool done_ = false;
    verdict verdict_ = verdict::pass;
    std::string message_;

    std::vector<node_t> nodes_;
    std::map<caf::actor_id, uint32_t> actor_node_;
    caf::actor watcher_;
    std::map<uint64_t, std::unique_ptr<connection>> conns_;
    uint64_t next_conn_ = 1;
    std::vector<client_t> clients_;
    std::vector<partition_t> partitions_;

    std::vector<stream_info> streams_;
    std::vector<op_rec> ops_;
    std::map<writer_seq, size_t> op_index_;
    std::map<std::pair<uint64_t, int64_t>, uint64_t> canonical_;  // (segment key hash, offset)
    std::vector<std::vector<size_t>> acked_by_stream_;  // op indexes in acknowledgement order

    enum class phase { setup, chaos, live, audit, finished } phase_ = phase::setup;
    int64_t t_heal_ = 0;
    int64_t t_deadline_ = 0;
    std::vector<uint32_t> audit_clients_;
    std::map<std::string, uint64_t> counters_;
    std::vector<std::string> log_;
    std::vector<caf::actor> spawned_;  // everything to stop at the end of the run
    int64_t node_partition_until_ = 0;
    bool status_asked_ = false;  // a cluster's liveness failure first asks the nodes' status
    uint64_t stream_seals_ = 0;  // seal attempts (a cluster's go round the nodes)
    uint32_t setup_attempts_ = 0;
    // Per node (one when standalone), every event a durable write on its disk ever held: a log
    // or Raft entry, or segment data (the acknowledgement oracle).
    std::vector<std::set<writer_seq>> durable_by_node_;
    // Cluster: what a wiped node durably held when its disk was lost (it still counts as a copy
    // of those events for the quorum oracle: the budget allows one such loss).
    std::vector<std::set<writer_seq>> wiped_held_;
    std::map<std::tuple<uint32_t, uint64_t, uint32_t>, uint32_t> votes_;  // (group, term, node)
    bool ack_oracle_ = false;  // where the disk model reports durable writes (Tier A)
    std::map<std::pair<uint32_t, uint32_t>, link_t> node_links_;  // (from, to) node links
    // Permanent faults (disk wipe, corruption of durable data) must leave every acknowledged
    // entry an intact copy (simulation-spec.md 7.6): (replicas - 1) / 2 of them per group.
    struct fault_budget {
        uint32_t replicas = 1;
        uint32_t permanent_allowed = 0;
        uint32_t permanent_used = 0;
    } budget_;
};

// Ends a connection endpoint: drops everything sent to it from now on and tells its monitors
// (the client's "connection lost").
void close_companion(const caf::actor& handle, caf::exit_reason reason) {
    auto* comp = static_cast<caf::actor_companion*>(caf::actor_cast<caf::abstract_actor*>(handle));
    comp->on_enqueue(nullptr);
    comp->cleanup(caf::make_error(reason), nullptr);
}

// -- actors of the harness ------------------------------------------------------------------------

caf::behavior watcher_impl(caf::event_based_actor* self, world* w) {
    auto watched = std::make_shared<std::map<caf::actor_addr, std::pair<uint32_t, uint64_t>>>();
    self->set_down_handler([=](caf::down_msg& dm) {
        auto it = watched->find(dm.source);
        if (it != watched->end()) {
            auto [node, inc] = it->second;
            watched->erase(it);
            w->on_core_down(node, inc);
        }
    });
    return {
        [=](watch_atom, const caf::actor& a, uint32_t node, uint64_t inc) {
            self->monitor(a);
            (*watched)[a.address()] = {node, inc};
        },
    };
}

// The client's way to open connections (what CAF's middleman actor does in production). The
// world answers through a message so that the promise is delivered inside this actor.
caf::behavior connector_impl(caf::event_based_actor* self, world* w, uint32_t client) {
    using reply =
        caf::typed_response_promise<caf::node_id, caf::strong_actor_ptr, std::set<std::string>>;
    auto pending = std::make_shared<std::map<uint64_t, reply>>();
    auto next = std::make_shared<uint64_t>(0);
    return {
        [=](caf::connect_atom, const std::string&, uint16_t port)
            -> caf::result<caf::node_id, caf::strong_actor_ptr, std::set<std::string>> {
            auto id = ++*next;
            reply rp = self->make_response_promise<caf::node_id, caf::strong_actor_ptr,
                                                   std::set<std::string>>();
            pending->emplace(id, rp);
            auto me = caf::actor{self};
            w->open_connection(client, port, [me, id](caf::expected<caf::strong_actor_ptr> r) {
                if (r) {
                    caf::anon_send(me, connect_done_atom::value, id, std::move(*r));
                } else {
                    caf::anon_send(me, connect_done_atom::value, id, std::move(r.error()));
                }
            });
            return rp;
        },
        [=](connect_done_atom, uint64_t id, caf::strong_actor_ptr& ptr) {
            auto it = pending->find(id);
            if (it != pending->end()) {
                it->second.deliver(caf::node_id{}, std::move(ptr), std::set<std::string>{});
                pending->erase(it);
            }
        },
        [=](connect_done_atom, uint64_t id, caf::error& err) {
            auto it = pending->find(id);
            if (it != pending->end()) {
                it->second.deliver(std::move(err));
                pending->erase(it);
            }
        },
    };
}

// Creates the scopes and streams of the run straight on a node endpoint (setup is not under
// test), then reports their layout. Creating what exists already counts as done: a cluster's
// setup is retried while the controller's first leader is being elected.
caf::behavior setup_impl(
    caf::event_based_actor* self, world* w, node_api node, uint32_t streams, uint32_t segments) {
    auto infos = std::make_shared<std::vector<stream_info>>();
    auto reported = std::make_shared<bool>(false);
    auto fail = [=](caf::error& err) {
        if (!*reported) {
            *reported = true;
            w->on_setup(std::move(err));
            self->quit();
        }
    };
    auto describe = [=](const std::string& name) {
        self->request(node, 10s, stream_info_atom::value, std::string("sim"), name)
            .then(
                [=](stream_info& info) {
                    infos->push_back(std::move(info));
                    if (infos->size() == streams && !*reported) {
                        *reported = true;
                        std::sort(infos->begin(), infos->end(), [](const auto& a, const auto& b) {
                            return a.record.name < b.record.name;
                        });
                        w->on_setup(*infos);
                        self->quit();
                    }
                },
                fail);
    };
    auto create_streams = [=] {
        for (uint32_t i = 0; i < streams; ++i) {
            auto name = "s" + std::to_string(i);
            self->request(node, 10s, create_stream_atom::value, std::string("sim"), name, segments)
                .then([=](const stream_record&) { describe(name); },
                      [=](caf::error& err) {
                          if (code_of(err) == errc::stream_exists) {
                              describe(name);
                          } else {
                              fail(err);
                          }
                      });
        }
    };
    self->request(node, 10s, create_scope_atom::value, std::string("sim"))
        .then([=](bool) { create_streams(); },
              [=](caf::error& err) {
                  if (code_of(err) == errc::scope_exists) {
                      create_streams();
                  } else {
                      fail(err);
                  }
              });
    return {[](tick_atom) {}};
}

caf::behavior reader_driver_impl(
    caf::event_based_actor* self, world* w, uint32_t client, uint32_t inc, caf::actor reader) {
    self->send(self, tick_atom::value);
    return {
        [=](tick_atom) {
            auto wait_ms = w->fetch_wait(client);
            auto asked_at = w->now();
            self->request(reader, caf::infinite, client::detail::fetch_atom::value, wait_ms)
                .then(
                    [=](std::deque<client::event>& evs, bool end) {
                        if (w->on_read(client, inc, evs, end, wait_ms, asked_at)) {
                            self->send(self, tick_atom::value);
                        }
                    },
                    [=](caf::error&) { self->delayed_send(self, 500ms, tick_atom::value); });
        },
    };
}

// -- world
// ------------------------------------------------------------------------------------------

world::world(const run_config& cfg)
    : cfg_(cfg),
      params_(cfg.seed, "params"),
      sched_rng_(cfg.seed, "sched"),
      net_rng_(cfg.seed, "net"),
      fault_rng_(cfg.seed, "faults"),
      work_rng_(cfg.seed, "workload"),
      read_rng_(cfg.seed, "reads") {
    draw_knobs();
    sys_cfg_ = std::make_unique<caf::actor_system_config>();
    add_message_types(*sys_cfg_);
    sys_cfg_->set("scheduler.policy", caf::atom("testing"));
    sys_cfg_->set("logger.verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(*sys_cfg_);
    sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
    clock_ = &sched_->clock();
    clock_->current_time += std::chrono::hours(1);  // "0" is never a valid time
    mutants::current = cfg.mutant;
}

world::~world() {
    // Stop every actor, then let the scheduler drain so that the system can shut down.
    for (auto& [id, c] : conns_) {
        for (auto& ch : c->channels) {
            close_companion(ch.comp, caf::exit_reason::user_shutdown);
        }
    }
    for (auto& n : nodes_) {
        if (n.up) {
            caf::anon_send_exit(n.actors.endpoint, caf::exit_reason::kill);
            caf::anon_send_exit(n.actors.controller, caf::exit_reason::kill);
            for (const auto& c : n.actors.containers) {
                caf::anon_send_exit(c, caf::exit_reason::kill);
            }
            if (n.connector) {
                caf::anon_send_exit(n.connector, caf::exit_reason::kill);
            }
        }
    }
    for (auto& c : clients_) {
        for (auto* a : {&c.worker, &c.driver, &c.connector}) {
            if (*a) {
                caf::anon_send_exit(*a, caf::exit_reason::kill);
            }
        }
    }
    if (watcher_) {
        caf::anon_send_exit(watcher_, caf::exit_reason::kill);
    }
    for (const auto& a : spawned_) {
        caf::anon_send_exit(a, caf::exit_reason::kill);
    }
    sched_->run();
    // An actor waiting on an awaited response only sees its exit once that response (or its
    // timeout) arrives: let pending timeouts fire, boundedly, while anything still runs.
    for (int i = 0; i < 100000 && sys_->registry().running() > 0 && clock_->has_pending_timeout();
         ++i) {
        clock_->trigger_timeout();
        sched_->run();
    }
    clock_->cancel_all();
    sched_->run();
    conns_.clear();
    clients_.clear();
    nodes_.clear();
    mutants::current = mutants::mutant::none;
}

void world::draw_knobs() {
    auto& p = params_;
    auto& f = k_.faults;
    const auto& prof = cfg_.profile;
    k_.streams = static_cast<uint32_t>(p.range(1, 2));
    k_.segments = static_cast<uint32_t>(p.range(1, 4));
    k_.writers = static_cast<uint32_t>(p.range(2, 4));
    k_.non_idempotent = static_cast<uint32_t>(p.range(0, 1));
    k_.keys = static_cast<uint32_t>(p.range(2, 16));
    k_.write_interval_ms = p.range(5, 40);
    k_.filler_max = static_cast<size_t>(p.range(0, 2000));
    k_.inline_log = p.chance(1, 2);
    k_.fifo_bias = p.chance(3, 4);
    k_.latency_max_us = p.range(50, 3000);
    k_.jitter_max_us = p.range(0, 5000);
    k_.sync_latency_us = p.range(100, 5000);
    if (prof != "quiet" && p.chance(1, 3)) {
        k_.seal_at_ms = p.range(1, cfg_.chaos_ms);
    }
    if (prof == "quiet") {
        // no faults
    } else if (prof == "net") {
        f.reset_ms = p.range(300, 3000);
        f.partition_ms = p.range(1000, 5000);
        f.clog_ms = p.range(500, 4000);
    } else if (prof == "crash") {
        f.crash_ms = p.range(300, 2000);
        f.pause_ms = p.range(1000, 5000);
        f.client_crash_ms = p.range(1000, 5000);
    } else if (prof == "disk") {
        f.crash_ms = p.range(500, 3000);
        f.sync_error_num = static_cast<uint64_t>(p.range(1, 20));
        f.sync_error_den = 1000;
        f.slow_disk_ms = p.range(500, 4000);
    } else if (prof == "swarm") {
        // Each fault class on or off per seed, with its own rate (swarm testing).
        f.crash_ms = p.chance(2, 3) ? p.range(200, 5000) : 0;
        f.pause_ms = p.chance(1, 2) ? p.range(500, 8000) : 0;
        f.reset_ms = p.chance(1, 2) ? p.range(200, 5000) : 0;
        f.partition_ms = p.chance(1, 2) ? p.range(500, 8000) : 0;
        f.clog_ms = p.chance(1, 2) ? p.range(300, 5000) : 0;
        f.client_crash_ms = p.chance(1, 2) ? p.range(500, 6000) : 0;
        f.sync_error_num = p.chance(1, 3) ? static_cast<uint64_t>(p.range(1, 30)) : 0;
        f.keep_num = static_cast<uint64_t>(p.range(0, 3));
        f.keep_den = 4;
        f.slow_disk_ms = p.chance(1, 3) ? p.range(500, 6000) : 0;
    } else if (prof == "cluster") {
        // Three nodes, every node a replica of the controller and of every container. Faults
        // hit one node at a time (a quorum of two keeps going) or the links between nodes.
        k_.nodes = 3;
        k_.containers = static_cast<uint32_t>(p.range(1, 4));
        f.crash_ms = p.range(1500, 5000);
        f.pause_ms = p.range(3000, 8000);
        f.reset_ms = p.range(1000, 4000);
        f.partition_ms = p.range(1500, 5000);
        f.clog_ms = p.range(1000, 5000);
        f.client_crash_ms = p.range(2000, 8000);
        f.sync_error_num = static_cast<uint64_t>(p.range(0, 3));
        f.sync_error_den = 1000;
        f.slow_disk_ms = p.range(2000, 8000);
        f.wipe_ms = p.chance(1, 3) ? p.range(3000, 20000) : 0;
    } else {  // default: every fault class at a moderate rate
        f.crash_ms = p.range(800, 3000);
        f.pause_ms = p.range(2000, 6000);
        f.reset_ms = p.range(500, 3000);
        f.partition_ms = p.range(2000, 6000);
        f.clog_ms = p.range(1000, 5000);
        f.client_crash_ms = p.range(2000, 6000);
        f.sync_error_num = static_cast<uint64_t>(p.range(0, 5));
        f.sync_error_den = 1000;
        f.slow_disk_ms = p.range(2000, 8000);
    }
    if (prof != "quiet") {
        f.zombie_per_mille = 333;  // a third of the crashed writers only stall
    }
    budget_.replicas = k_.nodes;
    budget_.permanent_allowed = (k_.nodes - 1) / 2;
    // --faults overrides (validated by the CLI)
    for (const auto& [key, value] : cfg_.fault_overrides) {
        auto num = std::stoll(value);
        if (key == "crash") {
            f.crash_ms = num;
        } else if (key == "pause") {
            f.pause_ms = num;
        } else if (key == "reset") {
            f.reset_ms = num;
        } else if (key == "partition") {
            f.partition_ms = num;
        } else if (key == "clog") {
            f.clog_ms = num;
        } else if (key == "client_crash") {
            f.client_crash_ms = num;
        } else if (key == "slow_disk") {
            f.slow_disk_ms = num;
        } else if (key == "wipe") {
            f.wipe_ms = num;
        } else if (key == "zombie") {
            f.zombie_per_mille = static_cast<uint64_t>(num);
        } else if (key == "sync_error") {
            f.sync_error_num = static_cast<uint64_t>(num);
            f.sync_error_den = 1000;
        }
    }
}

void world::at(int64_t t, std::function<void()> fn) {
    events_.emplace(std::make_pair(t, event_seq_++), std::move(fn));
}

void world::fail(verdict v, std::string msg) {
    if (verdict_ != verdict::pass) {
        return;  // keep the first failure
    }
    verdict_ = v;
    message_ = std::move(msg);
    done_ = true;
}

void world::note(const std::string& what) {
    if (cfg_.verbose) {
        log_.push_back(
            fmt::format("[{:>9.3f}s] {}", double(now() - 3600LL * 1000 * ms) / 1e9, what));
    }
}

bool world::paused(caf::actor_id id) const {
    auto it = actor_node_.find(id);
    if (it == actor_node_.end()) {
        return false;
    }
    const auto& n = nodes_[it->second];
    return n.paused_until > now() || (n.up && n.disk->sync_done_at() > now());
}

bool world::step() {
    auto& jobs = sched_->jobs;
    if (jobs.empty()) {
        return false;
    }
    // Candidates: jobs of actors whose node is not paused.
    size_t first = jobs.size();
    size_t count = 0;
    for (size_t i = 0; i < jobs.size(); ++i) {
        auto* a = dynamic_cast<caf::abstract_actor*>(jobs[i]);
        if (a == nullptr || !paused(a->id())) {
            if (first == jobs.size()) {
                first = i;
            }
            ++count;
        }
    }
    if (count == 0) {
        return false;
    }
    size_t pick = first;
    if (!k_.fifo_bias || sched_rng_.chance(1, 4)) {
        auto nth = sched_rng_.below(count);
        for (size_t i = 0; i < jobs.size(); ++i) {
            auto* a = dynamic_cast<caf::abstract_actor*>(jobs[i]);
            if (a == nullptr || !paused(a->id())) {
                if (nth-- == 0) {
                    pick = i;
                    break;
                }
            }
        }
    }
    auto* job = jobs[pick];
    if (pick != 0) {
        jobs.erase(jobs.begin() + static_cast<std::ptrdiff_t>(pick));
        jobs.push_front(job);
    }
    auto* a = dynamic_cast<caf::abstract_actor*>(job);
    trace(mix(static_cast<uint64_t>(now()), a ? a->id() : 0));
    sched_->run_once();
    ++steps_;
    for (auto& n : nodes_) {
        if (n.disk->take_synced()) {
            // The node's thread blocks in fsync: nothing of it runs or leaves until done.
            at(n.disk->sync_done_at(), [] {});
        }
    }
    return true;
}

void world::check_wall() {
    auto elapsed = std::chrono::steady_clock::now() - wall_start_;
    if (elapsed > std::chrono::milliseconds(cfg_.wall_timeout_ms)) {
        fail(verdict::wall_timeout, fmt::format("wall-clock limit of {} ms reached after {} steps",
                                                cfg_.wall_timeout_ms, steps_));
    }
}

// -- nodes --------------------------------------------------------------------------------------

// A start that fails on an I/O error (an injected fsync failure) exits like pravaha-node does;
// its supervisor starts it again. Any other error means the stored state is unreadable: a bug.
void world::failed_start(node_t& n, const char* what, const caf::error& err) {
    if (code_of(err) != errc::storage_io) {
        fail(verdict::crash,
             fmt::format("node {} could not {}: {}", n.id, what, render_error(err)));
        return;
    }
    ++counters_["failed node starts"];
    note(fmt::format("node {} could not {}: {}", n.id, what, render_error(err)));
    n.disk->process_exit();
    auto id = n.id;
    at(now() + 200 * ms, [this, id] {
        if (!nodes_[id].up && phase_ != phase::finished) {
            start_node(nodes_[id]);
        }
    });
}

void world::start_node(node_t& n) {
    ++n.inc;
    if (n.store) {
        n.old_stores.push_back(std::move(n.store));
    }
    auto opened = n.disk->open(n.inc);
    if (!opened) {
        failed_start(n, "open its disk", opened.error());
        return;
    }
    n.store = std::move(*opened);
    auto spawned = [&]() -> caf::expected<actors::node_actors> {
        if (cluster()) {
            n.connector = sys_->spawn(connector_impl, this, node_origin + n.id);
            spawned_.push_back(n.connector);
            actors::cluster_config cc;
            cc.store = n.store.get();
            cc.node_id = n.id + 1;
            for (uint32_t i = 0; i < k_.nodes; ++i) {
                cc.members.push_back(raft::cluster_member{i + 1, "node" + std::to_string(i),
                                                          static_cast<uint16_t>(cluster_port + i)});
            }
            cc.container_count = k_.containers;
            cc.wall_clock_ms = [this] { return now() / ms; };
            cc.detached = false;
            cc.connector = n.connector;
            cc.seed = mix(cfg_.seed, n.inc);
            return actors::spawn_cluster_node(*sys_, cc);
        }
        actors::node_config nc;
        nc.store = n.store.get();
        nc.detached = false;
        nc.inline_log = k_.inline_log;
        nc.wall_clock_ms = [this] { return now() / ms; };
        return actors::spawn_node(*sys_, nc);
    }();
    if (!spawned) {
        if (n.connector) {
            caf::anon_send_exit(n.connector, caf::exit_reason::kill);
            n.connector = caf::actor{};
        }
        failed_start(n, "recover from its disk", spawned.error());
        return;
    }
    n.actors = *spawned;
    std::vector<caf::actor> core{caf::actor_cast<caf::actor>(n.actors.controller)};
    for (const auto& c : n.actors.containers) {
        core.push_back(caf::actor_cast<caf::actor>(c));
    }
    spawned_.push_back(caf::actor_cast<caf::actor>(n.actors.endpoint));
    spawned_.insert(spawned_.end(), core.begin(), core.end());
    n.up = true;
    n.paused_until = 0;
    n.actor_ids.clear();
    n.actor_ids.insert(n.actors.endpoint.id());
    if (n.connector) {
        n.actor_ids.insert(n.connector.id());
    }
    for (const auto& a : core) {
        n.actor_ids.insert(a.id());
        // A core actor that stops takes the node down (fail-stop), as in pravaha-node.
        caf::anon_send(watcher_, watch_atom::value, a, n.id, n.inc);
    }
    for (auto id : n.actor_ids) {
        actor_node_[id] = n.id;
    }
    ++counters_["node starts"];
    note(fmt::format("node {} started (incarnation {})", n.id, n.inc));
    trace(mix(0x5747, n.inc));
}

void world::crash_node(node_t& n, bool power_loss) {
    if (!n.up) {
        return;
    }
    if (cfg_.oracles) {
        oracle();  // durability right before the disk forgets
    }
    n.up = false;
    n.paused_until = 0;
    if (power_loss) {
        n.disk->crash();
    } else {
        n.disk->process_exit();
    }
    for (auto id : n.actor_ids) {
        actor_node_.erase(id);
    }
    caf::anon_send_exit(n.actors.endpoint, caf::exit_reason::kill);
    caf::anon_send_exit(n.actors.controller, caf::exit_reason::kill);
    for (const auto& c : n.actors.containers) {
        caf::anon_send_exit(c, caf::exit_reason::kill);
    }
    if (n.connector) {
        caf::anon_send_exit(n.connector, caf::exit_reason::kill);
        n.connector = caf::actor{};
    }
    for (auto& [id, c] : conns_) {
        if (c->open && c->client == node_origin + n.id) {
            reset_connection(*c);  // the connections this node opened to the others
            continue;
        }
        if (c->node != n.id || !c->open) {
            continue;
        }
        if (power_loss) {
            reset_connection(*c);
            continue;
        }
        // A process that exits still gets what it already wrote to its sockets delivered (the
        // kernel sends it before the FIN); nothing new reaches it.
        c->draining = true;
        c->to_node.clear();
        auto cid = c->id;
        at(std::max(now(), c->last_to_client) + 1, [this, cid] {
            auto it = conns_.find(cid);
            if (it != conns_.end()) {
                reset_connection(*it->second);
            }
        });
    }
    ++counters_[power_loss ? "node crashes" : "node fail-stops"];
    note(fmt::format("node {} {}", n.id, power_loss ? "crashed (power loss)" : "stopped itself"));
    trace(mix(0xc4a5, n.inc));
}

void world::on_core_down(uint32_t node, uint64_t inc) {
    auto& n = nodes_[node];
    if (!n.up || n.inc != inc) {
        return;
    }
    // Fail-stop, as pravaha-node exits when a core actor stops; a supervisor restarts it.
    crash_node(n, false);
    at(now() + 200 * ms, [this, node] {
        if (!nodes_[node].up && phase_ != phase::finished) {
            start_node(nodes_[node]);
        }
    });
}

// -- network --------------------------------------------------------------------------------------

bool world::cut(uint32_t origin, uint32_t node, bool to_node) const {
    for (const auto& p : partitions_) {
        if (p.until > now() && p.clients.count(origin) &&
            (p.nodes.empty() || p.nodes.count(node)) && (to_node ? p.to_node : p.to_client)) {
            return true;
        }
    }
    return false;
}

int64_t world::link_delay(uint32_t origin, uint32_t node) {
    const auto& l =
        origin >= node_origin ? node_links_[{origin - node_origin, node}] : clients_[origin].link;
    int64_t d = l.base_latency_ns + net_rng_.skewed(k_.jitter_max_us) * 1000;
    if (l.clog_until > now()) {
        d += l.clog_extra_ns;
    }
    return d;
}

std::optional<uint32_t> world::node_at(uint16_t port) const {
    if (!cluster()) {
        return port == node_port ? std::optional<uint32_t>{0} : std::nullopt;
    }
    if (port >= cluster_port && port < cluster_port + k_.nodes) {
        return static_cast<uint32_t>(port - cluster_port);
    }
    return std::nullopt;
}

void world::open_connection(uint32_t origin,
                            uint16_t port,
                            std::function<void(caf::expected<caf::strong_actor_ptr>)> done) {
    auto target = node_at(port);
    if (!target) {
        at(now() + 1 * ms, [done = std::move(done)] {
            done(caf::make_error(caf::sec::cannot_connect_to_node, "no such node"));
        });
        return;
    }
    // A node's connect is answered only to the incarnation that asked.
    uint64_t origin_inc = origin >= node_origin ? nodes_[origin - node_origin].inc : 0;
    auto delay = 2 * link_delay(origin, *target);
    at(now() + delay, [this, origin, origin_inc, node = *target, done = std::move(done)] {
        if (origin >= node_origin) {
            const auto& from = nodes_[origin - node_origin];
            if (!from.up || from.inc != origin_inc) {
                return;
            }
        }
        auto& n = nodes_[node];
        if (cut(origin, node, true) || cut(origin, node, false) || n.paused_until > now()) {
            return;  // no answer: the connect request times out
        }
        if (!n.up) {
            done(caf::make_error(caf::sec::cannot_connect_to_node, "connection refused"));
            return;
        }
        auto* conn = add_connection(origin, n);
        done(caf::actor_cast<caf::strong_actor_ptr>(conn->channels[0].comp));
    });
}

connection* world::add_connection(uint32_t origin, node_t& n) {
    auto c = std::make_unique<connection>();
    c->id = next_conn_++;
    c->client = origin;
    c->node = n.id;
    auto* raw = c.get();
    conns_.emplace(c->id, std::move(c));
    add_channel(*raw, caf::actor_cast<caf::strong_actor_ptr>(n.actors.endpoint));
    ++counters_["connections"];
    return raw;
}

size_t world::add_channel(connection& c, caf::strong_actor_ptr target) {
    auto comp = sys_->spawn<caf::actor_companion>();
    auto* raw = static_cast<caf::actor_companion*>(caf::actor_cast<caf::abstract_actor*>(comp));
    size_t index = c.channels.size();
    raw->on_enqueue([this, id = c.id, index](caf::mailbox_element_ptr p) {
        on_channel(id, index, std::move(p));
    });
    c.channels.push_back(channel_t{comp, std::move(target)});
    return index;
}

void world::on_channel(uint64_t id, size_t channel, caf::mailbox_element_ptr e) {
    auto it = conns_.find(id);
    if (it == conns_.end() || !it->second->open || !e) {
        return;
    }
    auto& c = *it->second;
    if (!e->sender && e->content().match_elements<link_tick_atom>()) {
        deliver_due(c);
        return;
    }
    bool to_node = !e->mid.is_response();
    if (to_node && c.draining) {
        return;
    }
    // A node blocked in fsync sends what this step produced once the fsync returns.
    auto sender_node =
        to_node ? (c.client >= node_origin ? std::optional<uint32_t>{c.client - node_origin}
                                           : std::nullopt)
                : std::optional<uint32_t>{c.node};
    auto sent = sender_node ? std::max(now(), nodes_[*sender_node].disk->sync_done_at()) : now();
    if (sender_node && cluster() && e->content().match_elements<raft_atom, raft::message>()) {
        note_raft_reply(*sender_node, e->content().get_as<raft::message>(1), sent);
    }
    auto t = sent + link_delay(c.client, c.node);
    if (c.stall_until > now()) {
        t = std::max(t, c.stall_until);  // a zombie's connection: nothing moves until then
    }
    auto& last = to_node ? c.last_to_node : c.last_to_client;
    t = std::max(t, last);  // one TCP connection: FIFO per direction
    last = t;
    (to_node ? c.to_node : c.to_client).push_back(in_flight{t, channel, std::move(e)});
    clock_->schedule_message(
        caf::actor_clock::time_point{std::chrono::nanoseconds{t}},
        caf::actor_cast<caf::strong_actor_ptr>(c.channels[0].comp),
        caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, link_tick_atom::value));
}

template <class Handle>
void world::wrap_handles(connection& c, caf::message& msg) {
    for (size_t i = 0; i < msg.size(); ++i) {
        if (!msg.match_element<Handle>(i) || !msg.get_as<Handle>(i)) {
            continue;
        }
        auto index = add_channel(c, caf::actor_cast<caf::strong_actor_ptr>(msg.get_as<Handle>(i)));
        msg.get_mutable_as<Handle>(i) = caf::actor_cast<Handle>(c.channels[index].comp);
    }
}

void world::deliver_due(connection& c) {
    for (bool to_node : {true, false}) {
        auto& q = to_node ? c.to_node : c.to_client;
        while (c.open && !q.empty() && q.front().at <= now()) {
            auto f = std::move(q.front());
            q.pop_front();
            deliver(c, f, to_node);
        }
    }
}

void world::deliver(connection& c, in_flight& f, bool to_node) {
    if (cut(c.client, c.node, to_node)) {
        ++counters_["messages dropped by partitions"];
        reset_connection(c);  // a lost segment breaks the TCP connection
        return;
    }
    auto& e = f.elem;
    auto& ch = c.channels[f.channel];
    auto self_ptr = caf::actor_cast<caf::strong_actor_ptr>(ch.comp);
    if (to_node) {
        auto msg = e->move_content_to_message();
        if (cfg_.verbose) {
            auto text = caf::to_string(msg);
            ++counters_["to node " + text.substr(0, text.find(','))];
        }
        if (e->mid.is_request()) {
            auto rid = c.next_rid++;
            auto mid = caf::make_message_id(rid);
            c.requests[mid.request_id().integer_value()] = {e->sender, e->mid};
            ch.target->enqueue(caf::make_mailbox_element(self_ptr, mid, {}, std::move(msg)),
                               nullptr);
        } else {
            ch.target->enqueue(caf::make_mailbox_element(self_ptr, e->mid, {}, std::move(msg)),
                               nullptr);
        }
        ++counters_["messages to the node"];
        return;
    }
    auto rit = c.requests.find(e->mid.request_id().integer_value());
    if (rit == c.requests.end()) {
        return;
    }
    auto [sender, orig] = rit->second;
    c.requests.erase(rit);
    auto msg = e->move_content_to_message();
    // Handles to other actors of the node: the receiver reaches them over this connection (as
    // CAF's proxies do over BASP).
    wrap_handles<segment_store_api>(c, msg);
    wrap_handles<segment_admin_api>(c, msg);
    wrap_handles<raft_replica_api>(c, msg);
    wrap_handles<controller_api>(c, msg);
    wrap_handles<node_api>(c, msg);
    if (cfg_.verbose) {
        auto text = caf::to_string(msg);
        auto& n = counters_["to client " + text.substr(0, text.find(','))];
        if (++n % 5000 == 0) {
            note(fmt::format("client {} receives {}", c.client, text.substr(0, 300)));
        }
    }
    if (sender) {
        sender->enqueue(caf::make_mailbox_element(self_ptr, orig.response_id(), {}, std::move(msg)),
                        nullptr);
    }
    ++counters_["messages to clients"];
}

void world::reset_connection(connection& c) {
    if (!c.open) {
        return;
    }
    c.open = false;
    c.to_node.clear();
    c.to_client.clear();
    c.requests.clear();
    ++counters_["connection resets"];
    trace(mix(0x7e5e7, c.id));
    // Disconnect outside of the companion's own callback (it holds the companion's lock).
    auto id = c.id;
    at(now(), [this, id] {
        auto it = conns_.find(id);
        if (it == conns_.end()) {
            return;
        }
        for (auto& ch : it->second->channels) {
            close_companion(ch.comp, caf::exit_reason::remote_link_unreachable);
        }
        conns_.erase(it);
    });
}

// -- clients --------------------------------------------------------------------------------------

client_t& world::add_client(client_kind kind, uint32_t stream, bool idempotent) {
    client_t c;
    c.id = static_cast<uint32_t>(clients_.size());
    c.kind = kind;
    c.stream = stream;
    c.idempotent = idempotent;
    c.link.base_latency_ns = net_rng_.range(20, k_.latency_max_us) * 1000;
    // Half the idempotent writers resend their unanswered writes after a restart (as an RPC
    // client does); the others lost them with the process and write new events (a zombie's late
    // blocks then differ from the new session's: fencing matters).
    c.resends = idempotent && prng(cfg_.seed, "resends", c.id).chance(1, 2);
    // Half the following readers reopen at the position after the last event they returned, as
    // an RPC client's reader does after a lost connection (the others start over at the head).
    c.resumes = kind == client_kind::reader && prng(cfg_.seed, "resumes", c.id).chance(1, 2);
    if (kind == client_kind::writer) {
        // The application's configuration, the same in every incarnation: block sizes (one event
        // per block up to 64 KiB), blocks in flight, and a write buffer sized to what the writer
        // drains in a few seconds at worst (about 250 round trips of full blocks).
        prng conf(cfg_.seed, "writer-config", c.id);
        c.writer.block_bytes_max = static_cast<size_t>(conf.range(1, 64 * 1024));
        c.writer.blocks_in_flight_max = static_cast<size_t>(conf.range(1, 8));
        auto drains =
            c.writer.blocks_in_flight_max * std::max<size_t>(c.writer.block_bytes_max, 512) * 250;
        c.writer.pending_bytes_max = static_cast<size_t>(
            conf.range(8 * 1024, static_cast<int64_t>(std::min<size_t>(drains, 4 << 20))));
    }
    clients_.push_back(std::move(c));
    auto& ref = clients_.back();
    ref.connector = sys_->spawn(connector_impl, this, ref.id);
    return ref;
}

client::detail::endpoint_info world::endpoint_for(client_t& c, uint16_t port) {
    client::detail::endpoint_info ep;
    ep.host = "node" + std::to_string(port - (cluster() ? cluster_port : node_port));
    ep.port = port;
    ep.connector = c.connector;
    ep.cfg.request_timeout = 3s;
    ep.cfg.retry_timeout = 15s;
    return ep;
}

void world::start_client(client_t& c) {
    ++c.inc;
    c.up = true;
    c.caught_up = false;
    auto id = c.id;
    auto inc = c.inc;
    auto attempt = ++c.attempt;
    // Like the 5 s connect timeout of a real client: no answer (partition, paused node) means
    // try again.
    at(now() + 5000 * ms, [this, id, inc, attempt] {
        auto& again = clients_[id];
        if (again.inc == inc && again.attempt == attempt && again.up && !again.worker &&
            phase_ != phase::finished) {
            --again.inc;
            start_client(again);
        }
    });
    // A cluster client starts at some node (a different one on each attempt).
    auto port =
        cluster() ? static_cast<uint16_t>(cluster_port + (id + attempt) % k_.nodes) : node_port;
    open_connection(
        id, port, [this, id, inc, attempt, port](caf::expected<caf::strong_actor_ptr> r) {
            auto& cl = clients_[id];
            if (cl.inc != inc || cl.attempt != attempt || !cl.up || cl.worker ||
                phase_ == phase::finished) {
                return;
            }
            if (!r) {
                at(now() + 300 * ms, [this, id, inc, attempt] {
                    auto& again = clients_[id];
                    if (again.inc == inc && again.attempt == attempt && again.up) {
                        --again.inc;
                        start_client(again);
                    }
                });
                return;
            }
            auto node = caf::actor_cast<node_api>(*r);
            const auto& info = streams_[cl.stream];
            if (cl.kind == client_kind::writer) {
                auto wc = cl.writer;
                // Idempotent producers keep their writer id across restarts (writer sessions);
                // the at-least-once ones get a fresh id per process, as Pravega's writers do.
                writer_id wid{0x5157000000000000ULL | (uint64_t{cl.id} << 32) | cl.inc,
                              work_rng_.next()};
                if (cl.idempotent) {
                    wid = writer_id{0x5157000000000000ULL | cl.id, 0x57AB1E};
                    wc.id = wid;
                }
                cl.worker = client::detail::spawn_writer(*sys_, endpoint_for(cl, port), node,
                                                         info.record, wc, wid);
                spawned_.push_back(cl.worker);
                if (cl.idempotent) {
                    // What an RPC client's openWriter answers as lastEventNumber.
                    spawned_.push_back(sys_->spawn(
                        [this, id, inc, opened_at = now()](caf::event_based_actor* self,
                                                           caf::actor w) {
                            self->request(w, caf::infinite, client::detail::wsessions_atom::value)
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
                // A non-idempotent application resends what it does not know to be stored; an
                // idempotent one (numbered events, the same writer id) resends, in order and
                // with their numbers, the writes that had no answer when it crashed, as an RPC
                // client resends its unanswered calls: stored ones are acknowledged, not stored
                // again, also on sealed segments.
                for (size_t i = 0; i < ops_.size(); ++i) {
                    auto& op = ops_[i];
                    if (op.id.writer == cl.id &&
                        ((!op.idempotent && op.out == outcome::unknown) || op.resend)) {
                        op.out = outcome::pending;
                        op.resend = false;
                        submit(cl, i);
                        counters_["resends after a restart"] += op.idempotent ? 1 : 0;
                    }
                }
            } else {
                cl.worker = client::detail::spawn_reader(
                    *sys_, endpoint_for(cl, port), node, info, client::start_position::head,
                    cl.resumes ? cl.position : client::detail::start_offsets{});
                cl.driver = sys_->spawn(reader_driver_impl, this, id, inc, cl.worker);
                spawned_.push_back(cl.worker);
                spawned_.push_back(cl.driver);
            }
        });
}

// Oracle: a writer reopened under its id learns a number at or above every event of the id
// acknowledged before it opened (they are stored), and never one the id has not sent.
void world::on_sessions(uint32_t client, uint32_t inc, int64_t opened_at, int64_t last) {
    auto& c = clients_[client];
    if (c.inc != inc || !c.up || done_ || !cfg_.oracles) {
        return;
    }
    ++counters_["writer reopenings checked"];
    if (last >= static_cast<int64_t>(c.next_seq)) {
        fail(verdict::correctness,
             fmt::format("client {} reopened its writer and was told number {} is stored, but it "
                         "has sent only up to {}",
                         client, last, static_cast<int64_t>(c.next_seq) - 1));
        return;
    }
    for (const auto& op : ops_) {
        if (op.id.writer == client && op.out == outcome::ok &&
            op.complete<opened_at&& static_cast<int64_t>(op.id.seq)> last) {
            fail(verdict::correctness,
                 fmt::format("client {} reopened its writer and was told {} is its highest stored "
                             "number, but seq={} was acknowledged at {:.3f}s",
                             client, last, op.id.seq,
                             double(op.complete - 3600LL * 1000 * ms) / 1e9));
            return;
        }
    }
}

void world::crash_client(client_t& c, bool zombie) {
    if (!c.up) {
        return;
    }
    c.up = false;
    c.outbox.clear();  // the writes waiting in the process are pending: unknown below
    c.pending_bytes = 0;
    if (zombie && c.kind == client_kind::writer && c.worker) {
        // The process is presumed dead and replaced, but it only stalled (a long GC pause, a
        // frozen VM): its connections hold everything for a while, then it carries on sending.
        // Nobody sees its acknowledgements any more. Killed for good after 20 s.
        auto stall = now() + fault_rng_.range(500, 5000) * ms;
        for (auto& [id, conn] : conns_) {
            if (conn->client == c.id && conn->open) {
                conn->stall_until = stall;
            }
        }
        auto old = c.worker;
        c.worker = caf::actor{};
        at(now() + 20000 * ms, [old] { caf::anon_send_exit(old, caf::exit_reason::kill); });
        ++counters_["zombie clients"];
    }
    for (auto* a : {&c.worker, &c.driver}) {
        if (*a) {
            caf::anon_send_exit(*a, caf::exit_reason::kill);
            *a = caf::actor{};
        }
    }
    for (auto& [id, conn] : conns_) {
        if (conn->client == c.id && conn->open) {
            // The bytes already sent may still arrive; answers are lost with the process.
            conn->to_client.clear();
            conn->requests.clear();
        }
    }
    // In-flight operations of a crashed client have unknown outcomes.
    for (auto& op : ops_) {
        if (op.id.writer == c.id && op.out == outcome::pending) {
            op.out = outcome::unknown;
            op.maybe_stored = true;
            op.resend = op.idempotent && c.resends;
            op.complete = now();
        }
    }
    if (!c.resumes) {
        // A restarted reader reads from the head again; one that resumes keeps what it saw, so
        // that a repeated or skipped event shows.
        c.last_seq.clear();
        c.seen.clear();
        c.observed.clear();
        c.verified = 0;
    }
    ++counters_["client crashes"];
    note(fmt::format("client {} crashed", c.id));
}

void world::write_next(client_t& c) {
    if (phase_ != phase::chaos) {
        return;
    }
    // An application blocked in write() (back-pressure) writes nothing else meanwhile.
    if (c.up && c.worker && c.outbox.empty()) {
        op_rec op;
        op.id.writer = c.id;
        op.id.incarnation = c.inc;
        op.id.seq = c.next_seq++;
        op.id.key = static_cast<uint32_t>(work_rng_.below(k_.keys));
        op.id.stream = c.stream;
        op.idempotent = c.idempotent;
        op.invoke = now();
        ops_.push_back(op);
        op_index_[{op.id.writer, op.id.seq}] = ops_.size() - 1;
        submit(c, ops_.size() - 1);
    }
    auto id = c.id;
    at(now() + work_rng_.range(1, 2 * k_.write_interval_ms) * ms,
       [this, id] { write_next(clients_[id]); });
}

void world::submit(client_t& c, size_t index) {
    c.outbox.push_back(index);
    drain_outbox(c);
}

void world::on_answer(uint32_t client, uint32_t inc, size_t bytes) {
    auto& c = clients_[client];
    if (c.inc != inc || !c.up) {
        return;  // a crashed incarnation's writer: its budget went with it
    }
    PRAVAHA_ASSERT(c.pending_bytes >= bytes, "sim: more bytes answered than handed over");
    c.pending_bytes -= bytes;
    drain_outbox(c);
}

void world::drain_outbox(client_t& c) {
    while (!c.outbox.empty() && c.up && c.worker) {
        auto index = c.outbox.front();
        auto& op = ops_[index];
        // The same bytes on every send: a resend is the same event.
        prng filler(cfg_.seed, "filler", mix(op.id.writer, op.id.seq));
        auto payload = make_payload(
            op.id, static_cast<size_t>(filler.skewed(static_cast<int64_t>(k_.filler_max))));
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
        ev.segment_index = static_cast<uint32_t>(
            find_range(streams_[c.stream].record.segments, routing_key_hash(key)));
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
        caf::anon_send(c.worker, client::detail::write_atom::value, std::move(ev));
    }
}

void world::on_ack(uint32_t client, uint32_t inc, size_t index, const caf::error& err) {
    auto& c = clients_[client];
    auto& op = ops_[index];
    if (c.inc != inc || !c.up || op.out != outcome::pending) {
        return;  // a crashed client never saw this answer
    }
    trace(mix(index, err ? 1 : 2));
    if (!err) {
        op.out = outcome::ok;
        op.complete = now();
        acked_by_stream_[op.id.stream].push_back(index);
        if (ack_oracle_) {
            for (auto& n : nodes_) {
                (void)n.disk->durable_map();  // completes the syncs that are done by now
            }
        }
        if (ack_oracle_ && cluster()) {
            // Raft commits an entry once a majority fsynced it: only then may the client hear.
            auto copies = durable_copies({op.id.writer, op.id.seq});
            if (copies < k_.nodes / 2 + 1) {
                fail(verdict::correctness,
                     fmt::format("acknowledged before a durable quorum: writer={} seq={} was "
                                 "acknowledged at {:.6f}s but only {} of {} nodes durably hold it",
                                 op.id.writer, op.id.seq, double(now() - 3600LL * 1000 * ms) / 1e9,
                                 copies, k_.nodes));
            }
        } else if (ack_oracle_ && !durable_by_node_[0].count({op.id.writer, op.id.seq})) {
            auto full = durable_events();
            fail(verdict::correctness,
                 fmt::format("acknowledged before durable: writer={} seq={} was acknowledged at "
                             "{:.6f}s but no durable write holds it (recovery {} it)",
                             op.id.writer, op.id.seq, double(now() - 3600LL * 1000 * ms) / 1e9,
                             full && full->count({op.id.writer, op.id.seq}) ? "finds" : "lacks"));
        }
        return;
    }
    if (cfg_.verbose && ++counters_["write errors"] < 20) {
        note(
            fmt::format("client {} write seq={} failed: {}", client, op.id.seq, render_error(err)));
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
        ++counters_["writes refused (sealed)"];
        return;
    }
    op.maybe_stored = true;
    if (!op.idempotent && phase_ != phase::finished) {
        submit(c, index);  // at-least-once application: try again
        ++counters_["application resends"];
        return;
    }
    op.out = outcome::unknown;
    op.complete = now();
}

uint32_t world::fetch_wait(uint32_t client) {
    const auto& c = clients_[client];
    if (c.kind == client_kind::audit || read_rng_.chance(1, 4)) {
        return 0;
    }
    return 1000;
}

bool world::on_read(uint32_t client,
                    uint32_t inc,
                    std::deque<client::event>& evs,
                    bool end,
                    uint32_t wait_ms,
                    int64_t asked_at) {
    auto& c = clients_[client];
    if (c.inc != inc || !c.up) {
        return false;
    }
    for (const auto& ev : evs) {
        observe(c, ev);
        if (done_) {
            return false;
        }
    }
    if ((end || (wait_ms == 0 && evs.empty())) && cfg_.oracles) {
        check_caught_up(c, asked_at);
        if (done_) {
            return false;
        }
    }
    if (c.kind == client_kind::audit && evs.empty()) {
        c.caught_up = true;
        return false;
    }
    if (end) {
        c.caught_up = true;  // every segment sealed and read: nothing will follow
        ++counters_["readers at the end of a sealed stream"];
        return false;
    }
    return true;
}

// Oracle: a reader told "nothing more" (a catch-up read found every segment at its tail, or the
// stream's end) has read every event acknowledged before it asked. Catches a leader that
// answers from a state lagging what the group committed (seed 0xdf1c6a2c: a paused leader, long
// replaced, answered an audit's catch-up read) at that read, not at the end of the run.
void world::check_caught_up(client_t& c, int64_t asked_at) {
    const auto& acked = acked_by_stream_[c.stream];
    for (; c.verified < acked.size(); ++c.verified) {
        const auto& op = ops_[acked[c.verified]];
        if (op.complete >= asked_at) {
            return;
        }
        if (!c.observed.count({op.id.writer, op.id.seq})) {
            fail(verdict::correctness,
                 fmt::format("client {} was told it had read everything (asked at {:.3f}s) but "
                             "never read acknowledged event writer={} seq={} (acknowledged at "
                             "{:.3f}s): a read answered from a state that lags what was committed",
                             c.id, double(asked_at - 3600LL * 1000 * ms) / 1e9, op.id.writer,
                             op.id.seq, double(op.complete - 3600LL * 1000 * ms) / 1e9));
            return;
        }
    }
}

void world::observe(client_t& c, const client::event& ev) {
    auto parsed = parse_payload(ev.payload);
    if (!parsed) {
        fail(verdict::correctness,
             fmt::format("client {} read an event that no writer wrote at segment {} offset {}",
                         c.id, ev.segment.value, ev.offset));
        return;
    }
    auto hash = payload_hash(ev.payload);
    auto it = op_index_.find({parsed->writer, parsed->seq});
    if (it == op_index_.end() || ops_[it->second].hash != hash) {
        fail(verdict::correctness,
             fmt::format("client {} read event writer={} seq={} that was never written (offset {})",
                         c.id, parsed->writer, parsed->seq, ev.offset));
        return;
    }
    auto where =
        std::make_pair(mix(streams_[c.stream].record.uid.value, ev.segment.value), ev.offset);
    auto [cit, inserted] = canonical_.emplace(where, hash);
    if (!inserted && cit->second != hash) {
        fail(verdict::correctness,
             fmt::format("inconsistent offsets: segment {} offset {} returned two different events",
                         ev.segment.value, ev.offset));
        return;
    }
    if (!c.seen.insert(where).second) {
        fail(verdict::correctness, fmt::format("client {} was given segment {} offset {} twice",
                                               c.id, ev.segment.value, ev.offset));
        return;
    }
    c.observed.insert({parsed->writer, parsed->seq});
    c.position[ev.segment.value] = client::detail::offset_after(ev);
    if (c.kind == client_kind::audit) {
        c.audited.push_back(*parsed);
    }
    const auto& op = ops_[it->second];
    if (op.idempotent) {
        auto key = std::make_tuple(parsed->writer, parsed->incarnation, parsed->key);
        auto lit = c.last_seq.find(key);
        if (lit != c.last_seq.end() && lit->second >= parsed->seq) {
            fail(verdict::correctness,
                 fmt::format("client {} read writer={} key={} seq={} after seq={} ({})", c.id,
                             parsed->writer, parsed->key, parsed->seq, lit->second,
                             lit->second == parsed->seq ? "duplicate from an idempotent writer"
                                                        : "per-key order broken"));
            return;
        }
        c.last_seq[key] = parsed->seq;
    }
    ++counters_["events read"];
}

// -- phases ------------------------------------------------------------------------------------

// Asks the nodes in turn (a cluster's first attempts may meet no leader yet).
void world::spawn_setup() {
    auto& n = nodes_[setup_attempts_++ % nodes_.size()];
    if (!n.up) {
        at(now() + 500 * ms, [this] { spawn_setup(); });
        return;
    }
    sys_->spawn(setup_impl, this, n.actors.endpoint, k_.streams, k_.segments);
}

void world::on_setup(caf::expected<std::vector<stream_info>> infos) {
    if (!infos) {
        // A cluster elects its first leaders while the setup runs: ask again for a while.
        if (cluster() && setup_attempts_ < 60) {
            at(now() + 500 * ms, [this] { spawn_setup(); });
            return;
        }
        fail(verdict::invalid, "setup failed: " + render_error(infos.error()));
        return;
    }
    streams_ = std::move(*infos);
    acked_by_stream_.resize(streams_.size());
    begin_chaos();
}

void world::begin_chaos() {
    phase_ = phase::chaos;
    t_heal_ = now() + cfg_.chaos_ms * ms;
    t_deadline_ = t_heal_ + cfg_.live_ms * ms;
    for (uint32_t i = 0; i < k_.writers; ++i) {
        auto& c = add_client(client_kind::writer, i % k_.streams, i >= k_.non_idempotent);
        start_client(c);
        auto id = c.id;
        at(now() + 100 * ms, [this, id] { write_next(clients_[id]); });
    }
    for (uint32_t s = 0; s < k_.streams; ++s) {
        start_client(add_client(client_kind::reader, s, true));
    }
    const auto& f = k_.faults;
    schedule_fault("crash", f.crash_ms);
    schedule_fault("pause", f.pause_ms);
    schedule_fault("reset", f.reset_ms);
    schedule_fault("partition", f.partition_ms);
    schedule_fault("clog", f.clog_ms);
    schedule_fault("client_crash", f.client_crash_ms);
    schedule_fault("slow_disk", f.slow_disk_ms);
    schedule_fault("wipe", f.wipe_ms);
    at(t_heal_, [this] { heal(); });
    if (k_.seal_at_ms > 0) {
        auto seal_at = now() + k_.seal_at_ms * ms;
        at(seal_at, [this] { seal_stream(0); });
        // A writer of the sealed stream that resends after a restart crashes just before the
        // seal and comes back after it: its resends meet sealed segments (exactly once across
        // seals).
        prng rng(cfg_.seed, "seal-crash");
        {
            auto crash_at = seal_at - rng.range(0, 300) * ms;
            auto restart_at = seal_at + rng.range(50, 1500) * ms;
            at(crash_at, [this, restart_at] {
                for (auto& c : clients_) {
                    if (c.kind == client_kind::writer && c.stream == 0 && c.resends && c.up) {
                        note(fmt::format("client {} crashes just before the seal", c.id));
                        crash_and_restart(c, false, restart_at);
                        return;
                    }
                }
            });
        }
    }
    if (cfg_.oracles) {
        at(now() + oracle_period, [this] { oracle_tick(); });
    }
}

void world::oracle_tick() {
    if (phase_ == phase::finished || done_) {
        return;
    }
    oracle();
    at(now() + oracle_period, [this] { oracle_tick(); });
}

void world::schedule_fault(const std::string& kind, int64_t mean_ms) {
    if (mean_ms <= 0) {
        return;
    }
    auto t = now() + fault_rng_.range(1, 2 * mean_ms) * ms;
    if (t >= t_heal_) {
        return;
    }
    at(t, [this, kind, mean_ms] {
        if (phase_ != phase::chaos) {
            return;
        }
        inject(kind);
        schedule_fault(kind, mean_ms);
    });
}

node_t& world::pick_node() {
    // One node: no draw, so that standalone seeds replay as they always did.
    return nodes_.size() == 1 ? nodes_[0] : nodes_[fault_rng_.below(nodes_.size())];
}

void world::inject(const std::string& kind) {
    auto until = [&](int64_t lo, int64_t hi) {
        return std::min(now() + fault_rng_.range(lo, hi) * ms, t_heal_);
    };
    trace(hash_name(kind));
    if (kind == "crash") {
        auto& n = pick_node();
        if (!n.up) {
            return;
        }
        crash_node(n, true);
        auto down = fault_rng_.range(10, 3000);
        auto id = n.id;
        at(now() + down * ms, [this, id] {
            if (!nodes_[id].up && phase_ != phase::finished) {
                start_node(nodes_[id]);
            }
        });
    } else if (kind == "pause") {
        auto& n = pick_node();
        if (!n.up || n.paused_until > now()) {
            return;
        }
        n.paused_until = until(50, 4000);
        at(n.paused_until, [] {});  // wake the loop when the pause ends
        ++counters_["node pauses"];
        note(fmt::format("node {} paused", n.id));
    } else if (kind == "reset") {
        std::vector<connection*> open;
        for (auto& [id, c] : conns_) {
            if (c->open) {
                open.push_back(c.get());
            }
        }
        if (!open.empty()) {
            reset_connection(*open[fault_rng_.below(open.size())]);
            note("connection reset");
        }
    } else if (kind == "partition") {
        auto mode = fault_rng_.below(4);
        auto end = until(200, 6000);
        if (cluster() && fault_rng_.chance(2, 3)) {
            // One node cut off from the other nodes: both ways, or it cannot send, or it cannot
            // receive. Its clients still reach it. One such node at a time, so that a quorum
            // stays connected (crashes and pauses may still take two nodes at once).
            if (node_partition_until_ > now()) {
                return;
            }
            node_partition_until_ = end;
            auto x = static_cast<uint32_t>(fault_rng_.below(k_.nodes));
            partition_t out;  // x's connections to the others
            partition_t in;   // the others' connections to x
            out.until = in.until = end;
            out.clients.insert(node_origin + x);
            in.nodes.insert(x);
            for (uint32_t i = 0; i < k_.nodes; ++i) {
                if (i != x) {
                    out.nodes.insert(i);
                    in.clients.insert(node_origin + i);
                }
            }
            bool x_sends = mode == 2;     // mode 2: x can send, not receive
            bool x_receives = mode == 1;  // mode 1: x can receive, not send
            out.to_node = !x_receives;
            out.to_client = !x_sends;
            in.to_node = !x_sends;
            in.to_client = !x_receives;
            partitions_.push_back(std::move(out));
            partitions_.push_back(std::move(in));
            ++counters_["node partitions"];
            note(fmt::format("node {} partitioned from the others (mode {})", x, mode));
        } else {
            partition_t p;
            p.until = end;
            bool all = fault_rng_.chance(1, 3);
            for (const auto& c : clients_) {
                if (all || fault_rng_.chance(1, 2)) {
                    p.clients.insert(c.id);
                }
            }
            if (cluster() && fault_rng_.chance(1, 2)) {
                p.nodes.insert(static_cast<uint32_t>(fault_rng_.below(k_.nodes)));
            }
            p.to_node = mode != 1;
            p.to_client = mode != 2;
            partitions_.push_back(std::move(p));
            ++counters_["partitions"];
            note("partition");
        }
        at(end, [] {});
    } else if (kind == "clog") {
        if (cluster() && fault_rng_.chance(1, 2)) {
            auto from = static_cast<uint32_t>(fault_rng_.below(k_.nodes));
            auto to = static_cast<uint32_t>((from + 1 + fault_rng_.below(k_.nodes - 1)) % k_.nodes);
            auto& l = node_links_[{from, to}];
            l.clog_until = until(100, 4000);
            l.clog_extra_ns = fault_rng_.range(5, 800) * ms;
            ++counters_["node link clogs"];
            return;
        }
        if (clients_.empty()) {
            return;
        }
        auto& c = clients_[fault_rng_.below(clients_.size())];
        c.link.clog_until = until(100, 4000);
        c.link.clog_extra_ns = fault_rng_.range(5, 800) * ms;
        ++counters_["clogs"];
    } else if (kind == "slow_disk") {
        auto& n = pick_node();
        auto normal = k_.sync_latency_us * 1000;
        auto slow = n.disk->faults();
        if (slow.sync_latency_ns != normal) {
            return;  // already slow
        }
        slow.sync_latency_ns = normal * fault_rng_.range(10, 200);
        n.disk->set_faults(slow);
        auto id = n.id;
        at(until(200, 3000), [this, id, normal] {
            auto back = nodes_[id].disk->faults();
            back.sync_latency_ns = normal;
            nodes_[id].disk->set_faults(back);
        });
        ++counters_["slow disk periods"];
    } else if (kind == "wipe") {
        // Losing a disk is permanent: allowed only while every acknowledged entry keeps an
        // intact copy elsewhere. With one replica there is none, so the budget is zero; a
        // cluster of three may lose one disk in a run.
        if (budget_.permanent_used >= budget_.permanent_allowed) {
            ++counters_["faults refused by the budget"];
            return;
        }
        ++budget_.permanent_used;
        wipe_node(pick_node());
    } else if (kind == "client_crash") {
        if (clients_.empty()) {
            return;
        }
        auto& c = clients_[fault_rng_.below(clients_.size())];
        if (!c.up) {
            return;
        }
        bool zombie = fault_rng_.chance(k_.faults.zombie_per_mille, 1000);
        crash_and_restart(c, zombie, now() + fault_rng_.range(50, 2000) * ms);
    }
}

void world::crash_and_restart(client_t& c, bool zombie, int64_t restart_at) {
    crash_client(c, zombie);
    auto id = c.id;
    at(restart_at, [this, id] {
        auto& again = clients_[id];
        if (!again.up && phase_ != phase::finished) {
            start_client(again);
        }
    });
}

// The node's disk is replaced by an empty one (a new machine under the same name); the node
// comes back and must be re-replicated before it counts as a copy.
void world::wipe_node(node_t& n) {
    crash_node(n, true);
    if (ack_oracle_) {
        auto held = held_now(*n.disk);
        wiped_held_[n.id].insert(held.begin(), held.end());
    }
    n.old_disks.push_back(std::move(n.disk));
    n.disk = make_disk(n.id, budget_.permanent_used, n.old_disks.back()->faults());
    ++counters_["disk wipes"];
    note(fmt::format("node {} lost its disk", n.id));
    auto id = n.id;
    at(now() + fault_rng_.range(10, 2000) * ms, [this, id] {
        if (!nodes_[id].up && phase_ != phase::finished) {
            start_node(nodes_[id]);
        }
    });
}

std::unique_ptr<disk_model> world::make_disk(uint32_t node, uint64_t salt, const disk_faults& df) {
    prng rng(cfg_.seed, "disk", salt == 0 ? node : mix(node, salt));
    std::unique_ptr<disk_model> disk;
    if (cfg_.storage == "rocksdb") {
        disk = make_rocksdb_disk(rng, df, [this] { return now(); });
    } else {
        disk = std::make_unique<sim_disk>(rng, df, [this] { return now(); });
    }
    if (cfg_.oracles) {
        ack_oracle_ = disk->on_durable(
            [this, node](const storage::write_batch& b) { note_durable(node, b); });
    }
    return disk;
}

// An administrator seals a stream while it is being written (through the node endpoint,
// directly: the admin path is not what is under test). Retried until the node confirms.
void world::seal_stream(uint32_t stream) {
    if (done_ || phase_ == phase::finished) {
        return;
    }
    auto& n = nodes_[stream_seals_++ % nodes_.size()];
    if (!n.up || n.paused_until > now()) {
        at(now() + 500 * ms, [this, stream] { seal_stream(stream); });
        return;
    }
    auto name = streams_[stream].record.name;
    note("sealing stream " + name);
    auto admin = sys_->spawn(
        [this, stream, name](caf::event_based_actor* self, node_api node) {
            self->request(node, std::chrono::seconds(10), seal_stream_atom::value,
                          std::string("sim"), name)
                .then(
                    [this, self, name](const stream_record&) {
                        ++counters_["streams sealed"];
                        note("stream " + name + " sealed");
                        self->quit();
                    },
                    [this, self, stream](caf::error&) {
                        at(now() + 500 * ms, [this, stream] { seal_stream(stream); });
                        self->quit();
                    });
            return caf::behavior{[](tick_atom) {}};
        },
        n.actors.endpoint);
    spawned_.push_back(admin);
}

void world::heal() {
    phase_ = phase::live;
    note("heal: faults off");
    partitions_.clear();
    for (auto& [link, l] : node_links_) {
        l.clog_until = 0;
    }
    for (auto& n : nodes_) {
        auto healthy = n.disk->faults();
        healthy.sync_error_num = 0;
        healthy.sync_latency_ns = k_.sync_latency_us * 1000;
        n.disk->set_faults(healthy);
        n.paused_until = 0;
        if (!n.up) {
            start_node(n);
        }
    }
    for (auto& c : clients_) {
        c.link.clog_until = 0;
        if (!c.up) {
            start_client(c);
        }
    }
    live_check();
}

void world::live_check() {
    if (done_ || phase_ == phase::finished) {
        return;
    }
    if (now() > t_deadline_) {
        size_t pending = 0;
        for (const auto& op : ops_) {
            pending += op.out == outcome::pending ? 1 : 0;
        }
        std::string what;
        if (pending > 0) {
            std::map<uint32_t, size_t> by_client;
            for (const auto& op : ops_) {
                by_client[op.id.writer] += op.out == outcome::pending ? 1 : 0;
            }
            what = fmt::format("{} write(s) still pending (", pending);
            for (const auto& [id, n] : by_client) {
                if (n == 0) {
                    continue;
                }
                size_t open = 0;
                for (const auto& [cid, conn] : conns_) {
                    open += conn->client == id && conn->open ? 1 : 0;
                }
                const auto& c = clients_[id];
                what += fmt::format("client {}: {} pending, {}, {} writer, {} open connections; ",
                                    id, n, c.up ? "up" : "down", c.worker ? "has a" : "no", open);
            }
            what += ")";
        } else if (phase_ == phase::live) {
            what = "the audit could not start";
        } else {
            what = lagging();
        }
        auto msg = fmt::format("{} {} s after healing", what, cfg_.live_ms / 1000);
        if (cluster() && !status_asked_) {
            // Say what the nodes see (leaders, terms, lag) before giving the verdict.
            status_asked_ = true;
            auto text = std::make_shared<std::string>();
            auto remaining = std::make_shared<size_t>(nodes_.size());
            auto finish = [this, msg, text, remaining] {
                if (--*remaining == 0) {
                    fail(verdict::liveness, msg + "; cluster:" + *text);
                }
            };
            for (auto& n : nodes_) {
                if (!n.up) {
                    *text += fmt::format(" node {} down;", n.id + 1);
                    finish();
                    continue;
                }
                sys_->spawn(
                    [this, finish, text, id = n.id](caf::event_based_actor* self, node_api node) {
                        self->request(node, 2s, cluster_info_atom::value)
                            .then(
                                [=](const raft::cluster_info& info) {
                                    *text += fmt::format(" node {}:", id + 1);
                                    for (const auto& g : info.groups) {
                                        *text +=
                                            fmt::format(" g{} {} t{} l{} c{} a{} last{}{}", g.group,
                                                        to_string(g.role), g.term, g.leader,
                                                        g.commit, g.applied, g.last_index,
                                                        g.recovering ? " recovering" : "");
                                    }
                                    *text += ";";
                                    finish();
                                    self->quit();
                                },
                                [=](caf::error& err) {
                                    *text +=
                                        fmt::format(" node {}: {};", id + 1, render_error(err));
                                    finish();
                                    self->quit();
                                });
                        return caf::behavior{[](tick_atom) {}};
                    },
                    n.actors.endpoint);
            }
        } else if (!status_asked_) {
            fail(verdict::liveness, msg);
        }
        return;
    }
    if (phase_ == phase::live) {
        bool pending = false;
        for (const auto& op : ops_) {
            pending = pending || op.out == outcome::pending;
        }
        for (const auto& c : clients_) {
            // A writer still reconnecting may resend (non-idempotent) writes of unknown outcome.
            pending = pending || (c.kind == client_kind::writer && !c.worker);
        }
        if (!pending) {
            start_audit();
        }
    } else if (phase_ == phase::audit) {
        bool audited = true;
        for (auto id : audit_clients_) {
            audited = audited && clients_[id].caught_up;
        }
        if (audited && readers_at_tail()) {
            final_checks();
            return;
        }
    }
    at(now() + 100 * ms, [this] { live_check(); });
}

void world::start_audit() {
    phase_ = phase::audit;
    note("audit: every write resolved; reading every stream from the head");
    for (uint32_t s = 0; s < streams_.size(); ++s) {
        auto& c = add_client(client_kind::audit, s, true);
        audit_clients_.push_back(c.id);
        start_client(c);
    }
}

// The ack-durability oracle: recovers the node from what is durable on its disk right now
// (what a power cut would leave) and checks that every acknowledged event is there.
void world::oracle() {
    if (done_ || streams_.empty()) {
        return;
    }
    if (cluster()) {
        quorum_oracle();
        return;
    }
    auto present = durable_events();
    if (!present) {
        return;  // not modelled (Tier B) or already failed
    }
    ++counters_["oracle checks"];
    for (const auto& op : ops_) {
        if (op.out == outcome::ok && !present->count({op.id.writer, op.id.seq})) {
            fail(verdict::correctness,
                 fmt::format("acknowledged event is not durable: writer={} seq={} (acknowledged "
                             "at {:.3f}s) is missing from what a crash would keep",
                             op.id.writer, op.id.seq,
                             double(op.complete - 3600LL * 1000 * ms) / 1e9));
            return;
        }
    }
}

// Every continuous reader has seen everything the audit of its stream saw.
bool world::readers_at_tail() const {
    for (const auto& c : clients_) {
        if (c.kind != client_kind::reader) {
            continue;
        }
        for (auto id : audit_clients_) {
            const auto& a = clients_[id];
            if (a.stream != c.stream) {
                continue;
            }
            for (const auto& where : a.seen) {
                if (!c.seen.count(where)) {
                    return false;
                }
            }
        }
    }
    return true;
}

std::string world::lagging() const {
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
                for (const auto& where : a.seen) {
                    missing += c.seen.count(where) ? 0 : 1;
                }
            }
        }
        if (missing > 0) {
            out += fmt::format("reader client {} (up={}) misses {} of the audited events; ", c.id,
                               c.up, missing);
        }
    }
    return out.empty() ? "nothing lags" : out;
}

// End-of-run checks over the history and the audit (simulation-spec.md section 7.10, E1-E4).
// Reads were checked as they arrived: never-written events, inconsistent offsets, per-key
// order and duplicates seen by one reader.
// Feeds the acknowledgement oracle: every event inside a write that just became durable.
void world::note_durable(uint32_t node, const storage::write_batch& b) {
    auto& into = durable_by_node_[node];
    for (const auto& op : b.ops) {
        if (op.type == storage::write_batch::kind::put) {
            stored_events(op.key, op.value, into);
        }
    }
}

// Raft replies that promise something (a granted vote, an acknowledged append) must be backed by
// the sender's durable disk when they leave it: checked at that moment.
void world::note_raft_reply(uint32_t node, const raft::message& m, int64_t leaves_at) {
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
    auto inc = nodes_[node].inc;
    at(leaves_at, [this, node, inc, reply, vote] {
        const auto& n = nodes_[node];
        if (!n.up || n.inc != inc) {
            return;  // the reply never left: it died with the node before its fsync returned
        }
        if (vote) {
            // History (always): one vote per replica, group and term.
            auto [it, fresh] =
                votes_.emplace(std::make_tuple(reply.group, reply.term, reply.from), reply.to);
            if (!fresh && it->second != reply.to) {
                fail(verdict::correctness,
                     fmt::format("node {} voted for {} and for {} in term {} of group {}",
                                 reply.from, it->second, reply.to, reply.term, reply.group));
                return;
            }
        }
        if (ack_oracle_) {
            check_raft_reply(node, reply);
        }
    });
}

void world::check_raft_reply(uint32_t node, const raft::message& m) {
    const auto* durable = nodes_[node].disk->durable_map();
    if (durable == nullptr) {
        return;
    }
    namespace keys = storage::keys;
    if (m.type == raft::msg_type::vote_resp) {
        auto h = durable->find(keys::raft(m.group, 'h'));
        bool ok = h != durable->end() && h->second.size() >= 12 &&
                  (keys::get_u64(h->second, 0) > m.term ||
                   (keys::get_u64(h->second, 0) == m.term && keys::get_u32(h->second, 8) == m.to));
        if (!ok) {
            fail(verdict::correctness,
                 fmt::format("node {} granted its vote in term {} of group {} to {} before the "
                             "vote was durable",
                             m.from, m.term, m.group, m.to));
        }
        return;
    }
    auto snap = durable->find(keys::raft(m.group, 's'));
    bool covered = snap != durable->end() && keys::get_u64(snap->second, 0) >= m.index;
    if (!covered && !durable->count(keys::raft_entry(m.group, m.index))) {
        fail(verdict::correctness,
             fmt::format("node {} acknowledged index {} of group {} to {} before it was durable",
                         m.from, m.index, m.group, m.to));
    }
}

// The events a disk durably holds right now: in container Raft entries and in segment data.
std::set<writer_seq> world::held_now(disk_model& disk) {
    std::set<writer_seq> held;
    if (const auto* durable = disk.durable_map()) {
        for (const auto& [key, value] : *durable) {
            stored_events(key, value, held);
        }
    }
    return held;
}

// Every acknowledged event is durably held by a quorum of nodes at every moment (a node that
// lost its disk counts for what it held then). Catches a follower that drops committed entries.
void world::quorum_oracle() {
    if (!ack_oracle_) {
        return;  // the disks do not model durability (Tier B)
    }
    std::vector<std::set<writer_seq>> held;
    for (auto& n : nodes_) {
        held.push_back(held_now(*n.disk));
    }
    ++counters_["oracle checks"];
    for (const auto& op : ops_) {
        if (op.out != outcome::ok) {
            continue;
        }
        writer_seq ev{op.id.writer, op.id.seq};
        uint32_t copies = 0;
        for (size_t i = 0; i < held.size(); ++i) {
            copies += held[i].count(ev) || wiped_held_[i].count(ev) ? 1 : 0;
        }
        if (copies < k_.nodes / 2 + 1) {
            fail(verdict::correctness,
                 fmt::format("acknowledged event writer={} seq={} (acknowledged at {:.3f}s) is "
                             "durably held by only {} of {} nodes",
                             op.id.writer, op.id.seq,
                             double(op.complete - 3600LL * 1000 * ms) / 1e9, copies, k_.nodes));
            return;
        }
    }
}

uint32_t world::durable_copies(const writer_seq& ev) const {
    uint32_t n = 0;
    for (const auto& held : durable_by_node_) {
        n += held.count(ev) ? 1 : 0;
    }
    return n;
}

// The events a node recovered from the durable part of its disk would hold (standalone; a
// cluster's acknowledgements are checked against its nodes' durable Raft logs instead).
std::optional<std::set<writer_seq>> world::durable_events() {
    if (cluster()) {
        return std::nullopt;
    }
    const auto* durable = nodes_[0].disk->durable_map();
    if (durable == nullptr) {
        return std::nullopt;  // not modelled (Tier B)
    }
    auto store = open_map_store(*durable);
    storage::local_log log(*store, 0);
    storage::container_state state(*store, 0);
    if (auto err = log.open(); err) {
        fail(verdict::crash, "oracle: durable log unreadable: " + render_error(err));
        return std::nullopt;
    }
    if (auto err = state.recover(log); err) {
        fail(verdict::crash, "oracle: recovery from the durable disk failed: " + render_error(err));
        return std::nullopt;
    }
    std::set<writer_seq> present;
    for (const auto& info : streams_) {
        for (const auto& seg : info.record.segments) {
            segment_key key{info.record.uid, seg.id};
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
    }
    return present;
}

void world::final_checks() {
    phase_ = phase::finished;
    done_ = true;
    std::map<writer_seq, uint32_t> stored;
    for (auto id : audit_clients_) {
        for (const auto& ev : clients_[id].audited) {
            ++stored[{ev.writer, ev.seq}];
        }
    }
    for (const auto& op : ops_) {
        auto it = stored.find({op.id.writer, op.id.seq});
        uint32_t n = it == stored.end() ? 0 : it->second;
        if (op.out == outcome::ok && n == 0) {
            auto durable = durable_events();
            auto where =
                cluster()
                    ? fmt::format("{} of {} nodes' disks ever durably held it",
                                  durable_copies({op.id.writer, op.id.seq}), k_.nodes)
                    : fmt::format(
                          "the durable disk {} it",
                          durable && durable->count({op.id.writer, op.id.seq}) ? "has" : "lacks");
            fail(verdict::correctness,
                 fmt::format("lost: acknowledged event writer={} seq={} is not in the stream "
                             "({}; acknowledged at {:.3f}s, sent {} times)",
                             op.id.writer, op.id.seq, where,
                             double(op.complete - 3600LL * 1000 * ms) / 1e9, op.sends));
            return;
        }
        if (op.idempotent && n > 1) {
            fail(verdict::correctness,
                 fmt::format("duplicate: idempotent writer={} seq={} is stored {} times",
                             op.id.writer, op.id.seq, n));
            return;
        }
        if (op.out == outcome::fail && n > 0) {
            fail(verdict::correctness,
                 fmt::format("event writer={} seq={} failed but is stored (incarnation {}, "
                             "sent {} times, failed at {:.3f}s)",
                             op.id.writer, op.id.seq, op.id.incarnation, op.sends,
                             double(op.complete - 3600LL * 1000 * ms) / 1e9));
            return;
        }
    }
}

std::string world::summary() const {
    size_t ok = 0, failed = 0, unknown = 0, pending = 0;
    for (const auto& op : ops_) {
        switch (op.out) {
            case outcome::ok:
                ++ok;
                break;
            case outcome::fail:
                ++failed;
                break;
            case outcome::unknown:
                ++unknown;
                break;
            case outcome::pending:
                ++pending;
                break;
        }
    }
    std::ostringstream out;
    out << fmt::format("writes: {} ({} ok, {} failed, {} unknown, {} pending)", ops_.size(), ok,
                       failed, unknown, pending);
    for (const auto& [name, v] : counters_) {
        out << fmt::format(", {} {}", v, name);
    }
    if (!nodes_.empty()) {
        disk_stats d;
        for (const auto& n : nodes_) {
            const auto& one = n.disk->stats();
            d.writes += one.writes;
            d.syncs += one.syncs;
            d.sync_errors += one.sync_errors;
            d.pending_kept += one.pending_kept;
            d.pending_lost += one.pending_lost;
            d.torn += one.torn;
        }
        out << fmt::format(
            "; disk: {} writes, {} syncs, {} sync errors, {} unsynced kept, {} lost, {} torn",
            d.writes, d.syncs, d.sync_errors, d.pending_kept, d.pending_lost, d.torn);
    }
    return out.str();
}

run_result world::run() {
    wall_start_ = std::chrono::steady_clock::now();
    run_result res;
    const auto& f = k_.faults;
    res.header = fmt::format(
        "seed=0x{:x} profile={} storage={} mutant={} streams={} segments={} writers={} "
        "(non-idempotent {}) keys={} interval={}ms filler<={} inline_log={} fifo_bias={} "
        "latency<={}us jitter<={}us faults: crash={} pause={} reset={} partition={} clog={} "
        "client_crash={} slow_disk={} wipe={} (budget {}) sync_error={}/{} keep={}/{} "
        "sync={}us",
        cfg_.seed, cfg_.profile, cfg_.storage, static_cast<int>(cfg_.mutant), k_.streams,
        k_.segments, k_.writers, k_.non_idempotent, k_.keys, k_.write_interval_ms, k_.filler_max,
        k_.inline_log, k_.fifo_bias, k_.latency_max_us, k_.jitter_max_us, f.crash_ms, f.pause_ms,
        f.reset_ms, f.partition_ms, f.clog_ms, f.client_crash_ms, f.slow_disk_ms, f.wipe_ms,
        budget_.permanent_allowed, f.sync_error_num, f.sync_error_den, f.keep_num, f.keep_den,
        k_.sync_latency_us);
    watcher_ = sys_->spawn(watcher_impl, this);
    disk_faults df;
    df.sync_latency_ns = k_.sync_latency_us * 1000;
    df.sync_error_num = f.sync_error_num;
    df.sync_error_den = f.sync_error_den;
    df.keep_num = f.keep_num;
    df.keep_den = f.keep_den;
    // Setup without disk faults.
    auto quiet = df;
    quiet.sync_error_num = 0;
    durable_by_node_.resize(k_.nodes);
    wiped_held_.resize(k_.nodes);
    for (uint32_t i = 0; i < k_.nodes; ++i) {
        node_t n;
        n.id = i;
        n.disk = make_disk(i, 0, quiet);
        nodes_.push_back(std::move(n));
        for (uint32_t j = 0; j < k_.nodes && cluster(); ++j) {
            if (j != i) {
                node_links_[{i, j}].base_latency_ns = net_rng_.range(20, k_.latency_max_us) * 1000;
            }
        }
    }
    for (auto& n : nodes_) {
        start_node(n);
    }
    if (!done_) {
        spawn_setup();
    }
    bool armed = false;
    while (!done_) {
        if (phase_ == phase::chaos && !armed) {
            for (auto& n : nodes_) {
                n.disk->set_faults(df);
            }
            armed = true;
        }
        if ((steps_ & 1023) == 0) {
            check_wall();
        }
        if (steps_ >= cfg_.max_steps) {
            fail(verdict::liveness, fmt::format("step limit {} reached", cfg_.max_steps));
            break;
        }
        if (step()) {
            continue;
        }
        int64_t tc = no_time;
        if (clock_->has_pending_timeout()) {
            tc = clock_->schedule().begin()->first.time_since_epoch().count();
        }
        int64_t te = events_.empty() ? no_time : events_.begin()->first.first;
        if (tc == no_time && te == no_time) {
            if (phase_ != phase::finished) {
                fail(verdict::liveness,
                     "the world stopped: nothing runnable and nothing scheduled");
            }
            break;
        }
        if (te <= tc) {
            if (te > now()) {
                clock_->current_time = caf::actor_clock::time_point{std::chrono::nanoseconds{te}};
            }
            auto it = events_.begin();
            auto fn = std::move(it->second);
            events_.erase(it);
            fn();
        } else {
            clock_->trigger_timeout();
        }
    }
    res.result = verdict_;
    res.message = message_;
    res.steps = steps_;
    res.sim_ms = (now() - 3600LL * 1000 * ms) / ms;
    res.wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - wall_start_)
                      .count();
    trace(static_cast<uint64_t>(verdict_));
    res.fingerprint = fingerprint_;
    res.summary = summary();
    for (const auto& n : nodes_) {
        res.storage_faults = res.storage_faults || n.disk->stats().sync_errors > 0;
        for (const auto& old : n.old_disks) {
            res.storage_faults = res.storage_faults || old->stats().sync_errors > 0;
        }
    }
    if (cfg_.verbose) {
        for (const auto& line : log_) {
            res.summary += "\n" + line;
        }
    }
    return res;
}

}  // namespace

namespace {

run_result run_profile(const run_config& cfg) {
    try {
        if (cfg.profile == "raft-stale" || cfg.profile == "raft-stale-read") {
            return run_raft_scenario(cfg);
        }
        if (cfg.profile.rfind("raft", 0) == 0) {
            return run_raft_world(cfg);
        }
        world w(cfg);
        return w.run();
    } catch (const std::exception& e) {
        run_result r;
        r.result = verdict::crash;
        r.message = std::string("exception: ") + e.what();
        return r;
    }
}

}  // namespace

run_result run_world(const run_config& cfg) {
    configure_logging(cfg.log_level);
    error_log errors(cfg.log_level);
    auto r = run_profile(cfg);
    if (r.result == verdict::pass) {
        if (auto line = unexpected_error(errors.lines(), r.storage_faults); !line.empty()) {
            r.result = verdict::crash;
            r.message = "an error line no injected fault explains: " + line;
        }
    }
    return r;
}

}  // namespace pravaha::sim
