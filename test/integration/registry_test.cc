// The registry port of the real `rendezvous` binary, driven over loopback the way a
// Go daemon drives it. Every expectation is taken from spec/rendezvous.md (section
// numbers in the test names and comments); error texts are compared exactly, after
// the §3.2 sanitiser. Each bad-input test also checks that the server still answers a
// fresh client afterwards — one bad peer must never take the registry down.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "core/address.h"
#include "core/base64.h"
#include "net/rpc/client.h"
#include "net/rpc/wire.h"
#include "test/support/registry_fixture.h"

namespace pilot {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using rpc::Client;
using rpc::ClientError;
using rpc::Identity;
using rpc::Mode;
using testsupport::Registry;
using testsupport::RegistryOptions;
using wire::MsgType;

const std::string kAdmin = "admin-s3cret";
const std::string kBeacon = "198.51.100.7:9001";

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The error text of an error response, or a marker that makes EXPECT_EQ print the body.
std::string err_of(const json& r) {
  if (r.value("type", "") != "error") return "<not an error: " + r.dump() + ">";
  return r.value("error", "<no error field>");
}

json with(json req, const json& extra) {
  for (const auto& [k, v] : extra.items()) req[k] = v;
  return req;
}

// Signed register; returns the node ID (0, with a failure recorded, if refused).
uint32_t register_node(Client& c, const Identity& id, const std::string& listen = "0.0.0.0:4000",
                       const json& extra = json::object()) {
  json r = c.call(with(id.register_req(listen), extra));
  EXPECT_EQ(r.value("type", ""), "register_ok") << r.dump();
  return r.value("node_id", 0u);
}

json ok(Client& c, const json& req, const std::string& type) {
  json r = c.call(req);
  EXPECT_EQ(r.value("type", ""), type) << "request " << req.dump() << "\nresponse " << r.dump();
  return r;
}

// A fresh connection is served: the registry survived whatever the test just did.
void expect_serves(Registry& reg) {
  auto c = reg.client();
  EXPECT_EQ(err_of(c.call(rpc::lookup_req(4242))), "node 4242: node not found");
}

void expect_heartbeat_ok_bytes(const std::string& raw) {
  static const std::regex kShape(R"(\{"time":(-?\d+),"type":"heartbeat_ok"\})");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(raw, m, kShape)) << raw;
  EXPECT_NEAR(static_cast<double>(std::stoll(m[1].str())), static_cast<double>(unix_now()), 2.0) << raw;
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// ==== the client itself, against an in-test fake server ==============================

// One-connection loopback server running `script` on the accepted socket.
class FakeServer {
 public:
  template <class F>
  explicit FakeServer(F script) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 4) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("fake server setup failed");
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, script] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c >= 0) {
        script(c);
        ::close(c);
      }
    });
  }
  ~FakeServer() {
    thread_.join();
    ::close(fd_);
  }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }

  static std::string read_n(int fd, size_t n) {
    std::string s(n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t k = ::read(fd, s.data() + got, n - got);
      if (k <= 0) return s.substr(0, got);
      got += static_cast<size_t>(k);
    }
    return s;
  }
  static void write_s(int fd, const std::string& s) {
    if (::write(fd, s.data(), s.size()) != static_cast<ssize_t>(s.size())) std::abort();
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST(ClientSelfTest, JsonFramingRawBytesCloseAndTimeout) {
  const std::string body = R"({"type":"x","a":1})";
  std::string seen;
  FakeServer fake([&](int fd) {
    seen = FakeServer::read_n(fd, 4 + body.size());
    FakeServer::write_s(fd, wire::json_frame(R"({"b":1,"type":"x_ok"})"));
    FakeServer::read_n(fd, 4 + 2);  // second request: answered with silence, then close
    std::this_thread::sleep_for(400ms);
  });
  auto c = Client::connect(fake.addr());
  EXPECT_EQ(c.call_raw(body), R"({"b":1,"type":"x_ok"})");
  EXPECT_EQ(seen, be32(static_cast<uint32_t>(body.size())) + body);
  c.set_recv_timeout(100ms);
  try {
    c.call_raw("{}");
    ADD_FAILURE() << "no timeout";
  } catch (const ClientError& e) {
    EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(c.wait_closed(3s));
}

TEST(ClientSelfTest, BinaryPreambleFramesAndErrorFrame) {
  std::string preamble, frame;
  FakeServer fake([&](int fd) {
    preamble = FakeServer::read_n(fd, 5);
    frame = FakeServer::read_n(fd, 4 + 1 + 4);
    FakeServer::write_s(fd, wire::binary_frame(MsgType::kError, wire::encode_error("node 9: not found")));
    FakeServer::read_n(fd, 4 + 1 + 4);
    wire::LookupResponse r;
    r.node_id = 9;
    r.networks = {0};
    FakeServer::write_s(fd, wire::binary_frame(MsgType::kLookupResponse, wire::encode(r)));
  });
  auto c = Client::connect(fake.addr(), Mode::kBinary);
  auto r = c.lookup(9);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error, "node 9: not found");
  EXPECT_EQ(preamble, std::string("PILT\x01", 5));
  EXPECT_EQ(frame, be32(5) + std::string("\x02\x00\x00\x00\x09", 5));
  auto r2 = c.lookup(9);
  ASSERT_TRUE(r2.ok()) << r2.error;
  EXPECT_EQ(r2->node_id, 9u);
  EXPECT_THROW(c.recv_frame(), ClientError);  // server closed
}

// ==== the "must show" walk-through, JSON mode ========================================

TEST(RegistryLifecycle, TwoNodesRegisterHandshakeNetworkRotateDeregister) {
  Registry reg(testsupport::with_flags({"--admin-token", kAdmin}));
  auto ca = reg.client();
  auto cb = reg.client();
  Identity alice, bob;

  // §6.1 register: first IDs 1, 2; backbone address; sanitised endpoint echoed.
  json ra = ok(ca, alice.register_req("0.0.0.0:4000"), "register_ok");
  EXPECT_EQ(ra["node_id"], 1);
  EXPECT_EQ(ra["network_id"], 0);
  EXPECT_EQ(ra["address"], "0:0000.0000.0001");
  EXPECT_EQ(ra["public_key"], alice.pub_b64());
  EXPECT_EQ(ra["observed_addr"], "127.0.0.1:4000");
  EXPECT_EQ(ra["protocol_version"], 1);
  EXPECT_FALSE(ra.contains("hostname_error")) << ra.dump();
  json rb = ok(cb, with(bob.register_req("0.0.0.0:4001"), {{"lan_addrs", {"192.168.1.20:4001"}}, {"hostname", "bob"}}),
               "register_ok");
  EXPECT_EQ(rb["node_id"], 2);
  EXPECT_EQ(rb["address"], "0:0000.0000.0002");
  EXPECT_EQ(rb["hostname"], "bob");
  const uint32_t a = 1, b = 2;

  // §6.2 heartbeat, byte-exact.
  expect_heartbeat_ok_bytes(ca.call_raw(alice.heartbeat_req(a).dump()));
  expect_heartbeat_ok_bytes(cb.call_raw(bob.heartbeat_req(b).dump()));

  // §6.3 lookups of each other: private by default, so no endpoint.
  json la = ok(cb, rpc::lookup_req(a), "lookup_ok");
  EXPECT_EQ(la["node_id"], a);
  EXPECT_EQ(la["address"], "0:0000.0000.0001");
  EXPECT_EQ(la["networks"], json::array({0}));
  EXPECT_EQ(la["public_key"], alice.pub_b64());
  EXPECT_EQ(la["public"], false);
  EXPECT_EQ(la["key_generation"], 0);
  EXPECT_NEAR(la.value("last_seen_unix", 0.0), static_cast<double>(unix_now()), 5.0) << la.dump();
  for (const char* hidden : {"real_addr", "endpoint", "lan_addrs", "owner", "external_id"})
    EXPECT_FALSE(la.contains(hidden)) << hidden << " in " << la.dump();
  json lb = ok(ca, rpc::lookup_req(b), "lookup_ok");
  EXPECT_EQ(lb["hostname"], "bob");
  EXPECT_FALSE(lb.contains("lan_addrs")) << lb.dump();

  // §6.4 resolve of a private node without trust: denied (sanitised, §3.2).
  EXPECT_EQ(err_of(ca.call(alice.resolve_req(a, b))), "request failed");
  EXPECT_EQ(ok(ca, rpc::check_trust_req(a, b), "check_trust_ok")["trusted"], false);

  // §6.15 relayed handshake: request → poll → respond → poll.
  json rq = ok(ca, alice.request_handshake_req(a, b, "let me in"), "request_handshake_ok");
  EXPECT_EQ(rq["status"], "delivered");
  EXPECT_EQ(err_of(ca.call(alice.request_handshake_req(a, b, "again"))),
            "handshake request already pending from node 1");
  json pb = ok(cb, bob.poll_handshakes_req(b), "poll_handshakes_ok");
  ASSERT_EQ(pb["requests"].size(), 1u) << pb.dump();
  EXPECT_EQ(pb["requests"][0]["from_node_id"], a);
  EXPECT_EQ(pb["requests"][0]["justification"], "let me in");
  EXPECT_NEAR(pb["requests"][0].value("timestamp", 0.0), static_cast<double>(unix_now()), 5.0);
  EXPECT_EQ(pb["responses"], json::array());
  json pb2 = ok(cb, bob.poll_handshakes_req(b), "poll_handshakes_ok");  // drained
  EXPECT_EQ(pb2["requests"], json::array()) << pb2.dump();
  EXPECT_EQ(pb2["responses"], json::array()) << pb2.dump();
  json resp = ok(cb, bob.respond_handshake_req(b, a, true), "respond_handshake_ok");
  EXPECT_EQ(resp["accept"], true);
  EXPECT_EQ(resp["peer_id"], a);
  json pa = ok(ca, alice.poll_handshakes_req(a), "poll_handshakes_ok");
  EXPECT_EQ(pa["requests"], json::array()) << pa.dump();
  ASSERT_EQ(pa["responses"].size(), 1u) << pa.dump();
  EXPECT_EQ(pa["responses"][0]["from_node_id"], b);
  EXPECT_EQ(pa["responses"][0]["accept"], true);

  // §6.14 trust is symmetric; §6.4 resolve now returns the endpoint.
  EXPECT_EQ(ok(ca, rpc::check_trust_req(a, b), "check_trust_ok")["trusted"], true);
  EXPECT_EQ(ok(cb, rpc::check_trust_req(b, a), "check_trust_ok")["trusted"], true);
  json rs = ok(ca, alice.resolve_req(a, b), "resolve_ok");
  EXPECT_EQ(rs["node_id"], b);
  EXPECT_EQ(rs["real_addr"], "127.0.0.1:4001");
  EXPECT_EQ(rs["lan_addrs"], json::array({"192.168.1.20:4001"}));
  EXPECT_EQ(rs["relay_only"], false);
  EXPECT_EQ(rs["key_age_days"], 0);
  EXPECT_EQ(ok(cb, bob.resolve_req(b, a), "resolve_ok")["real_addr"], "127.0.0.1:4000");

  // §6.16 networks: admin creates, bob joins (network-scoped address), leaves.
  json cn = ok(ca, {{"type", "create_network"}, {"node_id", a}, {"name", "lab"}, {"admin_token", kAdmin}},
               "create_network_ok");
  EXPECT_EQ(cn["network_id"], 1);
  EXPECT_EQ(cn["name"], "lab");
  EXPECT_EQ(cn["enterprise"], false);
  json jn = ok(cb, bob.join_network_req(b, 1), "join_network_ok");
  EXPECT_EQ(jn["network_id"], 1);
  EXPECT_EQ(jn["address"], "1:0001.0000.0002");
  EXPECT_EQ(err_of(cb.call(bob.join_network_req(b, 1))), "node 2 already in network 1");
  EXPECT_EQ(err_of(cb.call(bob.join_network_req(b, 0))), "cannot join the backbone network");
  EXPECT_EQ(ok(ca, rpc::lookup_req(b), "lookup_ok")["networks"], json::array({0, 1}));
  EXPECT_EQ(ok(cb, bob.leave_network_req(b, 1), "leave_network_ok")["network_id"], 1);
  EXPECT_EQ(ok(ca, rpc::lookup_req(b), "lookup_ok")["networks"], json::array({0}));
  EXPECT_EQ(err_of(cb.call(bob.leave_network_req(b, 1))), "node 2 is not a member of network 1");

  // §6.20 rotate_key: only the current key over "rotate:<id>:<new key>" works.
  Identity bob2;
  json by_new = bob2.rotate_key_req(b, bob2.pub_b64());
  EXPECT_NE(err_of(cb.call(by_new)).find("signature"), std::string::npos);
  json old_style = bob.rotate_key_req(b, bob2.pub_b64());
  old_style["signature"] = bob.sign_b64("rotate:2");
  EXPECT_NE(err_of(cb.call(old_style)).find("signature"), std::string::npos);
  EXPECT_EQ(ok(ca, rpc::lookup_req(b), "lookup_ok")["public_key"], bob.pub_b64());
  json rk = ok(cb, bob.rotate_key_req(b, bob2.pub_b64()), "rotate_key_ok");
  EXPECT_EQ(rk["node_id"], b);
  EXPECT_EQ(rk["address"], "0:0000.0000.0002");
  EXPECT_EQ(rk["public_key"], bob2.pub_b64());
  json lb2 = ok(ca, rpc::lookup_req(b), "lookup_ok");
  EXPECT_EQ(lb2["public_key"], bob2.pub_b64());
  EXPECT_EQ(lb2["key_generation"], 1);
  expect_heartbeat_ok_bytes(cb.call_raw(bob2.heartbeat_req(b).dump()));

  // §6.11 deregister: the old key no longer speaks for node 2; idempotent; trust survives.
  EXPECT_EQ(err_of(cb.call(bob.deregister_req(b))), "signature verification failed");
  EXPECT_EQ(cb.call_raw(bob2.deregister_req(b).dump()), R"({"type":"deregister_ok"})");
  EXPECT_EQ(err_of(ca.call(rpc::lookup_req(b))), "node 2: node not found");
  EXPECT_EQ(cb.call_raw(bob2.deregister_req(b).dump()), R"({"type":"deregister_ok"})");
  EXPECT_EQ(ok(ca, rpc::check_trust_req(a, b), "check_trust_ok")["trusted"], true);
  // §7.5: same key reclaims its ID; the rotated-away key is a stranger now.
  EXPECT_EQ(register_node(cb, bob2, "0.0.0.0:4001"), b);
  EXPECT_EQ(register_node(cb, bob, "0.0.0.0:4002"), 3u);
}

// ==== binary mode (§2.4) =============================================================

TEST(RegistryBinary, HeartbeatLookupResolve) {
  Registry reg;
  auto j = reg.client();
  Identity alice, bob;
  const uint32_t a = register_node(j, alice, "0.0.0.0:4000");
  // Unsigned: bob's key has never been verified, so the bad heartbeat below is checked.
  json rb =
      ok(j, with(bob.unsigned_register_req("0.0.0.0:4001"), {{"lan_addrs", {"192.168.1.20:4001"}}}), "register_ok");
  const uint32_t b = rb["node_id"];
  auto c = reg.client(Mode::kBinary);

  auto bad = c.heartbeat(b, alice.sign(wire::heartbeat_challenge(b)));
  EXPECT_EQ(bad.error, "signature verification failed");
  auto hb = c.heartbeat(a, alice.sign(wire::heartbeat_challenge(a)));
  ASSERT_TRUE(hb.ok()) << hb.error;
  EXPECT_NEAR(static_cast<double>(hb->unix_time), static_cast<double>(unix_now()), 2.0);
  EXPECT_FALSE(hb->key_expiry_warning);
  EXPECT_EQ(c.heartbeat(99, alice.sign(wire::heartbeat_challenge(99))).error, "node 99: not found");

  auto lk = c.lookup(a);
  ASSERT_TRUE(lk.ok()) << lk.error;
  EXPECT_EQ(lk->node_id, a);
  EXPECT_FALSE(lk->is_public);
  EXPECT_FALSE(lk->task_exec);
  EXPECT_EQ(lk->networks, std::vector<uint16_t>{0});
  EXPECT_EQ(lk->public_key, alice.public_key());
  EXPECT_EQ(lk->real_addr, "");  // private
  EXPECT_EQ(c.lookup(77).error, "node 77: not found");

  ok(j, alice.set_visibility_req(a, true), "set_visibility_ok");
  // Raw bytes: reserved 4 bytes after the flags are zero and extid_len is 0 (§2.4).
  c.send_frame(MsgType::kLookup, wire::encode(wire::LookupRequest{a}));
  auto raw = c.recv_frame();
  ASSERT_EQ(raw.type, MsgType::kLookupResponse);
  ASSERT_GE(raw.payload.size(), 10u);
  EXPECT_EQ(raw.payload[4], '\x01');  // public
  EXPECT_EQ(raw.payload.substr(5, 4), std::string(4, '\0'));
  EXPECT_EQ(raw.payload.back(), '\0');
  auto pub = wire::decode_lookup_response(raw.payload);
  ASSERT_TRUE(pub);
  EXPECT_EQ(pub->real_addr, "127.0.0.1:4000");

  // Resolve: private target refused with the JSON text (binary errors are not sanitised).
  EXPECT_EQ(c.resolve(b, a, alice.sign(wire::resolve_challenge(a, b))).error,
            "resolve denied: node 2 is private (establish mutual trust first)");
  EXPECT_EQ(c.resolve(b, a, bob.sign(wire::resolve_challenge(a, b))).error, "signature verification failed");
  EXPECT_EQ(c.resolve(b, 50, alice.sign(wire::resolve_challenge(50, b))).error,
            "resolve denied: requester node 50 is not registered");
  ok(j, alice.report_trust_req(a, b), "report_trust_ok");
  auto rs = c.resolve(b, a, alice.sign(wire::resolve_challenge(a, b)));
  ASSERT_TRUE(rs.ok()) << rs.error;
  EXPECT_EQ(rs->node_id, b);
  EXPECT_EQ(rs->real_addr, "127.0.0.1:4001");
  EXPECT_EQ(rs->lan_addrs, std::vector<std::string>{"192.168.1.20:4001"});
  EXPECT_EQ(rs->key_age_days, 0u);
}

TEST(RegistryBinary, JsonPassthroughMatchesJsonMode) {
  Registry reg;
  auto j = reg.client();
  Identity alice;
  const uint32_t a = register_node(j, alice, "0.0.0.0:4000", {{"hostname", "alice"}});
  auto c = reg.client(Mode::kBinary);
  for (const json& req : {rpc::lookup_req(a), rpc::lookup_req(31337), json{{"type", "frobnicate"}},
                          json{{"type", "resolve_hostname"}, {"hostname", "alice"}, {"requester_id", a}}}) {
    const std::string body = req.dump();
    const std::string via_json = j.call_raw(body);
    c.send_frame(MsgType::kJson, body);
    auto f = c.recv_frame();
    EXPECT_EQ(f.type, MsgType::kJson) << body;
    EXPECT_EQ(f.payload, via_json) << body;
  }
  EXPECT_EQ(c.call_raw(R"({"type":"frobnicate"})"), R"({"error":"request failed","type":"error"})");
  // §2.4: replication is JSON-mode only.
  c.send_frame(MsgType::kJson, R"({"type":"subscribe_replication","token":"x"})");
  auto f = c.recv_frame();
  ASSERT_EQ(f.type, MsgType::kError);
  EXPECT_EQ(wire::decode_error(f.payload), "replication not supported over binary protocol");
  // Undecodable JSON in a 0x00 frame → 0xFF "json decode: …".
  auto c2 = reg.client(Mode::kBinary);
  c2.send_frame(MsgType::kJson, "{not json");
  auto g = c2.recv_frame();
  ASSERT_EQ(g.type, MsgType::kError);
  EXPECT_EQ(wire::decode_error(g.payload).value_or("").rfind("json decode: ", 0), 0u)
      << wire::decode_error(g.payload).value_or("<undecodable>");
  expect_serves(reg);
}

TEST(RegistryBinary, UnknownTypeShortPayloadsAndBadVersion) {
  Registry reg;
  auto j = reg.client();
  Identity alice;
  const uint32_t a = register_node(j, alice);
  auto c = reg.client(Mode::kBinary);
  c.send_frame(static_cast<MsgType>(0x7e), "whatever");
  auto f = c.recv_frame();
  ASSERT_EQ(f.type, MsgType::kError);
  EXPECT_EQ(wire::decode_error(f.payload), "unknown message type 0x7e");
  // Still usable.
  auto lk = c.lookup(a);
  EXPECT_TRUE(lk.ok()) << lk.error;
  // §2.4 decoder errors for short payloads come back as 0xFF, connection kept.
  const std::pair<MsgType, size_t> shorts[] = {
      {MsgType::kHeartbeat, 67}, {MsgType::kLookup, 3}, {MsgType::kResolve, 71}};
  const char* names[] = {"heartbeat", "lookup", "resolve"};
  for (size_t i = 0; i < 3; ++i) {
    c.send_frame(shorts[i].first, std::string(shorts[i].second, '\x01'));
    auto e = c.recv_frame();
    ASSERT_EQ(e.type, MsgType::kError);
    EXPECT_EQ(wire::decode_error(e.payload),
              std::string(names[i]) + " request too short: " + std::to_string(shorts[i].second) + " bytes");
  }
  EXPECT_TRUE(c.lookup(a).ok());

  // §2.2 version 2 → 0xFF "unsupported wire version 2", then close.
  auto v2 = reg.client(Mode::kBinary, {.wire_version = 2});
  auto e = v2.recv_frame();
  ASSERT_EQ(e.type, MsgType::kError);
  EXPECT_EQ(wire::decode_error(e.payload), "unsupported wire version 2");
  EXPECT_TRUE(v2.wait_closed(3s));

  // §2.4 L < 1 and L > 64 MiB close the connection.
  auto zero = reg.client(Mode::kBinary);
  zero.send_bytes(be32(0));
  EXPECT_TRUE(zero.wait_closed(3s));
  auto huge = reg.client(Mode::kBinary);
  huge.send_bytes(be32(wire::kMaxFrame + 1) + "\x01");
  EXPECT_TRUE(huge.wait_closed(3s));
  expect_serves(reg);
}

// ==== JSON framing and bad input (§2.3, §3.2) ========================================

TEST(RegistryJson, HeartbeatOkIsByteExactAndPipeliningKeepsOrder) {
  Registry reg;
  auto c = reg.client();
  Identity alice;
  const uint32_t a = register_node(c, alice);
  expect_heartbeat_ok_bytes(c.call_raw(alice.heartbeat_req(a).dump()));
  // Two requests in one write, two responses in order (§2.3).
  c.send_bytes(wire::json_frame(rpc::lookup_req(a).dump()) + wire::json_frame(alice.heartbeat_req(a).dump()) +
               wire::json_frame(rpc::lookup_req(9).dump()));
  EXPECT_EQ(json::parse(c.recv_json())["type"], "lookup_ok");
  expect_heartbeat_ok_bytes(c.recv_json());
  EXPECT_EQ(c.recv_json(), R"({"error":"node 9: node not found","type":"error"})");
}

TEST(RegistryJson, TruncatedFrameIsDroppedWithoutAReply) {
  Registry reg;
  {
    auto c = reg.client();
    c.send_bytes(be32(100) + R"({"type":"lookup")");
    c.shutdown_write();
    EXPECT_TRUE(c.wait_closed(3s));
    EXPECT_EQ(c.discarded(), "");
  }
  {
    auto c = reg.client();  // a partial length prefix, then the peer vanishes
    c.send_bytes(std::string("\0\0", 2));
  }
  expect_serves(reg);
}

TEST(RegistryJson, LengthPrefixLimitIs64MiB) {
  Registry reg;
  auto c = reg.client();
  c.send_bytes(be32(wire::kMaxFrame + 1) + "{}");
  EXPECT_TRUE(c.wait_closed(3s));
  EXPECT_EQ(c.discarded(), "");
  auto d = reg.client();
  d.send_bytes(be32(0xFFFFFFFF));
  EXPECT_TRUE(d.wait_closed(3s));
  // Exactly 64 MiB is still a frame (JSON allows the whitespace padding).
  std::string body = R"({"type":"lookup","node_id":5})";
  body.resize(wire::kMaxFrame, ' ');
  auto e = reg.client(Mode::kJson, {.recv_timeout = 60s});  // sanitizer builds parse slowly
  EXPECT_EQ(e.call_raw(body), R"({"error":"node 5: node not found","type":"error"})");
  auto bin = reg.client(Mode::kBinary, {.recv_timeout = 60s});
  std::string payload = wire::encode(wire::LookupRequest{5});
  payload.resize(wire::kMaxFrame - 1, '\0');  // L = type byte + payload = 64 MiB
  bin.send_frame(MsgType::kLookup, payload);
  auto f = bin.recv_frame();
  ASSERT_EQ(f.type, MsgType::kError);
  EXPECT_EQ(wire::decode_error(f.payload), "node 5: not found");
  expect_serves(reg);
}

TEST(RegistryJson, NonObjectInvalidAndEmptyJsonClose) {
  Registry reg;
  for (const std::string body : {R"([1,2,3])", R"("register")", "42", "null", "true", R"({"type":"lookup",)", "{", "",
                                 "\xff\xfe", R"({"type":"lookup"} trailing)"}) {
    auto c = reg.client();
    c.send_bytes(wire::json_frame(body));
    EXPECT_TRUE(c.wait_closed(3s)) << "body: " << body;
    EXPECT_EQ(c.discarded(), "") << "body: " << body;
  }
  expect_serves(reg);
}

TEST(RegistryJson, UnknownOpIsRequestFailedAndTheConnectionLives) {
  Registry reg;
  auto c = reg.client();
  // §3.2: unknown type (and the OLD ops removed in NEW, §5) → "request failed".
  for (const char* op : {"frobnicate", "set_task_exec", "update_polo_score", ""})
    EXPECT_EQ(c.call_raw(json{{"type", op}, {"node_id", 1}}.dump()), R"({"error":"request failed","type":"error"})")
        << op;
  EXPECT_EQ(c.call_raw(R"({"node_id":1})"), R"({"error":"request failed","type":"error"})");
  EXPECT_EQ(err_of(c.call(rpc::lookup_req(5))), "node 5: node not found");
  expect_serves(reg);
}

TEST(RegistryJson, RegisterKeyValidation) {
  Registry reg;
  auto c = reg.client();
  Identity alice;
  json req = alice.unsigned_register_req("0.0.0.0:4000");
  req.erase("public_key");
  EXPECT_EQ(err_of(c.call(req)), "registration requires public_key");
  req["public_key"] = "";
  EXPECT_EQ(err_of(c.call(req)), "registration requires public_key");
  req["public_key"] = "!!!not base64!!!";
  EXPECT_NE(err_of(c.call(req)).find("invalid"), std::string::npos);
  req["public_key"] = base64_encode(std::string(31, 'k'));
  EXPECT_NE(err_of(c.call(req)).find("invalid"), std::string::npos);
  req["public_key"] = base64_encode(std::string(33, 'k'));
  EXPECT_NE(err_of(c.call(req)).find("invalid"), std::string::npos);
  req["public_key"] = 12345;  // wrong JSON type
  EXPECT_EQ(c.call(req).value("type", ""), "error");
  // §6.1 signature: over another listen_addr, or undecodable.
  json wrong = alice.register_req("0.0.0.0:4000");
  wrong["listen_addr"] = "0.0.0.0:4001";
  EXPECT_EQ(err_of(c.call(wrong)), "registration: signature verification failed");
  json garbage = alice.register_req("0.0.0.0:4000");
  garbage["signature"] = "%%%";
  EXPECT_EQ(err_of(c.call(garbage)), "registration: invalid signature encoding");
  // Nothing above created a node: the first real registration still gets ID 1.
  EXPECT_EQ(register_node(c, alice), 1u);
  expect_serves(reg);
}

TEST(RegistryJson, SignatureChecks) {
  Registry reg;
  auto c = reg.client();
  Identity alice, mallory;
  json r = ok(c, alice.unsigned_register_req("0.0.0.0:4000"), "register_ok");
  const uint32_t a = r["node_id"];
  const uint32_t m = register_node(c, mallory, "0.0.0.0:4001");
  // §4.2: missing, undecodable, wrong key (heartbeat checked before any success).
  json hb = alice.heartbeat_req(a);
  hb.erase("signature");
  EXPECT_EQ(err_of(c.call(hb)), "signature required for authenticated node");
  hb["signature"] = "not*base64";
  EXPECT_EQ(err_of(c.call(hb)), "invalid signature encoding");
  EXPECT_EQ(err_of(c.call(mallory.heartbeat_req(a))), "signature verification failed");
  // §7.6 no cross-op replay: a valid signature for one op is refused by another.
  json replay = alice.heartbeat_req(a);
  replay["signature"] = alice.sign_b64("set_visibility:" + std::to_string(a));
  EXPECT_EQ(err_of(c.call(replay)), "signature verification failed");
  json dereg = alice.deregister_req(a);
  dereg["signature"] = alice.sign_b64("set_visibility:" + std::to_string(a));
  EXPECT_EQ(err_of(c.call(dereg)), "signature verification failed");
  json trust = alice.report_trust_req(a, m);
  trust["signature"] = alice.sign_b64(wire::resolve_challenge(a, m));
  EXPECT_NE(err_of(c.call(trust)).find("signature"), std::string::npos);
  json vis = alice.set_visibility_req(a, true);
  vis["signature"] = alice.sign_b64("set_hostname:" + std::to_string(a));
  EXPECT_EQ(err_of(c.call(vis)), "signature verification failed");
  json poll = alice.poll_handshakes_req(a);
  poll["signature"] = alice.sign_b64("respond:" + std::to_string(a) + ":" + std::to_string(m));
  EXPECT_NE(err_of(c.call(poll)).find("signature"), std::string::npos);
  // Signatures bind IDs: mallory's valid deregister for her own node does not work for alice.
  json steal = mallory.deregister_req(m);
  steal["node_id"] = a;
  EXPECT_EQ(err_of(c.call(steal)), "signature verification failed");
  // None of that changed anything.
  json la = ok(c, rpc::lookup_req(a), "lookup_ok");
  EXPECT_EQ(la["public"], false);
  EXPECT_EQ(ok(c, rpc::check_trust_req(a, m), "check_trust_ok")["trusted"], false);
  expect_heartbeat_ok_bytes(c.call_raw(alice.heartbeat_req(a).dump()));
  expect_serves(reg);
}

TEST(RegistryJson, HostnameRules) {
  Registry reg;
  auto c = reg.client();
  Identity alice, bob, carol;
  // §7.3 at register: a bad name does not fail the registration.
  for (const std::string& bad : std::vector<std::string>{"Bad_Name", "UPPER", "localhost", "backbone", "broadcast",
                                                         "-lead", "trail-", std::string(64, 'a'), "dot.ted"}) {
    Identity id;
    json r = ok(c, with(id.register_req("0.0.0.0:4000"), {{"hostname", bad}}), "register_ok");
    EXPECT_FALSE(r.contains("hostname")) << bad << ": " << r.dump();
    EXPECT_TRUE(r.contains("hostname_error") && !r["hostname_error"].get<std::string>().empty())
        << bad << ": " << r.dump();
  }
  json ra = ok(c, with(alice.register_req("0.0.0.0:4000"), {{"hostname", std::string(63, 'a')}}), "register_ok");
  EXPECT_EQ(ra["hostname"], std::string(63, 'a'));
  const uint32_t a = ra["node_id"];
  ok(c, alice.set_hostname_req(a, "alpha"), "set_hostname_ok");
  json rb = ok(c, with(bob.register_req("0.0.0.0:4001"), {{"hostname", "alpha"}}), "register_ok");
  EXPECT_EQ(rb["hostname_error"], "hostname \"alpha\" already in use") << rb.dump();
  EXPECT_FALSE(rb.contains("hostname"));
  const uint32_t b = rb["node_id"];

  // §6.9 set_hostname fails on the same rules.
  for (const std::string& bad : std::vector<std::string>{"UPPER", "Mixed", "localhost", "backbone", "broadcast", "-x",
                                                         "x-", "a_b", std::string(64, 'b')}) {
    EXPECT_EQ(c.call(bob.set_hostname_req(b, bad)).value("type", ""), "error") << bad;
  }
  EXPECT_EQ(err_of(c.call(bob.set_hostname_req(b, "alpha"))),
            "hostname \"alpha\" already in use by node " + std::to_string(a));
  EXPECT_FALSE(ok(c, rpc::lookup_req(b), "lookup_ok").contains("hostname"));
  json sh = ok(c, bob.set_hostname_req(b, "b-2"), "set_hostname_ok");
  EXPECT_EQ(sh["node_id"], b);
  EXPECT_EQ(sh["hostname"], "b-2");
  // Empty clears and frees the name.
  ok(c, alice.set_hostname_req(a, ""), "set_hostname_ok");
  EXPECT_FALSE(ok(c, rpc::lookup_req(a), "lookup_ok").contains("hostname"));
  json rc = ok(c, with(carol.register_req("0.0.0.0:4002"), {{"hostname", "alpha"}}), "register_ok");
  EXPECT_EQ(rc["hostname"], "alpha") << rc.dump();
  expect_serves(reg);
}

TEST(RegistryJson, OutOfRangeIdsAreZero) {
  Registry reg;
  auto c = reg.client();
  Identity alice;
  ASSERT_EQ(register_node(c, alice), 1u);
  // §20.3: negative / > uint32 → 0 → not found; no wrap-around to node 1; no string coercion.
  for (const char* body : {R"({"type":"lookup","node_id":-1})", R"({"type":"lookup","node_id":4294967296})",
                           R"({"type":"lookup","node_id":4294967297})", R"({"type":"lookup","node_id":"1"})",
                           R"({"type":"lookup","node_id":-4294967295})", R"({"type":"lookup"})"}) {
    EXPECT_EQ(c.call_raw(body), R"({"error":"node 0: node not found","type":"error"})") << body;
  }
  json hb = alice.heartbeat_req(1);
  hb["node_id"] = 4294967297LL;
  EXPECT_EQ(err_of(c.call(hb)), "node 0: node not found");
  EXPECT_EQ(ok(c, rpc::lookup_req(1), "lookup_ok")["node_id"], 1);
  expect_serves(reg);
}

TEST(RegistryJson, TenThousandConnectionsOpenedAndDropped) {
  Registry reg;
  const auto start = std::chrono::steady_clock::now();
  int opened = 0;
  for (int batch = 0; batch < 20; ++batch) {
    std::vector<Client> conns;
    conns.reserve(500);
    for (int i = 0; i < 500; ++i) {
      conns.push_back(reg.client());
      if (i % 100 == 0) conns.back().send_bytes(std::string("\0\0\0", 3));  // some leave half a prefix
      ++opened;
    }
    // While 500 are open, the newest one is served.
    EXPECT_EQ(err_of(conns.back().call(rpc::lookup_req(4242))), "node 4242: node not found") << "batch " << batch;
  }
  EXPECT_EQ(opened, 10000);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 30s);
  auto c = reg.client();
  Identity alice;
  const uint32_t a = register_node(c, alice);
  expect_heartbeat_ok_bytes(c.call_raw(alice.heartbeat_req(a).dump()));
  expect_serves(reg);
}

TEST(RegistryJson, IdleConnectionIsClosed) {
  Registry reg(testsupport::with_flags({"--idle-timeout", "1s"}));
  auto idle = reg.client();
  auto busy = reg.client();
  Identity alice;
  const uint32_t a = register_node(busy, alice);
  // The busy one keeps sending within the timeout and must stay open past it.
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(300ms);
    expect_heartbeat_ok_bytes(busy.call_raw(alice.heartbeat_req(a).dump()));
  }
  EXPECT_TRUE(idle.wait_closed(3s));
  expect_serves(reg);
}

// ==== §3.1 rate limiting =============================================================

// `n` signed registrations of fresh keys in one write; returns how many were refused
// with the exact rate-limit body (the others must be register_ok).
int pipelined_registers(Client& c, int n) {
  std::string burst;
  for (int i = 0; i < n; ++i) burst += wire::json_frame(Identity().register_req("0.0.0.0:4000").dump());
  c.send_bytes(burst);
  int denied = 0;
  for (int i = 0; i < n; ++i) {
    std::string r = c.recv_json();
    if (r == R"({"error":"rate limited","retry_after_ms":1000,"type":"error"})") {
      ++denied;
    } else {
      EXPECT_EQ(json::parse(r).value("type", ""), "register_ok") << r;
    }
  }
  return denied;
}

TEST(RegistryRateLimitDispatch, RefusedRequestsAreNeverDispatched) {
  RegistryOptions o;
  o.no_rate_limit = false;
  Registry reg(o);
  auto c = reg.client();
  const int denied = pipelined_registers(c, 300);
  EXPECT_GT(denied, 0) << "300 back-to-back requests from one IP, limit 100/s";
  EXPECT_LT(denied, 300);
  // After the window the same connection works, and the refused registrations were
  // never dispatched: the next new node gets the next ID after the admitted ones.
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(register_node(c, Identity()), static_cast<uint32_t>(300 - denied + 1));
}

TEST(RegistryRateLimitDispatch, NoRateLimitEnvDisablesThePerIpLimiter) {
  Registry reg;  // PILOT_REGISTRY_NORATELIMIT=1
  auto c = reg.client();
  EXPECT_EQ(pipelined_registers(c, 300), 0);
}

// ==== registration semantics =========================================================

TEST(RegistryRegister, ListenAddressSanitising) {
  Registry reg;
  auto c = reg.client();
  // §6.1 / §21 item 33: unspecified, private, loopback, link-local → TCP source IP + the
  // client's port; public literals and DNS names kept; unsplittable kept verbatim.
  const std::pair<std::string, std::string> cases[] = {
      {"0.0.0.0:4000", "127.0.0.1:4000"},
      {"10.1.2.3:4000", "127.0.0.1:4000"},
      {"172.16.5.5:4000", "127.0.0.1:4000"},
      {"192.168.1.20:4000", "127.0.0.1:4000"},
      {"127.0.0.1:4000", "127.0.0.1:4000"},
      {"127.9.9.9:4000", "127.0.0.1:4000"},
      {"169.254.10.10:4000", "127.0.0.1:4000"},
      {"[::]:4000", "127.0.0.1:4000"},
      {"[::1]:4000", "127.0.0.1:4000"},
      {"[fc00::1]:4000", "127.0.0.1:4000"},
      {"[fe80::1]:4000", "127.0.0.1:4000"},
      {":4000", "127.0.0.1:4000"},
      {"203.0.113.9:4000", "203.0.113.9:4000"},
      {"8.8.8.8:53", "8.8.8.8:53"},
      {"[2001:db8::1]:4000", "[2001:db8::1]:4000"},
      {"node.example.com:4000", "node.example.com:4000"},
      {"garbage", "garbage"},
  };
  for (const auto& [sent, stored] : cases) {
    Identity id;
    json r = ok(c, id.register_req(sent), "register_ok");  // signed over the address as sent
    EXPECT_EQ(r["observed_addr"], stored) << "listen_addr " << sent;
    // §21 item 34: observed_addr is what is stored (and served to peers).
    const uint32_t n = r["node_id"];
    ok(c, id.set_visibility_req(n, true), "set_visibility_ok");
    json l = ok(c, rpc::lookup_req(n), "lookup_ok");
    EXPECT_EQ(l["real_addr"], stored) << "listen_addr " << sent;
    EXPECT_EQ(l["endpoint"], stored) << "listen_addr " << sent;
  }
  // Empty → the TCP remote address, source port included.
  Identity e;
  json r = ok(c, e.register_req(""), "register_ok");
  EXPECT_EQ(r["observed_addr"], "127.0.0.1:" + std::to_string(c.local_port()));
}

TEST(RegistryRegister, SignatureRatchet) {
  Registry reg;
  auto c = reg.client();
  Identity alice, eve, bob;
  // Before any signed register there is no ratchet: unsigned refreshes are fine.
  const uint32_t b = ok(c, bob.unsigned_register_req("0.0.0.0:5000"), "register_ok")["node_id"];
  EXPECT_EQ(ok(c, bob.unsigned_register_req("0.0.0.0:5001"), "register_ok")["node_id"], b);

  const uint32_t a = register_node(c, alice, "0.0.0.0:4000");
  ok(c, alice.set_visibility_req(a, true), "set_visibility_ok");
  const std::string ratchet =
      "node " + std::to_string(a) + ": unsigned registration cannot modify a signature-verified key";
  // §21 item 36: unsigned re-register of a signed key is refused, same endpoint or not.
  EXPECT_EQ(err_of(c.call(alice.unsigned_register_req("0.0.0.0:4000"))), ratchet);
  EXPECT_EQ(err_of(c.call(alice.unsigned_register_req("0.0.0.0:6666"))), ratchet);
  EXPECT_EQ(err_of(c.call(with(alice.unsigned_register_req("0.0.0.0:4000"),
                               {{"hostname", "evil"}, {"owner", "eve@example.com"}}))),
            ratchet);
  // §21 item 37: eve signing with her key for alice's key; replaying alice's signature
  // with another address.
  json forged = alice.unsigned_register_req("0.0.0.0:6666");
  forged["signature"] = eve.sign_b64("register:0.0.0.0:6666:" + alice.pub_b64());
  EXPECT_EQ(err_of(c.call(forged)), "registration: signature verification failed");
  json replayed = alice.register_req("0.0.0.0:4000");
  replayed["listen_addr"] = "203.0.113.66:4000";
  EXPECT_EQ(err_of(c.call(replayed)), "registration: signature verification failed");
  json l = ok(c, rpc::lookup_req(a), "lookup_ok");
  EXPECT_EQ(l["real_addr"], "127.0.0.1:4000");
  EXPECT_FALSE(l.contains("hostname"));
  // Signed re-registers always pass and refresh the endpoint.
  EXPECT_EQ(register_node(c, alice, "0.0.0.0:4001"), a);
  EXPECT_EQ(ok(c, rpc::lookup_req(a), "lookup_ok")["real_addr"], "127.0.0.1:4001");
  // A signed register replayed verbatim repeats the same (harmless) action.
  EXPECT_EQ(register_node(c, alice, "0.0.0.0:4001"), a);
}

TEST(RegistryRegister, StrictRegistrationAuth) {
  Registry reg(testsupport::with_flags({"--strict-registration-auth"}));
  auto c = reg.client();
  Identity alice;
  EXPECT_EQ(err_of(c.call(alice.unsigned_register_req("0.0.0.0:4000"))), "registration: signature required");
  EXPECT_EQ(register_node(c, alice), 1u);
}

TEST(RegistryRegister, RelayOnlyNodesGetTheBeaconAddress) {
  // A documentation address cannot be bound here: the embedded beacon stays off, and
  // the address is handed out all the same.
  Registry reg(testsupport::with_flags({"--beacon-addr", kBeacon, "--beacon=false"}));
  auto c = reg.client();
  Identity alice, carol;
  const uint32_t a = register_node(c, alice, "0.0.0.0:4000");
  const uint32_t r =
      register_node(c, carol, "0.0.0.0:4100", {{"relay_only", true}, {"lan_addrs", {"192.168.1.5:4100"}}});
  ok(c, carol.set_visibility_req(r, true), "set_visibility_ok");
  json l = ok(c, rpc::lookup_req(r), "lookup_ok");
  EXPECT_EQ(l["real_addr"], kBeacon);
  EXPECT_EQ(l["endpoint"], kBeacon);
  EXPECT_EQ(l["relay_only"], true);
  ok(c, alice.report_trust_req(a, r), "report_trust_ok");
  json rs = ok(c, alice.resolve_req(a, r), "resolve_ok");
  EXPECT_EQ(rs["real_addr"], kBeacon);
  EXPECT_EQ(rs["relay_only"], true);
  EXPECT_FALSE(rs.contains("lan_addrs")) << rs.dump();
  auto bin = reg.client(Mode::kBinary);
  auto bl = bin.lookup(r);
  ASSERT_TRUE(bl.ok()) << bl.error;
  EXPECT_EQ(bl->real_addr, kBeacon);
  auto br = bin.resolve(r, a, alice.sign(wire::resolve_challenge(a, r)));
  ASSERT_TRUE(br.ok()) << br.error;
  EXPECT_EQ(br->real_addr, kBeacon);
  EXPECT_TRUE(br->lan_addrs.empty());
  // §6.12 punch returns the raw stored endpoints, not the beacon.
  json p = ok(c, alice.punch_req(a, a, r), "punch_ok");
  EXPECT_EQ(p["node_a_addr"], "127.0.0.1:4000");
  EXPECT_EQ(p["node_b_addr"], "127.0.0.1:4100");
  Identity mallory;
  const uint32_t m = register_node(c, mallory, "0.0.0.0:4200");
  EXPECT_EQ(err_of(c.call(mallory.punch_req(m, a, r))), "request failed");  // not a participant
}

TEST(RegistryHeartbeat, StrictFreshness) {
  Registry reg(testsupport::with_flags({"--strict-heartbeat-freshness"}));
  auto c = reg.client();
  Identity alice;
  const uint32_t a = register_node(c, alice);
  EXPECT_EQ(c.call(alice.heartbeat_req(a)).value("type", ""), "error");  // no ts
  EXPECT_EQ(c.call(alice.heartbeat_req_ts(a, unix_now() - 120)).value("type", ""), "error");
  EXPECT_EQ(c.call(alice.heartbeat_req_ts(a, unix_now() + 120)).value("type", ""), "error");
  expect_heartbeat_ok_bytes(c.call_raw(alice.heartbeat_req_ts(a, unix_now()).dump()));
  // The cache is bypassed: a wrong signature right after a good one still fails.
  json bad = alice.heartbeat_req_ts(a, unix_now());
  bad["signature"] = alice.sign_b64("heartbeat:" + std::to_string(a));
  EXPECT_EQ(c.call(bad).value("type", ""), "error");
  auto bin = reg.client(Mode::kBinary);
  EXPECT_EQ(bin.heartbeat(a, alice.sign(wire::heartbeat_challenge(a))).error,
            "binary heartbeat encoding carries no timestamp; use the JSON heartbeat while freshness is enforced");
}

// §6.2 describes the reference's 120 s skip window as keyed by node ("whatever the
// signature"), which would accept anyone's heartbeat for a node for two minutes. This
// server keys the skip by the signature bytes instead (net/rpc/liveness.h): an honest
// daemon, whose deterministic signature repeats, sees no difference; a forger does.
TEST(RegistryHeartbeat, ForgedHeartbeatRefusedEvenInsideTheSkipWindow) {
  Registry reg;
  auto c = reg.client();
  Identity alice, mallory;
  const uint32_t a = register_node(c, alice);
  EXPECT_EQ(err_of(c.call(mallory.heartbeat_req(a))), "signature verification failed");
  expect_heartbeat_ok_bytes(c.call_raw(alice.heartbeat_req(a).dump()));
  expect_heartbeat_ok_bytes(c.call_raw(alice.heartbeat_req(a).dump()));
  EXPECT_EQ(err_of(c.call(mallory.heartbeat_req(a))), "signature verification failed");
  auto bin = reg.client(Mode::kBinary);
  EXPECT_EQ(bin.heartbeat(a, mallory.sign(wire::heartbeat_challenge(a))).error, "signature verification failed");
  EXPECT_TRUE(bin.heartbeat(a, alice.sign(wire::heartbeat_challenge(a))).ok());
}

// ==== directory details (§6.1, §6.5–§6.11) ===========================================

TEST(RegistryDirectory, ReRegisterOwnerVisibilityAdminFallbackHostnamesListings) {
  Registry reg(testsupport::with_flags({"--admin-token", kAdmin}));
  auto c = reg.client();
  Identity alice, alice2, bob;
  const uint32_t a =
      register_node(c, alice, "0.0.0.0:4000", {{"owner", "alice@example.com"}, {"lan_addrs", {"10.0.0.1:4000"}}});
  const uint32_t b = register_node(c, bob, "0.0.0.0:5000");
  // §21 item 29: same key → same ID, endpoint and LAN addresses refreshed.
  EXPECT_EQ(register_node(c, alice, "0.0.0.0:4100", {{"lan_addrs", {"10.0.0.9:4100"}}}), a);
  ok(c, alice.report_trust_req(a, b), "report_trust_ok");
  json rs = ok(c, bob.resolve_req(b, a), "resolve_ok");
  EXPECT_EQ(rs["real_addr"], "127.0.0.1:4100");
  EXPECT_EQ(rs["lan_addrs"], json::array({"10.0.0.9:4100"}));
  ok(c, alice.revoke_trust_req(a, b), "revoke_trust_ok");
  EXPECT_EQ(ok(c, rpc::check_trust_req(a, b), "check_trust_ok")["trusted"], false);
  // §21 item 30: a new key for a live owner is refused.
  EXPECT_EQ(err_of(c.call(with(alice2.register_req("0.0.0.0:4000"), {{"owner", "alice@example.com"}}))),
            "owner \"alice@example.com\" is already bound to node 1 with a different key; use recover_identity to "
            "rotate the key");

  // §6.8 visibility, by signature and (§4.2) by admin token instead of one.
  EXPECT_EQ(c.call_raw(alice.set_visibility_req(a, true).dump()),
            R"({"node_id":1,"type":"set_visibility_ok","visibility":"public"})");
  EXPECT_EQ(ok(c, rpc::lookup_req(a), "lookup_ok")["public"], true);
  json adm = alice.set_visibility_req(a, false);
  adm["signature"] = Identity().sign_b64("set_visibility:" + std::to_string(a));
  adm["admin_token"] = kAdmin;
  EXPECT_EQ(ok(c, adm, "set_visibility_ok")["visibility"], "private");
  json no_sig = {{"type", "set_hostname"}, {"node_id", a}, {"hostname", "adm"}, {"admin_token", "wrong"}};
  EXPECT_EQ(err_of(c.call(no_sig)), "signature required for authenticated node");
  no_sig["admin_token"] = kAdmin;
  EXPECT_EQ(ok(c, no_sig, "set_hostname_ok")["hostname"], "adm");

  // §6.10 tags: '#' stripped, duplicates collapsed, limits.
  EXPECT_EQ(ok(c, alice.set_tags_req(a, {"#ml", "gpu", "ml"}), "set_tags_ok")["tags"], json::array({"ml", "gpu"}));
  EXPECT_EQ(c.call(alice.set_tags_req(a, {"bad_tag"})).value("type", ""), "error");
  EXPECT_EQ(ok(c, rpc::lookup_req(a), "lookup_ok")["tags"], json::array({"ml", "gpu"}));

  // §6.5 resolve_hostname: private target only for itself (or trusted); same text as absent.
  auto rh = [](const std::string& h, uint32_t req) {
    return json{{"type", "resolve_hostname"}, {"hostname", h}, {"requester_id", req}};
  };
  EXPECT_EQ(err_of(c.call(rh("adm", b))), "hostname \"adm\" not found");
  EXPECT_EQ(err_of(c.call(rh("nobody", b))), "hostname \"nobody\" not found");
  EXPECT_EQ(err_of(c.call(json{{"type", "resolve_hostname"}, {"requester_id", b}})), "hostname required");
  json self = ok(c, rh("adm", a), "resolve_hostname_ok");
  EXPECT_EQ(self["node_id"], a);
  EXPECT_EQ(self["address"], "0:0000.0000.0001");
  EXPECT_EQ(self["public"], false);
  EXPECT_EQ(self["hostname"], "adm");
  EXPECT_NEAR(self.value("last_seen_unix", 0.0), static_cast<double>(unix_now()), 5.0);
  ok(c, alice.set_visibility_req(a, true), "set_visibility_ok");
  EXPECT_EQ(ok(c, rh("adm", b), "resolve_hostname_ok")["node_id"], a);

  // §6.6 the backbone is listed for the admin only.
  EXPECT_EQ(err_of(c.call(json{{"type", "list_nodes"}, {"network_id", 0}})), "request failed");
  json all = ok(c, {{"type", "list_nodes"}, {"network_id", 0}, {"admin_token", kAdmin}}, "list_nodes_ok");
  EXPECT_EQ(all["nodes"].size(), 2u) << all.dump();
  // §6.11 deregister by admin token.
  json dr = {{"type", "deregister"}, {"node_id", b}, {"admin_token", kAdmin}};
  EXPECT_EQ(c.call_raw(dr.dump()), R"({"type":"deregister_ok"})");
  EXPECT_EQ(err_of(c.call(rpc::lookup_req(b))), "node 2: node not found");
}

TEST(RegistryTrust, HandshakeSignatureJustificationAndInboxLimit) {
  Registry reg;
  auto c = reg.client();
  Identity alice, bob;
  const uint32_t a = register_node(c, alice, "0.0.0.0:4000");
  const uint32_t b = register_node(c, bob, "0.0.0.0:4001");
  json unsigned_req = alice.request_handshake_req(a, b, "hi");
  unsigned_req.erase("signature");
  EXPECT_EQ(err_of(c.call(unsigned_req)), "handshake request requires signature");
  json forged = bob.request_handshake_req(a, b, "hi");
  EXPECT_NE(err_of(c.call(forged)).find("signature"), std::string::npos);
  EXPECT_EQ(ok(c, alice.request_handshake_req(a, b, std::string(1024, 'j')), "request_handshake_ok")["status"],
            "delivered");
  // §6.15 inbox limit 100: 99 more senders fit, the 101st does not ("inbox full" is
  // not on the §3.2 list, so the client sees "request failed").
  for (int i = 0; i < 99; ++i) {
    Identity s;
    const uint32_t n = register_node(c, s, "0.0.0.0:4002");
    ok(c, s.request_handshake_req(n, b, "x"), "request_handshake_ok");
  }
  Identity last;
  const uint32_t l = register_node(c, last, "0.0.0.0:4003");
  EXPECT_EQ(err_of(c.call(last.request_handshake_req(l, b, "x"))), "request failed");
  json p = ok(c, bob.poll_handshakes_req(b), "poll_handshakes_ok");
  EXPECT_EQ(p["requests"].size(), 100u);
  // A rejection creates no trust but still tells the requester.
  ok(c, bob.respond_handshake_req(b, a, false), "respond_handshake_ok");
  EXPECT_EQ(ok(c, rpc::check_trust_req(a, b), "check_trust_ok")["trusted"], false);
  json pa = ok(c, alice.poll_handshakes_req(a), "poll_handshakes_ok");
  ASSERT_EQ(pa["responses"].size(), 1u) << pa.dump();
  EXPECT_EQ(pa["responses"][0]["accept"], false);
}

// ==== §3.2 error sanitiser ===========================================================

TEST(RegistryErrors, SanitiserPassesOnlyWhitelistedTexts) {
  {
    Registry reg;  // no admin token configured
    auto c = reg.client();
    Identity alice;
    const uint32_t a = register_node(c, alice);
    // "network creation is disabled" has no whitelisted substring.
    EXPECT_EQ(c.call_raw(json{{"type", "create_network"}, {"node_id", a}, {"name", "x"}, {"admin_token", "t"}}.dump()),
              R"({"error":"request failed","type":"error"})");
  }
  Registry reg(testsupport::with_flags({"--admin-token", kAdmin}));
  auto c = reg.client();
  Identity alice, bob;
  const uint32_t a = register_node(c, alice, "0.0.0.0:4000");
  const uint32_t b = register_node(c, bob, "0.0.0.0:4001");
  auto expect_err = [&](const json& req, const std::string& text) {
    EXPECT_EQ(c.call_raw(req.dump()), json({{"error", text}, {"type", "error"}}).dump()) << req.dump();
  };
  // Passed through: contain "not found", "invalid", "already", "cannot", "not a member", "too many", "signature".
  expect_err(rpc::lookup_req(5), "node 5: node not found");
  expect_err({{"type", "create_network"}, {"node_id", a}, {"name", "x"}, {"admin_token", "wrong"}},
             "invalid admin token");
  expect_err(bob.join_network_req(b, 0), "cannot join the backbone network");
  expect_err(bob.leave_network_req(b, 0), "cannot leave the backbone network");
  expect_err(alice.set_tags_req(a, {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}), "too many tags (max 10)");
  expect_err(bob.heartbeat_req(a), "signature verification failed");
  ok(c, {{"type", "create_network"}, {"node_id", a}, {"name", "lab"}, {"admin_token", kAdmin}}, "create_network_ok");
  expect_err({{"type", "create_network"}, {"node_id", a}, {"name", "lab"}, {"admin_token", kAdmin}},
             "network \"lab\" already exists");
  expect_err(bob.leave_network_req(b, 1), "node 2 is not a member of network 1");
  // Replaced: none of the substrings.
  expect_err(alice.resolve_req(a, b), "request failed");        // resolve denied: … private
  expect_err(Identity().resolve_req(77, b), "request failed");  // requester not registered
  expect_err(alice.revoke_trust_req(a, b), "request failed");   // no trust pair between 1 and 2
  expect_err(alice.request_handshake_req(a, b, std::string(1025, 'j')), "request failed");  // too large
  expect_err(alice.respond_handshake_req(a, b, true), "request failed");  // no pending handshake request
  Identity carol;
  const uint32_t cid = register_node(c, carol, "0.0.0.0:4002");
  expect_err(carol.punch_req(cid, a, b), "request failed");  // punch denied: requester must be participant
}

// ==== persistence ====================================================================

// State that both persistence tests build and check.
struct World {
  Identity alice, bob, bob2;
  uint32_t a = 0, b = 0;

  void build(Client& c) {
    a = register_node(c, alice, "0.0.0.0:4000", {{"hostname", "alice"}});
    b = register_node(c, bob, "0.0.0.0:4001", {{"lan_addrs", {"10.0.0.2:4001"}}});
    ok(c, alice.set_visibility_req(a, true), "set_visibility_ok");
    ok(c, bob.set_tags_req(b, {"gpu", "#edge", "gpu"}), "set_tags_ok");
    ok(c, alice.report_trust_req(a, b), "report_trust_ok");
    ok(c, {{"type", "create_network"}, {"node_id", a}, {"name", "lab"}, {"admin_token", kAdmin}}, "create_network_ok");
    ok(c, bob.join_network_req(b, 1), "join_network_ok");
    ok(c, alice.request_handshake_req(a, b, "hello"), "request_handshake_ok");
    ok(c, bob.rotate_key_req(b, bob2.pub_b64()), "rotate_key_ok");  // last: the kill follows this reply
  }

  void check(Client& c) {
    json la = ok(c, rpc::lookup_req(a), "lookup_ok");
    EXPECT_EQ(la["public_key"], alice.pub_b64());
    EXPECT_EQ(la["hostname"], "alice");
    EXPECT_EQ(la["public"], true);
    EXPECT_EQ(la["real_addr"], "127.0.0.1:4000");
    EXPECT_EQ(la["networks"], json::array({0, 1}));
    json lb = ok(c, rpc::lookup_req(b), "lookup_ok");
    EXPECT_EQ(lb["public_key"], bob2.pub_b64());
    EXPECT_EQ(lb["key_generation"], 1);
    EXPECT_EQ(lb["networks"], json::array({0, 1}));
    EXPECT_EQ(lb["tags"], json::array({"gpu", "edge"}));  // '#' stripped, duplicates collapsed (§7.4)
    EXPECT_EQ(ok(c, rpc::check_trust_req(a, b), "check_trust_ok")["trusted"], true);
    json rs = ok(c, bob2.resolve_req(b, a), "resolve_ok");
    EXPECT_EQ(rs["real_addr"], "127.0.0.1:4000");
    json ph = ok(c, bob2.poll_handshakes_req(b), "poll_handshakes_ok");
    ASSERT_EQ(ph["requests"].size(), 1u) << ph.dump();
    EXPECT_EQ(ph["requests"][0]["from_node_id"], a);
    EXPECT_EQ(ph["requests"][0]["justification"], "hello");
    json nets = ok(c, {{"type", "list_networks"}, {"admin_token", kAdmin}}, "list_networks_ok");
    bool found = false;
    for (const auto& n : nets["networks"])
      if (n.value("name", "") == "lab") found = n.value("id", 0) == 1 && n.value("members", 0) == 2;
    EXPECT_TRUE(found) << nets.dump();
    expect_heartbeat_ok_bytes(c.call_raw(bob2.heartbeat_req(b).dump()));
    // IDs keep counting where they were; known keys keep their IDs.
    Identity fresh;
    EXPECT_EQ(register_node(c, fresh, "0.0.0.0:4009"), 3u);
    EXPECT_EQ(register_node(c, alice, "0.0.0.0:4000"), a);
  }
};

TEST(RegistryPersistence, SigtermAndRestartKeepsEverything) {
  Registry reg(testsupport::with_flags({"--admin-token", kAdmin}));
  World w;
  {
    auto c = reg.client();
    w.build(c);
  }
  int st = reg.terminate();
  ASSERT_TRUE(WIFEXITED(st)) << reg.output();
  EXPECT_EQ(WEXITSTATUS(st), 0) << reg.output();
  reg.restart();
  auto c = reg.client();
  w.check(c);
}

TEST(RegistryPersistence, KillNineAfterAcknowledgedWritesLosesNothing) {
  Registry reg(testsupport::with_flags({"--admin-token", kAdmin, "--fsync", "always"}));
  World w;
  {
    auto c = reg.client();
    w.build(c);
    reg.kill9();  // right after the rotate_key reply
  }
  reg.restart();
  {
    auto c = reg.client();
    w.check(c);
    Identity late;
    EXPECT_EQ(register_node(c, late, "0.0.0.0:4010"), 4u);
    reg.kill9();  // right after a brand-new registration
  }
  reg.restart();
  auto c = reg.client();
  EXPECT_EQ(ok(c, rpc::lookup_req(4), "lookup_ok")["public_key"].get<std::string>().size(), 44u);
  Identity next;
  EXPECT_EQ(register_node(c, next, "0.0.0.0:4011"), 5u);
}

// ==== reaper (§16, §21 items 32 and 48) ==============================================

TEST(RegistryReaper, SilentNodeIsReapedAndReclaimsItsId) {
  Registry reg(
      testsupport::with_flags({"--admin-token", kAdmin, "--stale-threshold", "2s", "--reap-interval", "200ms"}));
  auto c = reg.client();
  Identity keeper, ghost;
  const uint32_t k = register_node(c, keeper, "0.0.0.0:4000");
  const uint32_t g = register_node(c, ghost, "0.0.0.0:4001", {{"hostname", "ghost"}});
  ok(c, {{"type", "create_network"}, {"node_id", k}, {"name", "lab"}, {"admin_token", kAdmin}}, "create_network_ok");
  ok(c, ghost.join_network_req(g, 1), "join_network_ok");
  ok(c, keeper.report_trust_req(k, g), "report_trust_ok");

  const auto deadline = std::chrono::steady_clock::now() + 8s;
  bool reaped = false;
  while (!reaped && std::chrono::steady_clock::now() < deadline) {
    expect_heartbeat_ok_bytes(c.call_raw(keeper.heartbeat_req(k).dump()));
    reaped = err_of(c.call(rpc::lookup_req(g))) == "node " + std::to_string(g) + ": node not found";
    if (!reaped) std::this_thread::sleep_for(250ms);
  }
  ASSERT_TRUE(reaped) << "node " << g << " still there after 8 s with a 2 s threshold";
  EXPECT_EQ(ok(c, rpc::lookup_req(k), "lookup_ok")["node_id"], k);  // the heartbeating one stays
  EXPECT_EQ(err_of(c.call(ghost.heartbeat_req(g))), "node " + std::to_string(g) + ": node not found");
  // Hostname freed: another node can take it.
  Identity squatter;
  json sq = ok(c, with(squatter.register_req("0.0.0.0:4002"), {{"hostname", "ghost"}}), "register_ok");
  EXPECT_EQ(sq["hostname"], "ghost") << sq.dump();
  // Same key → same ID, custom membership restored; trust survived.
  EXPECT_EQ(register_node(c, ghost, "0.0.0.0:4001"), g);
  json l = ok(c, rpc::lookup_req(g), "lookup_ok");
  EXPECT_EQ(l["networks"], json::array({0, 1}));
  EXPECT_EQ(ok(c, rpc::check_trust_req(k, g), "check_trust_ok")["trusted"], true);
}

}  // namespace
}  // namespace pilot
