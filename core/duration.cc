#include "core/duration.h"

#include <cmath>

namespace pilot {

namespace {

std::optional<int64_t> unit_ns(std::string_view u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "\xC2\xB5s" || u == "\xCE\xBCs") return 1000;
  if (u == "ms") return 1000000;
  if (u == "s") return 1000000000;
  if (u == "m") return int64_t{60} * 1000000000;
  if (u == "h") return int64_t{3600} * 1000000000;
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> parse_go_duration(std::string_view s) {
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    long double v = 0;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0'), digits = true;
    if (i < s.size() && s[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') v += (s[i++] - '0') * scale, scale /= 10, digits = true;
    }
    if (!digits) return std::nullopt;
    size_t j = i;
    while (j < s.size() && !(s[j] >= '0' && s[j] <= '9') && s[j] != '.') ++j;
    auto unit = unit_ns(s.substr(i, j - i));
    if (!unit) return std::nullopt;
    total += v * static_cast<long double>(*unit);
    s.remove_prefix(j);
  }
  if (total > 9.2e18L) return std::nullopt;
  int64_t ns = static_cast<int64_t>(std::llround(total));
  return neg ? -ns : ns;
}

std::string format_duration(int64_t ns) {
  if (ns == 0) return "0s";
  std::string out = ns < 0 ? "-" : "";
  uint64_t v = ns < 0 ? uint64_t(-(ns + 1)) + 1 : uint64_t(ns);
  const uint64_t kSec = 1000000000;
  if (v % kSec != 0) {
    if (v % 1000000 == 0) return out + std::to_string(v / 1000000) + "ms";
    if (v % 1000 == 0) return out + std::to_string(v / 1000) + "us";
    return out + std::to_string(v) + "ns";
  }
  uint64_t s = v / kSec;
  if (s >= 3600) out += std::to_string(s / 3600) + "h", s %= 3600;
  if (s >= 60) out += std::to_string(s / 60) + "m", s %= 60;
  if (s) out += std::to_string(s) + "s";
  return out;
}

}  // namespace pilot
