// punch, beacon_register and beacon_list through the real dispatcher (spec §6.12,
// §6.13, §21 items 69–71 and 130).
#include <gtest/gtest.h>

#include <string>

#include "core/events.h"
#include "net/rpc/ops.h"
#include "test/net/ops_fixture.h"

namespace pilot::rpc::testing {
namespace {

using nlohmann::json;

constexpr int64_t kSecond = 1000000000;

class RoutingOps : public OpsFixture {
 protected:
  json punch(const TestNode& requester, uint32_t a, uint32_t b) {
    return {{"type", "punch"},
            {"requester_id", requester.id},
            {"node_a", a},
            {"node_b", b},
            {"signature", requester.sign("punch:" + std::to_string(a) + ":" + std::to_string(b))}};
  }
  json beacon(uint32_t id, const std::string& addr) {
    return {{"type", "beacon_register"}, {"beacon_id", id}, {"addr", addr}, {"admin_token", "secret"}};
  }
  json list() {
    json r = call({{"type", "beacon_list"}});
    EXPECT_EQ(r.value("type", ""), "beacon_list_ok") << r.dump();
    return r["beacons"];
  }
  uint16_t shared_network(uint32_t x, uint32_t y) {
    const auto id = static_cast<uint16_t>(state_.networks.next_net());
    NetworkCreated e;
    e.network_id = id;
    e.name = "net" + std::to_string(id);
    e.join_rule = "open";
    reg_.emit(e);
    reg_.emit(MemberJoined{id, x, Role::kMember});
    reg_.emit(MemberJoined{id, y, Role::kMember});
    return id;
  }
};

// ---- op table ----------------------------------------------------------------------

TEST_F(RoutingOps, OpTableHasStandbyAndBreakerColumnsOfTheSpec) {
  const OpTable ops = all_ops();
  const OpSpec* p = ops.find("punch");
  const OpSpec* r = ops.find("beacon_register");
  const OpSpec* l = ops.find("beacon_list");
  ASSERT_TRUE(p && r && l);
  EXPECT_FALSE(p->standby_ok);
  EXPECT_EQ(p->breaker, "registry.punch");
  EXPECT_FALSE(r->standby_ok);
  EXPECT_EQ(r->breaker, "registry.beacon_register");
  EXPECT_TRUE(l->standby_ok);
  EXPECT_EQ(l->breaker, "registry.beacon_register");
}

// ---- punch (items 69–71) ------------------------------------------------------------

TEST_F(RoutingOps, PunchByNonParticipantIsDenied) {
  auto a = add_node();
  auto b = add_node();
  auto c = add_node();
  expect_rejected(punch(c, a.id, b.id), "punch denied: requester must be participant", "request failed");
}

TEST_F(RoutingOps, PunchReturnsBothRawEndpoints) {
  options().beacon_addr = "192.0.2.50:9001";
  auto a = add_node("198.51.100.7:4000");
  // A relay-only node: lookups would hand out the beacon, punch gives its raw endpoint.
  const auto relay = static_cast<uint32_t>(state_.directory.next_node());
  KeyPair rk = KeyPair::generate();
  reg_.emit(NodeRegistered{relay, rk.public_key, "", "203.0.113.77:5000", {}, "", true});
  const State before = state_;
  json r = call(punch(a, a.id, relay));
  EXPECT_EQ(r, json({{"type", "punch_ok"},
                     {"node_a", a.id},
                     {"node_a_addr", "198.51.100.7:4000"},
                     {"node_b", relay},
                     {"node_b_addr", "203.0.113.77:5000"}}))
      << r.dump();
  EXPECT_TRUE(state_ == before);  // punch records nothing
  // The requester may be either side.
  TestNode rn{relay, rk};
  EXPECT_EQ(call(punch(rn, a.id, relay)).value("node_b_addr", ""), "203.0.113.77:5000");
}

TEST_F(RoutingOps, PunchWithUnknownNodes) {
  auto a = add_node();
  expect_rejected(punch(a, a.id, 4040), "node 4040 not found", "node 4040 not found");
  // An unknown requester is reported before its signature is looked at.
  json req = punch(a, 4041, a.id);
  req["requester_id"] = 4041;
  expect_rejected(req, "node 4041 not found", "node 4041 not found");
}

TEST_F(RoutingOps, PunchSignatureRules) {
  auto a = add_node();
  auto b = add_node();
  json req = punch(a, a.id, b.id);
  req.erase("signature");
  expect_rejected(req, "signature required for authenticated node", "signature required for authenticated node");
  // b's key for a's claim.
  req["signature"] = b.sign("punch:" + std::to_string(a.id) + ":" + std::to_string(b.id));
  expect_rejected(req, "signature verification failed", "signature verification failed");
  // The node order is part of the challenge.
  req["signature"] = a.sign("punch:" + std::to_string(b.id) + ":" + std::to_string(a.id));
  expect_rejected(req, "signature verification failed", "signature verification failed");
  // Another op's signature over the same pair.
  req["signature"] = a.sign("report_trust:" + std::to_string(a.id) + ":" + std::to_string(b.id));
  expect_rejected(req, "signature verification failed", "signature verification failed");
  // A wrong admin token does not help; the signature's error is reported.
  options().admin_token = "secret";
  req["admin_token"] = "wrong";
  expect_rejected(req, "signature verification failed", "signature verification failed");
  // The admin token stands in for the signature (sig|adm).
  req["admin_token"] = "secret";
  EXPECT_EQ(call(req).value("type", ""), "punch_ok");
}

TEST_F(RoutingOps, StrictPunchNeedsTrustOrSharedNetwork) {
  auto a = add_node();
  auto b = add_node();
  auto c = add_node();
  // Off (default): any two nodes.
  EXPECT_EQ(call(punch(a, a.id, b.id)).value("type", ""), "punch_ok");

  options().strict_directory_auth = true;
  // Masquerades as the peer not existing.
  expect_rejected(punch(a, a.id, b.id), "node " + std::to_string(b.id) + " not found",
                  "node " + std::to_string(b.id) + " not found");
  expect_rejected(punch(b, a.id, b.id), "node " + std::to_string(a.id) + " not found",
                  "node " + std::to_string(a.id) + " not found");
  // A trust pair opens it, in both directions.
  reg_.emit(TrustAdded{b.id, a.id});
  EXPECT_EQ(call(punch(a, a.id, b.id)).value("type", ""), "punch_ok");
  EXPECT_EQ(call(punch(b, b.id, a.id)).value("type", ""), "punch_ok");
  // So does a shared custom network.
  expect_rejected(punch(a, a.id, c.id), "node " + std::to_string(c.id) + " not found",
                  "node " + std::to_string(c.id) + " not found");
  shared_network(a.id, c.id);
  EXPECT_EQ(call(punch(a, a.id, c.id)).value("type", ""), "punch_ok");
  // Revoked trust closes it again.
  reg_.emit(TrustRevoked{a.id, b.id});
  EXPECT_EQ(error_of(punch(a, a.id, b.id)), "node " + std::to_string(b.id) + " not found");
}

// ---- beacon_register / beacon_list (item 130) -----------------------------------------

TEST_F(RoutingOps, BeaconRegisterNeedsAdminToken) {
  expect_rejected(beacon(1, "192.0.2.1:9001"), "no admin token configured", "request failed");
  options().admin_token = "secret";
  json req = beacon(1, "192.0.2.1:9001");
  req.erase("admin_token");
  expect_rejected(req, "invalid admin token", "invalid admin token");
  req["admin_token"] = "Secret";
  expect_rejected(req, "invalid admin token", "invalid admin token");
  EXPECT_EQ(list(), json::array());
}

TEST_F(RoutingOps, BeaconRegisterValidatesIdAndAddr) {
  options().admin_token = "secret";
  json req = beacon(0, "192.0.2.1:9001");
  expect_rejected(req, "beacon_id required", "beacon_id required");
  req.erase("beacon_id");
  expect_rejected(req, "beacon_id required", "beacon_id required");
  req["beacon_id"] = "7";  // a string is not a number
  expect_rejected(req, "beacon_id required", "beacon_id required");
  expect_rejected(beacon(7, ""), "addr required", "addr required");
  req = beacon(7, "");
  req.erase("addr");
  expect_rejected(req, "addr required", "addr required");

  // net.SplitHostPort's complaints, in its words.
  struct Bad {
    const char* addr;
    const char* why;
  };
  for (const Bad& bad :
       {Bad{"192.0.2.1", "missing port in address"}, Bad{"::1:9001", "too many colons in address"},
        Bad{"[::1]", "missing port in address"}, Bad{"[::1", "missing ']' in address"},
        Bad{"[::1]x:9001", "missing port in address"}, Bad{"[::1]::9001", "too many colons in address"},
        Bad{"a[b:9001", "unexpected '[' in address"}, Bad{"[::1]:90]1", "unexpected ']' in address"},
        Bad{"a]b:9001", "unexpected ']' in address"}}) {
    const std::string text = std::string("beacon addr invalid: address ") + bad.addr + ": " + bad.why;
    expect_rejected(beacon(7, bad.addr), text, text);
  }
  EXPECT_TRUE(state_.settings.beacons.empty());

  // What SplitHostPort accepts is accepted, including an empty host or port.
  uint32_t id = 10;
  for (const char* good : {"192.0.2.1:9001", "[2001:db8::1]:9001", "beacon.example:9001", ":9001", "host:"})
    EXPECT_EQ(call(beacon(id++, good)).value("type", ""), "beacon_register_ok") << good;
}

TEST_F(RoutingOps, BeaconRegisterRecordsAnEvent) {
  options().admin_token = "secret";
  const uint64_t seq = state_.last_seq;
  EXPECT_EQ(call(beacon(42, "192.0.2.42:9001")), json({{"type", "beacon_register_ok"}, {"beacon_id", 42}}));
  EXPECT_EQ(state_.last_seq, seq + 1);
  ASSERT_EQ(state_.settings.beacons.count(42), 1u);
  EXPECT_EQ(state_.settings.beacons.at(42).addr, "192.0.2.42:9001");
  EXPECT_EQ(state_.settings.beacons.at(42).registered_ns, now_);
  EXPECT_EQ(list(), json::array({{{"id", 42}, {"addr", "192.0.2.42:9001"}}}));
}

TEST_F(RoutingOps, BeaconReRegisterCooldownIsPerId) {
  options().admin_token = "secret";
  const int64_t cooldown = options().beacon_cooldown_ns;
  ASSERT_GT(cooldown, 0);
  ASSERT_EQ(call(beacon(1, "192.0.2.1:9001")).value("type", ""), "beacon_register_ok");
  now_ += cooldown - 1;
  const std::string text = "beacon 1 already registered: retry after the 5s cooldown";
  expect_rejected(beacon(1, "192.0.2.1:9001"), text, text);
  expect_rejected(beacon(1, "192.0.2.99:9001"), text, text);  // a new address too
  // Other IDs are unaffected.
  EXPECT_EQ(call(beacon(2, "192.0.2.2:9001")).value("type", ""), "beacon_register_ok");
  // Past the cooldown the same ID refreshes (and may move).
  now_ += 1;
  EXPECT_EQ(call(beacon(1, "192.0.2.11:9001")).value("type", ""), "beacon_register_ok");
  EXPECT_EQ(state_.settings.beacons.at(1).addr, "192.0.2.11:9001");
  EXPECT_EQ(state_.settings.beacons.at(1).registered_ns, now_);
}

TEST_F(RoutingOps, BeaconListOmitsEntriesOlderThanTtlAndSortsById) {
  options().admin_token = "secret";
  ASSERT_EQ(options().beacon_ttl_ns, 60 * kSecond);
  EXPECT_EQ(list(), json::array());
  const std::string raw = call_raw({{"type", "beacon_list"}});
  EXPECT_NE(raw.find("\"beacons\":[]"), std::string::npos) << raw;  // an array, never null

  ASSERT_EQ(call(beacon(9, "192.0.2.9:9001")).value("type", ""), "beacon_register_ok");
  now_ += 30 * kSecond;
  ASSERT_EQ(call(beacon(3, "192.0.2.3:9001")).value("type", ""), "beacon_register_ok");
  EXPECT_EQ(list(), json::array({{{"id", 3}, {"addr", "192.0.2.3:9001"}}, {{"id", 9}, {"addr", "192.0.2.9:9001"}}}));
  now_ += 30 * kSecond;  // beacon 9 is exactly 60 s old: still listed
  EXPECT_EQ(list().size(), 2u);
  now_ += 1;  // now older than the TTL
  EXPECT_EQ(list(), json::array({{{"id", 3}, {"addr", "192.0.2.3:9001"}}}));
  // The list only reads: the stale entry stays in the projection until it re-registers.
  EXPECT_EQ(state_.settings.beacons.count(9), 1u);
  ASSERT_EQ(call(beacon(9, "192.0.2.9:9001")).value("type", ""), "beacon_register_ok");
  EXPECT_EQ(list().size(), 2u);
  now_ += 61 * kSecond;
  EXPECT_EQ(list(), json::array());
}

TEST_F(RoutingOps, BeaconListIsOpen) {
  // No token, no signature; the configured token does not matter.
  options().admin_token = "secret";
  EXPECT_EQ(call({{"type", "beacon_list"}, {"admin_token", "nonsense"}}),
            json({{"type", "beacon_list_ok"}, {"beacons", json::array()}}));
}

}  // namespace
}  // namespace pilot::rpc::testing
