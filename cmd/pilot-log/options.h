// Command line of pilot-log: `pilot-log <verify|dump|stats|replay|export> [--data-dir DIR] [options]`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::logtool {

enum class Command { kNone, kVerify, kDump, kStats, kReplay, kExport };

struct Options {
  Command command = Command::kNone;
  std::string data_dir;  // --data-dir, else $PILOT_DATA_DIR, else ./pilot-data
  // dump, export: both ranges inclusive; a record is selected when it is inside both.
  // replay: the state after the last record inside both (`--to`).
  uint64_t from_seq = 1;
  uint64_t to_seq = UINT64_MAX;
  std::optional<int64_t> from_time_ns;
  std::optional<int64_t> to_time_ns;
  // stats
  bool json = false;
  // replay, export: where to write (replay: a SQLite snapshot; export: the records);
  // empty = stdout (replay prints the state as text).
  std::string out_path;
  // export
  std::string format;    // jsonl | csv | cef | splunk
  std::string hec_host;  // splunk "host"; empty = this machine's hostname
  std::string hec_source;
  std::string hec_index;

  std::string log_dir() const { return data_dir + "/log"; }
};

enum class ParseStatus {
  kOk,
  kHelp,   // print usage_text(out.command) to stdout, exit 0
  kError,  // print `error` and the usage to stderr, exit 2
};

// `args` excludes argv[0]. `env_data_dir` is $PILOT_DATA_DIR (nullptr if unset).
ParseStatus parse_options(const std::vector<std::string>& args, const char* env_data_dir, Options& out,
                          std::string& error);

// Help for one subcommand, or the overview for Command::kNone.
std::string usage_text(Command command);

// --from-time / --to-time: RFC 3339 (2026-03-03T00:00:00Z, fractions and offsets
// allowed) or unix seconds with an optional fraction (1772496000, 1772496000.25).
std::optional<int64_t> parse_time_arg(std::string_view text);

// Decimal uint64, no sign, no junk.
std::optional<uint64_t> parse_seq_arg(std::string_view text);

// --from / --to: a sequence number (digits only) or an RFC 3339 time.
struct SeqOrTime {
  std::optional<uint64_t> seq;
  std::optional<int64_t> time_ns;
};
std::optional<SeqOrTime> parse_seq_or_time_arg(std::string_view text);

}  // namespace pilot::logtool
