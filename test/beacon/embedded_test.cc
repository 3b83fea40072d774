// The beacon embedded in the real `rendezvous` binary, on loopback: it answers
// Discover with the reply bytes, stops before the log closes on SIGTERM, and its policy
// comes from the registry's state — nodes registered, trusted, networked and made
// public through the registry port, so keys, trust pairs and memberships reach the
// beacon through the event log (on a follower: through replication). --beacon=false
// binds no UDP port at all.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/ed25519.h"
#include "net/beacon/messages.h"
#include "net/rpc/client.h"
#include "test/beacon/punch_daemon.h"
#include "test/beacon/udp_client.h"
#include "test/replication/cluster.h"
#include "test/support/registry_fixture.h"

namespace pilot::beacon {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using rpc::Identity;
using testing::Daemon;
using testing::expect_punch;
using testing::grant_by;
using testing::ok;
using testing::register_at_both;
using testing::UdpClient;
using testsupport::Registry;
using testsupport::with_flags;

const std::string kAdmin = "admin-t0ken";

Endpoint beacon_of(Registry& reg) {
  const uint16_t port = reg.beacon_port();
  EXPECT_NE(port, 0) << reg.output();
  return Endpoint::v4(127, 0, 0, 1, port);
}

// A counter of the final "beacon: stats" line (logged at SIGTERM).
uint64_t final_stat(const std::string& out, const std::string& key) {
  size_t line = out.rfind("beacon: stats ");
  if (line == std::string::npos) return 0;
  std::string text = out.substr(line, out.find('\n', line) - line);
  size_t at = text.find(" " + key + "=");
  return at == std::string::npos ? 0 : std::stoull(text.substr(at + key.size() + 2));
}

// UDP sockets held by `pid`: its socket inodes that /proc/net/udp{,6} list.
size_t udp_sockets_of(pid_t pid) {
  std::set<std::string> udp;
  for (const char* table : {"/proc/net/udp", "/proc/net/udp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string f;
      for (int i = 0; i < 10 && fields >> f; ++i) {
      }
      udp.insert(f);  // the 10th field: inode
    }
  }
  size_t n = 0;
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::string target = std::filesystem::read_symlink(fd.path(), ec).string();
    if (target.rfind("socket:[", 0) == 0 && udp.count(target.substr(8, target.size() - 9))) ++n;
  }
  return n;
}

TEST(BeaconEmbedded, AnswersDiscoverAndStopsBeforeTheLogCloses) {
  Registry reg;  // the fixture passes --beacon-addr 127.0.0.1:0
  const Endpoint beacon = beacon_of(reg);
  EXPECT_EQ(reg.output().find("embedded beacon"), std::string::npos) << "the not-implemented note is gone";
  UdpClient c;
  std::optional<UdpClient::Received> r;
  for (int attempt = 0; attempt < 5 && !r; ++attempt) {
    c.send_to(beacon, encode(Discover{42, false, {}}));
    r = c.recv(1s);
  }
  ASSERT_TRUE(r) << reg.output();
  EXPECT_EQ(r->from, beacon);
  const uint16_t port = c.local().port;
  const std::string expect = {0x02, 4, 127, 0, 0, 1, static_cast<char>(port >> 8), static_cast<char>(port & 0xff)};
  EXPECT_EQ(r->bytes, expect);
  EXPECT_GE(udp_sockets_of(reg.pid()), 1u);

  ASSERT_EQ(reg.terminate(), 0);
  const std::string out = reg.output();
  const size_t beacon_stopped = out.find("beacon: stopped");
  const size_t log_closed = out.find("stopped cleanly at seq");
  ASSERT_NE(beacon_stopped, std::string::npos) << out;
  ASSERT_NE(log_closed, std::string::npos) << out;
  EXPECT_LT(beacon_stopped, log_closed) << out;
  EXPECT_EQ(final_stat(out, "discover_replies"), 1u) << out;
}

TEST(BeaconEmbedded, DisabledBindsNoUdpPort) {
  Registry reg(with_flags({"--beacon=false"}));
  EXPECT_EQ(reg.beacon_port(), 0);
  EXPECT_EQ(reg.output().find("beacon: listening"), std::string::npos) << reg.output();
  EXPECT_EQ(udp_sockets_of(reg.pid()), 0u);
  EXPECT_EQ(reg.terminate(), 0);
}

// Strict punches with the punch rate limits out of the way (127.0.0.1 whitelisted),
// so every refusal below is the policy's.
class BeaconStrictPunch : public ::testing::Test {
 protected:
  BeaconStrictPunch()
      : reg_(with_flags({"--punch-auth", "strict", "--punch-whitelist", "127.0.0.1", "--admin-token", kAdmin})),
        beacon_(beacon_of(reg_)) {}
  Registry reg_;
  Endpoint beacon_;
  uint64_t refused_ = 0;

  void allowed(Daemon& from, Daemon& to) { expect_punch(true, beacon_, from, to); }
  void refused(Daemon& from, Daemon& to) {
    ++refused_;
    expect_punch(false, beacon_, from, to);
  }
  void check_refusals_counted() {
    ASSERT_EQ(reg_.terminate(), 0);
    EXPECT_EQ(final_stat(reg_.output(), "drop_punch_unauthorized"), refused_) << reg_.output();
  }
};

TEST_F(BeaconStrictPunch, ATrustPairFromTheRegistryOpensThePathAndRevokingClosesIt) {
  Daemon alice, bob;
  register_at_both(reg_, alice, beacon_);
  register_at_both(reg_, bob, beacon_);
  refused(alice, bob);
  refused(bob, alice);

  auto c = reg_.client();
  ok(c, alice.id.report_trust_req(alice.node_id, bob.node_id), "report_trust_ok");
  allowed(alice, bob);
  allowed(bob, alice);  // trust is symmetric

  ok(c, alice.id.revoke_trust_req(alice.node_id, bob.node_id), "revoke_trust_ok");
  refused(alice, bob);
  check_refusals_counted();
}

TEST_F(BeaconStrictPunch, ASharedCustomNetworkOpensThePath) {
  Daemon carol, dave;
  register_at_both(reg_, carol, beacon_);
  register_at_both(reg_, dave, beacon_);
  auto c = reg_.client();
  // The creator is the first member; the backbone (network 0) they share counts for nothing.
  json cn = ok(c, {{"type", "create_network"}, {"node_id", carol.node_id}, {"name", "lab"}, {"admin_token", kAdmin}},
               "create_network_ok");
  const uint32_t net = cn.value("network_id", 0u);
  refused(dave, carol);

  ok(c, dave.id.join_network_req(dave.node_id, net), "join_network_ok");
  allowed(dave, carol);
  allowed(carol, dave);

  ok(c, dave.id.leave_network_req(dave.node_id, net), "leave_network_ok");
  refused(dave, carol);
  check_refusals_counted();
}

TEST_F(BeaconStrictPunch, APublicTargetIsPunchableByAnyone) {
  Daemon erin, frank;
  register_at_both(reg_, erin, beacon_);
  register_at_both(reg_, frank, beacon_);
  refused(frank, erin);

  auto c = reg_.client();
  ok(c, erin.id.set_visibility_req(erin.node_id, true), "set_visibility_ok");
  allowed(frank, erin);
  refused(erin, frank);  // frank is still private
  check_refusals_counted();
}

// A follower's beacon decides on the replicated state: the trust pair reported at the
// leader reaches it through log shipping (the Applier path of the state mutex).
TEST(BeaconEmbedded, AFollowersBeaconDecidesOnTheReplicatedState) {
  const uint16_t repl_port = repltest::free_port();
  Registry leader(repltest::leader_options(repl_port));
  Registry follower(
      repltest::follower_options(repl_port, {"--punch-auth", "strict", "--punch-whitelist", "127.0.0.1"}));
  const Endpoint beacon = beacon_of(follower);
  Daemon alice, bob;
  auto lc = leader.client();
  alice.node_id = ok(lc, alice.id.register_req("127.0.0.1:4000"), "register_ok").value("node_id", 0u);
  bob.node_id = ok(lc, bob.id.register_req("127.0.0.1:4000"), "register_ok").value("node_id", 0u);
  for (Daemon* d : {&alice, &bob}) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      d->udp.send_to(beacon, encode(Discover{d->node_id, false, {}}));
      if (d->udp.recv(1s)) break;
    }
  }
  expect_punch(false, beacon, alice, bob);

  ok(lc, alice.id.report_trust_req(alice.node_id, bob.node_id), "report_trust_ok");
  auto fc = follower.client();
  ASSERT_TRUE(repltest::wait_for(
      [&] { return fc.call(rpc::check_trust_req(alice.node_id, bob.node_id)).value("trusted", false); }, 20s))
      << follower.output();
  expect_punch(true, beacon, alice, bob);
  ASSERT_EQ(follower.terminate(), 0);
  EXPECT_EQ(final_stat(follower.output(), "drop_punch_unauthorized"), 1u) << follower.output();
}

// --punch-grants checks grants against the target's key in the registry (node_key),
// not against whatever key a Discover trailer bound first, and follows rotations.
TEST(BeaconEmbedded, PunchGrantsAreCheckedAgainstTheRegistrysCurrentKey) {
  Registry reg(with_flags({"--punch-grants", "--punch-whitelist", "127.0.0.1"}));
  const Endpoint beacon = beacon_of(reg);
  Daemon alice, bob;
  register_at_both(reg, alice, beacon);
  auto c = reg.client();
  bob.node_id = ok(c, bob.id.register_req("127.0.0.1:4000"), "register_ok").value("node_id", 0u);
  // A stranger wins the first-write-wins Discover key for bob's id: its socket
  // registers bob's id with its own key.
  Identity stranger;
  for (int attempt = 0; attempt < 5; ++attempt) {
    bob.udp.send_to(beacon, encode(Discover{bob.node_id, false, stranger.public_key()}));
    if (bob.udp.recv(1s)) break;
  }

  expect_punch(false, beacon, alice, bob, grant_by(stranger, alice.node_id, bob.node_id));
  expect_punch(false, beacon, alice, bob);  // no grant at all
  expect_punch(true, beacon, alice, bob, grant_by(bob.id, alice.node_id, bob.node_id));

  Identity bob2;
  ok(c, bob.id.rotate_key_req(bob.node_id, bob2.pub_b64()), "rotate_key_ok");
  expect_punch(false, beacon, alice, bob, grant_by(bob.id, alice.node_id, bob.node_id));
  expect_punch(true, beacon, alice, bob, grant_by(bob2, alice.node_id, bob.node_id));
  ASSERT_EQ(reg.terminate(), 0);
  EXPECT_EQ(final_stat(reg.output(), "drop_punch_unauthorized"), 3u) << reg.output();
}

}  // namespace
}  // namespace pilot::beacon
