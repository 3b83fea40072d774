// The request pulse (spec §16 "Pulse loop"): every second the loop thread samples the
// registry's request total into a ring of 120 samples; the dashboard draws it and
// /api/public-stats derives requests/s over the last 10 s from it.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

namespace pilot::admin {

class Pulse {
 public:
  struct Sample {
    int64_t ts_ms = 0;  // unix milliseconds
    uint64_t total = 0;
  };
  static constexpr size_t kSamples = 120;

  // `total` is read on the loop thread once a second.
  Pulse(uv_loop_t* loop, std::function<uint64_t()> total);
  // Loop thread.
  void start();
  void stop();

  // Any thread.
  std::vector<Sample> samples() const;
  uint64_t latest_total() const;
  // Requests per second over the last `window_s` seconds of samples (0 if fewer than
  // two samples).
  double rate(int window_s = 10) const;

  // Loop thread (the timer calls it; tests call it directly).
  void sample(int64_t now_ms);

 private:
  uv_loop_t* loop_;
  std::function<uint64_t()> total_;
  uv_timer_t timer_{};
  bool running_ = false;
  mutable std::mutex mu_;
  std::deque<Sample> ring_;
};

}  // namespace pilot::admin
