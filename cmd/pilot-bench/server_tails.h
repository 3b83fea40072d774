// The server's own share of a latency tail: how many of its loop thread's iterations
// were long during a run's measured window. Read from the histogram
// pilot_loop_iteration_seconds on the server's /metrics (net/rpc/loop_meter.h) when the
// window begins and ends; the difference is the window's. Not before and after the
// whole run: opening and closing 1024 connections makes a few 2-25 ms iterations of
// its own (hundreds of accepts or closes in one iteration), outside the latencies
// measured. A request in flight during a 3 ms iteration waited up to 3 ms, so
// iterations over 1 ms next to a p99 over 1 ms say "the server"; none says the time
// was lost elsewhere (the client, the kernel, the VM taking the CPU away).
#pragma once

#include <cstdint>
#include <future>
#include <string>
#include <vector>

namespace pilot::bench {

struct LoopIterations {
  bool ok = false;
  std::vector<double> le;            // bucket upper bounds, seconds (+Inf last)
  std::vector<uint64_t> cumulative;  // Prometheus cumulative counts, one per bound
};

// GET http://127.0.0.1:<admin_port>/metrics; ok = false if the server has no such
// histogram (or no admin server).
LoopIterations scrape_loop_iterations(uint16_t admin_port);

// "loop: 3 of 41,200 iterations over 1 ms, the longest 2-5 ms" for the iterations
// between two scrapes; "" if either scrape failed.
std::string describe_loop_stalls(const LoopIterations& before, const LoopIterations& after);

// Scrapes at the window's begin and end without holding up the caller (the load
// client's thread, whose lateness would count as latency): each scrape runs on a
// thread of its own. mark() twice, then describe() waits for both.
class LoopStallWatch {
 public:
  explicit LoopStallWatch(uint16_t admin_port) : port_(admin_port) {}
  void mark(bool begin);
  std::string describe();  // "" unless both marks were made and both scrapes worked

 private:
  uint16_t port_;
  std::future<LoopIterations> begin_, end_;
};

}  // namespace pilot::bench
