// The beacon protocol engine (spec/beacon.md §5): one datagram in, zero or more
// datagrams out, no sockets and no clock. The UDP server (udp_server.h) and the
// WebSocket bridge (wss_server.h) feed it bytes with their transport source and the time, and
// send what it hands to their Sink. What it cannot know (keys, trust, memberships) it
// asks its Policy: in rendezvous, log_policy.h.
//
//   handle(data, source, now, sink)  Discover/DiscoverEx → DiscoverReply (§5.2);
//                                    PunchRequest → two PunchCommands (§5.4);
//                                    Relay → RelayDeliver / RelayDeliverDest to a local
//                                    node, or Relay to the peer beacon that owns the id
//                                    (§5.6–5.8); Sync → routes (§5.9); anything else
//                                    is counted and dropped.
//   gossip_tick(now, sink)           every 10 s: our ids to every peer (§5.9 sender).
//   notify(id, now, sink)            [0A][01] to a node, at most once a second (§5.10).
//   reap(now)                        every 60 s: nodes silent 10 min, idle limiter
//                                    entries, routes of sync sources silent 90 s.
//
// Threading. Every method may be called from any thread, concurrently: the node
// table, the relay limiter and the gossip routes are 64-way sharded under mutexes,
// the punch limiter and the Sync path have one mutex each (both are rate-capped),
// counters are relaxed atomics. A Sink is used only by the thread that passed it.
//
// Relay ordering. The reference hashes relay jobs to worker queues by destination so
// packets for one destination keep their arrival order. Here the engine hands each
// relay to the caller's sink inside handle(), so a transport that sends on the thread
// that received (ours does) keeps the order of every source→destination flow: the
// kernel steers a flow (one 4-tuple) to one SO_REUSEPORT socket, read by one thread.
// Order between different sources is not observable (they arrive on different
// sockets), so nothing is lost by not funnelling them through one queue, and no
// queue/worker handoff or 2 ms batching delay is paid. A transport that moves sends to
// other threads must keep datagrams for one `Datagram::to` on one queue.
//
// Hop limit (§15 "no hop limit"). A relay that arrived *from a peer beacon* — a
// configured peer address or a live Sync source, exact IP and port — is delivered
// only to a local node, never forwarded to another beacon. That bounds every path to
// one beacon-to-beacon hop, which is all a full gossip mesh needs (each beacon syncs
// its own ids to every peer, so a route always names the owning beacon). It needs no
// new field, so it is wire-compatible with Go beacons in both directions: a Go peer's
// forwarded frame is delivered here or dropped, and ours look like any relay to it.
// Two beacons with stale routes pointing at each other therefore drop the frame at
// the second beacon instead of bouncing it until a map updates.
//
// Sync splitting (§5.9 sender). Past 16,375 ids a Sync no longer fits one datagram;
// the reference then fails every round and its peers drop all its routes after 90 s.
// Because a receiver replaces the routes *per source address*, chunks from one socket
// would overwrite each other. So chunk k leaves from gossip socket k (Datagram::
// gossip_socket; 0 = the main socket, k ≥ 1 = extra sockets the transport opens on
// demand): every receiver, Go or ours, sees each chunk as a beacon of its own and
// keeps all of them, and relays come back to the chunk's socket. Ids are sorted before
// chunking so they stay in their chunk from round to round; once a chunk socket has
// been used it keeps sending (empty) Syncs, which withdraws its routes at once when
// the id count shrinks.
//
// Which holes of §15 are closed, and how, is in README.md.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/codec.h"
#include "net/beacon/endpoint.h"
#include "net/beacon/gossip_table.h"
#include "net/beacon/limiters.h"
#include "net/beacon/messages.h"
#include "net/beacon/node_table.h"

namespace pilot::beacon {

// The engine's clock: monotonic ns for every interval, Unix seconds only for punch
// grant expiry (a wall-clock deadline by definition).
struct Time {
  int64_t mono_ns = 0;
  int64_t unix_s = 0;
};

// Where a datagram came from: the observed UDP source and the local address it
// arrived on (interned by the transport).
struct Source {
  Endpoint addr;
  Via via = kAnyVia;
};

enum class OutKind : uint8_t { kDiscoverReply, kPunchCommand, kRelayDeliver, kRelayForward, kSync, kNotify };

// One outgoing datagram = head ‖ body. The views are valid only during Sink::send:
// a sink that batches must copy.
struct Datagram {
  Endpoint to;
  Via via = kAnyVia;          // send from this local address (what the node talks to)
  uint8_t gossip_socket = 0;  // Sync chunk k ≥ 1 leaves from gossip socket k
  OutKind kind = OutKind::kDiscoverReply;
  std::string_view head;
  std::string_view body;
  size_t size() const { return head.size() + body.size(); }
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void send(const Datagram& d) = 0;
};

enum class Drop : uint8_t {
  kEmpty,               // 0-byte frame (WSS can deliver one)
  kShort,               // shorter than its type needs (Sync: fewer ids than its count)
  kUnknownType,         // not 0x01/0x03/0x05/0x07/0x08 (includes beacon→node types)
  kOversized,           // > kMaxDatagram, or a delivery too big for the destination's family
  kTableFull,           // new id in a full shard: no reply, nothing stored
  kBreaker,             // the embedding's breaker is open
  kPunchRateLimited,    // global 10/s or per-IP 1/s
  kPunchUnauthorized,   // grant missing/invalid, or --punch-auth=strict said no
  kPunchTargetUnknown,  // target not registered here
  kRelayRateLimited,    // the source's 4000/s window is used up
  kRelaySpoofedSender,  // sender id not registered at the source address
  kRelayHopLimit,       // came from a peer beacon and the destination is not local
  kSyncNotPeer,         // strict gossip: source IP is not a peer's
  kSyncRateLimited,     // a second Sync from one source within a second
  kSyncTooManySources,  // source table full (or too many sources on one IP)
  kGossipAuth,          // -gossip-secret: Sync without a valid trailer, or a stale/replayed stamp
  kSendFailed,          // reported by the transport (count_send_failure)
  kCount,
};
inline constexpr size_t kDropReasons = static_cast<size_t>(Drop::kCount);
// Stable snake_case names for logs and metrics: "empty", "short", "unknown_type", …
const char* drop_label(Drop d);

enum class Breaker : uint8_t { kDiscover, kPunch, kRelay };

// What the embedding knows that the beacon does not. Called from reader threads
// concurrently: implementations must be thread-safe and must not block.
class Policy {
 public:
  virtual ~Policy() = default;
  // --punch-auth=strict: may `requester` have the beacon open a path to `target`?
  // (In rendezvous: from the event log's trust/membership projections, log_policy.h.)
  virtual bool may_punch(uint32_t /*requester*/, uint32_t /*target*/) { return true; }
  // The authoritative Ed25519 key of a node (the registry's key index), used for punch
  // grants before the first-write-wins Discover key.
  virtual std::optional<PublicKey> node_key(uint32_t /*id*/) { return std::nullopt; }
  // The registry's breakers (`beacon.discover|punch|relay`): open = drop.
  virtual bool breaker_open(Breaker) { return false; }
};

// The WebSocket bridge as the engine sees it (wss_server.h): a relay to an id with a
// live session goes there first, always as RelayDeliver 0x06, even if the id also has a
// UDP endpoint (§10.4); when the session cannot take it, the UDP endpoint is tried.
// Called from every reader thread: implementations must be thread-safe, non-blocking.
class Bridge {
 public:
  virtual ~Bridge() = default;
  virtual bool connected(uint32_t id) = 0;
  // One binary message head ‖ body to `id`'s session; false if there is none or it
  // cannot take more (its queue is full or its writes stalled).
  virtual bool deliver(uint32_t id, std::string_view head, std::string_view body) = 0;
};

enum class PunchAuth : uint8_t {
  kOpen,    // the reference: any source may punch any two registered ids (rate-capped)
  kStrict,  // Policy::may_punch decides; no Policy installed = refuse every punch
};

struct Config {
  uint32_t beacon_id = 0;
  size_t shard_capacity = kShardCapacity;
  int64_t node_ttl = kNodeTtl;
  int64_t discover_min_interval = kDiscoverMinInterval;
  int64_t punch_global_interval = kPunchGlobalInterval;
  int64_t punch_per_source_interval = kPunchPerSourceInterval;
  std::vector<std::string> punch_whitelist{};  // IPs; "*" or "all" = everybody
  bool require_punch_grant = false;            // §7.1 tokens
  int64_t max_grant_lifetime_s = 0;            // > 0: refuse grants expiring further ahead
  PunchAuth punch_auth = PunchAuth::kOpen;
  uint32_t relays_per_source = kRelaysPerSourcePerWindow;
  int64_t relay_window = kRelayWindow;
  bool verify_relay_sender = true;  // false: the reference (sender ids unchecked)
  bool strict_gossip = true;        // false: the reference (any source's Sync installs routes)
  // Non-empty (≥ kGossipSecretMin bytes): Syncs sent carry the auth trailer and Syncs
  // received must carry a valid one (messages.h). Empty: the reference.
  std::string gossip_secret{};
  GossipLimits gossip{};
  size_t sync_ids_per_datagram = kSyncIdsPerDatagram;
  int64_t notify_min_interval = kNotifyMinInterval;
  int64_t limiter_idle = kLimiterIdle;
};

struct Counters {
  uint64_t discover_replies = 0;
  uint64_t punch_commands = 0;
  uint64_t relay_forwarded = 0;  // handed to the transport (local delivery or peer beacon)
  uint64_t relay_dropped = 0;    // breaker open, or the transport could not send
  uint64_t relay_not_found = 0;  // destination neither local nor routed
  uint64_t syncs_received = 0;
  uint64_t syncs_sent = 0;
  uint64_t sync_routes_refused = 0;  // ids not installed: route cap
  uint64_t notifies_sent = 0;
  uint64_t recovered = 0;  // exceptions caught around one datagram (bad_alloc)
  std::array<uint64_t, kDropReasons> drops{};
  uint64_t drop(Drop d) const { return drops[static_cast<size_t>(d)]; }
  uint64_t dropped_total() const;
};

class Engine {
 public:
  // `policy` (may be null) must outlive the engine.
  explicit Engine(Config cfg, Policy* policy = nullptr);
  // "" if `cfg` is usable, else what is wrong (for a flag error message).
  static std::string check(const Config& cfg);

  void handle(std::string_view datagram, const Source& source, Time now, Sink& out);
  void gossip_tick(Time now, Sink& out);

  enum class NotifyResult { kSent, kThrottled, kNotFound };
  NotifyResult notify(uint32_t node_id, Time now, Sink& out);

  struct ReapStats {
    size_t nodes = 0, gossip_sources = 0, punch_entries = 0, relay_windows = 0;
  };
  ReapStats reap(Time now);

  // Peer beacons: where Syncs go, and (strict gossip) whose IPs may send them.
  void set_peers(std::vector<Endpoint> peers);
  std::vector<Endpoint> peers() const;

  // The WebSocket bridge, or null. It must stay alive until every thread that calls
  // handle() has stopped (Service stops the bridge's writes before the UDP threads).
  void set_bridge(Bridge* bridge) { bridge_.store(bridge, std::memory_order_release); }

  // The transport could not send `kind` (socket buffer full, unreachable family).
  void count_send_failure(OutKind kind);

  Counters counters() const;
  const Config& config() const { return cfg_; }
  const NodeTable& nodes() const { return nodes_; }
  const GossipTable& gossip() const { return gossip_; }

 private:
  void dispatch(std::string_view d, const Source& src, Time now, Sink& out);
  void on_discover(std::string_view d, const Source& src, Time now, Sink& out);
  void on_punch(std::string_view d, const Source& src, Time now, Sink& out);
  void on_relay(std::string_view d, const Source& src, Time now, Sink& out);
  void on_sync(std::string_view d, const Source& src, Time now);
  bool grant_ok(const PunchRequest& m, Time now) const;
  bool breaker(Breaker b) const { return policy_ && policy_->breaker_open(b); }
  bool is_peer_address(const Endpoint& ep) const;
  bool is_peer_ip(const IpBytes& ip) const;
  // The Sync inside an authenticated datagram, or nullopt (counted by the caller).
  std::optional<std::string_view> authenticated_sync(std::string_view d, Time now);
  void drop(Drop d) { drops_[static_cast<size_t>(d)].fetch_add(1, std::memory_order_relaxed); }
  static void inc(std::atomic<uint64_t>& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }

  const Config cfg_;
  Policy* const policy_;
  std::atomic<Bridge*> bridge_{nullptr};
  NodeTable nodes_;
  GossipTable gossip_;
  PunchLimiter punch_limiter_;
  RelayLimiter relay_limiter_;

  mutable std::shared_mutex peers_mu_;
  std::vector<Endpoint> peers_;  // sorted, unique

  std::mutex gossip_send_mu_;
  size_t gossip_sockets_used_ = 0;  // chunks ever sent: retired ones keep sending empty Syncs
  uint64_t last_stamp_sent_ = 0;    // gossip auth: stamps strictly increase

  // Gossip auth: the stamps accepted from each sender, by the (authenticated) beacon
  // id in its Sync — not by source address: a sender's chunks leave from several
  // sockets, and a captured Sync replayed from another port or address must still be
  // a replay. Stamps are unique per sender, so a set of those inside the window (older
  // ones fail the window check anyway) catches every replay and tolerates reordering.
  // Only senders holding the secret get an entry, at most cfg_.gossip.max_sources,
  // each at most kMaxStampsPerSender (an honest sender sends < 1,000 per window).
  static constexpr size_t kMaxStampsPerSender = 4096;
  std::mutex auth_mu_;
  std::map<uint32_t, std::set<uint64_t>> auth_stamps_;

  std::atomic<uint64_t> discover_replies_{0}, punch_commands_{0}, relay_forwarded_{0}, relay_dropped_{0},
      relay_not_found_{0}, syncs_received_{0}, syncs_sent_{0}, sync_routes_refused_{0}, notifies_sent_{0},
      recovered_{0};
  std::array<std::atomic<uint64_t>, kDropReasons> drops_{};
};

}  // namespace pilot::beacon
