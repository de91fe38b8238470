#include "schema/names.hpp"

#include "schema/errc.hpp"

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

}  // namespace pravaha
