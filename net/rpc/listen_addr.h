// Which UDP endpoint the registry stores for a registering daemon (spec §6.1
// "SanitizeListenAddr"). The daemon reports the address it listens on; behind a NAT
// that is a private address nobody else can reach, so the registry substitutes the
// address it sees the TCP connection come from, keeping the daemon's port (its UDP
// port, not the TCP source port). A public IP or a DNS name is kept: a NATed node may
// advertise its external mapping on purpose.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pilot::rpc {

struct HostPort {
  std::string host;  // without brackets
  std::string port;
};
// Go's net.SplitHostPort: "host:port", "[v6]:port", ":port"; nullopt otherwise.
std::optional<HostPort> split_host_port(std::string_view s);
// Go's net.JoinHostPort: brackets around hosts that contain ':'.
std::string join_host_port(std::string_view host, std::string_view port);

// listen_addr as sent + the TCP peer → the stored endpoint:
//   ""                                   → peer_ip:peer_port
//   not host:port                        → verbatim
//   host empty, unspecified, private (RFC 1918, fc00::/7), loopback or link-local
//                                        → peer_ip:<client port>
//   anything else (public IP, DNS name)  → verbatim
std::string sanitize_listen_addr(std::string_view listen_addr, std::string_view peer_ip, uint16_t peer_port);

}  // namespace pilot::rpc
