#include "net/beacon/gossip_table.h"

#include <algorithm>

namespace pilot::beacon {

GossipTable::GossipTable(GossipLimits limits) : limits_(limits) {
  for (auto& s : shards_) s = std::make_unique<RouteShard>(&hash_);
  size_t n = std::min<size_t>(limits_.max_sources, 65535);
  slots_.resize(n);
  for (size_t i = n; i-- > 0;) free_.push_back(static_cast<uint16_t>(i));
}

GossipTable::Apply GossipTable::apply(const Endpoint& source, const Sync& sync, int64_t now, const NodeTable& local,
                                      size_t& refused) {
  refused = 0;
  std::lock_guard lock(sources_mu_);
  uint16_t slot;
  if (const uint16_t* found = by_addr_.find(source)) {
    slot = *found;
    if (now - slots_[slot].last_sync < limits_.min_sync_interval) return Apply::kRateLimited;
  } else {
    if (sync.count() == 0) return Apply::kApplied;  // nothing to withdraw or install
    const uint32_t* from_ip = per_ip_.find(source.ip);
    if (free_.empty() || (from_ip && *from_ip >= limits_.max_sources_per_ip)) return Apply::kTooManySources;
    slot = free_.back();
    free_.pop_back();
    SourceSlot& s = slots_[slot];
    s.addr = source;  // no route points at this slot yet (see header)
    s.live = true;
    s.ids.clear();
    bool inserted;
    by_addr_.get_or_insert(source, inserted) = slot;
    ++per_ip_.get_or_insert(source.ip, inserted);
    std::unique_lock w(addrs_mu_);
    addrs_.insert(std::upper_bound(addrs_.begin(), addrs_.end(), source), source);
  }
  withdraw(slot);
  SourceSlot& s = slots_[slot];
  s.last_sync = now;
  s.ids.reserve(sync.count());
  for (size_t i = 0; i < sync.count(); ++i) {
    uint32_t id = sync.id(i);
    if (local.contains(id)) continue;  // a local registration always wins
    RouteShard& sh = shard(id);
    std::lock_guard sl(sh.mu);
    if (uint16_t* r = sh.routes.find(id)) {
      *r = slot;  // overwrite: the last beacon to claim an id gets it
    } else if (routes_.load(std::memory_order_relaxed) >= limits_.max_routes) {
      ++refused;
      continue;
    } else {
      bool inserted;
      sh.routes.get_or_insert(id, inserted) = slot;
      routes_.fetch_add(1, std::memory_order_relaxed);
    }
    s.ids.push_back(id);
  }
  return Apply::kApplied;
}

void GossipTable::withdraw(uint16_t slot) {
  SourceSlot& s = slots_[slot];
  for (uint32_t id : s.ids) {
    RouteShard& sh = shard(id);
    std::lock_guard sl(sh.mu);
    if (uint16_t* r = sh.routes.find(id); r && *r == slot) {
      sh.routes.erase(id);
      routes_.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  s.ids.clear();
  s.ids.shrink_to_fit();
}

void GossipTable::release(uint16_t slot) {
  SourceSlot& s = slots_[slot];
  withdraw(slot);
  s.live = false;
  by_addr_.erase(s.addr);
  if (uint32_t* n = per_ip_.find(s.addr.ip); n && --*n == 0) per_ip_.erase(s.addr.ip);
  {
    std::unique_lock w(addrs_mu_);
    auto it = std::lower_bound(addrs_.begin(), addrs_.end(), s.addr);
    if (it != addrs_.end() && *it == s.addr) addrs_.erase(it);
  }
  free_.push_back(slot);
}

std::optional<Endpoint> GossipTable::route(uint32_t id) const {
  const RouteShard& sh = shard(id);
  std::lock_guard sl(sh.mu);
  const uint16_t* r = sh.routes.find(id);
  if (!r) return std::nullopt;
  return slots_[*r].addr;
}

bool GossipTable::is_source(const Endpoint& ep) const {
  std::shared_lock r(addrs_mu_);
  return std::binary_search(addrs_.begin(), addrs_.end(), ep);
}

size_t GossipTable::expire(int64_t now) {
  std::lock_guard lock(sources_mu_);
  size_t gone = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].live || now - slots_[i].last_sync <= limits_.source_ttl) continue;
    release(static_cast<uint16_t>(i));
    ++gone;
  }
  return gone;
}

size_t GossipTable::sources() const {
  std::lock_guard lock(sources_mu_);
  return by_addr_.size();
}

}  // namespace pilot::beacon
