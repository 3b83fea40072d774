// get_audit_log through the real dispatcher (spec §6.23): admin token, newest first,
// the network filter, the limit's bounds, and fields omitted when empty.
#include <gtest/gtest.h>

#include <string>

#include "core/events.h"
#include "net/rpc/ops.h"
#include "test/net/ops_fixture.h"

namespace pilot::rpc::testing {
namespace {

using nlohmann::json;

class AuditOps : public OpsFixture {
 protected:
  AuditOps() { options().admin_token = "secret"; }

  json audit_log(json extra = json::object()) {
    json req = {{"type", "get_audit_log"}, {"admin_token", "secret"}};
    req.update(extra);
    json r = call(req);
    EXPECT_EQ(r.value("type", ""), "get_audit_log_ok") << r.dump();
    return r.value("entries", json::array());
  }
};

TEST_F(AuditOps, IsAnAdminReadAllowedOnAStandby) {
  const OpTable ops = all_ops();  // find() points into the table: keep it alive
  const OpSpec* op = ops.find("get_audit_log");
  ASSERT_TRUE(op);
  EXPECT_TRUE(op->standby_ok);
  EXPECT_EQ(op->breaker, "");

  expect_rejected({{"type", "get_audit_log"}, {"admin_token", "wrong"}}, "invalid admin token", "invalid admin token");
  expect_rejected({{"type", "get_audit_log"}}, "invalid admin token", "invalid admin token");
  options().admin_token.clear();
  expect_rejected({{"type", "get_audit_log"}, {"admin_token", "secret"}}, "no admin token configured",
                  "request failed");
}

TEST_F(AuditOps, NewestFirstWithEmptyFieldsOmitted) {
  const TestNode a = add_node("198.51.100.7:4000");
  const uint16_t net = create_network("lab");
  reg_.emit(MemberJoined{net, a.id, Role::kNone});
  // A real op through the dispatcher lands in the audit log too.
  json r =
      call({{"type", "beacon_register"}, {"beacon_id", 4}, {"addr", "203.0.113.1:9001"}, {"admin_token", "secret"}});
  ASSERT_EQ(r.value("type", ""), "beacon_register_ok") << r.dump();

  json entries = audit_log();
  ASSERT_EQ(entries.size(), 4u) << entries.dump();
  EXPECT_EQ(entries[0], (json{{"timestamp", "2026-01-01T00:00:00Z"},
                              {"action", "beacon.registered"},
                              {"details", "beacon_id=4, addr=203.0.113.1:9001"}}));
  EXPECT_EQ(entries[1], (json{{"timestamp", "2026-01-01T00:00:00Z"},
                              {"action", "network.joined"},
                              {"network_id", net},
                              {"node_id", a.id}}));
  EXPECT_EQ(entries[2]["action"], "network.created");
  EXPECT_EQ(entries[2]["details"], "name=lab, join_rule=open");
  EXPECT_FALSE(entries[2].contains("node_id"));
  EXPECT_EQ(entries[3]["action"], "node.registered");
  EXPECT_FALSE(entries[3].contains("network_id"));
  EXPECT_FALSE(entries[3].contains("hash")) << "the op does not show hashes";
}

TEST_F(AuditOps, NetworkFilter) {
  const TestNode a = add_node();
  const TestNode b = add_node();
  const uint16_t n1 = create_network("one");
  const uint16_t n2 = create_network("two");
  reg_.emit(MemberJoined{n1, a.id, Role::kNone});
  reg_.emit(MemberJoined{n2, b.id, Role::kNone});
  reg_.emit(MemberJoined{n1, b.id, Role::kNone});
  json only1 = audit_log({{"network_id", n1}});
  ASSERT_EQ(only1.size(), 3u) << only1.dump();
  EXPECT_EQ(only1[0]["node_id"], b.id);
  EXPECT_EQ(only1[1]["node_id"], a.id);
  EXPECT_EQ(only1[2]["action"], "network.created");
  for (const json& e : only1) EXPECT_EQ(e["network_id"], n1);
  EXPECT_EQ(audit_log({{"network_id", n2}}).size(), 2u);
  EXPECT_EQ(audit_log({{"network_id", 0}}).size(), 7u) << "0 = every network";
  EXPECT_EQ(audit_log({{"network_id", 999}}).size(), 0u);
}

TEST_F(AuditOps, LimitDefaultsTo100AndStopsAt1000) {
  for (uint32_t i = 1; i <= 1100; ++i) reg_.emit(TrustAdded{i, i + 1});
  EXPECT_EQ(audit_log().size(), 100u);
  EXPECT_EQ(audit_log({{"limit", 0}}).size(), 100u);
  EXPECT_EQ(audit_log({{"limit", -3}}).size(), 100u);
  EXPECT_EQ(audit_log({{"limit", "7"}}).size(), 100u) << "a string is not a number";
  EXPECT_EQ(audit_log({{"limit", 7}}).size(), 7u);
  EXPECT_EQ(audit_log({{"limit", 7.0}}).size(), 7u);
  EXPECT_EQ(audit_log({{"limit", 1000}}).size(), 1000u);
  EXPECT_EQ(audit_log({{"limit", 5000}}).size(), 1000u);
  json one = audit_log({{"limit", 1}});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["node_id"], 1100);
  EXPECT_EQ(one[0]["details"], "peer_id=1101");
}

}  // namespace
}  // namespace pilot::rpc::testing
