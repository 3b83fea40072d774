// Where an end-to-end bench puts its servers' data directories: a fresh directory under
// --dir (or $TMPDIR, or /tmp), never in memory unless asked, since fdatasync is free
// there and every durable figure would lie; and how to describe where that is.
#pragma once

#include <string>

namespace pilot::bench {

bool in_memory_fs(const std::string& path);  // tmpfs or ramfs
// "ext4 /dev/vda on /" from /proc/self/mounts (the longest mount point above `path`).
std::string mount_of(const std::string& path);

// Creates `<base>/pilot-bench-XXXXXX` and returns its absolute path in `dir`. An empty
// `base` means $TMPDIR or /tmp, or the current directory when that is in memory (then
// `note` says so). `command` names the bench in the error message.
bool make_bench_dir(const std::string& base, const char* command, std::string& dir, std::string& note);

}  // namespace pilot::bench
