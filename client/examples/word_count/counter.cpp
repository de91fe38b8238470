// The counter role: the counter actor (a sink of the source's reader, writing running counts),
// the supervisor of its writer, and the process around them.

#include "client/examples/word_count/word_count.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cstdio>
#include <deque>
#include <map>

namespace pravaha::example {

namespace {

using namespace client;

// The output stream's writer id: stable, so that a new writer after a crash continues the same
// sessions and the node recognizes outputs it already stored by their client numbers.
constexpr writer_id counts_writer{0x776f7264636f756eULL /* "wordcoun" */, 1};

struct output {
    int64_t number;  // the input event's offset, also its client number
    std::string payload;
};

struct counter_state {
    counter_state() = default;  // not an aggregate: CAF would construct it from the actor
    reader_actor reader;
    writer_actor writer;
    uint64_t writer_generation = 0;  // answers of an earlier writer are ignored
    uint32_t writers = 0;            // opened so far (restarts = writers - 1)
    std::map<std::string, uint64_t> counts;
    std::deque<output> unacked;  // written and not yet acknowledged, in order
    uint32_t owed_credit = 0;    // input events done (output acknowledged), not yet granted again
    uint64_t events = 0;
    uint64_t since_kill = 0;
    int64_t last_offset = -1;
    bool ended = false;    // the reader sent read_end
    bool closing = false;  // close sent to the writer
    static inline const char* name = "word_counter";
};

using counter_ptr = counter_actor::stateful_pointer<counter_state>;
constexpr uint64_t input_tag = 1;

void fail(counter_ptr self, const std::string& what) {
    std::fprintf(stderr, "counter: %s\n", what.c_str());
    self->quit(caf::make_error(errc::invalid_argument, what));
}

// Hands input credit back to the reader once a quarter of the window is done.
void grant(counter_ptr self, uint32_t window) {
    auto& st = self->state;
    if (st.reader && st.owed_credit >= std::max<uint32_t>(1, window / 4)) {
        self->send(st.reader, credit_atom::value, st.owed_credit);
        st.owed_credit = 0;
    }
}

void maybe_finish(counter_ptr self);

void write_one(counter_ptr self, const output& out, uint32_t window) {
    auto& st = self->state;
    if (!st.writer) {
        return;  // sent when the supervisor hands over a writer
    }
    auto gen = st.writer_generation;
    self->request(st.writer, caf::infinite, write_atom::value, std::string{"counts"}, out.payload,
                  out.number)
        .then(
            [=](event_ack& ack) {
                auto& s = self->state;

                if (gen != s.writer_generation) {
                    return;
                }
                // Acknowledgements of one key come in write order.
                while (!s.unacked.empty() && s.unacked.front().number <= ack.client_number) {
                    s.unacked.pop_front();
                    ++s.owed_credit;
                }
                grant(self, window);
                maybe_finish(self);
            },
            [=](caf::error& err) {
                if (gen != self->state.writer_generation) {
                    return;
                }
                // A writer that was killed, or gave up on its node, ends: the supervisor opens a
                // new one and everything unacknowledged goes to it. Any other error is final.
                if (err != caf::sec::request_receiver_down && code_of(err) != errc::unavailable) {
                    fail(self, "write failed: " + render_error(err));
                }
            });
}

void maybe_finish(counter_ptr self) {
    auto& st = self->state;
    if (!st.ended || !st.unacked.empty() || st.closing || !st.writer) {
        return;
    }
    st.closing = true;
    auto gen = st.writer_generation;
    self->request(st.writer, caf::infinite, close_atom::value)
        .then(
            [=](bool) {
                auto& s = self->state;
                std::printf("counter: done: restarts=%u events=%llu words=%zu\n", s.writers - 1,
                            static_cast<unsigned long long>(s.events), s.counts.size());
                std::fflush(stdout);
                self->quit();
            },
            [=](caf::error& err) {
                if (gen != self->state.writer_generation) {
                    return;
                }
                if (err != caf::sec::request_receiver_down && code_of(err) != errc::unavailable) {
                    fail(self, "close failed: " + render_error(err));
                    return;
                }
                self->state.closing = false;  // again with the next writer
            });
}

counter_actor::behavior_type counter(counter_ptr self, uint32_t window, uint64_t kill_every) {
    self->set_down_handler([=](caf::down_msg& dm) {
        if (dm.source == self->state.reader.address() && dm.reason &&
            dm.reason != caf::exit_reason::normal) {
            fail(self, "the reader ended: " + render_error(dm.reason));
        }
    });
    return {
        [=](attach_atom, reader_actor& r) {
            auto& st = self->state;
            if (st.reader) {
                std::fprintf(stderr, "counter: a second reader is ignored\n");
                return;
            }
            st.reader = r;
            self->monitor(r);
            event_sink_actor sink = caf::actor_cast<counter_actor>(self);
            self->request(r, caf::infinite, subscribe_atom::value, sink, input_tag, window)
                .then(
                    [](stream_position&) { std::printf("counter: reading\n"); },
                    [=](caf::error& err) { fail(self, "subscribe failed: " + render_error(err)); });
        },
        [=](events_atom, uint64_t, std::vector<event>& events, stream_position&) {
            auto& st = self->state;
            for (auto& e : events) {
                // One input segment: offsets grow. A repeated or reordered input would be
                // counted twice, so it stops the example (the test checks there is none).
                if (e.offset <= st.last_offset) {
                    fail(self, "input offset " + std::to_string(e.offset) + " after " +
                                   std::to_string(st.last_offset));
                    return;
                }
                st.last_offset = e.offset;
                std::string payload = std::to_string(e.offset);
                for (auto& word : split_words(e.payload)) {
                    payload += ' ' + word + '=' + std::to_string(++st.counts[word]);
                }
                st.unacked.push_back(output{e.offset, std::move(payload)});
                write_one(self, st.unacked.back(), window);
                if (++st.events % 5000 == 0) {
                    std::printf("counter: %llu events, %u writers\n",
                                static_cast<unsigned long long>(st.events), st.writers);
                    std::fflush(stdout);
                }
                if (kill_every > 0 && ++st.since_kill >= kill_every && st.writer) {
                    st.since_kill = 0;
                    // What a crash of the writer looks like to its supervisor.
                    self->send_exit(st.writer, caf::exit_reason::kill);
                }
            }
        },
        [=](read_end_atom, uint64_t, stream_position&) {
            self->state.ended = true;
            maybe_finish(self);
        },
        [=](new_writer_atom, writer_actor& w) {
            auto& st = self->state;
            st.writer = std::move(w);
            ++st.writer_generation;
            ++st.writers;
            st.closing = false;
            // In order, so client numbers grow; the stored ones are acknowledged, not stored.
            for (auto& out : st.unacked) {
                write_one(self, out, window);
            }
            maybe_finish(self);
        },
    };
}

using open_atom = caf::atom_constant<caf::atom("wcopen")>;

// Opens the counter's writer, monitors it, and opens a new one whenever it ends other than by
// close; ends with the counter. Gives up (ending the counter with the error) when no writer can
// be opened for the retry timeout (the manager retries within it).
caf::behavior supervisor(caf::event_based_actor* self,
                         stream_manager_actor mgr,
                         counter_actor counter,
                         std::string scope) {
    auto current = std::make_shared<caf::actor_addr>();
    self->monitor(counter);
    self->set_down_handler([=](caf::down_msg& dm) {
        if (dm.source == counter.address()) {
            self->quit();
        } else if (dm.source == *current) {
            if (dm.reason && dm.reason != caf::exit_reason::normal) {
                std::printf("supervisor: the writer ended (%s); opening a new one\n",
                            to_string(dm.reason).c_str());
                self->send(self, open_atom::value);
            }
        }
    });
    self->send(self, open_atom::value);
    return {
        [=](open_atom) {
            writer_options opts;
            opts.id = counts_writer;
            opts.stable_id = true;
            self->request(mgr, caf::infinite, open_writer_atom::value, scope, std::string{"counts"},
                          opts)
                .then(
                    [=](writer_actor& w) {
                        *current = w.address();
                        self->monitor(w);
                        self->send(counter, new_writer_atom::value, w);
                    },
                    [=](caf::error& err) {
                        std::fprintf(stderr, "supervisor: cannot open a writer: %s\n",
                                     render_error(err).c_str());
                        self->send_exit(counter, err);
                    });
        },
    };
}

}  // namespace

int run_counter(caf::actor_system& sys, const options& opts) {
    auto mgr = open_manager(sys, opts);
    if (!mgr || !create_stream(sys, *mgr, opts.scope, "counts")) {
        if (mgr) {
            caf::anon_send_exit(*mgr, caf::exit_reason::user_shutdown);
        }
        return 1;
    }
    auto ctr = sys.spawn(counter, opts.window, opts.kill_writer_every);
    auto port = sys.middleman().publish(ctr, opts.counter_port, "127.0.0.1");
    int rc = 0;
    if (!port) {
        std::fprintf(stderr, "counter: cannot listen on 127.0.0.1:%u: %s\n", opts.counter_port,
                     sys.render(port.error()).c_str());
        caf::anon_send_exit(ctr, caf::exit_reason::user_shutdown);
        rc = 1;
    } else {
        std::printf("counter: listening on 127.0.0.1:%u\n", *port);
        std::fflush(stdout);
        // Held until the end: an actor nobody holds a handle to is gone once it runs out of
        // messages.
        auto sup = sys.spawn(supervisor, *mgr, ctr, opts.scope);
        caf::scoped_actor self{sys};
        self->monitor(ctr);
        self->receive([&](caf::down_msg& dm) {
            if (dm.reason && dm.reason != caf::exit_reason::normal) {
                std::fprintf(stderr, "counter: ended: %s\n", render_error(dm.reason).c_str());
                rc = 1;
            }
        });
        sys.middleman().unpublish(ctr, *port);
    }
    caf::anon_send_exit(*mgr, caf::exit_reason::user_shutdown);
    return rc;
}

}  // namespace pravaha::example
