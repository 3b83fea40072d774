#include "net/rpc/verify_cache.h"

#include <sodium.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace pilot::rpc {

VerifyCache::VerifyCache(size_t capacity)
    : buckets_(std::bit_ceil(std::max<size_t>(1, (capacity + kWays - 1) / kWays))) {}

VerifyCache::Digest VerifyCache::digest(const PublicKey& key, std::string_view challenge, const Signature& sig) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, key.data(), key.size());
  crypto_hash_sha256_update(&st, reinterpret_cast<const uint8_t*>(challenge.data()), challenge.size());
  crypto_hash_sha256_update(&st, sig.data(), sig.size());
  Digest d;
  crypto_hash_sha256_final(&st, d.data());
  return d;
}

size_t VerifyCache::bucket_of(const Digest& d) const {
  // SHA-256 output is uniform: its first 8 bytes are as good an index as any hash.
  uint64_t h;
  std::memcpy(&h, d.data(), sizeof h);
  return h & (buckets_.size() - 1);
}

bool VerifyCache::contains(const Digest& d) const {
  const Bucket& b = buckets_[bucket_of(d)];
  return std::find(b.slots.begin(), b.slots.begin() + b.used, d) != b.slots.begin() + b.used;
}

void VerifyCache::insert(const Digest& d) {
  Bucket& b = buckets_[bucket_of(d)];
  if (std::find(b.slots.begin(), b.slots.begin() + b.used, d) != b.slots.begin() + b.used) return;
  if (b.used < kWays) {
    b.slots[b.used++] = d;
    return;
  }
  b.slots[b.next] = d;
  b.next = uint8_t((b.next + 1) % kWays);
}

}  // namespace pilot::rpc
