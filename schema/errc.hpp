#pragma once

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include <cstdint>
#include <string>

namespace pravaha {

/// The one error enum of Pravaha. Every fallible operation that a caller can react to reports one
/// of these codes, usually with a human-readable context string (`caf::make_error(code, "why")`).
/// The numeric values are part of the wire protocol: append only, never renumber.
enum class errc : uint8_t {
    none = 0,
    invalid_name = 1,        ///< scope or stream name breaks the naming rules
    invalid_argument = 2,    ///< a request field is out of range (segment count, sizes, ...)
    scope_exists = 3,        ///< create of a scope that already exists
    scope_not_found = 4,     ///< the scope does not exist
    scope_not_empty = 5,     ///< delete of a scope that still has streams
    stream_exists = 6,       ///< create of a stream that already exists
    stream_not_found = 7,    ///< the stream does not exist
    stream_sealed = 8,       ///< write to a sealed stream
    stream_not_sealed = 9,   ///< delete of a stream that is not sealed
    segment_not_found = 10,  ///< the segment does not exist (or was deleted)
    segment_sealed = 11,     ///< append to a sealed segment
    event_too_large = 12,    ///< an event exceeds the 8 MiB limit
    storage_io = 13,         ///< the disk or RocksDB failed; the operation did not happen
    malformed_message = 14,  ///< a message or stored record could not be decoded
    corrupt_data = 15,       ///< a checksum or framing check failed on stored data
    timeout = 16,            ///< no answer within the configured time
    unavailable = 17,        ///< the node cannot be reached or is shutting down
    bad_offset = 18,         ///< a read at an offset that is not an event boundary or past the end
    overloaded = 19,         ///< a bounded queue is full; retry later
    event_number_gap = 20,   ///< an append skips event numbers; resend from the first missing
    writer_fenced = 21,      ///< a newer session of the same writer id took over the segment
    not_leader = 22,         ///< this replica does not lead the group (not_leader_error)
    storage_full = 23,       ///< the node's disk is (nearly) full: appends and creations wait
    conflict = 24,           ///< another workflow of the stream runs (e.g. a scale): retry later
    group_not_found = 25,    ///< the reader group does not exist
    group_exists = 26,       ///< create of a reader group that exists with another configuration
    reader_exists = 27,      ///< a live reader of the group has this name already
    reader_offline = 28,     ///< the group declared this reader offline (or was reset): rejoin
    transaction_not_found = 29,  ///< the transaction does not exist (or was purged)
    transaction_not_open = 30,   ///< a write to a transaction that is committing or ended
    transaction_aborted = 31,    ///< commit of an aborted (or expired) transaction
    transaction_committed = 32,  ///< abort of a committing or committed transaction
    transaction_limit = 33,      ///< the stream has as many open transactions as it allows
    transaction_too_large = 34,  ///< a transaction segment would exceed its size limit
    unauthenticated = 35,        ///< the node wants a token and got none, or an unknown one
    permission_denied = 36,      ///< the token lacks the right this operation needs on its scope
};

/// Returns the stable lowercase name of a code, e.g. "stream_sealed".
const char* to_string(errc code);

/// Renders a `caf::error` of any category as one line ("pravaha.stream_sealed: scope/stream").
std::string render_error(const caf::error& err);

/// Returns the `errc` carried by `err`, or `errc::none` if the error is of another category.
errc code_of(const caf::error& err);

/// A not_leader refusal whose context is the replica believed to lead, as a number (0 when
/// unknown), so that a node can follow it without parsing text.
caf::error not_leader_error(uint32_t leader);

/// The leader hint of a not_leader error (0 when unknown, or for any other error).
uint32_t leader_hint(const caf::error& err);

/// Intentionally ignores an error (greppable; logs at debug level when a logger is set).
void ignore_error(const caf::error& err, const char* why);

}  // namespace pravaha

CAF_ERROR_CODE_ENUM(pravaha::errc, "pravaha")
