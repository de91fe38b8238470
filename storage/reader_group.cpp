#include "storage/reader_group.hpp"

#include "schema/errc.hpp"
#include "schema/logging.hpp"
#include "schema/mutants.hpp"
#include "schema/names.hpp"

#include <algorithm>

namespace pravaha::storage {

namespace {

bool checkpoint_pending(const reader_group_record& g) {
    return std::any_of(g.checkpoints.begin(), g.checkpoints.end(),
                       [](const group_checkpoint& c) { return !c.complete; });
}

// Where reading `key` stops: its offset in its stream's end cut, if the cut names it.
std::optional<int64_t> end_offset(const reader_group_record& g, const segment_key& key) {
    for (const auto& st : g.config.streams) {
        if (st.end.stream != key.stream) {
            continue;
        }
        for (const auto& c : st.end.segments) {
            if (c.range.id == key.segment) {
                return c.offset;
            }
        }
    }
    return std::nullopt;
}

bool known(const reader_group_record& g, const segment_key& key) {
    if (g.unassigned.count(key) != 0 || g.future.count(key) != 0 || g.finished.count(key) != 0) {
        return true;
    }
    return std::any_of(g.readers.begin(), g.readers.end(),
                       [&](const auto& r) { return r.second.owned.count(key) != 0; });
}

// Segment `key`, read to `end` by the group, leaves its reader. Its successors are handed out
// (unassigned at 0) together with every segment their scale created as far as predecessor links
// connect them, once every predecessor among those is read to its end (successor gating); until
// then they wait in `future` for the predecessors still unread. Handing them out together keeps
// the group's frontier a stream cut: after an uneven scale (P, Q into R inside P and S over the
// rest of P and Q) R alone next to P, still held for S, would overlap it.
void complete(reader_group_record& g, const segment_key& key, int64_t end, const group_streams& s) {
    g.finished[key] = end;
    if (end_offset(g, key)) {
        return;  // the end cut: nothing after it is read
    }
    // The connected part of the scale: predecessors and successors linked to `key`.
    std::set<segment_id> preds{key.segment};
    std::set<segment_id> succs;
    std::vector<segment_id> to_visit{key.segment};
    while (!to_visit.empty()) {
        auto p = to_visit.back();
        to_visit.pop_back();
        for (const auto& x : s.successors(segment_key{key.stream, p})) {
            if (!succs.insert(x.range.id).second) {
                continue;
            }
            for (auto q : x.predecessors) {
                if (preds.insert(q).second) {
                    to_visit.push_back(q);
                }
            }
        }
    }
    if (succs.empty()) {
        return;  // sealed with its stream: it stays as the group's end there
    }
    std::set<segment_id> unread;
    for (auto q : preds) {
        if (g.finished.count(segment_key{key.stream, q}) == 0) {
            unread.insert(q);
        }
    }
    if (mutants::active(mutants::mutant::successor_before_predecessors_done)) {
        unread.clear();  // planted bug: successors go out once one predecessor is read
    }
    for (auto id : succs) {
        segment_key sk{key.stream, id};
        if (g.future.count(sk) == 0 && known(g, sk)) {
            continue;  // already placed (a reset's cut)
        }
        if (unread.empty()) {
            g.future.erase(sk);
            g.unassigned[sk] = 0;
        } else {
            g.future[sk] = unread;
        }
    }
    if (unread.empty()) {
        for (auto q : preds) {
            g.finished.erase(segment_key{key.stream, q});
        }
    }
}

size_t segments_in_play(const reader_group_record& g) {
    size_t t = g.unassigned.size();
    for (const auto& [name, m] : g.readers) {
        t += m.owned.size();
    }
    return t;
}

// A reader that wants segments takes unassigned ones up to its fair share, lowest first (no
// acquisition while a checkpoint is pending: its cut is made of positions recorded at
// different moments, which only holds while segments do not move to readers).
void acquire(reader_group_record& g, online_reader& m, bool wants) {
    if (!wants || checkpoint_pending(g) || g.readers.empty()) {
        return;
    }
    if (!m.releasing.empty()) {
        return;  // it is giving segments to readers below their share
    }
    // Up to ceil(t / n), but only up to floor(t / n) while another reader is below that (else
    // a reader that released one at ceil takes it straight back and the short one starves).
    size_t n = g.readers.size();
    size_t t = segments_in_play(g);
    size_t floor_share = t / n;
    bool others_short = std::any_of(g.readers.begin(), g.readers.end(), [&](const auto& r) {
        return &r.second != &m && r.second.owned.size() - r.second.releasing.size() < floor_share;
    });
    size_t share = others_short ? floor_share : (t + n - 1) / n;
    while (m.owned.size() < share && !g.unassigned.empty()) {
        auto it = g.unassigned.begin();
        m.owned.emplace(it->first, it->second);
        g.unassigned.erase(it);
    }
}

// While the readers below floor(t / n) segments need more than the unassigned and released
// ones, the most loaded reader (then by name) is told to give one back (its highest).
void rebalance(reader_group_record& g) {
    if (g.readers.empty() || checkpoint_pending(g)) {
        return;
    }
    size_t floor_share = segments_in_play(g) / g.readers.size();
    auto effective = [](const online_reader& m) { return m.owned.size() - m.releasing.size(); };
    size_t spare = g.unassigned.size();
    size_t deficit = 0;
    for (const auto& [name, m] : g.readers) {
        spare += m.releasing.size();
        deficit += floor_share > effective(m) ? floor_share - effective(m) : 0;
    }
    while (deficit > spare) {
        online_reader* most = nullptr;
        for (auto& [name, m] : g.readers) {
            if (effective(m) > floor_share &&
                (most == nullptr || effective(m) > effective(*most))) {
                most = &m;
            }
        }
        if (most == nullptr) {
            return;
        }
        auto victim = std::find_if(most->owned.rbegin(), most->owned.rend(), [&](const auto& kv) {
            return most->done.count(kv.first) == 0 && most->releasing.count(kv.first) == 0;
        });
        if (victim == most->owned.rend()) {
            return;
        }
        most->releasing.insert(victim->first);
        ++spare;
    }
}

void complete_checkpoint(reader_group_record& g, group_checkpoint& cp, const group_streams& s) {
    for (const auto& [key, offset] : g.unassigned) {
        cp.positions.emplace(key, offset);
    }
    for (const auto& [key, offset] : g.finished) {
        cp.positions.emplace(key, offset);
    }
    cp.cuts.clear();
    for (const auto& st : g.config.streams) {
        stream_cut cut;
        cut.stream = st.start.stream;
        for (const auto& [key, offset] : cp.positions) {
            if (key.stream != cut.stream) {
                continue;
            }
            // A segment of a stream deleted meanwhile has no range any more: left out (a reset
            // to such a cut is refused when the cut is checked against the stream).
            if (auto range = s.range(key)) {
                cut.segments.push_back(cut_segment{*range, offset});
            }
        }
        std::sort(cut.segments.begin(), cut.segments.end(),
                  [](const cut_segment& a, const cut_segment& b) {
                      return a.range.key_start < b.range.key_start;
                  });
        cp.cuts.push_back(std::move(cut));
    }
    cp.complete = true;
    cp.waiting.clear();
}

// Completes the checkpoints nobody is waiting for; once none is pending, the segments readers
// finished meanwhile leave them; only the newest completed checkpoints are kept.
void advance_checkpoints(reader_group_record& g, const group_streams& s) {
    // Completed ones move to the back in the order they complete: the oldest are trimmed first.
    std::vector<group_checkpoint> now_complete;
    for (auto it = g.checkpoints.begin(); it != g.checkpoints.end();) {
        if (!it->complete && it->waiting.empty()) {
            complete_checkpoint(g, *it, s);
            now_complete.push_back(std::move(*it));
            it = g.checkpoints.erase(it);
        } else {
            ++it;
        }
    }
    for (auto& cp : now_complete) {
        g.checkpoints.push_back(std::move(cp));
    }
    if (!checkpoint_pending(g)) {
        for (auto& [name, m] : g.readers) {
            for (const auto& key : m.done) {
                auto end = m.owned.at(key);
                m.owned.erase(key);
                complete(g, key, end, s);
            }
            m.done.clear();
        }
    }
    auto completed = static_cast<size_t>(std::count_if(g.checkpoints.begin(), g.checkpoints.end(),
                                                       [](const auto& c) { return c.complete; }));
    for (auto it = g.checkpoints.begin();
         completed > group_checkpoints_kept && it != g.checkpoints.end();) {
        if (it->complete) {
            it = g.checkpoints.erase(it);
            --completed;
        } else {
            ++it;
        }
    }
}

// A reader's report: positions forward, finished segments out (kept while a checkpoint is
// pending), released ones back to unassigned, checkpoints recorded.
void apply_report(reader_group_record& g,
                  const std::string& name,
                  online_reader& m,
                  const group_sync& req,
                  const group_streams& s) {
    for (const auto& p : req.positions) {
        auto it = m.owned.find(p.key);
        if (it != m.owned.end() && p.offset > it->second) {
            it->second = p.offset;
        }
    }
    bool pending = checkpoint_pending(g);
    for (const auto& f : req.finished) {
        auto it = m.owned.find(f.key);
        if (it == m.owned.end() || m.done.count(f.key) != 0) {
            continue;
        }
        m.releasing.erase(f.key);
        auto end = std::max(it->second, f.offset);
        if (pending) {
            it->second = end;
            m.done.insert(f.key);
        } else {
            m.owned.erase(it);
            complete(g, f.key, end, s);
        }
    }
    for (const auto& r : req.released) {
        auto it = m.owned.find(r.key);
        if (it == m.owned.end() || m.releasing.count(r.key) == 0) {
            continue;
        }
        auto offset = mutants::active(mutants::mutant::release_without_position)
                          ? it->second
                          : std::max(it->second, r.offset);
        m.owned.erase(it);
        m.releasing.erase(r.key);
        g.unassigned[r.key] = offset;
    }
    for (const auto& cp_name : req.recorded) {
        for (auto& cp : g.checkpoints) {
            if (cp.complete || cp.name != cp_name || cp.waiting.count(name) == 0) {
                continue;
            }
            for (const auto& [key, offset] : m.owned) {
                cp.positions[key] = offset;
            }
            cp.waiting.erase(name);
        }
    }
    advance_checkpoints(g, s);
}

group_assignment assignment_of(const reader_group_record& g, const std::string& name) {
    const auto& m = g.readers.at(name);
    group_assignment a;
    a.session = m.session;
    a.generation = g.generation;
    a.lease_ms = g.config.lease_ms;
    for (const auto& [key, offset] : m.owned) {
        if (m.done.count(key) == 0) {
            a.segments.push_back(group_assigned{key, offset, end_offset(g, key).value_or(-1)});
        }
    }
    a.release.assign(m.releasing.begin(), m.releasing.end());
    for (const auto& cp : g.checkpoints) {
        if (!cp.complete && cp.waiting.count(name) != 0) {
            (cp.silent ? a.silent_checkpoints : a.checkpoints).push_back(cp.name);
        }
    }
    return a;
}

// Removes reader `name`: its segments go back unassigned at their offsets, and no checkpoint
// waits for it (one that did is marked forced: it gets the reader's last reported offsets).
void remove_reader(reader_group_record& g, const std::string& name, const group_streams& s) {
    auto& m = g.readers.at(name);
    for (const auto& [key, offset] : m.owned) {
        g.unassigned[key] = offset;
    }
    g.readers.erase(name);
    for (auto& cp : g.checkpoints) {
        if (cp.waiting.erase(name) != 0) {
            cp.forced = true;
        }
    }
    advance_checkpoints(g, s);
    rebalance(g);
}

caf::expected<online_reader*> session_of(reader_group_record& g, const group_sync& req) {
    auto it = g.readers.find(req.reader);
    if (it == g.readers.end() || it->second.session != req.session) {
        return caf::make_error(errc::reader_offline,
                               "reader " + req.reader + " of group " + g.scope + "/" + g.name +
                                   " is offline (its lease passed, it left, or the group was "
                                   "reset): join again");
    }
    return &it->second;
}

}  // namespace

reader_group_record make_group(const std::string& scope,
                               const std::string& name,
                               const group_config& config,
                               int64_t now_ms) {
    reader_group_record g;
    g.scope = scope;
    g.name = name;
    g.config = config;
    g.created_ms = now_ms;
    for (const auto& st : config.streams) {
        for (const auto& c : st.start.segments) {
            g.unassigned[segment_key{st.start.stream, c.range.id}] = c.offset;
        }
    }
    return g;
}

caf::expected<group_assignment> group_join(reader_group_record& g,
                                           const group_sync& req,
                                           const group_streams& s) {
    if (auto err = validate_name("reader", req.reader)) {
        return err;  // empty, too long, or characters beyond letters, digits, '.' and '-'
    }
    auto it = g.readers.find(req.reader);
    if (it != g.readers.end()) {
        if (req.nonce != 0 && it->second.nonce == req.nonce) {
            return assignment_of(g, req.reader);  // a retried join
        }
        return caf::make_error(errc::reader_exists, "group " + g.scope + "/" + g.name +
                                                        " has a live reader named " + req.reader);
    }
    auto& m = g.readers[req.reader];
    m.session = g.next_session++;
    m.nonce = req.nonce;
    acquire(g, m, req.wants);
    rebalance(g);
    (void)s;
    return assignment_of(g, req.reader);
}

caf::expected<group_assignment> group_sync_reader(reader_group_record& g,
                                                  const group_sync& req,
                                                  const group_streams& s) {
    auto m = session_of(g, req);
    if (!m) {
        return std::move(m.error());
    }
    apply_report(g, req.reader, **m, req, s);
    ++(*m)->syncs;
    acquire(g, **m, req.wants);
    rebalance(g);
    return assignment_of(g, req.reader);
}

caf::error group_leave(reader_group_record& g, const group_sync& req, const group_streams& s) {
    auto m = session_of(g, req);
    if (!m) {
        return std::move(m.error());
    }
    apply_report(g, req.reader, **m, req, s);
    remove_reader(g, req.reader, s);
    return {};
}

bool group_offline(reader_group_record& g,
                   const std::string& reader,
                   uint64_t session,
                   uint64_t syncs,
                   const group_streams& s) {
    auto it = g.readers.find(reader);
    if (it == g.readers.end() || it->second.session != session || it->second.syncs != syncs) {
        return false;  // gone, another session, or renewed by a report after the lease actor looked
    }
    remove_reader(g, reader, s);
    return true;
}

caf::error group_checkpoint_begin(reader_group_record& g,
                                  const std::string& name,
                                  bool silent,
                                  int64_t now_ms,
                                  const group_streams& s) {
    if (name.empty()) {
        return caf::make_error(errc::invalid_argument, "a checkpoint needs a name");
    }
    if (group_checkpoint_of(g, name) != nullptr) {
        return {};
    }
    auto pending = static_cast<size_t>(std::count_if(g.checkpoints.begin(), g.checkpoints.end(),
                                                     [](const auto& c) { return !c.complete; }));
    if (pending >= group_checkpoints_pending_max) {
        return caf::make_error(errc::conflict, "group " + g.scope + "/" + g.name + " has " +
                                                   std::to_string(pending) +
                                                   " checkpoints pending already");
    }
    group_checkpoint cp;
    cp.name = name;
    cp.silent = silent;
    cp.created_ms = now_ms;
    for (const auto& [reader, m] : g.readers) {
        cp.waiting.insert(reader);
    }
    g.checkpoints.push_back(std::move(cp));
    advance_checkpoints(g, s);
    return {};
}

const group_checkpoint* group_checkpoint_of(const reader_group_record& g, const std::string& name) {
    for (const auto& cp : g.checkpoints) {
        if (cp.name == name) {
            return &cp;
        }
    }
    return nullptr;
}

caf::error group_reset(reader_group_record& g,
                       uint32_t generation,
                       const std::vector<stream_cut>& cuts) {
    if (generation < g.generation) {
        return {};  // a retry of a reset that happened, or a reset overtaken by another
    }
    if (generation != g.generation) {
        return caf::make_error(errc::invalid_argument, "group " + g.scope + "/" + g.name +
                                                           " is at generation " +
                                                           std::to_string(g.generation) + ", not " +
                                                           std::to_string(generation));
    }
    if (cuts.size() != g.config.streams.size()) {
        return caf::make_error(errc::invalid_argument,
                               "a reset needs one cut per stream of the group");
    }
    for (size_t i = 0; i < cuts.size(); ++i) {
        if (cuts[i].stream != g.config.streams[i].start.stream) {
            return caf::make_error(errc::invalid_argument, "a cut of another stream than " +
                                                               g.config.streams[i].scope + "/" +
                                                               g.config.streams[i].name);
        }
    }
    ++g.generation;
    g.readers.clear();
    g.unassigned.clear();
    g.future.clear();
    g.finished.clear();
    g.checkpoints.erase(std::remove_if(g.checkpoints.begin(), g.checkpoints.end(),
                                       [](const auto& c) { return !c.complete; }),
                        g.checkpoints.end());
    for (const auto& cut : cuts) {
        for (const auto& c : cut.segments) {
            g.unassigned[segment_key{cut.stream, c.range.id}] = c.offset;
        }
    }
    return {};
}

group_info describe_group(const reader_group_record& g,
                          const group_streams& s,
                          const std::function<std::optional<int64_t>(const segment_key&)>& length) {
    group_info info;
    info.scope = g.scope;
    info.name = g.name;
    info.generation = g.generation;
    info.config = g.config;
    info.checkpoints = g.checkpoints;
    // Unread bytes of a segment from `offset` (up to its end cut), or -1.
    auto rest = [&](const segment_key& key, int64_t offset) -> int64_t {
        auto end = end_offset(g, key);
        auto len = end ? end : length(key);
        return len ? std::max<int64_t>(0, *len - offset) : -1;
    };
    auto add = [](int64_t& total, int64_t x) { total = total < 0 || x < 0 ? -1 : total + x; };
    int64_t total = 0;
    std::set<segment_key> counted;
    std::vector<segment_key> frontier;
    for (const auto& [name, m] : g.readers) {
        group_reader_info r;
        r.name = name;
        r.unread_bytes = 0;
        for (const auto& [key, offset] : m.owned) {
            r.segments.push_back({key, offset});
            add(r.unread_bytes, m.done.count(key) != 0 ? 0 : rest(key, offset));
            counted.insert(key);
            frontier.push_back(key);
        }
        add(total, r.unread_bytes);
        info.readers.push_back(std::move(r));
    }
    for (const auto& [key, offset] : g.unassigned) {
        info.unassigned.push_back({key, offset});
        add(total, rest(key, offset));
        counted.insert(key);
        frontier.push_back(key);
    }
    for (const auto& [key, waiting] : g.future) {
        info.future.push_back(key);
        add(total, rest(key, 0));
        counted.insert(key);
        frontier.push_back(key);
    }
    for (const auto& [key, end] : g.finished) {
        counted.insert(key);
        frontier.push_back(key);
    }
    // Everything after the frontier up to the end cuts is unread as a whole.
    while (!frontier.empty()) {
        auto key = frontier.back();
        frontier.pop_back();
        if (end_offset(g, key)) {
            continue;
        }
        for (const auto& x : s.successors(key)) {
            segment_key next{key.stream, x.range.id};
            if (counted.insert(next).second) {
                add(total, rest(next, 0));
                frontier.push_back(next);
            }
        }
    }
    info.unread_bytes = total;
    return info;
}

void check_group(const reader_group_record& g) {
    std::set<segment_key> seen;
    auto once = [&](const segment_key& key, int64_t offset, const char* where) {
        PRAVAHA_ASSERT(seen.insert(key).second, "group {}/{}: segment {} twice ({})", g.scope,
                       g.name, key.segment.value, where);
        PRAVAHA_ASSERT(offset >= 0, "group {}/{}: segment {} at offset {} ({})", g.scope, g.name,
                       key.segment.value, offset, where);
    };
    for (const auto& [name, m] : g.readers) {
        PRAVAHA_ASSERT(m.session > 0 && m.session < g.next_session,
                       "group {}/{}: reader {} has session {} of {}", g.scope, g.name, name,
                       m.session, g.next_session);
        for (const auto& [key, offset] : m.owned) {
            once(key, offset, "owned");
        }
        for (const auto& key : m.done) {
            PRAVAHA_ASSERT(m.owned.count(key) != 0, "group {}/{}: done segment not owned", g.scope,
                           g.name);
        }
        for (const auto& key : m.releasing) {
            PRAVAHA_ASSERT(m.owned.count(key) != 0, "group {}/{}: released segment not owned",
                           g.scope, g.name);
        }
    }
    for (const auto& [key, offset] : g.unassigned) {
        once(key, offset, "unassigned");
    }
    for (const auto& [key, waiting] : g.future) {
        once(key, 0, "future");
        PRAVAHA_ASSERT(!waiting.empty(), "group {}/{}: a future segment waits for nothing", g.scope,
                       g.name);
    }
    for (const auto& [key, offset] : g.finished) {
        once(key, offset, "finished");
    }
    bool done_exist = std::any_of(g.readers.begin(), g.readers.end(),
                                  [](const auto& r) { return !r.second.done.empty(); });
    PRAVAHA_ASSERT(!done_exist || checkpoint_pending(g),
                   "group {}/{}: finished segments held without a pending checkpoint", g.scope,
                   g.name);
}

}  // namespace pravaha::storage
