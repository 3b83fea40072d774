// Sync replication's one decision: how far client replies may be released.
//
// In sync mode a reply waits until its records are durable here *and* acknowledged by
// a follower (Leader::acked_seq). When some durable record has waited --sync-timeout
// without an ack, the gate trips ("degraded"), and --sync-fallback says what that
// means: `async` opens it (replies wait for the local fsync only, as in async: a
// follower that is gone or too slow does not stop the registry), `refuse` keeps it
// shut (replies wait on, and the host refuses new writes: no reply ever claims a write
// the follower lacks). Either way the host logs it, and the gate resets once a
// follower has caught up — its acks reach the durable seq seen one tick earlier, so a
// follower that keeps up under constant load counts as caught up.
//
// Pure bookkeeping, driven by the host's timer on the loop thread: no clock, no I/O.
#pragma once

#include <cstdint>

namespace pilot::repl {

class SyncGate {
 public:
  enum class Fallback { kAsync, kRefuse };
  explicit SyncGate(int64_t timeout_ns, Fallback fallback = Fallback::kAsync)
      : timeout_ns_(timeout_ns), fallback_(fallback) {}

  // The seq replies may be released up to (RpcServer::set_release_gate).
  uint64_t limit(uint64_t acked) const { return opened() ? UINT64_MAX : acked; }

  enum class Change { kNone, kDegraded, kResumed };
  // `durable`: the writer's durable seq; `acked`: the highest seq a follower acked.
  Change tick(uint64_t durable, uint64_t acked, int64_t now_ns);

  // Degraded from the start, until a follower acknowledges `durable`: for a node just
  // promoted, whose only follower was the leader it replaces — waiting --sync-timeout
  // for an ack nobody can send would stall the first writes after a failover and gain
  // nothing.
  void start_degraded(uint64_t durable);

  bool degraded() const { return degraded_; }
  // Degraded with --sync-fallback=refuse: the host refuses writes meanwhile.
  bool refusing() const { return degraded_ && fallback_ == Fallback::kRefuse; }
  Fallback fallback() const { return fallback_; }
  // When kDegraded: the first record that was not acknowledged in time.
  uint64_t stuck_seq() const { return stuck_seq_; }

 private:
  bool opened() const { return degraded_ && fallback_ == Fallback::kAsync; }

  int64_t timeout_ns_;
  Fallback fallback_;
  bool degraded_ = false;
  uint64_t waiting_seq_ = 0;  // a durable, unacknowledged seq being timed (0 = none)
  int64_t waiting_since_ns_ = 0;
  uint64_t resume_target_ = 0;
  uint64_t stuck_seq_ = 0;
};

}  // namespace pilot::repl
