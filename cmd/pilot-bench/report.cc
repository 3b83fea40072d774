#include "cmd/pilot-bench/report.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>

#include "cmd/pilot-bench/machine.h"

namespace pilot::bench {

void progress(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fputs("[pilot-bench] ", stderr);
  std::vfprintf(stderr, fmt, ap);
  std::fputc('\n', stderr);
  std::fflush(stderr);
  va_end(ap);
}

std::string commas(double v) {
  const long long n = std::llround(v);
  const std::string d = std::to_string(n < 0 ? -n : n);
  std::string out = n < 0 ? "-" : "";
  for (size_t i = 0; i < d.size(); ++i) {
    if (i > 0 && (d.size() - i) % 3 == 0) out += ',';
    out += d[i];
  }
  return out;
}

std::string latency_text(double ns) {
  if (ns <= 0) return "-";
  if (ns < 1e6) return strf("%.0f us", ns / 1e3);
  if (ns < 1e9) return strf("%.2f ms", ns / 1e6);
  return strf("%.2f s", ns / 1e9);
}

const char* pass_fail(bool ok) { return ok ? "PASS" : "FAIL"; }

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

void Report::row(std::vector<std::string> cells) {
  cells.resize(cols_.size());
  rows_.push_back({Kind::kRow, std::move(cells)});
}

void Report::print(FILE* f) const {
  const size_t n = cols_.size();
  std::vector<size_t> w(n);
  for (size_t i = 0; i < n; ++i) w[i] = cols_[i].head.size();
  for (const Row& r : rows_)
    if (r.kind == Kind::kRow)
      for (size_t i = 0; i < n; ++i) w[i] = std::max(w[i], r.cells[i].size());
  size_t total = n ? 3 * (n - 1) : 0;
  for (size_t x : w) total += x;
  auto line = [&](const std::vector<std::string>& c) {
    std::string s;
    for (size_t i = 0; i < n; ++i) {
      const std::string& v = c[i];
      const std::string pad(w[i] - std::min(w[i], v.size()), ' ');
      s += cols_[i].right ? pad + v : (i == n - 1 ? v : v + pad);
      if (i < n - 1) s += " | ";
    }
    std::fprintf(f, "%s\n", s.c_str());
  };
  std::vector<std::string> heads;
  for (const Column& c : cols_) heads.push_back(c.head);
  line(heads);
  std::fprintf(f, "%s\n", std::string(total, '=').c_str());
  for (const Row& r : rows_) {
    if (r.kind == Kind::kRow) {
      line(r.cells);
    } else if (r.kind == Kind::kSection) {
      const size_t used = r.cells[0].size() + 4;
      std::fprintf(f, "-- %s %s\n", r.cells[0].c_str(), std::string(total > used ? total - used : 2, '-').c_str());
    } else {
      std::fprintf(f, "     %s\n", r.cells[0].c_str());
    }
  }
}

}  // namespace pilot::bench
