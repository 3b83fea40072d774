// Snapshot transfer without sockets (net/replication/snapshot_transfer.h): a leader
// whose log was cut by retention streams snapshot.db, a follower checks and installs
// it, then continues from the leader's retained log — the same state at the end.
#include "net/replication/snapshot_transfer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "log/file_util.h"
#include "log/retention.h"
#include "log/scanner.h"
#include "net/replication/applier.h"
#include "net/replication/record_source.h"
#include "projections/snapshot.h"
#include "test/replication/log_dir.h"

namespace pilot::repl {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kSegmentBytes = 64 * 1024;

// A leader with `events` records, a snapshot at its end, and every covered segment but
// the writer's deleted.
struct RetainedLeader {
  repltest::LogDir dir{kSegmentBytes};
  uint64_t snapshot_seq = 0;
  uint64_t first_retained = 0;

  explicit RetainedLeader(size_t events, uint64_t seed = 7) {
    dir.append_events(events, seed);
    dir.writer().flush();
    Snapshotter snap(dir.dir());
    auto r = snap.run(dir.writer().last_seq());
    EXPECT_EQ(r.error, "");
    snapshot_seq = r.seq;
    log::RetentionResult res;
    std::string err;
    EXPECT_TRUE(log::apply_retention(dir.log_dir(), snapshot_seq, log::RetentionPolicy{false, 0}, res, err)) << err;
    EXPECT_GT(res.deleted, 0u);
    first_retained = res.first_kept_seq;
  }
};

// Every frame stream_snapshot sends, whole.
std::vector<std::string> snapshot_frames(const std::string& path, SnapshotEnd& end) {
  std::vector<std::string> frames;
  bool send_failed = false;
  std::string err;
  EXPECT_TRUE(stream_snapshot(
      path,
      [&](std::string_view f) {
        frames.emplace_back(f);
        return true;
      },
      end, send_failed, err))
      << err;
  frames.push_back(encode(end));
  return frames;
}

// Feeds frames to a receiver as the follower does; "" or the first refusal.
std::string receive(SnapshotReceiver& rx, const std::vector<std::string>& frames, SnapshotEnd& end) {
  std::string err;
  if (!rx.begin(err)) return err;
  for (const std::string& bytes : frames) {
    Frame f;
    std::string why;
    if (next_frame(bytes, f, why) != FrameStatus::kFrame) return "bad frame: " + why;
    std::string bad = f.type == MsgType::kSnapshotChunk ? rx.chunk(f.body) : rx.finish(f.body, end);
    if (!bad.empty()) return bad;
  }
  return "";
}

RewindTarget target_of(repltest::LogDir& d, Snapshotter& snap) {
  RewindTarget t;
  t.dir = d.dir();
  t.segment_bytes = kSegmentBytes;
  t.writer = &d.writer();
  t.state = &d.state();
  t.state_mu = &d.state_mutex();
  t.snapshotter = &snap;
  return t;
}

TEST(SnapshotTransfer, FollowerInstallsTheSnapshotThenTheRetainedTailAndConverges) {
  RetainedLeader leader(4000);
  ASSERT_GT(leader.first_retained, 1u);
  SnapshotEnd end;
  const auto frames = snapshot_frames(leader.dir.dir().snapshot_path(), end);
  EXPECT_EQ(end.last_seq, leader.snapshot_seq);
  EXPECT_EQ(end.size, fs::file_size(leader.dir.dir().snapshot_path()));
  EXPECT_GE(frames.size(), 3u) << "want a snapshot of several chunks";
  for (size_t i = 0; i + 1 < frames.size(); ++i) EXPECT_LE(frames[i].size(), 5 + kMaxSnapshotChunkBody);

  // More records after the snapshot: the follower gets them from the log.
  leader.dir.append_events(500, 8);
  leader.dir.writer().flush();

  // A follower with an old, short log of its own (it was disconnected long ago).
  repltest::LogDir follower(kSegmentBytes);
  follower.append_events(50, 7);
  follower.writer().flush();
  SnapshotReceiver rx(follower.dir().root + "/snapshot.recv.db");
  SnapshotEnd got;
  ASSERT_EQ(receive(rx, frames, got), "");
  EXPECT_EQ(got, end);
  Snapshotter follower_snap(follower.dir());
  RewindDone done;
  std::string err;
  ASSERT_TRUE(install_snapshot(target_of(follower, follower_snap), rx.path(), got, done, err)) << err;
  EXPECT_EQ(done.snapshot_seq, end.last_seq);
  EXPECT_EQ(follower.writer().last_seq(), end.last_seq);
  EXPECT_EQ(follower.writer().last_hash(), end.last_hash);
  EXPECT_FALSE(fs::exists(rx.path()));
  EXPECT_TRUE(fs::exists(follower.dir().root + "/log.old"));

  // Hello from the snapshot's seq: the leader's retained log continues it.
  RecordSource src(leader.dir.log_dir());
  ASSERT_EQ(src.seek(follower.writer().last_seq(), follower.writer().last_hash(), leader.dir.writer().durable_seq()),
            RecordSource::Seek::kOk)
      << src.error();
  Applier applier(follower.state(), follower.state_mutex(), follower.writer());
  for (;;) {
    std::string batch;
    auto st = src.read(leader.dir.writer().durable_seq(), kRecordsBatchBytes, batch);
    ASSERT_NE(st, RecordSource::Read::kError) << src.error();
    if (st != RecordSource::Read::kRecords) break;
    uint64_t applied = 0;
    ASSERT_EQ(applier.apply(batch, applied), "");
  }
  EXPECT_EQ(follower.writer().last_seq(), leader.dir.writer().last_seq());
  EXPECT_EQ(follower.state().debug_dump(), leader.dir.state().debug_dump());

  // A restart of the follower opens the new log (it starts after seq 1) and the snapshot.
  follower.reopen();
  EXPECT_EQ(follower.writer().last_seq(), leader.dir.writer().last_seq());
  EXPECT_EQ(follower.state().debug_dump(), leader.dir.state().debug_dump());
}

TEST(SnapshotTransfer, ACorruptChunkIsRefusedAndNothingIsInstalled) {
  RetainedLeader leader(4000);
  SnapshotEnd end;
  auto frames = snapshot_frames(leader.dir.dir().snapshot_path(), end);
  ASSERT_GE(frames.size(), 3u);
  frames[1][kFrameHeaderSize + kSnapshotChunkHeader + 100] ^= 0x01;  // a byte of the second chunk

  repltest::LogDir follower(kSegmentBytes);
  follower.append_events(50, 7);
  follower.writer().flush();
  const auto segments_before = follower.segment_files();
  {
    SnapshotReceiver rx(follower.dir().root + "/snapshot.recv.db");
    SnapshotEnd got;
    const std::string why = receive(rx, frames, got);
    EXPECT_NE(why.find("checksum mismatch"), std::string::npos) << why;
    EXPECT_NE(why.find("offset " + std::to_string(kSnapshotChunkBytes)), std::string::npos) << why;
  }
  EXPECT_FALSE(fs::exists(follower.dir().root + "/snapshot.recv.db"));
  EXPECT_FALSE(fs::exists(follower.dir().snapshot_path()));
  EXPECT_EQ(follower.segment_files(), segments_before);

  // The end frame is checked too: a size, a checksum or a meta that differ refuse it.
  frames = snapshot_frames(leader.dir.dir().snapshot_path(), end);
  for (int field = 0; field < 3; ++field) {
    SnapshotEnd lie = end;
    if (field == 0) lie.size += 1;
    if (field == 1) lie.file_hash[0] ^= 1;
    if (field == 2) lie.last_seq += 1;
    frames.back() = encode(lie);
    SnapshotReceiver rx(follower.dir().root + "/snapshot.recv.db");
    SnapshotEnd got;
    EXPECT_NE(receive(rx, frames, got), "") << field;
  }
  EXPECT_FALSE(fs::exists(follower.dir().snapshot_path()));
}

TEST(SnapshotTransfer, LeaderSeekOnARetainedLog) {
  RetainedLeader leader(4000);
  const uint64_t first = leader.first_retained;
  const uint64_t durable = leader.dir.writer().durable_seq();
  RecordSource src(leader.dir.log_dir());
  // A fresh follower, and one whose last record is gone: the snapshot.
  EXPECT_EQ(src.seek(0, {}, durable), RecordSource::Seek::kNeedSnapshot);
  EXPECT_EQ(src.seek(first - 10, {}, durable), RecordSource::Seek::kNeedSnapshot);
  // Right before the first retained record, with its hash (from the segment header):
  // the log continues it. With another hash it does not.
  log::Scanner s(leader.dir.log_dir(), first);
  log::Record r;
  ASSERT_EQ(s.next(r), log::Scanner::Status::kRecord);
  ASSERT_EQ(r.seq, first);
  auto snap = load_snapshot(leader.dir.dir().snapshot_path(), nullptr);
  ASSERT_TRUE(snap);
  // The snapshot's hash at its own seq, and the record it is at (a retained one).
  EXPECT_EQ(src.seek(snap->last_seq, snap->last_hash, durable), RecordSource::Seek::kOk);
  log::Hash before_first{};
  {
    // Hash of record first-1 = the first retained segment's prev_hash.
    std::string head(log::kSegmentHeaderSize, '\0');
    FILE* f = std::fopen(log::list_segments(leader.dir.log_dir()).front().path.c_str(), "rb");
    ASSERT_TRUE(f);
    ASSERT_EQ(std::fread(head.data(), 1, head.size(), f), head.size());
    std::fclose(f);
    log::SegmentHeader h;
    ASSERT_TRUE(log::decode_segment_header(head, h));
    before_first = h.prev_hash;
  }
  ASSERT_EQ(src.seek(first - 1, before_first, durable), RecordSource::Seek::kOk) << src.error();
  std::string batch;
  ASSERT_EQ(src.read(durable, kRecordsBatchBytes, batch), RecordSource::Read::kRecords) << src.error();
  size_t used = 0;
  ASSERT_EQ(log::parse_record(batch, r, used), log::ParseResult::kOk);
  EXPECT_EQ(r.seq, first) << "the first record after the follower's is not skipped";
  log::Hash wrong = before_first;
  wrong[0] ^= 1;
  EXPECT_EQ(src.seek(first - 1, wrong, durable), RecordSource::Seek::kNeedSnapshot);
}

TEST(SnapshotTransfer, AnInstallInterruptedAfterItsCommitPointIsFinishedAtStart) {
  RetainedLeader leader(2000);
  repltest::LogDir follower(kSegmentBytes);
  follower.append_events(30, 7);
  follower.writer().close();
  // The crash: the verified file was renamed to snapshot.install.db, nothing else.
  fs::copy_file(leader.dir.dir().snapshot_path(), follower.dir().root + "/snapshot.install.db");
  uint64_t installed = 0;
  std::string err;
  ASSERT_TRUE(finish_snapshot_install(follower.dir(), installed, err)) << err;
  EXPECT_EQ(installed, leader.snapshot_seq);
  EXPECT_FALSE(fs::exists(follower.dir().root + "/snapshot.install.db"));
  State st;
  RestoreReport rep;
  ASSERT_TRUE(restore_state(follower.dir(), kSegmentBytes, st, rep, err)) << err;
  EXPECT_EQ(rep.snapshot_seq, leader.snapshot_seq);
  EXPECT_EQ(rep.log.last_seq, leader.snapshot_seq);
  EXPECT_EQ(rep.log.records, 0u);
  // Nothing staged: nothing to install; the file of a transfer cut short goes.
  std::ofstream(snapshot_receive_path(follower.dir())) << "the first chunks of a transfer";
  ASSERT_TRUE(finish_snapshot_install(follower.dir(), installed, err)) << err;
  EXPECT_EQ(installed, 0u);
  EXPECT_FALSE(fs::exists(snapshot_receive_path(follower.dir())));
}

// A crash after the old log went aside, before or after the fresh log was written: the
// re-run at start finishes the install and log.old still holds the old records.
TEST(SnapshotTransfer, AReRunInstallKeepsTheOldLogItAlreadyMovedAside) {
  RetainedLeader leader(2000);
  for (const bool fresh_log_written : {false, true}) {
    SCOPED_TRACE(fresh_log_written ? "crash before the snapshot rename" : "crash right after the move");
    repltest::LogDir follower(kSegmentBytes);
    follower.append_events(30, 7);
    follower.writer().close();
    const std::string root = follower.dir().root;
    const auto old_segments = follower.segment_files();
    ASSERT_FALSE(old_segments.empty());
    fs::copy_file(leader.dir.dir().snapshot_path(), root + "/snapshot.install.db");
    uint64_t installed = 0;
    std::string err;
    if (fresh_log_written) {
      // Run the install to its end, then put the staged file back as if the last
      // rename had not happened.
      ASSERT_TRUE(finish_snapshot_install(follower.dir(), installed, err)) << err;
      fs::rename(follower.dir().snapshot_path(), root + "/snapshot.install.db");
    } else {
      fs::rename(follower.dir().log_dir(), root + "/log.old");
    }
    ASSERT_TRUE(finish_snapshot_install(follower.dir(), installed, err)) << err;
    EXPECT_EQ(installed, leader.snapshot_seq);
    std::vector<std::pair<std::string, std::string>> aside;
    for (const auto& seg : log::list_segments(root + "/log.old")) {
      std::string bytes;
      ASSERT_TRUE(log::read_file_from(seg.path, 0, bytes));
      aside.emplace_back(seg.path.substr(seg.path.rfind('/') + 1), bytes);
    }
    EXPECT_EQ(aside, old_segments) << "the old records are still aside, byte for byte";
    State st;
    RestoreReport rep;
    ASSERT_TRUE(restore_state(follower.dir(), kSegmentBytes, st, rep, err)) << err;
    EXPECT_EQ(rep.log.last_seq, leader.snapshot_seq);
    EXPECT_EQ(rep.log.records, 0u);
  }
}

TEST(SnapshotTransfer, RestoreRefusesASnapshotItsLogDoesNotContinue) {
  RetainedLeader leader(2000);
  // Another history with exactly as many records as the snapshot covers.
  repltest::LogDir other(kSegmentBytes);
  other.append_events(leader.snapshot_seq, 99);
  other.writer().flush();
  Snapshotter snap(other.dir());
  ASSERT_EQ(snap.run(other.writer().last_seq()).error, "");
  const std::string wrong_snapshot = other.dir().snapshot_path();

  // A log that starts right after the snapshot (an installed one) and continues it.
  repltest::LogDir follower(kSegmentBytes);
  follower.writer().close();
  fs::copy_file(leader.dir.dir().snapshot_path(), follower.dir().root + "/snapshot.install.db");
  uint64_t installed = 0;
  std::string err;
  ASSERT_TRUE(finish_snapshot_install(follower.dir(), installed, err)) << err;
  follower.reopen();
  follower.append_events(20, 5);
  follower.writer().close();
  State st;
  RestoreReport rep;
  ASSERT_TRUE(restore_state(follower.dir(), kSegmentBytes, st, rep, err)) << err;
  EXPECT_EQ(rep.replayed, 20u);
  // The other history's snapshot at the same seq: its first record does not chain.
  fs::copy_file(wrong_snapshot, follower.dir().snapshot_path(), fs::copy_options::overwrite_existing);
  EXPECT_FALSE(restore_state(follower.dir(), kSegmentBytes, st, rep, err));
  EXPECT_NE(err.find("does not continue"), std::string::npos) << err;

  // A snapshot at the very end of the log (nothing to replay) is compared too.
  leader.dir.writer().close();
  fs::copy_file(wrong_snapshot, leader.dir.dir().snapshot_path(), fs::copy_options::overwrite_existing);
  EXPECT_FALSE(restore_state(leader.dir.dir(), kSegmentBytes, st, rep, err));
  EXPECT_NE(err.find("snapshot does not match the log"), std::string::npos) << err;
}

}  // namespace
}  // namespace pilot::repl
