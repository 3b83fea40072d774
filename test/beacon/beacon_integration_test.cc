// The real `beacon` binary on loopback, driven by plain UDP sockets: discover replies
// for IPv4 and IPv6, replies from the address a node talks to, punch commands, 1000
// relayed packets in order and byte-exact, relay across two beacons via gossip (also
// through the extra gossip sockets of a split Sync), reaping, bad input, SIGTERM,
// and 500,000 nodes within 256 MiB.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "net/beacon/messages.h"
#include "test/beacon/beacon_process.h"

namespace pilot::beacon {
namespace {

using namespace std::chrono_literals;
using testing::BeaconProcess;
using testing::send_until_received;
using testing::UdpClient;

bool ipv6_loopback_works() {
  UdpClient c("::1");
  return c.ok();
}

// Registers `id` from `c` at `beacon` and returns the reply.
std::optional<UdpClient::Received> register_node(UdpClient& c, const Endpoint& beacon, uint32_t id, bool ex = false) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    c.send_to(beacon, encode(Discover{id, ex, {}}));
    if (auto r = c.recv(1s)) return r;
  }
  return std::nullopt;
}

TEST(BeaconBinary, HelpAndBadFlags) {
  testsupport::Process help(BEACON_BIN, {"--help"});
  EXPECT_EQ(help.wait_exit(10s), 0);
  EXPECT_NE(help.output().find("Usage: beacon"), std::string::npos);
  EXPECT_NE(help.output().find("--peers"), std::string::npos);
  testsupport::Process bad(BEACON_BIN, {"-no-such-flag"});
  int st = bad.wait_exit(10s);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) << bad.output();
  testsupport::Process bad_addr(BEACON_BIN, {"-addr", "nonsense"});
  st = bad_addr.wait_exit(10s);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) << bad_addr.output();
  for (const char* interval : {"0s", "25h"}) {
    testsupport::Process bad_interval(
        BEACON_BIN, {"-beacon-id", "3", "-registry", "127.0.0.1:9000", "-registry-interval", interval});
    st = bad_interval.wait_exit(10s);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) << interval << ": " << bad_interval.output();
    EXPECT_NE(bad_interval.output().find("-registry-interval must be > 0 and at most 24h"), std::string::npos)
        << bad_interval.output();
  }
}

TEST(BeaconBinary, DiscoverReplyIpv4) {
  BeaconProcess b({"-addr", "127.0.0.1:0"});
  ASSERT_TRUE(b.started()) << b.output();
  UdpClient c;
  auto r = register_node(c, b.at(), 42);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->from, b.at());
  const Endpoint& me = c.local();
  std::string expect = {0x02, 4, 127, 0, 0, 1, static_cast<char>(me.port >> 8), static_cast<char>(me.port & 0xff)};
  EXPECT_EQ(r->bytes, expect);
  // Trailing bytes are ignored; id 0 (STUN probe) is answered.
  c.send_to(b.at(), std::string("\x01\0\0\0\0", 5) + std::string(15, 'x'));
  auto r0 = c.recv();
  ASSERT_TRUE(r0);
  EXPECT_EQ(r0->bytes, expect);
  EXPECT_EQ(b.stop(), 0);
}

TEST(BeaconBinary, DiscoverReplyIpv6) {
  if (!ipv6_loopback_works()) GTEST_SKIP() << "no IPv6 loopback";
  BeaconProcess b({"-addr", "[::1]:0"});
  ASSERT_TRUE(b.started()) << b.output();
  UdpClient c("::1");
  auto r = register_node(c, b.at(), 42);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->bytes.size(), kAddrMsgMinV6);
  EXPECT_EQ(r->bytes[1], 16);
  EXPECT_EQ(decode_discover_reply(r->bytes), c.local());
  EXPECT_EQ(r->from, b.at());
}

TEST(BeaconBinary, DualStackRepliesInTheSourcesFamily) {
  if (!ipv6_loopback_works()) GTEST_SKIP() << "no IPv6 loopback";
  BeaconProcess b({"-addr", ":0"});
  ASSERT_TRUE(b.started()) << b.output();
  EXPECT_EQ(b.listen_text().substr(0, 5), "[::]:");
  UdpClient v4, v6("::1");
  auto r4 = register_node(v4, b.at("127.0.0.1"), 1);
  auto r6 = register_node(v6, b.at("::1"), 2);
  ASSERT_TRUE(r4 && r6);
  EXPECT_EQ(r4->bytes.size(), kAddrMsgMinV4);  // IPv4-mapped source → 4-byte form
  EXPECT_EQ(decode_discover_reply(r4->bytes), v4.local());
  EXPECT_EQ(r4->from, b.at("127.0.0.1"));
  EXPECT_EQ(r6->bytes.size(), kAddrMsgMinV6);
  EXPECT_EQ(decode_discover_reply(r6->bytes), v6.local());
  EXPECT_EQ(r6->from, b.at("::1"));
  // An IPv6 node and an IPv4 node relay to each other through the same beacon.
  v6.send_to(b.at("::1"), encode(Relay{2, 1, "six to four"}));
  auto got = v4.recv();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes, encode(RelayDeliver{2, "six to four"}));
  EXPECT_EQ(got->from, b.at("127.0.0.1"));
}

// §18.52: every packet to a node leaves from the address the node sent to, also when
// another node's packet (arriving on another address) triggers it.
void replies_from_the_address_the_node_talks_to(const std::string& listen) {
  BeaconProcess b({"-addr", listen, "-punch-whitelist", "*"});
  ASSERT_TRUE(b.started()) << b.output();
  UdpClient a, c;
  const Endpoint via2 = b.at("127.0.0.2"), via1 = b.at("127.0.0.1");
  auto ra = register_node(a, via2, 10);
  auto rc = register_node(c, via1, 20);
  ASSERT_TRUE(ra && rc) << b.output();
  EXPECT_EQ(ra->from, via2);
  EXPECT_EQ(rc->from, via1);
  c.send_to(via1, encode(Relay{20, 10, "PILS ciphertext"}));
  auto got = a.recv();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->from, via2);
  EXPECT_EQ(got->bytes, encode(RelayDeliver{20, "PILS ciphertext"}));
  c.send_to(via1, encode(PunchRequest{20, 10, {}}));
  auto pa = a.recv(), pc = c.recv();
  ASSERT_TRUE(pa && pc);
  EXPECT_EQ(pa->from, via2);
  EXPECT_EQ(pc->from, via1);
}

TEST(BeaconBinary, RepliesLeaveFromTheAddressTheNodeTalksToDualStack) {
  if (!ipv6_loopback_works()) GTEST_SKIP() << "no IPv6";
  replies_from_the_address_the_node_talks_to(":0");
}

TEST(BeaconBinary, RepliesLeaveFromTheAddressTheNodeTalksToIpv4) {
  replies_from_the_address_the_node_talks_to("0.0.0.0:0");
}

TEST(BeaconBinary, PunchCommandsReachBothNodes) {
  BeaconProcess b({"-addr", "127.0.0.1:0"});
  ASSERT_TRUE(b.started()) << b.output();
  UdpClient a, c;
  ASSERT_TRUE(register_node(a, b.at(), 1));
  ASSERT_TRUE(register_node(c, b.at(), 2));
  a.send_to(b.at(), encode(PunchRequest{1, 2, {}}));
  auto pa = a.recv(), pc = c.recv();
  ASSERT_TRUE(pa && pc);
  EXPECT_EQ(pa->bytes, encode_punch_command(c.local()));
  EXPECT_EQ(pc->bytes, encode_punch_command(a.local()));
  EXPECT_EQ(pa->from, b.at());
  EXPECT_EQ(pc->from, b.at());
}

TEST(BeaconBinary, ThousandRelayedPacketsArriveInOrderAndByteExact) {
  BeaconProcess b({"-addr", "127.0.0.1:0"});
  ASSERT_TRUE(b.started()) << b.output();
  UdpClient s, d;
  ASSERT_TRUE(register_node(s, b.at(), 100));
  ASSERT_TRUE(register_node(d, b.at(), 200, /*ex=*/false));
  std::mt19937 rng(1);
  std::vector<std::string> payloads;
  for (uint32_t seq = 0; seq < 1000; ++seq) {
    std::string p = "PILS";
    for (int k = 3; k >= 0; --k) p.push_back(static_cast<char>(seq >> (8 * k)));
    size_t extra = rng() % 1400;
    for (size_t k = 0; k < extra; ++k) p.push_back(static_cast<char>(rng()));
    payloads.push_back(std::move(p));
  }
  // Bursts of 50, each drained before the next, so no socket buffer decides the result.
  std::vector<std::string> got;
  for (size_t from = 0; from < payloads.size(); from += 50) {
    for (size_t i = from; i < from + 50; ++i) s.send_to(b.at(), encode(Relay{100, 200, payloads[i]}));
    while (got.size() < from + 50) {
      auto r = d.recv(3s);
      if (!r) break;
      EXPECT_EQ(r->from, b.at());
      got.push_back(std::move(r->bytes));
    }
  }
  ASSERT_EQ(got.size(), payloads.size());
  for (size_t i = 0; i < payloads.size(); ++i)
    ASSERT_EQ(got[i], encode(RelayDeliver{100, payloads[i]})) << "packet " << i;
  auto st = b.wait_stats([](auto& s) { return s["relay_forwarded"] >= 1000; }, 3s);
  (void)st;
}

TEST(BeaconBinary, RelayToANodeAtThePeerBeaconViaGossip) {
  const uint16_t p1 = testing::free_udp_port(), p2 = testing::free_udp_port();
  const std::string a1 = "127.0.0.1:" + std::to_string(p1), a2 = "127.0.0.1:" + std::to_string(p2);
  BeaconProcess b1({"-addr", a1, "-beacon-id", "1", "-peers", a2, "-gossip-interval", "200ms"});
  BeaconProcess b2({"-addr", a2, "-beacon-id", "2", "-peers", a1, "-gossip-interval", "200ms"});
  ASSERT_TRUE(b1.started() && b2.started()) << b1.output() << b2.output();
  UdpClient n10, n20;
  ASSERT_TRUE(register_node(n10, b1.at(), 10));
  ASSERT_TRUE(register_node(n20, b2.at(), 20));
  auto got = send_until_received(n10, b1.at(), encode(Relay{10, 20, "hello from node 10"}), n20);
  ASSERT_TRUE(got) << b1.output() << b2.output();
  EXPECT_EQ(got->bytes, encode(RelayDeliver{10, "hello from node 10"}));
  EXPECT_EQ(got->from, b2.at());  // from the node's own beacon
  // And back the other way (B2 may learn node 10 later than B1 learned node 20).
  auto back = send_until_received(n20, b2.at(), encode(Relay{20, 10, "and back"}), n10);
  ASSERT_TRUE(back) << b1.output() << b2.output();
  EXPECT_EQ(back->bytes, encode(RelayDeliver{20, "and back"}));
  EXPECT_EQ(back->from, b1.at());
}

TEST(BeaconBinary, SplitSyncRoutesComeBackThroughTheGossipSockets) {
  // B2 sends 2 ids per Sync: its 5 nodes travel in 3 datagrams from 3 sockets; B1
  // routes node 24 to B2's third socket, and B2 must read that socket too.
  const uint16_t p1 = testing::free_udp_port(), p2 = testing::free_udp_port();
  const std::string a1 = "127.0.0.1:" + std::to_string(p1), a2 = "127.0.0.1:" + std::to_string(p2);
  BeaconProcess b1(
      {"-addr", a1, "-beacon-id", "1", "-peers", a2, "-gossip-interval", "200ms", "-stats-interval", "100ms"});
  BeaconProcess b2({"-addr", a2, "-beacon-id", "2", "-peers", a1, "-gossip-interval", "200ms", "-sync-chunk", "2"});
  ASSERT_TRUE(b1.started() && b2.started());
  std::vector<std::unique_ptr<UdpClient>> nodes;
  for (uint32_t id = 20; id <= 24; ++id) {
    nodes.push_back(std::make_unique<UdpClient>());
    ASSERT_TRUE(register_node(*nodes.back(), b2.at(), id));
  }
  auto st = b1.wait_stats([](auto& s) { return s["routes"] == 5; });
  EXPECT_EQ(st["routes"], 5u) << b1.output();
  UdpClient n10;
  ASSERT_TRUE(register_node(n10, b1.at(), 10));
  n10.send_to(b1.at(), encode(Relay{10, 24, "via chunk 3"}));
  auto got = nodes.back()->recv(3s);
  ASSERT_TRUE(got) << b2.output();
  EXPECT_EQ(got->bytes, encode(RelayDeliver{10, "via chunk 3"}));
  EXPECT_EQ(got->from, b2.at());
  EXPECT_TRUE(b2.wait_for_output("gossip socket 2", 5s)) << b2.output();
}

TEST(BeaconBinary, ExpiredNodesAreReaped) {
  BeaconProcess b({"-addr", "127.0.0.1:0", "-node-ttl", "1s", "-reap-interval", "100ms", "-stats-interval", "100ms"});
  ASSERT_TRUE(b.started());
  UdpClient s, d;
  ASSERT_TRUE(register_node(s, b.at(), 1));
  ASSERT_TRUE(register_node(d, b.at(), 2));
  s.send_to(b.at(), encode(Relay{1, 2, "before"}));
  ASSERT_TRUE(d.recv());
  auto st = b.wait_stats([](auto& s) { return s["nodes"] == 0; }, 5s);
  EXPECT_EQ(st["nodes"], 0u) << b.output();
  s.send_to(b.at(), encode(Relay{1, 2, "after"}));
  EXPECT_FALSE(d.recv(500ms));
  st = b.wait_stats([](auto& s) { return s["relay_not_found"] >= 1; });
  EXPECT_EQ(st["relay_not_found"], 1u);
}

TEST(BeaconBinary, BadInputIsDroppedCountedAndHarmless) {
  const bool six = ipv6_loopback_works();
  BeaconProcess b({"-addr", six ? ":0" : "127.0.0.1:0", "-stats-interval", "100ms"});
  ASSERT_TRUE(b.started());
  UdpClient d, bad;
  ASSERT_TRUE(register_node(d, b.at(), 2));
  auto send = [&](std::string bytes) { bad.send_to(b.at(), bytes); };
  send("");  // empty datagram
  for (int t : {0x00, 0x01, 0x03, 0x05, 0x07, 0x08, 0xFF}) send(std::string(1, static_cast<char>(t)));
  send(std::string("\x01\0\0", 3));                         // Discover, 2 id bytes
  send(std::string("\x03\0\0\0\x01", 5));                   // PunchRequest, 4 id bytes
  send(std::string("\x05\0\0\0\x01\0\0\0", 8));             // Relay, 7 body bytes
  send(std::string("\x07\0\0\0\x01\0", 6));                 // Sync, no count
  for (int t : {0x02, 0x04, 0x06, 0x09, 0x0A, 0x50, 0xFF})  // not for the beacon
    send(std::string(1, static_cast<char>(t)) + std::string("\0\0\0\x01\0\0\0\x02xyz", 11));
  send(encode(Relay{1, 2, "spoofed sender"}));     // sender 1 not registered here
  send(encode_sync(9, std::vector<uint32_t>{2}));  // not a peer (strict gossip)
  int expect_oversized = 0;
  if (six) {
    // 65,527 bytes from an IPv6 node: as 0x06 to an IPv4 node it cannot fit a datagram.
    UdpClient v6("::1");
    ASSERT_TRUE(register_node(v6, b.at("::1"), 6));
    v6.send_to(b.at("::1"), encode(Relay{6, 2, std::string(kMaxUdpPayloadV6 - kRelayMin, 'o')}));
    expect_oversized = 1;
  }
  // Alive, and nothing reached the registered node.
  UdpClient probe;
  ASSERT_TRUE(register_node(probe, b.at(), 3));
  EXPECT_FALSE(d.recv(300ms));
  auto st = b.wait_stats([&](auto& s) {
    return s["drop_unknown_type"] == 9 && s["drop_oversized"] == static_cast<uint64_t>(expect_oversized);
  });
  EXPECT_EQ(st["drop_empty"], 1u) << b.output();
  EXPECT_EQ(st["drop_short"], 5u + 4u);
  EXPECT_EQ(st["drop_unknown_type"], 2u + 7u);
  EXPECT_EQ(st["drop_relay_spoofed_sender"], 1u);
  EXPECT_EQ(st["drop_sync_not_peer"], 1u);
  EXPECT_EQ(st["drop_oversized"], static_cast<uint64_t>(expect_oversized));
  EXPECT_EQ(st["relay_forwarded"], 0u);
  int status = b.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(BeaconBinary, SigtermStopsGracefully) {
  BeaconProcess b({"-addr", "127.0.0.1:0"});
  ASSERT_TRUE(b.started());
  int status = b.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_NE(b.output().find("beacon: stopped"), std::string::npos);
}

TEST(BeaconBinary, FiveHundredThousandNodesFitIn256MiB) {
  BeaconProcess b({"-addr", "127.0.0.1:0", "-stats-interval", "200ms"});
  ASSERT_TRUE(b.started());
  const long rss_idle = b.rss_kib();
  const uint64_t full = kShardCapacity * kNodeShards;  // 499,968: ids 0..499,999 overfill 32 shards by one
  std::vector<std::unique_ptr<UdpClient>> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(std::make_unique<UdpClient>("127.0.0.1", 1 << 16));
  std::map<std::string, uint64_t> st;
  for (int pass = 0; pass < 6; ++pass) {
    for (uint32_t id = 0; id < kMaxNodes; ++id) {
      clients[id % clients.size()]->send_to(b.at(), encode(Discover{id, false, {}}));
      if (id % 2000 == 1999) std::this_thread::sleep_for(1ms);  // let the beacon keep up
    }
    st = b.wait_stats([&](auto& s) { return s["nodes"] >= full; }, 5s);
    if (st["nodes"] >= full) break;
  }
  ASSERT_EQ(st["nodes"], full) << b.output();
  const long rss = b.rss_kib();
  std::printf("beacon RSS: %ld KiB idle, %ld KiB with %lu nodes\n", rss_idle, rss, static_cast<unsigned long>(full));
  if (!testing::sanitizer_build()) {
    EXPECT_LT(rss, 256 * 1024) << "RSS " << rss << " KiB";
  }
  // Over capacity: the 32 surplus ids get no reply.
  EXPECT_GE(st["drop_table_full"], 32u);
}

}  // namespace
}  // namespace pilot::beacon
