#pragma once

// Text the binaries print for people: help laid out in columns and usage errors in one form.

#include <cstddef>
#include <string>
#include <string_view>

namespace pravaha {

/// `text` with line breaks between words so that no line is longer than `width` (a word longer
/// than `width` stays whole on its own line).
std::string wrap_words(std::string_view text, size_t width);

/// A usage error as every binary prints it on stderr before exiting with code 2:
/// "PROGRAM: MESSAGE" and a line naming `help_command` (for example "pravaha stream --help").
std::string usage_failure(std::string_view program,
                          std::string_view message,
                          std::string_view help_command);

}  // namespace pravaha
