// Log retention on real segment files: what is deleted, what never is, and that every
// reader copes with a log that no longer starts at seq 1.
#include "log/retention.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "log/recovery.h"
#include "log/scanner.h"
#include "log/writer.h"
#include "test/support/temp_dir.h"

namespace pilot::log {
namespace {

constexpr uint64_t kSegmentBytes = 4096;

// A log of `n` records in small segments (a few dozen records each).
void write_log(const std::string& dir, uint64_t n) {
  RecoveryResult rec;
  std::string err;
  ASSERT_TRUE(recover(dir, kSegmentBytes, rec, err)) << err;
  WriterOptions opts;
  opts.log_dir = dir;
  opts.fsync.mode = FsyncPolicy::Mode::kNone;
  opts.segment_bytes = kSegmentBytes;
  auto w = Writer::open(opts, rec, err);
  ASSERT_TRUE(w) << err;
  for (uint64_t i = w->last_seq() + 1; i <= n; ++i) {
    TagsChanged t;
    t.node_id = static_cast<uint32_t>(i);
    t.tags = {"tag-" + std::to_string(i), std::string(i % 61, 'x')};
    w->append(t, static_cast<int64_t>(i));
  }
  w->close();
}

// Every record the log still holds, checked end to end (hash chain included).
std::vector<uint64_t> seqs_in(const std::string& dir) {
  Scanner s(dir, 1, /*verify_chain=*/true);
  std::vector<uint64_t> out;
  Record r;
  Scanner::Status st;
  while ((st = s.next(r)) == Scanner::Status::kRecord) out.push_back(r.seq);
  EXPECT_EQ(st, Scanner::Status::kEnd) << s.error().what;
  return out;
}

std::vector<SegmentFile> fake_segments(std::initializer_list<uint64_t> firsts) {
  std::vector<SegmentFile> out;
  for (uint64_t f : firsts) out.push_back({f, "/x/" + segment_file_name(f)});
  return out;
}

TEST(Retention, PolicyParses) {
  auto all = RetentionPolicy::parse("all");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->keep_all);
  EXPECT_EQ(all->to_string(), "all");
  auto two = RetentionPolicy::parse("2");
  ASSERT_TRUE(two);
  EXPECT_FALSE(two->keep_all);
  EXPECT_EQ(two->keep_covered, 2u);
  EXPECT_EQ(two->to_string(), "2");
  EXPECT_TRUE(RetentionPolicy::parse("0"));
  for (const char* bad : {"", "none", "-1", "2x", "1000001", "99999999"})
    EXPECT_FALSE(RetentionPolicy::parse(bad)) << bad;
}

TEST(Retention, OnlyCoveredSegmentsBeforeTheMarginGoAndNeverTheLast) {
  const auto segs = fake_segments({1, 100, 200, 300});
  const RetentionPolicy none{false, 0}, two{false, 2}, all{};
  // Segment [1,99] is covered only once the snapshot reaches 99.
  EXPECT_TRUE(segments_to_delete(segs, 98, none).empty());
  ASSERT_EQ(segments_to_delete(segs, 99, none).size(), 1u);
  EXPECT_EQ(segments_to_delete(segs, 99, none)[0].first_seq, 1u);
  EXPECT_EQ(segments_to_delete(segs, 250, none).size(), 2u);
  // The last segment is the writer's: never deleted, even when the snapshot is past it.
  EXPECT_EQ(segments_to_delete(segs, 100000, none).size(), 3u);
  // A margin of two covered segments.
  EXPECT_TRUE(segments_to_delete(segs, 250, two).empty());
  ASSERT_EQ(segments_to_delete(segs, 299, two).size(), 1u);
  EXPECT_EQ(segments_to_delete(segs, 299, two)[0].first_seq, 1u);
  EXPECT_TRUE(segments_to_delete(segs, 100000, all).empty());
  EXPECT_TRUE(segments_to_delete(fake_segments({1}), 100000, none).empty());
}

TEST(Retention, DeletesCoveredSegmentsOnDiskAndTheRestStillVerifies) {
  testsupport::TempDir tmp;
  const std::string dir = tmp.path() + "/log";
  write_log(dir, 600);
  const auto before = list_segments(dir);
  ASSERT_GE(before.size(), 6u) << "segments too large for this test";

  // A snapshot in the middle of the fourth segment covers the first three.
  const uint64_t covered = before[3].first_seq + 2;
  RetentionResult res;
  std::string err;
  ASSERT_TRUE(apply_retention(dir, covered, RetentionPolicy{false, 1}, res, err)) << err;
  EXPECT_EQ(res.deleted, 2u);  // three covered, one kept as margin
  EXPECT_GT(res.deleted_bytes, 0u);
  EXPECT_EQ(res.first_kept_seq, before[2].first_seq);
  const auto after = list_segments(dir);
  ASSERT_EQ(after.size(), before.size() - 2);
  EXPECT_EQ(after.front().first_seq, before[2].first_seq);

  // Every record the snapshot does not cover is still there, chained from the first
  // retained segment's header.
  const auto seqs = seqs_in(dir);
  ASSERT_FALSE(seqs.empty());
  EXPECT_EQ(seqs.front(), before[2].first_seq);
  EXPECT_EQ(seqs.back(), 600u);
  for (size_t i = 1; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], seqs[i - 1] + 1);

  // Recovery opens it and says where it starts; a writer continues it.
  RecoveryResult rec;
  ASSERT_TRUE(recover(dir, kSegmentBytes, rec, err)) << err;
  EXPECT_EQ(rec.first_seq, before[2].first_seq);
  EXPECT_EQ(rec.last_seq, 600u);
  EXPECT_FALSE(rec.repaired);
  write_log(dir, 650);
  EXPECT_EQ(seqs_in(dir).back(), 650u);
}

TEST(Retention, NeverDeletesWhatTheSnapshotDoesNotCover) {
  testsupport::TempDir tmp;
  const std::string dir = tmp.path() + "/log";
  write_log(dir, 400);
  const auto before = list_segments(dir);
  ASSERT_GE(before.size(), 4u);
  RetentionResult res;
  std::string err;
  // One record short of covering the first segment: nothing goes.
  ASSERT_TRUE(apply_retention(dir, before[1].first_seq - 2, RetentionPolicy{false, 0}, res, err)) << err;
  EXPECT_EQ(res.deleted, 0u);
  EXPECT_EQ(list_segments(dir).size(), before.size());
  // "all" keeps everything, whatever the snapshot covers.
  ASSERT_TRUE(apply_retention(dir, 400, RetentionPolicy{}, res, err)) << err;
  EXPECT_EQ(res.deleted, 0u);
  EXPECT_EQ(seqs_in(dir).front(), 1u);
  // A snapshot at the very end: every segment but the writer's goes, no record is lost
  // from it.
  ASSERT_TRUE(apply_retention(dir, 400, RetentionPolicy{false, 0}, res, err)) << err;
  EXPECT_EQ(res.deleted, before.size() - 1);
  const auto left = list_segments(dir);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].path, before.back().path);
  EXPECT_EQ(seqs_in(dir).back(), 400u);
}

TEST(Retention, ALiveReaderKeepsItsPlaceWhenSegmentsUpToItsOwnAreDeleted) {
  testsupport::TempDir tmp;
  const std::string dir = tmp.path() + "/log";
  write_log(dir, 300);
  // A tailer at the end of the log: it has read (and listed) every segment.
  Scanner live(dir, 1, /*verify_chain=*/true);
  live.set_live(true);
  Record r;
  uint64_t next = 1;
  Scanner::Status st;
  while ((st = live.next(r)) == Scanner::Status::kRecord) ASSERT_EQ(r.seq, next++);
  ASSERT_EQ(st, Scanner::Status::kEnd);
  const std::string reading = live.current_segment();
  // The log grows, then a snapshot covers everything up to the segment after the one
  // the tailer reads: that one (open in the tailer) and all before it are deleted.
  write_log(dir, 500);
  const auto segs = list_segments(dir);
  size_t k = 0;
  while (segs[k].path != reading) ++k;
  ASSERT_LT(k + 2, segs.size()) << "want segments after the tailer's";
  RetentionResult res;
  std::string err;
  ASSERT_TRUE(apply_retention(dir, segs[k + 1].first_seq - 1, RetentionPolicy{false, 0}, res, err)) << err;
  ASSERT_EQ(res.deleted, k + 1);
  ASSERT_FALSE(std::filesystem::exists(reading));
  while ((st = live.next(r)) == Scanner::Status::kRecord) ASSERT_EQ(r.seq, next++);
  EXPECT_EQ(st, Scanner::Status::kEnd) << live.error().what;
  EXPECT_EQ(next, 501u) << "every record after the tailer's place, in order, none skipped";
}

TEST(Retention, AReaderThatFellBehindTheRetainedLogStopsWithAnErrorNotAGap) {
  testsupport::TempDir tmp;
  const std::string dir = tmp.path() + "/log";
  write_log(dir, 300);
  Scanner live(dir, 1, /*verify_chain=*/false);
  live.set_live(true);
  Record r;
  ASSERT_EQ(live.next(r), Scanner::Status::kRecord);  // in the first segment
  const auto segs = list_segments(dir);
  RetentionResult res;
  std::string err;
  ASSERT_TRUE(apply_retention(dir, segs[3].first_seq - 1, RetentionPolicy{false, 0}, res, err)) << err;
  uint64_t last = r.seq;
  Scanner::Status st;
  while ((st = live.next(r)) == Scanner::Status::kRecord) {
    ASSERT_EQ(r.seq, last + 1);
    last = r.seq;
  }
  EXPECT_EQ(st, Scanner::Status::kError);
  EXPECT_EQ(last, segs[1].first_seq - 1) << "it read what its open segment held, then nothing out of order";
}

}  // namespace
}  // namespace pilot::log
