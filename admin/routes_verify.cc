// External request verification (spec §10.3): a service that received a request
// "signed by Pilot node X" asks whether the signature is genuine, and gets a verdict
// signed with the registry's verdict key, which it can check offline against
// /api/v1/verify/keys.
//
// Every answer is HTTP 200 with the same shape; a failure is valid:false with no
// reason (no oracle for probing which part was wrong).
#include <chrono>

#include "admin/routes.h"
#include "admin/verdict_key.h"
#include "core/base64.h"
#include "core/logging.h"
#include "core/request_envelope.h"
#include "net/rpc/breakers.h"
#include "net/rpc/service.h"
#include "projections/state.h"

namespace pilot::admin {

namespace {

using nlohmann::json;

constexpr int64_t kMaxSkewS = 300;  // envelope freshness
constexpr int64_t kOnlineS = 180;   // "online": heard from within this
constexpr size_t kMaxBody = 8192;

int64_t now_unix_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// What the registry knows about the envelope's node (read on the loop thread).
struct NodeFacts {
  bool exists = false;
  PublicKey key{};
  int64_t last_seen_unix = 0;
  int64_t key_generation = 0;
  bool member = false;
};

bool gate(AdminServer::Routes& r, WindowLimiter& limit, const httplib::Request& req, httplib::Response& res) {
  res.set_header("Access-Control-Allow-Origin", "*");
  if (!limit.allow(client_ip(req), now_unix_s())) {
    reply_error(res, 429, "Too Many Requests");
    return false;
  }
  if (r.ctx.breakers) {
    if (auto denied = r.ctx.breakers->deny("dashboard.verify")) {
      reply_json(res, {{"status", "unavailable"}, {"reason", *denied}}, 503);
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<KeyPair> AdminServer::Routes::verdict_key() {
  std::lock_guard lk(verdict_mu);
  if (!verdict_key_) {
    std::string error;
    verdict_key_ = load_or_create_verdict_key(ctx.data_dir, error);
    if (!verdict_key_) LOG_ERROR("verify: %s", error.c_str());
  }
  return verdict_key_;
}

void register_verify_routes(httplib::Server& http, AdminServer::Routes& r) {
  r.on(http, "POST", "/api/v1/verify", [&r](const httplib::Request& req, httplib::Response& res) {
    if (!gate(r, r.verify_limit, req, res)) return;
    if (req.body.size() > kMaxBody) return reply_error(res, 413, "request body too large");
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("envelope") || !body["envelope"].is_string() ||
        !body.contains("signature") || !body["signature"].is_string() || body["envelope"].get<std::string>().empty())
      return reply_error(res, 400, "body must be {\"envelope\": \"...\", \"signature\": \"...\"}");
    const std::string envelope_text = body["envelope"].get<std::string>();
    const std::string signature_text = body["signature"].get<std::string>();
    auto key = r.verdict_key();
    if (!key) return reply_error(res, 500, "verdict key unavailable");

    const int64_t now = now_unix_s();
    Verdict v;
    v.envelope_hash = sha256_hex(envelope_text);
    v.verified_at = now;
    std::string nonce;
    if (auto env = RequestEnvelope::parse(envelope_text)) {
      v.network = env->network;
      v.node = env->node;
      nonce = env->nonce;
      const int64_t skew = now > env->timestamp ? now - env->timestamp : env->timestamp - now;
      auto facts = r.ctx.bridge->call_durable([&r, net = env->network, node = env->node] {
        NodeFacts f;
        const Node* n = r.ctx.state->directory.nodes().find(node);
        if (!n) return f;
        f.exists = true;
        f.key = n->public_key;
        f.key_generation = n->key_rot_count;
        const int64_t seen = r.ctx.registry->registry().liveness().last_seen_ns(node);
        f.last_seen_unix = (seen ? seen : n->last_registered_ns) / 1000000000;
        f.member = net == 0 || r.ctx.state->networks.is_member(net, node);
        return f;
      });
      if (!facts) return reply_unavailable(res);
      auto sig = decode_signature(signature_text);
      if (skew <= kMaxSkewS && facts->exists && sig && ed25519_verify(facts->key, envelope_text, *sig)) {
        v.valid = true;
        v.online = now - facts->last_seen_unix <= kOnlineS;
        v.network_member = facts->member;
        v.last_seen_unix = facts->last_seen_unix;
        v.key_generation = facts->key_generation;
      }
    }
    const std::string canonical = v.canonical();
    const Signature verdict_sig = key->sign(canonical);
    reply_json(res, {{"valid", v.valid},
                     {"online", v.online},
                     {"network_member", v.network_member},
                     {"last_seen_unix", v.last_seen_unix},
                     {"key_generation", v.key_generation},
                     {"nonce", nonce},
                     {"verified_at", v.verified_at},
                     {"verdict", canonical},
                     {"verdict_sig", encode_signature(verdict_sig)},
                     {"kid", kVerdictKid}});
  });

  r.on(http, "GET", "/api/v1/verify/keys", [&r](const httplib::Request& req, httplib::Response& res) {
    if (!gate(r, r.verify_keys_limit, req, res)) return;
    auto key = r.verdict_key();
    if (!key) return reply_error(res, 500, "verdict key unavailable");
    reply_json(res, {{"keys", json::array({{{"kid", kVerdictKid},
                                            {"algo", "ed25519"},
                                            {"public_key", encode_public_key(key->public_key)}}})}});
  });
}

}  // namespace pilot::admin
