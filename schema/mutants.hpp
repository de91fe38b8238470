#pragma once

/// Planted bugs for the simulator's `mutants` check (sim/README.md). The hooks are compiled into
/// every build (one build of each module serves the node, the tests and the simulator: a second
/// copy compiled only for the simulator cost CI about a quarter of each tree), but only the
/// simulator sets `current` (scripts/determinism-lint.sh fails on an assignment anywhere else);
/// everywhere else it stays `none` and `active()` is one load and compare.

#include <cstdint>
#include <string_view>

namespace pravaha::mutants {

enum class mutant : uint8_t {
    none,
    ack_before_fsync,       ///< the durable log writes without sync, then acknowledges
    no_idempotent_dedup,    ///< the container stores resent events again
    sync_error_ignored,     ///< the durable log treats a failed sync as success
    ack_before_log_commit,  ///< the container acknowledges appends before the log write
    no_writer_fencing,      ///< the container accepts appends of superseded writer sessions
    ack_before_quorum,      ///< a Raft leader commits what it proposed before a majority fsynced it
    vote_not_persisted,     ///< a Raft replica replies to a vote before its vote is durable
    stale_term_ack,         ///< a Raft leader counts acknowledgements sent in an earlier term
    truncate_committed,     ///< a Raft follower truncates after every append's prev entry
    raft_fig8,              ///< a Raft leader commits entries of earlier terms by counting
    stale_leader_read,  ///< a Raft leader confirms reads at once (no majority, no own-term commit)
    sealed_session_refused,   ///< a segment refuses a writer session once sealed (stored resends
                              ///< fail)
    client_number_reused,     ///< a reopened writer stores again a resend of its last stored number
    position_without_header,  ///< a reader position after an event forgets the event's header
    hello_other_cluster,      ///< a member greets a node of another cluster (cluster id ignored)
    merge_not_all_cold,   ///< the auto-scaler merges a cold segment with neighbours that are not
    no_successor_gating,  ///< a reader reads a successor before every predecessor is read
    resend_to_successor_without_dedup,  ///< a writer moves a sealed segment's unacknowledged
                                        ///< events to its successors without asking what it stored
    scale_not_idempotent,  ///< creating a segment of a later epoch again (a scale's create step,
                           ///< redone on resume or repair) empties it
    // reader groups (storage/reader_group.cpp, actors and client; registered in the simulator
    // with the group workload)
    no_lease_expiry,                     ///< a group never declares a silent reader offline
    offline_reader_keeps_reading,        ///< a reader past its own lease goes on delivering
    release_without_position,            ///< a released segment goes back at its last sync's
                                         ///< offset, not where its reader delivered up to
    successor_before_predecessors_done,  ///< a group hands out a successor as soon as one of
                                         ///< its predecessors is read to its end
    // transactions (storage/controller_txns.cpp, actors; registered in the simulator with the
    // transaction workload)
    commit_not_atomic,           ///< a commit merges one part, records the transaction done and
                                 ///< answers, then sends the other merges unawaited
    abort_after_commit_visible,  ///< an abort of a committing transaction wins (parts merged stay)
    lease_not_enforced,          ///< a transaction whose lease passed is never aborted
};

/// The planted bug of this run; set by the simulator before it starts a world (schema/mutants.cpp).
extern mutant current;
inline bool active(mutant m) {
    return current == m;
}

}  // namespace pravaha::mutants
