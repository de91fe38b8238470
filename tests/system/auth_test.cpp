// Tokens (issue 19, README "Security"): a node started with --token-file lets a client in only
// with a token of that file and allows each request by the token's rights on its scope, on the
// CAF port (the CLI and the C++ client: the endpoint's control requests, the containers' appends
// and reads) and on the RPC port (rpc_test and the TypeScript client's tests cover that one).
// Real nodes, tokens made by `pravaha-node token create`; no token shows in any output.

#include "tests/system/cli_support.hpp"
#include "tests/system/system_support.hpp"
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <string>
#include <vector>

using namespace pravaha;

namespace {

using test::has;
using test::lines;

struct token_set {
    std::map<std::string, std::string> token;  ///< name -> the token
    std::string file;                          ///< the token file (hashes only)
};

// Makes a token per (name, grants) with the node's own tool and writes their lines into `file`.
token_set make_tokens(const std::string& file,
                      const std::vector<std::pair<std::string, std::string>>& specs) {
    token_set out;
    out.file = file;
    std::ofstream f(file);
    f << "# made by auth_test\n";
    for (const auto& [name, grants] : specs) {
        std::string text;
        REQUIRE(test::run_command(
                    std::string(PRAVAHA_NODE_BIN) + " token create " + name + " " + grants, text) ==
                0);
        auto l = lines(text);
        REQUIRE(l.size() == 2);
        REQUIRE(l[0].rfind("pvh_", 0) == 0);
        out.token[name] = l[0];
        f << l[1] << "\n";
        // The file's line names the token's hash, which `token hash` computes too.
        std::string hash;
        REQUIRE(test::run_command("echo " + l[0] + " | " + PRAVAHA_NODE_BIN + " token hash",
                                  hash) == 0);
        CHECK(has(l[1], hash.substr(0, hash.size() - 1)));
        CHECK(!has(l[1], l[0]));
    }
    return out;
}

std::unique_ptr<client::client_factory> connect_with(const std::string& endpoint,
                                                     const std::string& token) {
    client::client_config cfg;
    cfg.endpoint = endpoint;
    cfg.token = token;
    cfg.retry_timeout = std::chrono::seconds(30);
    auto f = client::client_factory::connect(cfg);
    REQUIRE(f);
    return std::move(*f);
}

}  // namespace

TEST_CASE("a node with a token file lets in only its tokens, each with its rights per scope",
          "[system][auth]") {
    test::temp_dir dir;
    auto tokens = make_tokens(dir.path() + "/tokens", {{"root", "*=admin"},
                                                       {"ingest", "orders=write"},
                                                       {"audit", "orders=read"},
                                                       {"both", "orders=read,write other=read"}});
    test::node_process node(dir.path() + "/node", test::free_port());
    node.add_args({"--token-file", tokens.file, "--log-level", "debug"});
    auto log = dir.path() + "/node.log";
    node.log_to(log);
    REQUIRE(node.start());
    test::cli c{node.endpoint()};
    auto as = [&](const std::string& name) { return " --token " + tokens.token.at(name) + " "; };
    std::string out;

    // No token, or an unknown one: nothing.
    CHECK(c.run("scope list", out) == 1);
    CHECK(has(out, "unauthenticated"));
    CHECK(c.run("scope create orders --token pvh_nope", out) == 1);
    CHECK(has(out, "unauthenticated"));

    REQUIRE(c.run("scope create orders" + as("root"), out) == 0);
    REQUIRE(c.run("scope create other" + as("root"), out) == 0);
    REQUIRE(c.run("scope create hidden" + as("root"), out) == 0);
    REQUIRE(c.run("stream create orders/o --segments 2" + as("root"), out) == 0);
    REQUIRE(c.run("stream create other/o" + as("root"), out) == 0);

    auto input = dir.path() + "/in.txt";
    std::ofstream(input) << "a:1\nb:2\nc:3\n";
    // write: appends (the containers check them) and describing the stream.
    REQUIRE(c.run("write orders/o --key-delimiter :" + as("ingest"), out, input) == 0);
    CHECK(has(out, "3 events acknowledged"));
    CHECK(c.run("read orders/o" + as("ingest"), out) == 1);
    CHECK(has(out, "permission_denied"));
    CHECK(c.run("write other/o" + as("ingest"), out, input) == 1);
    CHECK(has(out, "permission_denied"));
    CHECK(c.run("stream create orders/p" + as("ingest"), out) == 1);
    CHECK(has(out, "permission_denied"));
    CHECK(c.run("stream info orders/o" + as("ingest"), out) == 0);  // a writer describes

    // read: reads and reader groups, no writes, no administration.
    REQUIRE(c.run("read orders/o" + as("audit"), out) == 0);
    CHECK(lines(out).size() == 3);
    CHECK(c.run("write orders/o" + as("audit"), out, input) == 1);
    CHECK(has(out, "permission_denied"));
    CHECK(c.run("stream seal orders/o" + as("audit"), out) == 1);
    CHECK(has(out, "permission_denied"));
    CHECK(c.run("txn begin orders/o" + as("audit"), out) == 1);
    CHECK(has(out, "permission_denied"));
    REQUIRE(c.run("group create orders/g --stream orders/o" + as("audit"), out) == 0);
    CHECK(c.run("group create orders/g2 --stream other/o" + as("audit"), out) == 1);
    CHECK(has(out, "permission_denied"));
    CHECK(c.run("scope delete hidden" + as("audit"), out) == 1);

    // Listings show what the token has a right on.
    REQUIRE(c.run("scope list" + as("both"), out) == 0);
    CHECK(lines(out) == std::vector<std::string>{"orders", "other"});
    REQUIRE(c.run("scope list" + as("root"), out) == 0);
    CHECK(lines(out).size() == 3);
    CHECK(c.run("stream list hidden" + as("both"), out) == 1);
    CHECK(has(out, "permission_denied"));

    // Transactions write.
    REQUIRE(c.run("write orders/o --atomic" + as("both"), out, input) == 0);
    CHECK(has(out, "committed"));

    // The C++ client straight: a reader's reads are refused by the container itself.
    {
        auto f = connect_with(node.endpoint(), tokens.token.at("ingest"));
        auto w = f->create_writer("orders", "o");
        REQUIRE(w);
        REQUIRE(!(*w)->write("k", "direct"));
        REQUIRE(!(*w)->flush());
        auto r = f->create_reader("orders", "o", client::start_position::head);
        if (r) {
            auto ev = (*r)->read_next(std::chrono::seconds(5));
            REQUIRE(!ev);
            CHECK(code_of(ev.error()) == errc::permission_denied);
        } else {
            CHECK(code_of(r.error()) == errc::permission_denied);
        }
    }

    CHECK(node.stop() == 0);
    // No token in the node's log (it names tokens by their names) or in the CLI's output.
    auto text = test::read_text(log);
    CHECK(has(text, "client authenticated token_name=ingest"));
    for (const auto& [name, token] : tokens.token) {
        INFO(name);
        CHECK(!has(text, token));
        CHECK(!has(out, token));
    }
}

TEST_CASE("a cluster with a token file checks appends and reads on every node", "[system][auth]") {
    test::temp_dir dir;
    auto tokens =
        make_tokens(dir.path() + "/tokens", {{"root", "*=admin"}, {"rw", "sys=read,write"}});
    test::cluster3 cluster([&](uint32_t) {
        return std::vector<std::string>{"--token-file", tokens.file};
    });
    auto root = connect_with(cluster.nodes[0]->endpoint(), tokens.token.at("root"));
    cluster.create_stream(*root, 4);  // containers led by several nodes
    // A client of node 3 writes to every container's leader, wherever it is, and reads back.
    auto f = connect_with(cluster.nodes[2]->endpoint(), tokens.token.at("rw"));
    auto w = f->create_writer("sys", "events");
    REQUIRE(w);
    for (int i = 0; i < 200; ++i) {
        REQUIRE(!(*w)->write("k" + std::to_string(i), "e" + std::to_string(i)));
    }
    REQUIRE(!(*w)->flush());
    size_t read = 0;
    test::read_all(*f, [&](const std::string&) { ++read; });
    CHECK(read == 200);
    // Without a token a client gets nowhere on any node.
    client::client_config cfg;
    cfg.endpoint = cluster.nodes[1]->endpoint();
    cfg.retry_timeout = std::chrono::seconds(5);
    auto anonymous = client::client_factory::connect(cfg);
    if (anonymous) {
        auto scopes = (*anonymous)->streams().list_scopes();
        REQUIRE(!scopes);
        CHECK(code_of(scopes.error()) == errc::unauthenticated);
    } else {
        CHECK(code_of(anonymous.error()) == errc::unauthenticated);
    }
}

TEST_CASE("a bad token file stops the node with exit code 2 and the line at fault",
          "[system][auth]") {
    test::temp_dir dir;
    struct bad {
        std::string text;
        std::string says;
    };
    const std::string hash = "sha256:" + std::string(64, 'a');
    for (const auto& b : std::vector<bad>{
             {"", "no token"},
             {"x sha256:12 s=read\n", "line 1: the second word must be sha256:"},
             {"x " + hash + "\n", "line 1: no grant"},
             {"# c\nx " + hash + " s=fly\n", "line 2: unknown right 'fly'"},
             {"x " + hash + " bad_scope=read\n", "line 1:"},
             {"x " + hash + " s=read\nx " + hash + " t=read\n", "line 2: token name 'x' repeats"},
             {"x " + hash + " s=read s=write\n", "scope 's' is granted twice"},
         }) {
        INFO(b.text);
        auto file = dir.path() + "/tokens";
        std::ofstream(file) << b.text;
        std::string out;
        CHECK(test::run_command(std::string(PRAVAHA_NODE_BIN) + " --standalone --data-dir " +
                                    dir.path() + "/d --port 0 --rpc-port off --metrics-port off" +
                                    " --token-file " + file + " 2>&1",
                                out) == 2);
        CHECK(has(out, b.says));
    }
    std::string out;
    CHECK(test::run_command(std::string(PRAVAHA_NODE_BIN) + " --standalone --data-dir " +
                                dir.path() + "/d --port 0 --token-file /nonexistent 2>&1",
                            out) == 2);
    CHECK(has(out, "cannot read the token file /nonexistent"));
    CHECK(test::run_command(std::string(PRAVAHA_NODE_BIN) + " token create x s=fly 2>&1", out) ==
          2);
    CHECK(has(out, "unknown right 'fly'"));
}
