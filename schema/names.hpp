#pragma once

#include "schema/types.hpp"

#include <caf/error.hpp>

#include <string>
#include <string_view>

namespace pravaha {

/// Longest user-given scope or stream name (Pravega: 255 minus a 5-character reserved suffix).
constexpr size_t name_length_max = 250;

/// Checks Pravega's rules for user scope/stream names: 1..250 characters of [A-Za-z0-9.-].
/// Returns an `errc::invalid_name` error that says what is wrong, or an empty error.
caf::error validate_name(std::string_view kind, std::string_view name);

/// Checks a scaling policy (Pravega's rules): fixed has no target; by events or KiB a target
/// above 0; a factor of at least 2; at least 1 and at most stream_segments_max segments.
/// Returns an `errc::invalid_argument` error that names the field, or an empty error.
caf::error validate_policy(const scaling_policy& p);

/// "fixed", or e.g. "by events: 1000/s per segment, factor 2, at least 1 segment".
std::string to_string(const scaling_policy& p);

/// Splits "scope/stream" into its parts and validates both.
caf::error split_stream_name(std::string_view qualified, std::string& scope, std::string& stream);

}  // namespace pravaha
