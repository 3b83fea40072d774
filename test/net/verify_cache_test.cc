// The verify memo (net/rpc/verify_cache.h): what it remembers, and that a full table
// forgets only what its bucket cannot hold.
#include "net/rpc/verify_cache.h"

#include <gtest/gtest.h>

#include <cstring>

namespace pilot::rpc {
namespace {

// A digest whose bucket index (its first 8 bytes) is `bucket` and whose identity is `tag`.
VerifyCache::Digest make(uint64_t bucket, uint32_t tag) {
  VerifyCache::Digest d{};
  std::memcpy(d.data(), &bucket, sizeof bucket);
  std::memcpy(d.data() + 8, &tag, sizeof tag);
  return d;
}

TEST(VerifyCache, RemembersWhatWasInsertedAndNothingElse) {
  VerifyCache c(64);
  const auto a = make(1, 1), b = make(1, 2);
  EXPECT_FALSE(c.contains(a));
  c.insert(a);
  EXPECT_TRUE(c.contains(a));
  EXPECT_FALSE(c.contains(b));  // same bucket, another digest
  c.insert(a);                  // again: still one slot
  c.insert(b);
  EXPECT_TRUE(c.contains(a));
  EXPECT_TRUE(c.contains(b));
}

TEST(VerifyCache, AFullBucketReplacesItsOldestAndOtherBucketsKeepTheirs) {
  VerifyCache c(64);  // 16 buckets of 4
  ASSERT_EQ(c.capacity(), 64u);
  for (uint32_t t = 0; t < VerifyCache::kWays; ++t) c.insert(make(3, t));
  c.insert(make(4, 100));
  c.insert(make(3, 50));  // bucket 3 is full: replaces tag 0, the first in
  EXPECT_FALSE(c.contains(make(3, 0)));
  for (uint32_t t = 1; t < VerifyCache::kWays; ++t) EXPECT_TRUE(c.contains(make(3, t))) << t;
  EXPECT_TRUE(c.contains(make(3, 50)));
  EXPECT_TRUE(c.contains(make(4, 100)));
  c.insert(make(3, 51));  // then tag 1
  EXPECT_FALSE(c.contains(make(3, 1)));
  EXPECT_TRUE(c.contains(make(3, 2)));
}

TEST(VerifyCache, HoldsItsCapacityOfRealDigests) {
  VerifyCache c(1 << 12);
  PublicKey key{};
  Signature sig{};
  size_t kept = 0;
  const size_t n = c.capacity() / 2;  // half full: with 4 ways a few % spill out of busy buckets
  for (size_t i = 0; i < n; ++i) c.insert(VerifyCache::digest(key, "heartbeat:" + std::to_string(i), sig));
  for (size_t i = 0; i < n; ++i) kept += c.contains(VerifyCache::digest(key, "heartbeat:" + std::to_string(i), sig));
  EXPECT_GT(kept, n * 95 / 100);
  EXPECT_FALSE(c.contains(VerifyCache::digest(key, "heartbeat:" + std::to_string(n), sig)));
}

}  // namespace
}  // namespace pilot::rpc
