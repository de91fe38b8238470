#include "schema/types.hpp"

#include "schema/atoms.hpp"
#include "schema/errc.hpp"
#include "schema/group_types.hpp"
#include "schema/raft_types.hpp"
#include "schema/txn_types.hpp"

#include <caf/actor_system_config.hpp>
#include <fmt/format.h>

namespace pravaha {

const char* to_string(stream_state s) {
    return s == stream_state::sealed ? "sealed" : "active";
}

std::string to_string(segment_id id) {
    return fmt::format("{}.{}", id.epoch(), id.number());
}

std::string to_string(const segment_key& key) {
    return fmt::format("{}:{}", key.stream.value, to_string(key.segment));
}

std::string to_string(const writer_id& id) {
    return fmt::format("{:016x}{:016x}", id.hi, id.lo);
}

void frame_event(std::string& out, std::string_view payload) {
    char header[event_header_bytes] = {0, 0, 0, 0, 0, 0, 0, 0};
    auto n = static_cast<uint32_t>(payload.size());
    header[4] = static_cast<char>((n >> 24) & 0xff);
    header[5] = static_cast<char>((n >> 16) & 0xff);
    header[6] = static_cast<char>((n >> 8) & 0xff);
    header[7] = static_cast<char>(n & 0xff);
    out.append(header, sizeof(header));
    out.append(payload.data(), payload.size());
}

std::optional<std::string_view> next_event(std::string_view data, size_t& pos) {
    if (pos > data.size() || data.size() - pos < event_header_bytes) {
        return std::nullopt;
    }
    auto b = [&](size_t i) {
        return static_cast<uint32_t>(static_cast<unsigned char>(data[pos + i]));
    };
    if (b(0) != 0 || b(1) != 0 || b(2) != 0 || b(3) != 0) {
        return std::nullopt;  // only type 0 (EVENT) exists
    }
    uint32_t n = (b(4) << 24) | (b(5) << 16) | (b(6) << 8) | b(7);
    if (n > event_bytes_max || data.size() - pos - event_header_bytes < n) {
        return std::nullopt;
    }
    auto payload = data.substr(pos + event_header_bytes, n);
    pos += event_header_bytes + n;
    return payload;
}

void add_message_types(caf::actor_system_config& cfg) {
    cfg.add_message_type<segment_id>("pravaha.segment_id");
    cfg.add_message_type<raft::message>("pravaha.raft.message");
    cfg.add_message_type<raft::group_status>("pravaha.raft.group_status");
    cfg.add_message_type<std::vector<raft::group_status>>("pravaha.raft.group_status_list");
    cfg.add_message_type<raft::cluster_info>("pravaha.raft.cluster_info");
    cfg.add_message_type<stream_uid>("pravaha.stream_uid");
    cfg.add_message_type<segment_key>("pravaha.segment_key");
    cfg.add_message_type<writer_id>("pravaha.writer_id");
    cfg.add_message_type<scaling_policy>("pravaha.scaling_policy");
    cfg.add_message_type<key_range>("pravaha.key_range");
    cfg.add_message_type<segment_range>("pravaha.segment_range");
    cfg.add_message_type<scale_request>("pravaha.scale_request");
    cfg.add_message_type<scale_transition>("pravaha.scale_transition");
    cfg.add_message_type<history_segment>("pravaha.history_segment");
    cfg.add_message_type<epoch_info>("pravaha.epoch_info");
    cfg.add_message_type<std::vector<epoch_info>>("std::vector<pravaha.epoch_info>");
    cfg.add_message_type<scale_result>("pravaha.scale_result");
    cfg.add_message_type<successor>("pravaha.successor");
    cfg.add_message_type<segment_successors>("pravaha.segment_successors");
    cfg.add_message_type<cut_segment>("pravaha.cut_segment");
    cfg.add_message_type<stream_cut>("pravaha.stream_cut");
    cfg.add_message_type<std::vector<stream_cut>>("std::vector<pravaha.stream_cut>");
    cfg.add_message_type<group_stream>("pravaha.group_stream");
    cfg.add_message_type<group_config>("pravaha.group_config");
    cfg.add_message_type<group_offset>("pravaha.group_offset");
    cfg.add_message_type<group_assigned>("pravaha.group_assigned");
    cfg.add_message_type<group_sync>("pravaha.group_sync");
    cfg.add_message_type<group_assignment>("pravaha.group_assignment");
    cfg.add_message_type<group_checkpoint>("pravaha.group_checkpoint");
    cfg.add_message_type<group_reader_info>("pravaha.group_reader_info");
    cfg.add_message_type<group_info>("pravaha.group_info");
    cfg.add_message_type<txn_request>("pravaha.txn_request");
    cfg.add_message_type<txn_segment>("pravaha.txn_segment");
    cfg.add_message_type<txn_record>("pravaha.txn_record");
    cfg.add_message_type<std::vector<txn_record>>("std::vector<pravaha.txn_record>");
    cfg.add_message_type<stream_record>("pravaha.stream_record");
    cfg.add_message_type<segment_status>("pravaha.segment_status");
    cfg.add_message_type<stream_info>("pravaha.stream_info");
    cfg.add_message_type<segment_load>("pravaha.segment_load");
    cfg.add_message_type<append_block>("pravaha.append_block");
    cfg.add_message_type<append_ack>("pravaha.append_ack");
    cfg.add_message_type<read_request>("pravaha.read_request");
    cfg.add_message_type<read_result>("pravaha.read_result");
    cfg.add_message_type<std::vector<std::string>>("std::vector<std::string>");
    cfg.add_error_category(caf::atom("pravaha"),
                           [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                               std::string out = "pravaha.";
                               out += to_string(static_cast<errc>(code));
                               if (!ctx.empty() && ctx.match_elements<std::string>()) {
                                   out += ": ";
                                   out += ctx.get_as<std::string>(0);
                               }
                               return out;
                           });
}

}  // namespace pravaha

namespace pravaha::raft {

const char* to_string(role r) {
    switch (r) {
        case role::follower:
            return "follower";
        case role::pre_candidate:
            return "pre_candidate";
        case role::candidate:
            return "candidate";
        case role::leader:
            return "leader";
    }
    return "unknown";
}

const char* to_string(msg_type t) {
    switch (t) {
        case msg_type::pre_vote:
            return "pre_vote";
        case msg_type::pre_vote_resp:
            return "pre_vote_resp";
        case msg_type::vote:
            return "vote";
        case msg_type::vote_resp:
            return "vote_resp";
        case msg_type::append:
            return "append";
        case msg_type::append_resp:
            return "append_resp";
        case msg_type::snapshot:
            return "snapshot";
        case msg_type::probe_term:
            return "probe_term";
        case msg_type::probe_term_resp:
            return "probe_term_resp";
        case msg_type::snapshot_resp:
            return "snapshot_resp";
        case msg_type::timeout_now:
            return "timeout_now";
    }
    return "unknown";
}

}  // namespace pravaha::raft
