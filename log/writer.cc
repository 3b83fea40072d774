#include "log/writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "log/file_util.h"

namespace pilot::log {
namespace {

uint64_t now_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

}  // namespace

std::optional<FsyncPolicy> FsyncPolicy::parse(std::string_view text) {
  if (text == "always") return FsyncPolicy{Mode::kAlways, 0};
  if (text == "none") return FsyncPolicy{Mode::kNone, 0};
  constexpr std::string_view kBatch = "batch-ms=";
  if (text.substr(0, kBatch.size()) == kBatch) {
    std::string_view n = text.substr(kBatch.size());
    if (n.empty() || n.size() > 6) return std::nullopt;
    int v = 0;
    for (char c : n) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    if (v < 1) return std::nullopt;
    return FsyncPolicy{Mode::kBatch, v};
  }
  return std::nullopt;
}

std::string FsyncPolicy::to_string() const {
  switch (mode) {
    case Mode::kAlways: return "always";
    case Mode::kNone: return "none";
    case Mode::kBatch: return "batch-ms=" + std::to_string(batch_ms);
  }
  return "?";
}

Writer::Writer(WriterOptions opts) : opts_(std::move(opts)) {}

std::unique_ptr<Writer> Writer::open(WriterOptions opts, const RecoveryResult& rec, std::string& error) {
  if (!ensure_dir(opts.log_dir, error)) return nullptr;
  std::unique_ptr<Writer> w(new Writer(std::move(opts)));
  if (!w->resume(rec, error)) return nullptr;
  return w;
}

bool Writer::reopen(const RecoveryResult& rec, std::string& error) {
  if (thread_.joinable() || !callbacks_.empty()) {
    error = "Writer::reopen: the writer is still open or has callbacks to run";
    return false;
  }
  {
    std::lock_guard lk(mu_);
    pending_.clear();
    stop_ = false;
    writer_idle_ = false;
    flush_requested_ = 0;
  }
  seg_path_.clear();
  file_off_ = 0;
  if (!resume(rec, error)) return false;
  closed_ = false;
  return true;
}

bool Writer::resume(const RecoveryResult& rec, std::string& error) {
  last_seq_ = rec.last_seq;
  last_hash_ = rec.last_hash;
  term_ = std::max(opts_.term, rec.last_term);
  durable_seq_ = rec.last_seq;
  {
    std::lock_guard lk(mu_);
    synced_seq_ = written_seq_ = rec.last_seq;
  }
  if (rec.segment.empty()) {
    seg_used_ = UINT64_MAX;  // the first append opens a segment
  } else {
    fd_ = ::open(rec.segment.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0) {
      error = "cannot open segment " + rec.segment + ": " + std::strerror(errno);
      return false;
    }
    seg_path_ = rec.segment;
    file_off_ = rec.end_offset;
    seg_used_ = rec.end_offset;
  }
  thread_ = std::thread([this] { writer_main(); });
  return true;
}

Writer::~Writer() { close(); }

uint64_t Writer::append(const Event& e, int64_t time_ns, Callback cb) {
  return append_raw(static_cast<uint16_t>(kind_of(e)), encode_payload(e), time_ns, std::move(cb));
}

uint64_t Writer::append_raw(uint16_t kind, std::string_view payload, int64_t time_ns, Callback cb) {
  if (payload.size() > kMaxPayload)
    throw std::length_error("log record payload of " + std::to_string(payload.size()) + " bytes exceeds " +
                            std::to_string(kMaxPayload));
  const uint64_t seq = ++last_seq_;
  const uint64_t size = kRecordHeaderSize + payload.size();
  bool wake = false;
  {
    std::lock_guard lk(mu_);
    const bool segment_full =
        seg_used_ == UINT64_MAX || (seg_used_ > kSegmentHeaderSize && seg_used_ + size > opts_.segment_bytes);
    if (segment_full) {
      Chunk c;
      c.new_segment = true;
      c.first_seq = seq;
      c.prev_hash = last_hash_;
      c.first_append_ns = now_ns();
      pending_.push_back(std::move(c));
      seg_used_ = kSegmentHeaderSize;
    } else if (pending_.empty() || pending_.back().bytes.size() >= kMaxBatchBytes) {
      pending_.emplace_back().first_append_ns = now_ns();
    }
    Chunk& c = pending_.back();
    last_hash_ = append_record(c.bytes, last_hash_, seq, term_, time_ns, kind, payload);
    c.last_seq = seq;
    seg_used_ += size;
    wake = writer_idle_;
    writer_idle_ = false;  // one wake-up per idle period is enough
  }
  if (wake) work_cv_.notify_one();
  if (cb) callbacks_.emplace_back(seq, std::move(cb));
  if (kind < appended_by_kind_.size()) ++appended_by_kind_[kind];
  return seq;
}

void Writer::on_durable(uint64_t seq, Callback cb) {
  if (seq > last_seq_) throw std::logic_error("Writer::on_durable: seq beyond the last appended record");
  if (!callbacks_.empty() && callbacks_.back().first > seq) seq = callbacks_.back().first;
  callbacks_.emplace_back(seq, std::move(cb));
}

size_t Writer::run_callbacks() {
  const uint64_t d = durable_seq();
  size_t n = 0;
  while (!callbacks_.empty() && callbacks_.front().first <= d) {
    auto [seq, cb] = std::move(callbacks_.front());
    callbacks_.pop_front();
    cb(seq);
    ++n;
  }
  return n;
}

uint64_t Writer::wait_durable(uint64_t after, std::chrono::milliseconds timeout) const {
  std::unique_lock lk(mu_);
  durable_cv_.wait_for(lk, timeout, [&] { return durable_seq() > after || stop_; });
  return durable_seq();
}

void Writer::flush() {
  std::unique_lock lk(mu_);
  const uint64_t target = last_seq_;
  if (flush_requested_ < target) flush_requested_ = target;
  work_cv_.notify_one();
  durable_cv_.wait(lk, [&] { return (synced_seq_ >= target && durable_seq() >= target) || !thread_.joinable(); });
}

void Writer::close() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    flush_requested_ = last_seq_;
  }
  work_cv_.notify_one();
  thread_.join();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  closed_ = true;
  durable_cv_.notify_all();
}

WriterStats Writer::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

void Writer::die(const std::string& what) {
  std::fprintf(stderr, "FATAL log writer: %s: %s (segment %s); aborting — restart runs recovery\n", what.c_str(),
               std::strerror(errno), seg_path_.c_str());
  std::abort();
}

void Writer::open_segment_file(const Chunk& c) {
  if (fd_ >= 0) {
    sync_file();  // a finished segment is whole on disk before the next one starts
    ::close(fd_);
  }
  seg_path_ = opts_.log_dir + "/" + segment_file_name(c.first_seq);
  fd_ = ::open(seg_path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd_ < 0) die("cannot create segment");
  // Preallocating keeps fdatasync from also flushing a growing file size.
  (void)::posix_fallocate(fd_, 0, static_cast<off_t>(opts_.segment_bytes));
  if (!pwrite_all(fd_, encode_segment_header({c.first_seq, c.prev_hash}), 0)) die("cannot write segment header");
  if (sync_fd(fd_) != 0) die("fdatasync of a new segment failed");
  if (!fsync_dir(opts_.log_dir)) die("fsync of the log directory failed");
  file_off_ = kSegmentHeaderSize;
}

int Writer::sync_fd(int fd) { return opts_.sync_fn ? opts_.sync_fn(fd) : ::fdatasync(fd); }

void Writer::sync_file() {
  if (fd_ < 0) return;
  uint64_t t0 = now_ns();
  if (sync_fd(fd_) != 0) die("fdatasync failed");
  uint64_t dt = now_ns() - t0;
  hist_.fsync_ns.observe(dt);
  std::lock_guard lk(mu_);
  if (written_seq_ > synced_seq_) hist_.batch_records.observe(written_seq_ - synced_seq_);
  synced_seq_ = written_seq_;
  stats_.fsyncs++;
  stats_.fsync_ns_total += dt;
}

void Writer::writer_main() {
  const auto mode = opts_.fsync.mode;
  uint64_t last_sync_ns = now_ns();
  std::vector<Chunk> work;
  for (;;) {
    bool stopping, flush_wanted;
    {
      std::unique_lock lk(mu_);
      auto ready = [&] { return !pending_.empty() || stop_ || flush_requested_ > synced_seq_; };
      writer_idle_ = true;
      if (mode == FsyncPolicy::Mode::kBatch && written_seq_ > synced_seq_)
        work_cv_.wait_for(lk, std::chrono::milliseconds(opts_.fsync.batch_ms), ready);
      else
        work_cv_.wait(lk, ready);
      writer_idle_ = false;
      work.swap(pending_);
      stopping = stop_;
      flush_wanted = flush_requested_ > synced_seq_;
    }
    uint64_t bytes = 0, records = 0;
    for (Chunk& c : work) {
      if (c.new_segment) open_segment_file(c);
      if (!pwrite_all(fd_, c.bytes, file_off_)) die("write failed");
      file_off_ += c.bytes.size();
      bytes += c.bytes.size();
      records += c.last_seq - written_seq_;
      {
        std::lock_guard lk(mu_);
        written_seq_ = c.last_seq;
      }
      // fsync=always syncs each chunk, so at most kMaxBatchBytes are ever unsynced.
      if (mode == FsyncPolicy::Mode::kAlways) sync_file();
    }
    const bool interval_due =
        mode == FsyncPolicy::Mode::kBatch && now_ns() - last_sync_ns >= uint64_t(opts_.fsync.batch_ms) * 1000000;
    if (written_seq_ > synced_seq_ && (flush_wanted || stopping || interval_due)) {
      sync_file();
      last_sync_ns = now_ns();
    }
    {
      std::lock_guard lk(mu_);
      if (!work.empty()) {
        stats_.batches++;
        stats_.records += records;
        stats_.bytes += bytes;
      }
      durable_seq_.store(mode == FsyncPolicy::Mode::kAlways ? synced_seq_ : written_seq_, std::memory_order_release);
    }
    if (!work.empty()) {
      const uint64_t t = now_ns();
      for (const Chunk& c : work) hist_.commit_ns.observe(t - c.first_append_ns);
    }
    work.clear();
    durable_cv_.notify_all();
    if (opts_.wake) opts_.wake();
    if (stopping) {
      std::lock_guard lk(mu_);
      if (pending_.empty()) return;
    }
  }
}

}  // namespace pilot::log
