#include "core/ed25519.h"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

#include "core/base64.h"

namespace pilot {
namespace {

template <size_t N>
std::optional<std::array<uint8_t, N>> decode_exact(std::string_view b64) {
  auto bytes = base64_decode_std(b64);
  if (!bytes || bytes->size() != N) return std::nullopt;
  std::array<uint8_t, N> out;
  std::memcpy(out.data(), bytes->data(), N);
  return out;
}

}  // namespace

void crypto_init() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

KeyPair KeyPair::generate() {
  KeyPair kp;
  crypto_sign_ed25519_keypair(kp.public_key.data(), kp.secret_key.data());
  return kp;
}

KeyPair KeyPair::from_seed(const std::array<uint8_t, 32>& seed) {
  KeyPair kp;
  crypto_sign_ed25519_seed_keypair(kp.public_key.data(), kp.secret_key.data(), seed.data());
  return kp;
}

Signature KeyPair::sign(std::string_view message) const {
  Signature sig;
  crypto_sign_ed25519_detached(sig.data(), nullptr, reinterpret_cast<const uint8_t*>(message.data()), message.size(),
                               secret_key.data());
  return sig;
}

bool ed25519_verify(const PublicKey& key, std::string_view message, const Signature& sig) {
  return crypto_sign_ed25519_verify_detached(sig.data(), reinterpret_cast<const uint8_t*>(message.data()),
                                             message.size(), key.data()) == 0;
}

std::string encode_public_key(const PublicKey& key) { return base64_encode(key.data(), key.size()); }
std::optional<PublicKey> decode_public_key(std::string_view b64) { return decode_exact<32>(b64); }
std::string encode_signature(const Signature& sig) { return base64_encode(sig.data(), sig.size()); }
std::optional<Signature> decode_signature(std::string_view b64) { return decode_exact<64>(b64); }

}  // namespace pilot
