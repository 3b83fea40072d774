#include "admin/backups.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <regex>

namespace pilot::admin {

bool is_backup_name(const std::string& name) {
  static const std::regex pattern(R"(^registry-([a-z0-9_-]+-)?[0-9]{8}[T-][0-9]{6}Z?\.json$)");
  return std::regex_match(name, pattern);
}

std::vector<BackupFile> list_backups(const std::string& dir) {
  std::vector<BackupFile> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (!is_backup_name(name)) continue;
    struct stat st;
    if (::stat((dir + "/" + name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    out.push_back({name, uint64_t(st.st_size), int64_t(st.st_mtim.tv_sec)});
  }
  closedir(d);
  std::sort(out.begin(), out.end(), [](const BackupFile& a, const BackupFile& b) {
    return a.mod_unix != b.mod_unix ? a.mod_unix > b.mod_unix : a.name > b.name;
  });
  return out;
}

SweepResult sweep_backups(const std::string& dir, int64_t max_age_s, size_t max_count, int64_t now_unix) {
  SweepResult r;
  const auto files = list_backups(dir);
  for (size_t i = 0; i < files.size(); ++i) {
    const bool too_old = max_age_s > 0 && now_unix - files[i].mod_unix > max_age_s;
    if (!too_old && i < max_count) {
      ++r.kept;
      continue;
    }
    const std::string path = dir + "/" + files[i].name;
    if (::unlink(path.c_str()) == 0 || errno == ENOENT)
      ++r.deleted;
    else
      r.errors.push_back(path + ": " + std::strerror(errno));
  }
  return r;
}

}  // namespace pilot::admin
