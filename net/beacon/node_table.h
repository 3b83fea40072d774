// The beacon's node table (spec §6): node id → the UDP endpoint it was observed at,
// the local address it talks to, when it was last seen, and the per-id limiter state.
//
// 64 shards (shard = id & 63), each a mutex + FlatMap, so reader threads registering
// and relaying for different ids rarely meet. A shard holds at most `shard_capacity`
// ids (500,000 / 64 = 7812): a *new* id in a full shard is refused, updates always
// succeed. An entry is 56 bytes inline (18-byte endpoint, not sockaddr_storage); at
// 500,000 nodes the slots take ~59 MB (load between 3/8 and 3/4).
//
// What lives in an entry, and the rules each operation applies atomically per shard:
//   endpoint + via   the observed source of the Discover that last moved it, and the
//                    local address that Discover arrived on (replies to the node leave
//                    from there: daemons accept 0x04/0x06 only from their beacon's
//                    IP:port, §2.2);
//   last_seen        refreshed by an endpoint update (not by relays, not by throttled
//                    Discovers); the reaper removes entries silent for the TTL;
//   last_update      the discover limiter (§5.2 step 6): the endpoint moves at most once
//                    per 30 s per id. Kept in the entry, not in a side table keyed by
//                    id: an id that is not in the table has no limiter state, so a
//                    Discover refused at capacity is refused again within 30 s (the
//                    reference then replies without inserting — see README);
//   dest-carrying    the 0x09 flag (DiscoverEx), bound to the endpoint: set or cleared
//                    only by a Discover that is the endpoint owner (moved it, or came
//                    from it) — closes §15 "DiscoverEx poisoning";
//   last_notify      the 1 s Notify limiter (§5.10);
//   public key       first write wins, bound only by the endpoint owner (a side map per
//                    shard: daemons never send one, so it costs nothing usually).
//
// Thread-safe: every method locks one shard (or each shard in turn).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/codec.h"
#include "net/beacon/endpoint.h"
#include "net/beacon/flat_map.h"
#include "net/beacon/messages.h"

namespace pilot::beacon {

// Which local address a datagram arrived on / must leave from. Opaque to the engine:
// the transport interns its local addresses and hands out small numbers. 0 = "any":
// the kernel picks (a socket bound to one address, or traffic to peer beacons).
using Via = uint8_t;
inline constexpr Via kAnyVia = 0;

struct NodeView {
  Endpoint endpoint;
  Via via = kAnyVia;
  bool dest_carrying = false;
  int64_t last_seen = 0;
};

class NodeTable {
 public:
  explicit NodeTable(size_t shard_capacity = kShardCapacity);

  enum class DiscoverResult {
    kInserted,   // new id, endpoint = source
    kMoved,      // endpoint (and via, flag) set from this Discover
    kThrottled,  // within the 30 s window: endpoint kept (a Discover from the stored
                 // endpoint still updates the dest-carrying flag)
    kFull,       // new id, shard full: nothing stored
  };
  // §5.2 steps 4–7 as one atomic step. `key` is bound only if none is bound yet and
  // the Discover comes from the (possibly just written) endpoint.
  DiscoverResult discover(uint32_t id, const Endpoint& source, Via via, bool ex, const PublicKey* key, int64_t now,
                          int64_t min_interval);

  // PunchRequest's requester (§5.4 step 6, with §15's redirect closed): an unknown id
  // is inserted at `source`; a known id keeps its endpoint (lastSeen is refreshed only
  // when `source` is that endpoint). Returns the stored node, nullopt if the shard is
  // full.
  std::optional<NodeView> punch_requester(uint32_t id, const Endpoint& source, Via via, int64_t now);

  std::optional<NodeView> get(uint32_t id) const;
  bool contains(uint32_t id) const;
  std::optional<PublicKey> key(uint32_t id) const;

  enum class NotifyResult { kNotFound, kThrottled, kAllowed };
  // On kAllowed `out` is the node and last_notify = now.
  NotifyResult notify(uint32_t id, int64_t now, int64_t min_interval, NodeView& out);

  // Removes entries with last_seen older than now − ttl, with their keys. Returns how
  // many were removed.
  size_t reap(int64_t now, int64_t ttl);

  size_t size() const;
  // Every registered id (each shard locked in turn: a snapshot per shard, not global).
  std::vector<uint32_t> ids() const;
  size_t memory_bytes() const;
  size_t shard_capacity() const { return shard_capacity_; }

 private:
  struct Entry {
    Endpoint endpoint;
    Via via = kAnyVia;
    bool dest_carrying = false;
    int64_t last_seen = 0;
    int64_t last_update = 0;
    int64_t last_notify = INT64_MIN;
  };
  struct alignas(64) Shard {
    explicit Shard(const KeyedHash* h) : nodes(h) {}
    mutable std::mutex mu;
    FlatMap<uint32_t, Entry> nodes;
    std::unordered_map<uint32_t, PublicKey> keys;
  };
  static NodeView view(const Entry& e) { return {e.endpoint, e.via, e.dest_carrying, e.last_seen}; }
  Shard& shard(uint32_t id) { return *shards_[id & (kNodeShards - 1)]; }
  const Shard& shard(uint32_t id) const { return *shards_[id & (kNodeShards - 1)]; }

  size_t shard_capacity_;
  KeyedHash hash_;
  std::array<std::unique_ptr<Shard>, kNodeShards> shards_;
};

}  // namespace pilot::beacon
