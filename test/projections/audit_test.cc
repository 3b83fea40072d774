// The audit view (projections/audit.h): the event → entry mapping, the spec's hash
// chain (a golden value computed outside this code), redaction, the 1000-entry ring,
// the JSON views and the snapshot round trip, including a snapshot from before the
// audit view existed.
#include "projections/audit.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <set>

#include "projections/snapshot.h"
#include "projections/state.h"
#include "test/projections/event_gen.h"
#include "test/projections/helpers.h"
#include "test/support/temp_dir.h"

namespace pilot {
namespace {

using projtest::Feeder;
using projtest::key;
using projtest::reg;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMarch3 = 1'772'496'000;  // 2026-03-03T00:00:00Z

// The entry `e` makes in `f`'s state (and applies it), or nullopt.
std::optional<AuditEntry> entry_for(Feeder& f, const Event& e) {
  const uint64_t before = f.state.audit.total();
  f(e);
  if (f.state.audit.total() == before) return std::nullopt;
  return *f.state.audit.newest();
}

struct Expect {
  std::string action;
  uint16_t network = 0;
  uint32_t node = 0;
  std::string details;
};

void expect_entry(Feeder& f, const Event& e, const Expect& want) {
  const uint64_t seq = f.clock.seq + 1;
  auto got = entry_for(f, e);
  ASSERT_TRUE(got) << event_to_json(e).dump();
  EXPECT_EQ(got->action_name(), want.action) << event_to_json(e).dump();
  EXPECT_EQ(got->network_id, want.network) << want.action;
  EXPECT_EQ(got->node_id, want.node) << want.action;
  EXPECT_EQ(got->details, want.details) << want.action;
  EXPECT_EQ(got->seq, seq) << want.action;
}

// ---- mapping -------------------------------------------------------------------------

TEST(AuditMapping, NodeLifecycle) {
  Feeder f;
  NodeRegistered r = reg(1, 0x01, "alice@example.com", "198.51.100.7:4000");
  expect_entry(f, r, {"node.registered", 0, 1, "real_addr=198.51.100.7:4000, owner=alice@example.com"});
  r.real_addr = "198.51.100.8:4000";
  r.version = "v1.2";
  expect_entry(f, r,
               {"node.re_registered", 0, 1,
                "mode=fast_path_endpoint_refresh, real_addr=198.51.100.8:4000, owner=alice@example.com"});
  expect_entry(f, HostnameChanged{1, "alpha"}, {"hostname.changed", 0, 1, "hostname=alpha"});
  expect_entry(f, HostnameChanged{1, "beta"}, {"hostname.changed", 0, 1, "hostname=beta, old_hostname=alpha"});
  expect_entry(f, TagsChanged{1, {"gpu", "eu"}}, {"tags.changed", 0, 1, "tags=[gpu eu]"});
  expect_entry(f, VisibilityChanged{1, true}, {"visibility.changed", 0, 1, "public=true"});
  expect_entry(f, KeyRotated{1, key(0x02), false, "", 0}, {"key.rotated", 0, 1, "rotation=1"});
  expect_entry(f, KeyExpirySet{1, kMarch3}, {"key.expiry_set", 0, 1, "expires_at=2026-03-03T00:00:00Z"});
  expect_entry(f, KeyExpirySet{1, 0}, {"key.expiry_cleared", 0, 1, ""});
  expect_entry(f, ExternalIdSet{1, "ext-1"}, {"identity.external_id_set", 0, 1, "external_id=ext-1"});
  expect_entry(f, BadgeSubmitted{1, "b", "sig", "github", 5}, {"identity.badge_submitted", 0, 1, "provider=github"});
  expect_entry(f, RecoveryEnrolled{1, "c", "google"}, {"identity.recovery_enrolled", 0, 1, "provider=google"});
  expect_entry(f, KeyRotated{1, key(0x03), true, "n", 9}, {"node.recovered", 0, 1, "provider=google"});
  expect_entry(f, NodeExpired{1}, {"node.reaped", 0, 1, ""});
  // The same key comes back: its ID, reclaimed.
  expect_entry(f, reg(1, 0x03, "", "1.1.1.1:1"),
               {"node.re_registered", 0, 1, "mode=existing_identity, real_addr=1.1.1.1:1"});
  expect_entry(f, NodeDeregistered{1}, {"node.deregistered", 0, 1, ""});
  // The owner comes back with a new key: the ID is reclaimed by owner.
  expect_entry(f, reg(1, 0x04, "alice@example.com", "2.2.2.2:2"),
               {"node.re_registered", 0, 1, "mode=owner_reclaim, real_addr=2.2.2.2:2, owner=alice@example.com"});
  NodeRegistered relay = reg(2, 0x05, "", "3.3.3.3:3");
  relay.relay_only = true;
  expect_entry(f, relay, {"node.registered", 0, 2, "real_addr=3.3.3.3:3, relay_only=true"});
}

TEST(AuditMapping, NetworksRolesAndInvites) {
  Feeder f;
  f(reg(1, 1));
  f(reg(2, 2));
  f(reg(3, 3));
  expect_entry(f, NetworkCreated{5, "lab", "token", "join-secret", "adm-secret", true, 1, "", ""},
               {"network.created", 5, 1, "name=lab, join_rule=token, enterprise=true"});
  expect_entry(f, MemberJoined{5, 2, Role::kMember}, {"network.joined", 5, 2, "role=member"});
  expect_entry(f, MemberJoined{5, 3, Role::kMember}, {"network.joined", 5, 3, "role=member"});
  expect_entry(f, MemberRoleSet{5, 2, Role::kAdmin, ""}, {"member.promoted", 5, 2, "role=admin, old_role=member"});
  expect_entry(f, MemberRoleSet{5, 2, Role::kMember, ""}, {"member.demoted", 5, 2, "role=member, old_role=admin"});
  expect_entry(f, MemberRoleSet{5, 2, Role::kMember, ""}, {"member.role_set", 5, 2, "role=member, old_role=member"});
  // transfer_ownership: the new owner, then the old owner down to admin.
  expect_entry(f, MemberRoleSet{5, 2, Role::kOwner, ""},
               {"network.ownership_transferred", 5, 2, "role=owner, old_role=member"});
  expect_entry(f, MemberRoleSet{5, 1, Role::kAdmin, ""}, {"member.demoted", 5, 1, "role=admin, old_role=owner"});
  expect_entry(f, MemberRoleSet{5, 3, Role::kAdmin, "on call"},
               {"network.admin_set_role", 5, 3, "role=admin, old_role=member, reason=on call"});
  expect_entry(f, MemberTagsSet{5, 3, {"a", "b"}}, {"member_tags.changed", 5, 3, "tags=[a b]"});
  expect_entry(f, NetworkPolicySet{5, 10, {80, 443}, "web"},
               {"network.policy_changed", 5, 0, "max_members=10, allowed_ports=[80 443], description=web"});
  expect_entry(f, ExprPolicySet{5, "{\"version\":1}"}, {"network.expr_policy_set", 5, 0, ""});
  expect_entry(f, ExprPolicySet{5, ""}, {"network.expr_policy_cleared", 5, 0, ""});
  expect_entry(f, NetworkEnterpriseSet{5, false}, {"network.enterprise_changed", 5, 0, "enterprise=false"});
  expect_entry(f, NetworkRenamed{5, "lab2"}, {"network.renamed", 5, 0, "name=lab2, old_name=lab"});
  expect_entry(f, RbacPreAssigned{5, "ext-9", Role::kAdmin},
               {"rbac.pre_assigned", 5, 0, "external_id=ext-9, role=admin"});

  // An invite answered at once, and one pruned after 30 days.
  expect_entry(f, InviteCreated{5, 1, 9}, {"invite.created", 5, 1, "target_node_id=9"});
  expect_entry(f, InviteRemoved{5, 9}, {"invite.responded", 5, 9, ""});
  f(InviteCreated{5, 1, 9});
  f.clock.time_ns += 30 * 86400 * kSecond;
  expect_entry(f, InviteRemoved{5, 9}, {"invite.expired_cleanup", 5, 9, ""});

  expect_entry(f, MemberLeft{5, 3, LeaveReason::kLeft, ""}, {"network.left", 5, 3, ""});
  expect_entry(f, MemberLeft{5, 2, LeaveReason::kKicked, ""}, {"member.kicked", 5, 2, ""});
  f(MemberJoined{5, 2, Role::kMember});
  expect_entry(f, MemberLeft{5, 2, LeaveReason::kKicked, "abuse"}, {"network.admin_kick", 5, 2, "reason=abuse"});
  f(MemberJoined{5, 2, Role::kMember});
  expect_entry(f, MemberLeft{5, 2, LeaveReason::kDirectorySync, ""}, {"member.kicked", 5, 2, "reason=directory_sync"});
  expect_entry(f, NetworkDeleted{5}, {"network.deleted", 5, 0, "name=lab2"});
}

TEST(AuditMapping, TrustRoutingAndSettings) {
  Feeder f;
  expect_entry(f, TrustAdded{4, 9}, {"trust.created", 0, 4, "peer_id=9"});
  expect_entry(f, TrustRevoked{9, 4}, {"trust.revoked", 0, 9, "peer_id=4"});
  expect_entry(f, HandshakeRequested{4, 9, "let me in"}, {"handshake.relayed", 0, 4, "peer_id=9"});
  expect_entry(f, HandshakeResponded{9, 4, true}, {"handshake.responded", 0, 9, "peer_id=4, accept=true"});
  EXPECT_FALSE(entry_for(f, HandshakeInboxDrained{4})) << "a poll is not audited";
  expect_entry(f, BeaconRegistered{7, "203.0.113.1:9001"},
               {"beacon.registered", 0, 0, "beacon_id=7, addr=203.0.113.1:9001"});
  expect_entry(f, WebhookConfigured{"https://hook.example/x?token=s3cret"},
               {"webhook.configured", 0, 0, "enabled=true"});
  expect_entry(f, WebhookConfigured{""}, {"webhook.configured", 0, 0, "enabled=false"});
  expect_entry(f, AuditExportConfigured{"splunk_hec", "https://splunk:8088", "hec-token", "main", ""},
               {"audit_export.configured", 0, 0, "format=splunk_hec, endpoint=https://splunk:8088, index=main"});
  expect_entry(f, AuditExportConfigured{"", "", "", "", ""}, {"audit_export.configured", 0, 0, "enabled=false"});
  expect_entry(f, IdpConfigured{"oidc", "https://idp", "iss", "cid", "", ""},
               {"idp.configured", 0, 0, "idp_type=oidc, url=https://idp, issuer=iss"});
  expect_entry(f, IdentityWebhookConfigured{"https://id"}, {"identity_webhook.configured", 0, 0, "enabled=true"});
}

TEST(AuditMapping, EveryEventKindMapsToANamedActionOrNone) {
  // Random streams cover every kind (the property tests check that); each audited
  // event gets a name that parses back, and only HandshakeInboxDrained is skipped.
  std::set<std::string> actions;
  State s;
  for (const auto& r : projtest::EventGen(3, /*wild=*/true).stream(3000)) {
    AuditEntry e;
    const bool audited = audit_entry_of(r.meta, r.event, s, e);
    EXPECT_EQ(audited, !std::holds_alternative<HandshakeInboxDrained>(r.event));
    if (audited) {
      ASSERT_FALSE(e.action_name().empty());
      EXPECT_EQ(audit_action_from_name(e.action_name()), e.action);
      EXPECT_EQ(e.seq, r.meta.seq);
      EXPECT_TRUE(e.hash.empty()) << "the pure mapping does not chain";
      actions.insert(std::string(e.action_name()));
    }
    s.apply(r.meta, r.event);
  }
  EXPECT_GT(actions.size(), 20u);
  for (size_t i = 0; i < kAuditActionCount; ++i) {
    const auto a = static_cast<AuditAction>(i);
    EXPECT_EQ(audit_action_from_name(audit_action_name(a)), a);
  }
  EXPECT_EQ(audit_action_name(AuditAction::kCount), "");
  EXPECT_FALSE(audit_action_from_name("node.nonsense"));
}

TEST(AuditMapping, ListFormIsEmptyOrOneEntry) {
  State s;
  EventMeta m{1, 1, kMarch3 * kSecond};
  EXPECT_TRUE(audit_entries_of(m, HandshakeInboxDrained{1}, s).empty());
  auto v = audit_entries_of(m, TrustAdded{1, 2}, s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].action_name(), "trust.created");
}

// ---- timestamps, hashes, redaction -------------------------------------------------------

TEST(AuditChain, TimestampIsTheRecordTimeInWholeSecondsUtc) {
  Feeder f;
  f.clock.time_ns = kMarch3 * kSecond + 999'999'999 - kSecond;  // the next event: .999999999 past 00:00:00
  auto e = entry_for(f, reg(1, 1));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->time, kMarch3);
  EXPECT_EQ(e->timestamp(), "2026-03-03T00:00:00Z");
  AuditEntry before_1970;
  before_1970.time = -1;
  EXPECT_EQ(before_1970.timestamp(), "1969-12-31T23:59:59Z");
  State s;
  AuditEntry out;
  ASSERT_TRUE(audit_entry_of(EventMeta{1, 1, -1}, TrustAdded{1, 2}, s, out));
  EXPECT_EQ(out.time, -1) << "rounded towards the past";
}

TEST(AuditChain, GoldenHashesOfTheSpecConcatenation) {
  // Computed independently (Python hashlib) over
  //   "" ‖ "2026-03-03T00:00:00Z" ‖ "node.registered" ‖ 00 00 ‖ 00 00 00 07 ‖ "real_addr=198.51.100.7:4000"
  // and then, chained on that hash,
  //   h1 ‖ "2026-03-03T00:00:01Z" ‖ "network.joined" ‖ 00 03 ‖ 00 00 00 07 ‖ "role=member".
  const std::string h1 = "b67289e7827a50e92bd10e79e8ecb5a15f09fb657cc074b3f090b920b0b7c38f";
  const std::string h2 = "0ee8feb03d61bf53e6a28c0e3fae1b67214a851489a1e37684378306c92a5371";
  Feeder f;
  f.clock.time_ns = (kMarch3 - 1) * kSecond;
  f(reg(7, 7, "", "198.51.100.7:4000"));
  f(MemberJoined{3, 7, Role::kMember});
  const AuditLog& a = f.state.audit;
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a.at(0).prev_hash, "");
  EXPECT_EQ(a.at(0).hash, h1);
  EXPECT_EQ(a.at(1).prev_hash, h1);
  EXPECT_EQ(a.at(1).hash, h2);
  EXPECT_EQ(a.head(), h2);
  EXPECT_EQ(audit_hash("", a.at(0)), h1);
  EXPECT_EQ(audit_hash(h1, a.at(1)), h2);
}

TEST(AuditChain, ChainBreakFindsTheFirstBadEntry) {
  Feeder f;
  for (uint32_t i = 1; i <= 5; ++i) f(reg(i, static_cast<uint8_t>(i)));
  std::vector<AuditEntry> v;
  for (size_t i = 0; i < f.state.audit.size(); ++i) v.push_back(f.state.audit.at(i));
  EXPECT_FALSE(audit_chain_break(v));
  auto edited = v;
  edited[2].details += "x";
  EXPECT_EQ(audit_chain_break(edited), 2u);
  auto dropped = v;
  dropped.erase(dropped.begin() + 1);
  EXPECT_EQ(audit_chain_break(dropped), 1u);
  auto swapped = v;
  std::swap(swapped[3], swapped[4]);
  EXPECT_EQ(audit_chain_break(swapped), 3u);
}

TEST(AuditRedaction, SecretKeysOfTheSpec) {
  for (const char* k : {"token",       "admin_token", "password",    "passwd",    "secret",        "api_key",
                        "apikey",      "private_key", "signature",   "challenge", "auth",          "authorization",
                        "bearer",      "credential",  "credentials", "TOKEN",     "Authorization", "join_token",
                        "hmac_secret", "db_password", "public_key",  "X_KEY"})
    EXPECT_TRUE(is_secret_detail_key(k)) << k;
  for (const char* k : {"name", "tokens", "author", "keyring", "key_id", "hostname", "secretary", "passwords"})
    EXPECT_FALSE(is_secret_detail_key(k)) << k;
  std::string d;
  append_audit_detail(d, "name", "lab");
  append_audit_detail(d, "join_token", "hunter2");
  append_audit_detail(d, "Signature", "abc");
  EXPECT_EQ(d, "name=lab, join_token=<redacted>, Signature=<redacted>");
}

TEST(AuditRedaction, NoEventLeaksItsSecretsIntoDetails) {
  Feeder f;
  f(reg(1, 1));
  f(NetworkCreated{5, "lab", "token", "join-SECRET", "admin-SECRET", false, 1, "", ""});
  f(AuditExportConfigured{"json", "https://x", "export-SECRET", "", ""});
  f(WebhookConfigured{"https://hook?token=url-SECRET"});
  f(BadgeSubmitted{1, "badge", "badge-SECRET-sig", "github", 1});
  f(KeyRotated{1, key(9), true, "nonce-SECRET", 5});
  for (size_t i = 0; i < f.state.audit.size(); ++i)
    EXPECT_EQ(f.state.audit.at(i).details.find("SECRET"), std::string::npos) << f.state.audit.at(i).details;
}

// ---- the ring ------------------------------------------------------------------------

TEST(AuditLogRing, KeepsTheNewestThousandAndCountsEverything) {
  Feeder f;
  const size_t n = AuditLog::kCapacity + 234;
  for (size_t i = 0; i < n; ++i) f(TrustAdded{static_cast<uint32_t>(i + 1), 1});
  f(HandshakeInboxDrained{1});  // not audited: nothing moves
  const AuditLog& a = f.state.audit;
  EXPECT_EQ(a.size(), AuditLog::kCapacity);
  EXPECT_EQ(a.total(), n);
  EXPECT_EQ(a.count(AuditAction::kTrustCreated), n);
  EXPECT_EQ(a.at(0).seq, 235u) << "the oldest kept";
  EXPECT_EQ(a.newest()->seq, n);
  EXPECT_EQ(a.head(), a.newest()->hash);
  std::vector<AuditEntry> v;
  for (size_t i = 0; i < a.size(); ++i) v.push_back(a.at(i));
  EXPECT_FALSE(audit_chain_break(v)) << "the chain runs on across the wrap";
  EXPECT_EQ(v.front().prev_hash.size(), 64u) << "the oldest kept still links to a dropped one";
}

TEST(AuditLogRing, SinceIsTheExporterCursor) {
  Feeder f;
  f(reg(1, 1));                 // seq 1
  f(HandshakeInboxDrained{1});  // seq 2, no entry
  f(VisibilityChanged{1, true});
  f(TagsChanged{1, {"x"}});  // seq 4
  EXPECT_EQ(f.state.audit.since(0).size(), 3u);
  auto after2 = f.state.audit.since(2);
  ASSERT_EQ(after2.size(), 2u);
  EXPECT_EQ(after2[0].seq, 3u);
  EXPECT_EQ(after2[1].seq, 4u);
  EXPECT_TRUE(f.state.audit.since(4).empty());
}

TEST(AuditLogRing, EqualityIsByContentNotLayout) {
  Feeder a;
  for (uint32_t i = 1; i <= AuditLog::kCapacity + 10; ++i) a(TrustAdded{i, 1});
  // a's ring has wrapped; a snapshot round trip lays the same entries out from slot 0.
  testsupport::TempDir dir;
  save_snapshot(a.state, dir.path() + "/s.db");
  std::string err;
  auto back = load_snapshot(dir.path() + "/s.db", &err);
  ASSERT_TRUE(back) << err;
  EXPECT_TRUE(back->audit == a.state.audit);
  Feeder b = a;
  b(TrustAdded{1, 2});
  EXPECT_FALSE(b.state.audit == a.state.audit);
}

// ---- JSON views -------------------------------------------------------------------------

TEST(AuditJson, EntryFieldsAreOmittedWhenEmpty) {
  AuditEntry e;
  e.time = kMarch3;
  e.action = AuditAction::kBeaconRegistered;
  e.hash = std::string(64, 'a');
  EXPECT_EQ(audit_entry_json(e, false).dump(), R"({"action":"beacon.registered","timestamp":"2026-03-03T00:00:00Z"})");
  e.network_id = 3;
  e.node_id = 7;
  e.details = "k=v";
  EXPECT_EQ(audit_entry_json(e, true).dump(),
            R"({"action":"beacon.registered","details":"k=v","hash":")" + std::string(64, 'a') +
                R"(","network_id":3,"node_id":7,"timestamp":"2026-03-03T00:00:00Z"})");
}

TEST(AuditJson, LogEntriesAreNewestFirstFilteredAndLimited) {
  Feeder f;
  f(reg(1, 1));
  f(NetworkCreated{5, "a", "open", "", "", false, 1, "", ""});
  f(NetworkCreated{6, "b", "open", "", "", false, 1, "", ""});
  f(MemberJoined{6, 2, Role::kNone});
  f(MemberJoined{5, 3, Role::kNone});
  auto all = audit_log_entries_json(f.state.audit, 100, 0);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0]["action"], "network.joined");
  EXPECT_EQ(all[0]["node_id"], 3);
  EXPECT_EQ(all[4]["action"], "node.registered");
  EXPECT_FALSE(all[0].contains("hash"));
  auto net5 = audit_log_entries_json(f.state.audit, 100, 5);
  ASSERT_EQ(net5.size(), 2u);
  EXPECT_EQ(net5[0]["node_id"], 3);
  EXPECT_EQ(net5[1]["action"], "network.created");
  EXPECT_EQ(audit_log_entries_json(f.state.audit, 2, 0).size(), 2u);
  EXPECT_EQ(audit_log_entries_json(f.state.audit, 1, 6)[0]["node_id"], 2);
}

TEST(AuditJson, RecentBodyCarriesCountAndHashes) {
  Feeder f;
  f(reg(1, 1, "", std::string("bad\xff utf8", 9)));
  f(TrustAdded{1, 2});
  auto body = nlohmann::json::parse(audit_recent_json(f.state.audit, 10));
  EXPECT_EQ(body["count"], 2);
  ASSERT_EQ(body["events"].size(), 2u);
  EXPECT_EQ(body["events"][0]["action"], "trust.created");
  EXPECT_EQ(body["events"][0]["hash"], f.state.audit.head());
  EXPECT_EQ(nlohmann::json::parse(audit_recent_json(f.state.audit, 1))["count"], 1);
  EXPECT_EQ(nlohmann::json::parse(audit_recent_json(State().audit, 5)).dump(), R"({"count":0,"events":[]})");
}

// ---- snapshots ---------------------------------------------------------------------------

void sql(const std::string& path, const std::string& statement) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* msg = nullptr;
  int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &msg);
  EXPECT_EQ(rc, SQLITE_OK) << (msg ? msg : "");
  sqlite3_free(msg);
  sqlite3_close(db);
}

class AuditSnapshot : public ::testing::Test {
 protected:
  // Enough events to wrap the ring, with odd bytes in details.
  void fill(Feeder& f, size_t n) {
    f(reg(1, 1, std::string("own\0er\xff", 7)));
    for (size_t i = 0; i < n; ++i) f(TagsChanged{1, {"t" + std::to_string(i)}});
  }
  testsupport::TempDir dir;
  std::string path = dir.path() + "/snapshot.db";
};

TEST_F(AuditSnapshot, RoundTripsAndTheChainContinues) {
  Feeder f;
  fill(f, AuditLog::kCapacity + 50);
  save_snapshot(f.state, path);
  std::string err;
  auto back = load_snapshot(path, &err);
  ASSERT_TRUE(back) << err;
  EXPECT_TRUE(back->audit == f.state.audit);
  EXPECT_EQ(back->debug_dump(), f.state.debug_dump());
  Feeder g;
  g.state = std::move(*back);
  g.clock = f.clock;
  f(VisibilityChanged{1, true});
  g(VisibilityChanged{1, true});
  EXPECT_EQ(g.state.audit.head(), f.state.audit.head());
  EXPECT_TRUE(g.state == f.state);
}

TEST_F(AuditSnapshot, OlderSnapshotWithoutAuditTablesLoadsAndRestartsTheChain) {
  Feeder f;
  fill(f, 10);
  save_snapshot(f.state, path);
  sql(path, "DROP TABLE audit_meta; DROP TABLE audit_entries; DROP TABLE audit_counts;");
  std::string err;
  auto back = load_snapshot(path, &err);
  ASSERT_TRUE(back) << err;
  EXPECT_TRUE(back->audit.empty());
  EXPECT_EQ(back->audit.total(), 0u);
  EXPECT_EQ(back->audit.head(), "");
  // Everything else is as saved.
  back->audit = f.state.audit;
  EXPECT_TRUE(*back == f.state);
  back->audit = AuditLog{};
  Feeder g;
  g.state = std::move(*back);
  g.clock = f.clock;
  g(VisibilityChanged{1, true});
  EXPECT_EQ(g.state.audit.newest()->prev_hash, "") << "the chain starts again";
  EXPECT_EQ(g.state.audit.total(), 1u);
}

TEST_F(AuditSnapshot, DamagedAuditTablesAreRefused) {
  const std::vector<std::string> damage = {
      "UPDATE audit_entries SET details = 'edited' WHERE ordinal = 3",        // tampered entry
      "DELETE FROM audit_entries WHERE ordinal = 4",                          // dropped entry
      "UPDATE audit_entries SET action = 'node.nonsense' WHERE ordinal = 0",  // unknown action
      "UPDATE audit_meta SET head = 'ff'",                                    // head not the newest
      "UPDATE audit_meta SET total = total + 1",                              // counts disagree
      "UPDATE audit_counts SET count = count + 1",                            // counts disagree
      "INSERT INTO audit_meta SELECT * FROM audit_meta",                      // two meta rows
      "UPDATE audit_entries SET seq = 999999 WHERE ordinal = 5",              // past the snapshot
  };
  Feeder f;
  fill(f, 20);
  for (const std::string& d : damage) {
    save_snapshot(f.state, path);
    sql(path, d);
    std::string err;
    EXPECT_FALSE(load_snapshot(path, &err).has_value()) << d;
    EXPECT_NE(err.find("audit"), std::string::npos) << d << ": " << err;
  }
}

}  // namespace
}  // namespace pilot
