// The word-count example (client/examples/word_count) end to end: its two processes against a
// real node, with the counter's writer killed every 700 events and the node killed and
// restarted in the middle; every input line must be counted exactly once.

#include "client/examples/word_count/word_count.hpp"

#include "tests/system/system_support.hpp"

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#ifndef PRAVAHA_EXAMPLE_BIN
#error "PRAVAHA_EXAMPLE_BIN must name the pravaha-example-wordcount binary"
#endif

using namespace pravaha;
using namespace std::chrono_literals;

namespace {

std::string file_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Every event of scope/stream from the head to its end (the stream is sealed or complete).
std::vector<client::event> read_stream(client::client_factory& f,
                                       const std::string& scope,
                                       const std::string& stream) {
    auto reader = f.create_reader(scope, stream, client::start_position::head);
    REQUIRE(reader);
    std::vector<client::event> out;
    while (true) {
        auto ev = (*reader)->read_next(0ms);
        REQUIRE(ev);
        if (!*ev) {
            return out;
        }
        out.push_back(std::move(**ev));
    }
}

}  // namespace

TEST_CASE(
    "the word-count example counts every line exactly once across writer kills and a node "
    "restart",
    "[system][example]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    const uint64_t lines = 20000;
    const uint64_t seed = 11;
    auto counter_port = std::to_string(test::free_port());
    // A window of 4 lines in the counter's hands paces the pipeline (about 5 s for 20,000
    // lines here, fsync-bound) so that the node's restart lands in the middle of it.
    test::child_process counter(
        {PRAVAHA_EXAMPLE_BIN, "counter", "--endpoint", node.endpoint(), "--port", counter_port,
         "--window", "4", "--kill-writer-every", "700", "--retry-timeout-ms", "30000"},
        dir.path() + "/counter.log");
    test::child_process source(
        {PRAVAHA_EXAMPLE_BIN, "source", "--endpoint", node.endpoint(), "--counter",
         "127.0.0.1:" + counter_port, "--lines", std::to_string(lines), "--seed",
         std::to_string(seed), "--retry-timeout-ms", "30000"},
        dir.path() + "/source.log");

    auto logs = [&] {
        return "counter:\n" + file_text(dir.path() + "/counter.log") + "source:\n" +
               file_text(dir.path() + "/source.log");
    };
    // Until a fifth of the lines is counted (read back from the output stream): the rest takes
    // about 4 s here, and longer on a slower machine, so the restart lands in the middle.
    uint64_t counted = 0;
    {
        auto f = test::connect(node.endpoint());
        std::unique_ptr<client::event_reader> reader;
        for (int i = 0; i < 12000 && counted < lines / 5; ++i) {
            if (!reader) {
                auto r = f->create_reader("demo", "counts", client::start_position::head);
                if (r) {
                    reader = std::move(*r);
                }
            }
            while (reader && counted < lines / 5) {
                auto ev = reader->read_next(0ms);
                REQUIRE(ev);
                if (!*ev) {
                    break;
                }
                ++counted;
            }
            std::this_thread::sleep_for(10ms);
        }
    }
    INFO(logs());
    REQUIRE(counted >= lines / 5);
    // The restart lands in the middle: the counter is still at work.
    REQUIRE(counter.wait(0ms) == test::child_process::still_running);
    node.kill_hard();
    REQUIRE(node.start());

    auto source_status = source.wait(120s);
    auto counter_status = counter.wait(120s);
    INFO(logs());
    CHECK(source_status == 0);
    REQUIRE(counter_status == 0);
    auto log = file_text(dir.path() + "/counter.log");
    auto at = log.find("restarts=");
    REQUIRE(at != std::string::npos);
    CHECK(std::stoul(log.substr(at + 9)) >= 1);

    auto f = test::connect(node.endpoint());
    auto input = read_stream(*f, "demo", "lines");
    REQUIRE(input.size() == lines);
    // The output the counter must have written for each input offset, from the lines in order.
    std::map<int64_t, std::string> expected;
    std::map<std::string, uint64_t> counts;
    for (uint64_t i = 0; i < lines; ++i) {
        REQUIRE(input[i].payload == example::line_of(seed, i));
        auto out = std::to_string(input[i].offset);
        for (auto& word : example::split_words(input[i].payload)) {
            out += ' ' + word + '=' + std::to_string(++counts[word]);
        }
        expected[input[i].offset] = out;
    }
    auto output = read_stream(*f, "demo", "counts");
    std::map<int64_t, int> seen;
    uint64_t wrong = 0;
    for (auto& ev : output) {
        auto offset = std::stoll(ev.payload.substr(0, ev.payload.find(' ')));
        ++seen[offset];
        if (expected[offset] != ev.payload) {
            ++wrong;
            UNSCOPED_INFO("offset " << offset << ": " << ev.payload << " (expected "
                                    << expected[offset] << ")");
        }
    }
    uint64_t missing = 0;
    uint64_t repeated = 0;
    for (auto& [offset, _] : expected) {
        missing += seen.count(offset) == 0 ? 1 : 0;
        repeated += seen[offset] > 1 ? 1 : 0;
    }
    CHECK(output.size() == lines);
    CHECK(missing == 0);
    CHECK(repeated == 0);
    CHECK(wrong == 0);
}
