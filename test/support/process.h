// A child process for integration tests: the real binary, started with fork/exec,
// its stdout+stderr captured through a pipe, waited for with timeouts; optionally with
// environment variables set or removed for the child only.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pilot::testsupport {

class Process {
 public:
  // Environment changes for the child: {name, value} sets, {name, nullopt} unsets.
  using EnvChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;

  Process(const std::string& binary, const std::vector<std::string>& args, const EnvChanges& env = {}) {
    // The child's environment is built here, before fork: only exec runs in the child.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
      std::string_view kv(*e);
      std::string_view name = kv.substr(0, kv.find('='));
      bool changed = false;
      for (const auto& [n, v] : env) changed = changed || n == name;
      if (!changed) env_strings.emplace_back(kv);
    }
    for (const auto& [n, v] : env)
      if (v) env_strings.push_back(n + "=" + *v);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<char*> argv{const_cast<char*>(binary.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      ::execve(binary.c_str(), argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_fd_ = fds[0];
  }
  ~Process() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      wait_exit(std::chrono::seconds(5));
    }
    if (out_fd_ >= 0) ::close(out_fd_);
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Reads output until it contains `text` (true) or the timeout/EOF (false).
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (output_.find(text) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_some(static_cast<int>(left.count()))) return false;
    }
    return true;
  }

  void signal(int sig) { ::kill(pid_, sig); }

  // Exit status as from waitpid, or -1 on timeout. Drains output meanwhile.
  int wait_exit(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        while (read_some(0)) {
        }
        return status;
      }
      if (std::chrono::steady_clock::now() >= deadline) return -1;
      read_some(10);
    }
  }

  const std::string& output() const { return output_; }
  pid_t pid() const { return pid_; }

  // Reads whatever output is there (waiting at most `timeout_ms`), so a chatty child
  // never blocks on a full pipe. False on EOF or timeout.
  bool pump(int timeout_ms) { return read_some(timeout_ms); }

 private:
  // False on EOF or timeout.
  bool read_some(int timeout_ms) {
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) return false;
    output_.append(buf, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool exited_ = false;
  std::string output_;
};

}  // namespace pilot::testsupport
