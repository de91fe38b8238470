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

/// What one reader (one incarnation, or all of a reader that resumes) has read.
struct reader_view {
    /// The last sequence number read per (writer, incarnation, key): per-key order.
    std::map<std::tuple<uint32_t, uint32_t, uint32_t>, uint64_t> last_seq;
    std::set<std::pair<uint64_t, int64_t>> seen;  ///< (segment, offset) read
    std::set<writer_seq> observed;                ///< events read
    size_t verified = 0;  ///< acknowledged events of its stream known to be read (caught-up check)
};

/// The payload hash every reader found at each (segment, offset): one event per offset.
using offset_map = std::map<std::pair<uint64_t, int64_t>, uint64_t>;

/// One event a reader was given.
struct read_rec {
    uint32_t reader = 0;
    uint64_t segment = 0;    ///< unique across streams (stream uid mixed with the segment id)
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
