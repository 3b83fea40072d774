// Log retention: which segments may go once snapshot.db covers them.
//
// A segment is *covered* when every record in it is at or below the last durable
// snapshot's seq — known without reading it: its records end where the next segment
// begins. Only a prefix of the log is ever deleted (oldest first, each unlink made
// durable before the next), so what stays is always a contiguous suffix whose first
// segment header (first_seq, prev_hash) chains it to the snapshot. The last segment is
// the writer's and is never deleted, covered or not.
//
// Policy (`--log-retention`):
//   all  (default) keep every segment: full-history audit replay (`pilot-log replay
//        --to-seq`, `export`) needs them, and the reference keeps everything too.
//   N    keep the newest N covered segments, delete the older covered ones. The margin
//        exists for followers: one that reconnects after a short outage resumes from
//        the log (cheap, incremental) instead of downloading the whole snapshot; with
//        64 MiB segments N=2 is ~128 MiB of records behind the snapshot. N=0 keeps
//        only what the snapshot does not cover.
//
// A reader positioned in a deleted segment keeps its open descriptor (POSIX unlink);
// one that has not opened it yet finds the log starting later, which is what the
// replication leader answers with a snapshot (net/replication/PROTOCOL.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "log/scanner.h"

namespace pilot::log {

struct RetentionPolicy {
  bool keep_all = true;
  uint64_t keep_covered = 0;  // when !keep_all: covered segments to keep
  // "all" | a decimal N (0..1000000)
  static std::optional<RetentionPolicy> parse(std::string_view text);
  std::string to_string() const;
};

// The segments of `segments` (sorted by first_seq, as list_segments returns them) that
// the policy deletes when the snapshot covers every record up to `covered_seq`: a
// prefix of the list, never the last entry.
std::vector<SegmentFile> segments_to_delete(const std::vector<SegmentFile>& segments, uint64_t covered_seq,
                                            const RetentionPolicy& policy);

struct RetentionResult {
  size_t deleted = 0;
  uint64_t deleted_bytes = 0;
  uint64_t first_kept_seq = 0;  // first_seq of the oldest segment left (0: no segments)
};

// Deletes what segments_to_delete() names, oldest first, syncing the directory after
// each unlink (a crash leaves a contiguous suffix). `covered_seq` must be the seq of a
// durable snapshot.db. False + error on the first unlink that fails (what was deleted
// before it stays deleted and is counted).
bool apply_retention(const std::string& log_dir, uint64_t covered_seq, const RetentionPolicy& policy,
                     RetentionResult& out, std::string& error);

}  // namespace pilot::log
