#include "cmd/pilot-log/fold.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "cmd/pilot-log/progress.h"
#include "cmd/pilot-log/reader.h"
#include "log/scanner.h"
#include "projections/snapshot.h"

namespace pilot::logtool {
namespace {

int fail(const char* command, const std::string& why) {
  std::fprintf(stderr, "pilot-log %s: %s\n", command, why.c_str());
  return 1;
}

// The last seq in the log, from a CRC-only pass over its last segment (for the
// progress percentage only: 0 when unknown).
uint64_t last_seq_of(const std::string& log_dir, const std::vector<log::SegmentFile>& segs) {
  if (segs.empty()) return 0;
  log::Scanner s(log_dir, segs.back().first_seq, /*verify_chain=*/false);
  log::Record r;
  while (s.next(r) == log::Scanner::Status::kRecord) {
  }
  return s.last_seq();
}

// When the log no longer starts at seq 1: the state of DIR/snapshot.db, if the log
// continues it. Returns 0 with `state` set, or the exit status.
int start_from_snapshot(const Options& o, const char* command, const FoldTarget& t,
                        const log::SegmentFile& first_segment, State& state) {
  const std::string path = o.data_dir + "/snapshot.db";
  const std::string gone =
      "the log starts at seq " + std::to_string(first_segment.first_seq) + " (its earlier segments are gone)";
  std::string why;
  auto snap = load_snapshot(path, &why);
  if (!snap) return fail(command, gone + " and there is no usable snapshot to start from: " + why);
  if (snap->last_seq + 1 < first_segment.first_seq)
    return fail(command, gone + " but " + path + " is at seq " + std::to_string(snap->last_seq) + ": records " +
                             std::to_string(snap->last_seq + 1) + ".." + std::to_string(first_segment.first_seq - 1) +
                             " are missing");
  if (snap->last_seq > t.to_seq)
    return fail(command, gone + " and " + path + " is at seq " + std::to_string(snap->last_seq) +
                             ", after the target " + std::to_string(t.to_seq) + ": no earlier state can be rebuilt");
  if (snap->last_seq + 1 == first_segment.first_seq) {
    // The record the snapshot ends with is not in the log: the segment header's link
    // to it must be the snapshot's hash.
    auto prev = segment_prev_hash(first_segment.path);
    if (!prev || *prev != snap->last_hash)
      return fail(command, path + " (seq " + std::to_string(snap->last_seq) + ") is not the state " +
                               first_segment.path + " continues: its hash differs");
  }
  std::fprintf(stderr, "pilot-log %s: %s: starting from %s at seq %llu\n", command, gone.c_str(), path.c_str(),
               static_cast<unsigned long long>(snap->last_seq));
  state = std::move(*snap);
  return 0;
}

}  // namespace

int fold_log(const Options& o, const char* command, const FoldTarget& t, State& state, const FoldHooks& hooks) {
  if (int rc = check_log_dir(o.log_dir())) return rc;
  const auto segs = log::list_segments(o.log_dir());
  if (!segs.empty() && segs.front().first_seq > 1) {
    if (int rc = start_from_snapshot(o, command, t, segs.front(), state)) return rc;
  }
  if (hooks.start) hooks.start(state);

  const bool tty = ::isatty(STDERR_FILENO) == 1;
  uint64_t target = t.to_seq;
  if (target == UINT64_MAX || t.to_time_ns) target = tty ? last_seq_of(o.log_dir(), segs) : 0;
  Progress progress(command, state.last_seq, target, tty);

  // From the snapshot's own record when the log still has it, to check the link.
  Reader reader(o.log_dir(), state.last_seq == 0 ? 1 : state.last_seq, /*decode=*/true);
  log::Record rec;
  Event ev;
  Reader::Status st = Reader::Status::kEnd;
  bool reached = state.last_seq >= t.to_seq;
  while (!reached && (st = reader.next(rec, ev)) == Reader::Status::kRecord) {
    if (state.last_seq != 0 && rec.seq == state.last_seq) {
      if (rec.hash != state.last_hash)
        return fail(command,
                    "snapshot.db does not match the log: the hash of seq " + std::to_string(rec.seq) + " differs");
      continue;
    }
    if (t.to_time_ns && rec.time_ns > *t.to_time_ns) break;
    state.apply(rec.meta(), ev);
    state.last_hash = rec.hash;
    progress.tick(rec.seq);
    if (hooks.applied) hooks.applied(rec, state);
    reached = rec.seq >= t.to_seq;
  }
  if (!reached && st == Reader::Status::kError) {
    progress.finish("stopped by damage after", state.last_seq, hooks.summary ? hooks.summary() : "");
    std::fprintf(stderr, "%s\n", fail_line(reader.failure()).c_str());
    return 1;
  }
  if (t.to_seq != UINT64_MAX && state.last_seq < t.to_seq) {
    progress.finish("applied", state.last_seq, hooks.summary ? hooks.summary() : "");
    return fail(command,
                "the log ends at seq " + std::to_string(state.last_seq) + ", before " + std::to_string(t.to_seq));
  }
  progress.finish("applied", state.last_seq, hooks.summary ? hooks.summary() : "");
  return 0;
}

}  // namespace pilot::logtool
