// Ed25519 node identities (spec §4.1): 32-byte public keys, 64-byte signatures over
// the raw UTF-8 challenge string (Appendix A lists every challenge).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/codec.h"

namespace pilot {

using Signature = std::array<uint8_t, 64>;

// Call once before any other function here (idempotent, thread-safe).
void crypto_init();

struct KeyPair {
  PublicKey public_key{};
  std::array<uint8_t, 64> secret_key{};  // libsodium layout: seed ‖ public key
  static KeyPair generate();
  static KeyPair from_seed(const std::array<uint8_t, 32>& seed);
  Signature sign(std::string_view message) const;
};

bool ed25519_verify(const PublicKey& key, std::string_view message, const Signature& sig);

// The wire forms: standard base64 of the raw bytes, exact length after decoding.
std::string encode_public_key(const PublicKey& key);
std::optional<PublicKey> decode_public_key(std::string_view b64);
std::string encode_signature(const Signature& sig);
std::optional<Signature> decode_signature(std::string_view b64);

}  // namespace pilot
