// The one hash table the beacon's state lives in: open addressing, linear probing,
// backward-shift deletion (no tombstones), power-of-two slot count, load ≤ 3/4.
//
// Why not std::unordered_map: a node-based map costs a heap node per entry (~80 bytes
// for a 48-byte value) plus a bucket pointer, and its default hash for integers is the
// identity, so an attacker who picks node ids (anyone can Discover any id) or source
// ports could line them up in one bucket chain. Here the slot index is the top bits of
// a keyed hash (KeyedHash: vector multiply-shift with per-process random keys, which is
// universal — colliding keys cannot be chosen without knowing the keys), and entries
// sit inline in one array.
//
// Not thread-safe: every table is one shard guarded by its owner's mutex.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "net/beacon/endpoint.h"

namespace pilot::beacon {

// h(x) = k0 + Σ k_i·x_i (mod 2^64) over the key's 32-bit words, with random 64-bit
// k_i; callers use the top bits. Dietzfelbinger's vector multiply-shift.
class KeyedHash {
 public:
  KeyedHash() {
    std::random_device rd;
    for (auto& k : k_) k = (uint64_t{rd()} << 32) | rd();
  }
  explicit KeyedHash(uint64_t seed) {
    std::mt19937_64 g(seed);
    for (auto& k : k_) k = g();
  }
  uint64_t operator()(uint32_t id) const { return k_[0] + k_[1] * id; }
  uint64_t operator()(const IpBytes& ip) const {
    uint64_t h = k_[0];
    for (int i = 0; i < 4; ++i) h += k_[1 + i] * word(ip.data() + 4 * i);
    return h;
  }
  uint64_t operator()(const Endpoint& e) const { return (*this)(e.ip) + k_[5] * e.port; }

 private:
  static uint64_t word(const uint8_t* p) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    return w;
  }
  uint64_t k_[6];
};

template <class K, class V>
class FlatMap {
 public:
  explicit FlatMap(const KeyedHash* hash) : hash_(hash) {}

  size_t size() const { return size_; }
  size_t slot_count() const { return slots_.size(); }
  size_t memory_bytes() const { return slots_.capacity() * sizeof(Slot) + used_.capacity(); }

  V* find(const K& key) {
    if (size_ == 0) return nullptr;
    for (size_t i = home(key);; i = next(i)) {
      if (!used_[i]) return nullptr;
      if (slots_[i].key == key) return &slots_[i].value;
    }
  }
  const V* find(const K& key) const { return const_cast<FlatMap*>(this)->find(key); }

  // The value for `key`, default-constructed and inserted if absent (`inserted`).
  V& get_or_insert(const K& key, bool& inserted) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    size_t i = home(key);
    for (; used_[i]; i = next(i))
      if (slots_[i].key == key) {
        inserted = false;
        return slots_[i].value;
      }
    used_[i] = 1;
    slots_[i].key = key;
    slots_[i].value = V{};
    ++size_;
    inserted = true;
    return slots_[i].value;
  }

  bool erase(const K& key) {
    if (size_ == 0) return false;
    for (size_t i = home(key); used_[i]; i = next(i))
      if (slots_[i].key == key) {
        erase_at(i);
        return true;
      }
    return false;
  }

  // Removes every entry for which pred(key, value) is true; returns how many.
  template <class Pred>
  size_t erase_if(Pred pred) {
    size_t removed = 0;
    for (size_t i = 0; i < slots_.size();) {
      if (used_[i] && pred(std::as_const(slots_[i].key), slots_[i].value)) {
        // Backward shift may move a later entry into slot i (or one wrapped from the
        // front into the last slot): look at i again. Entries only move backwards, so
        // none is skipped; one may be looked at twice, which pred tolerates.
        erase_at(i);
        ++removed;
      } else {
        ++i;
      }
    }
    return removed;
  }

  template <class F>
  void for_each(F f) const {
    for (size_t i = 0; i < slots_.size(); ++i)
      if (used_[i]) f(slots_[i].key, slots_[i].value);
  }

  void clear() {
    slots_.clear();
    used_.clear();
    slots_.shrink_to_fit();
    used_.shrink_to_fit();
    size_ = 0;
    shift_ = 64;
  }

 private:
  struct Slot {
    K key;
    V value;
  };

  size_t home(const K& key) const { return static_cast<size_t>((*hash_)(key) >> shift_); }
  size_t next(size_t i) const { return (i + 1) & (slots_.size() - 1); }

  void grow() {
    size_t n = slots_.empty() ? 16 : slots_.size() * 2;
    std::vector<Slot> old_slots(n);
    std::vector<uint8_t> old_used(n, 0);
    old_slots.swap(slots_);
    old_used.swap(used_);
    shift_ = 64 - std::countr_zero(n);
    for (size_t i = 0; i < old_slots.size(); ++i) {
      if (!old_used[i]) continue;
      size_t j = home(old_slots[i].key);
      while (used_[j]) j = next(j);
      used_[j] = 1;
      slots_[j] = std::move(old_slots[i]);
    }
  }

  // Knuth's algorithm R: pull back every later entry of the probe run whose home does
  // not lie cyclically in (hole, its position].
  void erase_at(size_t hole) {
    size_t j = hole;
    for (;;) {
      j = next(j);
      if (!used_[j]) break;
      size_t h = home(slots_[j].key);
      bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
      if (stays) continue;
      slots_[hole] = std::move(slots_[j]);
      hole = j;
    }
    used_[hole] = 0;
    --size_;
  }

  const KeyedHash* hash_;
  std::vector<Slot> slots_;
  std::vector<uint8_t> used_;
  size_t size_ = 0;
  int shift_ = 64;
};

}  // namespace pilot::beacon
