// The Cap'n Proto RPC gateway of a real pravaha-node, driven with Cap'n Proto's own C++ client
// over TCP, as a client in another language would.

#include "client/client.hpp"
#include "schema/pravaha.capnp.h"

#include "tests/support/node_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/system/rpc_support.hpp"
#include <arpa/inet.h>
#include <capnp/rpc-twoparty.h>
#include <catch2/catch.hpp>
#include <kj/async-io.h>
#include <kj/vector.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace pravaha;
using test::rpc_client;

TEST_CASE("the RPC gateway manages scopes and streams with documented errors", "[system][rpc]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    auto io = kj::setupAsyncIo();
    rpc_client c(io, node.rpc_port());
    auto& ws = io.waitScope;

    CHECK(c.create_scope("rpc") == "");
    CHECK(c.create_scope("rpc") == "scope_exists");
    CHECK(c.create_scope("bad name!") == "invalid_name");

    auto create = c.manager.createStreamRequest();
    create.setScope("rpc");
    create.setStream("events");
    create.setSegments(3);
    auto created = create.send().wait(ws);
    REQUIRE(rpc_client::error_of(created) == "");
    CHECK(created.getInfo().getSegmentInfos().size() == 3);
    CHECK(created.getInfo().getSegmentInfos()[0].getKeyStart() == 0.0);
    CHECK(created.getInfo().getSegmentInfos()[2].getKeyEnd() == 1.0);

    auto list = c.manager.listStreamsRequest();
    list.setScope("rpc");
    auto listed = list.send().wait(ws);
    REQUIRE(rpc_client::error_of(listed) == "");
    REQUIRE(listed.getStreams().size() == 1);
    CHECK(std::string(listed.getStreams()[0].cStr()) == "events");

    auto info = c.manager.streamInfoRequest();
    info.setScope("rpc");
    info.setStream("events");
    auto got = info.send().wait(ws);
    REQUIRE(rpc_client::error_of(got) == "");
    CHECK(std::string(got.getInfo().getName().cStr()) == "events");
    CHECK(got.getInfo().getSegmentInfos().size() == 3);
    CHECK_FALSE(got.getInfo().getSealed());

    auto missing = c.manager.streamInfoRequest();
    missing.setScope("rpc");
    missing.setStream("nope");
    auto not_found = missing.send().wait(ws);
    CHECK(rpc_client::error_of(not_found) == "stream_not_found");
    CHECK(not_found.getError().getCode() == 7);

    auto del = c.manager.deleteStreamRequest();
    del.setScope("rpc");
    del.setStream("events");
    CHECK(rpc_client::error_of(del.send().wait(ws)) == "stream_not_sealed");
    auto seal = c.manager.sealStreamRequest();
    seal.setScope("rpc");
    seal.setStream("events");
    CHECK(rpc_client::error_of(seal.send().wait(ws)) == "");
    auto del_sealed = c.manager.deleteStreamRequest();  // a request is sent once
    del_sealed.setScope("rpc");
    del_sealed.setStream("events");
    CHECK(rpc_client::error_of(del_sealed.send().wait(ws)) == "");

    auto scopes = c.manager.listScopesRequest().send().wait(ws);
    REQUIRE(scopes.getScopes().size() == 1);
    CHECK(std::string(scopes.getScopes()[0].cStr()) == "rpc");
}

TEST_CASE("garbage and vanished clients on the RPC port disturb nobody else", "[system][rpc]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    auto io = kj::setupAsyncIo();
    rpc_client steady(io, node.rpc_port());
    REQUIRE(steady.create_scope("before") == "");

    // A frame header announcing a huge message, then random bytes; a client that connects and
    // leaves in the middle of a call.
    std::string garbage("\x00\x00\x00\x00\xff\xff\xff\x7f", 8);
    for (int i = 0; i < 4096; ++i) {
        garbage.push_back(static_cast<char>((i * 131 + 7) % 251));
    }
    REQUIRE(test::send_raw(node.rpc_port(), garbage));
    REQUIRE(test::send_raw(node.rpc_port(), std::string(3, '\x01')));
    {
        rpc_client leaving(io, node.rpc_port());
        auto req = leaving.manager.createScopeRequest();
        req.setScope("abandoned");
        auto pending = req.send();  // dropped with the connection, never awaited
    }

    // The earlier connection and new ones keep working; stored data is intact.
    CHECK(steady.create_scope("after") == "");
    rpc_client fresh(io, node.rpc_port());
    auto scopes = fresh.manager.listScopesRequest().send().wait(io.waitScope);
    std::vector<std::string> names;
    for (auto s : scopes.getScopes()) {
        names.emplace_back(s.cStr());
    }
    CHECK(std::find(names.begin(), names.end(), "before") != names.end());
    CHECK(std::find(names.begin(), names.end(), "after") != names.end());
    CHECK(node.running());
}

TEST_CASE("RPC writers and a reader move 10000 events exactly once in per-key order",
          "[system][rpc]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    auto io = kj::setupAsyncIo();
    auto& ws = io.waitScope;
    rpc_client c(io, node.rpc_port());
    REQUIRE(c.create_scope("rpc") == "");
    REQUIRE(c.create_stream("rpc", "flow", 4) == "");
    auto boot = c.client->bootstrap().castAs<rpc::Pravaha>();

    // Bad input first: an unknown stream, an oversized event.
    auto bad = boot.openWriterRequest();
    bad.setScope("rpc");
    bad.setStream("nope");
    CHECK(rpc_client::error_of(bad.send().wait(ws)) == "stream_not_found");

    constexpr int writers = 2;
    constexpr int per_writer = 5000;
    constexpr int keys = 20;
    std::vector<rpc::EventWriter::Client> ws_clients;
    for (int w = 0; w < writers; ++w) {
        auto open = boot.openWriterRequest();
        open.setScope("rpc");
        open.setStream("flow");
        open.setWriterId("writer-" + std::to_string(w));
        auto opened = open.send().wait(ws);
        REQUIRE(rpc_client::error_of(opened) == "");
        ws_clients.push_back(opened.getWriter());
    }
    {
        auto big = ws_clients[0].writeRequest();
        auto list = big.initEvents(1);
        list[0].setRoutingKey("k");
        list[0].initPayload(8 * 1024 * 1024 + 1);
        CHECK(rpc_client::error_of(big.send().wait(ws)) == "event_too_large");
    }
    // Both writers write in batches of 100, several calls in flight at once.
    kj::Vector<kj::Promise<void>> calls;
    for (int w = 0; w < writers; ++w) {
        for (int b = 0; b < per_writer / 100; ++b) {
            auto req = ws_clients[w].writeRequest();
            auto list = req.initEvents(100);
            for (int i = 0; i < 100; ++i) {
                int seq = b * 100 + i;
                auto text = std::to_string(w) + ":" + std::to_string(seq);
                list[i].setRoutingKey("key-" + std::to_string(seq % keys));
                list[i].setPayload(
                    kj::arrayPtr(reinterpret_cast<const kj::byte*>(text.data()), text.size()));
            }
            calls.add(req.send().then([b](auto r) {
                CHECK(rpc_client::error_of(r) == "");
                CHECK(r.getCount() == 100);
                CHECK(r.getFirstEventNumber() == b * 100);
            }));
        }
    }
    kj::joinPromises(calls.releaseAsArray()).wait(ws);

    // Two readers one after the other: the first stops after about 3000 events, the second
    // opens at the first one's last answered position and reads the rest.
    std::map<std::pair<int, int>, int> last;  // (writer, key) -> last seq
    std::set<std::pair<int, int>> seen;
    std::vector<std::pair<uint64_t, int64_t>> position;
    auto read_from = [&](bool resume, size_t stop_after) {
        auto open_reader = boot.openReaderRequest();
        open_reader.setScope("rpc");
        open_reader.setStream("flow");
        if (resume) {
            auto list = open_reader.initPosition(static_cast<unsigned>(position.size()));
            for (unsigned i = 0; i < position.size(); ++i) {
                list[i].setSegmentId(position[i].first);
                list[i].setOffset(position[i].second);
            }
        }
        auto opened = open_reader.send().wait(ws);
        REQUIRE(rpc_client::error_of(opened) == "");
        auto reader = opened.getReader();
        while (seen.size() < stop_after) {
            auto next = reader.nextRequest();
            next.setMaxEvents(700);
            next.setTimeoutMs(0);
            auto got = next.send().wait(ws);
            REQUIRE(rpc_client::error_of(got) == "");
            REQUIRE(got.getPosition().size() == 4);
            position.clear();
            for (auto p : got.getPosition()) {
                position.emplace_back(p.getSegmentId(), p.getOffset());
            }
            if (got.getEvents().size() == 0) {
                break;  // caught up
            }
            for (auto e : got.getEvents()) {
                std::string text(reinterpret_cast<const char*>(e.getPayload().begin()),
                                 e.getPayload().size());
                auto colon = text.find(':');
                int w = std::stoi(text.substr(0, colon));
                int seq = std::stoi(text.substr(colon + 1));
                REQUIRE(seen.insert({w, seq}).second);  // exactly once
                auto key = std::make_pair(w, seq % keys);
                auto it = last.find(key);
                if (it != last.end()) {
                    REQUIRE(it->second < seq);  // per-key order
                }
                last[key] = seq;
            }
        }
    };
    read_from(false, 3000);
    CHECK(seen.size() >= 3000);
    CHECK(seen.size() < writers * per_writer);
    read_from(true, SIZE_MAX);
    CHECK(seen.size() == writers * per_writer);

    // Positions that do not fit the stream.
    for (auto [seg, offset, expected] :
         {std::tuple<uint64_t, int64_t, std::string>{position[0].first, 1ll << 40, "bad_offset"},
          {position[0].first, -1, "bad_offset"},
          {12345, 0, "invalid_argument"}}) {
        auto open_reader = boot.openReaderRequest();
        open_reader.setScope("rpc");
        open_reader.setStream("flow");
        auto list = open_reader.initPosition(1);
        list[0].setSegmentId(seg);
        list[0].setOffset(offset);
        CHECK(rpc_client::error_of(open_reader.send().wait(ws)) == expected);
    }
}

namespace {

// Reads everything stored (timeout 0 until an empty answer) and returns the payloads in order.
std::vector<std::string> read_all(rpc_client& c,
                                  const std::string& scope,
                                  const std::string& stream) {
    auto& ws = c.io.waitScope;
    auto boot = c.client->bootstrap().castAs<rpc::Pravaha>();
    auto open = boot.openReaderRequest();
    open.setScope(scope);
    open.setStream(stream);
    auto opened = open.send().wait(ws);
    REQUIRE(rpc_client::error_of(opened) == "");
    auto reader = opened.getReader();
    std::vector<std::string> out;
    for (;;) {
        auto next = reader.nextRequest();
        next.setMaxEvents(1000);
        next.setTimeoutMs(0);
        auto got = next.send().wait(ws);
        REQUIRE(rpc_client::error_of(got) == "");
        if (got.getEvents().size() == 0) {
            return out;
        }
        for (auto e : got.getEvents()) {
            out.emplace_back(reinterpret_cast<const char*>(e.getPayload().begin()),
                             e.getPayload().size());
        }
    }
}

// A write request of `count` events numbered from `first` (-1: the node numbers them).
kj::Promise<capnp::Response<rpc::EventWriter::WriteResults>> write_numbered(
    rpc::EventWriter::Client& w, int64_t first, int count, int label_from, const std::string& tag) {
    auto req = w.writeRequest();
    req.setFirstEventNumber(first);
    auto list = req.initEvents(static_cast<unsigned>(count));
    for (int i = 0; i < count; ++i) {
        auto text = tag + ":" + std::to_string(label_from + i);
        list[static_cast<unsigned>(i)].setRoutingKey("key-" + std::to_string((label_from + i) % 7));
        list[static_cast<unsigned>(i)].setPayload(
            kj::arrayPtr(reinterpret_cast<const kj::byte*>(text.data()), text.size()));
    }
    return req.send();
}

capnp::Response<rpc::Pravaha::OpenWriterResults> open_writer(rpc_client& c,
                                                             const std::string& id,
                                                             const std::string& stream = "resend") {
    auto boot = c.client->bootstrap().castAs<rpc::Pravaha>();
    auto open = boot.openWriterRequest();
    open.setScope("rpc");
    open.setStream(stream);
    open.setWriterId(id);
    auto opened = open.send().wait(c.io.waitScope);
    REQUIRE(rpc_client::error_of(opened) == "");
    return opened;
}

}  // namespace

TEST_CASE("an RPC writer that lost its connection resends without losing or duplicating",
          "[system][rpc]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    auto io = kj::setupAsyncIo();
    auto& ws = io.waitScope;
    constexpr int batches = 20;
    constexpr int batch = 50;
    {
        rpc_client admin(io, node.rpc_port());
        REQUIRE(admin.create_scope("rpc") == "");
        REQUIRE(admin.create_stream("rpc", "resend", 3) == "");
    }
    // Sends every batch numbered by the client, waits for the first `acked` answers, then lets
    // `lose` end the connection with the other calls in flight.
    auto first_connection = [&](const std::string& id, int acked,
                                const std::function<void()>& lose) {
        auto c = std::make_unique<rpc_client>(io, node.rpc_port());
        auto opened = open_writer(*c, id);
        CHECK(opened.getLastEventNumber() == -1);
        auto w = opened.getWriter();
        std::vector<kj::Promise<capnp::Response<rpc::EventWriter::WriteResults>>> calls;
        calls.reserve(static_cast<size_t>(acked));
        for (int b = 0; b < acked; ++b) {
            calls.push_back(write_numbered(w, b * batch, batch, b * batch, id));
        }
        for (auto& call : calls) {
            REQUIRE(rpc_client::error_of(call.wait(ws)) == "");
        }
        calls.clear();
        lose();
        for (int b = acked; b < batches; ++b) {
            calls.push_back(write_numbered(w, b * batch, batch, b * batch, id));
        }
        io.provider->getTimer().afterDelay(20 * kj::MILLISECONDS).wait(ws);  // frames leave
        calls.clear();  // cancelled: their answers are never read
        c.reset();      // the connection closes
    };
    // Reopened under the same id, the client writes again every batch it has no answer for,
    // with the same numbers; it also sends the acknowledged ones again (a client that cannot
    // tell), which must not be stored twice either. Returns lastEventNumber of the reopening.
    auto resend = [&](const std::string& id) {
        rpc_client c(io, node.rpc_port());
        auto opened = open_writer(c, id);
        auto last = opened.getLastEventNumber();
        auto w = opened.getWriter();
        for (int b = 0; b < batches; ++b) {
            REQUIRE(rpc_client::error_of(
                        write_numbered(w, b * batch, batch, b * batch, id).wait(ws)) == "");
        }
        // Numbers must grow within one writer object; unnumbered events continue after them.
        CHECK(rpc_client::error_of(write_numbered(w, 0, 1, 0, id).wait(ws)) == "invalid_argument");
        auto more = write_numbered(w, -1, batch, batches * batch, id).wait(ws);
        REQUIRE(rpc_client::error_of(more) == "");
        CHECK(more.getFirstEventNumber() == batches * batch);
        return last;
    };

    // 1. The node stops answering (SIGSTOP) while the later calls are sent, and is killed with
    //    kill -9 before it reads them: exactly the first 5 batches are stored.
    first_connection("paused", 5, [&] { node.pause(); });
    node.kill_hard();
    REQUIRE(node.start());
    CHECK(resend("paused") == 5 * batch - 1);
    // 2. The connection closes while the node is working on the calls in flight: any prefix of
    //    each segment's share may be stored.
    first_connection("racing", 1, [] {});
    auto last = resend("racing");
    CHECK(last >= batch - 1);
    CHECK(last <= batches * batch - 1);

    rpc_client check(io, node.rpc_port());
    auto got = read_all(check, "rpc", "resend");
    std::map<std::string, std::vector<int>> by_writer;
    for (auto& text : got) {
        auto colon = text.find(':');
        by_writer[text.substr(0, colon)].push_back(std::stoi(text.substr(colon + 1)));
    }
    for (const std::string id : {"paused", "racing"}) {
        auto& numbers = by_writer[id];
        std::set<int> unique(numbers.begin(), numbers.end());
        CHECK(unique.size() == numbers.size());         // nothing twice
        CHECK(unique.size() == (batches + 1) * batch);  // nothing lost
        std::map<int, int> last_of_key;                 // per-key order
        for (int n : numbers) {
            auto it = last_of_key.find(n % 7);
            if (it != last_of_key.end()) {
                CHECK(it->second < n);
            }
            last_of_key[n % 7] = n;
        }
    }
    // After a kill -9 the ids still know where they stand.
    node.kill_hard();
    REQUIRE(node.start());
    rpc_client after(io, node.rpc_port());
    CHECK(open_writer(after, "paused").getLastEventNumber() == (batches + 1) * batch - 1);
    CHECK(open_writer(after, "racing").getLastEventNumber() == (batches + 1) * batch - 1);
}

TEST_CASE("an RPC writer reopened after a seal has its stored resends acknowledged",
          "[system][rpc]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    auto io = kj::setupAsyncIo();
    auto& ws = io.waitScope;
    constexpr int batches = 5;
    constexpr int batch = 40;
    rpc_client c(io, node.rpc_port());
    REQUIRE(c.create_scope("rpc") == "");
    REQUIRE(c.create_stream("rpc", "sealed", 3) == "");
    {
        // The client writes, and loses its connection before it can tell which calls were
        // answered (here: all of them were stored).
        rpc_client first(io, node.rpc_port());
        auto w = open_writer(first, "w", "sealed").getWriter();
        for (int b = 0; b < batches; ++b) {
            REQUIRE(rpc_client::error_of(
                        write_numbered(w, b * batch, batch, b * batch, "w").wait(ws)) == "");
        }
    }
    auto seal = c.manager.sealStreamRequest();
    seal.setScope("rpc");
    seal.setStream("sealed");
    REQUIRE(rpc_client::error_of(seal.send().wait(ws)) == "");
    // Reopened after the seal: every segment is sealed, yet the writer learns what is stored
    // (it used to get -1: sealed segments refused the session) and its resends are acknowledged
    // (they used to fail with segment_sealed although stored); new events fail.
    rpc_client again(io, node.rpc_port());
    auto opened = open_writer(again, "w", "sealed");
    CHECK(opened.getLastEventNumber() == batches * batch - 1);
    auto w = opened.getWriter();
    for (int b = 0; b < batches; ++b) {
        CHECK(rpc_client::error_of(write_numbered(w, b * batch, batch, b * batch, "w").wait(ws)) ==
              "");
    }
    auto fresh = rpc_client::error_of(
        write_numbered(w, batches * batch, batch, batches * batch, "w").wait(ws));
    CHECK((fresh == "segment_sealed" || fresh == "stream_sealed"));
    auto got = read_all(c, "rpc", "sealed");
    std::set<std::string> unique(got.begin(), got.end());
    CHECK(unique.size() == got.size());
    CHECK(got.size() == static_cast<size_t>(batches * batch));
}

TEST_CASE("packed writes store their events; malformed blobs store nothing", "[system][rpc]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    auto io = kj::setupAsyncIo();
    auto& ws = io.waitScope;
    rpc_client c(io, node.rpc_port());
    REQUIRE(c.create_scope("rpc") == "");
    REQUIRE(c.create_stream("rpc", "packed", 2) == "");
    auto boot = c.client->bootstrap().castAs<rpc::Pravaha>();
    auto open = boot.openWriterRequest();
    open.setScope("rpc");
    open.setStream("packed");
    auto writer = open.send().wait(ws).getWriter();

    auto pack = [](const std::vector<std::pair<std::string, std::string>>& events) {
        std::string out;
        auto put = [&](const std::string& s) {
            for (int i = 0; i < 4; ++i) {
                out.push_back(static_cast<char>((s.size() >> (8 * i)) & 0xff));
            }
            out += s;
        };
        for (const auto& [key, payload] : events) {
            put(key);
            put(payload);
        }
        return out;
    };
    auto write_packed = [&](const std::string& blob, uint32_t count) {
        auto req = writer.writePackedRequest();
        req.setPacked(kj::arrayPtr(reinterpret_cast<const kj::byte*>(blob.data()), blob.size()));
        req.setCount(count);
        return rpc_client::error_of(req.send().wait(ws));
    };
    auto good = pack({{"k1", "one"}, {"k2", ""}, {"k1", std::string(1000, 'x')}});
    CHECK(write_packed(good, 3) == "");
    CHECK(write_packed(good, 2) == "invalid_argument");  // bytes left over
    CHECK(write_packed(good, 4) == "invalid_argument");  // one missing
    CHECK(write_packed(good.substr(0, good.size() - 1), 3) == "invalid_argument");     // cut short
    CHECK(write_packed(std::string("\xff\xff\xff\xff", 4), 1) == "invalid_argument");  // huge key
    CHECK(write_packed("", 20000) == "invalid_argument");  // over 10,000 events
    CHECK(write_packed(pack({{"k", std::string(8 * 1024 * 1024 + 1, 'y')}}), 1) ==
          "event_too_large");
    auto got = read_all(c, "rpc", "packed");
    REQUIRE(got.size() == 3);  // k1's two in order; k2's may be anywhere (another segment)
    got.erase(std::find(got.begin(), got.end(), ""));
    CHECK(got == std::vector<std::string>{"one", std::string(1000, 'x')});

    // release: a write sent just before it is stored (release waits for it), later ones are
    // refused (the node-side writer is gone); a second release answers at once.
    auto last = pack({{"k1", "last"}});
    auto before = writer.writePackedRequest();
    before.setPacked(kj::arrayPtr(reinterpret_cast<const kj::byte*>(last.data()), last.size()));
    before.setCount(1);
    auto sent = before.send();
    auto released = writer.releaseRequest().send();
    CHECK(rpc_client::error_of(sent.wait(ws)) == "");
    released.wait(ws);
    writer.releaseRequest().send().wait(ws);
    CHECK(write_packed(pack({{"k1", "after"}}), 1) == "invalid_argument");
    got = read_all(c, "rpc", "packed");
    CHECK(got.size() == 4);
    CHECK(std::count(got.begin(), got.end(), "last") == 1);
    CHECK(std::count(got.begin(), got.end(), "after") == 0);
}

namespace {

// Writes `n` events "t<t>-k<i % 10>-<i / 10>" (keys k0..k9) through an RPC writer; its answer.
std::string write_txn_events(kj::WaitScope& ws, rpc::EventWriter::Client& w, int t, int n) {
    auto req = w.writeRequest();
    auto list = req.initEvents(static_cast<unsigned>(n));
    for (int i = 0; i < n; ++i) {
        auto key = "k" + std::to_string(i % 10);
        auto text = "t" + std::to_string(t) + "-" + key + "-" + std::to_string(i / 10);
        list[static_cast<unsigned>(i)].setRoutingKey(key);
        list[static_cast<unsigned>(i)].setPayload(
            kj::arrayPtr(reinterpret_cast<const kj::byte*>(text.data()), text.size()));
    }
    return rpc_client::error_of(req.send().wait(ws));
}

// The payloads of rpc/txns from the head, read with the C++ client.
std::vector<std::string> txn_stream_payloads(const std::string& endpoint) {
    client::client_config cfg;
    cfg.endpoint = endpoint;
    auto f = client::client_factory::connect(cfg);
    REQUIRE(f);
    auto r = (*f)->create_reader("rpc", "txns", client::start_position::head);
    REQUIRE(r);
    std::vector<std::string> out;
    while (true) {
        auto ev = (*r)->read_next(std::chrono::milliseconds(0));
        REQUIRE(ev);
        if (!*ev) {
            return out;
        }
        out.push_back((*ev)->payload);
    }
}

}  // namespace

TEST_CASE("RPC transactions: invisible until commit, whole after, aborted when dropped",
          "[system][rpc][txn]") {
    test::temp_dir dir;
    test::node_process node(dir.path() + "/node", test::free_port());
    REQUIRE(node.start());
    auto io = kj::setupAsyncIo();
    auto& ws = io.waitScope;
    rpc_client c(io, node.rpc_port());
    REQUIRE(c.create_scope("rpc") == "");
    REQUIRE(c.create_stream("rpc", "txns", 3) == "");
    auto boot = c.client->bootstrap().castAs<rpc::Pravaha>();
    auto begin = [&](int64_t lease_ms, const std::string& writer) {
        auto req = boot.beginTransactionRequest();
        req.setScope("rpc");
        req.setStream("txns");
        req.setLeaseMs(lease_ms);
        req.setWriterId(writer);
        return req.send().wait(ws);
    };
    auto listed = [&](const std::string& writer) {
        auto req = c.manager.listTransactionsRequest();
        req.setScope("rpc");
        req.setStream("txns");
        req.setWriterId(writer);
        auto r = req.send().wait(ws);
        REQUIRE(rpc_client::error_of(r) == "");
        std::vector<std::pair<std::string, std::string>> out;  // id, state
        for (auto t : r.getTransactions()) {
            out.emplace_back(t.getId().cStr(), t.getState().cStr());
        }
        return out;
    };

    auto began = begin(30000, "producer-1");
    REQUIRE(rpc_client::error_of(began) == "");
    std::string id = began.getInfo().getId().cStr();
    CHECK(id.size() == 16);
    CHECK(std::string(began.getInfo().getState().cStr()) == "open");
    CHECK(began.getInfo().getSegments().size() == 3);
    auto txn = began.getTransaction();
    auto got = txn.writerRequest().send().wait(ws);
    REQUIRE(rpc_client::error_of(got) == "");
    auto writer = got.getWriter();
    REQUIRE(write_txn_events(ws, writer, 1, 300) == "");
    CHECK(txn_stream_payloads(node.endpoint()).empty());
    CHECK(listed("producer-1") == std::vector<std::pair<std::string, std::string>>{{id, "open"}});
    CHECK(listed("someone-else").empty());

    // Events written and not yet answered when commit is called are in it (flushed first).
    auto late = writer.writeRequest();
    auto one = late.initEvents(1);
    one[0].setRoutingKey("k0");
    std::string text = "t1-late";
    one[0].setPayload(kj::arrayPtr(reinterpret_cast<const kj::byte*>(text.data()), text.size()));
    auto late_answer = late.send();
    auto committed = txn.commitRequest().send().wait(ws);
    REQUIRE(rpc_client::error_of(committed) == "");
    CHECK(std::string(committed.getInfo().getState().cStr()) == "committed");
    CHECK(rpc_client::error_of(late_answer.wait(ws)) == "");
    auto seen = txn_stream_payloads(node.endpoint());
    CHECK(seen.size() == 301);
    CHECK(std::count(seen.begin(), seen.end(), "t1-late") == 1);
    CHECK(rpc_client::error_of(txn.commitRequest().send().wait(ws)) == "");  // idempotent
    CHECK(rpc_client::error_of(txn.abortRequest().send().wait(ws)) == "transaction_committed");
    CHECK(write_txn_events(ws, writer, 1, 5) == "transaction_not_open");

    // Aborted: never visible; committing it is refused.
    auto second = begin(30000, "");
    REQUIRE(rpc_client::error_of(second) == "");
    auto second_txn = second.getTransaction();
    auto second_writer = second_txn.writerRequest().send().wait(ws).getWriter();
    REQUIRE(write_txn_events(ws, second_writer, 2, 50) == "");
    auto aborted = second_txn.abortRequest().send().wait(ws);
    REQUIRE(rpc_client::error_of(aborted) == "");
    CHECK(std::string(aborted.getInfo().getState().cStr()) == "aborted");
    CHECK(rpc_client::error_of(second_txn.commitRequest().send().wait(ws)) ==
          "transaction_aborted");

    // Found again by id; dropped: nobody renews its lease and it is aborted.
    auto third = begin(1000, "producer-1");
    REQUIRE(rpc_client::error_of(third) == "");
    std::string third_id = third.getInfo().getId().cStr();
    {
        auto open = boot.openTransactionRequest();
        open.setScope("rpc");
        open.setStream("txns");
        open.setId(third_id);
        auto reopened = open.send().wait(ws);
        REQUIRE(rpc_client::error_of(reopened) == "");
        auto w = reopened.getTransaction().writerRequest().send().wait(ws).getWriter();
        REQUIRE(write_txn_events(ws, w, 3, 20) == "");
    }
    {
        auto drop = kj::mv(third);  // the capability goes with the results
    }
    std::string state;
    for (int i = 0; i < 100 && state != "aborted"; ++i) {
        for (const auto& [tid, st] : listed("producer-1")) {
            if (tid == third_id) {
                state = st;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(state == "aborted");

    for (const auto& [bad_id, error] : std::vector<std::pair<std::string, std::string>>{
             {"zz", "invalid_argument"}, {"00000000000fffff", "transaction_not_found"}}) {
        auto open = boot.openTransactionRequest();  // a request is sent once
        open.setScope("rpc");
        open.setStream("txns");
        open.setId(bad_id);
        CHECK(rpc_client::error_of(open.send().wait(ws)) == error);
    }
    CHECK(txn_stream_payloads(node.endpoint()).size() == 301);
}
