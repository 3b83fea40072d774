// The real `rendezvous` binary as a registry for integration tests: its own data
// directory, an ephemeral loopback port (parsed from the "registry: listening on"
// line), the embedded beacon on an ephemeral loopback UDP port too (tests run side by
// side: none may take the fixed :9001), the per-IP rate limiter off unless a test
// wants it, and helpers to stop it (SIGTERM or kill -9) and start it again on the
// same directory.
//
// A background thread keeps reading the child's output so a server that logs a lot
// (10,000 connections) never blocks on a full pipe.
#pragma once

#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "net/rpc/client.h"
#include "test/support/process.h"
#include "test/support/temp_dir.h"

namespace pilot::testsupport {

struct RegistryOptions {
  std::vector<std::string> args;  // extra flags, e.g. {"--admin-token", "t"}
  bool no_rate_limit = true;      // PILOT_REGISTRY_NORATELIMIT=1
  Process::EnvChanges env;        // applied after the defaults
  std::chrono::milliseconds start_timeout{20000};
};

// RegistryOptions with just extra flags (designated initialisers would trip
// -Wmissing-field-initializers).
inline RegistryOptions with_flags(std::vector<std::string> args) {
  RegistryOptions o;
  o.args = std::move(args);
  return o;
}

class Registry {
 public:
  explicit Registry(RegistryOptions opts = {}) : owned_dir_(std::make_unique<TempDir>()), opts_(std::move(opts)) {
    dir_ = owned_dir_->path();
    start();
  }
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry() { stop_process(); }

  uint16_t port() const { return port_; }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& data_dir() const { return dir_; }

  rpc::Client client(rpc::Mode mode = rpc::Mode::kJson, rpc::ClientOptions o = {}) const {
    return rpc::Client::connect(addr(), mode, o);
  }

  pid_t pid() {
    std::lock_guard l(mu_);
    return proc_ ? proc_->pid() : -1;
  }
  // The embedded beacon's UDP port, from "beacon: listening on 127.0.0.1:<port>" (it is
  // logged before the registry listens); 0 if the beacon does not run there.
  uint16_t beacon_port() {
    const std::string out = output();
    const std::string marker = "beacon: listening on 127.0.0.1:";
    size_t at = out.find(marker);
    if (at == std::string::npos) return 0;
    at += marker.size();
    return static_cast<uint16_t>(std::stoul(out.substr(at, out.find_first_not_of("0123456789", at) - at)));
  }

  // The admin HTTP port, from "admin: listening on 127.0.0.1:<port>" (logged right
  // after the registry's line); 0 if the admin server does not run there.
  uint16_t http_port(std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    const std::string marker = "admin: listening on 127.0.0.1:";
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      const std::string out = output();
      size_t at = out.find(marker);
      if (at != std::string::npos) {
        at += marker.size();
        size_t end = out.find_first_not_of("0123456789", at);
        if (end != std::string::npos && end > at) return static_cast<uint16_t>(std::stoul(out.substr(at, end - at)));
      }
      if (std::chrono::steady_clock::now() > deadline) return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // Everything the server has printed so far.
  std::string output() {
    std::lock_guard l(mu_);
    return proc_ ? proc_->output() : last_output_;
  }
  // Reads the server's output until it contains `text` (true) or the timeout (false).
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout) {
    std::lock_guard l(mu_);
    if (!proc_) return last_output_.find(text) != std::string::npos;
    return proc_->wait_for_output(text, timeout);
  }

  // SIGTERM and wait; returns the wait status (-1 if it did not exit in time).
  int terminate(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    stop_drain();
    if (!proc_) return -1;
    proc_->signal(SIGTERM);
    int st = proc_->wait_exit(timeout);
    last_output_ = proc_->output();
    proc_.reset();
    return st;
  }
  // kill -9: no shutdown path runs.
  void kill9() {
    stop_drain();
    if (!proc_) return;
    proc_->signal(SIGKILL);
    proc_->wait_exit(std::chrono::seconds(10));
    last_output_ = proc_->output();
    proc_.reset();
  }
  // Starts again on the same data directory with the same flags (new port).
  void restart() {
    if (proc_) terminate();
    start();
  }

 private:
  // "--name", "-name", "--name=v" or "-name=v" among `args`.
  static bool has_flag(const std::vector<std::string>& args, const std::string& name) {
    for (const auto& a : args) {
      size_t dashes = a.find_first_not_of('-');
      if (dashes == 0 || dashes == std::string::npos) continue;
      std::string s = a.substr(dashes);
      if (s == name || s.rfind(name + "=", 0) == 0) return true;
    }
    return false;
  }

  void start() {
    std::vector<std::string> args{"--data-dir", dir_, "--registry-addr", "127.0.0.1:0"};
    if (!has_flag(opts_.args, "fsync")) args.insert(args.end(), {"--fsync", "none"});
    if (!has_flag(opts_.args, "beacon-addr") && !has_flag(opts_.args, "beacon"))
      args.insert(args.end(), {"--beacon-addr", "127.0.0.1:0"});
    // The registry fixture binary has no admin server and no --http flag.
    const std::string bin = RENDEZVOUS_BIN;
    if (!has_flag(opts_.args, "http") && bin.substr(bin.rfind('/') + 1) == "rendezvous")
      args.insert(args.end(), {"--http", "127.0.0.1:0"});
    args.insert(args.end(), opts_.args.begin(), opts_.args.end());

    // A developer's shell must not change what the tests see.
    Process::EnvChanges env{{"PILOT_REGISTRY_NORATELIMIT", std::nullopt},
                            {"PILOT_ADMIN_TOKEN", std::nullopt},
                            {"PILOT_DATA_DIR", std::nullopt},
                            {"PILOT_FSYNC", std::nullopt},
                            {"PILOT_REPL_TOKEN", std::nullopt},
                            {"RENDEZVOUS_STRICT_DIRECTORY_AUTH", std::nullopt},
                            {"RENDEZVOUS_STRICT_REGISTRATION_AUTH", std::nullopt},
                            {"RENDEZVOUS_STRICT_HEARTBEAT_FRESHNESS", std::nullopt},
                            {"RENDEZVOUS_STRICT_EXPIRY_BINDING", std::nullopt}};
    if (opts_.no_rate_limit) env.push_back({"PILOT_REGISTRY_NORATELIMIT", "1"});
    env.insert(env.end(), opts_.env.begin(), opts_.env.end());
    // Later entries win: drop earlier duplicates so Process sees one change per name.
    Process::EnvChanges dedup;
    for (size_t i = 0; i < env.size(); ++i) {
      bool later = false;
      for (size_t j = i + 1; j < env.size(); ++j) later = later || env[j].first == env[i].first;
      if (!later) dedup.push_back(env[i]);
    }

    proc_ = std::make_unique<Process>(RENDEZVOUS_BIN, args, dedup);
    const std::string marker = "registry: listening on 127.0.0.1:";
    if (!proc_->wait_for_output(marker, opts_.start_timeout))
      throw std::runtime_error("rendezvous did not start listening:\n" + proc_->output());
    // The port digits run up to the end of the line; wait until the line is complete.
    const auto deadline = std::chrono::steady_clock::now() + opts_.start_timeout;
    for (;;) {
      const std::string& out = proc_->output();
      size_t at = out.find(marker) + marker.size();
      size_t end = out.find_first_not_of("0123456789", at);
      if (end != std::string::npos && end > at) {
        port_ = static_cast<uint16_t>(std::stoul(out.substr(at, end - at)));
        break;
      }
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("no port in the listening line:\n" + out);
      proc_->pump(50);
    }
    stop_ = false;
    drain_ = std::thread([this] {
      while (!stop_) {
        {
          std::lock_guard l(mu_);
          if (proc_) proc_->pump(10);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  }

  void stop_drain() {
    stop_ = true;
    if (drain_.joinable()) drain_.join();
  }
  void stop_process() {
    stop_drain();
    if (proc_) kill9();
  }

  std::unique_ptr<TempDir> owned_dir_;
  std::string dir_;
  RegistryOptions opts_;
  std::unique_ptr<Process> proc_;
  uint16_t port_ = 0;
  std::string last_output_;
  std::mutex mu_;
  std::atomic<bool> stop_{false};
  std::thread drain_;
};

}  // namespace pilot::testsupport
