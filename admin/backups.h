// The backups directory (spec §8.4): an external job drops registry backups into
// `<data-dir>/backups/`; the server only lists them (/api/admin/backups) and sweeps
// them hourly — deleting those older than --backups-max-age and keeping at most
// --backups-max-count of the newest. Only names matching the reference's pattern
// `registry-[<tag>-]YYYYMMDD[T-]HHMMSS[Z].json` are ever touched.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pilot::admin {

struct BackupFile {
  std::string name;
  uint64_t size_bytes = 0;
  int64_t mod_unix = 0;
};

bool is_backup_name(const std::string& name);

// Matching files, newest first. A missing directory is an empty list.
std::vector<BackupFile> list_backups(const std::string& dir);

struct SweepResult {
  size_t deleted = 0;
  size_t kept = 0;
  std::vector<std::string> errors;
};
// Deletes backups older than max_age_s (relative to now_unix) and all but the
// max_count newest.
SweepResult sweep_backups(const std::string& dir, int64_t max_age_s, size_t max_count, int64_t now_unix);

}  // namespace pilot::admin
