#include "projections/snapshot.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "test/projections/event_gen.h"
#include "test/projections/helpers.h"
#include "test/support/temp_dir.h"

namespace pilot {
namespace {

using projtest::Feeder;
using projtest::key;
using projtest::reg;

const std::string kOdd("a\0b\xff\x01z", 6);  // NUL and non-UTF-8 bytes must survive

// A state in which every field of every kind of record is set to a non-default value.
State full_state() {
  Feeder f;
  f.clock.term = 7;
  NodeRegistered r = reg(10, 0x10, "owner" + kOdd, "5.6.7.8:4000");
  r.lan_addrs = {"192.168.0.2:4000", kOdd};
  r.version = "v1.2.3";
  r.relay_only = true;
  f(r);
  f(HostnameChanged{10, "host-10"});
  f(TagsChanged{10, {"gpu", kOdd}});
  f(VisibilityChanged{10, true});
  f(KeyRotated{10, key(0x11), true, "nonce" + kOdd, 1'700'000'999});
  f(BadgeSubmitted{10, "badge" + kOdd, "badge-sig", "github", 1'700'000'500});
  f(KeyExpirySet{10, 1'900'000'000});
  f(ExternalIdSet{10, "ext-10"});
  f(RecoveryEnrolled{10, "commitment", "recovery-provider"});
  r = reg(10, 0x11, "", "6.6.6.6:1");  // refresh: last_registered differs from registered_at
  r.lan_addrs = {"10.1.1.1:1", kOdd};
  r.relay_only = true;
  f(r);
  // A second live node, and a gone one whose key and owner stay bound.
  f(reg(11, 0x12, "other"));
  f(reg(12, 0x13, "gone"));
  f(NodeExpired{12});

  f(NetworkCreated{3, "lab", "invite", "tok" + kOdd, "admin-tok", true, 10, "{\"links\":3}", "{\"version\":1}"});
  f(MemberJoined{3, 11, Role::kAdmin});
  f(MemberJoined{3, 12, Role::kMember});  // expired nodes keep memberships
  f(MemberTagsSet{3, 11, {"eu", kOdd}});
  f(NetworkPolicySet{3, 100, {80, 443, 65535}, "desc" + kOdd});
  f(NetworkCreated{4, "plain", "open", "", "", false, 0, "", ""});
  f(MemberJoined{4, 11, Role::kNone});
  f(InviteCreated{3, 10, 20});
  f(InviteCreated{4, 11, 20});
  f(RbacPreAssigned{3, "ext-a" + kOdd, Role::kOwner});
  f(RbacPreAssigned{3, "ext-b", Role::kMember});
  f(TrustAdded{11, 10});
  f(HandshakeRequested{11, 10, "please" + kOdd});
  f(HandshakeRequested{12, 10, "me too"});
  f(HandshakeResponded{10, 12, true});
  f(HandshakeRequested{10, 11, "back"});
  f(HandshakeResponded{11, 10, false});
  f(BeaconRegistered{9, "9.9.9.9:9001"});
  f(WebhookConfigured{"https://hook" + kOdd});
  f(AuditExportConfigured{"splunk_hec", "https://splunk", "t", "i", "s"});
  f(IdpConfigured{"oidc", "https://idp", "iss", "cid", "tid", "dom"});
  f(IdentityWebhookConfigured{"https://id"});
  return f.state;
}

void expect_every_node_field_set(const Node& n) {
  const Node d;
  EXPECT_NE(n.id, d.id);
  EXPECT_NE(n.owner, d.owner);
  EXPECT_NE(n.public_key, d.public_key);
  EXPECT_NE(n.real_addr, d.real_addr);
  EXPECT_NE(n.is_public, d.is_public);
  EXPECT_NE(n.hostname, d.hostname);
  EXPECT_NE(n.tags, d.tags);
  EXPECT_NE(n.lan_addrs, d.lan_addrs);
  EXPECT_NE(n.key_created_ns, d.key_created_ns);
  EXPECT_NE(n.key_rotated_ns, d.key_rotated_ns);
  EXPECT_NE(n.key_rot_count, d.key_rot_count);
  EXPECT_NE(n.key_expires, d.key_expires);
  EXPECT_NE(n.external_id(), d.external_id());
  EXPECT_NE(n.version, d.version);
  EXPECT_NE(n.relay_only, d.relay_only);
  EXPECT_NE(n.badge(), d.badge());
  EXPECT_NE(n.badge_sig(), d.badge_sig());
  EXPECT_NE(n.verification_provider(), d.verification_provider());
  EXPECT_NE(n.verified_at(), d.verified_at());
  EXPECT_NE(n.recovery_commitment(), d.recovery_commitment());
  EXPECT_NE(n.recovery_provider(), d.recovery_provider());
  EXPECT_NE(n.recovery_nonce(), d.recovery_nonce());
  EXPECT_NE(n.recovery_exp(), d.recovery_exp());
  EXPECT_NE(n.registered_at_ns, d.registered_at_ns);
  EXPECT_NE(n.last_registered_ns, d.last_registered_ns);
  EXPECT_NE(n.registered_at_ns, n.last_registered_ns);
}

State round_trip(const State& s, const std::string& path) {
  save_snapshot(s, path);
  std::string err;
  auto back = load_snapshot(path, &err);
  EXPECT_TRUE(back.has_value()) << err;
  return back ? std::move(*back) : State{};
}

void sql(const std::string& path, const std::string& statement) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* msg = nullptr;
  int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &msg);
  EXPECT_EQ(rc, SQLITE_OK) << (msg ? msg : "");
  sqlite3_free(msg);
  sqlite3_close(db);
}

class SnapshotTest : public ::testing::Test {
 protected:
  testsupport::TempDir dir;
  std::string path = dir.path() + "/snapshot.db";
};

TEST_F(SnapshotTest, FullStateRoundTrips) {
  State s = full_state();
  // The fixture really is "every field non-default".
  expect_every_node_field_set(*s.directory.find(10));
  const Network& net = *s.networks.find(3);
  EXPECT_FALSE(net.token.empty() || net.admin_token.empty() || net.rules_json.empty() || net.expr_policy_json.empty() ||
               net.policy.allowed_ports.empty() || net.policy.description.empty());
  EXPECT_TRUE(net.enterprise);
  EXPECT_NE(net.created_ns, 0);
  EXPECT_EQ(net.members.size(), 3u);
  EXPECT_FALSE(s.networks.invite_inbox().empty());
  EXPECT_FALSE(s.networks.pre_assignments().empty());
  EXPECT_NE(s.trust.pair_count(), 0u);
  EXPECT_FALSE(s.trust.sorted_pending().empty());
  EXPECT_FALSE(s.trust.request_inbox().empty());
  EXPECT_FALSE(s.trust.response_inbox().empty());
  EXPECT_TRUE(s.settings.audit_export.enabled());
  EXPECT_TRUE(s.settings.idp.configured());
  EXPECT_FALSE(s.settings.beacons.empty() || s.settings.webhook_url.empty() || s.settings.identity_webhook_url.empty());
  EXPECT_NE(s.term, 0u);
  EXPECT_NE(s.last_seq, 0u);
  EXPECT_EQ(s.directory.id_by_key(key(0x13)), 12u);  // the gone node's binding
  EXPECT_EQ(s.directory.id_by_owner("gone"), 12u);

  State back = round_trip(s, path);
  EXPECT_EQ(back.debug_dump(), s.debug_dump());
  EXPECT_TRUE(back == s);
  // Derived indexes were rebuilt, not just the stored tables.
  EXPECT_EQ(back.directory.id_by_hostname("host-10"), 10u);
  EXPECT_EQ(back.networks.id_by_name("lab"), 3);
  EXPECT_EQ(back.networks.networks_of(11), (std::vector<uint16_t>{0, 3, 4}));
  EXPECT_EQ(back.directory.nodes().at(10).owner, "owner" + kOdd);

  // And the restored state keeps evolving exactly like the original.
  EventMeta m{s.last_seq + 1, s.term, 1'800'000'000'000'000'000};
  for (State* x : {&s, &back}) {
    x->apply(m, NodeDeregistered{11});
    x->apply({m.seq + 1, m.term, m.time_ns + 1}, reg(12, 0x14, "gone"));  // reclaim by owner, new key
    x->apply({m.seq + 2, m.term, m.time_ns + 2}, MemberLeft{3, 10, LeaveReason::kLeft, {}});
  }
  EXPECT_TRUE(back == s);
  EXPECT_EQ(back.debug_dump(), s.debug_dump());
}

TEST_F(SnapshotTest, EmptyStateRoundTrips) {
  State s;
  State back = round_trip(s, path);
  EXPECT_TRUE(back == s);
  EXPECT_EQ(back.networks.find(0)->name, "backbone");
}

TEST_F(SnapshotTest, SaveReplacesAtomicallyAndLeavesNoTemporary) {
  State a = full_state();
  {
    std::ofstream stale(path + ".tmp");  // left by a crash
    stale << "junk";
  }
  save_snapshot(State{}, path);
  save_snapshot(a, path);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  std::string err;
  auto back = load_snapshot(path, &err);
  ASSERT_TRUE(back.has_value()) << err;
  EXPECT_TRUE(*back == a);
}

TEST_F(SnapshotTest, SaveIntoMissingDirectoryThrows) {
  EXPECT_THROW(save_snapshot(State{}, dir.path() + "/no/such/dir/s.db"), std::runtime_error);
}

TEST_F(SnapshotTest, MissingFile) {
  std::string err;
  EXPECT_FALSE(load_snapshot(path, &err).has_value());
  EXPECT_NE(err.find("no such file"), std::string::npos) << err;
  EXPECT_FALSE(load_snapshot(path, nullptr).has_value());
}

TEST_F(SnapshotTest, NotADatabase) {
  {
    std::ofstream f(path);
    f << std::string(8192, 'x');
  }
  std::string err;
  EXPECT_FALSE(load_snapshot(path, &err).has_value());
  EXPECT_FALSE(err.empty());
}

TEST_F(SnapshotTest, EmptyFile) {
  { std::ofstream f(path); }
  std::string err;
  EXPECT_FALSE(load_snapshot(path, &err).has_value());
  EXPECT_NE(err.find("meta"), std::string::npos) << err;
}

TEST_F(SnapshotTest, WrongFormatVersion) {
  save_snapshot(full_state(), path);
  sql(path, "UPDATE meta SET format_version = 2");
  std::string err;
  EXPECT_FALSE(load_snapshot(path, &err).has_value());
  EXPECT_NE(err.find("format_version 2"), std::string::npos) << err;
}

TEST_F(SnapshotTest, InconsistentContentIsRefused) {
  const std::vector<std::string> damage = {
      "INSERT INTO nodes SELECT * FROM nodes LIMIT 1",                     // a node twice
      "UPDATE members SET ordinal = 5 WHERE ordinal = 1",                  // member order lost
      "UPDATE nodes SET tags = x'05' WHERE id = 10",                       // bad list blob
      "UPDATE nodes SET public_key = x'0102' WHERE id = 10",               // short key
      "UPDATE nodes SET hostname = 'dup'",                                 // a hostname held twice
      "UPDATE networks SET name = 'same'",                                 // duplicate network names
      "UPDATE members SET role = 9",                                       // unknown role
      "UPDATE invites SET network_id = 77",                                // invite to no network
      "UPDATE meta SET next_node = 5",                                     // IDs beyond next_node
      "DELETE FROM meta",                                                  // no meta row
      "INSERT INTO key_index SELECT x'" + std::string(64, 'a') + "', 12",  // gone node bound to two keys
      "UPDATE settings SET key = 'nope' WHERE key = 'webhook_url'",        // unknown setting
  };
  for (const std::string& d : damage) {
    save_snapshot(full_state(), path);
    sql(path, d);
    std::string err;
    EXPECT_FALSE(load_snapshot(path, &err).has_value()) << d;
    EXPECT_NE(err.find("snapshot"), std::string::npos) << err;
  }
}

// The central property: snapshot + replay of the rest == replay of everything.
TEST_F(SnapshotTest, SnapshotAtAnyPointThenReplayEqualsFullReplay) {
  std::set<size_t> kinds;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto records = projtest::EventGen(seed, /*wild=*/seed > 16).stream(2000);
    for (const auto& r : records) kinds.insert(r.event.index());
    auto apply = [&](State& s, size_t from, size_t to) {
      for (size_t i = from; i < to; ++i) {
        s.apply(records[i].meta, records[i].event);
        s.last_hash = Feeder::fake_hash(records[i].meta.seq);
      }
    };
    State a;
    apply(a, 0, records.size());
    ASSERT_GT(a.directory.size(), 0u);
    for (size_t k : {size_t{0}, size_t{1}, size_t{333}, size_t{1000}, size_t{1999}, size_t{2000}}) {
      State b;
      apply(b, 0, k);
      save_snapshot(b, path);
      std::string err;
      auto loaded = load_snapshot(path, &err);
      ASSERT_TRUE(loaded.has_value()) << "seed " << seed << " k " << k << ": " << err;
      ASSERT_TRUE(*loaded == b) << "seed " << seed << " k " << k;
      apply(*loaded, k, records.size());
      ASSERT_EQ(loaded->debug_dump(), a.debug_dump()) << "seed " << seed << " k " << k;
      ASSERT_TRUE(*loaded == a) << "seed " << seed << " k " << k;
    }
  }
  EXPECT_EQ(kinds.size(), std::variant_size_v<Event>);  // the generator covers every kind
}

}  // namespace
}  // namespace pilot
