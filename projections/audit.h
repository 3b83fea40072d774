// The audit view (spec §12): a projection of the log into the reference's audit
// entries — action, network, node, "k=v, k=v" details, an RFC 3339 timestamp — linked
// by the spec's SHA-256 hash chain. Each entry also carries the seq of the log record
// it came from: the cursor for webhooks and exporters.
//
// Deterministic like every projection: the time is the record's (EventMeta), the
// action and details come from the event and the state just before it (to tell a new
// node from a re-registration, a promotion from a demotion). Tools that read raw
// records (pilot-log export) fold a State and read the entries each apply appended.
//
// The State keeps the last 1000 entries, the chain head, the number of entries ever
// chained and a count per action; the snapshot stores them all, so a restart
// continues the same chain.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/events.h"

namespace pilot {

struct State;

// The actions the log can produce (names in audit_action_name). Spec §12.2 names,
// plus ours where an event kind has none in the reference (marked "ours"). The
// numbers are not stored anywhere (snapshots store names), so the list may be
// reordered or extended.
enum class AuditAction : uint8_t {
  kNodeRegistered,             // node.registered
  kNodeReRegistered,           // node.re_registered (refresh of a live node, or its ID reclaimed)
  kNodeDeregistered,           // node.deregistered
  kNodeReaped,                 // node.reaped (NodeExpired)
  kNodeRecovered,              // node.recovered (KeyRotated by recover_identity)
  kHostnameChanged,            // hostname.changed
  kTagsChanged,                // tags.changed
  kVisibilityChanged,          // visibility.changed
  kKeyRotated,                 // key.rotated
  kKeyExpirySet,               // key.expiry_set
  kKeyExpiryCleared,           // key.expiry_cleared
  kExternalIdSet,              // identity.external_id_set
  kBadgeSubmitted,             // identity.badge_submitted
  kRecoveryEnrolled,           // identity.recovery_enrolled
  kNetworkCreated,             // network.created
  kNetworkJoined,              // network.joined
  kNetworkLeft,                // network.left
  kMemberKicked,               // member.kicked (also a directory-sync removal: details reason=directory_sync)
  kNetworkAdminKick,           // network.admin_kick (a kick with an operator_reason: the admin API)
  kNetworkDeleted,             // network.deleted
  kNetworkRenamed,             // network.renamed
  kNetworkEnterpriseChanged,   // network.enterprise_changed
  kOwnershipTransferred,       // network.ownership_transferred (a member made owner)
  kMemberPromoted,             // member.promoted
  kMemberDemoted,              // member.demoted
  kMemberRoleSet,              // member.role_set (ours: a role set to the role it already was)
  kNetworkAdminSetRole,        // network.admin_set_role (a role set with an operator_reason)
  kMemberTagsChanged,          // member_tags.changed
  kPolicyChanged,              // network.policy_changed
  kExprPolicySet,              // network.expr_policy_set
  kExprPolicyCleared,          // network.expr_policy_cleared
  kInviteCreated,              // invite.created
  kInviteResponded,            // invite.responded
  kInviteExpiredCleanup,       // invite.expired_cleanup (an invite removed 30 days or more after it was sent)
  kRbacPreAssigned,            // rbac.pre_assigned (ours)
  kTrustCreated,               // trust.created
  kTrustRevoked,               // trust.revoked
  kHandshakeRelayed,           // handshake.relayed
  kHandshakeResponded,         // handshake.responded
  kBeaconRegistered,           // beacon.registered
  kWebhookConfigured,          // webhook.configured (ours)
  kAuditExportConfigured,      // audit_export.configured
  kIdpConfigured,              // idp.configured
  kIdentityWebhookConfigured,  // identity_webhook.configured (ours)
  kCount
};
inline constexpr size_t kAuditActionCount = static_cast<size_t>(AuditAction::kCount);

std::string_view audit_action_name(AuditAction a);  // "" for kCount or out of range
std::optional<AuditAction> audit_action_from_name(std::string_view name);

// One entry of spec §12.1, plus the log seq it came from.
struct AuditEntry {
  uint64_t seq = 0;  // seq of the log record the entry came from
  int64_t time = 0;  // unix seconds: the record's time, rounded towards the past
  AuditAction action = AuditAction::kNodeRegistered;
  uint16_t network_id = 0;
  uint32_t node_id = 0;
  std::string details;    // "k=v, k=v", secret values redacted (append_audit_detail)
  std::string prev_hash;  // the previous entry's hash; "" for the first entry of the chain
  std::string hash;       // lowercase hex SHA-256 (audit_hash)

  std::string_view action_name() const { return audit_action_name(action); }
  std::string timestamp() const;  // "2026-03-03T12:34:56Z"
  bool operator==(const AuditEntry&) const = default;
};

// ---- the pure mapping -------------------------------------------------------------

// The entry an event makes, judged against `before` (the state the event is applied
// to): seq, time, action, network_id, node_id and details are set, the hashes are
// left empty. False when the event kind is not audited (HandshakeInboxDrained: a
// poll, which the reference does not audit either). Reuses `out`'s storage.
bool audit_entry_of(const EventMeta& m, const Event& e, const State& before, AuditEntry& out);
// The same as a list (empty or one entry), for callers that prefer it.
std::vector<AuditEntry> audit_entries_of(const EventMeta& m, const Event& e, const State& before);

// Spec §12.1 redaction: true for token, admin_token, password, passwd, secret,
// api_key, apikey, private_key, signature, challenge, auth, authorization, bearer,
// credential, credentials (any case) and keys ending in _token, _secret, _password,
// _key.
bool is_secret_detail_key(std::string_view key);
// Appends "key=value" (", " first when `details` is not empty); the value of a secret
// key is written as "<redacted>".
void append_audit_detail(std::string& details, std::string_view key, std::string_view value);

// lowercase hex SHA-256 over prev_hash ‖ timestamp ‖ action ‖ network_id (2 bytes BE)
// ‖ node_id (4 bytes BE) ‖ details; `e.prev_hash` and `e.hash` are not read.
std::string audit_hash(std::string_view prev_hash, const AuditEntry& e);
// Index of the first entry of `entries` whose hash or link is wrong (prev_hash of
// entry 0 is taken as given), or nullopt when the run is intact.
std::optional<size_t> audit_chain_break(const std::vector<AuditEntry>& entries);

// ---- the projection (a member of State) -----------------------------------------------

class AuditLog {
 public:
  static constexpr size_t kCapacity = 1000;

  // Maps the event against `before` and, when it is audited, chains the entry onto
  // the head and keeps it (dropping the oldest beyond kCapacity). State::apply calls
  // it before the event changes any other projection.
  void record(const EventMeta& m, const Event& e, const State& before);

  size_t size() const { return ring_.size(); }
  bool empty() const { return ring_.empty(); }
  // i = 0 is the oldest entry kept, size() - 1 the newest.
  const AuditEntry& at(size_t i) const { return ring_[(start_ + i) % ring_.size()]; }
  const AuditEntry* newest() const { return ring_.empty() ? nullptr : &at(ring_.size() - 1); }
  // Kept entries with seq > after_seq, oldest first (the exporter's cursor). If the
  // ring has moved past the cursor, entries were lost: compare total() with what
  // was delivered.
  std::vector<AuditEntry> since(uint64_t after_seq) const;

  const std::string& head() const { return head_; }  // hash of the newest entry ever ("" = none)
  uint64_t total() const { return total_; }          // entries ever chained
  uint64_t count(AuditAction a) const { return counts_[static_cast<size_t>(a)]; }
  const std::array<uint64_t, kAuditActionCount>& counts() const { return counts_; }

  // Same kept entries (in order), head, total and counts; the ring's layout does not matter.
  bool operator==(const AuditLog& o) const;

 private:
  friend struct SnapshotAccess;
  // Chains scratch_ onto the head and swaps it into the ring (the evicted entry's
  // buffers become the next scratch).
  void push_scratch();

  std::vector<AuditEntry> ring_;  // circular once full; oldest at start_
  size_t start_ = 0;
  std::string head_;
  uint64_t total_ = 0;
  std::array<uint64_t, kAuditActionCount> counts_{};
  AuditEntry scratch_;  // not state: reused buffers
  // Not state: the rendered timestamp of the last second seen.
  int64_t ts_second_ = INT64_MIN;
  std::string ts_text_;
};

// ---- JSON views (get_audit_log and /api/admin/audit/recent use these) ------------------

// {timestamp, action, network_id? (omitted if 0), node_id? (omitted if 0), details?
// (omitted if empty), hash? (only with with_hash)}.
nlohmann::json audit_entry_json(const AuditEntry& e, bool with_hash);
// The newest `limit` kept entries, newest first, optionally only those of one network
// (network_filter 0 = all), as audit_entry_json without hashes: get_audit_log's
// `entries`.
nlohmann::json audit_log_entries_json(const AuditLog& log, size_t limit, uint16_t network_filter);
// {"count":N,"events":[…]} of the newest min(n, kCapacity) entries, newest first, with
// hashes: the body of /api/admin/audit/recent.
std::string audit_recent_json(const AuditLog& log, size_t n);

}  // namespace pilot
