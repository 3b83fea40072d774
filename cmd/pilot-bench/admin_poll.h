// What an operator's tools do to the rendezvous' admin HTTP server: GETs at a fixed
// rate (a browser dashboard polls /api/dashboard, Prometheus scrapes /metrics, scripts
// read /api/stats), each answer timed from its send to its last byte.
//
// Open loop: request k is due at start + k / rate whatever happened to the ones before
// it, so a slow answer cannot lower the offered rate. Requests are dealt round-robin to
// a few threads, each with its own keep-alive connection, so several can be in flight.
//
// `pilot-bench rpc --only admin` runs it next to the registry load: the admin handlers
// post their queries to the server's loop thread (admin/loop_bridge.h), the thread
// that serves every RPC, so this is what could slow the RPC path.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pilot::bench {

struct AdminPollOptions {
  uint16_t port = 0;               // the admin HTTP port on 127.0.0.1
  std::string token;               // sent as X-Admin-Token to every path
  double rate = 50;                // requests per second, spread evenly
  std::vector<std::string> paths;  // cycled through in order
  std::vector<int> cpus;           // where the poller threads may run (empty = anywhere)
  uint64_t min_requests = 0;       // stop() waits until this many have been answered
  int connections = 4;             // threads, one connection each
  bool keep_alive = true;          // false: a new connection for every GET
};

struct AdminPathStats {
  std::string path;
  uint64_t answered = 0;  // 200s
  uint64_t bytes = 0;     // of their bodies
  double p50_ns = 0, p99_ns = 0;
};

struct AdminPollStats {
  uint64_t sent = 0;
  uint64_t answered = 0;  // with 200
  uint64_t errors = 0;    // anything else, or no answer
  std::string first_error;
  uint64_t late = 0;   // sent more than one period after they were due (every connection was busy)
  double seconds = 0;  // from start() to the last answer
  double rate = 0;     // answered / seconds
  double p50_ns = 0, p99_ns = 0, max_ns = 0;
  double cpu_seconds = 0;  // the poller threads' own CPU
  std::vector<AdminPathStats> paths;
};

class AdminPoller {
 public:
  explicit AdminPoller(AdminPollOptions o);
  ~AdminPoller();  // stops a running poller
  AdminPoller(const AdminPoller&) = delete;
  AdminPoller& operator=(const AdminPoller&) = delete;

  void start();
  // Stops (after min_requests answers, if not yet reached) and returns what it saw.
  AdminPollStats stop();
  // Paused, the due requests are skipped and the connections closed (an open idle
  // connection still costs the server: see BENCHMARKS.md), so a paused poller is as
  // good as none; resumed, the schedule goes on. Any thread, cheap; may precede start().
  void pause(bool paused);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pilot::bench
