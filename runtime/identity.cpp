#include "runtime/identity.hpp"

#include "schema/errc.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <system_error>
#include <vector>

namespace pravaha::runtime {

namespace {

namespace fs = std::filesystem;

constexpr const char* record_name = "identity";
constexpr uint32_t current_format = 1;

std::string canonical_peers(const std::vector<peer_option>& peers) {
    auto sorted = peers;
    std::sort(sorted.begin(), sorted.end(),
              [](const peer_option& a, const peer_option& b) { return a.id < b.id; });
    std::string out;
    for (const auto& p : sorted) {
        out += fmt::format("{}{}@{}:{}", out.empty() ? "" : ",", p.id, p.host, p.port);
    }
    return out;
}

std::string short_id(const std::string& id) {
    return id.size() > 8 ? id.substr(0, 8) + "..." : id;
}

std::string random_id() {
    std::random_device rd;
    uint64_t v = (uint64_t{rd()} << 32) | rd();
    return fmt::format("{:016x}", v);
}

caf::error io_error(const std::string& what, const std::error_code& ec) {
    return caf::make_error(errc::storage_io, what + ": " + ec.message());
}

// Writes the record atomically: a temporary file, fsynced, renamed over the name, and the
// directory fsynced, so a crash leaves either no record or a whole one.
caf::error write_identity(const fs::path& dir, const data_identity& id) {
    auto tmp = dir / (std::string(record_name) + ".tmp");
    auto text = format_identity(id);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return io_error("cannot write " + tmp.string(), {errno, std::generic_category()});
    }
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
              ::fsync(fd) == 0;
    int err = errno;
    ::close(fd);
    if (!ok) {
        return io_error("cannot write " + tmp.string(), {err, std::generic_category()});
    }
    std::error_code ec;
    fs::rename(tmp, dir / record_name, ec);
    if (ec) {
        return io_error("cannot write " + (dir / record_name).string(), ec);
    }
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || ::fsync(dfd) != 0) {
        err = errno;
        if (dfd >= 0) {
            ::close(dfd);
        }
        return io_error("cannot sync " + dir.string(), {err, std::generic_category()});
    }
    ::close(dfd);
    return {};
}

// The first field where the stored record and the flags differ, as the one line a start
// refuses with; empty when they agree.
std::string mismatch(const std::string& dir, const data_identity& s, const data_identity& g) {
    auto whose = s.mode == "standalone"
                     ? std::string("a standalone node")
                     : fmt::format("node {} of cluster {}", s.node_id, short_id(s.cluster_id));
    auto line = [&](const char* field, const std::string& stored, const std::string& given,
                    const std::string& what) {
        return fmt::format("data directory {} belongs to {}, not {} (field={} stored={} given={})",
                           dir, whose, what, field, stored, given);
    };
    if (s.mode != g.mode) {
        return line("mode", s.mode, g.mode,
                    g.mode == "standalone" ? std::string("a standalone node (--standalone)")
                                           : fmt::format("node {} of a cluster", g.node_id));
    }
    if (s.mode == "standalone") {
        return {};
    }
    if (s.node_id != g.node_id) {
        return line("node_id", std::to_string(s.node_id), std::to_string(g.node_id),
                    fmt::format("node {} (--node-id)", g.node_id));
    }
    if (s.containers != g.containers) {
        return line("containers", std::to_string(s.containers), std::to_string(g.containers),
                    fmt::format("a cluster of {} containers (--containers is fixed when the "
                                "cluster is created)",
                                g.containers));
    }
    if (s.peers != g.peers) {
        return line("peers", s.peers, g.peers,
                    fmt::format("a cluster of members {} (--peers)", g.peers));
    }
    if (s.cluster_id != g.cluster_id) {
        return line("cluster_id", s.cluster_id, g.cluster_id,
                    fmt::format("cluster {}", short_id(g.cluster_id)));
    }
    return {};
}

}  // namespace

std::string cluster_id_of(uint32_t containers, const std::string& peers) {
    // FNV-1a, 64 bits: stable across builds and machines (std::hash is not).
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : fmt::format("containers={};peers={}", containers, peers)) {
        h = (h ^ c) * 1099511628211ull;
    }
    return fmt::format("{:016x}", h);
}

data_identity identity_of(const node_options& opts) {
    data_identity id;
    id.format = current_format;
    if (opts.standalone) {
        id.mode = "standalone";
        id.containers = 1;
        return id;
    }
    id.mode = "cluster";
    id.node_id = opts.node_id;
    id.containers = opts.containers;
    id.peers = canonical_peers(opts.peers);
    id.cluster_id = cluster_id_of(id.containers, id.peers);
    return id;
}

std::string format_identity(const data_identity& id) {
    return fmt::format(
        "# Pravaha data directory identity: written once when the directory was initialised;\n"
        "# every start compares it with the node's flags. Do not edit.\n"
        "format={}\nmode={}\ncluster_id={}\nnode_id={}\ncontainers={}\npeers={}\n",
        id.format, id.mode, id.cluster_id, id.node_id, id.containers, id.peers);
}

caf::expected<data_identity> parse_identity(const std::string& text) {
    std::map<std::string, std::string> fields;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        auto eq = line.find('=');
        if (eq == std::string::npos) {
            return caf::make_error(errc::corrupt_data,
                                   "identity record: line without '=': " + line);
        }
        fields[line.substr(0, eq)] = line.substr(eq + 1);
    }
    for (const char* key : {"format", "mode", "cluster_id", "node_id", "containers", "peers"}) {
        if (fields.count(key) == 0) {
            return caf::make_error(errc::corrupt_data,
                                   std::string("identity record: no field ") + key);
        }
    }
    auto number = [&](const char* key, uint32_t& out) -> caf::error {
        const auto& v = fields[key];
        if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos) {
            return caf::make_error(errc::corrupt_data,
                                   std::string("identity record: ") + key + "=" + v);
        }
        out = static_cast<uint32_t>(std::stoul(v));
        return {};
    };
    data_identity id;
    if (auto err = number("format", id.format)) {
        return err;
    }
    if (id.format != current_format) {
        return caf::make_error(errc::corrupt_data,
                               fmt::format("identity record: format {} (this version reads {})",
                                           id.format, current_format));
    }
    id.mode = fields["mode"];
    if (id.mode != "standalone" && id.mode != "cluster") {
        return caf::make_error(errc::corrupt_data, "identity record: mode=" + id.mode);
    }
    id.cluster_id = fields["cluster_id"];
    id.peers = fields["peers"];
    if (auto err = number("node_id", id.node_id)) {
        return err;
    }
    if (auto err = number("containers", id.containers)) {
        return err;
    }
    return id;
}

caf::expected<std::optional<data_identity>> read_identity(const std::string& dir) {
    auto path = fs::path(dir) / record_name;
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        if (ec) {
            return io_error("cannot read " + path.string(), ec);
        }
        return std::optional<data_identity>{};
    }
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
        return caf::make_error(errc::storage_io, "cannot read " + path.string());
    }
    auto id = parse_identity(text.str());
    if (!id) {
        return caf::make_error(errc::corrupt_data, path.string() + ": " + render_error(id.error()));
    }
    return std::optional<data_identity>{std::move(*id)};
}

caf::expected<identity_outcome> check_identity(const node_options& opts, data_identity& stored) {
    auto given = identity_of(opts);
    fs::path dir(opts.data_dir);
    std::error_code ec;
    bool exists = fs::exists(dir, ec);
    if (ec) {
        return io_error("cannot read data directory " + opts.data_dir, ec);
    }
    if (exists && !fs::is_directory(dir, ec)) {
        return caf::make_error(errc::invalid_argument,
                               "data directory " + opts.data_dir + " is not a directory");
    }
    auto record = exists ? read_identity(opts.data_dir)
                         : caf::expected<std::optional<data_identity>>(std::nullopt);
    if (!record) {
        return std::move(record.error());
    }
    if (*record) {
        stored = **record;
        if (given.mode == "standalone") {
            given.cluster_id = stored.cluster_id;  // a standalone node's id is its directory's
        }
        auto line = mismatch(opts.data_dir, stored, given);
        if (!line.empty()) {
            return caf::make_error(errc::invalid_argument, line);
        }
        return identity_outcome::matched;
    }
    if (given.mode == "standalone") {
        given.cluster_id = random_id();
    }
    bool has_store = exists && fs::exists(dir / "db" / "CURRENT", ec);
    bool empty = !exists || fs::is_empty(dir, ec);
    if (ec) {
        return io_error("cannot read data directory " + opts.data_dir, ec);
    }
    if (!has_store && !empty) {
        return caf::make_error(
            errc::invalid_argument,
            "data directory " + opts.data_dir +
                " is not empty and holds no Pravaha data (no identity record, no db/): "
                "give an empty or new directory (--data-dir)");
    }
    fs::create_directories(dir, ec);
    if (ec) {
        return io_error("cannot create data directory " + opts.data_dir, ec);
    }
    if (auto err = write_identity(dir, given)) {
        return err;
    }
    stored = given;
    return has_store ? identity_outcome::adopted : identity_outcome::initialised;
}

}  // namespace pravaha::runtime
