// The follower client in-process: its own libuv loop, a real Writer and State, an
// in-process Leader. What the process tests cannot pin down: reading pauses while the
// follower's disk is behind (bounded memory), acks reach the leader, and a leader
// that goes away and comes back on the same port is followed again from where the log
// ends, and a "leader" below the term the follower has seen is not followed.
#include "net/replication/follower.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "net/replication/leader.h"
#include "net/replication/term_store.h"
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

  void follow(uint16_t port, FollowerOptions o = {}, TermStore* terms = nullptr) {
    o.leader_addr = "127.0.0.1:" + std::to_string(port);
    o.token = kToken;
    o.min_backoff_ns = 10'000'000;
    o.max_backoff_ns = 50'000'000;
    follower_ = std::make_unique<Follower>(&loop_, state_, state_mu_, *writer_, o);
    follower_->set_terms(terms);
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
  const std::string& data_dir() const { return dir_.root; }

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

// A scripted leader on a raw socket: for each connection, reads the hello, answers with
// a welcome of the given term, and records what came back (an ack means the follower
// took the welcome) until the follower closes.
class ScriptedLeader {
 public:
  explicit ScriptedLeader(uint64_t term) : term_(term) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 4);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedLeader() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  int acks() const { return acks_; }
  uint64_t hello_term() const { return hello_term_; }

 private:
  void serve() {
    for (;;) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      timeval tv{2, 0};  // the test's loop may not be running to close its side
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string buf;
      char tmp[4096];
      bool welcomed = false;
      for (;;) {
        Frame f;
        std::string why;
        if (next_frame(buf, f, why) == FrameStatus::kFrame) {
          if (f.type == MsgType::kHello) {
            hello_term_ = decode_hello(f.body)->term;
            const std::string w = encode(Welcome{kProtocolVersion, term_, 0});
            (void)!::send(c, w.data(), w.size(), MSG_NOSIGNAL);
            welcomed = true;
          } else if (f.type == MsgType::kAck && welcomed) {
            ++acks_;
            break;
          }
          buf.erase(0, f.consumed);
          continue;
        }
        ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
        if (n <= 0) break;
        buf.append(tmp, static_cast<size_t>(n));
      }
      ++connections_;
      ::close(c);
      if (acks_ > 0) return;  // taken: one follower is all this leader serves
    }
  }
  uint64_t term_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<int> connections_{0}, acks_{0};
  std::atomic<uint64_t> hello_term_{0};
};

TEST(Follower, FollowsNoLeaderBelowTheTermItHasSeenAndRemembersAHigherOne) {
  std::atomic<bool> hold{false};
  std::unique_ptr<TermStore> terms, g_terms;  // outlive the followers that use them
  FollowerSide f(hold);
  terms = std::make_unique<TermStore>(f.data_dir());
  std::string err;
  ASSERT_TRUE(terms->load(err)) << err;
  ASSERT_TRUE(terms->observe(2, err)) << err;  // e.g. it was promoted once, or heard of term 2
  {
    ScriptedLeader stale(1);
    f.follow(stale.port(), {}, terms.get());
    ASSERT_TRUE(f.run_until([&] { return stale.connections() >= 2; }));  // refused, and again later
    EXPECT_EQ(stale.hello_term(), 2u);                                   // it said which term it has seen
    EXPECT_EQ(stale.acks(), 0);                                          // and never took the welcome
  }
  ScriptedLeader newer(5);
  FollowerSide g(hold);
  g_terms = std::make_unique<TermStore>(g.data_dir());
  ASSERT_TRUE(g_terms->load(err)) << err;
  ASSERT_TRUE(g_terms->observe(2, err)) << err;
  g.follow(newer.port(), {}, g_terms.get());
  ASSERT_TRUE(g.run_until([&] { return newer.acks() > 0; }));
  EXPECT_EQ(g_terms->seen(), 5u);
  TermStore reread(g.data_dir());
  ASSERT_TRUE(reread.load(err)) << err;
  EXPECT_EQ(reread.terms(), (Terms{5, 0}));  // on disk before the stream starts
}

}  // namespace
}  // namespace pilot::repl
