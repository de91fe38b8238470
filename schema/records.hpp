#pragma once

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
        setup_writer = 4
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
};

struct segment_meta {
    int64_t length = 0;
    bool sealed = false;
};

// Codecs for the persisted formats in records.capnp. Decoders never throw: a record that does
// not decode yields errc::malformed_message.
std::string encode_log_entry(const std::vector<container_op>& ops);
caf::expected<std::vector<container_op>> decode_log_entry(std::string_view bytes);

std::string encode_stream_record(const stream_record& rec);
caf::expected<stream_record> decode_stream_record(std::string_view bytes);

std::string encode_segment_meta(const segment_meta& meta);
caf::expected<segment_meta> decode_segment_meta(std::string_view bytes);

}  // namespace pravaha
