// Snapshot transfer with real `rendezvous` processes on loopback: a leader with
// --log-retention deletes the segments its snapshots cover, and a follower whose
// position is no longer in the leader's log (a fresh one, or one back from a long
// disconnect) receives snapshot.db in checksummed chunks, installs it, and continues
// from the leader's retained log to the same state. A damaged chunk is refused and
// nothing is installed (the leader's test hook PILOT_TEST_CORRUPT_SNAPSHOT_CHUNKS).
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <optional>

#include "log/scanner.h"
#include "projections/snapshot.h"
#include "test/replication/cluster.h"
#include "test/replication/mutation_load.h"
#include "test/support/temp_dir.h"

namespace pilot {
namespace {

using namespace std::chrono_literals;
using repltest::follower_options;
using repltest::leader_options;
using repltest::log_tip;
using repltest::MutationLoad;
using repltest::wait_converged;
using repltest::wait_for;
using testsupport::Registry;

// Retention that keeps no covered segment, and snapshots often (1 MiB segments).
std::vector<std::string> retaining_flags() {
  return {"--log-retention", "0", "--snapshot-every", "2000", "--snapshot-interval", "1"};
}

uint64_t first_retained_seq(const std::string& data_dir) {
  auto segs = log::list_segments(data_dir + "/log");
  return segs.empty() ? 0 : segs.front().first_seq;
}

// Mutates until the leader's log (in `data_dir`) no longer holds record `seq`
// (retention deleted it).
void load_until_deleted(Registry& leader, MutationLoad& load, uint64_t seq, std::string data_dir = "") {
  if (data_dir.empty()) data_dir = leader.data_dir();
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (first_retained_seq(data_dir) <= seq) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "retention never deleted seq " << seq << "\n"
                                                          << leader.output();
    load.run(leader.addr(), 2000);
  }
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// After both stopped: the follower's log holds the leader's records from where it
// starts (same seq, same hash), and both snapshots (written at SIGTERM) are one state.
void expect_same_state(const std::string& leader_dir, const std::string& follower_dir) {
  log::Scanner f(follower_dir + "/log", 1, /*verify_chain=*/true);
  log::Record rf, rl;
  uint64_t n = 0;
  std::unique_ptr<log::Scanner> l;
  while (f.next(rf) == log::Scanner::Status::kRecord) {
    if (!l) l = std::make_unique<log::Scanner>(leader_dir + "/log", rf.seq, /*verify_chain=*/false);
    ASSERT_EQ(l->next(rl), log::Scanner::Status::kRecord) << "seq " << rf.seq;
    ASSERT_EQ(rl.seq, rf.seq);
    ASSERT_EQ(rl.hash, rf.hash) << "seq " << rf.seq;
    ++n;
  }
  EXPECT_GT(n, 0u) << "the follower's log has records after its snapshot";
  std::string ea, eb;
  auto a = load_snapshot(leader_dir + "/snapshot.db", &ea), b = load_snapshot(follower_dir + "/snapshot.db", &eb);
  ASSERT_TRUE(a) << ea;
  ASSERT_TRUE(b) << eb;
  EXPECT_EQ(a->last_seq, b->last_seq);
  EXPECT_EQ(a->last_seq, f.last_seq());
  EXPECT_TRUE(a->debug_dump() == b->debug_dump()) << "the states differ";
}

TEST(ReplSnapshot, AFreshFollowerOfARetainedLeaderGetsTheSnapshotThenTheTail) {
  const uint16_t rp = repltest::free_port();
  Registry leader(leader_options(rp, retaining_flags()));
  MutationLoad load(20261122, repltest::kAdminToken);
  load_until_deleted(leader, load, 1);
  // (The log line is read from the child's pipe by a background thread: wait for it.)
  EXPECT_TRUE(wait_for([&] { return leader.output().find("log retention: deleted") != std::string::npos; }, 5s))
      << leader.output();

  Registry follower(follower_options(rp));
  ASSERT_TRUE(wait_converged(leader, follower)) << follower.output() << leader.output();
  auto logged = [](Registry& r, const std::string& text) {
    return wait_for([&] { return r.output().find(text) != std::string::npos; }, 5s);
  };
  EXPECT_TRUE(logged(follower, "asking for its snapshot")) << follower.output();
  EXPECT_TRUE(logged(follower, "installed the leader's snapshot at seq")) << follower.output();
  EXPECT_TRUE(logged(leader, "sent follower")) << leader.output();

  // Live records after the install, and a restart of the follower on its new log.
  load.run(leader.addr(), 500);
  ASSERT_TRUE(wait_converged(leader, follower)) << follower.output();
  ASSERT_EQ(follower.terminate(), 0) << follower.output();
  load.run(leader.addr(), 300);
  follower.restart();
  ASSERT_TRUE(wait_converged(leader, follower)) << follower.output();

  ASSERT_EQ(follower.terminate(), 0) << follower.output();
  ASSERT_EQ(leader.terminate(), 0) << leader.output();
  expect_same_state(leader.data_dir(), follower.data_dir());
}

TEST(ReplSnapshot, AFollowerBehindTheRetainedLogAfterALongDisconnectCatchesUpThroughTheSnapshot) {
  const uint16_t rp = repltest::free_port();
  Registry leader(leader_options(rp, retaining_flags()));
  Registry follower(follower_options(rp));
  MutationLoad load(7, repltest::kAdminToken);
  load.run(leader.addr(), 500);
  ASSERT_TRUE(wait_converged(leader, follower)) << follower.output();

  ASSERT_EQ(follower.terminate(), 0) << follower.output();
  const uint64_t left_at = log_tip(follower.data_dir()).seq;
  load_until_deleted(leader, load, left_at + 1);
  follower.restart();
  ASSERT_TRUE(wait_converged(leader, follower)) << follower.output();
  EXPECT_TRUE(follower.wait_for_output("no longer has the records after our seq " + std::to_string(left_at), 5s))
      << follower.output();
  EXPECT_TRUE(follower.wait_for_output("installed the leader's snapshot", 5s)) << follower.output();
  EXPECT_TRUE(std::filesystem::exists(follower.data_dir() + "/log.old")) << "the old log is kept aside";

  ASSERT_EQ(follower.terminate(), 0) << follower.output();
  ASSERT_EQ(leader.terminate(), 0) << leader.output();
  expect_same_state(leader.data_dir(), follower.data_dir());
}

TEST(ReplSnapshot, ADamagedChunkIsRefusedNothingIsInstalledAndTheTransferIsRetried) {
  const uint16_t rp = repltest::free_port();
  auto lo = leader_options(rp, retaining_flags());
  lo.env.push_back({"PILOT_TEST_CORRUPT_SNAPSHOT_CHUNKS", "2"});  // the first two transfers
  Registry leader(lo);
  MutationLoad load(99, repltest::kAdminToken);
  load_until_deleted(leader, load, 1);

  Registry follower(follower_options(rp));
  ASSERT_TRUE(wait_for([&] { return count(follower.output(), "checksum mismatch") >= 1; }, 30s)) << follower.output();
  // Refused: no snapshot in place, no record in the log, no partial file left.
  EXPECT_FALSE(std::filesystem::exists(follower.data_dir() + "/snapshot.db"));
  EXPECT_EQ(log_tip(follower.data_dir()).seq, 0u);
  EXPECT_TRUE(wait_for([&] { return follower.output().find("nothing installed") != std::string::npos; }, 5s))
      << follower.output();

  // Retried: the third transfer is whole.
  ASSERT_TRUE(wait_converged(leader, follower)) << follower.output();
  EXPECT_FALSE(std::filesystem::exists(follower.data_dir() + "/snapshot.recv.db"));

  ASSERT_EQ(follower.terminate(), 0) << follower.output();
  // Counted once the follower has exited: all of its output has been read.
  EXPECT_EQ(count(follower.output(), "checksum mismatch"), 2u) << follower.output();
  EXPECT_EQ(count(follower.output(), "installed the leader's snapshot"), 1u) << follower.output();
  ASSERT_EQ(leader.terminate(), 0) << leader.output();
  expect_same_state(leader.data_dir(), follower.data_dir());
}

// An old leader whose log retention deleted its early segments rejoins after a
// failover: the rewind cut is legitimate, but the state at the common record cannot be
// rebuilt (its snapshot is newer, its log starts later), so it takes the new leader's
// snapshot instead and converges.
TEST(ReplSnapshot, AnOldLeaderWithARetainedLogRejoinsThroughTheSnapshotWhenItCannotRewind) {
  testsupport::TempDir dir_a, dir_b;
  const uint16_t port_a = repltest::free_port(), port_b = repltest::free_port();
  auto node = [&](const std::string& dir, uint16_t own_port, std::optional<uint16_t> follow) {
    std::vector<std::string> args = retaining_flags();
    args.insert(args.end(), {"--data-dir", dir, "--admin-token", repltest::kAdminToken});
    if (!follow) return std::make_unique<Registry>(leader_options(own_port, args));
    args.insert(args.end(), {"--repl-addr", "127.0.0.1:" + std::to_string(own_port)});
    return std::make_unique<Registry>(follower_options(*follow, args));
  };
  auto a = node(dir_a.path(), port_a, std::nullopt);
  auto b = node(dir_b.path(), port_b, port_a);
  MutationLoad load(41, repltest::kAdminToken);
  // (The fixture's own data directories go unused: --data-dir comes last and wins.)
  auto converged = [](const std::string& leader_dir, const std::string& follower_dir) {
    return wait_for(
        [&] {
          const repltest::Tip l = log_tip(leader_dir);
          return l.seq > 0 && log_tip(follower_dir) == l;
        },
        60s);
  };
  load_until_deleted(*a, load, 1, dir_a.path());
  ASSERT_TRUE(converged(dir_a.path(), dir_b.path())) << b->output();

  // b goes away; a takes records b never gets, snapshots them, and stops.
  ASSERT_EQ(b->terminate(), 0) << b->output();
  const uint64_t fork = log_tip(dir_b.path()).seq;
  ASSERT_GT(load.run(a->addr(), 100), 0u);
  ASSERT_EQ(a->terminate(), 0) << a->output();  // its last snapshot is past the fork
  ASSERT_GT(first_retained_seq(dir_a.path()), 1u);

  // b is promoted and takes writes at term 1.
  b = node(dir_b.path(), port_b, port_a);
  httplib::Client cli("127.0.0.1", b->http_port());
  cli.set_read_timeout(20, 0);
  auto r = cli.Post("/api/admin/promote", httplib::Headers{{"X-Admin-Token", repltest::kAdminToken}}, "",
                    "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  MutationLoad load_b(42, repltest::kAdminToken);
  ASSERT_GT(load_b.run(b->addr(), 300), 0u);
  // Its snapshot.db (written when it stopped as a follower) is what a gets.
  ASSERT_TRUE(std::filesystem::exists(dir_b.path() + "/snapshot.db"));

  // a rejoins as b's follower.
  a = node(dir_a.path(), port_a, port_b);
  ASSERT_TRUE(wait_for([&] { return a->output().find("installed the leader's snapshot") != std::string::npos; }, 30s))
      << a->output();
  EXPECT_NE(a->output().find("must be cut back to seq " + std::to_string(fork)), std::string::npos) << a->output();
  ASSERT_GT(load_b.run(b->addr(), 100), 0u);
  ASSERT_TRUE(converged(dir_b.path(), dir_a.path())) << a->output();
  ASSERT_EQ(a->terminate(), 0) << a->output();
  ASSERT_EQ(b->terminate(), 0) << b->output();
  expect_same_state(dir_b.path(), dir_a.path());
}

}  // namespace
}  // namespace pilot
