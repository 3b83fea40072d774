// Promotion's building blocks without processes: the term file, the rewind frame,
// cutting a log back (log/truncate.h) and reopening its writer, and the whole rewind —
// the leader's points, the follower's plan, the cut and the rebuilt state — on real
// data directories.
#include "net/replication/rewind.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "log/truncate.h"
#include "net/replication/applier.h"
#include "net/replication/messages.h"
#include "net/replication/record_source.h"
#include "net/replication/term_store.h"
#include "projections/snapshot.h"
#include "test/replication/log_dir.h"

namespace pilot::repl {
namespace {

using repltest::LogDir;

// ---- the term file --------------------------------------------------------------------

TEST(TermFile, RoundTripsAndRefusesAnythingElse) {
  const Terms t{7, 5};
  std::string why;
  EXPECT_EQ(format_terms(t), "term 7\nleader-term 5\n");
  EXPECT_EQ(parse_terms(format_terms(t), why), t);
  EXPECT_EQ(parse_terms("leader-term 5\nterm 7", why), t);  // either order, final newline optional
  for (const char* bad :
       {"", "term 7\n", "leader-term 5\n", "term 7\nleader-term 8\n", "term 7\nterm 7\n",
        "term 7\nleader-term 5\nextra 1\n", "term -1\nleader-term 0\n", "term 07x\nleader-term 0\n",
        "term 99999999999999999999\nleader-term 0\n", "term  7\nleader-term 5\n", "term 7\n\nleader-term 5\n"}) {
    why.clear();
    EXPECT_FALSE(parse_terms(bad, why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
  EXPECT_EQ(parse_terms("term 18446744073709551615\nleader-term 0\n", why)->seen, UINT64_MAX);
}

TEST(TermFile, RisesOnlyAndSurvivesARestart) {
  testsupport::TempDir dir;
  std::string err;
  TermStore a(dir.path());
  ASSERT_TRUE(a.load(err)) << err;  // no file: never took part in a promotion
  EXPECT_EQ(a.terms(), (Terms{0, 0}));
  EXPECT_FALSE(std::filesystem::exists(a.path()));
  ASSERT_TRUE(a.observe(3, err)) << err;
  ASSERT_TRUE(a.observe(2, err)) << err;  // lower: ignored
  EXPECT_EQ(a.terms(), (Terms{3, 0}));
  EXPECT_FALSE(a.become_leader(3, err));  // must be above what was seen
  ASSERT_TRUE(a.become_leader(4, err)) << err;
  TermStore b(dir.path());
  ASSERT_TRUE(b.load(err)) << err;
  EXPECT_EQ(b.terms(), (Terms{4, 4}));

  std::ofstream(a.path()) << "term 1\nleader-term 9\n";
  TermStore c(dir.path());
  EXPECT_FALSE(c.load(err));  // a damaged file stops the start rather than guess
  EXPECT_NE(err.find("leader-term is above term"), std::string::npos) << err;
}

// ---- the rewind frame -----------------------------------------------------------------

TEST(RewindFrame, RoundTripAndMalformedBodies) {
  Rewind m;
  m.term = 3;
  for (uint64_t s : {900u, 899u, 898u, 896u, 12u}) {
    LogPoint p{s, {}};
    p.hash[0] = static_cast<uint8_t>(s);
    m.points.push_back(p);
  }
  const std::string f = encode(m);
  Frame fr;
  std::string why;
  ASSERT_EQ(next_frame(f, fr, why), FrameStatus::kFrame) << why;
  EXPECT_EQ(fr.type, MsgType::kRewind);
  EXPECT_EQ(fr.body.size(), 8u + 2u + 5u * 40u);
  auto back = decode_rewind(fr.body);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->term, 3u);
  EXPECT_EQ(back->points, m.points);

  const std::string body(fr.body);
  EXPECT_FALSE(decode_rewind(body.substr(0, body.size() - 1)));  // short
  EXPECT_FALSE(decode_rewind(body + "x"));                       // trailing bytes
  Rewind up = m;
  std::swap(up.points[0], up.points[1]);  // not descending
  EXPECT_FALSE(decode_rewind(encode(up).substr(kFrameHeaderSize)));
  Rewind zero = m;
  zero.points.back().seq = 0;
  EXPECT_FALSE(decode_rewind(encode(zero).substr(kFrameHeaderSize)));
  std::string many = body.substr(0, 8) + std::string("\x31\x00", 2);  // 49 points claimed
  EXPECT_FALSE(decode_rewind(many));
  Rewind none;
  none.term = 1;
  EXPECT_TRUE(decode_rewind(encode(none).substr(kFrameHeaderSize)));
}

// ---- cutting a log and reopening its writer --------------------------------------------

struct Tip {
  uint64_t seq = 0;
  log::Hash hash{};
};
// The hash of every record, by seq (index 0 unused).
std::vector<log::Hash> hashes_of(const std::string& log_dir) {
  std::vector<log::Hash> out(1);
  log::Scanner s(log_dir, 1, /*verify_chain=*/true);
  log::Record r;
  while (s.next(r) == log::Scanner::Status::kRecord) out.push_back(r.hash);
  EXPECT_EQ(s.error().what, "");
  return out;
}

TEST(Truncate, KeepsExactlyThePrefixAtAnyCutAndTheWriterContinuesIt) {
  LogDir d(8 * 1024);  // small segments: cuts land mid-segment, on boundaries, everywhere
  d.append_events(600, 5);
  d.writer().flush();
  const auto before = hashes_of(d.log_dir());
  ASSERT_EQ(before.size(), 601u);
  const auto segs = log::list_segments(d.log_dir());
  ASSERT_GT(segs.size(), 4u);
  d.writer().close();

  // Descending cuts: the last record of a segment, the first of one, the middle, 1, 0.
  std::vector<uint64_t> cuts{599, segs[3].first_seq, segs[3].first_seq - 1, segs[1].first_seq + 3, 17, 1, 0};
  std::sort(cuts.rbegin(), cuts.rend());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  for (uint64_t cut : cuts) {
    std::string err;
    ASSERT_TRUE(log::truncate_after(d.log_dir(), cut, 8 * 1024, err)) << cut << ": " << err;
    log::RecoveryResult rec;
    ASSERT_TRUE(log::recover(d.log_dir(), 8 * 1024, rec, err)) << err;
    EXPECT_FALSE(rec.repaired) << rec.report;
    EXPECT_EQ(rec.last_seq, cut);
    const auto after = hashes_of(d.log_dir());
    ASSERT_EQ(after.size(), cut + 1);
    for (uint64_t s = 1; s <= cut; ++s) ASSERT_EQ(after[s], before[s]) << s;
    for (const auto& seg : log::list_segments(d.log_dir())) EXPECT_LE(seg.first_seq, std::max<uint64_t>(cut, 1));
  }
  std::string err;
  EXPECT_FALSE(log::truncate_after(d.log_dir(), 5, 8 * 1024, err));  // beyond the end: nothing touched
  EXPECT_NE(err.find("ends at seq 0"), std::string::npos) << err;
}

TEST(Truncate, AReopenedWriterAppendsAfterTheCutAsAFreshOneWould) {
  LogDir d(16 * 1024);
  d.append_events(300, 9);
  log::Writer& w = d.writer();
  w.flush();
  w.close();
  EXPECT_EQ(w.run_callbacks(), 0u);
  std::string err;
  ASSERT_TRUE(log::truncate_after(d.log_dir(), 120, 16 * 1024, err)) << err;
  log::RecoveryResult rec;
  ASSERT_TRUE(log::recover(d.log_dir(), 16 * 1024, rec, err)) << err;
  ASSERT_TRUE(w.reopen(rec, err)) << err;
  EXPECT_FALSE(w.closed());
  EXPECT_EQ(w.last_seq(), 120u);
  EXPECT_EQ(w.durable_seq(), 120u);
  EXPECT_FALSE(w.reopen(rec, err));  // only a closed writer
  uint64_t fired = 0;
  NodeDeregistered e;
  for (uint32_t i = 1; i <= 400; ++i) {  // crosses segment boundaries again
    e.node_id = i;
    w.append(e, 1'800'000'000'000'000'000 + i, [&fired](uint64_t) { ++fired; });
  }
  w.flush();
  w.run_callbacks();
  EXPECT_EQ(fired, 400u);
  EXPECT_EQ(w.last_seq(), 520u);
  EXPECT_EQ(hashes_of(d.log_dir()).size(), 521u);  // one valid chain throughout
}

// ---- the whole rewind ----------------------------------------------------------------

// Ships everything the leader has after the follower's position (as a session would).
void ship(LogDir& leader, LogDir& follower) {
  RecordSource src(leader.log_dir());
  leader.writer().flush();
  ASSERT_EQ(src.seek(follower.writer().last_seq(), follower.writer().last_hash(), leader.writer().durable_seq()),
            RecordSource::Seek::kOk);
  Applier applier(follower.state(), follower.state_mutex(), follower.writer());
  std::string frame;
  while (src.read(leader.writer().durable_seq(), 64 * 1024, frame) == RecordSource::Read::kRecords) {
    uint64_t n = 0;
    ASSERT_EQ(applier.apply(frame, n), "");
    frame.clear();
  }
}

// An old leader `old` (term 0) and the follower `fresh` promoted to term 1 after the
// first `common` records; each then appends on its own.
struct SplitBrain {
  LogDir old_leader{32 * 1024};
  LogDir promoted{32 * 1024};
  uint64_t common = 0;
  SplitBrain(size_t shared, size_t old_extra, size_t new_extra) {
    old_leader.append_events(shared, 11);
    ship(old_leader, promoted);
    common = promoted.writer().last_seq();
    old_leader.append_events(old_extra, 12);
    promoted.writer().set_term(1);
    promoted.append_events(new_extra, 13);
    old_leader.writer().flush();
    promoted.writer().flush();
  }
  Rewind rewind_for_old() {
    Rewind m;
    m.term = promoted.writer().term();
    std::string err;
    EXPECT_TRUE(rewind_points(promoted.log_dir(), old_leader.writer().last_seq(), promoted.writer().durable_seq(),
                              m.points, err))
        << err;
    return m;
  }
};

TEST(Rewind, TheEndOfTheOldTermIsTheForkAndThePointsAreBounded) {
  SplitBrain b(700, 150, 90);
  const Rewind m = b.rewind_for_old();
  ASSERT_FALSE(m.points.empty());
  EXPECT_LE(m.points.size(), kMaxRewindPoints);
  // min(follower's last, leader's durable) first; the last term-0 record among them.
  EXPECT_EQ(m.points.front().seq, std::min<uint64_t>(850, 790));
  bool has_fork = false;
  for (const auto& p : m.points) has_fork = has_fork || p.seq == b.common;
  EXPECT_TRUE(has_fork);
  RewindPlan plan;
  ASSERT_EQ(plan_rewind(b.old_leader.log_dir(), b.old_leader.writer().last_seq(), m, plan), "");
  EXPECT_EQ(plan.keep, b.common);  // exactly the fork: nothing shared is cut
  EXPECT_EQ(plan.cut_first, b.common + 1);
  EXPECT_EQ(plan.cut_last, 850u);
  EXPECT_EQ(plan.cut_records, 150u);
  EXPECT_EQ(plan.min_term, 0u);
  EXPECT_EQ(plan.max_term, 0u);
}

// PROTOCOL.md's worked example, point for point.
TEST(Rewind, TheProtocolDocsWorkedExample) {
  SplitBrain b(212, 68, 100);
  const Rewind m = b.rewind_for_old();
  std::vector<uint64_t> seqs;
  for (const auto& p : m.points) seqs.push_back(p.seq);
  EXPECT_EQ(seqs, (std::vector<uint64_t>{280, 279, 278, 276, 272, 264, 248, 216, 212, 152, 24}));
  RewindPlan plan;
  ASSERT_EQ(plan_rewind(b.old_leader.log_dir(), 280, m, plan), "");
  EXPECT_EQ(plan.keep, 212u);
  EXPECT_EQ(plan.cut_records, 68u);
}

TEST(Rewind, WithoutTheTermEndsTheHalvingPointsStillFindACommonRecord) {
  SplitBrain b(700, 150, 300);
  Rewind m = b.rewind_for_old();
  // Drop the end of term 0: only the −1, −2, −4 … points remain.
  m.points.erase(std::remove_if(m.points.begin(), m.points.end(), [&](const LogPoint& p) { return p.seq == 700; }),
                 m.points.end());
  RewindPlan plan;
  ASSERT_EQ(plan_rewind(b.old_leader.log_dir(), 850, m, plan), "");
  EXPECT_LT(plan.keep, b.common);  // a bit more is cut, and shipped again
  EXPECT_GE(plan.keep, b.common - 150);
  EXPECT_EQ(plan.cut_records, 850 - plan.keep);
}

TEST(Rewind, RefusesWhatIsNotAReplacedLeadersTail) {
  {
    SplitBrain b(300, 40, 40);
    Rewind m = b.rewind_for_old();
    m.term = 0;  // the "leader" is of the same term as the records to cut
    RewindPlan plan;
    const std::string why = plan_rewind(b.old_leader.log_dir(), 340, m, plan);
    EXPECT_NE(why.find("two leaders had one term"), std::string::npos) << why;
  }
  {
    LogDir a, other;  // two clusters: nothing in common
    a.append_events(100, 1);
    other.append_events(100, 2);
    a.writer().flush();
    other.writer().flush();
    Rewind m;
    m.term = 5;
    std::string err;
    ASSERT_TRUE(rewind_points(other.log_dir(), 100, 100, m.points, err)) << err;
    RewindPlan plan;
    const std::string why = plan_rewind(a.log_dir(), 100, m, plan);
    EXPECT_NE(why.find("no record in common"), std::string::npos) << why;
  }
}

TEST(Rewind, CutsTheTailDiscardsANewerSnapshotAndRebuildsTheLeadersPrefixState) {
  SplitBrain b(600, 200, 100);
  // The old leader's snapshot covers records that are going away.
  Snapshotter snap(b.old_leader.dir());
  auto r = snap.run(b.old_leader.writer().last_seq());
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.seq, 800u);
  RewindPlan plan;
  ASSERT_EQ(plan_rewind(b.old_leader.log_dir(), 800, b.rewind_for_old(), plan), "");
  RewindTarget t;
  t.dir = b.old_leader.dir();
  t.segment_bytes = 32 * 1024;
  t.writer = &b.old_leader.writer();
  t.state = &b.old_leader.state();
  t.state_mu = &b.old_leader.state_mutex();
  t.snapshotter = &snap;
  t.snapshot_seq = r.seq;
  const RewindDone done = execute_rewind(t, plan);
  EXPECT_TRUE(done.snapshot_discarded);
  EXPECT_EQ(done.snapshot_seq, 0u);
  EXPECT_EQ(done.replayed, b.common);
  EXPECT_FALSE(std::filesystem::exists(b.old_leader.dir().snapshot_path()));
  EXPECT_EQ(b.old_leader.writer().last_seq(), b.common);
  EXPECT_EQ(b.old_leader.state().last_seq, b.common);

  // From here it is an ordinary follower: the new leader's records follow, and both
  // end with the same log, the same state and the same segment bytes.
  ship(b.promoted, b.old_leader);
  EXPECT_EQ(b.old_leader.writer().last_hash(), b.promoted.writer().last_hash());
  EXPECT_EQ(b.old_leader.state().debug_dump(), b.promoted.state().debug_dump());
  b.old_leader.writer().flush();
  auto x = b.old_leader.segment_files(), y = b.promoted.segment_files();
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_TRUE(x[i] == y[i]) << x[i].first;
}

TEST(Rewind, AnOlderSnapshotIsKeptAndOnlyTheRestReplayed) {
  SplitBrain b(600, 200, 100);
  Snapshotter snap(b.old_leader.dir());
  ASSERT_EQ(snap.run(400).error, "");
  RewindPlan plan;
  ASSERT_EQ(plan_rewind(b.old_leader.log_dir(), 800, b.rewind_for_old(), plan), "");
  RewindTarget t{b.old_leader.dir(),
                 32 * 1024,
                 &b.old_leader.writer(),
                 &b.old_leader.state(),
                 &b.old_leader.state_mutex(),
                 &snap,
                 400};
  const RewindDone done = execute_rewind(t, plan);
  EXPECT_FALSE(done.snapshot_discarded);
  EXPECT_EQ(done.snapshot_seq, 400u);
  EXPECT_EQ(done.replayed, b.common - 400);
  ship(b.promoted, b.old_leader);
  EXPECT_EQ(b.old_leader.state().debug_dump(), b.promoted.state().debug_dump());
}

}  // namespace
}  // namespace pilot::repl
