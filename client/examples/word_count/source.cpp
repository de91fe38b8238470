// The source role: writes the input lines, seals them, and hands a reader of them to the
// counter in the other process; the reader then pushes the lines to the counter directly.

#include "client/examples/word_count/word_count.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

namespace pravaha::example {

using namespace client;

namespace {

// Writes the lines in batches of 500 (each batch answered once all of it is durable).
bool write_lines(caf::scoped_actor& self, const writer_actor& w, const options& opts) {
    constexpr uint64_t batch_size = 500;
    for (uint64_t first = 0; first < opts.lines; first += batch_size) {
        std::vector<event_to_write> batch;
        for (uint64_t i = first; i < std::min(opts.lines, first + batch_size); ++i) {
            batch.push_back(event_to_write{"lines", line_of(opts.seed, i), no_event_number});
        }
        caf::error err;
        self->request(w, caf::infinite, write_atom::value, std::move(batch))
            .receive([](batch_ack&) {}, [&](caf::error& e) { err = std::move(e); });
        if (err) {
            std::fprintf(stderr, "source: writing lines failed: %s\n", render_error(err).c_str());
            return false;
        }
    }
    caf::error err;
    self->request(w, caf::infinite, close_atom::value)
        .receive([](bool) {}, [&](caf::error& e) { err = std::move(e); });
    if (err) {
        std::fprintf(stderr, "source: closing the writer failed: %s\n", render_error(err).c_str());
        return false;
    }
    std::printf("source: wrote %llu lines\n", static_cast<unsigned long long>(opts.lines));
    std::fflush(stdout);
    return true;
}

// The counter's handle, connecting for up to --retry-timeout-ms while its process starts.
caf::expected<counter_actor> find_counter(caf::actor_system& sys, const options& opts) {
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(opts.retry_timeout_ms);
    for (;;) {
        auto ctr =
            sys.middleman().remote_actor<counter_actor>(opts.counter_host, opts.counter_port);
        if (ctr || std::chrono::steady_clock::now() > deadline) {
            return ctr;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

int run(caf::actor_system& sys, const stream_manager_actor& mgr, const options& opts) {
    if (!create_stream(sys, mgr, opts.scope, "lines")) {
        return 1;
    }
    caf::scoped_actor self{sys};
    caf::error err;
    writer_actor w;
    self->request(mgr, caf::infinite, open_writer_atom::value, opts.scope, std::string{"lines"},
                  writer_options{})
        .receive([&](writer_actor& x) { w = std::move(x); },
                 [&](caf::error& e) { err = std::move(e); });
    if (err || !write_lines(self, w, opts)) {
        if (err) {
            std::fprintf(stderr, "source: cannot open a writer: %s\n", render_error(err).c_str());
        }
        return 1;
    }
    // Sealed, the lines end: the reader tells the counter when it has read them all.
    self->request(mgr, caf::infinite, seal_stream_atom::value, opts.scope, std::string{"lines"})
        .receive([](stream_record&) {}, [&](caf::error& e) { err = std::move(e); });
    reader_actor r;
    if (!err) {
        self->request(mgr, caf::infinite, open_reader_atom::value, opts.scope, std::string{"lines"},
                      reader_options{})
            .receive([&](reader_actor& x) { r = std::move(x); },
                     [&](caf::error& e) { err = std::move(e); });
    }
    if (err) {
        std::fprintf(stderr, "source: %s\n", render_error(err).c_str());
        return 1;
    }
    auto ctr = find_counter(sys, opts);
    if (!ctr) {
        std::fprintf(stderr, "source: no counter at %s:%u: %s\n", opts.counter_host.c_str(),
                     opts.counter_port, sys.render(ctr.error()).c_str());
        caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
        return 1;
    }
    // The reader lives here and pushes to the counter over the network.
    self->monitor(r);
    self->monitor(*ctr);
    self->send(*ctr, attach_atom::value, r);
    std::printf("source: the counter reads\n");
    std::fflush(stdout);
    bool reader_ok = false;
    bool reader_down = false;
    bool counter_down = false;
    auto on_down = [&](caf::down_msg& dm) {
        if (dm.source == r.address()) {
            reader_down = true;
            reader_ok = !dm.reason || dm.reason == caf::exit_reason::normal;
            if (!reader_ok) {
                std::fprintf(stderr, "source: the reader ended: %s\n",
                             render_error(dm.reason).c_str());
                self->send_exit(*ctr, dm.reason);
            }
        } else {
            counter_down = true;
        }
    };
    while (!counter_down) {
        self->receive(on_down);
    }
    // The counter ends once it has counted everything; the reader ends at the stream's end
    // around the same time, and its down message may come second.
    bool waited = false;
    while (!reader_down && !waited) {
        self->receive(
            on_down, caf::after(std::chrono::seconds(10)) >> [&] {
                waited = true;
                std::fprintf(stderr, "source: the reader did not end after the counter\n");
            });
    }
    if (!reader_ok) {
        caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
    }
    return reader_ok ? 0 : 1;
}

}  // namespace

int run_source(caf::actor_system& sys, const options& opts) {
    auto mgr = open_manager(sys, opts);
    if (!mgr) {
        return 1;
    }
    int rc = run(sys, *mgr, opts);
    caf::anon_send_exit(*mgr, caf::exit_reason::user_shutdown);
    return rc;
}

}  // namespace pravaha::example
