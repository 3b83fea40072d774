// Follows a live log: hands out records in order as they become durable. Followers
// (replication) and the beacon consume the log through it.
//
// In-process (a Writer is given) it never reads past the writer's durable sequence
// number and sleeps on the writer's durable signal. Out of process it polls the
// segment files; a record still being written is simply not returned yet.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "log/scanner.h"
#include "log/writer.h"

namespace pilot::log {

class Tailer {
 public:
  enum class Status { kRecord, kTimeout, kError };

  Tailer(std::string log_dir, uint64_t from_seq, const Writer* writer = nullptr);

  // Waits up to `wait` for the next record.
  Status next(Record& out, std::chrono::milliseconds wait);
  const ScanError& error() const;
  uint64_t last_seq() const { return scanner_.last_seq(); }

 private:
  Scanner scanner_;
  const Writer* writer_;
  uint64_t next_seq_;
  std::optional<std::chrono::steady_clock::time_point> unreadable_since_;
  ScanError unreadable_error_;
};

}  // namespace pilot::log
