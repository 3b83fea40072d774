// beacon: the standalone Pilot beacon (spec/beacon.md §13.1) — UDP discovery, hole
// punching, relay and gossip between beacons, no registry port. The same engine runs
// embedded in `rendezvous`; this binary is the multi-beacon-mesh deployment.
//
// Runs until SIGTERM/SIGINT, then stops the sockets and threads (every thread flushes
// what it holds), logs the final counters and exits 0.
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/duration.h"
#include "core/flags.h"
#include "core/logging.h"
#include "net/beacon/beacon.h"
#include "net/beacon/udp_server.h"

namespace {

using namespace pilot;
using namespace pilot::beacon;

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

}  // namespace

int main(int argc, char** argv) {
  std::string addr = ":9001", peers_text, advertise, log_level = "info", whitelist, punch_auth = "open";
  uint64_t beacon_id = 0, sockets = 0, max_nodes = kMaxNodes, sync_chunk = kSyncIdsPerDatagram;
  int64_t node_ttl = kNodeTtl, reap_interval = kReapInterval, gossip_interval = kGossipInterval,
          stats_interval = 60 * kSecond;
  bool strict_gossip = true, sender_check = true, punch_grants = false;

  Flags flags("beacon",
              "Pilot beacon: UDP discovery (STUN + registration), hole-punch coordination, relay, and gossip\n"
              "with peer beacons. Wire-compatible with the Go daemons and beacons.");
  flags.add_string(&addr, "addr", nullptr, "UDP listen address (\":port\" = every address, IPv4 and IPv6)");
  flags.add_uint(&beacon_id, "beacon-id", nullptr, "this beacon's id in Sync messages (0 = standalone)");
  flags.add_string(&peers_text, "peers", nullptr, "comma-separated peer beacons host:port (unresolvable ones skipped)");
  flags.add_string(&advertise, "advertise-addr", nullptr,
                   "public address for registry discovery (accepted; registry discovery is not built yet)");
  flags.add_string(&log_level, "log-level", nullptr, "debug, info, warn or error");
  flags.add_uint(&sockets, "sockets", nullptr, "UDP sockets sharing the port (0 = one per core)");
  flags.add_uint(&max_nodes, "max-nodes", nullptr, "node table capacity (enforced per shard: max-nodes / 64)");
  flags.add_duration(&node_ttl, "node-ttl", nullptr, "nodes silent this long are removed");
  flags.add_duration(&reap_interval, "reap-interval", nullptr, "how often expired nodes and routes are removed");
  flags.add_duration(&gossip_interval, "gossip-interval", nullptr, "how often our node ids are sent to peers");
  flags.add_duration(&stats_interval, "stats-interval", nullptr, "how often counters are logged (0 = never)");
  flags.add_uint(&sync_chunk, "sync-chunk", nullptr, "node ids per Sync datagram (more leave from extra sockets)");
  flags.add_bool(&strict_gossip, "strict-gossip", nullptr,
                 "accept Syncs only from the IPs of -peers (false: from anyone, as the Go beacon)");
  flags.add_bool(&sender_check, "relay-sender-check", nullptr,
                 "relay only if the sender id is registered at the packet's source (false: as the Go beacon)");
  flags.add_string(&whitelist, "punch-whitelist", nullptr, "comma-separated IPs exempt from punch rate limits, or *");
  flags.add_bool(&punch_grants, "punch-grants", nullptr,
                 "require a grant signed by the target's key on every PunchRequest");
  flags.add_string(&punch_auth, "punch-auth", nullptr,
                   "open, or strict (needs the event-log policy: the standalone beacon then refuses all punches)");
  switch (flags.parse(argc, argv)) {
    case Flags::Result::kHelp: std::fputs(flags.usage().c_str(), stdout); return 0;
    case Flags::Result::kError: std::fprintf(stderr, "beacon: %s\n", flags.error().c_str()); return 2;
    case Flags::Result::kOk: break;
  }
  auto fail = [](const std::string& why) {
    std::fprintf(stderr, "beacon: %s\n", why.c_str());
    return 2;
  };
  if (!flags.positional().empty()) return fail("unexpected argument \"" + flags.positional()[0] + "\" (see --help)");
  if (!set_log_level(log_level.c_str())) return fail("unknown -log-level \"" + log_level + "\"");
  if (beacon_id > UINT32_MAX) return fail("-beacon-id must fit 32 bits");
  if (max_nodes < kNodeShards) return fail("-max-nodes must be at least 64");
  if (punch_auth != "open" && punch_auth != "strict") return fail("-punch-auth must be open or strict");
  if (reap_interval <= 0 || gossip_interval <= 0) return fail("-reap-interval and -gossip-interval must be > 0");

  Config cfg;
  cfg.beacon_id = static_cast<uint32_t>(beacon_id);
  cfg.shard_capacity = max_nodes / kNodeShards;
  cfg.node_ttl = node_ttl;
  cfg.punch_whitelist = split_list(whitelist);
  cfg.require_punch_grant = punch_grants;
  cfg.punch_auth = punch_auth == "strict" ? PunchAuth::kStrict : PunchAuth::kOpen;
  cfg.verify_relay_sender = sender_check;
  cfg.strict_gossip = strict_gossip;
  cfg.sync_ids_per_datagram = sync_chunk;
  if (std::string why = Engine::check(cfg); !why.empty()) return fail(why);

  UdpServerOptions opt;
  opt.addr = addr;
  opt.sockets = sockets;
  opt.gossip_interval = gossip_interval;
  opt.reap_interval = reap_interval;
  opt.stats_interval = stats_interval;
  std::string listen_error;
  auto la = parse_listen_addr(addr, listen_error);
  if (!la) return fail(listen_error);

  std::vector<Endpoint> peers;
  for (const std::string& p : split_list(peers_text)) {
    auto ep = resolve_udp(p, la->family == AF_INET ? AF_INET : AF_UNSPEC);
    if (!ep) {
      LOG_WARN("beacon: peer \"%s\" does not resolve; skipped", p.c_str());
      continue;
    }
    peers.push_back(*ep);
  }

  // Block the signals before any thread exists so only sigwait below sees them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  Engine engine(cfg);
  engine.set_peers(peers);
  UdpServer server(engine, opt);
  if (std::string why = server.start(); !why.empty()) {
    LOG_ERROR("beacon: %s", why.c_str());
    return 1;
  }
  LOG_INFO("beacon: listening on %s (%zu sockets%s, beacon id %u, %zu peers)", server.listen_text().c_str(),
           server.socket_count(), server.reuseport() ? ", SO_REUSEPORT" : "", cfg.beacon_id, peers.size());
  for (const Endpoint& p : peers) LOG_INFO("beacon: peer %s", p.to_string().c_str());
  if (!advertise.empty()) LOG_INFO("beacon: advertise address %s", advertise.c_str());
  if (cfg.punch_auth == PunchAuth::kStrict)
    LOG_WARN("beacon: -punch-auth=strict without the event log: every punch is refused");

  int sig = 0;
  sigwait(&sigs, &sig);
  LOG_INFO("beacon: %s, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  server.stop();
  LOG_INFO("%s", server.stats_line().c_str());
  LOG_INFO("beacon: stopped");
  return 0;
}
