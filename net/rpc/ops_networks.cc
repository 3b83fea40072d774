// Network ops (spec §6.7, §6.16): create_network join_network leave_network
// delete_network rename_network set_network_enterprise list_networks.
//
// Each handler checks in the reference's order (so the first error a client sees is
// the same), then records its decision as one event. The event carries everything
// apply needs: the allocated network ID, the member's resolved role, the rules and
// expr_policy as stored text.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/address.h"
#include "core/duration.h"
#include "core/events.h"
#include "net/rpc/auth.h"
#include "net/rpc/fields.h"
#include "net/rpc/go_json.h"
#include "net/rpc/ops.h"

namespace pilot::rpc {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;  // keeps document order, as Go's decoder walks it

constexpr std::string_view kBreaker = "registry.network_admin";

std::string str(uint64_t v) { return std::to_string(v); }

// Go's %q for the short ASCII strings these messages quote.
std::string go_quote(std::string_view s) { return gojson::dump(json(std::string(s)), false); }

// ---- Go encoding/json emulation (only what the rules / expr_policy checks need) ----

// The "value" word of Go's UnmarshalTypeError for a JSON value.
std::string go_kind(const ojson& v) {
  if (v.is_object()) return "object";
  if (v.is_array()) return "array";
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "bool";
  return "number";
}

std::string type_error(const std::string& value, const std::string& target) {
  return "json: cannot unmarshal " + value + " into " + target;
}

// Go's decoder reports a syntax error before anything else. Its wording depends on the
// scanner state; we keep the two forms clients are likely to meet.
std::optional<ojson> parse_go(std::string_view text, std::string& err) {
  try {
    return ojson::parse(text);
  } catch (const ojson::parse_error& e) {
    size_t at = e.byte == 0 ? 0 : e.byte - 1;
    if (at >= text.size())
      err = "unexpected end of JSON input";
    else
      err = std::string("invalid character '") + text[at] + "' looking for beginning of value";
    return std::nullopt;
  }
}

// The object form reaches Go as map[string]interface{} (every number a float64) and is
// re-marshalled before decoding: integral numbers below 1e21 come back as integers.
ojson go_roundtrip(const json& v) {
  if (v.is_object()) {
    ojson o = ojson::object();
    for (auto it = v.begin(); it != v.end(); ++it) o[it.key()] = go_roundtrip(it.value());
    return o;
  }
  if (v.is_array()) {
    ojson a = ojson::array();
    for (const auto& x : v) a.push_back(go_roundtrip(x));
    return a;
  }
  if (v.is_number()) {
    double d = v.get<double>();
    if (std::trunc(d) == d && std::fabs(d) < 9.2e18) return ojson(static_cast<int64_t>(d));
    return ojson(d);
  }
  if (v.is_string()) return ojson(v.get<std::string>());
  if (v.is_boolean()) return ojson(v.get<bool>());
  return ojson(nullptr);
}

// Go matches object keys to struct fields exactly first, else case-insensitively.
bool key_matches(const std::string& key, std::string_view field) {
  if (key.size() != field.size()) return false;
  for (size_t i = 0; i < key.size(); ++i) {
    char a = key[i], b = field[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

// Decodes a Go `int` field. Returns "" or the type error's value word.
std::string decode_int(const ojson& v, int64_t& out) {
  if (v.is_null()) return {};  // null leaves a Go field untouched
  if (v.is_number_integer()) {
    out = v.get<int64_t>();
    return {};
  }
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      out = static_cast<int64_t>(v.get<uint64_t>());
      return {};
    }
    return "number " + v.dump();
  }
  if (v.is_number_float()) return "number " + v.dump();
  return go_kind(v);
}

std::string decode_string(const ojson& v, std::string& out) {
  if (v.is_null()) return {};
  if (v.is_string()) {
    out = v.get<std::string>();
    return {};
  }
  return go_kind(v);
}

// ---- NetworkRules (§6.16a) ----

struct NetworkRules {
  int64_t links = 0;
  std::string cycle;
  int64_t prune = 0;
  std::string prune_by;
  int64_t fill = 0;
  std::string fill_how;
  std::string grace;  // optional

  json to_json() const {
    json j = {{"links", links},       {"cycle", cycle}, {"prune", prune},
              {"prune_by", prune_by}, {"fill", fill},   {"fill_how", fill_how}};
    if (!grace.empty()) j["grace"] = grace;  // omitempty in the reference
    return j;
  }
};

// Go's time.ParseDuration error for text parse_go_duration refused.
std::string duration_error(const std::string& s) {
  std::string_view v = s;
  if (!v.empty() && (v[0] == '-' || v[0] == '+')) v.remove_prefix(1);
  size_t i = 0;
  while (i < v.size() && ((v[i] >= '0' && v[i] <= '9') || v[i] == '.')) ++i;
  if (i > 0 && i == v.size() && v != "." && s != "0") return "time: missing unit in duration " + go_quote(s);
  if (i > 0 && i < v.size()) {
    size_t j = i;
    while (j < v.size() && !((v[j] >= '0' && v[j] <= '9') || v[j] == '.')) ++j;
    std::string unit(v.substr(i, j - i));
    static const char* kUnits[] = {"ns", "us", "\xC2\xB5s", "\xCE\xBCs", "ms", "s", "m", "h"};
    if (std::none_of(std::begin(kUnits), std::end(kUnits), [&](const char* u) { return unit == u; }))
      return "time: unknown unit " + go_quote(unit) + " in duration " + go_quote(s);
  }
  return "time: invalid duration " + go_quote(s);
}

void validate_rules(const NetworkRules& r) {
  if (r.links < 1) throw OpError("rules: links must be >= 1 (got " + std::to_string(r.links) + ")");
  if (r.cycle.empty()) throw OpError("rules: cycle is required");
  auto cycle = parse_go_duration(r.cycle);
  if (!cycle) throw OpError("rules: invalid cycle duration " + go_quote(r.cycle) + ": " + duration_error(r.cycle));
  if (*cycle < int64_t{60} * 1000000000) throw OpError("rules: cycle must be >= 1m (got " + r.cycle + ")");
  if (r.prune < 0) throw OpError("rules: prune must be >= 0 (got " + std::to_string(r.prune) + ")");
  if (r.fill < 0) throw OpError("rules: fill must be >= 0 (got " + std::to_string(r.fill) + ")");
  if (r.prune > r.links)
    throw OpError("rules: prune (" + std::to_string(r.prune) + ") cannot exceed links (" + std::to_string(r.links) +
                  ")");
  if (r.fill > r.links)
    throw OpError("rules: fill (" + std::to_string(r.fill) + ") cannot exceed links (" + std::to_string(r.links) + ")");
  if (r.prune_by.empty()) throw OpError("rules: prune_by is required");
  if (r.prune_by != "score" && r.prune_by != "age" && r.prune_by != "activity")
    throw OpError("rules: unknown prune_by strategy " + go_quote(r.prune_by) + " (want score|age|activity)");
  if (r.fill_how.empty()) throw OpError("rules: fill_how is required");
  if (r.fill_how != "random")
    throw OpError("rules: unknown fill_how strategy " + go_quote(r.fill_how) + " (want random)");
  if (!r.grace.empty()) {
    auto g = parse_go_duration(r.grace);
    if (!g) throw OpError("rules: invalid grace duration " + go_quote(r.grace) + ": " + duration_error(r.grace));
    if (*g < 0) throw OpError("rules: grace must be >= 0");
  }
}

NetworkRules decode_rules(const ojson& v) {
  NetworkRules r;
  if (v.is_null()) {  // Go decodes null as "nothing set"; validation still runs
    validate_rules(r);
    return r;
  }
  if (!v.is_object())
    throw OpError("rules: invalid JSON: " + type_error(go_kind(v), "Go value of type wire.NetworkRules"));
  std::string first;  // Go keeps decoding after a type error and reports the first
  auto note = [&](const std::string& kind, const char* field, const char* type) {
    if (!kind.empty() && first.empty())
      first = type_error(kind, std::string("Go struct field NetworkRules.") + field + " of type " + type);
  };
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string& k = it.key();
    const ojson& x = it.value();
    if (key_matches(k, "links"))
      note(decode_int(x, r.links), "links", "int");
    else if (key_matches(k, "cycle"))
      note(decode_string(x, r.cycle), "cycle", "string");
    else if (key_matches(k, "prune"))
      note(decode_int(x, r.prune), "prune", "int");
    else if (key_matches(k, "prune_by"))
      note(decode_string(x, r.prune_by), "prune_by", "string");
    else if (key_matches(k, "fill"))
      note(decode_int(x, r.fill), "fill", "int");
    else if (key_matches(k, "fill_how"))
      note(decode_string(x, r.fill_how), "fill_how", "string");
    else if (key_matches(k, "grace"))
      note(decode_string(x, r.grace), "grace", "string");
  }
  if (!first.empty()) throw OpError("rules: invalid JSON: " + first);
  validate_rules(r);
  return r;
}

// The `rules` field: a non-empty JSON string or an object; anything else means none.
// Returns the stored form (compact JSON of the decoded struct) or "".
std::string read_rules(const json& req) {
  const json* v = field(req, "rules");
  if (!v) return {};
  ojson doc;
  if (v->is_string() && !v->get_ref<const std::string&>().empty()) {
    std::string err;
    auto parsed = parse_go(v->get_ref<const std::string&>(), err);
    if (!parsed) throw OpError("rules: invalid JSON: " + err);
    doc = std::move(*parsed);
  } else if (v->is_object()) {
    doc = go_roundtrip(*v);
  } else {
    return {};
  }
  return decode_rules(doc).to_json().dump();
}

// ---- expr_policy ----

void check_expr_version(const ojson& doc) {
  int64_t version = 0;
  if (!doc.is_null()) {
    if (!doc.is_object())
      throw OpError("expr_policy: invalid JSON: " +
                    type_error(go_kind(doc), "Go value of type struct { Version int \"json:\\\"version\\\"\" }"));
    std::string first;
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      if (!key_matches(it.key(), "version")) continue;
      std::string kind = decode_int(it.value(), version);
      if (!kind.empty() && first.empty()) first = type_error(kind, "Go struct field .version of type int");
    }
    if (!first.empty()) throw OpError("expr_policy: invalid JSON: " + first);
  }
  if (version != 1) throw OpError("expr_policy: unsupported version " + std::to_string(version) + " (want 1)");
}

// The `expr_policy` field: a non-empty JSON string or an object with version 1.
// Returns it as compact JSON text (key order kept), or "" when absent.
std::string read_expr_policy(const json& req) {
  const json* v = field(req, "expr_policy");
  if (!v) return {};
  ojson doc;
  if (v->is_string() && !v->get_ref<const std::string&>().empty()) {
    std::string err;
    auto parsed = parse_go(v->get_ref<const std::string&>(), err);
    if (!parsed) throw OpError("expr_policy: invalid JSON: " + err);
    doc = std::move(*parsed);
  } else if (v->is_object()) {
    doc = go_roundtrip(*v);
  } else {
    return {};
  }
  check_expr_version(doc);
  return doc.dump();
}

// Stored JSON text back into a response value.
json stored_json(const std::string& text) {
  json v = json::parse(text, nullptr, false);
  return v.is_discarded() ? json(nullptr) : v;  // only a corrupt record could get here
}

// ---- names, networks, RBAC ----

// Spec §6.16: ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$, "backbone" reserved.
void validate_network_name(const std::string& name) {
  if (name.empty()) throw OpError("network name required");
  if (name.size() > 63) throw OpError("network name too long (max 63 chars)");
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  bool ok = alnum(name.front()) && alnum(name.back()) &&
            std::all_of(name.begin(), name.end(), [&](char c) { return alnum(c) || c == '-'; });
  if (!ok) throw OpError("network name must be lowercase alphanumeric with hyphens, start/end with alphanumeric");
  if (name == "backbone") throw OpError("network name " + go_quote(name) + " is reserved");
}

std::string not_found(uint16_t net) { return "network " + str(net) + ": network not found"; }

const Network& network_or_not_found(const Registry& reg, uint16_t net) {
  const Network* n = reg.state().networks.find(net);
  if (!n) throw OpError(not_found(net));
  return *n;
}

// Spec §4.4 RequireNetworkRole. Path 3 trusts the claimed node_id without a signature,
// as the reference does.
void require_network_role(const Registry& reg, const json& req, uint16_t net, std::initializer_list<Role> roles) {
  if (admin_token_valid(reg, req)) return;
  const Network& n = network_or_not_found(reg, net);
  std::string token = str_field(req, "admin_token");
  if (!n.admin_token.empty() && !token.empty() && constant_time_equal(token, n.admin_token)) return;
  uint32_t node = u32_field(req, "node_id");
  if (node == 0) throw OpError("rbac: node_id required for role-based authorization");
  Role role = n.role_of(node);
  if (role == Role::kNone) throw OpError("rbac: node " + str(node) + " has no role in network " + str(net));
  if (std::find(roles.begin(), roles.end(), role) != roles.end()) return;
  std::string want;  // Go's %v of a []string: [owner admin]
  for (Role r : roles) want += (want.empty() ? "" : " ") + std::string(role_name(r));
  throw OpError("rbac: node " + str(node) + " has role " + go_quote(role_name(role)) + ", requires one of [" + want +
                "]");
}

const Node& node_or_not_registered(const Registry& reg, uint32_t id) {
  const Node* n = reg.state().directory.find(id);
  if (!n) throw OpError("node " + str(id) + " not registered");
  return *n;
}

bool ascii_equal_fold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// A joiner is a member unless an RBAC pre-assignment names its external_id (first
// case-insensitive match wins).
Role join_role(const Registry& reg, uint16_t net, const Node& node) {
  const std::string& ext = node.external_id();
  if (ext.empty()) return Role::kMember;
  for (const PreAssignment& p : reg.state().networks.pre_assignments(net))
    if (ascii_equal_fold(p.external_id, ext)) return p.role == Role::kNone ? Role::kMember : p.role;
  return Role::kMember;
}

// ---- handlers ----

json create_network(Registry& reg, const Request& r) {
  const json& q = r.body;
  // Admin-only; with no token configured the op is switched off.
  if (reg.options().admin_token.empty()) throw OpError("network creation is disabled");
  if (!admin_token_valid(reg, q)) throw OpError("invalid admin token");

  uint32_t node_id = u32_field(q, "node_id");
  std::string name = str_field(q, "name");
  std::string join_rule = str_field(q, "join_rule");
  bool enterprise = bool_field(q, "enterprise");
  std::string rules = read_rules(q);
  std::string expr = read_expr_policy(q);
  validate_network_name(name);
  if (join_rule.empty()) join_rule = "open";
  if (join_rule == "invite" && !enterprise)
    throw OpError("enterprise feature: invite-only networks require the enterprise flag");

  const Networks& nets = reg.state().networks;
  node_or_not_registered(reg, node_id);
  if (nets.next_net() > 0xFFFF) throw OpError("network ID space exhausted (max 65535 networks)");
  if (nets.id_by_name(name)) throw OpError("network " + go_quote(name) + " already exists");

  NetworkCreated e;
  e.network_id = static_cast<uint16_t>(nets.next_net());
  e.name = name;
  e.join_rule = join_rule;
  e.token = str_field(q, "token");
  e.admin_token = str_field(q, "network_admin_token");
  e.enterprise = enterprise;
  e.creator_node_id = node_id;
  e.rules_json = rules;
  e.expr_policy_json = expr;
  reg.emit(e);

  json resp = {{"type", "create_network_ok"}, {"network_id", e.network_id}, {"name", name}, {"enterprise", enterprise}};
  if (!rules.empty()) resp["managed"] = true;
  return resp;
}

json join_network(Registry& reg, const Request& r) {
  const json& q = r.body;
  uint32_t node_id = u32_field(q, "node_id");
  uint16_t net_id = u16_field(q, "network_id");
  if (net_id == 0) throw OpError("cannot join the backbone network");
  const Node& node = node_or_not_registered(reg, node_id);
  verify_signature_or_admin(reg, node, q, "join_network:" + str(node_id) + ":" + str(net_id));

  const Network& net = network_or_not_found(reg, net_id);
  if (net.join_rule == "token") {
    if (!constant_time_equal(str_field(q, "token"), net.token))
      throw OpError("invalid token for network " + str(net_id));
  } else if (net.join_rule == "invite") {
    throw OpError("invite-only networks require invite_to_network + respond_invite flow");
  } else if (net.join_rule != "open") {
    throw OpError("unknown join rule: " + net.join_rule);
  }
  if (net.policy.max_members > 0 && net.members.size() >= net.policy.max_members)
    throw OpError("network membership limit reached");
  if (reg.state().networks.is_member(net_id, node_id))
    throw OpError("node " + str(node_id) + " already in network " + str(net_id));

  json resp = {{"type", "join_network_ok"}, {"network_id", net_id}, {"address", Address{net_id, node_id}.to_string()}};
  if (!net.rules_json.empty()) resp["rules"] = stored_json(net.rules_json);
  if (!net.expr_policy_json.empty()) resp["expr_policy"] = stored_json(net.expr_policy_json);
  reg.emit(MemberJoined{net_id, node_id, join_role(reg, net_id, node)});
  return resp;
}

json leave_network(Registry& reg, const Request& r) {
  const json& q = r.body;
  uint32_t node_id = u32_field(q, "node_id");
  uint16_t net_id = u16_field(q, "network_id");
  if (net_id == 0) throw OpError("cannot leave the backbone network");
  const Node& node = node_or_not_registered(reg, node_id);
  verify_signature_or_admin(reg, node, q, "leave_network:" + str(node_id) + ":" + str(net_id));

  const Network& net = network_or_not_found(reg, net_id);
  if (net.enterprise && net.role_of(node_id) == Role::kOwner)
    throw OpError("cannot leave network: owner must transfer ownership first");
  if (!reg.state().networks.is_member(net_id, node_id))
    throw OpError("node " + str(node_id) + " is not a member of network " + str(net_id));

  reg.emit(MemberLeft{net_id, node_id, LeaveReason::kLeft, {}});
  return {{"type", "leave_network_ok"}, {"network_id", net_id}};
}

json delete_network(Registry& reg, const Request& r) {
  const json& q = r.body;
  uint16_t net_id = u16_field(q, "network_id");
  if (net_id == 0) throw OpError("cannot delete the backbone network");
  require_network_role(reg, q, net_id, {Role::kOwner});
  network_or_not_found(reg, net_id);
  reg.emit(NetworkDeleted{net_id});  // apply drops memberships, invites, pre-assignments
  return {{"type", "delete_network_ok"}, {"network_id", net_id}};
}

json rename_network(Registry& reg, const Request& r) {
  const json& q = r.body;
  uint16_t net_id = u16_field(q, "network_id");
  if (net_id == 0) throw OpError("cannot rename the backbone network");
  require_network_role(reg, q, net_id, {Role::kOwner, Role::kAdmin});
  std::string name = str_field(q, "name");
  validate_network_name(name);
  const Network& net = network_or_not_found(reg, net_id);
  auto holder = reg.state().networks.id_by_name(name);
  if (holder && *holder != net_id) throw OpError("network " + go_quote(name) + " already exists");
  if (net.name != name) reg.emit(NetworkRenamed{net_id, name});  // same name: nothing changes
  return {{"type", "rename_network_ok"}, {"network_id", net_id}, {"name", name}};
}

json set_network_enterprise(Registry& reg, const Request& r) {
  const json& q = r.body;
  uint16_t net_id = u16_field(q, "network_id");
  bool enterprise = bool_field(q, "enterprise");
  if (net_id == 0) throw OpError("cannot set enterprise on the backbone network");
  if (!admin_token_valid(reg, q)) throw OpError("set_network_enterprise requires admin token");
  network_or_not_found(reg, net_id);
  // apply clears roles (false) or back-fills owner/member roles (true).
  reg.emit(NetworkEnterpriseSet{net_id, enterprise});
  return {{"type", "set_network_enterprise_ok"}, {"network_id", net_id}, {"enterprise", enterprise}};
}

json list_networks(Registry& reg, const Request& r) {
  const json& q = r.body;
  const bool admin = admin_token_valid(reg, q);
  const Networks& nets = reg.state().networks;

  // Strict directory auth (§4.5): a non-admin sees open networks, plus the networks it
  // belongs to once it proves who it is. A failed proof only narrows the list.
  const bool filter = reg.options().strict_directory_auth && !admin;
  uint32_t requester = 0;
  if (filter) {
    uint32_t id = u32_field(q, "requester_id");
    if (const Node* n = reg.state().directory.find(id)) {
      try {
        verify_node_signature(reg, *n, q, "list_networks:" + str(id));
        requester = id;
      } catch (const OpError&) {
      }
    }
  }

  json list = json::array();
  for (const auto& [id, n] : nets.all()) {
    if (filter && n.join_rule != "open" && !(requester != 0 && nets.is_member(id, requester))) continue;
    json e = {{"id", id},
              {"name", n.name},
              {"join_rule", n.join_rule},
              {"enterprise", n.enterprise},
              {"created", n.created_ns / 1000000000}};
    if (admin) e["members"] = id == 0 ? reg.state().directory.size() : n.members.size();
    if (n.enterprise) {
      if (n.policy.max_members > 0) e["max_members"] = n.policy.max_members;
      if (!n.policy.description.empty()) e["description"] = n.policy.description;
    }
    if (!n.rules_json.empty()) {
      e["managed"] = true;
      e["rules"] = stored_json(n.rules_json);
    }
    if (!n.expr_policy_json.empty()) e["has_expr_policy"] = true;
    list.push_back(std::move(e));
  }
  return {{"type", "list_networks_ok"}, {"networks", std::move(list)}};
}

}  // namespace

void add_network_ops(OpTable& t) {
  const std::string admin(kBreaker);
  t.add({"create_network", create_network, false, admin});
  t.add({"join_network", join_network, false, admin});
  t.add({"leave_network", leave_network, false, admin});
  t.add({"delete_network", delete_network, false, admin});
  t.add({"rename_network", rename_network, false, admin});
  t.add({"set_network_enterprise", set_network_enterprise, false, ""});
  t.add({"list_networks", list_networks, true, "registry.resolve"});
}

}  // namespace pilot::rpc
