// The event catalogue: every state change the rendezvous can make, one struct each.
//
// The log is the database (ARCHITECTURE.md §1): handlers decide, events record the
// decision, and projections apply it without reading the clock, randomness or the
// network. So an event carries every value apply needs — allocated IDs, keys, the
// resulting role — while the time of the change is the record's timestamp
// (log/format.h), shared by all events.
//
// Each struct lists its fields once in `fields(self, f)`; the binary codec, the JSON
// dump and equality all walk that list, so a field cannot be forgotten by one of them.
//
// Compatibility rules (the log outlives binaries):
//   * a kind number is never reused or renumbered;
//   * fields are only ever appended to a struct; a payload that ends early decodes
//     the missing trailing fields as their defaults; extra bytes are an error.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/codec.h"

namespace pilot {

enum class EventKind : uint16_t {
  // directory (nodes and their identity)
  kNodeRegistered = 1,
  kNodeDeregistered = 2,
  kNodeExpired = 3,
  kHostnameChanged = 4,
  kTagsChanged = 5,
  kVisibilityChanged = 6,
  kKeyRotated = 7,
  kKeyExpirySet = 8,
  kExternalIdSet = 9,
  kBadgeSubmitted = 10,
  kRecoveryEnrolled = 11,
  // networks (membership, roles, invites, policies)
  kNetworkCreated = 20,
  kMemberJoined = 21,
  kMemberLeft = 22,
  kNetworkDeleted = 23,
  kNetworkRenamed = 24,
  kNetworkEnterpriseSet = 25,
  kMemberRoleSet = 26,
  kMemberTagsSet = 27,
  kNetworkPolicySet = 28,
  kExprPolicySet = 29,
  kInviteCreated = 30,
  kInviteRemoved = 31,
  kRbacPreAssigned = 32,
  // trust (pairs and the handshake relay)
  kTrustAdded = 40,
  kTrustRevoked = 41,
  kHandshakeRequested = 42,
  kHandshakeResponded = 43,
  kHandshakeInboxDrained = 44,
  // routing
  kBeaconRegistered = 50,
  // operator configuration
  kWebhookConfigured = 60,
  kAuditExportConfigured = 61,
  kIdpConfigured = 62,
  kIdentityWebhookConfigured = 63,
};

// Roles in a network (spec §4.4). kNone = the network has no RBAC roles.
enum class Role : uint8_t { kNone = 0, kMember = 1, kAdmin = 2, kOwner = 3 };
std::string_view role_name(Role r);

// ---- directory -------------------------------------------------------------------

// A register that the handler accepted: a new node, a reclaimed ID (same key, or same
// owner with a new key after the old node was reaped), or an endpoint refresh of a
// live node. Apply tells them apart from the state; the event holds the result.
struct NodeRegistered {
  static constexpr EventKind kKind = EventKind::kNodeRegistered;
  static constexpr std::string_view kName = "node_registered";
  bool operator==(const NodeRegistered&) const = default;
  uint32_t node_id = 0;
  PublicKey public_key{};
  std::string owner;
  std::string real_addr;  // sanitised endpoint (spec §6.1)
  std::vector<std::string> lan_addrs;
  std::string version;  // empty = keep the stored version
  bool relay_only = false;
  static void fields(auto& s, auto&& f) {
    f("node_id", s.node_id), f("public_key", s.public_key), f("owner", s.owner), f("real_addr", s.real_addr),
        f("lan_addrs", s.lan_addrs), f("version", s.version), f("relay_only", s.relay_only);
  }
};

// deregister: the node leaves every network; its key and owner stay bound to its ID.
struct NodeDeregistered {
  static constexpr EventKind kKind = EventKind::kNodeDeregistered;
  static constexpr std::string_view kName = "node_deregistered";
  bool operator==(const NodeDeregistered&) const = default;
  uint32_t node_id = 0;
  static void fields(auto& s, auto&& f) { f("node_id", s.node_id); }
};

// The reaper saw no heartbeat past the stale threshold. Custom-network memberships
// survive (restored when the key registers again); the hostname is freed.
struct NodeExpired {
  static constexpr EventKind kKind = EventKind::kNodeExpired;
  static constexpr std::string_view kName = "node_expired";
  bool operator==(const NodeExpired&) const = default;
  uint32_t node_id = 0;
  static void fields(auto& s, auto&& f) { f("node_id", s.node_id); }
};

struct HostnameChanged {  // empty hostname clears it
  static constexpr EventKind kKind = EventKind::kHostnameChanged;
  static constexpr std::string_view kName = "hostname_changed";
  bool operator==(const HostnameChanged&) const = default;
  uint32_t node_id = 0;
  std::string hostname;
  static void fields(auto& s, auto&& f) { f("node_id", s.node_id), f("hostname", s.hostname); }
};

struct TagsChanged {  // already normalised by the handler
  static constexpr EventKind kKind = EventKind::kTagsChanged;
  static constexpr std::string_view kName = "tags_changed";
  bool operator==(const TagsChanged&) const = default;
  uint32_t node_id = 0;
  std::vector<std::string> tags;
  static void fields(auto& s, auto&& f) { f("node_id", s.node_id), f("tags", s.tags); }
};

struct VisibilityChanged {
  static constexpr EventKind kKind = EventKind::kVisibilityChanged;
  static constexpr std::string_view kName = "visibility_changed";
  bool operator==(const VisibilityChanged&) const = default;
  uint32_t node_id = 0;
  bool is_public = false;
  static void fields(auto& s, auto&& f) { f("node_id", s.node_id), f("public", s.is_public); }
};

// rotate_key (signed by the old key) or recover_identity (cold recovery key; clears the
// badge and consumes a single-use nonce valid until recovery_exp).
struct KeyRotated {
  static constexpr EventKind kKind = EventKind::kKeyRotated;
  static constexpr std::string_view kName = "key_rotated";
  bool operator==(const KeyRotated&) const = default;
  uint32_t node_id = 0;
  PublicKey new_public_key{};
  bool recovered = false;
  std::string recovery_nonce;
  int64_t recovery_exp = 0;  // unix seconds
  static void fields(auto& s, auto&& f) {
    f("node_id", s.node_id), f("new_public_key", s.new_public_key), f("recovered", s.recovered),
        f("recovery_nonce", s.recovery_nonce), f("recovery_exp", s.recovery_exp);
  }
};

struct KeyExpirySet {
  static constexpr EventKind kKind = EventKind::kKeyExpirySet;
  static constexpr std::string_view kName = "key_expiry_set";
  bool operator==(const KeyExpirySet&) const = default;
  uint32_t node_id = 0;
  int64_t expires_at = 0;  // unix seconds; 0 clears
  static void fields(auto& s, auto&& f) { f("node_id", s.node_id), f("expires_at", s.expires_at); }
};

struct ExternalIdSet {
  static constexpr EventKind kKind = EventKind::kExternalIdSet;
  static constexpr std::string_view kName = "external_id_set";
  bool operator==(const ExternalIdSet&) const = default;
  uint32_t node_id = 0;
  std::string external_id;
  static void fields(auto& s, auto&& f) { f("node_id", s.node_id), f("external_id", s.external_id); }
};

struct BadgeSubmitted {
  static constexpr EventKind kKind = EventKind::kBadgeSubmitted;
  static constexpr std::string_view kName = "badge_submitted";
  bool operator==(const BadgeSubmitted&) const = default;
  uint32_t node_id = 0;
  std::string badge;
  std::string badge_sig;
  std::string provider;
  int64_t verified_at = 0;  // unix seconds, from the badge
  static void fields(auto& s, auto&& f) {
    f("node_id", s.node_id), f("badge", s.badge), f("badge_sig", s.badge_sig), f("provider", s.provider),
        f("verified_at", s.verified_at);
  }
};

struct RecoveryEnrolled {
  static constexpr EventKind kKind = EventKind::kRecoveryEnrolled;
  static constexpr std::string_view kName = "recovery_enrolled";
  bool operator==(const RecoveryEnrolled&) const = default;
  uint32_t node_id = 0;
  std::string commitment;
  std::string provider;
  static void fields(auto& s, auto&& f) {
    f("node_id", s.node_id), f("commitment", s.commitment), f("provider", s.provider);
  }
};

// ---- networks --------------------------------------------------------------------

struct NetworkCreated {  // the creator (if any) becomes its owner
  static constexpr EventKind kKind = EventKind::kNetworkCreated;
  static constexpr std::string_view kName = "network_created";
  bool operator==(const NetworkCreated&) const = default;
  uint16_t network_id = 0;
  std::string name;
  std::string join_rule;  // open | token | invite
  std::string token;
  std::string admin_token;
  bool enterprise = false;
  uint32_t creator_node_id = 0;  // 0 = created by an operator (blueprint)
  std::string rules_json;        // managed-network rules, raw JSON; empty = none
  std::string expr_policy_json;  // raw JSON; empty = none
  static void fields(auto& s, auto&& f) {
    f("network_id", s.network_id), f("name", s.name), f("join_rule", s.join_rule), f("token", s.token),
        f("admin_token", s.admin_token), f("enterprise", s.enterprise), f("creator_node_id", s.creator_node_id),
        f("rules_json", s.rules_json), f("expr_policy_json", s.expr_policy_json);
  }
};

struct MemberJoined {
  static constexpr EventKind kKind = EventKind::kMemberJoined;
  static constexpr std::string_view kName = "member_joined";
  bool operator==(const MemberJoined&) const = default;
  uint16_t network_id = 0;
  uint32_t node_id = 0;
  Role role = Role::kMember;
  static void fields(auto& s, auto&& f) {
    f("network_id", s.network_id), f("node_id", s.node_id), f("role", s.role);
  }
};

enum class LeaveReason : uint8_t { kLeft = 0, kKicked = 1, kDirectorySync = 2 };

// Removes membership, role, member tags, and the invites for this network addressed
// to the node or sent by it.
struct MemberLeft {
  static constexpr EventKind kKind = EventKind::kMemberLeft;
  static constexpr std::string_view kName = "member_left";
  bool operator==(const MemberLeft&) const = default;
  uint16_t network_id = 0;
  uint32_t node_id = 0;
  LeaveReason reason = LeaveReason::kLeft;
  // Why an operator removed the node (admin API kick, which bypasses RBAC); empty
  // otherwise. For the audit trail only: apply ignores it.
  std::string operator_reason;
  static void fields(auto& s, auto&& f) {
    f("network_id", s.network_id), f("node_id", s.node_id), f("reason", s.reason),
        f("operator_reason", s.operator_reason);
  }
};

struct NetworkDeleted {
  static constexpr EventKind kKind = EventKind::kNetworkDeleted;
  static constexpr std::string_view kName = "network_deleted";
  bool operator==(const NetworkDeleted&) const = default;
  uint16_t network_id = 0;
  static void fields(auto& s, auto&& f) { f("network_id", s.network_id); }
};

struct NetworkRenamed {
  static constexpr EventKind kKind = EventKind::kNetworkRenamed;
  static constexpr std::string_view kName = "network_renamed";
  bool operator==(const NetworkRenamed&) const = default;
  uint16_t network_id = 0;
  std::string name;
  static void fields(auto& s, auto&& f) { f("network_id", s.network_id), f("name", s.name); }
};

// false clears every role; true back-fills them (spec §6.16: the first member without
// a role becomes owner when there is none, the rest members).
struct NetworkEnterpriseSet {
  static constexpr EventKind kKind = EventKind::kNetworkEnterpriseSet;
  static constexpr std::string_view kName = "network_enterprise_set";
  bool operator==(const NetworkEnterpriseSet&) const = default;
  uint16_t network_id = 0;
  bool enterprise = false;
  static void fields(auto& s, auto&& f) { f("network_id", s.network_id), f("enterprise", s.enterprise); }
};

// promote / demote; transfer_ownership is two of these (new owner, old owner → admin).
struct MemberRoleSet {
  static constexpr EventKind kKind = EventKind::kMemberRoleSet;
  static constexpr std::string_view kName = "member_role_set";
  bool operator==(const MemberRoleSet&) const = default;
  uint16_t network_id = 0;
  uint32_t node_id = 0;
  Role role = Role::kMember;
  // Set when an operator changed the role over the admin API (audit only, as above).
  std::string operator_reason;
  static void fields(auto& s, auto&& f) {
    f("network_id", s.network_id), f("node_id", s.node_id), f("role", s.role), f("operator_reason", s.operator_reason);
  }
};

struct MemberTagsSet {
  static constexpr EventKind kKind = EventKind::kMemberTagsSet;
  static constexpr std::string_view kName = "member_tags_set";
  bool operator==(const MemberTagsSet&) const = default;
  uint16_t network_id = 0;
  uint32_t node_id = 0;
  std::vector<std::string> tags;
  static void fields(auto& s, auto&& f) { f("network_id", s.network_id), f("node_id", s.node_id), f("tags", s.tags); }
};

struct NetworkPolicySet {  // the full resulting policy, not a patch
  static constexpr EventKind kKind = EventKind::kNetworkPolicySet;
  static constexpr std::string_view kName = "network_policy_set";
  bool operator==(const NetworkPolicySet&) const = default;
  uint16_t network_id = 0;
  uint32_t max_members = 0;  // 0 = unlimited
  std::vector<uint16_t> allowed_ports;
  std::string description;
  static void fields(auto& s, auto&& f) {
    f("network_id", s.network_id), f("max_members", s.max_members), f("allowed_ports", s.allowed_ports),
        f("description", s.description);
  }
};

struct ExprPolicySet {  // empty clears
  static constexpr EventKind kKind = EventKind::kExprPolicySet;
  static constexpr std::string_view kName = "expr_policy_set";
  bool operator==(const ExprPolicySet&) const = default;
  uint16_t network_id = 0;
  std::string expr_policy_json;
  static void fields(auto& s, auto&& f) { f("network_id", s.network_id), f("expr_policy_json", s.expr_policy_json); }
};

struct InviteCreated {
  static constexpr EventKind kKind = EventKind::kInviteCreated;
  static constexpr std::string_view kName = "invite_created";
  bool operator==(const InviteCreated&) const = default;
  uint16_t network_id = 0;
  uint32_t inviter_id = 0;
  uint32_t target_id = 0;
  static void fields(auto& s, auto&& f) {
    f("network_id", s.network_id), f("inviter_id", s.inviter_id), f("target_id", s.target_id);
  }
};

// Answered (accept or decline) or pruned as older than 30 days. An accepted invite is
// followed by a MemberJoined.
struct InviteRemoved {
  static constexpr EventKind kKind = EventKind::kInviteRemoved;
  static constexpr std::string_view kName = "invite_removed";
  bool operator==(const InviteRemoved&) const = default;
  uint16_t network_id = 0;
  uint32_t target_id = 0;
  static void fields(auto& s, auto&& f) { f("network_id", s.network_id), f("target_id", s.target_id); }
};

struct RbacPreAssigned {  // a role waiting for the node whose external_id matches
  static constexpr EventKind kKind = EventKind::kRbacPreAssigned;
  static constexpr std::string_view kName = "rbac_pre_assigned";
  bool operator==(const RbacPreAssigned&) const = default;
  uint16_t network_id = 0;
  std::string external_id;
  Role role = Role::kMember;
  static void fields(auto& s, auto&& f) {
    f("network_id", s.network_id), f("external_id", s.external_id), f("role", s.role);
  }
};

// ---- trust -----------------------------------------------------------------------

struct TrustAdded {  // symmetric; stored as (min, max)
  static constexpr EventKind kKind = EventKind::kTrustAdded;
  static constexpr std::string_view kName = "trust_added";
  bool operator==(const TrustAdded&) const = default;
  uint32_t a = 0;
  uint32_t b = 0;
  static void fields(auto& s, auto&& f) { f("a", s.a), f("b", s.b); }
};

struct TrustRevoked {
  static constexpr EventKind kKind = EventKind::kTrustRevoked;
  static constexpr std::string_view kName = "trust_revoked";
  bool operator==(const TrustRevoked&) const = default;
  uint32_t a = 0;
  uint32_t b = 0;
  static void fields(auto& s, auto&& f) { f("a", s.a), f("b", s.b); }
};

// Queues a request in `to`'s inbox and records a pending marker from→to that survives
// polls until answered.
struct HandshakeRequested {
  static constexpr EventKind kKind = EventKind::kHandshakeRequested;
  static constexpr std::string_view kName = "handshake_requested";
  bool operator==(const HandshakeRequested&) const = default;
  uint32_t from_node_id = 0;
  uint32_t to_node_id = 0;
  std::string justification;
  static void fields(auto& s, auto&& f) {
    f("from_node_id", s.from_node_id), f("to_node_id", s.to_node_id), f("justification", s.justification);
  }
};

// `responder` answers `peer`'s request: clears the pending marker, queues the answer
// in peer's response inbox and, when accepted, adds the trust pair.
struct HandshakeResponded {
  static constexpr EventKind kKind = EventKind::kHandshakeResponded;
  static constexpr std::string_view kName = "handshake_responded";
  bool operator==(const HandshakeResponded&) const = default;
  uint32_t responder_id = 0;
  uint32_t peer_id = 0;
  bool accept = false;
  static void fields(auto& s, auto&& f) {
    f("responder_id", s.responder_id), f("peer_id", s.peer_id), f("accept", s.accept);
  }
};

// poll_handshakes drains both inbox queues of the node (a state change: a second poll
// returns nothing, also after a restart).
struct HandshakeInboxDrained {
  static constexpr EventKind kKind = EventKind::kHandshakeInboxDrained;
  static constexpr std::string_view kName = "handshake_inbox_drained";
  bool operator==(const HandshakeInboxDrained&) const = default;
  uint32_t node_id = 0;
  static void fields(auto& s, auto&& f) { f("node_id", s.node_id); }
};

// ---- routing and configuration ------------------------------------------------------

struct BeaconRegistered {
  static constexpr EventKind kKind = EventKind::kBeaconRegistered;
  static constexpr std::string_view kName = "beacon_registered";
  bool operator==(const BeaconRegistered&) const = default;
  uint32_t beacon_id = 0;
  std::string addr;
  static void fields(auto& s, auto&& f) { f("beacon_id", s.beacon_id), f("addr", s.addr); }
};

struct WebhookConfigured {  // empty url disables
  static constexpr EventKind kKind = EventKind::kWebhookConfigured;
  static constexpr std::string_view kName = "webhook_configured";
  bool operator==(const WebhookConfigured&) const = default;
  std::string url;
  static void fields(auto& s, auto&& f) { f("url", s.url); }
};

struct AuditExportConfigured {  // empty format or endpoint disables
  static constexpr EventKind kKind = EventKind::kAuditExportConfigured;
  static constexpr std::string_view kName = "audit_export_configured";
  bool operator==(const AuditExportConfigured&) const = default;
  std::string format;  // json | splunk_hec | syslog_cef
  std::string endpoint;
  std::string token;
  std::string index;
  std::string source;
  static void fields(auto& s, auto&& f) {
    f("format", s.format), f("endpoint", s.endpoint), f("token", s.token), f("index", s.index), f("source", s.source);
  }
};

struct IdpConfigured {  // empty idp_type clears
  static constexpr EventKind kKind = EventKind::kIdpConfigured;
  static constexpr std::string_view kName = "idp_configured";
  bool operator==(const IdpConfigured&) const = default;
  std::string idp_type;
  std::string url;
  std::string issuer;
  std::string client_id;
  std::string tenant_id;
  std::string domain;
  static void fields(auto& s, auto&& f) {
    f("idp_type", s.idp_type), f("url", s.url), f("issuer", s.issuer), f("client_id", s.client_id),
        f("tenant_id", s.tenant_id), f("domain", s.domain);
  }
};

struct IdentityWebhookConfigured {  // empty url disables
  static constexpr EventKind kKind = EventKind::kIdentityWebhookConfigured;
  static constexpr std::string_view kName = "identity_webhook_configured";
  bool operator==(const IdentityWebhookConfigured&) const = default;
  std::string url;
  static void fields(auto& s, auto&& f) { f("url", s.url); }
};

// Where and when an event happened: the header of the log record that carries it.
// Projections take their timestamps from here (never from the clock).
struct EventMeta {
  uint64_t seq = 0;
  uint64_t term = 0;
  int64_t time_ns = 0;  // unix nanoseconds, set by the leader when it appended
  int64_t unix_seconds() const { return time_ns / 1000000000; }
};

using Event =
    std::variant<NodeRegistered, NodeDeregistered, NodeExpired, HostnameChanged, TagsChanged, VisibilityChanged,
                 KeyRotated, KeyExpirySet, ExternalIdSet, BadgeSubmitted, RecoveryEnrolled, NetworkCreated,
                 MemberJoined, MemberLeft, NetworkDeleted, NetworkRenamed, NetworkEnterpriseSet, MemberRoleSet,
                 MemberTagsSet, NetworkPolicySet, ExprPolicySet, InviteCreated, InviteRemoved, RbacPreAssigned,
                 TrustAdded, TrustRevoked, HandshakeRequested, HandshakeResponded, HandshakeInboxDrained,
                 BeaconRegistered, WebhookConfigured, AuditExportConfigured, IdpConfigured, IdentityWebhookConfigured>;

EventKind kind_of(const Event& e);
std::string_view kind_name(EventKind k);  // "" for an unknown kind
std::optional<EventKind> kind_from_name(std::string_view name);
bool is_known_kind(uint16_t raw);

// Binary payload (the record header holds the kind).
std::string encode_payload(const Event& e);
// nullopt: unknown kind, malformed bytes, or trailing garbage.
std::optional<Event> decode_payload(EventKind kind, std::string_view payload);

// {"kind": "...", <fields>}: keys are the names in each fields() list; keys are base64.
nlohmann::json event_to_json(const Event& e);

}  // namespace pilot
