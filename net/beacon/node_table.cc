#include "net/beacon/node_table.h"

namespace pilot::beacon {

NodeTable::NodeTable(size_t shard_capacity) : shard_capacity_(shard_capacity) {
  for (auto& s : shards_) s = std::make_unique<Shard>(&hash_);
}

NodeTable::DiscoverResult NodeTable::discover(uint32_t id, const Endpoint& source, Via via, bool ex,
                                              const PublicKey* key, int64_t now, int64_t min_interval) {
  Shard& s = shard(id);
  std::lock_guard lock(s.mu);
  Entry* e = s.nodes.find(id);
  DiscoverResult result;
  if (!e) {
    if (s.nodes.size() >= shard_capacity_) return DiscoverResult::kFull;
    bool inserted;
    e = &s.nodes.get_or_insert(id, inserted);
    result = DiscoverResult::kInserted;
  } else if (now - e->last_update >= min_interval) {
    result = DiscoverResult::kMoved;
  } else {
    // Throttled: the endpoint stays. Whoever sits at the stored endpoint is the owner
    // as far as addresses tell, so it may still switch between 0x01 and 0x08.
    if (e->endpoint == source) {
      e->dest_carrying = ex;
      if (key) s.keys.try_emplace(id, *key);
    }
    return DiscoverResult::kThrottled;
  }
  e->endpoint = source;
  e->via = via;
  e->dest_carrying = ex;
  e->last_seen = now;
  e->last_update = now;
  if (key) s.keys.try_emplace(id, *key);  // first write wins
  return result;
}

std::optional<NodeView> NodeTable::punch_requester(uint32_t id, const Endpoint& source, Via via, int64_t now) {
  Shard& s = shard(id);
  std::lock_guard lock(s.mu);
  if (Entry* e = s.nodes.find(id)) {
    if (e->endpoint == source) e->last_seen = now;
    return view(*e);
  }
  if (s.nodes.size() >= shard_capacity_) return std::nullopt;
  bool inserted;
  Entry& e = s.nodes.get_or_insert(id, inserted);
  e.endpoint = source;
  e.via = via;
  e.last_seen = now;
  // Not a Discover: the discover limiter stays open, so the node's own first Discover
  // from a different address (it punched through another socket) may still move it.
  e.last_update = INT64_MIN / 2;
  return view(e);
}

std::optional<NodeView> NodeTable::get(uint32_t id) const {
  const Shard& s = shard(id);
  std::lock_guard lock(s.mu);
  const Entry* e = s.nodes.find(id);
  if (!e) return std::nullopt;
  return view(*e);
}

bool NodeTable::contains(uint32_t id) const {
  const Shard& s = shard(id);
  std::lock_guard lock(s.mu);
  return s.nodes.find(id) != nullptr;
}

std::optional<PublicKey> NodeTable::key(uint32_t id) const {
  const Shard& s = shard(id);
  std::lock_guard lock(s.mu);
  auto it = s.keys.find(id);
  if (it == s.keys.end()) return std::nullopt;
  return it->second;
}

NodeTable::NotifyResult NodeTable::notify(uint32_t id, int64_t now, int64_t min_interval, NodeView& out) {
  Shard& s = shard(id);
  std::lock_guard lock(s.mu);
  Entry* e = s.nodes.find(id);
  if (!e) return NotifyResult::kNotFound;
  if (e->last_notify != INT64_MIN && now - e->last_notify < min_interval) return NotifyResult::kThrottled;
  e->last_notify = now;
  out = view(*e);
  return NotifyResult::kAllowed;
}

size_t NodeTable::reap(int64_t now, int64_t ttl) {
  size_t removed = 0;
  for (auto& sp : shards_) {
    Shard& s = *sp;
    std::lock_guard lock(s.mu);
    removed += s.nodes.erase_if([&](uint32_t id, const Entry& e) {
      if (now - e.last_seen <= ttl) return false;
      s.keys.erase(id);
      return true;
    });
  }
  return removed;
}

size_t NodeTable::size() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s->mu);
    n += s->nodes.size();
  }
  return n;
}

std::vector<uint32_t> NodeTable::ids() const {
  std::vector<uint32_t> out;
  for (const auto& s : shards_) {
    std::lock_guard lock(s->mu);
    out.reserve(out.size() + s->nodes.size());
    s->nodes.for_each([&](uint32_t id, const Entry&) { out.push_back(id); });
  }
  return out;
}

size_t NodeTable::memory_bytes() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s->mu);
    n += s->nodes.memory_bytes() + s->keys.size() * (sizeof(PublicKey) + 32);
  }
  return n;
}

}  // namespace pilot::beacon
