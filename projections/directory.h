// The directory projection: live nodes and the indexes that bind identities to IDs.
//
// A node is "live" while it has a record here (registered and neither deregistered nor
// expired). Its ID stays bound to its key (key index) and owner (owner index) after it
// goes away, so the same key — or the same owner with a new key — gets the ID back.
// The hostname index holds live nodes only.
//
// Invariants (kept by apply, relied on by snapshot load, which rebuilds the derived
// indexes instead of storing them):
//   * hostname_index == {(n.hostname, n.id) : n live, n.hostname non-empty};
//   * a key maps to at most one ID and an ID has at most one key in the key index; a
//     live node's entry, when present, is its current key;
//   * next_node > every ID ever registered (it may reach 2^32: the ID space is spent).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/codec.h"
#include "core/events.h"
#include "projections/key_index.h"
#include "projections/owner_index.h"

namespace pilot {

// The fields of a node that most nodes never set (external ID, badge, recovery). They
// live out of line, allocated on first write, so a Node stays small.
struct NodeExtras {
  std::string external_id;
  std::string badge;
  std::string badge_sig;
  std::string verification_provider;
  int64_t verified_at = 0;  // unix seconds
  std::string recovery_commitment;
  std::string recovery_provider;
  std::string recovery_nonce;  // last consumed recovery nonce
  int64_t recovery_exp = 0;    // unix seconds, until when that nonce stays consumed

  bool operator==(const NodeExtras&) const = default;
};

// An optional NodeExtras with value semantics: copies deep, and an absent one reads and
// compares as all-default.
class NodeExtrasBox {
 public:
  NodeExtrasBox() = default;
  NodeExtrasBox(const NodeExtrasBox& o) : p_(o.p_ ? std::make_unique<NodeExtras>(*o.p_) : nullptr) {}
  NodeExtrasBox(NodeExtrasBox&&) noexcept = default;
  NodeExtrasBox& operator=(const NodeExtrasBox& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<NodeExtras>(*o.p_) : nullptr;
    return *this;
  }
  NodeExtrasBox& operator=(NodeExtrasBox&&) noexcept = default;

  const NodeExtras& get() const { return p_ ? *p_ : kNone; }
  NodeExtras& mut() {
    if (!p_) p_ = std::make_unique<NodeExtras>();
    return *p_;
  }
  bool allocated() const { return p_ != nullptr; }
  // Frees the storage when every field is default again.
  void shrink() {
    if (p_ && *p_ == kNone) p_.reset();
  }

  bool operator==(const NodeExtrasBox& o) const { return get() == o.get(); }

 private:
  static inline const NodeExtras kNone{};
  std::unique_ptr<NodeExtras> p_;
};

// One live node, with the fields the reference snapshot keeps (spec §8.1 item 3).
// Times named *_ns are unix nanoseconds taken from the event record; the others are
// unix seconds carried inside events. The rarely set fields are in `extras` (read
// them through the accessors below).
struct Node {
  uint32_t id = 0;
  bool is_public = false;
  bool relay_only = false;
  uint32_t key_rot_count = 0;
  PublicKey public_key{};
  std::string owner;
  std::string real_addr;
  std::string hostname;
  std::string version;
  std::vector<std::string> tags;
  std::vector<std::string> lan_addrs;
  int64_t key_created_ns = 0;  // registration that created this record
  int64_t key_rotated_ns = 0;  // 0 = never rotated
  int64_t key_expires = 0;     // unix seconds, 0 = none
  int64_t registered_at_ns = 0;
  int64_t last_registered_ns = 0;
  NodeExtrasBox extras;

  const std::string& external_id() const { return extras.get().external_id; }
  const std::string& badge() const { return extras.get().badge; }
  const std::string& badge_sig() const { return extras.get().badge_sig; }
  const std::string& verification_provider() const { return extras.get().verification_provider; }
  int64_t verified_at() const { return extras.get().verified_at; }
  const std::string& recovery_commitment() const { return extras.get().recovery_commitment; }
  const std::string& recovery_provider() const { return extras.get().recovery_provider; }
  const std::string& recovery_nonce() const { return extras.get().recovery_nonce; }
  int64_t recovery_exp() const { return extras.get().recovery_exp; }

  bool verified() const { return !badge().empty(); }
  bool operator==(const Node&) const = default;
};

// The live nodes, by ID. IDs are handed out sequentially from 1, so nodes sit in
// fixed-size chunks indexed by ID: no allocation or hashing per node, and a Node costs
// its own size. apply must stay total, so an event naming an arbitrary ID must not make
// the table allocate much: the chunk directory only reaches IDs up to about twice the
// live count (or what reserve() asked for), and a node with an ID beyond that goes to a
// small hash map instead. A node is found in its chunk slot if live there, else in the
// map; an ID is never in both.
//
// An empty slot holds a default Node (id 0; ID 0 is never stored). Iteration visits the
// chunks in ID order, then the map in hash order. Equality is equality of the sets of
// (ID, node), whatever the layout.
class NodeTable {
 public:
  using key_type = uint32_t;
  using value_type = std::pair<uint32_t, const Node&>;

  class const_iterator {
   public:
    using value_type = NodeTable::value_type;
    using reference = value_type;
    using difference_type = std::ptrdiff_t;
    using iterator_category = std::forward_iterator_tag;
    struct Arrow {
      value_type v;
      const value_type* operator->() const { return &v; }
    };

    const_iterator() = default;
    value_type operator*() const {
      const Node& n = in_chunks() ? slot() : it_->second;
      return {n.id, n};
    }
    Arrow operator->() const { return Arrow{**this}; }
    const_iterator& operator++() {
      if (in_chunks()) {
        ++pos_;
        skip();
      } else {
        ++it_;
      }
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const const_iterator& o) const { return pos_ == o.pos_ && it_ == o.it_; }

   private:
    friend class NodeTable;
    const_iterator(const NodeTable* t, size_t pos, std::unordered_map<uint32_t, Node>::const_iterator it)
        : t_(t), pos_(pos), it_(it) {}
    bool in_chunks() const { return pos_ < t_->slots(); }
    const Node& slot() const { return (*t_->chunks_[pos_ >> kChunkBits])[pos_ & kChunkMask]; }
    // Advances pos_ to the next live slot, or to the end of the chunks.
    void skip() {
      const size_t end = t_->slots();
      while (pos_ < end) {
        if (!t_->chunks_[pos_ >> kChunkBits]) {
          pos_ = ((pos_ >> kChunkBits) + 1) << kChunkBits;
          continue;
        }
        if (slot().id != 0) return;
        ++pos_;
      }
      pos_ = end;
    }
    const NodeTable* t_ = nullptr;
    size_t pos_ = 0;
    std::unordered_map<uint32_t, Node>::const_iterator it_{};
  };
  using iterator = const_iterator;

  NodeTable() = default;
  NodeTable(const NodeTable& o);
  NodeTable(NodeTable&&) noexcept = default;
  NodeTable& operator=(const NodeTable& o);
  NodeTable& operator=(NodeTable&&) noexcept = default;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t count(uint32_t id) const { return find(id) ? 1 : 0; }

  const Node* find(uint32_t id) const {
    if (const Node* n = dense(id); n && n->id != 0) return n;
    if (far_.empty()) return nullptr;
    auto it = far_.find(id);
    return it == far_.end() ? nullptr : &it->second;
  }
  Node* find(uint32_t id) { return const_cast<Node*>(std::as_const(*this).find(id)); }
  const Node& at(uint32_t id) const;  // throws std::out_of_range when absent

  // The node with this ID, created (all-default but for its id) if absent; second is
  // whether it was created. (Directory never stores ID 0; if asked, it goes to the map.)
  std::pair<Node*, bool> try_emplace(uint32_t id);
  bool erase(uint32_t id);
  // Lets the chunk directory reach IDs up to about n without waiting for the live count.
  void reserve(size_t n);

  const_iterator begin() const {
    const_iterator it(this, 0, far_.begin());
    it.skip();
    return it;
  }
  const_iterator end() const { return const_iterator(this, slots(), far_.end()); }

  bool operator==(const NodeTable& o) const;

 private:
  static constexpr unsigned kChunkBits = 10;
  static constexpr size_t kChunkSize = size_t{1} << kChunkBits;
  static constexpr size_t kChunkMask = kChunkSize - 1;
  using Chunk = std::array<Node, kChunkSize>;

  size_t slots() const { return chunks_.size() << kChunkBits; }
  const Node* dense(uint32_t id) const {
    const size_t c = id >> kChunkBits;
    if (c >= chunks_.size() || !chunks_[c]) return nullptr;
    return &(*chunks_[c])[id & kChunkMask];
  }

  std::vector<std::unique_ptr<Chunk>> chunks_;
  std::unordered_map<uint32_t, Node> far_;  // live nodes whose ID the chunks do not reach
  size_t size_ = 0;
};

class Directory {
 public:
  using NodeMap = NodeTable;
  using NameIndex = std::unordered_map<std::string, uint32_t>;

  // ---- queries ----
  const Node* find(uint32_t id) const { return nodes_.find(id); }
  bool is_live(uint32_t id) const { return nodes_.find(id) != nullptr; }
  size_t size() const { return nodes_.size(); }
  // ID bound to a key / owner / hostname (the first two include nodes that are gone).
  std::optional<uint32_t> id_by_key(const PublicKey& key) const { return key_idx_.find(key); }
  std::optional<uint32_t> id_by_owner(const std::string& owner) const { return owner_idx_.find(owner); }
  std::optional<uint32_t> id_by_hostname(const std::string& hostname) const { return lookup(hostname_idx_, hostname); }
  const NodeMap& nodes() const { return nodes_; }
  const KeyIndex& key_index() const { return key_idx_; }
  const OwnerIndex& owner_index() const { return owner_idx_; }
  const NameIndex& hostname_index() const { return hostname_idx_; }
  // The ID a brand-new identity gets. > UINT32_MAX means the ID space is exhausted.
  uint64_t next_node() const { return next_node_; }

  // Pre-size the tables (e.g. before a replay of a big log).
  void reserve(size_t nodes);

  // ---- apply (see README.md for the rules; events about absent nodes are ignored
  // except NodeRegistered, which creates the node) ----
  void apply(const EventMeta& m, const NodeRegistered& e);
  void apply(const EventMeta& m, const NodeDeregistered& e);
  void apply(const EventMeta& m, const NodeExpired& e);
  void apply(const EventMeta& m, const HostnameChanged& e);
  void apply(const EventMeta& m, const TagsChanged& e);
  void apply(const EventMeta& m, const VisibilityChanged& e);
  void apply(const EventMeta& m, const KeyRotated& e);
  void apply(const EventMeta& m, const KeyExpirySet& e);
  void apply(const EventMeta& m, const ExternalIdSet& e);
  void apply(const EventMeta& m, const BadgeSubmitted& e);
  void apply(const EventMeta& m, const RecoveryEnrolled& e);

  bool operator==(const Directory&) const = default;

 private:
  friend struct SnapshotAccess;

  static std::optional<uint32_t> lookup(const NameIndex& m, const std::string& k) {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  }
  Node* find_mut(uint32_t id) { return nodes_.find(id); }
  // Moves `id`'s key binding from `old_key` (if any) to `new_key`; a different ID that
  // held `new_key` loses its binding.
  void rebind_key(uint32_t id, const PublicKey* old_key, const PublicKey& new_key);
  void release_hostname(Node& n);
  void remove_node(uint32_t id);

  NodeMap nodes_;
  KeyIndex key_idx_;
  OwnerIndex owner_idx_;
  NameIndex hostname_idx_;
  // Key of each ID that is bound in key_idx_ but not live (the reverse of key_idx_ for
  // gone nodes), so a re-registration with a new key can drop the stale binding.
  std::unordered_map<uint32_t, PublicKey> dormant_key_;
  uint64_t next_node_ = 1;
};

}  // namespace pilot
