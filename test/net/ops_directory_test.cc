// The directory ops through the real dispatcher (no sockets): spec §6.1–§6.11, §6.20,
// §7 and the behaviours of §21 items 26–70, 101, 105.
#include <gtest/gtest.h>

#include "core/address.h"
#include "core/time_format.h"
#include "net/rpc/fields.h"
#include "net/rpc/listen_addr.h"
#include "net/rpc/reaper.h"
#include "net/rpc/wire.h"
#include "test/net/ops_fixture.h"

namespace pilot::rpc {
namespace {

using nlohmann::json;
using testing::OpsFixture;

class DirectoryOps : public OpsFixture {
 protected:
  struct Reg {
    uint32_t id;
    KeyPair key;
    std::string pub;
  };
  json register_req(const KeyPair& k, const std::string& listen = "0.0.0.0:4000", bool sign = true) {
    json q{{"type", "register"}, {"listen_addr", listen}, {"public_key", encode_public_key(k.public_key)}};
    if (sign) q["signature"] = encode_signature(k.sign("register:" + listen + ":" + encode_public_key(k.public_key)));
    return q;
  }
  Reg reg_node(const std::string& listen = "0.0.0.0:4000") {
    Reg r{0, KeyPair::generate(), ""};
    r.pub = encode_public_key(r.key.public_key);
    json resp = call(register_req(r.key, listen));
    EXPECT_EQ(resp["type"], "register_ok") << resp.dump();
    r.id = resp.value("node_id", 0u);
    return r;
  }
  json heartbeat_req(const Reg& r) {
    return {{"type", "heartbeat"},
            {"node_id", r.id},
            {"signature", encode_signature(r.key.sign("heartbeat:" + std::to_string(r.id)))}};
  }
  json signed_req(const Reg& r, const std::string& type, const std::string& challenge) {
    return {{"type", type}, {"node_id", r.id}, {"signature", encode_signature(r.key.sign(challenge))}};
  }
  std::string binary(wire::MsgType t, const std::string& payload) {
    std::string out;
    disp_.handle_binary(t, payload, Peer{"203.0.113.9", 5000, false}, out);
    return out;
  }
};

// ---- register --------------------------------------------------------------------

TEST_F(DirectoryOps, RegisterRequiresAValidPublicKey) {
  EXPECT_EQ(error_of({{"type", "register"}, {"listen_addr", "1.2.3.4:5"}}), "registration requires public_key");
  EXPECT_NE(error_of({{"type", "register"}, {"public_key", "!!notbase64"}}).find("invalid"), std::string::npos);
  EXPECT_NE(error_of({{"type", "register"}, {"public_key", "AAAA"}}).find("invalid"), std::string::npos);
  EXPECT_EQ(state_.directory.size(), 0u);
}

TEST_F(DirectoryOps, RegisterAllocatesSequentialIdsAndBackboneAddresses) {
  Reg a = reg_node(), b = reg_node();
  EXPECT_EQ(a.id, 1u);
  EXPECT_EQ(b.id, 2u);
  json again = call(register_req(a.key, "0.0.0.0:4001"));
  EXPECT_EQ(again["node_id"], 1);
  EXPECT_EQ(again["address"], "0:0000.0000.0001");
  EXPECT_EQ(again["network_id"], 0);
  EXPECT_EQ(again["protocol_version"], 1);
  EXPECT_EQ(again["public_key"], a.pub);
  EXPECT_EQ(state_.directory.find(1)->real_addr, "203.0.113.9:4001");  // endpoint refreshed
}

TEST_F(DirectoryOps, RegisterSignatureIsBoundToTheListenAddress) {
  KeyPair k = KeyPair::generate();
  json q = register_req(k, "198.51.100.1:4000");
  q["listen_addr"] = "198.51.100.66:4000";  // replayed signature, other endpoint
  EXPECT_EQ(error_of(q), "registration: signature verification failed");
  q["signature"] = "%%%";
  EXPECT_EQ(error_of(q), "registration: invalid signature encoding");
  EXPECT_EQ(state_.directory.size(), 0u);
}

TEST_F(DirectoryOps, UnsignedReRegisterOfASignedKeyIsRefused) {
  Reg a = reg_node("198.51.100.1:4000");
  json q = register_req(a.key, "198.51.100.1:4000", /*sign=*/false);
  EXPECT_EQ(call(q)["error"], "node 1: unsigned registration cannot modify a signature-verified key");
  EXPECT_EQ(state_.directory.find(1)->real_addr, "198.51.100.1:4000");
  // Signed re-registers always pass.
  EXPECT_EQ(call(register_req(a.key, "198.51.100.2:4000"))["type"], "register_ok");
}

TEST_F(DirectoryOps, StrictRegistrationRequiresASignature) {
  options().strict_registration_auth = true;
  EXPECT_EQ(error_of(register_req(KeyPair::generate(), "1.2.3.4:5", false)), "registration: signature required");
}

TEST_F(DirectoryOps, OwnerBindingRejectsANewKeyWhileAliveAndReclaimsAfterExpiry) {
  KeyPair k1 = KeyPair::generate(), k2 = KeyPair::generate();
  json q = register_req(k1);
  q["owner"] = "alice@example.com";
  ASSERT_EQ(call(q)["node_id"], 1);
  json q2 = register_req(k2);
  q2["owner"] = "alice@example.com";
  json r = call(q2);
  EXPECT_EQ(r["type"], "error");
  EXPECT_EQ(r["error"],  // contains "already" and "use recover_identity": passes the sanitiser
            "owner \"alice@example.com\" is already bound to node 1 with a different key; use recover_identity to "
            "rotate the key");
  reg_.emit(NodeExpired{1});
  json r2 = call(q2);
  EXPECT_EQ(r2["node_id"], 1);  // the ID goes to the new key
  EXPECT_EQ(state_.directory.find(1)->public_key, k2.public_key);
}

TEST_F(DirectoryOps, ListenAddressSanitising) {
  EXPECT_EQ(sanitize_listen_addr("", "203.0.113.9", 51022), "203.0.113.9:51022");
  for (const char* a : {"0.0.0.0:4000", "10.1.2.3:4000", "127.0.0.1:4000", "[::]:4000", "169.254.1.1:4000",
                        "192.168.1.20:4000", "172.16.0.1:4000", "[fd00::1]:4000", "[fe80::1]:4000", ":4000"})
    EXPECT_EQ(sanitize_listen_addr(a, "203.0.113.9", 1), "203.0.113.9:4000") << a;
  EXPECT_EQ(sanitize_listen_addr("198.51.100.7:4000", "203.0.113.9", 1), "198.51.100.7:4000");
  EXPECT_EQ(sanitize_listen_addr("node.example.com:4000", "203.0.113.9", 1), "node.example.com:4000");
  EXPECT_EQ(sanitize_listen_addr("garbage", "203.0.113.9", 1), "garbage");
  EXPECT_EQ(sanitize_listen_addr("10.0.0.1:4000", "2001:db8::1", 1), "[2001:db8::1]:4000");
  EXPECT_EQ(sanitize_listen_addr("172.32.0.1:4000", "203.0.113.9", 1), "172.32.0.1:4000");  // not 172.16/12
  // observed_addr is what was stored.
  json r = call(register_req(KeyPair::generate(), "10.0.0.5:37521"));
  EXPECT_EQ(r["observed_addr"], "203.0.113.9:37521");
}

TEST_F(DirectoryOps, HostnameAtRegistrationNeverFailsTheRegistration) {
  KeyPair k = KeyPair::generate();
  json q = register_req(k);
  q["hostname"] = "Bad_Name";
  json r = call(q);
  EXPECT_EQ(r["type"], "register_ok");
  EXPECT_FALSE(r.contains("hostname"));
  EXPECT_NE(r.value("hostname_error", "").find("invalid"), std::string::npos);

  q["hostname"] = "alpha";
  EXPECT_EQ(call(q)["hostname"], "alpha");
  json other = register_req(KeyPair::generate());
  other["hostname"] = "alpha";
  json r2 = call(other);
  EXPECT_EQ(r2["hostname_error"], "hostname \"alpha\" already in use");
  EXPECT_EQ(*state_.directory.id_by_hostname("alpha"), 1u);
}

// ---- heartbeat ------------------------------------------------------------------

TEST_F(DirectoryOps, HeartbeatReplyIsByteExact) {
  Reg a = reg_node();
  EXPECT_EQ(call_raw(heartbeat_req(a)), "{\"time\":1767225600,\"type\":\"heartbeat_ok\"}");
}

TEST_F(DirectoryOps, HeartbeatErrors) {
  Reg a = reg_node();
  EXPECT_EQ(error_of({{"type", "heartbeat"}, {"node_id", 99}, {"signature", "x"}}), "node 99: node not found");
  EXPECT_EQ(error_of({{"type", "heartbeat"}, {"node_id", a.id}}), "signature required for authenticated node");
  EXPECT_EQ(error_of({{"type", "heartbeat"}, {"node_id", a.id}, {"signature", "@@"}}), "invalid signature encoding");
  json replay = signed_req(a, "heartbeat", "set_visibility:1");  // another op's signature
  EXPECT_EQ(error_of(replay), "signature verification failed");
}

TEST_F(DirectoryOps, HeartbeatSkipWindowIsTiedToTheSignatureBytes) {
  Reg a = reg_node();
  ASSERT_EQ(call(heartbeat_req(a))["type"], "heartbeat_ok");
  // The reference would accept any signature here for 120 s; we do not.
  json forged = heartbeat_req(a);
  forged["signature"] = encode_signature(KeyPair::generate().sign("heartbeat:1"));
  EXPECT_EQ(error_of(forged), "signature verification failed");
  EXPECT_EQ(call(heartbeat_req(a))["type"], "heartbeat_ok");
}

TEST_F(DirectoryOps, HeartbeatRefreshesLastSeen) {
  Reg a = reg_node();
  now_ += int64_t{100} * 1000000000;
  call(heartbeat_req(a));
  EXPECT_EQ(call({{"type", "lookup"}, {"node_id", a.id}})["last_seen_unix"], 1767225700);
}

TEST_F(DirectoryOps, KeyExpiryWarningAndExpiredKey) {
  Reg a = reg_node();
  reg_.emit(KeyExpirySet{a.id, 1767225600 + 3600});
  EXPECT_EQ(call_raw(heartbeat_req(a)), "{\"key_expiry_warning\":true,\"time\":1767225600,\"type\":\"heartbeat_ok\"}");
  now_ += int64_t{7200} * 1000000000;
  EXPECT_EQ(error_of(heartbeat_req(a)), "node 1: key expired at 2026-01-01T01:00:00Z");
}

TEST_F(DirectoryOps, StrictFreshnessNeedsASignedTimestamp) {
  options().strict_heartbeat_freshness = true;
  Reg a = reg_node();
  EXPECT_NE(error_of(heartbeat_req(a)).find("require"), std::string::npos);
  const int64_t ts = 1767225600;
  json q{{"type", "heartbeat"},
         {"node_id", a.id},
         {"ts", ts},
         {"signature", encode_signature(a.key.sign("heartbeat:1:" + std::to_string(ts)))}};
  EXPECT_EQ(call(q)["type"], "heartbeat_ok");
  now_ += int64_t{61} * 1000000000;  // the captured heartbeat goes stale
  EXPECT_EQ(call(q)["type"], "error");
  // Binary heartbeats carry no timestamp.
  wire::HeartbeatRequest hb{a.id, a.key.sign("heartbeat:1")};
  auto reply = binary(wire::MsgType::kHeartbeat, wire::encode(hb));
  EXPECT_NE(reply.find("binary heartbeat encoding carries no timestamp"), std::string::npos);
}

// ---- lookup / resolve -------------------------------------------------------------

TEST_F(DirectoryOps, LookupShowsTheEndpointOnlyForPublicNodes) {
  Reg a = reg_node("198.51.100.7:4000");
  json priv = call({{"type", "lookup"}, {"node_id", a.id}});
  EXPECT_EQ(priv["public"], false);
  EXPECT_FALSE(priv.contains("real_addr"));
  EXPECT_FALSE(priv.contains("lan_addrs"));
  EXPECT_EQ(priv["networks"], json::array({0}));
  EXPECT_EQ(priv["public_key"], a.pub);
  EXPECT_EQ(priv["key_generation"], 0);
  reg_.emit(VisibilityChanged{a.id, true});
  json pub = call({{"type", "lookup"}, {"node_id", a.id}});
  EXPECT_EQ(pub["real_addr"], "198.51.100.7:4000");
  EXPECT_EQ(pub["endpoint"], "198.51.100.7:4000");
  options().beacon_addr = "192.0.2.1:9001";
  reg_.emit(NodeRegistered{a.id, a.key.public_key, "", "198.51.100.7:4000", {}, "", true});
  json relay = call({{"type", "lookup"}, {"node_id", a.id}});
  EXPECT_EQ(relay["real_addr"], "192.0.2.1:9001");
  EXPECT_EQ(relay["relay_only"], true);
  EXPECT_EQ(error_of({{"type", "lookup"}, {"node_id", 77}}), "node 77: node not found");
  EXPECT_EQ(error_of({{"type", "lookup"}, {"node_id", -5}}), "node 0: node not found");
  EXPECT_EQ(error_of({{"type", "lookup"}, {"node_id", 1e12}}), "node 0: node not found");
  EXPECT_EQ(error_of({{"type", "lookup"}, {"node_id", "1"}}), "node 0: node not found");
}

TEST_F(DirectoryOps, ResolveOfAPrivateNodeNeedsTrustOrASharedNetwork) {
  Reg a = reg_node("198.51.100.1:4000"), b = reg_node("198.51.100.2:4000");
  auto resolve = [&](const Reg& from, const Reg& to) {
    json q = signed_req(from, "resolve", "resolve:" + std::to_string(from.id) + ":" + std::to_string(to.id));
    q["requester_id"] = from.id;
    q["node_id"] = to.id;
    return call(q);
  };
  EXPECT_EQ(resolve(a, b)["error"], "request failed");  // "resolve denied: node 2 is private …", sanitised
  reg_.emit(TrustAdded{1, 2});
  json ok = resolve(a, b);
  EXPECT_EQ(ok["type"], "resolve_ok");
  EXPECT_EQ(ok["real_addr"], "198.51.100.2:4000");
  EXPECT_EQ(ok["relay_only"], false);
  EXPECT_EQ(ok["key_age_days"], 0);
  reg_.emit(TrustRevoked{1, 2});
  reg_.emit(NetworkCreated{1, "lab", "open", "", "", false, 1, "", ""});
  reg_.emit(MemberJoined{1, 2, Role::kMember});
  EXPECT_EQ(resolve(a, b)["type"], "resolve_ok");

  json unregistered{{"type", "resolve"}, {"requester_id", 50}, {"node_id", 1}, {"signature", "x"}};
  EXPECT_EQ(error_of(unregistered), "request failed");  // "…requester node 50 is not registered"
  json bad = signed_req(a, "resolve", "resolve:1:3");
  bad["requester_id"] = 1;
  bad["node_id"] = 2;
  EXPECT_EQ(error_of(bad), "signature verification failed");
}

TEST_F(DirectoryOps, ResolveHostnameHidesPrivateNodesFromStrangers) {
  Reg a = reg_node(), b = reg_node();
  reg_.emit(HostnameChanged{a.id, "alpha"});
  EXPECT_EQ(error_of({{"type", "resolve_hostname"}}), "hostname required");
  EXPECT_EQ(error_of({{"type", "resolve_hostname"}, {"hostname", "alpha"}, {"requester_id", b.id}}),
            "hostname \"alpha\" not found");
  EXPECT_EQ(error_of({{"type", "resolve_hostname"}, {"hostname", "nope"}, {"requester_id", b.id}}),
            "hostname \"nope\" not found");
  json self = call({{"type", "resolve_hostname"}, {"hostname", "alpha"}, {"requester_id", a.id}});
  EXPECT_EQ(self["node_id"], a.id);
  EXPECT_EQ(self["address"], "0:0000.0000.0001");
  EXPECT_TRUE(self.contains("last_seen_unix"));
  reg_.emit(VisibilityChanged{a.id, true});
  EXPECT_EQ(call({{"type", "resolve_hostname"}, {"hostname", "alpha"}, {"requester_id", b.id}})["public"], true);
}

TEST_F(DirectoryOps, StrictDirectoryAuthHidesPrivateLookups) {
  options().strict_directory_auth = true;
  Reg a = reg_node(), b = reg_node();
  EXPECT_EQ(error_of({{"type", "lookup"}, {"node_id", a.id}}), "node 1: node not found");
  json q = signed_req(b, "lookup", "lookup:2:1");
  q["node_id"] = a.id;
  q["requester_id"] = b.id;
  EXPECT_EQ(error_of(q), "node 1: node not found");  // proven, but no relationship
  reg_.emit(TrustAdded{1, 2});
  EXPECT_EQ(call(q)["type"], "lookup_ok");
  // The binary lookup has no requester: private is "not found".
  auto reply = binary(wire::MsgType::kLookup, wire::encode(wire::LookupRequest{a.id}));
  EXPECT_NE(reply.find("node 1: not found"), std::string::npos);
}

// ---- listings ----------------------------------------------------------------------

TEST_F(DirectoryOps, ListNodes) {
  options().admin_token = "adm";
  Reg a = reg_node(), b = reg_node();
  EXPECT_EQ(error_of({{"type", "list_nodes"}, {"network_id", 0}}), "request failed");  // backbone listing banned
  json all = call({{"type", "list_nodes"}, {"network_id", 0}, {"admin_token", "adm"}});
  EXPECT_EQ(all["nodes"].size(), 2u);
  EXPECT_EQ(error_of({{"type", "list_nodes"}, {"network_id", 9}}), "network 9: network not found");
  reg_.emit(NetworkCreated{1, "lab", "open", "", "", true, a.id, "", ""});
  reg_.emit(MemberJoined{1, b.id, Role::kMember});
  reg_.emit(NodeExpired{b.id});
  json lab = call({{"type", "list_nodes"}, {"network_id", 1}});
  ASSERT_EQ(lab["nodes"].size(), 2u);
  EXPECT_EQ(lab["nodes"][0]["address"], "1:0001.0000.0001");
  EXPECT_EQ(lab["nodes"][0]["role"], "owner");
  EXPECT_EQ(lab["nodes"][1]["offline"], true);  // reaped members keep their place
  EXPECT_EQ(lab["nodes"][1]["role"], "member");
}

// ---- settings ----------------------------------------------------------------------

TEST_F(DirectoryOps, SetVisibilityHostnameAndTags) {
  options().admin_token = "adm";
  Reg a = reg_node(), b = reg_node();
  json vis = signed_req(a, "set_visibility", "set_visibility:1");
  vis["public"] = true;
  EXPECT_EQ(call(vis)["visibility"], "public");
  EXPECT_TRUE(state_.directory.find(1)->is_public);
  json by_admin{{"type", "set_visibility"}, {"node_id", a.id}, {"public", false}, {"admin_token", "adm"}};
  EXPECT_EQ(call(by_admin)["visibility"], "private");

  json host = signed_req(a, "set_hostname", "set_hostname:1");
  for (const char* bad : {"localhost", "backbone", "broadcast", "UPPER", "-lead", "trail-", "a_b"}) {
    host["hostname"] = bad;
    EXPECT_NE(error_of(host).find("invalid"), std::string::npos) << bad;
  }
  host["hostname"] = std::string(64, 'a');
  EXPECT_NE(error_of(host).find("too long"), std::string::npos);
  host["hostname"] = "alpha";
  EXPECT_EQ(call(host)["hostname"], "alpha");
  json taken = signed_req(b, "set_hostname", "set_hostname:2");
  taken["hostname"] = "alpha";
  EXPECT_EQ(error_of(taken), "hostname \"alpha\" already in use by node 1");
  host["hostname"] = "";
  call(host);
  EXPECT_FALSE(state_.directory.id_by_hostname("alpha"));
  EXPECT_EQ(call(taken)["hostname"], "alpha");

  json tags = signed_req(a, "set_tags", "set_tags:1");
  tags["tags"] = {"#gpu", "gpu", "eu-west"};
  EXPECT_EQ(call(tags)["tags"], json::array({"gpu", "eu-west"}));
  tags["tags"] = json::array();
  for (int i = 0; i < 11; ++i) tags["tags"].push_back("t" + std::to_string(i));
  EXPECT_EQ(error_of(tags), "too many tags (max 10)");
  tags["tags"] = {"Bad!"};
  EXPECT_NE(error_of(tags).find("invalid tag"), std::string::npos);
  EXPECT_EQ(state_.directory.find(1)->tags, (std::vector<std::string>{"gpu", "eu-west"}));
}

TEST_F(DirectoryOps, DeregisterIsIdempotentAndKeepsTheIdForTheKey) {
  Reg a = reg_node();
  EXPECT_EQ(call_raw({{"type", "deregister"}, {"node_id", 42}}), "{\"type\":\"deregister_ok\"}");
  EXPECT_EQ(error_of({{"type", "deregister"}, {"node_id", a.id}}), "signature required for authenticated node");
  EXPECT_EQ(call_raw(signed_req(a, "deregister", "deregister:1")), "{\"type\":\"deregister_ok\"}");
  EXPECT_FALSE(state_.directory.is_live(1));
  EXPECT_EQ(call(register_req(a.key))["node_id"], 1);
}

TEST_F(DirectoryOps, RotateKey) {
  Reg a = reg_node();
  KeyPair next = KeyPair::generate();
  const std::string next_b64 = encode_public_key(next.public_key);
  json q{{"type", "rotate_key"}, {"node_id", a.id}, {"new_public_key", next_b64}};
  EXPECT_EQ(error_of(q), "rotate_key requires a valid signature");
  q["signature"] = encode_signature(next.sign("rotate:1:" + next_b64));  // by the new key
  EXPECT_EQ(error_of(q), "signature verification failed");
  q["signature"] = encode_signature(a.key.sign("rotate:1"));  // OLD challenge
  EXPECT_EQ(error_of(q), "signature verification failed");
  q["signature"] = encode_signature(a.key.sign("rotate:1:" + next_b64));
  json ok = call(q);
  EXPECT_EQ(ok["public_key"], next_b64);
  EXPECT_EQ(ok["address"], "0:0000.0000.0001");
  json look = call({{"type", "lookup"}, {"node_id", 1}});
  EXPECT_EQ(look["public_key"], next_b64);
  EXPECT_EQ(look["key_generation"], 1);
  // The old key no longer maps to the ID: it registers as a new node.
  EXPECT_EQ(call(register_req(a.key))["node_id"], 2);
  json info = call({{"type", "get_key_info"}, {"node_id", 1}});
  EXPECT_EQ(info["rotate_count"], 1);
  EXPECT_EQ(info["created_at"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(info["rotated_at"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(info["key_age_days"], 0);
}

// ---- reaper and binary frames ------------------------------------------------------

TEST_F(DirectoryOps, ReaperExpiresSilentNodesWhoGetTheirIdBack) {
  options().stale_threshold_ns = int64_t{60} * 1000000000;
  Reg a = reg_node(), b = reg_node();
  reg_.emit(HostnameChanged{a.id, "alpha"});
  now_ += int64_t{50} * 1000000000;
  call(heartbeat_req(b));
  now_ += int64_t{20} * 1000000000;
  EXPECT_EQ(reap_stale_nodes(reg_), 1u);
  EXPECT_FALSE(state_.directory.is_live(a.id));
  EXPECT_TRUE(state_.directory.is_live(b.id));
  EXPECT_FALSE(state_.directory.id_by_hostname("alpha"));
  EXPECT_EQ(call(register_req(a.key))["node_id"], a.id);
}

TEST_F(DirectoryOps, BinaryFramesRunTheSameLogic) {
  Reg a = reg_node("198.51.100.7:4000"), b = reg_node();
  reg_.emit(VisibilityChanged{a.id, true});
  std::string hb =
      binary(wire::MsgType::kHeartbeat, wire::encode(wire::HeartbeatRequest{a.id, a.key.sign("heartbeat:1")}));
  wire::Frame f;
  std::string why;
  ASSERT_EQ(wire::next_binary_frame(hb, f, why), wire::FrameStatus::kFrame);
  EXPECT_EQ(f.type, wire::MsgType::kHeartbeatResponse);
  EXPECT_EQ(wire::decode_heartbeat_response(f.body)->unix_time, 1767225600);

  std::string look = binary(wire::MsgType::kLookup, wire::encode(wire::LookupRequest{a.id}));
  ASSERT_EQ(wire::next_binary_frame(look, f, why), wire::FrameStatus::kFrame);
  auto lr = wire::decode_lookup_response(f.body);
  ASSERT_TRUE(lr);
  EXPECT_EQ(lr->real_addr, "198.51.100.7:4000");
  EXPECT_EQ(lr->public_key, a.key.public_key);

  std::string res =
      binary(wire::MsgType::kResolve, wire::encode(wire::ResolveRequest{a.id, b.id, b.key.sign("resolve:2:1")}));
  ASSERT_EQ(wire::next_binary_frame(res, f, why), wire::FrameStatus::kFrame);
  ASSERT_EQ(f.type, wire::MsgType::kResolveResponse);
  EXPECT_EQ(wire::decode_resolve_response(f.body)->key_age_days, 0u);

  std::string err = binary(wire::MsgType::kHeartbeat, wire::encode(wire::HeartbeatRequest{9, a.key.sign("x")}));
  ASSERT_EQ(wire::next_binary_frame(err, f, why), wire::FrameStatus::kFrame);
  EXPECT_EQ(wire::decode_error(f.body), "node 9: not found");
  std::string unknown = binary(static_cast<wire::MsgType>(0x7e), "");
  ASSERT_EQ(wire::next_binary_frame(unknown, f, why), wire::FrameStatus::kFrame);
  EXPECT_EQ(wire::decode_error(f.body), "unknown message type 0x7e");
  std::string short_hb = binary(wire::MsgType::kHeartbeat, "abc");
  ASSERT_EQ(wire::next_binary_frame(short_hb, f, why), wire::FrameStatus::kFrame);
  EXPECT_EQ(wire::decode_error(f.body), "heartbeat request too short: 3 bytes");
  // JSON passthrough answers exactly what JSON mode answers.
  json q{{"type", "lookup"}, {"node_id", a.id}};
  std::string pass = binary(wire::MsgType::kJson, q.dump());
  ASSERT_EQ(wire::next_binary_frame(pass, f, why), wire::FrameStatus::kFrame);
  EXPECT_EQ(std::string(f.body), call_raw(q));
  std::string repl = binary(wire::MsgType::kJson, R"({"type":"subscribe_replication"})");
  ASSERT_EQ(wire::next_binary_frame(repl, f, why), wire::FrameStatus::kFrame);
  EXPECT_EQ(wire::decode_error(f.body), "replication not supported over binary protocol");
}

TEST_F(DirectoryOps, UnknownTypesAreCountedAndSanitised) {
  EXPECT_EQ(error_of({{"type", "set_task_exec"}}), "request failed");
  EXPECT_EQ(error_of({{"node_id", 1}}), "request failed");
  EXPECT_EQ(disp_.stats().at("set_task_exec").errors, 1u);
  EXPECT_FALSE(disp_.handle_json("[1,2]", Peer{}).has_value());
  EXPECT_FALSE(disp_.handle_json("{bad", Peer{}).has_value());
  EXPECT_FALSE(disp_.handle_json("", Peer{}).has_value());
}

}  // namespace
}  // namespace pilot::rpc
