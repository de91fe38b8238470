// The controller state's reader groups: records under Mg, changed by the group commands through
// the rules of storage/reader_group.hpp.

#include "schema/errc.hpp"
#include "schema/names.hpp"
#include "storage/controller_state.hpp"
#include "storage/keys.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pravaha::storage {

namespace {

constexpr int64_t group_lease_min_ms = 100;
constexpr int64_t group_time_max_ms = 24LL * 3600 * 1000;
constexpr size_t group_streams_max = 64;

}  // namespace

const stream_record* controller_state::stream_of(stream_uid uid) const {
    for (const auto& [n, rec] : streams_) {
        if (rec.uid == uid) {
            return &rec;
        }
    }
    return nullptr;
}

group_streams controller_state::streams_view() const {
    group_streams s;
    s.successors = [this](const segment_key& key) {
        std::vector<successor> out;
        const auto* rec = stream_of(key.stream);
        if (rec == nullptr) {
            return out;
        }
        const auto& h = history_.at({rec->scope, rec->name});
        for (size_t e = h.size(); e-- > 0;) {
            bool in =
                std::any_of(h[e].segments.begin(), h[e].segments.end(),
                            [&](const history_segment& x) { return x.range.id == key.segment; });
            if (!in) {
                continue;
            }
            if (e + 1 < h.size()) {
                for (const auto& seg : h[e + 1].segments) {
                    if (std::find(seg.predecessors.begin(), seg.predecessors.end(), key.segment) !=
                        seg.predecessors.end()) {
                        out.push_back({seg.range, seg.predecessors});
                    }
                }
            }
            break;
        }
        return out;
    };
    s.range = [this](const segment_key& key) -> std::optional<segment_range> {
        const auto* rec = stream_of(key.stream);
        if (rec == nullptr) {
            return std::nullopt;
        }
        for (const auto& e : history_.at({rec->scope, rec->name})) {
            for (const auto& seg : e.segments) {
                if (seg.range.id == key.segment) {
                    return seg.range;
                }
            }
        }
        return std::nullopt;
    };
    return s;
}

caf::expected<group_config> controller_state::check_group_config(const std::string& scope,
                                                                 const std::string& name,
                                                                 const group_config& config) const {
    if (auto err = validate_name("reader group", name)) {
        return err;
    }
    if (scopes_.count(scope) == 0) {
        return caf::make_error(errc::scope_not_found, "scope " + scope + " does not exist");
    }
    auto bad = [](std::string why) { return caf::make_error(errc::invalid_argument, why); };
    if (config.streams.empty() || config.streams.size() > group_streams_max) {
        return bad(fmt::format("a reader group reads 1..{} streams", group_streams_max));
    }
    if (config.lease_ms < group_lease_min_ms || config.lease_ms > group_time_max_ms) {
        return bad(fmt::format("the reader lease must be {}..{} ms, not {}", group_lease_min_ms,
                               group_time_max_ms, config.lease_ms));
    }
    if (config.checkpoint_interval_ms < 0 || config.checkpoint_interval_ms > group_time_max_ms ||
        (config.checkpoint_interval_ms > 0 && config.checkpoint_interval_ms < group_lease_min_ms)) {
        return bad(fmt::format("the checkpoint interval must be 0 (none) or {}..{} ms, not {}",
                               group_lease_min_ms, group_time_max_ms,
                               config.checkpoint_interval_ms));
    }
    group_config out = config;
    for (auto& st : out.streams) {
        auto rec = get_stream(st.scope, st.name);
        if (!rec) {
            return std::move(rec.error());
        }
        if (std::count_if(out.streams.begin(), out.streams.end(), [&](const group_stream& x) {
                return x.scope == st.scope && x.name == st.name;
            }) > 1) {
            return bad("stream " + st.scope + "/" + st.name + " is named twice");
        }
        auto start = resolve_cut(st.scope, st.name, st.start);
        if (!start) {
            return std::move(start.error());
        }
        st.start = std::move(*start);
        if (!st.end.segments.empty()) {
            auto end = resolve_cut(st.scope, st.name, st.end);
            if (!end) {
                return std::move(end.error());
            }
            st.end = std::move(*end);
            for (const auto& e : st.end.segments) {
                for (const auto& b : st.start.segments) {
                    if (b.range.id == e.range.id && b.offset > e.offset) {
                        return bad(fmt::format(
                            "stream {}/{}: the start cut is after the end cut "
                            "in segment {} ({} > {})",
                            st.scope, st.name, to_string(b.range.id), b.offset, e.offset));
                    }
                }
            }
        } else {
            st.end = stream_cut{rec->uid, {}};
        }
    }
    return out;
}

caf::error controller_state::save_group(const reader_group_record& g) {
    check_group(g);
    write_batch b;
    b.put(keys::group(g.scope, g.name), encode_group_record(g));
    if (auto err = persist(b)) {
        return err;
    }
    groups_[{g.scope, g.name}] = g;
    return {};
}

caf::error controller_state::load_groups() {
    groups_.clear();
    caf::error decode_err;
    if (auto err = store_.scan("Mg", "Mh", [&](std::string_view, std::string_view v) {
            auto g = decode_group_record(v);
            if (!g) {
                decode_err = std::move(g.error());
                return false;
            }
            check_group(*g);
            groups_[{g->scope, g->name}] = std::move(*g);
            return true;
        })) {
        return err;
    }
    return decode_err;
}

void controller_state::apply_group(const command& c, outcome& out) {
    using kind = command::kind;
    stream_name key{c.scope, c.name};
    auto it = groups_.find(key);
    if (c.type == kind::group_create) {
        auto cfg = check_group_config(c.scope, c.name, c.group);
        if (!cfg) {
            out.error = std::move(cfg.error());
        } else if (it != groups_.end()) {
            // A retried create answers the group; another configuration is refused.
            if (it->second.config == *cfg) {
                out.group = it->second;
            } else {
                out.error =
                    caf::make_error(errc::group_exists, "reader group " + c.scope + "/" + c.name +
                                                            " exists with another configuration");
            }
        } else {
            auto g = make_group(c.scope, c.name, *cfg, c.now_ms);
            out.error = save_group(g);
            out.group = std::move(g);
        }
        return;
    }
    if (it == groups_.end()) {
        out.error = caf::make_error(errc::group_not_found,
                                    "reader group " + c.scope + "/" + c.name + " does not exist");
        return;
    }
    if (c.type == kind::group_delete) {
        write_batch b;
        b.erase(keys::group(c.scope, c.name));
        out.error = persist(b);
        if (!out.error) {
            groups_.erase(it);
        }
        return;
    }
    auto g = it->second;
    auto view = streams_view();
    switch (c.type) {
        case kind::group_join:
        case kind::group_sync: {
            auto a = c.type == kind::group_join ? group_join(g, c.sync, view)
                                                : group_sync_reader(g, c.sync, view);
            if (!a) {
                out.error = std::move(a.error());
            } else {
                out.assignment = std::move(*a);
            }
            break;
        }
        case kind::group_leave:
            out.error = group_leave(g, c.sync, view);
            break;
        case kind::group_offline:
            out.changed = group_offline(g, c.sync.reader, c.sync.session, c.sync.syncs, view);
            break;
        case kind::group_checkpoint:
            out.error = group_checkpoint_begin(g, c.checkpoint, c.silent, c.now_ms, view);
            break;
        case kind::group_reset: {
            auto cuts = c.cuts;
            if (!c.checkpoint.empty()) {
                const auto* cp = group_checkpoint_of(g, c.checkpoint);
                if (cp == nullptr || !cp->complete) {
                    out.error = caf::make_error(errc::invalid_argument,
                                                "reader group " + c.scope + "/" + c.name +
                                                    " has no completed checkpoint " + c.checkpoint);
                    break;
                }
                cuts = cp->cuts;
            } else if (cuts.size() == g.config.streams.size()) {
                for (size_t i = 0; i < cuts.size() && !out.error; ++i) {
                    const auto& st = g.config.streams[i];
                    auto cut = resolve_cut(st.scope, st.name, cuts[i]);
                    if (cut) {
                        cuts[i] = std::move(*cut);
                    } else {
                        out.error = std::move(cut.error());
                    }
                }
            }
            if (!out.error) {
                out.error = group_reset(g, c.generation, cuts);
            }
            break;
        }
        default:
            break;
    }
    if (!out.error && !(g == it->second)) {
        out.error = save_group(g);
    }
    out.group = std::move(g);
}

caf::expected<reader_group_record> controller_state::get_group(const std::string& scope,
                                                               const std::string& name) const {
    auto it = groups_.find({scope, name});
    if (it == groups_.end()) {
        return caf::make_error(errc::group_not_found,
                               "reader group " + scope + "/" + name + " does not exist");
    }
    return it->second;
}

caf::expected<std::vector<std::string>> controller_state::list_groups(
    const std::string& scope) const {
    return names_in(groups_, scope);
}

std::vector<reader_group_record> controller_state::all_groups() const {
    std::vector<reader_group_record> out;
    out.reserve(groups_.size());
    for (const auto& [k, g] : groups_) {
        out.push_back(g);
    }
    return out;
}

}  // namespace pravaha::storage
