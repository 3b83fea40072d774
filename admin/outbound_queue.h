// The outbound shipper shared by the webhook and the audit exporter: a worker thread
// that delivers audit entries in order to a sink, with retries and exponential backoff,
// and records how far it got in a cursor file.
//
// Delivery guarantee: at least once, in order, across restarts. An entry counts as
// done once it was delivered or given up (the give-up callback puts it in the DLQ);
// the cursor (outbound_files.h) names the last done entry and is written atomically —
// at most every 200 ms while busy and whenever the queue runs dry — so a process that
// dies re-sends what came after it, and never skips anything. Receivers dedupe by
// event_id (the log seq).
//
// The queue is bounded (1024 by default). The feeder (outbound_feeder.h) only pushes
// while there is room and keeps the rest in the audit view for the next tick, so a
// full queue costs nothing until the view itself moves past an entry — that entry is
// then counted as dropped (the reference drops at the queue instead; the count is the
// same kind of loss).
//
// Attempts: `attempts` per entry (3), waiting backoff, 2×backoff, … between them
// (1 s, 2 s). A sink answers delivered, retry (5xx, network) or reject (4xx: given up
// at once). After a reconfiguration the entries still queued for the old target get
// `switch_drain` (5 s) to go out, then are dropped.
//
// Shutdown: stop(drain) lets the worker go on until the queue is empty or the drain
// time is over, then cancels a delivery in flight and joins. Whatever was not done
// stays after the cursor and goes out after the restart.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "admin/outbound_files.h"
#include "projections/audit.h"

namespace pilot::admin {

// Where entries go. deliver() runs on the queue's worker thread only, one call at a
// time; cancel() may be called from any thread to cut a deliver() short.
class OutboundSink {
 public:
  enum class Outcome { kDelivered, kRetry, kReject };
  struct Result {
    Outcome outcome = Outcome::kRetry;
    std::string error;  // for logs and the DLQ ("" when delivered)
  };
  virtual ~OutboundSink() = default;
  virtual Result deliver(const AuditEntry& e) = 0;
  virtual void cancel() {}
};

// One unit of work. With a sink: deliver `entry` there. Without: a marker saying "the
// target is now `target`, starting after entry.seq" (only seq and ordinal are read).
struct OutboundItem {
  AuditEntry entry;
  uint64_t ordinal = 0;
  std::string target;  // cursor fingerprint of the target this item belongs to
  std::shared_ptr<OutboundSink> sink;
};

struct OutboundQueueOptions {
  std::string name = "outbound";  // for log lines: "webhook", "audit export"
  std::string cursor_path;        // "" = no cursor file (tests)
  size_t capacity = 1024;
  int attempts = 3;
  std::chrono::milliseconds backoff{1000};
  std::chrono::milliseconds switch_drain{5000};
};

// Any thread.
struct OutboundCounters {
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> given_up{0};         // rejected or out of attempts
  std::atomic<uint64_t> dropped{0};          // never attempted
  std::atomic<uint64_t> failed_attempts{0};  // every attempt that did not deliver
  std::atomic<int64_t> last_delivery_unix_s{0};
};

class OutboundQueue {
 public:
  // Worker thread: an entry given up (reason = the last error).
  using GiveUp = std::function<void(const AuditEntry& e, const std::string& reason)>;

  OutboundQueue(OutboundQueueOptions opts, OutboundCursor start, GiveUp on_give_up);
  ~OutboundQueue();  // stop(0) if still running
  OutboundQueue(const OutboundQueue&) = delete;
  OutboundQueue& operator=(const OutboundQueue&) = delete;

  void start();
  // Bounded: let the worker finish what is queued for at most `drain`, then cancel
  // and join. Idempotent.
  void stop(std::chrono::milliseconds drain);
  // The first half of stop(): sets the drain deadline and returns at once, so several
  // queues can drain side by side. A later stop() keeps this deadline.
  void begin_stop(std::chrono::milliseconds drain);

  // Any thread. push() returns false when the queue is full (nothing is taken).
  size_t room() const;
  bool push(OutboundItem item);
  void add_dropped(uint64_t n) { counters_.dropped += n; }

  const OutboundCounters& counters() const { return counters_; }
  // The last done entry (what the cursor file says, or will say within 200 ms).
  OutboundCursor cursor() const;
  // Nothing queued and nothing in flight.
  bool idle() const;

 private:
  void run();
  // Delivers with retries; false if shutdown cut it short (the item is not done).
  bool deliver(const OutboundItem& item);
  // Marks `item` done: moves the cursor, writes it when due.
  void done(const OutboundItem& item);
  void persist(bool force);
  // Sleeps `d` unless the drain deadline passes first; false when it did.
  bool backoff_wait(std::chrono::milliseconds d);
  bool past_deadline_locked() const;

  const OutboundQueueOptions opts_;
  const GiveUp on_give_up_;
  OutboundCounters counters_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<OutboundItem> queue_;
  bool busy_ = false;  // an item is being worked on
  bool stopping_ = false;
  std::chrono::steady_clock::time_point deadline_{};  // with stopping_
  // The newest target pushed and when it became the newest: items of an older one
  // are superseded.
  std::string latest_target_;
  std::chrono::steady_clock::time_point switched_at_{};
  std::shared_ptr<OutboundSink> in_flight_;  // for cancel()
  OutboundCursor cursor_;                    // last done

  bool exited_ = false;  // the worker left run()

  // Worker thread only.
  OutboundCursor persisted_;
  std::chrono::steady_clock::time_point last_persist_{};
  bool persist_failing_ = false;

  std::thread worker_;
  bool started_ = false;
  bool joined_ = false;
};

}  // namespace pilot::admin
