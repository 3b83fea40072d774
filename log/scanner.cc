#include "log/scanner.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pilot::log {
namespace {

constexpr size_t kReadChunk = 1 << 20;

// Offset of the first non-zero byte at or after `from`; nullopt if none. Read errors
// are reported through `io_errno` (non-zero) rather than mistaken for zeros.
std::optional<uint64_t> first_nonzero(int fd, uint64_t from, int& io_errno) {
  static const std::string kZeros(kReadChunk, '\0');
  std::string chunk(kReadChunk, '\0');
  io_errno = 0;
  for (uint64_t at = from;;) {
    ssize_t n = ::pread(fd, chunk.data(), chunk.size(), static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) io_errno = errno;
    if (n <= 0) return std::nullopt;
    const size_t len = static_cast<size_t>(n);
    if (std::memcmp(chunk.data(), kZeros.data(), len) != 0)  // the common case is all zeros: compare in bulk
      for (size_t i = 0; i < len; ++i)
        if (chunk[i] != 0) return at + i;
    at += len;
  }
}

}  // namespace

std::vector<SegmentFile> list_segments(const std::string& log_dir) {
  std::vector<SegmentFile> out;
  // open() + fdopendir() rather than opendir(): ThreadSanitizer sees a descriptor born
  // in open() but not in opendir(), and would take the closedir() of a number another
  // thread used before (a follower's socket) for a race on that socket.
  const int fd = ::open(log_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return out;
  DIR* d = fdopendir(fd);
  if (!d) {
    ::close(fd);
    return out;
  }
  while (dirent* e = readdir(d)) {
    uint64_t first = 0;
    if (parse_segment_file_name(e->d_name, first)) out.push_back({first, log_dir + "/" + e->d_name});
  }
  closedir(d);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first_seq < b.first_seq; });
  return out;
}

Scanner::Scanner(std::string log_dir, uint64_t from_seq, bool verify_chain)
    : dir_(std::move(log_dir)), from_seq_(from_seq), verify_chain_(verify_chain) {}

Scanner::~Scanner() {
  if (fd_ >= 0) ::close(fd_);
}

Scanner::Status Scanner::fail(ParseResult kind, std::string what) { return fail_at(seg_index_, offset_, kind, what); }

Scanner::Status Scanner::fail_at(size_t index, uint64_t offset, ParseResult kind, std::string what) {
  error_ = ScanError{};
  error_.segment = segments_.empty() ? dir_ : segments_[index].path;
  error_.offset = offset;
  error_.after_seq = last_seq_;
  error_.what = std::move(what);
  error_.kind = kind;
  error_.in_last_segment = index + 1 >= segments_.size();
  return Status::kError;
}

bool Scanner::fill(size_t need) {
  while (buf_.size() - pos_ < need) {
    if (pos_ > 0 && pos_ >= buf_.size() / 2) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    // Read what the file holds, up to a chunk: small files must not cost a 1 MiB buffer.
    struct stat st;
    if (::fstat(fd_, &st) != 0) {
      io_errno_ = errno;
      return false;
    }
    if (static_cast<uint64_t>(st.st_size) <= file_read_) return false;
    size_t want = static_cast<size_t>(std::min<uint64_t>(kReadChunk, uint64_t(st.st_size) - file_read_));
    want = std::max(want, std::min<size_t>(need, uint64_t(st.st_size) - file_read_));
    size_t old = buf_.size();
    buf_.resize(old + want);
    ssize_t n;
    do {
      n = ::pread(fd_, buf_.data() + old, want, static_cast<off_t>(file_read_));
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      if (n < 0) io_errno_ = errno;
      buf_.resize(old);
      return false;
    }
    buf_.resize(old + static_cast<size_t>(n));
    file_read_ += static_cast<uint64_t>(n);
  }
  return true;
}

// Opens segments_[index] and checks that its header continues the chain. On failure
// the scanner still points just past the last good record.
bool Scanner::open_segment(size_t index) {
  const SegmentFile& seg = segments_[index];
  auto fail_here = [&](ParseResult kind, std::string what) {
    fail_at(index, 0, kind, std::move(what));
    return false;
  };
  int fd = ::open(seg.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail_here(ParseResult::kCorrupt, std::string("cannot open segment: ") + std::strerror(errno));
  char raw[kSegmentHeaderSize];
  ssize_t n = ::pread(fd, raw, sizeof raw, 0);
  if (n < 0) {
    int e = errno;
    ::close(fd);
    fail_here(ParseResult::kCorrupt, std::string("cannot read segment header: ") + std::strerror(e));
    error_.io_error = true;
    return false;
  }
  std::string_view head(raw, static_cast<size_t>(n));
  SegmentHeader h;
  if (!decode_segment_header(head, h)) {
    // The writer syncs a new segment's header before any record goes in, so only a
    // zero or short header with nothing but zeros after it is a segment whose header
    // never reached the disk (a torn tail). Anything else is damage.
    bool zero = std::all_of(head.begin(), head.end(), [](char c) { return c == 0; });
    int io = 0;
    bool empty_after = !first_nonzero(fd, head.size(), io) && io == 0;
    ::close(fd);
    return fail_here(
        (zero || head.size() < kSegmentHeaderSize) && empty_after ? ParseResult::kTruncated : ParseResult::kCorrupt,
        "bad segment header");
  }
  std::string why;
  if (h.first_seq != seg.first_seq) why = "segment header first_seq does not match its file name";
  if (positioned_ && (h.first_seq != last_seq_ + 1 || h.prev_hash != last_hash_))
    why = "segment does not continue the previous one (missing or replaced segment)";
  if (!why.empty()) {
    ::close(fd);
    return fail_here(ParseResult::kCorrupt, why);
  }
  if (!positioned_) {
    last_seq_ = h.first_seq - 1;
    last_hash_ = h.prev_hash;
    positioned_ = true;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  seg_index_ = index;
  current_path_ = seg.path;
  buf_.clear();
  pos_ = 0;
  offset_ = file_read_ = kSegmentHeaderSize;
  io_errno_ = 0;
  return true;
}

// Lists the directory again, keeping our place by first_seq rather than by index: log
// retention (log/retention.h) deletes older segments — possibly the one we read, which
// our open descriptor keeps readable — so indexes shift under a live reader.
void Scanner::relist() {
  const SegmentFile current = segments_[seg_index_];
  segments_ = list_segments(dir_);
  size_t i = 0;
  while (i < segments_.size() && segments_[i].first_seq < current.first_seq) ++i;
  if (i == segments_.size() || segments_[i].first_seq != current.first_seq)
    segments_.insert(segments_.begin() + static_cast<std::ptrdiff_t>(i), current);
  seg_index_ = i;
}

Scanner::Status Scanner::next(Record& out) {
  if (!started_) {
    started_ = true;
    segments_ = list_segments(dir_);
    if (segments_.empty()) {
      if (live_) started_ = false;  // a tailer of a fresh log: look again next time
      return Status::kEnd;
    }
    size_t start = 0;
    for (size_t i = 0; i < segments_.size(); ++i)
      if (segments_[i].first_seq <= from_seq_) start = i;
    if (!open_segment(start)) return Status::kError;
  }
  if (fd_ < 0) return Status::kError;
  if (retry_open_) {
    relist();
    if (seg_index_ + 1 >= segments_.size()) return Status::kEnd;
    if (!open_segment(seg_index_ + 1)) return error_.kind == ParseResult::kTruncated ? Status::kEnd : Status::kError;
    retry_open_ = false;
  }
  bool refreshed = false;
  for (;;) {
    fill(kRecordHeaderSize);
    size_t consumed = 0;
    const char* why_bad = "corrupt record";
    ParseResult r = parse_record(std::string_view(buf_).substr(pos_), out, consumed, &why_bad);
    if (r == ParseResult::kTruncated) {
      // The header may be whole but the payload still on disk beyond the buffer.
      uint32_t len = 0;
      if (buf_.size() - pos_ >= 4) std::memcpy(&len, buf_.data() + pos_, 4);  // little-endian host
      if (len <= kMaxPayload && fill(kRecordHeaderSize + len))
        r = parse_record(std::string_view(buf_).substr(pos_), out, consumed, &why_bad);
    }
    if (r == ParseResult::kOk) {
      const bool hash_it = verify_chain_ && out.seq >= chain_from_seq_;
      if (std::string why =
              hash_it ? check_chain(out, last_seq_, last_hash_, last_term_) : check_order(out, last_seq_, last_term_);
          !why.empty()) {
        if (live_) return Status::kEnd;
        fail(ParseResult::kCorrupt, why);
        error_.chain_error = true;
        return Status::kError;
      }
      pos_ += consumed;
      offset_ += consumed;
      last_seq_ = out.seq;
      last_hash_ = out.hash;
      last_term_ = out.term;
      if (out.seq < from_seq_) continue;
      return Status::kRecord;
    }
    if (io_errno_ != 0) {
      fail(ParseResult::kCorrupt, std::string("read error: ") + std::strerror(io_errno_));
      error_.io_error = true;
      return Status::kError;
    }
    if (r != ParseResult::kEnd) {
      if (live_) {  // a record being written right now: look again later
        buf_.resize(pos_);
        file_read_ = offset_;
        return Status::kEnd;
      }
      return fail(r, why_bad);
    }
    // End of data in this segment: continue in the next one, if there is one.
    if (live_ && !refreshed) {
      // The buffer may hold zeros read before the writer filled them. List the
      // directory first, then re-read: a segment is complete before the next exists.
      if (seg_index_ + 1 >= segments_.size()) relist();
      buf_.resize(pos_);
      file_read_ = offset_;
      refreshed = true;
      continue;
    }
    if (!live_) {
      // Past the end of data a segment holds only zeros (preallocation, and recovery
      // zeroes every cut). Anything else would be records hidden behind a zeroed gap.
      auto nz = first_nonzero(fd_, offset_, io_errno_);
      if (io_errno_ != 0) {
        fail(ParseResult::kCorrupt, std::string("read error: ") + std::strerror(io_errno_));
        error_.io_error = true;
        return Status::kError;
      }
      if (nz) {
        fail(ParseResult::kCorrupt, "non-zero bytes at offset " + std::to_string(*nz) +
                                        " after the end of data (records hidden behind "
                                        "a zeroed gap, or a torn write)");
        error_.past_end = true;
        return Status::kError;
      }
    }
    if (seg_index_ + 1 < segments_.size()) {
      if (!open_segment(seg_index_ + 1)) {
        if (live_ && error_.kind == ParseResult::kTruncated) {
          retry_open_ = true;  // the writer is creating it right now
          return Status::kEnd;
        }
        return Status::kError;
      }
      refreshed = false;
      continue;
    }
    // Forget what we read past the end so a later call sees newly written bytes.
    buf_.resize(pos_);
    file_read_ = offset_;
    return Status::kEnd;
  }
}

}  // namespace pilot::log
