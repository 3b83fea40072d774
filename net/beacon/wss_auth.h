// The compat bridge's Ed25519 challenge (spec/beacon.md §10.2), as pure functions so
// the reply parser is unit-tested and fuzzed without a socket:
//
//   server → {"type":"auth_challenge","nonce":"<64 hex>","ts":<unix s>}
//   client → {"type":"auth_reply","node_id":N,"public_key":"…","sig":"<base64>"}
//   signed  "compat_auth:<node_id>:<ts>:<nonce hex>" with the node's registry key
//
// The `public_key` the client sends is ignored (only the registry's key counts), and
// so is the old form without `ts` (daemons older than beacon v0.2.6 fail, as there).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/codec.h"

namespace pilot::beacon {

inline constexpr int64_t kAuthMaxAgeSeconds = 30;

struct AuthChallenge {
  std::string nonce_hex;  // 32 random bytes, lower-case hex
  int64_t ts = 0;         // server Unix seconds when issued
  std::string text() const;
};
// A fresh challenge (libsodium's CSPRNG).
AuthChallenge make_challenge(int64_t unix_now);

std::string compat_auth_message(uint32_t node_id, int64_t ts, std::string_view nonce_hex);

enum class AuthFailure : uint8_t {
  kNone,
  kNotText,      // a binary (or close) message instead of the reply
  kBadJson,      // not a JSON object, or a field of the wrong type
  kWrongType,    // "type" is not "auth_reply"
  kBadNodeId,    // missing, 0, negative, fractional or over 32 bits
  kUnknownNode,  // the registry has no key for the id (always, without a policy)
  kBadSigEncoding,
  kStale,  // the challenge is older than 30 s (or from the future)
  kBadSignature,
};
const char* auth_failure_label(AuthFailure f);

struct AuthResult {
  AuthFailure failure = AuthFailure::kNone;
  uint32_t node_id = 0;
  bool ok() const { return failure == AuthFailure::kNone; }
};

// The checks of §10.2 in its order: JSON, type, node_id, registry key, signature
// encoding, age, signature. `key_of` is the registry lookup (Policy::node_key).
AuthResult check_auth_reply(std::string_view text, const AuthChallenge& ch, int64_t unix_now,
                            const std::function<std::optional<PublicKey>(uint32_t)>& key_of);

}  // namespace pilot::beacon
