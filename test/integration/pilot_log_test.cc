// pilot-log against real logs: a log is written with log::recover + log::Writer in a
// temporary directory, damaged in controlled ways, and the built binary is run on it.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "core/time_format.h"
#include "log/crc32c.h"
#include "log/format.h"
#include "log/recovery.h"
#include "log/retention.h"
#include "log/scanner.h"
#include "log/writer.h"
#include "test/support/random_events.h"

#ifndef PILOT_LOG_BIN
#error "PILOT_LOG_BIN must name the pilot-log binary"
#endif

namespace pilot {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSecond = 1000000000;
constexpr int64_t kBase = 1772496000LL * kSecond;  // 2026-03-03T00:00:00Z
constexpr uint64_t kSmallSegment = 64 << 10;
constexpr uint64_t kBigSegment = 8 << 20;
constexpr uint64_t kOutOfOrderSeq = 3333;  // its leader clock jumped back to kBase + 10 s

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "pilot-log-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// What the test wrote, record by record.
struct Written {
  uint64_t seq = 0;
  uint64_t term = 0;
  int64_t time_ns = 0;
  Event ev;
};

template <class... E>
Event random_event_of(std::variant<E...>*, size_t index, std::mt19937_64& rng) {
  Event out;
  size_t i = 0;
  (void)((i++ == index ? (out = testsupport::filled<E>(rng), true) : false) || ...);
  return out;
}

Event random_event(std::mt19937_64& rng) {
  return random_event_of(static_cast<Event*>(nullptr), rng() % std::variant_size_v<Event>, rng);
}

// A few KiB per event, to make a last segment longer than the torn-tail window.
Event big_event(std::mt19937_64& rng, uint64_t i) {
  std::string blob(1500 + rng() % 1000, '\0');
  for (auto& c : blob) c = static_cast<char>('a' + rng() % 26);
  switch (i % 3) {
    case 0: {
      NetworkCreated n = testsupport::filled<NetworkCreated>(rng);
      n.rules_json = blob;
      return n;
    }
    case 1: {
      BadgeSubmitted b = testsupport::filled<BadgeSubmitted>(rng);
      b.badge = blob;
      return b;
    }
    default: {
      HandshakeRequested h = testsupport::filled<HandshakeRequested>(rng);
      h.justification = blob;
      return h;
    }
  }
}

int64_t time_of(uint64_t seq) {
  if (seq == kOutOfOrderSeq) return kBase + 10 * kSecond;
  return kBase + static_cast<int64_t>(seq) * kSecond + static_cast<int64_t>(seq % 7) * 1000;
}

// Appends `n` events; `term_at` switches the term before the given 0-based index.
void write_events(const std::string& log_dir, uint64_t segment_bytes, uint64_t n, bool big,
                  const std::map<uint64_t, uint64_t>& term_at, std::mt19937_64& rng, std::vector<Written>& out) {
  log::RecoveryResult rec;
  std::string err;
  ASSERT_TRUE(log::recover(log_dir, segment_bytes, rec, err)) << err;
  log::WriterOptions opts;
  opts.log_dir = log_dir;
  opts.fsync.mode = log::FsyncPolicy::Mode::kNone;
  opts.segment_bytes = segment_bytes;
  opts.term = 1;
  auto w = log::Writer::open(opts, rec, err);
  ASSERT_TRUE(w) << err;
  for (uint64_t i = 0; i < n; ++i) {
    if (auto t = term_at.find(i); t != term_at.end()) w->set_term(t->second);
    Written x;
    x.ev = big ? big_event(rng, i) : random_event(rng);
    x.seq = w->last_seq() + 1;
    x.time_ns = time_of(x.seq);
    x.term = w->term();
    ASSERT_EQ(w->append(x.ev, x.time_ns), x.seq);
    out.push_back(std::move(x));
  }
  w->flush();
  w->close();
}

struct ToolRun {
  int code = -1;
  std::string out, err;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs the real binary: `pilot-log <args>` with `env` ("NAME=value ...") in front.
ToolRun run_tool(const std::string& args, const std::string& env = "") {
  TempDir out;
  const std::string o = out.path() + "/out", e = out.path() + "/err";
  const std::string cmd = env + " '" + std::string(PILOT_LOG_BIN) + "' " + args + " >'" + o + "' 2>'" + e + "'";
  ToolRun r;
  int rc = std::system(cmd.c_str());
  r.code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = read_file(o);
  r.err = read_file(e);
  return r;
}

// Records of one segment file, parsed here without the scanner.
struct OnDisk {
  uint64_t offset = 0, size = 0, seq = 0;
};
std::vector<OnDisk> records_in(const std::string& segment) {
  const std::string bytes = read_file(segment);
  std::vector<OnDisk> out;
  size_t off = log::kSegmentHeaderSize;
  log::Record r;
  size_t consumed = 0;
  while (log::parse_record(std::string_view(bytes).substr(off), r, consumed) == log::ParseResult::kOk) {
    out.push_back({off, consumed, r.seq});
    off += consumed;
  }
  return out;
}

void patch_file(const std::string& path, uint64_t offset, const std::string& bytes) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  ASSERT_TRUE(f.is_open()) << path;
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good());
}

void flip_byte(const std::string& path, uint64_t offset) {
  std::string b = read_file(path);
  ASSERT_LT(offset, b.size());
  patch_file(path, offset, std::string(1, static_cast<char>(b[offset] ^ 0xff)));
}

std::vector<nlohmann::json> parse_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line.substr(0, 200);
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<uint64_t> seqs_of(const std::vector<nlohmann::json>& lines) {
  std::vector<uint64_t> out;
  for (const auto& j : lines) out.push_back(j.value("seq", uint64_t{0}));
  return out;
}

std::string fail_prefix(const std::string& segment, uint64_t offset, uint64_t after_seq) {
  return "FAIL: " + segment + " offset " + std::to_string(offset) + " after seq " + std::to_string(after_seq) + ": ";
}

class PilotLog : public ::testing::Test {
 protected:
  // One log for the whole suite: ~4000 mixed events in 64 KiB segments over terms
  // 1, 2 and 5, then 3000 events of 1.5-2.5 KiB (term 6) that grow the last segment
  // well past the torn-tail window.
  static void SetUpTestSuite() {
    master_ = new TempDir;
    written_ = new std::vector<Written>;
    std::mt19937_64 rng(20260303);
    const std::string log_dir = master_->path() + "/log";
    write_events(log_dir, kSmallSegment, 4000, false, {{1500, 2}, {3000, 5}}, rng, *written_);
    write_events(log_dir, kBigSegment, 3000, true, {{0, 6}}, rng, *written_);
  }
  static void TearDownTestSuite() {
    delete master_;
    delete written_;
  }

  // Each test damages its own copy.
  void SetUp() override {
    ASSERT_FALSE(HasFatalFailure());
    fs::copy(master_->path(), dir_.path(), fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    segments_ = log::list_segments(log_dir());
    ASSERT_GE(segments_.size(), 5u);
  }

  std::string data_dir() const { return dir_.path(); }
  std::string log_dir() const { return dir_.path() + "/log"; }
  const std::vector<Written>& written() const { return *written_; }
  uint64_t last_seq() const { return written_->back().seq; }
  ToolRun tool(const std::string& args) { return run_tool(args + " --data-dir '" + data_dir() + "'"); }

  static TempDir* master_;
  static std::vector<Written>* written_;
  TempDir dir_;
  std::vector<log::SegmentFile> segments_;
};

TempDir* PilotLog::master_ = nullptr;
std::vector<Written>* PilotLog::written_ = nullptr;

// ---- a good log --------------------------------------------------------------------

TEST_F(PilotLog, VerifyPassesAndSummarises) {
  ToolRun r = tool("verify");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("OK: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find(std::to_string(written().size()) + " records"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("last seq " + std::to_string(last_seq())), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("last term 6"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(std::to_string(segments_.size()) + " segments"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_EQ(r.err, "") << "no progress noise when stderr is not a terminal";
}

TEST_F(PilotLog, VerifyOnARetainedLogChecksFromTheFirstRetainedRecordAndSaysSo) {
  // Retention as the server does it after a snapshot that covers the first three segments.
  log::RetentionResult res;
  std::string err;
  ASSERT_TRUE(log::apply_retention(log_dir(), segments_[3].first_seq - 1, log::RetentionPolicy{false, 0}, res, err))
      << err;
  ASSERT_EQ(res.deleted, 3u);
  const uint64_t first = segments_[3].first_seq;
  ToolRun r = tool("verify");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("OK: " + std::to_string(last_seq() - first + 1) + " records, first seq " +
                            std::to_string(first) + ", last seq " + std::to_string(last_seq()),
                        0),
            0u)
      << r.out;
  EXPECT_NE(r.out.find("NOTE: the log starts at seq " + std::to_string(first) + ": records 1.." +
                       std::to_string(first - 1) + " are no longer in it"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(segments_[3].path), std::string::npos) << r.out;

  // The retained part is still checked end to end: an edit in it fails verify.
  flip_byte(segments_[4].path, log::kSegmentHeaderSize + 40);
  ToolRun bad = tool("verify");
  EXPECT_EQ(bad.code, 1) << bad.out;
  EXPECT_EQ(bad.out.rfind("FAIL: " + segments_[4].path, 0), 0u) << bad.out;
}

TEST_F(PilotLog, ReplayOfARetainedLogWithoutASnapshotSaysTheHistoryIsGone) {
  log::RetentionResult res;
  std::string err;
  ASSERT_TRUE(log::apply_retention(log_dir(), segments_[2].first_seq - 1, log::RetentionPolicy{false, 0}, res, err))
      << err;
  ToolRun r = tool("replay");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("the log starts at seq " + std::to_string(segments_[2].first_seq) +
                       " (its earlier segments are gone)"),
            std::string::npos)
      << r.err;
}

TEST_F(PilotLog, DumpPrintsEveryEventInOrder) {
  ToolRun r = tool("dump");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("{\"seq\":1,\"term\":1,\"time\":\"2026-03-03T00:00:01.000001Z\",\"time_ns\":", 0), 0u)
      << r.out.substr(0, 200);
  auto lines = parse_lines(r.out);
  ASSERT_EQ(lines.size(), written().size());
  // Hashes as the log holds them.
  log::Scanner s(log_dir());
  log::Record rec;
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& j = lines[i];
    const Written& w = written()[i];
    ASSERT_EQ(s.next(rec), log::Scanner::Status::kRecord);
    ASSERT_EQ(j["seq"], w.seq) << i;
    EXPECT_EQ(j["term"], w.term) << i;
    EXPECT_EQ(j["time_ns"], w.time_ns) << i;
    EXPECT_EQ(j["time"], format_rfc3339_nano(w.time_ns)) << i;
    EXPECT_EQ(j["hash"], log::hash_hex(rec.hash)) << i;
    // The event fields are exactly event_to_json's, after the same UTF-8 replacement.
    nlohmann::json fields = j;
    for (const char* meta : {"seq", "term", "time", "time_ns", "hash"}) fields.erase(meta);
    auto expected =
        nlohmann::json::parse(event_to_json(w.ev).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    ASSERT_EQ(fields, expected) << "seq " << w.seq;
  }
  EXPECT_EQ(lines[1]["time"], "2026-03-03T00:00:02.000002Z");
  EXPECT_EQ(lines[6]["time"], "2026-03-03T00:00:07Z");
}

TEST_F(PilotLog, DumpSeqRangeIsInclusive) {
  for (auto [from, to] : std::vector<std::pair<uint64_t, uint64_t>>{
           {1234, 2345}, {1, 1}, {4000, 4001}, {last_seq() - 10, last_seq()}, {6500, 100000}}) {
    ToolRun r = tool("dump --from " + std::to_string(from) + " --to=" + std::to_string(to));
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<uint64_t> want;
    for (uint64_t s = from; s <= std::min(to, last_seq()); ++s) want.push_back(s);
    EXPECT_EQ(seqs_of(parse_lines(r.out)), want) << from << ".." << to;
  }
  ToolRun beyond = tool("dump --from " + std::to_string(last_seq() + 1));
  EXPECT_EQ(beyond.code, 0) << beyond.err;
  EXPECT_EQ(beyond.out, "");
}

TEST_F(PilotLog, DumpSeeksToFromAndStopsAtTo) {
  // Damage the first and the last segment: a seeking dump of a range between them
  // never reads either.
  ASSERT_GE(segments_.size(), 4u);
  auto first = records_in(segments_.front().path);
  auto last = records_in(segments_.back().path);
  flip_byte(segments_.front().path, first[first.size() / 2].offset + 40);
  flip_byte(segments_.back().path, last[last.size() / 2].offset + 40);
  const uint64_t from = segments_[1].first_seq + 3, to = segments_[segments_.size() - 2].first_seq + 3;
  ToolRun r = tool("dump --from " + std::to_string(from) + " --to " + std::to_string(to));
  EXPECT_EQ(r.code, 0) << r.err;
  auto seqs = seqs_of(parse_lines(r.out));
  ASSERT_EQ(seqs.size(), to - from + 1);
  EXPECT_EQ(seqs.front(), from);
  EXPECT_EQ(seqs.back(), to);
  // Without the range the damage is found, after printing what was good.
  ToolRun all = tool("dump");
  EXPECT_EQ(all.code, 1);
  EXPECT_EQ(seqs_of(parse_lines(all.out)).size(), first[first.size() / 2].seq - 1);
  EXPECT_NE(all.err.find(
                fail_prefix(segments_.front().path, first[first.size() / 2].offset, first[first.size() / 2].seq - 1)),
            std::string::npos)
      << all.err;
}

TEST_F(PilotLog, DumpTimeRangeIsInclusiveAndScansEverything) {
  struct Case {
    std::string args;
    int64_t from, to;
  };
  const std::vector<Case> cases = {
      // 00:16:40 .. 00:33:20 whole seconds: records 1000 (fraction 6 us) .. 1999
      {"--from-time 2026-03-03T00:16:40Z --to-time 2026-03-03T00:33:20Z", kBase + 1000 * kSecond,
       kBase + 2000 * kSecond},
      // the same instants as unix seconds, and an offset form
      {"--from-time 1772497000 --to-time=2026-03-03T01:33:20+01:00", kBase + 1000 * kSecond, kBase + 2000 * kSecond},
      // exact record times at both ends (seq 1002 and 1009), with fractions
      {"--from-time 2026-03-03T00:16:42.000001Z --to-time 1772497009.000002", time_of(1002), time_of(1009)},
      // seq 10 and the out-of-order seq 3333 (clock jumped back)
      {"--from-time 2026-03-03T00:00:09.5Z --to-time 2026-03-03T00:00:10.000003Z", kBase + 9500000000,
       kBase + 10 * kSecond + 3000},
      // open-ended
      {"--from-time 2026-03-03T01:55:00Z", kBase + 6900 * kSecond, INT64_MAX},
  };
  for (const auto& c : cases) {
    ToolRun r = tool("dump " + c.args);
    ASSERT_EQ(r.code, 0) << c.args << ": " << r.err;
    std::vector<uint64_t> want;
    for (const auto& w : written())
      if (w.time_ns >= c.from && w.time_ns <= c.to) want.push_back(w.seq);
    ASSERT_FALSE(want.empty()) << c.args;
    EXPECT_EQ(seqs_of(parse_lines(r.out)), want) << c.args;
  }
  ToolRun r = tool("dump --from-time 2026-03-03T00:00:09.5Z --to-time 2026-03-03T00:00:10.000003Z");
  EXPECT_EQ(seqs_of(parse_lines(r.out)), (std::vector<uint64_t>{10, kOutOfOrderSeq}));
  ToolRun both = tool("dump --from 1500 --to 3000 --from-time 2026-03-03T00:16:40Z --to-time 2026-03-03T00:33:20Z");
  auto seqs = seqs_of(parse_lines(both.out));
  ASSERT_EQ(seqs.size(), 500u);
  EXPECT_EQ(seqs.front(), 1500u);
  EXPECT_EQ(seqs.back(), 1999u);
}

TEST_F(PilotLog, StatsCountsMatchWhatWasWritten) {
  std::map<uint16_t, uint64_t> kinds;
  for (const auto& w : written()) kinds[static_cast<uint16_t>(kind_of(w.ev))]++;
  ASSERT_GE(kinds.size(), 30u) << "the log should hold most kinds";

  ToolRun r = tool("stats --json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["records"], written().size());
  EXPECT_EQ(j["segments"], segments_.size());
  EXPECT_EQ(j["first_seq"], 1);
  EXPECT_EQ(j["last_seq"], last_seq());
  EXPECT_EQ(j["first_time"], "2026-03-03T00:00:01.000001Z");
  EXPECT_EQ(j["last_time_ns"], written().back().time_ns);
  std::map<uint16_t, uint64_t> got;
  uint16_t prev = 0;
  for (const auto& k : j["kinds"]) {
    const auto kind = k["kind"].get<uint16_t>();
    EXPECT_GT(kind, prev) << "kinds sorted by number";
    prev = kind;
    EXPECT_EQ(k["name"], std::string(kind_name(static_cast<EventKind>(kind))));
    got[kind] = k["records"].get<uint64_t>();
  }
  EXPECT_EQ(got, kinds);
  std::vector<uint64_t> terms, first;
  for (const auto& t : j["terms"]) {
    terms.push_back(t["term"].get<uint64_t>());
    first.push_back(t["first_seq"].get<uint64_t>());
  }
  EXPECT_EQ(terms, (std::vector<uint64_t>{1, 2, 5, 6}));
  EXPECT_EQ(first, (std::vector<uint64_t>{1, 1501, 3001, 4001}));
  EXPECT_EQ(j["tail"]["state"], "clean");
  EXPECT_EQ(j["tail"]["last_seq"], last_seq());
  EXPECT_EQ(j["tail"]["segment"], segments_.back().path);
  EXPECT_GT(j["bytes_on_disk"].get<uint64_t>(), 6u << 20);

  ToolRun text = tool("stats");
  EXPECT_EQ(text.code, 0);
  EXPECT_NE(text.out.find("records:    " + std::to_string(written().size())), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("tail:       clean"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("node_registered"), std::string::npos) << text.out;
}

// ---- damage ------------------------------------------------------------------------

// Flips a byte in the middle of the records of `segment`; returns the record it hit.
OnDisk flip_in_middle(const std::string& segment) {
  auto recs = records_in(segment);
  EXPECT_GT(recs.size(), 10u);
  const uint64_t mid = (recs.front().offset + recs.back().offset + recs.back().size) / 2;
  OnDisk hit;
  for (const auto& r : recs)
    if (r.offset <= mid && mid < r.offset + r.size) hit = r;
  flip_byte(segment, mid);
  return hit;
}

void expect_recover_refuses(const std::string& log_dir) {
  log::RecoveryResult res;
  std::string err;
  EXPECT_FALSE(log::recover(log_dir, kBigSegment, res, err));
  EXPECT_NE(err.find("corruption"), std::string::npos) << err;
}

TEST_F(PilotLog, FlippedByteInAMiddleSegment) {
  const std::string seg = segments_[segments_.size() / 2].path;
  OnDisk hit = flip_in_middle(seg);
  ASSERT_GT(hit.seq, 1u);
  ToolRun r = tool("verify");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out.rfind(fail_prefix(seg, hit.offset, hit.seq - 1), 0), 0u) << r.out;
  ToolRun stats = tool("stats --json");
  EXPECT_EQ(stats.code, 1);
  EXPECT_EQ(nlohmann::json::parse(stats.out)["tail"]["state"], "corrupt") << stats.out;
  expect_recover_refuses(log_dir());
}

TEST_F(PilotLog, FlippedByteInTheLastSegmentWithMuchAfterIt) {
  const std::string seg = segments_.back().path;
  auto recs = records_in(seg);
  OnDisk hit = flip_in_middle(seg);
  ASSERT_GT(recs.back().offset - hit.offset, log::kTornTailWindow) << "not enough log after the damage";
  ToolRun r = tool("verify");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out.rfind(fail_prefix(seg, hit.offset, hit.seq - 1), 0), 0u) << r.out;
  expect_recover_refuses(log_dir());
}

TEST_F(PilotLog, SwappedRecords) {
  const std::string seg = segments_[2].path;
  auto recs = records_in(seg);
  const OnDisk a = recs[recs.size() / 2], b = recs[recs.size() / 2 + 1];
  const std::string bytes = read_file(seg);
  patch_file(seg, a.offset, bytes.substr(b.offset, b.size) + bytes.substr(a.offset, a.size));
  ToolRun r = tool("verify");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out.rfind(fail_prefix(seg, a.offset, a.seq - 1) + "sequence gap", 0), 0u) << r.out;
}

TEST_F(PilotLog, EditedRecordWithValidCrcBreaksTheHashChain) {
  const std::string seg = segments_[3].path;
  auto recs = records_in(seg);
  const OnDisk a = recs[7];
  std::string rec = read_file(seg).substr(a.offset, a.size);
  rec[24] ^= 1;  // time_ns, 1 ns later
  uint32_t crc = log::crc32c_extend(log::crc32c(rec.data(), 4), rec.data() + 8, rec.size() - 8);
  for (int i = 0; i < 4; ++i) rec[4 + i] = static_cast<char>(crc >> (8 * i));
  patch_file(seg, a.offset, rec);
  ToolRun r = tool("verify");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out.rfind(fail_prefix(seg, a.offset, a.seq - 1) + "hash chain broken", 0), 0u) << r.out;
}

TEST_F(PilotLog, DeletedMiddleSegment) {
  const size_t k = segments_.size() / 2;
  fs::remove(segments_[k].path);
  ToolRun r = tool("verify");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out.rfind(fail_prefix(segments_[k + 1].path, 0, segments_[k].first_seq - 1), 0), 0u) << r.out;
  EXPECT_NE(r.out.find("does not continue"), std::string::npos) << r.out;
  expect_recover_refuses(log_dir());
}

TEST_F(PilotLog, TruncatedLastRecordIsReportedThenRepairedByRecovery) {
  const std::string seg = segments_.back().path;
  auto recs = records_in(seg);
  const OnDisk last = recs.back();
  ASSERT_EQ(last.seq, last_seq());
  fs::resize_file(seg, last.offset + last.size / 2);
  ToolRun r = tool("verify");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out.rfind(fail_prefix(seg, last.offset, last.seq - 1) + "record payload cut short", 0), 0u) << r.out;
  ToolRun stats = tool("stats --json");
  EXPECT_EQ(stats.code, 1);
  EXPECT_EQ(nlohmann::json::parse(stats.out)["tail"]["state"], "torn") << stats.out;

  log::RecoveryResult res;
  std::string err;
  ASSERT_TRUE(log::recover(log_dir(), kBigSegment, res, err)) << err;
  EXPECT_TRUE(res.repaired);
  EXPECT_EQ(res.last_seq, last_seq() - 1);
  ToolRun after = tool("verify");
  EXPECT_EQ(after.code, 0) << after.out;
  EXPECT_NE(after.out.find("last seq " + std::to_string(last_seq() - 1) + ","), std::string::npos) << after.out;
}

TEST_F(PilotLog, ZeroedRecordCannotHideTheRestOfTheLastSegment) {
  // A run of zeros looks like the end of data to the scanner; the records behind it
  // would vanish silently. verify looks past the end.
  const std::string seg = segments_.back().path;
  auto recs = records_in(seg);
  const OnDisk a = recs[recs.size() / 2];
  patch_file(seg, a.offset, std::string(a.size, '\0'));
  const std::string bytes = read_file(seg);
  const uint64_t next_nonzero = bytes.find_first_not_of('\0', a.offset);
  ASSERT_LT(next_nonzero, a.offset + a.size + 4);
  ToolRun r = tool("verify");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out.rfind(fail_prefix(seg, a.offset, a.seq - 1), 0), 0u) << r.out;
  EXPECT_NE(r.out.find("non-zero bytes at offset " + std::to_string(next_nonzero) + " after the end of data"),
            std::string::npos)
      << r.out;
  // Far more than a write batch of records follows: recovery must refuse, not cut.
  expect_recover_refuses(log_dir());
}

TEST_F(PilotLog, UndecodablePayloadFailsVerifyAndDump) {
  TempDir d;
  const std::string dir = d.path() + "/log";
  log::RecoveryResult rec;
  std::string err;
  ASSERT_TRUE(log::recover(dir, kSmallSegment, rec, err)) << err;
  log::WriterOptions opts;
  opts.log_dir = dir;
  opts.fsync.mode = log::FsyncPolicy::Mode::kNone;
  opts.segment_bytes = kSmallSegment;
  auto w = log::Writer::open(opts, rec, err);
  ASSERT_TRUE(w) << err;
  w->append(NodeDeregistered{7}, kBase);
  w->append(NodeExpired{8}, kBase);
  // VisibilityChanged with a bool byte of 2: framed and chained, but not an event.
  w->append_raw(static_cast<uint16_t>(EventKind::kVisibilityChanged), std::string("\x01\0\0\0\x02", 5), kBase);
  w->append(NodeExpired{9}, kBase);
  w->close();
  const std::string seg = log::list_segments(dir).front().path;
  const uint64_t third = records_in(seg)[2].offset;

  ToolRun v = run_tool("verify -d '" + d.path() + "'");
  EXPECT_EQ(v.code, 1);
  EXPECT_EQ(v.out.rfind(fail_prefix(seg, third, 2), 0), 0u) << v.out;
  EXPECT_NE(v.out.find("does not decode as kind 6 (visibility_changed)"), std::string::npos) << v.out;
  ToolRun dump = run_tool("dump -d '" + d.path() + "'");
  EXPECT_EQ(dump.code, 1);
  EXPECT_EQ(seqs_of(parse_lines(dump.out)), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(dump.err.rfind(fail_prefix(seg, third, 2), 0), 0u) << dump.err;
  // stats counts record kinds without decoding payloads.
  ToolRun stats = run_tool("stats --json -d '" + d.path() + "'");
  EXPECT_EQ(stats.code, 0) << stats.out;
}

// ---- command line ------------------------------------------------------------------

TEST(PilotLogCli, UsageErrorsExitTwo) {
  for (const char* args :
       {"", "frobnicate", "verify --json", "verify extra", "dump --from", "dump --from x", "dump --from 5 --to 4",
        "dump --from-time yesterday", "stats --from 1", "--bogus verify", "verify --data-dir", "stats --json=1"}) {
    ToolRun r = run_tool(args);
    EXPECT_EQ(r.code, 2) << "'" << args << "': " << r.out << r.err;
    EXPECT_NE(r.err.find("pilot-log: "), std::string::npos) << args;
    EXPECT_NE(r.err.find("usage: pilot-log"), std::string::npos) << args;
    EXPECT_EQ(r.out, "") << args;
  }
}

TEST(PilotLogCli, HelpForToolAndEachCommand) {
  for (const char* args : {"--help", "-h", "verify --help", "dump -h", "stats --help", "--help dump"}) {
    ToolRun r = run_tool(args);
    EXPECT_EQ(r.code, 0) << args;
    EXPECT_EQ(r.out.rfind("usage: pilot-log", 0), 0u) << args << ": " << r.out;
  }
  EXPECT_NE(run_tool("dump --help").out.find("--from-time"), std::string::npos);
  EXPECT_NE(run_tool("stats --help").out.find("--json"), std::string::npos);
}

TEST(PilotLogCli, DataDirFromEnvironmentAndMissingDirectory) {
  TempDir d;
  ToolRun missing = run_tool("verify", "PILOT_DATA_DIR='" + d.path() + "/nope'");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find(d.path() + "/nope/log"), std::string::npos) << missing.err;
  fs::create_directories(d.path() + "/log");
  ToolRun empty = run_tool("verify", "PILOT_DATA_DIR='" + d.path() + "'");
  EXPECT_EQ(empty.code, 0) << empty.err;
  EXPECT_EQ(empty.out.rfind("OK: 0 records", 0), 0u) << empty.out;
  // --data-dir wins over the environment.
  ToolRun flag = run_tool("verify --data-dir '" + d.path() + "'", "PILOT_DATA_DIR=/nonexistent");
  EXPECT_EQ(flag.code, 0) << flag.err;
  // The default is ./pilot-data.
  ToolRun def = run_tool("verify", "cd '" + d.path() + "' && env -u PILOT_DATA_DIR");
  EXPECT_EQ(def.code, 1);
  EXPECT_NE(def.err.find("./pilot-data/log"), std::string::npos) << def.err;
}

}  // namespace
}  // namespace pilot
