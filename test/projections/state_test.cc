#include "projections/state.h"

#include <gtest/gtest.h>

#include "test/projections/event_gen.h"
#include "test/projections/helpers.h"

namespace pilot {
namespace {

using projtest::Feeder;
using projtest::key;
using projtest::reg;

TEST(State, ApplySetsSeqAndTermButNotHash) {
  State s;
  s.apply({41, 3, 100}, reg(1, 1));
  EXPECT_EQ(s.last_seq, 41u);
  EXPECT_EQ(s.term, 3u);
  EXPECT_EQ(s.last_hash, (std::array<uint8_t, 32>{}));
  EXPECT_NE(s.directory.find(1), nullptr);
}

TEST(State, DeregisterTouchesDirectoryAndNetworksButNotTrust) {
  Feeder f;
  f(reg(1, 1));
  f(reg(2, 2));
  f(NetworkCreated{5, "lab", "open", "", "", false, 1, "", ""});
  f(MemberJoined{5, 2, Role::kMember});
  f(TrustAdded{1, 2});
  f(HandshakeRequested{1, 2, "hi"});
  f(NodeDeregistered{2});
  EXPECT_EQ(f.state.directory.find(2), nullptr);
  EXPECT_EQ(f.state.networks.find(5)->members, std::vector<uint32_t>{1});
  EXPECT_EQ(f.state.networks.networks_of(2), std::vector<uint16_t>{0});
  EXPECT_TRUE(f.state.trust.trusted(1, 2));  // identity-level: survives
  EXPECT_EQ(f.state.trust.requests_for(2).size(), 1u);
  EXPECT_TRUE(f.state.trust.pending(1, 2));
}

TEST(State, ExpiryKeepsMembershipsForTheReturn) {
  Feeder f;
  f(reg(1, 1));
  f(reg(2, 2));
  f(NetworkCreated{5, "lab", "open", "", "", true, 1, "", ""});
  f(MemberJoined{5, 2, Role::kAdmin});
  f(NodeExpired{2});
  EXPECT_EQ(f.state.directory.find(2), nullptr);
  EXPECT_EQ(f.state.networks.find(5)->members, (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(f.state.networks.find(5)->role_of(2), Role::kAdmin);
  f(reg(2, 2));  // same key comes back: memberships are restored by being still there
  EXPECT_EQ(f.state.networks.networks_of(2), (std::vector<uint16_t>{0, 5}));
  EXPECT_EQ(f.state.directory.id_by_key(key(2)), 2u);
}

TEST(State, SettingsEvents) {
  Feeder f;
  int64_t t = f.clock.peek();
  f(BeaconRegistered{7, "1.2.3.4:9001"});
  f(BeaconRegistered{0, "ignored:1"});
  f(WebhookConfigured{"https://hook"});
  f(AuditExportConfigured{"splunk_hec", "https://splunk", "tok", "idx", "src"});
  f(IdpConfigured{"oidc", "https://idp", "iss", "cid", "tid", "dom"});
  f(IdentityWebhookConfigured{"https://id"});
  const Settings& s = f.state.settings;
  ASSERT_EQ(s.beacons.size(), 1u);
  EXPECT_EQ(s.beacons.at(7), (Beacon{7, "1.2.3.4:9001", t}));
  EXPECT_EQ(s.webhook_url, "https://hook");
  EXPECT_EQ(s.audit_export, (AuditExportConfig{"splunk_hec", "https://splunk", "tok", "idx", "src"}));
  EXPECT_TRUE(s.audit_export.enabled());
  EXPECT_EQ(s.idp, (IdpConfig{"oidc", "https://idp", "iss", "cid", "tid", "dom"}));
  EXPECT_TRUE(s.idp.configured());
  EXPECT_EQ(s.identity_webhook_url, "https://id");

  int64_t t2 = f.clock.peek();
  f(BeaconRegistered{7, "5.6.7.8:9001"});  // re-register: new address and time
  EXPECT_EQ(s.beacons.at(7), (Beacon{7, "5.6.7.8:9001", t2}));
  f(AuditExportConfigured{"json", "", "tok", "", ""});  // no endpoint: disabled, all cleared
  EXPECT_EQ(s.audit_export, AuditExportConfig{});
  f(IdpConfigured{"", "https://idp", "iss", "", "", ""});
  EXPECT_EQ(s.idp, IdpConfig{});
  f(WebhookConfigured{""});
  EXPECT_EQ(s.webhook_url, "");
}

TEST(State, SameEventsSameStateAndDump) {
  auto records = projtest::EventGen(99).stream(1500);
  State a, b;
  for (const auto& r : records) a.apply(r.meta, r.event);
  for (const auto& r : records) b.apply(r.meta, r.event);
  EXPECT_TRUE(a == b);
  EXPECT_EQ(a.debug_dump(), b.debug_dump());
  ASSERT_FALSE(a.directory.nodes().empty());
  // A different last event gives a different state and dump.
  b.apply({b.last_seq + 1, b.term, 1}, VisibilityChanged{a.directory.nodes().begin()->first, true});
  a.apply({a.last_seq + 1, a.term, 1}, VisibilityChanged{a.directory.nodes().begin()->first, false});
  EXPECT_FALSE(a == b);
  EXPECT_NE(a.debug_dump(), b.debug_dump());
}

TEST(State, DebugDumpIsSortedReadableText) {
  Feeder f;
  f(reg(2, 2, "bob"));
  f(reg(1, 1, "alice"));
  f(HostnameChanged{1, "web\n1"});
  std::string d = f.state.debug_dump();
  size_t n1 = d.find("node 1 ");
  size_t n2 = d.find("node 2 ");
  ASSERT_NE(n1, std::string::npos);
  ASSERT_NE(n2, std::string::npos);
  EXPECT_LT(n1, n2);
  EXPECT_NE(d.find("hostname=\"web\\x0a1\""), std::string::npos);
  EXPECT_NE(d.find("network 0 id=0 name=\"backbone\""), std::string::npos);
  EXPECT_NE(d.find("last_seq=3 "), std::string::npos);
}

TEST(State, RandomEventsNeverBreakInvariants) {
  // Totality: thousands of events, many naming unknown nodes and networks or with
  // entirely random fields. Apply must neither crash nor leave stray data.
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    auto records = projtest::EventGen(seed * 7919, /*wild=*/seed % 2 == 0).stream(3000);
    State s;
    for (const auto& r : records) s.apply(r.meta, r.event);
    for (const auto& [id, n] : s.networks.all()) {
      for (const auto& [node, role] : n.roles) EXPECT_TRUE(s.networks.is_member(id, node)) << id << " " << node;
      for (const auto& [node, tags] : n.member_tags) {
        EXPECT_TRUE(s.networks.is_member(id, node));
        EXPECT_FALSE(tags.empty());
      }
      for (uint32_t node : n.members) EXPECT_TRUE(s.networks.is_member(id, node));
    }
    for (const auto& [h, id] : s.directory.hostname_index()) {
      ASSERT_NE(s.directory.find(id), nullptr);
      EXPECT_EQ(s.directory.find(id)->hostname, h);
    }
    for (const auto& [id, n] : s.directory.nodes()) {
      EXPECT_LT(id, s.directory.next_node());
      if (!n.hostname.empty()) {
        EXPECT_EQ(s.directory.id_by_hostname(n.hostname), id);
      }
    }
    for (const auto& [target, v] : s.networks.invite_inbox()) {
      EXPECT_FALSE(v.empty());
      for (const Invite& i : v) EXPECT_NE(s.networks.find(i.network_id), nullptr);
    }
    EXPECT_EQ(s.last_seq, 3000u);
    EXPECT_NE(s.debug_dump(), State().debug_dump());
  }
}

}  // namespace
}  // namespace pilot
