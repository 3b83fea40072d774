// The embedded beacon's policy over projections built from events (no sockets): what
// strict punching allows, which key punch grants are checked against, and reads on
// other threads while events are applied under the state mutex (run under TSan).
#include "net/beacon/log_policy.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "test/projections/helpers.h"

namespace pilot::beacon {
namespace {

using projtest::key;
using projtest::reg;

struct BeaconLogPolicy : ::testing::Test {
  projtest::Feeder feed;
  RwMutex mu;
  LogPolicy policy{feed.state, mu};

  void apply(const Event& e) {
    std::unique_lock lock(mu);
    feed(e);
  }
};

TEST_F(BeaconLogPolicy, NodeKeyIsTheDirectorysCurrentKey) {
  EXPECT_EQ(policy.node_key(1), std::nullopt);
  apply(reg(1, 7));
  EXPECT_EQ(policy.node_key(1), key(7));
  KeyRotated rot;
  rot.node_id = 1;
  rot.new_public_key = key(8);
  apply(rot);
  EXPECT_EQ(policy.node_key(1), key(8));
  apply(NodeDeregistered{1});
  EXPECT_EQ(policy.node_key(1), std::nullopt) << "a node that is gone has no current key";
  apply(reg(2, 0));
  EXPECT_EQ(policy.node_key(2), std::nullopt) << "a keyless legacy record falls back to the Discover key";
}

TEST_F(BeaconLogPolicy, StrictPunchNeedsTrustASharedCustomNetworkOrAPublicTarget) {
  apply(reg(1, 1));
  apply(reg(2, 2));
  apply(reg(3, 3));
  EXPECT_FALSE(policy.may_punch(1, 2)) << "sharing the backbone is not enough";

  apply(TrustAdded{2, 1});
  EXPECT_TRUE(policy.may_punch(1, 2));
  EXPECT_TRUE(policy.may_punch(2, 1));
  EXPECT_FALSE(policy.may_punch(1, 3));
  apply(TrustRevoked{1, 2});
  EXPECT_FALSE(policy.may_punch(1, 2));

  NetworkCreated net;
  net.network_id = 1;
  net.name = "lab";
  net.join_rule = "open";
  net.creator_node_id = 1;
  apply(net);
  EXPECT_FALSE(policy.may_punch(2, 1));
  apply(MemberJoined{1, 2, Role::kMember});
  EXPECT_TRUE(policy.may_punch(2, 1));
  EXPECT_TRUE(policy.may_punch(1, 2));
  apply(MemberLeft{1, 2, LeaveReason::kLeft, {}});
  EXPECT_FALSE(policy.may_punch(2, 1));

  apply(VisibilityChanged{3, true});
  EXPECT_TRUE(policy.may_punch(1, 3));
  EXPECT_TRUE(policy.may_punch(42, 3)) << "public: punchable by any id";
  EXPECT_FALSE(policy.may_punch(3, 1)) << "the requester being public opens nothing";
  EXPECT_FALSE(policy.breaker_open(Breaker::kPunch));
}

// The beacon's reader threads ask while the loop thread applies, as in rendezvous:
// every answer is one the state had at some point, and TSan sees every read ordered
// against every apply by the mutex.
TEST_F(BeaconLogPolicy, ReadersRaceAppliesSafely) {
  apply(reg(1, 1));
  apply(reg(2, 2));
  NetworkCreated net;
  net.network_id = 1;
  net.name = "lab";
  net.join_rule = "open";
  net.creator_node_id = 1;
  apply(net);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t)
    readers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        policy.may_punch(2, 1);
        auto k = policy.node_key(2);
        if (k && *k != key(2) && *k != key(9)) ADD_FAILURE() << "a key the node never had";
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    });
  // Apply until the readers have asked plenty in between (the writer-preferring mutex
  // lets this loop run ahead of threads not yet scheduled), within a bounded time.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int i = 0; (i < 2000 || reads.load() < 20000) && std::chrono::steady_clock::now() < deadline; ++i) {
    apply(MemberJoined{1, 2, Role::kMember});
    apply(TrustAdded{1, 2});
    KeyRotated rot;
    rot.node_id = 2;
    rot.new_public_key = key(i % 2 ? 2 : 9);
    apply(rot);
    apply(MemberLeft{1, 2, LeaveReason::kLeft, {}});
    apply(TrustRevoked{1, 2});
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_GE(reads.load(), 20000u);
  EXPECT_FALSE(policy.may_punch(2, 1));
}

}  // namespace
}  // namespace pilot::beacon
