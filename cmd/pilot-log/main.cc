// pilot-log: offline verify / dump / stats / replay / export of a data directory's
// log. See `pilot-log --help`; the work happens in verify.cc, dump.cc, stats.cc,
// replay.cc and export.cc (the last two fold the log with fold.cc).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cmd/pilot-log/commands.h"
#include "cmd/pilot-log/options.h"

int main(int argc, char** argv) {
  using namespace pilot::logtool;
  std::vector<std::string> args(argv + 1, argv + argc);
  Options opts;
  std::string error;
  switch (parse_options(args, std::getenv("PILOT_DATA_DIR"), opts, error)) {
    case ParseStatus::kHelp: std::fputs(usage_text(opts.command).c_str(), stdout); return 0;
    case ParseStatus::kError:
      std::fprintf(stderr, "pilot-log: %s\n\n%s", error.c_str(), usage_text(opts.command).c_str());
      return 2;
    case ParseStatus::kOk: break;
  }
  switch (opts.command) {
    case Command::kVerify: return run_verify(opts);
    case Command::kDump: return run_dump(opts);
    case Command::kStats: return run_stats(opts);
    case Command::kReplay: return run_replay(opts);
    case Command::kExport: return run_export(opts);
    case Command::kNone: break;
  }
  return 2;
}
