// TLS on every port (issue 19, README "Security: TLS"): a node given --tls-cert, --tls-key and
// --tls-ca serves the client port (C++ clients and the other nodes), RPC and HTTPS only to peers
// with a certificate of that CA; plain TCP and a certificate of another CA are refused.
// Certificates made by the openssl tool: the node's name localhost and 127.0.0.1 (kj's client
// checks the host name and never matches an IP address; ours checks either), "named" only
// localhost.

#include "tests/system/rpc_support.hpp"
#include "tests/system/system_support.hpp"
#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <kj/compat/tls.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <string>

using namespace pravaha;

namespace {

bool has(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

// A CA, a node certificate for localhost, a client certificate, and a client of another CA.
void make_certificates(const std::string& dir) {
    const std::string script = R"(set -e
cd ")" + dir + R"("
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
ca() { openssl req -x509 $ec -keyout $1.key -out $1.pem -days 30 -subj "/CN=$2" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign; }
leaf() { openssl req $ec -keyout $1.key -out $1.csr -subj "/CN=$2"
  printf "$4" > $1.ext
  openssl x509 -req -in $1.csr -CA $3.pem -CAkey $3.key -CAcreateserial -days 30 -out $1.pem \
    -extfile $1.ext; }
ca ca "Pravaha Test CA"; ca other "Other CA"
leaf node localhost ca \
  'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n'
leaf named localhost ca 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n'
leaf client client ca 'extendedKeyUsage=clientAuth\n'
leaf rogue rogue other 'extendedKeyUsage=clientAuth\n'
openssl ec -in node.key -aes128 -passout pass:secret -out locked.key 2>/dev/null
)";
    std::ofstream(dir + "/make.sh") << script;
    std::string out;
    REQUIRE(test::run_command("sh " + dir + "/make.sh 2>&1", out) == 0);
}

// An RPC client over TLS presenting `name`.pem/.key and trusting ca.pem.
struct tls_rpc_client {
    kj::AsyncIoContext& io;
    kj::TlsCertificate ca;
    kj::TlsKeypair keypair;
    kj::Own<kj::TlsContext> context;
    kj::Own<kj::AsyncIoStream> stream;
    kj::Own<capnp::TwoPartyClient> client;

    tls_rpc_client(kj::AsyncIoContext& c,
                   uint16_t port,
                   const std::string& dir,
                   const std::string& name)
        : io(c),
          ca(test::read_text(dir + "/ca.pem")),
          keypair{kj::TlsPrivateKey(test::read_text(dir + "/" + name + ".key")),
                  kj::TlsCertificate(test::read_text(dir + "/" + name + ".pem"))} {
        kj::TlsContext::Options o;
        o.useSystemTrustStore = false;
        o.trustedCertificates = kj::arrayPtr(&ca, 1);
        o.defaultKeypair = keypair;
        context = kj::heap<kj::TlsContext>(kj::mv(o));
        auto addr = io.provider->getNetwork().parseAddress("127.0.0.1", port).wait(io.waitScope);
        stream =
            context->wrapClient(addr->connect().wait(io.waitScope), "localhost").wait(io.waitScope);
        client = kj::heap<capnp::TwoPartyClient>(*stream);
    }

    std::string create_scope(const std::string& scope) {
        auto manager = client->bootstrap()
                           .castAs<rpc::Pravaha>()
                           .streamManagerRequest()
                           .send()
                           .wait(io.waitScope)
                           .getManager();
        auto req = manager.createScopeRequest();
        req.setScope(scope);
        return test::rpc_client::error_of(req.send().wait(io.waitScope));
    }
};

}  // namespace

TEST_CASE("with --tls-* the RPC and metrics ports serve only clients of the CA", "[system][tls]") {
    test::temp_dir dir;
    make_certificates(dir.path());
    auto pem = [&](const std::string& f) { return dir.path() + "/" + f; };
    test::node_process node(dir.path() + "/node", test::free_port());
    auto metrics_port = test::free_port();
    node.add_args({"--tls-cert", pem("node.pem"), "--tls-key", pem("node.key"), "--tls-ca",
                   pem("ca.pem"), "--metrics-port", std::to_string(metrics_port)});
    REQUIRE(node.start());
    auto io = kj::setupAsyncIo();

    tls_rpc_client good(io, node.rpc_port(), dir.path(), "client");
    CHECK(good.create_scope("secure") == "");
    CHECK(good.create_scope("secure") == "scope_exists");

    // A client of another CA: refused at the handshake or at its first call.
    CHECK_THROWS(tls_rpc_client(io, node.rpc_port(), dir.path(), "rogue").create_scope("x"));
    // Plain TCP: no answer a Cap'n Proto client can read.
    CHECK_THROWS(test::rpc_client(io, node.rpc_port()).create_scope("x"));
    // The first client is still served.
    CHECK(good.create_scope("again") == "");

    // HTTPS on the metrics port, for a client certificate of the CA only.
    auto curl = [&](const std::string& args) {
        std::string out;
        auto code =
            test::run_command("curl -s -m 5 -o /dev/null -w '%{http_code}' " + args +
                                  " https://localhost:" + std::to_string(metrics_port) + "/health",
                              out);
        return code == 0 ? out : "failed";
    };
    CHECK(curl("--cacert " + pem("ca.pem") + " --cert " + pem("client.pem") + " --key " +
               pem("client.key")) == "200");
    CHECK(curl("--cacert " + pem("ca.pem")) == "failed");
    CHECK(curl("--cacert " + pem("ca.pem") + " --cert " + pem("rogue.pem") + " --key " +
               pem("rogue.key")) == "failed");
    std::string out;
    CHECK(test::run_command(
              "curl -s -m 5 http://127.0.0.1:" + std::to_string(metrics_port) + "/health", out) !=
          0);
    CHECK(node.stop() == 0);
}

TEST_CASE("TLS flags that do not go together stop the node with exit code 2", "[system][tls]") {
    test::temp_dir dir;
    make_certificates(dir.path());
    auto pem = [&](const std::string& f) { return dir.path() + "/" + f; };
    auto run = [&](const std::string& flags, std::string& out) {
        return test::run_command(
            "timeout 20 " + std::string(PRAVAHA_NODE_BIN) + " --standalone --data-dir " +
                dir.path() + "/d --port 0 --rpc-port 0 --metrics-port off " + flags + " 2>&1",
            out);
    };
    std::string out;
    CHECK(run("--tls-cert " + pem("node.pem"), out) == 2);
    CHECK(has(out, "TLS needs all of --tls-cert, --tls-key and --tls-ca"));
    CHECK(run("--tls-cert " + pem("node.pem") + " --tls-key " + pem("client.key") + " --tls-ca " +
                  pem("ca.pem"),
              out) == 2);
    CHECK(has(out, "--tls-key"));
    CHECK(has(out, "not the key of --tls-cert"));
    CHECK(run("--tls-cert " + pem("node.ext") + " --tls-key " + pem("node.key") + " --tls-ca " +
                  pem("ca.pem"),
              out) == 2);
    CHECK(has(out, "--tls-cert"));
    CHECK(run("--tls-cert /nonexistent --tls-key " + pem("node.key") + " --tls-ca " + pem("ca.pem"),
              out) == 2);
    CHECK(has(out, "cannot read /nonexistent"));
    // An encrypted key is refused, never asked for on the terminal.
    CHECK(run("--tls-cert " + pem("node.pem") + " --tls-key " + pem("locked.key") + " --tls-ca " +
                  pem("ca.pem") + " < /dev/null",
              out) == 2);
    CHECK(has(out, "no unencrypted PEM private key"));
}

namespace {

// A C++ client over TLS with `name`.pem/.key, trusting `ca`.pem; fails within `timeout`.
caf::expected<std::unique_ptr<client::client_factory>> tls_client(
    const std::string& dir,
    const std::string& endpoint,
    const std::string& name = "client",
    const std::string& ca = "ca",
    std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
    client::client_config cfg;
    cfg.endpoint = endpoint;
    cfg.tls_ca = dir + "/" + ca + ".pem";
    cfg.tls_cert = dir + "/" + name + ".pem";
    cfg.tls_key = dir + "/" + name + ".key";
    cfg.request_timeout = timeout;
    cfg.retry_timeout = std::chrono::seconds(60);
    return client::client_factory::connect(cfg);
}

std::string refusal(const caf::expected<std::unique_ptr<client::client_factory>>& f) {
    return f ? std::string("connected") : render_error(f.error());
}

// Writes `n` events "<tag> <i>" on keys k0..k9 of sys/events, all acknowledged.
void write_events(client::client_factory& f, const std::string& tag, int n) {
    auto w = f.create_writer("sys", "events");
    REQUIRE(w);
    std::atomic<int> acked{0};
    for (int i = 0; i < n; ++i) {
        REQUIRE(!(*w)->write("k" + std::to_string(i % 10), tag + " " + std::to_string(i),
                             [&](const caf::error& e) { acked += e ? 0 : 1; }));
    }
    REQUIRE(!(*w)->flush());
    CHECK(acked.load() == n);
    CHECK(!(*w)->close());
}

}  // namespace

TEST_CASE("with --tls-* the client port serves only clients of the CA that name the node",
          "[system][tls]") {
    test::temp_dir dir;
    make_certificates(dir.path());
    auto pem = [&](const std::string& f) { return dir.path() + "/" + f; };
    test::node_process node(dir.path() + "/node", test::free_port());
    node.add_args({"--tls-cert", pem("named.pem"), "--tls-key", pem("named.key"), "--tls-ca",
                   pem("ca.pem"), "--log-level", "debug"});
    node.log_to(dir.path() + "/node.log");
    REQUIRE(node.start());
    auto at_name = "localhost:" + std::to_string(node.port());

    auto good = tls_client(dir.path(), at_name);
    REQUIRE(good);
    auto& f = **good;
    REQUIRE(!f.streams().create_scope("sys"));
    REQUIRE(f.streams().create_stream("sys", "events", 2));
    write_events(f, "e", 100);
    std::set<std::string> seen;
    test::read_all(f, [&](const std::string& p) { seen.insert(p); });
    CHECK(seen.size() == 100);

    // The certificate names localhost only: the client refuses the node at 127.0.0.1.
    auto by_ip = tls_client(dir.path(), node.endpoint());
    INFO(refusal(by_ip));
    CHECK(has(refusal(by_ip), "TLS handshake failed: IP address mismatch"));
    // The node refuses a certificate of another CA; a client trusting another CA refuses the
    // node; plain TCP gets nowhere.
    CHECK(!tls_client(dir.path(), at_name, "rogue"));
    auto distrust = tls_client(dir.path(), at_name, "rogue", "other");
    CHECK(has(refusal(distrust), "TLS handshake failed"));
    client::client_config plain;
    plain.endpoint = at_name;
    plain.request_timeout = std::chrono::milliseconds(2000);
    CHECK(!client::client_factory::connect(plain));
    // A port that takes TCP connections and never answers (a stopped process): the handshake
    // gives up before the connect request does.
    int silent = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(silent, 8) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    auto stalled = tls_client(dir.path(), "localhost:" + std::to_string(ntohs(addr.sin_port)),
                              "client", "ca", std::chrono::milliseconds(6000));
    ::close(silent);
    CHECK(has(refusal(stalled), "no TLS handshake within 4 s"));

    // The CLI takes the same files, from flags or the environment.
    std::string out;
    auto cli = std::string(PRAVAHA_CLI_BIN) + " --endpoint " + at_name;
    auto files = " --tls-ca " + pem("ca.pem") + " --tls-cert " + pem("client.pem") + " --tls-key " +
                 pem("client.key");
    CHECK(test::run_command(cli + files + " scope list 2>&1", out) == 0);
    CHECK(has(out, "sys"));
    CHECK(test::run_command(
              "PRAVAHA_TLS_CA=" + pem("ca.pem") + " PRAVAHA_TLS_CERT=" + pem("client.pem") +
                  " PRAVAHA_TLS_KEY=" + pem("client.key") + " " + cli + " stream list sys 2>&1",
              out) == 0);
    CHECK(has(out, "events"));
    CHECK(test::run_command(cli + " --tls-ca " + pem("ca.pem") + " scope list 2>&1", out) != 0);
    CHECK(has(out, "TLS needs all of"));

    // The first client is still served, and every refused connection gave its slot back.
    write_events(f, "after", 10);
    CHECK(test::eventually(
        [&] {
            auto info = f.streams().cluster_status();
            for (const auto& l : info ? info->listeners : std::vector<raft::listener_status>{}) {
                if (l.name == "client") {
                    return l.connections == 1;
                }
            }
            return false;
        },
        std::chrono::seconds(15)));
    CHECK(node.stop() == 0);
    // No key in the log (the debug log names the files, never their content).
    auto key = test::read_text(pem("named.key"));
    auto body = key.substr(key.find('\n') + 1, 40);
    CHECK(!has(test::read_text(dir.path() + "/node.log"), body));
}

TEST_CASE("a TLS cluster keeps every acknowledged event through a leader's SIGKILL",
          "[system][tls][cluster]") {
    test::temp_dir certs;
    make_certificates(certs.path());
    auto pem = [&](const std::string& f) { return certs.path() + "/" + f; };
    test::cluster3 c([&](uint32_t) {
        return std::vector<std::string>{"--tls-cert",    pem("node.pem"), "--tls-key",
                                        pem("node.key"), "--tls-ca",      pem("ca.pem")};
    });
    auto connected = tls_client(certs.path(), c.node(1).endpoint());
    REQUIRE(connected);
    auto& f = **connected;
    c.create_stream(f, 4);
    write_events(f, "before", 300);

    // The leader of container 1 (group 2), as node 1 sees it, is killed.
    uint32_t leader = 0;
    REQUIRE(test::eventually(
        [&] {
            auto info = f.streams().cluster_status();
            for (const auto& g : info ? info->groups : std::vector<raft::group_status>{}) {
                leader = g.group == 2 ? g.leader : leader;
            }
            return leader != 0;
        },
        std::chrono::seconds(10)));
    c.node(leader).kill_hard();
    write_events(f, "after", 300);

    std::multiset<std::string> seen;
    test::read_all(f, [&](const std::string& p) { seen.insert(p); });
    CHECK(seen.size() == 600);
    CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 600);
    // A surviving node serves a new TLS client, and refuses a plain one.
    auto other = leader == 3 ? 2U : 3U;
    auto second = tls_client(certs.path(), c.node(other).endpoint());
    REQUIRE(second);
    size_t count = 0;
    test::read_all(**second, [&](const std::string&) { ++count; });
    CHECK(count == 600);
    client::client_config plain;
    plain.endpoint = c.node(other).endpoint();
    plain.request_timeout = std::chrono::milliseconds(2000);
    CHECK(!client::client_factory::connect(plain));
}
