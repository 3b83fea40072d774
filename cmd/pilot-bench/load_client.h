// The benches' client: frames sent to a registry port over many non-blocking
// connections from one epoll thread, each reply timed from its request's send time
// (closed loop: `depth` requests in flight per connection; open loop: requests at
// fixed intervals, timed from when they were due). `pilot-bench rpc` and `repl` drive
// the real rendezvous with it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::bench {

// An open-loop connection with this many requests unanswered means the server fell
// behind the offered rate: the run stops and says so.
constexpr size_t kOpenLoopMaxInFlight = 256;

// ---- what the client sends: frame sources ----

class Source {
 public:
  virtual ~Source() = default;
  // Appends connection `conn`'s next request frame to `out`; false when none is left.
  virtual bool next(size_t conn, std::string& out) = 0;
};

// Connection c sends frames c, c+n, c+2n, … (n connections, modulo the pool): with as
// many connections as nodes each connection speaks for one node, as a daemon does.
class CyclicSource final : public Source {
 public:
  CyclicSource(const std::vector<std::string>& frames, size_t conns) : frames_(frames), step_(conns), cursor_(conns) {
    for (size_t c = 0; c < conns; ++c) cursor_[c] = c % frames.size();
  }
  bool next(size_t conn, std::string& out) override {
    size_t& k = cursor_[conn];
    out += frames_[k];
    k = (k + step_) % frames_.size();
    return true;
  }

 private:
  const std::vector<std::string>& frames_;
  size_t step_;
  std::vector<size_t> cursor_;
};

// Every frame once (a new key registers once); `pos` survives the run, so runs share a pool.
class OnceSource final : public Source {
 public:
  OnceSource(const std::vector<std::string>& frames, size_t& pos) : frames_(frames), pos_(pos) {}
  bool next(size_t, std::string& out) override {
    if (pos_ >= frames_.size()) return false;
    out += frames_[pos_++];
    return true;
  }

 private:
  const std::vector<std::string>& frames_;
  size_t& pos_;
};

// Frames made on demand: the RSS fill (1M frames need not sit in memory; it is not timed).
class GenSource final : public Source {
 public:
  GenSource(uint64_t count, std::function<void(uint64_t, std::string&)> gen) : end_(count), gen_(std::move(gen)) {}
  bool next(size_t, std::string& out) override {
    if (next_ >= end_) return false;
    gen_(next_++, out);
    return true;
  }

 private:
  uint64_t next_ = 0, end_;
  std::function<void(uint64_t, std::string&)> gen_;
};

// ---- the client engine ----

// How a reply is judged: an error reply ("type":"error" or 0xFF) or anything but the
// expected success counts as an error.
struct Expect {
  bool check = true;
  bool binary = false;
  uint8_t ok_type = 0;  // binary mode
  std::string ok_json;  // JSON mode: e.g. "\"type\":\"heartbeat_ok\""
};

struct RunConfig {
  uint16_t port = 0;
  size_t conns = 1;
  int depth = 1;              // closed loop: requests in flight per connection
  double open_rate = 0;       // > 0: open loop, this many requests/s over all connections
  double warmup_s = 0.3;      // not measured
  double seconds = 3;         // measured
  uint64_t max_requests = 0;  // 0 = as many as fit in the time
  bool binary = false;        // send the PILT preamble first
  Expect expect;
  std::function<double()> server_cpu;       // CPU seconds of the server side so far
  std::function<double()> server_loop_cpu;  // of its loop thread (real server only)
  bool server_in_process = false;           // the echo server: a thread of this process
  // CPU seconds so far of further processes under test (a follower …): each is
  // reported over the window in RunResult::also_cores and not counted as "other".
  std::vector<std::function<double()>> also_cpu;
  std::function<void(uint64_t replies)> every_tick;  // progress of long runs; phases of the admin part
  // Called on the client thread when the measured window begins (true) and ends
  // (false): keep it short, or hand the work to another thread.
  std::function<void(bool begin)> on_window;
  double tick_s = 1;
  // Every reply, with the time it was read (the client thread; keep it cheap).
  std::function<void(std::string_view body, int64_t now_ns)> on_reply;
};

struct RunResult {
  uint64_t completed = 0;  // replies received in the measured window
  double window_s = 0;
  double rate = 0;
  double p50_ns = 0, p99_ns = 0;
  uint64_t replies = 0;  // all replies, warm-up and drain included
  uint64_t errors = 0;   // among all replies
  std::string first_error;
  double server_cores = -1, client_cores = 0;  // CPU used in the window / window length
  double other_cores = -1;                     // everything else on the machine, same unit
  double server_loop_cores = -1;
  std::vector<double> also_cores;  // RunConfig::also_cpu over the window, same unit
  bool ran_dry = false;            // the source ran out before the time was up
  bool saturated = false;          // open loop: the server fell behind
};

// One measurement: opens the connections, keeps requests flowing from this thread for
// warm-up + measured window, drains what is in flight, closes.
bool run_load(const RunConfig& cfg, Source& src, RunResult& out, std::string& error);

// Setup traffic (registering the node pool, making it public): one blocking connection,
// `window` requests written before their replies are read, so setup is quick without
// filling both socket buffers at once.
bool exchange(uint16_t port, const std::vector<std::string>& frames, std::vector<std::string>& replies,
              std::string& error);

}  // namespace pilot::bench
