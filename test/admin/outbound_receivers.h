// Real receivers on loopback for the outbound tests: an HTTP receiver (cpp-httplib)
// whose answers the test scripts, and a TCP line collector for syslog.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pilot::outbound_test {

using namespace std::chrono_literals;

// Polls `pred` every 10 ms for up to `timeout`.
inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 15s) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

// An HTTP receiver on 127.0.0.1. Every POST is recorded with the status it was
// answered with; the test decides the statuses.
class Receiver {
 public:
  struct Hit {
    std::string path;
    std::string body;
    httplib::Headers headers;
    int status = 0;
    std::string header(const std::string& name) const {
      auto it = headers.find(name);
      return it == headers.end() ? "" : it->second;
    }
  };

  Receiver() { start(0); }
  ~Receiver() { stop(); }

  // Listens on `port` (0 = any free port; the same port again after stop()).
  void start(uint16_t port) {
    server_ = std::make_unique<httplib::Server>();
    // stop() waits for idle keep-alive connections (5 s by default, whole seconds).
    server_->set_keep_alive_timeout(1);
    server_->Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lk(mu_);
      int status = always_;
      if (!script_.empty()) {
        status = script_.front();
        script_.pop_front();
      }
      res.status = status;
      res.set_content("{}", "application/json");
      hits_.push_back({req.path, req.body, req.headers, status});
    });
    if (port == 0)
      port_ = static_cast<uint16_t>(server_->bind_to_any_port("127.0.0.1"));
    else
      ASSERT_TRUE(server_->bind_to_port("127.0.0.1", port));
    thread_ = std::thread([s = server_.get()] { s->listen_after_bind(); });
    // Connections queue in the backlog from bind on; waiting only keeps stop() simple.
    for (int i = 0; i < 200 && !server_->is_running(); ++i) std::this_thread::sleep_for(5ms);
  }
  // Connection refused from now on.
  void stop() {
    if (!server_) return;
    server_->stop();
    thread_.join();
    server_.reset();
  }

  uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  // The next answers, in order; then `always`.
  void script(std::vector<int> statuses) {
    std::lock_guard lk(mu_);
    script_.assign(statuses.begin(), statuses.end());
  }
  void always(int status) {
    std::lock_guard lk(mu_);
    always_ = status;
  }
  std::vector<Hit> hits() const {
    std::lock_guard lk(mu_);
    return hits_;
  }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
  mutable std::mutex mu_;
  std::deque<int> script_;
  int always_ = 200;
  std::vector<Hit> hits_;
};

// A TCP listener on 127.0.0.1 collecting newline-terminated lines from every
// connection it accepts; disconnect() closes the current connections (the sender must
// reconnect).
class LineCollector {
 public:
  LineCollector() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(listen_fd_, 8);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~LineCollector() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
    disconnect();
    for (auto& t : readers_) t.join();
  }

  uint16_t port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> lines() const {
    std::lock_guard lk(mu_);
    return lines_;
  }
  size_t connections() const {
    std::lock_guard lk(mu_);
    return conns_.size() + closed_;
  }
  void disconnect() {
    std::lock_guard lk(mu_);
    for (int fd : conns_) ::shutdown(fd, SHUT_RDWR);
  }

 private:
  void accept_loop() {
    while (!stop_) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::lock_guard lk(mu_);
      conns_.push_back(fd);
      readers_.emplace_back([this, fd] { read_loop(fd); });
    }
  }
  void read_loop(int fd) {
    std::string buf;
    char chunk[4096];
    for (;;) {
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        std::lock_guard lk(mu_);
        lines_.push_back(buf.substr(0, nl));
        buf.erase(0, nl + 1);
      }
    }
    std::lock_guard lk(mu_);
    std::erase(conns_, fd);
    ++closed_;
    ::close(fd);
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> readers_;
  mutable std::mutex mu_;
  std::vector<int> conns_;
  size_t closed_ = 0;
  std::vector<std::string> lines_;
};

}  // namespace pilot::outbound_test
