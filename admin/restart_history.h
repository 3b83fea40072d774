// Restart history for the dashboard: `<data-dir>/restarts.json` keeps the last 50
// starts, each with how the previous run ended. A `<data-dir>/running` marker exists
// while the server runs; finding it at start means the previous run did not stop
// cleanly (crash, kill -9, power cut).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pilot::admin {

struct RestartEntry {
  std::string started_at;     // RFC3339
  std::string previous_stop;  // "clean", "unclean" or "first start"
};

// At start-up: records this start, creates the marker. Returns the history (oldest
// first) including this start. Errors are logged, never fatal.
std::vector<RestartEntry> record_start(const std::string& data_dir, int64_t now_unix_ns);
// At a clean stop: removes the marker.
void record_clean_stop(const std::string& data_dir);

}  // namespace pilot::admin
