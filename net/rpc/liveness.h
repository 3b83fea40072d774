// What the registry knows about nodes that is not state (ARCHITECTURE.md §1: liveness
// is not logged): when each node was last heard from, when its heartbeat signature was
// last verified (spec §6.2: a 120 s skip window — which we tie to the signature bytes,
// see heartbeat() in ops_directory.cc), and whether its key ever registered
// with a valid signature (the PPA-003 ratchet of §6.1, in memory as in the reference).
//
// Node IDs are handed out densely from 1, so this is a vector indexed by ID (40 B each).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace pilot::rpc {

class Liveness {
 public:
  struct Entry {
    int64_t last_seen_ns = 0;
    int64_t last_verified_ns = 0;            // heartbeat signature; 0 = never
    std::array<uint8_t, 16> verified_sig{};  // first bytes of that signature
    bool signed_register = false;            // ratchet: unsigned re-registers are refused
  };

  // The entry for `id`, created on first use. IDs beyond kMaxDenseId (never handed
  // out by this registry, only seen in damaged or foreign logs) share one scratch
  // entry so they cannot make the table allocate.
  Entry& at(uint32_t id) {
    if (id >= kMaxDenseId) return scratch_ = Entry{};
    if (id >= entries_.size()) entries_.resize(grow_to(id));
    return entries_[id];
  }
  const Entry* find(uint32_t id) const { return id < entries_.size() ? &entries_[id] : nullptr; }
  int64_t last_seen_ns(uint32_t id) const {
    const Entry* e = find(id);
    return e ? e->last_seen_ns : 0;
  }
  void touch(uint32_t id, int64_t now_ns) { at(id).last_seen_ns = now_ns; }
  // Forget verification state when the node's key changes or the node goes away.
  void reset_auth(uint32_t id) {
    if (id < entries_.size()) entries_[id].last_verified_ns = 0, entries_[id].signed_register = false;
  }
  size_t capacity() const { return entries_.size(); }

 private:
  static constexpr uint32_t kMaxDenseId = 1u << 26;  // 64 M nodes
  static size_t grow_to(uint32_t id) {
    size_t n = 1024;
    while (n <= id) n *= 2;
    return n;
  }
  std::vector<Entry> entries_;
  Entry scratch_;
};

}  // namespace pilot::rpc
