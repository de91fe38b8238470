#pragma once

// Transactions (docs/transactions_plan.md): what the controller keeps of a transaction and what
// its clients exchange with it. The rules that change one are in storage/controller_txns.cpp.

#include "schema/types.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace pravaha {

/// A transaction's state: open → committing → committed, or open → aborting → aborted.
enum class txn_state : uint8_t {
    open = 0,
    committing = 1,
    committed = 2,
    aborting = 3,
    aborted = 4
};

/// "open", "committing", "committed", "aborting", "aborted".
const char* to_string(txn_state s);

/// A transaction id as the CLI, errors and logs show it: 16 hex digits.
std::string txn_id_text(uint64_t id);
/// Parses a transaction id (1 to 16 hex digits, as txn_id_text prints it). False on anything else.
bool parse_txn_id(std::string_view text, uint64_t& id);

/// One transaction segment: where a transaction's events of `range` wait for the commit. Its key
/// has a uid of its own and its parent's segment id, in the parent's container.
struct txn_segment {
    segment_range range;  ///< the parent's id and key range
    segment_key key;      ///< the transaction segment
    bool operator==(const txn_segment&) const = default;
};

/// A transaction as the controller keeps it (persisted: capnp TxnRecord).
struct txn_record {
    uint64_t id = 0;  ///< unique in the cluster, never reused
    std::string scope;
    std::string stream;
    stream_uid uid;
    uint32_t epoch = 0;  ///< the stream's epoch it began in: its segments' parents
    txn_state state = txn_state::open;
    writer_id writer;  ///< the application's writer id (listing by writer)
    int64_t began_ms = 0;
    int64_t lease_ms = 0;     ///< a transaction not pinged this long is aborted
    int64_t deadline_ms = 0;  ///< aborted when still open at this time (maximum lifetime)
    int64_t completed_ms = 0;
    uint64_t commit_order = 0;  ///< increasing in the order commits were requested (0: none)
    std::string reason;         ///< why it was aborted ("abort", "lease", "lifetime", "sealed")
    std::vector<txn_segment> segments;
    /// Committed: the epoch whose segments received its events (its own epoch's parents, the
    /// current epoch's segments, or a roll's duplicates of its epoch); 0 before.
    uint32_t merged_epoch = 0;
    bool operator==(const txn_record&) const = default;
};

/// Limits of transactions (the controller's).
struct txn_limits {
    int64_t lease_min_ms = 1'000;
    int64_t lease_max_ms = 600'000;
    int64_t lifetime_ms = 24 * 3600 * 1000LL;   ///< maximum time from begin to commit
    int64_t retention_ms = 24 * 3600 * 1000LL;  ///< completed ones stay queryable this long
    uint32_t open_per_stream = 1'000;           ///< open and committing ones
    uint32_t completed_per_stream = 10'000;     ///< the oldest completed ones go first
    int64_t segment_bytes = 16 * 1024 * 1024;   ///< a transaction segment's size limit
};

/// What a client asks of a transaction (`txn_atom`): begin one on scope/stream (with `lease_ms`
/// and `writer`), or commit, abort, read (`status`) or renew (`ping`) transaction `id`.
enum class txn_op : uint8_t { begin = 0, commit = 1, abort = 2, status = 3, ping = 4 };

struct txn_request {
    txn_op op = txn_op::status;
    std::string scope;
    std::string stream;
    uint64_t id = 0;
    int64_t lease_ms = 0;
    writer_id writer;
    bool operator==(const txn_request&) const = default;
};

// -- inspectors (CAF serialization for messages) ------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, txn_request& x) {
    return f(caf::meta::type_name("pravaha.txn_request"), x.op, x.scope, x.stream, x.id, x.lease_ms,
             x.writer);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, txn_segment& x) {
    return f(caf::meta::type_name("pravaha.txn_segment"), x.range, x.key);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, txn_record& x) {
    return f(caf::meta::type_name("pravaha.txn_record"), x.id, x.scope, x.stream, x.uid, x.epoch,
             x.state, x.writer, x.began_ms, x.lease_ms, x.deadline_ms, x.completed_ms,
             x.commit_order, x.reason, x.segments, x.merged_epoch);
}

}  // namespace pravaha
