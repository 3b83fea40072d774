#include "projections/state.h"

#include <algorithm>
#include <cstdio>
#include <type_traits>
#include <variant>

#include "projections/sorted.h"

namespace pilot {

void State::apply(const EventMeta& m, const Event& ev) {
  audit.record(m, ev, *this);
  std::visit(
      [&](const auto& e) {
        constexpr bool kDirectory = requires { directory.apply(m, e); };
        constexpr bool kNetworks = requires { networks.apply(m, e); };
        constexpr bool kTrust = requires { trust.apply(m, e); };
        constexpr bool kSettings = requires { settings.apply(m, e); };
        static_assert(kDirectory || kNetworks || kTrust || kSettings, "an event kind no projection applies");
        if constexpr (kDirectory) directory.apply(m, e);
        if constexpr (kNetworks) networks.apply(m, e);
        if constexpr (kTrust) trust.apply(m, e);
        if constexpr (kSettings) settings.apply(m, e);
      },
      ev);
  last_seq = m.seq;
  term = m.term;
}

// ---- debug_dump ----------------------------------------------------------------------

namespace {

void hex(std::string& out, const uint8_t* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
}

std::string key_hex(const PublicKey& k) {
  std::string s;
  hex(s, k.data(), k.size());
  return s;
}

// Quoted, with anything outside printable ASCII escaped, so dumps diff cleanly.
std::string q(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      char b[5];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
  return out;
}

std::string list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ",";
    out += q(v[i]);
  }
  return out + "]";
}

std::string list(const std::vector<uint16_t>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(v[i]);
  }
  return out + "]";
}

void line(std::string& out, const std::string& s) {
  out += s;
  out.push_back('\n');
}

std::string n2s(int64_t v) { return std::to_string(v); }

void dump_directory(std::string& out, const Directory& d) {
  line(out, "directory next_node=" + std::to_string(d.next_node()) + " live=" + std::to_string(d.size()));
  for (uint32_t id : sorted_keys(d.nodes())) {
    const Node& n = d.nodes().at(id);
    line(out, "node " + std::to_string(id) + " id=" + std::to_string(n.id) + " owner=" + q(n.owner) +
                  " key=" + key_hex(n.public_key) + " real_addr=" + q(n.real_addr) + " public=" + n2s(n.is_public) +
                  " hostname=" + q(n.hostname) + " tags=" + list(n.tags) + " lan_addrs=" + list(n.lan_addrs) +
                  " key_created_ns=" + n2s(n.key_created_ns) + " key_rotated_ns=" + n2s(n.key_rotated_ns) +
                  " key_rot_count=" + n2s(n.key_rot_count) + " key_expires=" + n2s(n.key_expires) +
                  " external_id=" + q(n.external_id()) + " version=" + q(n.version) +
                  " relay_only=" + n2s(n.relay_only) + " badge=" + q(n.badge()) + " badge_sig=" + q(n.badge_sig()) +
                  " verification_provider=" + q(n.verification_provider()) + " verified_at=" + n2s(n.verified_at()) +
                  " recovery_commitment=" + q(n.recovery_commitment()) +
                  " recovery_provider=" + q(n.recovery_provider()) + " recovery_nonce=" + q(n.recovery_nonce()) +
                  " recovery_exp=" + n2s(n.recovery_exp()) + " registered_at_ns=" + n2s(n.registered_at_ns) +
                  " last_registered_ns=" + n2s(n.last_registered_ns));
  }
  for (const auto& e : d.key_index().sorted()) line(out, "key_index " + key_hex(e.key) + " -> " + std::to_string(e.id));
  for (const auto& [o, id] : d.owner_index().sorted())
    line(out, "owner_index " + q(std::string(o)) + " -> " + std::to_string(id));
  for (const std::string& h : sorted_keys(d.hostname_index()))
    line(out, "hostname_index " + q(h) + " -> " + std::to_string(d.hostname_index().at(h)));
}

void dump_networks(std::string& out, const Networks& nets) {
  line(out, "networks next_net=" + std::to_string(nets.next_net()) + " count=" + std::to_string(nets.all().size()));
  for (const auto& [id, n] : nets.all()) {
    line(out, "network " + std::to_string(id) + " id=" + std::to_string(n.id) + " name=" + q(n.name) +
                  " join_rule=" + q(n.join_rule) + " token=" + q(n.token) + " admin_token=" + q(n.admin_token) +
                  " enterprise=" + n2s(n.enterprise) + " max_members=" + n2s(n.policy.max_members) +
                  " allowed_ports=" + list(n.policy.allowed_ports) + " description=" + q(n.policy.description) +
                  " rules=" + q(n.rules_json) + " expr_policy=" + q(n.expr_policy_json) +
                  " created_ns=" + n2s(n.created_ns) + " members=" + std::to_string(n.members.size()));
    for (size_t i = 0; i < n.members.size(); ++i) {
      uint32_t node = n.members[i];
      auto t = n.member_tags.find(node);
      line(out, "  member " + std::to_string(id) + "#" + std::to_string(i) + " node=" + std::to_string(node) +
                    " role=" + std::string(role_name(n.role_of(node))) +
                    " tags=" + (t == n.member_tags.end() ? std::string("[]") : list(t->second)));
    }
    // Roles and tags of non-members would break an invariant: show them if present.
    for (uint32_t node : sorted_keys(n.roles))
      if (std::find(n.members.begin(), n.members.end(), node) == n.members.end())
        line(out, "  STRAY role " + std::to_string(node));
    for (uint32_t node : sorted_keys(n.member_tags))
      if (std::find(n.members.begin(), n.members.end(), node) == n.members.end())
        line(out, "  STRAY member_tags " + std::to_string(node));
  }
  for (uint32_t target : sorted_keys(nets.invite_inbox())) {
    const auto& v = nets.invite_inbox().at(target);
    for (size_t i = 0; i < v.size(); ++i)
      line(out, "invite to=" + std::to_string(target) + "#" + std::to_string(i) +
                    " network=" + std::to_string(v[i].network_id) + " inviter=" + std::to_string(v[i].inviter_id) +
                    " time_ns=" + n2s(v[i].time_ns));
  }
  for (const auto& [net, v] : nets.pre_assignments())
    for (size_t i = 0; i < v.size(); ++i)
      line(out, "rbac_pre_assign network=" + std::to_string(net) + "#" + std::to_string(i) +
                    " external_id=" + q(v[i].external_id) + " role=" + std::string(role_name(v[i].role)));
}

void dump_trust(std::string& out, const Trust& t) {
  for (const auto& [a, b] : t.sorted_pairs()) line(out, "trust " + std::to_string(a) + ":" + std::to_string(b));
  for (const auto& [a, b] : t.sorted_pending())
    line(out, "pending_handshake " + std::to_string(a) + "->" + std::to_string(b));
  for (uint32_t node : sorted_keys(t.request_inbox())) {
    const auto& v = t.request_inbox().at(node);
    for (size_t i = 0; i < v.size(); ++i)
      line(out, "handshake_request to=" + std::to_string(node) + "#" + std::to_string(i) +
                    " from=" + std::to_string(v[i].from_node_id) + " justification=" + q(v[i].justification) +
                    " time_ns=" + n2s(v[i].time_ns));
  }
  for (uint32_t node : sorted_keys(t.response_inbox())) {
    const auto& v = t.response_inbox().at(node);
    for (size_t i = 0; i < v.size(); ++i)
      line(out, "handshake_response to=" + std::to_string(node) + "#" + std::to_string(i) +
                    " from=" + std::to_string(v[i].from_node_id) + " accept=" + n2s(v[i].accept) +
                    " time_ns=" + n2s(v[i].time_ns));
  }
}

void dump_settings(std::string& out, const Settings& s) {
  for (const auto& [id, b] : s.beacons)
    line(out, "beacon " + std::to_string(id) + " id=" + std::to_string(b.id) + " addr=" + q(b.addr) +
                  " registered_ns=" + n2s(b.registered_ns));
  line(out, "webhook_url " + q(s.webhook_url));
  line(out, "identity_webhook_url " + q(s.identity_webhook_url));
  const auto& a = s.audit_export;
  line(out, "audit_export format=" + q(a.format) + " endpoint=" + q(a.endpoint) + " token=" + q(a.token) +
                " index=" + q(a.index) + " source=" + q(a.source));
  const auto& i = s.idp;
  line(out, "idp type=" + q(i.idp_type) + " url=" + q(i.url) + " issuer=" + q(i.issuer) +
                " client_id=" + q(i.client_id) + " tenant_id=" + q(i.tenant_id) + " domain=" + q(i.domain));
}

void dump_audit(std::string& out, const AuditLog& a) {
  line(out, "audit total=" + std::to_string(a.total()) + " kept=" + std::to_string(a.size()) + " head=" + a.head());
  for (size_t i = 0; i < kAuditActionCount; ++i)
    if (a.counts()[i] != 0)
      line(out, "audit_count " + std::string(audit_action_name(static_cast<AuditAction>(i))) + " " +
                    std::to_string(a.counts()[i]));
  for (size_t i = 0; i < a.size(); ++i) {
    const AuditEntry& e = a.at(i);
    line(out, "audit_entry seq=" + std::to_string(e.seq) + " time=" + e.timestamp() +
                  " action=" + std::string(e.action_name()) + " network=" + std::to_string(e.network_id) + " node=" +
                  std::to_string(e.node_id) + " details=" + q(e.details) + " prev=" + e.prev_hash + " hash=" + e.hash);
  }
}

}  // namespace

std::string State::debug_dump() const {
  std::string out;
  std::string h;
  hex(h, last_hash.data(), last_hash.size());
  line(out, "last_seq=" + std::to_string(last_seq) + " term=" + std::to_string(term) + " last_hash=" + h);
  dump_directory(out, directory);
  dump_networks(out, networks);
  dump_trust(out, trust);
  dump_settings(out, settings);
  dump_audit(out, audit);
  return out;
}

}  // namespace pilot
