#include "log/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pilot::log {

bool read_file_from(const std::string& path, uint64_t offset, std::string& out) {
  out.clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) < offset) {
    ::close(fd);
    return false;
  }
  out.resize(static_cast<size_t>(st.st_size) - offset);
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  ::close(fd);
  return true;
}

bool pwrite_all(int fd, std::string_view b, uint64_t offset) {
  while (!b.empty()) {
    ssize_t n = ::pwrite(fd, b.data(), b.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    b.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

bool fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

bool reset_tail(const std::string& path, uint64_t offset, uint64_t size, std::string& error) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  bool ok = ::ftruncate(fd, static_cast<off_t>(offset)) == 0;
  // Preallocation is an optimisation; filesystems without fallocate still work.
  if (ok && size > offset) (void)::posix_fallocate(fd, 0, static_cast<off_t>(size));
  ok = ok && ::fdatasync(fd) == 0;
  if (!ok) error = "cannot truncate " + path + ": " + std::strerror(errno);
  ::close(fd);
  return ok;
}

bool ensure_dir(const std::string& dir, std::string& error) {
  std::string partial;
  size_t i = 0;
  while (i != std::string::npos) {
    i = dir.find('/', i + 1);
    partial = dir.substr(0, i);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0750) == 0) {
      fsync_dir(dirname_of(partial));  // the new entry must survive a power cut too
    } else if (errno != EEXIST) {
      error = "cannot create directory " + partial + ": " + std::strerror(errno);
      return false;
    }
  }
  return true;
}

std::string dirname_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool write_file_atomic(const std::string& path, std::string_view bytes, std::string& error, unsigned mode) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // a leftover from a crash may have another mode
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    error = "cannot create " + tmp + ": " + std::strerror(errno);
    return false;
  }
  bool ok = pwrite_all(fd, bytes, 0) && ::fsync(fd) == 0;
  if (!ok) error = "cannot write " + tmp + ": " + std::strerror(errno);
  ::close(fd);
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
    ok = false;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    return false;
  }
  (void)fsync_dir(dirname_of(path));
  return true;
}

}  // namespace pilot::log
