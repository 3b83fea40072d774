#include "net/beacon/udp_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <unistd.h>

#include <cstring>

#include "core/logging.h"

namespace pilot::beacon {
namespace {

struct HostPort {
  std::string host, port;
};

// "host:port", "[v6]:port", ":port".
std::optional<HostPort> split(std::string_view s) {
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = s.substr(0, colon), port = s.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string_view::npos)
    return std::nullopt;
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  if (std::stoul(std::string(port)) > 65535) return std::nullopt;
  return HostPort{std::string(host), std::string(port)};
}

bool is_unspecified(const IpBytes& ip) {
  IpBytes zero{};
  IpBytes v4zero{};
  v4zero[10] = v4zero[11] = 0xff;
  return ip == zero || ip == v4zero;
}

std::optional<Endpoint> lookup(const std::string& host, const std::string& port, int family) {
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res) return std::nullopt;
  std::optional<Endpoint> out;
  for (addrinfo* a = res; a && !out; a = a->ai_next) out = Endpoint::from_sockaddr(a->ai_addr);
  ::freeaddrinfo(res);
  return out;
}

}  // namespace

std::optional<ListenAddr> parse_listen_addr(std::string_view text, std::string& error) {
  auto hp = split(text);
  if (!hp) {
    error = "listen address \"" + std::string(text) + "\" is not host:port";
    return std::nullopt;
  }
  ListenAddr la;
  la.ep.port = static_cast<uint16_t>(std::stoul(hp->port));
  if (hp->host.empty() || hp->host == "::") {
    la.family = AF_INET6;
    la.wildcard = la.dual_stack = true;
    return la;
  }
  std::optional<IpBytes> ip = parse_ip(hp->host);
  if (!ip) {
    auto ep = lookup(hp->host, hp->port, AF_UNSPEC);
    if (!ep) {
      error = "listen address \"" + std::string(text) + "\" does not resolve";
      return std::nullopt;
    }
    ip = ep->ip;
  }
  la.ep.ip = *ip;
  // An IPv4 address (also when written ::ffff:a.b.c.d) gets an AF_INET socket.
  la.family = ip_is_v4(*ip) ? AF_INET : AF_INET6;
  la.wildcard = is_unspecified(*ip);
  return la;
}

std::optional<Endpoint> resolve_udp(std::string_view host_port, int family) {
  auto hp = split(host_port);
  if (!hp || hp->host.empty()) return std::nullopt;
  if (auto ep = Endpoint::parse(host_port)) {
    if (family == AF_INET && !ep->is_v4()) return std::nullopt;
    return ep;
  }
  return lookup(hp->host, hp->port, family);
}

int open_udp_socket(const ListenAddr& la, uint16_t port, const SocketOptions& opt, std::string& error) {
  int fd = ::socket(la.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  int one = 1, zero = 0;
  if (la.family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, la.dual_stack ? &zero : &one, sizeof(int));
  if (opt.reuseport && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    error = std::string("SO_REUSEPORT: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  // 16 MiB asked (spec §2.1). Without CAP_NET_ADMIN the kernel caps SO_RCVBUF at
  // net.core.rmem_max; the *FORCE variants pass that cap when we may.
  int b = opt.buffer_bytes;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &b, sizeof b) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &b, sizeof b);
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &b, sizeof b) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &b, sizeof b);
  if (opt.pktinfo) {
    if (la.family == AF_INET)
      ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    else
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);  // IPv4-mapped too
  }
  Endpoint at = la.ep;
  at.port = port;
  sockaddr_storage ss;
  socklen_t len = at.to_sockaddr(la.family, ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    error = "bind " + at.to_string() + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

std::optional<Endpoint> bound_endpoint(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
  return Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
}

std::pair<int, int> socket_buffers(int fd) {
  int r = 0, s = 0;
  socklen_t len = sizeof r;
  ::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &r, &len);
  len = sizeof s;
  ::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &s, &len);
  return {r, s};
}

// ---- LocalAddrs ---------------------------------------------------------------------

Via LocalAddrs::intern(const IpBytes& ip) {
  int n = count_.load(std::memory_order_acquire);
  for (int i = 1; i < n; ++i)
    if (ips_[i] == ip) return static_cast<Via>(i);
  std::lock_guard lock(mu_);
  n = count_.load(std::memory_order_relaxed);
  for (int i = 1; i < n; ++i)
    if (ips_[i] == ip) return static_cast<Via>(i);
  if (n == static_cast<int>(ips_.size())) return kAnyVia;
  ips_[n] = ip;
  count_.store(n + 1, std::memory_order_release);
  return static_cast<Via>(n);
}

std::optional<IpBytes> LocalAddrs::ip(Via v) const {
  if (v == kAnyVia || v >= count_.load(std::memory_order_acquire)) return std::nullopt;
  return ips_[v];
}

size_t write_pktinfo(int family, const IpBytes& local, char* buf, size_t cap) {
  std::memset(buf, 0, cap);
  msghdr m{};
  m.msg_control = buf;
  if (family == AF_INET) {
    if (!ip_is_v4(local) || cap < CMSG_SPACE(sizeof(in_pktinfo))) return 0;
    m.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo pi{};
    std::memcpy(&pi.ipi_spec_dst, local.data() + 12, 4);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    return CMSG_SPACE(sizeof(in_pktinfo));
  }
  if (cap < CMSG_SPACE(sizeof(in6_pktinfo))) return 0;
  // On a dual-stack socket an IPv4-mapped source picks the IPv4 source address of a
  // datagram to an IPv4-mapped destination (the kernel's IPv4 path reads it).
  m.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
  in6_pktinfo pi{};
  std::memcpy(&pi.ipi6_addr, local.data(), 16);
  std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  return CMSG_SPACE(sizeof(in6_pktinfo));
}

// ---- RxBatch ------------------------------------------------------------------------

RxBatch::RxBatch(int family, bool pktinfo)
    : family_(family), pktinfo_(pktinfo), bufs_(new char[kBatch * kSlot]) {}  // pages untouched until used

int RxBatch::receive(int fd) {
  for (size_t i = 0; i < kBatch; ++i) {
    iov_[i] = {bufs_.get() + i * kSlot, kSlot};
    msghdr& h = msgs_[i].msg_hdr;
    h = msghdr{};
    h.msg_name = &addrs_[i];
    h.msg_namelen = sizeof addrs_[i];
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
    if (pktinfo_) {
      h.msg_control = ctl_[i].data();
      h.msg_controllen = kCtl;
    }
    msgs_[i].msg_len = 0;
  }
  for (;;) {
    int n = ::recvmmsg(fd, msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return -1;
  }
}

std::optional<Endpoint> RxBatch::source(int i) const {
  if (msgs_[i].msg_hdr.msg_namelen == 0) return std::nullopt;
  return Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&addrs_[i]));
}

std::optional<IpBytes> RxBatch::local_ip(int i) const {
  if (!pktinfo_) return std::nullopt;
  msghdr h = msgs_[i].msg_hdr;
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
    IpBytes ip{};
    if (family_ == AF_INET && c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      ip[10] = ip[11] = 0xff;
      std::memcpy(ip.data() + 12, &pi.ipi_addr, 4);  // the header's destination address
      return ip;
    }
    if (family_ == AF_INET6 && c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      std::memcpy(ip.data(), &pi.ipi6_addr, 16);
      return ip;
    }
  }
  return std::nullopt;
}

// ---- TxBatch ------------------------------------------------------------------------

TxBatch::TxBatch(int fd, int family, bool pktinfo, const LocalAddrs& locals, Engine& engine,
                 std::atomic<uint64_t>* sent)
    : fd_(fd),
      family_(family),
      pktinfo_(pktinfo),
      locals_(locals),
      engine_(engine),
      bufs_(new char[kBatch * kSlot]),
      sent_(sent) {}

void TxBatch::send(const Datagram& d) {
  if (d.size() > kSlot) return engine_.count_send_failure(d.kind);
  if (n_ == kBatch) flush();
  size_t i = n_;
  socklen_t alen = d.to.to_sockaddr(family_, addrs_[i]);
  if (alen == 0) return engine_.count_send_failure(d.kind);  // IPv6 destination, IPv4 socket
  char* buf = bufs_.get() + i * kSlot;
  if (!d.head.empty()) std::memcpy(buf, d.head.data(), d.head.size());  // a Sync has no head
  if (!d.body.empty()) std::memcpy(buf + d.head.size(), d.body.data(), d.body.size());
  iov_[i] = {buf, d.size()};
  msghdr& h = msgs_[i].msg_hdr;
  h = msghdr{};
  h.msg_name = &addrs_[i];
  h.msg_namelen = alen;
  h.msg_iov = &iov_[i];
  h.msg_iovlen = 1;
  if (pktinfo_ && d.via != kAnyVia) {
    if (auto ip = locals_.ip(d.via)) {
      size_t clen = write_pktinfo(family_, *ip, ctl_[i].data(), kCtl);
      if (clen) {
        h.msg_control = ctl_[i].data();
        h.msg_controllen = clen;
      }
    }
  }
  kinds_[i] = d.kind;
  ++n_;
}

void TxBatch::fail(size_t i, int err) {
  engine_.count_send_failure(kinds_[i]);
  sockaddr_storage& ss = addrs_[i];
  auto to = Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
  LOG_DEBUG("beacon: send to %s failed: %s", to ? to->to_string().c_str() : "?", std::strerror(err));
}

void TxBatch::flush() {
  size_t done = 0;
  while (done < n_) {
    int r = ::sendmmsg(fd_, msgs_.data() + done, static_cast<unsigned>(n_ - done), MSG_DONTWAIT);
    if (r > 0) {
      done += static_cast<size_t>(r);
      if (sent_) sent_->fetch_add(static_cast<uint64_t>(r), std::memory_order_relaxed);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    // The datagram at `done` was refused (buffer full, no route, too big): count it
    // and carry on with the rest, which may well go through.
    fail(done, r < 0 ? errno : EIO);
    ++done;
  }
  n_ = 0;
}

}  // namespace pilot::beacon
