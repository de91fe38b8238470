#pragma once

// How `pravaha` and `pravaha-bench` run CLI11's parser, one way for both (the node's flags.cpp
// returns its outcome instead of printing it): no arguments → the help on stderr, exit code 2;
// --help → the help on stdout, 0; a usage error → one line and the help command to run on
// stderr, 2. Internal to the two binaries.

#include "schema/text.hpp"

#include <CLI/App.hpp>

#include <cstdio>
#include <functional>
#include <optional>
#include <string>

namespace pravaha {

/// What a usage error's line says, and the help command it names.
struct usage_words {
    std::string what;
    std::string help_command;
};

/// Parses `argv` into `app`. nullopt: parsed, go on; else the exit code, its output printed.
/// `explain` words a parse error (CLI11's message by default).
inline std::optional<int> parse_command_line(
    CLI::App& app,
    int argc,
    char** argv,
    const std::string& program,
    const std::function<usage_words(const CLI::ParseError&)>& explain) {
    if (argc <= 1) {
        std::fputs(app.help().c_str(), stderr);
        return 2;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::fputs(app.help().c_str(), stdout);
        return 0;
    } catch (const CLI::ParseError& e) {
        auto words = explain(e);
        std::fputs(usage_failure(program, words.what, words.help_command).c_str(), stderr);
        return 2;
    }
    return std::nullopt;
}

}  // namespace pravaha
