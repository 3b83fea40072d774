// The success memo of Ed25519 verification (spec §4.2 step 5): an identical
// (key, challenge, signature) triple verifies the same way every time, so a repeat —
// a daemon re-sending the same signed request — skips the ~50 µs verify. Keyed by
// SHA-256 of the triple (a collision would be a forgery of SHA-256, not of Ed25519).
// Bounded: when full it starts over; only failures to find cost anything.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <unordered_set>

#include "core/ed25519.h"

namespace pilot::rpc {

class VerifyCache {
 public:
  explicit VerifyCache(size_t capacity = 1 << 16) : capacity_(capacity) {}
  using Digest = std::array<uint8_t, 32>;
  static Digest digest(const PublicKey& key, std::string_view challenge, const Signature& sig);
  bool contains(const Digest& d) const { return set_.count(d) != 0; }
  void insert(const Digest& d) {
    if (set_.size() >= capacity_) set_.clear();
    set_.insert(d);
  }
  uint64_t hits = 0, misses = 0;

 private:
  struct Hash {
    size_t operator()(const Digest& d) const {
      size_t h;
      static_assert(sizeof(h) <= sizeof(Digest));
      __builtin_memcpy(&h, d.data(), sizeof(h));
      return h;
    }
  };
  size_t capacity_;
  std::unordered_set<Digest, Hash> set_;
};

}  // namespace pilot::rpc
