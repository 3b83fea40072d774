#include "projections/directory.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "test/projections/helpers.h"

namespace pilot {
namespace {

using projtest::Clock;
using projtest::key;
using projtest::reg;

class DirectoryTest : public ::testing::Test {
 protected:
  template <class E>
  void apply(const E& e) {
    d.apply(clock.next(), e);
  }
  Directory d;
  Clock clock;
};

TEST_F(DirectoryTest, RegisterCreatesNodeAndIndexes) {
  NodeRegistered e = reg(1, 0xA1, "alice@example.com", "5.6.7.8:4000");
  e.lan_addrs = {"192.168.1.2:4000"};
  e.version = "v1.2";
  e.relay_only = true;
  int64_t t = clock.peek();
  apply(e);

  const Node* n = d.find(1);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->id, 1u);
  EXPECT_EQ(n->public_key, key(0xA1));
  EXPECT_EQ(n->owner, "alice@example.com");
  EXPECT_EQ(n->real_addr, "5.6.7.8:4000");
  EXPECT_EQ(n->lan_addrs, std::vector<std::string>{"192.168.1.2:4000"});
  EXPECT_EQ(n->version, "v1.2");
  EXPECT_TRUE(n->relay_only);
  EXPECT_EQ(n->key_created_ns, t);
  EXPECT_EQ(n->registered_at_ns, t);
  EXPECT_EQ(n->last_registered_ns, t);
  EXPECT_EQ(n->key_rot_count, 0u);
  EXPECT_FALSE(n->is_public);
  EXPECT_EQ(d.id_by_key(key(0xA1)), 1u);
  EXPECT_EQ(d.id_by_owner("alice@example.com"), 1u);
  EXPECT_EQ(d.next_node(), 2u);
  EXPECT_EQ(d.size(), 1u);
}

TEST_F(DirectoryTest, NextNodeIsBumpedPastAnyRegisteredId) {
  apply(reg(7, 1));
  EXPECT_EQ(d.next_node(), 8u);
  apply(reg(3, 2));
  EXPECT_EQ(d.next_node(), 8u);
  apply(reg(0xFFFFFFFFu, 3));
  EXPECT_EQ(d.next_node(), uint64_t{1} << 32);  // space exhausted, no wrap
}

TEST_F(DirectoryTest, NodeIdZeroIsIgnored) {
  apply(reg(0, 1, "o"));
  EXPECT_EQ(d.size(), 0u);
  EXPECT_FALSE(d.id_by_key(key(1)).has_value());
  EXPECT_FALSE(d.id_by_owner("o").has_value());
  EXPECT_EQ(d.next_node(), 1u);
}

TEST_F(DirectoryTest, RefreshUpdatesEndpointOnly) {
  NodeRegistered first = reg(1, 1, "", "1.1.1.1:1");
  first.version = "v1";
  first.lan_addrs = {"a"};
  int64_t created = clock.peek();
  apply(first);
  apply(HostnameChanged{1, "web"});
  apply(TagsChanged{1, {"t"}});

  NodeRegistered again = reg(1, 1, "bob", "2.2.2.2:2");
  again.version = "";  // keeps v1
  again.lan_addrs = {"b", "c"};
  again.relay_only = true;
  int64_t refreshed = clock.peek();
  apply(again);

  const Node* n = d.find(1);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->real_addr, "2.2.2.2:2");
  EXPECT_EQ(n->lan_addrs, (std::vector<std::string>{"b", "c"}));
  EXPECT_TRUE(n->relay_only);
  EXPECT_EQ(n->version, "v1");
  EXPECT_EQ(n->owner, "bob");  // had none
  EXPECT_EQ(d.id_by_owner("bob"), 1u);
  EXPECT_EQ(n->hostname, "web");  // untouched
  EXPECT_EQ(n->tags, std::vector<std::string>{"t"});
  EXPECT_EQ(n->key_created_ns, created);
  EXPECT_EQ(n->registered_at_ns, created);
  EXPECT_EQ(n->last_registered_ns, refreshed);

  NodeRegistered third = reg(1, 1, "mallory", "3.3.3.3:3");
  third.version = "v2";
  apply(third);
  EXPECT_EQ(d.find(1)->version, "v2");
  EXPECT_EQ(d.find(1)->owner, "bob");  // an owner is never replaced by a refresh
  EXPECT_FALSE(d.id_by_owner("mallory").has_value());
}

TEST_F(DirectoryTest, RefreshNeverChangesTheKey) {
  apply(reg(1, 1));
  apply(reg(1, 2));
  EXPECT_EQ(d.find(1)->public_key, key(1));
  EXPECT_EQ(d.id_by_key(key(1)), 1u);
  EXPECT_FALSE(d.id_by_key(key(2)).has_value());
}

TEST_F(DirectoryTest, DeregisterErasesNodeFreesHostnameKeepsKeyAndOwner) {
  apply(reg(1, 1, "alice"));
  apply(HostnameChanged{1, "web"});
  apply(NodeDeregistered{1});
  EXPECT_EQ(d.find(1), nullptr);
  EXPECT_FALSE(d.is_live(1));
  EXPECT_FALSE(d.id_by_hostname("web").has_value());
  EXPECT_EQ(d.id_by_key(key(1)), 1u);
  EXPECT_EQ(d.id_by_owner("alice"), 1u);
  EXPECT_EQ(d.next_node(), 2u);

  // Another node can take the name now.
  apply(reg(2, 2));
  apply(HostnameChanged{2, "web"});
  EXPECT_EQ(d.id_by_hostname("web"), 2u);
}

TEST_F(DirectoryTest, ExpiryErasesNodeFreesHostnameKeepsKeyAndOwner) {
  apply(reg(1, 1, "alice"));
  apply(HostnameChanged{1, "web"});
  apply(NodeExpired{1});
  EXPECT_EQ(d.find(1), nullptr);
  EXPECT_FALSE(d.id_by_hostname("web").has_value());
  EXPECT_EQ(d.id_by_key(key(1)), 1u);
  EXPECT_EQ(d.id_by_owner("alice"), 1u);
}

TEST_F(DirectoryTest, ReclaimWithSameKeyRecreatesAFreshRecord) {
  apply(reg(1, 1, "alice"));
  apply(HostnameChanged{1, "web"});
  apply(TagsChanged{1, {"x"}});
  apply(VisibilityChanged{1, true});
  apply(BadgeSubmitted{1, "b", "s", "p", 5});
  apply(NodeExpired{1});
  int64_t t = clock.peek();
  apply(reg(1, 1, "alice", "9.9.9.9:9"));
  const Node* n = d.find(1);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->hostname, "");
  EXPECT_TRUE(n->tags.empty());
  EXPECT_FALSE(n->is_public);
  EXPECT_EQ(n->badge(), "");
  EXPECT_EQ(n->key_created_ns, t);
  EXPECT_EQ(n->real_addr, "9.9.9.9:9");
  EXPECT_EQ(d.id_by_key(key(1)), 1u);
}

TEST_F(DirectoryTest, ReclaimByOwnerWithNewKeyMovesTheKeyBinding) {
  apply(reg(1, 1, "alice"));
  apply(NodeDeregistered{1});
  apply(reg(1, 2, "alice"));
  EXPECT_EQ(d.find(1)->public_key, key(2));
  EXPECT_EQ(d.id_by_key(key(2)), 1u);
  EXPECT_FALSE(d.id_by_key(key(1)).has_value());  // the old key no longer names node 1
  // And once more after another expiry: still one key per ID.
  apply(NodeExpired{1});
  apply(reg(1, 3, "alice"));
  EXPECT_FALSE(d.id_by_key(key(2)).has_value());
  EXPECT_EQ(d.id_by_key(key(3)), 1u);
  EXPECT_EQ(d.key_index().size(), 1u);
}

TEST_F(DirectoryTest, KeyHeldByAnotherIdMovesToTheNewRegistration) {
  // A handler never does this; the projection must stay consistent anyway.
  apply(reg(1, 1));
  apply(NodeDeregistered{1});
  apply(reg(2, 1));
  EXPECT_EQ(d.id_by_key(key(1)), 2u);
  apply(reg(1, 5));  // node 1 comes back with another key: nothing of key 1 is touched
  EXPECT_EQ(d.id_by_key(key(1)), 2u);
  EXPECT_EQ(d.id_by_key(key(5)), 1u);
}

TEST_F(DirectoryTest, HostnameChangeClearAndTakeover) {
  apply(reg(1, 1));
  apply(reg(2, 2));
  apply(HostnameChanged{1, "a"});
  EXPECT_EQ(d.id_by_hostname("a"), 1u);
  apply(HostnameChanged{1, "b"});
  EXPECT_FALSE(d.id_by_hostname("a").has_value());
  EXPECT_EQ(d.id_by_hostname("b"), 1u);
  EXPECT_EQ(d.find(1)->hostname, "b");
  apply(HostnameChanged{1, ""});
  EXPECT_EQ(d.find(1)->hostname, "");
  EXPECT_TRUE(d.hostname_index().empty());

  apply(HostnameChanged{1, "c"});
  apply(HostnameChanged{2, "c"});  // taken: the event wins, node 1 loses it
  EXPECT_EQ(d.id_by_hostname("c"), 2u);
  EXPECT_EQ(d.find(1)->hostname, "");
  EXPECT_EQ(d.find(2)->hostname, "c");
  EXPECT_EQ(d.hostname_index().size(), 1u);
}

TEST_F(DirectoryTest, AttributeEvents) {
  apply(reg(1, 1));
  apply(TagsChanged{1, {"a", "b"}});
  apply(VisibilityChanged{1, true});
  apply(KeyExpirySet{1, 1'900'000'000});
  apply(ExternalIdSet{1, "ext-1"});
  apply(BadgeSubmitted{1, "badge", "sig", "github", 1'700'000'123});
  apply(RecoveryEnrolled{1, "commit", "rprov"});
  const Node* n = d.find(1);
  EXPECT_EQ(n->tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(n->is_public);
  EXPECT_EQ(n->key_expires, 1'900'000'000);
  EXPECT_EQ(n->external_id(), "ext-1");
  EXPECT_EQ(n->badge(), "badge");
  EXPECT_EQ(n->badge_sig(), "sig");
  EXPECT_EQ(n->verification_provider(), "github");
  EXPECT_EQ(n->verified_at(), 1'700'000'123);
  EXPECT_TRUE(n->verified());
  EXPECT_EQ(n->recovery_commitment(), "commit");
  EXPECT_EQ(n->recovery_provider(), "rprov");

  apply(TagsChanged{1, {}});
  apply(VisibilityChanged{1, false});
  apply(KeyExpirySet{1, 0});
  EXPECT_TRUE(d.find(1)->tags.empty());
  EXPECT_FALSE(d.find(1)->is_public);
  EXPECT_EQ(d.find(1)->key_expires, 0);
}

TEST_F(DirectoryTest, KeyRotationMovesIndexAndCounts) {
  apply(reg(1, 1));
  apply(BadgeSubmitted{1, "badge", "sig", "github", 7});
  int64_t t = clock.peek();
  apply(KeyRotated{1, key(2), false, "", 0});
  const Node* n = d.find(1);
  EXPECT_EQ(n->public_key, key(2));
  EXPECT_EQ(n->key_rotated_ns, t);
  EXPECT_EQ(n->key_rot_count, 1u);
  EXPECT_EQ(n->badge(), "badge");  // a planned rotation keeps the badge
  EXPECT_EQ(d.id_by_key(key(2)), 1u);
  EXPECT_FALSE(d.id_by_key(key(1)).has_value());

  apply(KeyRotated{1, key(3), true, "nonce-1", 1'700'000'900});
  n = d.find(1);
  EXPECT_EQ(n->key_rot_count, 2u);
  EXPECT_EQ(n->badge(), "");
  EXPECT_EQ(n->badge_sig(), "");
  EXPECT_EQ(n->verification_provider(), "");
  EXPECT_EQ(n->verified_at(), 0);
  EXPECT_EQ(n->recovery_nonce(), "nonce-1");
  EXPECT_EQ(n->recovery_exp(), 1'700'000'900);
  EXPECT_EQ(d.id_by_key(key(3)), 1u);
  EXPECT_EQ(d.key_index().size(), 1u);

  // The rotated key survives expiry and is what reclaims the ID.
  apply(NodeExpired{1});
  EXPECT_EQ(d.id_by_key(key(3)), 1u);
}

TEST_F(DirectoryTest, EventsAboutAbsentNodesChangeNothing) {
  apply(reg(1, 1, "alice"));
  apply(NodeExpired{1});
  Directory before = d;
  for (uint32_t id : {1u, 2u, 0u, 0xFFFFFFFFu}) {
    apply(NodeDeregistered{id});
    apply(NodeExpired{id});
    apply(HostnameChanged{id, "h"});
    apply(TagsChanged{id, {"t"}});
    apply(VisibilityChanged{id, true});
    apply(KeyRotated{id, key(9), true, "n", 1});
    apply(KeyExpirySet{id, 5});
    apply(ExternalIdSet{id, "e"});
    apply(BadgeSubmitted{id, "b", "s", "p", 1});
    apply(RecoveryEnrolled{id, "c", "p"});
  }
  EXPECT_TRUE(d == before);
}

TEST_F(DirectoryTest, EqualityNoticesEveryDifference) {
  apply(reg(1, 1));
  Directory other = d;
  EXPECT_TRUE(other == d);
  other.apply(clock.next(), VisibilityChanged{1, true});
  EXPECT_FALSE(other == d);
}

TEST(NodeExtras, AbsentEqualsAllDefault) {
  Node a, b;
  b.extras.mut().badge = "x";
  EXPECT_FALSE(a == b);
  EXPECT_EQ(b.badge(), "x");
  b.extras.mut().badge.clear();
  EXPECT_TRUE(b.extras.allocated());
  EXPECT_TRUE(a == b);  // allocated but all-default compares equal to absent
  b.extras.shrink();
  EXPECT_FALSE(b.extras.allocated());
  Node c = a;
  c.extras.mut().recovery_exp = 5;
  Node d = c;  // deep copy
  c.extras.mut().recovery_exp = 6;
  EXPECT_EQ(d.recovery_exp(), 5);
  EXPECT_EQ(a.recovery_exp(), 0);
}

TEST_F(DirectoryTest, ExtrasAreAllocatedOnlyWhenSet) {
  apply(reg(1, 0xA1, "alice"));
  EXPECT_FALSE(d.find(1)->extras.allocated());
  apply(ExternalIdSet{1, "ext"});
  EXPECT_TRUE(d.find(1)->extras.allocated());
  apply(ExternalIdSet{1, ""});
  EXPECT_FALSE(d.find(1)->extras.allocated());
}

TEST(OwnerIndex, BindsRebindsAndGrows) {
  OwnerIndex a;
  EXPECT_EQ(a.find("x"), std::nullopt);
  for (uint32_t i = 1; i <= 5000; ++i) a.insert_or_assign("owner-" + std::to_string(i), i);
  EXPECT_EQ(a.size(), 5000u);
  for (uint32_t i = 1; i <= 5000; ++i) EXPECT_EQ(a.find("owner-" + std::to_string(i)), i);
  EXPECT_EQ(a.find("owner-0"), std::nullopt);
  a.insert_or_assign("owner-7", 9);  // rebinding replaces, does not add
  EXPECT_EQ(a.size(), 5000u);
  EXPECT_EQ(a.find("owner-7"), 9u);
  EXPECT_FALSE(a.try_emplace("owner-8", 1));
  EXPECT_EQ(a.find("owner-8"), 8u);
  EXPECT_TRUE(a.try_emplace("", 3));
  EXPECT_EQ(a.find(""), 3u);

  OwnerIndex b;  // same bindings, other order and capacity
  b.reserve(100'000);
  b.insert_or_assign("", 3);
  for (uint32_t i = 5000; i >= 1; --i) b.insert_or_assign("owner-" + std::to_string(i), i == 7 ? 9 : i);
  EXPECT_TRUE(a == b);
  b.insert_or_assign("owner-1", 2);
  EXPECT_FALSE(a == b);

  auto sorted = a.sorted();
  ASSERT_EQ(sorted.size(), a.size());
  EXPECT_TRUE(std::is_sorted(sorted.begin(), sorted.end()));
  EXPECT_EQ(sorted.front().first, "");
}

TEST(NodeTable, DenseAndOutlyingIdsBehaveAlike) {
  NodeTable t;
  // Sequential IDs go to chunks; huge ones to the map, without allocating up to them.
  const std::vector<uint32_t> ids = {1, 2, 3, 1500, 4'000'000'000u, 0xFFFFFFFFu, 77'777, 5000};
  for (uint32_t id : ids) {
    auto [n, created] = t.try_emplace(id);
    ASSERT_TRUE(created);
    EXPECT_EQ(n->id, id);
    n->owner = "o" + std::to_string(id);
  }
  EXPECT_EQ(t.size(), ids.size());
  EXPECT_FALSE(t.try_emplace(4'000'000'000u).second);
  for (uint32_t id : ids) {
    ASSERT_NE(t.find(id), nullptr);
    EXPECT_EQ(t.at(id).owner, "o" + std::to_string(id));
  }
  EXPECT_EQ(t.find(4), nullptr);
  EXPECT_EQ(t.find(0), nullptr);
  EXPECT_THROW(t.at(4), std::out_of_range);
  std::vector<uint32_t> seen;
  for (const auto& [id, n] : t) {
    EXPECT_EQ(n.id, id);
    seen.push_back(id);
  }
  std::vector<uint32_t> want = ids;
  std::sort(want.begin(), want.end());
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, want);

  // Same contents inserted in another order (so another layout) compare equal.
  NodeTable u;
  u.reserve(100'000);
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) u.try_emplace(*it).first->owner = "o" + std::to_string(*it);
  EXPECT_TRUE(t == u);
  u.find(77'777)->owner = "changed";
  EXPECT_FALSE(t == u);

  NodeTable copy = t;
  EXPECT_TRUE(copy == t);
  EXPECT_TRUE(t.erase(2));
  EXPECT_TRUE(t.erase(0xFFFFFFFFu));
  EXPECT_FALSE(t.erase(2));
  EXPECT_FALSE(t.erase(12345));
  EXPECT_EQ(t.size(), ids.size() - 2);
  EXPECT_EQ(t.find(2), nullptr);
  EXPECT_EQ(copy.size(), ids.size());
  EXPECT_NE(copy.find(2), nullptr);
  EXPECT_FALSE(copy == t);

  // A freed slot is reused, starting from a default node.
  auto [n, created] = t.try_emplace(2);
  EXPECT_TRUE(created);
  EXPECT_EQ(n->owner, "");
  EXPECT_EQ(t.size(), ids.size() - 1);
}

TEST(NodeTable, ManySequentialIdsStayInChunks) {
  NodeTable t;
  for (uint32_t id = 1; id <= 20'000; ++id) t.try_emplace(id);
  for (uint32_t id = 1; id <= 20'000; id += 2) t.erase(id);
  EXPECT_EQ(t.size(), 10'000u);
  size_t n = 0;
  uint32_t prev = 0;
  for (const auto& [id, node] : t) {
    EXPECT_EQ(id % 2, 0u);
    EXPECT_GT(id, prev);  // the chunks iterate in ID order
    prev = id;
    ++n;
  }
  EXPECT_EQ(n, 10'000u);
  EXPECT_EQ(t.begin()->first, 2u);
}

}  // namespace
}  // namespace pilot
