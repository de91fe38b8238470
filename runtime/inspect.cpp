// `pravaha-node inspect --data-dir DIR [--json]`: what a data directory holds, read-only (the
// store is opened without writing anything to its directory).

#include "runtime/identity.hpp"
#include "runtime/runtime.hpp"
#include "schema/errc.hpp"
#include "storage/storage.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace pravaha::runtime {

namespace {

struct group_summary {
    uint32_t group = 0;
    std::string what;
    uint64_t term = 0;
    uint32_t vote = 0;
    uint64_t commit = 0;
    uint64_t applied = 0;
    uint64_t first = 0;  ///< first stored log index (last + 1 when none is stored)
    uint64_t last = 0;
    uint64_t snapshot = 0;
    bool recovering = false;
};

caf::expected<uint64_t> stored_u64(storage::log_store& store, const std::string& key) {
    auto v = store.get(key);
    if (!v) {
        return std::move(v.error());
    }
    if (!*v || (*v)->size() != 8) {
        return uint64_t{0};
    }
    return storage::keys::get_u64(**v, 0);
}

caf::expected<size_t> count_prefix(storage::log_store& store, const std::string& prefix) {
    size_t n = 0;
    if (auto err = store.scan(prefix, storage::keys::prefix_end(prefix),
                              [&](std::string_view, std::string_view) {
                                  ++n;
                                  return true;
                              })) {
        return err;
    }
    return n;
}

// The log range of a standalone container's local log (keys L<container><index>).
caf::expected<group_summary> local_log_summary(storage::log_store& store, uint32_t container) {
    group_summary g;
    g.what = fmt::format("container {} (local log)", container);
    std::string prefix = "L";
    storage::keys::put_u32(prefix, container);
    bool any = false;
    if (auto err = store.scan(prefix, storage::keys::prefix_end(prefix),
                              [&](std::string_view key, std::string_view) {
                                  auto index = storage::keys::get_u64(key, 5);
                                  if (!any) {
                                      g.first = index;
                                      any = true;
                                  }
                                  g.last = index;
                                  return true;
                              })) {
        return err;
    }
    auto applied = stored_u64(store, storage::keys::applied(container));
    if (!applied) {
        return std::move(applied.error());
    }
    g.applied = *applied;
    if (!any) {
        g.first = g.applied + 1;
        g.last = g.applied;
    }
    g.commit = g.last;
    return g;
}

caf::expected<group_summary> raft_group_summary(storage::log_store& store, uint32_t group) {
    storage::raft::raft_log log(store, group);
    auto st = log.load();
    if (!st) {
        return std::move(st.error());
    }
    group_summary g;
    g.group = group;
    g.what = group == 0 ? std::string("controller") : fmt::format("container {}", group - 1);
    g.term = st->hard.term;
    g.vote = st->hard.vote;
    g.commit = st->hard.commit;
    g.snapshot = st->snapshot_index;
    g.first = st->snapshot_index + 1;
    g.last = st->entries.empty() ? st->snapshot_index : st->entries.back().index;
    g.recovering = st->recovering;
    auto applied =
        stored_u64(store, group == 0 ? std::string("Ma") : storage::keys::applied(group - 1));
    if (!applied) {
        return std::move(applied.error());
    }
    g.applied = *applied;
    return g;
}

int fail(const std::string& line, int code) {
    std::fprintf(stderr, "pravaha-node inspect: %s\n", line.c_str());
    return code;
}

}  // namespace

const char* inspect_usage() {
    return "usage: pravaha-node inspect --data-dir DIR [--json]\n"
           "  prints a data directory's identity record and what its store holds (Raft groups\n"
           "  with their terms and log indexes, scopes, streams, segments); writes nothing\n";
}

int run_inspect(int argc, char** argv) {
    std::string dir;
    bool json = false;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--data-dir" && i + 1 < argc) {
            dir = argv[++i];
        } else if (a == "--json") {
            json = true;
        } else if (a == "--help" || a == "-h") {
            std::fputs(inspect_usage(), stdout);
            return 0;
        } else {
            std::fprintf(stderr, "pravaha-node inspect: unknown argument '%s'\n%s", a.c_str(),
                         inspect_usage());
            return 2;
        }
    }
    if (dir.empty()) {
        std::fprintf(stderr, "pravaha-node inspect: --data-dir is required\n%s", inspect_usage());
        return 2;
    }
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        return fail("no data directory at " + dir, 2);
    }
    auto record = read_identity(dir);
    if (!record) {
        return fail(render_error(record.error()), 4);
    }
    if (!std::filesystem::exists(std::filesystem::path(dir) / "db" / "CURRENT", ec)) {
        return fail(dir + " holds no store (no db/)", 2);
    }
    storage::rocksdb_options ropts;
    ropts.dir = dir + "/db";
    ropts.read_only = true;
    auto store = storage::open_rocksdb(ropts);
    if (!store) {
        return fail("cannot open the store: " + render_error(store.error()), 1);
    }
    std::vector<group_summary> groups;
    bool cluster = *record ? (*record)->mode == "cluster" : false;
    uint32_t containers = *record ? (*record)->containers : 1;
    if (!*record) {
        // No record (an older version): a cluster node's store has Raft keys.
        auto raft_keys = count_prefix(**store, "R");
        cluster = raft_keys && *raft_keys > 0;
        containers = 0;
    }
    if (cluster) {
        for (uint32_t g = 0; containers == 0 || g <= containers; ++g) {
            auto s = raft_group_summary(**store, g);
            if (!s) {
                return fail(fmt::format("group {}: {}", g, render_error(s.error())), 4);
            }
            if (containers == 0 && s->term == 0 && s->last == 0 && g > 0) {
                break;  // no record: groups until the first one without state
            }
            groups.push_back(*s);
        }
    } else {
        auto s = local_log_summary(**store, 0);
        if (!s) {
            return fail(render_error(s.error()), 4);
        }
        groups.push_back(*s);
    }
    auto scopes = count_prefix(**store, "Ms");
    auto streams = count_prefix(**store, "Mt");
    auto segments = count_prefix(**store, "G");
    if (!scopes || !streams || !segments) {
        return fail("cannot read the store", 1);
    }
    if (json) {
        std::string out = "{\"data_dir\":\"" + dir + "\",\"identity\":";
        if (*record) {
            const auto& r = **record;
            out += fmt::format(
                "{{\"format\":{},\"mode\":\"{}\",\"cluster_id\":\"{}\",\"node_id\":{},"
                "\"containers\":{},\"peers\":\"{}\"}}",
                r.format, r.mode, r.cluster_id, r.node_id, r.containers, r.peers);
        } else {
            out += "null";
        }
        out += ",\"groups\":[";
        for (size_t i = 0; i < groups.size(); ++i) {
            const auto& g = groups[i];
            out += fmt::format(
                "{}{{\"group\":{},\"what\":\"{}\",\"term\":{},\"vote\":{},\"commit\":{},"
                "\"applied\":{},\"first_index\":{},\"last_index\":{},\"snapshot_index\":{},"
                "\"recovering\":{}}}",
                i ? "," : "", g.group, g.what, g.term, g.vote, g.commit, g.applied, g.first, g.last,
                g.snapshot, g.recovering ? "true" : "false");
        }
        out += fmt::format("],\"scopes\":{},\"streams\":{},\"segments\":{}}}", *scopes, *streams,
                           *segments);
        std::printf("%s\n", out.c_str());
        return 0;
    }
    std::printf("data directory %s\n", dir.c_str());
    if (*record) {
        const auto& r = **record;
        std::printf("identity: format %u, mode %s, cluster %s, node %u, containers %u%s%s\n",
                    r.format, r.mode.c_str(), r.cluster_id.c_str(), r.node_id, r.containers,
                    r.peers.empty() ? "" : ", peers ", r.peers.c_str());
    } else {
        std::printf(
            "identity: none (written by an older version; the next start adopts the directory)\n");
    }
    std::printf("%-6s %-26s %-6s %-5s %-10s %-10s %-23s %s\n", "group", "what", "term", "vote",
                "commit", "applied", "log (first..last)", "snapshot");
    for (const auto& g : groups) {
        std::printf(
            "%-6u %-26s %-6llu %-5u %-10llu %-10llu %-23s %llu%s\n", g.group, g.what.c_str(),
            static_cast<unsigned long long>(g.term), g.vote,
            static_cast<unsigned long long>(g.commit), static_cast<unsigned long long>(g.applied),
            fmt::format("{}..{}", g.first, g.last).c_str(),
            static_cast<unsigned long long>(g.snapshot), g.recovering ? " (recovering)" : "");
    }
    std::printf("scopes %zu, streams %zu, segments %zu\n", *scopes, *streams, *segments);
    return 0;
}

}  // namespace pravaha::runtime
