// `-health ADDR` of the standalone beacon (spec §13.2): GET /healthz answers 200 "ok",
// or 503 "unhealthy" once set_healthy(false) — the graceful drain after SIGTERM, so a
// load balancer stops sending new daemons here before the sockets close. Anything
// else is 404.
//
// cpp-httplib (already the admin server's) on a thread of its own with a pool of two
// workers: the one route is constant-time, and reusing a maintained HTTP parser keeps
// a second hand-written one (and its fuzz target) out of the beacon. The beacon's own
// threads (UDP readers, housekeeping) never block on it.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace pilot::beacon {

class HealthServer {
 public:
  // `addr`: ":8080" (every address, IPv6 and IPv4), "127.0.0.1:0", "[::1]:8080".
  explicit HealthServer(std::string addr);
  ~HealthServer();
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  // Binds and starts serving; logs "beacon: health listening on <addr> (/healthz)".
  // "" or why not (nothing left running).
  std::string start();
  void stop();  // idempotent
  void set_healthy(bool healthy) { healthy_.store(healthy); }
  std::string listen_text() const { return listen_text_; }

 private:
  const std::string addr_;
  std::string listen_text_;
  std::atomic<bool> healthy_{true};
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
};

}  // namespace pilot::beacon
