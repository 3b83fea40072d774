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

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/codec.h"
#include "core/events.h"
#include "projections/key_index.h"

namespace pilot {

// One live node, with the fields the reference snapshot keeps (spec §8.1 item 3).
// Times named *_ns are unix nanoseconds taken from the event record; the others are
// unix seconds carried inside events.
struct Node {
  uint32_t id = 0;
  std::string owner;
  PublicKey public_key{};
  std::string real_addr;
  bool is_public = false;
  std::string hostname;
  std::vector<std::string> tags;
  std::vector<std::string> lan_addrs;
  int64_t key_created_ns = 0;  // registration that created this record
  int64_t key_rotated_ns = 0;  // 0 = never rotated
  uint32_t key_rot_count = 0;
  int64_t key_expires = 0;  // unix seconds, 0 = none
  std::string external_id;
  std::string version;
  bool relay_only = false;
  std::string badge;
  std::string badge_sig;
  std::string verification_provider;
  int64_t verified_at = 0;  // unix seconds
  std::string recovery_commitment;
  std::string recovery_provider;
  std::string recovery_nonce;  // last consumed recovery nonce
  int64_t recovery_exp = 0;    // unix seconds, until when that nonce stays consumed
  int64_t registered_at_ns = 0;
  int64_t last_registered_ns = 0;

  bool verified() const { return !badge.empty(); }
  bool operator==(const Node&) const = default;
};

class Directory {
 public:
  using NodeMap = std::unordered_map<uint32_t, Node>;
  using NameIndex = std::unordered_map<std::string, uint32_t>;

  // ---- queries ----
  const Node* find(uint32_t id) const {
    auto it = nodes_.find(id);
    return it == nodes_.end() ? nullptr : &it->second;
  }
  bool is_live(uint32_t id) const { return nodes_.count(id) != 0; }
  size_t size() const { return nodes_.size(); }
  // ID bound to a key / owner / hostname (the first two include nodes that are gone).
  std::optional<uint32_t> id_by_key(const PublicKey& key) const { return key_idx_.find(key); }
  std::optional<uint32_t> id_by_owner(const std::string& owner) const { return lookup(owner_idx_, owner); }
  std::optional<uint32_t> id_by_hostname(const std::string& hostname) const { return lookup(hostname_idx_, hostname); }
  const NodeMap& nodes() const { return nodes_; }
  const KeyIndex& key_index() const { return key_idx_; }
  const NameIndex& owner_index() const { return owner_idx_; }
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
  Node* find_mut(uint32_t id) {
    auto it = nodes_.find(id);
    return it == nodes_.end() ? nullptr : &it->second;
  }
  // Moves `id`'s key binding from `old_key` (if any) to `new_key`; a different ID that
  // held `new_key` loses its binding.
  void rebind_key(uint32_t id, const PublicKey* old_key, const PublicKey& new_key);
  void release_hostname(Node& n);
  void remove_node(uint32_t id);

  NodeMap nodes_;
  KeyIndex key_idx_;
  NameIndex owner_idx_;
  NameIndex hostname_idx_;
  // Key of each ID that is bound in key_idx_ but not live (the reverse of key_idx_ for
  // gone nodes), so a re-registration with a new key can drop the stale binding.
  std::unordered_map<uint32_t, PublicKey> dormant_key_;
  uint64_t next_node_ = 1;
};

}  // namespace pilot
