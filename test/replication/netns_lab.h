// A small network on this machine for the virtual-IP failover test: network namespaces
// `<prefix>-a`, `<prefix>-b` (two hosts), `<prefix>-c` (a client) and `<prefix>-sw` (a
// switch: a bridge with one veth per host), all on 10.77.0.0/24. Nothing is added to
// the namespace the test runs in: the veths are created inside the switch namespace
// with their other ends moved straight into the hosts, so traffic never leaves.
//
// Cleanup is by namespace: every process still inside one is killed, then the
// namespace is deleted (its bridge and veths go with it). The destructor does it even
// when the test fails; the constructor first does it for namespaces left by a run of
// this test that died (prefix "pvip<pid>-" with no such process any more).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test/support/process.h"

namespace pilot::viptest {

// The first of `candidates` that is an executable file, or "".
inline std::string find_binary(const std::vector<std::string>& candidates) {
  for (const auto& c : candidates)
    if (::access(c.c_str(), X_OK) == 0) return c;
  return "";
}

struct CommandResult {
  int code = -1;  // exit code, -1 if it did not exit normally in time
  std::string output;
};

inline CommandResult run_command(const std::string& bin, const std::vector<std::string>& args) {
  testsupport::Process p(bin, args);
  int st = p.wait_exit(std::chrono::seconds(10));
  return {st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1, p.output()};
}

// Moves the calling thread into network namespace `ns` (network namespaces are per
// thread): sockets it opens from now on live there, and keep living there.
inline void enter_netns(const std::string& ns) {
  int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open /run/netns/" + ns + ": " + std::strerror(errno));
  int rc = ::setns(fd, CLONE_NEWNET);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw std::runtime_error("setns " + ns + ": " + std::strerror(err));
}

// Runs `fn` on a thread inside `ns` and waits; exceptions come back to the caller.
template <class F>
void run_in_netns(const std::string& ns, F&& fn) {
  std::exception_ptr err;
  std::thread t([&] {
    try {
      enter_netns(ns);
      fn();
    } catch (...) {
      err = std::current_exception();
    }
  });
  t.join();
  if (err) std::rethrow_exception(err);
}

// Whether an interface in `ns` carries IPv4 address `ip`.
inline bool netns_has_address(const std::string& ns, const std::string& ip) {
  bool found = false;
  run_in_netns(ns, [&] {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return;
    for (ifaddrs* i = list; i; i = i->ifa_next) {
      if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
      char buf[INET_ADDRSTRLEN];
      ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf, sizeof buf);
      found = found || ip == buf;
    }
    ::freeifaddrs(list);
  });
  return found;
}

class NetnsLab {
 public:
  static constexpr const char* kSubnetPrefix = "/24";
  static constexpr const char* kClientIp = "10.77.0.10";

  // Empty when the lab cannot be built here (the reason is in `why`).
  static std::unique_ptr<NetnsLab> create(std::string& why) {
    if (::geteuid() != 0) {
      why = "needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to create network namespaces";
      return nullptr;
    }
    std::string ip = find_binary({"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"});
    if (ip.empty()) {
      why = "the `ip` command (iproute2) is not installed";
      return nullptr;
    }
    std::unique_ptr<NetnsLab> lab(new NetnsLab(ip, "pvip" + std::to_string(::getpid())));
    why = lab->build();
    if (!why.empty()) return nullptr;
    return lab;
  }

  ~NetnsLab() { remove_all(); }
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  const std::string& ip_binary() const { return ip_; }
  std::string ns(const std::string& host) const { return prefix_ + "-" + host; }
  // The argv prefix that runs a program inside `host`'s namespace.
  std::vector<std::string> exec_prefix(const std::string& host) const { return {"netns", "exec", ns(host)}; }

 private:
  NetnsLab(std::string ip, std::string prefix) : ip_(std::move(ip)), prefix_(std::move(prefix)) {}

  // "" or what failed.
  std::string build() {
    remove_leftovers();
    auto ip = [&](std::vector<std::string> args) -> std::string {
      CommandResult r = run_command(ip_, args);
      if (r.code == 0) return "";
      std::string cmd = "ip";
      for (const auto& a : args) cmd += " " + a;
      return "`" + cmd + "` failed (exit " + std::to_string(r.code) + "): " + r.output;
    };
    std::string err;
    for (const char* h : {"sw", "a", "b", "c"}) {
      if (!(err = ip({"netns", "add", ns(h)})).empty()) return err;
      created_.push_back(ns(h));
      if (!(err = ip({"-n", ns(h), "link", "set", "lo", "up"})).empty()) return err;
    }
    const std::string sw = ns("sw");
    if (!(err = ip({"-n", sw, "link", "add", "br0", "type", "bridge"})).empty()) return err;
    if (!(err = ip({"-n", sw, "link", "set", "br0", "up"})).empty()) return err;
    const std::pair<const char*, const char*> hosts[] = {{"a", "10.77.0.1"}, {"b", "10.77.0.2"}, {"c", kClientIp}};
    for (const auto& [h, addr] : hosts) {
      const std::string port = std::string("v") + h;
      if (!(err = ip({"-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns(h)})).empty())
        return err;
      if (!(err = ip({"-n", sw, "link", "set", port, "master", "br0"})).empty()) return err;
      if (!(err = ip({"-n", sw, "link", "set", port, "up"})).empty()) return err;
      if (!(err = ip({"-n", ns(h), "addr", "add", std::string(addr) + kSubnetPrefix, "dev", "eth0"})).empty())
        return err;
      if (!(err = ip({"-n", ns(h), "link", "set", "eth0", "up"})).empty()) return err;
    }
    return "";
  }

  void remove_namespace(const std::string& name) {
    // Twice: a process may fork (keepalived's scripts) while the first round is killed.
    for (int round = 0; round < 2; ++round) {
      CommandResult pids = run_command(ip_, {"netns", "pids", name});
      size_t at = 0;
      while (at < pids.output.size()) {
        size_t end = pids.output.find('\n', at);
        if (end == std::string::npos) end = pids.output.size();
        const std::string line = pids.output.substr(at, end - at);
        if (!line.empty() && line.find_first_not_of("0123456789") == std::string::npos)
          ::kill(static_cast<pid_t>(std::stol(line)), SIGKILL);
        at = end + 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    run_command(ip_, {"netns", "del", name});
  }

  void remove_all() {
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) remove_namespace(*it);
    created_.clear();
  }

  // Namespaces "pvip<pid>-*" whose test process is gone (or is this one: a pid reused).
  void remove_leftovers() {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/run/netns", ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("pvip", 0) != 0) continue;
      size_t dash = name.find('-');
      if (dash == std::string::npos || dash == 4) continue;
      const std::string digits = name.substr(4, dash - 4);
      if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
      const pid_t owner = static_cast<pid_t>(std::stol(digits));
      const bool gone = ::kill(owner, 0) != 0 && errno == ESRCH;
      if (gone || owner == ::getpid()) remove_namespace(name);
    }
  }

  std::string ip_;
  std::string prefix_;
  std::vector<std::string> created_;
};

}  // namespace pilot::viptest
