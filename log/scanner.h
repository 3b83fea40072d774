// Walks every record of a log directory in order, checking framing, checksums,
// sequence continuity, terms and the hash chain — the one piece of code that decides
// whether log bytes are valid. The reader, the tailer, recovery and `pilot-log verify`
// are all built on it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "log/format.h"

namespace pilot::log {

struct SegmentFile {
  uint64_t first_seq = 0;
  std::string path;
};

// Segment files of `log_dir` sorted by first_seq; empty if the directory is missing.
std::vector<SegmentFile> list_segments(const std::string& log_dir);

// Where and why scanning stopped early.
struct ScanError {
  std::string segment;     // path
  uint64_t offset = 0;     // byte offset in that segment of the bad record/header
  uint64_t after_seq = 0;  // last good sequence number before it
  std::string what;
  ParseResult kind = ParseResult::kCorrupt;
  // The bytes were a whole, checksummed record that does not continue the chain
  // (wrong seq, term or hash): never a torn write, always damage or tampering.
  bool chain_error = false;
  // The data ended cleanly but non-zero bytes follow before the end of the file:
  // records hidden behind a zeroed gap, or bytes of a torn write.
  bool past_end = false;
  // The disk returned an error: never a torn tail, never a clean end.
  bool io_error = false;
  bool in_last_segment = false;
};

class Scanner {
 public:
  enum class Status { kRecord, kEnd, kError };

  // Starts at the first record with seq >= from_seq (skipping whole segments by name).
  // `verify_chain` = false skips the hash recomputation (CRC and seq are still checked).
  explicit Scanner(std::string log_dir, uint64_t from_seq = 1, bool verify_chain = true);
  ~Scanner();
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  Status next(Record& out);

  // Recompute the hash chain only from this seq on; earlier records still get their
  // CRC, sequence and term checked, and segment boundaries their stored hashes.
  // Recovery uses it to rehash only the last segment on every start (`pilot-log
  // verify` rehashes everything).
  void set_verify_chain_from(uint64_t seq) { chain_from_seq_ = seq; }

  // After kEnd: re-look for bytes appended since (same or new segments). Used by the
  // tailer; a partial record at the tail is reported as kEnd, never kError, by
  // retry-mode scanners (see set_live()).
  void set_live(bool live) { live_ = live; }

  const ScanError& error() const { return error_; }
  // State after the last good record.
  uint64_t last_seq() const { return last_seq_; }
  const Hash& last_hash() const { return last_hash_; }
  uint64_t last_term() const { return last_term_; }
  // Segment and offset just past the last good record (where an appender continues).
  const std::string& current_segment() const { return current_path_; }
  uint64_t current_offset() const { return offset_; }
  size_t segments_seen() const { return seg_index_ + (fd_ >= 0 ? 1 : 0); }

 private:
  bool open_segment(size_t index);
  void relist();  // segments_ again, seg_index_ still the segment we read
  bool fill(size_t need);
  Status fail(ParseResult kind, std::string what);  // at the current position
  Status fail_at(size_t index, uint64_t offset, ParseResult kind, std::string what);

  std::string dir_;
  uint64_t from_seq_;
  bool verify_chain_;
  uint64_t chain_from_seq_ = 0;
  bool live_ = false;
  std::vector<SegmentFile> segments_;
  size_t seg_index_ = 0;
  int fd_ = -1;
  std::string current_path_;
  uint64_t offset_ = 0;  // file offset of buf_[pos_]
  std::string buf_;      // bytes read ahead from the current segment
  size_t pos_ = 0;
  uint64_t file_read_ = 0;  // file offset of buf_.end()
  bool started_ = false;
  bool retry_open_ = false;  // live: the next segment existed without a header yet
  bool positioned_ = false;  // chain state known (set by the first segment header)
  uint64_t last_seq_ = 0;
  Hash last_hash_{};
  uint64_t last_term_ = 0;
  int io_errno_ = 0;  // first read error of the current segment
  ScanError error_;
};

}  // namespace pilot::log
