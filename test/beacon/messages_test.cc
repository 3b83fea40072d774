// Golden bytes for every beacon message (spec/beacon.md §3–§5), the address encoding,
// and the decoders' length rules.
#include "net/beacon/messages.h"

#include <gtest/gtest.h>

namespace pilot::beacon {
namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

IpBytes v6_db8_1() {
  IpBytes ip{};
  ip[0] = 0x20;
  ip[1] = 0x01;
  ip[2] = 0x0d;
  ip[3] = 0xb8;
  ip[15] = 1;
  return ip;
}

TEST(BeaconEndpoint, TextAndIpv4MappedFolding) {
  auto a = Endpoint::parse("1.2.3.4:9001");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, Endpoint::v4(1, 2, 3, 4, 9001));
  EXPECT_TRUE(a->is_v4());
  EXPECT_EQ(a->to_string(), "1.2.3.4:9001");
  // The mapped spelling is the same endpoint (one key for the relay budget, §15.8).
  EXPECT_EQ(Endpoint::parse("[::ffff:1.2.3.4]:9001"), a);
  auto b = Endpoint::parse("[2001:db8::1]:5");
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->is_v4());
  EXPECT_EQ(b->ip, v6_db8_1());
  EXPECT_EQ(b->to_string(), "[2001:db8::1]:5");
  for (const char* bad : {"1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "::1:5", "[1.2.3.4]:5", "host:5", ":5", "1.2.3.4:x"})
    EXPECT_FALSE(Endpoint::parse(bad)) << bad;
}

TEST(BeaconMessages, AddressEncodingIsFourBytesForIpv4AndMapped) {
  // [iplen][ip][port]: IPv4 and IPv4-mapped IPv6 → 4 bytes.
  EXPECT_EQ(encode_discover_reply(Endpoint::v4(203, 0, 113, 7, 40000)), bytes({0x02, 4, 203, 0, 113, 7, 0x9c, 0x40}));
  EXPECT_EQ(encode_punch_command(*Endpoint::parse("[::ffff:10.0.0.1]:1")), bytes({0x04, 4, 10, 0, 0, 1, 0, 1}));
  // Any other IPv6 → 16 bytes.
  EXPECT_EQ(encode_discover_reply(Endpoint::v6(v6_db8_1(), 9001)),
            bytes({0x02, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x23, 0x29}));
  EXPECT_EQ(encode_discover_reply(Endpoint::v4(1, 2, 3, 4, 5)).size(), kAddrMsgMinV4);
  EXPECT_EQ(encode_punch_command(Endpoint::v6(v6_db8_1(), 5)).size(), kAddrMsgMinV6);
}

TEST(BeaconMessages, AddressDecodingChecksLengthAndIplen) {
  EXPECT_EQ(decode_discover_reply(bytes({0x02, 4, 1, 2, 3, 4, 0, 80})), Endpoint::v4(1, 2, 3, 4, 80));
  EXPECT_EQ(decode_punch_command(bytes({0x04, 4, 1, 2, 3, 4, 0, 80, 0xEE})), Endpoint::v4(1, 2, 3, 4, 80));
  EXPECT_FALSE(decode_discover_reply(bytes({0x02, 4, 1, 2, 3, 4, 0})));            // truncated port
  EXPECT_FALSE(decode_discover_reply(bytes({0x02, 6, 1, 2, 3, 4, 5, 6, 0, 80})));  // iplen ∉ {4,16}
  EXPECT_FALSE(decode_discover_reply(bytes({0x04, 4, 1, 2, 3, 4, 0, 80})));        // wrong type
  EXPECT_FALSE(decode_punch_command(bytes({0x04, 16, 1, 2, 3, 4, 0, 80})));
  EXPECT_FALSE(decode_addr(""));
}

TEST(BeaconMessages, Discover) {
  EXPECT_EQ(encode(Discover{0x01020304, false, {}}), bytes({0x01, 1, 2, 3, 4}));
  EXPECT_EQ(encode(Discover{7, true, {}}), bytes({0x08, 0, 0, 0, 7}));
  PublicKey k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i);
  std::string with_key = encode(Discover{9, false, k});
  ASSERT_EQ(with_key.size(), kDiscoverWithKey);
  EXPECT_EQ(with_key.substr(0, 5), bytes({0x01, 0, 0, 0, 9}));
  EXPECT_EQ(with_key[5 + 31], 31);

  auto d = decode_discover(with_key);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->node_id, 9u);
  EXPECT_FALSE(d->ex);
  EXPECT_EQ(d->key, k);
  // Fewer than 32 trailing bytes: no key, still a Discover (15 extra bytes, §18.3).
  auto t = decode_discover(bytes({0x08, 0, 0, 0, 9}) + std::string(15, 'x'));
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->ex);
  EXPECT_FALSE(t->key);
  EXPECT_FALSE(decode_discover(bytes({0x01, 0, 0, 0})));  // 3 id bytes (§18.2)
  EXPECT_FALSE(decode_discover(bytes({0x03, 0, 0, 0, 1})));
}

TEST(BeaconMessages, PunchRequestAndGrant) {
  EXPECT_EQ(encode(PunchRequest{1, 2, {}}), bytes({0x03, 0, 0, 0, 1, 0, 0, 0, 2}));
  Grant g;
  g.expiry_unix = 0x0102030405060708;
  g.sig.fill(0xAB);
  std::string s = encode(PunchRequest{1, 2, g});
  ASSERT_EQ(s.size(), kPunchRequestWithGrant);
  EXPECT_EQ(s.substr(9, 8), bytes({1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(static_cast<uint8_t>(s[80]), 0xAB);
  EXPECT_EQ(decode_punch_request(s), (PunchRequest{1, 2, g}));
  // A negative expiry is a signed int64.
  g.expiry_unix = -1;
  EXPECT_EQ(decode_punch_request(encode(PunchRequest{1, 2, g}))->grant->expiry_unix, -1);
  // A short trailer is no grant.
  auto p = decode_punch_request(bytes({0x03, 0, 0, 0, 1, 0, 0, 0, 2}) + std::string(71, 0));
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->grant);
  EXPECT_FALSE(decode_punch_request(bytes({0x03, 0, 0, 0, 1})));  // 4 id bytes (§18.14)
  EXPECT_EQ(punch_grant_message(10, 20, 1700000000), "punch-grant:10:20:1700000000");
}

TEST(BeaconMessages, RelayFamily) {
  EXPECT_EQ(encode(Relay{10, 20, "hi"}), bytes({0x05, 0, 0, 0, 10, 0, 0, 0, 20, 'h', 'i'}));
  EXPECT_EQ(encode(RelayDeliver{10, "hi"}), bytes({0x06, 0, 0, 0, 10, 'h', 'i'}));
  EXPECT_EQ(encode(RelayDeliverDest{10, 20, "hi"}), bytes({0x09, 0, 0, 0, 10, 0, 0, 0, 20, 'h', 'i'}));
  // Empty payloads are valid: a 9-byte relay is delivered as the 5-byte [06][S] (§18.23).
  EXPECT_EQ(decode_relay(bytes({0x05, 0, 0, 0, 10, 0, 0, 0, 20})), (Relay{10, 20, ""}));
  EXPECT_EQ(encode(RelayDeliver{10, ""}).size(), kRelayDeliverMin);
  EXPECT_FALSE(decode_relay(bytes({0x05, 0, 0, 0, 10, 0, 0, 0})));
  EXPECT_EQ(decode_relay_deliver(bytes({0x06, 0, 0, 1, 0, 'x'})), (RelayDeliver{256, "x"}));
  EXPECT_FALSE(decode_relay_deliver(bytes({0x06, 0, 0, 1})));
  EXPECT_EQ(decode_relay_deliver_dest(bytes({0x09, 0, 0, 0, 1, 0, 0, 0, 2})), (RelayDeliverDest{1, 2, ""}));
  EXPECT_FALSE(decode_relay_deliver_dest(bytes({0x09, 0, 0, 0, 1, 0, 0, 0})));
  EXPECT_EQ(relay_head(1, 2).view(), bytes({0x05, 0, 0, 0, 1, 0, 0, 0, 2}));
}

TEST(BeaconMessages, Sync) {
  const uint32_t ids[] = {1, 0x01020304, 0xFFFFFFFF};
  std::string s = encode_sync(0xA0B0C0D0, ids);
  EXPECT_EQ(s, bytes({0x07, 0xA0, 0xB0, 0xC0, 0xD0, 0, 3, 0, 0, 0, 1, 1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFF}));
  auto d = decode_sync(s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->beacon_id, 0xA0B0C0D0u);
  ASSERT_EQ(d->count(), 3u);
  EXPECT_EQ(d->id(1), 0x01020304u);
  // Count 0 is valid; trailing bytes beyond the ids are ignored.
  auto empty = decode_sync(bytes({0x07, 0, 0, 0, 1, 0, 0, 0xEE}));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->count(), 0u);
  // Claiming 5 ids with data for 2, or 0xFFFF with no body: not a Sync (§18.32).
  EXPECT_FALSE(decode_sync(bytes({0x07, 0, 0, 0, 1, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2})));
  EXPECT_FALSE(decode_sync(bytes({0x07, 0, 0, 0, 1, 0xFF, 0xFF})));
  EXPECT_FALSE(decode_sync(bytes({0x07, 0, 0, 0, 1, 0})));
  // The count field caps a Sync at 65,535 ids; one datagram holds 16,375 over IPv4.
  std::vector<uint32_t> many(70000, 7);
  EXPECT_EQ(decode_sync(encode_sync(1, many))->count(), kMaxSyncCount);
  EXPECT_EQ(kSyncIdsPerDatagram, 16375u);
  EXPECT_LE(kSyncMin + 4 * kSyncIdsPerDatagram, kMaxUdpPayloadV4);
}

TEST(BeaconMessages, Notify) {
  EXPECT_EQ(encode_notify(), bytes({0x0A, 0x01}));
  EXPECT_EQ(decode_notify(bytes({0x0A, 0x01})), 1);
  EXPECT_FALSE(decode_notify(bytes({0x0A})));
}

TEST(BeaconMessages, EveryTypeStaysBelowTheTunnelMagic) {
  for (auto t :
       {MsgType::kDiscover, MsgType::kDiscoverReply, MsgType::kPunchRequest, MsgType::kPunchCommand, MsgType::kRelay,
        MsgType::kRelayDeliver, MsgType::kSync, MsgType::kDiscoverEx, MsgType::kRelayDeliverDest, MsgType::kNotify})
    EXPECT_LT(static_cast<uint8_t>(t), kFirstNonBeaconType);
  EXPECT_EQ(kShardCapacity, 7812u);
  EXPECT_EQ(kMaxDatagram, 65544u);
}

}  // namespace
}  // namespace pilot::beacon
