// pravaha txn ... and pravaha write --txn|--atomic: the command-line client's transactions.

#include "client/cli.hpp"
#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/names.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace pravaha::cli {

namespace {

std::string txn_json(const txn_record& t) {
    std::string segs;
    for (const auto& s : t.segments) {
        segs += fmt::format("{}{{\"id\":\"{}\",\"key_start\":{},\"key_end\":{}}}",
                            segs.empty() ? "" : ",", to_string(s.range.id), s.range.key_start,
                            s.range.key_end);
    }
    return fmt::format(
        "{{\"id\":\"{}\",\"stream\":\"{}/{}\",\"state\":\"{}\",\"epoch\":{},\"writer\":\"{}\","
        "\"began_ms\":{},\"lease_ms\":{},\"deadline_ms\":{},\"completed_ms\":{},"
        "\"commit_order\":{},\"reason\":\"{}\",\"segments\":[{}]}}",
        txn_id_text(t.id), json_escape(t.scope), json_escape(t.stream), to_string(t.state), t.epoch,
        to_string(t.writer), t.began_ms, t.lease_ms, t.deadline_ms, t.completed_ms, t.commit_order,
        json_escape(t.reason), segs);
}

int print_decision(const caf::expected<txn_record>& rec) {
    if (!rec) {
        return fail(rec.error());
    }
    std::printf("%s\n", to_string(rec->state));
    return 0;
}

int cmd_txn_list(client::client_factory& f, const request& r) {
    auto list = f.list_transactions(r.scope, r.name);
    if (!list) {
        return fail(list.error());
    }
    bool json = r.a.flags.count("--json") != 0;
    std::string out;
    for (const auto& t : *list) {
        if (t.state != txn_state::open && t.state != txn_state::committing) {
            continue;  // completed ones are kept for status, not listed
        }
        if (json) {
            out += (out.empty() ? "" : ",") + txn_json(t);
        } else {
            std::printf("%s %s epoch=%u writer=%s lease_ms=%lld segments=%zu\n",
                        txn_id_text(t.id).c_str(), to_string(t.state), t.epoch,
                        to_string(t.writer).c_str(), static_cast<long long>(t.lease_ms),
                        t.segments.size());
        }
    }
    if (json) {
        std::printf("[%s]\n", out.c_str());
    }
    return 0;
}

// `write --atomic` failed: aborts its transaction and says so on stderr (except when it turns out
// committed). Returns the abort's error (none when aborted).
caf::error abort_after(client::transaction& txn) {
    auto aborted = txn.abort();
    if (aborted) {
        std::fprintf(stderr, "pravaha: transaction %s aborted: nothing is visible\n",
                     txn_id_text(txn.id()).c_str());
        return {};
    }
    if (code_of(aborted.error()) != errc::transaction_committed) {
        std::fprintf(stderr, "pravaha: transaction %s not aborted: %s\n",
                     txn_id_text(txn.id()).c_str(), render_error(aborted.error()).c_str());
    }
    return std::move(aborted.error());
}

}  // namespace

std::optional<int> check_txn_request(request& r) {
    const auto& pos = r.a.positional;
    if (r.cmd == "write") {
        bool txn = r.a.flags.count("--txn") != 0;
        if (txn && r.a.flags.count("--atomic") != 0) {
            return usage_error("--txn and --atomic exclude each other");
        }
        if (txn && !parse_txn_id(r.a.flags.at("--txn"), r.txn)) {
            return usage_error(
                "--txn takes a transaction id as `txn begin` prints it (hex digits)");
        }
        return std::nullopt;
    }
    const auto& sub = r.sub;
    bool with_id = sub == "commit" || sub == "abort" || sub == "status";
    if (!with_id && sub != "begin" && sub != "list") {
        return usage_error("txn needs begin, commit, abort, status or list");
    }
    if (pos.size() != (with_id ? 4U : 3U)) {
        return usage_error("txn " + sub + " needs SCOPE/STREAM" + (with_id ? " ID" : ""));
    }
    if (auto err = split_stream_name(pos[2], r.scope, r.name)) {
        return fail(err);
    }
    if (with_id && !parse_txn_id(pos[3], r.txn)) {
        return usage_error("'" + pos[3] +
                           "' is not a transaction id (hex digits, as `txn begin` prints it)");
    }
    if (sub != "begin" && r.a.flags.count("--lease-ms") != 0) {
        return usage_error("--lease-ms goes with txn begin");
    }
    if (sub != "status" && sub != "list" && r.a.flags.count("--json") != 0) {
        return usage_error("--json goes with txn status and txn list");
    }
    return std::nullopt;
}

int cmd_txn(client::client_factory& f, const request& r) {
    if (r.sub == "begin") {
        client::txn_config cfg;
        auto lease = parse_number(r.a, "--lease-ms", static_cast<uint64_t>(cfg.lease_ms));
        if (!lease) {
            return usage_error(render_error(lease.error()));
        }
        cfg.lease_ms = static_cast<int64_t>(*lease);
        auto t = f.begin_transaction(r.scope, r.name, cfg);
        if (!t) {
            return fail(t.error());
        }
        std::printf("%s\n", txn_id_text((*t)->id()).c_str());
        return 0;
    }
    if (r.sub == "list") {
        return cmd_txn_list(f, r);
    }
    auto t = f.open_transaction(r.scope, r.name, r.txn);
    if (!t) {
        return fail(t.error());
    }
    if (r.sub == "commit") {
        return print_decision((*t)->commit());
    }
    if (r.sub == "abort") {
        return print_decision((*t)->abort());
    }
    auto rec = (*t)->status();
    if (!rec) {
        return fail(rec.error());
    }
    if (r.a.flags.count("--json") != 0) {
        std::printf("%s\n", txn_json(*rec).c_str());
    } else {
        std::printf("%s\n", to_string(rec->state));
    }
    return 0;
}

int cmd_write_txn(client::client_factory& f, const request& r) {
    line_format lf;
    if (auto code = line_format_of(r.a, lf)) {
        return *code;
    }
    bool atomic = r.a.flags.count("--atomic") != 0;
    auto t =
        atomic ? f.begin_transaction(r.scope, r.name) : f.open_transaction(r.scope, r.name, r.txn);
    if (!t) {
        return fail(t.error());
    }
    auto& txn = **t;
    if (atomic) {
        std::printf("%s\n", txn_id_text(txn.id()).c_str());
        std::fflush(stdout);  // the id is known even when the process dies before the end
    } else {
        auto rec = txn.status();
        if (!rec) {
            return fail(rec.error());
        }
        if (rec->state != txn_state::open) {
            return fail(
                caf::make_error(errc::transaction_not_open,
                                fmt::format("transaction {} of {}/{} is {}", txn_id_text(rec->id),
                                            r.scope, r.name, to_string(rec->state))));
        }
    }
    write_tally tally;
    write_lines(
        lf, true,
        [&](std::string_view key, std::string_view payload, client::ack_callback done) {
            return txn.write(key, payload, std::move(done));
        },
        tally);
    auto err = txn.flush();
    if (!err && tally.rejected > 0) {
        err = tally.first_rejection;
    }
    if (!err && tally.failed > 0) {
        err = caf::make_error(errc::unavailable, fmt::format("{} events failed", tally.failed));
    }
    if (err) {
        if (atomic) {
            pravaha::ignore_error(abort_after(txn), "said on stderr");
        }
        return fail(err);
    }
    if (!atomic) {
        std::printf("%llu events written to transaction %s (not committed)\n",
                    static_cast<unsigned long long>(tally.acked.load()),
                    txn_id_text(txn.id()).c_str());
        return 0;
    }
    auto rec = txn.commit();
    if (!rec) {
        if (code_of(abort_after(txn)) == errc::transaction_committed) {
            std::printf("committed\n");  // the commit went through; its answer was lost
            return 0;
        }
        return fail(rec.error());
    }
    std::printf("%s\n", to_string(rec->state));
    return 0;
}

}  // namespace pravaha::cli
