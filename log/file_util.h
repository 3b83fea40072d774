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

}  // namespace pilot::log
