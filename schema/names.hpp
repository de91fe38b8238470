#pragma once

#include <caf/error.hpp>

#include <string>
#include <string_view>

namespace pravaha {

/// Longest user-given scope or stream name (Pravega: 255 minus a 5-character reserved suffix).
constexpr size_t name_length_max = 250;

/// Checks Pravega's rules for user scope/stream names: 1..250 characters of [A-Za-z0-9.-].
/// Returns an `errc::invalid_name` error that says what is wrong, or an empty error.
caf::error validate_name(std::string_view kind, std::string_view name);

/// Splits "scope/stream" into its parts and validates both.
caf::error split_stream_name(std::string_view qualified, std::string& scope, std::string& stream);

}  // namespace pravaha
