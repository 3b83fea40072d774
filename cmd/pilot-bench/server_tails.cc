#include "cmd/pilot-bench/server_tails.h"

#include <httplib.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string_view>

#include "cmd/pilot-bench/report.h"

namespace pilot::bench {

namespace {

constexpr double kLongS = 0.001;

std::string ms_text(double s) {
  if (std::isinf(s)) return "inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, s < 0.001 ? "%.2g" : "%.0f", s * 1000);
  return buf;
}

// One `<family>_bucket{le="..."} <count>` line into h; false if it is not one.
bool parse_bucket(std::string_view line, std::string_view family, ScrapedHistogram& h) {
  const std::string prefix = std::string(family) + "_bucket{le=\"";
  if (line.substr(0, prefix.size()) != prefix) return false;
  const std::string rest(line.substr(prefix.size()));
  const size_t space = rest.rfind(' ');
  if (space == std::string::npos) return false;
  h.le.push_back(rest.rfind("+Inf", 0) == 0 ? INFINITY : std::strtod(rest.c_str(), nullptr));
  h.cumulative.push_back(std::strtoull(rest.c_str() + space + 1, nullptr, 10));
  return true;
}

// "3 of 41,200 <what> over 1 ms, the longest 2-5 ms"; "" if the two differ in shape
// or nothing was counted in between.
std::string describe(const ScrapedHistogram& before, const ScrapedHistogram& after, const char* what) {
  if (after.le.empty() || before.le != after.le) return "";
  const size_t n = after.le.size();
  auto in_run = [&](size_t i) { return after.cumulative[i] - before.cumulative[i]; };
  const uint64_t total = in_run(n - 1);
  if (total == 0) return "";
  uint64_t at_most_long = 0;
  size_t longest = 0;  // the highest bucket with an observation of this run
  for (size_t i = 0; i < n; ++i) {
    if (after.le[i] <= kLongS) at_most_long = in_run(i);
    const uint64_t below = i == 0 ? 0 : in_run(i - 1);
    if (in_run(i) > below) longest = i;
  }
  const double lo = longest == 0 ? 0 : after.le[longest - 1];
  return commas(double(total - at_most_long)) + " of " + commas(double(total)) + " " + what +
         " over 1 ms, the longest " + ms_text(lo) + "-" + ms_text(after.le[longest]) + " ms";
}

}  // namespace

ServerTails scrape_server_tails(uint16_t admin_port) {
  ServerTails out;
  if (admin_port == 0) return out;
  httplib::Client cli("127.0.0.1", admin_port);
  cli.set_connection_timeout(5);
  cli.set_read_timeout(10);
  auto res = cli.Get("/metrics");
  if (!res || res->status != 200) return out;
  std::istringstream in(res->body);
  std::string line;
  while (std::getline(in, line))
    parse_bucket(line, "pilot_loop_iteration_seconds", out.loop) ||
        parse_bucket(line, "pilot_log_fsync_duration_seconds", out.fsync);
  out.ok = true;
  return out;
}

std::string describe_server_tails(const ServerTails& before, const ServerTails& after) {
  if (!before.ok || !after.ok) return "";
  std::string text;
  if (std::string loop = describe(before.loop, after.loop, "iterations"); !loop.empty()) text = "server loop: " + loop;
  if (std::string sync = describe(before.fsync, after.fsync, "syncs"); !sync.empty())
    text += (text.empty() ? "" : "; ") + ("fdatasync: " + sync);
  return text;
}

void ServerTailWatch::mark(bool begin) {
  (begin ? begin_ : end_) = std::async(std::launch::async, [port = port_] { return scrape_server_tails(port); });
}

std::string ServerTailWatch::describe() {
  if (!begin_.valid() || !end_.valid()) return "";
  const ServerTails before = begin_.get();
  return describe_server_tails(before, end_.get());
}

}  // namespace pilot::bench
