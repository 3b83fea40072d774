#include "cmd/pilot-bench/bench_dir.h"

#include <sys/statfs.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace pilot::bench {

bool in_memory_fs(const std::string& path) {
  struct statfs sf;
  if (::statfs(path.c_str(), &sf) != 0) return false;
  const auto magic = uint64_t(static_cast<unsigned long>(sf.f_type)) & 0xffffffffu;
  return magic == 0x01021994 /* tmpfs */ || magic == 0x858458F6 /* ramfs */;
}

std::string mount_of(const std::string& path) {
  std::error_code ec;
  std::string canon = std::filesystem::weakly_canonical(path, ec).string();
  if (ec) canon = path;
  std::ifstream mounts("/proc/self/mounts");
  std::string dev, mnt, type, rest, best;
  size_t best_len = 0;
  while (mounts >> dev >> mnt >> type && std::getline(mounts, rest)) {
    const bool above = canon.compare(0, mnt.size(), mnt) == 0 &&
                       (mnt == "/" || canon.size() == mnt.size() || canon[mnt.size()] == '/');
    if (above && mnt.size() >= best_len) {
      best_len = mnt.size();
      best = type + " " + dev + " on " + mnt;
    }
  }
  return best.empty() ? "unknown file system" : best;
}

bool make_bench_dir(const std::string& base_in, const char* command, std::string& dir, std::string& note) {
  std::string base = base_in;
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp && *tmp ? tmp : "/tmp";
    if (in_memory_fs(base)) {
      note = base + " is in memory (tmpfs/ramfs); using the current directory instead";
      base = std::filesystem::current_path().string();
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(base, ec);
  std::string tmpl = base + "/pilot-bench-XXXXXX";
  if (!::mkdtemp(tmpl.data())) {
    std::fprintf(stderr, "%s: cannot create a directory under %s: %s\n", command, base.c_str(), std::strerror(errno));
    return false;
  }
  dir = std::filesystem::absolute(tmpl).lexically_normal().string();
  return true;
}

}  // namespace pilot::bench
