// The WebSocket bridge in-process (Service = engine + UDP server + bridge, a test
// Policy that knows three node keys), with real sockets on loopback: relays in both
// directions at once while a session is replaced, so the UDP reader threads'
// deliveries race the bridge's loop thread. Small enough to run under TSan
// (`cmake -DPILOT_TSAN=ON …`, then `ctest -R WssServer`).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/ed25519.h"
#include "net/beacon/messages.h"
#include "net/beacon/service.h"
#include "net/beacon/wss_auth.h"
#include "test/beacon/udp_client.h"
#include "test/beacon/ws_client.h"

namespace pilot::beacon {
namespace {

using namespace std::chrono_literals;
using testing::UdpClient;
using testing::WsClient;

class Keys : public Policy {
 public:
  Keys() {
    crypto_init();
    for (auto& k : keys_) k = KeyPair::generate();
  }
  std::optional<PublicKey> node_key(uint32_t id) override {
    if (id >= 1 && id <= keys_.size()) return keys_[id - 1].public_key;
    return std::nullopt;
  }
  const KeyPair& key(uint32_t id) const { return keys_[id - 1]; }

 private:
  std::array<KeyPair, 3> keys_;
};

std::unique_ptr<WsClient> authed(uint16_t port, const KeyPair& k, uint32_t id) {
  auto ws = std::make_unique<WsClient>(port);
  EXPECT_EQ(ws->upgrade().status, 101);
  auto ch = ws->recv();
  EXPECT_TRUE(ch);
  if (!ch) return ws;
  // The challenge's fields, without a JSON parser: {"type":…,"nonce":"<hex>","ts":N}.
  size_t n = ch->payload.find("\"nonce\":\"") + 9;
  std::string nonce = ch->payload.substr(n, 64);
  int64_t ts = std::stoll(ch->payload.substr(ch->payload.find("\"ts\":") + 5));
  std::string sig = encode_signature(k.sign(compat_auth_message(id, ts, nonce)));
  ws->send_text(R"({"type":"auth_reply","node_id":)" + std::to_string(id) + R"(,"sig":")" + sig + "\"}");
  auto ok = ws->recv();
  EXPECT_TRUE(ok && ok->payload == R"({"type":"auth_ok"})");
  return ws;
}

uint32_t seq_of(std::string_view payload) { return static_cast<uint32_t>(std::stoul(std::string(payload))); }

TEST(WssServer, RelaysBothWaysWhileASessionIsReplaced) {
  Keys keys;
  BeaconSetup setup;
  setup.server.addr = "127.0.0.1:0";
  setup.server.sockets = 2;
  setup.wss.addr = "127.0.0.1:0";
  Service service(setup, &keys);
  ASSERT_EQ(service.start(), "");
  const uint16_t port = service.wss()->port();
  const Endpoint beacon = Endpoint::v4(127, 0, 0, 1, service.server().port());

  UdpClient udp;  // node 3
  udp.send_to(beacon, encode(Discover{3, false, {}}));
  ASSERT_TRUE(udp.recv(2s));
  auto one = authed(port, keys.key(1), 1);
  auto two = authed(port, keys.key(2), 2);
  one->send_binary(encode(Discover{1, false, {}}));

  constexpr uint32_t kCount = 300;
  std::thread udp_sender([&] {
    for (uint32_t i = 0; i < kCount; ++i) {
      udp.send_to(beacon, encode(Relay{3, 1, std::to_string(i)}));
      udp.send_to(beacon, encode(Relay{3, 2, std::to_string(i)}));
      if (i % 50 == 0) std::this_thread::sleep_for(5ms);
    }
  });
  std::thread wss_sender([&] {
    for (uint32_t i = 0; i < kCount; ++i) one->send_binary(encode(Relay{1, 3, std::to_string(i)}));
  });
  std::unique_ptr<WsClient> two_again;
  std::thread replacer([&] {
    std::this_thread::sleep_for(10ms);
    two_again = authed(port, keys.key(2), 2);
  });

  // Node 1 gets every relay from node 3, in order, as 0x06 binary messages.
  uint32_t next = 0;
  while (next < kCount) {
    auto f = one->recv_data(5s);
    ASSERT_TRUE(f) << "relay " << next << " to the WSS node is missing";
    auto m = decode_relay_deliver(f->payload);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->sender, 3u);
    EXPECT_EQ(seq_of(m->payload), next++);
  }
  // Node 3 gets every relay from node 1, in order, over UDP.
  next = 0;
  while (next < kCount) {
    auto r = udp.recv(5s);
    ASSERT_TRUE(r) << "relay " << next << " to the UDP node is missing";
    if (r->bytes[0] != 0x06) continue;
    auto m = decode_relay_deliver(r->bytes);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->sender, 1u);
    EXPECT_EQ(seq_of(m->payload), next++);
  }
  udp_sender.join();
  wss_sender.join();
  replacer.join();
  // The first connection for id 2 was closed "replaced"; whatever each of the two got
  // is in order, with no relay twice.
  uint32_t last = 0;
  bool any = false, closed = false;
  while (auto f = two->recv(1s)) {
    if (f->opcode == 0x8) {
      EXPECT_EQ(f->close_code(), 1000);
      closed = true;
      break;
    }
    uint32_t s = seq_of(decode_relay_deliver(f->payload)->payload);
    EXPECT_TRUE(!any || s > last);
    last = s;
    any = true;
  }
  EXPECT_TRUE(closed);
  any = false;
  while (auto f = two_again->recv(300ms)) {
    uint32_t s = seq_of(decode_relay_deliver(f->payload)->payload);
    EXPECT_TRUE(!any || s > last) << s << " after " << last;
    last = s;
    any = true;
  }
  WssCounters k = service.wss()->counters();
  EXPECT_EQ(k.auth_ok, 3u);
  EXPECT_EQ(k.replaced, 1u);
  EXPECT_EQ(k.active_peers, 2u);
  EXPECT_EQ(k.frames_in, kCount + 1);
  service.stop();
  EXPECT_EQ(service.wss()->counters().active_peers, 0u);
}

}  // namespace
}  // namespace pilot::beacon
