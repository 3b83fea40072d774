// OwnerIndex: owner string -> node ID, as a flat open-addressing table over
// append-only arrays.
//
// Why not std::unordered_map: with 1M owners every insert there allocates a node, walks
// a bucket chain (cache misses) and now and then rehashes the whole chain structure,
// which was a large share of replaying registrations. Owner bindings are never removed
// (they outlive the node), so entries live in plain arrays (names, IDs, hashes) and the
// table is an array of small slots pointing into them: linear probing, power-of-two
// capacity, load factor <= 0.7, a slot's 32-bit tag (high hash bits) filters compares.
//
// The hash is std::hash<std::string_view> (fixed across runs, as for unordered_map).
// Nothing observable depends on the layout: equality is map equality and sorted()
// gives a canonical order.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pilot {

class OwnerIndex {
 public:
  size_t size() const { return ids_.size(); }
  bool empty() const { return ids_.empty(); }

  std::optional<uint32_t> find(std::string_view k) const {
    size_t e = locate(k, hash(k));
    if (e == kNone) return std::nullopt;
    return ids_[e];
  }

  // Binds k to id, replacing any previous binding of k.
  void insert_or_assign(std::string_view k, uint32_t id) {
    const uint64_t h = hash(k);
    if (size_t e = locate(k, h); e != kNone) {
      ids_[e] = id;
      return;
    }
    add(std::string(k), id, h);
  }

  // Binds k to id if k is unbound; returns whether it did.
  bool try_emplace(std::string k, uint32_t id) {
    const uint64_t h = hash(k);
    if (locate(k, h) != kNone) return false;
    add(std::move(k), id, h);
    return true;
  }

  void reserve(size_t n) {
    names_.reserve(n);
    ids_.reserve(n);
    hashes_.reserve(n);
    size_t cap = 16;
    while (cap * 7 < n * 10) cap *= 2;
    if (cap > slots_.size()) rebuild(cap);
  }

  template <class F>
  void for_each(F&& f) const {
    for (size_t e = 0; e < ids_.size(); ++e) f(names_[e], ids_[e]);
  }

  // All bindings ordered by owner.
  std::vector<std::pair<std::string_view, uint32_t>> sorted() const {
    std::vector<std::pair<std::string_view, uint32_t>> out;
    out.reserve(ids_.size());
    for (size_t e = 0; e < ids_.size(); ++e) out.emplace_back(names_[e], ids_[e]);
    std::sort(out.begin(), out.end());
    return out;
  }

  bool operator==(const OwnerIndex& o) const {
    if (size() != o.size()) return false;
    for (size_t e = 0; e < ids_.size(); ++e)
      if (o.find(names_[e]) != ids_[e]) return false;
    return true;
  }

 private:
  struct Slot {
    uint32_t tag = 0;
    uint32_t entry = 0;  // index into the arrays + 1; 0 = empty slot
  };
  static constexpr size_t kNone = ~size_t{0};

  static uint64_t hash(std::string_view k) { return std::hash<std::string_view>{}(k); }
  static uint32_t tag(uint64_t h) { return static_cast<uint32_t>(h >> 32); }

  // Index of k's entry, or kNone.
  size_t locate(std::string_view k, uint64_t h) const {
    if (ids_.empty()) return kNone;
    const uint32_t t = tag(h);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.entry == 0) return kNone;
      if (s.tag == t && names_[s.entry - 1] == k) return s.entry - 1;
    }
  }

  void add(std::string k, uint32_t id, uint64_t h) {
    if ((ids_.size() + 1) * 10 > slots_.size() * 7) rebuild(std::max<size_t>(16, slots_.size() * 2));
    names_.push_back(std::move(k));
    ids_.push_back(id);
    hashes_.push_back(h);
    place(ids_.size() - 1, h);
  }

  void place(size_t e, uint64_t h) {
    size_t i = h & mask_;
    while (slots_[i].entry != 0) i = (i + 1) & mask_;
    slots_[i] = Slot{tag(h), static_cast<uint32_t>(e + 1)};
  }

  void rebuild(size_t cap) {
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    for (size_t e = 0; e < hashes_.size(); ++e) place(e, hashes_[e]);
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  std::vector<std::string> names_;
  std::vector<uint32_t> ids_;
  std::vector<uint64_t> hashes_;
};

}  // namespace pilot
