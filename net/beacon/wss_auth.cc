#include "net/beacon/wss_auth.h"

#include <sodium.h>

#include <nlohmann/json.hpp>

#include "core/ed25519.h"

namespace pilot::beacon {

std::string AuthChallenge::text() const {
  // The reference's field order (hex needs no escaping).
  return R"({"type":"auth_challenge","nonce":")" + nonce_hex + R"(","ts":)" + std::to_string(ts) + "}";
}

AuthChallenge make_challenge(int64_t unix_now) {
  crypto_init();
  uint8_t raw[32];
  randombytes_buf(raw, sizeof raw);
  static constexpr char kHex[] = "0123456789abcdef";
  AuthChallenge ch;
  ch.ts = unix_now;
  for (uint8_t b : raw) {
    ch.nonce_hex.push_back(kHex[b >> 4]);
    ch.nonce_hex.push_back(kHex[b & 15]);
  }
  return ch;
}

std::string compat_auth_message(uint32_t node_id, int64_t ts, std::string_view nonce_hex) {
  std::string m = "compat_auth:" + std::to_string(node_id) + ":" + std::to_string(ts) + ":";
  m.append(nonce_hex);
  return m;
}

const char* auth_failure_label(AuthFailure f) {
  switch (f) {
    case AuthFailure::kNone: return "ok";
    case AuthFailure::kNotText: return "not_text";
    case AuthFailure::kBadJson: return "bad_json";
    case AuthFailure::kWrongType: return "wrong_type";
    case AuthFailure::kBadNodeId: return "bad_node_id";
    case AuthFailure::kUnknownNode: return "unknown_node";
    case AuthFailure::kBadSigEncoding: return "bad_sig_encoding";
    case AuthFailure::kStale: return "stale";
    case AuthFailure::kBadSignature: return "bad_signature";
  }
  return "?";
}

AuthResult check_auth_reply(std::string_view text, const AuthChallenge& ch, int64_t unix_now,
                            const std::function<std::optional<PublicKey>(uint32_t)>& key_of) {
  auto fail = [](AuthFailure f) { return AuthResult{f, 0}; };
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return fail(AuthFailure::kBadJson);
  // Fields absent are Go's zero values; a field of another JSON type fails to decode.
  auto string_field = [&](const char* name, std::string& out) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return true;
    if (!it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  std::string type, sig, public_key;
  if (!string_field("type", type) || !string_field("sig", sig) || !string_field("public_key", public_key))
    return fail(AuthFailure::kBadJson);
  uint64_t id = 0;
  if (auto it = j.find("node_id"); it != j.end() && !it->is_null()) {
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0))
      return fail(it->is_number() ? AuthFailure::kBadNodeId : AuthFailure::kBadJson);
    id = it->get<uint64_t>();
    if (id > UINT32_MAX) return fail(AuthFailure::kBadNodeId);
  }
  if (type != "auth_reply") return fail(AuthFailure::kWrongType);
  if (id == 0) return fail(AuthFailure::kBadNodeId);
  const auto node_id = static_cast<uint32_t>(id);
  std::optional<PublicKey> key = key_of ? key_of(node_id) : std::nullopt;
  if (!key) return fail(AuthFailure::kUnknownNode);
  std::optional<Signature> s = decode_signature(sig);
  if (!s) return fail(AuthFailure::kBadSigEncoding);
  if (unix_now - ch.ts < 0 || unix_now - ch.ts > kAuthMaxAgeSeconds) return fail(AuthFailure::kStale);
  if (!ed25519_verify(*key, compat_auth_message(node_id, ch.ts, ch.nonce_hex), *s))
    return fail(AuthFailure::kBadSignature);
  return AuthResult{AuthFailure::kNone, node_id};
}

}  // namespace pilot::beacon
