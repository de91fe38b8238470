#pragma once

// The simulator's checkers: pure functions over a recorded history (sim/history.hpp), what the
// readers were given, and what disks durably hold. Each returns a finding (the text of a
// correctness failure) or nothing. Both worlds use them; tests/sim/checkers_test.cpp runs them
// on small hand-written histories.
//
// | checker            | when                    | catches                                     |
// | ------------------ | ----------------------- | ------------------------------------------- |
// | check_read         | every event read        | never written, two events at one offset,    |
// |                    |                         | a repeat, per-key order, idempotent dupes   |
// | check_caught_up    | a reader told "no more" | a read answered from a lagging state        |
// | check_reopen       | a writer reopened       | a wrong highest stored number               |
// | check_final        | end of the run (audit)  | lost, duplicated, failed-but-stored events  |
// | first_unheld       | durability oracles      | an acknowledged event a crash would lose    |
// | vote/entry_durable | a Raft reply leaves     | a promise not backed by the durable disk    |
// | check_history      | end of the run          | a scale half done or visible inconsistently |
// | check_decision     | an automatic scale      | a split of a segment that is not hot, a     |
// |                    |                         | merge of segments that are not all cold     |
// | check_group_read   | every event a reader    | two live readers on one range, a skipped    |
// |                    | group delivered         | range, per-key order across the readers     |
// | check_group_cut    | a checkpoint completed  | a cut past what the group delivered         |
// | check_group_end    | end of the run (audit)  | an event the group never delivered, one     |
// |                    |                         | delivered twice with no reader lost         |

#include "schema/types.hpp"
#include "sim/history.hpp"
#include "sim/sim_disk.hpp"

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

namespace pravaha::sim {

using finding = std::optional<std::string>;

/// A segment, unique across streams: (stream uid, segment id). A pair, not a hash of the two: a
/// mixed key let a segment of one stream and one of another collide (seed 0xf65bfc82 reported
/// "inconsistent offsets" for two segments that each held their own event).
using segment_ref = std::pair<uint64_t, uint64_t>;

/// What one reader (one incarnation, or all of a reader that resumes) has read.
struct reader_view {
    /// The last sequence number read per (writer, incarnation, key): per-key order.
    std::map<std::tuple<uint32_t, uint32_t, uint32_t>, uint64_t> last_seq;
    std::set<std::pair<segment_ref, int64_t>> seen;  ///< (segment, offset) read
    std::set<writer_seq> observed;                   ///< events read
    size_t verified = 0;  ///< acknowledged events of its stream known to be read (caught-up check)
};

/// The payload hash every reader found at each (segment, offset): one event per offset.
using offset_map = std::map<std::pair<segment_ref, int64_t>, uint64_t>;

/// One event a reader was given.
struct read_rec {
    uint32_t reader = 0;
    segment_ref segment;     ///< unique across streams
    int64_t segment_id = 0;  ///< the segment's number within its stream, for messages
    int64_t offset = 0;
    std::string_view payload;
};

/// Checks one read and records it in `view` and `offsets`.
finding check_read(const history& h, offset_map& offsets, reader_view& view, const read_rec& r);
/// The same for a payload already parsed (`parsed` is none for foreign bytes) and hashed.
finding check_read_event(const history& h,
                         offset_map& offsets,
                         reader_view& view,
                         const read_rec& r,
                         const std::optional<event_id>& parsed,
                         uint64_t hash);

/// A reader of `stream` was told at `asked_at` that it has read everything there is: every event
/// acknowledged before then must be in `view.observed`.
finding check_caught_up(
    const history& h, reader_view& view, uint32_t reader, uint32_t stream, int64_t asked_at);

/// A writer reopened under its id at `opened_at` learnt `last` as its highest stored number:
/// never a number it did not send (`next_seq` is its next), never below one acknowledged before.
finding check_reopen(
    const history& h, uint32_t writer, int64_t opened_at, int64_t last, uint64_t next_seq);

/// End of the run: `stored` counts each event in what the audit read. An acknowledged event is
/// there, an idempotent one at most once, a failed one never. `where` describes an acknowledged
/// event that is missing (what the disks held).
finding check_final(const history& h,
                    const std::map<writer_seq, uint32_t>& stored,
                    const std::function<std::string(const op_rec&)>& where);

/// A stream's epochs after every scale finished: a chain 0..rec.epoch in which every epoch's
/// segments cover [0,1) exactly, a segment is either carried over unchanged or new in its epoch
/// with the segments it replaced (of the epoch before, overlapping it, sealed with a length) as
/// predecessors, and the last epoch is the record's (no transition left).
finding check_history(const stream_record& rec, const std::vector<epoch_info>& epochs);

/// An automatic scale decided on `loads` (one per active segment of `rec`, in order) under the
/// rate windows of `window_ms`: it splits one hot segment into 2..factor equal parts, or merges
/// adjacent segments that are all cold, never below the policy's minimum (Pravega's rules).
finding check_decision(const stream_record& rec,
                       const std::vector<segment_load>& loads,
                       int64_t window_ms,
                       const scale_request& req);

/// What the readers of one reader group delivered, checked as they deliver. A reader *object* is
/// one join of a reader (a process that rejoins, or joins again after it was declared offline,
/// is a new object). Per segment, the deliveries form spans, each of one object: a span begins
/// where the one before ended (a release or a graceful leave goes back at the offset delivered
/// up to), or earlier only when the object before was lost (its process died or stalled, or it
/// learnt it was declared offline: what it delivered after its last report is read again).
struct group_view {
    struct span {
        uint32_t object = 0;
        int64_t start = 0;
        int64_t end = 0;  ///< offset after its last event
    };
    std::map<segment_ref, span> spans;  ///< per segment (as read_rec::segment): the latest
    std::set<uint32_t> lost;            ///< objects that ended (or stalled) without leaving
    /// Objects not lost when another began a span inside what they had delivered: they must be
    /// lost later, or two live readers read one range.
    std::map<uint32_t, std::string> suspects;
    /// When another object first began a span inside what the object had delivered: the group
    /// had given its segment away, so it was declared offline (or gave it back) before then,
    /// and it may hand out nothing it is asked for later.
    std::map<uint32_t, int64_t> overtaken;
    /// Per (writer, incarnation, key): the highest idempotent sequence number delivered first.
    std::map<std::tuple<uint32_t, uint32_t, uint32_t>, uint64_t> first_max;
    /// How often each (segment, offset) was delivered.
    std::map<std::pair<segment_ref, int64_t>, uint32_t> delivered;
    /// The offset after each delivered event.
    std::map<std::pair<segment_ref, int64_t>, int64_t> next;
};

/// Checks one event the group's reader `object` delivered (`after`: the offset after it) at
/// `now`; it was handed out at `asked_at` or later (when the fetch was asked, or when the
/// reader's stalled process ran again). The payload was checked by check_read already.
finding check_group_read(const history& h,
                         group_view& g,
                         uint32_t object,
                         const read_rec& r,
                         int64_t after,
                         int64_t now,
                         int64_t asked_at);
/// `object` ended without leaving, or stalled: others may read again what it delivered.
void group_object_lost(group_view& g, uint32_t object);
/// `object` left its group gracefully: it must not have been a reader whose range another read.
finding group_object_left(group_view& g, uint32_t object);
/// A checkpoint of the group completed with `cut` for the stream whose uid is `uid`: the cut
/// covers the key space, and in each of its segments the group delivered every event before the
/// cut's offset, which is an event boundary.
finding check_group_cut(const group_view& g,
                        uint64_t uid,
                        const stream_cut& cut,
                        const std::string& checkpoint);
/// End of the run: every event in `stored` (the audit's (segment, offset)s of the group's stream)
/// was delivered, exactly once unless a reader object was lost; no suspect is left.
finding check_group_end(const group_view& g,
                        const std::set<std::pair<segment_ref, int64_t>>& stored,
                        const std::string& group);

/// The first acknowledged event `held` says is not (durably, or not by enough copies) kept.
const op_rec* first_unheld(const history& h, const std::function<bool(const writer_seq&)>& held);

/// Raft persistence on a durable disk image: a vote granted in `term` to `candidate` (the hard
/// state holds that vote, or a later term), an entry acknowledged at `index` (stored, or below
/// the snapshot point).
bool vote_is_durable(const kv_map& durable, uint32_t group, uint64_t term, uint32_t candidate);
bool entry_is_durable(const kv_map& durable, uint32_t group, uint64_t index);

/// Raft's one vote per replica and term, checked over every vote granted in a run.
class vote_history {
public:
    /// Records that `voter` granted its vote in `term` of `group` to `candidate`; returns the
    /// other candidate it had already voted for in that term, if any.
    std::optional<uint32_t> record(uint32_t group,
                                   uint64_t term,
                                   uint32_t voter,
                                   uint32_t candidate);

private:
    std::map<std::tuple<uint32_t, uint64_t, uint32_t>, uint32_t> votes_;
};

}  // namespace pravaha::sim
