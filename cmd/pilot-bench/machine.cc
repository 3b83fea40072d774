#include "cmd/pilot-bench/machine.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace pilot::bench {

// Any length: report lines can be long.
std::string strf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  const int n = std::vsnprintf(nullptr, 0, fmt, ap);
  va_end(ap);
  std::string s(n > 0 ? size_t(n) : 0, '\0');
  if (n > 0) std::vsnprintf(s.data(), s.size() + 1, fmt, ap2);
  va_end(ap2);
  return s;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  return "unknown CPU";
}

std::string machine_line() {
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  double mem_gib = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGESIZE)) /
                   (1024.0 * 1024 * 1024);
  struct utsname u;
  std::string kernel = ::uname(&u) == 0 ? std::string(u.sysname) + " " + u.release : "?";
  return strf("%ld CPUs, %s, %.1f GiB RAM, %s", cpus, cpu_model().c_str(), mem_gib, kernel.c_str());
}

std::string load_average() {
  double l[3] = {0, 0, 0};
  if (::getloadavg(l, 3) != 3) return "?";
  return strf("%.2f %.2f %.2f", l[0], l[1], l[2]);
}

double percentile(std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]);
}

const char* client_build_kind() {
#if defined(NDEBUG) && defined(__OPTIMIZE__)
  return "optimized, NDEBUG (this binary; the server's build is its own)";
#elif defined(__OPTIMIZE__)
  return "optimized, assertions on";
#else
  return "UNOPTIMIZED (numbers are not representative)";
#endif
}

}  // namespace pilot::bench
