// Writer, scanner, recovery and tailer on real files in a temporary directory.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "log/crc32c.h"
#include "log/file_util.h"
#include "log/format.h"
#include "log/recovery.h"
#include "log/scanner.h"
#include "log/tailer.h"
#include "log/writer.h"
#include "test/support/temp_dir.h"

namespace pilot::log {
namespace {

namespace fs = std::filesystem;

Event sample_event(uint64_t i) {
  TagsChanged t;
  t.node_id = static_cast<uint32_t>(i);
  t.tags = {"tag-" + std::to_string(i), std::string(i % 97, 'x')};
  return t;
}

struct Opened {
  RecoveryResult rec;
  std::unique_ptr<Writer> writer;
};

Opened open_log(const std::string& dir, FsyncPolicy::Mode mode = FsyncPolicy::Mode::kNone,
                uint64_t segment_bytes = kDefaultSegmentBytes) {
  Opened o;
  std::string err;
  EXPECT_TRUE(recover(dir, segment_bytes, o.rec, err)) << err;
  WriterOptions opts;
  opts.log_dir = dir;
  opts.fsync.mode = mode;
  opts.segment_bytes = segment_bytes;
  o.writer = Writer::open(opts, o.rec, err);
  EXPECT_TRUE(o.writer) << err;
  return o;
}

std::vector<Record> read_all(const std::string& dir, uint64_t from = 1) {
  Scanner s(dir, from);
  std::vector<Record> out;
  Record r;
  Scanner::Status st;
  while ((st = s.next(r)) == Scanner::Status::kRecord) out.push_back(r);
  EXPECT_EQ(st, Scanner::Status::kEnd) << s.error().what << " at " << s.error().offset;
  return out;
}

TEST(Crc32c, KnownValuesAndPathsAgree) {
  // RFC 3720 B.4: 32 bytes of zeros / of 0xff.
  std::string zeros(32, '\0'), ones(32, '\xff');
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  std::mt19937 rng(1);
  std::string buf(1000, '\0');
  for (auto& c : buf) c = static_cast<char>(rng());
  for (size_t n : {0, 1, 7, 8, 9, 63, 1000}) {
    EXPECT_EQ(crc32c(buf.data(), n), crc32c_extend_portable(0, buf.data(), n));
    EXPECT_EQ(crc32c_extend(crc32c(buf.data(), n / 2), buf.data() + n / 2, n - n / 2), crc32c(buf.data(), n));
  }
}

TEST(Format, RecordBytesArePinned) {
  std::string out;
  Hash prev{};
  Hash h = append_record(out, prev, 1, 2, 3, 4, "hi");
  ASSERT_EQ(out.size(), kRecordHeaderSize + 2);
  EXPECT_EQ(out.substr(0, 4), std::string("\x02\x00\x00\x00", 4));
  EXPECT_EQ(out.substr(8, 8), std::string("\x01\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(out.substr(32, 4), std::string("\x04\x00\x00\x00", 4));
  EXPECT_EQ(out.substr(68), "hi");
  // Golden values: change them only with a new format version (log/FORMAT.md).
  EXPECT_EQ(hash_hex(h), "aa3a2eddb9e4ffca83e1db578672429fd8697c2735a8557789b87c3c4ff84d72");
  uint32_t crc;
  std::memcpy(&crc, out.data() + 4, 4);
  EXPECT_EQ(crc, 0xbe393118u);
  Record r;
  size_t used;
  ASSERT_EQ(parse_record(out, r, used), ParseResult::kOk);
  EXPECT_EQ(used, out.size());
  EXPECT_EQ(check_chain(r, 0, prev, 0), "");
  for (size_t i = 0; i < out.size(); ++i) {
    std::string bad = out;
    bad[i] ^= 0x40;
    ParseResult pr = parse_record(bad, r, used);
    EXPECT_TRUE(pr != ParseResult::kOk) << "flip at byte " << i << " went unnoticed";
  }
}

TEST(Format, SegmentNamesSortAndParse) {
  uint64_t v = 0;
  EXPECT_EQ(segment_file_name(42), "00000000000000000042.seg");
  EXPECT_TRUE(parse_segment_file_name("00000000000000000042.seg", v));
  EXPECT_EQ(v, 42u);
  EXPECT_FALSE(parse_segment_file_name("0000000000000000042.seg", v));
  EXPECT_FALSE(parse_segment_file_name("00000000000000000042.sex", v));
}

TEST(Writer, AppendsAreReadBackInOrderAcrossSegments) {
  testsupport::TempDir dir;
  {
    auto o = open_log(dir.path(), FsyncPolicy::Mode::kNone, 16 << 10);
    for (uint64_t i = 1; i <= 2000; ++i) EXPECT_EQ(o.writer->append(sample_event(i), int64_t(i) * 1000), i);
    o.writer->flush();
  }
  EXPECT_GT(list_segments(dir.path()).size(), 5u);
  auto recs = read_all(dir.path());
  ASSERT_EQ(recs.size(), 2000u);
  for (uint64_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(recs[i].seq, i + 1);
    EXPECT_EQ(recs[i].time_ns, int64_t(i + 1) * 1000);
    auto ev = decode_payload(static_cast<EventKind>(recs[i].kind), recs[i].payload);
    ASSERT_TRUE(ev);
    EXPECT_TRUE(*ev == sample_event(i + 1));
  }
  // Seeking starts exactly at the requested record, also mid-segment.
  auto tail = read_all(dir.path(), 1234);
  ASSERT_FALSE(tail.empty());
  EXPECT_EQ(tail.front().seq, 1234u);
  EXPECT_EQ(tail.size(), 2000u - 1233u);
}

TEST(Writer, ReopenContinuesTheChain) {
  testsupport::TempDir dir;
  Hash last;
  {
    auto o = open_log(dir.path(), FsyncPolicy::Mode::kAlways);
    for (int i = 1; i <= 10; ++i) o.writer->append(sample_event(i), i);
    o.writer->flush();
    last = o.writer->last_hash();
  }
  auto o = open_log(dir.path(), FsyncPolicy::Mode::kAlways);
  EXPECT_EQ(o.rec.last_seq, 10u);
  EXPECT_EQ(o.rec.last_hash, last);
  EXPECT_FALSE(o.rec.repaired);
  EXPECT_EQ(o.writer->append(sample_event(11), 11), 11u);
  o.writer->close();
  EXPECT_EQ(read_all(dir.path()).size(), 11u);
}

TEST(Writer, CallbacksFireOnlyWhenDurableAndInOrder) {
  testsupport::TempDir dir;
  auto o = open_log(dir.path(), FsyncPolicy::Mode::kAlways);
  std::vector<uint64_t> fired;
  for (int i = 1; i <= 300; ++i)
    o.writer->append(sample_event(i), i, [&](uint64_t s) {
      EXPECT_LE(s, o.writer->durable_seq());
      fired.push_back(s);
    });
  while (fired.size() < 300) {
    o.writer->wait_durable(o.writer->durable_seq(), std::chrono::milliseconds(100));
    o.writer->run_callbacks();
  }
  for (size_t i = 0; i < fired.size(); ++i) EXPECT_EQ(fired[i], i + 1);
  auto st = o.writer->stats();
  EXPECT_EQ(st.records, 300u);
  EXPECT_GE(st.fsyncs, 1u);
  EXPECT_LE(st.batches, 300u);
}

TEST(Writer, RefusesAPayloadNoReaderWouldAccept) {
  testsupport::TempDir dir;
  auto o = open_log(dir.path());
  o.writer->append(sample_event(1), 1);
  EXPECT_THROW(o.writer->append_raw(5, std::string(kMaxPayload + 1, 'x'), 2), std::length_error);
  EXPECT_EQ(o.writer->last_seq(), 1u) << "a refused append must not consume a sequence number";
  EXPECT_EQ(o.writer->append(sample_event(2), 3), 2u);
  o.writer->append_raw(5, std::string(kMaxPayload, 'x'), 4);  // exactly the limit is fine
  o.writer->close();
  EXPECT_EQ(read_all(dir.path()).size(), 3u);
}

TEST(Writer, BatchPolicyAcknowledgesAfterWriteAndSyncsWithinTheInterval) {
  testsupport::TempDir dir;
  RecoveryResult rec;
  std::string err;
  ASSERT_TRUE(recover(dir.path(), kDefaultSegmentBytes, rec, err));
  WriterOptions opts;
  opts.log_dir = dir.path();
  opts.fsync = *FsyncPolicy::parse("batch-ms=20");
  auto w = Writer::open(opts, rec, err);
  ASSERT_TRUE(w);
  for (int i = 1; i <= 50; ++i) w->append(sample_event(i), i);
  // Acknowledged once written...
  while (w->durable_seq() < 50) w->wait_durable(w->durable_seq(), std::chrono::milliseconds(100));
  // ...and synced within about one interval, without any further appends.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (w->synced_seq() < 50 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(w->synced_seq(), 50u);
  EXPECT_GE(w->stats().fsyncs, 1u);
  EXPECT_LE(w->stats().fsyncs, 10u) << "batch-ms must not sync once per record";
}

// A gate in front of fdatasync: while it is closed the records are written (the
// scanner sees them on disk) but no callback may fire and durable_seq must not move.
TEST(Writer, NothingIsAcknowledgedBeforeFdatasyncReturns) {
  testsupport::TempDir dir;
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> syncs_waiting{0};
  RecoveryResult rec;
  std::string err;
  ASSERT_TRUE(recover(dir.path(), kDefaultSegmentBytes, rec, err));
  WriterOptions opts;
  opts.log_dir = dir.path();
  int calls = 0;
  opts.sync_fn = [&](int fd) {
    if (calls++ == 0) return ::fdatasync(fd);  // the new segment's header
    std::unique_lock lk(mu);
    ++syncs_waiting;
    cv.wait(lk, [&] { return open; });
    return ::fdatasync(fd);
  };
  auto w = Writer::open(opts, rec, err);
  ASSERT_TRUE(w);
  int fired = 0;
  for (int i = 1; i <= 20; ++i) w->append(sample_event(i), i, [&](uint64_t) { ++fired; });
  while (syncs_waiting.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  w->run_callbacks();
  EXPECT_EQ(fired, 0) << "a callback fired before its fdatasync returned";
  EXPECT_EQ(w->durable_seq(), 0u);
  // The writer may have taken only the records appended before it woke (the rest wait
  // behind the held fdatasync): at least that first batch is written, none is durable.
  const size_t written = read_all(dir.path()).size();
  EXPECT_GE(written, 1u) << "the first batch should be written, only not yet synced";
  EXPECT_LE(written, 20u);
  {
    std::lock_guard lk(mu);
    open = true;
  }
  cv.notify_all();
  while (fired < 20) {
    w->wait_durable(w->durable_seq(), std::chrono::milliseconds(100));
    w->run_callbacks();
  }
  EXPECT_EQ(w->durable_seq(), 20u);
}

TEST(WriterDeathTest, FailedFdatasyncAbortsInsteadOfAcknowledging) {
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_DEATH(
      {
        testsupport::TempDir dir;
        RecoveryResult rec;
        std::string err;
        recover(dir.path(), kDefaultSegmentBytes, rec, err);
        WriterOptions opts;
        opts.log_dir = dir.path();
        opts.sync_fn = [](int) {
          errno = EIO;
          return -1;
        };
        auto w = Writer::open(opts, rec, err);
        bool acked = false;
        w->append(sample_event(1), 1, [&](uint64_t) { acked = true; });
        w->wait_durable(0, std::chrono::milliseconds(2000));
        w->run_callbacks();
        if (acked) std::fprintf(stderr, "acknowledged after a failed fdatasync\n");
        std::exit(0);
      },
      "FATAL log writer: fdatasync");
}

TEST(FsyncPolicy, Parses) {
  EXPECT_EQ(FsyncPolicy::parse("always")->mode, FsyncPolicy::Mode::kAlways);
  EXPECT_EQ(FsyncPolicy::parse("none")->mode, FsyncPolicy::Mode::kNone);
  auto b = FsyncPolicy::parse("batch-ms=5");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->batch_ms, 5);
  EXPECT_EQ(b->to_string(), "batch-ms=5");
  for (const char* bad : {"", "sometimes", "batch-ms=", "batch-ms=0", "batch-ms=-1", "batch-ms=5x"})
    EXPECT_FALSE(FsyncPolicy::parse(bad)) << bad;
}

// Appends `n` records and returns the segment path and file size of the data.
void write_records(const std::string& dir, int n, uint64_t segment_bytes = kDefaultSegmentBytes) {
  auto o = open_log(dir, FsyncPolicy::Mode::kNone, segment_bytes);
  for (int i = 1; i <= n; ++i) o.writer->append(sample_event(o.writer->last_seq() + 1), i);
  o.writer->close();
}

uint64_t end_of_data(const std::string& dir) {
  RecoveryResult r;
  std::string err;
  Scanner s(dir);
  Record rec;
  while (s.next(rec) == Scanner::Status::kRecord) {
  }
  return s.current_offset();
}

void patch_file(const std::string& path, uint64_t offset, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(pwrite_all(fd, bytes, offset));
  ::close(fd);
}

TEST(Recovery, TruncatedLastRecordIsCutOffAndReported) {
  testsupport::TempDir dir;
  write_records(dir.path(), 100);
  auto seg = list_segments(dir.path()).back().path;
  uint64_t end = end_of_data(dir.path());
  // Chop the last record in half, as a crash mid-write would.
  ASSERT_EQ(::truncate(seg.c_str(), static_cast<off_t>(end - 30)), 0);
  RecoveryResult r;
  std::string err;
  ASSERT_TRUE(recover(dir.path(), kDefaultSegmentBytes, r, err)) << err;
  EXPECT_TRUE(r.repaired);
  EXPECT_EQ(r.last_seq, 99u);
  EXPECT_NE(r.report.find("cut torn tail"), std::string::npos) << r.report;
  EXPECT_EQ(read_all(dir.path()).size(), 99u);
  // And the log is appendable again, with a sound chain.
  write_records(dir.path(), 5);
  EXPECT_EQ(read_all(dir.path()).size(), 104u);
}

TEST(Recovery, GarbageAfterTheLastRecordIsATornTail) {
  testsupport::TempDir dir;
  write_records(dir.path(), 50);
  auto seg = list_segments(dir.path()).back().path;
  patch_file(seg, end_of_data(dir.path()) + 10, "garbage from a torn page");
  RecoveryResult r;
  std::string err;
  ASSERT_TRUE(recover(dir.path(), kDefaultSegmentBytes, r, err)) << err;
  EXPECT_TRUE(r.repaired);
  EXPECT_EQ(r.last_seq, 50u);
  // The garbage is gone: nothing non-zero after the data.
  std::string rest;
  ASSERT_TRUE(read_file_from(seg, r.end_offset, rest));
  EXPECT_EQ(rest.find_first_not_of('\0'), std::string::npos);
}

TEST(Recovery, ZeroedRecordNearTheEndIsATornTailAndReported) {
  testsupport::TempDir dir;
  write_records(dir.path(), 100);
  // Find record 95's offset by scanning to 94.
  Scanner s(dir.path());
  Record rec;
  while (s.next(rec) == Scanner::Status::kRecord && rec.seq < 94) {
  }
  const uint64_t off = s.current_offset();
  patch_file(s.current_segment(), off, std::string(kRecordHeaderSize, '\0'));
  RecoveryResult r;
  std::string err;
  ASSERT_TRUE(recover(dir.path(), kDefaultSegmentBytes, r, err)) << err;
  EXPECT_TRUE(r.repaired);
  EXPECT_EQ(r.last_seq, 94u);
  EXPECT_NE(r.report.find("non-zero bytes"), std::string::npos) << r.report;
  EXPECT_EQ(read_all(dir.path()).size(), 94u);
}

TEST(Recovery, FlippedByteMidSegmentRefusesToStart) {
  testsupport::TempDir dir;
  // Enough records that the damage is far more than a write batch before the end.
  write_records(dir.path(), 60000);
  auto seg = list_segments(dir.path()).back().path;
  uint64_t end = end_of_data(dir.path());
  ASSERT_GT(end, 2 * kTornTailWindow);
  std::string b;
  ASSERT_TRUE(read_file_from(seg, end / 3, b));
  patch_file(seg, end / 3, std::string(1, static_cast<char>(b[0] ^ 0x01)));
  RecoveryResult r;
  std::string err;
  EXPECT_FALSE(recover(dir.path(), kDefaultSegmentBytes, r, err));
  EXPECT_NE(err.find("corruption"), std::string::npos) << err;
  // Nothing was cut: the file still holds the records after the damage.
  std::string after;
  ASSERT_TRUE(read_file_from(seg, end - 100, after));
  EXPECT_NE(after.find_first_not_of('\0'), std::string::npos);
}

TEST(Recovery, DamageInAnOlderSegmentRefusesToStart) {
  testsupport::TempDir dir;
  write_records(dir.path(), 600, 16 << 10);
  auto segs = list_segments(dir.path());
  ASSERT_GE(segs.size(), 3u);
  patch_file(segs[1].path, kSegmentHeaderSize + 100, "\x55");
  RecoveryResult r;
  std::string err;
  EXPECT_FALSE(recover(dir.path(), 16 << 10, r, err));
  EXPECT_NE(err.find(segs[1].path), std::string::npos) << err;
}

TEST(Recovery, TornSegmentHeaderIsRemoved) {
  testsupport::TempDir dir;
  write_records(dir.path(), 20);
  std::string path = dir.path() + "/" + segment_file_name(21);
  std::ofstream(path) << std::string(10, '\0');  // created, header never written
  RecoveryResult r;
  std::string err;
  ASSERT_TRUE(recover(dir.path(), kDefaultSegmentBytes, r, err)) << err;
  EXPECT_TRUE(r.repaired);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(r.last_seq, 20u);
  write_records(dir.path(), 3);
  EXPECT_EQ(read_all(dir.path()).size(), 23u);
}

TEST(Recovery, ReplacedLastSegmentIsRefusedNotDeleted) {
  testsupport::TempDir dir;
  write_records(dir.path(), 600, 16 << 10);
  auto last = list_segments(dir.path()).back();
  Hash bogus;
  bogus.fill(0x42);
  patch_file(last.path, 0, encode_segment_header({last.first_seq, bogus}));  // valid crc, wrong chain
  RecoveryResult r;
  std::string err;
  EXPECT_FALSE(recover(dir.path(), 16 << 10, r, err));
  EXPECT_NE(err.find("does not continue"), std::string::npos) << err;
  EXPECT_TRUE(fs::exists(last.path)) << "a segment of valid records must never be deleted";
}

TEST(Recovery, ChecksummedRecordOutOfChainAtTheTailIsRefused) {
  testsupport::TempDir dir;
  write_records(dir.path(), 30);
  Scanner s(dir.path());
  Record rec;
  while (s.next(rec) == Scanner::Status::kRecord) {
  }
  std::string forged;
  Hash wrong{};
  append_record(forged, wrong, s.last_seq() + 1, s.last_term(), 0, 5, "forged");
  patch_file(s.current_segment(), s.current_offset(), forged);
  RecoveryResult r;
  std::string err;
  EXPECT_FALSE(recover(dir.path(), kDefaultSegmentBytes, r, err));
  EXPECT_NE(err.find("hash chain"), std::string::npos) << err;
}

TEST(Recovery, ZeroHeaderWithRecordsBehindItIsRefusedNotDeleted) {
  testsupport::TempDir dir;
  write_records(dir.path(), 600, 16 << 10);
  auto last = list_segments(dir.path()).back();
  patch_file(last.path, 0, std::string(kSegmentHeaderSize, '\0'));  // a bad sector, not a crash
  RecoveryResult r;
  std::string err;
  EXPECT_FALSE(recover(dir.path(), 16 << 10, r, err));
  EXPECT_NE(err.find("bad segment header"), std::string::npos) << err;
  EXPECT_TRUE(fs::exists(last.path));
}

TEST(Tailer, StartsOnAnEmptyLogAndPicksUpTheFirstRecords) {
  testsupport::TempDir dir;
  Tailer t(dir.path(), 1);
  Record r;
  EXPECT_EQ(t.next(r, std::chrono::milliseconds(20)), Tailer::Status::kTimeout);
  write_records(dir.path(), 3);
  ASSERT_EQ(t.next(r, std::chrono::milliseconds(2000)), Tailer::Status::kRecord) << t.error().what;
  EXPECT_EQ(r.seq, 1u);
}

TEST(Tailer, DoesNotSpinAfterTheWriterCloses) {
  testsupport::TempDir dir;
  auto o = open_log(dir.path());
  o.writer->append(sample_event(1), 1);
  o.writer->close();
  Tailer t(dir.path(), 1, o.writer.get());
  Record r;
  ASSERT_EQ(t.next(r, std::chrono::milliseconds(500)), Tailer::Status::kRecord);
  auto cpu0 = std::clock();
  EXPECT_EQ(t.next(r, std::chrono::milliseconds(300)), Tailer::Status::kTimeout);
  double cpu_s = double(std::clock() - cpu0) / CLOCKS_PER_SEC;
  EXPECT_LT(cpu_s, 0.15) << "the tailer busy-waited on a closed writer";
}

TEST(Tailer, FollowsALiveWriterInProcess) {
  testsupport::TempDir dir;
  auto o = open_log(dir.path(), FsyncPolicy::Mode::kAlways, 8 << 10);  // small segments: rollovers while tailing
  std::vector<uint64_t> got;
  std::thread consumer([&] {
    Tailer t(dir.path(), 1, o.writer.get());
    Record r;
    while (got.size() < 1000) {
      auto st = t.next(r, std::chrono::milliseconds(5000));
      ASSERT_EQ(st, Tailer::Status::kRecord) << t.error().what << " " << t.error().segment << "@" << t.error().offset;
      ASSERT_LE(r.seq, o.writer->durable_seq());
      got.push_back(r.seq);
    }
  });
  for (int i = 1; i <= 1000; ++i) {
    o.writer->append(sample_event(i), i);
    if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  consumer.join();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], i + 1);
}

TEST(Tailer, PollsFilesWithoutAWriter) {
  testsupport::TempDir dir;
  write_records(dir.path(), 10);
  Tailer t(dir.path(), 5);
  Record r;
  ASSERT_EQ(t.next(r, std::chrono::milliseconds(100)), Tailer::Status::kRecord);
  EXPECT_EQ(r.seq, 5u);
  for (int i = 6; i <= 10; ++i) ASSERT_EQ(t.next(r, std::chrono::milliseconds(100)), Tailer::Status::kRecord);
  EXPECT_EQ(t.next(r, std::chrono::milliseconds(20)), Tailer::Status::kTimeout);
  write_records(dir.path(), 3);
  ASSERT_EQ(t.next(r, std::chrono::milliseconds(1000)), Tailer::Status::kRecord);
  EXPECT_EQ(r.seq, 11u);
}

}  // namespace
}  // namespace pilot::log
