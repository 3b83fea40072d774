#include "cmd/pilot-bench/lag_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>

#include "cmd/pilot-bench/cpu_time.h"
#include "cmd/pilot-bench/rpc_frames.h"
#include "net/rpc/wire.h"

namespace pilot::bench {

LagProbe::LagProbe(uint16_t follower_port, double rate, double timeout_s)
    : port_(follower_port), period_ns_(int64_t(1e9 / rate)), timeout_ns_(int64_t(timeout_s * 1e9)) {}

LagProbe::~LagProbe() {
  stop();
  if (fd_ >= 0) ::close(fd_);
}

bool LagProbe::start(std::string& error) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port_);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int one = 1;
  timeval tv{10, 0};
  if (fd_ < 0 || ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    error = std::string("lag probe: connect to the follower: ") + std::strerror(errno);
    return false;
  }
  thread_ = std::thread([this] { run(); });
  return true;
}

std::vector<LagSample> LagProbe::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  return samples_;
}

void LagProbe::acknowledged(uint32_t node_id, int64_t now_ns) {
  std::lock_guard lk(mu_);
  newest_id_ = node_id;
  newest_ns_ = now_ns;
}

void LagProbe::run() {
  uint32_t last_id = 0;
  for (int64_t next = mono_ns(); !stop_; next += period_ns_) {
    const int64_t wait = next - mono_ns();
    if (wait > 0)
      std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
    else
      next = mono_ns();  // fell behind (a long sample): no burst to catch up
    uint32_t id;
    LagSample s;
    {
      std::lock_guard lk(mu_);
      id = newest_id_;
      s.acked_ns = newest_ns_;
    }
    if (id == 0 || id == last_id) continue;  // nothing new acknowledged since the last sample
    last_id = id;
    for (;;) {
      int64_t rtt = 0;
      ++s.polls;
      const bool visible = lookup_visible(id, rtt);
      if (!error_.empty()) return;
      if (visible) {
        s.visible_ns = mono_ns();
        s.last_rtt_ns = rtt;
        break;
      }
      if (mono_ns() - s.acked_ns > timeout_ns_ || stop_) break;
    }
    samples_.push_back(s);
  }
}

// One lookup on the follower's registry port (blocking, one request in flight).
bool LagProbe::lookup_visible(uint32_t id, int64_t& rtt_ns) {
  const std::string frame = lookup_json(id);
  const int64_t t0 = mono_ns();
  for (size_t off = 0; off < frame.size();) {
    const ssize_t n = ::send(fd_, frame.data() + off, frame.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = std::string("lag probe: send: ") + std::strerror(errno);
      return false;
    }
    off += size_t(n);
  }
  char buf[4096];
  for (;;) {
    if (in_.size() >= 4) {
      const uint32_t len = be32(in_.data());
      if (len > wire::kMaxFrame) {
        error_ = "lag probe: a reply frame of " + std::to_string(len) + " bytes";
        return false;
      }
      if (in_.size() >= 4 + size_t(len)) {
        rtt_ns = mono_ns() - t0;
        const bool ok = std::string_view(in_).substr(4, len).find("\"type\":\"lookup_ok\"") != std::string_view::npos;
        in_.erase(0, 4 + size_t(len));
        return ok;
      }
    }
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = n == 0 ? "lag probe: the follower closed the connection"
                      : std::string("lag probe: read: ") + std::strerror(errno);
      return false;
    }
    in_.append(buf, size_t(n));
  }
}

}  // namespace pilot::bench
