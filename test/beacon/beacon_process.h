// Test helpers for the real `beacon` binary: the beacon process with its listen
// address and its periodic "beacon: stats key=value …" lines parsed (the UDP client
// is in udp_client.h).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "net/beacon/endpoint.h"
#include "test/beacon/udp_client.h"
#include "test/support/process.h"

namespace pilot::beacon::testing {

using namespace std::chrono_literals;

inline bool sanitizer_build() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return true;
#endif
#endif
  return std::getenv("ASAN_OPTIONS") || std::getenv("TSAN_OPTIONS");
}

class BeaconProcess {
 public:
  explicit BeaconProcess(std::vector<std::string> args) : proc_(BEACON_BIN, args) {
    const std::string marker = "beacon: listening on ";
    if (!proc_.wait_for_output(marker, 20s)) return;
    const std::string& out = proc_.output();
    size_t at = out.find(marker) + marker.size();
    listen_ = out.substr(at, out.find(' ', at) - at);
  }
  ~BeaconProcess() {
    if (!stopped_) stop();
    // A sanitizer build of the beacon reports races and leaks on its stderr.
    if (proc_.output().find("Sanitizer") != std::string::npos) ADD_FAILURE() << proc_.output();
  }

  bool started() const { return !listen_.empty(); }
  const std::string& listen_text() const { return listen_; }
  uint16_t port() const { return static_cast<uint16_t>(std::stoi(listen_.substr(listen_.rfind(':') + 1))); }
  // The address to send to: the listen address, or `ip` when it listens on a wildcard.
  Endpoint at(const std::string& ip = "127.0.0.1") const {
    auto ep = Endpoint::parse(listen_);
    if (ep && ep->ip != IpBytes{} && ep->ip != Endpoint::v4(0, 0, 0, 0, 0).ip) return *ep;
    return *Endpoint::parse((ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(port()));
  }
  pid_t pid() const { return proc_.pid(); }
  const std::string& output() {
    proc_.pump(0);
    return proc_.output();
  }
  // Reads output until it contains `text` (true) or the timeout/EOF (false).
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout) {
    return proc_.wait_for_output(text, timeout);
  }

  // The last "beacon: stats" line as key → value.
  std::map<std::string, uint64_t> last_stats() {
    while (proc_.pump(0)) {
    }
    const std::string& out = proc_.output();
    size_t at = out.rfind("beacon: stats ");
    std::map<std::string, uint64_t> kv;
    if (at == std::string::npos) return kv;
    std::string line = out.substr(at, out.find('\n', at) - at);
    size_t pos = 0;
    while ((pos = line.find('=', pos)) != std::string::npos) {
      size_t k = line.rfind(' ', pos) + 1;
      kv[line.substr(k, pos - k)] = std::stoull(line.substr(pos + 1));
      ++pos;
    }
    return kv;
  }
  // Waits until a stats line satisfies `pred`; returns the last one seen.
  template <class Pred>
  std::map<std::string, uint64_t> wait_stats(Pred pred, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::map<std::string, uint64_t> s;
    while (std::chrono::steady_clock::now() < deadline) {
      proc_.pump(50);
      s = last_stats();
      if (!s.empty() && pred(s)) break;
    }
    return s;
  }

  long rss_kib() const {
    std::ifstream in("/proc/" + std::to_string(proc_.pid()) + "/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
    return -1;
  }

  // SIGTERM and wait: the exit status (as waitpid), -1 on timeout.
  int stop() {
    stopped_ = true;
    proc_.signal(SIGTERM);
    return proc_.wait_exit(20s);
  }

 private:
  testsupport::Process proc_;
  std::string listen_;
  bool stopped_ = false;
};

}  // namespace pilot::beacon::testing
