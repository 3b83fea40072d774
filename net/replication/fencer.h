// A promoted node's reminder to the leader it replaced: "the term is T now".
//
// keepalived (or an operator) promotes the follower when the leader looks dead. It may
// only be unreachable, or come back later as it was — still a leader at the old term,
// taking writes that the new leader will never have. So the new leader keeps knocking
// on the old leader's replication port (the address it used to follow) with a hello
// that carries the new term:
//
//   * a stale leader there refuses it with "stale term" and, seeing a term above its
//     own, stops taking writes (leader.h: fencing; the host logs it and remembers the
//     term in its term file, so a restart as-is stays fenced);
//   * nothing listening (dead, or restarted as a follower, which has no listener):
//     tried again a second later, quietly;
//   * a leader there at a *higher* term welcomes us: we are the stale one, and
//     `on_newer_term` tells our host, which fences itself. (The connection is closed
//     right after the welcome: nothing is ever taken from it.)
//
// One thread with blocking, bounded sockets (connect, hello, one frame back, close),
// once per `interval`, until stop().
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace pilot::repl {

struct FencerOptions {
  std::string old_leader_addr;  // HOST:PORT, the address this node used to --follow
  std::string token;
  uint64_t term = 0;  // ours, as leader
  int64_t interval_ns = int64_t{1} * 1000000000;
  int64_t timeout_ns = int64_t{2} * 1000000000;  // connect, and the answer
};

class Fencer {
 public:
  // `on_newer_term` runs on the fencer's thread.
  Fencer(FencerOptions opts, std::function<void(uint64_t term, const std::string& who)> on_newer_term);
  ~Fencer();  // stop()
  Fencer(const Fencer&) = delete;
  Fencer& operator=(const Fencer&) = delete;

  void start();
  void stop();  // wakes the thread from any wait and joins it

  // How the last knock went (for tests and logs).
  enum class Outcome { kNone, kUnreachable, kFenced, kRefused, kNewerLeader, kSameTerm };
  Outcome last_outcome() const { return last_.load(); }

 private:
  void main();
  Outcome knock(std::string& detail, uint64_t& their_term);
  bool wait_io(int fd, short events, int64_t deadline_ns);

  FencerOptions opts_;
  std::function<void(uint64_t, const std::string&)> on_newer_term_;
  std::thread thread_;
  int wake_[2] = {-1, -1};  // stop() writes here: every poll watches it
  std::atomic<bool> stopping_{false};
  std::atomic<Outcome> last_{Outcome::kNone};
};

}  // namespace pilot::repl
