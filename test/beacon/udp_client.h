// A small UDP client for beacon tests: one socket bound to a loopback address, send
// to an endpoint, blocking receive with a timeout. Used against the standalone
// `beacon` (beacon_process.h) and the beacon embedded in `rendezvous`.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/beacon/endpoint.h"

namespace pilot::beacon::testing {

using namespace std::chrono_literals;

class UdpClient {
 public:
  // Bound to `ip` (numeric), port 0.
  explicit UdpClient(const std::string& ip = "127.0.0.1", int rcvbuf = 8 << 20) {
    auto ep = Endpoint::parse((ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":0");
    family_ = ep && ep->is_v4() ? AF_INET : AF_INET6;
    fd_ = ::socket(family_, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &rcvbuf, sizeof rcvbuf);
    sockaddr_storage ss;
    socklen_t len = ep ? ep->to_sockaddr(family_, ss) : 0;
    ok_ = len && ::bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) == 0;
    socklen_t sl = sizeof ss;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &sl);
    local_ = Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss)).value_or(Endpoint{});
  }
  ~UdpClient() { ::close(fd_); }
  UdpClient(const UdpClient&) = delete;
  UdpClient& operator=(const UdpClient&) = delete;

  bool ok() const { return ok_; }
  const Endpoint& local() const { return local_; }

  bool send_to(const Endpoint& to, std::string_view bytes) {
    sockaddr_storage ss;
    socklen_t len = to.to_sockaddr(family_, ss);
    return len && ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) ==
                      static_cast<ssize_t>(bytes.size());
  }

  struct Received {
    Endpoint from;
    std::string bytes;
  };
  std::optional<Received> recv(std::chrono::milliseconds timeout = 2000ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    std::string buf(65536, '\0');
    sockaddr_storage ss{};
    socklen_t sl = sizeof ss;
    ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&ss), &sl);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<size_t>(n));
    return Received{Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss)).value_or(Endpoint{}), std::move(buf)};
  }
  // Everything that arrives until nothing has for `quiet`.
  std::vector<Received> drain(std::chrono::milliseconds quiet = 200ms) {
    std::vector<Received> out;
    while (auto r = recv(quiet)) out.push_back(std::move(*r));
    return out;
  }

 private:
  int fd_ = -1, family_ = AF_INET;
  bool ok_ = false;
  Endpoint local_;
};

// Sends `bytes` from `sender` to `to` every 250 ms until `receiver` gets a datagram
// (~10 s at most). For paths that open only once beacons have gossiped routes: each
// beacon gossips on its own clock, so one direction can work before the other.
inline std::optional<UdpClient::Received> send_until_received(UdpClient& sender, const Endpoint& to,
                                                              std::string_view bytes, UdpClient& receiver) {
  std::optional<UdpClient::Received> got;
  for (int attempt = 0; attempt < 40 && !got; ++attempt) {
    sender.send_to(to, bytes);
    got = receiver.recv(250ms);
  }
  return got;
}

// A UDP port free right now on 127.0.0.1 (for beacons that must name each other).
inline uint16_t free_udp_port() {
  UdpClient probe("127.0.0.1", 0);
  return probe.local().port;
}

}  // namespace pilot::beacon::testing
