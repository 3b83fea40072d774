// Trust pairs and the handshake relay (spec §6.14, §6.15).
//
// Every change is an event: TrustAdded / TrustRevoked for pairs, HandshakeRequested,
// HandshakeResponded (which also adds the pair on accept) and HandshakeInboxDrained for
// the relay. The projection keeps the inboxes, so a poll after a restart sees exactly
// what was queued before it.
#include <string>

#include "net/rpc/auth.h"
#include "net/rpc/fields.h"
#include "net/rpc/ops.h"

namespace pilot::rpc {

namespace {

constexpr size_t kMaxJustification = 1024;  // bytes
constexpr size_t kMaxInbox = 100;           // queued requests per target

std::string challenge(const char* op, uint32_t a, uint32_t b) {
  return std::string(op) + ":" + std::to_string(a) + ":" + std::to_string(b);
}

bool has_key(const Node& n) {
  for (uint8_t b : n.public_key)
    if (b) return true;
  return false;
}

// The handshake request/response check: the signature is mandatory only when the node
// has a key; a legacy key-less node is not asked for anything (spec §6.15, as the
// reference does).
void verify_handshake_signature(Registry& reg, const Node& node, const nlohmann::json& req, std::string_view text,
                                const char* missing, const char* failed) {
  if (!has_key(node)) return;
  verify_signature_worded(reg, node, req, text, missing, failed);
}

int64_t unix_seconds(int64_t ns) { return ns / 1000000000; }

nlohmann::json report_trust(Registry& reg, const Request& r) {
  const uint32_t a = u32_field(r.body, "node_id");
  const uint32_t b = u32_field(r.body, "peer_id");
  const Node& na = node_or_not_found(reg, a);
  node_or_not_found(reg, b);
  verify_node_signature(reg, na, r.body, challenge("report_trust", a, b));
  // Idempotent: an existing pair is a success without a new record.
  if (!reg.state().trust.trusted(a, b)) reg.emit(TrustAdded{a, b});
  ++reg.counters().trust_reports;
  return {{"type", "report_trust_ok"}};
}

nlohmann::json revoke_trust(Registry& reg, const Request& r) {
  const uint32_t a = u32_field(r.body, "node_id");
  const uint32_t b = u32_field(r.body, "peer_id");
  // Only the signer must exist: a pair with a node that is gone can still be revoked.
  const Node& na = node_or_not_found(reg, a);
  verify_node_signature(reg, na, r.body, challenge("revoke_trust", a, b));
  if (!reg.state().trust.trusted(a, b))
    throw OpError("no trust pair between " + std::to_string(a) + " and " + std::to_string(b));
  reg.emit(TrustRevoked{a, b});
  ++reg.counters().trust_revocations;
  return {{"type", "revoke_trust_ok"}};
}

nlohmann::json check_trust(Registry& reg, const Request& r) {
  const uint32_t a = u32_field(r.body, "node_id");
  const uint32_t b = u32_field(r.body, "peer_id");
  if (reg.options().strict_directory_auth) {
    // Only a participant may learn whether the pair is trusted (spec §4.5, §6.14).
    const uint32_t requester = u32_field(r.body, "requester_id");
    if (requester != a && requester != b) throw OpError("check_trust denied: requester must be participant");
    const Node& rn = node_or_not_found(reg, requester);
    verify_node_signature(reg, rn, r.body, challenge("check_trust", a, b));
  }
  const State& st = reg.state();
  bool trusted = st.trust.trusted(a, b);
  // A shared custom network counts only while both nodes are live (memberships of an
  // expired node are kept for its return, but it is not there now).
  if (!trusted && st.directory.is_live(a) && st.directory.is_live(b)) trusted = st.networks.share_custom_network(a, b);
  return {{"type", "check_trust_ok"}, {"trusted", trusted}};
}

nlohmann::json request_handshake(Registry& reg, const Request& r) {
  const uint32_t from = u32_field(r.body, "from_node_id");
  const uint32_t to = u32_field(r.body, "to_node_id");
  std::string justification = str_field(r.body, "justification");
  // Checked first, before any lookup: the size bound protects the relay's memory.
  if (justification.size() > kMaxJustification)
    throw OpError("justification too large: " + std::to_string(justification.size()) + " bytes (max " +
                  std::to_string(kMaxJustification) + ")");
  const Node& nf = node_or_not_found(reg, from);
  node_or_not_found(reg, to);
  verify_handshake_signature(reg, nf, r.body, challenge("handshake", from, to), "handshake request requires signature",
                             "handshake request signature verification failed");
  const auto& inbox = reg.state().trust.requests_for(to);
  if (inbox.size() >= kMaxInbox) throw OpError("handshake inbox full for node " + std::to_string(to));
  // "Pending" here means still queued in the target's inbox (as the reference): once
  // the target has polled, the sender may ask again; the pending marker that lets
  // respond_handshake accept survives either way.
  for (const auto& q : inbox)
    if (q.from_node_id == from) throw OpError("handshake request already pending from node " + std::to_string(from));
  reg.emit(HandshakeRequested{from, to, std::move(justification)});
  ++reg.counters().handshake_requests;
  return {{"type", "request_handshake_ok"}, {"status", "delivered"}};
}

nlohmann::json poll_handshakes(Registry& reg, const Request& r) {
  const uint32_t id = u32_field(r.body, "node_id");
  const Node& n = node_or_not_found(reg, id);
  verify_node_signature(reg, n, r.body, "poll_handshakes:" + std::to_string(id));
  const Trust& trust = reg.state().trust;
  nlohmann::json requests = nlohmann::json::array();
  for (const auto& q : trust.requests_for(id))
    requests.push_back(
        {{"from_node_id", q.from_node_id}, {"justification", q.justification}, {"timestamp", unix_seconds(q.time_ns)}});
  nlohmann::json responses = nlohmann::json::array();
  for (const auto& p : trust.responses_for(id))
    responses.push_back(
        {{"from_node_id", p.from_node_id}, {"accept", p.accept}, {"timestamp", unix_seconds(p.time_ns)}});
  // Draining is a state change (a second poll, also after a restart, sees nothing);
  // an empty inbox needs no record.
  if (!requests.empty() || !responses.empty()) reg.emit(HandshakeInboxDrained{id});
  return {{"type", "poll_handshakes_ok"}, {"requests", std::move(requests)}, {"responses", std::move(responses)}};
}

nlohmann::json respond_handshake(Registry& reg, const Request& r) {
  const uint32_t id = u32_field(r.body, "node_id");    // the responder
  const uint32_t peer = u32_field(r.body, "peer_id");  // the original requester
  const bool accept = bool_field(r.body, "accept");
  const Node& n = node_or_not_found(reg, id);
  node_or_not_found(reg, peer);
  verify_handshake_signature(reg, n, r.body, challenge("respond", id, peer), "handshake response requires signature",
                             "handshake response signature verification failed");
  // Trust is created only in answer to a real request; a decline needs none.
  if (accept && !reg.state().trust.pending(peer, id))
    throw OpError("no pending handshake request from node " + std::to_string(peer));
  reg.emit(HandshakeResponded{id, peer, accept});
  return {{"type", "respond_handshake_ok"}, {"accept", accept}, {"peer_id", peer}};
}

}  // namespace

void add_trust_ops(OpTable& t) {
  t.add({"report_trust", report_trust, false, "registry.trust"});
  t.add({"revoke_trust", revoke_trust, false, "registry.trust"});
  t.add({"check_trust", check_trust, true, "registry.trust"});
  t.add({"request_handshake", request_handshake, false, "registry.handshake"});
  t.add({"poll_handshakes", poll_handshakes, true, "registry.handshake"});
  t.add({"respond_handshake", respond_handshake, false, "registry.handshake"});
}

}  // namespace pilot::rpc
