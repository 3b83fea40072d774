#include "net/rpc/url_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace pilot::rpc {

namespace {

constexpr std::array<std::string_view, 5> kMetadataHosts = {"metadata.google.internal", "metadata.google.com",
                                                            "ec2.internal", "instance-data-service.ec2.internal",
                                                            "metadata.azure.com"};

constexpr const char* kPrivateHint = " (the operator can allow it with --outbound-allow-private)";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Bytes that must never reach a request line or a Host header.
bool has_control_or_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

bool parse_port(std::string_view s, uint16_t& port) {
  if (!is_digits(s) || s.size() > 5) return false;
  const unsigned long v = std::stoul(std::string(s));
  if (v < 1 || v > 65535) return false;
  port = static_cast<uint16_t>(v);
  return true;
}

// Splits an authority's host part: "[v6%zone]", "[v6]", "name", "a.b.c.d" (no port).
// Returns false on bad brackets; sets v6 for bracketed hosts.
bool unbracket(std::string_view h, std::string& host, bool& v6) {
  v6 = false;
  if (h.empty()) return false;
  if (h.front() != '[') {
    if (h.find_first_of("[]:") != std::string_view::npos) return false;
    host = std::string(h);
    return true;
  }
  if (h.back() != ']' || h.size() < 3) return false;
  std::string_view in = h.substr(1, h.size() - 2);
  // A zone in a URL is written %25zone; a bare %zone is accepted too.
  if (size_t pct = in.find('%'); pct != std::string_view::npos) in = in.substr(0, pct);
  host = std::string(in);
  unsigned char buf[16];
  if (::inet_pton(AF_INET6, host.c_str(), buf) != 1) return false;  // brackets hold IPv6 only
  v6 = true;
  return true;
}

struct Parsed {
  HttpUrl url;
  std::string error;  // "" = parsed
};

Parsed parse(std::string_view text) {
  Parsed p;
  auto fail = [&](std::string why) {
    p.error = std::move(why);
    return p;
  };
  if (text.empty()) return fail("invalid url: empty");
  if (has_control_or_space(text)) return fail("invalid url: control characters or spaces");
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos) return fail("invalid url: http or https URL required");
  const std::string scheme = lower(text.substr(0, sep));
  if (scheme != "http" && scheme != "https")
    return fail("invalid url scheme \"" + scheme + "\": http or https required");
  std::string_view rest = text.substr(sep + 3);
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);  // never sent
  const size_t auth_end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, auth_end);
  std::string target = auth_end == std::string_view::npos ? "/" : std::string(rest.substr(auth_end));
  if (target.front() == '?') target.insert(target.begin(), '/');
  if (authority.find('@') != std::string_view::npos) return fail("invalid url: credentials in the URL not supported");

  std::string_view host_part = authority;
  std::string_view port_part;
  const size_t close = authority.rfind(']');
  const size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && (close == std::string_view::npos || colon > close)) {
    host_part = authority.substr(0, colon);
    port_part = authority.substr(colon + 1);
  }
  if (!unbracket(host_part, p.url.host, p.url.ipv6)) return fail("invalid url: missing or malformed host");
  if (!p.url.ipv6 && !std::all_of(p.url.host.begin(), p.url.host.end(), name_char))
    return fail("invalid url: malformed host");
  p.url.scheme = scheme;
  p.url.port = scheme == "https" ? 443 : 80;
  if (!port_part.empty() && !parse_port(port_part, p.url.port)) return fail("invalid url: bad port");
  p.url.target = std::move(target);
  return p;
}

std::string private_refusal(std::string_view what) { return "invalid url: " + std::string(what) + kPrivateHint; }

std::string v4_problem(const uint8_t a[4], std::string_view text, const UrlPolicy& policy) {
  const std::string shown(text);
  if (a[0] == 169 && a[1] == 254) return "invalid url: link-local address " + shown + " not allowed";
  if (a[0] >= 224) return "invalid url: multicast or reserved address " + shown + " not allowed";
  const bool gated = a[0] == 0 || a[0] == 127 || a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
                     (a[0] == 192 && a[1] == 168) || (a[0] == 100 && (a[1] & 0xc0) == 64);
  if (gated && !policy.allow_private) return private_refusal("private or loopback address " + shown + " not allowed");
  return "";
}

}  // namespace

std::string HttpUrl::origin() const {
  std::string h = ipv6 ? "[" + host + "]" : host;
  return scheme + "://" + h + ":" + std::to_string(port);
}

std::optional<HttpUrl> parse_http_url(std::string_view url) {
  Parsed p = parse(url);
  if (!p.error.empty()) return std::nullopt;
  return std::move(p.url);
}

std::string address_problem(std::string_view ip, const UrlPolicy& policy) {
  std::string text(ip.substr(0, ip.find('%')));
  uint8_t b[16];
  if (inet_pton(AF_INET, text.c_str(), b) == 1) return v4_problem(b, text, policy);
  if (inet_pton(AF_INET6, text.c_str(), b) != 1) return "invalid url: bad address " + text;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr uint8_t kZero[12] = {};
  const bool unspecified_or_loopback = std::memcmp(b, kZero, 12) == 0 && b[12] == 0 && b[13] == 0 && b[14] == 0;
  // An IPv4 address in IPv6 clothing (::ffff:a.b.c.d, ::a.b.c.d) is judged as IPv4.
  if (std::memcmp(b, kMapped, 12) == 0 || (std::memcmp(b, kZero, 12) == 0 && !unspecified_or_loopback))
    return v4_problem(b + 12, text, policy);
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "invalid url: link-local address " + text + " not allowed";
  if (b[0] == 0xff) return "invalid url: multicast address " + text + " not allowed";
  const bool gated = unspecified_or_loopback || (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0);
  if (gated && !policy.allow_private) return private_refusal("private or loopback address " + text + " not allowed");
  return "";
}

std::string host_problem(std::string_view host, const UrlPolicy& policy) {
  std::string h = lower(host);
  while (!h.empty() && h.back() == '.') h.pop_back();
  if (h.empty()) return "invalid url: missing host";
  for (std::string_view m : kMetadataHosts)
    if (h == m) return "invalid url: cloud metadata host " + h + " not allowed";
  if (h.find(':') != std::string::npos) return address_problem(h, policy);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return address_problem(h, policy);
  // Spellings the resolver turns into an address (decimal, octal, hex, short forms).
  if (inet_aton(h.c_str(), &v4) != 0) return "invalid url: non-canonical IPv4 address " + h;
  if ((h == "localhost" || h.ends_with(".localhost")) && !policy.allow_private)
    return private_refusal("loopback host " + h + " not allowed");
  return "";
}

std::string url_problem(std::string_view url, const UrlPolicy& policy) {
  Parsed p = parse(url);
  if (!p.error.empty()) return p.error;
  return host_problem(p.url.host, policy);
}

bool split_host_port(std::string_view hp, std::string& host, uint16_t& port) {
  const size_t colon = hp.rfind(':');
  if (colon == std::string_view::npos) return false;
  bool v6 = false;
  if (!unbracket(hp.substr(0, colon), host, v6)) return false;
  if (!v6 && !std::all_of(host.begin(), host.end(), name_char)) return false;
  return parse_port(hp.substr(colon + 1), port);
}

std::string endpoint_problem(std::string_view host_port, const UrlPolicy& policy) {
  std::string host;
  uint16_t port = 0;
  if (has_control_or_space(host_port) || !split_host_port(host_port, host, port))
    return "invalid endpoint \"" + std::string(host_port) + "\": host:port required";
  return host_problem(host, policy);
}

}  // namespace pilot::rpc
