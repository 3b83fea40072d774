// Cutting the log back to a chosen record — the one deliberate removal of valid
// records. Recovery (recovery.h) only ever cuts bytes that were never acknowledged;
// this cuts records on purpose: an old leader rejoining as a follower drops the
// divergent tail the new leader never had (net/replication/rewind.h).
//
// Crash safety: whole segments after the cut go first, newest first, each unlink made
// durable before the next; then the segment holding the cut record is truncated just
// past it and its preallocated zeros restored (reset_tail). Every intermediate state
// on disk is a prefix of the original log, so a crash anywhere leaves a log that
// recovery opens, holding at least the records that were to be kept.
#pragma once

#include <cstdint>
#include <string>

namespace pilot::log {

// Keeps records 1..`seq` of the log in `log_dir` and removes every record after it
// (`seq` 0 removes them all). The log must not be open for writing. `segment_bytes`:
// the preallocation restored in the cut segment. False + `error` if `seq` is beyond
// the log's end or a file operation fails.
bool truncate_after(const std::string& log_dir, uint64_t seq, uint64_t segment_bytes, std::string& error);

}  // namespace pilot::log
