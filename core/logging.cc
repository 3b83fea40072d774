#include "core/logging.h"

#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace pilot {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
const char* kNames[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
}  // namespace

void set_log_level(LogLevel level) { g_level = static_cast<int>(level); }

bool set_log_level(const char* name) {
  const char* names[] = {"debug", "info", "warn", "error"};
  for (int i = 0; i < 4; ++i)
    if (std::strcmp(name, names[i]) == 0) {
      g_level = i;
      return true;
    }
  return false;
}

LogLevel log_level() { return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed)); }

const char* log_level_name(LogLevel level) {
  static const char* names[] = {"debug", "info", "warn", "error"};
  return names[static_cast<int>(level) & 3];
}

bool log_enabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

void log_line(LogLevel level, const char* fmt, ...) {
  char buf[2048];
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  int n =
      std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ", t.tm_year + 1900, t.tm_mon + 1,
                    t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000, kNames[static_cast<int>(level)]);
  va_list ap;
  va_start(ap, fmt);
  int m = std::vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
  va_end(ap);
  size_t len = static_cast<size_t>(n) + std::min<size_t>(static_cast<size_t>(m < 0 ? 0 : m), sizeof buf - n - 2);
  buf[len++] = '\n';
  (void)!::write(2, buf, len);
}

}  // namespace pilot
