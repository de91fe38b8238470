#include "schema/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <mutex>

namespace pravaha {

namespace {

std::mutex& log_mutex() {
    static std::mutex m;
    return m;
}

std::shared_ptr<spdlog::logger> make_logger(const char* name, spdlog::level::level_enum level) {
    auto logger = spdlog::stderr_color_mt(name);
    logger->set_level(level);
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %n %v");
    return logger;
}

}  // namespace

std::shared_ptr<spdlog::logger> module_log(const char* module) {
    if (auto l = spdlog::get(module)) {
        return l;
    }
    std::lock_guard<std::mutex> guard(log_mutex());
    if (auto l = spdlog::get(module)) {
        return l;
    }
    return make_logger(module, spdlog::level::warn);
}

bool configure_logging(const std::string& level) {
    auto lvl = spdlog::level::from_str(level);
    if (lvl == spdlog::level::off && level != "off") {
        return false;
    }
    std::lock_guard<std::mutex> guard(log_mutex());
    for (const char* name : log_modules) {
        if (auto l = spdlog::get(name)) {
            l->set_level(lvl);
        } else {
            make_logger(name, lvl);
        }
    }
    return true;
}

namespace {

assert_hook current_assert_hook = nullptr;

}  // namespace

void set_assert_hook(assert_hook hook) {
    current_assert_hook = hook;
}

void assert_failed(const char* file, int line, const char* cond, const std::string& msg) {
    auto text = fmt::format("{}:{} condition=({}) {}", file, line, cond, msg);
    module_log("schema")->critical("assertion failed file={}", text);
    spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
    if (current_assert_hook != nullptr) {
        current_assert_hook(text);
    }
    std::abort();
}

}  // namespace pravaha
