// The directory ops (spec §6.1–§6.11, §6.20 rotate_key/get_key_info): who a node is,
// where it can be reached, and who may see that.
#include "net/rpc/ops_directory.h"

#include <algorithm>
#include <cstring>

#include "core/address.h"
#include "core/base64.h"
#include "core/time_format.h"
#include "net/rpc/auth.h"
#include "net/rpc/fields.h"
#include "net/rpc/listen_addr.h"
#include "net/rpc/ops.h"

namespace pilot::rpc {

namespace {

constexpr int64_t kSecond = 1000000000;
constexpr int64_t kDay = 86400;
constexpr int64_t kHeartbeatSkipNs = 120 * kSecond;  // §6.2 verification skip window
constexpr int64_t kFreshnessWindowS = 60;            // §7.6 strict heartbeat freshness
constexpr size_t kMaxTags = 10;

std::string id_str(uint64_t id) { return std::to_string(id); }
std::string backbone_address(uint32_t id) { return Address{0, id}.to_string(); }

int64_t last_seen_s(const Registry& reg, const Node& n) {
  int64_t ns = std::max(reg.liveness().last_seen_ns(n.id), n.last_registered_ns);
  return ns / kSecond;
}

// Whole days since the key was created or last rotated.
int64_t key_age_days(const Registry& reg, const Node& n) {
  const int64_t since = n.key_rotated_ns ? n.key_rotated_ns : n.key_created_ns;
  if (since <= 0) return -1;
  return std::max<int64_t>(0, (reg.now_ns() - since) / kSecond / kDay);
}

// A private node is visible to itself, to nodes it trusts, and to nodes sharing a
// custom network with it (backbone membership never counts).
bool related(const Registry& reg, uint32_t requester, uint32_t target) {
  const State& s = reg.state();
  return requester == target || s.trust.trusted(requester, target) ||
         s.networks.share_custom_network(requester, target);
}

// The strict-mode proof of identity: `requester_id` + its signature over `challenge`.
// False (never an error: strict failures masquerade as "not found") if either is bad.
bool requester_proven(Registry& reg, uint32_t requester, const nlohmann::json& req, const std::string& challenge) {
  const Node* n = reg.state().directory.find(requester);
  if (!n) return false;
  auto sig = decode_signature(str_field(req, "signature"));
  return sig && reg.verify(n->public_key, challenge, *sig);
}

void add_badge_fields(nlohmann::json& out, const Node& n) {
  if (!n.verified()) return;
  out["verified"] = true;
  out["badge"] = n.badge();
  out["badge_sig"] = n.badge_sig();
  out["verification_provider"] = n.verification_provider();
  out["verified_at"] = format_rfc3339(n.verified_at() * kSecond);
}

// ---- register (§6.1) ------------------------------------------------------------

nlohmann::json op_register(Registry& reg, const Request& r) {
  const nlohmann::json& q = r.body;
  const std::string listen_addr = str_field(q, "listen_addr");
  const std::string pub_b64 = str_field(q, "public_key");
  if (pub_b64.empty()) throw OpError("registration requires public_key");
  auto raw = base64_decode_std(pub_b64);
  if (!raw) throw OpError("invalid public key: illegal base64 data");
  if (raw->size() != 32) throw OpError("invalid public key: want 32 bytes, got " + id_str(raw->size()));
  PublicKey key;
  std::memcpy(key.data(), raw->data(), 32);

  bool signed_register = false;
  if (has_str(q, "signature")) {
    auto sig = decode_signature(str_field(q, "signature"));
    if (!sig) throw OpError("registration: invalid signature encoding");
    // The challenge binds the endpoint as sent, so a replayed signature cannot move it.
    if (!reg.verify(key, "register:" + listen_addr + ":" + pub_b64, *sig))
      throw OpError("registration: signature verification failed");
    signed_register = true;
  } else if (reg.options().strict_registration_auth) {
    throw OpError("registration: signature required");
  }

  const Directory& dir = reg.state().directory;
  const std::string owner = str_field(q, "owner");
  uint32_t id = 0;
  if (auto bound = dir.id_by_key(key)) {
    id = *bound;  // same key: same ID, live (endpoint refresh) or gone (reclaimed)
    if (!signed_register && reg.liveness().find(id) && reg.liveness().find(id)->signed_register)
      throw OpError("node " + id_str(id) + ": unsigned registration cannot modify a signature-verified key");
  } else if (auto by_owner = owner.empty() ? std::nullopt : dir.id_by_owner(owner)) {
    if (dir.is_live(*by_owner))
      throw OpError("owner \"" + owner + "\" is already bound to node " + id_str(*by_owner) +
                    " with a different key; use recover_identity to rotate the key");
    id = *by_owner;  // the old node is gone: its ID goes to the new key
    reg.liveness().reset_auth(id);
  } else {
    if (dir.size() >= reg.options().max_live_nodes) throw OpError("registry full");
    if (dir.next_node() > UINT32_MAX) throw OpError("node ID space exhausted");
    id = static_cast<uint32_t>(dir.next_node());
  }
  if (!dir.is_live(id) && dir.size() >= reg.options().max_live_nodes) throw OpError("registry full");

  NodeRegistered ev;
  ev.node_id = id;
  ev.public_key = key;
  ev.owner = owner;
  ev.real_addr = sanitize_listen_addr(listen_addr, r.peer.ip, r.peer.port);
  ev.lan_addrs = str_list_field(q, "lan_addrs");
  ev.version = str_field(q, "version");
  ev.relay_only = bool_field(q, "relay_only");
  const bool is_new = !dir.is_live(id);
  reg.emit(ev);
  if (is_new) ++reg.counters().registrations;
  Liveness::Entry& live = reg.liveness().at(id);
  live.last_seen_ns = reg.now_ns();
  if (signed_register) live.signed_register = true;

  nlohmann::json out{{"type", "register_ok"}, {"node_id", id},
                     {"network_id", 0},       {"address", backbone_address(id)},
                     {"public_key", pub_b64}, {"observed_addr", ev.real_addr},
                     {"protocol_version", 1}};
  // A bad or taken hostname does not fail the registration (§7.3).
  if (std::string h = str_field(q, "hostname"); !h.empty()) {
    std::string why = validate_hostname(h);
    auto holder = dir.id_by_hostname(h);
    if (!why.empty()) {
      out["hostname_error"] = why;
    } else if (holder && *holder != id) {
      out["hostname_error"] = "hostname \"" + h + "\" already in use";
    } else {
      if (!holder) reg.emit(HostnameChanged{id, h});
      out["hostname"] = h;
    }
  }
  return out;
}

// ---- heartbeat (§6.2) -------------------------------------------------------------

nlohmann::json op_heartbeat(Registry& reg, const Request& r) {
  const nlohmann::json& q = r.body;
  const uint32_t id = u32_field(q, "node_id");
  const Node& node = node_or_not_found(reg, id);  // before the signature, as the reference
  (void)node;
  if (!has_str(q, "signature")) throw OpError("signature required for authenticated node");
  auto sig = decode_signature(str_field(q, "signature"));
  if (!sig) throw OpError("invalid signature encoding");
  std::optional<int64_t> ts;
  if (const nlohmann::json* t = field(q, "ts"); t && t->is_number()) ts = i64_field(q, "ts");
  HeartbeatOk ok = heartbeat(reg, id, *sig, ts, /*binary=*/false);
  nlohmann::json out{{"type", "heartbeat_ok"}, {"time", ok.time}};
  if (ok.key_expiry_warning) out["key_expiry_warning"] = true;
  return out;
}

// ---- lookup / resolve (§6.3–§6.5) ---------------------------------------------------

nlohmann::json op_lookup(Registry& reg, const Request& r) {
  const uint32_t id = u32_field(r.body, "node_id");
  const std::string not_found = "node " + id_str(id) + ": node not found";
  const Node* n = reg.state().directory.find(id);
  if (!n) throw OpError(not_found);
  if (reg.options().strict_directory_auth && !n->is_public) {
    const uint32_t req_id = u32_field(r.body, "requester_id");
    if (!requester_proven(reg, req_id, r.body, "lookup:" + id_str(req_id) + ":" + id_str(id)) ||
        !related(reg, req_id, id))
      throw OpError(not_found);
  }
  nlohmann::json out{{"type", "lookup_ok"},
                     {"node_id", id},
                     {"address", backbone_address(id)},
                     {"networks", reg.state().networks.networks_of(id)},
                     {"public_key", encode_public_key(n->public_key)},
                     {"public", n->is_public},
                     {"last_seen_unix", last_seen_s(reg, *n)},
                     {"key_generation", n->key_rot_count}};
  if (!n->hostname.empty()) out["hostname"] = n->hostname;
  if (!n->tags.empty()) out["tags"] = n->tags;
  if (n->is_public) {
    out["real_addr"] = advertised_addr(reg, *n);
    out["endpoint"] = out["real_addr"];
  }
  if (n->relay_only) out["relay_only"] = true;
  if (!n->version.empty()) out["version"] = n->version;
  add_badge_fields(out, *n);
  return out;
}

// The checks resolve makes in both encodings; returns the target.
const Node& resolve_target(Registry& reg, uint32_t id, uint32_t requester, const Signature* sig,
                           const nlohmann::json* json_req, bool binary) {
  const Node* req_node = reg.state().directory.find(requester);
  if (!req_node) throw OpError("resolve denied: requester node " + id_str(requester) + " is not registered");
  const std::string challenge = "resolve:" + id_str(requester) + ":" + id_str(id);
  if (json_req) {
    verify_node_signature(reg, *req_node, *json_req, challenge);
  } else if (!reg.verify(req_node->public_key, challenge, *sig)) {
    throw OpError("signature verification failed");
  }
  const std::string not_found = "node " + id_str(id) + (binary ? ": not found" : ": node not found");
  const Node* n = reg.state().directory.find(id);
  if (!n) throw OpError(not_found);
  if (!n->is_public && !related(reg, requester, id)) {
    if (reg.options().strict_directory_auth) throw OpError(not_found);
    throw OpError("resolve denied: node " + id_str(id) + " is private (establish mutual trust first)");
  }
  return *n;
}

nlohmann::json op_resolve(Registry& reg, const Request& r) {
  const uint32_t id = u32_field(r.body, "node_id");
  const Node& n = resolve_target(reg, id, u32_field(r.body, "requester_id"), nullptr, &r.body, false);
  nlohmann::json out{{"type", "resolve_ok"},
                     {"node_id", id},
                     {"real_addr", advertised_addr(reg, n)},
                     {"relay_only", n.relay_only},
                     {"key_age_days", std::max<int64_t>(0, key_age_days(reg, n))}};
  if (!n.relay_only) out["lan_addrs"] = n.lan_addrs;
  return out;
}

nlohmann::json op_resolve_hostname(Registry& reg, const Request& r) {
  const std::string h = str_field(r.body, "hostname");
  if (h.empty()) throw OpError("hostname required");
  const uint32_t req_id = u32_field(r.body, "requester_id");
  const std::string not_found = "hostname \"" + h + "\" not found";
  if (reg.options().strict_directory_auth &&
      !requester_proven(reg, req_id, r.body, "resolve_hostname:" + id_str(req_id)))
    throw OpError(not_found);
  auto id = reg.state().directory.id_by_hostname(h);
  const Node* n = id ? reg.state().directory.find(*id) : nullptr;
  // A private node's name is no existence oracle: the same answer as an unknown name.
  if (!n || (!n->is_public && !related(reg, req_id, n->id))) throw OpError(not_found);
  return {{"type", "resolve_hostname_ok"}, {"node_id", n->id},        {"address", backbone_address(n->id)},
          {"public", n->is_public},        {"hostname", n->hostname}, {"last_seen_unix", last_seen_s(reg, *n)}};
}

// ---- list_nodes (§6.6) ------------------------------------------------------------

nlohmann::json node_entry(const Registry& reg, const Node& n, uint16_t net) {
  nlohmann::json e{{"node_id", n.id},
                   {"address", Address{net, n.id}.to_string()},
                   {"public", n.is_public},
                   {"last_seen", format_rfc3339(last_seen_s(reg, n) * kSecond)}};
  if (!n.hostname.empty()) e["hostname"] = n.hostname;
  if (n.is_public) e["real_addr"] = advertised_addr(reg, n);
  if (!n.tags.empty()) e["tags"] = n.tags;
  if (!n.version.empty()) e["version"] = n.version;
  add_badge_fields(e, n);
  return e;
}

nlohmann::json op_list_nodes(Registry& reg, const Request& r) {
  const uint16_t net_id = u16_field(r.body, "network_id");
  const State& s = reg.state();
  nlohmann::json nodes = nlohmann::json::array();
  if (net_id == 0) {
    if (!admin_token_valid(reg, r.body))
      throw OpError("listing backbone nodes is not permitted (use lookup with a specific node_id)");
    for (auto [id, n] : s.directory.nodes()) {
      nlohmann::json e = node_entry(reg, n, 0);
      if (!n.external_id().empty()) e["external_id"] = n.external_id();
      nodes.push_back(std::move(e));
    }
    return {{"type", "list_nodes_ok"}, {"nodes", std::move(nodes)}};
  }
  const Network* net = s.networks.find(net_id);
  if (!net) throw OpError("network " + id_str(net_id) + ": network not found");
  if (reg.options().strict_directory_auth && !admin_token_valid(reg, r.body)) {
    const uint32_t req_id = u32_field(r.body, "requester_id");
    if (!requester_proven(reg, req_id, r.body, "list_nodes:" + id_str(req_id) + ":" + id_str(net_id)) ||
        !s.networks.is_member(net_id, req_id))
      throw OpError("network " + id_str(net_id) + ": network not found");
  }
  for (uint32_t id : net->members) {
    nlohmann::json e;
    if (const Node* n = s.directory.find(id)) {
      e = node_entry(reg, *n, net_id);
    } else {  // a reaped member keeps its place (§6.6)
      e = {{"node_id", id}, {"address", Address{net_id, id}.to_string()}, {"offline", true}};
    }
    if (Role role = net->role_of(id); role != Role::kNone) e["role"] = std::string(role_name(role));
    if (auto t = net->member_tags.find(id); t != net->member_tags.end()) e["member_tags"] = t->second;
    nodes.push_back(std::move(e));
  }
  return {{"type", "list_nodes_ok"}, {"nodes", std::move(nodes)}};
}

// ---- per-node settings (§6.8–§6.11) ---------------------------------------------------

nlohmann::json op_set_visibility(Registry& reg, const Request& r) {
  const uint32_t id = u32_field(r.body, "node_id");
  const Node& n = node_or_not_found(reg, id);
  verify_signature_or_admin(reg, n, r.body, "set_visibility:" + id_str(id));
  const bool pub = bool_field(r.body, "public");
  if (n.is_public != pub) reg.emit(VisibilityChanged{id, pub});
  return {{"type", "set_visibility_ok"}, {"node_id", id}, {"visibility", pub ? "public" : "private"}};
}

nlohmann::json op_set_hostname(Registry& reg, const Request& r) {
  const uint32_t id = u32_field(r.body, "node_id");
  const Node& n = node_or_not_found(reg, id);
  verify_signature_or_admin(reg, n, r.body, "set_hostname:" + id_str(id));
  const std::string h = str_field(r.body, "hostname");
  if (!h.empty()) {
    if (std::string why = validate_hostname(h); !why.empty()) throw OpError(why);
    if (auto holder = reg.state().directory.id_by_hostname(h); holder && *holder != id)
      throw OpError("hostname \"" + h + "\" already in use by node " + id_str(*holder));
  }
  if (n.hostname != h) reg.emit(HostnameChanged{id, h});
  return {{"type", "set_hostname_ok"}, {"node_id", id}, {"hostname", h}};
}

// Node tags (§7.4): a leading '#' is dropped, duplicates collapse, order is kept.
std::vector<std::string> normalize_tags(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (std::string t : in) {
    if (!t.empty() && t[0] == '#') t.erase(0, 1);
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(std::move(t));
  }
  if (out.size() > kMaxTags) throw OpError("too many tags (max 10)");
  for (const std::string& t : out) {
    bool ok = !t.empty() && t.size() <= 32 && t.front() != '-' && t.back() != '-';
    for (char c : t) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
    if (!ok)
      throw OpError("invalid tag \"" + t +
                    "\": must be 1-32 lowercase letters, digits or hyphens, not starting "
                    "or ending with a hyphen");
  }
  return out;
}

nlohmann::json op_set_tags(Registry& reg, const Request& r) {
  const uint32_t id = u32_field(r.body, "node_id");
  const Node& n = node_or_not_found(reg, id);
  verify_signature_or_admin(reg, n, r.body, "set_tags:" + id_str(id));
  std::vector<std::string> tags = normalize_tags(str_list_field(r.body, "tags"));
  if (n.tags != tags) reg.emit(TagsChanged{id, tags});
  return {{"type", "set_tags_ok"}, {"node_id", id}, {"tags", tags}};
}

nlohmann::json op_deregister(Registry& reg, const Request& r) {
  const uint32_t id = u32_field(r.body, "node_id");
  const Node* n = reg.state().directory.find(id);
  if (!n) return {{"type", "deregister_ok"}};  // idempotent
  verify_signature_or_admin(reg, *n, r.body, "deregister:" + id_str(id));
  reg.emit(NodeDeregistered{id});
  ++reg.counters().deregistrations;
  return {{"type", "deregister_ok"}};
}

// ---- keys (§6.20) -----------------------------------------------------------------------

nlohmann::json op_rotate_key(Registry& reg, const Request& r) {
  const uint32_t id = u32_field(r.body, "node_id");
  const std::string new_b64 = str_field(r.body, "new_public_key");
  if (new_b64.empty()) throw OpError("rotate_key requires new_public_key");
  auto raw = base64_decode_std_or_url(new_b64);
  if (!raw) throw OpError("invalid new_public_key: illegal base64 data");
  if (raw->size() != 32) throw OpError("invalid new_public_key: want 32 bytes, got " + id_str(raw->size()));
  PublicKey new_key;
  std::memcpy(new_key.data(), raw->data(), 32);
  const std::string sig_b64 = str_field(r.body, "signature");
  if (sig_b64.empty()) throw OpError("rotate_key requires a valid signature");
  const Node& n = node_or_not_found(reg, id);
  auto sig_raw = base64_decode_std_or_url(sig_b64);
  if (!sig_raw || sig_raw->size() != 64) throw OpError("rotate_key requires a valid signature");
  Signature sig;
  std::memcpy(sig.data(), sig_raw->data(), 64);
  // Signed by the current key, over the new key as sent: a captured rotation cannot
  // install a different key.
  if (!reg.verify(n.public_key, "rotate:" + id_str(id) + ":" + new_b64, sig))
    throw OpError("signature verification failed");
  if (auto holder = reg.state().directory.id_by_key(new_key); holder && *holder != id)
    throw OpError("invalid new_public_key: already bound to node " + id_str(*holder));
  if (new_key != n.public_key) {
    reg.emit(KeyRotated{id, new_key, false, "", 0});
    reg.liveness().reset_auth(id);
    ++reg.counters().key_rotations;
  }
  return {{"type", "rotate_key_ok"},
          {"node_id", id},
          {"address", backbone_address(id)},
          {"public_key", encode_public_key(new_key)}};
}

nlohmann::json op_get_key_info(Registry& reg, const Request& r) {
  const uint32_t id = u32_field(r.body, "node_id");
  const Node& n = node_or_not_found(reg, id);
  nlohmann::json out{{"type", "get_key_info_ok"},
                     {"node_id", id},
                     {"created_at", format_rfc3339(n.key_created_ns)},
                     {"rotate_count", n.key_rot_count},
                     {"key_age_days", std::max<int64_t>(0, key_age_days(reg, n))}};
  if (n.key_rotated_ns) out["rotated_at"] = format_rfc3339(n.key_rotated_ns);
  if (n.key_expires) out["expires_at"] = format_rfc3339(n.key_expires * kSecond);
  return out;
}

}  // namespace

// ---- shared with the binary frames -----------------------------------------------------

std::string advertised_addr(const Registry& reg, const Node& node) {
  return node.relay_only ? reg.options().beacon_addr : node.real_addr;
}

std::string validate_hostname(const std::string& h) {
  if (h.size() > 63) return "invalid hostname: too long (max 63 characters)";
  bool ok = !h.empty() && h.front() != '-' && h.back() != '-';
  for (char c : h) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (!ok)
    return "invalid hostname \"" + h +
           "\": must be lowercase letters, digits and hyphens, starting and ending with a letter or digit";
  if (h == "localhost" || h == "backbone" || h == "broadcast") return "invalid hostname \"" + h + "\": reserved name";
  return "";
}

HeartbeatOk heartbeat(Registry& reg, uint32_t id, const Signature& sig, std::optional<int64_t> ts, bool binary) {
  const Node* n = reg.state().directory.find(id);
  if (!n) throw OpError("node " + id_str(id) + (binary ? ": not found" : ": node not found"));
  const int64_t now = reg.now_ns();
  Liveness::Entry& live = reg.liveness().at(id);
  if (reg.options().strict_heartbeat_freshness) {
    if (binary)
      throw OpError(
          "binary heartbeat encoding carries no timestamp; use the JSON heartbeat while freshness is enforced");
    if (!ts) throw OpError("heartbeat ts required while freshness is enforced");
    if (std::llabs(now / kSecond - *ts) > kFreshnessWindowS) throw OpError("heartbeat ts expired (more than 60 s off)");
    // No skip window and no memo: a captured heartbeat must stop working after 60 s.
    const bool ok = ed25519_verify(n->public_key, "heartbeat:" + id_str(id) + ":" + std::to_string(*ts), sig);
    ++(ok ? reg.counters().signatures_ok : reg.counters().signatures_failed);
    if (!ok) throw OpError("signature verification failed");
  } else {
    // The reference skips verification for 120 s after a verified heartbeat, whatever
    // the signature. We skip only for the same signature bytes (Ed25519 signatures are
    // deterministic, so an honest daemon sends the same bytes every time): the same
    // speed, without accepting anyone's heartbeat for a node for two minutes.
    const bool skip = live.last_verified_ns && now - live.last_verified_ns < kHeartbeatSkipNs &&
                      std::memcmp(live.verified_sig.data(), sig.data(), live.verified_sig.size()) == 0;
    if (!skip) {
      const bool ok = ed25519_verify(n->public_key, "heartbeat:" + id_str(id), sig);
      ++(ok ? reg.counters().signatures_ok : reg.counters().signatures_failed);
      if (!ok) throw OpError("signature verification failed");
      live.last_verified_ns = now;
      std::memcpy(live.verified_sig.data(), sig.data(), live.verified_sig.size());
    }
  }
  const int64_t now_s = now / kSecond;
  if (n->key_expires && n->key_expires <= now_s)
    throw OpError("node " + id_str(id) + ": key expired at " + format_rfc3339(n->key_expires * kSecond));
  live.last_seen_ns = now;
  return {now_s, n->key_expires != 0 && n->key_expires - now_s < kDay};
}

wire::LookupResponse binary_lookup(Registry& reg, uint32_t id) {
  const Node* n = reg.state().directory.find(id);
  // The binary lookup carries no requester identity: under strict directory auth a
  // private node is "not found" (§2.4).
  if (!n || (reg.options().strict_directory_auth && !n->is_public)) throw OpError("node " + id_str(id) + ": not found");
  wire::LookupResponse out;
  out.node_id = id;
  out.is_public = n->is_public;
  out.networks = reg.state().networks.networks_of(id);
  out.public_key = n->public_key;
  out.hostname = n->hostname;
  out.tags = n->tags;
  if (n->is_public) out.real_addr = advertised_addr(reg, *n);
  return out;
}

wire::ResolveResponse binary_resolve(Registry& reg, uint32_t id, uint32_t requester, const Signature& sig) {
  const Node& n = resolve_target(reg, id, requester, &sig, nullptr, true);
  wire::ResolveResponse out;
  out.node_id = id;
  out.real_addr = advertised_addr(reg, n);
  if (!n.relay_only) out.lan_addrs = n.lan_addrs;
  const int64_t age = key_age_days(reg, n);
  out.key_age_days = age < 0 || age >= int64_t{wire::kUnknownKeyAge} ? wire::kUnknownKeyAge : uint32_t(age);
  return out;
}

void add_directory_ops(OpTable& t) {
  t.add({"register", op_register, false, "registry.register"});
  t.add({"heartbeat", op_heartbeat, true, "registry.heartbeat"});
  t.add({"lookup", op_lookup, true, "registry.resolve"});
  t.add({"resolve", op_resolve, true, "registry.resolve"});
  t.add({"resolve_hostname", op_resolve_hostname, true, "registry.resolve"});
  t.add({"list_nodes", op_list_nodes, true, "registry.resolve"});
  t.add({"set_visibility", op_set_visibility, false, ""});
  t.add({"set_hostname", op_set_hostname, false, ""});
  t.add({"set_tags", op_set_tags, false, ""});
  t.add({"deregister", op_deregister, false, "registry.deregister"});
  t.add({"rotate_key", op_rotate_key, false, ""});
  t.add({"get_key_info", op_get_key_info, true, ""});
}

}  // namespace pilot::rpc
