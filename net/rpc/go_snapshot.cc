#include "net/rpc/go_snapshot.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <utility>
#include <vector>

#include "core/ed25519.h"
#include "core/request_envelope.h"
#include "core/time_format.h"
#include "net/rpc/go_json.h"

namespace pilot::rpc {

namespace {

constexpr int64_t kSecond = 1000000000;

std::string dec(uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// Unix seconds as RFC 3339, clamped to what nanoseconds can hold (year 2262).
std::string seconds_text(int64_t s) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / kSecond;
  return format_rfc3339(std::clamp(s, -kMax, kMax) * kSecond);
}

// Go's encoding/json orders map keys as strings: decimal IDs come out "1", "10", "2".
template <class Id>
std::vector<std::pair<std::string, Id>> by_decimal_key(std::vector<Id> ids) {
  std::vector<std::pair<std::string, Id>> out;
  out.reserve(ids.size());
  for (Id id : ids) out.emplace_back(dec(id), id);
  std::sort(out.begin(), out.end());
  return out;
}

// One JSON object being written: members in call order, commas in between; the
// closing brace is written when the Obj goes out of scope. Member names are the fixed
// ASCII names of the reference's struct tags, decimal IDs or base64 keys (none needs
// escaping).
class Obj {
 public:
  explicit Obj(std::string& out) : out_(out) { out_ += '{'; }
  ~Obj() { out_ += '}'; }
  Obj(const Obj&) = delete;
  Obj& operator=(const Obj&) = delete;

  // Writes the member name; the caller appends the value to the returned string.
  std::string& key(std::string_view name) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += name;
    out_ += "\":";
    return out_;
  }
  void str(std::string_view name, std::string_view v) { gojson::append_string(key(name), v, /*html_escape=*/false); }
  void opt_str(std::string_view name, std::string_view v) {
    if (!v.empty()) str(name, v);
  }
  void num(std::string_view name, uint64_t v) { key(name) += dec(v); }
  void opt_num(std::string_view name, uint64_t v) {
    if (v != 0) num(name, v);
  }
  void boolean(std::string_view name, bool v) { key(name) += v ? "true" : "false"; }
  void opt_true(std::string_view name, bool v) {
    if (v) boolean(name, true);
  }
  void opt_time_ns(std::string_view name, int64_t ns) {
    if (ns != 0) str(name, format_rfc3339(ns));
  }
  void opt_time_s(std::string_view name, int64_t s) {
    if (s != 0) str(name, seconds_text(s));
  }

 private:
  std::string& out_;
  bool first_ = true;
};

void append_strings(std::string& out, const std::vector<std::string>& v) {
  out += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    gojson::append_string(out, v[i], false);
  }
  out += ']';
}

template <class T>
void append_numbers(std::string& out, const std::vector<T>& v) {
  out += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += dec(v[i]);
  }
  out += ']';
}

bool has_key(const PublicKey& k) {
  return std::any_of(k.begin(), k.end(), [](uint8_t b) { return b != 0; });
}

// ---- nodes (SnapshotNode) ----

void append_node(std::string& out, const State& s, const Node& n, const GoSnapshotInputs& in) {
  Obj o(out);
  o.num("id", n.id);
  o.opt_str("owner", n.owner);
  o.str("public_key", has_key(n.public_key) ? encode_public_key(n.public_key) : std::string());
  o.opt_str("real_addr", n.real_addr);
  append_numbers(o.key("networks"), s.networks.networks_of(n.id));
  o.opt_true("public", n.is_public);
  const int64_t heard = in.liveness ? in.liveness->last_seen_ns(n.id) : 0;
  o.opt_time_ns("last_seen", std::max(heard, n.last_registered_ns));
  o.opt_str("hostname", n.hostname);
  if (!n.tags.empty()) append_strings(o.key("tags"), n.tags);
  if (!n.lan_addrs.empty()) append_strings(o.key("lan_addrs"), n.lan_addrs);
  o.opt_time_ns("key_created", n.key_created_ns);
  o.opt_time_ns("key_rotated", n.key_rotated_ns);
  o.opt_num("key_rot_count", n.key_rot_count);
  o.opt_time_s("key_expires", n.key_expires);
  o.opt_str("external_id", n.external_id());
  o.opt_str("version", n.version);
  o.opt_true("relay_only", n.relay_only);
  o.opt_str("badge", n.badge());
  o.opt_str("badge_sig", n.badge_sig());
  o.opt_str("verification_provider", n.verification_provider());
  o.opt_time_s("verified_at", n.verified_at());
  o.opt_str("recovery_commitment", n.recovery_commitment());
  o.opt_str("recovery_provider", n.recovery_provider());
  o.opt_str("recovery_consumed_nonce", n.recovery_nonce());
  o.opt_time_s("recovery_consumed_exp", n.recovery_exp());
}

void append_nodes(std::string& out, const State& s, const GoSnapshotInputs& in) {
  std::vector<uint32_t> ids;
  ids.reserve(s.directory.size());
  for (auto [id, node] : s.directory.nodes()) ids.push_back(id);
  Obj o(out);
  for (const auto& [key, id] : by_decimal_key(std::move(ids))) append_node(o.key(key), s, *s.directory.find(id), in);
}

// ---- networks (SnapshotNet) ----

void append_network(std::string& out, const State& s, const Network& net, const GoSnapshotInputs& in) {
  const Directory& dir = s.directory;
  std::vector<uint32_t> members;
  if (net.id == 0) {
    for (auto [id, node] : dir.nodes()) members.push_back(id);
    std::sort(members.begin(), members.end());
  } else {
    for (uint32_t m : net.members)
      if (dir.is_live(m)) members.push_back(m);
  }
  std::vector<uint32_t> with_role, with_tags;
  for (const auto& [node, role] : net.roles)
    if (role != Role::kNone && dir.is_live(node)) with_role.push_back(node);
  for (const auto& [node, tags] : net.member_tags)
    if (!tags.empty() && dir.is_live(node)) with_tags.push_back(node);

  Obj o(out);
  o.num("id", net.id);
  o.str("name", net.name);
  o.str("join_rule", net.join_rule);
  o.opt_str("token", net.token);
  append_numbers(o.key("members"), members);
  if (!with_role.empty()) {
    Obj roles(o.key("member_roles"));
    for (const auto& [key, node] : by_decimal_key(std::move(with_role))) roles.str(key, role_name(net.roles.at(node)));
  }
  if (!with_tags.empty()) {
    Obj tags(o.key("member_tags"));
    for (const auto& [key, node] : by_decimal_key(std::move(with_tags)))
      append_strings(tags.key(key), net.member_tags.at(node));
  }
  o.opt_str("admin_token", net.admin_token);
  const NetworkPolicy& p = net.policy;
  if (p.max_members != 0 || !p.allowed_ports.empty() || !p.description.empty()) {
    Obj pol(o.key("policy"));  // membership.NetworkPolicy: no omitempty, a nil slice is null
    pol.num("max_members", p.max_members);
    if (p.allowed_ports.empty())
      pol.key("allowed_ports") += "null";
    else
      append_numbers(pol.key("allowed_ports"), p.allowed_ports);
    pol.str("description", p.description);
  }
  if (!net.rules_json.empty()) o.key("rules") += net.rules_json;
  if (!net.expr_policy_json.empty()) o.key("expr_policy") += net.expr_policy_json;
  o.opt_true("enterprise", net.enterprise);
  o.str("created", format_rfc3339(net.id == 0 ? in.backbone_created_ns : net.created_ns));
}

void append_networks(std::string& out, const State& s, const GoSnapshotInputs& in) {
  std::vector<uint16_t> ids;
  for (const auto& [id, net] : s.networks.all()) ids.push_back(id);
  Obj o(out);
  for (const auto& [key, id] : by_decimal_key(std::move(ids))) append_network(o.key(key), s, *s.networks.find(id), in);
}

// ---- identity-level indexes and inboxes ----

void append_trust_pairs(std::string& out, const std::vector<std::pair<uint32_t, uint32_t>>& pairs) {
  out += '[';
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i) out += ',';
    out += '"' + dec(pairs[i].first) + ':' + dec(pairs[i].second) + '"';
  }
  out += ']';
}

// An inbox map (node → entries), keys in decimal string order, empty lists skipped.
template <class Entry, class Write>
void append_inbox(std::string& out, const std::unordered_map<uint32_t, std::vector<Entry>>& inbox, Write write) {
  std::vector<uint32_t> ids;
  for (const auto& [id, entries] : inbox)
    if (!entries.empty()) ids.push_back(id);
  Obj o(out);
  for (const auto& [key, id] : by_decimal_key(std::move(ids))) {
    std::string& w = o.key(key);
    w += '[';
    bool first = true;
    for (const Entry& e : inbox.at(id)) {
      if (!first) w += ',';
      first = false;
      Obj item(w);
      write(item, e);
    }
    w += ']';
  }
}

template <class Entry>
bool any_nonempty(const std::unordered_map<uint32_t, std::vector<Entry>>& m) {
  return std::any_of(m.begin(), m.end(), [](const auto& kv) { return !kv.second.empty(); });
}

// ---- audit and operator configuration ----

void append_audit_log(std::string& out, const AuditLog& log) {
  out += '[';
  for (size_t i = 0; i < log.size(); ++i) {
    if (i) out += ',';
    const AuditEntry& e = log.at(i);
    Obj o(out);  // audit.Entry
    o.str("timestamp", e.timestamp());
    o.str("action", e.action_name());
    o.opt_num("network_id", e.network_id);
    o.opt_num("node_id", e.node_id);
    o.opt_str("details", e.details);
    o.opt_str("prev_hash", e.prev_hash);
    o.opt_str("hash", e.hash);
  }
  out += ']';
}

void append_rbac(std::string& out, const std::map<uint16_t, std::vector<PreAssignment>>& rbac) {
  std::vector<uint16_t> ids;
  for (const auto& [net, list] : rbac)
    if (!list.empty()) ids.push_back(net);
  Obj o(out);
  for (const auto& [key, net] : by_decimal_key(std::move(ids))) {
    std::string& w = o.key(key);
    w += '[';
    bool first = true;
    for (const PreAssignment& p : rbac.at(net)) {
      if (!first) w += ',';
      first = false;
      Obj item(w);  // wire.BlueprintRole
      item.str("external_id", p.external_id);
      item.str("role", role_name(p.role == Role::kNone ? Role::kMember : p.role));
    }
    w += ']';
  }
}

// The reference's Snapshot struct, member by member.
void write_document(std::string& out, const State& s, const GoSnapshotInputs& in) {
  Obj o(out);
  o.num("version", 1);
  // Go's uint32/uint16 wrap: an exhausted ID space is written as 0, as the reference's
  // counter would read after the last ID.
  o.num("next_node", static_cast<uint32_t>(s.directory.next_node()));
  o.num("next_net", static_cast<uint16_t>(s.networks.next_net()));
  append_nodes(o.key("nodes"), s, in);
  append_networks(o.key("networks"), s, in);
  if (s.trust.pair_count() > 0) append_trust_pairs(o.key("trust_pairs"), s.trust.sorted_pairs());
  if (!s.directory.key_index().empty()) {
    std::vector<std::pair<std::string, uint32_t>> keys;
    keys.reserve(s.directory.key_index().size());
    s.directory.key_index().for_each(
        [&](const PublicKey& k, uint32_t id) { keys.emplace_back(encode_public_key(k), id); });
    std::sort(keys.begin(), keys.end());  // by the base64 text, as Go orders map keys
    Obj idx(o.key("pub_key_idx"));
    for (const auto& [b64, id] : keys) idx.num(b64, id);
  }
  if (any_nonempty(s.trust.request_inbox()))
    append_inbox(o.key("handshake_inbox"), s.trust.request_inbox(), [](Obj& item, const HandshakeRequest& r) {
      item.num("from_node_id", r.from_node_id);
      item.str("justification", r.justification);
      item.str("timestamp", format_rfc3339_nano(r.time_ns));  // Go time.Time: RFC 3339 with nanoseconds
    });
  if (any_nonempty(s.trust.response_inbox()))
    append_inbox(o.key("handshake_responses"), s.trust.response_inbox(), [](Obj& item, const HandshakeResponse& r) {
      item.num("from_node_id", r.from_node_id);
      item.boolean("accept", r.accept);
      item.str("timestamp", format_rfc3339_nano(r.time_ns));
    });
  if (any_nonempty(s.networks.invite_inbox()))
    append_inbox(o.key("invite_inbox"), s.networks.invite_inbox(), [](Obj& item, const Invite& i) {
      item.num("network_id", i.network_id);
      item.num("inviter_id", i.inviter_id);
      item.str("timestamp", format_rfc3339_nano(i.time_ns));
    });
  if (!s.audit.empty()) append_audit_log(o.key("audit_log"), s.audit);
  if (const IdpConfig& idp = s.settings.idp; idp.configured()) {
    Obj c(o.key("idp_config"));  // wire.BlueprintIdentityProvider
    c.str("type", idp.idp_type);
    c.str("url", idp.url);
    c.opt_str("issuer", idp.issuer);
    c.opt_str("client_id", idp.client_id);
    c.opt_str("tenant_id", idp.tenant_id);
    c.opt_str("domain", idp.domain);
  }
  if (const AuditExportConfig& ae = s.settings.audit_export; ae.enabled()) {
    Obj c(o.key("audit_export_config"));  // wire.BlueprintAuditExport
    c.str("format", ae.format);
    c.str("endpoint", ae.endpoint);
    c.opt_str("token", ae.token);
    c.opt_str("index", ae.index);
    c.opt_str("source", ae.source);
  }
  const auto& rbac = s.networks.pre_assignments();
  if (std::any_of(rbac.begin(), rbac.end(), [](const auto& kv) { return !kv.second.empty(); }))
    append_rbac(o.key("rbac_pre_assign"), rbac);
  o.opt_num("term", s.term);
}

}  // namespace

std::string go_snapshot_unsigned(const State& s, const GoSnapshotInputs& in) {
  std::string out;
  out.reserve(256 + s.directory.size() * 320);
  write_document(out, s, in);
  return out;
}

void add_go_snapshot_checksum(std::string& doc) {
  doc.insert(doc.size() - 1, ",\"checksum\":\"" + sha256_hex(doc) + "\"");  // before the closing brace
}

std::string go_snapshot(const State& s, const GoSnapshotInputs& in) {
  std::string doc = go_snapshot_unsigned(s, in);
  add_go_snapshot_checksum(doc);
  return doc;
}

}  // namespace pilot::rpc
