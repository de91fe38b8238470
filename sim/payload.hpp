#pragma once

// The simulator's workload events: every payload names its writer, the writer's incarnation,
// its sequence number, routing key and stream, so that whatever a reader or a disk holds can be
// traced back to the write that produced it.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace pravaha::sim {

struct event_id {
    uint32_t writer = 0;
    uint32_t incarnation = 0;
    uint64_t seq = 0;
    uint32_t key = 0;
    uint32_t stream = 0;
};

/// A transaction's events name `txn_writer_base + n` as their writer (n: the run's transaction
/// number), their client as the incarnation, and their index in the transaction as the sequence.
constexpr uint32_t txn_writer_base = 0x4000'0000;

/// An event by writer (client) and sequence number: what the checkers count.
using writer_seq = std::pair<uint32_t, uint64_t>;

/// The payload of `id` followed by `filler` deterministic bytes.
std::string make_payload(const event_id& id, size_t filler);
/// The id of a payload made by `make_payload`, or nothing for foreign bytes.
std::optional<event_id> parse_payload(std::string_view p);
uint64_t payload_hash(std::string_view p);

/// Adds the workload events a stored key/value holds to `into`: a standalone log entry (L), a
/// container's Raft entry (R, a group other than the controller's 0, 'e', index; the value is
/// the term, then the log entry), or segment data (D).
void stored_events(std::string_view key, std::string_view value, std::set<writer_seq>& into);

}  // namespace pravaha::sim
