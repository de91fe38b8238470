#include "client/actor_api.hpp"

#include "runtime/transport/transport.hpp"

#include <caf/actor_system_config.hpp>

namespace pravaha::client {

void add_actor_api_types(caf::actor_system_config& cfg) {
    // add_message_type<T> also registers std::vector<T> as "std::vector<name>".
    transport::add_node_types(cfg);
    cfg.add_message_type<event>("pravaha.event");
    cfg.add_message_type<stream_position>("pravaha.stream_position");
    cfg.add_message_type<event_ack>("pravaha.event_ack");
    cfg.add_message_type<event_to_write>("pravaha.event_to_write");
    cfg.add_message_type<batch_ack>("pravaha.batch_ack");
    cfg.add_message_type<writer_options>("pravaha.writer_options");
    cfg.add_message_type<reader_options>("pravaha.reader_options");
    cfg.add_message_type<group_reader_options>("pravaha.group_reader_options");
    cfg.add_message_type<event_sink_actor>("pravaha.event_sink_actor");
    cfg.add_message_type<writer_actor>("pravaha.writer_actor");
    cfg.add_message_type<reader_actor>("pravaha.reader_actor");
    cfg.add_message_type<stream_manager_actor>("pravaha.stream_manager_actor");
}

}  // namespace pravaha::client
