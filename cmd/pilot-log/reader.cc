#include "cmd/pilot-log/reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace pilot::logtool {

std::string fail_line(const Failure& f) {
  return "FAIL: " + f.segment + " offset " + std::to_string(f.offset) + " after seq " + std::to_string(f.after_seq) +
         ": " + f.what;
}

Failure from_scan_error(const log::ScanError& e) {
  Failure f;
  f.segment = e.segment;
  f.offset = e.offset;
  f.after_seq = e.after_seq;
  f.what = e.what;
  f.in_last_segment = e.in_last_segment;
  f.past_end = e.past_end;
  return f;
}

// The prev_hash field of a segment's header (hash of the record before its first).
std::optional<log::Hash> segment_prev_hash(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string buf(log::kSegmentHeaderSize, '\0');
  ssize_t n = ::pread(fd, buf.data(), buf.size(), 0);
  ::close(fd);
  log::SegmentHeader h;
  if (n != static_cast<ssize_t>(buf.size()) || !log::decode_segment_header(buf, h)) return std::nullopt;
  return h.prev_hash;
}

int check_log_dir(const std::string& log_dir) {
  struct stat st;
  if (::stat(log_dir.c_str(), &st) != 0) {
    std::fprintf(stderr, "pilot-log: no log at %s: %s (is --data-dir right?)\n", log_dir.c_str(), std::strerror(errno));
    return 1;
  }
  if (!S_ISDIR(st.st_mode)) {
    std::fprintf(stderr, "pilot-log: %s is not a directory\n", log_dir.c_str());
    return 1;
  }
  return 0;
}

Reader::Reader(std::string log_dir, uint64_t from_seq, bool decode)
    : scanner_(std::move(log_dir), from_seq, /*verify_chain=*/true), decode_(decode) {}

Reader::Status Reader::next(log::Record& rec, Event& ev) {
  if (done_) return failure_.segment.empty() ? Status::kEnd : Status::kError;
  switch (scanner_.next(rec)) {
    case log::Scanner::Status::kError:
      done_ = true;
      failure_ = from_scan_error(scanner_.error());
      return Status::kError;
    case log::Scanner::Status::kEnd: done_ = true; return Status::kEnd;
    case log::Scanner::Status::kRecord: break;
  }
  const std::string& seg = scanner_.current_segment();
  if (seg != segment_) {
    segment_ = seg;
    ++segments_;
  }
  record_offset_ = scanner_.current_offset() - log::kRecordHeaderSize - rec.payload.size();
  if (decode_) {
    auto decoded = decode_payload(static_cast<EventKind>(rec.kind), rec.payload);
    if (!decoded) {
      done_ = true;
      failure_ = Failure{};
      failure_.segment = seg;
      failure_.offset = record_offset_;
      failure_.after_seq = rec.seq - 1;
      std::string_view name = kind_name(static_cast<EventKind>(rec.kind));
      failure_.what = "payload of seq " + std::to_string(rec.seq) + " (" + std::to_string(rec.payload.size()) +
                      " bytes) does not decode as kind " + std::to_string(rec.kind) +
                      (name.empty() ? std::string(" (unknown kind)") : " (" + std::string(name) + ")");
      // Not a scanner error: say whether more segments follow by listing them.
      auto segs = log::list_segments(scanner_.current_segment().substr(0, seg.rfind('/')));
      failure_.in_last_segment = !segs.empty() && segs.back().path == seg;
      return Status::kError;
    }
    ev = std::move(*decoded);
  }
  return Status::kRecord;
}

}  // namespace pilot::logtool
