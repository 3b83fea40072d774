#include "net/replication/leader.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/logging.h"
#include "net/replication/messages.h"
#include "net/replication/session.h"
#include "net/rpc/listen_addr.h"

namespace pilot::repl {
namespace {

int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string address_text(const sockaddr_storage& ss) {
  char ip[INET6_ADDRSTRLEN] = {};
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
      inet_ntop(AF_INET, reinterpret_cast<const uint8_t*>(&a->sin6_addr) + 12, ip, sizeof ip);
    else
      inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
    port = ntohs(a->sin6_port);
  }
  return rpc::join_host_port(ip, std::to_string(port));
}

// A listening socket for "host:port" / ":port" (every address, dual stack when the
// machine has IPv6). -1 with `error` on failure.
int listen_on(const std::string& addr, std::string& error) {
  auto hp = rpc::split_host_port(addr);
  char* end = nullptr;
  long port = hp ? std::strtol(hp->port.c_str(), &end, 10) : -1;
  if (!hp || hp->port.empty() || *end || port < 0 || port > 65535) {
    error = "invalid replication address \"" + addr + "\" (want host:port or :port)";
    return -1;
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  bool any = hp->host.empty();
  auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (any || inet_pton(AF_INET6, hp->host.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    if (any) a6->sin6_addr = in6addr_any;
    len = sizeof *a6;
  } else if (inet_pton(AF_INET, hp->host.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *a4;
  } else {
    error = "replication address host must be an IP literal: \"" + hp->host + "\"";
    return -1;
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
      int one = 1, zero = 0;
      // A restarted leader must get its port back while old connections linger.
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (ss.ss_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, any ? &zero : &one, sizeof one);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0 && ::listen(fd, 64) == 0) return fd;
      error = "cannot listen on " + addr + ": " + std::strerror(errno);
      ::close(fd);
    } else {
      error = std::string("socket: ") + std::strerror(errno);
    }
    if (!any || ss.ss_family != AF_INET6) break;
    // No IPv6 on this machine: every IPv4 address instead.
    ss = {};
    a4->sin_family = AF_INET;
    a4->sin_port = htons(static_cast<uint16_t>(port));
    a4->sin_addr.s_addr = htonl(INADDR_ANY);
    len = sizeof *a4;
  }
  return -1;
}

}  // namespace

Leader::Leader(LeaderOptions opts, std::string log_dir, const log::Writer& writer, uint64_t term,
               std::function<void()> on_ack)
    : opts_(std::move(opts)), log_dir_(std::move(log_dir)), writer_(writer), term_(term), on_ack_(std::move(on_ack)) {}

Leader::~Leader() { stop(0); }

bool Leader::start(std::string& error) {
  if (opts_.token.empty()) {
    error = "replication needs a token (--repl-token or PILOT_REPL_TOKEN)";
    return false;
  }
  listen_fd_ = listen_on(opts_.listen_addr, error);
  if (listen_fd_ < 0) return false;
  if (::pipe2(wake_fd_, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  bound_ = address_text(ss);
  LOG_INFO("replication: listening on %s (leader, term %llu)", bound_.c_str(), (unsigned long long)term_.load());
  accept_thread_ = std::thread([this] { accept_main(); });
  return true;
}

void Leader::accept_main() {
  for (;;) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_[0], POLLIN, 0}};
    int r = ::poll(p, 2, 500);
    if (stopping_) return;
    reap(false);
    if (r <= 0 || !(p[0].revents & POLLIN)) continue;
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
        LOG_WARN("replication: accept failed: %s", std::strerror(errno));
      if (errno == EMFILE || errno == ENFILE) usleep(100000);
      continue;
    }
    std::string peer = address_text(ss);
    std::lock_guard lk(mu_);
    // Connections that have not said hello yet count too, so a flood of idle sockets
    // costs a bounded number of threads (each lives at most hello_timeout).
    if (sessions_.size() >= 2 * (opts_.max_followers + opts_.max_consumers)) {
      LOG_WARN("replication: refused %s: too many connections", peer.c_str());
      std::string f = encode(Refuse{RefuseCode::kBusy, "too many replication connections"});
      (void)!::send(fd, f.data(), f.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      continue;
    }
    LOG_DEBUG("replication: connection from %s", peer.c_str());
    sessions_.push_back(std::make_unique<Session>(*this, fd, std::move(peer)));
    sessions_.back()->start();
  }
}

void Leader::reap(bool all) {
  std::list<std::unique_ptr<Session>> done;
  {
    std::lock_guard lk(mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (all || (*it)->finished()) {
        done.push_back(std::move(*it));
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  done.clear();  // joins, outside the lock (a session may call followers())
}

size_t Leader::streaming(bool consumers) const {
  std::lock_guard lk(mu_);
  size_t n = 0;
  for (const auto& s : sessions_) n += s->streaming() && !s->finished() && s->consumer() == consumers;
  return n;
}

size_t Leader::followers() const { return streaming(false); }

size_t Leader::consumers() const { return streaming(true); }

size_t Leader::snapshot_transfers() const {
  std::lock_guard lk(mu_);
  size_t n = 0;
  for (const auto& s : sessions_) n += s->transferring() && !s->finished();
  return n;
}

void Leader::note_ack(uint64_t seq) {
  uint64_t cur = acked_.load();
  while (seq > cur && !acked_.compare_exchange_weak(cur, seq)) {
  }
  if (seq > cur && on_ack_) on_ack_();
}

bool Leader::note_newer_term(uint64_t term, const std::string& peer) {
  uint64_t cur = newer_term_.load();
  while (term > cur && !newer_term_.compare_exchange_weak(cur, term)) {
  }
  if (term <= cur) return false;
  LOG_ERROR("replication: %s says a leader at term %llu exists; this leader is at term %llu and has been replaced",
            peer.c_str(), (unsigned long long)term, (unsigned long long)term_.load());
  if (on_newer_term_) on_newer_term_(term, peer);
  return true;
}

void Leader::stop(int64_t drain_ms) {
  if (stopping_.exchange(true)) return;
  if (accept_thread_.joinable()) {
    (void)!::write(wake_fd_[1], "x", 1);
    accept_thread_.join();
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  for (int& fd : wake_fd_)
    if (fd >= 0) ::close(fd), fd = -1;
  listen_fd_ = -1;
  const int64_t deadline = mono_ns() + drain_ms * 1000000;
  {
    std::lock_guard lk(mu_);
    for (auto& s : sessions_) s->request_stop(deadline);
  }
  for (;;) {
    bool all_done = true;
    {
      std::lock_guard lk(mu_);
      for (auto& s : sessions_) all_done = all_done && s->finished();
    }
    if (all_done || mono_ns() >= deadline) break;
    usleep(5000);
  }
  {
    std::lock_guard lk(mu_);
    for (auto& s : sessions_) s->kill();
  }
  reap(true);
}

}  // namespace pilot::repl
