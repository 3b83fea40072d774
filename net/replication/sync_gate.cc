#include "net/replication/sync_gate.h"

namespace pilot::repl {

SyncGate::Change SyncGate::tick(uint64_t durable, uint64_t acked, int64_t now_ns) {
  if (degraded_) {
    if (acked >= resume_target_) {
      degraded_ = false;
      waiting_seq_ = 0;
      return Change::kResumed;
    }
    resume_target_ = durable;
    return Change::kNone;
  }
  if (acked >= durable) {  // nothing waits for a follower
    waiting_seq_ = 0;
    return Change::kNone;
  }
  if (waiting_seq_ == 0 || acked >= waiting_seq_) {
    // Start timing the newest durable record; the older ones are at most as old as
    // the one just acknowledged, so a record waits at most timeout plus a tick.
    waiting_seq_ = durable;
    waiting_since_ns_ = now_ns;
    return Change::kNone;
  }
  if (now_ns - waiting_since_ns_ < timeout_ns_) return Change::kNone;
  degraded_ = true;
  stuck_seq_ = acked + 1;
  resume_target_ = durable;
  waiting_seq_ = 0;
  return Change::kDegraded;
}

void SyncGate::start_degraded(uint64_t durable) {
  degraded_ = true;
  resume_target_ = durable;
  stuck_seq_ = 0;
  waiting_seq_ = 0;
}

}  // namespace pilot::repl
