// The subcommands of pilot-log; each returns the process exit status.
#pragma once

#include "cmd/pilot-log/options.h"

namespace pilot::logtool {

int run_verify(const Options& o);
int run_dump(const Options& o);
int run_stats(const Options& o);
int run_replay(const Options& o);
int run_export(const Options& o);

}  // namespace pilot::logtool
