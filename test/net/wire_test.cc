// Golden bytes for every binary frame of the registry port (spec §2.4) and for
// heartbeat_ok (§6.2), plus the framing rules and the decoders' refusals.
#include "net/rpc/wire.h"

#include <gtest/gtest.h>

namespace pilot::wire {
namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

Signature sig_of(uint8_t fill) {
  Signature s;
  s.fill(fill);
  return s;
}

TEST(WireMode, DetectsThePiltPreamble) {
  EXPECT_EQ(detect_mode("PIL"), Mode::kUndecided);
  EXPECT_EQ(detect_mode("PILT"), Mode::kBinary);
  EXPECT_EQ(detect_mode(bytes({0, 0, 0, 2})), Mode::kJson);
  EXPECT_EQ(check_version(1), "");
  EXPECT_EQ(check_version(2), "unsupported wire version 2");
}

TEST(WireFraming, JsonFramesAreBigEndianLengthPrefixed) {
  EXPECT_EQ(json_frame("{}"), bytes({0, 0, 0, 2, '{', '}'}));
  Frame f;
  std::string why;
  std::string two = json_frame("{\"a\":1}") + json_frame("{}");
  ASSERT_EQ(next_json_frame(two, f, why), FrameStatus::kFrame);
  EXPECT_EQ(f.body, "{\"a\":1}");
  EXPECT_EQ(f.consumed, 11u);
  ASSERT_EQ(next_json_frame(std::string_view(two).substr(f.consumed), f, why), FrameStatus::kFrame);
  EXPECT_EQ(f.body, "{}");
  // Truncated frames wait for more bytes.
  EXPECT_EQ(next_json_frame(bytes({0, 0}), f, why), FrameStatus::kNeedMore);
  EXPECT_EQ(next_json_frame(bytes({0, 0, 0, 5, '{'}), f, why), FrameStatus::kNeedMore);
  // 64 MiB is the cap; one more byte closes the connection.
  EXPECT_EQ(next_json_frame(bytes({0x04, 0, 0, 0}), f, why), FrameStatus::kNeedMore);
  EXPECT_EQ(next_json_frame(bytes({0x04, 0, 0, 1}), f, why), FrameStatus::kBad);
  EXPECT_EQ(why, "message too large: 67108865 bytes");
}

TEST(WireFraming, BinaryFramesCountTheTypeByte) {
  EXPECT_EQ(binary_frame(MsgType::kLookup, bytes({0, 0, 0, 7})), bytes({0, 0, 0, 5, 0x02, 0, 0, 0, 7}));
  Frame f;
  std::string why;
  ASSERT_EQ(next_binary_frame(bytes({0, 0, 0, 1, 0x00}), f, why), FrameStatus::kFrame);
  EXPECT_EQ(f.type, MsgType::kJson);
  EXPECT_EQ(f.body, "");
  EXPECT_EQ(next_binary_frame(bytes({0, 0, 0, 0}), f, why), FrameStatus::kBad);  // L < 1
  EXPECT_EQ(next_binary_frame(bytes({0x04, 0, 0, 1}), f, why), FrameStatus::kBad);
  EXPECT_EQ(next_binary_frame(bytes({0, 0, 0, 3, 0x01, 9}), f, why), FrameStatus::kNeedMore);
}

TEST(WireGolden, HeartbeatRequestAndResponse) {
  HeartbeatRequest req{0x01020304, sig_of(0xAB)};
  std::string want = bytes({1, 2, 3, 4}) + std::string(64, '\xAB');
  EXPECT_EQ(encode(req), want);
  std::string err;
  EXPECT_EQ(decode_heartbeat_request(want, err), req);
  EXPECT_EQ(decode_heartbeat_request(want + "extra", err), req);  // >= 68 bytes
  EXPECT_FALSE(decode_heartbeat_request(want.substr(0, 67), err));
  EXPECT_EQ(err, "heartbeat request too short: 67 bytes");

  HeartbeatResponse resp{1700000000, true};
  std::string r = bytes({0, 0, 0, 0, 0x65, 0x53, 0xF1, 0x00, 0x01});
  EXPECT_EQ(encode(resp), r);
  EXPECT_EQ(decode_heartbeat_response(r), resp);
  EXPECT_EQ(binary_frame(MsgType::kHeartbeatResponse, r), bytes({0, 0, 0, 10, 0x81}) + r);
}

TEST(WireGolden, LookupRequestAndResponse) {
  std::string err;
  EXPECT_EQ(encode(LookupRequest{258}), bytes({0, 0, 1, 2}));
  EXPECT_EQ(decode_lookup_request(bytes({0, 0, 1, 2}), err)->node_id, 258u);
  EXPECT_FALSE(decode_lookup_request(bytes({0, 0, 1}), err));
  EXPECT_EQ(err, "lookup request too short: 3 bytes");

  LookupResponse r;
  r.node_id = 7;
  r.is_public = true;
  r.networks = {0, 5};
  r.public_key.fill(0x11);
  r.hostname = "ab";
  r.tags = {"x", "yz"};
  r.real_addr = "1.2.3.4:5";
  std::string want = bytes({0, 0, 0, 7, 0x01, 0, 0, 0, 0, 0, 2, 0, 0, 0, 5, 32}) + std::string(32, '\x11') +
                     bytes({2, 'a', 'b', 2, 1, 'x', 2, 'y', 'z', 0, 9}) + "1.2.3.4:5" + bytes({0});
  EXPECT_EQ(encode(r), want);
  EXPECT_EQ(decode_lookup_response(want), r);

  // A private node: no address; task_exec sets bit 1.
  LookupResponse p;
  p.node_id = 1;
  p.task_exec = true;
  std::string priv = encode(p);
  EXPECT_EQ(priv.substr(4, 1), bytes({0x02}));
  EXPECT_EQ(priv.substr(priv.size() - 3), bytes({0, 0, 0}));  // addr_len 0, extid_len 0
  // One-byte-prefixed items are cut at 255.
  LookupResponse longname = p;
  longname.hostname = std::string(300, 'h');
  EXPECT_EQ(decode_lookup_response(encode(longname))->hostname, std::string(255, 'h'));
  // Truncated payloads are refused.
  for (size_t n = 0; n < want.size(); ++n) EXPECT_FALSE(decode_lookup_response(want.substr(0, n))) << n;
}

TEST(WireGolden, ResolveRequestAndResponse) {
  ResolveRequest req{9, 3, sig_of(0x5A)};
  std::string want = bytes({0, 0, 0, 9, 0, 0, 0, 3}) + std::string(64, '\x5A');
  EXPECT_EQ(encode(req), want);
  std::string err;
  EXPECT_EQ(decode_resolve_request(want, err), req);
  EXPECT_FALSE(decode_resolve_request(want.substr(0, 71), err));
  EXPECT_EQ(err, "resolve request too short: 71 bytes");
  EXPECT_EQ(resolve_challenge(3, 9), "resolve:3:9");
  EXPECT_EQ(heartbeat_challenge(42), "heartbeat:42");

  ResolveResponse r{9, "5.6.7.8:9", {"10.0.0.1:1", "b"}, 12};
  std::string rb = bytes({0, 0, 0, 9, 0, 9}) + "5.6.7.8:9" + bytes({0, 2, 0, 10}) + "10.0.0.1:1" + bytes({0, 1}) + "b" +
                   bytes({0, 0, 0, 12});
  EXPECT_EQ(encode(r), rb);
  EXPECT_EQ(decode_resolve_response(rb), r);
  ResolveResponse unknown{1, "", {}, kUnknownKeyAge};
  EXPECT_EQ(encode(unknown), bytes({0, 0, 0, 1, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF}));
}

TEST(WireGolden, ErrorFrames) {
  EXPECT_EQ(binary_frame(MsgType::kError, encode_error("rate limited")),
            bytes({0, 0, 0, 15, 0xFF, 0, 12}) + "rate limited");
  std::string big(70000, 'e');
  std::string enc = encode_error(big);
  EXPECT_EQ(enc.size(), 2u + kMaxErrorMessage);
  EXPECT_EQ(decode_error(enc)->size(), kMaxErrorMessage);
}

TEST(WireGolden, HeartbeatOkIsByteExact) {
  EXPECT_EQ(heartbeat_ok_json(1700000000, false), R"({"time":1700000000,"type":"heartbeat_ok"})");
  EXPECT_EQ(heartbeat_ok_json(1700000000, true),
            R"({"key_expiry_warning":true,"time":1700000000,"type":"heartbeat_ok"})");
}

TEST(WireDecode, CountsAboveTheCapAreRefused) {
  // net_count 1025 with enough bytes behind it.
  std::string p = bytes({0, 0, 0, 1, 0, 0, 0, 0, 0, 0x04, 0x01}) + std::string(2 * 1025 + 64, '\0');
  EXPECT_FALSE(decode_lookup_response(p));
}

}  // namespace
}  // namespace pilot::wire
