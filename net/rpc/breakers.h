// Circuit breakers (spec §15): named operator kill-switches, not automatic ones.
//
// A breaker is `closed` (allow), `half_open` (allow, with a warning in the log) or
// `open` (deny with the operator's reason). Names nobody configured are closed. The
// registry consults one per op family (the op table's breaker column), the embedded
// beacon one per message kind, the admin HTTP side two for its public routes.
//
// The source of truth is `<data-dir>/breakers.json`, a JSON object
// {"<name>": {"state": "open", "reason": "…", "updated_at": "RFC3339"}, …}: an operator
// may edit it by hand (reload() picks the change up; the host polls every 2 s) or set
// breakers over HTTP (set()/remove() rewrite it atomically).
//
// Breakers are operator configuration, not registry state: they are not events in the
// log, so a follower keeps its own file and a replayed log says nothing about them.
//
// Thread-safe: the loop thread checks, HTTP threads set. With nothing configured a
// check is one relaxed atomic load (the common case costs the hot path nothing).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::rpc {

enum class BreakerState { kClosed, kHalfOpen, kOpen };
std::string_view breaker_state_name(BreakerState s);  // closed | half_open | open
// closed, half_open (also half-open, halfopen), open; "" = closed. Case-insensitive.
std::optional<BreakerState> parse_breaker_state(std::string_view s);

struct BreakerInfo {
  std::string name;
  BreakerState state = BreakerState::kClosed;
  std::string reason;
  std::string updated_at;  // RFC3339, "" if unknown
  uint64_t allowed_total = 0;
  uint64_t denied_total = 0;
  int64_t last_denied_unix = 0;  // 0 = never
};

class Breakers {
 public:
  // `path` "" = in memory only (tests, the fixture binary).
  explicit Breakers(std::string path = "");

  // Reads the file if it changed since the last read. A file that does not parse
  // keeps the breakers as they were; the error is returned (and not repeated until
  // the file changes again). Returns "" when nothing went wrong.
  std::string reload();

  // nullopt = allowed; else the error text for the denied request:
  //   service unavailable: breaker "<name>" is open (<reason>)
  std::optional<std::string> deny(std::string_view name);
  bool allows(std::string_view name) { return !deny(name); }

  // Operator changes; both rewrite the file. "" on success, else why not.
  std::string set(const std::string& name, BreakerState state, const std::string& reason, int64_t now_unix);
  std::string remove(const std::string& name);

  // Configured breakers, sorted by name.
  std::vector<BreakerInfo> list() const;

  // The file's text → breakers by name (counters zero). nullopt + `error` if any entry
  // is bad: the whole file is refused (fail closed, like the whitelist).
  static std::optional<std::map<std::string, BreakerInfo, std::less<>>> parse(std::string_view text,
                                                                              std::string& error);

  // A name the routes accept: non-empty, no '/', at most 128 bytes.
  static bool valid_name(std::string_view name);

 private:
  std::string save_locked() const;

  std::string path_;
  mutable std::mutex mu_;
  std::map<std::string, BreakerInfo, std::less<>> by_name_;
  std::atomic<bool> any_{false};  // something is configured: checks take the lock
  int64_t file_mtime_ns_ = -1;
  std::string last_error_;
};

}  // namespace pilot::rpc
