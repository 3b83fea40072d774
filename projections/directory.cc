#include "projections/directory.h"

#include <algorithm>

namespace pilot {

void Directory::reserve(size_t n) {
  nodes_.reserve(n);
  key_idx_.reserve(n);
}

void Directory::rebind_key(uint32_t id, const PublicKey* old_key, const PublicKey& new_key) {
  if (old_key && *old_key != new_key) key_idx_.erase(*old_key, id);
  uint32_t prev = key_idx_.assign(new_key, id);
  if (prev != 0 && prev != id) {
    // Another ID held this key (a handler never does this; stay consistent anyway).
    auto d = dormant_key_.find(prev);
    if (d != dormant_key_.end() && d->second == new_key) dormant_key_.erase(d);
  }
}

void Directory::release_hostname(Node& n) {
  if (n.hostname.empty()) return;
  auto it = hostname_idx_.find(n.hostname);
  if (it != hostname_idx_.end() && it->second == n.id) hostname_idx_.erase(it);
  n.hostname.clear();
}

void Directory::remove_node(uint32_t id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return;
  Node& n = it->second;
  release_hostname(n);
  if (key_idx_.find(n.public_key) == id) dormant_key_.insert_or_assign(id, n.public_key);
  nodes_.erase(it);
}

void Directory::apply(const EventMeta& m, const NodeRegistered& e) {
  if (e.node_id == 0) return;  // reserved, never assigned
  next_node_ = std::max<uint64_t>(next_node_, uint64_t{e.node_id} + 1);

  if (Node* n = find_mut(e.node_id)) {
    // Endpoint refresh of a live node. The key is not changed here (only KeyRotated
    // does that); a handler emits a refresh only for the node's own key.
    n->real_addr = e.real_addr;
    n->lan_addrs = e.lan_addrs;
    n->relay_only = e.relay_only;
    if (!e.version.empty()) n->version = e.version;
    if (n->owner.empty() && !e.owner.empty()) {
      n->owner = e.owner;
      owner_idx_.insert_or_assign(e.owner, e.node_id);
    }
    n->last_registered_ns = m.time_ns;
    return;
  }

  // A new node, or a gone node's ID reclaimed (same key, or same owner with a new key).
  PublicKey old_key;
  const PublicKey* old = nullptr;
  if (auto d = dormant_key_.find(e.node_id); d != dormant_key_.end()) {
    old_key = d->second;
    old = &old_key;
    dormant_key_.erase(d);
  }
  rebind_key(e.node_id, old, e.public_key);
  if (!e.owner.empty()) owner_idx_.insert_or_assign(e.owner, e.node_id);

  Node& n = nodes_[e.node_id];
  n.id = e.node_id;
  n.owner = e.owner;
  n.public_key = e.public_key;
  n.real_addr = e.real_addr;
  n.lan_addrs = e.lan_addrs;
  n.version = e.version;
  n.relay_only = e.relay_only;
  n.key_created_ns = m.time_ns;
  n.registered_at_ns = m.time_ns;
  n.last_registered_ns = m.time_ns;
}

void Directory::apply(const EventMeta&, const NodeDeregistered& e) { remove_node(e.node_id); }

void Directory::apply(const EventMeta&, const NodeExpired& e) { remove_node(e.node_id); }

void Directory::apply(const EventMeta&, const HostnameChanged& e) {
  Node* n = find_mut(e.node_id);
  if (!n || n->hostname == e.hostname) return;
  release_hostname(*n);
  if (e.hostname.empty()) return;
  auto [it, inserted] = hostname_idx_.try_emplace(e.hostname, e.node_id);
  if (!inserted) {
    // Held by another live node (a handler refuses that): the event wins, the other
    // node loses the name, so the index stays one-to-one.
    if (Node* holder = find_mut(it->second)) holder->hostname.clear();
    it->second = e.node_id;
  }
  n->hostname = e.hostname;
}

void Directory::apply(const EventMeta&, const TagsChanged& e) {
  if (Node* n = find_mut(e.node_id)) n->tags = e.tags;
}

void Directory::apply(const EventMeta&, const VisibilityChanged& e) {
  if (Node* n = find_mut(e.node_id)) n->is_public = e.is_public;
}

void Directory::apply(const EventMeta& m, const KeyRotated& e) {
  Node* n = find_mut(e.node_id);
  if (!n) return;
  rebind_key(e.node_id, &n->public_key, e.new_public_key);
  n->public_key = e.new_public_key;
  n->key_rotated_ns = m.time_ns;
  ++n->key_rot_count;
  if (e.recovered) {
    n->badge.clear();
    n->badge_sig.clear();
    n->verification_provider.clear();
    n->verified_at = 0;
    n->recovery_nonce = e.recovery_nonce;
    n->recovery_exp = e.recovery_exp;
  }
}

void Directory::apply(const EventMeta&, const KeyExpirySet& e) {
  if (Node* n = find_mut(e.node_id)) n->key_expires = e.expires_at;
}

void Directory::apply(const EventMeta&, const ExternalIdSet& e) {
  if (Node* n = find_mut(e.node_id)) n->external_id = e.external_id;
}

void Directory::apply(const EventMeta&, const BadgeSubmitted& e) {
  Node* n = find_mut(e.node_id);
  if (!n) return;
  n->badge = e.badge;
  n->badge_sig = e.badge_sig;
  n->verification_provider = e.provider;
  n->verified_at = e.verified_at;
}

void Directory::apply(const EventMeta&, const RecoveryEnrolled& e) {
  Node* n = find_mut(e.node_id);
  if (!n) return;
  n->recovery_commitment = e.commitment;
  n->recovery_provider = e.provider;
}

}  // namespace pilot
