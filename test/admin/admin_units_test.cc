// The admin side's building blocks without a server process: auth helpers on crafted
// requests, the per-IP window limiter, circuit breakers and their file, the backup
// sweeper on real files, the pulse ring, and the loop bridge on a real libuv loop.
#include <gtest/gtest.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "admin/backups.h"
#include "admin/http_util.h"
#include "admin/loop_bridge.h"
#include "admin/pulse.h"
#include "net/rpc/breakers.h"
#include "test/support/temp_dir.h"

namespace pilot::admin {
namespace {

using namespace std::chrono_literals;

TEST(AdminAuth, LoopbackMeansAny127AndV6Loopback) {
  for (const char* ip : {"127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"}) EXPECT_TRUE(is_loopback(ip)) << ip;
  for (const char* ip : {"10.0.0.1", "::ffff:10.0.0.1", "fe80::1", "", "localhost", "128.0.0.1"})
    EXPECT_FALSE(is_loopback(ip)) << ip;
}

TEST(AdminAuth, LocalhostOnlyRoutesRefuseOtherPeersWith403) {
  httplib::Request req;
  httplib::Response res;
  req.remote_addr = "192.0.2.10";
  // X-Real-IP from a remote peer is not believed.
  req.headers.emplace("X-Real-IP", "127.0.0.1");
  EXPECT_FALSE(require_localhost(req, res));
  EXPECT_EQ(res.status, 403);
  EXPECT_EQ(res.body, "Forbidden\n");
  EXPECT_EQ(client_ip(req), "192.0.2.10");
  httplib::Request local;
  local.remote_addr = "127.0.0.1";
  local.headers.emplace("X-Real-IP", "198.51.100.4");  // a local proxy tells who asked
  httplib::Response ok;
  EXPECT_TRUE(require_localhost(local, ok));
  EXPECT_EQ(client_ip(local), "198.51.100.4");
}

TEST(AdminAuth, AdminTokenFromHeaderOrQueryAsAllowed) {
  auto check = [](const std::string& token, const httplib::Headers& h, const std::string& query, TokenSource src) {
    httplib::Request req;
    req.headers = h;
    if (!query.empty()) req.params.emplace("admin_token", query);
    httplib::Response res;
    bool ok = require_admin(req, res, token, src);
    return ok ? std::string("ok") : std::to_string(res.status) + " " + res.body;
  };
  EXPECT_EQ(check("", {{"X-Admin-Token", "x"}}, "", TokenSource::kHeaderOrQuery), "401 admin token not configured\n");
  EXPECT_EQ(check("t", {{"X-Admin-Token", "t"}}, "", TokenSource::kHeaderOnly), "ok");
  EXPECT_EQ(check("t", {}, "t", TokenSource::kHeaderOrQuery), "ok");
  EXPECT_EQ(check("t", {}, "t", TokenSource::kHeaderOnly), "401 unauthorized\n");
  EXPECT_EQ(check("t", {{"X-Admin-Token", "tt"}}, "", TokenSource::kHeaderOrQuery), "401 unauthorized\n");
  EXPECT_EQ(check("t", {{"X-Admin-Token", ""}}, "", TokenSource::kHeaderOrQuery), "401 unauthorized\n");
}

TEST(AdminAuth, WindowLimiterCountsPerIpPerMinute) {
  WindowLimiter lim(3);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(lim.allow("a", 600));
  EXPECT_FALSE(lim.allow("a", 659));
  EXPECT_TRUE(lim.allow("b", 659));
  EXPECT_TRUE(lim.allow("a", 660)) << "a new window starts at the minute";
}

TEST(Breakers, StatesParseWithTheReferenceAliases) {
  using rpc::BreakerState;
  EXPECT_EQ(rpc::parse_breaker_state(""), BreakerState::kClosed);
  EXPECT_EQ(rpc::parse_breaker_state("OPEN"), BreakerState::kOpen);
  for (const char* s : {"half_open", "half-open", "halfopen"})
    EXPECT_EQ(rpc::parse_breaker_state(s), BreakerState::kHalfOpen) << s;
  EXPECT_FALSE(rpc::parse_breaker_state("ajar"));
  EXPECT_FALSE(rpc::Breakers::valid_name(""));
  EXPECT_FALSE(rpc::Breakers::valid_name("a/b"));
  EXPECT_TRUE(rpc::Breakers::valid_name("registry.register"));
}

TEST(Breakers, OpenDeniesWithTheSpecErrorAndCounts) {
  rpc::Breakers b;
  EXPECT_FALSE(b.deny("registry.register")) << "unknown names are closed";
  ASSERT_EQ(b.set("registry.register", rpc::BreakerState::kOpen, "maintenance", 1'800'000'000), "");
  EXPECT_EQ(b.deny("registry.register"), "service unavailable: breaker \"registry.register\" is open (maintenance)");
  EXPECT_FALSE(b.deny("registry.heartbeat"));
  ASSERT_EQ(b.set("registry.register", rpc::BreakerState::kHalfOpen, "", 1'800'000'001), "");
  EXPECT_FALSE(b.deny("registry.register")) << "half open allows";
  auto list = b.list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].denied_total, 1u);
  EXPECT_EQ(list[0].allowed_total, 1u);
  EXPECT_EQ(list[0].updated_at, "2027-01-15T08:00:01Z");
  EXPECT_EQ(b.remove("registry.register"), "");
  EXPECT_TRUE(b.list().empty());
}

TEST(Breakers, TheFileIsTheSourceOfTruthAndABadFileChangesNothing) {
  testsupport::TempDir dir;
  const std::string path = dir.path() + "/breakers.json";
  {
    rpc::Breakers writer(path);
    ASSERT_EQ(writer.set("beacon.relay", rpc::BreakerState::kOpen, "abuse", 1'800'000'000), "");
  }
  rpc::Breakers b(path);
  EXPECT_FALSE(b.deny("beacon.relay")) << "nothing is read before reload()";
  EXPECT_EQ(b.reload(), "");
  EXPECT_TRUE(b.deny("beacon.relay"));

  std::this_thread::sleep_for(20ms);  // a new mtime
  std::ofstream(path) << R"({"beacon.relay": {"state": "sideways"}})";
  EXPECT_NE(b.reload(), "");
  EXPECT_TRUE(b.deny("beacon.relay")) << "a file that does not parse keeps the breakers as they were";
  std::this_thread::sleep_for(20ms);
  std::ofstream(path) << R"({"beacon.punch": {"state": "open", "reason": "r"}})";
  EXPECT_EQ(b.reload(), "");
  EXPECT_FALSE(b.deny("beacon.relay"));
  EXPECT_EQ(b.deny("beacon.punch"), "service unavailable: breaker \"beacon.punch\" is open (r)");
  std::filesystem::remove(path);
  EXPECT_EQ(b.reload(), "");
  EXPECT_FALSE(b.deny("beacon.punch")) << "no file: everything closed";
}

TEST(Backups, OnlyTheReferencePatternIsTouched) {
  for (const char* n :
       {"registry-20260101T000000Z.json", "registry-20260101-000000.json", "registry-pre_upgrade-20260101T000000.json"})
    EXPECT_TRUE(is_backup_name(n)) << n;
  for (const char* n : {"registry.json", "registry-2026-01-01.json", "snapshot.db",
                        "registry-20260101T000000Z.json.tmp", "registry-UPPER-20260101T000000Z.json"})
    EXPECT_FALSE(is_backup_name(n)) << n;
}

TEST(Backups, SweepDeletesTheOldAndKeepsTheNewestCount) {
  testsupport::TempDir dir;
  const auto now = std::filesystem::file_time_type::clock::now();
  const int64_t now_unix =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (int i = 0; i < 5; ++i) {
    const std::string p = dir.path() + "/registry-2026010" + std::to_string(i + 1) + "T000000Z.json";
    std::ofstream(p) << "{}";
    std::filesystem::last_write_time(p, now - std::chrono::hours(24 * i));
  }
  std::ofstream(dir.path() + "/keep-me.json") << "{}";
  // Older than 3.5 days: the two oldest; then at most 2 of the rest.
  auto r = sweep_backups(dir.path(), 84 * 3600, 2, now_unix);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.deleted, 3u);
  EXPECT_EQ(r.kept, 2u);
  auto left = list_backups(dir.path());
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].name, "registry-20260101T000000Z.json");
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/keep-me.json"));
  EXPECT_TRUE(list_backups(dir.path() + "/missing").empty());
}

TEST(Pulse, RateIsOverTheLastWindowOfSamples) {
  uint64_t total = 0;
  Pulse p(nullptr, [&] { return total; });
  EXPECT_EQ(p.rate(), 0);
  for (int s = 0; s <= 20; ++s) {
    total = s < 10 ? 0 : uint64_t(s - 10) * 500;  // idle, then 500/s
    p.sample(1'000'000 + s * 1000);
  }
  EXPECT_DOUBLE_EQ(p.rate(10), 500.0);
  for (int s = 21; s < 200; ++s) p.sample(1'000'000 + s * 1000);
  EXPECT_EQ(p.samples().size(), Pulse::kSamples);
}

// A real loop on its own thread, as in the server.
class BridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    bridge_ = std::make_unique<LoopBridge>(&loop_, nullptr, nullptr);
    uv_async_init(&loop_, &stop_, [](uv_async_t* a) {
      auto* self = static_cast<BridgeTest*>(a->data);
      self->bridge_->close();
      uv_close(reinterpret_cast<uv_handle_t*>(a), nullptr);
    });
    stop_.data = this;
    thread_ = std::thread([this] {
      loop_thread_ = std::this_thread::get_id();
      uv_run(&loop_, UV_RUN_DEFAULT);
    });
  }
  void TearDown() override {
    uv_async_send(&stop_);
    thread_.join();
    uv_loop_close(&loop_);
  }
  uv_loop_t loop_{};
  uv_async_t stop_{};
  std::unique_ptr<LoopBridge> bridge_;
  std::thread thread_;
  std::thread::id loop_thread_;
};

TEST_F(BridgeTest, CallsRunOnTheLoopThreadAndReturnTheirValue) {
  auto id = bridge_->call([] { return std::this_thread::get_id(); });
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, loop_thread_);
  EXPECT_NE(*id, std::this_thread::get_id());
  // Many callers at once all get their own answer.
  std::vector<std::thread> callers;
  std::atomic<int> right{0};
  for (int t = 0; t < 8; ++t)
    callers.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i)
        if (bridge_->call([t, i] { return t * 1000 + i; }) == t * 1000 + i) ++right;
    });
  for (auto& c : callers) c.join();
  EXPECT_EQ(right.load(), 800);
  // Without a writer there is nothing to wait for.
  EXPECT_EQ(bridge_->call_durable([] { return 7; }), 7);
}

TEST_F(BridgeTest, ACallerThatGaveUpIsNeverCalledBack) {
  // Block the loop, so the next query waits in the queue past its timeout.
  std::atomic<bool> release{false};
  std::thread blocker([&] {
    bridge_->call([&] {
      while (!release) std::this_thread::sleep_for(1ms);
      return 0;
    });
  });
  std::this_thread::sleep_for(20ms);
  std::atomic<bool> ran{false};
  {
    int on_my_stack = 0;
    auto r = bridge_->call(
        [&] {
          ran = true;
          return ++on_my_stack;
        },
        30ms);
    EXPECT_FALSE(r);
  }
  release = true;
  blocker.join();
  EXPECT_EQ(bridge_->call([] { return 1; }), 1);  // the loop has drained the queue
  EXPECT_FALSE(ran) << "a timed-out query must not run against a dead stack frame";
}

}  // namespace
}  // namespace pilot::admin
