// Rejoining after a failover: an old leader restarted with --follow NEWLEADER holds
// records the new leader never had (written after the new leader's last record at
// promotion). Its hello's (last seq, hash) is then not on the new leader's log, and
// instead of refusing, the leader helps it find the last record both logs share:
//
//   1. leader (session thread): rewind_points() — its hashes at a few seqs at or below
//      m = min(follower's last seq, its durable seq): the last record of each term
//      (the latest 16; a promotion starts a term, so that is where an old leader's
//      history and the new one part — exactly, when each term had one leader), and m,
//      m−1, m−2, m−4, m−8 … (a fallback that finds a common record in any case,
//      cutting at most twice too much). One forward scan of the leader's log, at most
//      kMaxRewindPoints points, one frame; then the leader closes.
//   2. follower (loop thread): plan_rewind() — the highest point whose hash its own log
//      has at that seq is the common prefix (the hash chain makes equal hashes mean
//      equal logs up to there). Everything after it is cut, but only if every record
//      to cut has a term below the leader's: those were written by a leader that has
//      been replaced. Anything else (no common record at all — another cluster? — or
//      records of the leader's own term: two leaders in one term, or a leader that lost
//      records it had sent) is refused and left for the operator; nothing is touched.
//   3. follower: execute_rewind() — flush and close the writer, discard snapshot.db if
//      it is newer than the cut (there is one snapshot file and a projection cannot be
//      un-applied: state is rebuilt from an older snapshot when there is one, else by
//      replaying the log from the start — deterministic, so it is exactly the state at
//      the cut), truncate the log after the cut (log/truncate.h), restore the state,
//      reopen the writer on the same object, swap the state in under the state mutex,
//      and log "truncated N divergent records (seq A..B, term T)". The follower then
//      says hello again from the cut and streams normally.
//
// Step 3 runs on the loop thread and stalls it for the replay (reads on this follower
// wait; they would have answered from a history the cluster abandoned anyway). Once
// the writer is closed there is no way back: a failure from there on aborts the
// process, and recovery on restart finds a log that is a prefix of the old one
// (log/truncate.h) — the rewind then simply happens again.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/rw_mutex.h"
#include "log/writer.h"
#include "net/replication/messages.h"
#include "projections/store.h"

namespace pilot::repl {

// Leader: the points for a follower whose log ends at `follower_last`, from the durable
// log in `log_dir` up to `durable`. False + error if the log cannot be read.
bool rewind_points(const std::string& log_dir, uint64_t follower_last, uint64_t durable, std::vector<LogPoint>& out,
                   std::string& error);

struct RewindPlan {
  uint64_t keep = 0;                    // the common prefix: records 1..keep stay
  uint64_t cut_first = 0;               // keep + 1
  uint64_t cut_last = 0;                // the local log's last seq
  uint64_t cut_records = 0;             // 0: nothing to cut, just say hello again
  uint64_t min_term = 0, max_term = 0;  // terms of the records to cut
  uint64_t leader_term = 0;
};

// Follower: what to cut from the local log (`log_dir`, ending at `last_seq`) to
// continue `m`'s leader. "" and the plan, or why not (nothing is touched either way).
std::string plan_rewind(const std::string& log_dir, uint64_t last_seq, const Rewind& m, RewindPlan& plan);

// What a rewind rebuilds: the follower host's own pieces.
struct RewindTarget {
  DataDir dir;
  uint64_t segment_bytes = 0;
  log::Writer* writer = nullptr;
  State* state = nullptr;
  RwMutex* state_mu = nullptr;  // held exclusively while the state is swapped
  Snapshotter* snapshotter = nullptr;
  uint64_t snapshot_seq = 0;  // the seq snapshot.db holds (0 = none)
};

struct RewindDone {
  bool snapshot_discarded = false;
  uint64_t snapshot_seq = 0;  // the snapshot the state was rebuilt from (0 = none)
  uint64_t replayed = 0;      // records applied after it
};

// Follower, loop thread: carries out `plan` (cut_records > 0). Aborts the process if a
// step fails once the writer has been closed (see the top of this file).
RewindDone execute_rewind(const RewindTarget& t, const RewindPlan& plan);

}  // namespace pilot::repl
