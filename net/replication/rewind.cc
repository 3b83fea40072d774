#include "net/replication/rewind.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>

#include "core/logging.h"
#include "log/file_util.h"
#include "log/scanner.h"
#include "log/truncate.h"

namespace pilot::repl {
namespace {

std::string scan_error(const log::Scanner& s) {
  const auto& e = s.error();
  return e.segment + " at offset " + std::to_string(e.offset) + " (after seq " + std::to_string(e.after_seq) +
         "): " + e.what;
}

// Promotions remembered per rewind: a follower diverged at the end of one of the
// latest terms unless it slept through more failovers than that.
constexpr size_t kMaxTermEnds = 16;

[[noreturn]] void fail(const std::string& what) {
  LOG_ERROR(
      "replication: rewind failed after the log was closed: %s. Aborting: on restart recovery opens what is on "
      "disk (a prefix of the old log) and the rewind runs again",
      what.c_str());
  std::abort();
}

std::string term_range(uint64_t lo, uint64_t hi) {
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi);
}

}  // namespace

bool rewind_points(const std::string& log_dir, uint64_t follower_last, uint64_t durable, std::vector<LogPoint>& out,
                   std::string& error) {
  out.clear();
  const uint64_t upto = std::min(follower_last, durable);
  if (upto == 0) return true;
  // upto, upto−1, upto−2, upto−4, … ascending for the scan, leaving room for the
  // term ends.
  std::vector<uint64_t> wanted;
  for (uint64_t step = 0; step < upto && wanted.size() < kMaxRewindPoints - kMaxTermEnds; step = step ? step * 2 : 1) {
    wanted.push_back(upto - step);
    if (step > UINT64_MAX / 2) break;
  }
  std::reverse(wanted.begin(), wanted.end());

  log::Scanner s(log_dir, 1, /*verify_chain=*/false);
  log::Record r;
  log::Scanner::Status st;
  std::deque<LogPoint> term_ends;  // the last record of each term, the latest kMaxTermEnds
  LogPoint prev;
  uint64_t prev_term = 0;
  size_t i = 0;
  while ((st = s.next(r)) == log::Scanner::Status::kRecord) {
    if (prev.seq > 0 && r.term != prev_term) {
      term_ends.push_back(prev);
      if (term_ends.size() > kMaxTermEnds) term_ends.pop_front();
    }
    prev = {r.seq, r.hash};
    prev_term = r.term;
    while (i < wanted.size() && wanted[i] < r.seq) ++i;
    if (i < wanted.size() && wanted[i] == r.seq) out.push_back(prev);
    if (r.seq >= upto) break;
  }
  if (st == log::Scanner::Status::kError) {
    error = "cannot read the log for a rewind: " + scan_error(s);
    return false;
  }
  if (st != log::Scanner::Status::kRecord) {
    error = "the log ends at seq " + std::to_string(s.last_seq()) + ", before the durable seq " + std::to_string(upto);
    return false;
  }
  out.insert(out.end(), term_ends.begin(), term_ends.end());
  std::sort(out.begin(), out.end(), [](const LogPoint& a, const LogPoint& b) { return a.seq > b.seq; });
  out.erase(std::unique(out.begin(), out.end(), [](const LogPoint& a, const LogPoint& b) { return a.seq == b.seq; }),
            out.end());
  if (out.size() > kMaxRewindPoints) out.resize(kMaxRewindPoints);
  return true;
}

std::string plan_rewind(const std::string& log_dir, uint64_t last_seq, const Rewind& m, RewindPlan& plan) {
  plan = RewindPlan{};
  plan.leader_term = m.term;
  std::vector<LogPoint> points;  // ascending, at or below our last record
  for (auto it = m.points.rbegin(); it != m.points.rend(); ++it)
    if (it->seq <= last_seq) points.push_back(*it);
  const std::string refuse = "refusing to truncate anything (the operator decides which log to keep)";
  if (points.empty())
    return "the leader sent no point at or below our last record (seq " + std::to_string(last_seq) +
           "): nothing to compare; " + refuse;

  log::Scanner s(log_dir, points.front().seq, /*verify_chain=*/false);
  log::Record r;
  log::Scanner::Status st;
  size_t i = 0;
  uint64_t tail = 0, min_term = UINT64_MAX, max_term = 0;
  while ((st = s.next(r)) == log::Scanner::Status::kRecord && r.seq <= last_seq) {
    while (i < points.size() && points[i].seq < r.seq) ++i;
    if (i < points.size() && points[i].seq == r.seq && points[i].hash == r.hash) {
      plan.keep = r.seq;
      tail = 0, min_term = UINT64_MAX, max_term = 0;
      continue;
    }
    ++tail;
    min_term = std::min(min_term, r.term);
    max_term = std::max(max_term, r.term);
  }
  if (st == log::Scanner::Status::kError) return "cannot read our own log: " + scan_error(s);
  if (plan.keep == 0)
    return "no record in common with the leader (its records " + std::to_string(points.back().seq) + ".." +
           std::to_string(points.front().seq) + " have other hashes here): not the same history — another cluster? " +
           refuse;
  if (plan.keep + tail != last_seq)
    return "our log does not reach seq " + std::to_string(last_seq) + " as it did when we said hello; " + refuse;
  plan.cut_records = tail;
  if (tail == 0) return "";
  plan.cut_first = plan.keep + 1;
  plan.cut_last = last_seq;
  plan.min_term = min_term;
  plan.max_term = max_term;
  if (max_term >= m.term)
    return "the records to cut (seq " + std::to_string(plan.cut_first) + ".." + std::to_string(plan.cut_last) +
           ") include term " + std::to_string(max_term) + ", not older than the leader's term " +
           std::to_string(m.term) + " — the leader lost records it had sent us, or two leaders had one term; " + refuse;
  return "";
}

RewindDone execute_rewind(const RewindTarget& t, const RewindPlan& plan) {
  RewindDone done;
  // Nothing may read the files while they change: the background snapshot reads both.
  t.snapshotter->wait();
  t.writer->flush();
  t.writer->close();
  t.writer->run_callbacks();  // everything appended is durable now: release it all

  // snapshot.db newer than the cut holds effects of records that are going away.
  if (t.snapshot_seq > plan.keep) {
    if (::unlink(t.dir.snapshot_path().c_str()) != 0 && errno != ENOENT)
      fail("cannot remove " + t.dir.snapshot_path() + ": " + std::strerror(errno));
    if (!log::fsync_dir(t.dir.root)) fail("cannot sync " + t.dir.root + ": " + std::strerror(errno));
    done.snapshot_discarded = true;
  }
  std::string err;
  if (!log::truncate_after(t.dir.log_dir(), plan.keep, t.segment_bytes, err)) fail(err);
  State fresh;
  RestoreReport rep;
  if (!restore_state(t.dir, t.segment_bytes, fresh, rep, err)) fail("cannot restore the state: " + err);
  if (rep.log.last_seq != plan.keep)
    fail("the log ends at seq " + std::to_string(rep.log.last_seq) + " after the cut, not " +
         std::to_string(plan.keep));
  if (!t.writer->reopen(rep.log, err)) fail("cannot reopen the log: " + err);
  {
    std::unique_lock lock(*t.state_mu);
    *t.state = std::move(fresh);
  }
  done.snapshot_seq = rep.snapshot_seq;
  done.replayed = rep.replayed;
  LOG_WARN(
      "replication: truncated %llu divergent records (seq %llu..%llu, term %s) to follow the leader at term %llu; "
      "state rebuilt from %s and %llu records replayed",
      (unsigned long long)plan.cut_records, (unsigned long long)plan.cut_first, (unsigned long long)plan.cut_last,
      term_range(plan.min_term, plan.max_term).c_str(), (unsigned long long)plan.leader_term,
      done.snapshot_seq ? ("the snapshot at seq " + std::to_string(done.snapshot_seq)).c_str()
                        : (done.snapshot_discarded ? "nothing (the snapshot was newer than the cut)" : "nothing"),
      (unsigned long long)done.replayed);
  return done;
}

}  // namespace pilot::repl
