#include "net/beacon/limiters.h"

#include <algorithm>

namespace pilot::beacon {

PunchLimiter::PunchLimiter(int64_t global_interval, int64_t per_source_interval,
                           const std::vector<std::string>& whitelist, std::vector<std::string>* bad)
    : global_interval_(global_interval), per_source_interval_(per_source_interval) {
  for (const auto& w : whitelist) {
    if (w == "*" || w == "all") {
      whitelist_all_ = true;
    } else if (auto ip = parse_ip(w)) {
      whitelist_.push_back(*ip);
    } else if (bad) {
      bad->push_back(w);
    }
  }
  std::sort(whitelist_.begin(), whitelist_.end());
}

bool PunchLimiter::whitelisted(const IpBytes& ip) const {
  return whitelist_all_ || std::binary_search(whitelist_.begin(), whitelist_.end(), ip);
}

bool PunchLimiter::allow(const IpBytes& ip, int64_t now) {
  if (whitelisted(ip)) return true;
  std::lock_guard lock(mu_);
  if (last_global_ != INT64_MIN && now - last_global_ < global_interval_) return false;
  if (const int64_t* last = last_by_ip_.find(ip); last && now - *last < per_source_interval_) return false;
  bool inserted;
  last_by_ip_.get_or_insert(ip, inserted) = now;
  last_global_ = now;
  return true;
}

size_t PunchLimiter::sweep(int64_t now, int64_t idle) {
  std::lock_guard lock(mu_);
  return last_by_ip_.erase_if([&](const IpBytes&, int64_t last) { return now - last > idle; });
}

size_t PunchLimiter::tracked() const {
  std::lock_guard lock(mu_);
  return last_by_ip_.size();
}

RelayLimiter::RelayLimiter(uint32_t per_window, int64_t window) : per_window_(per_window), window_(window) {
  for (auto& s : shards_) s = std::make_unique<Shard>(&hash_);
}

bool RelayLimiter::allow(const Endpoint& source, int64_t now) {
  Shard& s = *shards_[shard_hash_(source) >> 58];
  std::lock_guard lock(s.mu);
  bool inserted;
  Window& w = s.windows.get_or_insert(source, inserted);
  if (inserted || now - w.start >= window_) {
    w.start = now;
    w.count = 0;
  }
  if (w.count >= per_window_) return false;
  ++w.count;
  return true;
}

size_t RelayLimiter::sweep(int64_t now, int64_t idle) {
  size_t removed = 0;
  for (auto& s : shards_) {
    std::lock_guard lock(s->mu);
    removed += s->windows.erase_if([&](const Endpoint&, const Window& w) { return now - w.start > idle; });
  }
  return removed;
}

size_t RelayLimiter::tracked() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s->mu);
    n += s->windows.size();
  }
  return n;
}

}  // namespace pilot::beacon
