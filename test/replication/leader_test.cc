// The leader's replication listener in-process, driven by a hand-written client: what
// it streams (catch-up, live, keepalives), what it refuses (token, version, term,
// garbage, too many followers), the rewind points a diverged follower gets, the
// higher terms it reports (fencing), and whom it drops (a follower that stops
// reading, one that acknowledges what it never got).
#include "net/replication/leader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "net/replication/applier.h"
#include "net/replication/snapshot_messages.h"
#include "projections/snapshot.h"
#include "test/replication/log_dir.h"
#include "test/replication/repl_client.h"

namespace pilot::repl {
namespace {

using namespace std::chrono_literals;
using repltest::LogDir;
using repltest::ReplClient;

const std::string kToken = "repl-s3cret";

class LeaderTest : public ::testing::Test {
 protected:
  void start(LeaderOptions o = {}) {
    o.listen_addr = "127.0.0.1:0";
    o.token = kToken;
    leader = std::make_unique<Leader>(o, log.log_dir(), log.writer(), log.writer().term(), [this] { ++acks; });
    std::string err;
    ASSERT_TRUE(leader->start(err)) << err;
    const std::string a = leader->bound_address();
    port = static_cast<uint16_t>(std::stoi(a.substr(a.rfind(':') + 1)));
  }
  void TearDown() override {
    if (leader) leader->stop(0);
  }
  // Reads frames into `follower` until it has `seq`.
  void follow_until(ReplClient& c, LogDir& follower, uint64_t seq) {
    Applier applier(follower.state(), follower.state_mutex(), follower.writer());
    while (follower.writer().last_seq() < seq) {
      auto g = c.frame(10s);
      ASSERT_TRUE(g) << "stream stopped at " << follower.writer().last_seq();
      if (g->type == MsgType::kKeepalive) continue;
      ASSERT_EQ(g->type, MsgType::kRecords);
      uint64_t applied = 0;
      ASSERT_EQ(applier.apply(g->body, applied), "");
    }
  }
  Welcome welcome(ReplClient& c) {
    auto g = c.frame();
    EXPECT_TRUE(g && g->type == MsgType::kWelcome);
    auto w = g ? decode_welcome(g->body) : std::nullopt;
    EXPECT_TRUE(w);
    return w.value_or(Welcome{});
  }

  LogDir log;
  std::unique_ptr<Leader> leader;
  uint16_t port = 0;
  std::atomic<int> acks{0};
};

TEST_F(LeaderTest, StreamsTheLogThenLiveRecordsAndCountsAcks) {
  log.append_stream(2000, 5);
  log.writer().flush();
  start();
  LogDir follower;
  ReplClient c(port);
  c.hello(kToken);
  Welcome w = welcome(c);
  EXPECT_EQ(w.durable_seq, 2000u);
  EXPECT_EQ(w.term, log.writer().term());
  follow_until(c, follower, 2000);
  EXPECT_EQ(leader->followers(), 1u);

  // Live: records appended now arrive once durable.
  log.append_events(25, 6);
  log.writer().flush();
  follow_until(c, follower, 2025);
  EXPECT_EQ(follower.state().debug_dump(), log.state().debug_dump());

  c.send_bytes(encode(Ack{2025}));
  for (int i = 0; i < 200 && leader->acked_seq() < 2025; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(leader->acked_seq(), 2025u);
  EXPECT_GE(acks.load(), 1);

  // Idle: a keepalive every second, saying where the leader is.
  auto k = c.frame(3s);
  ASSERT_TRUE(k);
  ASSERT_EQ(k->type, MsgType::kKeepalive);
  EXPECT_EQ(decode_keepalive(k->body)->durable_seq, 2025u);
}

TEST_F(LeaderTest, ResumesFromTheFollowersPosition) {
  log.append_stream(300, 8);
  log.writer().flush();
  start();
  LogDir follower;
  {
    ReplClient c(port);
    c.hello(kToken);
    welcome(c);
    follow_until(c, follower, 300);
  }
  log.append_events(50, 9);
  log.writer().flush();
  ReplClient c(port);
  c.hello(kToken, follower.writer().last_seq(), follower.writer().term(), follower.writer().last_hash());
  welcome(c);
  follow_until(c, follower, 350);  // the Applier would refuse a duplicate or a gap
  EXPECT_EQ(follower.state().debug_dump(), log.state().debug_dump());
}

TEST_F(LeaderTest, RefusesBadHellos) {
  log.append_stream(200, 10);
  log.writer().flush();
  const uint64_t term = log.writer().term();
  start();
  auto refused = [&](auto send, RefuseCode code, const std::string& text) {
    ReplClient c(port);
    send(c);
    Refuse r = c.refusal();
    EXPECT_EQ(r.code, code) << r.reason;
    EXPECT_NE(r.reason.find(text), std::string::npos) << r.reason;
    EXPECT_TRUE(c.wait_closed(5s));
  };
  refused([](ReplClient& c) { c.hello("wrong"); }, RefuseCode::kBadToken, "invalid replication token");
  refused([](ReplClient& c) { c.hello(""); }, RefuseCode::kBadToken, "invalid replication token");
  refused(
      [](ReplClient& c) {
        Hello h;
        h.version = 2;
        h.token = kToken;
        c.send_bytes(encode(h));
      },
      RefuseCode::kBadVersion, "version");
  refused([&](ReplClient& c) { c.hello(kToken, 0, term + 1); }, RefuseCode::kStaleTerm, "term");
  // A follower whose last record is not on this log is not refused: it gets the
  // leader's hashes at a few seqs to find where the logs part (rewind.h), then a close.
  auto rewound = [&](uint64_t seq, const log::Hash& hash) {
    ReplClient c(port);
    c.hello(kToken, seq, term, hash);
    auto g = c.frame();
    EXPECT_TRUE(g && g->type == MsgType::kRewind);
    auto m = g ? decode_rewind(g->body) : std::nullopt;
    EXPECT_TRUE(m);
    EXPECT_TRUE(c.wait_closed(5s));
    return m.value_or(Rewind{});
  };
  LogDir other;
  other.append_stream(100, 77);
  Rewind m = rewound(100, other.writer().last_hash());  // another record at seq 100
  EXPECT_EQ(m.term, term);
  ASSERT_FALSE(m.points.empty());
  EXPECT_EQ(m.points.front().seq, 100u);
  m = rewound(201, log.writer().last_hash());  // records this leader does not have
  ASSERT_FALSE(m.points.empty());
  EXPECT_EQ(m.points.front().seq, 200u);
  EXPECT_EQ(m.points.front().hash, log.writer().last_hash());
  EXPECT_LE(m.points.size(), kMaxRewindPoints);
  refused([](ReplClient& c) { c.send_bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"); }, RefuseCode::kBadFrame,
          "unknown frame type");
  refused([](ReplClient& c) { c.send_bytes(std::string("\xff\xff\x00\x00\x01", 5)); }, RefuseCode::kBadFrame,
          "over the limit");
  refused([](ReplClient& c) { c.send_bytes(encode(Ack{1})); }, RefuseCode::kBadFrame, "expected a hello");
  refused([](ReplClient& c) { c.send_bytes(std::string("\x0a\x00\x00\x00\x01", 5) + "0123456789"); },
          RefuseCode::kBadFrame, "malformed hello");
  refused([](ReplClient& c) { c.send_bytes(std::string("\x00\x00\x00\x00\xee", 5)); }, RefuseCode::kBadFrame,
          "unknown frame type");

  // None of that harmed the listener.
  LogDir follower;
  ReplClient c(port);
  c.hello(kToken);
  welcome(c);
  follow_until(c, follower, 200);
}

// A hello above our term: a newer leader exists. Refused, and the host is told once
// per higher term (it fences itself); the same term again is not news.
TEST_F(LeaderTest, AHelloFromAHigherTermTellsTheHostOncePerTerm) {
  log.append_stream(50, 3);
  log.writer().flush();
  const uint64_t term = log.writer().term();
  std::mutex mu;
  std::vector<std::pair<uint64_t, std::string>> told;
  LeaderOptions o;
  o.listen_addr = "127.0.0.1:0";
  o.token = kToken;
  leader = std::make_unique<Leader>(o, log.log_dir(), log.writer(), term);
  leader->set_on_newer_term([&](uint64_t t, const std::string& peer) {
    std::lock_guard lk(mu);
    told.emplace_back(t, peer);
  });
  std::string err;
  ASSERT_TRUE(leader->start(err)) << err;
  const std::string a = leader->bound_address();
  port = static_cast<uint16_t>(std::stoi(a.substr(a.rfind(':') + 1)));
  for (uint64_t t : {term + 1, term + 1, term + 3, term + 2}) {
    ReplClient c(port);
    c.hello(kToken, 0, t);
    EXPECT_EQ(c.refusal().code, RefuseCode::kStaleTerm);
    EXPECT_TRUE(c.wait_closed(5s));
  }
  ReplClient wrong(port);
  wrong.hello("not-the-token", 0, term + 9);  // the token comes first: no fencing by strangers
  EXPECT_EQ(wrong.refusal().code, RefuseCode::kBadToken);
  std::lock_guard lk(mu);
  ASSERT_EQ(told.size(), 2u);
  EXPECT_EQ(told[0].first, term + 1);
  EXPECT_EQ(told[1].first, term + 3);
  EXPECT_NE(told[0].second.find("127.0.0.1:"), std::string::npos);
}

TEST_F(LeaderTest, SilentConnectionsAreClosedAfterTheHelloTimeout) {
  LeaderOptions o;
  o.hello_timeout_ns = 300'000'000;
  start(o);
  ReplClient c(port);
  c.send_bytes("\x05");  // part of a header, then nothing
  EXPECT_TRUE(c.wait_closed(5s));
}

TEST_F(LeaderTest, AnAckForRecordsNeverSentDropsTheFollower) {
  log.append_stream(10, 12);
  log.writer().flush();
  start();
  LogDir follower;
  ReplClient c(port);
  c.hello(kToken);
  welcome(c);
  follow_until(c, follower, 10);
  c.send_bytes(encode(Ack{11}));
  EXPECT_TRUE(c.wait_closed(5s));
  EXPECT_EQ(leader->acked_seq(), 0u);
}

TEST_F(LeaderTest, TooManyFollowers) {
  LeaderOptions o;
  o.max_followers = 1;
  start(o);
  ReplClient a(port);
  a.hello(kToken);
  welcome(a);
  ReplClient b(port);
  b.hello(kToken);
  EXPECT_EQ(b.refusal().code, RefuseCode::kBusy);
}

// A snapshot request takes no follower slot: with the one slot taken it is still
// served. Transfers have a cap of their own (followers + consumers slots: 2 here).
TEST_F(LeaderTest, ASnapshotRequestTakesNoFollowerSlotAndTransfersHaveTheirOwnCap) {
  log.append_stream(60000, 14);
  log.writer().flush();
  Snapshotter snap(log.dir());
  ASSERT_EQ(snap.run(log.writer().last_seq()).error, "");
  ASSERT_GT(std::filesystem::file_size(log.dir().snapshot_path()), 1u << 20) << "want a transfer that stalls";
  LeaderOptions o;
  o.max_followers = 1;
  o.max_consumers = 1;
  start(o);
  ReplClient a(port);
  a.hello(kToken);
  welcome(a);
  ASSERT_EQ(leader->followers(), 1u);

  // Two clients that read nothing for now: their transfers stay open.
  const std::string request = encode(SnapshotRequest{kProtocolVersion, kToken, 0, 0});
  std::vector<std::unique_ptr<ReplClient>> stalled;
  for (size_t n = 1; n <= 2; ++n) {
    stalled.push_back(std::make_unique<ReplClient>(port, /*rcvbuf=*/4096));
    stalled.back()->send_bytes(request);
    for (int i = 0; i < 200 && leader->snapshot_transfers() < n; ++i) std::this_thread::sleep_for(10ms);
    ASSERT_EQ(leader->snapshot_transfers(), n);
  }
  ReplClient third(port);
  third.send_bytes(request);
  const Refuse r = third.refusal();
  EXPECT_EQ(r.code, RefuseCode::kBusy);
  EXPECT_EQ(r.reason, "already sending 2 snapshots");
  for (auto& c : stalled) {
    auto first = c->frame();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->type, MsgType::kSnapshotChunk);
  }
  EXPECT_EQ(leader->followers(), 1u);
}

TEST_F(LeaderTest, AFollowerThatStopsReadingIsDropped) {
  // Enough records to fill every socket buffer between us (several MiB).
  log.append_stream(60000, 13);
  log.writer().flush();
  LeaderOptions o;
  o.send_timeout_ns = 500'000'000;
  start(o);
  ReplClient slow(port, /*rcvbuf=*/4096);
  slow.hello(kToken);
  // Read nothing at all: the leader blocks on a full socket, then gives up on us.
  bool dropped = false;
  for (int i = 0; i < 100 && !dropped; ++i) {
    std::this_thread::sleep_for(100ms);
    dropped = leader->followers() == 0;
  }
  EXPECT_TRUE(dropped);
  EXPECT_TRUE(slow.wait_closed(10s));
  // A follower that reads is served in full afterwards.
  LogDir follower;
  ReplClient c(port);
  c.hello(kToken);
  welcome(c);
  follow_until(c, follower, 60000);
}

TEST_F(LeaderTest, StopSendsEverythingDurableThenCloses) {
  log.append_stream(5000, 14);
  log.writer().flush();
  start();
  LogDir follower;
  std::thread stopper;
  {
    ReplClient c(port);
    c.hello(kToken);
    welcome(c);
    log.writer().close();  // as the host does: every record durable, then stop the leader
    stopper = std::thread([this] { leader->stop(5000); });
    std::this_thread::sleep_for(200ms);  // the stop is under way before we read anything
    follow_until(c, follower, 5000);
    // Then the leader half-closes: EOF, while our side is still open.
    EXPECT_TRUE(c.wait_closed(5s));
  }  // and a follower closes on EOF, which lets the leader's stop finish
  stopper.join();
  EXPECT_EQ(follower.writer().last_seq(), 5000u);
}

}  // namespace
}  // namespace pilot::repl
