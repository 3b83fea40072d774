// KeyIndex: public key -> node ID, as a flat open-addressing table.
//
// Why not std::unordered_map: with 1M random 32-byte keys every insert there costs
// several cache misses (bucket, node, neighbour bucket), which made key binding the
// most expensive part of a registration. Here a lookup or insert is usually one probe
// into one array. Linear probing, power-of-two capacity, load factor <= 0.7,
// backward-shift deletion (no tombstones).
//
// ID 0 marks an empty slot, so 0 cannot be stored (node ID 0 is never assigned).
// The slot layout depends on insertion history; nothing observable does: equality is
// set equality and sorted() gives a canonical order.
//
// The hash is fixed (apply may not use randomness), so someone who can register
// arbitrary keys could in principle craft colliding ones; std::hash is no better.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "core/codec.h"

namespace pilot {

class KeyIndex {
 public:
  struct Entry {
    PublicKey key{};
    uint32_t id = 0;  // 0 = empty slot
  };

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  std::optional<uint32_t> find(const PublicKey& k) const {
    if (size_ == 0) return std::nullopt;
    for (size_t i = home(k);; i = (i + 1) & mask_) {
      const Entry& e = slots_[i];
      if (e.id == 0) return std::nullopt;
      if (e.key == k) return e.id;
    }
  }

  // Binds k to id (id != 0), replacing any previous binding of k. Returns the ID k was
  // bound to before, or 0.
  uint32_t assign(const PublicKey& k, uint32_t id) {
    if (id == 0) return 0;
    if ((size_ + 1) * 10 > slots_.size() * 7) grow(std::max<size_t>(16, slots_.size() * 2));
    for (size_t i = home(k);; i = (i + 1) & mask_) {
      Entry& e = slots_[i];
      if (e.id == 0) {
        e.key = k;
        e.id = id;
        ++size_;
        return 0;
      }
      if (e.key == k) return std::exchange(e.id, id);
    }
  }

  // Removes k if it is bound to `id` (any ID when id == 0). Returns whether it did.
  bool erase(const PublicKey& k, uint32_t id = 0) {
    if (size_ == 0) return false;
    size_t i = home(k);
    for (;; i = (i + 1) & mask_) {
      if (slots_[i].id == 0) return false;
      if (slots_[i].key == k) break;
    }
    if (id != 0 && slots_[i].id != id) return false;
    // Backward shift: pull later entries of the cluster into the hole when their home
    // position does not lie cyclically in (hole, j].
    for (size_t j = (i + 1) & mask_; slots_[j].id != 0; j = (j + 1) & mask_) {
      size_t h = home(slots_[j].key);
      bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
      if (!stays) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Entry{};
    --size_;
    return true;
  }

  void reserve(size_t n) {
    size_t cap = 16;
    while (cap * 7 < n * 10) cap *= 2;
    if (cap > slots_.size()) grow(cap);
  }

  void clear() {
    slots_.clear();
    mask_ = 0;
    size_ = 0;
  }

  template <class F>
  void for_each(F&& f) const {
    for (const Entry& e : slots_)
      if (e.id != 0) f(e.key, e.id);
  }

  // All bindings ordered by key.
  std::vector<Entry> sorted() const {
    std::vector<Entry> out;
    out.reserve(size_);
    for_each([&](const PublicKey& k, uint32_t id) { out.push_back({k, id}); });
    std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.key < b.key; });
    return out;
  }

  bool operator==(const KeyIndex& o) const {
    if (size_ != o.size_) return false;
    for (const Entry& e : slots_)
      if (e.id != 0 && o.find(e.key) != e.id) return false;
    return true;
  }

 private:
  static uint64_t hash(const PublicKey& k) {
    uint64_t w[4];
    std::memcpy(w, k.data(), sizeof w);
    uint64_t h = 0x243F6A8885A308D3ull;
    for (uint64_t x : w) {
      h ^= x;
      h *= 0x9E3779B97F4A7C15ull;
      h ^= h >> 32;
    }
    h *= 0xD6E8FEB86659FD93ull;
    return h ^ (h >> 29);
  }
  size_t home(const PublicKey& k) const { return static_cast<size_t>(hash(k)) & mask_; }

  void grow(size_t cap) {
    std::vector<Entry> old = std::move(slots_);
    slots_.assign(cap, Entry{});
    mask_ = cap - 1;
    for (const Entry& e : old) {
      if (e.id == 0) continue;
      size_t i = home(e.key);
      while (slots_[i].id != 0) i = (i + 1) & mask_;
      slots_[i] = e;
    }
  }

  std::vector<Entry> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace pilot
