#include "net/rpc/rate_limit.h"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace pilot::rpc {

std::string_view deny_label(Deny d) {
  switch (d) {
    case Deny::kNone: return "";
    case Deny::kIp: return "ip";
    case Deny::kBucketTable: return "bucket_table";
    case Deny::kGlobal: return "global";
  }
  return "";
}

RateLimiter::Gcra RateLimiter::make_gcra(double rate, double burst) {
  // Clamped so that tat + interval cannot overflow for any sane clock: a bucket that
  // refills less than once in ~11 days is "never" for a request limiter.
  constexpr int64_t kMaxInterval = 1'000'000'000'000'000;
  Gcra g{kMaxInterval, -1};
  // Rounded up: the limit may be a hair stricter than configured, never looser.
  if (rate > 0) g.interval_ns = static_cast<int64_t>(std::min(std::ceil(1e9 / rate), double(kMaxInterval)));
  g.interval_ns = std::max<int64_t>(g.interval_ns, 1);
  double tolerance = (burst - 1) * static_cast<double>(g.interval_ns);
  if (tolerance >= 0) g.tolerance_ns = static_cast<int64_t>(std::min(std::floor(tolerance), 1e18));
  return g;
}

RateLimiter::RateLimiter(RateLimitConfig cfg)
    : cfg_(cfg),
      ip_gcra_(make_gcra(cfg.per_ip_rate, cfg.per_ip_burst)),
      global_gcra_(make_gcra(cfg.global_rate, cfg.global_burst)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  randombytes_buf(hash_key_.data(), hash_key_.size());
  static_assert(crypto_shorthash_KEYBYTES == 16);
  // Load ≤ 1/2 even when full keeps probe chains short.
  max_slots_ = 8;
  while (max_slots_ < 2 * cfg_.max_ips) max_slots_ *= 2;
  slots_.assign(std::min<size_t>(max_slots_, 64), Slot{IpAddr{}, kEmpty});
}

void RateLimiter::set_whitelist(std::shared_ptr<const Whitelist> wl) {
  if (wl && wl->size() == 0) wl.reset();  // admit() then skips the lookup entirely
  whitelist_ = std::move(wl);
}

Deny RateLimiter::admit(const IpAddr& peer, int64_t now_ns) {
  if (!cfg_.enabled || (whitelist_ && whitelist_->contains(peer))) {
    ++counts_[0];
    return Deny::kNone;
  }
  now_ns = std::max<int64_t>(now_ns, 0);
  Slot* s = find_or_insert(peer, now_ns);
  Deny verdict = Deny::kNone;
  int64_t ip_tat = 0, global_tat = 0;
  if (s == nullptr) {
    verdict = Deny::kBucketTable;
  } else {
    ip_tat = std::max(s->tat, now_ns);
    global_tat = std::max(global_tat_, now_ns);
    if (ip_tat - now_ns > ip_gcra_.tolerance_ns) {
      verdict = Deny::kIp;
    } else if (global_tat - now_ns > global_gcra_.tolerance_ns) {
      verdict = Deny::kGlobal;
    } else {
      s->tat = ip_tat + ip_gcra_.interval_ns;
      global_tat_ = global_tat + global_gcra_.interval_ns;
    }
  }
  ++counts_[static_cast<size_t>(verdict)];
  return verdict;
}

size_t RateLimiter::home(const IpAddr& ip) const {
  uint64_t h;
  crypto_shorthash(reinterpret_cast<unsigned char*>(&h), ip.b.data(), ip.b.size(), hash_key_.data());
  return static_cast<size_t>(h) & (slots_.size() - 1);
}

RateLimiter::Slot* RateLimiter::find_or_insert(const IpAddr& ip, int64_t now_ns) {
  size_t mask = slots_.size() - 1;
  size_t i = home(ip);
  for (; slots_[i].tat != kEmpty; i = (i + 1) & mask) {
    if (slots_[i].ip == ip) return &slots_[i];
  }
  if (size_ >= cfg_.max_ips) {
    if (now_ns < earliest_full_ns_ || now_ns < last_sweep_ns_ + kMinSweepGapNs) return nullptr;
    sweep(now_ns);
    if (size_ >= cfg_.max_ips) return nullptr;
    i = home(ip);  // the sweep moved things; find the first free slot again
    while (slots_[i].tat != kEmpty) i = (i + 1) & mask;
  }
  if (2 * (size_ + 1) > slots_.size() && slots_.size() < max_slots_) {
    grow();
    mask = slots_.size() - 1;
    i = home(ip);
    while (slots_[i].tat != kEmpty) i = (i + 1) & mask;
  }
  // A new bucket is full. Its tat (now) is a lower bound of when any bucket can next
  // be full, which is all the sweep rationing needs.
  slots_[i] = Slot{ip, now_ns};
  ++size_;
  earliest_full_ns_ = std::min(earliest_full_ns_, now_ns);
  return &slots_[i];
}

void RateLimiter::grow() {
  std::vector<Slot> old(slots_.size() * 2, Slot{IpAddr{}, kEmpty});
  old.swap(slots_);
  size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.tat == kEmpty) continue;
    size_t i = home(s.ip);
    while (slots_[i].tat != kEmpty) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void RateLimiter::sweep(int64_t now_ns) {
  last_sweep_ns_ = now_ns;
  int64_t earliest = INT64_MAX;
  for (size_t i = 0; i < slots_.size();) {
    const Slot& s = slots_[i];
    if (s.tat != kEmpty && s.tat <= now_ns) {
      // erase_at pulls a later entry of the chain into slot i: look at i again.
      erase_at(i);
      continue;
    }
    if (s.tat != kEmpty) earliest = std::min(earliest, s.tat);
    ++i;
  }
  earliest_full_ns_ = earliest;
}

// Linear-probing deletion without tombstones: walk the chain after the hole and move
// back every entry whose home slot does not lie between the hole and its position.
void RateLimiter::erase_at(size_t hole) {
  size_t mask = slots_.size() - 1;
  for (size_t j = (hole + 1) & mask; slots_[j].tat != kEmpty; j = (j + 1) & mask) {
    size_t h = home(slots_[j].ip);
    bool reachable = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
    if (!reachable) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole].tat = kEmpty;
  --size_;
}

}  // namespace pilot::rpc
