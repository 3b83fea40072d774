// The server under test: the real `rendezvous` binary as a child process, on a data
// directory the bench chose, or the standalone `beacon` (no data directory), with its
// output drained (and the lines the bench needs kept: the ports it listens on,
// background snapshots, warnings, lines waited for).
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cmd/pilot-bench/cpu_time.h"

namespace pilot::bench {

// How to start one server. Always: --data-dir, --registry-addr 127.0.0.1:0, --fsync
// always, --beacon=false (the registry port alone: no UDP port to collide on) and
// PILOT_REGISTRY_NORATELIMIT=1 (the load comes from one IP).
struct ServerArgs {
  std::vector<int> cpus;            // where the server may run (empty = anywhere)
  std::vector<std::string> http;    // e.g. --http 127.0.0.1:0 --admin-token T; empty: --http "" (off)
  std::vector<std::string> extra;   // appended as they are (e.g. replication flags)
  bool wait_repl_listener = false;  // start() also waits for "replication: listening on"
  // The standalone `beacon` instead: `bin -addr 127.0.0.1:0 <extra…>` (no data directory,
  // no registry flags); port() is the UDP port of its "beacon: listening on" line.
  bool beacon = false;
};

class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess() { stop(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server and waits (at most 60 s) until it listens on every port asked for.
  bool start(const std::string& bin, const std::string& data_dir, const ServerArgs& args, std::string& error);

  uint16_t port() const { return port_; }              // registry (the beacon's UDP port with ServerArgs::beacon)
  uint16_t admin_port() const { return admin_port_; }  // 0 without the admin server
  uint16_t repl_port() const { return repl_port_; }    // 0 unless a leader listens for followers
  pid_t pid() const { return pid_; }

  // SIGKILL: the data directory is thrown away, so a clean shutdown (final snapshot of
  // up to 1M nodes) would only cost time.
  void stop();
  bool alive();

  // utime + stime of every thread of the server, in seconds.
  double cpu_seconds() const;
  // A "Vm…:" line of /proc/<pid>/status, in bytes (0 if absent).
  uint64_t status_bytes(const char* field) const;
  // Waits until the server uses under 10% of a core (a background snapshot or a tail of
  // work from the last run would otherwise share the next run's CPU); false on timeout.
  // `quiet_samples` idle 200 ms windows in a row: the server checks every second
  // whether a snapshot is due, so 6 of them cannot miss one that is about to start.
  bool wait_idle(double max_seconds, int quiet_samples = 1);

  size_t snapshots() const;
  // "snapshot: wrote seq N in X s" for the snapshots from `first` on.
  std::vector<std::string> snapshot_lines(size_t first) const;

  // The loop thread is the main thread (tid == pid); the rest are the log writer, the
  // libuv pool (off-loop verifies) and the snapshot thread.
  double loop_cpu_seconds() const;
  Switches switches() const;
  // The two above at nanosecond precision where the kernel allows (else at tick precision).
  double precise_cpu_seconds() const;
  double precise_loop_cpu_seconds() const;

  // When (mono_ns) the server first printed a line containing `needle` since it was
  // started, waiting at most `max_seconds` for it; 0 if it did not.
  int64_t wait_line(const std::string& needle, double max_seconds);

  // The newest line (of the last 4000) containing `needle`; "" if none.
  std::string last_line_with(const std::string& needle) const;

  std::string tail_text(size_t n) const;
  std::vector<std::string> warnings() const;

 private:
  void read_loop();
  void on_line(const std::string& line);
  std::string tail_text_locked(size_t n) const;

  pid_t pid_ = 0;
  int rfd_ = -1;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint16_t port_ = 0, admin_port_ = 0, repl_port_ = 0;
  bool eof_ = false;
  bool beacon_ = false;  // the port comes from "beacon: listening on"
  std::vector<std::string> snapshot_lines_;
  std::deque<std::string> tail_;
  std::vector<std::string> warnings_;
  std::deque<std::pair<std::string, int64_t>> lines_;  // the last lines since start, with their times
};

// `<dir of this binary>/../rendezvous/rendezvous`: where the build tree puts it.
std::string default_server_binary();
// `<dir of this binary>/../beacon/beacon`.
std::string default_beacon_binary();
// 128 random bits in hex: admin and replication tokens of the bench's servers.
std::string random_token();

}  // namespace pilot::bench
