#include "core/events.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "test/support/random_events.h"

namespace pilot {
namespace {

template <class... E>
void round_trip_all(std::variant<E...>*, std::set<uint16_t>& seen) {
  std::mt19937_64 rng(7);
  (
      [&] {
        for (int i = 0; i < 50; ++i) {
          Event ev = testsupport::filled<E>(rng);
          std::string payload = encode_payload(ev);
          auto back = decode_payload(E::kKind, payload);
          ASSERT_TRUE(back.has_value()) << E::kName;
          EXPECT_TRUE(*back == ev) << E::kName;
          EXPECT_EQ(kind_of(*back), E::kKind);
          // Trailing garbage is rejected.
          EXPECT_FALSE(decode_payload(E::kKind, payload + "x").has_value()) << E::kName;
          nlohmann::json j = event_to_json(ev);
          EXPECT_EQ(j["kind"], std::string(E::kName));
        }
        EXPECT_EQ(kind_name(E::kKind), E::kName);
        EXPECT_EQ(kind_from_name(E::kName), E::kKind);
        EXPECT_TRUE(seen.insert(static_cast<uint16_t>(E::kKind)).second) << "duplicate kind " << E::kName;
      }(),
      ...);
}

TEST(Events, EveryKindRoundTripsThroughTheBinaryCodec) {
  std::set<uint16_t> seen;
  round_trip_all(static_cast<Event*>(nullptr), seen);
  EXPECT_EQ(seen.size(), std::variant_size_v<Event>);
}

TEST(Events, PayloadBytesArePinned) {
  // The log outlives binaries: these bytes must never change.
  NodeRegistered r;
  r.node_id = 0x01020304;
  r.public_key.fill(0xAB);
  r.owner = "o";
  r.real_addr = "1.2.3.4:5";
  r.lan_addrs = {"x"};
  r.version = "";
  r.relay_only = true;
  std::string p = encode_payload(r);
  std::string want = std::string("\x04\x03\x02\x01", 4) + std::string(32, '\xAB') + "\x01o" +
                     "\x09"
                     "1.2.3.4:5" +
                     "\x01\x01x" + std::string("\x00", 1) + "\x01";
  EXPECT_EQ(p, want);
  MemberJoined m{.network_id = 7, .node_id = 9, .role = Role::kOwner};
  EXPECT_EQ(encode_payload(m), std::string("\x07\x00\x09\x00\x00\x00\x03", 7));
}

TEST(Events, OlderShorterPayloadDecodesWithDefaults) {
  // A payload written before trailing fields existed: only node_id + public_key.
  KeyRotated k;
  k.node_id = 5;
  k.new_public_key.fill(1);
  k.recovered = true;
  std::string full = encode_payload(k);
  auto shorter = decode_payload(EventKind::kKeyRotated, full.substr(0, 4 + 32));
  ASSERT_TRUE(shorter);
  auto& got = std::get<KeyRotated>(*shorter);
  EXPECT_EQ(got.node_id, 5u);
  EXPECT_FALSE(got.recovered);
}

TEST(Events, RejectsMalformedPayloads) {
  EXPECT_FALSE(decode_payload(static_cast<EventKind>(999), "").has_value());
  EXPECT_FALSE(is_known_kind(999));
  // Truncated inside a fixed-width field.
  EXPECT_FALSE(decode_payload(EventKind::kNodeDeregistered, std::string("\x01\x02", 2)).has_value());
  // Bool must be 0 or 1.
  EXPECT_FALSE(decode_payload(EventKind::kVisibilityChanged, std::string("\x01\x00\x00\x00\x02", 5)).has_value());
  // Role out of range.
  EXPECT_FALSE(decode_payload(EventKind::kMemberJoined, std::string("\x01\x00\x01\x00\x00\x00\x09", 7)).has_value());
  // String length larger than the payload.
  EXPECT_FALSE(decode_payload(EventKind::kWebhookConfigured, std::string("\x7f"
                                                                         "abc",
                                                                         4))
                   .has_value());
  // Vector count that cannot fit.
  EXPECT_FALSE(decode_payload(EventKind::kTagsChanged, std::string("\x01\x00\x00\x00\xff\xff\x03", 7)).has_value());
  // Varint overflow.
  EXPECT_FALSE(
      decode_payload(EventKind::kWebhookConfigured, std::string(10, '\xff') + std::string("\x01", 1)).has_value());
}

}  // namespace
}  // namespace pilot
