// A consumer of the replication stream: a receiver with no log of its own that keeps
// the leader's state in memory — the standalone beacon's projection
// (net/beacon/replicated_policy.h; ARCHITECTURE.md §6: "a beacon is just one more
// consumer of the same stream").
//
// Each record gets the follower's checks (check_record, applier.h: CRC and framing,
// seq = last + 1, term not lower, chain hash, a known event) and is then applied to
// `state` holding `mu` exclusively, so other threads may read the state under `mu`
// held shared (the beacon's reader threads, net/beacon/log_policy.h). Nothing is
// written: the position to resume from is the state's own (last_seq, last_hash,
// term), and a restarted process starts from seq 0 (the leader streams its whole
// log). Applied = durable for a consumer: its acks only tell the leader it is alive,
// and the leader does not count them for sync mode (the hello's consumer flag).
//
// Loop thread only, except the counters.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/rw_mutex.h"
#include "net/replication/record_sink.h"
#include "projections/state.h"

namespace pilot::repl {

class StateConsumer : public RecordSink {
 public:
  // `state` (empty, or what an earlier stream of the same leader built) and `mu` must
  // outlive the consumer.
  StateConsumer(State& state, RwMutex& mu) : state_(state), mu_(mu) {}

  std::string apply(std::string_view records, uint64_t& applied) override;
  uint64_t last_seq() const override { return state_.last_seq; }
  const log::Hash& last_hash() const override { return state_.last_hash; }
  uint64_t term() const override { return state_.term; }
  uint64_t durable_seq() const override { return state_.last_seq; }
  void on_durable(uint64_t seq, std::function<void(uint64_t)> cb) override;
  bool keeps_log() const override { return false; }

  // Forgets everything (the leader's log does not hold our last record: a failover cut
  // it, or the leader's data was replaced): the next hello starts from seq 0.
  void reset();
  // Replaces the state with the leader's snapshot (a leader whose log no longer holds
  // our next record sends it, snapshot_transfer.h): the next hello starts after its
  // last_seq, chained to its last_hash.
  void replace(State&& snapshot);

  // Records applied since this process started, over every connection and reset; with
  // no reset, equal to last_seq() exactly when no record was applied twice.
  uint64_t applied_total() const { return applied_total_.load(std::memory_order_relaxed); }
  uint64_t resets() const { return resets_.load(std::memory_order_relaxed); }

 private:
  std::string apply_records(std::string_view records, uint64_t& applied);

  State& state_;
  RwMutex& mu_;
  std::atomic<uint64_t> applied_total_{0};
  std::atomic<uint64_t> resets_{0};
};

}  // namespace pilot::repl
