// The follower client in-process: its own libuv loop, a real Writer and State, an
// in-process Leader. What the process tests cannot pin down: reading pauses while the
// follower's disk is behind (bounded memory), acks reach the leader, and a leader
// that goes away and comes back on the same port is followed again from where the log
// ends.
#include "net/replication/follower.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <atomic>
#include <thread>

#include "net/replication/leader.h"
#include "test/replication/log_dir.h"

namespace pilot::repl {
namespace {

using namespace std::chrono_literals;
using repltest::LogDir;

const std::string kToken = "tok";

// A follower's side: a data directory whose writer wakes a libuv loop, as in the host.
// `hold_syncs` keeps every fdatasync waiting (a disk that is behind).
class FollowerSide {
 public:
  explicit FollowerSide(std::atomic<bool>& hold_syncs) : hold_(hold_syncs) {
    uv_loop_init(&loop_);
    uv_async_init(&loop_, &async_,
                  [](uv_async_t* a) { static_cast<FollowerSide*>(a->data)->writer_->run_callbacks(); });
    async_.data = this;
    dir_.root = tmp_.path();
    RestoreReport rep;
    std::string err;
    if (!restore_state(dir_, 1 << 20, state_, rep, err)) throw std::runtime_error(err);
    log::WriterOptions o;
    o.log_dir = dir_.log_dir();
    o.fsync.mode = log::FsyncPolicy::Mode::kAlways;
    o.wake = [this] { uv_async_send(&async_); };
    o.sync_fn = [this](int) {
      while (hold_.load()) std::this_thread::sleep_for(1ms);
      return 0;  // no real fdatasync: the test is about the order of things, not the disk
    };
    writer_ = log::Writer::open(o, rep.log, err);
    if (!writer_) throw std::runtime_error(err);
  }
  ~FollowerSide() {
    if (follower_) {
      bool done = false;
      follower_->stop([&] { done = true; });
      while (!done) uv_run(&loop_, UV_RUN_ONCE);
    }
    hold_ = false;
    writer_->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }

  void follow(uint16_t port, FollowerOptions o = {}) {
    o.leader_addr = "127.0.0.1:" + std::to_string(port);
    o.token = kToken;
    o.min_backoff_ns = 10'000'000;
    o.max_backoff_ns = 50'000'000;
    follower_ = std::make_unique<Follower>(&loop_, state_, state_mu_, *writer_, o);
    follower_->start();
  }
  // Runs the loop until `pred` holds (true) or the time is up (false).
  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      uv_run(&loop_, UV_RUN_NOWAIT);
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }
  log::Writer& writer() { return *writer_; }
  State& state() { return state_; }

 private:
  std::atomic<bool>& hold_;
  testsupport::TempDir tmp_;
  DataDir dir_;
  State state_;
  RwMutex state_mu_;  // what the registry would lend it in a server
  uv_loop_t loop_{};
  uv_async_t async_{};
  std::unique_ptr<log::Writer> writer_;
  std::unique_ptr<Follower> follower_;
};

std::unique_ptr<Leader> start_leader(LogDir& log, const std::string& addr, size_t batch_bytes = 512 * 1024) {
  LeaderOptions o;
  o.listen_addr = addr;
  o.token = kToken;
  o.batch_bytes = batch_bytes;
  auto l = std::make_unique<Leader>(o, log.log_dir(), log.writer(), log.writer().term());
  std::string err;
  EXPECT_TRUE(l->start(err)) << err;
  return l;
}

uint16_t port_of(const Leader& l) {
  const std::string a = l.bound_address();
  return static_cast<uint16_t>(std::stoi(a.substr(a.rfind(':') + 1)));
}

TEST(Follower, TakesTheLogAppliesItAndAcknowledgesWhatIsDurable) {
  LogDir leader_log;
  leader_log.append_stream(3000, 41);
  leader_log.writer().flush();
  auto leader = start_leader(leader_log, "127.0.0.1:0");
  std::atomic<bool> hold{false};
  FollowerSide f(hold);
  f.follow(port_of(*leader));
  ASSERT_TRUE(f.run_until([&] { return leader->acked_seq() == 3000; }));
  EXPECT_EQ(f.writer().last_hash(), leader_log.writer().last_hash());
  EXPECT_EQ(f.state().debug_dump(), leader_log.state().debug_dump());
  leader->stop(0);
}

TEST(Follower, StopsReadingWhileItsDiskIsBehind) {
  LogDir leader_log;
  leader_log.append_stream(5000, 42);
  leader_log.writer().flush();
  // Small frames, so the bound below is tight: at most max_unsynced records plus one
  // frame wait for the disk.
  auto leader = start_leader(leader_log, "127.0.0.1:0", 4096);
  std::atomic<bool> hold{true};
  FollowerSide f(hold);
  FollowerOptions o;
  o.max_unsynced = 100;
  f.follow(port_of(*leader), o);
  ASSERT_TRUE(f.run_until([&] { return f.writer().last_seq() > 100; }));
  f.run_until([] { return false; }, 500ms);  // plenty of time to read everything, if it would
  EXPECT_LE(f.writer().last_seq(), 100u + 60u) << "read on while nothing became durable";
  EXPECT_EQ(leader->acked_seq(), 0u);
  hold = false;
  ASSERT_TRUE(f.run_until([&] { return leader->acked_seq() == 5000; }));
  EXPECT_EQ(f.state().debug_dump(), leader_log.state().debug_dump());
  leader->stop(0);
}

TEST(Follower, FollowsALeaderThatComesBackOnTheSamePort) {
  LogDir leader_log;
  leader_log.append_stream(1000, 43);
  leader_log.writer().flush();
  auto leader = start_leader(leader_log, "127.0.0.1:0");
  const uint16_t port = port_of(*leader);
  std::atomic<bool> hold{false};
  FollowerSide f(hold);
  f.follow(port);
  ASSERT_TRUE(f.run_until([&] { return leader->acked_seq() == 1000; }));
  leader->stop(0);
  leader.reset();
  f.run_until([] { return false; }, 200ms);  // a few failed reconnects
  leader_log.append_events(500, 44);
  leader_log.writer().flush();
  leader = start_leader(leader_log, "127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(f.run_until([&] { return leader->acked_seq() == 1500; }));
  EXPECT_EQ(f.state().debug_dump(), leader_log.state().debug_dump());
  leader->stop(0);
}

}  // namespace
}  // namespace pilot::repl
