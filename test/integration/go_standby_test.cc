// subscribe_replication on the registry port of the real `rendezvous` binary (spec
// §3.3, §9.2, test list item 115), driven the way a Go standby drives it: one JSON
// request, then read frames. Error texts and the heartbeat are compared byte for byte;
// snapshots are checked against what the test registered, and their checksum is
// recomputed here (SHA-256 of the document without its checksum member, §8.1).
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/rpc/client.h"
#include "net/rpc/wire.h"
#include "test/replication/cluster.h"
#include "test/support/registry_fixture.h"
#include "test/support/sha256_hex.h"

namespace pilot {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using rpc::Client;
using rpc::ClientError;
using rpc::Identity;
using testsupport::Registry;
using testsupport::RegistryOptions;

const std::string kToken = "repl-s3cret";
const std::string kAdmin = "admin-s3cret";
const std::string kSubscribe = R"({"type":"subscribe_replication","token":")" + kToken + R"("})";

// A leader with a replication token (its own follower listener on an ephemeral port).
RegistryOptions leader(testsupport::Process::EnvChanges env = {}, std::vector<std::string> more = {}) {
  RegistryOptions o;
  o.args = {"--repl-token", kToken, "--repl-addr", "127.0.0.1:0", "--admin-token", kAdmin};
  o.args.insert(o.args.end(), more.begin(), more.end());
  o.env = std::move(env);
  return o;
}

uint32_t register_node(Client& c, const Identity& id, const std::string& listen) {
  json r = c.call(id.register_req(listen));
  EXPECT_EQ(r.value("type", ""), "register_ok") << r.dump();
  return r.value("node_id", 0u);
}

// A replication_snapshot body as the reference writes it, and its document.
struct Snapshot {
  json doc;
  std::string raw;  // the document's bytes, as received
};

Snapshot expect_snapshot(const std::string& body) {
  static const std::string kHead = R"({"snapshot":)";
  static const std::string kTail = R"(,"type":"replication_snapshot"})";
  Snapshot s;
  if (body.rfind(kHead, 0) != 0 || body.size() < kHead.size() + kTail.size() ||
      body.compare(body.size() - kTail.size(), kTail.size(), kTail) != 0) {
    ADD_FAILURE() << "not a replication_snapshot: " << body.substr(0, 200);
    return s;
  }
  s.raw = body.substr(kHead.size(), body.size() - kHead.size() - kTail.size());
  s.doc = json::parse(s.raw);
  return s;
}

// §8.1: the checksum is the hex SHA-256 of the document without it (HTML escaping
// off: the wire copy escapes <, > and &, so undo that first).
void expect_valid_checksum(const Snapshot& s) {
  const std::string member = R"(,"checksum":")";
  const size_t at = s.raw.rfind(member);
  ASSERT_NE(at, std::string::npos);
  const std::string sum = s.raw.substr(at + member.size(), 64);
  ASSERT_EQ(s.raw.substr(at + member.size() + 64), "\"}");
  std::string unsigned_doc = s.raw.substr(0, at) + "}";
  for (auto [esc, ch] : {std::pair{"\\u003c", "<"}, std::pair{"\\u003e", ">"}, std::pair{"\\u0026", "&"}})
    for (size_t p; (p = unsigned_doc.find(esc)) != std::string::npos;) unsigned_doc.replace(p, 6, ch);
  EXPECT_EQ(sum, testsupport::openssl_sha256_hex(unsigned_doc));
  EXPECT_EQ(s.doc["checksum"], sum);
}

// Reads frames until a snapshot arrives (heartbeats skipped); the client's receive
// timeout bounds each read.
Snapshot next_snapshot(Client& c) {
  for (;;) {
    const std::string body = c.recv_json();
    if (body == R"({"type":"heartbeat"})") continue;
    return expect_snapshot(body);
  }
}

TEST(GoStandby, WithoutATokenReplicationIsNotConfigured) {
  Registry reg(RegistryOptions{});
  Client c = reg.client();
  EXPECT_EQ(c.call_raw(kSubscribe), R"({"error":"replication not configured","type":"error"})");
  EXPECT_TRUE(c.wait_closed(5s));
  Client other = reg.client();  // the server still serves
  EXPECT_EQ(other.call(rpc::lookup_req(1))["type"], "error");
}

TEST(GoStandby, AWrongTokenIsRefusedAndTheConnectionClosed) {
  Registry reg(leader());
  Client c = reg.client();
  EXPECT_EQ(c.call_raw(R"({"type":"subscribe_replication","token":"nope"})"),
            R"({"error":"invalid replication token","type":"error"})");
  EXPECT_TRUE(c.wait_closed(5s));
  Client missing = reg.client();
  EXPECT_EQ(missing.call_raw(R"({"type":"subscribe_replication"})"),
            R"({"error":"invalid replication token","type":"error"})");
  EXPECT_TRUE(missing.wait_closed(5s));
}

// A Go standby must follow the leader: our follower (and a fenced leader) refuse.
TEST(GoStandby, AFollowerRefusesWithTheStandbyError) {
  const std::string subscribe = R"({"type":"subscribe_replication","token":")" + repltest::kReplToken + R"("})";
  const std::string refusal =
      R"x({"error":"standby mode: write operations not accepted (use primary)","type":"error"})x";
  const uint16_t repl_port = repltest::free_port();
  Registry lead(repltest::leader_options(repl_port));
  Registry follower(repltest::follower_options(repl_port));
  Client c = follower.client();
  EXPECT_EQ(c.call_raw(subscribe), refusal);
  EXPECT_TRUE(c.wait_closed(5s));
  Client l = lead.client();
  l.set_recv_timeout(5s);
  l.send_json(subscribe);
  EXPECT_EQ(expect_snapshot(l.recv_json()).doc["version"], 1);
}

TEST(GoStandby, BinaryModeStillRefuses) {
  Registry reg(leader());
  Client c = reg.client(rpc::Mode::kBinary);
  try {
    c.call(json::parse(kSubscribe));
    ADD_FAILURE() << "binary subscribe_replication was answered";
  } catch (const ClientError& e) {
    EXPECT_NE(std::string(e.what()).find("replication not supported over binary protocol"), std::string::npos)
        << e.what();
  }
}

TEST(GoStandby, SnapshotShowsTheStateThenFollowsChanges) {
  Registry reg(leader());
  Client c = reg.client();
  Identity alice, bob, carol;
  const uint32_t a = register_node(c, alice, "127.0.0.1:4000");
  const uint32_t b = register_node(c, bob, "127.0.0.1:4001");
  json cn = c.call({{"type", "create_network"}, {"node_id", a}, {"name", "lab"}, {"admin_token", kAdmin}});
  ASSERT_EQ(cn["type"], "create_network_ok") << cn.dump();
  ASSERT_EQ(c.call(bob.join_network_req(b, 1))["type"], "join_network_ok");
  ASSERT_EQ(c.call(alice.report_trust_req(a, b))["type"], "report_trust_ok");

  Client standby = reg.client();
  standby.set_recv_timeout(5s);
  standby.send_json(kSubscribe);
  Snapshot first = expect_snapshot(standby.recv_json());
  const json& d = first.doc;
  EXPECT_EQ(d["version"], 1);
  EXPECT_EQ(d["next_node"], 3);
  EXPECT_EQ(d["next_net"], 2);
  ASSERT_EQ(d["nodes"].size(), 2u) << d.dump();
  EXPECT_EQ(d["nodes"]["1"]["public_key"], alice.pub_b64());
  EXPECT_EQ(d["nodes"]["2"]["public_key"], bob.pub_b64());
  EXPECT_EQ(d["nodes"]["2"]["networks"], json::array({0, 1}));
  EXPECT_EQ(d["networks"]["0"]["members"], json::array({1, 2}));
  EXPECT_EQ(d["networks"]["1"]["name"], "lab");
  EXPECT_EQ(d["networks"]["1"]["members"], json::array({1, 2}));
  EXPECT_EQ(d["networks"]["1"]["member_roles"], json({{"1", "owner"}, {"2", "member"}}));
  EXPECT_EQ(d["trust_pairs"], json::array({"1:2"}));
  EXPECT_EQ(d["pub_key_idx"][alice.pub_b64()], 1);
  EXPECT_FALSE(d["audit_log"].empty());
  expect_valid_checksum(first);

  // A change reaches the standby in a fresh snapshot (at most one a second).
  const auto before = std::chrono::steady_clock::now();
  const uint32_t cid = register_node(c, carol, "127.0.0.1:4002");
  Snapshot next = next_snapshot(standby);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 3s);
  EXPECT_EQ(next.doc["nodes"][std::to_string(cid)]["public_key"], carol.pub_b64());
  EXPECT_EQ(next.doc["nodes"].size(), 3u);
  expect_valid_checksum(next);

  // Several standbys at once; ordinary clients are served meanwhile.
  Client second = reg.client();
  second.set_recv_timeout(5s);
  second.send_json(kSubscribe);
  EXPECT_EQ(expect_snapshot(second.recv_json()).doc["nodes"].size(), 3u);
  EXPECT_EQ(c.call(rpc::lookup_req(cid))["type"], "lookup_ok");

  // The operator sees both: /api/admin/replication-status and /metrics.
  httplib::Client http("127.0.0.1", reg.http_port());
  auto st = http.Get("/api/admin/replication-status", {{"X-Admin-Token", kAdmin}});
  ASSERT_TRUE(st && st->status == 200);
  EXPECT_EQ(json::parse(st->body).value("go_standbys", -1), 2) << st->body;
  auto m = http.Get("/metrics");
  ASSERT_TRUE(m && m->status == 200);
  EXPECT_NE(m->body.find("\npilot_replication_go_standbys 2\n"), std::string::npos) << m->body;
}

TEST(GoStandby, HeartbeatsKeepAQuietStreamOpenPastTheIdleTimeout) {
  Registry reg(leader({{"PILOT_GO_STANDBY_HEARTBEAT", "200ms"}}, {"--idle-timeout", "1s"}));
  Client standby = reg.client();
  standby.set_recv_timeout(3s);
  standby.send_json(kSubscribe);
  expect_snapshot(standby.recv_json());
  const auto until = std::chrono::steady_clock::now() + 2500ms;
  int heartbeats = 0;
  while (std::chrono::steady_clock::now() < until) {
    EXPECT_EQ(standby.recv_json(), R"({"type":"heartbeat"})");
    ++heartbeats;
  }
  EXPECT_GE(heartbeats, 3);
  // An ordinary connection that says nothing is still closed by the idle timeout, also
  // when a stream closes meanwhile (streams are not in the idle list).
  Client idle = reg.client();
  EXPECT_EQ(idle.call(rpc::lookup_req(1))["type"], "error");  // accepted and served
  standby.close();
  EXPECT_TRUE(idle.wait_closed(5s));
}

// A TCP connection with a tiny receive buffer that subscribes and then never reads.
int stuck_subscriber(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  const std::string frame = wire::json_frame(kSubscribe);
  if (::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) != ssize_t(frame.size())) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads a stream on its own thread, as a Go standby does, keeping the newest snapshot.
// A receive timeout is survived (a quiet stream); any other error ends the reading.
class Follower {
 public:
  explicit Follower(Client c) : c_(std::move(c)) {
    c_.set_recv_timeout(5s);  // heartbeats (a test interval) keep reads short
    c_.send_json(kSubscribe);
    t_ = std::thread([this] {
      while (!stop_) {
        std::string body;
        try {
          body = c_.recv_json();
        } catch (const ClientError& e) {
          if (std::string(e.what()).find("timed out") != std::string::npos) continue;
          std::lock_guard l(mu_);
          error_ = e.what();
          return;
        }
        if (body == R"({"type":"heartbeat"})") continue;
        std::lock_guard l(mu_);
        latest_ = std::move(body);
      }
    });
  }
  ~Follower() {
    stop_ = true;
    t_.join();
  }
  std::string latest() {
    std::lock_guard l(mu_);
    return latest_;
  }
  std::string error() {
    std::lock_guard l(mu_);
    return error_;
  }

 private:
  Client c_;
  std::thread t_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::string latest_, error_;
};

TEST(GoStandby, ASubscriberThatNeverReadsIsDroppedAndOthersGoOn) {
  Registry reg(leader({{"PILOT_GO_STANDBY_PUSH_INTERVAL", "100ms"},
                       {"PILOT_GO_STANDBY_WRITE_TIMEOUT", "1s"},
                       {"PILOT_GO_STANDBY_HEARTBEAT", "300ms"}}));
  const int fd = stuck_subscriber(reg.port());
  ASSERT_GE(fd, 0);
  Follower healthy(reg.client());

  // Grow the state until a snapshot no longer fits the stuck peer's buffers.
  Client c = reg.client();
  uint32_t last = 0;
  const std::string dropped = "dropped: a write did not complete within the write timeout";
  for (int i = 0; i < 8000 && reg.output().find(dropped) == std::string::npos; ++i) {
    Identity id;
    last = register_node(c, id, "127.0.0.1:" + std::to_string(10000 + i));
  }
  for (int i = 0; i < 100 && reg.output().find(dropped) == std::string::npos; ++i) std::this_thread::sleep_for(100ms);
  ASSERT_NE(reg.output().find(dropped), std::string::npos) << reg.output().substr(0, 4000);

  // The server closed the stuck stream: draining it ends in EOF, not in data forever.
  bool eof = false;
  size_t received = 0;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (;;) {
    char buf[65536];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) eof = true;
    if (n <= 0) break;
    received += size_t(n);
  }
  ::close(fd);
  EXPECT_TRUE(eof) << "received " << received << " bytes and no EOF";

  // The reading standby was not dropped with it and catches up with the last node;
  // ordinary clients were served all along.
  const std::string want = "\"" + std::to_string(last) + "\":{\"id\":" + std::to_string(last) + ",";
  bool seen = false;
  for (int i = 0; i < 100 && !seen; ++i) {
    seen = healthy.latest().find(want) != std::string::npos;
    if (!seen) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(seen) << healthy.error();
  EXPECT_EQ(healthy.error(), "");
  EXPECT_EQ(c.call(rpc::lookup_req(last))["type"], "lookup_ok");
}

}  // namespace
}  // namespace pilot
