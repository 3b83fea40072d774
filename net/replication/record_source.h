// The leader's side of log shipping at the byte level: hands out durable records of
// the local log exactly as they are on disk, in order, from any position — the catch-up
// from old segments and the live tail are the same loop.
//
// A live log::Scanner walks the segments (framing, CRC, sequence order: the one piece
// of code that decides what a valid record is), and each record it returns is then
// read back from the segment file as bytes, in runs, with one pread per run. So what
// goes on the wire is what is on disk, never a re-encoding of it.
//
// The caller says how far it may read (the writer's durable seq): a record that is
// written but not yet durable could still vanish in recovery, and must not reach a
// follower first.
//
// Memory: the scanner's read buffer plus the caller's batch; a follower that reads
// slowly simply holds an older position in the files.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "log/format.h"
#include "log/scanner.h"

namespace pilot::repl {

class RecordSource {
 public:
  explicit RecordSource(std::string log_dir);
  ~RecordSource();
  RecordSource(const RecordSource&) = delete;
  RecordSource& operator=(const RecordSource&) = delete;

  enum class Seek {
    kOk,            // positioned just after `seq`
    kAhead,         // the log has no durable record `seq` yet (follower ahead of us)
    kDiverged,      // record `seq` exists with another hash
    kNeedSnapshot,  // the log starts after seq + 1 (older records are not retained)
    kError,         // the log cannot be read (error())
  };
  // Positions after record `seq`, which must have hash `hash` (seq 0: before the first
  // record). `durable` is how far the log may be read.
  Seek seek(uint64_t seq, const log::Hash& hash, uint64_t durable);

  enum class Read { kRecords, kNothing, kError };
  // Appends whole records after the position and up to `upto` to `out`, stopping once
  // `out` reaches `max_bytes` (a single larger record is still returned whole).
  Read read(uint64_t upto, size_t max_bytes, std::string& out);

  // The last record handed out (or seeked to).
  uint64_t position() const { return next_seq_ - 1; }
  const std::string& error() const { return error_; }

 private:
  // A run of consecutive records in one segment, read with one pread.
  struct Run {
    std::string path;
    uint64_t start = 0, end = 0;
    uint64_t first_seq = 0, last_seq = 0;
    log::Hash last_hash{};
  };
  bool flush(Run& run, std::string& out);
  bool scanner_error(const char* what);

  std::string dir_;
  std::unique_ptr<log::Scanner> scanner_;
  uint64_t next_seq_ = 1;
  int fd_ = -1;
  std::string fd_path_;
  std::optional<std::chrono::steady_clock::time_point> unreadable_since_;
  std::string error_;
};

}  // namespace pilot::repl
