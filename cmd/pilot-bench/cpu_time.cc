#include "cmd/pilot-bench/cpu_time.h"

#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

namespace pilot::bench {

int64_t mono_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double thread_cpu_seconds() {
  timespec ts;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

double process_cpu_seconds(const std::string& stat_path) {
  std::ifstream f(stat_path);
  std::string s;
  std::getline(f, s);
  const size_t rp = s.rfind(')');  // the command name may contain spaces
  if (rp == std::string::npos || rp + 2 > s.size()) return 0;
  std::vector<std::string> tok;
  std::string t;
  for (size_t i = rp + 2; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == ' ') {
      tok.push_back(t);
      t.clear();
    } else {
      t += s[i];
    }
  }
  if (tok.size() < 13) return 0;  // tok[0] is field 3 (state); utime and stime are fields 14, 15
  return double(std::strtoull(tok[11].c_str(), nullptr, 10) + std::strtoull(tok[12].c_str(), nullptr, 10)) /
         double(::sysconf(_SC_CLK_TCK));
}

// The tick counters above are too coarse for the few ms a hundred admin GETs cost. A
// process' CPU clock is readable by its parent; a thread's runtime of another process
// only through the scheduler's debug file.
double process_cpu_clock_seconds(pid_t pid) {
  clockid_t clock;
  timespec ts;
  if (::clock_getcpuclockid(pid, &clock) != 0 || ::clock_gettime(clock, &ts) != 0) return -1;
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

double thread_runtime_seconds(pid_t pid, pid_t tid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/sched");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("se.sum_exec_runtime", 0) == 0) {
      const size_t colon = line.find(':');
      return colon == std::string::npos ? -1 : std::strtod(line.c_str() + colon + 1, nullptr) / 1e3;  // ms
    }
  return -1;
}

Switches process_switches(pid_t pid) {
  Switches s;
  std::error_code ec;
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  for (std::filesystem::directory_iterator it(task, ec), end; !ec && it != end; it.increment(ec)) {
    std::ifstream f(it->path() / "status");
    const bool loop = it->path().filename() == std::to_string(pid);
    for (std::string line; std::getline(f, line);) {
      const uint64_t v = std::strtoull(line.c_str() + line.find(':') + 1, nullptr, 10);
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0) (loop ? s.loop_voluntary : s.other_voluntary) += v;
      if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) (loop ? s.loop_involuntary : s.other_involuntary) += v;
    }
  }
  return s;
}

double machine_busy_seconds() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  uint64_t v[8] = {};  // user nice system idle iowait irq softirq steal
  f >> cpu;
  for (uint64_t& x : v) f >> x;
  return double(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / double(::sysconf(_SC_CLK_TCK));
}

}  // namespace pilot::bench
