#include "net/replication/record_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pilot::repl {
namespace {

// A durable record that does not parse is a write in flight for a moment (the scanner
// may hold zeros read just before the writer filled them) and damage for ever.
constexpr auto kUnreadableLimit = std::chrono::seconds(2);

}  // namespace

RecordSource::RecordSource(std::string log_dir) : dir_(std::move(log_dir)) {}

RecordSource::~RecordSource() {
  if (fd_ >= 0) ::close(fd_);
}

bool RecordSource::scanner_error(const char* what) {
  const log::ScanError& e = scanner_->error();
  error_ = std::string(what) + ": " + e.segment + " at offset " + std::to_string(e.offset) + " (after seq " +
           std::to_string(e.after_seq) + "): " + e.what;
  return false;
}

RecordSource::Seek RecordSource::seek(uint64_t seq, const log::Hash& hash, uint64_t durable) {
  // The leader's log was checked by recovery when it started; the chain is rehashed by
  // the follower, record by record, before it appends anything.
  scanner_ = std::make_unique<log::Scanner>(dir_, seq == 0 ? 1 : seq, /*verify_chain=*/false);
  scanner_->set_live(true);
  next_seq_ = seq + 1;
  unreadable_since_.reset();
  // Retention (log/retention.h) may have deleted the segments before the first one.
  const auto segments = log::list_segments(dir_);
  if (seq == 0) return segments.empty() || segments.front().first_seq <= 1 ? Seek::kOk : Seek::kNeedSnapshot;
  if (seq > durable) return Seek::kAhead;
  log::Record r;
  for (auto t0 = std::chrono::steady_clock::now();;) {
    switch (scanner_->next(r)) {
      case log::Scanner::Status::kError: scanner_error("cannot read the log"); return Seek::kError;
      case log::Scanner::Status::kRecord:
        if (r.seq == seq + 1 && log::check_chain(r, seq, hash, 0).empty()) {
          // The log starts right after `seq` (a follower that installed our snapshot,
          // whose last record is the one before our first retained segment) and its
          // first record chains from the follower's hash: continue from there.
          scanner_ = std::make_unique<log::Scanner>(dir_, seq + 1, /*verify_chain=*/false);
          scanner_->set_live(true);
          return Seek::kOk;
        }
        if (r.seq > seq) return Seek::kNeedSnapshot;
        return r.hash == hash ? Seek::kOk : Seek::kDiverged;
      case log::Scanner::Status::kEnd: break;
    }
    if (std::chrono::steady_clock::now() - t0 > kUnreadableLimit) {
      error_ = "durable record " + std::to_string(seq) + " is unreadable";
      return Seek::kError;
    }
    usleep(2000);
  }
}

bool RecordSource::flush(Run& run, std::string& out) {
  if (run.path.empty()) return true;
  if (fd_path_ != run.path) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::open(run.path.c_str(), O_RDONLY | O_CLOEXEC);
    fd_path_ = fd_ >= 0 ? run.path : "";
    if (fd_ < 0) {
      error_ = "cannot open " + run.path + ": " + std::strerror(errno);
      return false;
    }
  }
  const size_t at = out.size();
  const size_t len = static_cast<size_t>(run.end - run.start);
  out.resize(at + len);
  for (size_t got = 0; got < len;) {
    ssize_t n = ::pread(fd_, out.data() + at + got, len - got, static_cast<off_t>(run.start + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = "cannot read " + run.path + ": " + (n < 0 ? std::strerror(errno) : "short read");
      out.resize(at);
      return false;
    }
    got += static_cast<size_t>(n);
  }
  // The bytes must be the records the scanner just validated: same count, same last
  // seq and hash. This costs a CRC pass and catches any offset mistake here.
  std::string_view bytes(out.data() + at, len);
  log::Record r;
  uint64_t expect = run.first_seq;
  for (size_t pos = 0; pos < bytes.size();) {
    size_t used = 0;
    if (log::parse_record(bytes.substr(pos), r, used) != log::ParseResult::kOk || r.seq != expect) {
      error_ = "segment bytes changed under the reader: " + run.path + " at offset " + std::to_string(run.start + pos);
      out.resize(at);
      return false;
    }
    pos += used;
    ++expect;
  }
  if (expect != run.last_seq + 1 || r.hash != run.last_hash) {
    error_ = "segment bytes do not match the scanned records in " + run.path;
    out.resize(at);
    return false;
  }
  run = Run{};
  return true;
}

RecordSource::Read RecordSource::read(uint64_t upto, size_t max_bytes, std::string& out) {
  if (!scanner_) seek(0, {}, upto);
  const size_t start_size = out.size();
  Run run;
  log::Record r;
  while (next_seq_ <= upto && out.size() - start_size + (run.end - run.start) < max_bytes) {
    const log::Scanner::Status st = scanner_->next(r);
    if (st == log::Scanner::Status::kError) {
      scanner_error("cannot read the log");
      return Read::kError;
    }
    if (st == log::Scanner::Status::kEnd) {
      if (!unreadable_since_) unreadable_since_ = std::chrono::steady_clock::now();
      if (std::chrono::steady_clock::now() - *unreadable_since_ > kUnreadableLimit) {
        error_ = "durable record " + std::to_string(next_seq_) + " is unreadable";
        return Read::kError;
      }
      break;  // the caller waits and asks again
    }
    unreadable_since_.reset();
    if (r.seq != next_seq_) {
      // Only the first read after seek(0) can land elsewhere: a log without its start.
      error_ = "the log starts at seq " + std::to_string(r.seq) + ", not " + std::to_string(next_seq_);
      return Read::kError;
    }
    const uint64_t end = scanner_->current_offset();
    const uint64_t start = end - log::kRecordHeaderSize - r.payload.size();
    if (run.path != scanner_->current_segment() || run.end != start) {
      if (!flush(run, out)) return Read::kError;
      run.path = scanner_->current_segment();
      run.start = start;
      run.first_seq = r.seq;
    }
    run.end = end;
    run.last_seq = r.seq;
    run.last_hash = r.hash;
    ++next_seq_;
  }
  if (!flush(run, out)) return Read::kError;
  return out.size() > start_size ? Read::kRecords : Read::kNothing;
}

}  // namespace pilot::repl
