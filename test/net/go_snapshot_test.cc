// The reference's snapshot document (spec §8.1) rendered from our projections, and the
// replication messages that carry it (§9.2). The golden document was written by hand
// from §8.1's field order and the reference's struct tags (omitempty members left out,
// map keys in string order); the checksum is recomputed here with OpenSSL over the
// document minus its checksum member.
#include "net/rpc/go_snapshot.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "net/rpc/go_standby.h"
#include "test/support/sha256_hex.h"

namespace pilot::rpc {
namespace {

constexpr int64_t kSec = 1000000000;
constexpr int64_t kT0 = int64_t{1700000000} * kSec;  // 2023-11-14T22:13:20Z

PublicKey key_of(uint8_t b) {
  PublicKey k;
  k.fill(b);
  return k;
}

struct Builder {
  State s;
  uint64_t seq = 0;
  void at(int64_t time_ns, const Event& e) { s.apply(EventMeta{++seq, 1, time_ns}, e); }
};

NodeRegistered reg(uint32_t id, uint8_t key_byte, std::string owner, std::string addr) {
  NodeRegistered e;
  e.node_id = id;
  e.public_key = key_of(key_byte);
  e.owner = std::move(owner);
  e.real_addr = std::move(addr);
  return e;
}

// Three nodes (IDs 1, 2, 10: "10" sorts before "2"), a token network with roles and
// member tags, a trust pair and a handshake request whose text needs HTML escaping.
State small_state() {
  Builder b;
  NodeRegistered alice = reg(1, 0x01, "alice@example.com", "198.51.100.1:4000");
  alice.lan_addrs = {"10.0.0.1:4000"};
  alice.version = "1.2.3";
  b.at(kT0, alice);
  NodeRegistered bob = reg(2, 0x02, "", "");
  bob.relay_only = true;
  b.at(kT0 + 1 * kSec, bob);
  b.at(kT0 + 2 * kSec, reg(10, 0xff, "", "203.0.113.5:9"));
  b.at(kT0 + 3 * kSec, HostnameChanged{1, "alice"});
  TagsChanged tags;
  tags.node_id = 1;
  tags.tags = {"web", "db"};
  b.at(kT0 + 4 * kSec, tags);
  VisibilityChanged vis;
  vis.node_id = 1;
  vis.is_public = true;
  b.at(kT0 + 5 * kSec, vis);
  NetworkCreated net;
  net.network_id = 1;
  net.name = "lab";
  net.join_rule = "token";
  net.token = "s3cret";
  net.creator_node_id = 1;
  b.at(kT0 + 6 * kSec, net);
  MemberJoined join;
  join.network_id = 1;
  join.node_id = 2;
  join.role = Role::kMember;
  b.at(kT0 + 7 * kSec, join);
  MemberTagsSet mt;
  mt.network_id = 1;
  mt.node_id = 2;
  mt.tags = {"svc"};
  b.at(kT0 + 8 * kSec, mt);
  TrustAdded trust;
  trust.a = 2;
  trust.b = 1;
  b.at(kT0 + 9 * kSec, trust);
  HandshakeRequested hs;
  hs.from_node_id = 10;
  hs.to_node_id = 1;
  hs.justification = "hi <there> & you";
  b.at(kT0 + 10 * kSec + 500000000, hs);
  b.s.audit = AuditLog{};  // the audit section has its own test
  return b.s;
}

const std::string kKeyA = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
const std::string kKeyB = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
const std::string kKeyC = "//////////////////////////////////////////8=";

const std::string kGolden =
    R"({"version":1,"next_node":11,"next_net":2,)"
    R"("nodes":{)"
    R"("1":{"id":1,"owner":"alice@example.com","public_key":")" +
    kKeyA +
    R"(","real_addr":"198.51.100.1:4000","networks":[0,1],"public":true,"last_seen":"2023-11-14T22:13:50Z",)"
    R"("hostname":"alice","tags":["web","db"],"lan_addrs":["10.0.0.1:4000"],"key_created":"2023-11-14T22:13:20Z",)"
    R"("version":"1.2.3"},)"
    R"("10":{"id":10,"public_key":")" +
    kKeyC +
    R"(","real_addr":"203.0.113.5:9","networks":[0],"last_seen":"2023-11-14T22:13:22Z",)"
    R"("key_created":"2023-11-14T22:13:22Z"},)"
    R"("2":{"id":2,"public_key":")" +
    kKeyB +
    R"(","networks":[0,1],"last_seen":"2023-11-14T22:13:21Z","key_created":"2023-11-14T22:13:21Z",)"
    R"("relay_only":true}},)"
    R"("networks":{)"
    R"("0":{"id":0,"name":"backbone","join_rule":"open","members":[1,2,10],"created":"2023-11-14T21:56:40Z"},)"
    R"("1":{"id":1,"name":"lab","join_rule":"token","token":"s3cret","members":[1,2],)"
    R"("member_roles":{"1":"owner","2":"member"},"member_tags":{"2":["svc"]},"created":"2023-11-14T22:13:26Z"}},)"
    R"("trust_pairs":["1:2"],)"
    R"("pub_key_idx":{")" +
    kKeyC + R"(":10,")" + kKeyA + R"(":1,")" + kKeyB +
    R"(":2},)"
    R"("handshake_inbox":{"1":[{"from_node_id":10,"justification":"hi <there> & you",)"
    R"("timestamp":"2023-11-14T22:13:30.5Z"}]},)"
    R"("term":1})";

GoSnapshotInputs inputs(const Liveness& live) { return GoSnapshotInputs{&live, int64_t{1699999000} * kSec}; }

TEST(GoSnapshot, GoldenDocumentOfASmallState) {
  const State s = small_state();
  Liveness live;
  live.touch(1, kT0 + 30 * kSec);  // a heartbeat after the registration
  EXPECT_EQ(go_snapshot_unsigned(s, inputs(live)), kGolden);
}

TEST(GoSnapshot, ChecksumIsTheSha256OfTheDocumentWithoutIt) {
  const State s = small_state();
  Liveness live;
  live.touch(1, kT0 + 30 * kSec);
  const std::string doc = go_snapshot(s, inputs(live));
  const std::string member = ",\"checksum\":\"" + testsupport::openssl_sha256_hex(kGolden) + "\"}";
  ASSERT_GT(doc.size(), member.size());
  EXPECT_EQ(doc.substr(doc.size() - member.size()), member);
  EXPECT_EQ(doc.substr(0, doc.size() - member.size()) + "}", kGolden);
  // And it is a JSON object whose last member is the checksum.
  auto parsed = nlohmann::ordered_json::parse(doc);
  EXPECT_EQ(parsed.items().begin().key(), "version");
  EXPECT_EQ((--parsed.end()).key(), "checksum");
}

TEST(GoSnapshot, DeterministicAndLastSeenFallsBackToRegistration) {
  const State s = small_state();
  Liveness none;
  const std::string a = go_snapshot(s, inputs(none));
  EXPECT_EQ(a, go_snapshot(s, inputs(none)));
  EXPECT_NE(a.find(R"("last_seen":"2023-11-14T22:13:20Z")"), std::string::npos);
  EXPECT_EQ(go_snapshot(s, GoSnapshotInputs{}), go_snapshot(s, GoSnapshotInputs{nullptr, 0}));
}

TEST(GoSnapshot, FrameIsGoMarshalOfTheMessage) {
  const std::string doc = R"({"a":"<b>&c","version":1})";
  const std::string frame = replication_snapshot_frame(doc);
  const std::string body = R"({"snapshot":{"a":"\u003cb\u003e\u0026c","version":1},"type":"replication_snapshot"})";
  ASSERT_EQ(frame.size(), 4 + body.size());
  const uint32_t len = (uint32_t(uint8_t(frame[0])) << 24) | (uint32_t(uint8_t(frame[1])) << 16) |
                       (uint32_t(uint8_t(frame[2])) << 8) | uint32_t(uint8_t(frame[3]));
  EXPECT_EQ(len, body.size());
  EXPECT_EQ(frame.substr(4), body);
  EXPECT_EQ(replication_heartbeat_frame(), std::string("\0\0\0\x14", 4) + R"({"type":"heartbeat"})");
}

TEST(GoSnapshot, FrameOfARealDocumentCarriesTheSameValues) {
  const State s = small_state();
  Liveness live;
  const std::string doc = go_snapshot(s, inputs(live));
  const std::string frame = replication_snapshot_frame(doc);
  EXPECT_EQ(frame.find("<there>"), std::string::npos);  // escaped on the wire
  auto msg = nlohmann::json::parse(frame.substr(4));
  EXPECT_EQ(msg["type"], "replication_snapshot");
  EXPECT_EQ(msg["snapshot"], nlohmann::json::parse(doc));
  EXPECT_EQ(msg["snapshot"]["handshake_inbox"]["1"][0]["justification"], "hi <there> & you");
}

// Everything optional at once, checked by member order and value rather than bytes.
TEST(GoSnapshot, OptionalSectionsInStructOrder) {
  Builder b;
  b.at(kT0, reg(1, 0x01, "", ""));
  b.at(kT0, reg(2, 0x02, "", ""));
  b.at(kT0, reg(3, 0x03, "", ""));
  NetworkCreated net;
  net.network_id = 4;
  net.name = "corp";
  net.join_rule = "invite";
  net.admin_token = "nat";
  net.enterprise = true;
  net.creator_node_id = 1;
  net.rules_json = R"({"allow":[80]})";
  net.expr_policy_json = R"({"version":1,"rules":[]})";
  b.at(kT0 + kSec, net);
  MemberJoined join;
  join.network_id = 4;
  join.node_id = 3;
  join.role = Role::kAdmin;
  b.at(kT0 + kSec, join);
  NetworkPolicySet pol;
  pol.network_id = 4;
  pol.max_members = 50;
  pol.description = "d";
  b.at(kT0 + kSec, pol);
  InviteCreated inv;
  inv.network_id = 4;
  inv.inviter_id = 1;
  inv.target_id = 2;
  b.at(kT0 + 2 * kSec, inv);
  HandshakeResponded resp;
  resp.responder_id = 2;
  resp.peer_id = 1;
  resp.accept = true;
  b.at(kT0 + 3 * kSec, resp);
  RbacPreAssigned pre;
  pre.network_id = 4;
  pre.external_id = "ext-9";
  pre.role = Role::kOwner;
  b.at(kT0 + 3 * kSec, pre);
  IdpConfigured idp;
  idp.idp_type = "oidc";
  idp.url = "https://idp.example/verify";
  idp.issuer = "https://idp.example";
  b.at(kT0 + 3 * kSec, idp);
  AuditExportConfigured ae;
  ae.format = "splunk_hec";
  ae.endpoint = "https://splunk.example:8088";
  ae.token = "hec";
  b.at(kT0 + 3 * kSec, ae);
  b.at(kT0 + 4 * kSec, NodeExpired{3});  // keeps its membership here; gone in the document
  KeyExpirySet kx;
  kx.node_id = 1;
  kx.expires_at = 1800000000;
  b.at(kT0 + 4 * kSec, kx);

  Liveness live;
  auto doc = nlohmann::ordered_json::parse(go_snapshot(b.s, inputs(live)));
  std::vector<std::string> keys;
  for (auto it = doc.begin(); it != doc.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys,
            (std::vector<std::string>{"version", "next_node", "next_net", "nodes", "networks", "trust_pairs",
                                      "pub_key_idx", "handshake_responses", "invite_inbox", "audit_log", "idp_config",
                                      "audit_export_config", "rbac_pre_assign", "term", "checksum"}));
  EXPECT_FALSE(doc["nodes"].contains("3"));
  EXPECT_EQ(doc["trust_pairs"].dump(), R"(["1:2"])");  // an accepted handshake trusts
  EXPECT_EQ(doc["pub_key_idx"].size(), 3u);            // the expired node's key stays bound
  EXPECT_EQ(doc["nodes"]["1"]["key_expires"], "2027-01-15T08:00:00Z");

  const auto& n = doc["networks"]["4"];
  std::vector<std::string> net_keys;
  for (auto it = n.begin(); it != n.end(); ++it) net_keys.push_back(it.key());
  EXPECT_EQ(net_keys, (std::vector<std::string>{"id", "name", "join_rule", "members", "member_roles", "admin_token",
                                                "policy", "rules", "expr_policy", "enterprise", "created"}));
  EXPECT_EQ(n["members"], nlohmann::ordered_json::parse("[1]"));
  EXPECT_EQ(n["member_roles"].dump(), R"({"1":"owner"})");
  EXPECT_EQ(n["policy"].dump(), R"({"max_members":50,"allowed_ports":null,"description":"d"})");
  EXPECT_EQ(n["rules"].dump(), R"({"allow":[80]})");
  EXPECT_EQ(n["expr_policy"].dump(), R"({"version":1,"rules":[]})");

  EXPECT_EQ(doc["invite_inbox"].dump(),
            R"({"2":[{"network_id":4,"inviter_id":1,"timestamp":"2023-11-14T22:13:22Z"}]})");
  EXPECT_EQ(doc["handshake_responses"].dump(),
            R"({"1":[{"from_node_id":2,"accept":true,"timestamp":"2023-11-14T22:13:23Z"}]})");
  EXPECT_EQ(doc["rbac_pre_assign"].dump(), R"({"4":[{"external_id":"ext-9","role":"owner"}]})");
  EXPECT_EQ(doc["idp_config"].dump(),
            R"({"type":"oidc","url":"https://idp.example/verify","issuer":"https://idp.example"})");
  EXPECT_EQ(doc["audit_export_config"].dump(),
            R"({"format":"splunk_hec","endpoint":"https://splunk.example:8088","token":"hec"})");

  // The audit log: oldest first, the entries of the audit view with their chain.
  ASSERT_EQ(doc["audit_log"].size(), b.s.audit.size());
  const auto& first = doc["audit_log"][0];
  std::vector<std::string> entry_keys;
  for (auto it = first.begin(); it != first.end(); ++it) entry_keys.push_back(it.key());
  EXPECT_EQ(entry_keys, (std::vector<std::string>{"timestamp", "action", "node_id", "details", "hash"}));
  EXPECT_EQ(first["action"], "node.registered");
  EXPECT_EQ(first["hash"], b.s.audit.at(0).hash);
  EXPECT_EQ(doc["audit_log"][1]["prev_hash"], b.s.audit.at(0).hash);
}

}  // namespace
}  // namespace pilot::rpc
