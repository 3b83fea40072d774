// Log shipping without sockets: the leader's RecordSource hands out the exact segment
// bytes, the follower's Applier turns them into the same log and the same state —
// across reconnects and restarts — and refuses every record that does not continue its
// chain, touching nothing.
#include <gtest/gtest.h>

#include "net/replication/applier.h"
#include "net/replication/record_source.h"
#include "test/replication/log_dir.h"

namespace pilot::repl {
namespace {

using repltest::LogDir;

// Everything the leader has after the follower's position, in frames of `batch` bytes.
uint64_t ship(LogDir& leader, LogDir& follower, size_t batch = 64 * 1024) {
  RecordSource src(leader.log_dir());
  EXPECT_EQ(src.seek(follower.writer().last_seq(), follower.writer().last_hash(), leader.writer().durable_seq()),
            RecordSource::Seek::kOk)
      << src.error();
  Applier applier(follower.state(), follower.state_mutex(), follower.writer());
  uint64_t total = 0;
  for (;;) {
    std::string frame;
    auto st = src.read(leader.writer().durable_seq(), batch, frame);
    EXPECT_NE(st, RecordSource::Read::kError) << src.error();
    if (st != RecordSource::Read::kRecords) break;
    EXPECT_LE(frame.size(), batch + log::kRecordHeaderSize + log::kMaxPayload);
    uint64_t applied = 0;
    EXPECT_EQ(applier.apply(frame, applied), "");
    total += applied;
  }
  return total;
}

void expect_identical(LogDir& leader, LogDir& follower) {
  EXPECT_EQ(follower.writer().last_seq(), leader.writer().last_seq());
  EXPECT_EQ(follower.writer().last_hash(), leader.writer().last_hash());
  EXPECT_EQ(follower.state().debug_dump(), leader.state().debug_dump());
  EXPECT_TRUE(follower.state() == leader.state());
  leader.writer().flush();
  follower.writer().flush();
  // Same records, same segment boundaries, same zero fill: the files are the same bytes.
  auto a = leader.segment_files(), b = follower.segment_files();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(a[i].second == b[i].second) << "segment " << a[i].first << " differs";
  }
}

TEST(RecordSource, HandsOutTheExactSegmentBytesInOrder) {
  LogDir leader(64 * 1024);
  leader.append_stream(3000, 7);
  leader.writer().flush();
  ASSERT_GT(log::list_segments(leader.log_dir()).size(), 3u);  // crosses segment boundaries
  RecordSource src(leader.log_dir());
  ASSERT_EQ(src.seek(0, {}, leader.writer().durable_seq()), RecordSource::Seek::kOk);
  std::string all;
  size_t frames = 0;
  for (;;) {
    std::string f;
    auto st = src.read(leader.writer().durable_seq(), 10000, f);
    ASSERT_NE(st, RecordSource::Read::kError) << src.error();
    if (st == RecordSource::Read::kNothing) break;
    all += f;
    ++frames;
  }
  EXPECT_GT(frames, 10u);
  EXPECT_EQ(src.position(), 3000u);
  EXPECT_TRUE(all == leader.record_bytes());
}

TEST(RecordSource, NeverReadsPastTheGivenDurableSeq) {
  LogDir leader;
  leader.append_stream(100, 1);
  leader.writer().flush();
  RecordSource src(leader.log_dir());
  ASSERT_EQ(src.seek(10, {}, 100), RecordSource::Seek::kDiverged);  // a zero hash is not record 10's
  ASSERT_EQ(src.seek(0, {}, 100), RecordSource::Seek::kOk);
  std::string f;
  ASSERT_EQ(src.read(40, 1 << 20, f), RecordSource::Read::kRecords);
  EXPECT_EQ(src.position(), 40u);
  EXPECT_EQ(src.read(40, 1 << 20, f), RecordSource::Read::kNothing);
  ASSERT_EQ(src.read(100, 1 << 20, f), RecordSource::Read::kRecords);
  EXPECT_EQ(src.position(), 100u);
}

TEST(RecordSource, SeekChecksTheFollowersPosition) {
  LogDir leader, other;
  leader.append_stream(500, 3);
  other.append_stream(500, 4);  // another history with the same sequence numbers
  leader.writer().flush();
  const uint64_t durable = leader.writer().durable_seq();
  RecordSource src(leader.log_dir());
  EXPECT_EQ(src.seek(500, leader.writer().last_hash(), durable), RecordSource::Seek::kOk);
  EXPECT_EQ(src.seek(500, other.writer().last_hash(), durable), RecordSource::Seek::kDiverged);
  EXPECT_EQ(src.seek(501, other.writer().last_hash(), durable), RecordSource::Seek::kAhead);
  EXPECT_EQ(src.seek(400, leader.writer().last_hash(), 399), RecordSource::Seek::kAhead);  // not durable yet
}

TEST(Applier, FollowerEndsWithTheSameLogAndState) {
  LogDir leader(64 * 1024), follower(64 * 1024);
  leader.append_stream(4000, 11);
  leader.writer().flush();
  EXPECT_EQ(ship(leader, follower), 4000u);
  expect_identical(leader, follower);
}

TEST(Applier, ResumesAcrossReconnectsAndRestartsWithoutGapsOrDuplicates) {
  LogDir leader(64 * 1024), follower(64 * 1024);
  leader.append_stream(1000, 21);
  leader.writer().flush();
  EXPECT_EQ(ship(leader, follower, 5000), 1000u);
  // The leader goes on; the follower reconnects (a new source from its position).
  leader.append_events(700, 22);
  leader.writer().flush();
  EXPECT_EQ(ship(leader, follower, 3000), 700u);
  // The follower restarts: its state comes back from its own log.
  follower.reopen();
  leader.append_events(800, 23);
  leader.writer().flush();
  EXPECT_EQ(ship(leader, follower), 800u);
  // And the leader restarts too.
  leader.reopen();
  leader.append_events(300, 24);
  leader.writer().flush();
  EXPECT_EQ(ship(leader, follower), 300u);
  EXPECT_EQ(ship(leader, follower), 0u);  // nothing new: nothing twice
  expect_identical(leader, follower);
}

// Each frame must be refused whole at the bad record, leaving the follower as it was.
class ApplierRefuses : public ::testing::Test {
 protected:
  void SetUp() override {
    leader.append_stream(50, 31);
    leader.writer().flush();
    bytes = leader.record_bytes();
    // The follower already has the first 20 records.
    offsets.push_back(0);
    std::string_view rest(bytes);
    log::Record r;
    size_t used = 0;
    while (log::parse_record(rest, r, used) == log::ParseResult::kOk) {
      rest.remove_prefix(used);
      offsets.push_back(bytes.size() - rest.size());
    }
    ASSERT_EQ(offsets.size(), 51u);
    uint64_t applied = 0;
    ASSERT_EQ(Applier(follower.state(), follower.state_mutex(), follower.writer()).apply(records(1, 20), applied), "");
    before = follower.state().debug_dump();
  }
  // Records first..last (1-based) as on the wire.
  std::string records(size_t first, size_t last) {
    return bytes.substr(offsets[first - 1], offsets[last] - offsets[first - 1]);
  }
  void expect_refused(const std::string& frame, const std::string& why_part, uint64_t applied_before_bad = 0) {
    const uint64_t seq = follower.writer().last_seq();
    uint64_t applied = 0;
    std::string why = Applier(follower.state(), follower.state_mutex(), follower.writer()).apply(frame, applied);
    EXPECT_NE(why.find(why_part), std::string::npos) << why;
    EXPECT_EQ(applied, applied_before_bad);
    EXPECT_EQ(follower.writer().last_seq(), seq + applied_before_bad);
    if (applied_before_bad == 0) {
      EXPECT_EQ(follower.state().debug_dump(), before);
    }
  }

  LogDir leader, follower;
  std::string bytes;
  std::vector<size_t> offsets;
  std::string before;
};

TEST_F(ApplierRefuses, AFlippedBit) {
  std::string f = records(21, 22);
  f[log::kRecordHeaderSize + 1] ^= 0x10;  // in record 21's payload
  expect_refused(f, "checksum");
}

TEST_F(ApplierRefuses, AGapADuplicateAndTheSameSeqFromAnotherHistory) {
  expect_refused(records(22, 23), "sequence gap");
  expect_refused(records(20, 21), "sequence gap");  // 20 again
  LogDir other;
  other.append_stream(50, 99);
  other.writer().flush();
  std::string theirs = other.record_bytes();
  size_t used = 0;
  log::Record r;
  std::string_view rest(theirs);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(log::parse_record(rest, r, used), log::ParseResult::kOk);
    rest.remove_prefix(used);
  }
  ASSERT_EQ(log::parse_record(rest, r, used), log::ParseResult::kOk);
  ASSERT_EQ(r.seq, 21u);
  expect_refused(std::string(rest.substr(0, used)), "hash chain broken");
}

TEST_F(ApplierRefuses, ABadRecordAfterGoodOnesKeepsOnlyTheGoodOnes) {
  std::string f = records(21, 25);
  f[offsets[23] - offsets[20] + 5] ^= 1;  // record 24's crc
  expect_refused(f, "checksum", 3);
  EXPECT_EQ(follower.writer().last_seq(), 23u);
  // The rest arrives again after a reconnect, from 24.
  uint64_t applied = 0;
  EXPECT_EQ(Applier(follower.state(), follower.state_mutex(), follower.writer()).apply(records(24, 50), applied), "");
  EXPECT_EQ(follower.state().debug_dump(), leader.state().debug_dump());
}

TEST_F(ApplierRefuses, TruncatedZeroAndEmptyFrames) {
  const std::string one = records(21, 21);
  expect_refused(one.substr(0, one.size() - 1), "cut short");
  expect_refused(std::string(80, '\0'), "zero bytes");
  expect_refused("", "empty");
}

TEST_F(ApplierRefuses, AnEventThisBuildCannotDecode) {
  // A well-framed, correctly chained record of an unknown kind: a newer leader.
  std::string f;
  log::append_record(f, follower.writer().last_hash(), 21, follower.writer().term(), 1, 9999, "xyz");
  expect_refused(f, "undecodable event");
}

}  // namespace
}  // namespace pilot::repl
