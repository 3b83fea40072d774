#include "cmd/pilot-bench/machine_noise.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

#include "cmd/pilot-bench/cpu_time.h"
#include "cmd/pilot-bench/report.h"

namespace pilot::bench {

std::vector<Jitter> probe_jitter(const std::vector<int>& cpus, double seconds) {
  std::vector<Jitter> out(cpus.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < cpus.size(); ++i)
    threads.emplace_back([&out, &cpus, i, seconds] {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpus[i], &set);
      ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
      Jitter& j = out[i];
      j.cpu = cpus[i];
      const int64_t start = mono_ns(), end = start + int64_t(seconds * 1e9);
      int64_t prev = start, lost = 0;
      for (int64_t t; (t = mono_ns()) < end; prev = t) {
        const int64_t gap = t - prev;
        if (gap > 50'000) lost += gap;
        if (gap > 1'000'000) ++j.gaps_over_1ms;
        j.max_gap_ns = std::max(j.max_gap_ns, gap);
      }
      j.lost_share = double(lost) / double(end - start);
    });
  for (std::thread& t : threads) t.join();
  return out;
}

void wait_machine_quiet(double max_seconds, const std::function<double()>& servers_cpu_seconds) {
  const int64_t deadline = mono_ns() + int64_t(max_seconds * 1e9);
  while (mono_ns() < deadline) {
    const double b0 = machine_busy_seconds(), s0 = process_cpu_seconds("/proc/self/stat"), v0 = servers_cpu_seconds();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const double other =
        machine_busy_seconds() - b0 - (process_cpu_seconds("/proc/self/stat") - s0) - (servers_cpu_seconds() - v0);
    if (other < 0.075) return;
  }
  progress("  (the machine is still busy after %.0f s; measuring anyway)", max_seconds);
}

}  // namespace pilot::bench
