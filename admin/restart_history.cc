#include "admin/restart_history.h"

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/logging.h"
#include "core/time_format.h"
#include "log/file_util.h"

namespace pilot::admin {

namespace {
constexpr size_t kKeep = 50;
}

std::vector<RestartEntry> record_start(const std::string& data_dir, int64_t now_ns) {
  const std::string path = data_dir + "/restarts.json", marker = data_dir + "/running";
  std::vector<RestartEntry> out;
  std::ifstream in(path);
  if (in) {
    std::stringstream s;
    s << in.rdbuf();
    auto j = nlohmann::json::parse(s.str(), nullptr, false);
    if (j.is_array())
      for (const auto& e : j)
        if (e.is_object() && e.value("started_at", "").size())
          out.push_back({e.value("started_at", ""), e.value("previous_stop", "")});
  }
  const bool first = out.empty() && ::access(marker.c_str(), F_OK) != 0;
  const bool unclean = ::access(marker.c_str(), F_OK) == 0;
  out.push_back({format_rfc3339(now_ns), first ? "first start" : unclean ? "unclean" : "clean"});
  if (out.size() > kKeep) out.erase(out.begin(), out.end() - kKeep);
  nlohmann::json j = nlohmann::json::array();
  for (const auto& e : out) j.push_back({{"started_at", e.started_at}, {"previous_stop", e.previous_stop}});
  std::string error;
  if (!log::write_file_atomic(path, j.dump(1) + "\n", error) || !log::write_file_atomic(marker, "", error))
    LOG_WARN("restart history: %s", error.c_str());
  if (unclean) LOG_WARN("the previous run did not stop cleanly (crash or kill); the log was recovered");
  return out;
}

void record_clean_stop(const std::string& data_dir) { ::unlink((data_dir + "/running").c_str()); }

}  // namespace pilot::admin
