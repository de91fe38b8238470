#pragma once

// The recorded history of a run's workload: every write the clients invoked, in order, with its
// outcome and times. The world records it; the checkers (sim/checkers.hpp) judge it without
// looking at the world, so that they can be tested on small hand-written histories.

#include "sim/payload.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace pravaha::sim {

enum class outcome : uint8_t { pending, ok, fail, unknown };

/// One write: invoked at `invoke`, answered (or given up) at `complete`.
struct op_rec {
    event_id id;
    bool idempotent = true;
    uint64_t hash = 0;  ///< of the payload (set when it is first sent)
    int64_t invoke = 0;
    int64_t complete = 0;
    outcome out = outcome::pending;
    uint32_t sends = 0;
    bool maybe_stored = false;  ///< an attempt ended without a definite answer
    bool resend = false;        ///< idempotent: pending when its client crashed, resent on restart
    uint32_t txn = 0;           ///< the run's transaction it was written into (0: a plain write)
};

/// What is known of how a transaction ended: told to a client, or listed by the controller.
enum class txn_end : uint8_t { none, committed, aborted };

/// One transaction of the workload (sim/workload_txn.cpp), by the run's number (1, 2, ...).
struct txn_rec {
    uint32_t client = 0;
    uint32_t inc = 0;
    uint32_t stream = 0;
    uint64_t id = 0;  ///< the controller's (0 until begin answered)
    int64_t lease_ms = 0;
    std::vector<size_t> ops;   ///< its events, in write order (indices of history ops)
    int64_t commit_asked = 0;  ///< when a commit was first sent, by any incarnation (0: never)
    int64_t committed_at = 0;  ///< when a commit was answered committed (0: never)
    txn_end answer = txn_end::none;       ///< what a client was told
    txn_end final_state = txn_end::none;  ///< the controller's record at the end (the resolver)
    bool settled = false;                 ///< the resolver found it completed (or never begun)
    uint64_t commit_order = 0;            ///< from an answer or the listing (0: none)
    int64_t first_seen = 0;               ///< when a reader was first given one of its events
};

class history {
public:
    /// `epoch` is the virtual time the run started at (messages count seconds from it).
    explicit history(int64_t epoch = 0) : epoch_(epoch) {}

    /// Records a new write; returns its index.
    size_t invoke(const op_rec& op);
    /// Records that write `index` was acknowledged now (its stream's acknowledgement order).
    void acknowledged(size_t index);

    op_rec& op(size_t index) { return ops_[index]; }
    const op_rec& op(size_t index) const { return ops_[index]; }
    std::vector<op_rec>& ops() { return ops_; }
    const std::vector<op_rec>& ops() const { return ops_; }
    /// The index of the write of `ev`, if it was ever invoked.
    std::optional<size_t> find(const writer_seq& ev) const;
    /// The writes of `stream` in the order they were acknowledged.
    const std::vector<size_t>& acked(uint32_t stream) const;
    double seconds(int64_t t) const { return static_cast<double>(t - epoch_) / 1e9; }
    int64_t epoch() const { return epoch_; }
    /// Records a new transaction; returns its number (from 1).
    uint32_t add_txn(const txn_rec& t);
    txn_rec& txn(uint32_t n) { return txns_[n - 1]; }
    const txn_rec& txn(uint32_t n) const { return txns_[n - 1]; }
    const std::vector<txn_rec>& txns() const { return txns_; }
    /// When `op` became visible to readers: its acknowledgement, or for a transaction's event
    /// its transaction's commit answer (0: not known to be visible).
    int64_t visible_at(const op_rec& op) const {
        return op.txn != 0 ? txn(op.txn).committed_at : op.complete;
    }
    /// Every stream's acknowledged writes, in order (the index of the vector is the stream).
    const std::vector<std::vector<size_t>>& acked_by_stream() const { return acked_by_stream_; }

private:
    int64_t epoch_ = 0;
    std::vector<op_rec> ops_;
    std::map<writer_seq, size_t> index_;
    std::vector<std::vector<size_t>> acked_by_stream_;
    std::vector<txn_rec> txns_;
};

}  // namespace pravaha::sim
