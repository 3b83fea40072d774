#include "cmd/pilot-bench/loop_stalls.h"

#include <httplib.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "cmd/pilot-bench/report.h"

namespace pilot::bench {

namespace {

constexpr const char* kBucket = "pilot_loop_iteration_seconds_bucket{le=\"";
constexpr double kStallS = 0.001;

std::string ms_text(double s) {
  if (std::isinf(s)) return "inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, s < 0.001 ? "%.2g" : "%.0f", s * 1000);
  return buf;
}

}  // namespace

LoopIterations scrape_loop_iterations(uint16_t admin_port) {
  LoopIterations out;
  if (admin_port == 0) return out;
  httplib::Client cli("127.0.0.1", admin_port);
  cli.set_connection_timeout(5);
  cli.set_read_timeout(10);
  auto res = cli.Get("/metrics");
  if (!res || res->status != 200) return out;
  std::istringstream in(res->body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(kBucket, 0) != 0) continue;
    const char* p = line.c_str() + std::char_traits<char>::length(kBucket);
    const double le = std::string_view(p).rfind("+Inf", 0) == 0 ? INFINITY : std::strtod(p, nullptr);
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) return {};
    out.le.push_back(le);
    out.cumulative.push_back(std::strtoull(line.c_str() + space + 1, nullptr, 10));
  }
  out.ok = !out.le.empty();
  return out;
}

std::string describe_loop_stalls(const LoopIterations& before, const LoopIterations& after) {
  if (!before.ok || !after.ok || before.le != after.le) return "";
  const size_t n = after.le.size();
  auto in_run = [&](size_t i) { return after.cumulative[i] - before.cumulative[i]; };
  const uint64_t total = in_run(n - 1);
  uint64_t at_most_1ms = 0;
  size_t longest = 0;  // the highest bucket with an iteration of this run
  for (size_t i = 0; i < n; ++i) {
    if (after.le[i] <= kStallS) at_most_1ms = in_run(i);
    const uint64_t below = i == 0 ? 0 : in_run(i - 1);
    if (in_run(i) > below) longest = i;
  }
  std::string text =
      "server loop: " + commas(double(total - at_most_1ms)) + " of " + commas(double(total)) + " iterations over 1 ms";
  if (total > 0) {
    const double lo = longest == 0 ? 0 : after.le[longest - 1];
    text += ", the longest " + ms_text(lo) + "-" + ms_text(after.le[longest]) + " ms";
  }
  return text;
}

void LoopStallWatch::mark(bool begin) {
  (begin ? begin_ : end_) = std::async(std::launch::async, [port = port_] { return scrape_loop_iterations(port); });
}

std::string LoopStallWatch::describe() {
  if (!begin_.valid() || !end_.valid()) return "";
  const LoopIterations before = begin_.get();
  return describe_loop_stalls(before, end_.get());
}

}  // namespace pilot::bench
