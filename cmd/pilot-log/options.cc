#include "cmd/pilot-log/options.h"

#include "core/time_format.h"

namespace pilot::logtool {
namespace {

constexpr const char* kDefaultDataDir = "./pilot-data";

std::optional<Command> command_from_name(std::string_view name) {
  if (name == "verify") return Command::kVerify;
  if (name == "dump") return Command::kDump;
  if (name == "stats") return Command::kStats;
  return std::nullopt;
}

// Options that take a value; `--name=value` and `--name value` both work.
bool takes_value(std::string_view name) {
  return name == "--data-dir" || name == "-d" || name == "--from" || name == "--to" || name == "--from-time" ||
         name == "--to-time";
}

bool allowed(Command c, std::string_view name) {
  if (name == "--data-dir" || name == "-d" || name == "--help" || name == "-h") return true;
  switch (c) {
    case Command::kDump: return name == "--from" || name == "--to" || name == "--from-time" || name == "--to-time";
    case Command::kStats: return name == "--json";
    case Command::kVerify:
    case Command::kNone: return false;
  }
  return false;
}

}  // namespace

std::optional<uint64_t> parse_seq_arg(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    if (__builtin_mul_overflow(v, uint64_t{10}, &v) || __builtin_add_overflow(v, uint64_t(c - '0'), &v))
      return std::nullopt;
  }
  return v;
}

std::optional<int64_t> parse_time_arg(std::string_view text) {
  if (auto t = parse_rfc3339(text)) return t;
  // unix seconds: -?digits(.digits{1,9})?
  std::string_view s = text;
  bool negative = !s.empty() && s[0] == '-';
  if (negative) s.remove_prefix(1);
  std::string_view whole = s.substr(0, s.find('.'));
  std::string_view frac = whole.size() < s.size() ? s.substr(whole.size() + 1) : std::string_view{};
  if (whole.size() < s.size() && (frac.empty() || frac.size() > 9)) return std::nullopt;
  auto secs = parse_seq_arg(whole);
  if (!secs || *secs > uint64_t{INT64_MAX}) return std::nullopt;
  int64_t nanos = 0;
  for (size_t i = 0; i < 9; ++i) {
    char c = i < frac.size() ? frac[i] : '0';
    if (c < '0' || c > '9') return std::nullopt;
    nanos = nanos * 10 + (c - '0');
  }
  int64_t ns;
  if (__builtin_mul_overflow(static_cast<int64_t>(*secs), int64_t{1000000000}, &ns) ||
      __builtin_add_overflow(ns, nanos, &ns))
    return std::nullopt;
  return negative ? -ns : ns;
}

ParseStatus parse_options(const std::vector<std::string>& args, const char* env_data_dir, Options& out,
                          std::string& error) {
  out = Options{};
  bool help = false;
  std::optional<std::string> data_dir;
  // Options may come before or after the subcommand; they are checked against it at the end.
  std::vector<std::pair<std::string, std::string>> given;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 2 || a[0] != '-') {
      if (out.command != Command::kNone) {
        error = "unexpected argument '" + a + "'";
        return ParseStatus::kError;
      }
      auto c = command_from_name(a);
      if (!c) {
        error = "unknown command '" + a + "'";
        return ParseStatus::kError;
      }
      out.command = *c;
      continue;
    }
    std::string name = a, value;
    bool has_value = false;
    if (size_t eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    if (takes_value(name) && !has_value) {
      if (i + 1 >= args.size()) {
        error = "option " + name + " needs a value";
        return ParseStatus::kError;
      }
      value = args[++i];
      has_value = true;
    } else if (!takes_value(name) && has_value) {
      error = "option " + name + " takes no value";
      return ParseStatus::kError;
    }
    given.emplace_back(name, value);
  }

  for (const auto& [name, value] : given) {
    if (!allowed(out.command, name) && !allowed(Command::kDump, name) && !allowed(Command::kStats, name)) {
      error = "unknown option " + name;
      return ParseStatus::kError;
    }
    if (name == "--help" || name == "-h") help = true;
  }
  if (help) return ParseStatus::kHelp;
  if (out.command == Command::kNone) {
    error = "missing command (verify, dump or stats)";
    return ParseStatus::kError;
  }

  for (const auto& [name, value] : given) {
    if (!allowed(out.command, name)) {
      error = "option " + name + " does not apply to this command";
      return ParseStatus::kError;
    }
    if (name == "--data-dir" || name == "-d") {
      if (value.empty()) {
        error = "empty --data-dir";
        return ParseStatus::kError;
      }
      data_dir = value;
    } else if (name == "--from" || name == "--to") {
      auto v = parse_seq_arg(value);
      if (!v) {
        error = name + " wants a sequence number, got '" + value + "'";
        return ParseStatus::kError;
      }
      (name == "--from" ? out.from_seq : out.to_seq) = *v;
    } else if (name == "--from-time" || name == "--to-time") {
      auto v = parse_time_arg(value);
      if (!v) {
        error = name + " wants an RFC 3339 time (2026-03-03T00:00:00Z) or unix seconds, got '" + value + "'";
        return ParseStatus::kError;
      }
      (name == "--from-time" ? out.from_time_ns : out.to_time_ns) = *v;
    } else if (name == "--json") {
      out.json = true;
    }
  }
  if (out.from_seq > out.to_seq) {
    error = "--from is after --to";
    return ParseStatus::kError;
  }
  if (out.from_time_ns && out.to_time_ns && *out.from_time_ns > *out.to_time_ns) {
    error = "--from-time is after --to-time";
    return ParseStatus::kError;
  }
  if (data_dir)
    out.data_dir = *data_dir;
  else if (env_data_dir && *env_data_dir)
    out.data_dir = env_data_dir;
  else
    out.data_dir = kDefaultDataDir;
  return ParseStatus::kOk;
}

std::string usage_text(Command command) {
  const std::string common =
      "  -d, --data-dir DIR   data directory; the log is DIR/log\n"
      "                       (default: $PILOT_DATA_DIR, else ./pilot-data)\n"
      "  -h, --help           show this help\n";
  switch (command) {
    case Command::kVerify:
      return "usage: pilot-log verify [--data-dir DIR]\n"
             "\n"
             "Checks every record of the log: framing and CRC, sequence continuity, terms,\n"
             "the hash chain, segment continuity, that each payload decodes, and that no\n"
             "bytes follow the end of data in a segment. Prints a one-line summary and\n"
             "exits 0, or prints\n"
             "  FAIL: <segment> offset <n> after seq <s>: <what>\n"
             "for the first bad record and exits 1. Shows progress on stderr when it is a\n"
             "terminal.\n"
             "\n"
             "options:\n" +
             common;
    case Command::kDump:
      return "usage: pilot-log dump [--data-dir DIR] [--from SEQ] [--to SEQ]\n"
             "                      [--from-time T] [--to-time T]\n"
             "\n"
             "Prints one JSON object per event to stdout:\n"
             "  {\"seq\":..,\"term\":..,\"time\":\"RFC 3339 UTC\",\"time_ns\":..,\"hash\":\"hex\",\n"
             "   \"kind\":\"..\", <event fields>}\n"
             "Bytes that are not UTF-8 are replaced by U+FFFD. If the log is damaged, the\n"
             "records before the damage are printed, then the FAIL line (as verify prints\n"
             "it) goes to stderr and the exit status is 1.\n"
             "\n"
             "options:\n"
             "  --from SEQ           first sequence number (inclusive; seeks, no full scan)\n"
             "  --to SEQ             last sequence number (inclusive; stops reading there)\n"
             "  --from-time T        only records at or after T (inclusive)\n"
             "  --to-time T          only records at or before T (inclusive)\n"
             "                       T is RFC 3339 (2026-03-03T00:00:00Z, 2026-03-03T01:00:00.5+01:00)\n"
             "                       or unix seconds (1772496000, 1772496000.25)\n" +
             common;
    case Command::kStats:
      return "usage: pilot-log stats [--data-dir DIR] [--json]\n"
             "\n"
             "Summarises the log: records, segments, bytes on disk, first/last sequence\n"
             "number and time, terms, records per event kind, and the state of the tail\n"
             "(clean, a torn tail recovery would cut, or damage recovery would refuse).\n"
             "Exits 0 for a clean log, 1 otherwise.\n"
             "\n"
             "options:\n"
             "  --json               print one JSON object instead of text\n" +
             common;
    case Command::kNone: break;
  }
  return "usage: pilot-log <command> [--data-dir DIR] [options]\n"
         "\n"
         "Offline tool for a Pilot rendezvous data directory (reads DIR/log, never writes).\n"
         "\n"
         "commands:\n"
         "  verify   check every record, the hash chain and segment continuity\n"
         "  dump     print events as JSON lines, optionally filtered by seq or time\n"
         "  stats    counts per event kind, terms, sizes and the state of the tail\n"
         "\n"
         "options:\n" +
         common +
         "\n"
         "`pilot-log <command> --help` describes each command. Exit status: 0 ok,\n"
         "1 damaged log or I/O error, 2 usage error.\n";
}

}  // namespace pilot::logtool
