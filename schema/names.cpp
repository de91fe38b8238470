#include "schema/names.hpp"

#include "schema/errc.hpp"

#include <fmt/format.h>

#include <string>

namespace pravaha {

caf::error validate_name(std::string_view kind, std::string_view name) {
    if (name.empty()) {
        return caf::make_error(errc::invalid_name, std::string(kind) + " name is empty");
    }
    if (name.size() > name_length_max) {
        return caf::make_error(errc::invalid_name, std::string(kind) + " name is longer than " +
                                                       std::to_string(name_length_max) +
                                                       " characters");
    }
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-';
        if (!ok) {
            return caf::make_error(errc::invalid_name,
                                   std::string(kind) + " name '" + std::string(name) +
                                       "' may contain only letters, digits, '.' and '-'");
        }
    }
    return {};
}

caf::error split_stream_name(std::string_view qualified, std::string& scope, std::string& stream) {
    auto slash = qualified.find('/');
    if (slash == std::string_view::npos) {
        return caf::make_error(errc::invalid_name,
                               "expected SCOPE/STREAM, got '" + std::string(qualified) + "'");
    }
    if (auto err = validate_name("scope", qualified.substr(0, slash))) {
        return err;
    }
    if (auto err = validate_name("stream", qualified.substr(slash + 1))) {
        return err;
    }
    scope = std::string(qualified.substr(0, slash));
    stream = std::string(qualified.substr(slash + 1));
    return {};
}

caf::error validate_policy(const scaling_policy& p) {
    auto bad = [](std::string what) {
        return caf::make_error(errc::invalid_argument, std::move(what));
    };
    switch (p.type) {
        case scale_type::fixed:
            if (p.target != 0) {
                return bad("a fixed policy has no target");
            }
            break;
        case scale_type::by_events:
        case scale_type::by_kbytes:
            if (p.target == 0) {
                return bad("the scaling target must be above 0");
            }
            break;
        default:
            return bad(fmt::format("unknown scaling policy type {}", static_cast<int>(p.type)));
    }
    if (p.factor < 2) {
        return bad(fmt::format("the scale factor must be at least 2, not {}", p.factor));
    }
    if (p.min_segments < 1 || p.min_segments > stream_segments_max) {
        return bad(fmt::format("the minimum number of segments must be 1..{}, not {}",
                               stream_segments_max, p.min_segments));
    }
    return caf::error{};
}

std::string to_string(const scaling_policy& p) {
    if (p.type == scale_type::fixed) {
        return "fixed";
    }
    return fmt::format("by {}: {}/s per segment, factor {}, at least {} segment{}",
                       p.type == scale_type::by_events ? "events" : "KiB", p.target, p.factor,
                       p.min_segments, p.min_segments == 1 ? "" : "s");
}

}  // namespace pravaha
