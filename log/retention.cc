#include "log/retention.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "log/file_util.h"

namespace pilot::log {

std::optional<RetentionPolicy> RetentionPolicy::parse(std::string_view text) {
  if (text == "all") return RetentionPolicy{};
  if (text.empty() || text.size() > 7) return std::nullopt;
  uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > 1000000) return std::nullopt;
  return RetentionPolicy{false, n};
}

std::string RetentionPolicy::to_string() const { return keep_all ? "all" : std::to_string(keep_covered); }

std::vector<SegmentFile> segments_to_delete(const std::vector<SegmentFile>& segments, uint64_t covered_seq,
                                            const RetentionPolicy& policy) {
  if (policy.keep_all || segments.size() < 2) return {};
  // Segment i's records end right before segment i+1's first record; the last segment
  // has no successor and is never counted as covered.
  size_t covered = 0;
  while (covered + 1 < segments.size() && segments[covered + 1].first_seq - 1 <= covered_seq) ++covered;
  if (covered <= policy.keep_covered) return {};
  return {segments.begin(), segments.begin() + static_cast<std::ptrdiff_t>(covered - policy.keep_covered)};
}

bool apply_retention(const std::string& log_dir, uint64_t covered_seq, const RetentionPolicy& policy,
                     RetentionResult& out, std::string& error) {
  out = RetentionResult{};
  error.clear();
  const auto segments = list_segments(log_dir);
  const auto doomed = segments_to_delete(segments, covered_seq, policy);
  for (const SegmentFile& seg : doomed) {
    struct stat st {};
    const uint64_t bytes = ::stat(seg.path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    if (::unlink(seg.path.c_str()) != 0 && errno != ENOENT) {
      error = "cannot delete " + seg.path + ": " + std::strerror(errno);
      break;
    }
    // Durable before the next one goes: a crash must never leave a hole in the middle.
    fsync_dir(log_dir);
    ++out.deleted;
    out.deleted_bytes += bytes;
  }
  if (!segments.empty()) out.first_kept_seq = segments[out.deleted].first_seq;
  return error.empty();
}

}  // namespace pilot::log
