#include "projections/networks.h"

#include <algorithm>

namespace pilot {
namespace {

const std::vector<uint16_t> kNoNets;
const std::vector<Invite> kNoInvites;
const std::vector<PreAssignment> kNoPreAssignments;

Network make_backbone() {
  Network n;
  n.id = 0;
  n.name = "backbone";
  n.join_rule = "open";
  return n;
}

}  // namespace

Networks::Networks() {
  nets_.emplace(0, make_backbone());
  name_idx_.emplace("backbone", 0);
}

bool Networks::is_member(uint16_t net, uint32_t node) const {
  if (net == 0) return false;
  const auto& v = memberships(node);
  return std::binary_search(v.begin(), v.end(), net);
}

const std::vector<uint16_t>& Networks::memberships(uint32_t node) const {
  auto it = memberships_.find(node);
  return it == memberships_.end() ? kNoNets : it->second;
}

std::vector<uint16_t> Networks::networks_of(uint32_t node) const {
  const auto& v = memberships(node);
  std::vector<uint16_t> out;
  out.reserve(v.size() + 1);
  out.push_back(0);
  out.insert(out.end(), v.begin(), v.end());
  return out;
}

bool Networks::share_custom_network(uint32_t a, uint32_t b) const {
  const auto& x = memberships(a);
  const auto& y = memberships(b);
  auto i = x.begin();
  auto j = y.begin();
  while (i != x.end() && j != y.end()) {
    if (*i == *j) return true;
    if (*i < *j)
      ++i;
    else
      ++j;
  }
  return false;
}

const std::vector<Invite>& Networks::invites_for(uint32_t node) const {
  auto it = inbox_.find(node);
  return it == inbox_.end() ? kNoInvites : it->second;
}

const std::vector<PreAssignment>& Networks::pre_assignments(uint16_t net) const {
  auto it = rbac_.find(net);
  return it == rbac_.end() ? kNoPreAssignments : it->second;
}

void Networks::add_membership(uint32_t node, uint16_t net) {
  auto& v = memberships_[node];
  v.insert(std::lower_bound(v.begin(), v.end(), net), net);
}

void Networks::drop_membership(uint32_t node, uint16_t net) {
  auto it = memberships_.find(node);
  if (it == memberships_.end()) return;
  auto& v = it->second;
  auto p = std::lower_bound(v.begin(), v.end(), net);
  if (p != v.end() && *p == net) v.erase(p);
  if (v.empty()) memberships_.erase(it);
}

void Networks::remove_member(Network& net, uint32_t node) {
  auto it = std::find(net.members.begin(), net.members.end(), node);
  if (it == net.members.end()) return;
  net.members.erase(it);
  net.roles.erase(node);
  net.member_tags.erase(node);
  drop_membership(node, net.id);
}

void Networks::remove_invite(uint16_t net, uint32_t target) {
  auto it = inbox_.find(target);
  if (it == inbox_.end()) return;
  auto& v = it->second;
  auto p = std::find_if(v.begin(), v.end(), [&](const Invite& i) { return i.network_id == net; });
  if (p == v.end()) return;
  uint32_t inviter = p->inviter_id;
  v.erase(p);
  if (v.empty()) inbox_.erase(it);
  if (auto s = sent_.find(inviter); s != sent_.end()) {
    s->second.erase({net, target});
    if (s->second.empty()) sent_.erase(s);
  }
}

void Networks::rebuild_derived() {
  name_idx_.clear();
  memberships_.clear();
  sent_.clear();
  for (const auto& [id, net] : nets_) {
    name_idx_.emplace(net.name, id);
    if (id == 0) continue;
    // nets_ is ordered by id, so appending keeps each membership list sorted.
    for (uint32_t node : net.members) memberships_[node].push_back(id);
  }
  for (const auto& [target, invites] : inbox_) {
    for (const Invite& i : invites) sent_[i.inviter_id].insert({i.network_id, target});
  }
}

void Networks::apply(const EventMeta& m, const NetworkCreated& e) {
  if (e.network_id == 0 || nets_.count(e.network_id) || name_idx_.count(e.name)) return;
  next_net_ = std::max<uint32_t>(next_net_, uint32_t{e.network_id} + 1);
  Network& n = nets_[e.network_id];
  n.id = e.network_id;
  n.name = e.name;
  n.join_rule = e.join_rule;
  n.token = e.token;
  n.admin_token = e.admin_token;
  n.enterprise = e.enterprise;
  n.rules_json = e.rules_json;
  n.expr_policy_json = e.expr_policy_json;
  n.created_ns = m.time_ns;
  if (e.creator_node_id != 0) {
    n.members.push_back(e.creator_node_id);
    n.roles.emplace(e.creator_node_id, Role::kOwner);
    add_membership(e.creator_node_id, e.network_id);
  }
  name_idx_.emplace(e.name, e.network_id);
}

void Networks::apply(const EventMeta&, const MemberJoined& e) {
  Network* n = custom(e.network_id);
  if (!n || e.node_id == 0) return;  // node 0 is reserved
  if (!is_member(e.network_id, e.node_id)) {
    n->members.push_back(e.node_id);
    add_membership(e.node_id, e.network_id);
  }
  // The handler already resolved the role (pre-assignment, enterprise rules).
  if (e.role == Role::kNone)
    n->roles.erase(e.node_id);
  else
    n->roles.insert_or_assign(e.node_id, e.role);
}

void Networks::apply(const EventMeta&, const MemberLeft& e) {
  Network* n = custom(e.network_id);
  if (!n) return;
  remove_member(*n, e.node_id);
  remove_invite(e.network_id, e.node_id);
  if (auto s = sent_.find(e.node_id); s != sent_.end()) {
    std::vector<uint32_t> targets;
    for (auto it = s->second.lower_bound({e.network_id, 0}); it != s->second.end() && it->first == e.network_id; ++it)
      targets.push_back(it->second);
    for (uint32_t t : targets) remove_invite(e.network_id, t);
  }
}

void Networks::apply(const EventMeta&, const NetworkDeleted& e) {
  Network* n = custom(e.network_id);
  if (!n) return;
  for (uint32_t node : n->members) drop_membership(node, e.network_id);
  // Invites for it, wherever they are (deletes are rare; invites are few).
  std::vector<uint32_t> targets;
  for (const auto& [target, invites] : inbox_) {
    for (const Invite& i : invites)
      if (i.network_id == e.network_id) targets.push_back(target);
  }
  for (uint32_t t : targets) remove_invite(e.network_id, t);
  rbac_.erase(e.network_id);
  name_idx_.erase(n->name);
  nets_.erase(e.network_id);
}

void Networks::apply(const EventMeta&, const NetworkRenamed& e) {
  Network* n = custom(e.network_id);
  if (!n || n->name == e.name || name_idx_.count(e.name)) return;
  name_idx_.erase(n->name);
  n->name = e.name;
  name_idx_.emplace(e.name, e.network_id);
}

void Networks::apply(const EventMeta&, const NetworkEnterpriseSet& e) {
  Network* n = custom(e.network_id);
  if (!n) return;
  n->enterprise = e.enterprise;
  if (!e.enterprise) {
    n->roles.clear();
    return;
  }
  bool has_owner =
      std::any_of(n->roles.begin(), n->roles.end(), [](const auto& r) { return r.second == Role::kOwner; });
  for (uint32_t node : n->members) {
    if (n->roles.count(node)) continue;
    n->roles.emplace(node, has_owner ? Role::kMember : Role::kOwner);
    has_owner = true;
  }
}

void Networks::apply(const EventMeta&, const MemberRoleSet& e) {
  Network* n = custom(e.network_id);
  if (!n || !is_member(e.network_id, e.node_id)) return;
  if (e.role == Role::kNone)
    n->roles.erase(e.node_id);
  else
    n->roles.insert_or_assign(e.node_id, e.role);
}

void Networks::apply(const EventMeta&, const MemberTagsSet& e) {
  Network* n = custom(e.network_id);
  if (!n || !is_member(e.network_id, e.node_id)) return;
  if (e.tags.empty())
    n->member_tags.erase(e.node_id);
  else
    n->member_tags.insert_or_assign(e.node_id, e.tags);
}

void Networks::apply(const EventMeta&, const NetworkPolicySet& e) {
  Network* n = custom(e.network_id);
  if (!n) return;
  n->policy.max_members = e.max_members;
  n->policy.allowed_ports = e.allowed_ports;
  n->policy.description = e.description;
}

void Networks::apply(const EventMeta&, const ExprPolicySet& e) {
  if (Network* n = custom(e.network_id)) n->expr_policy_json = e.expr_policy_json;
}

void Networks::apply(const EventMeta& m, const InviteCreated& e) {
  if (!custom(e.network_id)) return;
  auto& v = inbox_[e.target_id];
  // One invite per (network, target): a repeat is "already_invited" and keeps the first.
  if (std::any_of(v.begin(), v.end(), [&](const Invite& i) { return i.network_id == e.network_id; })) return;
  v.push_back({e.network_id, e.inviter_id, m.time_ns});
  sent_[e.inviter_id].insert({e.network_id, e.target_id});
}

void Networks::apply(const EventMeta&, const InviteRemoved& e) { remove_invite(e.network_id, e.target_id); }

void Networks::apply(const EventMeta&, const RbacPreAssigned& e) {
  if (!custom(e.network_id)) return;
  auto& v = rbac_[e.network_id];
  auto it = std::find_if(v.begin(), v.end(), [&](const PreAssignment& p) { return p.external_id == e.external_id; });
  if (e.role == Role::kNone) {  // withdraws a pre-assignment
    if (it != v.end()) v.erase(it);
  } else if (it != v.end()) {
    it->role = e.role;
  } else {
    v.push_back({e.external_id, e.role});
  }
  if (v.empty()) rbac_.erase(e.network_id);
}

void Networks::apply(const EventMeta&, const NodeDeregistered& e) {
  // Leaves every custom network; invites addressed to it and sent by it go too.
  if (auto it = memberships_.find(e.node_id); it != memberships_.end()) {
    std::vector<uint16_t> nets = std::move(it->second);
    memberships_.erase(it);
    for (uint16_t id : nets) {
      auto n = nets_.find(id);
      if (n == nets_.end()) continue;
      auto& members = n->second.members;
      if (auto p = std::find(members.begin(), members.end(), e.node_id); p != members.end()) members.erase(p);
      n->second.roles.erase(e.node_id);
      n->second.member_tags.erase(e.node_id);
    }
  }
  if (auto it = inbox_.find(e.node_id); it != inbox_.end()) {
    std::vector<uint16_t> nets;
    for (const Invite& i : it->second) nets.push_back(i.network_id);
    for (uint16_t net : nets) remove_invite(net, e.node_id);
  }
  if (auto s = sent_.find(e.node_id); s != sent_.end()) {
    std::vector<std::pair<uint16_t, uint32_t>> sent(s->second.begin(), s->second.end());
    for (const auto& [net, target] : sent) remove_invite(net, target);
  }
}

}  // namespace pilot
