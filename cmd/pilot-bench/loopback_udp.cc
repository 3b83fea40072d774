#include "cmd/pilot-bench/loopback_udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <unistd.h>

#include <cstring>

namespace pilot::bench {

int open_loopback_udp(uint16_t port, bool reuseport, std::string& error) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  const int one = 1;
  if (reuseport && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    error = std::string("SO_REUSEPORT: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  // The *FORCE variants pass net.core.rmem_max/wmem_max when we may (root), as the beacon.
  const int b = kUdpBufferBytes;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &b, sizeof b) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &b, sizeof b);
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &b, sizeof b) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &b, sizeof b);
  const sockaddr_in at = loopback(port);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&at), sizeof at) != 0) {
    error = "bind 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

uint16_t bound_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
  return ntohs(a.sin_port);
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

RecvBatch::RecvBatch(size_t slot_bytes)
    : slot_(slot_bytes), buf_(slot_bytes * kUdpBatch), iov_(kUdpBatch), from_(kUdpBatch), msgs_(kUdpBatch) {}

int RecvBatch::receive(int fd) {
  for (size_t k = 0; k < kUdpBatch; ++k) {
    iov_[k] = {buf_.data() + k * slot_, slot_};
    msgs_[k].msg_hdr = {};
    msgs_[k].msg_hdr.msg_iov = &iov_[k];
    msgs_[k].msg_hdr.msg_iovlen = 1;
    msgs_[k].msg_hdr.msg_name = &from_[k];
    msgs_[k].msg_hdr.msg_namelen = sizeof(sockaddr_in);
  }
  for (;;) {
    const int n = ::recvmmsg(fd, msgs_.data(), unsigned(kUdpBatch), MSG_DONTWAIT, nullptr);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
  }
}

SendBatch::SendBatch(size_t slot_bytes)
    : slot_(slot_bytes), buf_(slot_bytes * kUdpBatch), iov_(kUdpBatch), to_(kUdpBatch), msgs_(kUdpBatch) {}

char* SendBatch::slot() { return buf_.data() + n_ * slot_; }

void SendBatch::commit(size_t len, const sockaddr_in& to) {
  iov_[n_] = {buf_.data() + n_ * slot_, len};
  to_[n_] = to;
  msgs_[n_].msg_hdr = {};
  msgs_[n_].msg_hdr.msg_iov = &iov_[n_];
  msgs_[n_].msg_hdr.msg_iovlen = 1;
  msgs_[n_].msg_hdr.msg_name = &to_[n_];
  msgs_[n_].msg_hdr.msg_namelen = sizeof(sockaddr_in);
  ++n_;
}

size_t SendBatch::flush(int fd) {
  size_t done = 0, taken = 0;
  while (done < n_) {
    const int r = ::sendmmsg(fd, msgs_.data() + done, unsigned(n_ - done), MSG_DONTWAIT);
    if (r < 0 && errno == EINTR) continue;
    if (r > 0) {
      done += size_t(r);
      taken += size_t(r);
      continue;
    }
    // The head datagram was refused (a full buffer, an ICMP error of an earlier one):
    // skip it, as the beacon's sender does, and send the rest.
    ++done;
  }
  n_ = 0;
  return taken;
}

}  // namespace pilot::bench
