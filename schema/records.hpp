#pragma once

#include "schema/group_types.hpp"
#include "schema/txn_types.hpp"
#include "schema/types.hpp"

#include <caf/expected.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace pravaha {

/// One operation of a segment container's state machine, as stored in its durable log.
struct container_op {
    enum class kind : uint8_t {
        create_segment = 0,
        append = 1,
        seal_segment = 2,
        delete_segment = 3,
        setup_writer = 4,
        /// Moves every byte of transaction segment `source` behind `key`'s length, in one op:
        /// the source stays as a tombstone that answers a repeated merge (container_state).
        merge_segment = 5
    };
    kind type = kind::append;
    segment_key key;
    writer_id writer;
    int64_t first_event_number = 0;
    int64_t last_event_number = 0;
    uint32_t event_count = 0;
    uint32_t writer_epoch = 0;
    /// The number the client gave the block's last event (RPC writers), or no_event_number.
    int64_t client_last = no_event_number;
    std::string data;
    segment_key source;  ///< merge_segment: the transaction segment merged into `key`
    /// create_segment: above 0, a transaction segment of at most this many bytes.
    int64_t limit = 0;
};

struct segment_meta {
    int64_t length = 0;
    bool sealed = false;
    int64_t limit = 0;  ///< above 0: a transaction segment of at most this many bytes
    /// A transaction segment merged into `merged_into` (sealed, empty: its bytes were moved),
    /// where they begin at `merged_at`.
    bool merged = false;
    segment_key merged_into;
    int64_t merged_at = 0;
};

/// A change of the controller's metadata, as a Raft log entry (cluster mode) or applied at once
/// (standalone).
struct controller_command {
    enum class kind : uint8_t {
        create_scope = 1,
        delete_scope = 2,
        create_stream = 3,
        seal_stream = 4,
        delete_stream = 5,
        update_stream = 6,  ///< a new scaling policy (never rescales by itself)
        scale_begin = 7,    ///< validates a scale and records its intent and the new epoch
        scale_done = 8,     ///< predecessors sealed: their lengths, and the epoch moves
        // Reader groups (scope, name = the group): storage/reader_group.hpp.
        group_create = 9,  ///< `group`, at `now_ms`
        group_delete = 10,
        group_join = 11,        ///< `sync.reader` joins
        group_sync = 12,        ///< `sync` from a reader
        group_leave = 13,       ///< `sync` (final positions) from a reader that leaves
        group_offline = 14,     ///< `sync.reader` of `sync.session` missed its lease
        group_checkpoint = 15,  ///< `checkpoint` (`silent`) begins at `now_ms`
        group_reset = 16,       ///< to `cuts`, or to the completed checkpoint `checkpoint`
        // Transactions (scope, name = the stream; `txn`): storage/controller_txns.cpp.
        txn_begin = 17,   ///< for `writer`, with `lease_ms`, at `now_ms`
        txn_commit = 18,  ///< open -> committing (at `now_ms`: past its lifetime, aborting)
        txn_abort = 19,   ///< open -> aborting, for `reason`
        txn_done = 20,    ///< committing -> committed, aborting -> aborted, at `now_ms`
        /// The stream's first committing transactions need their epoch's segments: records the
        /// roll (two epochs, the batch) as the stream's transition, at `now_ms`.
        txn_roll = 21,
        /// The roll's merges are done and its segments sealed: `sealed_lengths`, the epoch moves
        /// to `target_epoch` and the batch is committed, at `now_ms`.
        txn_rolled = 22,
    };
    kind type = kind::create_scope;
    std::string scope;
    std::string name;
    uint32_t segments = 0;
    int64_t now_ms = 0;
    scaling_policy policy;      ///< create_stream, update_stream
    scale_request scale;        ///< scale_begin
    uint32_t target_epoch = 0;  ///< scale_done: the epoch the scale moves to
    std::vector<std::pair<segment_id, int64_t>> sealed_lengths;  ///< scale_done
    group_config group;                                          ///< group_create
    group_sync sync;                                             ///< group_join .. offline
    std::string checkpoint;                                      ///< group_checkpoint, group_reset
    bool silent = false;                                         ///< group_checkpoint
    std::vector<stream_cut> cuts;                                ///< group_reset
    uint32_t generation = 0;  ///< group_reset: the generation the caller saw
    uint64_t txn = 0;         ///< txn_commit, txn_abort, txn_done
    writer_id writer;         ///< txn_begin
    int64_t lease_ms = 0;     ///< txn_begin
    std::string reason;       ///< txn_abort ("abort", "lease", "lifetime")

    /// A command of `type` on scope/name (create_stream: of `segments`, created at `now_ms`).
    static controller_command of(kind type,
                                 std::string scope,
                                 std::string name = {},
                                 uint32_t segments = 0,
                                 int64_t now_ms = 0) {
        controller_command c;
        c.type = type;
        c.scope = std::move(scope);
        c.name = std::move(name);
        c.segments = segments;
        c.now_ms = now_ms;
        return c;
    }
};

/// One epoch of a stream's history as persisted: the segments' ranges and links, and the final
/// lengths of the segments this epoch replaced (`sealed`, once the scale that made it is done).
/// The `sealed_length` of `epoch.segments` is not persisted here.
struct epoch_record {
    epoch_info epoch;
    std::vector<std::pair<segment_id, int64_t>> sealed;
};

// Codecs for the persisted formats in records.capnp. Decoders never throw: a record that does
// not decode yields errc::malformed_message.
std::string encode_log_entry(const std::vector<container_op>& ops);
caf::expected<std::vector<container_op>> decode_log_entry(std::string_view bytes);

std::string encode_stream_record(const stream_record& rec);
caf::expected<stream_record> decode_stream_record(std::string_view bytes);

/// Commands that carry only what the first format had (scopes, seal, delete, create with a fixed
/// policy) keep its exact bytes: kind byte, u32-length scope and name, u32 segments, u64 time.
/// The others are the byte 0x80 and a capnp ControllerCommand.
std::string encode_controller_command(const controller_command& c);
caf::expected<controller_command> decode_controller_command(std::string_view bytes);

std::string encode_epoch_record(const epoch_record& rec);
caf::expected<epoch_record> decode_epoch_record(std::string_view bytes);

std::string encode_group_record(const reader_group_record& rec);
caf::expected<reader_group_record> decode_group_record(std::string_view bytes);

std::string encode_txn_record(const txn_record& rec);
caf::expected<txn_record> decode_txn_record(std::string_view bytes);

std::string encode_segment_meta(const segment_meta& meta);
caf::expected<segment_meta> decode_segment_meta(std::string_view bytes);

}  // namespace pravaha
