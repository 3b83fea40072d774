#include "projections/key_index.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace pilot {
namespace {

PublicKey k(uint64_t n) {
  PublicKey key{};
  for (size_t i = 0; i < 8; ++i) key[i] = static_cast<uint8_t>(n >> (8 * i));
  return key;
}

TEST(KeyIndex, BasicOperations) {
  KeyIndex idx;
  EXPECT_FALSE(idx.find(k(1)).has_value());
  EXPECT_EQ(idx.assign(k(1), 10), 0u);
  EXPECT_EQ(idx.assign(k(2), 20), 0u);
  EXPECT_EQ(idx.find(k(1)), 10u);
  EXPECT_EQ(idx.assign(k(1), 11), 10u);  // rebinding returns the old ID
  EXPECT_EQ(idx.size(), 2u);
  EXPECT_FALSE(idx.erase(k(1), 10));  // bound to 11, not 10
  EXPECT_TRUE(idx.erase(k(1), 11));
  EXPECT_FALSE(idx.find(k(1)).has_value());
  EXPECT_TRUE(idx.erase(k(2)));
  EXPECT_FALSE(idx.erase(k(2)));
  EXPECT_TRUE(idx.empty());
  EXPECT_EQ(idx.assign(k(3), 0), 0u);  // ID 0 cannot be stored
  EXPECT_TRUE(idx.empty());
}

TEST(KeyIndex, MatchesAReferenceMapUnderRandomOperations) {
  // Few distinct keys and many erases: long clusters, wrap-around and backward shifts.
  std::mt19937_64 rng(5);
  KeyIndex idx;
  std::map<PublicKey, uint32_t> ref;
  for (int i = 0; i < 200000; ++i) {
    PublicKey key = k(rng() % 3000);
    uint32_t id = static_cast<uint32_t>(1 + rng() % 1000);
    switch (rng() % 3) {
      case 0: {
        auto it = ref.find(key);
        uint32_t before = it == ref.end() ? 0 : it->second;
        ASSERT_EQ(idx.assign(key, id), before);
        ref[key] = id;
        break;
      }
      case 1: ASSERT_EQ(idx.erase(key), ref.erase(key) == 1); break;
      default: {
        auto it = ref.find(key);
        ASSERT_EQ(idx.find(key), it == ref.end() ? std::nullopt : std::optional<uint32_t>(it->second));
      }
    }
    ASSERT_EQ(idx.size(), ref.size());
  }
  auto sorted = idx.sorted();
  ASSERT_EQ(sorted.size(), ref.size());
  size_t i = 0;
  for (const auto& [key, id] : ref) {
    EXPECT_EQ(sorted[i].key, key);
    EXPECT_EQ(sorted[i].id, id);
    ++i;
  }
}

TEST(KeyIndex, EqualityIgnoresInsertionOrder) {
  KeyIndex a, b;
  for (uint64_t n = 0; n < 100; ++n) a.assign(k(n), static_cast<uint32_t>(n + 1));
  for (uint64_t n = 100; n-- > 0;) b.assign(k(n), static_cast<uint32_t>(n + 1));
  b.reserve(5000);
  EXPECT_TRUE(a == b);
  b.assign(k(7), 99);
  EXPECT_FALSE(a == b);
  b.assign(k(7), 8);
  EXPECT_TRUE(a == b);
  b.erase(k(7));
  EXPECT_FALSE(a == b);
}

}  // namespace
}  // namespace pilot
