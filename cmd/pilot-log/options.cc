#include "cmd/pilot-log/options.h"

#include "admin/audit_format.h"
#include "core/time_format.h"

namespace pilot::logtool {
namespace {

constexpr const char* kDefaultDataDir = "./pilot-data";

std::optional<Command> command_from_name(std::string_view name) {
  if (name == "verify") return Command::kVerify;
  if (name == "dump") return Command::kDump;
  if (name == "stats") return Command::kStats;
  if (name == "replay") return Command::kReplay;
  if (name == "export") return Command::kExport;
  return std::nullopt;
}

// Options that take a value; `--name=value` and `--name value` both work.
bool takes_value(std::string_view name) {
  return name == "--data-dir" || name == "-d" || name == "--from" || name == "--to" || name == "--from-time" ||
         name == "--to-time" || name == "--out" || name == "-o" || name == "--format" || name == "--hec-host" ||
         name == "--hec-source" || name == "--hec-index";
}

bool allowed(Command c, std::string_view name) {
  if (name == "--data-dir" || name == "-d" || name == "--help" || name == "-h") return true;
  switch (c) {
    case Command::kDump: return name == "--from" || name == "--to" || name == "--from-time" || name == "--to-time";
    case Command::kStats: return name == "--json";
    case Command::kReplay: return name == "--to" || name == "--to-time" || name == "--out" || name == "-o";
    case Command::kExport:
      return name == "--format" || name == "--from" || name == "--to" || name == "--from-time" || name == "--to-time" ||
             name == "--out" || name == "-o" || name == "--hec-host" || name == "--hec-source" || name == "--hec-index";
    case Command::kVerify:
    case Command::kNone: return false;
  }
  return false;
}

bool allowed_anywhere(std::string_view name) {
  for (Command c : {Command::kVerify, Command::kDump, Command::kStats, Command::kReplay, Command::kExport})
    if (allowed(c, name)) return true;
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

std::optional<SeqOrTime> parse_seq_or_time_arg(std::string_view text) {
  if (auto seq = parse_seq_arg(text)) return SeqOrTime{seq, std::nullopt};
  if (auto t = parse_rfc3339(text)) return SeqOrTime{std::nullopt, t};
  return std::nullopt;
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
    if (!allowed_anywhere(name)) {
      error = "unknown option " + name;
      return ParseStatus::kError;
    }
    if (name == "--help" || name == "-h") help = true;
  }
  if (help) return ParseStatus::kHelp;
  if (out.command == Command::kNone) {
    error = "missing command (verify, dump, stats, replay or export)";
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
      auto v = parse_seq_or_time_arg(value);
      if (!v) {
        error = name + " wants a sequence number or an RFC 3339 time (2026-03-03T00:00:00Z), got '" + value + "'";
        return ParseStatus::kError;
      }
      if (v->seq) (name == "--from" ? out.from_seq : out.to_seq) = *v->seq;
      if (v->time_ns) (name == "--from" ? out.from_time_ns : out.to_time_ns) = *v->time_ns;
    } else if (name == "--from-time" || name == "--to-time") {
      auto v = parse_time_arg(value);
      if (!v) {
        error = name + " wants an RFC 3339 time (2026-03-03T00:00:00Z) or unix seconds, got '" + value + "'";
        return ParseStatus::kError;
      }
      (name == "--from-time" ? out.from_time_ns : out.to_time_ns) = *v;
    } else if (name == "--json") {
      out.json = true;
    } else if (name == "--out" || name == "-o") {
      if (value.empty()) {
        error = "empty " + name;
        return ParseStatus::kError;
      }
      out.out_path = value;
    } else if (name == "--format") {
      if (!admin::audit_format_from_name(value)) {
        error = "--format wants jsonl, csv, cef or splunk, got '" + value + "'";
        return ParseStatus::kError;
      }
      out.format = value;
    } else if (name == "--hec-host") {
      out.hec_host = value;
    } else if (name == "--hec-source") {
      out.hec_source = value;
    } else if (name == "--hec-index") {
      out.hec_index = value;
    }
  }
  if (out.command == Command::kExport && out.format.empty()) {
    error = "export needs --format (jsonl, csv, cef or splunk)";
    return ParseStatus::kError;
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
      return "usage: pilot-log dump [--data-dir DIR] [--from SEQ|TIME] [--to SEQ|TIME]\n"
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
             "                       (an RFC 3339 time there means --from-time / --to-time)\n"
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
    case Command::kReplay:
      return "usage: pilot-log replay [--data-dir DIR] [--to SEQ|TIME] [--out FILE.db]\n"
             "\n"
             "Rebuilds the rendezvous state as of a point in the log: folds every record\n"
             "from the start of the log up to and including --to, exactly as the server\n"
             "applies them (nodes, networks, trust, settings and the audit view). Without\n"
             "--out it prints the state as sorted text, one fact per line; with --out it\n"
             "writes a SQLite snapshot that the server and `load_snapshot` read. When the\n"
             "log's early segments are gone, it starts from DIR/snapshot.db if that is at or\n"
             "before the target, and says so on stderr. Progress goes to stderr (a\n"
             "percentage on a terminal, else one summary line). Exits 0, or 1 when the log\n"
             "is damaged before the target (the FAIL line, as verify prints it, goes to\n"
             "stderr) or the target cannot be reached.\n"
             "\n"
             "options:\n"
             "  --to SEQ|TIME        last record to apply: a sequence number, or an RFC 3339\n"
             "                       time (the fold stops before the first record later\n"
             "                       than it); default: the end of the log\n"
             "  --to-time T          the same as --to TIME; T may also be unix seconds\n"
             "  -o, --out FILE.db    write a SQLite snapshot instead of printing\n" +
             common;
    case Command::kExport:
      return "usage: pilot-log export --format jsonl|csv|cef|splunk [--data-dir DIR]\n"
             "                        [--from SEQ|TIME] [--to SEQ|TIME] [--out FILE]\n"
             "\n"
             "Writes the audit trail (spec §12: action, network, node, details, RFC 3339\n"
             "time, hash chain) of the records in the range, one record per line:\n"
             "  jsonl   {\"seq\",\"timestamp\",\"action\",\"network_id\",\"node_id\",\"details\",\n"
             "           \"prev_hash\",\"hash\"}\n"
             "  csv     the same columns, RFC 4180, with a header row, CRLF line ends\n"
             "  cef     CEF:0|Pilot|Registry|1.0|<action>|<action>|<severity>|dvc=... msg=...\n"
             "  splunk  Splunk HEC event JSON: {\"time\",\"host\",\"source\",\"sourcetype\",\n"
             "           \"index\"?,\"event\":{\"action\",\"network_id\",\"node_id\",\"details\"}}\n"
             "The audit view is folded from the start of the log (hashes chain across the\n"
             "whole history), so the whole log up to --to is read. Progress and the exit\n"
             "status are as for replay.\n"
             "\n"
             "options:\n"
             "  --format F           jsonl, csv, cef or splunk (required)\n"
             "  --from SEQ|TIME      first record (inclusive): a sequence number or an RFC 3339 time\n"
             "  --to SEQ|TIME        last record (inclusive)\n"
             "  --from-time T        only records at or after T (RFC 3339 or unix seconds)\n"
             "  --to-time T          only records at or before T\n"
             "  -o, --out FILE       write to FILE instead of stdout\n"
             "  --hec-host H         splunk: the \"host\" field (default: this machine's hostname)\n"
             "  --hec-source S       splunk: the \"source\" field (default: pilot-registry)\n"
             "  --hec-index I        splunk: the \"index\" field (default: none)\n" +
             common;
    case Command::kNone: break;
  }
  return "usage: pilot-log <command> [--data-dir DIR] [options]\n"
         "\n"
         "Offline tool for a Pilot rendezvous data directory (reads DIR/log and\n"
         "DIR/snapshot.db, never writes to DIR).\n"
         "\n"
         "commands:\n"
         "  verify   check every record, the hash chain and segment continuity\n"
         "  dump     print events as JSON lines, optionally filtered by seq or time\n"
         "  stats    counts per event kind, terms, sizes and the state of the tail\n"
         "  replay   rebuild the state as of a sequence number or time (text or SQLite)\n"
         "  export   the audit trail as JSON lines, CSV, syslog CEF or Splunk HEC events\n"
         "\n"
         "options:\n" +
         common +
         "\n"
         "`pilot-log <command> --help` describes each command. Exit status: 0 ok,\n"
         "1 damaged log or I/O error, 2 usage error.\n";
}

}  // namespace pilot::logtool
