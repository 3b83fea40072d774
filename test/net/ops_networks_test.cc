// Network ops through the real dispatcher (spec §6.7, §6.16, §21 items 63–64, 81–90,
// 99). Each error case checks the handler's raw text, what the client sees after the
// §3.2 sanitiser, and that the state did not change.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "net/rpc/ops.h"
#include "test/net/ops_fixture.h"

namespace pilot::rpc::testing {
namespace {

using json = nlohmann::json;

constexpr const char* kAdmin = "s3cret-admin";
constexpr const char* kHidden = "request failed";

class NetworkOpsTest : public OpsFixture {
 protected:
  NetworkOpsTest() { options().admin_token = kAdmin; }

  json create_req(uint32_t node, const std::string& name, const json& extra = json::object()) {
    json r = {{"type", "create_network"}, {"admin_token", kAdmin}, {"node_id", node}, {"name", name}};
    r.update(extra);
    return r;
  }
  uint16_t create(uint32_t node, const std::string& name, const json& extra = json::object()) {
    json resp = call(create_req(node, name, extra));
    EXPECT_EQ(resp.value("type", ""), "create_network_ok") << resp.dump();
    return resp.value("network_id", uint16_t{0});
  }
  json join_req(const TestNode& n, uint16_t net, const json& extra = json::object()) {
    json r = {{"type", "join_network"},
              {"node_id", n.id},
              {"network_id", net},
              {"signature", n.sign("join_network:" + std::to_string(n.id) + ":" + std::to_string(net))}};
    r.update(extra);
    return r;
  }
  json leave_req(const TestNode& n, uint16_t net) {
    return {{"type", "leave_network"},
            {"node_id", n.id},
            {"network_id", net},
            {"signature", n.sign("leave_network:" + std::to_string(n.id) + ":" + std::to_string(net))}};
  }
  void join(const TestNode& n, uint16_t net) {
    json resp = call(join_req(n, net));
    ASSERT_EQ(resp.value("type", ""), "join_network_ok") << resp.dump();
  }

  // Errors whose text passes the sanitiser unchanged.
  using OpsFixture::expect_rejected;
  void expect_rejected(const json& req, const std::string& raw) { OpsFixture::expect_rejected(req, raw, raw); }

  const Network* net(uint16_t id) { return state_.networks.find(id); }
  Role role(uint16_t id, uint32_t node) { return net(id) ? net(id)->role_of(node) : Role::kNone; }

  json list(const json& extra = json::object()) {
    json r = {{"type", "list_networks"}};
    r.update(extra);
    json resp = call(r);
    EXPECT_EQ(resp.value("type", ""), "list_networks_ok") << resp.dump();
    return resp;
  }
  static const json* entry(const json& listing, uint16_t id) {
    for (const auto& e : listing["networks"])
      if (e["id"] == id) return &e;
    return nullptr;
  }
};

// ---- registration ----------------------------------------------------------------

TEST_F(NetworkOpsTest, OpTableFlags) {
  OpTable family;
  add_network_ops(family);
  auto expect = [&](const char* name, bool standby, const char* breaker) {
    const OpSpec* op = family.find(name);
    ASSERT_NE(op, nullptr) << name;
    EXPECT_EQ(op->standby_ok, standby) << name;
    EXPECT_EQ(op->breaker, breaker) << name;
  };
  expect("create_network", false, "registry.network_admin");
  expect("join_network", false, "registry.network_admin");
  expect("leave_network", false, "registry.network_admin");
  expect("delete_network", false, "registry.network_admin");
  expect("rename_network", false, "registry.network_admin");
  expect("set_network_enterprise", false, "");
  expect("list_networks", true, "registry.resolve");
  EXPECT_EQ(family.all().size(), 7u);
}

// ---- create_network (§21 items 81–84, 99) ----------------------------------------

TEST_F(NetworkOpsTest, CreateDisabledWithoutAdminToken) {
  auto n = add_node();
  options().admin_token.clear();
  expect_rejected(create_req(n.id, "alpha"), "network creation is disabled", kHidden);
  expect_rejected(create_req(n.id, "alpha", {{"admin_token", ""}}), "network creation is disabled", kHidden);
}

TEST_F(NetworkOpsTest, CreateWrongOrMissingAdminToken) {
  auto n = add_node();
  expect_rejected(create_req(n.id, "alpha", {{"admin_token", "wrong"}}), "invalid admin token");
  json no_token = create_req(n.id, "alpha");
  no_token.erase("admin_token");
  expect_rejected(no_token, "invalid admin token");
  expect_rejected(create_req(n.id, "alpha", {{"admin_token", 5}}), "invalid admin token");
}

TEST_F(NetworkOpsTest, CreateAllocatesSequentialIdsAndCreatorIsOwner) {
  auto a = add_node();
  auto b = add_node();
  EXPECT_EQ(call_raw(create_req(a.id, "alpha")),
            R"({"enterprise":false,"name":"alpha","network_id":1,"type":"create_network_ok"})");
  EXPECT_EQ(call_raw(create_req(
                b.id, "beta",
                {{"enterprise", true}, {"join_rule", "token"}, {"token", "tk"}, {"network_admin_token", "nat"}})),
            R"({"enterprise":true,"name":"beta","network_id":2,"type":"create_network_ok"})");
  EXPECT_EQ(create(a.id, "gamma"), 3);

  const Network* n1 = net(1);
  ASSERT_NE(n1, nullptr);
  EXPECT_EQ(n1->name, "alpha");
  EXPECT_EQ(n1->join_rule, "open");  // default
  EXPECT_FALSE(n1->enterprise);
  EXPECT_EQ(n1->members, std::vector<uint32_t>{a.id});
  EXPECT_EQ(n1->role_of(a.id), Role::kOwner);
  EXPECT_EQ(n1->created_ns, kStart);
  EXPECT_TRUE(n1->rules_json.empty());
  EXPECT_TRUE(n1->expr_policy_json.empty());

  const Network* n2 = net(2);
  ASSERT_NE(n2, nullptr);
  EXPECT_EQ(n2->join_rule, "token");
  EXPECT_EQ(n2->token, "tk");
  EXPECT_EQ(n2->admin_token, "nat");
  EXPECT_TRUE(n2->enterprise);
  EXPECT_EQ(n2->members, std::vector<uint32_t>{b.id});
  EXPECT_EQ(n2->role_of(b.id), Role::kOwner);
  EXPECT_TRUE(state_.networks.is_member(2, b.id));
  EXPECT_FALSE(state_.networks.is_member(2, a.id));
  EXPECT_EQ(state_.networks.next_net(), 4u);
}

TEST_F(NetworkOpsTest, CreateRequiresRegisteredCreator) {
  add_node();
  expect_rejected(create_req(42, "alpha"), "node 42 not registered", kHidden);
  json no_node = create_req(0, "alpha");
  no_node.erase("node_id");
  expect_rejected(no_node, "node 0 not registered", kHidden);
}

TEST_F(NetworkOpsTest, CreateValidatesNames) {
  auto n = add_node();
  const std::string bad_form = "network name must be lowercase alphanumeric with hyphens, start/end with alphanumeric";
  expect_rejected(create_req(n.id, ""), "network name required");
  expect_rejected(create_req(n.id, std::string(64, 'a')), "network name too long (max 63 chars)");
  for (const char* bad : {"Alpha", "ALPHA", "-alpha", "alpha-", "al_pha", "al pha", "alpha.net", "é"})
    expect_rejected(create_req(n.id, bad), bad_form, kHidden);
  expect_rejected(create_req(n.id, "backbone"), R"(network name "backbone" is reserved)", kHidden);

  EXPECT_EQ(create(n.id, std::string(63, 'a')), 1);
  EXPECT_EQ(create(n.id, "a"), 2);
  EXPECT_EQ(create(n.id, "a-b-9"), 3);
  expect_rejected(create_req(n.id, "a-b-9"), R"(network "a-b-9" already exists)");
}

TEST_F(NetworkOpsTest, CreateInviteRuleNeedsEnterprise) {
  auto n = add_node();
  expect_rejected(create_req(n.id, "club", {{"join_rule", "invite"}}),
                  "enterprise feature: invite-only networks require the enterprise flag");
  expect_rejected(create_req(n.id, "club", {{"join_rule", "invite"}, {"enterprise", false}}),
                  "enterprise feature: invite-only networks require the enterprise flag");
  EXPECT_EQ(create(n.id, "club", {{"join_rule", "invite"}, {"enterprise", true}}), 1);
  EXPECT_EQ(net(1)->join_rule, "invite");
}

TEST_F(NetworkOpsTest, CreateIdSpaceExhausted) {
  auto n = add_node();
  reg_.emit(NetworkCreated{65535, "last", "open", "", "", false, 0, "", ""});
  ASSERT_EQ(state_.networks.next_net(), 65536u);
  expect_rejected(create_req(n.id, "one-more"), "network ID space exhausted (max 65535 networks)", kHidden);
}

TEST_F(NetworkOpsTest, CreateAcceptsRulesAsStringOrObject) {
  auto n = add_node();
  const std::string canonical =
      R"({"cycle":"24h","fill":1,"fill_how":"random","links":3,"prune":1,"prune_by":"score"})";
  // String form, with unknown fields ignored as Go's decoder does.
  EXPECT_EQ(
      call_raw(create_req(
          n.id, "managed-a",
          {{"rules", R"({"links":3,"cycle":"24h","prune":1,"prune_by":"score","fill":1,"fill_how":"random","x":1})"}})),
      R"({"enterprise":false,"managed":true,"name":"managed-a","network_id":1,"type":"create_network_ok"})");
  EXPECT_EQ(net(1)->rules_json, canonical);

  // Object form; 3.0 is a float64 in the reference and re-encodes as 3.
  json obj = {{"links", 3.0}, {"cycle", "24h"},       {"prune", 1},   {"prune_by", "score"},
              {"fill", 1},    {"fill_how", "random"}, {"grace", "1h"}};
  json resp = call(create_req(n.id, "managed-b", {{"rules", obj}}));
  EXPECT_EQ(resp.value("managed", false), true) << resp.dump();
  EXPECT_EQ(net(2)->rules_json,
            R"({"cycle":"24h","fill":1,"fill_how":"random","grace":"1h","links":3,"prune":1,"prune_by":"score"})");

  // An empty string or a non-object, non-string value means "no rules".
  resp = call(create_req(n.id, "plain-a", {{"rules", ""}}));
  EXPECT_FALSE(resp.contains("managed")) << resp.dump();
  resp = call(create_req(n.id, "plain-b", {{"rules", 7}}));
  EXPECT_FALSE(resp.contains("managed")) << resp.dump();
  EXPECT_TRUE(net(3)->rules_json.empty());
  EXPECT_TRUE(net(4)->rules_json.empty());
}

TEST_F(NetworkOpsTest, CreateRejectsInvalidRules) {
  auto n = add_node();
  auto rules = [](json patch) {
    json r = {{"links", 3}, {"cycle", "24h"}, {"prune", 1}, {"prune_by", "score"}, {"fill", 1}, {"fill_how", "random"}};
    r.update(patch);
    return r;
  };
  struct Case {
    json rules;
    std::string raw;
    std::string wire;
  };
  const Case cases[] = {
      {rules({{"links", 0}}), "rules: links must be >= 1 (got 0)", kHidden},
      {rules({{"links", -2}}), "rules: links must be >= 1 (got -2)", kHidden},
      {rules({{"cycle", "30s"}}), "rules: cycle must be >= 1m (got 30s)", kHidden},
      {rules({{"cycle", "59s"}}), "rules: cycle must be >= 1m (got 59s)", kHidden},
      {rules({{"cycle", ""}}), "rules: cycle is required", "rules: cycle is required"},
      {rules({{"cycle", "1d"}}), R"(rules: invalid cycle duration "1d": time: unknown unit "d" in duration "1d")",
       R"(rules: invalid cycle duration "1d": time: unknown unit "d" in duration "1d")"},
      {rules({{"cycle", "10"}}), R"(rules: invalid cycle duration "10": time: missing unit in duration "10")",
       R"(rules: invalid cycle duration "10": time: missing unit in duration "10")"},
      {rules({{"prune", -1}}), "rules: prune must be >= 0 (got -1)", kHidden},
      {rules({{"fill", -1}}), "rules: fill must be >= 0 (got -1)", kHidden},
      {rules({{"prune", 4}}), "rules: prune (4) cannot exceed links (3)", "rules: prune (4) cannot exceed links (3)"},
      {rules({{"fill", 5}}), "rules: fill (5) cannot exceed links (3)", "rules: fill (5) cannot exceed links (3)"},
      {rules({{"prune_by", ""}}), "rules: prune_by is required", "rules: prune_by is required"},
      {rules({{"prune_by", "random"}}), R"(rules: unknown prune_by strategy "random" (want score|age|activity))",
       kHidden},
      {rules({{"fill_how", ""}}), "rules: fill_how is required", "rules: fill_how is required"},
      {rules({{"fill_how", "best"}}), R"(rules: unknown fill_how strategy "best" (want random))", kHidden},
      {rules({{"grace", "-1h"}}), "rules: grace must be >= 0", kHidden},
      {rules({{"grace", "soon"}}), R"(rules: invalid grace duration "soon": time: invalid duration "soon")",
       R"(rules: invalid grace duration "soon": time: invalid duration "soon")"},
      {rules({{"links", "3"}}),
       "rules: invalid JSON: json: cannot unmarshal string into Go struct field NetworkRules.links of type int",
       "rules: invalid JSON: json: cannot unmarshal string into Go struct field NetworkRules.links of type int"},
      {rules({{"links", 1.5}}),
       "rules: invalid JSON: json: cannot unmarshal number 1.5 into Go struct field NetworkRules.links of type int",
       "rules: invalid JSON: json: cannot unmarshal number 1.5 into Go struct field NetworkRules.links of type int"},
      {rules({{"cycle", 60}}),
       "rules: invalid JSON: json: cannot unmarshal number into Go struct field NetworkRules.cycle of type string",
       "rules: invalid JSON: json: cannot unmarshal number into Go struct field NetworkRules.cycle of type string"},
      {"{", "rules: invalid JSON: unexpected end of JSON input", "rules: invalid JSON: unexpected end of JSON input"},
      {"[1]", "rules: invalid JSON: json: cannot unmarshal array into Go value of type wire.NetworkRules",
       "rules: invalid JSON: json: cannot unmarshal array into Go value of type wire.NetworkRules"},
      {"null", "rules: links must be >= 1 (got 0)", kHidden},
      {json::object(), "rules: links must be >= 1 (got 0)", kHidden},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.rules.dump());
    expect_rejected(create_req(n.id, "managed", {{"rules", c.rules}}), c.raw, c.wire);
    // The same document as a JSON string.
    if (c.rules.is_object()) expect_rejected(create_req(n.id, "managed", {{"rules", c.rules.dump()}}), c.raw, c.wire);
  }
  // A string-form 3.0 is a float literal for Go's int field (unlike the object form).
  expect_rejected(
      create_req(n.id, "managed", {{"rules", R"({"links":3.0})"}}),
      "rules: invalid JSON: json: cannot unmarshal number 3.0 into Go struct field NetworkRules.links of type "
      "int");
  // Rules are checked before the name.
  expect_rejected(create_req(n.id, "BAD", {{"rules", rules({{"links", 0}})}}), "rules: links must be >= 1 (got 0)",
                  kHidden);
}

TEST_F(NetworkOpsTest, CreateExprPolicyStringOrObject) {
  auto n = add_node();
  json resp = call(create_req(n.id, "expr-a", {{"expr_policy", R"({"version": 1, "rules": [{"on": "dial"}]})"}}));
  ASSERT_EQ(resp.value("type", ""), "create_network_ok") << resp.dump();
  EXPECT_FALSE(resp.contains("managed"));
  EXPECT_EQ(net(1)->expr_policy_json, R"({"version":1,"rules":[{"on":"dial"}]})");  // compact, order kept

  resp = call(create_req(n.id, "expr-b", {{"expr_policy", {{"version", 1.0}, {"rules", json::array()}}}}));
  ASSERT_EQ(resp.value("type", ""), "create_network_ok") << resp.dump();
  EXPECT_EQ(net(2)->expr_policy_json, R"({"rules":[],"version":1})");

  expect_rejected(create_req(n.id, "expr-c", {{"expr_policy", {{"version", 2}}}}),
                  "expr_policy: unsupported version 2 (want 1)", kHidden);
  expect_rejected(create_req(n.id, "expr-c", {{"expr_policy", R"({"rules":[]})"}}),
                  "expr_policy: unsupported version 0 (want 1)", kHidden);
  expect_rejected(create_req(n.id, "expr-c", {{"expr_policy", "{"}}),
                  "expr_policy: invalid JSON: unexpected end of JSON input");
  expect_rejected(create_req(n.id, "expr-c", {{"expr_policy", R"({"version":"1"})"}}),
                  "expr_policy: invalid JSON: json: cannot unmarshal string into Go struct field .version of type int");
}

// ---- join_network (§21 items 84–86) ----------------------------------------------

TEST_F(NetworkOpsTest, JoinReturnsNetworkScopedAddress) {
  auto owner = add_node();
  auto m = add_node();
  create(owner.id, "alpha");
  create(owner.id, "beta");
  EXPECT_EQ(call_raw(join_req(m, 2)), R"({"address":"2:0002.0000.0002","network_id":2,"type":"join_network_ok"})");
  EXPECT_TRUE(state_.networks.is_member(2, m.id));
  EXPECT_EQ(net(2)->members, (std::vector<uint32_t>{owner.id, m.id}));
  EXPECT_EQ(role(2, m.id), Role::kMember);
  EXPECT_FALSE(state_.networks.is_member(1, m.id));
}

TEST_F(NetworkOpsTest, JoinBackboneRejected) {
  auto m = add_node();
  expect_rejected(join_req(m, 0), "cannot join the backbone network");
  json no_net = join_req(m, 0);
  no_net.erase("network_id");
  expect_rejected(no_net, "cannot join the backbone network");
  expect_rejected(join_req(m, 0, {{"network_id", 70000}}), "cannot join the backbone network");  // > uint16 reads as 0
}

TEST_F(NetworkOpsTest, JoinUnknownNodeOrNetwork) {
  auto owner = add_node();
  auto m = add_node();
  create(owner.id, "alpha");
  json ghost = join_req(m, 1, {{"node_id", 99}});
  expect_rejected(ghost, "node 99 not registered", kHidden);
  expect_rejected(join_req(m, 7), "network 7: network not found");
}

TEST_F(NetworkOpsTest, JoinTokenNetwork) {
  auto owner = add_node();
  auto m = add_node();
  create(owner.id, "vault", {{"join_rule", "token"}, {"token", "open-sesame"}});
  expect_rejected(join_req(m, 1, {{"token", "wrong"}}), "invalid token for network 1");
  expect_rejected(join_req(m, 1), "invalid token for network 1");
  expect_rejected(join_req(m, 1, {{"token", "open-sesam"}}), "invalid token for network 1");
  json resp = call(join_req(m, 1, {{"token", "open-sesame"}}));
  EXPECT_EQ(resp.value("type", ""), "join_network_ok") << resp.dump();
  EXPECT_TRUE(state_.networks.is_member(1, m.id));
}

TEST_F(NetworkOpsTest, JoinInviteNetworkNeedsInvites) {
  auto owner = add_node();
  auto m = add_node();
  create(owner.id, "club", {{"join_rule", "invite"}, {"enterprise", true}});
  expect_rejected(join_req(m, 1), "invite-only networks require invite_to_network + respond_invite flow");
  expect_rejected(join_req(m, 1, {{"admin_token", kAdmin}}),
                  "invite-only networks require invite_to_network + respond_invite flow");
}

TEST_F(NetworkOpsTest, JoinUnknownJoinRule) {
  auto owner = add_node();
  auto m = add_node();
  create(owner.id, "odd", {{"join_rule", "weird"}});  // the reference stores any rule text
  EXPECT_EQ(net(1)->join_rule, "weird");
  expect_rejected(join_req(m, 1), "unknown join rule: weird", kHidden);
}

TEST_F(NetworkOpsTest, JoinDuplicateRejected) {
  auto owner = add_node();
  auto m = add_node();
  create(owner.id, "alpha");
  join(m, 1);
  expect_rejected(join_req(m, 1), "node 2 already in network 1");
  expect_rejected(join_req(owner, 1), "node 1 already in network 1");
}

TEST_F(NetworkOpsTest, JoinEnforcesMaxMembers) {
  auto owner = add_node();
  auto a = add_node();
  auto b = add_node();
  create(owner.id, "small", {{"enterprise", true}});
  reg_.emit(NetworkPolicySet{1, 2, {}, ""});
  join(a, 1);
  expect_rejected(join_req(b, 1), "network membership limit reached", kHidden);
  // The limit is checked before the duplicate check, as in the reference.
  expect_rejected(join_req(a, 1), "network membership limit reached", kHidden);
  reg_.emit(NetworkPolicySet{1, 3, {}, ""});
  join(b, 1);
}

TEST_F(NetworkOpsTest, JoinSignatureRules) {
  auto owner = add_node();
  auto m = add_node();
  auto other = add_node();
  create(owner.id, "alpha");
  create(owner.id, "beta");

  // A signature for network 1 replayed for network 2.
  json replay = join_req(m, 2, {{"signature", m.sign("join_network:2:1")}});
  expect_rejected(replay, "signature verification failed");
  // Signed by another node's key.
  expect_rejected(join_req(m, 1, {{"signature", other.sign("join_network:2:1")}}), "signature verification failed");
  json unsigned_req = join_req(m, 1);
  unsigned_req.erase("signature");
  expect_rejected(unsigned_req, "signature required for authenticated node");
  expect_rejected(join_req(m, 1, {{"signature", "%%%"}}), "invalid signature encoding");
  // A wrong admin token does not rescue a bad signature; the signature error is reported.
  expect_rejected(join_req(m, 1, {{"signature", m.sign("join_network:2:2")}, {"admin_token", "nope"}}),
                  "signature verification failed");

  // The global admin token stands in for the signature.
  json by_admin = unsigned_req;
  by_admin["admin_token"] = kAdmin;
  EXPECT_EQ(call(by_admin).value("type", ""), "join_network_ok");
  EXPECT_EQ(call(join_req(m, 2)).value("type", ""), "join_network_ok");
}

TEST_F(NetworkOpsTest, JoinReturnsRulesAndExprPolicy) {
  auto owner = add_node();
  auto m = add_node();
  create(owner.id, "managed",
         {{"rules", R"({"links":2,"cycle":"1h","prune":0,"prune_by":"age","fill":2,"fill_how":"random"})"},
          {"expr_policy", R"({"version":1,"rules":[]})"}});
  EXPECT_EQ(call_raw(join_req(m, 1)),
            R"({"address":"1:0001.0000.0002","expr_policy":{"rules":[],"version":1},"network_id":1,)"
            R"("rules":{"cycle":"1h","fill":2,"fill_how":"random","links":2,"prune":0,"prune_by":"age"},)"
            R"("type":"join_network_ok"})");
}

TEST_F(NetworkOpsTest, JoinAppliesRbacPreAssignment) {
  auto owner = add_node();
  auto alice = add_node();
  auto bob = add_node();
  auto carol = add_node();
  create(owner.id, "corp", {{"enterprise", true}});
  reg_.emit(ExternalIdSet{alice.id, "Alice@Example.com"});
  reg_.emit(ExternalIdSet{carol.id, "carol@example.com"});
  reg_.emit(RbacPreAssigned{1, "alice@example.COM", Role::kAdmin});
  reg_.emit(RbacPreAssigned{1, "dave@example.com", Role::kOwner});
  join(alice, 1);
  join(bob, 1);
  join(carol, 1);
  EXPECT_EQ(role(1, alice.id), Role::kAdmin);   // case-insensitive external_id match
  EXPECT_EQ(role(1, bob.id), Role::kMember);    // no external_id
  EXPECT_EQ(role(1, carol.id), Role::kMember);  // no matching pre-assignment
}

// ---- leave_network (§21 item 87) -------------------------------------------------

TEST_F(NetworkOpsTest, LeaveNetwork) {
  auto owner = add_node();
  auto m = add_node();
  auto x = add_node();
  create(owner.id, "alpha");
  join(m, 1);
  reg_.emit(MemberTagsSet{1, m.id, {"svc"}});
  // Invites for this network, to and from the leaver.
  reg_.emit(InviteCreated{1, owner.id, m.id});
  reg_.emit(InviteCreated{1, m.id, x.id});
  ASSERT_EQ(state_.networks.invites_for(x.id).size(), 1u);

  expect_rejected(leave_req(m, 0), "cannot leave the backbone network");
  json join_sig = leave_req(m, 1);
  join_sig["signature"] = m.sign("join_network:2:1");
  expect_rejected(join_sig, "signature verification failed");

  EXPECT_EQ(call_raw(leave_req(m, 1)), R"({"network_id":1,"type":"leave_network_ok"})");
  EXPECT_FALSE(state_.networks.is_member(1, m.id));
  EXPECT_EQ(role(1, m.id), Role::kNone);
  EXPECT_EQ(net(1)->members, std::vector<uint32_t>{owner.id});
  EXPECT_FALSE(net(1)->member_tags.count(m.id));
  EXPECT_TRUE(state_.networks.invites_for(m.id).empty());
  EXPECT_TRUE(state_.networks.invites_for(x.id).empty());

  expect_rejected(leave_req(m, 1), "node 2 is not a member of network 1");
  expect_rejected(leave_req(x, 1), "node 3 is not a member of network 1");
  expect_rejected(leave_req(m, 9), "network 9: network not found");
  json ghost = leave_req(m, 1);
  ghost["node_id"] = 77;
  expect_rejected(ghost, "node 77 not registered", kHidden);
}

TEST_F(NetworkOpsTest, LeaveByEnterpriseOwnerNeedsTransfer) {
  auto owner = add_node();
  auto m = add_node();
  create(owner.id, "corp", {{"enterprise", true}});
  create(owner.id, "plain");
  join(m, 1);
  expect_rejected(leave_req(owner, 1), "cannot leave network: owner must transfer ownership first");
  // Admin token instead of a signature does not bypass the rule.
  json by_admin = {{"type", "leave_network"}, {"node_id", owner.id}, {"network_id", 1}, {"admin_token", kAdmin}};
  expect_rejected(by_admin, "cannot leave network: owner must transfer ownership first");
  // A non-enterprise owner may leave.
  EXPECT_EQ(call(leave_req(owner, 2)).value("type", ""), "leave_network_ok");
  EXPECT_TRUE(net(2)->members.empty());
  // A plain member of the enterprise network may leave, with the admin token too.
  json member_by_admin = {{"type", "leave_network"}, {"node_id", m.id}, {"network_id", 1}, {"admin_token", kAdmin}};
  EXPECT_EQ(call(member_by_admin).value("type", ""), "leave_network_ok");
}

// ---- delete_network (§21 item 88) ------------------------------------------------

TEST_F(NetworkOpsTest, DeleteNetworkRequiresOwner) {
  auto owner = add_node();
  auto m = add_node();
  auto outsider = add_node();
  create(owner.id, "alpha", {{"network_admin_token", "net-tok"}});
  join(m, 1);
  auto del = [](json extra) {
    json r = {{"type", "delete_network"}, {"network_id", 1}};
    r.update(extra);
    return r;
  };
  expect_rejected(del({{"network_id", 0}}), "cannot delete the backbone network");
  expect_rejected(del({{"network_id", 0}, {"admin_token", kAdmin}}), "cannot delete the backbone network");
  expect_rejected(del(json::object()), "rbac: node_id required for role-based authorization");
  expect_rejected(del({{"node_id", m.id}}), R"(rbac: node 2 has role "member", requires one of [owner])");
  expect_rejected(del({{"node_id", outsider.id}}), "rbac: node 3 has no role in network 1", kHidden);
  expect_rejected(del({{"node_id", m.id}, {"admin_token", "wrong"}}),
                  R"(rbac: node 2 has role "member", requires one of [owner])");
  expect_rejected(del({{"network_id", 9}, {"node_id", owner.id}}), "network 9: network not found");
  expect_rejected(del({{"network_id", 9}, {"admin_token", kAdmin}}), "network 9: network not found");
  EXPECT_TRUE(net(1) != nullptr);

  // The claimed node_id is trusted without a signature (spec §4.4).
  EXPECT_EQ(call_raw(del({{"node_id", owner.id}})), R"({"network_id":1,"type":"delete_network_ok"})");
  EXPECT_EQ(net(1), nullptr);
}

TEST_F(NetworkOpsTest, DeleteNetworkByAdminTokensRemovesEverything) {
  auto owner = add_node();
  auto m = add_node();
  auto x = add_node();
  create(owner.id, "alpha", {{"network_admin_token", "net-tok"}});
  create(owner.id, "beta");
  join(m, 1);
  join(m, 2);
  reg_.emit(InviteCreated{1, owner.id, x.id});
  reg_.emit(ExternalIdSet{x.id, "x@corp"});
  reg_.emit(RbacPreAssigned{1, "x@corp", Role::kAdmin});

  // Per-network admin token.
  json resp = call({{"type", "delete_network"}, {"network_id", 1}, {"admin_token", "net-tok"}});
  EXPECT_EQ(resp.value("type", ""), "delete_network_ok") << resp.dump();
  EXPECT_EQ(net(1), nullptr);
  EXPECT_EQ(state_.networks.memberships(owner.id), std::vector<uint16_t>{2});
  EXPECT_EQ(state_.networks.memberships(m.id), std::vector<uint16_t>{2});
  EXPECT_TRUE(state_.networks.invites_for(x.id).empty());
  EXPECT_TRUE(state_.networks.pre_assignments(1).empty());
  EXPECT_FALSE(state_.networks.id_by_name("alpha"));
  EXPECT_EQ(entry(list(), 1), nullptr);
  expect_rejected(join_req(x, 1), "network 1: network not found");

  // Global admin token.
  resp = call({{"type", "delete_network"}, {"network_id", 2}, {"admin_token", kAdmin}});
  EXPECT_EQ(resp.value("type", ""), "delete_network_ok") << resp.dump();
  EXPECT_TRUE(state_.networks.memberships(m.id).empty());
  // IDs are not reused.
  EXPECT_EQ(create(owner.id, "alpha"), 3);
}

// ---- rename_network (§21 item 89) ------------------------------------------------

TEST_F(NetworkOpsTest, RenameNetwork) {
  auto owner = add_node();
  auto adm = add_node();
  auto m = add_node();
  create(owner.id, "alpha");
  create(owner.id, "beta");
  join(adm, 1);
  join(m, 1);
  reg_.emit(MemberRoleSet{1, adm.id, Role::kAdmin, {}});
  auto ren = [](uint32_t node, const json& name) {
    return json{{"type", "rename_network"}, {"network_id", 1}, {"node_id", node}, {"name", name}};
  };
  expect_rejected({{"type", "rename_network"}, {"network_id", 0}, {"admin_token", kAdmin}, {"name", "x"}},
                  "cannot rename the backbone network");
  expect_rejected(ren(m.id, "gamma"), R"(rbac: node 3 has role "member", requires one of [owner admin])");
  expect_rejected(ren(owner.id, "Gamma"),
                  "network name must be lowercase alphanumeric with hyphens, start/end with alphanumeric", kHidden);
  expect_rejected(ren(owner.id, ""), "network name required");
  expect_rejected(ren(owner.id, std::string(64, 'g')), "network name too long (max 63 chars)");
  expect_rejected(ren(owner.id, "backbone"), R"(network name "backbone" is reserved)", kHidden);
  expect_rejected(ren(owner.id, "beta"), R"(network "beta" already exists)");
  expect_rejected({{"type", "rename_network"}, {"network_id", 5}, {"admin_token", kAdmin}, {"name", "x"}},
                  "network 5: network not found");

  EXPECT_EQ(call_raw(ren(adm.id, "gamma")), R"({"name":"gamma","network_id":1,"type":"rename_network_ok"})");
  EXPECT_EQ(net(1)->name, "gamma");
  EXPECT_EQ(state_.networks.id_by_name("gamma"), std::optional<uint16_t>(1));
  EXPECT_FALSE(state_.networks.id_by_name("alpha"));
  // Renaming to its own name succeeds and changes nothing.
  const State before = state_;
  EXPECT_EQ(call(ren(owner.id, "gamma")).value("type", ""), "rename_network_ok");
  EXPECT_TRUE(state_ == before);
  // The old name is free again.
  EXPECT_EQ(create(owner.id, "alpha"), 3);
}

// ---- set_network_enterprise (§21 item 90) ----------------------------------------

TEST_F(NetworkOpsTest, SetNetworkEnterprise) {
  auto owner = add_node();
  auto a = add_node();
  auto b = add_node();
  create(owner.id, "alpha");
  join(a, 1);
  join(b, 1);
  reg_.emit(MemberRoleSet{1, a.id, Role::kAdmin, {}});
  auto req = [](uint16_t id, bool ent, const json& token) {
    json r = {{"type", "set_network_enterprise"}, {"network_id", id}, {"enterprise", ent}};
    if (!token.is_null()) r["admin_token"] = token;
    return r;
  };
  expect_rejected(req(0, true, kAdmin), "cannot set enterprise on the backbone network");
  expect_rejected(req(1, true, nullptr), "set_network_enterprise requires admin token");
  expect_rejected(req(1, true, "wrong"), "set_network_enterprise requires admin token");
  expect_rejected(req(1, true, 1), "set_network_enterprise requires admin token");
  expect_rejected(req(9, true, kAdmin), "network 9: network not found");

  EXPECT_EQ(call_raw(req(1, true, kAdmin)), R"({"enterprise":true,"network_id":1,"type":"set_network_enterprise_ok"})");
  EXPECT_TRUE(net(1)->enterprise);
  EXPECT_EQ(role(1, owner.id), Role::kOwner);  // existing roles kept
  EXPECT_EQ(role(1, a.id), Role::kAdmin);

  EXPECT_EQ(call_raw(req(1, false, kAdmin)),
            R"({"enterprise":false,"network_id":1,"type":"set_network_enterprise_ok"})");
  EXPECT_FALSE(net(1)->enterprise);
  EXPECT_TRUE(net(1)->roles.empty());  // false clears every role
  EXPECT_EQ(net(1)->members.size(), 3u);

  // true back-fills: the first member in join order becomes owner, the rest members.
  EXPECT_EQ(call(req(1, true, kAdmin)).value("type", ""), "set_network_enterprise_ok");
  EXPECT_EQ(role(1, owner.id), Role::kOwner);
  EXPECT_EQ(role(1, a.id), Role::kMember);
  EXPECT_EQ(role(1, b.id), Role::kMember);

  // With no admin token configured the op is refused the same way.
  options().admin_token.clear();
  expect_rejected(req(1, false, ""), "set_network_enterprise requires admin token");
}

// ---- list_networks (§6.7, §21 items 63–64) ---------------------------------------

TEST_F(NetworkOpsTest, ListNetworksBackboneOnly) {
  add_node();
  EXPECT_EQ(call_raw({{"type", "list_networks"}}),
            R"({"networks":[{"created":0,"enterprise":false,"id":0,"join_rule":"open","name":"backbone"}],)"
            R"("type":"list_networks_ok"})");
  EXPECT_EQ(call_raw({{"type", "list_networks"}, {"admin_token", kAdmin}}),
            R"({"networks":[{"created":0,"enterprise":false,"id":0,"join_rule":"open","members":1,)"
            R"("name":"backbone"}],"type":"list_networks_ok"})");
}

TEST_F(NetworkOpsTest, ListNetworksMembersOnlyWithAdminToken) {
  auto owner = add_node();
  auto a = add_node();
  add_node();
  now_ += int64_t{5} * 1000000000 + 999999999;  // created is whole seconds
  create(owner.id, "alpha");
  join(a, 1);

  json plain = list();
  ASSERT_EQ(plain["networks"].size(), 2u);
  for (const auto& e : plain["networks"]) EXPECT_FALSE(e.contains("members")) << e.dump();
  EXPECT_FALSE(entry(list({{"admin_token", "wrong"}}), 1)->contains("members"));

  json admin = list({{"admin_token", kAdmin}});
  EXPECT_EQ(entry(admin, 0)->at("members"), 3);  // backbone: every live node
  EXPECT_EQ(*entry(admin, 1), (json{{"id", 1},
                                    {"name", "alpha"},
                                    {"join_rule", "open"},
                                    {"enterprise", false},
                                    {"created", kStart / 1000000000 + 5},
                                    {"members", 2}}));
}

TEST_F(NetworkOpsTest, ListNetworksShowsManagedPolicyAndExpr) {
  auto owner = add_node();
  create(
      owner.id, "managed",
      {{"rules",
        {{"links", 4}, {"cycle", "2h"}, {"prune", 1}, {"prune_by", "activity"}, {"fill", 2}, {"fill_how", "random"}}}});
  create(owner.id, "corp", {{"enterprise", true}, {"expr_policy", {{"version", 1}}}});
  create(owner.id, "plain", {{"join_rule", "token"}, {"token", "t"}});
  reg_.emit(NetworkPolicySet{2, 50, {80}, "corp net"});
  reg_.emit(NetworkPolicySet{3, 10, {}, "not shown"});  // policy fields only for enterprise networks

  json l = list();
  EXPECT_EQ(*entry(l, 1), (json{{"id", 1},
                                {"name", "managed"},
                                {"join_rule", "open"},
                                {"enterprise", false},
                                {"created", kStart / 1000000000},
                                {"managed", true},
                                {"rules",
                                 {{"links", 4},
                                  {"cycle", "2h"},
                                  {"prune", 1},
                                  {"prune_by", "activity"},
                                  {"fill", 2},
                                  {"fill_how", "random"}}}}));
  EXPECT_EQ(*entry(l, 2), (json{{"id", 2},
                                {"name", "corp"},
                                {"join_rule", "open"},
                                {"enterprise", true},
                                {"created", kStart / 1000000000},
                                {"max_members", 50},
                                {"description", "corp net"},
                                {"has_expr_policy", true}}));
  EXPECT_EQ(*entry(l, 3), (json{{"id", 3},
                                {"name", "plain"},
                                {"join_rule", "token"},
                                {"enterprise", false},
                                {"created", kStart / 1000000000}}));
}

TEST_F(NetworkOpsTest, ListNetworksStrictHidesNonOpenNetworks) {
  auto owner = add_node();
  auto m = add_node();
  auto outsider = add_node();
  create(owner.id, "open-net");
  create(owner.id, "token-net", {{"join_rule", "token"}, {"token", "t"}});
  create(owner.id, "invite-net", {{"join_rule", "invite"}, {"enterprise", true}});
  ASSERT_EQ(call(join_req(m, 2, {{"token", "t"}})).value("type", ""), "join_network_ok");
  options().strict_directory_auth = true;

  auto ids = [](const json& l) {
    std::vector<int> out;
    for (const auto& e : l["networks"]) out.push_back(e["id"].get<int>());
    return out;
  };
  auto signed_by = [](const TestNode& n, uint32_t claimed) {
    return json{{"requester_id", claimed}, {"signature", n.sign("list_networks:" + std::to_string(claimed))}};
  };
  EXPECT_EQ(ids(list()), (std::vector<int>{0, 1}));
  EXPECT_EQ(ids(list(signed_by(m, m.id))), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(ids(list(signed_by(owner, owner.id))), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(ids(list(signed_by(outsider, outsider.id))), (std::vector<int>{0, 1}));
  // A claimed identity without its key's signature proves nothing.
  EXPECT_EQ(ids(list(signed_by(m, owner.id))), (std::vector<int>{0, 1}));
  EXPECT_EQ(ids(list({{"requester_id", owner.id}})), (std::vector<int>{0, 1}));
  EXPECT_EQ(ids(list({{"requester_id", owner.id}, {"signature", "!!"}})), (std::vector<int>{0, 1}));
  EXPECT_EQ(ids(list({{"requester_id", 99}, {"signature", owner.sign("list_networks:99")}})), (std::vector<int>{0, 1}));
  // The admin token sees everything, with counts.
  json admin = list({{"admin_token", kAdmin}});
  EXPECT_EQ(ids(admin), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(entry(admin, 2)->at("members"), 2);

  options().strict_directory_auth = false;
  EXPECT_EQ(ids(list()), (std::vector<int>{0, 1, 2, 3}));
}

// ---- end to end ------------------------------------------------------------------

TEST_F(NetworkOpsTest, CreateJoinLeaveDeleteLifecycle) {
  auto owner = add_node();
  auto m = add_node();
  uint16_t id = create(owner.id, "life", {{"enterprise", true}});
  join(m, id);
  EXPECT_EQ(state_.networks.networks_of(m.id), (std::vector<uint16_t>{0, 1}));
  EXPECT_EQ(call(leave_req(m, id)).value("type", ""), "leave_network_ok");
  join(m, id);  // rejoin after leaving
  EXPECT_EQ(role(id, m.id), Role::kMember);
  EXPECT_EQ(call({{"type", "delete_network"}, {"network_id", id}, {"node_id", owner.id}}).value("type", ""),
            "delete_network_ok");
  EXPECT_EQ(state_.networks.networks_of(m.id), (std::vector<uint16_t>{0}));
  EXPECT_EQ(state_.networks.networks_of(owner.id), (std::vector<uint16_t>{0}));
}

}  // namespace
}  // namespace pilot::rpc::testing
