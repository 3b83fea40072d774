// How operator log lines (logging.h) are written: the default text form
// `2026-11-22T10:00:00.123Z INFO  message`, or one JSON object per line
// `{"time":"2026-11-22T10:00:00.123Z","level":"info","msg":"message"}` for log
// shippers (the Go binaries' `-log-format json`). A header of its own so that adding
// the switch did not touch logging.h, which nearly every file includes.
#pragma once

#include <string>

#include "core/logging.h"

namespace pilot {

enum class LogFormat { kText, kJson };

void set_log_format(LogFormat format);
// "text" | "json"; false if unknown.
bool set_log_format(const char* name);
LogFormat log_format();

// The line log_line writes for `msg` at `level` and time `unix_ns` in `format`,
// newline included (exposed for tests: the JSON escaping is the part to get right).
std::string format_log_line(LogFormat format, LogLevel level, long long unix_ns, const std::string& msg);

}  // namespace pilot
