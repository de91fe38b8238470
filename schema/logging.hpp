#pragma once

#include <fmt/format.h>
#include <spdlog/logger.h>

#include <memory>

namespace pravaha {

/// The modules that have a logger (configure_logging sets them all).
inline constexpr const char* log_modules[] = {"schema",  "storage", "actors",
                                              "runtime", "client",  "sim"};

/// The named logger of a module ("storage", "actors", "runtime", "client", ...). Runtime (or a
/// test or sim main) configures sinks and levels with `configure_logging`; before that, a module
/// logger writes warnings and errors to stderr.
std::shared_ptr<spdlog::logger> module_log(const char* module);

/// Creates every module logger writing to stderr at `level` ("trace".."critical", "off").
/// Returns false for an unknown level name.
bool configure_logging(const std::string& level);

/// Called with the assertion's text ("file:line condition=(...) message") after it is logged and
/// before the process aborts. For programs that must report it elsewhere, e.g. a pravaha-sim
/// worker process, whose parent otherwise sees only a dead child. Not thread-safe: set it once
/// at start-up.
using assert_hook = void (*)(const std::string& text);
void set_assert_hook(assert_hook hook);

[[noreturn]] void assert_failed(const char* file,
                                int line,
                                const char* cond,
                                const std::string& msg);

}  // namespace pravaha

/// On in every build: logs file:line, the condition and the message at critical level, flushes
/// every logger and aborts. For programmer errors only; bad input becomes an errc.
#define PRAVAHA_ASSERT(cond, ...)                                                          \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            ::pravaha::assert_failed(__FILE__, __LINE__, #cond, fmt::format(__VA_ARGS__)); \
        }                                                                                  \
    } while (false)
