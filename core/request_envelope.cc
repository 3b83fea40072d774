#include "core/request_envelope.h"

#include <sodium.h>

#include <charconv>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <vector>

namespace pilot {

namespace {

constexpr std::string_view kEnvelopeDomain = "pilot-req-v1";
constexpr std::string_view kVerdictDomain = "pilot-verdict-v1";

bool lower_hex(std::string_view s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool audience_ok(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  return true;
}

std::string addr_hex(uint16_t network, uint32_t node) {
  char buf[13];
  std::snprintf(buf, sizeof buf, "%04x%08x", unsigned(network), unsigned(node));
  return buf;
}

bool parse_addr(std::string_view s, uint16_t& network, uint32_t& node) {
  if (!lower_hex(s, 12)) return false;
  unsigned long long v = 0;
  std::from_chars(s.data(), s.data() + 12, v, 16);
  network = uint16_t(v >> 32);
  node = uint32_t(v);
  return true;
}

// Digits only, no leading zero (but "0"), fits int64.
bool parse_decimal(std::string_view s, int64_t& out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// The inverse of split(): fields joined by '|'.
std::string join(std::initializer_list<std::string_view> fields) {
  std::string out;
  bool first = true;
  for (std::string_view f : fields) {
    if (!first) out += '|';
    out += f;
    first = false;
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t bar = s.find('|', start);
    parts.push_back(s.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start));
    if (bar == std::string_view::npos) return parts;
    start = bar + 1;
  }
}

bool bit(std::string_view s, bool& out) {
  if (s != "0" && s != "1") return false;
  out = s == "1";
  return true;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(sizeof h * 2);
  for (unsigned char c : h) out += digits[c >> 4], out += digits[c & 15];
  return out;
}

std::string RequestEnvelope::canonical() const {
  if (timestamp < 0 || !lower_hex(nonce, 16) || !lower_hex(body_hash, 64) || !audience_ok(audience)) return "";
  return join({kEnvelopeDomain, addr_hex(network, node), std::to_string(timestamp), nonce, body_hash, audience});
}

std::optional<RequestEnvelope> RequestEnvelope::parse(std::string_view s) {
  auto p = split(s);
  if (p.size() != 6 || p[0] != kEnvelopeDomain) return std::nullopt;
  RequestEnvelope e;
  if (!parse_addr(p[1], e.network, e.node) || !parse_decimal(p[2], e.timestamp)) return std::nullopt;
  e.nonce = p[3];
  e.body_hash = p[4];
  e.audience = p[5];
  if (e.canonical() != s) return std::nullopt;
  return e;
}

std::string Verdict::canonical() const {
  if (!lower_hex(envelope_hash, 64) || last_seen_unix < 0 || key_generation < 0 || verified_at < 0) return "";
  return join({kVerdictDomain, envelope_hash, addr_hex(network, node), valid ? "1" : "0", online ? "1" : "0",
               network_member ? "1" : "0", std::to_string(last_seen_unix), std::to_string(key_generation),
               std::to_string(verified_at)});
}

std::optional<Verdict> Verdict::parse(std::string_view s) {
  auto p = split(s);
  if (p.size() != 9 || p[0] != kVerdictDomain) return std::nullopt;
  Verdict v;
  v.envelope_hash = p[1];
  if (!parse_addr(p[2], v.network, v.node) || !bit(p[3], v.valid) || !bit(p[4], v.online) ||
      !bit(p[5], v.network_member) || !parse_decimal(p[6], v.last_seen_unix) ||
      !parse_decimal(p[7], v.key_generation) || !parse_decimal(p[8], v.verified_at))
    return std::nullopt;
  if (v.canonical() != s) return std::nullopt;
  return v;
}

}  // namespace pilot
