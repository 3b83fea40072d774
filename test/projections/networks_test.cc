#include "projections/networks.h"

#include <gtest/gtest.h>

#include "test/projections/helpers.h"

namespace pilot {
namespace {

using projtest::Clock;

class NetworksTest : public ::testing::Test {
 protected:
  template <class E>
  void apply(const E& e) {
    n.apply(clock.next(), e);
  }
  void create(uint16_t id, const std::string& name, uint32_t creator, bool enterprise = false) {
    NetworkCreated e;
    e.network_id = id;
    e.name = name;
    e.join_rule = "open";
    e.enterprise = enterprise;
    e.creator_node_id = creator;
    apply(e);
  }
  std::vector<uint32_t> members(uint16_t id) { return n.find(id) ? n.find(id)->members : std::vector<uint32_t>{}; }
  Role role(uint16_t id, uint32_t node) { return n.find(id)->role_of(node); }

  Networks n;
  Clock clock;
};

TEST_F(NetworksTest, BackboneExistsFromTheStart) {
  const Network* b = n.find(0);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->name, "backbone");
  EXPECT_EQ(b->join_rule, "open");
  EXPECT_TRUE(b->members.empty());
  EXPECT_EQ(n.id_by_name("backbone"), 0);
  EXPECT_EQ(n.next_net(), 1u);
  EXPECT_EQ(n.networks_of(5), std::vector<uint16_t>{0});
  EXPECT_FALSE(n.is_member(0, 5));
}

TEST_F(NetworksTest, CreateMakesCreatorOwner) {
  NetworkCreated e;
  e.network_id = 3;
  e.name = "lab";
  e.join_rule = "token";
  e.token = "tok";
  e.admin_token = "adm";
  e.enterprise = true;
  e.creator_node_id = 42;
  e.rules_json = "{\"links\":2}";
  e.expr_policy_json = "{\"version\":1}";
  int64_t t = clock.peek();
  apply(e);
  const Network* net = n.find(3);
  ASSERT_NE(net, nullptr);
  EXPECT_EQ(net->id, 3);
  EXPECT_EQ(net->name, "lab");
  EXPECT_EQ(net->join_rule, "token");
  EXPECT_EQ(net->token, "tok");
  EXPECT_EQ(net->admin_token, "adm");
  EXPECT_TRUE(net->enterprise);
  EXPECT_EQ(net->rules_json, "{\"links\":2}");
  EXPECT_EQ(net->expr_policy_json, "{\"version\":1}");
  EXPECT_EQ(net->created_ns, t);
  EXPECT_EQ(net->members, std::vector<uint32_t>{42});
  EXPECT_EQ(net->role_of(42), Role::kOwner);
  EXPECT_EQ(n.id_by_name("lab"), 3);
  EXPECT_EQ(n.next_net(), 4u);
  EXPECT_EQ(n.networks_of(42), (std::vector<uint16_t>{0, 3}));
}

TEST_F(NetworksTest, OperatorCreatedNetworkHasNoMembers) {
  create(1, "ops", 0);
  EXPECT_TRUE(members(1).empty());
  EXPECT_TRUE(n.find(1)->roles.empty());
}

TEST_F(NetworksTest, DuplicateIdOrNameOrBackboneIsIgnored) {
  create(1, "a", 5);
  Networks before = n;
  create(1, "b", 6);         // id taken
  create(2, "a", 6);         // name taken
  create(0, "zero", 6);      // the backbone
  create(3, "backbone", 6);  // reserved name
  EXPECT_TRUE(n == before);
  create(65535, "last", 1);
  EXPECT_EQ(n.next_net(), 65536u);
}

TEST_F(NetworksTest, JoinKeepsOrderAndStoresTheGivenRole) {
  create(1, "a", 0);
  apply(MemberJoined{1, 30, Role::kMember});
  apply(MemberJoined{1, 10, Role::kAdmin});
  apply(MemberJoined{1, 20, Role::kNone});
  EXPECT_EQ(members(1), (std::vector<uint32_t>{30, 10, 20}));
  EXPECT_EQ(role(1, 30), Role::kMember);
  EXPECT_EQ(role(1, 10), Role::kAdmin);
  EXPECT_EQ(role(1, 20), Role::kNone);
  EXPECT_TRUE(n.is_member(1, 20));
  // Joining again does not duplicate; the role is the event's.
  apply(MemberJoined{1, 30, Role::kAdmin});
  EXPECT_EQ(members(1), (std::vector<uint32_t>{30, 10, 20}));
  EXPECT_EQ(role(1, 30), Role::kAdmin);
}

TEST_F(NetworksTest, JoinOfBackboneUnknownNetworkOrNodeZeroIsIgnored) {
  create(1, "a", 0);
  Networks before = n;
  apply(MemberJoined{0, 5, Role::kMember});
  apply(MemberJoined{9, 5, Role::kMember});
  apply(MemberJoined{1, 0, Role::kMember});
  EXPECT_TRUE(n == before);
  EXPECT_EQ(n.networks_of(5), std::vector<uint16_t>{0});
}

TEST_F(NetworksTest, LeaveRemovesMemberRoleTagsAndThatNetworksInvites) {
  create(1, "a", 5, true);
  create(2, "b", 5, true);
  apply(MemberJoined{1, 6, Role::kAdmin});
  apply(MemberJoined{2, 6, Role::kMember});
  apply(MemberTagsSet{1, 6, {"x"}});
  apply(InviteCreated{1, 6, 7});  // sent by 6 for net 1
  apply(InviteCreated{2, 6, 8});  // sent by 6 for net 2
  apply(InviteCreated{1, 5, 6});  // addressed to 6 for net 1 (odd, but possible)
  apply(InviteCreated{2, 5, 6});  // addressed to 6 for net 2

  apply(MemberLeft{1, 6, LeaveReason::kLeft, {}});
  EXPECT_EQ(members(1), std::vector<uint32_t>{5});
  EXPECT_EQ(role(1, 6), Role::kNone);
  EXPECT_FALSE(n.find(1)->member_tags.count(6));
  EXPECT_FALSE(n.is_member(1, 6));
  EXPECT_TRUE(n.invites_for(7).empty());
  ASSERT_EQ(n.invites_for(8).size(), 1u);  // other network: kept
  ASSERT_EQ(n.invites_for(6).size(), 1u);
  EXPECT_EQ(n.invites_for(6)[0].network_id, 2);
  EXPECT_EQ(n.networks_of(6), (std::vector<uint16_t>{0, 2}));
}

TEST_F(NetworksTest, DeleteDropsMembershipsInvitesAndPreAssignments) {
  create(1, "a", 5, true);
  create(2, "b", 5, true);
  apply(MemberJoined{1, 6, Role::kMember});
  apply(InviteCreated{1, 5, 7});
  apply(InviteCreated{2, 5, 7});
  apply(RbacPreAssigned{1, "ext", Role::kAdmin});
  apply(NetworkDeleted{1});
  EXPECT_EQ(n.find(1), nullptr);
  EXPECT_FALSE(n.id_by_name("a").has_value());
  EXPECT_EQ(n.networks_of(5), (std::vector<uint16_t>{0, 2}));
  EXPECT_EQ(n.networks_of(6), std::vector<uint16_t>{0});
  ASSERT_EQ(n.invites_for(7).size(), 1u);
  EXPECT_EQ(n.invites_for(7)[0].network_id, 2);
  EXPECT_TRUE(n.pre_assignments(1).empty());
  EXPECT_EQ(n.next_net(), 3u);  // IDs are not reused
  // The name is free again.
  create(3, "a", 0);
  EXPECT_EQ(n.id_by_name("a"), 3);
  // The backbone cannot be deleted.
  apply(NetworkDeleted{0});
  EXPECT_NE(n.find(0), nullptr);
}

TEST_F(NetworksTest, Rename) {
  create(1, "a", 0);
  create(2, "b", 0);
  apply(NetworkRenamed{1, "c"});
  EXPECT_EQ(n.find(1)->name, "c");
  EXPECT_EQ(n.id_by_name("c"), 1);
  EXPECT_FALSE(n.id_by_name("a").has_value());
  apply(NetworkRenamed{1, "b"});  // taken: ignored
  EXPECT_EQ(n.find(1)->name, "c");
  EXPECT_EQ(n.id_by_name("b"), 2);
  apply(NetworkRenamed{0, "x"});
  EXPECT_EQ(n.find(0)->name, "backbone");
}

TEST_F(NetworksTest, EnterpriseOffClearsRolesOnBackfillsInMemberOrder) {
  create(1, "a", 0);
  apply(MemberJoined{1, 30, Role::kNone});
  apply(MemberJoined{1, 10, Role::kNone});
  apply(MemberJoined{1, 20, Role::kNone});
  apply(NetworkEnterpriseSet{1, true});
  EXPECT_TRUE(n.find(1)->enterprise);
  EXPECT_EQ(role(1, 30), Role::kOwner);  // first in join order, not lowest ID
  EXPECT_EQ(role(1, 10), Role::kMember);
  EXPECT_EQ(role(1, 20), Role::kMember);

  apply(NetworkEnterpriseSet{1, false});
  EXPECT_FALSE(n.find(1)->enterprise);
  EXPECT_TRUE(n.find(1)->roles.empty());
  EXPECT_EQ(members(1).size(), 3u);
}

TEST_F(NetworksTest, EnterpriseBackfillKeepsAnExistingOwner) {
  create(1, "a", 0);
  apply(MemberJoined{1, 30, Role::kNone});
  apply(MemberJoined{1, 10, Role::kAdmin});
  apply(MemberJoined{1, 20, Role::kOwner});
  apply(NetworkEnterpriseSet{1, true});
  EXPECT_EQ(role(1, 30), Role::kMember);
  EXPECT_EQ(role(1, 10), Role::kAdmin);
  EXPECT_EQ(role(1, 20), Role::kOwner);
}

TEST_F(NetworksTest, RoleAndTagsOnlyForMembers) {
  create(1, "a", 5, true);
  apply(MemberJoined{1, 6, Role::kMember});
  apply(MemberRoleSet{1, 6, Role::kAdmin, {}});
  EXPECT_EQ(role(1, 6), Role::kAdmin);
  apply(MemberRoleSet{1, 5, Role::kAdmin, {}});  // transfer: old owner -> admin
  apply(MemberRoleSet{1, 6, Role::kOwner, {}});
  EXPECT_EQ(role(1, 5), Role::kAdmin);
  EXPECT_EQ(role(1, 6), Role::kOwner);
  apply(MemberTagsSet{1, 6, {"gpu", "eu"}});
  EXPECT_EQ(n.find(1)->member_tags.at(6), (std::vector<std::string>{"gpu", "eu"}));
  apply(MemberTagsSet{1, 6, {}});
  EXPECT_FALSE(n.find(1)->member_tags.count(6));

  Networks before = n;
  apply(MemberRoleSet{1, 99, Role::kAdmin, {}});  // not a member
  apply(MemberTagsSet{1, 99, {"x"}});
  apply(MemberRoleSet{7, 6, Role::kAdmin, {}});  // no such network
  apply(MemberTagsSet{0, 6, {"x"}});
  EXPECT_TRUE(n == before);
}

TEST_F(NetworksTest, PolicyAndExprPolicy) {
  create(1, "a", 0, true);
  apply(NetworkPolicySet{1, 50, {80, 443}, "web only"});
  EXPECT_EQ(n.find(1)->policy.max_members, 50u);
  EXPECT_EQ(n.find(1)->policy.allowed_ports, (std::vector<uint16_t>{80, 443}));
  EXPECT_EQ(n.find(1)->policy.description, "web only");
  apply(NetworkPolicySet{1, 0, {}, ""});  // the full resulting policy, not a patch
  EXPECT_EQ(n.find(1)->policy, NetworkPolicy{});
  apply(ExprPolicySet{1, "{\"version\":1}"});
  EXPECT_EQ(n.find(1)->expr_policy_json, "{\"version\":1}");
  apply(ExprPolicySet{1, ""});
  EXPECT_EQ(n.find(1)->expr_policy_json, "");
}

TEST_F(NetworksTest, InvitesDedupAndRemove) {
  create(1, "a", 5, true);
  create(2, "b", 5, true);
  int64_t t = clock.peek();
  apply(InviteCreated{1, 5, 7});
  apply(InviteCreated{1, 6, 7});  // already invited to 1: keeps the first
  apply(InviteCreated{2, 5, 7});
  apply(InviteCreated{9, 5, 7});  // unknown network
  apply(InviteCreated{0, 5, 7});  // backbone
  const auto& v = n.invites_for(7);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], (Invite{1, 5, t}));
  EXPECT_EQ(v[1].network_id, 2);
  apply(InviteRemoved{1, 7});
  ASSERT_EQ(n.invites_for(7).size(), 1u);
  EXPECT_EQ(n.invites_for(7)[0].network_id, 2);
  apply(InviteRemoved{2, 7});
  EXPECT_TRUE(n.invite_inbox().empty());
  apply(InviteRemoved{2, 7});  // nothing left: no-op
  EXPECT_TRUE(n.invite_inbox().empty());
}

TEST_F(NetworksTest, PreAssignmentsReplaceAndWithdraw) {
  create(1, "a", 0, true);
  apply(RbacPreAssigned{1, "alice", Role::kAdmin});
  apply(RbacPreAssigned{1, "bob", Role::kMember});
  apply(RbacPreAssigned{1, "alice", Role::kOwner});
  ASSERT_EQ(n.pre_assignments(1).size(), 2u);
  EXPECT_EQ(n.pre_assignments(1)[0], (PreAssignment{"alice", Role::kOwner}));
  EXPECT_EQ(n.pre_assignments(1)[1], (PreAssignment{"bob", Role::kMember}));
  apply(RbacPreAssigned{1, "alice", Role::kNone});
  apply(RbacPreAssigned{1, "bob", Role::kNone});
  EXPECT_TRUE(n.pre_assignments().empty());
  apply(RbacPreAssigned{4, "x", Role::kAdmin});  // unknown network
  EXPECT_TRUE(n.pre_assignments().empty());
}

TEST_F(NetworksTest, DeregisterLeavesEveryNetworkAndDropsInvitesBothWays) {
  create(1, "a", 5, true);
  create(2, "b", 6, true);
  apply(MemberJoined{1, 6, Role::kAdmin});
  apply(MemberTagsSet{1, 6, {"t"}});
  apply(InviteCreated{1, 6, 8});  // from 6
  apply(InviteCreated{2, 5, 6});  // to 6
  apply(InviteCreated{1, 5, 9});  // unrelated
  apply(NodeDeregistered{6});
  EXPECT_EQ(members(1), std::vector<uint32_t>{5});
  EXPECT_TRUE(members(2).empty());
  EXPECT_EQ(role(1, 6), Role::kNone);
  EXPECT_EQ(role(2, 6), Role::kNone);
  EXPECT_FALSE(n.find(1)->member_tags.count(6));
  EXPECT_EQ(n.networks_of(6), std::vector<uint16_t>{0});
  EXPECT_TRUE(n.invites_for(8).empty());
  EXPECT_TRUE(n.invites_for(6).empty());
  EXPECT_EQ(n.invites_for(9).size(), 1u);
}

TEST_F(NetworksTest, NetworksOfAndSharedNetworks) {
  create(5, "e", 1);
  create(2, "b", 1);
  create(9, "i", 2);
  apply(MemberJoined{9, 1, Role::kMember});
  EXPECT_EQ(n.networks_of(1), (std::vector<uint16_t>{0, 2, 5, 9}));
  EXPECT_EQ(n.memberships(1), (std::vector<uint16_t>{2, 5, 9}));
  EXPECT_TRUE(n.share_custom_network(1, 2));
  EXPECT_FALSE(n.share_custom_network(1, 3));
  apply(MemberLeft{9, 1, LeaveReason::kKicked, {}});
  EXPECT_FALSE(n.share_custom_network(1, 2));
}

}  // namespace
}  // namespace pilot
