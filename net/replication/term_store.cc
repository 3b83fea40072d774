#include "net/replication/term_store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "log/file_util.h"

namespace pilot::repl {
namespace {

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

}  // namespace

std::string format_terms(const Terms& t) {
  return "term " + std::to_string(t.seen) + "\nleader-term " + std::to_string(t.leader) + "\n";
}

std::optional<Terms> parse_terms(std::string_view text, std::string& why) {
  Terms t;
  bool have_seen = false, have_leader = false;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    const size_t sp = line.find(' ');
    const std::string_view key = line.substr(0, sp);
    uint64_t v = 0;
    if (sp == std::string_view::npos || !parse_u64(line.substr(sp + 1), v)) {
      why = "line " + std::to_string(line_no) + " is not \"<key> <decimal number>\"";
      return std::nullopt;
    }
    bool& have = key == "term" ? have_seen : have_leader;
    if ((key != "term" && key != "leader-term") || have) {
      why = "line " + std::to_string(line_no) + ": unknown or repeated key";
      return std::nullopt;
    }
    have = true;
    (key == "term" ? t.seen : t.leader) = v;
  }
  if (!have_seen || !have_leader) {
    why = "want the lines \"term N\" and \"leader-term N\"";
    return std::nullopt;
  }
  if (t.leader > t.seen) {
    why = "leader-term is above term";
    return std::nullopt;
  }
  return t;
}

TermStore::TermStore(std::string data_dir) : path_(std::move(data_dir) + "/" + kFileName) {}

bool TermStore::load(std::string& error) {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0 && errno == ENOENT) {
    terms_ = {};
    return true;
  }
  std::string text;
  if (!log::read_file_from(path_, 0, text)) {
    error = "cannot read " + path_ + ": " + std::strerror(errno);
    return false;
  }
  std::string why;
  auto t = parse_terms(text, why);
  if (!t) {
    error = path_ + ": " + why;
    return false;
  }
  terms_ = *t;
  return true;
}

bool TermStore::save(const Terms& t, std::string& error) {
  if (!log::write_file_atomic(path_, format_terms(t), error)) return false;
  terms_ = t;
  return true;
}

bool TermStore::observe(uint64_t term, std::string& error) {
  if (term <= terms_.seen) return true;
  return save({term, terms_.leader}, error);
}

bool TermStore::become_leader(uint64_t term, std::string& error) {
  if (term <= terms_.seen) {
    error = "term " + std::to_string(term) + " is not above the highest seen (" + std::to_string(terms_.seen) + ")";
    return false;
  }
  return save({term, term}, error);
}

}  // namespace pilot::repl
