// Follower lag as a reader sees it: how long after the leader acknowledged a mutation
// is it visible on a follower? The load client hands every acknowledged registration
// to acknowledged() (node id, time its reply was read); a probe thread, about `rate`
// times a second, takes the newest one and asks the follower's registry port for that
// node (`lookup`) in a tight loop until the answer is lookup_ok. One sample is
//   lag = (time that answer was read) − (time the leader's reply was read),
// so it includes one lookup round trip on the follower (reported: the resolution).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pilot::bench {

struct LagSample {
  int64_t acked_ns = 0;     // the leader's reply was read (mono_ns)
  int64_t visible_ns = 0;   // the follower's lookup_ok was read; 0 = timed out
  int64_t last_rtt_ns = 0;  // the round trip of that lookup
  uint32_t polls = 0;       // lookups sent for this sample
};

class LagProbe {
 public:
  // `follower_port`: the follower's registry port on 127.0.0.1. A sample not visible
  // after `timeout_s` is recorded with visible_ns 0 and the probe moves on.
  LagProbe(uint16_t follower_port, double rate, double timeout_s);
  ~LagProbe();
  LagProbe(const LagProbe&) = delete;
  LagProbe& operator=(const LagProbe&) = delete;

  bool start(std::string& error);  // connects; the thread samples from now on
  std::vector<LagSample> stop();   // every sample so far; `error()` if the probe failed
  const std::string& error() const { return error_; }

  // The load client's thread, for every acknowledged mutation: cheap (a short lock).
  void acknowledged(uint32_t node_id, int64_t now_ns);

 private:
  void run();
  bool lookup_visible(uint32_t id, int64_t& rtt_ns);

  uint16_t port_;
  int64_t period_ns_, timeout_ns_;
  int fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  uint32_t newest_id_ = 0;
  int64_t newest_ns_ = 0;
  std::vector<LagSample> samples_;  // the probe thread's until stop()
  std::string error_, in_;
};

}  // namespace pilot::bench
