// Is this machine quiet enough to measure on? On a small VM shared with other work, a
// neighbour's burst moves a throughput figure by more than most effects we look for,
// and the host preempting a vCPU puts a floor under every tail latency. These checks
// say how noisy the machine was, and wait for it to calm down.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace pilot::bench {

// A run during which the rest of the machine used more than this share of a core is
// measured again (up to twice) once the machine is quiet.
constexpr double kBusyOther = 0.3;

struct Jitter {
  int cpu = -1;
  uint64_t gaps_over_1ms = 0;
  int64_t max_gap_ns = 0;
  double lost_share = 0;  // of the probe's time, in gaps over 50 us
};

// One thread per CPU reads the clock in a tight loop for `seconds`; a gap between two
// reads is time the thread did not run (the host preempting the vCPU, interrupts,
// other tasks). A request in flight across such a gap waits for it, whoever serves it:
// on a VM this bounds the tail latency anything here can show.
std::vector<Jitter> probe_jitter(const std::vector<int>& cpus, double seconds);

// Waits (at most `max_seconds`) until everything but this process and the servers
// under test (`servers_cpu_seconds`: their CPU seconds so far) uses under 15% of a
// core over half a second.
void wait_machine_quiet(double max_seconds, const std::function<double()>& servers_cpu_seconds);

}  // namespace pilot::bench
