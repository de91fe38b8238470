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
    /// Every stream's acknowledged writes, in order (the index of the vector is the stream).
    const std::vector<std::vector<size_t>>& acked_by_stream() const { return acked_by_stream_; }

private:
    int64_t epoch_ = 0;
    std::vector<op_rec> ops_;
    std::map<writer_seq, size_t> index_;
    std::vector<std::vector<size_t>> acked_by_stream_;
};

}  // namespace pravaha::sim
