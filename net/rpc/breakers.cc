#include "net/rpc/breakers.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/logging.h"
#include "core/time_format.h"
#include "log/file_util.h"

namespace pilot::rpc {

std::string_view breaker_state_name(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed: return "closed";
    case BreakerState::kHalfOpen: return "half_open";
    case BreakerState::kOpen: return "open";
  }
  return "closed";
}

std::optional<BreakerState> parse_breaker_state(std::string_view s) {
  std::string v(s);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v.empty() || v == "closed") return BreakerState::kClosed;
  if (v == "half_open" || v == "half-open" || v == "halfopen") return BreakerState::kHalfOpen;
  if (v == "open") return BreakerState::kOpen;
  return std::nullopt;
}

bool Breakers::valid_name(std::string_view name) {
  return !name.empty() && name.size() <= 128 && name.find('/') == std::string_view::npos;
}

Breakers::Breakers(std::string path) : path_(std::move(path)) {}

namespace {

int64_t mtime_ns(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

}  // namespace

std::optional<std::map<std::string, BreakerInfo, std::less<>>> Breakers::parse(std::string_view text,
                                                                               std::string& error) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    error = "not a JSON object";
    return std::nullopt;
  }
  std::map<std::string, BreakerInfo, std::less<>> out;
  for (auto& [name, v] : doc.items()) {
    std::optional<BreakerState> st;
    if (v.is_object() && v.contains("state") && v["state"].is_string())
      st = parse_breaker_state(v["state"].get<std::string>());
    if (!valid_name(name) || !st) {
      error = "breaker \"" + name + "\": needs a name without '/' and a state closed, half_open or open";
      return std::nullopt;
    }
    BreakerInfo b;
    b.name = name;
    b.state = *st;
    if (v.contains("reason") && v["reason"].is_string()) b.reason = v["reason"].get<std::string>();
    if (v.contains("updated_at") && v["updated_at"].is_string()) b.updated_at = v["updated_at"].get<std::string>();
    out.emplace(name, std::move(b));
  }
  return out;
}

std::string Breakers::reload() {
  if (path_.empty()) return "";
  const int64_t mtime = mtime_ns(path_);
  std::lock_guard lk(mu_);
  if (mtime == file_mtime_ns_) return "";
  file_mtime_ns_ = mtime;
  std::map<std::string, BreakerInfo, std::less<>> next;
  if (mtime >= 0) {
    std::ifstream in(path_);
    std::stringstream text;
    text << in.rdbuf();
    std::string error;
    auto parsed = parse(text.str(), error);
    if (parsed) next = std::move(*parsed);
    if (!error.empty()) {
      error = path_ + ": " + error + " (breakers unchanged)";
      LOG_ERROR("breakers: %s", error.c_str());
      return error;
    }
  }
  // Counters are per process: they survive a reload of the same name.
  for (auto& [name, b] : next) {
    if (auto it = by_name_.find(name); it != by_name_.end()) {
      b.allowed_total = it->second.allowed_total;
      b.denied_total = it->second.denied_total;
      b.last_denied_unix = it->second.last_denied_unix;
    }
    if (b.state != BreakerState::kClosed)
      LOG_WARN("breaker %s is %s%s%s", name.c_str(), std::string(breaker_state_name(b.state)).c_str(),
               b.reason.empty() ? "" : ": ", b.reason.c_str());
  }
  by_name_.swap(next);
  any_.store(!by_name_.empty(), std::memory_order_relaxed);
  return "";
}

std::optional<std::string> Breakers::deny(std::string_view name) {
  if (!any_.load(std::memory_order_relaxed)) return std::nullopt;
  std::lock_guard lk(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  BreakerInfo& b = it->second;
  if (b.state != BreakerState::kOpen) {
    ++b.allowed_total;
    if (b.state == BreakerState::kHalfOpen) LOG_DEBUG("breaker %s is half open: allowing", b.name.c_str());
    return std::nullopt;
  }
  ++b.denied_total;
  b.last_denied_unix =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return "service unavailable: breaker \"" + b.name + "\" is open (" + b.reason + ")";
}

std::string Breakers::save_locked() const {
  if (path_.empty()) return "";
  nlohmann::json doc = nlohmann::json::object();
  for (const auto& [name, b] : by_name_) {
    nlohmann::json v = {{"state", breaker_state_name(b.state)}, {"reason", b.reason}};
    if (!b.updated_at.empty()) v["updated_at"] = b.updated_at;
    doc[name] = std::move(v);
  }
  std::string error;
  if (!log::write_file_atomic(path_, doc.dump(2) + "\n", error)) return error;
  return "";
}

std::string Breakers::set(const std::string& name, BreakerState state, const std::string& reason, int64_t now_unix) {
  if (!valid_name(name)) return "invalid breaker name";
  std::lock_guard lk(mu_);
  BreakerInfo& b = by_name_[name];
  b.name = name;
  b.state = state;
  b.reason = reason;
  b.updated_at = format_rfc3339(now_unix * 1000000000);
  any_.store(true, std::memory_order_relaxed);
  std::string error = save_locked();
  file_mtime_ns_ = mtime_ns(path_);  // our own write is not a change to reload
  LOG_WARN("breaker %s set to %s by an operator%s%s", name.c_str(), std::string(breaker_state_name(state)).c_str(),
           reason.empty() ? "" : ": ", reason.c_str());
  return error;
}

std::string Breakers::remove(const std::string& name) {
  if (!valid_name(name)) return "invalid breaker name";
  std::lock_guard lk(mu_);
  by_name_.erase(name);
  any_.store(!by_name_.empty(), std::memory_order_relaxed);
  std::string error = save_locked();
  file_mtime_ns_ = mtime_ns(path_);
  LOG_INFO("breaker %s removed by an operator (closed)", name.c_str());
  return error;
}

std::vector<BreakerInfo> Breakers::list() const {
  std::lock_guard lk(mu_);
  std::vector<BreakerInfo> out;
  out.reserve(by_name_.size());
  for (const auto& [name, b] : by_name_) out.push_back(b);
  return out;
}

}  // namespace pilot::rpc
