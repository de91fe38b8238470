#pragma once

// The simulator's transaction checkers (docs/sim_txn_plan.md §3): pure functions over the
// history's transactions (sim/history.hpp txn_rec) and what readers were given, so that
// tests/sim/checkers_test.cpp can run them on hand-written histories.
//
// | checker              | when                           | catches                             |
// | -------------------- | ------------------------------ | ----------------------------------- |
// | check_txn_delivery   | an event of a transaction is   | a part visible before any commit    |
// |                      | delivered (R1, R2)             | was asked, or of an aborted one     |
// | check_txn_learnt     | an end is told or listed (R2)  | aborted after a part was seen; an   |
// |                      |                                | answer the controller contradicts   |
// | check_txn_final      | end of the run (audit: F1-F4)  | a committed one not whole, twice,   |
// |                      |                                | not contiguous in a segment, or out |
// |                      |                                | of commit order; an aborted one     |
// |                      |                                | stored; an ordered one not committed|

#include "sim/checkers.hpp"
#include "sim/history.hpp"

#include <map>
#include <utility>

namespace pravaha::sim {

/// Per (segment, offset) a reader was given: the run's transaction of the event there (0: a plain
/// write) and the offset after it. check_read makes one (segment, offset) always one event.
using txn_layout = std::map<std::pair<segment_ref, int64_t>, std::pair<uint32_t, int64_t>>;

/// An event of transaction `n` was delivered at `now`: some incarnation asked for its commit by
/// then (R1), and it is not known to be aborted (R2).
finding check_txn_delivery(const history& h, uint32_t n, int64_t now);

/// Transaction `n`'s answer or final state was just learnt: aborted after a part was delivered
/// (R2), or an answer the controller's final record contradicts.
finding check_txn_learnt(const history& h, uint32_t n);

/// End of the run, after the audit. `layout` holds every (segment, offset) the readers were
/// given (the audit read them all), `stored` how often the audit read each event. A committed
/// transaction holds every acknowledged event exactly once (an unknown one at most once), one run
/// per segment with nothing foreign between (F1); an aborted one has no event stored or ever
/// delivered (F2); one delivered or ever ordered by the controller ended committed (F3); per
/// segment the runs follow the commit order, and a commit answered before another was asked comes
/// first in that order (F4).
finding check_txn_final(const history& h,
                        const txn_layout& layout,
                        const std::map<writer_seq, uint32_t>& stored);

}  // namespace pravaha::sim
