// The beacon's hash table against std::map under random inserts/erases/erase_if,
// including keys chosen to share their low bits (what node ids of one shard do).
#include "net/beacon/flat_map.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace pilot::beacon {
namespace {

TEST(BeaconFlatMap, MatchesStdMapUnderRandomOperations) {
  KeyedHash h(42);
  FlatMap<uint32_t, uint64_t> m(&h);
  std::map<uint32_t, uint64_t> ref;
  std::mt19937 rng(7);
  for (int round = 0; round < 200000; ++round) {
    uint32_t key = (rng() % 3000) << 6;  // one shard's ids: low 6 bits equal
    switch (rng() % 4) {
      case 0:
      case 1: {
        bool inserted;
        m.get_or_insert(key, inserted) = round;
        EXPECT_EQ(inserted, ref.count(key) == 0);
        ref[key] = round;
        break;
      }
      case 2: EXPECT_EQ(m.erase(key), ref.erase(key) == 1); break;
      default: {
        const uint64_t* v = m.find(key);
        auto it = ref.find(key);
        ASSERT_EQ(v != nullptr, it != ref.end());
        if (v) {
          EXPECT_EQ(*v, it->second);
        }
      }
    }
    if (round % 20000 == 0) {
      uint64_t cut = static_cast<uint64_t>(round) / 2;
      size_t removed = m.erase_if([&](uint32_t, uint64_t v) { return v < cut; });
      size_t expected = std::erase_if(ref, [&](const auto& kv) { return kv.second < cut; });
      EXPECT_EQ(removed, expected);
    }
    ASSERT_EQ(m.size(), ref.size());
  }
  size_t seen = 0;
  m.for_each([&](uint32_t k, uint64_t v) {
    ++seen;
    EXPECT_EQ(ref.at(k), v);
  });
  EXPECT_EQ(seen, ref.size());
  EXPECT_LE(m.size() * 4, m.slot_count() * 3);
}

TEST(BeaconFlatMap, EraseIfEverythingEmptiesTheTable) {
  KeyedHash h(1);
  FlatMap<Endpoint, int> m(&h);
  bool inserted;
  for (uint16_t p = 0; p < 5000; ++p) m.get_or_insert(Endpoint::v4(10, 0, 0, 1, p), inserted) = p;
  EXPECT_EQ(m.size(), 5000u);
  EXPECT_EQ(m.erase_if([](const Endpoint&, int) { return true; }), 5000u);
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(m.find(Endpoint::v4(10, 0, 0, 1, 7)), nullptr);
}

}  // namespace
}  // namespace pilot::beacon
