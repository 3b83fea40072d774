// Small POSIX helpers for the log's files. Every function reports errors by value;
// none throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pilot::log {

bool read_file_from(const std::string& path, uint64_t offset, std::string& out);
bool pwrite_all(int fd, std::string_view bytes, uint64_t offset);
// Makes a new entry in `dir` durable (after create, rename or unlink).
bool fsync_dir(const std::string& dir);
// Cuts `path` at `offset` and preallocates it back to `size` bytes of zeros.
bool reset_tail(const std::string& path, uint64_t offset, uint64_t size, std::string& error);
// mkdir -p for one or two levels.
bool ensure_dir(const std::string& dir, std::string& error);
std::string dirname_of(const std::string& path);
// Replaces `path` with `bytes` so that a crash leaves either the old or the new file:
// write `path`.tmp, fsync, rename over `path`, fsync the directory. Small config files
// (breakers.json, banner.txt, the whitelist) are written this way.
// `mode` applies from creation (secrets are never readable by others, even briefly).
bool write_file_atomic(const std::string& path, std::string_view bytes, std::string& error, unsigned mode = 0644);

}  // namespace pilot::log
