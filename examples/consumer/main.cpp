// Writes one event to a stream and reads it back: the smallest program on Pravaha's C++ client,
// built against an installed Pravaha (see CMakeLists.txt). Usage: pravaha-consumer HOST:PORT
// [SCOPE/STREAM]; prints the event it read back.

#include <client/client.hpp>
#include <schema/errc.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace {

int fail(const char* what, const caf::error& err) {
    std::fprintf(stderr, "pravaha-consumer: %s: %s\n", what, pravaha::render_error(err).c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: pravaha-consumer HOST:PORT [SCOPE/STREAM]\n");
        return 2;
    }
    std::string scope = "consumer";
    std::string stream = "events";
    if (argc > 2) {
        std::string name = argv[2];
        auto slash = name.find('/');
        if (slash == std::string::npos) {
            std::fprintf(stderr, "pravaha-consumer: the stream is SCOPE/STREAM\n");
            return 2;
        }
        scope = name.substr(0, slash);
        stream = name.substr(slash + 1);
    }
    pravaha::client::client_config cfg;
    cfg.endpoint = argv[1];
    auto client = pravaha::client::client_factory::connect(cfg);
    if (!client) {
        return fail("connect", client.error());
    }
    auto& streams = (*client)->streams();
    if (auto err = streams.create_scope(scope);
        err && pravaha::code_of(err) != pravaha::errc::scope_exists) {
        return fail("create scope", err);
    }
    if (auto rec = streams.create_stream(scope, stream, 1);
        !rec && pravaha::code_of(rec.error()) != pravaha::errc::stream_exists) {
        return fail("create stream", rec.error());
    }
    auto writer = (*client)->create_writer(scope, stream);
    if (!writer) {
        return fail("create writer", writer.error());
    }
    if (auto err = (*writer)->write("key", "hello from an installed Pravaha")) {
        return fail("write", err);
    }
    if (auto err = (*writer)->flush()) {
        return fail("flush", err);
    }
    auto reader = (*client)->create_reader(scope, stream, pravaha::client::start_position::head);
    if (!reader) {
        return fail("create reader", reader.error());
    }
    auto ev = (*reader)->read_next(std::chrono::seconds(10));
    if (!ev) {
        return fail("read", ev.error());
    }
    if (!*ev) {
        std::fprintf(stderr, "pravaha-consumer: no event within 10 s\n");
        return 1;
    }
    std::printf("%s\n", (*ev)->payload.c_str());
    return 0;
}
