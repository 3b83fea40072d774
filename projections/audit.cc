#include "projections/audit.h"

// The 1.1.1 API level: SHA256_Init/Update/Final are deprecated (not removed) in
// OpenSSL 3, and are the allocation-free way to hash (see chain_hash).
#define OPENSSL_API_COMPAT 10101
#include <openssl/sha.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <variant>

#include "core/time_format.h"
#include "projections/state.h"

namespace pilot {
namespace {

constexpr int64_t kNsPerSecond = 1000000000;
// An invite removed this long after it was sent was pruned, not answered (the
// reference prunes invites older than 30 days when the target polls, spec §6.17).
constexpr int64_t kInviteExpiryNs = int64_t{30} * 86400 * kNsPerSecond;

constexpr std::string_view kActionNames[kAuditActionCount] = {
    "node.registered",
    "node.re_registered",
    "node.deregistered",
    "node.reaped",
    "node.recovered",
    "hostname.changed",
    "tags.changed",
    "visibility.changed",
    "key.rotated",
    "key.expiry_set",
    "key.expiry_cleared",
    "identity.external_id_set",
    "identity.badge_submitted",
    "identity.recovery_enrolled",
    "network.created",
    "network.joined",
    "network.left",
    "member.kicked",
    "network.admin_kick",
    "network.deleted",
    "network.renamed",
    "network.enterprise_changed",
    "network.ownership_transferred",
    "member.promoted",
    "member.demoted",
    "member.role_set",
    "network.admin_set_role",
    "member_tags.changed",
    "network.policy_changed",
    "network.expr_policy_set",
    "network.expr_policy_cleared",
    "invite.created",
    "invite.responded",
    "invite.expired_cleanup",
    "rbac.pre_assigned",
    "trust.created",
    "trust.revoked",
    "handshake.relayed",
    "handshake.responded",
    "beacon.registered",
    "webhook.configured",
    "audit_export.configured",
    "idp.configured",
    "identity_webhook.configured",
};
static_assert(!kActionNames[kAuditActionCount - 1].empty(), "a name for every AuditAction");

int64_t floor_seconds(int64_t ns) {
  int64_t s = ns / kNsPerSecond;
  if (ns % kNsPerSecond < 0) --s;
  return s;
}

constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

constexpr bool iequals(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower_b[i]) return false;
  return true;
}

constexpr bool iends_with(std::string_view s, std::string_view lower_suffix) {
  return s.size() >= lower_suffix.size() && iequals(s.substr(s.size() - lower_suffix.size()), lower_suffix);
}

// Spec §12.1's redaction rule (is_secret_detail_key), usable at compile time.
constexpr bool secret_key(std::string_view key) {
  constexpr std::string_view kExact[] = {"token",   "admin_token",   "password",    "passwd",     "secret",
                                         "api_key", "apikey",        "private_key", "signature",  "challenge",
                                         "auth",    "authorization", "bearer",      "credential", "credentials"};
  for (std::string_view k : kExact)
    if (iequals(key, k)) return true;
  for (std::string_view suffix : {"_token", "_secret", "_password", "_key"})
    if (iends_with(key, suffix)) return true;
  return false;
}

// ---- details ------------------------------------------------------------------------

// A detail key written in this file: the redaction rule is applied to it at compile
// time, so the mapping pays nothing for it per event.
struct Key {
  std::string_view name;
  bool secret;
  consteval Key(const char* literal) : name(literal), secret(secret_key(name)) {}
};

// Builds "k=v, k=v" in place. Values are written as Go's %v would: bools as
// true/false, lists as [a b c].
class Details {
 public:
  explicit Details(std::string& out) : out_(out) { out_.clear(); }

  Details& str(Key key, std::string_view value) {
    if (!out_.empty()) out_ += ", ";
    out_ += key.name;
    out_ += '=';
    out_ += key.secret ? std::string_view("<redacted>") : value;
    return *this;
  }
  Details& num(Key key, int64_t value) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, value);
    return str(key, std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
  }
  Details& boolean(Key key, bool value) { return str(key, value ? "true" : "false"); }
  template <class T>
  Details& list(Key key, const std::vector<T>& v) {
    std::string text = "[";
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) text += ' ';
      if constexpr (std::is_same_v<T, std::string>)
        text += v[i];
      else
        text += std::to_string(v[i]);
    }
    text += ']';
    return str(key, text);
  }
  // Only when non-empty (optional attributes).
  Details& str_if(Key key, std::string_view value) { return value.empty() ? *this : str(key, value); }

 private:
  std::string& out_;
};

std::string unix_seconds_text(int64_t s) {
  int64_t ns;
  if (__builtin_mul_overflow(s, kNsPerSecond, &ns)) return std::to_string(s);
  return format_rfc3339(ns);
}

// ---- the mapping ----------------------------------------------------------------------

// One overload per event kind: sets action, ids and details of `e` (already cleared)
// and returns whether the event is audited.
class Mapper {
 public:
  Mapper(const EventMeta& m, const State& before, AuditEntry& out) : m_(m), s_(before), e_(out) {}

  bool operator()(const NodeRegistered& ev) {
    const Directory& d = s_.directory;
    e_.node_id = ev.node_id;
    Details det(e_.details);
    if (ev.node_id >= d.next_node()) {  // never seen: the common case, decided without a lookup
      act(AuditAction::kNodeRegistered);
    } else {
      act(AuditAction::kNodeReRegistered);
      if (d.is_live(ev.node_id))
        det.str("mode", "fast_path_endpoint_refresh");
      else if (d.id_by_key(ev.public_key) == ev.node_id)
        det.str("mode", "existing_identity");
      else
        det.str("mode", "owner_reclaim");  // a reaped node's ID, reclaimed by its owner with a new key
    }
    // Short on purpose: every registration hashes its details into the chain, and each
    // 64 bytes more is another SHA-256 block on the hot path (the version is in the node).
    det.str("real_addr", ev.real_addr).str_if("owner", ev.owner);
    if (ev.relay_only) det.boolean("relay_only", true);
    return true;
  }
  bool operator()(const NodeDeregistered& ev) { return node(AuditAction::kNodeDeregistered, ev.node_id); }
  bool operator()(const NodeExpired& ev) { return node(AuditAction::kNodeReaped, ev.node_id); }
  bool operator()(const HostnameChanged& ev) {
    node(AuditAction::kHostnameChanged, ev.node_id);
    Details det(e_.details);
    det.str("hostname", ev.hostname);
    if (const Node* n = s_.directory.find(ev.node_id)) det.str_if("old_hostname", n->hostname);
    return true;
  }
  bool operator()(const TagsChanged& ev) {
    node(AuditAction::kTagsChanged, ev.node_id);
    Details(e_.details).list("tags", ev.tags);
    return true;
  }
  bool operator()(const VisibilityChanged& ev) {
    node(AuditAction::kVisibilityChanged, ev.node_id);
    Details(e_.details).boolean("public", ev.is_public);
    return true;
  }
  bool operator()(const KeyRotated& ev) {
    const Node* n = s_.directory.find(ev.node_id);
    if (ev.recovered) {
      node(AuditAction::kNodeRecovered, ev.node_id);
      if (n) Details(e_.details).str_if("provider", n->recovery_provider());
    } else {
      node(AuditAction::kKeyRotated, ev.node_id);
      Details(e_.details).num("rotation", n ? int64_t{n->key_rot_count} + 1 : 1);
    }
    return true;
  }
  bool operator()(const KeyExpirySet& ev) {
    if (ev.expires_at == 0) return node(AuditAction::kKeyExpiryCleared, ev.node_id);
    node(AuditAction::kKeyExpirySet, ev.node_id);
    Details(e_.details).str("expires_at", unix_seconds_text(ev.expires_at));
    return true;
  }
  bool operator()(const ExternalIdSet& ev) {
    node(AuditAction::kExternalIdSet, ev.node_id);
    Details det(e_.details);
    det.str("external_id", ev.external_id);
    if (const Node* n = s_.directory.find(ev.node_id)) det.str_if("old_external_id", n->external_id());
    return true;
  }
  bool operator()(const BadgeSubmitted& ev) {
    node(AuditAction::kBadgeSubmitted, ev.node_id);
    Details(e_.details).str("provider", ev.provider);
    return true;
  }
  bool operator()(const RecoveryEnrolled& ev) {
    node(AuditAction::kRecoveryEnrolled, ev.node_id);
    Details(e_.details).str("provider", ev.provider);
    return true;
  }
  bool operator()(const NetworkCreated& ev) {
    net(AuditAction::kNetworkCreated, ev.network_id, ev.creator_node_id);
    Details det(e_.details);
    det.str("name", ev.name).str("join_rule", ev.join_rule);
    if (ev.enterprise) det.boolean("enterprise", true);
    return true;
  }
  bool operator()(const MemberJoined& ev) {
    net(AuditAction::kNetworkJoined, ev.network_id, ev.node_id);
    if (ev.role != Role::kNone) Details(e_.details).str("role", role_name(ev.role));
    return true;
  }
  bool operator()(const MemberLeft& ev) {
    Details det(e_.details);
    switch (ev.reason) {
      case LeaveReason::kLeft: return net(AuditAction::kNetworkLeft, ev.network_id, ev.node_id);
      case LeaveReason::kKicked:
        if (ev.operator_reason.empty()) return net(AuditAction::kMemberKicked, ev.network_id, ev.node_id);
        net(AuditAction::kNetworkAdminKick, ev.network_id, ev.node_id);
        det.str("reason", ev.operator_reason);
        return true;
      case LeaveReason::kDirectorySync:
        net(AuditAction::kMemberKicked, ev.network_id, ev.node_id);
        det.str("reason", "directory_sync");
        return true;
    }
    return net(AuditAction::kNetworkLeft, ev.network_id, ev.node_id);
  }
  bool operator()(const NetworkDeleted& ev) {
    net(AuditAction::kNetworkDeleted, ev.network_id, 0);
    if (const Network* n = s_.networks.find(ev.network_id)) Details(e_.details).str("name", n->name);
    return true;
  }
  bool operator()(const NetworkRenamed& ev) {
    net(AuditAction::kNetworkRenamed, ev.network_id, 0);
    Details det(e_.details);
    det.str("name", ev.name);
    if (const Network* n = s_.networks.find(ev.network_id)) det.str("old_name", n->name);
    return true;
  }
  bool operator()(const NetworkEnterpriseSet& ev) {
    net(AuditAction::kNetworkEnterpriseChanged, ev.network_id, 0);
    Details(e_.details).boolean("enterprise", ev.enterprise);
    return true;
  }
  bool operator()(const MemberRoleSet& ev) {
    const Network* n = s_.networks.find(ev.network_id);
    const Role old = n ? n->role_of(ev.node_id) : Role::kNone;
    AuditAction a = AuditAction::kMemberRoleSet;
    if (!ev.operator_reason.empty())
      a = AuditAction::kNetworkAdminSetRole;
    else if (ev.role == Role::kOwner && old != Role::kOwner)
      a = AuditAction::kOwnershipTransferred;
    else if (ev.role > old)
      a = AuditAction::kMemberPromoted;
    else if (ev.role < old)
      a = AuditAction::kMemberDemoted;
    net(a, ev.network_id, ev.node_id);
    Details det(e_.details);
    det.str("role", role_name(ev.role)).str("old_role", role_name(old));
    if (!ev.operator_reason.empty()) det.str("reason", ev.operator_reason);
    return true;
  }
  bool operator()(const MemberTagsSet& ev) {
    net(AuditAction::kMemberTagsChanged, ev.network_id, ev.node_id);
    Details(e_.details).list("tags", ev.tags);
    return true;
  }
  bool operator()(const NetworkPolicySet& ev) {
    net(AuditAction::kPolicyChanged, ev.network_id, 0);
    Details(e_.details)
        .num("max_members", ev.max_members)
        .list("allowed_ports", ev.allowed_ports)
        .str_if("description", ev.description);
    return true;
  }
  bool operator()(const ExprPolicySet& ev) {
    return net(ev.expr_policy_json.empty() ? AuditAction::kExprPolicyCleared : AuditAction::kExprPolicySet,
               ev.network_id, 0);
  }
  bool operator()(const InviteCreated& ev) {
    net(AuditAction::kInviteCreated, ev.network_id, ev.inviter_id);
    Details(e_.details).num("target_node_id", ev.target_id);
    return true;
  }
  bool operator()(const InviteRemoved& ev) {
    AuditAction a = AuditAction::kInviteResponded;
    for (const Invite& i : s_.networks.invites_for(ev.target_id))
      if (i.network_id == ev.network_id && m_.time_ns - i.time_ns >= kInviteExpiryNs)
        a = AuditAction::kInviteExpiredCleanup;
    return net(a, ev.network_id, ev.target_id);
  }
  bool operator()(const RbacPreAssigned& ev) {
    net(AuditAction::kRbacPreAssigned, ev.network_id, 0);
    Details(e_.details).str("external_id", ev.external_id).str("role", role_name(ev.role));
    return true;
  }
  bool operator()(const TrustAdded& ev) { return pair(AuditAction::kTrustCreated, ev.a, ev.b); }
  bool operator()(const TrustRevoked& ev) { return pair(AuditAction::kTrustRevoked, ev.a, ev.b); }
  bool operator()(const HandshakeRequested& ev) {
    return pair(AuditAction::kHandshakeRelayed, ev.from_node_id, ev.to_node_id);
  }
  bool operator()(const HandshakeResponded& ev) {
    pair(AuditAction::kHandshakeResponded, ev.responder_id, ev.peer_id);
    Details(e_.details).num("peer_id", ev.peer_id).boolean("accept", ev.accept);
    return true;
  }
  bool operator()(const HandshakeInboxDrained&) { return false; }
  bool operator()(const BeaconRegistered& ev) {
    act(AuditAction::kBeaconRegistered);
    Details(e_.details).num("beacon_id", ev.beacon_id).str("addr", ev.addr);
    return true;
  }
  bool operator()(const WebhookConfigured& ev) {
    // The URL itself may carry a credential in its query: only whether it is on.
    act(AuditAction::kWebhookConfigured);
    Details(e_.details).boolean("enabled", !ev.url.empty());
    return true;
  }
  bool operator()(const AuditExportConfigured& ev) {
    act(AuditAction::kAuditExportConfigured);
    Details det(e_.details);
    if (ev.format.empty() || ev.endpoint.empty()) {
      det.boolean("enabled", false);
      return true;
    }
    det.str("format", ev.format).str("endpoint", ev.endpoint).str_if("index", ev.index).str_if("source", ev.source);
    return true;
  }
  bool operator()(const IdpConfigured& ev) {
    act(AuditAction::kIdpConfigured);
    Details det(e_.details);
    if (ev.idp_type.empty()) {
      det.boolean("enabled", false);
      return true;
    }
    det.str("idp_type", ev.idp_type).str("url", ev.url).str_if("issuer", ev.issuer);
    return true;
  }
  bool operator()(const IdentityWebhookConfigured& ev) {
    act(AuditAction::kIdentityWebhookConfigured);
    Details(e_.details).boolean("enabled", !ev.url.empty());
    return true;
  }

 private:
  void act(AuditAction a) { e_.action = a; }
  bool node(AuditAction a, uint32_t id) {
    e_.action = a;
    e_.node_id = id;
    return true;
  }
  bool net(AuditAction a, uint16_t net_id, uint32_t node_id) {
    e_.action = a;
    e_.network_id = net_id;
    e_.node_id = node_id;
    return true;
  }
  // Two-node events: the acting node is node_id, the other one peer_id.
  bool pair(AuditAction a, uint32_t actor, uint32_t peer) {
    node(a, actor);
    Details(e_.details).num("peer_id", peer);
    return true;
  }

  const EventMeta& m_;
  const State& s_;
  AuditEntry& e_;
};

// ---- hashing -----------------------------------------------------------------------

// Writes the lowercase hex SHA-256 of the spec's concatenation into `hash`.
// OpenSSL's low-level SHA-256 (SHA-NI where the CPU has it): State::apply runs this
// for every event, and the EVP interface costs an allocation per digest on top.
void chain_hash(std::string_view prev, std::string_view timestamp, const AuditEntry& e, std::string& hash) {
  const std::string_view action = audit_action_name(e.action);
  const unsigned char ids[6] = {
      static_cast<unsigned char>(e.network_id >> 8), static_cast<unsigned char>(e.network_id),
      static_cast<unsigned char>(e.node_id >> 24),   static_cast<unsigned char>(e.node_id >> 16),
      static_cast<unsigned char>(e.node_id >> 8),    static_cast<unsigned char>(e.node_id)};
  SHA256_CTX ctx;
  unsigned char d[SHA256_DIGEST_LENGTH];
  if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, prev.data(), prev.size()) != 1 ||
      SHA256_Update(&ctx, timestamp.data(), timestamp.size()) != 1 ||
      SHA256_Update(&ctx, action.data(), action.size()) != 1 || SHA256_Update(&ctx, ids, sizeof ids) != 1 ||
      SHA256_Update(&ctx, e.details.data(), e.details.size()) != 1 || SHA256_Final(d, &ctx) != 1)
    throw std::runtime_error("SHA-256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  hash.resize(2 * SHA256_DIGEST_LENGTH);
  for (size_t i = 0; i < SHA256_DIGEST_LENGTH; ++i) {
    hash[2 * i] = kHex[d[i] >> 4];
    hash[2 * i + 1] = kHex[d[i] & 15];
  }
}

}  // namespace

std::string_view audit_action_name(AuditAction a) {
  const auto i = static_cast<size_t>(a);
  return i < kAuditActionCount ? kActionNames[i] : std::string_view();
}

std::optional<AuditAction> audit_action_from_name(std::string_view name) {
  for (size_t i = 0; i < kAuditActionCount; ++i)
    if (kActionNames[i] == name) return static_cast<AuditAction>(i);
  return std::nullopt;
}

std::string AuditEntry::timestamp() const { return unix_seconds_text(time); }

bool is_secret_detail_key(std::string_view key) { return secret_key(key); }

void append_audit_detail(std::string& details, std::string_view key, std::string_view value) {
  if (!details.empty()) details += ", ";
  details.append(key);
  details += '=';
  details.append(is_secret_detail_key(key) ? std::string_view("<redacted>") : value);
}

bool audit_entry_of(const EventMeta& m, const Event& e, const State& before, AuditEntry& out) {
  out.seq = m.seq;
  out.time = floor_seconds(m.time_ns);
  out.network_id = 0;
  out.node_id = 0;
  out.details.clear();
  out.prev_hash.clear();
  out.hash.clear();
  return std::visit(Mapper(m, before, out), e);
}

std::vector<AuditEntry> audit_entries_of(const EventMeta& m, const Event& e, const State& before) {
  std::vector<AuditEntry> out(1);
  if (!audit_entry_of(m, e, before, out[0])) out.clear();
  return out;
}

std::string audit_hash(std::string_view prev_hash, const AuditEntry& e) {
  std::string h;
  chain_hash(prev_hash, e.timestamp(), e, h);
  return h;
}

std::optional<size_t> audit_chain_break(const std::vector<AuditEntry>& entries) {
  for (size_t i = 0; i < entries.size(); ++i) {
    const AuditEntry& e = entries[i];
    if (i > 0 && e.prev_hash != entries[i - 1].hash) return i;
    if (e.hash != audit_hash(e.prev_hash, e)) return i;
  }
  return std::nullopt;
}

// ---- AuditLog ----------------------------------------------------------------------

void AuditLog::record(const EventMeta& m, const Event& e, const State& before) {
  if (!audit_entry_of(m, e, before, scratch_)) return;
  push_scratch();
}

void AuditLog::push_scratch() {
  AuditEntry& e = scratch_;
  if (e.time != ts_second_) {
    ts_second_ = e.time;
    ts_text_ = e.timestamp();
  }
  e.prev_hash = head_;
  chain_hash(head_, ts_text_, e, e.hash);
  head_ = e.hash;
  ++total_;
  ++counts_[static_cast<size_t>(e.action)];
  if (ring_.size() < kCapacity) {
    ring_.push_back(std::move(e));
    return;
  }
  std::swap(ring_[start_], e);
  start_ = (start_ + 1) % kCapacity;
}

std::vector<AuditEntry> AuditLog::since(uint64_t after_seq) const {
  // Entries are in seq order: walk back from the newest to the first one past the cursor.
  size_t first = size();
  while (first > 0 && at(first - 1).seq > after_seq) --first;
  std::vector<AuditEntry> out;
  out.reserve(size() - first);
  for (size_t i = first; i < size(); ++i) out.push_back(at(i));
  return out;
}

bool AuditLog::operator==(const AuditLog& o) const {
  if (size() != o.size() || head_ != o.head_ || total_ != o.total_ || counts_ != o.counts_) return false;
  for (size_t i = 0; i < size(); ++i)
    if (!(at(i) == o.at(i))) return false;
  return true;
}

// ---- JSON ----------------------------------------------------------------------------

nlohmann::json audit_entry_json(const AuditEntry& e, bool with_hash) {
  nlohmann::json j = nlohmann::json::object();
  j["timestamp"] = e.timestamp();
  j["action"] = std::string(e.action_name());
  if (e.network_id != 0) j["network_id"] = e.network_id;
  if (e.node_id != 0) j["node_id"] = e.node_id;
  if (!e.details.empty()) j["details"] = e.details;
  if (with_hash) j["hash"] = e.hash;
  return j;
}

nlohmann::json audit_log_entries_json(const AuditLog& log, size_t limit, uint16_t network_filter) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = log.size(); i > 0 && out.size() < limit; --i) {
    const AuditEntry& e = log.at(i - 1);
    if (network_filter == 0 || e.network_id == network_filter) out.push_back(audit_entry_json(e, false));
  }
  return out;
}

std::string audit_recent_json(const AuditLog& log, size_t n) {
  nlohmann::json events = nlohmann::json::array();
  for (size_t i = log.size(); i > 0 && events.size() < n; --i) events.push_back(audit_entry_json(log.at(i - 1), true));
  nlohmann::json body;
  body["count"] = events.size();
  body["events"] = std::move(events);
  // Details hold event strings, which may be any bytes: never throw on bad UTF-8.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace pilot
