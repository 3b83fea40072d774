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
  return f;
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

std::optional<uint64_t> first_nonzero_from(const std::string& path, uint64_t from, std::string& io_error) {
  io_error.clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    io_error = "cannot open: " + std::string(std::strerror(errno));
    return std::nullopt;
  }
  std::string buf(1 << 20, '\0');
  uint64_t off = from;
  std::optional<uint64_t> found;
  for (;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) io_error = "read failed: " + std::string(std::strerror(errno));
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i)
      if (buf[static_cast<size_t>(i)] != 0) {
        found = off + static_cast<uint64_t>(i);
        break;
      }
    if (found) break;
    off += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return found;
}

Reader::Reader(std::string log_dir, uint64_t from_seq, bool decode)
    : scanner_(std::move(log_dir), from_seq, /*verify_chain=*/true), decode_(decode) {}

bool Reader::check_tail(const std::string& segment, uint64_t end, uint64_t last_seq) {
  std::string io_error;
  auto junk = first_nonzero_from(segment, end, io_error);
  if (!junk && io_error.empty()) return true;
  failure_ = Failure{};
  failure_.segment = segment;
  failure_.after_seq = last_seq;
  if (!io_error.empty()) {
    failure_.offset = end;
    failure_.what = io_error;
  } else {
    failure_.offset = *junk;
    failure_.what = "non-zero bytes after the last record of the segment (end of data at offset " +
                    std::to_string(end) + "): records hidden behind a zeroed gap, or a torn write";
    failure_.past_end = true;
  }
  return false;
}

Reader::Status Reader::next(log::Record& rec, Event& ev) {
  if (done_) return failure_.segment.empty() ? Status::kEnd : Status::kError;
  switch (scanner_.next(rec)) {
    case log::Scanner::Status::kError:
      done_ = true;
      failure_ = from_scan_error(scanner_.error());
      return Status::kError;
    case log::Scanner::Status::kEnd:
      done_ = true;
      // The segment the scanner ended in must hold nothing but zeros past its end.
      if (!scanner_.current_segment().empty() &&
          !check_tail(scanner_.current_segment(), scanner_.current_offset(), scanner_.last_seq())) {
        failure_.in_last_segment = true;
        return Status::kError;
      }
      return Status::kEnd;
    case log::Scanner::Status::kRecord: break;
  }
  const std::string& seg = scanner_.current_segment();
  if (seg != segment_) {
    if (!segment_.empty() && !check_tail(segment_, segment_end_, segment_last_seq_)) {
      failure_.in_last_segment = false;
      done_ = true;
      return Status::kError;
    }
    segment_ = seg;
    ++segments_;
  }
  segment_end_ = scanner_.current_offset();
  segment_last_seq_ = rec.seq;
  record_offset_ = segment_end_ - log::kRecordHeaderSize - rec.payload.size();
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
