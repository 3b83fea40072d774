#include "net/beacon/endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace pilot::beacon {

Endpoint Endpoint::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  Endpoint e;
  e.ip[10] = e.ip[11] = 0xff;
  e.ip[12] = a;
  e.ip[13] = b;
  e.ip[14] = c;
  e.ip[15] = d;
  e.port = port;
  return e;
}

bool Endpoint::is_v4() const { return ip_is_v4(ip); }

std::optional<IpBytes> parse_ip(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  IpBytes ip{};
  if (::inet_pton(AF_INET, buf, ip.data() + 12) == 1) {
    ip[10] = ip[11] = 0xff;
    return ip;
  }
  if (::inet_pton(AF_INET6, buf, ip.data()) == 1) return ip;  // ::ffff:a.b.c.d is already mapped
  return std::nullopt;
}

std::string ip_to_string(const IpBytes& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ip_is_v4(ip))
    ::inet_ntop(AF_INET, ip.data() + 12, buf, sizeof buf);
  else
    ::inet_ntop(AF_INET6, ip.data(), buf, sizeof buf);
  return buf;
}

std::string Endpoint::to_string() const {
  std::string host = ip_to_string(ip);
  if (!is_v4()) host = "[" + host + "]";
  return host + ":" + std::to_string(port);
}

std::optional<Endpoint> Endpoint::parse(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon), port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (host.find(':') == std::string_view::npos) return std::nullopt;  // "[1.2.3.4]" is not a form Go accepts
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;  // bare IPv6 needs brackets
  }
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p > 65535) return std::nullopt;
  auto ip = parse_ip(host);
  if (!ip) return std::nullopt;
  return Endpoint{*ip, static_cast<uint16_t>(p)};
}

std::optional<Endpoint> Endpoint::from_sockaddr(const sockaddr* sa) {
  if (!sa) return std::nullopt;
  Endpoint e;
  if (sa->sa_family == AF_INET) {
    sockaddr_in in;
    std::memcpy(&in, sa, sizeof in);
    e.ip[10] = e.ip[11] = 0xff;
    std::memcpy(e.ip.data() + 12, &in.sin_addr, 4);
    e.port = ntohs(in.sin_port);
    return e;
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 in6;
    std::memcpy(&in6, sa, sizeof in6);
    std::memcpy(e.ip.data(), &in6.sin6_addr, 16);  // a mapped address stays mapped: that is our IPv4 form
    e.port = ntohs(in6.sin6_port);
    return e;
  }
  return std::nullopt;
}

unsigned Endpoint::to_sockaddr(int family, sockaddr_storage& out) const {
  std::memset(&out, 0, sizeof out);
  if (family == AF_INET) {
    if (!is_v4()) return 0;
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    std::memcpy(&in.sin_addr, ip.data() + 12, 4);
    std::memcpy(&out, &in, sizeof in);
    return sizeof in;
  }
  if (family == AF_INET6) {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port);
    std::memcpy(&in6.sin6_addr, ip.data(), 16);
    std::memcpy(&out, &in6, sizeof in6);
    return sizeof in6;
  }
  return 0;
}

}  // namespace pilot::beacon
