#include "cmd/pilot-bench/udp_echo.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "cmd/pilot-bench/loopback_udp.h"

namespace pilot::bench {

bool RawUdpServer::start(Options o, std::string& error) {
  o_ = std::move(o);
  const size_t want = o_.threads ? o_.threads : std::max(1u, std::thread::hardware_concurrency());
  for (uint16_t p : o_.targets) targets_.push_back(loopback(p));
  // Port 0 with SO_REUSEPORT would give every socket a port of its own: take one
  // first, then open the rest on it.
  int fd = open_loopback_udp(0, want > 1, error);
  if (fd < 0) return false;
  fds_.push_back(fd);
  port_ = bound_port(fd);
  while (fds_.size() < want) {
    if ((fd = open_loopback_udp(port_, true, error)) < 0) {
      stop();
      return false;
    }
    fds_.push_back(fd);
  }
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) {
    error = std::string("eventfd: ") + std::strerror(errno);
    stop();
    return false;
  }
  for (size_t i = 0; i < fds_.size(); ++i) {
    threads_.emplace_back([this, i] { run(i); });
    handles_.push_back(threads_.back().native_handle());
  }
  return true;
}

void RawUdpServer::stop() {
  if (stop_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  handles_.clear();
  for (int fd : fds_) ::close(fd);
  fds_.clear();
  if (stop_fd_ >= 0) ::close(stop_fd_);
  stop_fd_ = -1;
}

double RawUdpServer::cpu_seconds() const {
  double s = 0;
  for (pthread_t h : handles_) {
    clockid_t c;
    timespec ts;
    if (::pthread_getcpuclockid(h, &c) == 0 && ::clock_gettime(c, &ts) == 0)
      s += double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
  }
  return s;
}

void RawUdpServer::run(size_t i) {
  const int fd = fds_[i];
  RecvBatch rx;
  SendBatch tx;
  pollfd p[2] = {{fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  for (;;) {
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents) break;
    // Drain before sleeping again, a batch at a time: the beacon's reader loop.
    for (int n; (n = rx.receive(fd)) > 0;) {
      for (int k = 0; k < n; ++k) {
        const sockaddr_in* to = &rx.from(k);
        if (o_.mode == Mode::kForward) {
          if (rx.size(k) < 9) continue;
          const auto* b = reinterpret_cast<const unsigned char*>(rx.data(k));
          const uint32_t id = uint32_t(b[5]) << 24 | uint32_t(b[6]) << 16 | uint32_t(b[7]) << 8 | b[8];
          if (id - o_.first_id >= targets_.size()) continue;
          to = &targets_[id - o_.first_id];
        }
        std::memcpy(tx.slot(), rx.data(k), rx.size(k));
        tx.commit(rx.size(k), *to);
      }
      const size_t queued = tx.pending();
      const size_t sent = tx.flush(fd);
      rx_.fetch_add(uint64_t(n), std::memory_order_relaxed);
      tx_.fetch_add(sent, std::memory_order_relaxed);
      tx_failed_.fetch_add(queued - sent, std::memory_order_relaxed);
    }
  }
}

}  // namespace pilot::bench
