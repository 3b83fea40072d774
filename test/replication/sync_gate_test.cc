// Sync replication's gate (net/replication/sync_gate.h): replies wait for acks, a
// record unacknowledged for the timeout opens the gate, a follower that catches up
// closes it again.
#include "net/replication/sync_gate.h"

#include <gtest/gtest.h>

namespace pilot::repl {
namespace {

constexpr int64_t kMs = 1000000;
using Change = SyncGate::Change;

TEST(SyncGate, RepliesWaitForTheAckedSeq) {
  SyncGate g(500 * kMs);
  EXPECT_EQ(g.limit(7), 7u);
  EXPECT_EQ(g.tick(10, 10, 0), Change::kNone);
  EXPECT_EQ(g.tick(20, 12, 100 * kMs), Change::kNone);  // timing seq 20 from here
  EXPECT_EQ(g.tick(30, 20, 400 * kMs), Change::kNone);  // 20 acked in time: time 30 now
  EXPECT_EQ(g.tick(30, 25, 850 * kMs), Change::kNone);  // 30 waited 450 ms
  EXPECT_FALSE(g.degraded());
  EXPECT_EQ(g.limit(25), 25u);
}

TEST(SyncGate, DegradesAfterTheTimeoutAndResumesWhenAFollowerCatchesUp) {
  SyncGate g(500 * kMs);
  EXPECT_EQ(g.tick(10, 3, 0), Change::kNone);
  EXPECT_EQ(g.tick(12, 3, 499 * kMs), Change::kNone);
  EXPECT_EQ(g.tick(15, 3, 500 * kMs), Change::kDegraded);
  EXPECT_EQ(g.stuck_seq(), 4u);
  EXPECT_TRUE(g.degraded());
  EXPECT_EQ(g.limit(3), UINT64_MAX);  // replies go out after the local fsync alone
  // Behind under load: the durable seq keeps moving ahead of the acks.
  EXPECT_EQ(g.tick(40, 14, 600 * kMs), Change::kNone);
  EXPECT_EQ(g.tick(60, 39, 700 * kMs), Change::kNone);
  // Acks reached what was durable one tick ago: caught up.
  EXPECT_EQ(g.tick(70, 60, 800 * kMs), Change::kResumed);
  EXPECT_FALSE(g.degraded());
  EXPECT_EQ(g.limit(60), 60u);
  // And the timeout applies afresh.
  EXPECT_EQ(g.tick(80, 60, 900 * kMs), Change::kNone);
  EXPECT_EQ(g.tick(80, 60, 1401 * kMs), Change::kDegraded);
}

TEST(SyncGate, NoFollowerAtAllDegradesOnTheFirstWrite) {
  SyncGate g(200 * kMs);
  EXPECT_EQ(g.tick(0, 0, 0), Change::kNone);  // idle: nothing waits
  EXPECT_EQ(g.tick(0, 0, 10'000 * kMs), Change::kNone);
  EXPECT_EQ(g.tick(1, 0, 10'001 * kMs), Change::kNone);
  EXPECT_EQ(g.tick(1, 0, 10'201 * kMs), Change::kDegraded);
}

TEST(SyncGate, APromotedLeaderStartsDegradedUntilAFollowerCatchesUp) {
  SyncGate g(2000 * kMs);
  g.start_degraded(50);
  EXPECT_TRUE(g.degraded());
  EXPECT_EQ(g.limit(0), UINT64_MAX);  // the first write after a failover does not wait
  EXPECT_EQ(g.tick(55, 0, 0), Change::kNone);
  EXPECT_EQ(g.tick(60, 0, 5000 * kMs), Change::kNone);   // no follower: stays degraded
  EXPECT_EQ(g.tick(60, 40, 5100 * kMs), Change::kNone);  // the old leader rejoins, catching up
  EXPECT_EQ(g.tick(60, 60, 5200 * kMs), Change::kResumed);
  EXPECT_EQ(g.limit(60), 60u);
}

TEST(SyncGate, RefuseFallbackTripsButKeepsRepliesWaitingForTheAck) {
  SyncGate g(500 * kMs, SyncGate::Fallback::kRefuse);
  EXPECT_EQ(g.tick(10, 3, 0), Change::kNone);
  EXPECT_FALSE(g.refusing());
  EXPECT_EQ(g.tick(12, 3, 600 * kMs), Change::kDegraded);
  EXPECT_TRUE(g.degraded());
  EXPECT_TRUE(g.refusing());
  EXPECT_EQ(g.limit(3), 3u);  // unlike async: nothing is released past the ack
  EXPECT_EQ(g.tick(12, 12, 700 * kMs), Change::kResumed);
  EXPECT_FALSE(g.refusing());
  g.start_degraded(20);  // promoted: refusing until a follower has seq 20
  EXPECT_TRUE(g.refusing());
  EXPECT_EQ(g.limit(15), 15u);
}

}  // namespace
}  // namespace pilot::repl
