// UDP sockets on 127.0.0.1 for `pilot-bench beacon`'s client and raw servers, with
// the beacon's socket options (large buffers: a burst the reader has not drained yet
// is queued, not dropped), and batched send/receive of plain byte buffers.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pilot::bench {

// As the beacon asks (net/beacon/messages.h kSocketBufferBytes).
constexpr int kUdpBufferBytes = 16 << 20;
// recvmmsg / sendmmsg batch, as the beacon's.
constexpr size_t kUdpBatch = 32;

// A non-blocking, close-on-exec UDP socket bound to 127.0.0.1:`port` (0 = ephemeral);
// -1 with `error` set on failure.
int open_loopback_udp(uint16_t port, bool reuseport, std::string& error);
uint16_t bound_port(int fd);
sockaddr_in loopback(uint16_t port);

// Up to kUdpBatch datagrams received at once: data(k), size(k), from(k).
class RecvBatch {
 public:
  explicit RecvBatch(size_t slot_bytes = 2048);
  // What is queued on `fd` (non-blocking): count, 0 if nothing, -1 on error.
  int receive(int fd);
  const char* data(int k) const { return buf_.data() + size_t(k) * slot_; }
  size_t size(int k) const { return msgs_[size_t(k)].msg_len; }
  const sockaddr_in& from(int k) const { return from_[size_t(k)]; }

 private:
  size_t slot_;
  std::vector<char> buf_;
  std::vector<iovec> iov_;
  std::vector<sockaddr_in> from_;
  std::vector<mmsghdr> msgs_;
};

// Datagrams collected, then sent with one sendmmsg per flush (or when full).
class SendBatch {
 public:
  explicit SendBatch(size_t slot_bytes = 2048);
  // A slot to fill: at most slot_bytes; commit() it with its length and destination.
  char* slot();
  void commit(size_t len, const sockaddr_in& to);
  bool full() const { return n_ == kUdpBatch; }
  size_t pending() const { return n_; }
  // Sends what is pending on `fd`; returns how many the kernel took (the rest are
  // dropped: counted by the caller as not sent).
  size_t flush(int fd);

 private:
  size_t slot_, n_ = 0;
  std::vector<char> buf_;
  std::vector<iovec> iov_;
  std::vector<sockaddr_in> to_;
  std::vector<mmsghdr> msgs_;
};

}  // namespace pilot::bench
