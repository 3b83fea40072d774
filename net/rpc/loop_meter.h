// How long the loop thread is busy between two waits for I/O. Every request, timer
// and reply of the registry runs on one libuv loop thread, so a long iteration (a big
// sweep, a slow callback) delays the connections waiting in it: the server's own share
// of the latency tail, separate from the machine's (preemption) and the client's. The
// meter measures each iteration's busy time, exposed as the histogram
// pilot_loop_iteration_seconds, plus the busy fraction (pilot_loop_busy_seconds_total
// against the process uptime), and logs a WARN for an iteration over
// kLoopStallWarnNs (at most one line per kLoopStallWarnEveryNs).
//
// How: libuv runs prepare callbacks once per iteration, just before it blocks in
// epoll_wait, and with UV_METRICS_IDLE_TIME counts the time spent blocked. Between two
// prepare callbacks the loop either waited (idle time) or ran callbacks, so
//   busy = (now - previous prepare) - (idle now - idle at the previous prepare).
// Two clock reads per iteration; nothing allocates.
//
// Reading it: under light load an iteration is one batch of ready sockets, and a long
// one is a stall. A saturated loop is different: when epoll hands libuv a full batch
// (1024 events) it polls again at once, up to 48 times, inside the same iteration, so
// iterations of 100-500 ms appear (measured at 1024 busy connections) while requests
// are answered all along. There a long iteration says "saturated", not "stuck", and
// pilot_loop_busy_seconds_total tells which. Bursts of connects or closes (hundreds in
// one batch) make iterations of a few ms.
#pragma once

#include <uv.h>

#include <cstdint>

#include "core/histogram.h"

namespace pilot::rpc {

inline constexpr int64_t kLoopStallWarnNs = 250'000'000;
inline constexpr int64_t kLoopStallWarnEveryNs = 10'000'000'000;

class LoopMeter {
 public:
  LoopMeter();

  // Call before the loop first runs (uv_loop_configure's rule for
  // UV_METRICS_IDLE_TIME); returns false if libuv refuses, and the meter stays off.
  static bool enable_idle_time(uv_loop_t* loop);

  // Loop thread. start() after enable_idle_time(); stop() before the loop closes.
  void start(uv_loop_t* loop);
  void stop();

  // Loop thread (the metrics are rendered there).
  HistogramData iterations() const { return iterations_.data(); }
  uint64_t busy_ns() const { return busy_ns_; }
  uint64_t longest_ns() const { return longest_ns_; }
  bool running() const { return running_; }

  static const uint64_t kBoundsNs[];

 private:
  static void on_prepare(uv_prepare_t* h);

  uv_loop_t* loop_ = nullptr;
  uv_prepare_t prepare_{};
  bool running_ = false;
  uint64_t last_ns_ = 0;
  uint64_t last_idle_ns_ = 0;
  uint64_t busy_ns_ = 0;
  uint64_t longest_ns_ = 0;
  uint64_t last_warn_ns_ = 0;
  Histogram iterations_;
};

}  // namespace pilot::rpc
