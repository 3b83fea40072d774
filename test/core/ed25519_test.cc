#include "core/ed25519.h"

#include <gtest/gtest.h>

#include "core/base64.h"

namespace pilot {

class Ed25519 : public ::testing::Test {
 protected:
  void SetUp() override { crypto_init(); }
};

TEST_F(Ed25519, SignVerifyAndRejectTampering) {
  KeyPair kp = KeyPair::generate();
  Signature sig = kp.sign("heartbeat:42");
  EXPECT_TRUE(ed25519_verify(kp.public_key, "heartbeat:42", sig));
  EXPECT_FALSE(ed25519_verify(kp.public_key, "heartbeat:43", sig));
  sig[10] ^= 1;
  EXPECT_FALSE(ed25519_verify(kp.public_key, "heartbeat:42", sig));
  KeyPair other = KeyPair::generate();
  EXPECT_FALSE(ed25519_verify(other.public_key, "heartbeat:42", kp.sign("heartbeat:42")));
}

// RFC 8032 §7.1 test 2: a fixed seed gives a fixed key and signature.
TEST_F(Ed25519, Rfc8032Vector) {
  std::array<uint8_t, 32> seed;
  const char* hex = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
  for (int i = 0; i < 32; ++i) seed[i] = static_cast<uint8_t>(std::stoi(std::string(hex + 2 * i, 2), nullptr, 16));
  KeyPair kp = KeyPair::from_seed(seed);
  EXPECT_EQ(encode_public_key(kp.public_key), "PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=");
  Signature sig = kp.sign(std::string(1, '\x72'));
  EXPECT_EQ(encode_signature(sig),
            "kqAJqfDUyrhyDoILX2QlQKKye1QWUD+Ps3YiI+vbadoIWsHkPhWZbkWPNhPQ8R2MOHsurrQwKu6wDSkWErsMAA==");
}

TEST_F(Ed25519, WireDecodingNeedsExactLengths) {
  KeyPair kp = KeyPair::generate();
  std::string k = encode_public_key(kp.public_key);
  ASSERT_EQ(k.size(), 44u);
  EXPECT_EQ(*decode_public_key(k), kp.public_key);
  EXPECT_FALSE(decode_public_key(base64_encode(std::string(31, 'a'))));
  EXPECT_FALSE(decode_public_key(base64_encode(std::string(33, 'a'))));
  EXPECT_FALSE(decode_public_key("not base64!"));
  Signature s = kp.sign("x");
  EXPECT_EQ(*decode_signature(encode_signature(s)), s);
  EXPECT_FALSE(decode_signature(k));  // a key is not a signature
}

}  // namespace pilot
