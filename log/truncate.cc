#include "log/truncate.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "log/file_util.h"
#include "log/scanner.h"

namespace pilot::log {

bool truncate_after(const std::string& log_dir, uint64_t seq, uint64_t segment_bytes, std::string& error) {
  // Find the cut first: nothing is touched if the record is not there.
  std::string cut_segment;
  uint64_t cut_offset = 0;
  if (seq > 0) {
    Scanner s(log_dir, seq, /*verify_chain=*/false);
    Record r;
    Scanner::Status st;
    while ((st = s.next(r)) == Scanner::Status::kRecord && r.seq < seq) {
    }
    if (st != Scanner::Status::kRecord || r.seq != seq) {
      error = "cannot cut the log after seq " + std::to_string(seq) + ": " +
              (st == Scanner::Status::kError ? s.error().what : "the log ends at seq " + std::to_string(s.last_seq()));
      return false;
    }
    cut_segment = s.current_segment();
    cut_offset = s.current_offset();
  }
  auto segments = list_segments(log_dir);
  for (auto it = segments.rbegin(); it != segments.rend() && it->first_seq > seq; ++it) {
    if (::unlink(it->path.c_str()) != 0) {
      error = "cannot remove segment " + it->path + ": " + std::strerror(errno);
      return false;
    }
    // One at a time: a later segment must never outlive an earlier one on disk.
    if (!fsync_dir(log_dir)) {
      error = "cannot sync the log directory " + log_dir + ": " + std::strerror(errno);
      return false;
    }
  }
  return cut_segment.empty() || reset_tail(cut_segment, cut_offset, segment_bytes, error);
}

}  // namespace pilot::log
