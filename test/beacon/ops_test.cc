// The standalone `beacon`'s operator surface, on the real binary over loopback:
// /healthz and the drain after SIGTERM (-health, -drain-delay), -log-format json,
// -config FILE, peer discovery through a real rendezvous (-registry), and
// authenticated gossip (-gossip-secret / PILOT_GOSSIP_SECRET).
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "net/beacon/messages.h"
#include "test/beacon/beacon_process.h"
#include "test/support/registry_fixture.h"
#include "test/support/temp_dir.h"

namespace pilot::beacon {
namespace {

using namespace std::chrono_literals;
using testing::BeaconProcess;
using testing::UdpClient;

const std::string kSecret = "a shared gossip secret for tests";

std::optional<UdpClient::Received> register_node(UdpClient& c, const Endpoint& beacon, uint32_t id) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    c.send_to(beacon, encode(Discover{id, false, {}}));
    if (auto r = c.recv(1s)) return r;
  }
  return std::nullopt;
}

// Sends relays 10 → 20 through `first` until one arrives at n20 (the beacons have
// exchanged routes), within ~10 s.
std::optional<UdpClient::Received> relay_until_routed(UdpClient& n10, UdpClient& n20, const Endpoint& first) {
  return testing::send_until_received(n10, first, encode(Relay{10, 20, "through the mesh"}), n20);
}

// The port in "<marker>127.0.0.1:<port>" of the beacon's output, 0 if absent.
uint16_t port_after(BeaconProcess& b, const std::string& marker) {
  const std::string& out = b.output();
  size_t at = out.find(marker);
  if (at == std::string::npos) return 0;
  at = out.find(':', at + marker.size());
  return static_cast<uint16_t>(std::stoul(out.substr(at + 1)));
}

std::string loopback(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

TEST(BeaconOps, HealthzIsOkAndTurns503WhileDraining) {
  BeaconProcess b({"-addr", "127.0.0.1:0", "-health", "127.0.0.1:0", "-drain-delay", "20s"});
  ASSERT_TRUE(b.started()) << b.output();
  uint16_t hp = 0;
  for (int i = 0; i < 100 && !hp; ++i, std::this_thread::sleep_for(20ms)) hp = port_after(b, "health listening on ");
  ASSERT_NE(hp, 0) << b.output();
  httplib::Client http("127.0.0.1", hp);
  auto ok = http.Get("/healthz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "ok");
  auto other = http.Get("/other");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);

  ::kill(b.pid(), SIGTERM);
  int status_seen = 0;
  std::string body_seen;
  for (int i = 0; i < 100 && status_seen != 503; ++i, std::this_thread::sleep_for(20ms)) {
    if (auto r = http.Get("/healthz")) status_seen = r->status, body_seen = r->body;
  }
  EXPECT_EQ(status_seen, 503);
  EXPECT_EQ(body_seen, "unhealthy");
  // Still serving daemons while the load balancer drains.
  UdpClient n;
  EXPECT_TRUE(register_node(n, b.at(), 42));
  // A second signal ends the drain at once (well before the 20 s).
  const auto t0 = std::chrono::steady_clock::now();
  int status = b.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_NE(b.output().find("drain cut short"), std::string::npos) << b.output();
}

TEST(BeaconOps, JsonLogFormatWritesOneObjectPerLine) {
  BeaconProcess b({"-addr", "127.0.0.1:0", "-log-format", "json", "-peers", "no-such-host.invalid:9001"});
  ASSERT_TRUE(b.started()) << b.output();
  ASSERT_EQ(WEXITSTATUS(b.stop()), 0);
  std::istringstream lines(b.output());
  std::string line;
  int n = 0;
  bool warned = false;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_TRUE(j["time"].is_string() && j["level"].is_string() && j["msg"].is_string()) << line;
    warned |= j["level"] == "warn" && j["msg"].get<std::string>().find("does not resolve") != std::string::npos;
    ++n;
  }
  EXPECT_GE(n, 3);  // listening, stats, stopped
  EXPECT_TRUE(warned) << b.output();
  testsupport::Process bad(BEACON_BIN, {"-log-format", "xml"});
  int st = bad.wait_exit(10s);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) << bad.output();
}

TEST(BeaconOps, ConfigFileFillsFlagsTheCommandLineLeavesOut) {
  testsupport::TempDir dir;
  const std::string path = dir.path() + "/beacon.json";
  std::ofstream(path) << R"({"addr": "127.0.0.1:0", "beacon_id": 5, "max-nodes": 1000000, "log_format": "json"})";
  {
    BeaconProcess b({"-config", path});
    ASSERT_TRUE(b.started()) << b.output();
    EXPECT_TRUE(b.wait_for_output("beacon id 5,", 5s)) << b.output();
    EXPECT_EQ(b.output().rfind("{\"time\":", 0), 0u) << b.output();  // log_format from the file
  }
  {
    BeaconProcess b({"-config", path, "-beacon-id", "6", "-log-format=text"});
    ASSERT_TRUE(b.started()) << b.output();
    EXPECT_TRUE(b.wait_for_output("beacon id 6,", 5s)) << b.output();
    EXPECT_NE(b.output().rfind("{\"time\":", 0), 0u) << b.output();
  }
  std::ofstream(path) << R"({"addr": "127.0.0.1:0", "beacon-idd": 5})";
  testsupport::Process bad(BEACON_BIN, {"-config", path});
  int st = bad.wait_exit(10s);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) << bad.output();
  EXPECT_NE(bad.output().find("config file " + path + ": unknown key \"beacon-idd\""), std::string::npos)
      << bad.output();
}

// Two beacons that know only the registry find each other through beacon_list and
// gossip (authenticated): a relay to a node at the other beacon is forwarded. Beacon 2
// listens on the wildcard, so it registers the local IP of its registry connection.
TEST(BeaconOps, BeaconsDiscoverEachOtherThroughTheRegistry) {
  testsupport::Registry reg(testsupport::with_flags({"--admin-token", "tok-ops"}));
  const uint16_t p1 = testing::free_udp_port(), p2 = testing::free_udp_port();
  auto args = [&](const std::string& addr, const std::string& id) {
    return std::vector<std::string>{"-addr",
                                    addr,
                                    "-beacon-id",
                                    id,
                                    "-registry",
                                    reg.addr(),
                                    "-registry-admin-token",
                                    "tok-ops",
                                    "-registry-interval",
                                    "300ms",
                                    "-gossip-interval",
                                    "200ms",
                                    "-log-level",
                                    "debug"};
  };
  setenv("PILOT_GOSSIP_SECRET", kSecret.c_str(), 1);  // the way operators pass it (not in ps)
  BeaconProcess b1(args(loopback(p1), "1"));
  const bool v6 = UdpClient("::1").ok();  // ":port" is dual-stack [::]; else the IPv4 wildcard
  BeaconProcess b2(args((v6 ? ":" : "0.0.0.0:") + std::to_string(p2), "2"));
  unsetenv("PILOT_GOSSIP_SECRET");
  ASSERT_TRUE(b1.started() && b2.started()) << b1.output() << b2.output();
  UdpClient n10, n20;
  ASSERT_TRUE(register_node(n10, b1.at(), 10));
  ASSERT_TRUE(register_node(n20, b2.at(), 20));
  auto got = relay_until_routed(n10, n20, b1.at());
  ASSERT_TRUE(got) << b1.output() << b2.output();
  EXPECT_EQ(got->bytes, encode(RelayDeliver{10, "through the mesh"}));
  auto back = testing::send_until_received(n20, b2.at(), encode(Relay{20, 10, "and back"}), n10);
  ASSERT_TRUE(back) << b1.output() << b2.output();
  EXPECT_EQ(back->bytes, encode(RelayDeliver{20, "and back"}));
  EXPECT_TRUE(b1.wait_for_output("registry peers (1): 2=127.0.0.1:" + std::to_string(p2), 5s)) << b1.output();
  EXPECT_TRUE(b2.wait_for_output("registry peers (1): 1=" + loopback(p1), 5s)) << b2.output();
  EXPECT_TRUE(b1.wait_for_output("gossip authenticated", 5s)) << b1.output();
  EXPECT_EQ(b1.last_stats()["drop_gossip_auth"], 0u);

  // The registry lists both, at the addresses they registered.
  auto c = reg.client();
  auto list = c.call({{"type", "beacon_list"}});
  ASSERT_EQ(list["beacons"].size(), 2u) << list.dump();
  EXPECT_EQ(list["beacons"][0]["addr"], loopback(p1));
  EXPECT_EQ(list["beacons"][1]["addr"], loopback(p2));
}

TEST(BeaconOps, RegistryDownKeepsTheConfiguredPeers) {
  const uint16_t p1 = testing::free_udp_port(), p2 = testing::free_udp_port(), dead = testing::free_udp_port();
  BeaconProcess b1({"-addr", loopback(p1), "-beacon-id", "1", "-peers", loopback(p2), "-gossip-interval", "200ms",
                    "-registry", loopback(dead), "-registry-interval", "200ms"});
  BeaconProcess b2({"-addr", loopback(p2), "-beacon-id", "2", "-peers", loopback(p1), "-gossip-interval", "200ms"});
  ASSERT_TRUE(b1.started() && b2.started()) << b1.output() << b2.output();
  UdpClient n10, n20;
  ASSERT_TRUE(register_node(n10, b1.at(), 10));
  ASSERT_TRUE(register_node(n20, b2.at(), 20));
  EXPECT_TRUE(relay_until_routed(n10, n20, b1.at())) << b1.output();
  EXPECT_TRUE(b1.wait_for_output("peers unchanged", 5s)) << b1.output();
}

// A beacon with another secret (or none) installs nothing from us, and we nothing from
// it: every Sync is dropped and counted as gossip_auth.
TEST(BeaconOps, GossipWithAnotherSecretIsDroppedAndCounted) {
  const uint16_t p1 = testing::free_udp_port(), p2 = testing::free_udp_port();
  BeaconProcess b1({"-addr", loopback(p1), "-beacon-id", "1", "-peers", loopback(p2), "-gossip-interval", "200ms",
                    "-stats-interval", "100ms", "-gossip-secret", kSecret});
  BeaconProcess b2({"-addr", loopback(p2), "-beacon-id", "2", "-peers", loopback(p1), "-gossip-interval", "200ms",
                    "-gossip-secret", "another secret of 16+ bytes"});
  ASSERT_TRUE(b1.started() && b2.started()) << b1.output() << b2.output();
  UdpClient n10, n20;
  ASSERT_TRUE(register_node(n10, b1.at(), 10));
  ASSERT_TRUE(register_node(n20, b2.at(), 20));
  auto s = b1.wait_stats([](auto& kv) { return kv["drop_gossip_auth"] >= 3; });
  EXPECT_GE(s["drop_gossip_auth"], 3u) << b1.output();
  EXPECT_EQ(s["routes"], 0u);
  n10.send_to(b1.at(), encode(Relay{10, 20, "nowhere"}));
  EXPECT_FALSE(n20.recv(500ms));

  testsupport::Process short_secret(BEACON_BIN, {"-addr", "127.0.0.1:0", "-gossip-secret", "short"});
  int st = short_secret.wait_exit(10s);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) << short_secret.output();
  EXPECT_NE(short_secret.output().find("at least 16 bytes"), std::string::npos) << short_secret.output();
}

}  // namespace
}  // namespace pilot::beacon
