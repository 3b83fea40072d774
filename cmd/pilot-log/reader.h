// What verify, dump and stats share: walking the log, and saying where it broke.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/events.h"
#include "log/scanner.h"

namespace pilot::logtool {

// The first bad spot of a log, in the words of the FAIL line.
struct Failure {
  std::string segment;     // path of the segment file
  uint64_t offset = 0;     // byte offset of the bad record (or header) in it
  uint64_t after_seq = 0;  // last good sequence number before it
  std::string what;
  bool in_last_segment = false;
  bool past_end = false;  // non-zero bytes after the end of data (the scanner ended cleanly)
};

// "FAIL: <segment> offset <n> after seq <s>: <what>"
std::string fail_line(const Failure& f);

Failure from_scan_error(const log::ScanError& e);

// The prev_hash field of a segment's header: the hash of the record before its first
// (nullopt if the header cannot be read).
std::optional<log::Hash> segment_prev_hash(const std::string& path);

// 0 when `log_dir` is a directory, else prints why not to stderr and returns 1.
int check_log_dir(const std::string& log_dir);

// Walks records in order with log::Scanner (which also rejects non-zero bytes after
// the end of data), and with decode=true checks that every payload decodes as its kind.
class Reader {
 public:
  enum class Status { kRecord, kEnd, kError };

  Reader(std::string log_dir, uint64_t from_seq, bool decode);

  // On kRecord `rec` is filled and, with decode, `ev` holds its event.
  Status next(log::Record& rec, Event& ev);
  const Failure& failure() const { return failure_; }
  const log::Scanner& scanner() const { return scanner_; }
  // Offset of the last returned record in scanner().current_segment().
  uint64_t record_offset() const { return record_offset_; }
  // Segments entered so far.
  uint64_t segments() const { return segments_; }

 private:
  log::Scanner scanner_;
  bool decode_;
  std::string segment_;  // segment of the previous record
  uint64_t record_offset_ = 0;
  uint64_t segments_ = 0;
  bool done_ = false;
  Failure failure_;
};

}  // namespace pilot::logtool
