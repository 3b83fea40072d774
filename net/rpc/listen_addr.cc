#include "net/rpc/listen_addr.h"

#include <arpa/inet.h>

#include <cstring>

namespace pilot::rpc {

std::optional<HostPort> split_host_port(std::string_view s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = s.substr(0, colon);
  std::string_view port = s.substr(colon + 1);
  if (!host.empty() && host.front() == '[') {
    if (host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
    if (host.find_first_of("[]") != std::string_view::npos) return std::nullopt;
  } else if (host.find_first_of(":[]") != std::string_view::npos) {
    return std::nullopt;  // "too many colons": an IPv6 host needs brackets
  }
  if (port.find_first_of("[]") != std::string_view::npos) return std::nullopt;
  return HostPort{std::string(host), std::string(port)};
}

std::string join_host_port(std::string_view host, std::string_view port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  std::string out;
  out.reserve(host.size() + port.size() + 3);
  if (v6) out += '[';
  out.append(host);
  if (v6) out += ']';
  out += ':';
  out.append(port);
  return out;
}

namespace {

// An address nobody outside this host or site can reach.
bool unroutable_literal(const std::string& host) {
  std::string h = host;
  if (auto pct = h.find('%'); pct != std::string::npos) h.resize(pct);  // fe80::1%eth0
  uint8_t b[16];
  if (inet_pton(AF_INET, h.c_str(), b) == 1) {
  v4:
    if (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0) return true;  // unspecified
    if (b[0] == 10 || b[0] == 127) return true;                         // private, loopback
    if (b[0] == 172 && (b[1] & 0xF0) == 16) return true;                // 172.16/12
    if (b[0] == 192 && b[1] == 168) return true;                        // 192.168/16
    if (b[0] == 169 && b[1] == 254) return true;                        // link-local
    return false;
  }
  if (inet_pton(AF_INET6, h.c_str(), b) != 1) return false;  // a DNS name: kept
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (std::memcmp(b, kMapped, 12) == 0) {  // ::ffff:a.b.c.d counts as IPv4, as in Go
    std::memmove(b, b + 12, 4);
    goto v4;
  }
  static const uint8_t kZero[16] = {};
  if (std::memcmp(b, kZero, 16) == 0) return true;                // ::
  if (std::memcmp(b, kZero, 15) == 0 && b[15] == 1) return true;  // ::1
  if ((b[0] & 0xFE) == 0xFC) return true;                         // fc00::/7
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) return true;         // fe80::/10
  return false;
}

}  // namespace

std::string sanitize_listen_addr(std::string_view listen_addr, std::string_view peer_ip, uint16_t peer_port) {
  if (listen_addr.empty()) return join_host_port(peer_ip, std::to_string(peer_port));
  auto hp = split_host_port(listen_addr);
  if (!hp) return std::string(listen_addr);
  if (hp->host.empty() || unroutable_literal(hp->host)) return join_host_port(peer_ip, hp->port);
  return std::string(listen_addr);
}

}  // namespace pilot::rpc
