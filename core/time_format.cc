#include "core/time_format.h"

#include <chrono>
#include <cstdio>

namespace pilot {
namespace {

constexpr int64_t kNsPerSecond = 1000000000;
constexpr int64_t kSecondsPerDay = 86400;

struct Civil {
  int year = 0;
  unsigned month = 0, day = 0;
  int hour = 0, minute = 0, second = 0;
  int64_t nanos = 0;  // 0 .. 999999999
};

// Floor division, so times before 1970 land on the right calendar day. Written so
// that no intermediate product can overflow for any int64 input.
Civil to_civil(int64_t unix_ns) {
  int64_t secs = unix_ns / kNsPerSecond;
  int64_t nanos = unix_ns % kNsPerSecond;
  if (nanos < 0) nanos += kNsPerSecond, --secs;
  int64_t days = secs / kSecondsPerDay;
  int64_t sod = secs % kSecondsPerDay;
  if (sod < 0) sod += kSecondsPerDay, --days;
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  Civil c;
  c.year = static_cast<int>(ymd.year());
  c.month = static_cast<unsigned>(ymd.month());
  c.day = static_cast<unsigned>(ymd.day());
  c.hour = static_cast<int>(sod / 3600);
  c.minute = static_cast<int>(sod / 60 % 60);
  c.second = static_cast<int>(sod % 60);
  c.nanos = nanos;
  return c;
}

std::string format(int64_t unix_ns, bool with_fraction) {
  const Civil c = to_civil(unix_ns);
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", c.year, c.month, c.day, c.hour, c.minute,
                        c.second);
  std::string out(buf, static_cast<size_t>(n));
  if (with_fraction && c.nanos != 0) {
    std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(c.nanos));
    std::string frac(buf);
    while (frac.back() == '0') frac.pop_back();
    out += frac;
  }
  out += 'Z';
  return out;
}

// Reads exactly `width` decimal digits at text[pos].
bool digits(std::string_view text, size_t pos, size_t width, int& out) {
  if (pos + width > text.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (text[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

std::string format_rfc3339_nano(int64_t unix_ns) { return format(unix_ns, true); }

std::string format_rfc3339(int64_t unix_ns) { return format(unix_ns, false); }

std::optional<int64_t> parse_rfc3339(std::string_view t) {
  // 0123456789012345678
  // YYYY-MM-DDTHH:MM:SS
  int year, month, day, hour, minute, second;
  if (t.size() < 20) return std::nullopt;
  if (!digits(t, 0, 4, year) || t[4] != '-' || !digits(t, 5, 2, month) || t[7] != '-' || !digits(t, 8, 2, day) ||
      (t[10] != 'T' && t[10] != 't') || !digits(t, 11, 2, hour) || t[13] != ':' || !digits(t, 14, 2, minute) ||
      t[16] != ':' || !digits(t, 17, 2, second))
    return std::nullopt;
  size_t pos = 19;
  int64_t nanos = 0;
  if (t[pos] == '.') {
    ++pos;
    size_t n = 0;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
      if (++n > 9) return std::nullopt;
      nanos = nanos * 10 + (t[pos++] - '0');
    }
    if (n == 0) return std::nullopt;
    for (; n < 9; ++n) nanos *= 10;
  }
  int64_t offset_seconds = 0;
  if (pos >= t.size()) return std::nullopt;
  if (t[pos] == 'Z' || t[pos] == 'z') {
    ++pos;
  } else if (t[pos] == '+' || t[pos] == '-') {
    int oh, om;
    if (!digits(t, pos + 1, 2, oh) || pos + 3 >= t.size() || t[pos + 3] != ':' || !digits(t, pos + 4, 2, om) ||
        oh > 23 || om > 59)
      return std::nullopt;
    offset_seconds = (t[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != t.size()) return std::nullopt;

  const std::chrono::year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                                        std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  const int64_t days = std::chrono::sys_days{ymd}.time_since_epoch().count();
  // Years 0000..9999 keep this well inside int64 seconds; only the ns step can overflow.
  const int64_t secs = days * kSecondsPerDay + hour * 3600 + minute * 60 + second - offset_seconds;
  // Borrow a second for a negative time with a fraction, so that the very first
  // representable instant (1677-09-21T00:12:43.145224192Z) does not overflow midway.
  int64_t whole = secs, frac = nanos;
  if (whole < 0 && frac > 0) whole += 1, frac -= kNsPerSecond;
  int64_t ns;
  if (__builtin_mul_overflow(whole, kNsPerSecond, &ns) || __builtin_add_overflow(ns, frac, &ns)) return std::nullopt;
  return ns;
}

}  // namespace pilot
