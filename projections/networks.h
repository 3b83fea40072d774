// The networks projection: custom networks, their members (in join order), RBAC roles,
// member tags, policies, the invite inbox and RBAC pre-assignments.
//
// Network 0 ("backbone", join rule "open") always exists and is never changed by an
// event: every live node is implicitly a member, so backbone membership is the
// directory's liveness and is not stored here.
//
// Invariants (kept by apply; the derived ones are rebuilt by snapshot load):
//   * network names are unique (an event that would duplicate one is ignored);
//   * roles and member tags only exist for members; no empty tag lists are stored;
//   * memberships(node) == sorted {net != 0 : node in net.members}      (derived)
//   * an inbox holds at most one invite per network; no empty inboxes    (primary)
//   * invites_sent(inviter) == {(net, target) : invite in target's inbox} (derived)
//   * next_net > every network ID ever created; it reaches 65536 when the space is spent.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/events.h"

namespace pilot {

struct NetworkPolicy {
  uint32_t max_members = 0;  // 0 = unlimited
  std::vector<uint16_t> allowed_ports;
  std::string description;
  bool operator==(const NetworkPolicy&) const = default;
};

struct Network {
  uint16_t id = 0;
  std::string name;
  std::string join_rule;  // open | token | invite
  std::string token;
  std::string admin_token;
  bool enterprise = false;
  std::vector<uint32_t> members;                                       // join order
  std::unordered_map<uint32_t, Role> roles;                            // members with a role only
  std::unordered_map<uint32_t, std::vector<std::string>> member_tags;  // non-empty lists only
  NetworkPolicy policy;
  std::string rules_json;        // managed-network rules, raw JSON; empty = none
  std::string expr_policy_json;  // raw JSON; empty = none
  int64_t created_ns = 0;        // unix nanoseconds of the NetworkCreated record

  Role role_of(uint32_t node) const {
    auto it = roles.find(node);
    return it == roles.end() ? Role::kNone : it->second;
  }
  bool operator==(const Network&) const = default;
};

struct Invite {
  uint16_t network_id = 0;
  uint32_t inviter_id = 0;
  int64_t time_ns = 0;
  bool operator==(const Invite&) const = default;
};

struct PreAssignment {  // a role waiting for the node whose external_id matches
  std::string external_id;
  Role role = Role::kMember;
  bool operator==(const PreAssignment&) const = default;
};

class Networks {
 public:
  using NetworkMap = std::map<uint16_t, Network>;

  Networks();

  // ---- queries ----
  const Network* find(uint16_t id) const {
    auto it = nets_.find(id);
    return it == nets_.end() ? nullptr : &it->second;
  }
  std::optional<uint16_t> id_by_name(const std::string& name) const {
    auto it = name_idx_.find(name);
    if (it == name_idx_.end()) return std::nullopt;
    return it->second;
  }
  const NetworkMap& all() const { return nets_; }
  // Membership in a custom network (always false for network 0: backbone membership
  // is liveness, ask the directory). O(number of networks the node is in).
  bool is_member(uint16_t net, uint32_t node) const;
  // Custom networks the node belongs to, ascending. Empty if none.
  const std::vector<uint16_t>& memberships(uint32_t node) const;
  // 0 first, then the custom networks containing the node, ascending. The caller
  // decides whether the node is live (an expired node keeps its memberships).
  std::vector<uint16_t> networks_of(uint32_t node) const;
  // true if a and b are both members of some custom network.
  bool share_custom_network(uint32_t a, uint32_t b) const;
  // Invites addressed to `node`, oldest first (empty if none).
  const std::vector<Invite>& invites_for(uint32_t node) const;
  const std::unordered_map<uint32_t, std::vector<Invite>>& invite_inbox() const { return inbox_; }
  const std::map<uint16_t, std::vector<PreAssignment>>& pre_assignments() const { return rbac_; }
  const std::vector<PreAssignment>& pre_assignments(uint16_t net) const;
  // The ID the next created network gets; > 65535 means the space is exhausted.
  uint32_t next_net() const { return next_net_; }

  // ---- apply (see README.md; events naming an absent network, or network 0, are
  // ignored, except that NodeDeregistered and MemberLeft are always safe to apply) ----
  void apply(const EventMeta& m, const NetworkCreated& e);
  void apply(const EventMeta& m, const MemberJoined& e);
  void apply(const EventMeta& m, const MemberLeft& e);
  void apply(const EventMeta& m, const NetworkDeleted& e);
  void apply(const EventMeta& m, const NetworkRenamed& e);
  void apply(const EventMeta& m, const NetworkEnterpriseSet& e);
  void apply(const EventMeta& m, const MemberRoleSet& e);
  void apply(const EventMeta& m, const MemberTagsSet& e);
  void apply(const EventMeta& m, const NetworkPolicySet& e);
  void apply(const EventMeta& m, const ExprPolicySet& e);
  void apply(const EventMeta& m, const InviteCreated& e);
  void apply(const EventMeta& m, const InviteRemoved& e);
  void apply(const EventMeta& m, const RbacPreAssigned& e);
  void apply(const EventMeta& m, const NodeDeregistered& e);

  bool operator==(const Networks&) const = default;

 private:
  friend struct SnapshotAccess;

  Network* custom(uint16_t id) {  // nullptr for 0 or absent
    if (id == 0) return nullptr;
    auto it = nets_.find(id);
    return it == nets_.end() ? nullptr : &it->second;
  }
  void add_membership(uint32_t node, uint16_t net);
  void drop_membership(uint32_t node, uint16_t net);
  // Removes node from net's members, roles and member tags (not its invites).
  void remove_member(Network& net, uint32_t node);
  // Removes the invite to `target` for `net`, if any.
  void remove_invite(uint16_t net, uint32_t target);
  void rebuild_derived();

  NetworkMap nets_;
  std::unordered_map<std::string, uint16_t> name_idx_;
  std::unordered_map<uint32_t, std::vector<uint16_t>> memberships_;             // derived, sorted
  std::unordered_map<uint32_t, std::vector<Invite>> inbox_;                     // target -> invites
  std::unordered_map<uint32_t, std::set<std::pair<uint16_t, uint32_t>>> sent_;  // derived
  std::map<uint16_t, std::vector<PreAssignment>> rbac_;
  uint32_t next_net_ = 1;
};

}  // namespace pilot
