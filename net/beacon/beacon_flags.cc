#include "net/beacon/beacon_flags.h"

#include "core/logging.h"
#include "net/beacon/udp_socket.h"

namespace pilot::beacon {

namespace {

// The flag name in `role`: a name that is generic among rendezvous flags gets the
// "beacon-" prefix there (see the header).
std::string name(BeaconRole role, const char* plain) {
  return role == BeaconRole::kEmbedded ? std::string("beacon-") + plain : plain;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t from = 0;
  while (from <= s.size()) {
    size_t comma = s.find(',', from);
    if (comma == std::string::npos) comma = s.size();
    std::string item = s.substr(from, comma - from);
    size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
    if (a != std::string::npos) out.push_back(item.substr(a, b - a + 1));
    from = comma + 1;
  }
  return out;
}

void add_wss_flags(Flags& f, BeaconFlags& v, BeaconRole role) {
  f.add_string(&v.wss_addr, name(role, "wss-addr").c_str(), nullptr,
               role == BeaconRole::kStandalone
                   ? "WebSocket bridge for UDP-blocked daemons (/v1/compat, /health) on this TCP address, plain "
                     "(TLS by a proxy in front); \"\" = off. Its auth needs the registry's node keys "
                     "(-rendezvous): without them every peer is refused"
                   : "WebSocket bridge for UDP-blocked daemons (/v1/compat, /health) on this TCP address, plain "
                     "(TLS by a proxy in front); \"\" = off");
  if (role == BeaconRole::kEmbedded)  // the Go rendezvous's own name for it (spec §13.1)
    f.add_string(&v.wss_addr, "wss-addr", nullptr, "the same as --beacon-wss-addr (the Go rendezvous's name)");
  f.add_uint(&v.wss_max_peers, name(role, "wss-max-peers").c_str(), nullptr,
             "WebSocket sessions at most; more upgrades get 503 (0 = no cap)");
  f.add_duration(&v.wss_idle_timeout, name(role, "wss-idle-timeout").c_str(), nullptr,
                 "a WebSocket peer that sends no data message this long is disconnected (pings do not count)");
  f.add_string(&v.wss_cert, name(role, "wss-cert").c_str(), nullptr,
               "PEM certificate chain: serve wss:// on the WebSocket listener itself (\"\" = plain, TLS by a proxy)");
  f.add_string(&v.wss_key, name(role, "wss-key").c_str(), nullptr, "PEM private key of the WebSocket certificate");
}

}  // namespace

void add_beacon_flags(Flags& f, BeaconFlags& v, BeaconRole role) {
  const bool standalone = role == BeaconRole::kStandalone;
  f.add_string(
      &v.addr, name(role, "addr").c_str(), nullptr,
      standalone ? "UDP listen address (\":port\" = every address, IPv4 and IPv6)"
                 : "embedded beacon UDP listen address (\":port\" = every address, IPv4 and IPv6); also the "
                   "endpoint handed out for relay-only nodes (the public ip:port; it must be an address of this host)");
  if (standalone) {
    f.add_uint(&v.beacon_id, "beacon-id", nullptr, "this beacon's id in Sync messages (0 = standalone)");
    f.add_string(&v.peers, "peers", nullptr, "comma-separated peer beacons host:port (unresolvable ones skipped)");
    f.add_string(&v.advertise, "advertise-addr", nullptr,
                 "the host:port sent to -registry in beacon_register (default: the -addr port on the local IP "
                 "toward the registry); must be reachable by daemons and peer beacons");
    f.add_string(&v.registry, "registry", nullptr,
                 "registry host:port: with -beacon-id != 0, register there every -registry-interval and take the "
                 "peer list from its beacon_list (replacing -peers)");
    f.add_string(&v.registry_admin_token, "registry-admin-token", "PILOT_REGISTRY_ADMIN_TOKEN",
                 "sent as admin_token in beacon_register (the registry's --admin-token)");
    f.add_duration(&v.registry_interval, "registry-interval", nullptr,
                   "how often to register and refresh the peer list from -registry");
    f.add_string(&v.gossip_secret, "gossip-secret", "PILOT_GOSSIP_SECRET",
                 "shared secret (16+ bytes) authenticating Syncs between beacons: sent ones carry an HMAC trailer, "
                 "received ones without a valid one are dropped. Every peer needs the same secret; Go beacons cannot "
                 "take part. Prefer the environment variable (not visible in ps)");
    f.add_string(&v.health, "health", nullptr,
                 "HTTP address for GET /healthz (\"\" = off): 200 ok, 503 while draining");
    f.add_duration(&v.drain_delay, "drain-delay", nullptr,
                   "after SIGTERM, keep serving this long with /healthz answering 503 before stopping (a second "
                   "signal stops at once)");
    f.add_string(&v.rendezvous, "rendezvous", nullptr,
                 "host:port of a rendezvous leader's replication listener (its --repl-addr): keep node keys, trust "
                 "pairs and memberships from its event log (for -punch-auth=strict and -punch-grants)");
    f.add_string(&v.repl_token, "repl-token", "PILOT_REPL_TOKEN", "the leader's replication token (with -rendezvous)");
  }
  f.add_uint(&v.sockets, name(role, "sockets").c_str(), nullptr, "UDP sockets sharing the port (0 = one per core)");
  f.add_uint(&v.max_nodes, name(role, "max-nodes").c_str(), nullptr,
             "beacon node table capacity (enforced per shard: max-nodes / 64)");
  f.add_duration(&v.node_ttl, name(role, "node-ttl").c_str(), nullptr,
                 "beacon nodes silent this long (no Discover) are removed");
  f.add_duration(&v.reap_interval, name(role, "reap-interval").c_str(), nullptr,
                 "how often expired beacon nodes and routes are removed");
  if (standalone)
    f.add_duration(&v.gossip_interval, "gossip-interval", nullptr, "how often our node ids are sent to peers");
  f.add_duration(&v.stats_interval, name(role, "stats-interval").c_str(), nullptr,
                 "how often beacon counters are logged (0 = never)");
  if (standalone) {
    f.add_uint(&v.sync_chunk, "sync-chunk", nullptr, "node ids per Sync datagram (more leave from extra sockets)");
    f.add_bool(&v.strict_gossip, "strict-gossip", nullptr,
               "accept Syncs only from the IPs of -peers (false: from anyone, as the Go beacon)");
  }
  f.add_bool(&v.relay_sender_check, "relay-sender-check", nullptr,
             "relay only if the sender id is registered at the packet's source (false: as the Go beacon)");
  f.add_string(&v.punch_whitelist, "punch-whitelist", nullptr,
               "comma-separated IPs exempt from punch rate limits, or *");
  f.add_bool(&v.punch_grants, "punch-grants", nullptr,
             standalone ? "require a grant signed by the target's key on every PunchRequest"
                        : "require a grant signed by the target's key (its current key in the registry) on every "
                          "PunchRequest");
  f.add_string(&v.punch_auth, "punch-auth", nullptr,
               standalone ? "open, or strict: only toward a public target, between a trust pair, or within a shared "
                            "non-backbone network (from the event log: needs -rendezvous; without it every punch is "
                            "refused)"
                          : "open (any two registered nodes, as the Go beacon), or strict: only toward a public "
                            "target, between a trust pair, or within a shared non-backbone network (from the log)");
  add_wss_flags(f, v, role);
}

std::string make_beacon_setup(const BeaconFlags& v, BeaconRole role, BeaconSetup& out) {
  const bool standalone = role == BeaconRole::kStandalone;
  auto flag = [role](const char* plain) {
    std::string text = "-";  // (not "-" + name(…): GCC 12 warns -Wrestrict on it at -O3)
    return text += name(role, plain);
  };
  if (v.beacon_id > UINT32_MAX) return "-beacon-id must fit 32 bits";
  if (v.max_nodes < kNodeShards) return flag("max-nodes") + " must be at least 64";
  if (v.punch_auth != "open" && v.punch_auth != "strict") return "-punch-auth must be open or strict";
  if (v.reap_interval <= 0) return flag("reap-interval") + " must be > 0";
  if (standalone && v.gossip_interval <= 0) return "-gossip-interval must be > 0";
  if (standalone && !v.registry.empty()) {
    const size_t colon = v.registry.rfind(':');
    if (colon == std::string::npos || colon + 1 == v.registry.size() ||
        v.registry.find_first_not_of("0123456789", colon + 1) != std::string::npos)
      return "-registry must be host:port (the registry's TCP port), not \"" + v.registry + "\"";
    // The discovery thread sleeps in poll(), whose int milliseconds end at 24.8 days.
    if (v.registry_interval <= 0 || v.registry_interval > 24 * 3600 * kSecond)
      return "-registry-interval must be > 0 and at most 24h";
  }
  if (!v.gossip_secret.empty() && v.gossip_secret.size() < kGossipSecretMin)
    return "-gossip-secret must be at least " + std::to_string(kGossipSecretMin) + " bytes";
  if (!v.rendezvous.empty()) {
    const size_t colon = v.rendezvous.rfind(':');
    const std::string port = colon == std::string::npos ? "" : v.rendezvous.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port) == 0 || std::stoul(port) > 65535)
      return "-rendezvous must be host:port (the leader's --repl-addr), not \"" + v.rendezvous + "\"";
    if (v.repl_token.empty()) return "-rendezvous needs -repl-token (or PILOT_REPL_TOKEN): the leader's token";
  }

  Config cfg;
  cfg.beacon_id = static_cast<uint32_t>(v.beacon_id);
  cfg.shard_capacity = v.max_nodes / kNodeShards;
  cfg.node_ttl = v.node_ttl;
  cfg.punch_whitelist = split_list(v.punch_whitelist);
  cfg.require_punch_grant = v.punch_grants;
  cfg.punch_auth = v.punch_auth == "strict" ? PunchAuth::kStrict : PunchAuth::kOpen;
  cfg.verify_relay_sender = v.relay_sender_check;
  cfg.strict_gossip = v.strict_gossip;
  cfg.sync_ids_per_datagram = v.sync_chunk;
  cfg.gossip_secret = v.gossip_secret;
  if (std::string why = Engine::check(cfg); !why.empty()) return why;

  if (v.wss_idle_timeout <= 0) return flag("wss-idle-timeout") + " must be > 0";
  if (!v.wss_addr.empty()) {
    std::string wss_error;
    if (!parse_listen_addr(v.wss_addr, wss_error)) return flag("wss-addr") + ": " + wss_error;
  }
  if (v.wss_cert.empty() != v.wss_key.empty()) return flag("wss-cert") + " and " + flag("wss-key") + " go together";
  if (!v.wss_cert.empty() && v.wss_addr.empty()) return flag("wss-cert") + " needs " + flag("wss-addr");
  std::string listen_error;
  auto la = parse_listen_addr(v.addr, listen_error);
  if (!la) return flag("addr") + ": " + listen_error;

  out = BeaconSetup{};
  out.engine = std::move(cfg);
  out.server.addr = v.addr;
  out.server.sockets = v.sockets;
  out.server.gossip_interval = v.gossip_interval;
  out.server.reap_interval = v.reap_interval;
  out.server.stats_interval = v.stats_interval;
  out.advertise = v.advertise;
  out.wss.addr = v.wss_addr;
  out.wss.max_peers = v.wss_max_peers;
  out.wss.idle_timeout = v.wss_idle_timeout;
  out.wss.tls_cert = v.wss_cert;
  out.wss.tls_key = v.wss_key;
  out.rendezvous = v.rendezvous;
  out.repl_token = v.repl_token;
  out.health = v.health;
  out.drain_delay = v.drain_delay;
  if (standalone && !v.registry.empty()) {
    if (v.beacon_id == 0) {
      LOG_WARN("beacon: -registry needs -beacon-id != 0 (beacon id 0 does not register); no registry discovery");
    } else {
      out.discovery.registry = v.registry;
      out.discovery.admin_token = v.registry_admin_token;
      out.discovery.advertise = v.advertise;
      out.discovery.interval = v.registry_interval;
    }
  }
  for (const std::string& p : split_list(v.peers)) {
    auto ep = resolve_udp(p, la->family == AF_INET ? AF_INET : AF_UNSPEC);
    if (!ep) {
      LOG_WARN("beacon: peer \"%s\" does not resolve; skipped", p.c_str());
      continue;
    }
    out.peers.push_back(*ep);
  }
  return "";
}

}  // namespace pilot::beacon
