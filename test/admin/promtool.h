// `promtool check metrics` (Debian package `prometheus`) as a second, independent
// judge of our exposition text, when it is installed. Prometheus's own parser runs
// over the text; its linter's findings come back one per line.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace pilot::admin::testing {

inline bool promtool_available() { return std::system("command -v promtool >/dev/null 2>&1") == 0; }

struct PromtoolResult {
  bool parsed = false;                // false: Prometheus could not parse the text
  std::string output;                 // what promtool printed
  std::vector<std::string> findings;  // lint lines ("<metric> <problem>")
};

// nullopt when promtool is not installed.
inline std::optional<PromtoolResult> promtool_check(const std::string& text) {
  if (!promtool_available()) return std::nullopt;
  char path[] = "/tmp/pilot-metrics-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return std::nullopt;
  ::close(fd);
  std::ofstream(path, std::ios::binary) << text;
  const std::string cmd = std::string("promtool check metrics < ") + path + " 2>&1";
  PromtoolResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = p ? ::pclose(p) : -1;
  ::unlink(path);
  // Exit 0: clean; 3: parsed, with lint findings; anything else: not parsed.
  const int code = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.parsed = code == 0 || code == 3;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) r.findings.push_back(line);
  return r;
}

}  // namespace pilot::admin::testing
