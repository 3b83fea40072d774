// The node table's rules (spec §5.2, §5.4, §6): limiter, capacity per shard, reaping,
// first-write-wins keys, the dest-carrying flag bound to the endpoint owner, and the
// memory a full table takes.
#include "net/beacon/node_table.h"

#include <gtest/gtest.h>

namespace pilot::beacon {
namespace {

constexpr int64_t S = kSecond;
const Endpoint A = Endpoint::v4(10, 0, 0, 1, 1000);
const Endpoint B = Endpoint::v4(10, 0, 0, 2, 2000);

PublicKey key_of(uint8_t fill) {
  PublicKey k;
  k.fill(fill);
  return k;
}

TEST(BeaconNodeTable, DiscoverMovesAtMostOncePer30Seconds) {
  NodeTable t;
  using R = NodeTable::DiscoverResult;
  EXPECT_EQ(t.discover(5, A, 1, false, nullptr, 100 * S, 30 * S), R::kInserted);
  EXPECT_EQ(t.discover(5, B, 2, false, nullptr, 110 * S, 30 * S), R::kThrottled);
  EXPECT_EQ(t.get(5)->endpoint, A);
  EXPECT_EQ(t.get(5)->last_seen, 100 * S);  // a throttled Discover does not refresh
  EXPECT_EQ(t.discover(5, B, 2, false, nullptr, 130 * S, 30 * S), R::kMoved);
  EXPECT_EQ(t.get(5)->endpoint, B);
  EXPECT_EQ(t.get(5)->via, 2);
  EXPECT_EQ(t.get(5)->last_seen, 130 * S);
}

TEST(BeaconNodeTable, ShardCapacityRefusesOnlyNewIds) {
  NodeTable t(1);  // §18.40: a cap of 1
  using R = NodeTable::DiscoverResult;
  EXPECT_EQ(t.discover(0, A, 0, false, nullptr, 0, 30 * S), R::kInserted);
  EXPECT_EQ(t.discover(64, B, 0, false, nullptr, 0, 30 * S), R::kFull);  // same shard (64 & 63 == 0)
  EXPECT_EQ(t.discover(1, B, 0, false, nullptr, 0, 30 * S), R::kInserted);
  EXPECT_EQ(t.discover(0, B, 0, false, nullptr, 40 * S, 30 * S), R::kMoved);  // updates always pass
  EXPECT_FALSE(t.punch_requester(128, A, 0, 0));
  EXPECT_EQ(t.size(), 2u);
}

TEST(BeaconNodeTable, KeysAreFirstWriteWinsAndOnlyFromTheEndpoint) {
  NodeTable t;
  PublicKey k1 = key_of(1), k2 = key_of(2), k3 = key_of(3);
  t.discover(7, A, 0, false, nullptr, 0, 30 * S);
  // From another address inside the window: neither the endpoint nor the key moves.
  t.discover(7, B, 0, false, &k3, S, 30 * S);
  EXPECT_FALSE(t.key(7));
  t.discover(7, A, 0, false, &k1, 2 * S, 30 * S);
  EXPECT_EQ(t.key(7), k1);
  t.discover(7, A, 0, false, &k2, 40 * S, 30 * S);
  EXPECT_EQ(t.key(7), k1);  // §18.8
}

TEST(BeaconNodeTable, DestCarryingFlagBelongsToTheEndpointOwner) {
  NodeTable t;
  t.discover(7, A, 0, false, nullptr, 0, 30 * S);
  t.discover(7, B, 0, true, nullptr, S, 30 * S);  // a stranger's 0x08: ignored
  EXPECT_FALSE(t.get(7)->dest_carrying);
  t.discover(7, A, 0, true, nullptr, 2 * S, 30 * S);  // the owner may switch inside the window
  EXPECT_TRUE(t.get(7)->dest_carrying);
  t.discover(7, A, 0, false, nullptr, 3 * S, 30 * S);
  EXPECT_FALSE(t.get(7)->dest_carrying);
}

TEST(BeaconNodeTable, PunchRequesterInsertsButNeverMoves) {
  NodeTable t;
  auto n = t.punch_requester(9, A, 3, 5 * S);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->endpoint, A);
  EXPECT_EQ(n->via, 3);
  n = t.punch_requester(9, B, 4, 6 * S);  // another address claims the id
  EXPECT_EQ(n->endpoint, A);
  EXPECT_EQ(t.get(9)->last_seen, 5 * S);
  t.punch_requester(9, A, 3, 7 * S);  // the owner refreshes
  EXPECT_EQ(t.get(9)->last_seen, 7 * S);
  // A punch-inserted id has no discover limiter state: its own Discover moves it.
  EXPECT_EQ(t.discover(9, B, 0, false, nullptr, 8 * S, 30 * S), NodeTable::DiscoverResult::kMoved);
}

TEST(BeaconNodeTable, ReapRemovesSilentNodesWithTheirKeys) {
  NodeTable t;
  PublicKey k = key_of(9);
  t.discover(1, A, 0, false, &k, 0, 30 * S);
  t.discover(2, B, 0, false, nullptr, 500 * S, 30 * S);
  EXPECT_EQ(t.reap(600 * S, 600 * S), 0u);  // exactly the TTL old: stays
  EXPECT_EQ(t.reap(601 * S, 600 * S), 1u);
  EXPECT_FALSE(t.contains(1));
  EXPECT_FALSE(t.key(1));
  EXPECT_TRUE(t.contains(2));
  // A re-registered id starts without its old key.
  t.discover(1, A, 0, false, nullptr, 700 * S, 30 * S);
  EXPECT_FALSE(t.key(1));
}

TEST(BeaconNodeTable, NotifyAtMostOncePerInterval) {
  NodeTable t;
  NodeView v;
  using R = NodeTable::NotifyResult;
  EXPECT_EQ(t.notify(3, 0, S, v), R::kNotFound);
  t.discover(3, A, 5, false, nullptr, 0, 30 * S);
  EXPECT_EQ(t.notify(3, 0, S, v), R::kAllowed);
  EXPECT_EQ(v.endpoint, A);
  EXPECT_EQ(v.via, 5);
  EXPECT_EQ(t.notify(3, S - 1, S, v), R::kThrottled);
  EXPECT_EQ(t.notify(3, S, S, v), R::kAllowed);
}

TEST(BeaconNodeTable, FullTableFitsTheMemoryBudget) {
  NodeTable t;
  uint32_t inserted = 0;
  for (uint32_t id = 0; id < kMaxNodes + 1000; ++id) {
    Endpoint e = Endpoint::v4(100, static_cast<uint8_t>(id >> 16), static_cast<uint8_t>(id >> 8),
                              static_cast<uint8_t>(id), 40000);
    if (t.discover(id, e, 0, false, nullptr, 0, 30 * S) != NodeTable::DiscoverResult::kFull) ++inserted;
  }
  EXPECT_EQ(inserted, kShardCapacity * kNodeShards);  // 499,968
  EXPECT_EQ(t.size(), inserted);
  // 56-byte slots + 1 occupancy byte, load ≥ 3/8: about 59 MB — far inside the
  // 256 MiB the whole beacon may use at 500,000 nodes.
  EXPECT_LT(t.memory_bytes(), 64u << 20);
  EXPECT_EQ(t.ids().size(), inserted);
}

}  // namespace
}  // namespace pilot::beacon
