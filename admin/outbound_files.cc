#include "admin/outbound_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <deque>

#include "log/file_util.h"

namespace pilot::admin {

namespace {

using json = nlohmann::json;

// A cursor is a few hundred bytes; anything much larger was not written by us.
constexpr size_t kMaxCursorBytes = 64 * 1024;

}  // namespace

std::string encode_cursor(const OutboundCursor& c) {
  return json{{"target", c.target}, {"seq", c.seq}, {"ordinal", c.ordinal}}.dump() + "\n";
}

std::optional<OutboundCursor> decode_cursor(std::string_view bytes) {
  if (bytes.size() > kMaxCursorBytes) return std::nullopt;
  json j = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto t = j.find("target");
  auto s = j.find("seq");
  auto o = j.find("ordinal");
  if (t == j.end() || !t->is_string() || s == j.end() || !s->is_number_unsigned() || o == j.end() ||
      !o->is_number_unsigned())
    return std::nullopt;
  OutboundCursor c;
  c.target = t->get<std::string>();
  c.seq = s->get<uint64_t>();
  c.ordinal = o->get<uint64_t>();
  return c;
}

std::optional<OutboundCursor> load_cursor(const std::string& path, std::string& problem) {
  problem.clear();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) problem = std::string("cannot stat: ") + std::strerror(errno);
    return std::nullopt;
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxCursorBytes) {
    problem = "too large to be a cursor";
    return std::nullopt;
  }
  std::string bytes;
  if (!log::read_file_from(path, 0, bytes)) {
    problem = "cannot read";
    return std::nullopt;
  }
  auto c = decode_cursor(bytes);
  if (!c) problem = "does not decode";
  return c;
}

bool save_cursor(const std::string& path, const OutboundCursor& c, std::string& error) {
  return log::write_file_atomic(path, encode_cursor(c), error);
}

bool valid_dead_letter(const json& j) {
  if (!j.is_object()) return false;
  for (const auto& [k, v] : j.items()) {
    if (k == "event_id") {
      if (!v.is_number_unsigned()) return false;
    } else if (k == "action" || k == "timestamp") {
      if (!v.is_string()) return false;
    } else if (k == "details") {
      if (!v.is_object()) return false;
    } else {
      return false;
    }
  }
  return j.contains("event_id") && j.contains("action") && j.contains("timestamp");
}

std::string encode_dead_letters(const std::vector<json>& letters) {
  std::string out;
  for (const json& j : letters) {
    out += j.dump(-1, ' ', false, json::error_handler_t::replace);
    out += '\n';
  }
  return out;
}

std::vector<json> decode_dead_letters(std::string_view bytes, size_t keep, size_t& skipped) {
  skipped = 0;
  std::deque<json> kept;
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    std::string_view line = bytes.substr(0, nl);
    bytes = nl == std::string_view::npos ? std::string_view() : bytes.substr(nl + 1);
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!valid_dead_letter(j)) {
      ++skipped;
      continue;
    }
    kept.push_back(std::move(j));
    if (kept.size() > keep) kept.pop_front();
  }
  return {std::make_move_iterator(kept.begin()), std::make_move_iterator(kept.end())};
}

}  // namespace pilot::admin
