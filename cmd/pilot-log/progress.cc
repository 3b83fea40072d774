#include "cmd/pilot-log/progress.h"

#include <cstdio>

namespace pilot::logtool {

namespace {
constexpr auto kPrintEvery = std::chrono::milliseconds(250);
}

std::string with_commas(uint64_t v) {
  std::string digits = std::to_string(v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

Progress::Progress(std::string command, uint64_t first_seq, uint64_t target_seq, bool tty)
    : command_(std::move(command)), first_seq_(first_seq), target_seq_(target_seq), tty_(tty) {}

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::maybe_print(uint64_t seq) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_print_ < kPrintEvery) return;
  last_print_ = now;
  const double rate = static_cast<double>(records_) / std::chrono::duration<double>(now - start_).count();
  std::string pct;
  if (target_seq_ > first_seq_ && seq >= first_seq_) {
    const double f = static_cast<double>(seq - first_seq_) / static_cast<double>(target_seq_ - first_seq_);
    char b[16];
    std::snprintf(b, sizeof b, "%3.0f%% ", 100 * (f > 1 ? 1 : f));
    pct = b;
  }
  std::fprintf(stderr, "\r%s: %sseq %s, %s records/s ", command_.c_str(), pct.c_str(), with_commas(seq).c_str(),
               with_commas(static_cast<uint64_t>(rate)).c_str());
  printed_ = true;
}

void Progress::finish(const std::string& what, uint64_t last_seq, const std::string& extra) {
  if (printed_) std::fputs("\r\033[K", stderr);
  const double secs = seconds();
  const double rate = secs > 0 ? static_cast<double>(records_) / secs : 0;
  std::string range = records_ == 0
                          ? std::string("no records")
                          : "seq " + std::to_string(last_seq + 1 - records_) + ".." + std::to_string(last_seq);
  std::fprintf(stderr, "pilot-log %s: %s %s records (%s) in %.2f s, %s records/s%s%s\n", command_.c_str(), what.c_str(),
               with_commas(records_).c_str(), range.c_str(), secs, with_commas(static_cast<uint64_t>(rate)).c_str(),
               extra.empty() ? "" : "; ", extra.c_str());
}

}  // namespace pilot::logtool
