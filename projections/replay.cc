// replay_log (declared in projections/store.h): records (state.last_seq, upto] of a
// log applied to a State, in two stages on two threads.
//
// A reader thread scans (CRC + seq) and decodes records into batches; the caller's
// thread applies them. State::apply is ~1 µs per event and scan + decode ~0.16 µs, so
// on two cores the reader hides behind apply instead of adding to it (BENCHMARKS.md,
// "Replay"). The reader also makes every check that decides whether the log continues
// the state; the applying thread only applies, in order, and stops where the reader
// stopped. A failed check leaves the state at the last good record, as a one-thread
// replay would.
#include <pthread.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "log/scanner.h"
#include "projections/store.h"

namespace pilot {
namespace {

struct Decoded {
  EventMeta meta;
  Event event;
  log::Hash hash{};
};

// Batches go reader → applier through `full` and come back through `empty`, so their
// vectors and the events' strings are allocated and freed on the reader's thread.
// At most kInFlight batches exist: the reader waits when the applier is behind.
class BatchQueue {
 public:
  static constexpr size_t kBatch = 512;
  static constexpr size_t kInFlight = 4;

  using Batch = std::vector<Decoded>;

  BatchQueue() {
    for (size_t i = 0; i < kInFlight; ++i) empty_.emplace_back().reserve(kBatch);
  }

  // Reader: an empty batch to fill, or false when the applier has gone.
  bool take_empty(Batch& out) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return !empty_.empty() || abandoned_; });
    if (abandoned_) return false;
    out = std::move(empty_.front());
    empty_.pop_front();
    return true;
  }
  void put_full(Batch&& b) {
    std::lock_guard lk(mu_);
    full_.push_back(std::move(b));
    cv_.notify_all();
  }
  // Reader, last: no more batches; `error` empty when the log reached `upto`.
  void finish(std::string error) {
    std::lock_guard lk(mu_);
    finished_ = true;
    error_ = std::move(error);
    cv_.notify_all();
  }

  // Applier: the next full batch, or false when the reader has finished and all its
  // batches are taken.
  bool take_full(Batch& out) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return !full_.empty() || finished_; });
    if (full_.empty()) return false;
    out = std::move(full_.front());
    full_.pop_front();
    return true;
  }
  void put_empty(Batch&& b) {
    std::lock_guard lk(mu_);
    empty_.push_back(std::move(b));
    cv_.notify_all();
  }
  // Applier leaving early (an exception): the reader stops at its next batch.
  void abandon() {
    std::lock_guard lk(mu_);
    abandoned_ = true;
    cv_.notify_all();
  }
  const std::string& error() const { return error_; }  // after take_full returned false

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> full_, empty_;
  bool finished_ = false, abandoned_ = false;
  std::string error_;
};

// Reads (last_seq, upto] into the queue. The error, if any, says why the records after
// the last one queued cannot be applied.
void read_records(const std::string& log_dir, uint64_t last_seq, const log::Hash& last_hash, uint64_t upto,
                  BatchQueue& q) {
  // Start one record early to prove the log continues exactly where the state ends.
  const uint64_t from = last_seq == 0 ? 1 : last_seq;
  // Recovery has already checked these records (CRC, order, and the chain of the last
  // segment); the boundary is checked below by comparing stored hashes.
  log::Scanner s(log_dir, from, /*verify_chain=*/false);
  log::Record r;
  log::Scanner::Status st;
  BatchQueue::Batch batch;
  size_t n = 0;  // decoded records in `batch`
  const auto flush = [&] {
    batch.resize(n);
    q.put_full(std::move(batch));
    n = 0;
  };
  const auto fail = [&](std::string why) {
    if (n > 0) flush();
    q.finish(std::move(why));
  };
  bool first = true;
  while ((st = s.next(r)) == log::Scanner::Status::kRecord) {
    // A log whose older segments were deleted (log/retention.h) may begin right after
    // the state: then the first record itself must chain from the state's hash (its
    // segment header says the same, but a header is only as good as this check).
    if (first && r.seq == last_seq + 1 && last_seq != 0) {
      if (std::string why = log::check_chain(r, last_seq, last_hash, 0); !why.empty())
        return fail("snapshot does not match the log: seq " + std::to_string(r.seq) + " does not continue it (" + why +
                    ")");
    }
    first = false;
    if (r.seq == last_seq) {
      if (r.hash != last_hash)
        return fail("snapshot does not match the log: hash of seq " + std::to_string(r.seq) + " differs");
      continue;
    }
    if (r.seq != last_seq + 1)
      return fail("log does not reach back to seq " + std::to_string(last_seq + 1) + " (starts at " +
                  std::to_string(r.seq) + ")");
    auto ev = decode_payload(static_cast<EventKind>(r.kind), r.payload);
    if (!ev)
      return fail("undecodable event at seq " + std::to_string(r.seq) + " (kind " + std::to_string(r.kind) + ")");
    if (n == 0 && !q.take_empty(batch)) return;
    if (n < batch.size()) {
      Decoded& d = batch[n];
      d.meta = r.meta();
      d.event = std::move(*ev);
      d.hash = r.hash;
    } else {
      batch.push_back(Decoded{r.meta(), std::move(*ev), r.hash});
    }
    last_seq = r.seq;
    if (++n == BatchQueue::kBatch) flush();
    if (r.seq >= upto) return fail("");
  }
  if (st == log::Scanner::Status::kError) {
    const auto& e = s.error();
    return fail("log error in " + e.segment + " at offset " + std::to_string(e.offset) + " after seq " +
                std::to_string(e.after_seq) + ": " + e.what);
  }
  if (last_seq < upto) return fail("log ends at seq " + std::to_string(last_seq) + ", before " + std::to_string(upto));
  fail("");
}

}  // namespace

bool replay_log(const std::string& log_dir, State& state, uint64_t upto, std::string& error,
                const ReplayProgress& progress) {
  if (upto <= state.last_seq) return true;
  BatchQueue q;
  std::thread reader([&, last_seq = state.last_seq, last_hash = state.last_hash] {
    ::pthread_setname_np(::pthread_self(), "replay-reader");  // for top -H and perf
    try {
      read_records(log_dir, last_seq, last_hash, upto, q);
    } catch (const std::exception& e) {  // bad_alloc: the batches queued so far still apply
      q.finish(std::string("replay reader: ") + e.what());
    }
  });
  struct JoinOnExit {
    BatchQueue& q;
    std::thread& t;
    ~JoinOnExit() {
      q.abandon();  // harmless after a normal end; stops the reader if apply threw
      t.join();
    }
  } join{q, reader};
  uint64_t done = 0;
  BatchQueue::Batch batch;
  while (q.take_full(batch)) {
    for (const Decoded& d : batch) {
      state.apply(d.meta, d.event);
      state.last_hash = d.hash;
      if (progress && (++done & 0xFFFFF) == 0) progress(done, upto);
    }
    q.put_empty(std::move(batch));
  }
  if (!q.error().empty()) {
    error = q.error();
    return false;
  }
  return true;
}

}  // namespace pilot
