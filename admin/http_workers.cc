#include "admin/http_workers.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace pilot::admin {

void BackgroundWorkers::lower_this_thread(int nice) {
  if (nice <= 0) return;
  // setpriority(PRIO_PROCESS, tid) sets one thread's nice value on Linux. Relative to
  // the main thread (tid = pid), not to this thread, which may have inherited a lowered
  // value from the thread that created it.
  errno = 0;
  const int base = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::getpid()));
  if (errno != 0) return;
  const id_t tid = static_cast<id_t>(::syscall(SYS_gettid));
  (void)::setpriority(PRIO_PROCESS, tid, std::min(19, base + nice));
}

BackgroundWorkers::BackgroundWorkers(size_t threads, int nice) : nice_(nice) {
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

BackgroundWorkers::~BackgroundWorkers() { shutdown(); }

void BackgroundWorkers::enqueue(std::function<void()> fn) {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    jobs_.push_back(std::move(fn));
  }
  cv_.notify_one();
}

void BackgroundWorkers::shutdown() {
  {
    std::lock_guard lk(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void BackgroundWorkers::run() {
  lower_this_thread(nice_);
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and everything queued has run
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace pilot::admin
