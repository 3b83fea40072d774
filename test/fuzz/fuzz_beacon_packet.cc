// Fuzz target for the beacon engine (net/beacon/beacon.h): arbitrary datagrams from a
// handful of sources, interleaved with clock steps, reaping, gossip rounds and
// notifies, against an engine whose configuration the first byte picks.
//
// Input: [config byte] then records [op][len][len bytes]:
//   op & 7 in 0..5  a datagram from source (op & 7); op & 0x80: len is 2 bytes (BE)
//   op & 7 == 6     advance the clock by len × 250 ms, then reap
//   op & 7 == 7     a gossip round, and notify(len)
// Sources: 0–2 nodes (IPv4, IPv6, IPv4 on another port of source 0's IP), 3 a peer
// beacon, 4 another port of the peer's IP, 5 a stranger. Config bits 4–5 both set
// (the largest tiny shards) also turn on gossip authentication with kFuzzSecret, so
// Syncs must carry a valid trailer (messages.h); the corpus has such Syncs.
// The whole input is also read as a registry beacon_list answer (registry_list.h).
//
// Invariants: no crash and no exception escapes (the recovered counter stays 0);
// every datagram out goes to an address that sent us a Discover, PunchRequest or
// Sync, or to a configured peer — the beacon is no reflector toward third parties;
// every datagram out parses as the beacon message its kind says, fits one UDP
// datagram to its destination, and a DiscoverReply names its destination.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "net/beacon/beacon.h"
#include "net/beacon/registry_list.h"

using namespace pilot::beacon;

namespace {

const char kFuzzSecret[] = "fuzz-gossip-secret-16+";

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_beacon_packet: invariant failed: %s\n", what);
    std::abort();
  }
}

Endpoint source_at(int i) {
  IpBytes v6{};
  v6[0] = 0x20;
  v6[1] = 0x01;
  v6[2] = 0x0d;
  v6[3] = 0xb8;
  v6[15] = 2;
  switch (i) {
    case 0: return Endpoint::v4(198, 51, 100, 1, 4000);
    case 1: return Endpoint::v6(v6, 4001);
    case 2: return Endpoint::v4(198, 51, 100, 1, 4002);
    case 3: return Endpoint::v4(192, 0, 2, 1, 9001);
    case 4: return Endpoint::v4(192, 0, 2, 1, 9002);
    default: return Endpoint::v4(203, 0, 113, 9, 5000);
  }
}

class CheckingSink : public Sink {
 public:
  CheckingSink(const std::set<Endpoint>& allowed, std::string secret) : allowed_(allowed), secret_(std::move(secret)) {}
  void send(const Datagram& d) override {
    check(allowed_.count(d.to) == 1, "datagram to an address that never contacted the beacon");
    check(d.size() <= max_udp_payload(d.to), "datagram larger than one UDP datagram");
    std::string b(d.head);
    b.append(d.body);
    switch (d.kind) {
      case OutKind::kDiscoverReply:
        check(decode_discover_reply(b) == d.to, "discover reply names another address");
        break;
      case OutKind::kPunchCommand: check(decode_punch_command(b).has_value(), "bad punch command"); break;
      case OutKind::kRelayDeliver:
        check(decode_relay_deliver(b).has_value() || decode_relay_deliver_dest(b).has_value(), "bad relay deliver");
        break;
      case OutKind::kRelayForward: check(decode_relay(b).has_value(), "bad relay forward"); break;
      case OutKind::kSync:
        check(decode_sync(b).has_value(), "bad sync");
        if (!secret_.empty()) check(verify_sync_auth(secret_, b).has_value(), "sync without a valid trailer");
        break;
      case OutKind::kNotify: check(decode_notify(b) == kNotifyHandshakeWaiting, "bad notify"); break;
    }
  }

 private:
  const std::set<Endpoint>& allowed_;
  const std::string secret_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (auto listed = parse_beacon_list(std::string_view(reinterpret_cast<const char*>(data), size), 7))
    for (const ListedBeacon& b : *listed) check(b.id != 7 && !b.addr.empty(), "beacon_list entry kept wrongly");
  const uint8_t cfg_byte = data[0];
  Config cfg;
  cfg.strict_gossip = cfg_byte & 1;
  cfg.verify_relay_sender = cfg_byte & 2;
  cfg.require_punch_grant = cfg_byte & 4;
  if (cfg_byte & 8) cfg.punch_whitelist = {"*"};
  cfg.shard_capacity = 1 + ((cfg_byte >> 4) & 3);   // tiny shards: the full-table paths run
  cfg.sync_ids_per_datagram = 1 + (cfg_byte >> 6);  // tiny chunks: the splitting paths run
  if (((cfg_byte >> 4) & 3) == 3) cfg.gossip_secret = kFuzzSecret;
  cfg.relays_per_source = 50;
  cfg.gossip.max_sources = 3;
  cfg.gossip.max_routes = 20;
  Engine engine(cfg);
  engine.set_peers({source_at(3)});

  std::set<Endpoint> allowed = {source_at(3)};
  CheckingSink sink(allowed, cfg.gossip_secret);
  Time now{1'000'000'000'000, 1'700'000'000};
  size_t i = 1;
  while (i + 2 <= size) {
    const uint8_t op = data[i];
    size_t len = data[i + 1];
    i += 2;
    if ((op & 0x80) && i < size) len = (len << 8) | data[i++];
    len = std::min(len, size - i);
    const int kind = op & 7;
    if (kind <= 5) {
      std::string_view d(reinterpret_cast<const char*>(data) + i, len);
      Endpoint from = source_at(kind);
      // Anything that can register or claim an address makes it a legitimate target.
      if (!d.empty() && (d[0] == 0x01 || d[0] == 0x03 || d[0] == 0x07 || d[0] == 0x08)) allowed.insert(from);
      engine.handle(d, Source{from, static_cast<Via>(kind)}, now, sink);
      i += len;
    } else if (kind == 6) {
      now.mono_ns += static_cast<int64_t>(len) * 250'000'000;
      now.unix_s += static_cast<int64_t>(len) / 4;
      engine.reap(now);
    } else {
      engine.gossip_tick(now, sink);
      engine.notify(static_cast<uint32_t>(len), now, sink);
    }
  }
  Counters c = engine.counters();
  check(c.recovered == 0, "an exception escaped a handler");
  check(engine.nodes().size() <= cfg.shard_capacity * kNodeShards, "node table over capacity");
  check(engine.gossip().routes() <= cfg.gossip.max_routes, "route table over its cap");
  return 0;
}
