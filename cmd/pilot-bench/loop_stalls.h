// The server's own share of a latency tail: how many of its loop thread's iterations
// were long during a run. Read from the histogram pilot_loop_iteration_seconds on the
// server's /metrics (net/rpc/loop_meter.h) before and after the run; the difference
// is the run's. A request in flight during a 3 ms iteration waited up to 3 ms, so
// iterations over 1 ms next to a p99 over 1 ms say "the server"; none says the time
// was lost elsewhere (the client, the kernel, the VM taking the CPU away).
#pragma once

#include <cstdint>
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

}  // namespace pilot::bench
