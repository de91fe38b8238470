// pravaha group ... and pravaha read --group: the command-line client's reader groups.

#include "client/cli.hpp"
#include "schema/errc.hpp"
#include "schema/keyspace.hpp"
#include "schema/names.hpp"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>

namespace pravaha::cli {

namespace {

// Set by SIGINT and SIGTERM: `read --group` leaves its group and exits.
volatile std::sig_atomic_t stop_requested = 0;

extern "C" void on_stop_signal(int) {
    stop_requested = 1;
}

// The stream of a group by its uid ("?" when the group's configuration has none such).
std::string stream_of(const group_info& g, stream_uid uid) {
    for (const auto& st : g.config.streams) {
        if (st.start.stream == uid) {
            return st.scope + "/" + st.name;
        }
    }
    return "?";
}

std::string offsets_json(const group_info& g, const std::vector<group_offset>& xs) {
    std::string out = "[";
    for (size_t i = 0; i < xs.size(); ++i) {
        out += fmt::format("{}{{\"stream\":\"{}\",\"id\":\"{}\",\"offset\":{}}}", i == 0 ? "" : ",",
                           json_escape(stream_of(g, xs[i].key.stream)),
                           to_string(xs[i].key.segment), xs[i].offset);
    }
    return out + "]";
}

std::string offsets_text(const std::vector<group_offset>& xs) {
    std::string out;
    for (const auto& x : xs) {
        out += fmt::format(" {}@{}", to_string(x.key.segment), x.offset);
    }
    return out.empty() ? " -" : out;
}

std::string bytes_text(int64_t b) {
    return b < 0 ? "unknown" : std::to_string(b);
}

int print_group(const group_info& g, bool json) {
    if (json) {
        std::string readers;
        for (const auto& r : g.readers) {
            readers += fmt::format("{}{{\"name\":\"{}\",\"segments\":{},\"unread_bytes\":{}}}",
                                   readers.empty() ? "" : ",", json_escape(r.name),
                                   offsets_json(g, r.segments), r.unread_bytes);
        }
        std::string future;
        for (const auto& k : g.future) {
            future +=
                fmt::format("{}{{\"stream\":\"{}\",\"id\":\"{}\"}}", future.empty() ? "" : ",",
                            json_escape(stream_of(g, k.stream)), to_string(k.segment));
        }
        std::string checkpoints;
        for (const auto& cp : g.checkpoints) {
            std::string cuts;
            for (const auto& c : cp.cuts) {
                cuts += fmt::format("{}\"{}\"", cuts.empty() ? "" : ",", to_string(c));
            }
            checkpoints += fmt::format(
                "{}{{\"name\":\"{}\",\"complete\":{},\"silent\":{},\"forced\":{},"
                "\"created_ms\":{},\"cuts\":[{}]}}",
                checkpoints.empty() ? "" : ",", json_escape(cp.name), cp.complete, cp.silent,
                cp.forced, cp.created_ms, cuts);
        }
        std::printf(
            "{\"group\":\"%s/%s\",\"generation\":%u,\"readers\":[%s],\"unassigned\":%s,"
            "\"future\":[%s],\"unread_bytes\":%lld,\"checkpoints\":[%s]}\n",
            json_escape(g.scope).c_str(), json_escape(g.name).c_str(), g.generation,
            readers.c_str(), offsets_json(g, g.unassigned).c_str(), future.c_str(),
            static_cast<long long>(g.unread_bytes), checkpoints.c_str());
        return 0;
    }
    std::printf("group %s/%s generation %u, unread bytes %s\n", g.scope.c_str(), g.name.c_str(),
                g.generation, bytes_text(g.unread_bytes).c_str());
    for (const auto& st : g.config.streams) {
        std::printf("stream %s/%s from %s%s%s\n", st.scope.c_str(), st.name.c_str(),
                    to_string(st.start).c_str(), st.end.segments.empty() ? "" : " to ",
                    st.end.segments.empty() ? "" : to_string(st.end).c_str());
    }
    for (const auto& r : g.readers) {
        std::printf("reader %s:%s (unread bytes %s)\n", r.name.c_str(),
                    offsets_text(r.segments).c_str(), bytes_text(r.unread_bytes).c_str());
    }
    std::printf("unassigned:%s\n", offsets_text(g.unassigned).c_str());
    std::string future;
    for (const auto& k : g.future) {
        future += " " + to_string(k.segment);
    }
    std::printf("waiting for predecessors:%s\n", future.empty() ? " -" : future.c_str());
    for (const auto& cp : g.checkpoints) {
        std::printf("checkpoint %s%s: %s\n", cp.name.c_str(), cp.silent ? " (automatic)" : "",
                    !cp.complete ? "pending"
                    : cp.forced  ? "complete (forced: a reader went away before recording)"
                                 : "complete");
    }
    return 0;
}

// A group's configuration from --stream, --from, --lease-ms and --checkpoint-interval-ms.
caf::expected<group_config> group_config_of(client::stream_manager& sm, const args& a) {
    group_config cfg;
    auto lease = parse_number(a, "--lease-ms", 10000);
    auto interval = parse_number(a, "--checkpoint-interval-ms", 30000);
    if (!lease) {
        return std::move(lease.error());
    }
    if (!interval) {
        return std::move(interval.error());
    }
    cfg.lease_ms = static_cast<int64_t>(*lease);
    cfg.checkpoint_interval_ms = static_cast<int64_t>(*interval);
    auto from = a.flags.count("--from") != 0 ? a.flags.at("--from") : std::string("head");
    if (from != "head" && from != "tail" && a.streams.size() != 1) {
        return caf::make_error(errc::invalid_argument,
                               "a --from cut names one stream: give exactly one --stream");
    }
    for (const auto& qualified : a.streams) {
        group_stream st;
        if (auto err = split_stream_name(qualified, st.scope, st.name)) {
            return err;
        }
        if (from == "tail") {
            auto cut = sm.cut(st.scope, st.name, false);
            if (!cut) {
                return std::move(cut.error());
            }
            st.start = std::move(*cut);
        } else if (from != "head") {
            auto cut = parse_stream_cut(from);
            if (!cut) {
                return std::move(cut.error());
            }
            st.start = std::move(*cut);
        }
        cfg.streams.push_back(std::move(st));
    }
    return cfg;
}

}  // namespace

int cmd_group(client::client_factory& f, const request& r) {
    auto& gm = f.groups();
    bool json = r.a.flags.count("--json") != 0;
    if (r.sub == "list") {
        return print_names(gm.list_groups(r.scope));
    }
    if (r.sub == "create") {
        auto cfg = group_config_of(f.streams(), r.a);
        if (!cfg) {
            return fail(cfg.error());
        }
        auto g = gm.create_group(r.scope, r.name, *cfg);
        if (!g) {
            return fail(g.error());
        }
        if (json) {
            return print_group(*g, true);
        }
        std::printf("reader group %s/%s created over %zu stream(s)\n", r.scope.c_str(),
                    r.name.c_str(), g->config.streams.size());
        return 0;
    }
    if (r.sub == "delete") {
        if (auto err = gm.delete_group(r.scope, r.name)) {
            return fail(err);
        }
        std::printf("reader group %s/%s deleted\n", r.scope.c_str(), r.name.c_str());
        return 0;
    }
    if (r.sub == "info") {
        auto g = gm.group(r.scope, r.name);
        return g ? print_group(*g, json) : fail(g.error());
    }
    if (r.sub == "checkpoint") {
        auto name =
            r.a.flags.count("--name") != 0
                ? r.a.flags.at("--name")
                : fmt::format("cli-{}", std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
        auto cuts = gm.checkpoint(r.scope, r.name, name);
        if (!cuts) {
            return fail(cuts.error());
        }
        for (const auto& c : *cuts) {
            std::printf("%s\n", to_string(c).c_str());
        }
        return 0;
    }
    // reset --to CHECKPOINT|CUT
    const auto& to = r.a.flags.at("--to");
    std::vector<stream_cut> cuts;
    std::string checkpoint;
    if (auto cut = parse_stream_cut(to)) {
        cuts.push_back(std::move(*cut));
    } else {
        checkpoint = to;
    }
    auto gen = gm.reset(r.scope, r.name, checkpoint, cuts);
    if (!gen) {
        return fail(gen.error());
    }
    std::printf("reader group %s/%s reset to %s (generation %u): its readers join again\n",
                r.scope.c_str(), r.name.c_str(), to.c_str(), *gen);
    return 0;
}

int cmd_read_group(client::client_factory& f, const request& r) {
    auto max = parse_number(r.a, "--max", UINT64_MAX);
    auto timeout = parse_number(r.a, "--timeout-ms", 0);
    if (!max) {
        return usage_error(render_error(max.error()));
    }
    if (!timeout) {
        return usage_error(render_error(timeout.error()));
    }
    bool follow = r.a.flags.count("--follow") != 0;
    bool json = r.a.flags.count("--json") != 0;
    const auto& reader_name = r.a.flags.at("--reader");
    auto reader = f.create_group_reader(r.scope, r.name, reader_name);
    if (!reader) {
        return fail(reader.error());
    }
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    uint64_t count = 0;
    auto idle_since = std::chrono::steady_clock::now();
    int code = 0;
    while (count < *max && stop_requested == 0) {
        // Without --follow: zero wait, so "nothing" means the reader caught up with what the
        // group gave it. With --follow: waits in slices of at most a second (signals are seen
        // between them) until --timeout-ms passes without an event (0: forever).
        std::chrono::milliseconds wait{0};
        if (follow) {
            wait = std::chrono::milliseconds(*timeout == 0 ? 1000
                                                           : std::min<uint64_t>(*timeout, 1000));
        }
        auto ev = (*reader)->read_next(wait);
        if (!ev && code_of(ev.error()) == errc::reader_offline) {
            // Declared offline (its lease passed) or the group was reset: join again; the
            // group hands out segments from its positions.
            std::fprintf(stderr, "pravaha: %s; joining again\n", render_error(ev.error()).c_str());
            reader->reset();
            reader = f.create_group_reader(r.scope, r.name, reader_name);
            if (!reader) {
                return fail(reader.error());
            }
            continue;
        }
        if (!ev) {
            code = fail(ev.error());
            break;
        }
        auto now = std::chrono::steady_clock::now();
        if (!*ev) {
            if (!follow) {
                break;
            }
            if (*timeout != 0 && now - idle_since >= std::chrono::milliseconds(*timeout)) {
                break;
            }
            continue;
        }
        idle_since = now;
        const auto& e = **ev;
        if (!e.checkpoint.empty()) {
            if (json) {
                std::printf("{\"checkpoint\":\"%s\"}\n", json_escape(e.checkpoint).c_str());
            }
        } else if (json) {
            std::printf("{\"segment\":\"%s\",\"offset\":%lld,\"event\":\"%s\"}\n",
                        to_string(e.segment).c_str(), static_cast<long long>(e.offset),
                        json_escape(e.payload).c_str());
            ++count;
        } else {
            std::fwrite(e.payload.data(), 1, e.payload.size(), stdout);
            std::fputc('\n', stdout);
            ++count;
        }
        if (follow) {
            std::fflush(stdout);
        }
    }
    std::fflush(stdout);
    // Leaves the group where it stopped: its segments go to the other readers from there.
    if (auto err = (*reader)->close(); err && code == 0) {
        if (code_of(err) == errc::reader_offline) {
            // Nothing to leave: the group went on from the position it last heard of.
            std::fprintf(stderr, "pravaha: %s\n", render_error(err).c_str());
        } else {
            code = fail(err);
        }
    }
    return code;
}

}  // namespace pravaha::cli
