#include "schema/text.hpp"

namespace pravaha {

std::string wrap_words(std::string_view text, size_t width) {
    std::string out;
    size_t line = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find(' ', pos);
        auto word =
            text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        if (line > 0 && line + 1 + word.size() > width) {
            out += '\n';
            line = 0;
        } else if (line > 0) {
            out += ' ';
            ++line;
        }
        out += word;
        line += word.size();
        pos = end == std::string_view::npos ? text.size() : end + 1;
    }
    return out;
}

std::string usage_failure(std::string_view program,
                          std::string_view message,
                          std::string_view help_command) {
    std::string out(program);
    out += ": ";
    out += message;
    if (out.back() != '\n') {
        out += '\n';
    }
    out += "Run '";
    out += help_command;
    out += "' for more information.\n";
    return out;
}

}  // namespace pravaha
