// Opening a log after a crash.
//
// Recovery walks every record (log/scanner.h). Damage is handled by where it is:
//   * a torn tail — the last segment ends in a partial or garbled record (or non-zero
//     bytes after its data), with no valid record further than kTornTailWindow bytes
//     past the last good one — is what a crash during a
//     write leaves. Those bytes were never acknowledged (fsync=always), so they are
//     cut off: the segment is truncated at the last valid record and the cut is
//     reported. A last segment whose header never reached the disk is removed.
//   * anything else — damage in an older segment, or a bad record followed by valid
//     ones — is mid-log corruption of acknowledged data. Recovery refuses to start and
//     names the record; nothing is skipped silently. (`pilot-log verify` shows the same.)
#pragma once

#include <cstdint>
#include <string>

#include "log/format.h"

namespace pilot::log {

struct RecoveryResult {
  uint64_t records = 0;  // valid records found
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;  // 0 = empty log
  uint64_t last_term = 0;
  Hash last_hash{};
  std::string segment;         // last segment's path; empty if there is none
  uint64_t end_offset = 0;     // where the next record goes in it
  bool repaired = false;       // a torn tail was (inspect: would be) cut off
  std::string report;          // what was repaired, for the operator's log
  std::string remove_segment;  // a last segment with a torn header, to delete
};

// Read-only: checks the whole log and says what recover() would do — the same
// judgement, for `pilot-log stats` and anyone else who must not touch the files.
// Returns false and sets `error` where recover() would refuse to start.
bool inspect(const std::string& log_dir, RecoveryResult& out, std::string& error);

// Returns false and sets `error` on mid-log corruption or I/O failure.
// `segment_bytes` is the preallocation size restored after a truncation.
bool recover(const std::string& log_dir, uint64_t segment_bytes, RecoveryResult& out, std::string& error);

}  // namespace pilot::log
