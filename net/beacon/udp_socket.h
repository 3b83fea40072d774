// Linux UDP plumbing for the beacon (spec §2): listen-address parsing, sockets with
// SO_REUSEPORT and 16 MiB buffers, and batched receive/send with the local address of
// every datagram (IP_PKTINFO / IPV6_PKTINFO), so a reply leaves from the address the
// node sent to — daemons accept 0x04/0x06 only from their beacon's IP:port, and a
// multi-homed host would otherwise answer from whichever address the route picks.
//
// Addresses: a dual-stack `[::]` socket sees IPv4 peers as ::ffff:a.b.c.d, which is
// exactly our Endpoint form; an AF_INET socket's sockaddr_in is folded to it too, so
// the engine never sees the difference. Sending converts back for the socket's family.
//
// Buffers: each batch keeps 32 slots of 64 KiB (a datagram can be that large) for
// receive and 32 for send, allocated without touching the pages, so resident memory
// follows the sizes actually received (1–2 pages per slot for typical ≤ 1.5 KB
// datagrams), not 4 MiB per thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "net/beacon/beacon.h"
#include "net/beacon/endpoint.h"

namespace pilot::beacon {

struct ListenAddr {
  int family = AF_INET6;    // the socket family
  Endpoint ep;              // IP (unspecified = every address) and port
  bool wildcard = false;    // bound to every local address: replies need PKTINFO
  bool dual_stack = false;  // AF_INET6 wildcard with IPV6_V6ONLY off
};

// ":9001" and "[::]:9001" → dual-stack wildcard; "0.0.0.0:9001" → IPv4 wildcard;
// "1.2.3.4:9001", "[::1]:0" → that address; "name:9001" → its first address
// (getaddrinfo). nullopt with `error` set otherwise.
std::optional<ListenAddr> parse_listen_addr(std::string_view text, std::string& error);

// "host:port" → a UDP endpoint (numeric or resolved, first result); nullopt if it
// does not resolve. `family` AF_INET restricts to IPv4 (for an IPv4-only socket).
std::optional<Endpoint> resolve_udp(std::string_view host_port, int family = AF_UNSPEC);

struct SocketOptions {
  bool reuseport = false;
  bool pktinfo = false;  // ask the kernel for each datagram's local address
  int buffer_bytes = kSocketBufferBytes;
};
// A bound, non-blocking, close-on-exec UDP socket; -1 with `error` set on failure.
int open_udp_socket(const ListenAddr& la, uint16_t port, const SocketOptions& opt, std::string& error);
// The address a socket is bound to (port resolved if 0 was asked).
std::optional<Endpoint> bound_endpoint(int fd);
// Effective SO_RCVBUF / SO_SNDBUF (the kernel reports twice what it grants).
std::pair<int, int> socket_buffers(int fd);

// The local addresses datagrams arrived on, as small numbers (Via) the engine can
// store per node. Append-only, at most 255; lookups are lock-free (entries are
// immutable once the count that covers them is published).
class LocalAddrs {
 public:
  Via intern(const IpBytes& ip);  // kAnyVia when the table is full
  std::optional<IpBytes> ip(Via v) const;

 private:
  std::array<IpBytes, 256> ips_{};
  std::atomic<int> count_{1};  // slot 0 is kAnyVia
  std::mutex mu_;
};

// One recvmmsg batch: up to kBatch datagrams with their sources and local addresses.
class RxBatch {
 public:
  RxBatch(int family, bool pktinfo);
  // Reads what is queued (non-blocking). Returns the count, 0 if nothing, -1 on
  // an error other than EAGAIN/EINTR (errno kept).
  int receive(int fd);
  std::string_view data(int i) const { return {bufs_.get() + static_cast<size_t>(i) * kSlot, msgs_[i].msg_len}; }
  std::optional<Endpoint> source(int i) const;
  std::optional<IpBytes> local_ip(int i) const;  // when PKTINFO is on and the kernel said

  static constexpr size_t kSlot = 65536;

 private:
  static constexpr size_t kCtl = 64;
  int family_;
  bool pktinfo_;
  std::unique_ptr<char[]> bufs_;
  std::array<mmsghdr, kBatch> msgs_{};
  std::array<iovec, kBatch> iov_{};
  std::array<sockaddr_storage, kBatch> addrs_{};
  std::array<std::array<char, kCtl>, kBatch> ctl_{};
};

// Collects the engine's outgoing datagrams and sends them with sendmmsg when 32 are
// queued or at flush(); a partial send is completed one datagram at a time and a
// datagram the kernel refuses (buffer full, unreachable family, too big) is counted
// on the engine and dropped — never retried in a loop, never blocking the reader.
class TxBatch : public Sink {
 public:
  // `sent` (may be null) is added to as datagrams leave: a counter shared by threads.
  TxBatch(int fd, int family, bool pktinfo, const LocalAddrs& locals, Engine& engine,
          std::atomic<uint64_t>* sent = nullptr);
  void send(const Datagram& d) override;
  void flush();

  static constexpr size_t kSlot = 65536;

 private:
  static constexpr size_t kCtl = 64;
  void fail(size_t i, int err);

  int fd_, family_;
  bool pktinfo_;
  const LocalAddrs& locals_;
  Engine& engine_;
  std::unique_ptr<char[]> bufs_;
  std::array<mmsghdr, kBatch> msgs_{};
  std::array<iovec, kBatch> iov_{};
  std::array<sockaddr_storage, kBatch> addrs_{};
  std::array<std::array<char, kCtl>, kBatch> ctl_{};
  std::array<OutKind, kBatch> kinds_{};
  std::atomic<uint64_t>* sent_;
  size_t n_ = 0;
};

// Builds the control message that picks the source address of one datagram; returns
// its length (0: none needed). Shared by TxBatch and the one-off sends.
size_t write_pktinfo(int family, const IpBytes& local, char* buf, size_t cap);

}  // namespace pilot::beacon
