#include "core/logging.h"

#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

#include "core/log_format.h"
#include "core/utf8.h"

namespace pilot {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kText)};
const char* kNames[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

void append_time(std::string& out, long long unix_ns) {
  const time_t s = static_cast<time_t>(unix_ns / 1000000000);
  tm t;
  gmtime_r(&s, &t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                t.tm_hour, t.tm_min, t.tm_sec, (unix_ns % 1000000000) / 1000000);
  out += buf;
}

// JSON string body: quotes, backslashes and control bytes escaped, and every byte
// that is not part of well-formed UTF-8 replaced by U+FFFD. Messages quote peers'
// strings and may be cut at the line limit in the middle of a character; a log
// shipper refuses a line that is not valid UTF-8, and the whole line would be lost.
void append_json_escaped(std::string& out, const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = utf8_sequence(s, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(s, i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char u[8];
          std::snprintf(u, sizeof u, "\\u%04x", c);
          out += u;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
}
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

void set_log_format(LogFormat format) { g_format = static_cast<int>(format); }

bool set_log_format(const char* name) {
  if (std::strcmp(name, "text") == 0) return set_log_format(LogFormat::kText), true;
  if (std::strcmp(name, "json") == 0) return set_log_format(LogFormat::kJson), true;
  return false;
}

LogFormat log_format() { return static_cast<LogFormat>(g_format.load(std::memory_order_relaxed)); }

std::string format_log_line(LogFormat format, LogLevel level, long long unix_ns, const std::string& msg) {
  std::string line;
  line.reserve(msg.size() + 64);
  if (format == LogFormat::kJson) {
    line += "{\"time\":\"";
    append_time(line, unix_ns);
    line += "\",\"level\":\"";
    line += log_level_name(level);
    line += "\",\"msg\":\"";
    append_json_escaped(line, msg);
    line += "\"}\n";
  } else {
    append_time(line, unix_ns);
    line += ' ';
    line += kNames[static_cast<int>(level) & 3];
    line += ' ';
    line += msg;
    line += '\n';
  }
  return line;
}

void log_line(LogLevel level, const char* fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  int m = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  const size_t len = std::min<size_t>(static_cast<size_t>(m < 0 ? 0 : m), sizeof buf - 1);
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  const std::string line = format_log_line(
      log_format(), level, static_cast<long long>(ts.tv_sec) * 1000000000 + ts.tv_nsec, std::string(buf, len));
  (void)!::write(2, line.data(), line.size());  // one write: lines from threads stay whole
}

}  // namespace pilot
