#pragma once

// Internal to the command-line client (cli_main.cpp, cli_group.cpp): its parsed arguments and
// the helpers its commands share.

#include "client/client.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pravaha::cli {

struct args {
    std::vector<std::string> positional;
    std::map<std::string, std::string> flags;
    std::vector<std::string> streams;  // every --stream, in order
};

// What the command line asks for, validated before connecting (so bad input fails fast and the
// same with or without a running node).
struct request {
    args a;
    std::string cmd;
    std::string sub;
    std::string scope;
    std::string name;
    uint32_t segments = 1;
    uint64_t txn = 0;  ///< `txn commit|abort|status` and `write --txn`
};

/// How `write` takes an stdin line apart: every event keyed `fixed_key` (--key K, "" without),
/// or the text before the first `delim` as the key (--key-delimiter C).
struct line_format {
    std::string fixed_key;
    bool split = false;
    char delim = 0;
};

/// What `write` counts: events acknowledged and failed (callbacks, any thread), and rejected
/// at once.
struct write_tally {
    std::atomic<uint64_t> acked{0};
    std::atomic<uint64_t> failed{0};
    uint64_t rejected = 0;
    caf::error first_rejection;
};

/// Queues one event: an event_writer's or a transaction's write.
using put_fn = std::function<caf::error(
    std::string_view key, std::string_view payload, client::ack_callback done)>;

/// Parses the command line into `a` (cli_args.cpp, on CLI11): an exit code when it is done
/// (help, completion, a usage error: 2), else nullopt with a known command, its positional
/// arguments and only the flags it takes.
std::optional<int> parse_args(int argc, char** argv, args& a);
/// The bash completion script of every command and flag (`pravaha completion bash`).
std::string bash_completion();

/// Prints `err` on stderr ("scale in progress" for a stream's conflict); returns exit code 1.
int fail(const caf::error& err);
/// Prints `msg` and where help is on stderr; returns exit code 2.
int usage_error(const std::string& msg);
std::string json_escape(std::string_view s);
/// The value of `flag` as a non-negative number, `dflt` when it is not given.
caf::expected<uint64_t> parse_number(const args& a, const std::string& flag, uint64_t dflt);
/// One name per line, or the error.
int print_names(const caf::expected<std::vector<std::string>>& list);

/// The line format of --key / --key-delimiter; an exit code on bad input.
std::optional<int> line_format_of(const args& a, line_format& out);
/// Queues every stdin line as an event through `put`, counting into `t`; with `stop_on_reject`
/// stops at the first event `put` refuses (the rest of stdin is not read).
void write_lines(const line_format& lf, bool stop_on_reject, const put_fn& put, write_tally& t);

/// `group create|list|info|checkpoint|reset|delete` (cli_group.cpp).
int cmd_group(client::client_factory& f, const request& r);
/// `read --group SCOPE/GROUP --reader NAME` (cli_group.cpp).
int cmd_read_group(client::client_factory& f, const request& r);

/// Checks `txn begin|commit|abort|status|list` and `write --txn|--atomic` (cli_txn.cpp); an
/// exit code on bad input.
std::optional<int> check_txn_request(request& r);
/// `txn begin|commit|abort|status|list` (cli_txn.cpp).
int cmd_txn(client::client_factory& f, const request& r);
/// `write --txn ID` and `write --atomic` (cli_txn.cpp).
int cmd_write_txn(client::client_factory& f, const request& r);

}  // namespace pravaha::cli
