// One host of the virtual-IP failover test (netns_lab.h): a `rendezvous` and a
// keepalived running inside the host's network namespace, with the deployable files
// of deploy/keepalived/ — keepalived.conf.example with its @NAME@ placeholders filled
// in, the check and notify scripts copied unchanged, and the scripts' settings file.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test/replication/netns_lab.h"
#include "test/support/process.h"

namespace pilot::viptest {

inline const std::string kVip = "10.77.0.100";
inline const std::string kAdminToken = "vip-admin-t0ken";
inline const std::string kReplToken = "vip-repl-t0ken";

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_file(const std::string& path, const std::string& text, mode_t mode = 0644) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

// keepalived.conf.example with every @NAME@ replaced; throws if one is left unknown.
inline std::string fill_template(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values) {
    const std::string key = "@" + name + "@";
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
      text.replace(at, key.size(), value);
  }
  std::smatch left;
  if (std::regex_search(text, left, std::regex("@[A-Z_]+@")))
    throw std::runtime_error("keepalived.conf.example has a placeholder the test does not fill: " + left.str());
  return text;
}

// A program inside a namespace (`ip netns exec` execs it: the pid is the program's),
// its output drained by a thread so it never blocks on a full pipe.
class NsProcess {
 public:
  NsProcess(const NetnsLab& lab, const std::string& host, const std::string& bin, std::vector<std::string> args,
            testsupport::Process::EnvChanges env = {}) {
    std::vector<std::string> argv = lab.exec_prefix(host);
    argv.push_back(bin);
    argv.insert(argv.end(), args.begin(), args.end());
    proc_ = std::make_unique<testsupport::Process>(lab.ip_binary(), argv, env);
    drain_ = std::thread([this] {
      while (!stop_) {
        {
          std::lock_guard l(mu_);
          proc_->pump(10);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
  }
  ~NsProcess() { stop(SIGKILL); }
  NsProcess(const NsProcess&) = delete;
  NsProcess& operator=(const NsProcess&) = delete;

  pid_t pid() const { return proc_->pid(); }
  std::string output() {
    std::lock_guard l(mu_);
    return proc_->output();
  }
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (output().find(text) == std::string::npos) {
      if (exited() || std::chrono::steady_clock::now() > deadline) return output().find(text) != std::string::npos;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  // Sends `sig` and waits for the exit; returns the wait status (-1: still running
  // after the timeout, then it gets SIGKILL).
  int stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    stop_ = true;
    if (drain_.joinable()) drain_.join();
    if (done_) return status_;
    proc_->signal(sig);
    status_ = proc_->wait_exit(timeout);
    if (status_ == -1) {
      proc_->signal(SIGKILL);
      proc_->wait_exit(std::chrono::seconds(5));
    }
    done_ = true;
    return status_;
  }

 private:
  bool exited() {
    std::lock_guard l(mu_);
    int st = 0;
    return ::waitpid(proc_->pid(), &st, WNOHANG | WNOWAIT | __WALL) == proc_->pid();
  }

  std::unique_ptr<testsupport::Process> proc_;
  std::mutex mu_;
  std::atomic<bool> stop_{false};
  std::thread drain_;
  bool done_ = false;
  int status_ = -1;
};

// A host: its address, its own directory (data, settings, keepalived state and logs)
// and the two daemons.
class VipHost {
 public:
  VipHost(const NetnsLab& lab, std::string name, std::string ip, std::string dir, std::string script_dir)
      : lab_(lab), name_(std::move(name)), ip_(std::move(ip)), dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_ + "/data");
    std::filesystem::create_directories(dir_ + "/state");
    // The settings pilot-keepalived.env.example documents, for this host.
    write_file(env_file(),
               "PILOT_HTTP=127.0.0.1:3000\n"
               "PILOT_ADMIN_TOKEN=" +
                   kAdminToken + "\nPILOT_RENDEZVOUS=" + RENDEZVOUS_BIN + "\nPILOT_KEEPALIVED_STATE_DIR=" + dir_ +
                   "/state\nPILOT_PROMOTE_MAX_WAIT=30\nPILOT_KEEPALIVED_LOG=" + notify_log() + "\n",
               0600);
    write_file(dir_ + "/keepalived.conf",
               fill_template(read_file(std::string(PILOT_KEEPALIVED_DIR) + "/keepalived.conf.example"),
                             {{"ROUTER_ID", lab.ns(name_)},
                              {"INTERFACE", "eth0"},
                              {"VRID", "77"},
                              {"VIP", kVip + "/24"},
                              {"SCRIPT_DIR", script_dir},
                              {"ENV_FILE", env_file()}}));
  }

  const std::string& name() const { return name_; }
  const std::string& ip() const { return ip_; }
  std::string env_file() const { return dir_ + "/pilot-keepalived.env"; }
  std::string notify_log() const { return dir_ + "/notify.log"; }
  std::string registry_addr() const { return ip_ + ":9000"; }
  NsProcess* rendezvous() { return rendezvous_.get(); }

  // The flags of net/replication/README.md's pair: the registry on every address (so
  // the virtual IP too), the admin side on loopback for the scripts.
  void start_leader(const std::vector<std::string>& extra) { start_rendezvous(extra, "INFO  ready"); }
  void start_follower(const VipHost& leader, const std::vector<std::string>& extra) {
    std::vector<std::string> args = extra;
    args.insert(args.end(), {"--follow", leader.ip() + ":9100"});
    start_rendezvous(args, "caught up with the leader");
  }
  void kill_rendezvous() {
    if (rendezvous_) rendezvous_->stop(SIGKILL);
  }
  int stop_rendezvous() { return rendezvous_ ? rendezvous_->stop(SIGTERM) : -1; }

  void start_keepalived(const std::string& keepalived_bin) {
    keepalived_ = std::make_unique<NsProcess>(
        lab_, name_, keepalived_bin,
        std::vector<std::string>{"--dont-fork", "--log-console", "--log-detail", "--no-syslog", "--vrrp", "--use-file",
                                 dir_ + "/keepalived.conf", "--pid", dir_ + "/keepalived.pid", "--vrrp_pid",
                                 dir_ + "/keepalived-vrrp.pid"});
  }
  void stop_keepalived() {
    if (keepalived_) keepalived_->stop(SIGTERM);
  }

  // keepalived's state as the notify script last recorded it ("" before the first).
  std::string vrrp_state() const {
    std::string s = read_file(dir_ + "/state/state");
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  bool has_vip() const { return netns_has_address(lab_.ns(name_), kVip); }

  // Everything worth reading when a step fails.
  std::string logs() {
    std::string s = "---- host " + name_ + " rendezvous:\n" + (rendezvous_ ? tail(rendezvous_->output()) : "") +
                    "---- host " + name_ + " keepalived:\n" + (keepalived_ ? tail(keepalived_->output()) : "") +
                    "---- host " + name_ + " notify log:\n" + read_file(notify_log());
    return s;
  }

 private:
  static std::string tail(const std::string& s, size_t max = 6000) {
    return s.size() <= max ? s : "..." + s.substr(s.size() - max);
  }

  void start_rendezvous(const std::vector<std::string>& extra, const std::string& ready_line) {
    std::vector<std::string> args{"--data-dir",     dir_ + "/data",  "--registry-addr", ":9000",        "--http",
                                  "127.0.0.1:3000", "--admin-token", kAdminToken,       "--repl-token", kReplToken,
                                  "--repl-addr",    ":9100",         "--beacon=false"};
    args.insert(args.end(), extra.begin(), extra.end());
    if (rendezvous_) rendezvous_->stop(SIGKILL);
    // One client address registers hundreds of nodes: the per-IP limiter would refuse it.
    rendezvous_ = std::make_unique<NsProcess>(lab_, name_, RENDEZVOUS_BIN, args,
                                              testsupport::Process::EnvChanges{{"PILOT_REGISTRY_NORATELIMIT", "1"},
                                                                               {"PILOT_ADMIN_TOKEN", std::nullopt},
                                                                               {"PILOT_DATA_DIR", std::nullopt},
                                                                               {"PILOT_FSYNC", std::nullopt},
                                                                               {"PILOT_REPL_TOKEN", std::nullopt},
                                                                               {"PILOT_HTTP_ADDR", std::nullopt}});
    if (!rendezvous_->wait_for_output(ready_line, std::chrono::seconds(20)))
      throw std::runtime_error("rendezvous on host " + name_ + " did not log \"" + ready_line + "\":\n" +
                               rendezvous_->output());
  }

  const NetnsLab& lab_;
  std::string name_, ip_, dir_;
  std::unique_ptr<NsProcess> rendezvous_;
  std::unique_ptr<NsProcess> keepalived_;
};

}  // namespace pilot::viptest
