#pragma once

// The rules of a reader group (ARCHITECTURE.md "Reader groups"): pure and deterministic, applied
// by the controller state to its group records on every replica. No clock: leases are watched by
// the leader's reader_group_actor, which commits `offline` when one passes.

#include "schema/group_types.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pravaha::storage {

/// What the rules need to know of the group's streams (from the controller's history).
struct group_streams {
    /// A segment's successors with their predecessors; empty when nothing follows it (its stream
    /// was sealed) or the segment is unknown.
    std::function<std::vector<successor>(const segment_key&)> successors;
    /// A segment's key range, if the segment is known.
    std::function<std::optional<segment_range>(const segment_key&)> range;
};

/// At most this many checkpoints pending at once (Pravega's maxOutstandingCheckpointRequest).
constexpr size_t group_checkpoints_pending_max = 3;
/// Completed checkpoints kept (the oldest goes first).
constexpr size_t group_checkpoints_kept = 10;

/// A new group: every stream's start cut unassigned at its offsets. `config` is validated and
/// its cuts resolved by the caller.
reader_group_record make_group(const std::string& scope,
                               const std::string& name,
                               const group_config& config,
                               int64_t now_ms);

/// `req.reader` joins with token `req.nonce` and gets a session and segments (unless a
/// checkpoint is pending). The retry of a join (same token) answers the same session.
/// Errors: reader_exists (another live reader has the name), invalid_name (empty, too long, or
/// characters beyond letters, digits, '.' and '-').
caf::expected<group_assignment> group_join(reader_group_record& g,
                                           const group_sync& req,
                                           const group_streams& s);

/// A reader's heartbeat and report (ARCHITECTURE.md): positions move forward, released and
/// finished segments leave it, checkpoints it recorded advance; then it acquires its share
/// (no checkpoint pending) and learns what to release. Errors: reader_offline (no such reader,
/// or another session of the name).
caf::expected<group_assignment> group_sync_reader(reader_group_record& g,
                                                  const group_sync& req,
                                                  const group_streams& s);

/// The reader leaves after its last report `req`: its segments go back unassigned at its
/// positions. Errors: as group_sync_reader.
caf::error group_leave(reader_group_record& g, const group_sync& req, const group_streams& s);

/// The reader's lease passed: its segments go back unassigned at its last reported positions.
/// Returns whether it was online (a stale session or an unknown reader changes nothing, nor does
/// an offline decided before a report that was applied since: `syncs`, the reports of the
/// session the lease actor had seen, differs from the reader's count).
bool group_offline(reader_group_record& g,
                   const std::string& reader,
                   uint64_t session,
                   uint64_t syncs,
                   const group_streams& s);

/// Begins checkpoint `name` (idempotent: an existing one is left as it is). It completes at once
/// when no reader is online. Errors: invalid_argument (empty name), conflict (too many pending).
caf::error group_checkpoint_begin(reader_group_record& g,
                                  const std::string& name,
                                  bool silent,
                                  int64_t now_ms,
                                  const group_streams& s);

/// The checkpoint named `name`, if any.
const group_checkpoint* group_checkpoint_of(const reader_group_record& g, const std::string& name);

/// Rewinds the group to `cuts` (one per stream, resolved): a new generation, no reader online
/// (every reader is told reader_offline and rejoins), the cuts' segments unassigned. A reset for
/// an older `generation` than the group's is taken as done. Errors: invalid_argument (cuts that
/// do not match the group's streams).
caf::error group_reset(reader_group_record& g,
                       uint32_t generation,
                       const std::vector<stream_cut>& cuts);

/// What `group info` shows, with unread bytes from `length` (a segment's length now; nothing:
/// not known, and the totals it enters are -1): each reader's owned segments from its
/// positions; the group's from its positions, the waiting successors and everything after them
/// up to its end cuts.
group_info describe_group(const reader_group_record& g,
                          const group_streams& s,
                          const std::function<std::optional<int64_t>(const segment_key&)>& length);

/// The checks of a group's invariants (always on): every segment in exactly one place, offsets
/// not negative, sessions below next_session, pending checkpoints first.
void check_group(const reader_group_record& g);

}  // namespace pravaha::storage
