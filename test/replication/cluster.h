// A leader and its followers as real `rendezvous` processes on loopback, built on the
// registry fixture (test/support/registry_fixture.h): a fixed replication port for the
// leader (a restarted leader must come back where its followers look for it), the
// follower flags, and what tests look at from outside — the tip of a data directory's
// log, a process's resident memory.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "log/scanner.h"
#include "test/support/registry_fixture.h"

namespace pilot::repltest {

inline const std::string kReplToken = "repl-t0ken";
inline const std::string kAdminToken = "admin-t0ken";

// A port free right now on 127.0.0.1 (the kernel's pick; a tiny race is acceptable).
inline uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline testsupport::RegistryOptions leader_options(uint16_t repl_port, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--repl-token",  kReplToken,  "--repl-addr",  "127.0.0.1:" + std::to_string(repl_port),
                                "--admin-token", kAdminToken, "--segment-mb", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto o = testsupport::with_flags(args);
  o.env.push_back({"PILOT_REPL_TOKEN", std::nullopt});
  return o;
}

inline testsupport::RegistryOptions follower_options(uint16_t repl_port, std::vector<std::string> extra = {},
                                                     const std::string& token = kReplToken) {
  std::vector<std::string> args{
      "--follow", "127.0.0.1:" + std::to_string(repl_port), "--repl-token", token, "--segment-mb", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto o = testsupport::with_flags(args);
  o.env.push_back({"PILOT_REPL_TOKEN", std::nullopt});
  return o;
}

struct Tip {
  uint64_t seq = 0;
  log::Hash hash{};
  bool operator==(const Tip&) const = default;
};

// The last whole record of a (possibly live) data directory's log.
inline Tip log_tip(const std::string& data_dir) {
  log::Scanner s(data_dir + "/log", 1, /*verify_chain=*/false);
  s.set_live(true);  // a record being written is the end, not damage
  log::Record r;
  while (s.next(r) == log::Scanner::Status::kRecord) {
  }
  return {s.last_seq(), s.last_hash()};
}

inline bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// The follower's log ends where the leader's does (same seq, same hash).
inline bool wait_converged(testsupport::Registry& leader, testsupport::Registry& follower,
                           std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  return wait_for(
      [&] {
        Tip l = log_tip(leader.data_dir());
        return l.seq > 0 && log_tip(follower.data_dir()) == l;
      },
      timeout);
}

// The bytes of records in a (stopped) data directory's log.
inline uint64_t log_bytes_of(const std::string& data_dir) {
  log::Scanner s(data_dir + "/log", 1, /*verify_chain=*/false);
  log::Record r;
  uint64_t n = 0;
  while (s.next(r) == log::Scanner::Status::kRecord) n += log::kRecordHeaderSize + r.payload.size();
  return n;
}

// "(pid N)" from the start-up line.
inline int pid_of(const std::string& output) {
  size_t at = output.rfind("(pid ");
  return at == std::string::npos ? -1 : std::stoi(output.substr(at + 5));
}

inline long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

}  // namespace pilot::repltest
