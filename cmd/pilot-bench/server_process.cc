#include "cmd/pilot-bench/server_process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "cmd/pilot-bench/machine.h"

extern char** environ;

namespace pilot::bench {

bool ServerProcess::start(const std::string& bin, const std::string& data_dir, const ServerArgs& sa,
                          std::string& error) {
  const std::vector<int>& cpus = sa.cpus;
  const std::vector<std::string>& http_args = sa.http;
  {
    std::lock_guard lk(mu_);  // a restart: forget the last process' output
    port_ = admin_port_ = repl_port_ = 0;
    lines_.clear();
    eof_ = false;
    tail_.clear();
    snapshot_lines_.clear();
    warnings_.clear();
    beacon_ = sa.beacon;
  }
  const bool want_admin = !sa.beacon && !http_args.empty();
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    error = std::string("pipe2: ") + std::strerror(errno);
    return false;
  }
  // Everything the child needs is built before fork: the parent has other threads,
  // so the child may only make async-signal-safe calls until exec.
  // The registry port alone: no embedded beacon (and no UDP port to collide on), and
  // no admin HTTP server unless asked for (its default, :3000, may be taken).
  std::vector<std::string> args = {bin,           "--data-dir", data_dir, "--registry-addr",
                                   "127.0.0.1:0", "--fsync",    "always", "--beacon=false"};
  if (sa.beacon)
    args = {bin, "-addr", "127.0.0.1:0"};  // loopback only; the port is read from its log line
  else if (want_admin)
    args.insert(args.end(), http_args.begin(), http_args.end());
  else
    args.insert(args.end(), {"--http", ""});
  args.insert(args.end(), sa.extra.begin(), sa.extra.end());
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "PILOT_REGISTRY_NORATELIMIT=", 27) != 0) env.emplace_back(*e);
  env.emplace_back("PILOT_REGISTRY_NORATELIMIT=1");
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t parent = ::getpid();
  std::fflush(stdout);
  std::fflush(stderr);
  pid_ = ::fork();
  if (pid_ < 0) {
    error = std::string("fork: ") + std::strerror(errno);
    ::close(fds[0]);
    ::close(fds[1]);
    return false;
  }
  if (pid_ == 0) {
    // The server must not outlive the bench, even if the bench is killed.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    if (!cpus.empty()) ::sched_setaffinity(0, sizeof set, &set);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  rfd_ = fds[0];
  reader_ = std::thread([this] { read_loop(); });
  const auto listening_on_all = [&] {
    return port_ != 0 && (!want_admin || admin_port_ != 0) && (!sa.wait_repl_listener || repl_port_ != 0);
  };
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, std::chrono::seconds(60), [&] { return listening_on_all() || eof_; });
  if (!listening_on_all()) {
    error = std::string(eof_                         ? "the server exited before listening"
                        : port_ == 0 && sa.beacon    ? "no \"beacon: listening on\" within 60 s"
                        : port_ == 0                 ? "no \"registry: listening on\" within 60 s"
                        : want_admin && !admin_port_ ? "no \"admin: listening on\" within 60 s"
                                                     : "no \"replication: listening on\" within 60 s") +
            "; its last output:\n" + tail_text_locked(12);
    lk.unlock();
    stop();
    return false;
  }
  return true;
}

void ServerProcess::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int st;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    pid_ = 0;
  }
  if (reader_.joinable()) reader_.join();
  if (rfd_ >= 0) ::close(rfd_);
  rfd_ = -1;
}

bool ServerProcess::alive() {
  if (pid_ <= 0) return false;
  int st;
  if (::waitpid(pid_, &st, WNOHANG) == 0) return true;
  pid_ = 0;  // reaped: never signal the number again, it may be someone else's now
  return false;
}

double ServerProcess::cpu_seconds() const {
  return pid_ > 0 ? process_cpu_seconds("/proc/" + std::to_string(pid_) + "/stat") : 0;
}

uint64_t ServerProcess::status_bytes(const char* field) const {
  std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
  const std::string want = std::string(field) + ":";
  for (std::string line; std::getline(f, line);)
    if (line.rfind(want, 0) == 0) return std::strtoull(line.c_str() + want.size(), nullptr, 10) * 1024;
  return 0;
}

bool ServerProcess::wait_idle(double max_seconds, int quiet_samples) {
  const int64_t deadline = mono_ns() + int64_t(max_seconds * 1e9);
  double prev = cpu_seconds();
  int quiet = 0;
  while (mono_ns() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const double now = cpu_seconds();
    quiet = now - prev < 0.02 ? quiet + 1 : 0;
    if (quiet >= quiet_samples) return true;
    prev = now;
  }
  return false;
}

size_t ServerProcess::snapshots() const {
  std::lock_guard lk(mu_);
  return snapshot_lines_.size();
}

std::vector<std::string> ServerProcess::snapshot_lines(size_t first) const {
  std::lock_guard lk(mu_);
  return {snapshot_lines_.begin() + ptrdiff_t(std::min(first, snapshot_lines_.size())), snapshot_lines_.end()};
}

double ServerProcess::loop_cpu_seconds() const {
  return pid_ > 0 ? process_cpu_seconds("/proc/" + std::to_string(pid_) + "/task/" + std::to_string(pid_) + "/stat")
                  : 0;
}

Switches ServerProcess::switches() const { return pid_ > 0 ? process_switches(pid_) : Switches{}; }

double ServerProcess::precise_cpu_seconds() const {
  const double s = pid_ > 0 ? process_cpu_clock_seconds(pid_) : -1;
  return s >= 0 ? s : cpu_seconds();
}

double ServerProcess::precise_loop_cpu_seconds() const {
  const double s = pid_ > 0 ? thread_runtime_seconds(pid_, pid_) : -1;
  return s >= 0 ? s : loop_cpu_seconds();
}

int64_t ServerProcess::wait_line(const std::string& needle, double max_seconds) {
  std::unique_lock lk(mu_);
  int64_t seen = 0;
  cv_.wait_for(lk, std::chrono::duration<double>(max_seconds), [&] {
    for (const auto& [line, t] : lines_)
      if (line.find(needle) != std::string::npos) {
        seen = t;
        return true;
      }
    return eof_;
  });
  return seen;
}

std::string ServerProcess::last_line_with(const std::string& needle) const {
  std::lock_guard lk(mu_);
  for (auto it = lines_.rbegin(); it != lines_.rend(); ++it)
    if (it->first.find(needle) != std::string::npos) return it->first;
  return "";
}

std::string ServerProcess::tail_text(size_t n) const {
  std::lock_guard lk(mu_);
  return tail_text_locked(n);
}

std::vector<std::string> ServerProcess::warnings() const {
  std::lock_guard lk(mu_);
  return warnings_;
}

// Drains the child's output for its whole life (a full pipe would block its logging
// and then its loop), keeping the lines we use.
void ServerProcess::read_loop() {
  char buf[4096];
  std::string partial;
  for (;;) {
    const ssize_t n = ::read(rfd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    partial.append(buf, size_t(n));
    for (size_t nl; (nl = partial.find('\n')) != std::string::npos;) {
      on_line(partial.substr(0, nl));
      partial.erase(0, nl + 1);
    }
  }
  std::lock_guard lk(mu_);
  eof_ = true;
  cv_.notify_all();
}

void ServerProcess::on_line(const std::string& line) {
  std::lock_guard lk(mu_);
  tail_.push_back(line);
  if (tail_.size() > 40) tail_.pop_front();
  // "registry: listening on 127.0.0.1:PORT", "admin: listening on 127.0.0.1:PORT (…)"
  auto listening = [&](const std::string& prefix, uint16_t& port) {
    const size_t p = line.find(prefix);
    if (p == std::string::npos || port != 0) return;
    std::string addr = line.substr(p + prefix.size());
    addr = addr.substr(0, addr.find(' '));
    if (size_t colon = addr.rfind(':'); colon != std::string::npos) {
      port = uint16_t(std::strtoul(addr.c_str() + colon + 1, nullptr, 10));
      cv_.notify_all();
    }
  };
  listening(beacon_ ? "beacon: listening on " : "registry: listening on ", port_);
  listening("admin: listening on ", admin_port_);
  listening("replication: listening on ", repl_port_);
  lines_.emplace_back(line, mono_ns());
  if (lines_.size() > 4000) lines_.pop_front();
  cv_.notify_all();
  if (size_t p = line.find("snapshot: wrote"); p != std::string::npos) snapshot_lines_.push_back(line.substr(p));
  if ((line.find(" WARN ") != std::string::npos || line.find(" ERROR ") != std::string::npos) && warnings_.size() < 20)
    warnings_.push_back(line);
}

std::string ServerProcess::tail_text_locked(size_t n) const {
  std::string out;
  for (size_t i = tail_.size() > n ? tail_.size() - n : 0; i < tail_.size(); ++i) out += "    " + tail_[i] + "\n";
  return out;
}

std::string default_server_binary() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "rendezvous";
  return (self.parent_path() / ".." / "rendezvous" / "rendezvous").lexically_normal().string();
}

std::string default_beacon_binary() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "beacon";
  return (self.parent_path() / ".." / "beacon" / "beacon").lexically_normal().string();
}

std::string random_token() {
  std::random_device rd;
  std::string t;
  for (int i = 0; i < 4; ++i) t += strf("%08x", unsigned(rd()));
  return t;
}

}  // namespace pilot::bench
