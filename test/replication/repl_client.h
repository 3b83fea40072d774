// A hand-driven replication client for tests: connect, send any bytes (a proper hello
// or garbage), read frames with a timeout, or deliberately stop reading. Blocking and
// bounded, like net/rpc/client.h, so a misbehaving leader fails a test instead of
// hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

#include "net/replication/messages.h"

namespace pilot::repltest {

class ReplClient {
 public:
  // `rcvbuf` > 0 shrinks the receive buffer before connecting (a slow reader fills up
  // sooner).
  explicit ReplClient(uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("cannot connect to the replication port " + std::to_string(port));
  }
  ~ReplClient() { ::close(fd_); }
  ReplClient(const ReplClient&) = delete;
  ReplClient& operator=(const ReplClient&) = delete;

  void send_bytes(const std::string& b) {
    if (::send(fd_, b.data(), b.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(b.size()))
      throw std::runtime_error("send failed");
  }
  void hello(const std::string& token, uint64_t seq = 0, uint64_t term = 0, log::Hash hash = {}) {
    repl::Hello h;
    h.token = token;
    h.last_seq = seq;
    h.term = term;
    h.last_hash = hash;
    send_bytes(repl::encode(h));
  }

  struct Got {
    repl::MsgType type;
    std::string body;
  };
  // The next frame, or nullopt on close or timeout (closed() tells which).
  std::optional<Got> frame(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      repl::Frame f;
      std::string why;
      auto st = repl::next_frame(buf_, f, why);
      if (st == repl::FrameStatus::kBad) throw std::runtime_error("bad frame from the leader: " + why);
      if (st == repl::FrameStatus::kFrame) {
        Got g{f.type, std::string(f.body)};
        buf_.erase(0, f.consumed);
        return g;
      }
      if (!read_some(deadline)) return std::nullopt;
    }
  }
  // The refuse frame that must come next (then the close).
  repl::Refuse refusal() {
    auto g = frame();
    if (!g || g->type != repl::MsgType::kRefuse) throw std::runtime_error("expected a refuse frame");
    auto r = repl::decode_refuse(g->body);
    if (!r) throw std::runtime_error("malformed refuse frame");
    return *r;
  }
  // True once the peer has closed (reads and discards anything else meanwhile).
  bool wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_) {
      buf_.clear();
      if (!read_some(deadline) && !closed_) return false;
    }
    return true;
  }
  bool closed() const { return closed_; }
  int fd() const { return fd_; }

 private:
  bool read_some(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buf_;
  bool closed_ = false;
};

}  // namespace pilot::repltest
