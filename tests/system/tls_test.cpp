// TLS on the RPC and metrics ports (issue 19, README "Security: TLS"): a node given --tls-cert,
// --tls-key and --tls-ca serves RPC and HTTPS only to clients with a certificate of that CA;
// plain TCP and a certificate of another CA are refused. Certificates made by the openssl tool,
// naming localhost (kj's client checks the host name, and IP names never match).

#include "tests/system/rpc_support.hpp"
#include "tests/system/system_support.hpp"
#include <catch2/catch.hpp>
#include <kj/compat/tls.h>

#include <fstream>
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
leaf node localhost ca 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n'
leaf client client ca 'extendedKeyUsage=clientAuth\n'
leaf rogue rogue other 'extendedKeyUsage=clientAuth\n'
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
}
