// The admin server's worker threads: a small pool (cpp-httplib's TaskQueue) whose
// threads run at a lower CPU priority than the rest of the process.
//
// Why: on a 2-core machine the registry's loop thread is the bottleneck, and a
// dashboard or a Prometheus scrape that wakes on its core preempts it (measured:
// 50 admin GETs/s took 7% of the RPC throughput, most of it in involuntary context
// switches of the loop thread). Operators' reads can wait a few milliseconds; the
// daemons' requests should not. Linux applies nice per thread.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pilot::admin {

class BackgroundWorkers final : public httplib::TaskQueue {
 public:
  // `nice`: added to the process's nice value for each worker (0..19).
  BackgroundWorkers(size_t threads, int nice);
  ~BackgroundWorkers() override;

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;  // runs what is queued, then joins

  // Sets the calling thread to `nice` above the main thread (best effort, silent).
  static void lower_this_thread(int nice);

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  int nice_;
};

}  // namespace pilot::admin
