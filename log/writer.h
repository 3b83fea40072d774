// The group-commit writer: the only code that appends to the log.
//
// The story of one append:
//   1. A handler on the loop thread calls append(). The record gets the next sequence
//      number and its chain hash right there (so the caller can apply the event to
//      the projections at once, in log order), and joins the pending batch.
//   2. The writer thread takes the whole pending batch, writes it with one pwrite and
//      makes it durable with one fdatasync — however many appenders were waiting.
//   3. It publishes the new durable sequence number and calls `wake` (in the server:
//      uv_async_send), and the loop thread's run_callbacks() fires every callback
//      whose record is now durable, in sequence order. Replies go out from there.
//
// Fsync policy (`--fsync`):
//   always     (default) a callback fires only after fdatasync covered its record.
//   batch-ms=N callbacks fire after write(2) — the record survives a process crash,
//              not a power loss — and fdatasync runs at most every N ms.
//   none       never fdatasync; for tests and benchmarks only.
//
// I/O errors are fatal: after a failed fdatasync the kernel may have dropped the dirty
// pages, so no later success could prove the record durable. The writer logs the
// error and aborts the process; restart runs recovery.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/events.h"
#include "core/histogram.h"
#include "log/format.h"
#include "log/recovery.h"

namespace pilot::log {

struct FsyncPolicy {
  enum class Mode { kAlways, kBatch, kNone };
  Mode mode = Mode::kAlways;
  int batch_ms = 0;
  // "always" | "batch-ms=N" | "none"
  static std::optional<FsyncPolicy> parse(std::string_view text);
  std::string to_string() const;
};

struct WriterOptions {
  std::string log_dir;  // <data dir>/log
  FsyncPolicy fsync;
  uint64_t segment_bytes = kDefaultSegmentBytes;
  uint64_t term = 0;
  // Called on the writer thread after records became durable. Must be thread-safe
  // and cheap (e.g. uv_async_send); the loop thread then calls run_callbacks().
  std::function<void()> wake;
  // Replaces fdatasync(fd) (returns 0 or -1 with errno). Tests use it to hold a sync
  // back or make it fail; empty = fdatasync.
  std::function<int(int fd)> sync_fn;
};

struct WriterStats {
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t fsyncs = 0;
  uint64_t fsync_ns_total = 0;
};

// Latency and batching histograms for /metrics, recorded on the writer thread (one
// clock read per chunk written, none per record) and readable from any thread.
struct WriterHistograms {
  static constexpr std::array<uint64_t, 16> kLatencyBoundsNs{
      50'000,     100'000,    250'000,     500'000,     1'000'000,   2'500'000,     5'000'000,     10'000'000,
      25'000'000, 50'000'000, 100'000'000, 250'000'000, 500'000'000, 1'000'000'000, 2'500'000'000, 10'000'000'000};
  static constexpr std::array<uint64_t, 15> kBatchBounds{1,   2,   4,    8,    16,   32,   64,   128,
                                                         256, 512, 1024, 2048, 4096, 8192, 16384};
  // From the first append of a chunk (a batch, or its first MiB) until the chunk was
  // durable in the --fsync sense, i.e. until its callbacks may fire.
  AtomicHistogram commit_ns{kLatencyBoundsNs};
  AtomicHistogram fsync_ns{kLatencyBoundsNs};   // each fdatasync of the log
  AtomicHistogram batch_records{kBatchBounds};  // records one fdatasync made durable (>0)
};

class Writer {
 public:
  using Callback = std::function<void(uint64_t seq)>;

  // Continues the log recovered by recover() (which must have run first).
  static std::unique_ptr<Writer> open(WriterOptions opts, const RecoveryResult& recovered, std::string& error);
  // After close() (every callback run): continue the log as recovered again, on the
  // same object — a follower that truncated a divergent tail (net/replication/
  // rewind.h) keeps the writer every other component holds. Term = max(options' term,
  // the recovered last term), as in open().
  bool reopen(const RecoveryResult& recovered, std::string& error);
  ~Writer();  // close()
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // ---- loop thread only ----
  // Returns the record's sequence number. `cb` (may be empty) fires from
  // run_callbacks() once the record is durable. Throws std::length_error, before
  // anything is assigned, if the payload exceeds kMaxPayload (no reader would accept
  // the record).
  uint64_t append(const Event& e, int64_t time_ns, Callback cb = {});
  // Appends an already-encoded record (kind + payload) — replication and tools.
  uint64_t append_raw(uint16_t kind, std::string_view payload, int64_t time_ns, Callback cb = {});
  // Calls `cb` from run_callbacks() once every record up to `seq` is durable; `seq`
  // must be at most last_seq(). A `seq` below that of a callback queued earlier is
  // raised to it (callbacks fire in order; the wait is at most one more batch). A
  // caller whose seq is already durable should act at once instead: nothing would
  // wake the loop to run this callback until the next append becomes durable.
  void on_durable(uint64_t seq, Callback cb);
  // Fires the callbacks of every durable record; returns how many fired.
  size_t run_callbacks();
  uint64_t last_seq() const { return last_seq_; }
  const Hash& last_hash() const { return last_hash_; }
  uint64_t term() const { return term_; }
  void set_term(uint64_t t) { term_ = t; }
  // Records appended through this writer by event kind (index = kind, < 64).
  const std::array<uint64_t, 64>& appended_by_kind() const { return appended_by_kind_; }

  // Blocks until everything appended so far is durable (also under batch-ms/none).
  void flush();
  // Flushes, stops the writer thread, closes the segment. Idempotent.
  void close();

  // ---- any thread ----
  // Callbacks fire up to here: fdatasync'd (always) or written (batch-ms, none).
  uint64_t durable_seq() const { return durable_seq_.load(std::memory_order_acquire); }
  // Covered by a completed fdatasync, whatever the policy: what survives a power cut
  // (snapshots must not run ahead of it).
  uint64_t synced_seq() const {
    std::lock_guard lk(mu_);
    return synced_seq_;
  }
  // Blocks until durable_seq() > after or the timeout passes; returns durable_seq().
  uint64_t wait_durable(uint64_t after, std::chrono::milliseconds timeout) const;
  WriterStats stats() const;
  const WriterHistograms& histograms() const { return hist_; }
  bool closed() const { return closed_.load(); }

 private:
  // A run of bytes the writer thread writes and syncs as one unit. It never spans
  // segments and stays under kMaxBatchBytes unless one record alone is larger.
  struct Chunk {
    bool new_segment = false;
    uint64_t first_seq = 0;  // when new_segment: header fields
    Hash prev_hash{};
    std::string bytes;
    uint64_t last_seq = 0;
    uint64_t first_append_ns = 0;  // steady clock (WriterHistograms::commit_ns)
  };

  explicit Writer(WriterOptions opts);
  bool resume(const RecoveryResult& rec, std::string& error);  // open() and reopen()
  void writer_main();
  void open_segment_file(const Chunk& c);
  void sync_file();
  int sync_fd(int fd);
  [[noreturn]] void die(const std::string& what);

  WriterOptions opts_;
  // loop-thread state
  uint64_t last_seq_ = 0;
  Hash last_hash_{};
  uint64_t term_ = 0;
  uint64_t seg_used_ = 0;  // bytes in the current segment including pending
  std::deque<std::pair<uint64_t, Callback>> callbacks_;
  std::array<uint64_t, 64> appended_by_kind_{};

  // shared with the writer thread
  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  mutable std::condition_variable durable_cv_;
  std::vector<Chunk> pending_;
  bool stop_ = false;
  bool writer_idle_ = false;      // the writer thread waits for work: append must notify
  uint64_t flush_requested_ = 0;  // seq that flush() wants fdatasync'd
  std::atomic<uint64_t> durable_seq_{0};
  std::atomic<bool> closed_{false};
  WriterStats stats_;
  WriterHistograms hist_;

  // writer-thread state
  int fd_ = -1;
  std::string seg_path_;
  uint64_t file_off_ = 0;
  uint64_t synced_seq_ = 0;
  uint64_t written_seq_ = 0;
  std::thread thread_;
};

}  // namespace pilot::log
