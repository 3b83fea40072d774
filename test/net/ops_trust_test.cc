// Trust pairs and the handshake relay through the real dispatcher (spec §6.14, §6.15,
// §21 items 72–80). Errors are checked twice where the sanitiser hides the text: the
// raw handler text (what the spec names) and what the client sees.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/events.h"
#include "log/format.h"
#include "log/recovery.h"
#include "log/scanner.h"
#include "log/writer.h"
#include "net/rpc/ops.h"
#include "test/net/ops_fixture.h"
#include "test/support/temp_dir.h"

namespace pilot::rpc::testing {
namespace {

using nlohmann::json;

class TrustOps : public OpsFixture {
 protected:
  json report(const TestNode& a, uint32_t peer) {
    return {{"type", "report_trust"},
            {"node_id", a.id},
            {"peer_id", peer},
            {"signature", a.sign("report_trust:" + std::to_string(a.id) + ":" + std::to_string(peer))}};
  }
  json check(uint32_t a, uint32_t b) { return {{"type", "check_trust"}, {"node_id", a}, {"peer_id", b}}; }
  bool trusted(uint32_t a, uint32_t b) {
    json r = call(check(a, b));
    EXPECT_EQ(r.value("type", ""), "check_trust_ok") << r.dump();
    return r.value("trusted", false);
  }
  json handshake(const TestNode& from, uint32_t to, const std::string& why = "hello") {
    return {{"type", "request_handshake"},
            {"from_node_id", from.id},
            {"to_node_id", to},
            {"justification", why},
            {"signature", from.sign("handshake:" + std::to_string(from.id) + ":" + std::to_string(to))}};
  }
  json poll(const TestNode& n) {
    return {{"type", "poll_handshakes"},
            {"node_id", n.id},
            {"signature", n.sign("poll_handshakes:" + std::to_string(n.id))}};
  }
  json respond(const TestNode& n, uint32_t peer, bool accept) {
    return {{"type", "respond_handshake"},
            {"node_id", n.id},
            {"peer_id", peer},
            {"accept", accept},
            {"signature", n.sign("respond:" + std::to_string(n.id) + ":" + std::to_string(peer))}};
  }
  // A legacy node without a key.
  uint32_t add_keyless_node() {
    const auto id = static_cast<uint32_t>(state_.directory.next_node());
    reg_.emit(NodeRegistered{id, PublicKey{}, "", "198.51.100.8:4000", {}, "", false});
    return id;
  }
  void join_network(uint32_t node, uint16_t net) { reg_.emit(MemberJoined{net, node, Role::kMember}); }
};

// ---- op table ----------------------------------------------------------------------

TEST_F(TrustOps, OpTableHasStandbyAndBreakerColumnsOfTheSpec) {
  const OpTable ops = all_ops();
  struct Row {
    const char* name;
    bool standby;
    const char* breaker;
  };
  for (const Row& row :
       {Row{"report_trust", false, "registry.trust"}, Row{"revoke_trust", false, "registry.trust"},
        Row{"check_trust", true, "registry.trust"}, Row{"request_handshake", false, "registry.handshake"},
        Row{"poll_handshakes", true, "registry.handshake"}, Row{"respond_handshake", false, "registry.handshake"}}) {
    const OpSpec* op = ops.find(row.name);
    ASSERT_NE(op, nullptr) << row.name;
    EXPECT_EQ(op->standby_ok, row.standby) << row.name;
    EXPECT_EQ(op->breaker, row.breaker) << row.name;
  }
}

// ---- report_trust / revoke_trust / check_trust (items 72–75) --------------------------

TEST_F(TrustOps, ReportTrustWithBadOrMissingSignatureIsRejected) {
  auto a = add_node();
  auto b = add_node();
  auto mallory = add_node();
  json req = report(a, b.id);
  req["signature"] = mallory.sign("report_trust:" + std::to_string(a.id) + ":" + std::to_string(b.id));
  expect_rejected(req, "signature verification failed", "signature verification failed");
  req.erase("signature");
  expect_rejected(req, "signature required for authenticated node", "signature required for authenticated node");
  req["signature"] = "not base64!";
  expect_rejected(req, "invalid signature encoding", "invalid signature encoding");
  EXPECT_FALSE(trusted(a.id, b.id));
}

TEST_F(TrustOps, ReportTrustCreatesSymmetricPairByEvent) {
  auto a = add_node();
  auto b = add_node();
  const uint64_t seq = state_.last_seq;
  json r = call(report(a, b.id));
  EXPECT_EQ(r, json({{"type", "report_trust_ok"}}));
  EXPECT_EQ(state_.last_seq, seq + 1);  // one TrustAdded
  EXPECT_TRUE(state_.trust.trusted(a.id, b.id));
  EXPECT_TRUE(trusted(a.id, b.id));
  EXPECT_TRUE(trusted(b.id, a.id));
  EXPECT_EQ(reg_.counters().trust_reports, 1u);
}

TEST_F(TrustOps, ReportTrustIsIdempotentWithoutASecondEvent) {
  auto a = add_node();
  auto b = add_node();
  ASSERT_EQ(call(report(a, b.id)).value("type", ""), "report_trust_ok");
  const uint64_t seq = state_.last_seq;
  EXPECT_EQ(call(report(a, b.id)).value("type", ""), "report_trust_ok");
  // The reverse direction names the same pair.
  EXPECT_EQ(call(report(b, a.id)).value("type", ""), "report_trust_ok");
  EXPECT_EQ(state_.last_seq, seq);
  EXPECT_EQ(state_.trust.pair_count(), 1u);
}

TEST_F(TrustOps, ReportTrustNeedsBothNodes) {
  auto a = add_node();
  expect_rejected(report(a, 999), "node 999: node not found", "node 999: node not found");
  json req = report(a, a.id);
  req["node_id"] = 998;
  expect_rejected(req, "node 998: node not found", "node 998: node not found");
}

TEST_F(TrustOps, SignatureForOneOpIsRejectedOnAnother) {
  auto a = add_node();
  auto b = add_node();
  const std::string report_sig = a.sign("report_trust:" + std::to_string(a.id) + ":" + std::to_string(b.id));
  ASSERT_EQ(call(report(a, b.id)).value("type", ""), "report_trust_ok");
  // report_trust's signature presented to revoke_trust.
  expect_rejected({{"type", "revoke_trust"}, {"node_id", a.id}, {"peer_id", b.id}, {"signature", report_sig}},
                  "signature verification failed", "signature verification failed");
  // A heartbeat signature presented to poll_handshakes.
  expect_rejected(
      {{"type", "poll_handshakes"}, {"node_id", a.id}, {"signature", a.sign("heartbeat:" + std::to_string(a.id))}},
      "signature verification failed", "signature verification failed");
  // request_handshake's signature presented to respond_handshake (same node pair).
  ASSERT_EQ(call(handshake(b, a.id)).value("type", ""), "request_handshake_ok");
  json resp = respond(a, b.id, true);
  resp["signature"] = a.sign("handshake:" + std::to_string(a.id) + ":" + std::to_string(b.id));
  expect_rejected(resp, "handshake response signature verification failed",
                  "handshake response signature verification failed");
  // The same op with the node order swapped is another challenge.
  json swapped = report(a, b.id);
  swapped["node_id"] = b.id;
  swapped["peer_id"] = a.id;
  expect_rejected(swapped, "signature verification failed", "signature verification failed");
}

TEST_F(TrustOps, RevokeTrustOfMissingPair) {
  auto a = add_node();
  auto b = add_node();
  json req = {{"type", "revoke_trust"},
              {"node_id", a.id},
              {"peer_id", b.id},
              {"signature", a.sign("revoke_trust:" + std::to_string(a.id) + ":" + std::to_string(b.id))}};
  const std::string text = "no trust pair between " + std::to_string(a.id) + " and " + std::to_string(b.id);
  expect_rejected(req, text, "request failed");
}

TEST_F(TrustOps, RevokeTrustRemovesPairByEvent) {
  auto a = add_node();
  auto b = add_node();
  ASSERT_EQ(call(report(a, b.id)).value("type", ""), "report_trust_ok");
  // Either side may revoke; b revokes the pair a reported.
  json req = {{"type", "revoke_trust"},
              {"node_id", b.id},
              {"peer_id", a.id},
              {"signature", b.sign("revoke_trust:" + std::to_string(b.id) + ":" + std::to_string(a.id))}};
  const uint64_t seq = state_.last_seq;
  EXPECT_EQ(call(req), json({{"type", "revoke_trust_ok"}}));
  EXPECT_EQ(state_.last_seq, seq + 1);
  EXPECT_FALSE(trusted(a.id, b.id));
  EXPECT_FALSE(trusted(b.id, a.id));
}

TEST_F(TrustOps, TrustPairSurvivesDeregistration) {
  auto a = add_node();
  auto b = add_node();
  ASSERT_EQ(call(report(a, b.id)).value("type", ""), "report_trust_ok");
  reg_.emit(NodeDeregistered{b.id});
  EXPECT_TRUE(state_.trust.trusted(a.id, b.id));
  EXPECT_TRUE(trusted(a.id, b.id));
}

TEST_F(TrustOps, CheckTrustIsOpenAndFalseWithoutRelationship) {
  auto a = add_node();
  auto b = add_node();
  const State before = state_;
  EXPECT_EQ(call(check(a.id, b.id)), json({{"type", "check_trust_ok"}, {"trusted", false}}));
  EXPECT_TRUE(state_ == before);  // a read
}

TEST_F(TrustOps, CheckTrustTrueForSharedCustomNetworkOnly) {
  auto a = add_node();
  auto b = add_node();
  auto c = add_node();
  // Backbone alone (every live node) is no relationship.
  EXPECT_FALSE(trusted(a.id, b.id));
  const uint16_t net = create_network("lab");
  join_network(a.id, net);
  join_network(b.id, net);
  EXPECT_TRUE(trusted(a.id, b.id));
  EXPECT_TRUE(trusted(b.id, a.id));
  EXPECT_FALSE(trusted(a.id, c.id));
  EXPECT_EQ(state_.trust.pair_count(), 0u);
  // An expired node keeps its memberships but is not there to share them.
  reg_.emit(NodeExpired{b.id});
  EXPECT_FALSE(trusted(a.id, b.id));
}

TEST_F(TrustOps, StrictCheckTrustRequiresParticipantWithSignature) {
  options().strict_directory_auth = true;
  auto a = add_node();
  auto b = add_node();
  auto c = add_node();
  ASSERT_EQ(call(report(a, b.id)).value("type", ""), "report_trust_ok");
  const std::string sig = a.sign("check_trust:" + std::to_string(a.id) + ":" + std::to_string(b.id));

  // No requester at all (the default-mode request).
  expect_rejected(check(a.id, b.id), "check_trust denied: requester must be participant", "request failed");
  // A third node, even with its own valid signature.
  json req = check(a.id, b.id);
  req["requester_id"] = c.id;
  req["signature"] = c.sign("check_trust:" + std::to_string(a.id) + ":" + std::to_string(b.id));
  expect_rejected(req, "check_trust denied: requester must be participant", "request failed");
  // The participant, with a missing, bad, or other-order signature.
  req = check(a.id, b.id);
  req["requester_id"] = a.id;
  expect_rejected(req, "signature required for authenticated node", "signature required for authenticated node");
  req["signature"] = b.sign("check_trust:" + std::to_string(a.id) + ":" + std::to_string(b.id));
  expect_rejected(req, "signature verification failed", "signature verification failed");
  req["signature"] = a.sign("check_trust:" + std::to_string(b.id) + ":" + std::to_string(a.id));
  expect_rejected(req, "signature verification failed", "signature verification failed");
  // A participant that does not exist.
  json ghost = check(a.id, 777);
  ghost["requester_id"] = 777;
  expect_rejected(ghost, "node 777: node not found", "node 777: node not found");
  // Valid: either participant.
  req["signature"] = sig;
  EXPECT_EQ(call(req), json({{"type", "check_trust_ok"}, {"trusted", true}}));
  json by_b = check(a.id, b.id);
  by_b["requester_id"] = b.id;
  by_b["signature"] = b.sign("check_trust:" + std::to_string(a.id) + ":" + std::to_string(b.id));
  EXPECT_EQ(call(by_b), json({{"type", "check_trust_ok"}, {"trusted", true}}));
}

// ---- handshake relay (items 76–79) ----------------------------------------------------

TEST_F(TrustOps, RequestHandshakeSignatureRules) {
  auto a = add_node();
  auto b = add_node();
  json req = handshake(a, b.id);
  req.erase("signature");
  expect_rejected(req, "handshake request requires signature", "handshake request requires signature");
  req["signature"] = b.sign("handshake:" + std::to_string(a.id) + ":" + std::to_string(b.id));
  expect_rejected(req, "handshake request signature verification failed",
                  "handshake request signature verification failed");
  // Signed for another target.
  req["signature"] = a.sign("handshake:" + std::to_string(a.id) + ":" + std::to_string(a.id));
  expect_rejected(req, "handshake request signature verification failed",
                  "handshake request signature verification failed");
}

TEST_F(TrustOps, RequestHandshakeJustificationLimit) {
  auto a = add_node();
  auto b = add_node();
  expect_rejected(handshake(a, b.id, std::string(1025, 'j')), "justification too large: 1025 bytes (max 1024)",
                  "request failed");
  // Bytes, not characters: 513 two-byte characters are 1026 bytes.
  std::string wide;
  for (int i = 0; i < 513; ++i) wide += "\xc3\xa9";
  expect_rejected(handshake(a, b.id, wide), "justification too large: 1026 bytes (max 1024)", "request failed");
  EXPECT_EQ(call(handshake(a, b.id, std::string(1024, 'j'))).value("type", ""), "request_handshake_ok");
}

TEST_F(TrustOps, RequestHandshakeNeedsBothNodes) {
  auto a = add_node();
  expect_rejected(handshake(a, 4242), "node 4242: node not found", "node 4242: node not found");
  json req = handshake(a, a.id);
  req["from_node_id"] = 4243;
  expect_rejected(req, "node 4243: node not found", "node 4243: node not found");
}

TEST_F(TrustOps, RequestHandshakeIsDeliveredByEvent) {
  auto a = add_node();
  auto b = add_node();
  const uint64_t seq = state_.last_seq;
  EXPECT_EQ(call(handshake(a, b.id, "let me in")), json({{"type", "request_handshake_ok"}, {"status", "delivered"}}));
  EXPECT_EQ(state_.last_seq, seq + 1);
  ASSERT_EQ(state_.trust.requests_for(b.id).size(), 1u);
  EXPECT_EQ(state_.trust.requests_for(b.id)[0].justification, "let me in");
  EXPECT_TRUE(state_.trust.pending(a.id, b.id));
  EXPECT_FALSE(state_.trust.trusted(a.id, b.id));  // a request alone trusts nothing
}

TEST_F(TrustOps, DuplicatePendingRequestIsRejectedUntilPolled) {
  auto a = add_node();
  auto b = add_node();
  ASSERT_EQ(call(handshake(a, b.id)).value("type", ""), "request_handshake_ok");
  const std::string text = "handshake request already pending from node " + std::to_string(a.id);
  expect_rejected(handshake(a, b.id), text, text);
  // Once the target has taken it from its inbox the sender may ask again.
  ASSERT_EQ(call(poll(b)).value("type", ""), "poll_handshakes_ok");
  EXPECT_EQ(call(handshake(a, b.id)).value("type", ""), "request_handshake_ok");
}

TEST_F(TrustOps, InboxHoldsAHundredRequests) {
  auto target = add_node();
  for (int i = 0; i < 100; ++i) {
    auto sender = add_node();
    ASSERT_EQ(call(handshake(sender, target.id)).value("type", ""), "request_handshake_ok") << i;
  }
  auto late = add_node();
  expect_rejected(handshake(late, target.id), "handshake inbox full for node " + std::to_string(target.id),
                  "request failed");
  EXPECT_EQ(state_.trust.requests_for(target.id).size(), 100u);
  // Other inboxes are unaffected.
  EXPECT_EQ(call(handshake(late, add_node().id)).value("type", ""), "request_handshake_ok");
}

TEST_F(TrustOps, PollDrainsRequestsAndResponsesWithEventTimes) {
  auto a = add_node();
  auto b = add_node();
  auto c = add_node();
  const int64_t t1 = now_ / 1000000000;
  ASSERT_EQ(call(handshake(a, b.id, "first")).value("type", ""), "request_handshake_ok");
  now_ += int64_t{7} * 1000000000;
  ASSERT_EQ(call(handshake(c, b.id, "second")).value("type", ""), "request_handshake_ok");
  now_ += int64_t{3} * 1000000000;
  ASSERT_EQ(call(respond(a, b.id, false)).value("type", ""), "respond_handshake_ok");  // a declines b
  now_ += int64_t{50} * 1000000000;  // the poll's own time must not show up

  const uint64_t seq = state_.last_seq;
  json r = call(poll(b));
  EXPECT_EQ(state_.last_seq, seq + 1);  // one HandshakeInboxDrained
  EXPECT_EQ(
      r,
      json({{"type", "poll_handshakes_ok"},
            {"requests", json::array({{{"from_node_id", a.id}, {"justification", "first"}, {"timestamp", t1}},
                                      {{"from_node_id", c.id}, {"justification", "second"}, {"timestamp", t1 + 7}}})},
            {"responses", json::array({{{"from_node_id", a.id}, {"accept", false}, {"timestamp", t1 + 10}}})}}))
      << r.dump();

  // Drained: a second poll is empty and records nothing.
  const uint64_t seq2 = state_.last_seq;
  EXPECT_EQ(call(poll(b)),
            json({{"type", "poll_handshakes_ok"}, {"requests", json::array()}, {"responses", json::array()}}));
  EXPECT_EQ(state_.last_seq, seq2);
  // Wire form: empty arrays, never null.
  const std::string raw = call_raw(poll(b));
  EXPECT_NE(raw.find("\"requests\":[]"), std::string::npos) << raw;
  EXPECT_NE(raw.find("\"responses\":[]"), std::string::npos) << raw;
}

TEST_F(TrustOps, PollHandshakesAuth) {
  auto a = add_node();
  auto b = add_node();
  ASSERT_EQ(call(handshake(a, b.id)).value("type", ""), "request_handshake_ok");
  json req = poll(b);
  req.erase("signature");
  expect_rejected(req, "signature required for authenticated node", "signature required for authenticated node");
  req["signature"] = a.sign("poll_handshakes:" + std::to_string(b.id));  // a reading b's inbox
  expect_rejected(req, "signature verification failed", "signature verification failed");
  expect_rejected({{"type", "poll_handshakes"}, {"node_id", 555}}, "node 555: node not found",
                  "node 555: node not found");
  EXPECT_EQ(state_.trust.requests_for(b.id).size(), 1u);
}

TEST_F(TrustOps, RespondAcceptWithoutRequestIsRejected) {
  auto a = add_node();
  auto b = add_node();
  const std::string text = "no pending handshake request from node " + std::to_string(a.id);
  expect_rejected(respond(b, a.id, true), text, "request failed");
  // A request in the other direction does not count.
  ASSERT_EQ(call(handshake(b, a.id)).value("type", ""), "request_handshake_ok");
  expect_rejected(respond(b, a.id, true), text, "request failed");
  EXPECT_FALSE(state_.trust.trusted(a.id, b.id));
}

TEST_F(TrustOps, RespondAcceptAfterPollCreatesTrustAndQueuesResponse) {
  auto a = add_node();
  auto b = add_node();
  ASSERT_EQ(call(handshake(a, b.id)).value("type", ""), "request_handshake_ok");
  ASSERT_EQ(call(poll(b))["requests"].size(), 1u);  // the inbox is drained…
  now_ += int64_t{5} * 1000000000;
  const uint64_t seq = state_.last_seq;
  // …but the pending marker still lets b accept.
  EXPECT_EQ(call(respond(b, a.id, true)),
            json({{"type", "respond_handshake_ok"}, {"accept", true}, {"peer_id", a.id}}));
  EXPECT_EQ(state_.last_seq, seq + 1);  // one HandshakeResponded carries the pair too
  EXPECT_TRUE(state_.trust.trusted(a.id, b.id));
  EXPECT_TRUE(trusted(b.id, a.id));
  EXPECT_FALSE(state_.trust.pending(a.id, b.id));

  json r = call(poll(a));
  EXPECT_EQ(r["requests"], json::array());
  EXPECT_EQ(r["responses"],
            json::array({{{"from_node_id", b.id}, {"accept", true}, {"timestamp", now_ / 1000000000}}}));
  // The marker was consumed: a second accept has nothing to answer.
  expect_rejected(respond(b, a.id, true), "no pending handshake request from node " + std::to_string(a.id),
                  "request failed");
}

TEST_F(TrustOps, RespondDeclineQueuesResponseWithoutTrust) {
  auto a = add_node();
  auto b = add_node();
  ASSERT_EQ(call(handshake(a, b.id)).value("type", ""), "request_handshake_ok");
  EXPECT_EQ(call(respond(b, a.id, false)),
            json({{"type", "respond_handshake_ok"}, {"accept", false}, {"peer_id", a.id}}));
  EXPECT_FALSE(state_.trust.trusted(a.id, b.id));
  json r = call(poll(a));
  ASSERT_EQ(r["responses"].size(), 1u);
  EXPECT_EQ(r["responses"][0]["from_node_id"], b.id);
  EXPECT_EQ(r["responses"][0]["accept"], false);
}

TEST_F(TrustOps, RespondHandshakeSignatureRules) {
  auto a = add_node();
  auto b = add_node();
  ASSERT_EQ(call(handshake(a, b.id)).value("type", ""), "request_handshake_ok");
  json req = respond(b, a.id, true);
  req.erase("signature");
  expect_rejected(req, "handshake response requires signature", "handshake response requires signature");
  req["signature"] = a.sign("respond:" + std::to_string(b.id) + ":" + std::to_string(a.id));  // wrong signer
  expect_rejected(req, "handshake response signature verification failed",
                  "handshake response signature verification failed");
  expect_rejected(respond(b, 31337, true), "node 31337: node not found", "node 31337: node not found");
}

TEST_F(TrustOps, KeylessSenderNeedsNoHandshakeSignatureButPollNeedsAdmin) {
  options().admin_token = "secret";
  auto b = add_node();
  const uint32_t legacy = add_keyless_node();
  // Spec §6.15: the handshake signature is mandatory only when the sender has a key.
  EXPECT_EQ(call({{"type", "request_handshake"}, {"from_node_id", legacy}, {"to_node_id", b.id}}).value("type", ""),
            "request_handshake_ok");
  // Polling a key-less node's inbox takes the admin token (spec §4.2).
  json p = {{"type", "poll_handshakes"}, {"node_id", legacy}};
  EXPECT_EQ(call(p).value("type", ""), "error");
  p["admin_token"] = "secret";
  EXPECT_EQ(call(p).value("type", ""), "poll_handshakes_ok");
}

// ---- restart (item 80) ----------------------------------------------------------------

// The handlers' changes are log records: replaying the log into a fresh state gives
// back the inboxes, the responses and the pairs.
TEST(TrustOpsRestart, InboxesAndPairsSurviveReplay) {
  crypto_init();
  testsupport::TempDir dir;
  int64_t now = int64_t{1767225600} * 1000000000;
  struct N {
    uint32_t id;
    KeyPair key;
    std::string sign(const std::string& s) const { return encode_signature(key.sign(s)); }
  };
  std::vector<N> nodes;
  {
    log::RecoveryResult rec;
    std::string err;
    constexpr uint64_t kSegment = 1 << 20;
    ASSERT_TRUE(log::recover(dir.path(), kSegment, rec, err)) << err;
    log::WriterOptions wo;
    wo.log_dir = dir.path();
    wo.segment_bytes = kSegment;
    wo.fsync.mode = log::FsyncPolicy::Mode::kNone;
    auto writer = log::Writer::open(wo, rec, err);
    ASSERT_TRUE(writer) << err;
    State st;
    Registry reg(st, writer.get(), RegistryOptions{}, [&] { return now; });
    Dispatcher disp(reg);
    auto call = [&](const json& j) {
      return json::parse(disp.handle_json(j.dump(), Peer{"192.0.2.1", 1, false}).value());
    };
    for (int i = 0; i < 3; ++i) {
      N n{static_cast<uint32_t>(st.directory.next_node()), KeyPair::generate()};
      reg.emit(NodeRegistered{n.id, n.key.public_key, "", "198.51.100.7:4000", {}, "", false});
      nodes.push_back(n);
    }
    const N& a = nodes[0];
    const N& b = nodes[1];
    const N& c = nodes[2];
    auto hs = [&](const N& f, const N& t) {
      return json{{"type", "request_handshake"},
                  {"from_node_id", f.id},
                  {"to_node_id", t.id},
                  {"justification", "why"},
                  {"signature", f.sign("handshake:" + std::to_string(f.id) + ":" + std::to_string(t.id))}};
    };
    ASSERT_EQ(call(hs(a, b))["type"], "request_handshake_ok");
    ASSERT_EQ(call(hs(c, b))["type"], "request_handshake_ok");
    now += int64_t{2} * 1000000000;
    ASSERT_EQ(call({{"type", "respond_handshake"},
                    {"node_id", b.id},
                    {"peer_id", a.id},
                    {"accept", true},
                    {"signature", b.sign("respond:" + std::to_string(b.id) + ":" + std::to_string(a.id))}})["type"],
              "respond_handshake_ok");
    writer->close();
  }
  // Restart: fold the log into a new state.
  State st2;
  log::Scanner scan(dir.path());
  log::Record r;
  while (scan.next(r) == log::Scanner::Status::kRecord) {
    auto ev = decode_payload(static_cast<EventKind>(r.kind), r.payload);
    ASSERT_TRUE(ev.has_value());
    st2.apply(r.meta(), *ev);
  }
  Registry reg2(st2, nullptr, RegistryOptions{}, [&] { return now; });
  Dispatcher disp2(reg2);
  auto call2 = [&](const json& j) {
    return json::parse(disp2.handle_json(j.dump(), Peer{"192.0.2.1", 1, false}).value());
  };
  const N& a = nodes[0];
  const N& b = nodes[1];
  const N& c = nodes[2];
  EXPECT_EQ(call2({{"type", "check_trust"}, {"node_id", a.id}, {"peer_id", b.id}})["trusted"], true);
  const int64_t t0 = int64_t{1767225600};
  json pb = call2({{"type", "poll_handshakes"},
                   {"node_id", b.id},
                   {"signature", b.sign("poll_handshakes:" + std::to_string(b.id))}});
  EXPECT_EQ(pb["requests"], json::array({{{"from_node_id", a.id}, {"justification", "why"}, {"timestamp", t0}},
                                         {{"from_node_id", c.id}, {"justification", "why"}, {"timestamp", t0}}}));
  json pa = call2({{"type", "poll_handshakes"},
                   {"node_id", a.id},
                   {"signature", a.sign("poll_handshakes:" + std::to_string(a.id))}});
  EXPECT_EQ(pa["responses"], json::array({{{"from_node_id", b.id}, {"accept", true}, {"timestamp", t0 + 2}}}));
  // c's request is still pending after the restart, so b can still accept it.
  EXPECT_EQ(call2({{"type", "respond_handshake"},
                   {"node_id", b.id},
                   {"peer_id", c.id},
                   {"accept", true},
                   {"signature", b.sign("respond:" + std::to_string(b.id) + ":" + std::to_string(c.id))}})["type"],
            "respond_handshake_ok");
}

}  // namespace
}  // namespace pilot::rpc::testing
