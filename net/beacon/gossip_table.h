// Routes learned from peer beacons' Sync messages (spec §5.9): node id → the UDP
// address of the beacon that last claimed it, replaced wholesale per source.
//
// Receiver semantics, as the reference (so Go and C++ beacons mesh): a Sync from
// source S (IP + port) first withdraws every route pointing at S, then points each
// listed id that is not registered locally at S, overwriting a route to another
// beacon. Routes of a source silent for 90 s are withdrawn by expire(). Our own
// beacon splits a large id list over several *source sockets* (beacon.h), so each
// chunk is a source of its own here and at Go peers alike.
//
// Bounds the reference lacks (§15 "gossip flood"): at most `max_sources` live sources
// (`max_sources_per_ip` from one IP), at most `max_routes` routes in all (ids beyond
// are not installed and counted), and one accepted Sync per source per
// `min_sync_interval` (a peer sends one per 10 s; replaying Syncs at line rate would
// otherwise cost O(ids) per datagram). Sources with no routes and an empty Sync are
// not allocated.
//
// Layout: routes are 64 shards of id → u16 source slot (8-byte slots: the 2,000,000
// route cap costs ~43 MB at most). Source slots are a fixed array allocated once, so a
// reader who found a slot number under a shard lock can read the slot's address
// without another lock: a slot's address is written only while no route points at it,
// and routes are installed (removed) under the shard lock after (before) that write.
// Sync handling is serialised by one mutex; relays only take a route shard.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <vector>

#include "net/beacon/endpoint.h"
#include "net/beacon/flat_map.h"
#include "net/beacon/messages.h"
#include "net/beacon/node_table.h"

namespace pilot::beacon {

struct GossipLimits {
  int64_t source_ttl = kGossipPeerTtl;
  int64_t min_sync_interval = kSecond;
  size_t max_sources = 1024;  // at most 65,535 (u16 slot numbers)
  size_t max_sources_per_ip = 64;
  size_t max_routes = 2'000'000;
};

class GossipTable {
 public:
  explicit GossipTable(GossipLimits limits = {});

  enum class Apply { kApplied, kRateLimited, kTooManySources };
  // Installs `sync` as the route set of `source`. `refused` counts listed ids not
  // installed because of max_routes.
  Apply apply(const Endpoint& source, const Sync& sync, int64_t now, const NodeTable& local, size_t& refused);

  std::optional<Endpoint> route(uint32_t id) const;
  // A live Sync source, exact IP and port.
  bool is_source(const Endpoint& ep) const;
  // Withdraws the routes of sources silent for longer than source_ttl; returns how
  // many sources went.
  size_t expire(int64_t now);

  size_t routes() const { return routes_.load(std::memory_order_relaxed); }
  size_t sources() const;
  const GossipLimits& limits() const { return limits_; }

 private:
  struct SourceSlot {
    Endpoint addr;
    int64_t last_sync = 0;
    std::vector<uint32_t> ids;  // routes this source installed (some may since point elsewhere)
    bool live = false;
  };
  struct alignas(64) RouteShard {
    explicit RouteShard(const KeyedHash* h) : routes(h) {}
    mutable std::mutex mu;
    FlatMap<uint32_t, uint16_t> routes;
  };
  RouteShard& shard(uint32_t id) { return *shards_[id & (kNodeShards - 1)]; }
  const RouteShard& shard(uint32_t id) const { return *shards_[id & (kNodeShards - 1)]; }
  void withdraw(uint16_t slot);  // sources_mu_ held
  void release(uint16_t slot);   // sources_mu_ held

  const GossipLimits limits_;
  KeyedHash hash_;
  std::array<std::unique_ptr<RouteShard>, kNodeShards> shards_;
  std::atomic<size_t> routes_{0};

  mutable std::mutex sources_mu_;
  std::vector<SourceSlot> slots_;  // fixed size: never reallocated
  std::vector<uint16_t> free_;
  FlatMap<Endpoint, uint16_t> by_addr_{&hash_};
  FlatMap<IpBytes, uint32_t> per_ip_{&hash_};

  // Live source addresses for is_source(), which the relay path asks without waiting
  // for a Sync being applied.
  mutable std::shared_mutex addrs_mu_;
  std::vector<Endpoint> addrs_;  // sorted
};

}  // namespace pilot::beacon
