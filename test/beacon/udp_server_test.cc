// The UDP server in-process, as the rendezvous will embed it: listen-address forms,
// start/stop (twice), notify() from another thread, and the LocalAddrs table.
#include "net/beacon/udp_server.h"

#include <gtest/gtest.h>

#include <thread>

#include "test/beacon/beacon_process.h"

namespace pilot::beacon {
namespace {

using testing::UdpClient;

TEST(BeaconListenAddr, Forms) {
  std::string err;
  auto a = parse_listen_addr(":9001", err);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->family, AF_INET6);
  EXPECT_TRUE(a->wildcard && a->dual_stack);
  EXPECT_EQ(a->ep.port, 9001);
  a = parse_listen_addr("[::]:1", err);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->dual_stack);
  a = parse_listen_addr("0.0.0.0:2", err);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->family, AF_INET);
  EXPECT_TRUE(a->wildcard);
  EXPECT_FALSE(a->dual_stack);
  a = parse_listen_addr("127.0.0.1:0", err);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->family, AF_INET);
  EXPECT_FALSE(a->wildcard);
  a = parse_listen_addr("[::1]:0", err);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->family, AF_INET6);
  EXPECT_FALSE(a->wildcard || a->dual_stack);
  a = parse_listen_addr("localhost:3", err);
  ASSERT_TRUE(a) << err;
  EXPECT_EQ(a->ep.port, 3);
  for (const char* bad : {"nonsense", "1.2.3.4:70000", "1.2.3.4:", "::1:5", "no-such-host.invalid:5"})
    EXPECT_FALSE(parse_listen_addr(bad, err)) << bad;
  EXPECT_EQ(resolve_udp("127.0.0.1:9"), Endpoint::v4(127, 0, 0, 1, 9));
  EXPECT_FALSE(resolve_udp("[::1]:9", AF_INET));
  EXPECT_FALSE(resolve_udp(":9"));
}

TEST(BeaconLocalAddrs, InternsUpTo255Addresses) {
  LocalAddrs l;
  IpBytes a = Endpoint::v4(127, 0, 0, 1, 0).ip, b = Endpoint::v4(127, 0, 0, 2, 0).ip;
  Via va = l.intern(a), vb = l.intern(b);
  EXPECT_NE(va, kAnyVia);
  EXPECT_NE(va, vb);
  EXPECT_EQ(l.intern(a), va);
  EXPECT_EQ(l.ip(vb), b);
  EXPECT_FALSE(l.ip(kAnyVia));
  for (int i = 0; i < 300; ++i)
    l.intern(Endpoint::v4(10, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i), 0).ip);
  EXPECT_EQ(l.intern(Endpoint::v4(10, 9, 9, 9, 0).ip), kAnyVia);  // full: the kernel picks
  EXPECT_EQ(l.intern(a), va);
}

TEST(BeaconUdpServer, ServesNotifiesAndStopsTwice) {
  Engine engine(Config{});
  UdpServerOptions opt;
  opt.addr = "127.0.0.1:0";
  opt.sockets = 3;
  UdpServer server(engine, opt);
  ASSERT_EQ(server.start(), "");
  EXPECT_EQ(server.socket_count(), 3u);
  EXPECT_TRUE(server.reuseport());
  EXPECT_EQ(server.listen_text(), "127.0.0.1:" + std::to_string(server.port()));
  const Endpoint at = Endpoint::v4(127, 0, 0, 1, server.port());

  // Several clients (several flows, so several sockets) register at once.
  std::vector<std::unique_ptr<UdpClient>> clients;
  for (uint32_t id = 1; id <= 8; ++id) {
    clients.push_back(std::make_unique<UdpClient>());
    clients.back()->send_to(at, encode(Discover{id, false, {}}));
  }
  for (auto& c : clients) {
    auto r = c->recv();
    ASSERT_TRUE(r);
    EXPECT_EQ(decode_discover_reply(r->bytes), c->local());
  }
  EXPECT_EQ(engine.nodes().size(), 8u);

  // notify() from two threads at once: one datagram (1 s limiter), from the beacon.
  Engine::NotifyResult r1{}, r2{};
  std::thread t1([&] { r1 = server.notify(3); });
  std::thread t2([&] { r2 = server.notify(3); });
  t1.join();
  t2.join();
  EXPECT_TRUE((r1 == Engine::NotifyResult::kSent) != (r2 == Engine::NotifyResult::kSent));
  auto n = clients[2]->recv();
  ASSERT_TRUE(n);
  EXPECT_EQ(n->bytes, encode_notify());
  EXPECT_EQ(n->from, at);
  EXPECT_FALSE(clients[2]->recv(std::chrono::milliseconds(200)));
  EXPECT_EQ(server.notify(99), Engine::NotifyResult::kNotFound);

  EXPECT_GE(server.stats().rx_datagrams, 8u);
  EXPECT_GE(server.stats().tx_datagrams, 9u);
  EXPECT_NE(server.stats_line().find("nodes=8"), std::string::npos) << server.stats_line();
  server.stop();
  server.stop();
  EXPECT_EQ(server.notify(3), Engine::NotifyResult::kNotFound);
  clients[0]->send_to(at, encode(Discover{1, false, {}}));
  EXPECT_FALSE(clients[0]->recv(std::chrono::milliseconds(200)));  // nobody listens any more
}

TEST(BeaconUdpServer, StartFailsCleanlyOnABadAddress) {
  Engine engine(Config{});
  UdpServer bad(engine, UdpServerOptions{.addr = "nonsense"});
  EXPECT_NE(bad.start(), "");
  UdpServer taken_first(engine, UdpServerOptions{.addr = "127.0.0.1:0", .sockets = 1});
  ASSERT_EQ(taken_first.start(), "");
  UdpServer taken(engine, UdpServerOptions{.addr = "127.0.0.1:" + std::to_string(taken_first.port()), .sockets = 1});
  EXPECT_NE(taken.start(), "");  // a port in use without SO_REUSEPORT
}

}  // namespace
}  // namespace pilot::beacon
