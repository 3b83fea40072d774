// The WebSocket bridge (spec/beacon.md §10) in the real `rendezvous` binary on
// loopback, with this project's test client (ws_client.h): nodes are registered
// through the registry port, so the beacon's LogPolicy knows their keys; UDP nodes
// are ordinary sockets registered at the embedded beacon. Counters are read from the
// admin server's /metrics. Also: the standalone `beacon` with no registry refuses
// every auth.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "core/ed25519.h"
#include "net/beacon/messages.h"
#include "net/beacon/ws_codec.h"
#include "net/beacon/wss_auth.h"
#include "net/rpc/client.h"
#include "test/beacon/beacon_process.h"
#include "test/beacon/udp_client.h"
#include "test/beacon/ws_client.h"
#include "test/support/registry_fixture.h"
#include "test/support/temp_dir.h"

namespace pilot::beacon {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using rpc::Identity;
using testing::BeaconProcess;
using testing::UdpClient;
using testing::WsClient;
using testsupport::Registry;
using testsupport::with_flags;

uint16_t port_after(const std::string& out, const std::string& marker) {
  size_t at = out.find(marker);
  if (at == std::string::npos) return 0;
  at += marker.size();
  return static_cast<uint16_t>(std::stoul(out.substr(at, out.find_first_not_of("0123456789", at) - at)));
}

uint16_t wss_port(Registry& reg) {
  uint16_t p = port_after(reg.output(), "beacon: wss listening on 127.0.0.1:");
  EXPECT_NE(p, 0) << reg.output();
  return p;
}

// One sample of /metrics, e.g. `pilot_beacon_wss_auth_total{result="fail"}`; 0 if absent.
uint64_t metric(Registry& reg, const std::string& series) {
  WsClient http(reg.http_port());
  std::string body = http.get("/metrics").body;
  size_t at = body.find("\n" + series + " ");
  if (at == std::string::npos) return 0;
  return std::stoull(body.substr(at + series.size() + 2));
}

uint32_t register_node(Registry& reg, const Identity& id) {
  auto c = reg.client();
  json r = c.call(id.register_req("127.0.0.1:4000"));
  EXPECT_EQ(r.value("type", ""), "register_ok") << r.dump();
  return r.value("node_id", 0u);
}

// The challenge a freshly upgraded client receives.
json challenge(WsClient& ws) {
  auto f = ws.recv();
  EXPECT_TRUE(f && f->opcode == ws::kText) << "no text challenge";
  if (!f) return {};
  json j = json::parse(f->payload, nullptr, false);
  EXPECT_EQ(j.value("type", ""), "auth_challenge") << f->payload;
  EXPECT_EQ(j.value("nonce", "").size(), 64u);
  return j;
}

std::string reply(uint32_t node_id, const Identity& signer, const json& ch) {
  std::string text = compat_auth_message(node_id, ch.value("ts", int64_t{0}), ch.value("nonce", ""));
  return json{
      {"type", "auth_reply"}, {"node_id", node_id}, {"public_key", signer.pub_b64()}, {"sig", signer.sign_b64(text)}}
      .dump();
}

// Upgrade + challenge + signed reply + auth_ok, as a compat daemon does.
std::unique_ptr<WsClient> connect_authed(uint16_t port, const Identity& id, uint32_t node_id, bool tls = false) {
  auto ws = std::make_unique<WsClient>(port, tls);
  EXPECT_TRUE(ws->connected());
  WsClient::HttpReply up = ws->upgrade();
  EXPECT_EQ(up.status, 101) << up.head;
  EXPECT_TRUE(ws->accept_ok()) << up.head;
  EXPECT_NE(up.head.find("Sec-WebSocket-Protocol: pilot.v1\r\n"), std::string::npos) << up.head;
  json ch = challenge(*ws);
  ws->send_text(reply(node_id, id, ch));
  auto ok = ws->recv();
  EXPECT_TRUE(ok && ok->opcode == ws::kText && ok->payload == R"({"type":"auth_ok"})")
      << (ok ? ok->payload : "no auth_ok");
  return ws;
}

// The server's close frame (code, reason), then the end of the connection.
void expect_closed_with(WsClient& ws, uint16_t code, const std::string& reason = "") {
  auto f = ws.recv_data();
  ASSERT_TRUE(f) << "no close frame";
  EXPECT_EQ(f->opcode, ws::kClose) << f->payload;
  EXPECT_EQ(f->close_code(), code) << f->close_reason();
  if (!reason.empty()) {
    EXPECT_EQ(f->close_reason(), reason);
  }
  EXPECT_TRUE(ws.wait_eof()) << "connection left open after the close frame";
}

// A UDP node registered at the registry and (Discover) at the embedded beacon.
struct UdpNode {
  Identity id;
  uint32_t node_id = 0;
  UdpClient udp;
};
void register_udp(Registry& reg, UdpNode& n) {
  n.node_id = register_node(reg, n.id);
  const Endpoint beacon = Endpoint::v4(127, 0, 0, 1, reg.beacon_port());
  for (int attempt = 0; attempt < 5; ++attempt) {
    n.udp.send_to(beacon, encode(Discover{n.node_id, false, {}}));
    if (auto r = n.udp.recv(1s)) return;
  }
  ADD_FAILURE() << "no DiscoverReply for node " << n.node_id;
}

class Wss : public ::testing::Test {
 protected:
  Wss() : reg_(with_flags({"--beacon-wss-addr", "127.0.0.1:0"})), port_(wss_port(reg_)) {}
  Registry reg_;
  uint16_t port_;
};

TEST_F(Wss, HealthIs200AndOtherPaths404) {
  WsClient a(port_);
  WsClient::HttpReply r = a.get("/health");
  EXPECT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(r.body, "");
  WsClient b(port_);
  EXPECT_EQ(b.get("/nope").status, 404);
  WsClient c(port_);
  EXPECT_EQ(c.get("/v1/compat/extra").status, 404);
  WsClient d(port_);
  EXPECT_EQ(d.get("/v1/compat").status, 426);  // no upgrade headers
  WsClient e(port_);
  EXPECT_EQ(e.http("GARBAGE\r\n\r\n").status, 400);
  EXPECT_EQ(metric(reg_, R"(pilot_beacon_wss_upgrades_total{result="fail"})"), 1u);
  EXPECT_EQ(metric(reg_, R"(pilot_beacon_wss_upgrades_total{result="ok"})"), 0u);
}

TEST_F(Wss, ANodeAuthenticatesWithItsRegistryKey) {
  Identity alice;
  const uint32_t id = register_node(reg_, alice);
  auto ws = connect_authed(port_, alice, id);
  EXPECT_EQ(metric(reg_, R"(pilot_beacon_wss_auth_total{result="ok"})"), 1u);
  EXPECT_EQ(metric(reg_, "pilot_beacon_wss_peers"), 1u);
  // Text after the auth is ignored; the session stays.
  ws->send_text("hello");
  ws->send(ws::kPing, "are you there");
  auto pong = ws->recv();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->opcode, ws::kPong);
  EXPECT_EQ(pong->payload, "are you there");
}

TEST_F(Wss, EveryBadAuthClosesWith1008) {
  Identity alice, mallory;
  const uint32_t id = register_node(reg_, alice);
  struct Case {
    const char* what;
    std::function<void(WsClient&, const json&)> send;
  };
  const std::vector<Case> cases = {
      {"signature by another key", [&](WsClient& ws, const json& ch) { ws.send_text(reply(id, mallory, ch)); }},
      {"unknown node", [&](WsClient& ws, const json& ch) { ws.send_text(reply(id + 1000, alice, ch)); }},
      {"node id 0", [&](WsClient& ws, const json& ch) { ws.send_text(reply(0, alice, ch)); }},
      {"signed over another ts",
       [&](WsClient& ws, const json& ch) {
         json stale = ch;
         stale["ts"] = ch.value("ts", int64_t{0}) - 60;
         ws.send_text(reply(id, alice, stale));
       }},
      {"the old form without ts",
       [&](WsClient& ws, const json& ch) {
         json r = json::parse(reply(id, alice, ch));
         r["sig"] = alice.sign_b64("compat_auth:" + std::to_string(id) + ":" + ch.value("nonce", ""));
         ws.send_text(r.dump());
       }},
      {"non-JSON", [&](WsClient& ws, const json&) { ws.send_text("{not json"); }},
      {"binary reply", [&](WsClient& ws, const json& ch) { ws.send_binary(reply(id, alice, ch)); }},
      {"bad base64",
       [&](WsClient& ws, const json& ch) {
         json r = json::parse(reply(id, alice, ch));
         r["sig"] = "!!!";
         ws.send_text(r.dump());
       }},
      {"node id over 32 bits",
       [&](WsClient& ws, const json& ch) {
         json r = json::parse(reply(id, alice, ch));
         r["node_id"] = (uint64_t{1} << 32) + id;
         ws.send_text(r.dump());
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    WsClient ws(port_);
    ASSERT_EQ(ws.upgrade().status, 101);
    json ch = challenge(ws);
    c.send(ws, ch);
    expect_closed_with(ws, ws::kPolicyViolation, "auth failed");
  }
  EXPECT_EQ(metric(reg_, R"(pilot_beacon_wss_auth_total{result="fail"})"), cases.size());
  EXPECT_EQ(metric(reg_, R"(pilot_beacon_wss_auth_total{result="ok"})"), 0u);
  EXPECT_EQ(metric(reg_, "pilot_beacon_wss_peers"), 0u);
  // And the right key still gets in.
  connect_authed(port_, alice, id);
}

TEST_F(Wss, RelaysFlowBetweenAWssClientAndAUdpNode) {
  Identity alice;
  const uint32_t a = register_node(reg_, alice);
  UdpNode bob;
  register_udp(reg_, bob);
  auto ws = connect_authed(port_, alice, a);
  // A compat daemon's keepalive Discover registers it at the synthetic address, so the
  // relay sender check accepts its relays (its reply goes nowhere, as in the reference).
  ws->send_binary(encode(Discover{a, false, {}}));

  const std::string to_bob = std::string("\x00\x01\xfe\xff", 4) + std::string(1000, 'b');
  ws->send_binary(encode(Relay{a, bob.node_id, to_bob}));
  auto got = bob.udp.recv(5s);
  ASSERT_TRUE(got) << reg_.output();
  EXPECT_EQ(got->bytes, encode(RelayDeliver{a, to_bob}));
  EXPECT_EQ(got->from, Endpoint::v4(127, 0, 0, 1, reg_.beacon_port()));  // from the beacon's UDP address

  const std::string to_alice = std::string("\xff\x00", 2) + std::string(1400, 'a');
  bob.udp.send_to(Endpoint::v4(127, 0, 0, 1, reg_.beacon_port()), encode(Relay{bob.node_id, a, to_alice}));
  auto f = ws->recv_data();
  ASSERT_TRUE(f) << reg_.output();
  EXPECT_EQ(f->opcode, ws::kBinary);
  EXPECT_EQ(f->payload, encode(RelayDeliver{bob.node_id, to_alice}));
  EXPECT_EQ(metric(reg_, "pilot_beacon_wss_frames_in_total"), 2u);
  EXPECT_EQ(metric(reg_, "pilot_beacon_wss_frames_out_total"), 1u);
  EXPECT_EQ(metric(reg_, "pilot_beacon_relay_forwarded_total"), 2u);
  // No DiscoverReply came back over the socket: it is addressed to 192.0.2.1.
  EXPECT_FALSE(ws->recv(200ms));
}

TEST_F(Wss, AWssIdWithoutADiscoverStillGetsRelaysFirst) {
  // §10.4: the session is asked before the node table; alice never sent a Discover.
  Identity alice;
  const uint32_t a = register_node(reg_, alice);
  UdpNode bob;
  register_udp(reg_, bob);
  auto ws = connect_authed(port_, alice, a);
  bob.udp.send_to(Endpoint::v4(127, 0, 0, 1, reg_.beacon_port()), encode(Relay{bob.node_id, a, "hi"}));
  auto f = ws->recv_data();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload, encode(RelayDeliver{bob.node_id, "hi"}));
}

TEST_F(Wss, EmptyAndOneBytePacketsAreDroppedWithoutAReply) {
  // §5.1 and §18.11 over WSS: a 0-byte binary message is possible here, and nothing
  // short may crash the dispatcher or produce a reply.
  Identity alice;
  const uint32_t a = register_node(reg_, alice);
  auto ws = connect_authed(port_, alice, a);
  ws->send_binary("");
  for (char type : {'\x01', '\x03', '\x05', '\x07', '\x00', '\xff'}) ws->send_binary(std::string(1, type));
  ws->send(ws::kPing, "after");
  auto f = ws->recv();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, ws::kPong);  // nothing came before it
  EXPECT_EQ(metric(reg_, "pilot_beacon_wss_frames_in_total"), 7u);
  EXPECT_EQ(metric(reg_, R"(pilot_beacon_dropped_total{reason="empty"})"), 1u);
  EXPECT_EQ(metric(reg_, R"(pilot_beacon_dropped_total{reason="short"})"), 4u);
  EXPECT_EQ(metric(reg_, R"(pilot_beacon_dropped_total{reason="unknown_type"})"), 2u);
}

TEST_F(Wss, ASecondConnectionReplacesTheFirst) {
  Identity alice;
  const uint32_t a = register_node(reg_, alice);
  UdpNode bob;
  register_udp(reg_, bob);
  auto first = connect_authed(port_, alice, a);
  auto second = connect_authed(port_, alice, a);
  expect_closed_with(*first, ws::kNormal, "replaced");
  // The old connection's exit did not remove the new session.
  bob.udp.send_to(Endpoint::v4(127, 0, 0, 1, reg_.beacon_port()), encode(Relay{bob.node_id, a, "to the new one"}));
  auto f = second->recv_data();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload, encode(RelayDeliver{bob.node_id, "to the new one"}));
  EXPECT_EQ(metric(reg_, "pilot_beacon_wss_peers"), 1u);
  EXPECT_EQ(metric(reg_, R"(pilot_beacon_wss_disconnects_total{reason="replaced"})"), 1u);
}

TEST_F(Wss, AnOversizedMessageCloses) {
  Identity alice;
  const uint32_t a = register_node(reg_, alice);
  auto ws = connect_authed(port_, alice, a);
  ws->send_binary(std::string(65536, '\x05'));  // exactly the limit: a (short) relay, dropped by the engine
  ws->send_binary(std::string(128 * 1024, '\x05'));
  expect_closed_with(*ws, ws::kMessageTooBig);
  EXPECT_EQ(metric(reg_, R"(pilot_beacon_wss_disconnects_total{reason="oversized"})"), 1u);
  EXPECT_EQ(metric(reg_, "pilot_beacon_wss_frames_in_total"), 1u);
  EXPECT_EQ(metric(reg_, "pilot_beacon_wss_peers"), 0u);
  // Before the auth too: the limit applies from the upgrade on.
  WsClient pre(port_);
  ASSERT_EQ(pre.upgrade().status, 101);
  challenge(pre);
  pre.send_text(std::string(70000, ' '));
  expect_closed_with(pre, ws::kMessageTooBig);
  connect_authed(port_, alice, a);  // still serving
}

// Bytes are read into one shared chunk: a connection keeps only what it has not parsed,
// so 100 unauthenticated peers and one that sent 480 KB and went quiet hold a few KB
// each, not a 64 KiB read buffer apiece.
TEST_F(Wss, QuietConnectionsHoldLittleReadBuffer) {
  std::vector<std::unique_ptr<WsClient>> unauthenticated;
  for (int i = 0; i < 100; ++i) {
    auto ws = std::make_unique<WsClient>(port_);
    ASSERT_EQ(ws->upgrade().status, 101);
    challenge(*ws);
    unauthenticated.push_back(std::move(ws));
  }
  Identity alice;
  auto ws = connect_authed(port_, alice, register_node(reg_, alice));
  for (int i = 0; i < 8; ++i) ws->send_binary(std::string(60000, '\x05'));  // relays to nobody: dropped
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  uint64_t held = 0;
  for (;;) {
    const bool all_in = metric(reg_, "pilot_beacon_wss_frames_in_total") == 8;
    held = metric(reg_, "pilot_beacon_wss_read_buffer_bytes");
    if ((all_in && held <= 101 * 4096) || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(metric(reg_, "pilot_beacon_wss_frames_in_total"), 8u);
  EXPECT_LE(held, 101u * 4096) << "read buffer held by 101 quiet connections";
  EXPECT_GT(held, 0u) << "the gauge counts the connections' buffers";
}

TEST_F(Wss, BadFramesAreDroppedCountedAndTheServerKeepsServing) {
  Identity alice;
  const uint32_t a = register_node(reg_, alice);
  UdpNode bob;
  register_udp(reg_, bob);
  const std::string relay = encode(Relay{a, bob.node_id, "must not arrive"});
  const std::array<uint8_t, 4> mask = {1, 2, 3, 4};
  std::vector<std::pair<const char*, std::string>> bad = {
      {"unmasked", ws::encode_frame(ws::kBinary, relay)},
      {"reserved bits", ws::encode_client_frame(ws::kBinary, relay, mask, true, 4)},
      {"reserved opcode", ws::encode_client_frame(static_cast<ws::Opcode>(5), relay, mask)},
      {"huge length", std::string("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04", 14)},
  };
  for (const auto& [what, bytes] : bad) {
    SCOPED_TRACE(what);
    auto ws = connect_authed(port_, alice, a);
    ws->send_binary(encode(Discover{a, false, {}}));
    ws->send_raw(bytes);
    expect_closed_with(*ws, ws::kProtocolError);
  }
  {
    SCOPED_TRACE("truncated");
    auto ws = connect_authed(port_, alice, a);
    std::string frame = ws::encode_client_frame(ws::kBinary, relay, mask);
    ws->send_raw(frame.substr(0, frame.size() / 2));
    ::shutdown(ws->fd(), SHUT_WR);
    EXPECT_TRUE(ws->wait_eof());
  }
  EXPECT_FALSE(bob.udp.recv(300ms)) << "a relay inside a bad frame was forwarded";
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (metric(reg_, R"(pilot_beacon_wss_disconnects_total{reason="protocol_error"})") < 5 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(metric(reg_, R"(pilot_beacon_wss_disconnects_total{reason="protocol_error"})"), 5u);
  // Still serving, and relays from a good frame pass.
  auto ws = connect_authed(port_, alice, a);
  ws->send_binary(encode(Discover{a, false, {}}));
  ws->send_binary(relay);
  auto got = bob.udp.recv(5s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes, encode(RelayDeliver{a, "must not arrive"}));
}

TEST_F(Wss, APeerThatStopsReadingIsDroppedAfterTheWriteBound) {
  Identity alice;
  const uint32_t a = register_node(reg_, alice);
  UdpNode bob;
  register_udp(reg_, bob);
  auto ws = connect_authed(port_, alice, a);  // and then never reads again
  const Endpoint beacon = Endpoint::v4(127, 0, 0, 1, reg_.beacon_port());
  const std::string relay = encode(Relay{bob.node_id, a, std::string(8000, 'z')});
  const std::string dropped = R"(pilot_beacon_wss_disconnects_total{reason="write_timeout"})";
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  bool gone = false;
  while (!gone && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 100; ++i) bob.udp.send_to(beacon, relay);  // under the 4000/s relay budget
    std::this_thread::sleep_for(50ms);
    gone = metric(reg_, "pilot_beacon_wss_peers") == 0;
  }
  ASSERT_TRUE(gone) << "a stalled peer was never dropped";
  EXPECT_EQ(metric(reg_, dropped), 1u);
  EXPECT_GT(metric(reg_, "pilot_beacon_wss_deliveries_refused_total"), 0u);  // its queue filled first
  EXPECT_GT(metric(reg_, "pilot_beacon_relay_dropped_total"), 0u);
  connect_authed(port_, alice, a);  // the id may come back
}

TEST_F(Wss, ShutdownClosesPeersWith1001) {
  Identity alice;
  const uint32_t a = register_node(reg_, alice);
  auto ws = connect_authed(port_, alice, a);
  std::thread stop([this] { reg_.terminate(); });
  expect_closed_with(*ws, ws::kGoingAway, "beacon shutting down");
  stop.join();
  EXPECT_NE(reg_.output().find("beacon: wss stats peers=0 upgrade_ok=1"), std::string::npos) << reg_.output();
}

TEST(WssLimits, PingsAreAnsweredButOnlyDataKeepsASessionAlive) {
  Registry reg(with_flags({"--beacon-wss-addr", "127.0.0.1:0", "--beacon-wss-idle-timeout", "2s"}));
  const uint16_t port = wss_port(reg);
  Identity alice, bob;
  const uint32_t a = register_node(reg, alice), b = register_node(reg, bob);
  auto pinger = connect_authed(port, alice, a);
  auto talker = connect_authed(port, bob, b);
  const auto start = std::chrono::steady_clock::now();
  bool pinger_closed = false;
  while (std::chrono::steady_clock::now() - start < 3500ms) {
    if (!pinger_closed) {
      pinger->send(ws::kPing, "p");
      auto f = pinger->recv(1s);
      ASSERT_TRUE(f);
      if (f->opcode == ws::kClose) {
        EXPECT_EQ(f->close_code(), ws::kGoingAway);
        EXPECT_EQ(f->close_reason(), "idle timeout");
        pinger_closed = true;
      } else {
        EXPECT_EQ(f->opcode, ws::kPong);
        EXPECT_EQ(f->payload, "p");
      }
    }
    talker->send_binary(encode(Discover{b, false, {}}));
    std::this_thread::sleep_for(300ms);
  }
  EXPECT_TRUE(pinger_closed) << "pings kept an idle session open";
  EXPECT_TRUE(pinger->wait_eof());
  talker->send(ws::kPing, "still here");
  auto f = talker->recv(2s);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, ws::kPong) << "a session sending data was dropped";
  EXPECT_EQ(metric(reg, R"(pilot_beacon_wss_disconnects_total{reason="idle"})"), 1u);
}

TEST(WssLimits, AtTheSessionCapAnUpgradeGets503) {
  // --wss-addr: the Go rendezvous's name for --beacon-wss-addr.
  Registry reg(with_flags({"--wss-addr", "127.0.0.1:0", "--beacon-wss-max-peers", "1"}));
  const uint16_t port = wss_port(reg);
  Identity alice;
  const uint32_t a = register_node(reg, alice);
  auto ws = connect_authed(port, alice, a);
  WsClient second(port);
  WsClient::HttpReply r = second.upgrade();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "wss: at capacity\n");
}

TEST(WssStandalone, WithoutARegistryEveryAuthFails) {
  BeaconProcess beacon({"-addr", "127.0.0.1:0", "-wss-addr", "127.0.0.1:0"});
  ASSERT_TRUE(beacon.started()) << beacon.output();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  uint16_t port = 0;
  while (!(port = port_after(beacon.output(), "beacon: wss listening on 127.0.0.1:")) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  ASSERT_NE(port, 0) << beacon.output();
  Identity alice;
  WsClient ws(port);
  ASSERT_EQ(ws.upgrade().status, 101);
  json ch = challenge(ws);
  ws.send_text(reply(7, alice, ch));
  expect_closed_with(ws, ws::kPolicyViolation, "auth failed");
  WsClient health(port);
  EXPECT_EQ(health.get("/health").status, 200);
}

}  // namespace
}  // namespace pilot::beacon

namespace pilot::beacon {
namespace {

// A self-signed P-256 certificate for "localhost" and its key, as PEM files in `dir`.
void write_self_signed(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  ASSERT_GT(X509_sign(x, key, EVP_sha256()), 0);
  FILE* f = std::fopen(cert_path.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(key_path.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
}

TEST(WssTls, WithACertificateTheBridgeServesWssItself) {
  testsupport::TempDir dir;
  const std::string cert = dir.path() + "/cert.pem", key = dir.path() + "/key.pem";
  write_self_signed(cert, key);
  Registry reg(with_flags({"--beacon-wss-addr", "127.0.0.1:0", "--beacon-wss-cert", cert, "--beacon-wss-key", key}));
  const uint16_t port = wss_port(reg);
  EXPECT_NE(reg.output().find("(TLS; /v1/compat, /health)"), std::string::npos) << reg.output();

  WsClient health(port, /*tls=*/true);
  ASSERT_TRUE(health.connected());
  WsClient::HttpReply h = health.get("/health");
  EXPECT_EQ(h.status, 200) << h.head;

  Identity alice;
  const uint32_t a = register_node(reg, alice);
  UdpNode bob;
  register_udp(reg, bob);
  auto ws = connect_authed(port, alice, a, /*tls=*/true);
  ws->send_binary(encode(Discover{a, false, {}}));
  const Endpoint beacon = Endpoint::v4(127, 0, 0, 1, reg.beacon_port());
  // Several records' worth each way, so partial TLS writes and buffered records occur.
  const std::string big(60000, 'q');
  // Two at a time: a burst of 60 KB datagrams could overflow the beacon's UDP receive
  // buffer where net.core.rmem_max is small.
  for (int i = 0; i < 20; ++i) {
    if (i % 2 == 0)
      for (int k = i; k < i + 2; ++k) bob.udp.send_to(beacon, encode(Relay{bob.node_id, a, big + std::to_string(k)}));
    auto f = ws->recv_data();
    ASSERT_TRUE(f) << "relay " << i << (ws->eof() ? " (closed)\n" : "\n") << reg.output();
    EXPECT_EQ(f->payload, encode(RelayDeliver{bob.node_id, big + std::to_string(i)}));
  }
  ws->send_binary(encode(Relay{a, bob.node_id, "over tls"}));
  auto got = bob.udp.recv(5s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes, encode(RelayDeliver{a, "over tls"}));

  // Plain HTTP to the TLS port gets no HTTP answer.
  WsClient plain(port);
  EXPECT_EQ(plain.get("/health").status, 0);
}

}  // namespace
}  // namespace pilot::beacon
