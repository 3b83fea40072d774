// Request envelopes and verdicts (spec §10.3): exact canonical bytes, and every
// non-canonical spelling refused so one request has exactly one signature input.
#include "core/request_envelope.h"

#include <gtest/gtest.h>

namespace pilot {
namespace {

const std::string kHash(64, 'a');

TEST(RequestEnvelope, CanonicalBytesAreExact) {
  RequestEnvelope e{1, 0x2a, 1800000000, "0123456789abcdef", kHash, "api.example.com"};
  const std::string want = "pilot-req-v1|00010000002a|1800000000|0123456789abcdef|" + kHash + "|api.example.com";
  EXPECT_EQ(e.canonical(), want);
  auto back = RequestEnvelope::parse(want);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->network, 1);
  EXPECT_EQ(back->node, 0x2au);
  EXPECT_EQ(back->timestamp, 1800000000);
  EXPECT_EQ(back->audience, "api.example.com");
}

TEST(RequestEnvelope, NonCanonicalSpellingsAreRefused) {
  const std::string tail = "|0123456789abcdef|" + kHash + "|svc";
  EXPECT_TRUE(RequestEnvelope::parse("pilot-req-v1|00010000002a|5" + tail));
  for (const std::string& bad : {
           "pilot-req-v2|00010000002a|5" + tail,                              // domain
           "pilot-req-v1|00010000002A|5" + tail,                              // upper hex
           "pilot-req-v1|10000002a|5" + tail,                                 // short address
           "pilot-req-v1|00010000002a|05" + tail,                             // leading zero
           "pilot-req-v1|00010000002a|+5" + tail,                             // sign
           "pilot-req-v1|00010000002a|" + tail,                               // empty time
           "pilot-req-v1|00010000002a|99999999999999999999" + tail,           // overflow
           "pilot-req-v1|00010000002a|5|0123456789ABCDEF|" + kHash + "|svc",  // nonce case
           "pilot-req-v1|00010000002a|5|0123456789abcdef|" + kHash + "|Svc",  // audience charset
           "pilot-req-v1|00010000002a|5|0123456789abcdef|" + kHash + "|",     // empty audience
           "pilot-req-v1|00010000002a|5|0123456789abcdef|" + kHash + "|" + std::string(65, 'a'),
           "pilot-req-v1|00010000002a|5|0123456789abcdef|" + kHash + "|svc|x",  // extra field
           "pilot-req-v1|00010000002a|5|0123456789abcdef|" + kHash.substr(1) + "|svc",
           std::string(""),
       })
    EXPECT_FALSE(RequestEnvelope::parse(bad)) << bad;
}

TEST(Verdict, CanonicalRoundTrip) {
  Verdict v;
  v.envelope_hash = sha256_hex("pilot-req-v1|x");
  v.network = 0;
  v.node = 7;
  v.valid = v.online = true;
  v.last_seen_unix = 1800000000;
  v.key_generation = 2;
  v.verified_at = 1800000005;
  const std::string c = v.canonical();
  EXPECT_EQ(c, "pilot-verdict-v1|" + v.envelope_hash + "|000000000007|1|1|0|1800000000|2|1800000005");
  auto back = Verdict::parse(c);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->canonical(), c);
  EXPECT_FALSE(Verdict::parse(c + "|0"));
  EXPECT_FALSE(Verdict::parse(c + " "));
  EXPECT_FALSE(Verdict::parse("pilot-verdict-v1|" + v.envelope_hash + "|000000000007|2|1|0|1|2|3"));
}

TEST(Sha256Hex, KnownAnswer) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace pilot
