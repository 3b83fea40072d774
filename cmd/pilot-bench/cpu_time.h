// Clocks and CPU accounting for the end-to-end benches: where the time of the client,
// the server processes and the rest of the machine went during a measured window.
// Everything is read from the kernel (/proc, per-thread and per-process CPU clocks).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace pilot::bench {

int64_t mono_ns();            // CLOCK_MONOTONIC
double thread_cpu_seconds();  // the calling thread's CPU time
// utime + stime of a process (all its threads) or one thread, from a /proc/…/stat file,
// in seconds (tick precision).
double process_cpu_seconds(const std::string& stat_path);
// A process' CPU clock at nanosecond precision (readable by its parent); -1 if refused.
double process_cpu_clock_seconds(pid_t pid);
// A thread's run time from the scheduler's /proc/<pid>/task/<tid>/sched; -1 if absent.
double thread_runtime_seconds(pid_t pid, pid_t tid);
// CPU seconds the whole machine spent busy (steal included: on a VM it is time we lost).
double machine_busy_seconds();

// Context switches of a process' threads (/proc/<pid>/task/*/status): a thread woken
// on the loop's CPU preempts the loop, which then shows involuntary switches.
struct Switches {
  uint64_t loop_involuntary = 0, loop_voluntary = 0;    // the loop thread (tid == pid)
  uint64_t other_involuntary = 0, other_voluntary = 0;  // every other thread
  double seconds = 0;
  Switches operator-(const Switches& b) const {
    return {loop_involuntary - b.loop_involuntary, loop_voluntary - b.loop_voluntary,
            other_involuntary - b.other_involuntary, other_voluntary - b.other_voluntary, 0};
  }
};
Switches process_switches(pid_t pid);

}  // namespace pilot::bench
