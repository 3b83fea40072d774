// Restart through real files: log segments + snapshot.db in a temp data directory.
// "Snapshot + replay equals full replay" end to end, and the checks that keep a
// snapshot from being applied to a log it does not belong to.
#include "projections/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "log/scanner.h"
#include "log/writer.h"
#include "projections/snapshot.h"
#include "test/projections/event_gen.h"
#include "test/support/temp_dir.h"

namespace pilot {
namespace {

constexpr uint64_t kSegmentBytes = 64 << 10;  // many small segments

// Appends `records` through a real Writer and returns the state built in memory.
struct LogBuilder {
  DataDir dir;
  std::unique_ptr<log::Writer> writer;
  std::vector<std::array<uint8_t, 32>> hashes;  // of seq 1, 2, ...

  explicit LogBuilder(const std::string& root) : dir{root} {
    log::RecoveryResult rec;
    std::string err;
    EXPECT_TRUE(log::recover(dir.log_dir(), kSegmentBytes, rec, err)) << err;
    log::WriterOptions o;
    o.log_dir = dir.log_dir();
    o.fsync.mode = log::FsyncPolicy::Mode::kNone;
    o.segment_bytes = kSegmentBytes;
    writer = log::Writer::open(o, rec, err);
    EXPECT_TRUE(writer) << err;
  }

  void append(const std::vector<projtest::Record>& recs, size_t from, size_t to, State& mirror) {
    for (size_t i = from; i < to; ++i) {
      writer->set_term(recs[i].meta.term);
      uint64_t seq = writer->append(recs[i].event, recs[i].meta.time_ns);
      EventMeta m = recs[i].meta;
      m.seq = seq;
      mirror.apply(m, recs[i].event);
      mirror.last_hash = writer->last_hash();
      hashes.push_back(writer->last_hash());
    }
    writer->flush();
  }
};

TEST(Store, SnapshotPlusTailEqualsFullReplayThroughRealFiles) {
  for (uint64_t seed : {1, 2, 3, 4, 5}) {
    testsupport::TempDir tmp;
    auto recs = projtest::EventGen(seed).stream(3000);
    LogBuilder b(tmp.path());
    State live;
    size_t k = 500 + seed * 300;
    b.append(recs, 0, k, live);
    Snapshotter snap(b.dir);
    auto r = snap.run(b.writer->durable_seq());
    ASSERT_EQ(r.error, "");
    ASSERT_EQ(r.seq, k);
    b.append(recs, k, recs.size(), live);
    b.writer->close();

    State restored;
    RestoreReport rep;
    std::string err;
    ASSERT_TRUE(restore_state(b.dir, kSegmentBytes, restored, rep, err)) << err;
    EXPECT_EQ(rep.snapshot_seq, k);
    EXPECT_EQ(rep.replayed, recs.size() - k);
    EXPECT_TRUE(restored == live) << "seed " << seed;
    EXPECT_EQ(restored.debug_dump(), live.debug_dump());

    // Without the snapshot: the same state from the log alone.
    std::filesystem::remove(b.dir.snapshot_path());
    State from_log;
    ASSERT_TRUE(restore_state(b.dir, kSegmentBytes, from_log, rep, err)) << err;
    EXPECT_EQ(rep.snapshot_seq, 0u);
    EXPECT_TRUE(from_log == live) << "seed " << seed;
  }
}

TEST(Store, BackgroundSnapshotRunsWhileAppendsContinue) {
  testsupport::TempDir tmp;
  auto recs = projtest::EventGen(9).stream(20000);
  LogBuilder b(tmp.path());
  State live;
  b.append(recs, 0, 10000, live);
  Snapshotter snap(b.dir);
  std::atomic<uint64_t> done_seq{0};
  ASSERT_TRUE(snap.start(b.writer->durable_seq(), [&](const Snapshotter::Result& r) {
    EXPECT_EQ(r.error, "");
    done_seq = r.seq;
  }));
  EXPECT_FALSE(snap.start(1)) << "a second snapshot must not start while one runs";
  b.append(recs, 10000, recs.size(), live);  // appends go on meanwhile
  snap.wait();
  EXPECT_EQ(done_seq.load(), 10000u);
  b.writer->close();
  State restored;
  RestoreReport rep;
  std::string err;
  ASSERT_TRUE(restore_state(b.dir, kSegmentBytes, restored, rep, err)) << err;
  EXPECT_EQ(rep.snapshot_seq, 10000u);
  EXPECT_TRUE(restored == live);
}

// The state after the first `n` records, built without the log.
State prefix_state(const std::vector<projtest::Record>& recs, const LogBuilder& b, size_t n) {
  State s;
  for (size_t i = 0; i < n; ++i) {
    EventMeta m = recs[i].meta;
    m.seq = i + 1;
    s.apply(m, recs[i].event);
    s.last_hash = b.hashes[i];
  }
  return s;
}

// A closed log of `n` generated events, and the state they make.
struct ClosedLog {
  testsupport::TempDir tmp;
  std::vector<projtest::Record> recs;
  LogBuilder b{tmp.path()};
  State live;
  ClosedLog(uint64_t seed, size_t n) : recs(projtest::EventGen(seed).stream(n)) {
    b.append(recs, 0, recs.size(), live);
    b.writer->close();
  }
};

// replay_log reads on a thread of its own in batches of 512: it must stop exactly at
// `upto`, also in the middle of a batch, and continue from there.
TEST(Store, ReplayStopsAtUptoAndContinuesFromThere) {
  ClosedLog l(21, 5000);
  const auto& [recs, b, live] = std::tie(l.recs, l.b, l.live);
  State s;
  std::string err;
  ASSERT_TRUE(replay_log(b.dir.log_dir(), s, 1500, err)) << err;
  EXPECT_EQ(s.last_seq, 1500u);
  EXPECT_TRUE(s == prefix_state(recs, b, 1500));
  ASSERT_TRUE(replay_log(b.dir.log_dir(), s, 2048, err)) << err;  // a batch boundary
  EXPECT_TRUE(s == prefix_state(recs, b, 2048));
  ASSERT_TRUE(replay_log(b.dir.log_dir(), s, 5000, err)) << err;
  EXPECT_TRUE(s == live);
  EXPECT_EQ(s.debug_dump(), live.debug_dump());
}

TEST(Store, ReplayPastTheEndAppliesEverythingThenSaysWhereTheLogEnds) {
  ClosedLog l(22, 3000);
  const auto& [recs, b, live] = std::tie(l.recs, l.b, l.live);
  State s;
  std::string err;
  EXPECT_FALSE(replay_log(b.dir.log_dir(), s, 9999, err));
  EXPECT_EQ(err, "log ends at seq 3000, before 9999");
  EXPECT_TRUE(s == live);
}

// A damaged record in the middle of the log: everything before it is applied, nothing
// after it, and the error names the place.
TEST(Store, ReplayStopsAtADamagedRecordWithTheStateBeforeIt) {
  ClosedLog l(23, 4000);
  const auto& [recs, b, live] = std::tie(l.recs, l.b, l.live);
  auto segs = log::list_segments(b.dir.log_dir());
  ASSERT_GE(segs.size(), 4u);
  const auto& victim = segs[segs.size() / 2];
  {
    std::fstream f(victim.path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(victim.path) / 2));
    char c = 0;
    f.read(&c, 1);
    f.seekp(-1, std::ios::cur);
    c = static_cast<char>(c ^ 0x40);
    f.write(&c, 1);
  }
  State s;
  std::string err;
  EXPECT_FALSE(replay_log(b.dir.log_dir(), s, recs.size(), err));
  EXPECT_NE(err.find("log error in " + victim.path), std::string::npos) << err;
  EXPECT_NE(err.find("after seq " + std::to_string(s.last_seq) + ":"), std::string::npos) << err;
  EXPECT_GT(s.last_seq, victim.first_seq - 1);
  EXPECT_LT(s.last_seq, recs.size());
  EXPECT_TRUE(s == prefix_state(recs, b, s.last_seq));
}

TEST(Store, RefusesASnapshotFromAnotherLog) {
  testsupport::TempDir a, b;
  auto recs = projtest::EventGen(11).stream(400);
  auto other = projtest::EventGen(12).stream(400);
  State sa, sb;
  LogBuilder la(a.path()), lb(b.path());
  la.append(recs, 0, 400, sa);
  lb.append(other, 0, 300, sb);
  la.writer->close();
  lb.writer->close();
  // b's snapshot at seq 300 next to a's log: same seq exists, different hash.
  save_snapshot(sb, la.dir.snapshot_path());
  State s;
  RestoreReport rep;
  std::string err;
  EXPECT_FALSE(restore_state(la.dir, kSegmentBytes, s, rep, err));
  EXPECT_NE(err.find("does not match the log"), std::string::npos) << err;
}

TEST(Store, RefusesASnapshotAheadOfTheLog) {
  testsupport::TempDir a;
  auto recs = projtest::EventGen(13).stream(200);
  State full;
  {
    LogBuilder l(a.path());
    l.append(recs, 0, 200, full);
    l.writer->close();
  }
  save_snapshot(full, DataDir{a.path()}.snapshot_path());
  // Lose the log: the snapshot claims records the log no longer has.
  std::filesystem::remove_all(DataDir{a.path()}.log_dir());
  State s;
  RestoreReport rep;
  std::string err;
  EXPECT_FALSE(restore_state(DataDir{a.path()}, kSegmentBytes, s, rep, err));
  EXPECT_NE(err.find("lost acknowledged records"), std::string::npos) << err;
}

}  // namespace
}  // namespace pilot
