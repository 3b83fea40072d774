// pilot-log replay: the state as of a seq or time, printed or written as a snapshot.
#include <cstdio>
#include <exception>

#include "cmd/pilot-log/commands.h"
#include "cmd/pilot-log/fold.h"
#include "projections/snapshot.h"

namespace pilot::logtool {

int run_replay(const Options& o) {
  State state;
  if (int rc = fold_log(o, "replay", FoldTarget{o.to_seq, o.to_time_ns}, state)) return rc;
  if (!o.out_path.empty()) {
    try {
      save_snapshot(state, o.out_path);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "pilot-log replay: %s\n", e.what());
      return 1;
    }
    std::fprintf(stderr, "pilot-log replay: wrote the state at seq %llu to %s\n",
                 static_cast<unsigned long long>(state.last_seq), o.out_path.c_str());
    return 0;
  }
  const std::string dump = state.debug_dump();
  if (std::fwrite(dump.data(), 1, dump.size(), stdout) != dump.size() || std::fflush(stdout) != 0) {
    std::perror("pilot-log replay: writing stdout");
    return 1;
  }
  return 0;
}

}  // namespace pilot::logtool
