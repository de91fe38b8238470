// pravaha: the command-line client (design.md section 10).

#include "client/cli.hpp"
#include "client/client.hpp"
#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/logging.hpp"
#include "schema/names.hpp"
#include "schema/text.hpp"

#include <fmt/format.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace pravaha::cli {

std::optional<int> line_format_of(const args& a, line_format& out) {
    bool has_key = a.flags.count("--key") != 0;
    bool has_delim = a.flags.count("--key-delimiter") != 0;
    if (has_key && has_delim) {
        return usage_error("--key and --key-delimiter exclude each other");
    }
    out.fixed_key = has_key ? a.flags.at("--key") : "";
    if (has_delim) {
        if (a.flags.at("--key-delimiter").size() != 1) {
            return usage_error("--key-delimiter takes exactly one character");
        }
        out.split = true;
        out.delim = a.flags.at("--key-delimiter")[0];
    }
    return std::nullopt;
}

void write_lines(const line_format& lf, bool stop_on_reject, const put_fn& put, write_tally& t) {
    std::string line;
    while (std::getline(std::cin, line)) {
        std::string_view key = lf.fixed_key;
        std::string_view payload = line;
        if (lf.split) {
            auto pos = line.find(lf.delim);
            if (pos != std::string::npos) {
                key = std::string_view(line).substr(0, pos);
                payload = std::string_view(line).substr(pos + 1);
            } else {
                key = "";
            }
        }
        auto err = put(key, payload, [&t](const caf::error& e) {
            if (e) {
                ++t.failed;
            } else {
                ++t.acked;
            }
        });
        if (err) {
            std::fprintf(stderr, "pravaha: event rejected: %s\n", render_error(err).c_str());
            ++t.rejected;
            if (!t.first_rejection) {
                t.first_rejection = err;
            }
            if (stop_on_reject) {
                return;
            }
        }
    }
}

int fail(const caf::error& err) {
    auto text = render_error(err);
    if (code_of(err) == errc::conflict && text.find("checkpoint") == std::string::npos &&
        text.find("reader group") == std::string::npos &&
        text.find("transaction") == std::string::npos) {
        // Another operation of the stream runs (a scale, mostly): say so in the words scripts
        // look for.
        std::fprintf(stderr, "pravaha: scale in progress: %s\n", text.c_str());
        return 1;
    }
    std::fprintf(stderr, "pravaha: %s\n", text.c_str());
    return 1;
}

int usage_error(const std::string& msg) {
    std::fputs(usage_failure("pravaha", msg, "pravaha --help").c_str(), stderr);
    return 2;
}

std::string json_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    for (unsigned char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    out += fmt::format("\\u{:04x}", c);
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out;
}

caf::expected<uint64_t> parse_number(const args& a, const std::string& flag, uint64_t dflt) {
    auto it = a.flags.find(flag);
    if (it == a.flags.end()) {
        return dflt;
    }
    const auto& v = it->second;
    if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos) {
        return caf::make_error(errc::invalid_argument,
                               flag + " needs a non-negative number, got '" + v + "'");
    }
    return std::stoull(v);
}

int print_names(const caf::expected<std::vector<std::string>>& list) {
    if (!list) {
        return fail(list.error());
    }
    for (const auto& s : *list) {
        std::printf("%s\n", s.c_str());
    }
    return 0;
}

namespace {

std::string policy_json(const scaling_policy& p, size_t segments) {
    if (p.type == scale_type::fixed) {
        return fmt::format("{{\"type\":\"fixed\",\"segments\":{}}}", segments);
    }
    return fmt::format("{{\"type\":\"{}\",\"target\":{},\"factor\":{},\"min_segments\":{}}}",
                       p.type == scale_type::by_events ? "events" : "kbytes", p.target, p.factor,
                       p.min_segments);
}

std::string ids_json(const std::vector<segment_id>& ids) {
    std::string out = "[";
    for (size_t i = 0; i < ids.size(); ++i) {
        out += fmt::format("{}\"{}\"", i == 0 ? "" : ",", to_string(ids[i]));
    }
    return out + "]";
}

// A replica's role as `cluster status` shows it; "unavailable" when its node could not ask it.
std::string role_text(const raft::group_status& g) {
    return g.reachable ? to_string(g.role) : "unavailable";
}

// "group 1 sends node 3 a snapshot at index 812: 96.0 of 1024.0 MiB (9 %), 63.9 MiB/s, about
// 15 s left" (rate and time left once a second has passed).
std::string snapshot_progress_text(uint32_t group, const raft::snapshot_status& s) {
    constexpr double mib = 1024.0 * 1024.0;
    auto text = fmt::format("group {} sends node {} a snapshot at index {}: {:.1f}", group,
                            s.follower, s.index, static_cast<double>(s.bytes_sent) / mib);
    if (s.bytes_total > 0) {
        text += fmt::format(" of {:.1f} MiB ({} %)", static_cast<double>(s.bytes_total) / mib,
                            std::min<uint64_t>(100, s.bytes_sent * 100 / s.bytes_total));
    } else {
        text += " MiB";
    }
    if (s.elapsed_ms >= 1000) {
        double rate =
            static_cast<double>(s.bytes_sent) / mib * 1000.0 / static_cast<double>(s.elapsed_ms);
        text += fmt::format(", {:.1f} MiB/s", rate);
        if (rate > 0 && s.bytes_total > s.bytes_sent) {
            text += fmt::format(", about {:.0f} s left",
                                static_cast<double>(s.bytes_total - s.bytes_sent) / mib / rate);
        }
    }
    return text;
}

int cmd_cluster_status(client::stream_manager& sm, bool json) {
    auto info = sm.cluster_status();
    if (!info) {
        return fail(info.error());
    }
    if (json) {
        std::string out =
            fmt::format("{{\"cluster_id\":\"{}\",\"node\":{},\"containers\":{},\"members\":[",
                        json_escape(info->cluster_id), info->node, info->container_count);
        for (size_t i = 0; i < info->members.size(); ++i) {
            const auto& m = info->members[i];
            out += fmt::format("{}{{\"id\":{},\"endpoint\":\"{}:{}\"}}", i ? "," : "", m.id, m.host,
                               m.port);
        }
        out += "],\"groups\":[";
        for (size_t i = 0; i < info->groups.size(); ++i) {
            const auto& g = info->groups[i];
            out += fmt::format(
                "{}{{\"group\":{},\"role\":\"{}\",\"leader\":{},\"term\":{},\"commit\":{},"
                "\"applied\":{},\"last_index\":{},\"recovering\":{},\"followers\":[",
                i ? "," : "", g.group, role_text(g), g.leader, g.term, g.commit, g.applied,
                g.last_index, g.recovering ? "true" : "false");
            for (size_t j = 0; j < g.follower_match.size(); ++j) {
                out +=
                    fmt::format("{}{{\"node\":{},\"match\":{},\"lag\":{}}}", j ? "," : "",
                                g.follower_match[j].first, g.follower_match[j].second,
                                g.last_index - std::min(g.last_index, g.follower_match[j].second));
            }
            out += "],\"snapshots\":[";
            for (size_t j = 0; j < g.snapshots.size(); ++j) {
                const auto& s = g.snapshots[j];
                out += fmt::format(
                    "{}{{\"node\":{},\"index\":{},\"bytes_sent\":{},\"bytes_total\":{},"
                    "\"elapsed_ms\":{}}}",
                    j ? "," : "", s.follower, s.index, s.bytes_sent, s.bytes_total, s.elapsed_ms);
            }
            out += "]}";
        }
        out += "],\"listeners\":[";
        for (size_t i = 0; i < info->listeners.size(); ++i) {
            const auto& l = info->listeners[i];
            out += fmt::format(
                "{}{{\"name\":\"{}\",\"port\":{},\"connections\":{},\"max_connections\":{},"
                "\"refused\":{},\"accept_failures\":{},\"backing_off\":{},\"last_error\":\"{}\"}}",
                i ? "," : "", l.name, l.port, l.connections, l.max_connections, l.refused,
                l.accept_failures, l.backing_off ? "true" : "false", json_escape(l.last_error));
        }
        out += fmt::format("],\"storage_full\":\"{}\"}}", json_escape(info->storage_full));
        std::printf("%s\n", out.c_str());
        return 0;
    }
    if (info->members.empty()) {
        std::printf("standalone node (one container, replication factor 1), cluster %s\n",
                    info->cluster_id.c_str());
    } else {
        std::printf("node %u of %zu, cluster %s; %u containers\n", info->node, info->members.size(),
                    info->cluster_id.c_str(), info->container_count);
        for (const auto& m : info->members) {
            std::printf("  member %u at %s:%u\n", m.id, m.host.c_str(), m.port);
        }
    }
    std::printf("%-6s %-10s %-7s %-6s %-10s %-10s %s\n", "group", "role", "leader", "term",
                "commit", "applied", "follower lag (entries)");
    for (const auto& g : info->groups) {
        std::string lag;
        for (const auto& [node, match] : g.follower_match) {
            lag += fmt::format("{}{}:{}", lag.empty() ? "" : " ", node,
                               g.last_index - std::min(g.last_index, match));
        }
        std::printf("%-6u %-10s %-7u %-6llu %-10llu %-10llu %s\n", g.group,
                    (role_text(g) + (g.recovering ? "*" : "")).c_str(), g.leader,
                    static_cast<unsigned long long>(g.term),
                    static_cast<unsigned long long>(g.commit),
                    static_cast<unsigned long long>(g.applied), lag.c_str());
    }
    for (const auto& g : info->groups) {
        for (const auto& s : g.snapshots) {
            std::printf("%s\n", snapshot_progress_text(g.group, s).c_str());
        }
    }
    std::printf(
        "disk: %s\n",
        info->storage_full.empty()
            ? "accepting writes"
            : ("full, refusing appends and stream creations: " + info->storage_full).c_str());
    if (!info->listeners.empty()) {
        std::printf("%-8s %-6s %-12s %-9s %-16s %s\n", "listener", "port", "connections", "refused",
                    "accept failures", "state");
        for (const auto& l : info->listeners) {
            std::printf("%-8s %-6u %-12s %-9llu %-16llu %s\n", l.name.c_str(), l.port,
                        fmt::format("{}/{}", l.connections, l.max_connections).c_str(),
                        static_cast<unsigned long long>(l.refused),
                        static_cast<unsigned long long>(l.accept_failures),
                        l.backing_off ? ("backing off: " + l.last_error).c_str() : "accepting");
        }
    }
    return 0;
}

int cmd_stream_info(client::client_factory& f,
                    const std::string& scope,
                    const std::string& name,
                    bool json) {
    auto info = f.streams().stream_info_of(scope, name);
    if (!info) {
        return fail(info.error());
    }
    const auto& r = info->record;
    if (json) {
        std::string segs;
        for (const auto& s : info->segments) {
            if (!segs.empty()) {
                segs += ",";
            }
            segs += fmt::format(
                "{{\"id\":\"{}\",\"segment_id\":{},\"epoch\":{},\"number\":{},\"key_start\":{},"
                "\"key_end\":{},\"length\":{},\"sealed\":{},\"predecessors\":{}}}",
                to_string(s.id), s.id.value, s.id.epoch(), s.id.number(), s.key_start, s.key_end,
                s.length, s.sealed ? "true" : "false", ids_json(s.predecessors));
        }
        std::printf(
            "{\"scope\":\"%s\",\"stream\":\"%s\",\"uid\":%llu,\"state\":\"%s\",\"epoch\":%u,"
            "\"policy\":%s,\"scaling\":%s,\"segments\":[%s]}\n",
            r.scope.c_str(), r.name.c_str(), static_cast<unsigned long long>(r.uid.value),
            to_string(r.state), r.epoch, policy_json(r.policy, r.segments.size()).c_str(),
            r.has_transition ? "true" : "false", segs.c_str());
        return 0;
    }
    std::printf("stream %s/%s state=%s epoch=%u segments=%zu\n", r.scope.c_str(), r.name.c_str(),
                to_string(r.state), r.epoch, info->segments.size());
    std::printf("%-10s %-24s %14s %s\n", "segment", "key range", "length_bytes", "sealed");
    for (const auto& s : info->segments) {
        std::printf("%-10s %-24s %14lld %s\n", to_string(s.id).c_str(),
                    fmt::format("[{:.6f}, {:.6f})", s.key_start, s.key_end).c_str(),
                    static_cast<long long>(s.length), s.sealed ? "yes" : "no");
    }
    return 0;
}

int cmd_write(client::client_factory& f,
              const std::string& scope,
              const std::string& name,
              const args& a) {
    line_format lf;
    if (auto code = line_format_of(a, lf)) {
        return *code;
    }
    auto writer = f.create_writer(scope, name);
    if (!writer) {
        return fail(writer.error());
    }
    write_tally t;
    write_lines(
        lf, false,
        [&](std::string_view key, std::string_view payload, client::ack_callback done) {
            return (*writer)->write(key, payload, std::move(done));
        },
        t);
    auto err = (*writer)->close();
    std::printf("%llu events acknowledged\n", static_cast<unsigned long long>(t.acked.load()));
    if (err || t.failed > 0 || t.rejected > 0) {
        std::fprintf(stderr, "pravaha: %llu events failed%s%s\n",
                     static_cast<unsigned long long>(t.failed.load()) + t.rejected, err ? ": " : "",
                     err ? render_error(err).c_str() : "");
        return 1;
    }
    return 0;
}

int cmd_read(client::client_factory& f,
             const std::string& scope,
             const std::string& name,
             const args& a) {
    auto from = client::start_position::head;
    stream_cut from_cut;
    stream_cut to_cut;
    if (auto it = a.flags.find("--from"); it != a.flags.end()) {
        if (it->second == "tail") {
            from = client::start_position::tail;
        } else if (it->second != "head") {
            auto cut = parse_stream_cut(it->second);
            if (!cut) {
                return usage_error("--from must be head, tail or a stream cut: " +
                                   render_error(cut.error()));
            }
            from_cut = std::move(*cut);
        }
    }
    if (auto it = a.flags.find("--to"); it != a.flags.end()) {
        auto cut = parse_stream_cut(it->second);
        if (!cut) {
            return usage_error("--to must be a stream cut: " + render_error(cut.error()));
        }
        to_cut = std::move(*cut);
    }
    auto max = parse_number(a, "--max", UINT64_MAX);
    auto timeout = parse_number(a, "--timeout-ms", 0);
    if (!max) {
        return usage_error(render_error(max.error()));
    }
    if (!timeout) {
        return usage_error(render_error(timeout.error()));
    }
    bool follow = a.flags.count("--follow") != 0;
    bool json = a.flags.count("--json") != 0;
    if (!to_cut.segments.empty() && from == client::start_position::tail) {
        auto tail = f.streams().cut(scope, name, false);
        if (!tail) {
            return fail(tail.error());
        }
        from_cut = std::move(*tail);
    }
    auto reader = from_cut.segments.empty() && to_cut.segments.empty()
                      ? f.create_reader(scope, name, from)
                      : f.create_reader(scope, name, from_cut, to_cut);
    if (!reader) {
        return fail(reader.error());
    }
    uint64_t count = 0;
    while (count < *max) {
        // Without --follow: zero wait, so "nothing" means we reached the end of stored data.
        // With --follow: wait in slices so --timeout-ms 0 can mean "forever".
        std::chrono::milliseconds wait{0};
        if (follow) {
            wait = std::chrono::milliseconds(*timeout == 0 ? 1000 : *timeout);
        }
        auto ev = (*reader)->read_next(wait);
        if (!ev) {
            return fail(ev.error());
        }
        if (!*ev) {
            if (follow && *timeout == 0 && !(*reader)->at_end()) {
                continue;
            }
            break;
        }
        if (json) {
            std::printf("{\"segment\":\"%s\",\"offset\":%lld,\"event\":\"%s\"}\n",
                        to_string((*ev)->segment).c_str(), static_cast<long long>((*ev)->offset),
                        json_escape((*ev)->payload).c_str());
        } else {
            std::fwrite((*ev)->payload.data(), 1, (*ev)->payload.size(), stdout);
            std::fputc('\n', stdout);
        }
        if (follow) {
            std::fflush(stdout);
        }
        ++count;
    }
    return 0;
}

std::variant<scaling_policy, int> policy_of(const request& r, uint32_t min_default);

// Checks the subcommand, its names and its flags' values. Returns an exit code on bad input.
std::optional<int> check_request(request& r) {
    const auto& pos = r.a.positional;
    r.cmd = pos[0];
    r.sub = pos.size() > 1 ? pos[1] : "";
    const auto& sub = r.sub;
    if (r.cmd == "scope") {
        if (sub == "create" || sub == "delete") {
            if (pos.size() != 3) {
                return usage_error("scope " + sub + " needs SCOPE");
            }
            r.scope = pos[2];
            if (auto err = validate_name("scope", r.scope)) {
                return fail(err);
            }
        } else if (sub != "list" || pos.size() != 2) {
            return usage_error("scope needs create, list or delete");
        }
    } else if (r.cmd == "group") {
        if (sub == "list") {
            if (pos.size() != 3) {
                return usage_error("group list needs SCOPE");
            }
            r.scope = pos[2];
            if (auto err = validate_name("scope", r.scope)) {
                return fail(err);
            }
        } else if (sub == "create" || sub == "delete" || sub == "info" || sub == "checkpoint" ||
                   sub == "reset") {
            if (pos.size() != 3) {
                return usage_error("group " + sub + " needs SCOPE/GROUP");
            }
            if (auto err = split_stream_name(pos[2], r.scope, r.name)) {
                return fail(err);
            }
            if (sub == "create" && r.a.streams.empty()) {
                return usage_error("group create needs --stream SCOPE/STREAM");
            }
            if (sub == "reset" && r.a.flags.count("--to") == 0) {
                return usage_error("group reset needs --to CHECKPOINT|CUT");
            }
        } else {
            return usage_error("group needs create, list, info, checkpoint, reset or delete");
        }
    } else if (r.cmd == "cluster") {
        if (sub != "status" || pos.size() != 2) {
            return usage_error("cluster needs status");
        }
    } else if (r.cmd == "stream") {
        if (sub == "list") {
            if (pos.size() != 3) {
                return usage_error("stream list needs SCOPE");
            }
            r.scope = pos[2];
            if (auto err = validate_name("scope", r.scope)) {
                return fail(err);
            }
        } else if (sub == "create" || sub == "info" || sub == "seal" || sub == "delete" ||
                   sub == "update" || sub == "scale" || sub == "history" || sub == "cut") {
            if (pos.size() != 3) {
                return usage_error("stream " + sub + " needs SCOPE/STREAM");
            }
            if (auto err = split_stream_name(pos[2], r.scope, r.name)) {
                return fail(err);
            }
        } else {
            return usage_error(
                "stream needs create, update, scale, list, info, history, cut, seal or delete");
        }
    } else if (r.cmd == "txn") {
        if (auto code = check_txn_request(r)) {
            return code;
        }
    } else if (r.cmd == "read" && r.a.flags.count("--group") != 0) {
        if (pos.size() != 1) {
            return usage_error("read --group reads the group's streams: no SCOPE/STREAM");
        }
        if (r.a.flags.count("--reader") == 0 || r.a.flags.at("--reader").empty()) {
            return usage_error("read --group needs --reader NAME");
        }
        if (r.a.flags.count("--from") != 0 || r.a.flags.count("--to") != 0) {
            return usage_error("read --group reads from the group's positions: no --from or --to");
        }
        if (auto err = split_stream_name(r.a.flags.at("--group"), r.scope, r.name)) {
            return fail(err);
        }
    } else {
        if (r.a.flags.count("--reader") != 0) {
            return usage_error("--reader goes with --group");
        }
        if (pos.size() != 2) {
            return usage_error(r.cmd + " needs SCOPE/STREAM");
        }
        if (auto err = split_stream_name(pos[1], r.scope, r.name)) {
            return fail(err);
        }
    }
    if (r.cmd == "write") {
        if (auto code = check_txn_request(r)) {
            return code;
        }
    }
    auto segments = parse_number(r.a, "--segments", 1);
    if (!segments || *segments == 0 || *segments > stream_segments_max) {
        return usage_error(fmt::format("--segments must be 1..{}", stream_segments_max));
    }
    r.segments = static_cast<uint32_t>(*segments);
    // The flags' values too, before any node is asked.
    if (r.cmd == "stream" && (r.sub == "create" || r.sub == "update")) {
        auto policy = policy_of(r, r.segments);
        if (auto* code = std::get_if<int>(&policy)) {
            return *code;
        }
    }
    if (r.cmd == "read") {
        for (const char* flag : {"--from", "--to"}) {
            auto it = r.a.flags.find(flag);
            if (it == r.a.flags.end() ||
                (flag == std::string("--from") && (it->second == "head" || it->second == "tail"))) {
                continue;
            }
            if (auto cut = parse_stream_cut(it->second); !cut) {
                return usage_error(std::string(flag) +
                                   (flag == std::string("--from")
                                        ? " must be head, tail or a stream cut: "
                                        : " must be a stream cut: ") +
                                   render_error(cut.error()));
            }
        }
    }
    return std::nullopt;
}

int cmd_scope(client::stream_manager& sm, const request& r) {
    if (r.sub == "create") {
        if (auto err = sm.create_scope(r.scope)) {
            return fail(err);
        }
        std::printf("scope %s created\n", r.scope.c_str());
        return 0;
    }
    if (r.sub == "delete") {
        if (auto err = sm.delete_scope(r.scope)) {
            return fail(err);
        }
        std::printf("scope %s deleted\n", r.scope.c_str());
        return 0;
    }
    return print_names(sm.list_scopes());
}

// The scaling policy the flags ask for: --scale-by with --target (and --factor, --min-segments,
// which defaults to `min_default`), else fixed(--segments). An exit code on bad flags.
std::variant<scaling_policy, int> policy_of(const request& r, uint32_t min_default) {
    const auto& f = r.a.flags;
    auto by = f.find("--scale-by");
    if (by == f.end()) {
        for (const char* only : {"--target", "--factor", "--min-segments"}) {
            if (f.count(only) != 0) {
                return usage_error(std::string(only) + " needs --scale-by");
            }
        }
        return scaling_policy{scale_type::fixed, 0, 2, r.segments};
    }
    scaling_policy p;
    if (by->second == "events") {
        p.type = scale_type::by_events;
    } else if (by->second == "kbytes") {
        p.type = scale_type::by_kbytes;
    } else {
        return usage_error("--scale-by must be events or kbytes");
    }
    if (f.count("--target") == 0) {
        return usage_error("--scale-by needs --target R (events/s or KiB/s per segment)");
    }
    auto target = parse_number(r.a, "--target", 0);
    auto factor = parse_number(r.a, "--factor", 2);
    auto min = parse_number(r.a, "--min-segments", min_default);
    for (const auto* n : {&target, &factor, &min}) {
        if (!*n || **n > UINT32_MAX) {
            return usage_error(n->error() ? render_error(n->error()) : "a number is too large");
        }
    }
    p.target = static_cast<uint32_t>(*target);
    p.factor = static_cast<uint32_t>(*factor);
    p.min_segments = static_cast<uint32_t>(*min);
    if (auto err = validate_policy(p)) {
        return usage_error(render_error(err));
    }
    return p;
}

int cmd_stream_scale(client::stream_manager& sm, const request& r) {
    const auto& f = r.a.flags;
    bool split = f.count("--split") != 0;
    bool merge = f.count("--merge") != 0;
    if (split == merge) {
        return usage_error("stream scale needs --split E.N or --merge E.N,E.N[,...]");
    }
    caf::expected<scale_result> done{caf::error{}};
    if (split) {
        auto id = parse_segment_id(f.at("--split"));
        auto into = parse_number(r.a, "--into", 2);
        if (!id) {
            return fail(id.error());
        }
        if (!into || *into < 2 || *into > stream_segments_max) {
            return usage_error(fmt::format("--into must be 2..{}", stream_segments_max));
        }
        done = sm.split(r.scope, r.name, *id, static_cast<uint32_t>(*into));
    } else {
        if (f.count("--into") != 0) {
            return usage_error("--into goes with --split");
        }
        std::vector<segment_id> ids;
        std::string_view list = f.at("--merge");
        while (true) {
            auto comma = list.find(',');
            auto id = parse_segment_id(list.substr(0, comma));
            if (!id) {
                return fail(id.error());
            }
            ids.push_back(*id);
            if (comma == std::string_view::npos) {
                break;
            }
            list.remove_prefix(comma + 1);
        }
        if (ids.size() < 2) {
            return usage_error("--merge needs at least two segments: E.N,E.N[,...]");
        }
        done = sm.merge(r.scope, r.name, ids);
    }
    if (!done) {
        return fail(done.error());
    }
    std::printf("scaled %s/%s to epoch %u\n", r.scope.c_str(), r.name.c_str(), done->epoch);
    for (const auto& s : done->created) {
        std::printf("%s [%.6f, %.6f)\n", to_string(s.id).c_str(), s.key_start, s.key_end);
    }
    return 0;
}

int cmd_stream_history(client::stream_manager& sm, const request& r) {
    auto h = sm.history(r.scope, r.name);
    if (!h) {
        return fail(h.error());
    }
    bool json = r.a.flags.count("--json") != 0;
    for (const auto& e : *h) {
        if (json) {
            std::string segs;
            for (const auto& s : e.segments) {
                segs += fmt::format(
                    "{}{{\"id\":\"{}\",\"key_start\":{},\"key_end\":{},\"sealed_length\":{},"
                    "\"predecessors\":{}}}",
                    segs.empty() ? "" : ",", to_string(s.range.id), s.range.key_start,
                    s.range.key_end,
                    s.sealed_length < 0 ? std::string("null") : std::to_string(s.sealed_length),
                    ids_json(s.predecessors));
            }
            std::printf("{\"epoch\":%u,\"segments\":[%s],\"created_ms\":%lld,\"rolled\":%s}\n",
                        e.epoch, segs.c_str(), static_cast<long long>(e.created_ms),
                        e.rolled ? "true" : "false");
            continue;
        }
        std::printf("epoch %u (created at %lld ms%s)\n", e.epoch,
                    static_cast<long long>(e.created_ms),
                    e.rolled ? ", rolled: made by a transaction's commit" : "");
        for (const auto& s : e.segments) {
            std::printf(
                "  %-10s %-24s %s%s\n", to_string(s.range.id).c_str(),
                fmt::format("[{:.6f}, {:.6f})", s.range.key_start, s.range.key_end).c_str(),
                s.sealed_length < 0 ? "active"
                                    : ("sealed at " + std::to_string(s.sealed_length)).c_str(),
                s.predecessors.empty() ? "" : (" replaces " + ids_json(s.predecessors)).c_str());
        }
    }
    return 0;
}

int cmd_stream(client::client_factory& f, const request& r) {
    auto& sm = f.streams();
    const auto& scope = r.scope;
    const auto& name = r.name;
    if (r.sub == "create") {
        auto policy = policy_of(r, r.segments);
        if (auto* code = std::get_if<int>(&policy)) {
            return *code;
        }
        auto rec = sm.create_stream(scope, name, r.segments, std::get<scaling_policy>(policy));
        if (!rec) {
            return fail(rec.error());
        }
        std::printf("stream %s/%s created with %zu segments, %s\n", scope.c_str(), name.c_str(),
                    rec->segments.size(), to_string(rec->policy).c_str());
    } else if (r.sub == "update") {
        if (r.a.flags.count("--scale-by") == 0 && r.a.flags.count("--segments") == 0) {
            return usage_error("stream update needs --segments N or --scale-by ...");
        }
        uint32_t current = 1;
        if (r.a.flags.count("--min-segments") == 0 && r.a.flags.count("--scale-by") != 0) {
            auto info = sm.stream_info_of(scope, name);
            if (!info) {
                return fail(info.error());
            }
            current = static_cast<uint32_t>(info->record.segments.size());
        }
        auto policy = policy_of(r, current);
        if (auto* code = std::get_if<int>(&policy)) {
            return *code;
        }
        auto rec = sm.update_stream(scope, name, std::get<scaling_policy>(policy));
        if (!rec) {
            return fail(rec.error());
        }
        std::printf("stream %s/%s updated: %s\n", scope.c_str(), name.c_str(),
                    to_string(rec->policy).c_str());
    } else if (r.sub == "scale") {
        return cmd_stream_scale(sm, r);
    } else if (r.sub == "history") {
        return cmd_stream_history(sm, r);
    } else if (r.sub == "cut") {
        auto cut = sm.cut(scope, name, r.a.flags.count("--head") != 0);
        if (!cut) {
            return fail(cut.error());
        }
        std::printf("%s\n", to_string(*cut).c_str());
    } else if (r.sub == "list") {
        return print_names(sm.list_streams(scope));
    } else if (r.sub == "info") {
        return cmd_stream_info(f, scope, name, r.a.flags.count("--json") != 0);
    } else if (r.sub == "seal") {
        if (auto err = sm.seal_stream(scope, name)) {
            return fail(err);
        }
        std::printf("stream %s/%s sealed\n", scope.c_str(), name.c_str());
    } else {
        if (auto err = sm.delete_stream(scope, name)) {
            return fail(err);
        }
        std::printf("stream %s/%s deleted\n", scope.c_str(), name.c_str());
    }
    return 0;
}

}  // namespace

}  // namespace pravaha::cli

int main(int argc, char** argv) {
    using namespace pravaha;
    using namespace pravaha::cli;
    request r;
    if (auto code = parse_args(argc, argv, r.a)) {
        return *code;
    }
    if (auto code = check_request(r)) {
        return *code;
    }
    configure_logging("error");
    client::client_config cfg;
    if (auto it = r.a.flags.find("--endpoint"); it != r.a.flags.end()) {
        cfg.endpoint = it->second;
    }
    if (auto it = r.a.flags.find("--cluster-id"); it != r.a.flags.end()) {
        cfg.cluster_id = it->second;
    }
    if (auto it = r.a.flags.find("--token"); it != r.a.flags.end()) {
        cfg.token = it->second;
    }
    for (auto [flag, field] :
         {std::pair{"--tls-ca", &cfg.tls_ca}, std::pair{"--tls-cert", &cfg.tls_cert},
          std::pair{"--tls-key", &cfg.tls_key}}) {
        if (auto it = r.a.flags.find(flag); it != r.a.flags.end()) {
            *field = it->second;
        }
    }
    cfg.retry_timeout = std::chrono::milliseconds(15000);
    auto factory = client::client_factory::connect(cfg);
    if (!factory) {
        return fail(factory.error());
    }
    auto& f = **factory;
    if (r.cmd == "cluster") {
        return cmd_cluster_status(f.streams(), r.a.flags.count("--json") != 0);
    }
    if (r.cmd == "scope") {
        return cmd_scope(f.streams(), r);
    }
    if (r.cmd == "stream") {
        return cmd_stream(f, r);
    }
    if (r.cmd == "group") {
        return cmd_group(f, r);
    }
    if (r.cmd == "txn") {
        return cmd_txn(f, r);
    }
    if (r.cmd == "write" && (r.a.flags.count("--txn") != 0 || r.a.flags.count("--atomic") != 0)) {
        return cmd_write_txn(f, r);
    }
    if (r.cmd == "write") {
        return cmd_write(f, r.scope, r.name, r.a);
    }
    if (r.a.flags.count("--group") != 0) {
        return cmd_read_group(f, r);
    }
    return cmd_read(f, r.scope, r.name, r.a);
}
