#pragma once

/// The typed request interfaces that cross a process boundary: implemented in `actors/`,
/// published by `runtime/`, called by `client/`. Defined once here so that every side agrees.
/// (Kept out of `schema.hpp` because CAF's typed-actor headers are heavier than the rest.)

#include "schema/atoms.hpp"
#include "schema/types.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <string>
#include <vector>

namespace pravaha {

/// The data path of a segment container.
/// `setup_writer_atom` opens a new session of a writer id on a segment (Pravega's SetupAppend
/// plus Kafka's producer epoch): it answers the last stored event number of that id and a new
/// epoch; appends of older sessions are refused from then on (errc::writer_fenced). The last
/// argument is the session the writer object had (0: none yet, take over); a writer whose
/// session was superseded meanwhile is refused instead (a zombie cannot take over again).
using segment_store_api = caf::typed_actor<
    caf::replies_to<append_atom, append_block>::with<append_ack>,
    caf::replies_to<read_atom, read_request>::with<read_result>,
    caf::replies_to<setup_writer_atom, segment_key, writer_id, uint32_t>::with<append_ack>>;

/// Scopes and streams.
using controller_api = caf::typed_actor<
    caf::replies_to<create_scope_atom, std::string>::with<bool>,
    caf::replies_to<delete_scope_atom, std::string>::with<bool>,
    caf::replies_to<list_scopes_atom>::with<std::vector<std::string>>,
    caf::replies_to<create_stream_atom, std::string, std::string, uint32_t>::with<stream_record>,
    caf::replies_to<list_streams_atom, std::string>::with<std::vector<std::string>>,
    caf::replies_to<get_stream_atom, std::string, std::string>::with<stream_record>,
    caf::replies_to<seal_stream_atom, std::string, std::string>::with<stream_record>,
    caf::replies_to<delete_stream_atom, std::string, std::string>::with<bool>,
    caf::replies_to<stream_info_atom, std::string, std::string>::with<stream_info>>;

/// What a node offers clients: scopes and streams, and the handle of its segment store for the
/// data path (clients then talk to the container directly, without a hop through the node).
using node_api =
    controller_api::extend<caf::replies_to<get_segment_store_atom>::with<segment_store_api>>;

}  // namespace pravaha
