// Operator log lines on stderr: `2026-11-22T10:00:00.123Z INFO  message`.
// printf-style so a line is built in one call and written with one write(2), which
// keeps lines from different threads whole.
#pragma once

namespace pilot {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_log_level(LogLevel level);
// "debug" | "info" | "warn" | "error"; false if unknown.
bool set_log_level(const char* name);
LogLevel log_level();
// "debug", "info", "warn", "error".
const char* log_level_name(LogLevel level);
bool log_enabled(LogLevel level);
void log_line(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

#define PILOT_LOG(level, ...)                                               \
  do {                                                                      \
    if (::pilot::log_enabled(level)) ::pilot::log_line(level, __VA_ARGS__); \
  } while (0)
#define LOG_DEBUG(...) PILOT_LOG(::pilot::LogLevel::kDebug, __VA_ARGS__)
#define LOG_INFO(...) PILOT_LOG(::pilot::LogLevel::kInfo, __VA_ARGS__)
#define LOG_WARN(...) PILOT_LOG(::pilot::LogLevel::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) PILOT_LOG(::pilot::LogLevel::kError, __VA_ARGS__)

}  // namespace pilot
