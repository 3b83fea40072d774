// The SSRF guard for the URLs an operator points the server at (spec §6.24): the audit
// webhook (set_webhook), the json/splunk_hec audit export, and the syslog_cef
// host:port. The server connects to these on its own, so a URL must not let a token
// holder reach what only the server can reach.
//
// Always refused, as in the reference: schemes other than http/https, no host, IP
// literals that are link-local (169.254/16, fe80::/10, zone-suffixed forms too) and the
// cloud metadata hostnames, in any letter case.
//
// Loopback (127/8, ::1, "localhost"), private (10/8, 172.16/12, 192.168/16,
// 100.64/10, fc00::/7) and unspecified addresses are accepted by default, as the
// reference does (on-prem receivers are usually private); an operator can refuse them
// with --outbound-allow-private=false. Where we are stricter on purpose: multicast and
// reserved addresses, non-canonical IPv4 spellings
// ("2852039166", "0251.0376.0251.0376", which resolvers accept and the reference's
// parser does not) and credentials in the URL are always refused. A hostname is
// checked again at delivery time against the addresses it resolves to
// (address_problem), so DNS cannot point an accepted name at a refused address.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pilot::rpc {

struct UrlPolicy {
  // Loopback, private and unspecified addresses. The type's default is the strict
  // one; the server's (OutboundOptions, --outbound-allow-private) is the reference's.
  bool allow_private = false;
};

// An http(s) URL split the way the outbound HTTP client needs it.
struct HttpUrl {
  std::string scheme;  // "http" or "https" (lowercase)
  std::string host;    // without brackets or zone
  uint16_t port = 0;   // explicit, or 80/443
  std::string target;  // path + query, "/" when empty
  bool ipv6 = false;
  // "scheme://host:port" (brackets around IPv6): what the HTTP client connects to.
  std::string origin() const;
};

// Syntax only (no policy): nullopt when `url` is not an absolute http(s) URL with a
// host, a valid port, no credentials and no fragment.
std::optional<HttpUrl> parse_http_url(std::string_view url);

// "" when the server may post to `url`; else the reason, starting with "invalid".
std::string url_problem(std::string_view url, const UrlPolicy& policy);

// The same for a raw "host:port" endpoint (syslog_cef).
std::string endpoint_problem(std::string_view host_port, const UrlPolicy& policy);

// "" when the server may connect to the numeric address `ip` (IPv4 or IPv6 text, a
// zone suffix allowed); else the reason. For addresses a hostname resolved to.
std::string address_problem(std::string_view ip, const UrlPolicy& policy);

// "" when `host` (a name or an IP literal, IPv6 without brackets) may be used; names
// are judged by name only (metadata names, localhost), literals by address_problem.
std::string host_problem(std::string_view host, const UrlPolicy& policy);

// Splits "host:port" / "[v6]:port" (port 1..65535 required, host non-empty).
bool split_host_port(std::string_view hp, std::string& host, uint16_t& port);

}  // namespace pilot::rpc
