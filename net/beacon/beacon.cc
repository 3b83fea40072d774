#include "net/beacon/beacon.h"

#include <algorithm>
#include <exception>

#include "core/ed25519.h"
#include "core/logging.h"

namespace pilot::beacon {

const char* drop_label(Drop d) {
  switch (d) {
    case Drop::kEmpty: return "empty";
    case Drop::kShort: return "short";
    case Drop::kUnknownType: return "unknown_type";
    case Drop::kOversized: return "oversized";
    case Drop::kTableFull: return "table_full";
    case Drop::kBreaker: return "breaker";
    case Drop::kPunchRateLimited: return "punch_rate_limited";
    case Drop::kPunchUnauthorized: return "punch_unauthorized";
    case Drop::kPunchTargetUnknown: return "punch_target_unknown";
    case Drop::kRelayRateLimited: return "relay_rate_limited";
    case Drop::kRelaySpoofedSender: return "relay_spoofed_sender";
    case Drop::kRelayHopLimit: return "relay_hop_limit";
    case Drop::kSyncNotPeer: return "sync_not_peer";
    case Drop::kSyncRateLimited: return "sync_rate_limited";
    case Drop::kSyncTooManySources: return "sync_too_many_sources";
    case Drop::kGossipAuth: return "gossip_auth";
    case Drop::kSendFailed: return "send_failed";
    case Drop::kCount: break;
  }
  return "?";
}

uint64_t Counters::dropped_total() const {
  uint64_t n = 0;
  for (uint64_t d : drops) n += d;
  return n;
}

std::string Engine::check(const Config& cfg) {
  if (cfg.shard_capacity == 0) return "node table shard capacity must be at least 1";
  if (cfg.sync_ids_per_datagram == 0 || cfg.sync_ids_per_datagram > kSyncIdsPerDatagram)
    return "sync ids per datagram must be 1.." + std::to_string(kSyncIdsPerDatagram);
  if (cfg.gossip.max_sources == 0 || cfg.gossip.max_sources > 65535) return "gossip max sources must be 1..65535";
  if (!cfg.gossip_secret.empty() && cfg.gossip_secret.size() < kGossipSecretMin)
    return "the gossip secret must be at least " + std::to_string(kGossipSecretMin) + " bytes";
  std::vector<std::string> bad;
  PunchLimiter probe(0, 0, cfg.punch_whitelist, &bad);
  if (!bad.empty()) return "punch whitelist entry \"" + bad.front() + "\" is not an IP address, \"*\" or \"all\"";
  return "";
}

Engine::Engine(Config cfg, Policy* policy)
    : cfg_(std::move(cfg)),
      policy_(policy),
      nodes_(cfg_.shard_capacity),
      gossip_(cfg_.gossip),
      punch_limiter_(cfg_.punch_global_interval, cfg_.punch_per_source_interval, cfg_.punch_whitelist),
      relay_limiter_(cfg_.relays_per_source, cfg_.relay_window) {
  crypto_init();  // punch grants verify with libsodium
}

void Engine::handle(std::string_view d, const Source& src, Time now, Sink& out) {
  // The reference recovers panics per datagram; the C++ equivalent is an allocation
  // failure (a Sync's id list, a sink's copy). One datagram is lost, the reader lives.
  try {
    dispatch(d, src, now, out);
  } catch (const std::exception& e) {
    inc(recovered_);
    LOG_ERROR("beacon: datagram from %s dropped: %s", src.addr.to_string().c_str(), e.what());
  }
}

void Engine::dispatch(std::string_view d, const Source& src, Time now, Sink& out) {
  if (d.empty()) return drop(Drop::kEmpty);
  if (d.size() > kMaxDatagram) return drop(Drop::kOversized);
  switch (static_cast<MsgType>(d[0])) {
    case MsgType::kDiscover:
    case MsgType::kDiscoverEx: return on_discover(d, src, now, out);
    case MsgType::kPunchRequest: return on_punch(d, src, now, out);
    case MsgType::kRelay: return on_relay(d, src, now, out);
    case MsgType::kSync: return on_sync(d, src, now);
    default:
      LOG_DEBUG("beacon: unknown beacon message type 0x%02x from %s", static_cast<uint8_t>(d[0]),
                src.addr.to_string().c_str());
      return drop(Drop::kUnknownType);
  }
}

// §5.2. The reply always goes to the observed source and says what we observed; the
// stored mapping is never taken from the payload.
void Engine::on_discover(std::string_view d, const Source& src, Time now, Sink& out) {
  auto m = decode_discover(d);
  if (!m) return drop(Drop::kShort);
  if (breaker(Breaker::kDiscover)) return drop(Drop::kBreaker);
  auto r = nodes_.discover(m->node_id, src.addr, src.via, m->ex, m->key ? &*m->key : nullptr, now.mono_ns,
                           cfg_.discover_min_interval);
  if (r == NodeTable::DiscoverResult::kFull) return drop(Drop::kTableFull);
  Head h = addr_head(MsgType::kDiscoverReply, src.addr);
  out.send({src.addr, src.via, 0, OutKind::kDiscoverReply, h.view(), {}});
  inc(discover_replies_);
}

bool Engine::grant_ok(const PunchRequest& m, Time now) const {
  if (!m.grant) return false;
  const Grant& g = *m.grant;
  if (now.unix_s > g.expiry_unix) return false;
  if (cfg_.max_grant_lifetime_s > 0 && g.expiry_unix - now.unix_s > cfg_.max_grant_lifetime_s) return false;
  std::optional<PublicKey> key = policy_ ? policy_->node_key(m.target) : std::nullopt;
  if (!key) key = nodes_.key(m.target);
  if (!key) return false;
  return ed25519_verify(*key, punch_grant_message(m.requester, m.target, g.expiry_unix), g.sig);
}

// §5.4, with the requester's endpoint never moved by a PunchRequest (README: §15).
void Engine::on_punch(std::string_view d, const Source& src, Time now, Sink& out) {
  auto m = decode_punch_request(d);
  if (!m) return drop(Drop::kShort);
  if (breaker(Breaker::kPunch)) return drop(Drop::kBreaker);
  if (!punch_limiter_.allow(src.addr.ip, now.mono_ns)) return drop(Drop::kPunchRateLimited);
  if (cfg_.require_punch_grant && !grant_ok(*m, now)) return drop(Drop::kPunchUnauthorized);
  if (cfg_.punch_auth == PunchAuth::kStrict && !(policy_ && policy_->may_punch(m->requester, m->target)))
    return drop(Drop::kPunchUnauthorized);
  auto requester = nodes_.punch_requester(m->requester, src.addr, src.via, now.mono_ns);
  if (!requester) return drop(Drop::kTableFull);
  auto target = nodes_.get(m->target);
  if (!target) {
    LOG_DEBUG("beacon: punch from %u for unknown target %u", m->requester, m->target);
    return drop(Drop::kPunchTargetUnknown);
  }
  Head to_requester = addr_head(MsgType::kPunchCommand, target->endpoint);
  out.send({requester->endpoint, requester->via, 0, OutKind::kPunchCommand, to_requester.view(), {}});
  Head to_target = addr_head(MsgType::kPunchCommand, requester->endpoint);
  out.send({target->endpoint, target->via, 0, OutKind::kPunchCommand, to_target.view(), {}});
  inc(punch_commands_, 2);
}

// §5.6–5.8. Order of checks: destination known (so unknown ids cost no budget), hop
// limit, sender, budget, size.
void Engine::on_relay(std::string_view d, const Source& src, Time now, Sink& out) {
  auto m = decode_relay(d);
  if (!m) return drop(Drop::kShort);
  if (breaker(Breaker::kRelay)) {
    inc(relay_dropped_);
    return drop(Drop::kBreaker);
  }
  std::optional<NodeView> local = nodes_.get(m->dest);
  Bridge* const bridge = bridge_.load(std::memory_order_acquire);
  const bool to_bridge = bridge && bridge->connected(m->dest);
  std::optional<Endpoint> route;
  int from_peer = -1;  // unknown until needed: it takes a shared lock
  if (!local && !to_bridge) {
    route = gossip_.route(m->dest);
    if (!route) {
      inc(relay_not_found_);
      return;
    }
    from_peer = is_peer_address(src.addr);
    if (from_peer) return drop(Drop::kRelayHopLimit);
  }
  if (cfg_.verify_relay_sender) {
    std::optional<NodeView> sender = nodes_.get(m->sender);
    if (!sender || sender->endpoint != src.addr) {
      // A peer beacon forwards for nodes registered there; it checked them (or, a Go
      // peer, did not — nothing to check against here).
      if (from_peer < 0) from_peer = is_peer_address(src.addr);
      if (!from_peer) return drop(Drop::kRelaySpoofedSender);
    }
  }
  if (!relay_limiter_.allow(src.addr, now.mono_ns)) return drop(Drop::kRelayRateLimited);
  if (m->payload.size() > kMaxRelayPayload) return drop(Drop::kOversized);
  if (to_bridge) {  // §10.4: the session first, as 0x06
    Head h = relay_deliver_head(m->sender);
    if (bridge->deliver(m->dest, h.view(), m->payload)) return inc(relay_forwarded_);
    if (!local) return count_send_failure(OutKind::kRelayDeliver);
  }
  if (local) {
    Head h = local->dest_carrying ? relay_deliver_dest_head(m->sender, m->dest) : relay_deliver_head(m->sender);
    if (h.n + m->payload.size() > max_udp_payload(local->endpoint)) return drop(Drop::kOversized);
    out.send({local->endpoint, local->via, 0, OutKind::kRelayDeliver, h.view(), m->payload});
  } else {
    Head h = relay_head(m->sender, m->dest);
    if (h.n + m->payload.size() > max_udp_payload(*route)) return drop(Drop::kOversized);
    out.send({*route, kAnyVia, 0, OutKind::kRelayForward, h.view(), m->payload});
  }
  inc(relay_forwarded_);
}

void Engine::on_sync(std::string_view d, const Source& src, Time now) {
  if (d.size() < kSyncMin) return drop(Drop::kShort);
  if (cfg_.strict_gossip && !is_peer_ip(src.addr.ip)) return drop(Drop::kSyncNotPeer);
  if (!cfg_.gossip_secret.empty()) {
    auto body = authenticated_sync(d, now);
    if (!body) return drop(Drop::kGossipAuth);
    d = *body;
  }
  auto m = decode_sync(d);
  if (!m) return drop(Drop::kShort);
  size_t refused = 0;
  switch (gossip_.apply(src.addr, *m, now.mono_ns, nodes_, refused)) {
    case GossipTable::Apply::kRateLimited: return drop(Drop::kSyncRateLimited);
    case GossipTable::Apply::kTooManySources: return drop(Drop::kSyncTooManySources);
    case GossipTable::Apply::kApplied: break;
  }
  inc(syncs_received_);
  if (refused) {
    inc(sync_routes_refused_, refused);
    LOG_WARN("beacon: route cap reached, %zu ids from %s not installed", refused, src.addr.to_string().c_str());
  }
  LOG_DEBUG("beacon: sync from beacon %u at %s: %zu ids", m->beacon_id, src.addr.to_string().c_str(), m->count());
}

std::optional<std::string_view> Engine::authenticated_sync(std::string_view d, Time now) {
  auto a = verify_sync_auth(cfg_.gossip_secret, d);
  if (!a) return std::nullopt;
  auto sync = decode_sync(a->sync);
  if (!sync) return std::nullopt;
  const int64_t clock = now.unix_s * kSecond;
  const int64_t stamp = static_cast<int64_t>(std::min<uint64_t>(a->stamp_ns, INT64_MAX));
  // unix_s has whole seconds: allow the second it may be behind.
  if (stamp < clock - kSyncAuthWindow || stamp > clock + kSecond + kSyncAuthWindow) return std::nullopt;
  const uint64_t oldest = static_cast<uint64_t>(std::max<int64_t>(0, clock - kSyncAuthWindow));
  std::lock_guard lock(auth_mu_);
  const uint32_t key = sync->beacon_id;
  auto it = auth_stamps_.find(key);
  if (it == auth_stamps_.end()) {
    if (auth_stamps_.size() >= cfg_.gossip.max_sources) {
      std::erase_if(auth_stamps_, [&](const auto& e) { return e.second.empty() || *e.second.rbegin() < oldest; });
      if (auth_stamps_.size() >= cfg_.gossip.max_sources) return std::nullopt;
    }
    it = auth_stamps_.emplace(key, std::set<uint64_t>{}).first;
  }
  std::set<uint64_t>& seen = it->second;
  seen.erase(seen.begin(), seen.lower_bound(oldest));         // outside the window: refused by the clock check
  if (!seen.insert(a->stamp_ns).second) return std::nullopt;  // a replay
  if (seen.size() > kMaxStampsPerSender) seen.erase(seen.begin());
  return a->sync;
}

void Engine::gossip_tick(Time now, Sink& out) {
  std::vector<Endpoint> peers = this->peers();
  if (peers.empty()) return;
  std::vector<uint32_t> ids = nodes_.ids();
  std::sort(ids.begin(), ids.end());
  const bool auth = !cfg_.gossip_secret.empty();
  const size_t per = auth ? std::min(cfg_.sync_ids_per_datagram, kSyncAuthIdsPerDatagram) : cfg_.sync_ids_per_datagram;
  size_t needed = std::max<size_t>(1, (ids.size() + per - 1) / per);
  size_t sockets;
  {
    std::lock_guard lock(gossip_send_mu_);
    gossip_sockets_used_ = std::min<size_t>(std::max(gossip_sockets_used_, needed), 256);
    sockets = gossip_sockets_used_;
  }
  if (needed > sockets)
    LOG_WARN("beacon: %zu local ids need %zu sync datagrams; only %zu are sent", ids.size(), needed, sockets);
  for (size_t k = 0; k < sockets; ++k) {
    size_t from = std::min(ids.size(), k * per), to = std::min(ids.size(), from + per);
    if (k >= needed) from = to = 0;  // a retired chunk: withdraw its routes everywhere
    std::string sync = encode_sync(cfg_.beacon_id, std::span<const uint32_t>(ids.data() + from, to - from));
    if (auth) {
      uint64_t stamp;
      {
        std::lock_guard lock(gossip_send_mu_);
        last_stamp_sent_ = std::max(last_stamp_sent_ + 1, static_cast<uint64_t>(now.unix_s) * kSecond);
        stamp = last_stamp_sent_;
      }
      sync += sync_auth_trailer(cfg_.gossip_secret, sync, stamp);
    }
    for (const Endpoint& p : peers) {
      out.send({p, kAnyVia, static_cast<uint8_t>(k), OutKind::kSync, {}, sync});
      inc(syncs_sent_);
    }
  }
}

Engine::NotifyResult Engine::notify(uint32_t node_id, Time now, Sink& out) {
  NodeView n;
  switch (nodes_.notify(node_id, now.mono_ns, cfg_.notify_min_interval, n)) {
    case NodeTable::NotifyResult::kNotFound: return NotifyResult::kNotFound;
    case NodeTable::NotifyResult::kThrottled: return NotifyResult::kThrottled;
    case NodeTable::NotifyResult::kAllowed: break;
  }
  Head h = notify_head(kNotifyHandshakeWaiting);
  out.send({n.endpoint, n.via, 0, OutKind::kNotify, h.view(), {}});
  inc(notifies_sent_);
  return NotifyResult::kSent;
}

Engine::ReapStats Engine::reap(Time now) {
  ReapStats s;
  s.nodes = nodes_.reap(now.mono_ns, cfg_.node_ttl);
  s.gossip_sources = gossip_.expire(now.mono_ns);
  s.punch_entries = punch_limiter_.sweep(now.mono_ns, cfg_.limiter_idle);
  s.relay_windows = relay_limiter_.sweep(now.mono_ns, cfg_.limiter_idle);
  return s;
}

void Engine::set_peers(std::vector<Endpoint> peers) {
  std::sort(peers.begin(), peers.end());
  peers.erase(std::unique(peers.begin(), peers.end()), peers.end());
  std::unique_lock lock(peers_mu_);
  peers_ = std::move(peers);
}

std::vector<Endpoint> Engine::peers() const {
  std::shared_lock lock(peers_mu_);
  return peers_;
}

bool Engine::is_peer_address(const Endpoint& ep) const {
  {
    std::shared_lock lock(peers_mu_);
    if (std::binary_search(peers_.begin(), peers_.end(), ep)) return true;
  }
  return gossip_.is_source(ep);
}

bool Engine::is_peer_ip(const IpBytes& ip) const {
  std::shared_lock lock(peers_mu_);
  return std::any_of(peers_.begin(), peers_.end(), [&](const Endpoint& p) { return p.ip == ip; });
}

void Engine::count_send_failure(OutKind kind) {
  drop(Drop::kSendFailed);
  if (kind == OutKind::kRelayDeliver || kind == OutKind::kRelayForward) inc(relay_dropped_);
}

Counters Engine::counters() const {
  Counters c;
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  c.discover_replies = get(discover_replies_);
  c.punch_commands = get(punch_commands_);
  c.relay_forwarded = get(relay_forwarded_);
  c.relay_dropped = get(relay_dropped_);
  c.relay_not_found = get(relay_not_found_);
  c.syncs_received = get(syncs_received_);
  c.syncs_sent = get(syncs_sent_);
  c.sync_routes_refused = get(sync_routes_refused_);
  c.notifies_sent = get(notifies_sent_);
  c.recovered = get(recovered_);
  for (size_t i = 0; i < kDropReasons; ++i) c.drops[i] = get(drops_[i]);
  return c;
}

}  // namespace pilot::beacon
