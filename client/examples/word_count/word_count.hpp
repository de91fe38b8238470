#pragma once

// The word-count example: a pipeline of actors in two processes, built only on the actor client
// API (client/actor_api.hpp).
//
//   source process                          counter process
//   --------------                          ---------------
//   writes <scope>/lines, seals it,         publishes the counter actor on --port;
//   opens a reader at its head and          the counter counts the words of every line and
//   hands it to the remote counter  ----->  writes its running counts to <scope>/counts;
//   (the reader pushes events to the        a supervisor monitors its writer and opens a new
//   counter over the network; credit        one when it ends (the counter resends what was not
//   flows back)                             acknowledged: a stable writer id and the input
//                                           offsets as client numbers store each once)
//
// Shared by both roles and by tests/system/actor_example_test.cpp, which checks the output.

#include "client/actor_api.hpp"
#include "schema/errc.hpp"
#include "schema/splitmix.hpp"

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pravaha::example {

/// The counter's interface: a sink of events plus the two messages that feed it.
using attach_atom = caf::atom_constant<caf::atom("wcattach")>;
using new_writer_atom = caf::atom_constant<caf::atom("wcwriter")>;
using counter_actor = client::event_sink_actor::extend<
    caf::reacts_to<attach_atom, client::reader_actor>,       // read these lines (from the source)
    caf::reacts_to<new_writer_atom, client::writer_actor>>;  // write here (from the supervisor)

struct options {
    std::string role;  // "counter" or "source"
    std::string endpoint = "127.0.0.1:9090";
    std::string scope = "demo";
    std::string counter_host = "127.0.0.1";
    uint16_t counter_port = 0;
    uint64_t lines = 10000;
    uint64_t seed = 1;
    uint64_t kill_writer_every = 0;  // counter: kill its own writer after so many events (0: never)
    uint32_t window = 256;           // counter: input events in its hands at most
    int64_t retry_timeout_ms = 60000;
};

int run_counter(caf::actor_system& sys, const options& opts);
int run_source(caf::actor_system& sys, const options& opts);

/// Both roles: a stream manager for --endpoint with --retry-timeout-ms (nullopt after saying why).
std::optional<client::stream_manager_actor> open_manager(caf::actor_system& sys,
                                                         const options& opts);
/// Creates the scope (if missing) and a new one-segment stream in it; false after saying why
/// (also when the stream exists: its client numbers would make the output look stored).
bool create_stream(caf::actor_system& sys,
                   const client::stream_manager_actor& mgr,
                   const std::string& scope,
                   const std::string& stream);

// -- the input and the output format ----------------------------------------------------------

/// Line `i` of the input generated from `seed`: 3 to 8 words of a 40-word vocabulary.
inline std::string line_of(uint64_t seed, uint64_t i) {
    static const char* const words[] = {
        "alpha",  "bravo",  "charlie", "delta",   "echo",    "foxtrot",  "golf",    "hotel",
        "india",  "juliet", "kilo",    "lima",    "mike",    "november", "oscar",   "papa",
        "quebec", "romeo",  "sierra",  "tango",   "uniform", "victor",   "whiskey", "xray",
        "yankee", "zulu",   "stream",  "segment", "event",   "reader",   "writer",  "actor",
        "scope",  "key",    "order",   "credit",  "quorum",  "replica",  "leader",  "offset"};
    uint64_t state = seed * 0x100000001b3ULL + i;
    auto n = 3 + splitmix64(state) % 6;
    std::string line;
    for (uint64_t w = 0; w < n; ++w) {
        if (!line.empty()) {
            line += ' ';
        }
        line += words[splitmix64(state) % (sizeof(words) / sizeof(words[0]))];
    }
    return line;
}

/// The words of a line (separated by single spaces).
inline std::vector<std::string> split_words(const std::string& line) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= line.size()) {
        auto end = line.find(' ', start);
        if (end == std::string::npos) {
            end = line.size();
        }
        if (end > start) {
            out.push_back(line.substr(start, end - start));
        }
        start = end + 1;
    }
    return out;
}

}  // namespace pravaha::example
