// A UDP endpoint as the beacon stores it: 16-byte IP + port, 18 bytes, no family
// field. IPv4 lives in the IPv4-mapped form ::ffff:a.b.c.d — exactly what a dual-stack
// `[::]` socket reports for an IPv4 peer — so "1.2.3.4:5" seen through an AF_INET
// socket and through a dual-stack one is the same key (spec §15 item 8), and the
// 500,000-entry node table does not pay for sockaddr_storage (128 bytes).
//
// Pure value type: conversions to and from sockaddr are plain byte copies, no I/O.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sockaddr;
struct sockaddr_storage;

namespace pilot::beacon {

using IpBytes = std::array<uint8_t, 16>;

struct Endpoint {
  IpBytes ip{};
  uint16_t port = 0;

  static Endpoint v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port);
  static Endpoint v6(const IpBytes& ip, uint16_t port) { return {ip, port}; }

  bool is_v4() const;  // IPv4-mapped
  // "1.2.3.4:5" for IPv4 (mapped or not), "[2001:db8::1]:5" otherwise.
  std::string to_string() const;
  // Numeric "a.b.c.d:port" or "[v6]:port" (no names, no zones); port 0..65535.
  static std::optional<Endpoint> parse(std::string_view text);

  // AF_INET / AF_INET6 (IPv4-mapped IPv6 is folded to the IPv4 form); nullopt for
  // anything else.
  static std::optional<Endpoint> from_sockaddr(const sockaddr* sa);
  // Writes the address for a socket of `family` (AF_INET or AF_INET6) and returns
  // its length, or 0 when this endpoint cannot be reached through such a socket (an
  // IPv6 destination on an IPv4 socket). On AF_INET6 IPv4 becomes ::ffff:a.b.c.d.
  unsigned to_sockaddr(int family, sockaddr_storage& out) const;

  auto operator<=>(const Endpoint&) const = default;
};

// IP text ("1.2.3.4", "::1", "::ffff:1.2.3.4" folds to IPv4); nullopt if not numeric.
std::optional<IpBytes> parse_ip(std::string_view text);
std::string ip_to_string(const IpBytes& ip);
inline bool ip_is_v4(const IpBytes& ip) {
  for (int i = 0; i < 10; ++i)
    if (ip[i] != 0) return false;
  return ip[10] == 0xff && ip[11] == 0xff;
}

}  // namespace pilot::beacon
