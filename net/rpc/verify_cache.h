// The success memo of Ed25519 verification (spec §4.2 step 5): an identical
// (key, challenge, signature) triple verifies the same way every time, so a repeat —
// a daemon re-sending the same signed request — skips the ~50 µs verify. Keyed by
// SHA-256 of the triple (a collision would be a forgery of SHA-256, not of Ed25519).
//
// A fixed table, allocated once: kWays slots per bucket, the bucket chosen by the
// digest's first bytes; a new digest takes a free slot of its bucket or, when the
// bucket is full, the slot after the one replaced last. Every operation is O(1) and
// nothing allocates after construction. (An unordered_set cleared when full cost the
// loop thread milliseconds at a time under a stream of new signatures: freeing 65k
// nodes, then rehashing as it grew again.) Forgetting an entry is always safe: the
// next request with that triple is verified again.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/ed25519.h"

namespace pilot::rpc {

class VerifyCache {
 public:
  using Digest = std::array<uint8_t, 32>;
  static constexpr size_t kWays = 4;

  // Holds at least `capacity` digests (rounded up to a power-of-two number of buckets).
  explicit VerifyCache(size_t capacity = 1 << 16);

  static Digest digest(const PublicKey& key, std::string_view challenge, const Signature& sig);

  bool contains(const Digest& d) const;
  void insert(const Digest& d);
  size_t capacity() const { return buckets_.size() * kWays; }

  uint64_t hits = 0, misses = 0;

 private:
  struct Bucket {
    std::array<Digest, kWays> slots{};
    uint8_t used = 0;  // slots [0, used) hold digests
    uint8_t next = 0;  // the slot a full bucket replaces next
  };
  size_t bucket_of(const Digest& d) const;

  std::vector<Bucket> buckets_;
};

}  // namespace pilot::rpc
