// The beacon's command-line flags, defined once for both binaries that run it: the
// standalone `beacon` (spec/beacon.md §13.1: -addr, -beacon-id, -peers, …) and the
// beacon embedded in `rendezvous` (spec/rendezvous.md §17.1: -beacon-addr).
//
// The embedded beacon is the reference's beacon id 0: no gossip, no peers. So the mesh
// flags (-beacon-id, -peers, -advertise-addr, -gossip-interval, -sync-chunk,
// -strict-gossip) are the standalone's only. Tuning flags whose plain names would be
// ambiguous among the registry's own (-reap-interval, -sockets, -max-nodes, …) are
// prefixed "beacon-" in rendezvous; the punch and relay flags already say what they
// are about and keep their names, so `--punch-auth=strict` reads the same in both.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/flags.h"
#include "net/beacon/beacon.h"
#include "net/beacon/registry_discovery.h"
#include "net/beacon/udp_server.h"
#include "net/beacon/wss_server.h"

namespace pilot::beacon {

// The flag values as given (defaults = the reference's).
struct BeaconFlags {
  std::string addr = ":9001";
  uint64_t beacon_id = 0;
  std::string peers;      // comma-separated host:port
  std::string advertise;  // the addr sent in beacon_register (registry_discovery.h)
  uint64_t sockets = 0;
  uint64_t max_nodes = kMaxNodes;
  int64_t node_ttl = kNodeTtl;
  int64_t reap_interval = kReapInterval;
  int64_t gossip_interval = kGossipInterval;
  int64_t stats_interval = 60 * kSecond;
  uint64_t sync_chunk = kSyncIdsPerDatagram;
  bool strict_gossip = true;
  bool relay_sender_check = true;
  std::string punch_whitelist;  // comma-separated IPs, or *
  bool punch_grants = false;
  std::string punch_auth = "open";
  std::string rendezvous;  // standalone: host:port of a rendezvous leader's --repl-addr
  std::string repl_token;  // its --repl-token (PILOT_REPL_TOKEN)
  // Standalone operator surface: /healthz, registry peer discovery, gossip auth.
  std::string health;       // HTTP address of /healthz; "" = off
  int64_t drain_delay = 0;  // after SIGTERM: keep serving, /healthz 503, this long
  std::string registry;     // host:port of the registry port: peers from beacon_list
  std::string registry_admin_token;
  int64_t registry_interval = 30 * kSecond;
  std::string gossip_secret;  // PILOT_GOSSIP_SECRET

  // The WebSocket bridge (wss_server.h); wss_addr "" = off.
  std::string wss_addr;
  uint64_t wss_max_peers = 0;
  int64_t wss_idle_timeout = 90 * kSecond;
  std::string wss_cert, wss_key;  // PEM files: TLS on the WebSocket listener itself
};

enum class BeaconRole : uint8_t {
  kStandalone,  // cmd/beacon
  kEmbedded,    // inside rendezvous, its policy fed by the event log
};

void add_beacon_flags(Flags& flags, BeaconFlags& values, BeaconRole role);

// What the flags configure, checked and resolved.
struct BeaconSetup {
  Config engine;
  UdpServerOptions server;
  WssOptions wss;               // wss.addr "" = off
  std::vector<Endpoint> peers;  // resolved; unresolvable ones are skipped with a warning
  std::string advertise;
  // Standalone with --rendezvous: the policy comes from the leader's replication
  // stream (replicated_policy.h). Empty: no policy.
  std::string rendezvous;
  std::string repl_token;
  std::string health;  // "" = no /healthz
  int64_t drain_delay = 0;
  // Registry peer discovery: registry "" = off (also with beacon id 0). listen_text
  // and peer_family are the UDP server's, filled in by the binary after it binds.
  DiscoveryOptions discovery;
};

// "" with `out` filled, or the message for "<program>: <message>" (exit 2). Flag names
// in messages are the role's.
std::string make_beacon_setup(const BeaconFlags& values, BeaconRole role, BeaconSetup& out);

}  // namespace pilot::beacon
