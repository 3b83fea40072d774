#include "core/address.h"

#include <cstdio>

namespace pilot {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Exactly four hex digits.
std::optional<uint16_t> parse_hex16(std::string_view s) {
  if (s.size() != 4) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    int d = hex_value(c);
    if (d < 0) return std::nullopt;
    v = v * 16 + static_cast<uint32_t>(d);
  }
  return static_cast<uint16_t>(v);
}

// 1-5 decimal digits, no sign, no leading zero (so one network has one text form).
std::optional<uint16_t> parse_dec16(std::string_view s) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > 0xFFFF) return std::nullopt;
  return static_cast<uint16_t>(v);
}

}  // namespace

std::string Address::to_string() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%u:%04X.%04X.%04X", network, network, node >> 16, node & 0xFFFFu);
  return buf;
}

std::optional<Address> Address::parse(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(colon + 1);
  // NNNN.HHHH.LLLL
  if (rest.size() != 14 || rest[4] != '.' || rest[9] != '.') return std::nullopt;
  auto dec = parse_dec16(text.substr(0, colon));
  auto net = parse_hex16(rest.substr(0, 4));
  auto hi = parse_hex16(rest.substr(5, 4));
  auto lo = parse_hex16(rest.substr(10, 4));
  if (!dec || !net || !hi || !lo || *dec != *net) return std::nullopt;
  return Address{*net, (static_cast<uint32_t>(*hi) << 16) | *lo};
}

}  // namespace pilot
