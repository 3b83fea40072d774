// Folding a data directory's log into a State exactly as the server does: what replay
// and export share. The log is read with the full check (CRC, sequence, hash chain,
// payloads decode), like verify; damage before the target stops the fold with the
// FAIL line.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "cmd/pilot-log/options.h"
#include "log/format.h"
#include "projections/state.h"

namespace pilot::logtool {

struct FoldTarget {
  uint64_t to_seq = UINT64_MAX;       // apply up to and including this seq
  std::optional<int64_t> to_time_ns;  // stop before the first record later than this
};

struct FoldHooks {
  // Once, with the state the fold starts from: empty, or snapshot.db when the log's
  // early segments are gone.
  std::function<void(const State&)> start;
  // After each record is applied (state.last_seq == rec.seq).
  std::function<void(const log::Record&, const State&)> applied;
  // Appended to the summary line ("; <text>"), e.g. what was written.
  std::function<std::string()> summary;
};

// Folds o.log_dir() into `state` (which must be empty) up to `t`. Returns the exit
// status: 0, or 1 after printing why to stderr (damaged log, a gap, an unusable
// snapshot, a target past the end of the log). `command` names the stderr lines.
int fold_log(const Options& o, const char* command, const FoldTarget& t, State& state, const FoldHooks& hooks = {});

}  // namespace pilot::logtool
