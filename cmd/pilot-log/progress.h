// Progress of a long fold on stderr: a percentage line rewritten in place at most a
// few times a second on a terminal; nothing while running otherwise (CI logs stay
// short); and always one summary line at the end.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pilot::logtool {

class Progress {
 public:
  // `command` names the line ("replay"); `target_seq` is the seq the fold runs to, or 0
  // when it is not known (no percentage then). `tty`: stderr is a terminal.
  Progress(std::string command, uint64_t first_seq, uint64_t target_seq, bool tty);

  // After each applied record. Cheap: looks at the clock once per 4096 calls.
  void tick(uint64_t seq) {
    ++records_;
    if (tty_ && (records_ & 4095) == 0) maybe_print(seq);
  }
  // Clears the in-place line and prints "pilot-log <command>: <what> <records> records
  // (seq a..b) in T s, R records/s[; <extra>]".
  void finish(const std::string& what, uint64_t last_seq, const std::string& extra = "");

  uint64_t records() const { return records_; }
  double seconds() const;

 private:
  void maybe_print(uint64_t seq);

  std::string command_;
  uint64_t first_seq_;
  uint64_t target_seq_;
  bool tty_;
  bool printed_ = false;
  uint64_t records_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_print_ = start_;
};

// 1234567 -> "1,234,567"
std::string with_commas(uint64_t v);

}  // namespace pilot::logtool
