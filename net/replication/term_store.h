// The terms a node must remember across restarts (ARCHITECTURE.md §5: promotion
// increments the term), in `<data-dir>/term`:
//
//   term 3           the highest term this node has seen — its own promotions, a
//                    leader's welcome or rewind, a newer leader's fencing hello.
//                    A follower says it in its hello and follows no leader below it.
//   leader-term 3    the term this node last became leader in (`rendezvous promote`);
//                    0 if it never was promoted. Records it appends carry
//                    max(this, the log's last term).
//
// Why a file and not only the records' terms: a node promoted at seq N must refuse a
// lower-term leader and answer with its new term even before it has appended anything,
// and a stale leader must stay fenced after a restart (term > the term it leads in:
// the host starts it refusing writes). The file is small and rewritten atomically
// (write, fsync, rename, fsync dir) whenever a value rises; it never goes down.
// A missing file means both are 0 — a node that never took part in a promotion.
//
// Loop thread only (the host owns it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pilot::repl {

struct Terms {
  uint64_t seen = 0;    // "term"
  uint64_t leader = 0;  // "leader-term" (<= seen)
  bool operator==(const Terms&) const = default;
};

// The file's text. parse: nullopt (and why) unless it is exactly the lines "term N"
// and "leader-term N" (either order, each once, decimal, leader-term <= term).
std::string format_terms(const Terms& t);
std::optional<Terms> parse_terms(std::string_view text, std::string& why);

class TermStore {
 public:
  static constexpr const char* kFileName = "term";

  explicit TermStore(std::string data_dir);

  // Reads the file; a missing one is {0, 0}. False + error if it is unreadable or
  // malformed (the host refuses to start: guessing a term could fork the log).
  bool load(std::string& error);
  const Terms& terms() const { return terms_; }
  uint64_t seen() const { return terms_.seen; }
  uint64_t leader() const { return terms_.leader; }

  // Raises `seen` to `term` and persists it, if higher. False + error if the file
  // cannot be written (the value in memory is not raised then).
  bool observe(uint64_t term, std::string& error);
  // This node leads `term` from now on (> seen): both values become `term`, persisted
  // before the caller accepts a write.
  bool become_leader(uint64_t term, std::string& error);
  const std::string& path() const { return path_; }

 private:
  bool save(const Terms& t, std::string& error);
  std::string path_;
  Terms terms_;
};

}  // namespace pilot::repl
