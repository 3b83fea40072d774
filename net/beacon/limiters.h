// The beacon's two traffic limiters (spec §5.4 step 3, §5.6 step 5, §11).
//
// PunchLimiter — PunchRequest makes the beacon send two datagrams to addresses of the
// requester's choosing among registered nodes, so it is capped hard: one accepted
// punch per 100 ms overall and one per second per source IP (port ignored: a host
// cannot multiply its budget by opening sockets). Whitelisted IPs (or "*"/"all")
// bypass both and are not tracked. Checks in the reference's order: global first,
// then the IP; only a request that passes both is recorded, in both. The per-IP table
// grows by at most 10 entries a second (only accepted punches are recorded) and
// entries idle for 5 min are swept.
//
// RelayLimiter — a fixed 1 s window per *transport source* (IP + port; for WSS later
// the authenticated peer id as a synthetic endpoint): the first packet opens a window,
// at most 4000 packets pass per window. Keyed by the source, not the claimed sender
// id, so rotating sender ids buys nothing (§15 item 8). 64 shards by keyed hash of the
// source, each a mutex + FlatMap, because every relay touches it from every reader
// thread. Windows older than 5 min are swept.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/beacon/endpoint.h"
#include "net/beacon/flat_map.h"

namespace pilot::beacon {

class PunchLimiter {
 public:
  // Whitelist entries are IP texts; "*" or "all" whitelists everybody. Entries that do
  // not parse are returned in `bad` (the caller decides whether that is fatal).
  PunchLimiter(int64_t global_interval, int64_t per_source_interval, const std::vector<std::string>& whitelist,
               std::vector<std::string>* bad = nullptr);

  bool allow(const IpBytes& ip, int64_t now);
  size_t sweep(int64_t now, int64_t idle);
  size_t tracked() const;

 private:
  bool whitelisted(const IpBytes& ip) const;

  const int64_t global_interval_, per_source_interval_;
  bool whitelist_all_ = false;
  std::vector<IpBytes> whitelist_;  // sorted
  KeyedHash hash_;
  mutable std::mutex mu_;
  int64_t last_global_ = INT64_MIN;
  FlatMap<IpBytes, int64_t> last_by_ip_{&hash_};
};

class RelayLimiter {
 public:
  RelayLimiter(uint32_t per_window, int64_t window);

  bool allow(const Endpoint& source, int64_t now);
  size_t sweep(int64_t now, int64_t idle);
  size_t tracked() const;

 private:
  struct Window {
    int64_t start = 0;
    uint32_t count = 0;
  };
  struct alignas(64) Shard {
    explicit Shard(const KeyedHash* h) : windows(h) {}
    mutable std::mutex mu;
    FlatMap<Endpoint, Window> windows;
  };
  static constexpr size_t kShards = 64;

  const uint32_t per_window_;
  const int64_t window_;
  KeyedHash hash_, shard_hash_;  // independent keys: the shard choice says nothing about the slot
  std::array<std::unique_ptr<Shard>, kShards> shards_;
};

}  // namespace pilot::beacon
