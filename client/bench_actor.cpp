// pravaha-bench's write mode through the actor API (--api actor): the same closed loop as the
// facade's writer_loop, run by one driver actor per writer in an actor system of this process
// (as an actor application would write), recording into the same run_state.

#include "client/actor_api.hpp"
#include "client/bench_run.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/stateful_actor.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <latch>
#include <optional>

namespace pravaha::bench {

namespace {

using go_atom = caf::atom_constant<caf::atom("bgo")>;

// The drivers are created (their writers opened) first, then released together.
struct driver_gate {
    explicit driver_gate(size_t writers)
        : created(static_cast<std::ptrdiff_t>(writers)),
          finished(static_cast<std::ptrdiff_t>(writers)) {}
    std::latch created;
    std::latch finished;
};

struct driver_state {
    client::writer_actor writer;
    uint64_t next = 0;
    uint64_t in_flight = 0;
    bool stopped = false;
    std::optional<bench_clock::time_point> deadline;
    std::vector<sample> local;
    int64_t last_ack_ns = -1;
    bool progressed = false;
    bool closing = false;
    uint64_t lost = 0;   // window slots of failed events (not reused)
    std::string filler;  // every payload
    static inline const char* name = "bench_driver";
};

using driver_ptr = caf::stateful_actor<driver_state>*;

void finish(driver_ptr self, run_state* rs, driver_gate* gate) {
    auto& st = self->state;
    auto merge = [=] {
        auto& s = self->state;
        {
            std::lock_guard<std::mutex> g(rs->mutex);
            rs->write_samples.insert(rs->write_samples.end(), s.local.begin(), s.local.end());
        }
        gate->finished.count_down();
        self->quit();
    };
    self->request(st.writer, caf::infinite, client::close_atom::value)
        .then([=](bool) { merge(); },
              [=](caf::error& err) {
                  // As the facade's loop: the run's first error, not a failed event.
                  std::lock_guard<std::mutex> g(rs->mutex);
                  if (rs->first_error.empty()) {
                      rs->first_error = render_error(err);
                  }
                  merge();
              });
}

// The answer to a request of `n` events sent at `start` (measured from event `first_measured` of
// them on): one latency sample per measured event, as the facade records per event.
void answered(driver_ptr self,
              run_state* rs,
              const caf::error& err,
              bench_clock::time_point start,
              uint32_t at_ms,
              uint64_t n,
              uint64_t measured) {
    auto& s = self->state;
    rs->written.fetch_add(n);
    s.in_flight -= n;
    if (err) {
        // As the facade's loop: every event of the request failed; its slots are not reused
        // (the run is shorter by them) and the writer goes on.
        for (uint64_t k = 0; k < n; ++k) {
            rs->error(err);
        }
        s.lost += n;
        return;
    }
    auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(bench_clock::now() - start).count();
    rs->acked(s.last_ack_ns, since(rs->start));
    if (measured == 0) {
        return;
    }
    auto lat = static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX));
    for (uint64_t k = 0; k < measured; ++k) {
        rs->live.record(lat);
        s.local.push_back(sample{at_ms, lat});
    }
    rs->done_ops.fetch_add(measured);
    rs->completed(since(rs->start));
    if (!s.progressed) {
        s.progressed = true;
        rs->writers_progressed.fetch_add(1);
    }
}

// Fills the window: sends requests of --batch events (one event: the single write; more: a
// batch write, answered once) while they fit; closes the writer once the run is over and every
// request is answered.
void fill(
    driver_ptr self, const options* o, size_t w, uint64_t count, run_state* rs, driver_gate* gate) {
    auto& st = self->state;
    for (;;) {
        if (!st.stopped &&
            (st.deadline ? bench_clock::now() >= *st.deadline : st.next >= o->warmup + count)) {
            st.stopped = true;
        }
        if (st.stopped) {
            if (st.in_flight == 0 && !st.closing) {
                st.closing = true;
                finish(self, rs, gate);
            }
            return;
        }
        uint64_t n =
            std::min<uint64_t>(o->batch, st.deadline ? o->batch : o->warmup + count - st.next);
        if (st.lost >= o->window) {
            st.stopped = true;  // every slot failed: the writer is done, as in the facade's loop
            continue;
        }
        if (st.in_flight + n > std::max<uint64_t>(o->window - st.lost, n)) {
            return;
        }
        auto first = st.next;
        st.next += n;
        st.in_flight += n;
        auto start = bench_clock::now();
        uint64_t measured = first + n > o->warmup ? first + n - std::max(first, o->warmup) : 0;
        if (measured > 0 && first <= o->warmup) {  // every writer, the earliest counts
            rs->measured_send(
                std::chrono::duration_cast<std::chrono::nanoseconds>(start - rs->start).count());
        }
        auto at_ms = static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(start - rs->start).count());
        auto done = [=](const caf::error& err) {
            answered(self, rs, err, start, at_ms, n, measured);
            fill(self, o, w, count, rs, gate);
        };
        auto failed = [done](caf::error& err) { done(err); };
        if (o->batch == 1) {
            self->request(st.writer, caf::infinite, client::write_atom::value,
                          fmt::format("w{}-k{}", w, first % o->keys), st.filler)
                .then([done](client::event_ack&) { done(caf::error{}); }, failed);
        } else {
            std::vector<client::event_to_write> events;
            events.reserve(n);
            for (uint64_t i = first; i < first + n; ++i) {
                events.push_back(client::event_to_write{fmt::format("w{}-k{}", w, i % o->keys),
                                                        st.filler, no_event_number});
            }
            self->request(st.writer, caf::infinite, client::write_atom::value, std::move(events))
                .then([done](client::batch_ack&) { done(caf::error{}); }, failed);
        }
    }
}

caf::behavior driver(driver_ptr self,
                     client::stream_manager_actor mgr,
                     const options* o,
                     size_t w,
                     uint64_t count,
                     run_state* rs,
                     driver_gate* gate) {
    self->state.filler = make_payload(*o);
    client::writer_options opts;
    // Room for the whole window, as the facade's writers get.
    opts.pending_bytes_max = std::max<uint64_t>(opts.pending_bytes_max,
                                                2 * o->window * (o->event_size + 64) + (1 << 20));
    self->request(mgr, caf::infinite, client::open_writer_atom::value, o->scope, o->stream, opts)
        .then(
            [=](client::writer_actor& writer) {
                self->state.writer = std::move(writer);
                gate->created.count_down();
            },
            [=](caf::error& err) {
                rs->error(err);
                gate->created.count_down();
                gate->finished.count_down();
                self->quit();
            });
    return {
        [=](go_atom, int64_t deadline_ns) {
            auto& st = self->state;
            if (deadline_ns > 0) {
                st.deadline = rs->start + std::chrono::nanoseconds(deadline_ns);
            }
            fill(self, o, w, count, rs, gate);
        },
    };
}

}  // namespace

void run_actor_writers(const options& o, run_state& rs) {
    caf::actor_system_config cfg;
    client::add_actor_api_types(cfg);
    cfg.load<caf::io::middleman>();
    // As the facade's client (transport::make_config): the sharing scheduler with one worker
    // (client_config::worker_threads), the middleman's multiplexer on its own thread.
    cfg.set("scheduler.policy", caf::atom("sharing"));
    cfg.set("scheduler.max-threads", 1);
    cfg.set("middleman.workers", 0);
    cfg.set("logger.console", caf::atom("none"));
    // Before the actor system: the drivers count it down until they end, and the system's
    // destructor waits for them.
    driver_gate gate(o.writers);
    caf::actor_system sys{cfg};
    client::client_config cc;
    cc.endpoint = o.endpoint;
    cc.token = o.token;
    cc.data_port = o.transport == "data";
    auto mgr = client::spawn_stream_manager(sys, cc);
    if (!mgr) {
        rs.error(mgr.error());
        return;
    }
    std::vector<caf::actor> drivers;
    uint64_t per_writer = o.events / o.writers;
    for (size_t w = 0; w < o.writers; ++w) {
        drivers.push_back(sys.spawn(driver, *mgr, &o, w, per_writer, &rs, &gate));
    }
    gate.created.wait();
    rs.setup_s = since(rs.start) / 1e9;
    int64_t deadline_ns = 0;
    if (o.duration_s > 0) {
        deadline_ns = since(rs.start) + static_cast<int64_t>(o.duration_s) * 1000000000;
    }
    rs.go_ns = since(rs.start);
    for (auto& d : drivers) {
        caf::anon_send(d, go_atom::value, deadline_ns);
    }
    gate.finished.wait();
    caf::anon_send_exit(*mgr, caf::exit_reason::user_shutdown);
}

}  // namespace pravaha::bench
