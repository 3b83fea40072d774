#include "projections/directory.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace pilot {

// ---- NodeTable -------------------------------------------------------------------------

NodeTable::NodeTable(const NodeTable& o) : far_(o.far_), size_(o.size_) {
  chunks_.resize(o.chunks_.size());
  for (size_t c = 0; c < chunks_.size(); ++c)
    if (o.chunks_[c]) chunks_[c] = std::make_unique<Chunk>(*o.chunks_[c]);
}

NodeTable& NodeTable::operator=(const NodeTable& o) {
  if (this != &o) *this = NodeTable(o);
  return *this;
}

const Node& NodeTable::at(uint32_t id) const {
  const Node* n = find(id);
  if (!n) throw std::out_of_range("no node " + std::to_string(id));
  return *n;
}

std::pair<Node*, bool> NodeTable::try_emplace(uint32_t id) {
  if (Node* n = find(id)) return {n, false};
  const size_t c = id >> kChunkBits;
  // The chunk directory may grow to about twice the live count (plus one chunk), so
  // outlying IDs cost a map entry, not a run of chunks.
  const size_t reach = 2 * ((size_ + 1) >> kChunkBits) + 2;
  if (c >= chunks_.size() && c < std::max(reach, chunks_.size())) chunks_.resize(c + 1);
  if (c < chunks_.size() && id != 0) {  // (a slot with id 0 reads as empty)
    if (!chunks_[c]) chunks_[c] = std::make_unique<Chunk>();
    Node& n = (*chunks_[c])[id & kChunkMask];
    n.id = id;
    ++size_;
    return {&n, true};
  }
  Node& n = far_[id];
  n.id = id;
  ++size_;
  return {&n, true};
}

bool NodeTable::erase(uint32_t id) {
  if (const Node* d = dense(id); d && d->id != 0) {
    const_cast<Node&>(*d) = Node{};
  } else if (far_.erase(id) == 0) {
    return false;
  }
  --size_;
  return true;
}

void NodeTable::reserve(size_t n) {
  const size_t want = (std::min<size_t>(n, size_t{1} << 32) + kChunkMask) >> kChunkBits;
  if (want > chunks_.size()) chunks_.resize(want);
}

bool NodeTable::operator==(const NodeTable& o) const {
  if (size_ != o.size_) return false;
  for (const auto& [id, n] : *this) {
    const Node* m = o.find(id);
    if (!m || !(*m == n)) return false;
  }
  return true;
}

// ---- Directory -------------------------------------------------------------------------

void Directory::reserve(size_t n) {
  nodes_.reserve(n);
  key_idx_.reserve(n);
  owner_idx_.reserve(n);
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
  Node* n = nodes_.find(id);
  if (!n) return;
  release_hostname(*n);
  if (key_idx_.find(n->public_key) == id) dormant_key_.insert_or_assign(id, n->public_key);
  nodes_.erase(id);
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

  Node& n = *nodes_.try_emplace(e.node_id).first;
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
    NodeExtras& x = n->extras.mut();
    x.badge.clear();
    x.badge_sig.clear();
    x.verification_provider.clear();
    x.verified_at = 0;
    x.recovery_nonce = e.recovery_nonce;
    x.recovery_exp = e.recovery_exp;
    n->extras.shrink();
  }
}

void Directory::apply(const EventMeta&, const KeyExpirySet& e) {
  if (Node* n = find_mut(e.node_id)) n->key_expires = e.expires_at;
}

void Directory::apply(const EventMeta&, const ExternalIdSet& e) {
  Node* n = find_mut(e.node_id);
  if (!n) return;
  n->extras.mut().external_id = e.external_id;
  n->extras.shrink();
}

void Directory::apply(const EventMeta&, const BadgeSubmitted& e) {
  Node* n = find_mut(e.node_id);
  if (!n) return;
  NodeExtras& x = n->extras.mut();
  x.badge = e.badge;
  x.badge_sig = e.badge_sig;
  x.verification_provider = e.provider;
  x.verified_at = e.verified_at;
  n->extras.shrink();
}

void Directory::apply(const EventMeta&, const RecoveryEnrolled& e) {
  Node* n = find_mut(e.node_id);
  if (!n) return;
  NodeExtras& x = n->extras.mut();
  x.recovery_commitment = e.commitment;
  x.recovery_provider = e.provider;
  n->extras.shrink();
}

}  // namespace pilot
