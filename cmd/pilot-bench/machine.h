// What every pilot-bench report shares: the machine it ran on and how numbers are
// summarised. Results are only readable next to the machine that produced them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pilot::bench {

// printf into a std::string.
__attribute__((format(printf, 1, 2))) std::string strf(const char* fmt, ...);
std::string cpu_model();     // "AMD EPYC ..." from /proc/cpuinfo
std::string machine_line();  // "2 CPUs, <model>, 23.5 GiB RAM, Linux 6.x"
std::string load_average();  // "0.73 1.29 1.30"
// How this binary was compiled, for the end-to-end benches' header (the servers they
// start were built on their own).
const char* client_build_kind();
// The q-quantile (0..1) of `v`; reorders `v`. 0 for an empty vector.
double percentile(std::vector<int64_t>& v, double q);

}  // namespace pilot::bench
