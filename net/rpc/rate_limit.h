// Request rate limiting on the registry port (spec/rendezvous.md §3.1, §21 items 21–25).
//
// Every request frame (JSON or binary) asks admit(peer ip, now) before it is
// dispatched; a denied request is answered "rate limited" and not dispatched. The
// checks, in order:
//   1. whitelist (net/rpc/whitelist.h): a listed peer bypasses everything below and is
//      neither tracked nor counted against the global bucket;
//   2. per-IP bucket, default 100 requests/s with a burst of 100, in a table of at most
//      `max_ips` buckets; a new IP when the table is full → kBucketTable;
//   3. global bucket, default 1000/s with a burst of 1000, shared by all
//      non-whitelisted peers.
// A request is charged to both buckets or to neither: a request refused by the global
// bucket costs its IP nothing (the client did nothing wrong and its retry should not
// find its own bucket drained by the crowd), and one refused by its IP bucket costs the
// global bucket nothing (so one abusive IP cannot use up everybody's global budget
// beyond its own 100/s). Hence, exactly: admissions of one IP in any window of length t
// ≤ per_ip_burst + per_ip_rate·t, and all non-whitelisted admissions ≤ global_burst +
// global_rate·t.
//
// Buckets are GCRA (a token bucket stored as one "theoretical arrival time"): a bucket
// is an int64 ns timestamp, refilled implicitly by the passage of time, with exact
// integer arithmetic — 24 bytes per tracked IP including the key. The table is open
// addressing (linear probing, load ≤ 1/2) keyed by a keyed SipHash of the 16-byte
// address with a per-process random key, because IPv6 peers choose their low 64 bits
// freely and could otherwise aim at one probe chain. admit() for a known IP does not
// allocate; a new IP allocates only when the table doubles (up to its cap).
//
// Table full: a bucket that has refilled completely (idle and full) carries no
// information — a fresh bucket would be identical — so those are evicted, all at once,
// by a sweep over the table. If none is evictable, the new IP is refused with
// kBucketTable. Sweeps cost O(table) so they are rationed: no sweep before the earliest
// moment a bucket can have refilled, and at most one per kMinSweepGapNs; meanwhile new
// IPs are refused with kBucketTable.
//
// IPv6 peers are keyed by the full address, as the spec says ("per source IP").
//
// Pure loop-thread code: no sockets, threads or locks; the caller passes a monotonic
// clock in ns (negative values count as 0). Time going backwards never mints tokens.
// The global bucket is only a global limit if there is one RateLimiter serving every
// connection (§21 item 25: no over-admission) — one per loop thread would multiply it.
// The per-connection guard (500 req/s close, 100 req/s delay, kind "connection") is not
// here: it belongs to the connection.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "net/rpc/whitelist.h"

namespace pilot::rpc {

enum class Deny : uint8_t { kNone, kIp, kBucketTable, kGlobal };
// Label of pilot_registry_ratelimit_denied_total{kind}: "ip", "bucket_table",
// "global"; "" for kNone.
std::string_view deny_label(Deny d);

struct RateLimitConfig {
  double per_ip_rate = 100;   // requests/s refill; <= 0: never refills
  double per_ip_burst = 100;  // requests admitted back to back; < 1: nothing admitted
  size_t max_ips = 50000;
  double global_rate = 1000;
  double global_burst = 1000;
  bool enabled = true;  // false (PILOT_REGISTRY_NORATELIMIT=1): admit() always admits, tracks nothing
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimitConfig cfg = {});

  // nullptr or an empty list: nobody bypasses. Safe to call at any time (next admit
  // uses it).
  void set_whitelist(std::shared_ptr<const Whitelist> wl);

  Deny admit(const IpAddr& peer, int64_t now_ns);

  uint64_t admitted() const { return counts_[0]; }  // including whitelisted and !enabled
  uint64_t denied(Deny kind) const { return kind == Deny::kNone ? 0 : counts_[static_cast<size_t>(kind)]; }
  size_t tracked_ips() const { return size_; }
  const RateLimitConfig& config() const { return cfg_; }

  static constexpr int64_t kMinSweepGapNs = 50'000'000;  // 50 ms

 private:
  struct Slot {
    IpAddr ip;
    int64_t tat;  // theoretical arrival time; kEmpty: free slot. Full (idle) when tat <= now.
  };
  static constexpr int64_t kEmpty = INT64_MIN;

  // GCRA parameters: ns between requests, and how far tat may run ahead of now.
  struct Gcra {
    int64_t interval_ns;
    int64_t tolerance_ns;  // < 0: never admits
  };
  static Gcra make_gcra(double rate, double burst);

  size_t home(const IpAddr& ip) const;
  Slot* find_or_insert(const IpAddr& ip, int64_t now_ns);
  void grow();
  void sweep(int64_t now_ns);
  void erase_at(size_t i);

  RateLimitConfig cfg_;
  Gcra ip_gcra_, global_gcra_;
  int64_t global_tat_ = INT64_MIN;
  std::shared_ptr<const Whitelist> whitelist_;
  std::array<uint64_t, 4> counts_{};  // indexed by Deny; [kNone] = admitted

  std::vector<Slot> slots_;  // power-of-two size, grows up to max_slots_
  size_t size_ = 0;
  size_t max_slots_ = 0;
  int64_t earliest_full_ns_ = INT64_MIN;  // no bucket can be full before this
  int64_t last_sweep_ns_ = INT64_MIN;
  std::array<uint8_t, 16> hash_key_{};
};

}  // namespace pilot::rpc
