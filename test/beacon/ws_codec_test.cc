// The WebSocket bridge's pure parts: RFC 6455 golden bytes (§1.3's accept key, §5.7's
// frames), every frame the server must refuse, the upgrade checks, and the compat
// auth reply of spec/beacon.md §10.2 check by check.
#include "net/beacon/ws_codec.h"

#include <gtest/gtest.h>

#include <string>

#include "core/base64.h"
#include "core/ed25519.h"
#include "net/beacon/wss_auth.h"

namespace pilot::beacon {
namespace {

using ws::MessageReader;

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

const std::array<uint8_t, 4> kRfcMask = {0x37, 0xfa, 0x21, 0x3d};

// Every message `buf` holds, and the reader's final status.
struct Parsed {
  std::vector<ws::Message> messages;
  MessageReader::Status last;
  uint16_t error_code = 0;
};
Parsed parse_all(std::string buf, size_t max = 65536) {
  MessageReader r(max);
  Parsed p;
  ws::Message m;
  while ((p.last = r.next(buf, m)) == MessageReader::Status::kMessage) p.messages.push_back(m);
  p.error_code = r.error_code();
  return p;
}

TEST(WsCodec, AcceptKeyIsTheRfcExample) {
  EXPECT_EQ(ws::accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsCodec, ServerFramesAreTheRfcExamples) {
  EXPECT_EQ(ws::encode_frame(ws::kText, "Hello"), bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  EXPECT_EQ(ws::encode_frame(ws::kPing, "Hello"), bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  std::string f256 = ws::encode_frame(ws::kBinary, std::string(256, 'x'));
  EXPECT_EQ(f256.substr(0, 4), bytes({0x82, 0x7e, 0x01, 0x00}));
  EXPECT_EQ(f256.size(), 4u + 256);
  std::string f64k = ws::encode_frame(ws::kBinary, std::string(65536, 'x'));
  EXPECT_EQ(f64k.substr(0, 10), bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}));
  EXPECT_EQ(f64k.size(), 10u + 65536);
  EXPECT_EQ(ws::encode_close(1008, "auth failed"), bytes({0x88, 13, 0x03, 0xf0}) + "auth failed");
}

TEST(WsCodec, MaskedClientFramesAreTheRfcExamples) {
  const std::string hello = bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  EXPECT_EQ(ws::encode_client_frame(ws::kText, "Hello", kRfcMask), hello);
  Parsed p = parse_all(hello);
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0].kind, ws::kText);
  EXPECT_EQ(p.messages[0].payload, "Hello");
  EXPECT_EQ(p.last, MessageReader::Status::kNeedMore);

  const std::string pong = bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  p = parse_all(pong);
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0].kind, ws::kPong);
  EXPECT_EQ(p.messages[0].payload, "Hello");
}

TEST(WsCodec, FragmentsJoinAndControlFramesMayComeBetween) {
  // §5.7's fragmented "Hel" + "lo", masked as a client must, with a ping in between.
  std::string buf = ws::encode_client_frame(ws::kText, "Hel", kRfcMask, /*fin=*/false) +
                    ws::encode_client_frame(ws::kPing, "p", kRfcMask) +
                    ws::encode_client_frame(ws::kContinuation, "lo", kRfcMask, /*fin=*/true);
  Parsed p = parse_all(buf);
  ASSERT_EQ(p.messages.size(), 2u);
  EXPECT_EQ(p.messages[0].kind, ws::kPing);
  EXPECT_EQ(p.messages[1].kind, ws::kText);
  EXPECT_EQ(p.messages[1].payload, "Hello");
}

TEST(WsCodec, BytesMayArriveOneAtATime) {
  std::string all = ws::encode_client_frame(ws::kBinary, std::string(300, '\x05'), kRfcMask) +
                    ws::encode_client_frame(ws::kBinary, "", kRfcMask);
  MessageReader r(65536);
  std::string buf;
  std::vector<ws::Message> got;
  ws::Message m;
  for (char c : all) {
    buf.push_back(c);
    while (r.next(buf, m) == MessageReader::Status::kMessage) got.push_back(m);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload, std::string(300, '\x05'));
  EXPECT_EQ(got[1].payload, "");  // a 0-byte binary message is a message (the engine drops it)
  EXPECT_TRUE(buf.empty());
}

TEST(WsCodec, FramesThatBreakTheRfcAreProtocolErrors) {
  const std::string unmasked_hello = bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  const std::string huge = bytes({0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4});
  std::vector<std::pair<const char*, std::string>> bad = {
      {"unmasked", unmasked_hello},
      {"rsv1", ws::encode_client_frame(ws::kBinary, "x", kRfcMask, true, 4)},
      {"rsv3", ws::encode_client_frame(ws::kBinary, "x", kRfcMask, true, 1)},
      {"opcode 3", ws::encode_client_frame(static_cast<ws::Opcode>(3), "x", kRfcMask)},
      {"opcode 0xB", ws::encode_client_frame(static_cast<ws::Opcode>(0xB), "x", kRfcMask)},
      {"long ping", ws::encode_client_frame(ws::kPing, std::string(126, 'p'), kRfcMask)},
      {"fragmented ping", ws::encode_client_frame(ws::kPing, "p", kRfcMask, false)},
      {"stray continuation", ws::encode_client_frame(ws::kContinuation, "x", kRfcMask)},
      {"message inside a message",
       ws::encode_client_frame(ws::kText, "a", kRfcMask, false) + ws::encode_client_frame(ws::kBinary, "b", kRfcMask)},
      {"1-byte close", ws::encode_client_frame(ws::kClose, "x", kRfcMask)},
      {"64-bit length, top bit", huge},
  };
  for (const auto& [what, buf] : bad) {
    Parsed p = parse_all(buf);
    EXPECT_EQ(p.last, MessageReader::Status::kError) << what;
    EXPECT_EQ(p.error_code, ws::kProtocolError) << what;
    EXPECT_TRUE(p.messages.empty()) << what;
  }
}

TEST(WsCodec, TheSizeLimitIsCheckedOnTheHeaderBeforeThePayloadArrives) {
  // 128 KiB announced; only the 14 header bytes are here.
  std::string header = ws::encode_client_frame(ws::kBinary, std::string(131072, 'x'), kRfcMask).substr(0, 14);
  Parsed p = parse_all(header);
  EXPECT_EQ(p.last, MessageReader::Status::kError);
  EXPECT_EQ(p.error_code, ws::kMessageTooBig);
  // Exactly the limit passes; fragments that add up to more do not.
  EXPECT_EQ(parse_all(ws::encode_client_frame(ws::kBinary, std::string(100, 'x'), kRfcMask), 100).messages.size(), 1u);
  p = parse_all(ws::encode_client_frame(ws::kBinary, std::string(60, 'x'), kRfcMask, false) +
                    ws::encode_client_frame(ws::kContinuation, std::string(41, 'x'), kRfcMask),
                100);
  EXPECT_EQ(p.error_code, ws::kMessageTooBig);
  // After an error the reader stays done.
  MessageReader r(10);
  std::string buf = ws::encode_client_frame(ws::kBinary, std::string(11, 'x'), kRfcMask);
  ws::Message m;
  EXPECT_EQ(r.next(buf, m), MessageReader::Status::kError);
  buf = ws::encode_client_frame(ws::kBinary, "ok", kRfcMask);
  EXPECT_EQ(r.next(buf, m), MessageReader::Status::kError);
}

TEST(WsCodec, CloseCodes) {
  Parsed p = parse_all(ws::encode_client_frame(ws::kClose, bytes({0x03, 0xe8}) + "bye", kRfcMask));
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0].close_code(), 1000);
  p = parse_all(ws::encode_client_frame(ws::kClose, "", kRfcMask));
  ASSERT_EQ(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0].close_code(), 1005);
}

std::string upgrade_request(const std::string& extra = "", const std::string& method = "GET") {
  return method +
         " /v1/compat?x=1 HTTP/1.1\r\nHost: beacon.example:8443\r\nUpgrade: websocket\r\nConnection: keep-alive, "
         "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         extra + "\r\n";
}

ws::UpgradeCheck check(const std::string& text) {
  ws::RequestHead req;
  EXPECT_EQ(ws::parse_request_head(text, req), ws::HeadStatus::kDone) << text;
  return ws::check_upgrade(req);
}

TEST(WsHandshake, AValidUpgradeEchoesTheSubprotocol) {
  std::string text = upgrade_request("Sec-WebSocket-Protocol: chat, pilot.v1\r\n") + "\x81";  // a frame follows
  ws::RequestHead req;
  ASSERT_EQ(ws::parse_request_head(text, req), ws::HeadStatus::kDone);
  EXPECT_EQ(req.size, text.size() - 1);
  EXPECT_EQ(req.path(), "/v1/compat");
  EXPECT_EQ(req.header("host"), "beacon.example:8443");
  ws::UpgradeCheck up = ws::check_upgrade(req);
  EXPECT_EQ(up.status, 101) << up.error;
  EXPECT_EQ(up.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(up.subprotocol, "pilot.v1");
  EXPECT_EQ(ws::upgrade_response(up),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: pilot.v1\r\n\r\n");
  EXPECT_EQ(check(upgrade_request()).subprotocol, "");  // none offered: none echoed
}

TEST(WsHandshake, OriginsAsTheReference) {
  EXPECT_EQ(check(upgrade_request("Origin: pilot://daemon\r\n")).status, 101);
  EXPECT_EQ(check(upgrade_request("Origin: https://beacon.example:8443\r\n")).status, 101);
  EXPECT_EQ(check(upgrade_request("Origin: https://evil.example\r\n")).status, 403);
}

TEST(WsHandshake, BadUpgradesAreRefused) {
  EXPECT_EQ(check(upgrade_request("", "POST")).status, 405);
  std::string no_version = upgrade_request();
  no_version.erase(no_version.find("Sec-WebSocket-Version"), 27);
  EXPECT_EQ(check(no_version).status, 426);
  std::string bad_key = upgrade_request();
  bad_key.replace(bad_key.find("dGhl"), 4, "AAAA");
  EXPECT_EQ(check(bad_key).status, 101);  // any 16 bytes are a key
  bad_key.replace(bad_key.find("AAAA"), 24, "c2hvcnQ=");
  EXPECT_EQ(check(bad_key).status, 400);
  EXPECT_EQ(check("GET /v1/compat HTTP/1.1\r\nHost: x\r\n\r\n").status, 426);
}

TEST(WsHandshake, RequestHeadLimits) {
  ws::RequestHead req;
  EXPECT_EQ(ws::parse_request_head("GET / HTTP/1.1\r\nHost: x\r\n", req), ws::HeadStatus::kIncomplete);
  EXPECT_EQ(ws::parse_request_head(std::string(ws::kMaxRequestHead, 'a'), req), ws::HeadStatus::kTooLarge);
  EXPECT_EQ(ws::parse_request_head("GET / HTTP/1.1\r\nno colon\r\n\r\n", req), ws::HeadStatus::kBad);
  EXPECT_EQ(ws::parse_request_head("GET  / HTTP/1.1\r\n\r\n", req), ws::HeadStatus::kBad);
  EXPECT_EQ(ws::parse_request_head("GET / SPDY/3\r\n\r\n", req), ws::HeadStatus::kBad);
  EXPECT_EQ(ws::parse_request_head("GET /health HTTP/1.0\r\n\r\n", req), ws::HeadStatus::kDone);
}

// ---- the compat auth reply (§10.2) ----

class WssAuth : public testing::Test {
 protected:
  void SetUp() override {
    crypto_init();
    key_ = KeyPair::generate();
    other_ = KeyPair::generate();
    ch_ = make_challenge(1'700'000'000);
  }
  std::optional<PublicKey> key_of(uint32_t id) const {
    if (id == 42) return key_.public_key;
    return std::nullopt;
  }
  AuthResult check(const std::string& text, int64_t now = 1'700'000'005) const {
    return check_auth_reply(text, ch_, now, [this](uint32_t id) { return key_of(id); });
  }
  std::string reply(uint32_t id, const KeyPair& k, const std::string& signed_text) const {
    return R"({"type":"auth_reply","node_id":)" + std::to_string(id) + R"(,"public_key":")" +
           encode_public_key(k.public_key) + R"(","sig":")" + encode_signature(k.sign(signed_text)) + "\"}";
  }
  KeyPair key_, other_;
  AuthChallenge ch_;
};

TEST_F(WssAuth, TheChallengeIsFreshHexAndJson) {
  EXPECT_EQ(ch_.nonce_hex.size(), 64u);
  EXPECT_EQ(ch_.nonce_hex.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(make_challenge(1).nonce_hex, make_challenge(1).nonce_hex);
  EXPECT_EQ(ch_.text(), R"({"type":"auth_challenge","nonce":")" + ch_.nonce_hex + R"(","ts":1700000000})");
  EXPECT_EQ(compat_auth_message(42, 1700000000, "ab"), "compat_auth:42:1700000000:ab");
}

TEST_F(WssAuth, ASignatureByTheRegistryKeyPasses) {
  AuthResult r = check(reply(42, key_, compat_auth_message(42, ch_.ts, ch_.nonce_hex)));
  EXPECT_TRUE(r.ok()) << auth_failure_label(r.failure);
  EXPECT_EQ(r.node_id, 42u);
  // The public_key field is ignored: only the registry's key counts.
  std::string text = reply(42, key_, compat_auth_message(42, ch_.ts, ch_.nonce_hex));
  text.replace(text.find(encode_public_key(key_.public_key)), 44, encode_public_key(other_.public_key));
  EXPECT_TRUE(check(text).ok());
}

TEST_F(WssAuth, EveryCheckFailsOnItsOwn) {
  const std::string good = compat_auth_message(42, ch_.ts, ch_.nonce_hex);
  auto failure = [&](const std::string& text, int64_t now = 1'700'000'005) { return check(text, now).failure; };
  EXPECT_EQ(failure(reply(42, other_, good)), AuthFailure::kBadSignature);
  EXPECT_EQ(failure(reply(42, key_, "compat_auth:42:" + ch_.nonce_hex)), AuthFailure::kBadSignature);  // pre-ts form
  EXPECT_EQ(failure(reply(43, key_, compat_auth_message(43, ch_.ts, ch_.nonce_hex))), AuthFailure::kUnknownNode);
  EXPECT_EQ(failure(reply(42, key_, good), ch_.ts + 31), AuthFailure::kStale);
  EXPECT_EQ(failure(reply(42, key_, good), ch_.ts + 30), AuthFailure::kNone);
  EXPECT_EQ(failure(reply(42, key_, good), ch_.ts - 1), AuthFailure::kStale);
  EXPECT_EQ(failure("not json"), AuthFailure::kBadJson);
  EXPECT_EQ(failure("[1,2]"), AuthFailure::kBadJson);
  EXPECT_EQ(failure(R"({"type":"auth_reply","node_id":"42","sig":""})"), AuthFailure::kBadJson);
  EXPECT_EQ(failure(R"({"type":7,"node_id":42})"), AuthFailure::kBadJson);
  EXPECT_EQ(failure(R"({"type":"hello","node_id":42})"), AuthFailure::kWrongType);
  EXPECT_EQ(failure(R"({"type":"auth_reply","node_id":0})"), AuthFailure::kBadNodeId);
  EXPECT_EQ(failure(R"({"type":"auth_reply"})"), AuthFailure::kBadNodeId);
  EXPECT_EQ(failure(R"({"type":"auth_reply","node_id":-42})"), AuthFailure::kBadNodeId);
  EXPECT_EQ(failure(R"({"type":"auth_reply","node_id":42.5})"), AuthFailure::kBadNodeId);
  EXPECT_EQ(failure(R"({"type":"auth_reply","node_id":4294967338})"), AuthFailure::kBadNodeId);  // 2^32 + 42
  EXPECT_EQ(failure(R"({"type":"auth_reply","node_id":42,"sig":"***"})"), AuthFailure::kBadSigEncoding);
  EXPECT_EQ(failure(R"({"type":"auth_reply","node_id":42,"sig":"AAAA"})"), AuthFailure::kBadSigEncoding);
  // Without a registry every id is unknown.
  EXPECT_EQ(check_auth_reply(reply(42, key_, good), ch_, ch_.ts, nullptr).failure, AuthFailure::kUnknownNode);
}

}  // namespace
}  // namespace pilot::beacon
