// Gossip between beacons without sockets (spec §5.9, §18.30–36): Sync receive and
// send, cross-beacon relay, and the §15 items closed here — the hop limit (a frame
// cannot bounce between two beacons with stale routes), strict gossip by default,
// the flood bounds, and Sync splitting past 16,375 ids.
#include <gtest/gtest.h>

#include <deque>
#include <map>

#include "net/beacon/beacon.h"
#include "test/beacon/engine_fixture.h"

namespace pilot::beacon {
namespace {

using testing::bytes;
using testing::EngineTest;
using testing::RecordingSink;

constexpr int64_t S = kSecond;
const Endpoint Peer = Endpoint::v4(192, 0, 2, 1, 9001);
const Endpoint Peer2 = Endpoint::v4(192, 0, 2, 2, 9001);
const Endpoint Node = Endpoint::v4(198, 51, 100, 7, 5000);

std::string sync_of(uint32_t beacon_id, std::vector<uint32_t> ids) { return encode_sync(beacon_id, ids); }

class GossipTest : public EngineTest {
 protected:
  void SetUp() override {
    Config cfg;
    cfg.strict_gossip = false;
    make(cfg);
  }
};

TEST_F(GossipTest, SyncInstallsRoutesAndTheNextOneReplacesThem) {
  feed(sync_of(7, {100, 101, 102}), Peer);  // §18.31
  EXPECT_EQ(engine().gossip().routes(), 3u);
  EXPECT_EQ(engine().gossip().route(101), Peer);
  advance(S);
  feed(sync_of(7, {103}), Peer);
  EXPECT_EQ(engine().gossip().routes(), 1u);
  EXPECT_FALSE(engine().gossip().route(101));
  EXPECT_EQ(counters().syncs_received, 2u);
}

TEST_F(GossipTest, AnotherBeaconsClaimOverwritesAndSurvivesTheFirstsReplacement) {
  feed(sync_of(1, {100, 101}), Peer);
  feed(sync_of(2, {101}), Peer2);
  EXPECT_EQ(engine().gossip().route(101), Peer2);
  advance(S);
  feed(sync_of(1, {}), Peer);  // Peer withdraws: only routes pointing at Peer go
  EXPECT_FALSE(engine().gossip().route(100));
  EXPECT_EQ(engine().gossip().route(101), Peer2);
}

TEST_F(GossipTest, MalformedSyncsAreIgnoredAndCountZeroIsValid) {
  feed(bytes({0x07, 0, 0, 0, 1, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2}), Peer);  // §18.32
  feed(bytes({0x07, 0, 0, 0, 1, 0xFF, 0xFF}), Peer);
  feed(bytes({0x07, 0, 0, 0, 1, 0}), Peer);
  EXPECT_EQ(engine().gossip().routes(), 0u);
  EXPECT_EQ(counters().drop(Drop::kShort), 3u);
  feed(sync_of(1, {}), Peer);
  EXPECT_EQ(counters().syncs_received, 1u);
}

TEST_F(GossipTest, LocallyRegisteredIdsGetNoRoute) {
  discover(100, Node);  // §18.33
  feed(sync_of(1, {100, 101}), Peer);
  EXPECT_FALSE(engine().gossip().route(100));
  EXPECT_EQ(engine().gossip().route(101), Peer);
}

TEST_F(GossipTest, SilentSourceLosesItsRoutesAfter90Seconds) {
  feed(sync_of(1, {100}), Peer);  // §18.35
  advance(50 * S);
  feed(sync_of(2, {200}), Peer2);
  advance(41 * S);  // Peer: 91 s silent; Peer2: 41 s
  EXPECT_EQ(engine().reap(now_).gossip_sources, 1u);
  EXPECT_FALSE(engine().gossip().route(100));
  EXPECT_EQ(engine().gossip().route(200), Peer2);
}

TEST_F(EngineTest, StrictGossipIsTheDefaultAndMatchesOnIpOnly) {
  // §18.34, with strict gossip on by default here (README: §15 gossip hijack).
  feed(sync_of(1, {100}), Peer);
  EXPECT_EQ(engine().gossip().routes(), 0u);
  EXPECT_EQ(counters().drop(Drop::kSyncNotPeer), 1u);
  engine().set_peers({Peer});
  Endpoint other_port = Peer;
  other_port.port = 40000;
  feed(sync_of(1, {100}), other_port);
  EXPECT_EQ(engine().gossip().route(100), other_port);
  feed(sync_of(1, {101}), Peer2);
  EXPECT_FALSE(engine().gossip().route(101));
}

TEST_F(EngineTest, GossipTickSendsEveryLocalIdToEveryPeer) {
  engine().set_peers({Peer, Peer2});  // §18.36
  for (uint32_t id : {5u, 3u, 9u}) discover(id, Endpoint::v4(198, 51, 100, static_cast<uint8_t>(id), 1));
  engine().gossip_tick(now_, sink_);
  auto out = sink_.take();
  ASSERT_EQ(out.size(), 2u);
  for (const auto& s : out) {
    EXPECT_EQ(s.kind, OutKind::kSync);
    EXPECT_EQ(s.gossip_socket, 0);
    EXPECT_EQ(s.bytes, sync_of(0, {3, 5, 9}));
  }
  EXPECT_EQ(out[0].to, Peer);
  EXPECT_EQ(out[1].to, Peer2);
  EXPECT_EQ(counters().syncs_sent, 2u);
}

TEST_F(EngineTest, NoPeersNoGossip) {
  discover(1, Node);
  engine().gossip_tick(now_, sink_);
  EXPECT_TRUE(sink_.take().empty());
}

TEST_F(GossipTest, SyncFloodIsBounded) {
  // One accepted Sync per source per second.
  feed(sync_of(1, {100}), Peer);
  feed(sync_of(1, {101}), Peer);
  EXPECT_EQ(engine().gossip().route(100), Peer);
  EXPECT_EQ(counters().drop(Drop::kSyncRateLimited), 1u);
  // Sources per IP and in all; routes in all.
  Config cfg;
  cfg.strict_gossip = false;
  cfg.gossip.max_sources_per_ip = 2;
  cfg.gossip.max_sources = 3;
  cfg.gossip.max_routes = 5;
  make(cfg);
  for (uint16_t port = 1; port <= 3; ++port) feed(sync_of(1, {port}), Endpoint::v4(192, 0, 2, 9, port));
  EXPECT_EQ(engine().gossip().sources(), 2u);
  feed(sync_of(1, {50, 51, 52, 53, 54, 55, 56}), Peer);
  EXPECT_EQ(engine().gossip().routes(), 5u);
  EXPECT_EQ(counters().sync_routes_refused, 4u);
  feed(sync_of(1, {60}), Peer2);
  EXPECT_EQ(counters().drop(Drop::kSyncTooManySources), 2u);
  // An empty Sync from a stranger allocates nothing.
  advance(100 * S);
  engine().reap(now_);
  feed(sync_of(1, {}), Peer2);
  EXPECT_EQ(engine().gossip().sources(), 0u);
}

// ---- two (or more) engines wired together ------------------------------------------

// Datagrams between engines and plain nodes, delivered from a queue (not recursively,
// so a forwarding loop shows up as a count, not a stack overflow).
class Mesh {
 public:
  struct Beacon {
    Endpoint addr;
    std::unique_ptr<Engine> engine;
  };
  Engine& add(const Endpoint& addr, Config cfg) {
    beacons_.push_back({addr, std::make_unique<Engine>(std::move(cfg))});
    return *beacons_.back().engine;
  }
  // A node (or anyone) sends `bytes` to a beacon.
  void send(const Endpoint& from, const Endpoint& to, std::string bytes) {
    queue_.push_back({from, to, std::move(bytes)});
    run();
  }
  void tick_gossip() {
    for (auto& b : beacons_) {
      SinkFor sink(*this, b.addr);
      b.engine->gossip_tick(now, sink);
    }
    run();
  }
  std::vector<std::string> take_inbox(const Endpoint& node) { return std::exchange(inbox_[node], {}); }
  size_t beacon_to_beacon = 0;
  Time now{1000 * S, 1'700'000'000};

 private:
  struct Pending {
    Endpoint from, to;
    std::string bytes;
  };
  class SinkFor : public Sink {
   public:
    SinkFor(Mesh& m, Endpoint self) : m_(m), self_(self) {}
    void send(const Datagram& d) override {
      Endpoint from = self_;
      from.port = static_cast<uint16_t>(from.port + d.gossip_socket);  // chunk sockets
      std::string b(d.head);
      b.append(d.body);
      m_.queue_.push_back({from, d.to, std::move(b)});
    }

   private:
    Mesh& m_;
    Endpoint self_;
  };
  Beacon* beacon_at(const Endpoint& ep) {
    for (auto& b : beacons_)
      if (b.addr == ep) return &b;
    return nullptr;
  }
  void run() {
    for (int guard = 0; !queue_.empty(); ++guard) {
      ASSERT_LT(guard, 10000) << "datagrams keep circulating";
      Pending p = std::move(queue_.front());
      queue_.pop_front();
      if (Beacon* b = beacon_at(p.to)) {
        for (auto& other : beacons_) beacon_to_beacon += other.addr.ip == p.from.ip;  // chunk sockets too
        SinkFor sink(*this, b->addr);
        b->engine->handle(p.bytes, Source{p.from}, now, sink);
      } else {
        inbox_[p.to].push_back(std::move(p.bytes));
      }
    }
  }
  std::vector<Beacon> beacons_;
  std::deque<Pending> queue_;
  std::map<Endpoint, std::vector<std::string>> inbox_;
};

const Endpoint B1 = Endpoint::v4(192, 0, 2, 1, 9000);
const Endpoint B2 = Endpoint::v4(192, 0, 2, 2, 9000);
const Endpoint N10 = Endpoint::v4(198, 51, 100, 10, 4010);
const Endpoint N20 = Endpoint::v4(198, 51, 100, 20, 4020);

TEST(BeaconMesh, RelayReachesANodeRegisteredAtThePeerBeacon) {
  Mesh m;  // §18.30
  Engine& b1 = m.add(B1, Config{.beacon_id = 1});
  Engine& b2 = m.add(B2, Config{.beacon_id = 2});
  b1.set_peers({B2});
  b2.set_peers({B1});
  m.send(N10, B1, encode(Discover{10, false, {}}));
  m.send(N20, B2, encode(Discover{20, false, {}}));
  m.take_inbox(N10);
  m.take_inbox(N20);
  m.tick_gossip();
  EXPECT_EQ(b1.gossip().route(20), B2);
  EXPECT_EQ(b2.gossip().route(10), B1);
  m.send(N10, B1, encode(Relay{10, 20, "hello from node 10"}));
  auto got = m.take_inbox(N20);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], encode(RelayDeliver{10, "hello from node 10"}));
  EXPECT_EQ(b1.counters().relay_forwarded, 1u);
  EXPECT_EQ(b2.counters().relay_forwarded, 1u);
  // And back. Each beacon accepts the other's forward although the sender id is not
  // registered there: the source is a peer beacon.
  m.send(N20, B2, encode(Relay{20, 10, "reply"}));
  EXPECT_EQ(m.take_inbox(N10), std::vector<std::string>{encode(RelayDeliver{20, "reply"})});
}

TEST(BeaconMesh, StaleRoutesPointingAtEachOtherCannotBounceAFrame) {
  // §15 "no hop limit": node 30 left both beacons, each still routes it to the other.
  Mesh m;
  Engine& b1 = m.add(B1, Config{.beacon_id = 1});
  Engine& b2 = m.add(B2, Config{.beacon_id = 2});
  b1.set_peers({B2});
  b2.set_peers({B1});
  m.send(B2, B1, encode_sync(2, std::vector<uint32_t>{30}));
  m.send(B1, B2, encode_sync(1, std::vector<uint32_t>{30}));
  ASSERT_EQ(b1.gossip().route(30), B2);
  ASSERT_EQ(b2.gossip().route(30), B1);
  m.beacon_to_beacon = 0;
  m.send(N10, B1, encode(Discover{10, false, {}}));
  m.send(N10, B1, encode(Relay{10, 30, "lost"}));
  EXPECT_EQ(m.beacon_to_beacon, 1u);  // B1 → B2, and there it ends
  EXPECT_EQ(b2.counters().drop(Drop::kRelayHopLimit), 1u);
  EXPECT_EQ(b2.counters().relay_forwarded, 0u);
}

TEST(BeaconMesh, LargeIdSetsAreSplitOverGossipSocketsAndAllRoutesArrive) {
  Mesh m;
  Config c1{.beacon_id = 1};
  c1.sync_ids_per_datagram = 3;
  Engine& b1 = m.add(B1, c1);
  Engine& b2 = m.add(B2, Config{.beacon_id = 2});
  b1.set_peers({B2});
  b2.set_peers({B1});
  for (uint32_t id = 1; id <= 7; ++id)
    m.send(Endpoint::v4(198, 51, 100, static_cast<uint8_t>(id), 1), B1, encode(Discover{id, false, {}}));
  m.tick_gossip();
  EXPECT_EQ(b1.counters().syncs_sent, 3u);  // chunks {1,2,3} {4,5,6} {7}
  EXPECT_EQ(b2.gossip().routes(), 7u);
  EXPECT_EQ(b2.gossip().sources(), 3u);
  EXPECT_EQ(b2.gossip().route(7), (Endpoint{B1.ip, static_cast<uint16_t>(B1.port + 2)}));
  // A relay to an id of chunk 2 comes back to that chunk's socket: B1 must treat it
  // like any relay (here: the UDP server reads chunk sockets too).
  // When the set shrinks, retired chunks send empty Syncs and their routes go at once.
  m.now.mono_ns += 10 * S;
  b1.reap({m.now.mono_ns + 601 * S, 0});                                         // everything at B1 expires…
  m.send(Endpoint::v4(198, 51, 100, 1, 1), B1, encode(Discover{1, false, {}}));  // …but node 1 comes back
  m.now.mono_ns += 10 * S;
  m.tick_gossip();
  EXPECT_EQ(b1.counters().syncs_sent, 6u);
  EXPECT_EQ(b2.gossip().routes(), 1u);
  EXPECT_EQ(b2.gossip().route(1), B1);
}

}  // namespace
}  // namespace pilot::beacon
