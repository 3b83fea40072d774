#include "net/replication/fencer.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/logging.h"
#include "net/replication/messages.h"
#include "net/rpc/listen_addr.h"

namespace pilot::repl {
namespace {

int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Fencer::Fencer(FencerOptions opts, std::function<void(uint64_t, const std::string&)> on_newer_term)
    : opts_(std::move(opts)), on_newer_term_(std::move(on_newer_term)) {
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
}

Fencer::~Fencer() {
  stop();
  for (int fd : wake_)
    if (fd >= 0) ::close(fd);
}

void Fencer::start() {
  if (thread_.joinable()) return;
  LOG_INFO("replication: fencing the old leader at %s with term %llu (a hello every %lld ms)",
           opts_.old_leader_addr.c_str(), (unsigned long long)opts_.term, (long long)(opts_.interval_ns / 1000000));
  thread_ = std::thread([this] { main(); });
}

void Fencer::stop() {
  stopping_ = true;
  if (wake_[1] >= 0) (void)!::write(wake_[1], "x", 1);
  if (thread_.joinable()) thread_.join();
}

bool Fencer::wait_io(int fd, short events, int64_t deadline_ns) {
  for (;;) {
    pollfd p[2] = {{fd, events, 0}, {wake_[0], POLLIN, 0}};
    const int64_t left_ms = (deadline_ns - mono_ns()) / 1000000;
    if (left_ms <= 0 || stopping_) return false;
    int r = ::poll(p, wake_[0] >= 0 ? 2 : 1, static_cast<int>(left_ms));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0 || (p[1].revents & POLLIN)) return false;
    return true;
  }
}

Fencer::Outcome Fencer::knock(std::string& detail, uint64_t& their_term) {
  const int64_t deadline = mono_ns() + opts_.timeout_ns;
  auto hp = rpc::split_host_port(opts_.old_leader_addr);
  if (!hp || hp->port.empty()) {
    detail = "not HOST:PORT";
    return Outcome::kUnreachable;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string host = hp->host.empty() ? "localhost" : hp->host;
  if (int rc = ::getaddrinfo(host.c_str(), hp->port.c_str(), &hints, &res); rc != 0 || !res) {
    detail = std::string("cannot resolve: ") + gai_strerror(rc);
    return Outcome::kUnreachable;
  }
  Fd s;
  s.fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int rc = s.fd < 0 ? -1 : ::connect(s.fd, res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  if (rc != 0 && errno != EINPROGRESS) {
    detail = std::strerror(errno);
    return Outcome::kUnreachable;
  }
  if (rc != 0) {
    int err = 0;
    socklen_t len = sizeof err;
    if (!wait_io(s.fd, POLLOUT, deadline)) {
      detail = "connect timed out";
      return Outcome::kUnreachable;
    }
    if (::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      detail = std::strerror(err ? err : errno);
      return Outcome::kUnreachable;
    }
  }
  // Position 0: the term check comes first on the other side; were it a leader at a
  // higher term it would welcome us, and we close before taking anything.
  Hello h;
  h.token = opts_.token;
  h.term = opts_.term;
  const std::string hello = encode(h);
  if (::send(s.fd, hello.data(), hello.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(hello.size())) {
    detail = std::string("send: ") + std::strerror(errno);
    return Outcome::kUnreachable;
  }
  std::string buf;
  char tmp[4096];
  for (;;) {
    Frame f;
    std::string why;
    const FrameStatus st = next_frame(buf, f, why);
    if (st == FrameStatus::kBad) {
      detail = "bad frame: " + why;
      return Outcome::kRefused;
    }
    if (st == FrameStatus::kFrame) {
      if (f.type == MsgType::kRefuse) {
        auto r = decode_refuse(f.body);
        if (!r) {
          detail = "malformed refuse frame";
          return Outcome::kRefused;
        }
        detail = std::string(to_string(r->code)) + ": " + r->reason;
        return r->code == RefuseCode::kStaleTerm ? Outcome::kFenced : Outcome::kRefused;
      }
      if (f.type == MsgType::kWelcome) {
        auto w = decode_welcome(f.body);
        if (!w) {
          detail = "malformed welcome";
          return Outcome::kRefused;
        }
        their_term = w->term;
        detail = "a leader at term " + std::to_string(w->term);
        return w->term > opts_.term ? Outcome::kNewerLeader
                                    : (w->term == opts_.term ? Outcome::kSameTerm : Outcome::kRefused);
      }
      detail = "unexpected frame type " + std::to_string(int(f.type));
      return Outcome::kRefused;
    }
    if (!wait_io(s.fd, POLLIN, deadline)) {
      detail = "no answer";
      return Outcome::kUnreachable;
    }
    ssize_t n = ::recv(s.fd, tmp, sizeof tmp, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      detail = n == 0 ? "closed without an answer" : std::strerror(errno);
      return Outcome::kUnreachable;
    }
    buf.append(tmp, static_cast<size_t>(n));
  }
}

void Fencer::main() {
  Outcome prev = Outcome::kNone;
  std::string prev_detail;
  const char* addr = opts_.old_leader_addr.c_str();
  while (!stopping_) {
    std::string detail;
    uint64_t their = 0;
    const Outcome o = knock(detail, their);
    if (stopping_) break;
    last_ = o;
    // Every second, for as long as this node leads: only changes are worth a line.
    const bool news = o != prev || (o != Outcome::kUnreachable && detail != prev_detail);
    switch (o) {
      case Outcome::kNone: break;
      case Outcome::kUnreachable:
        if (news)
          LOG_INFO("replication: the old leader at %s is not answering (%s); still knocking", addr, detail.c_str());
        break;
      case Outcome::kFenced:
        if (news)
          LOG_INFO("replication: the old leader at %s refused our term %llu as stale: it takes no writes", addr,
                   (unsigned long long)opts_.term);
        break;
      case Outcome::kRefused:
        if (news) LOG_WARN("replication: fencing hello to %s refused: %s", addr, detail.c_str());
        break;
      case Outcome::kNewerLeader:
        LOG_ERROR("replication: %s leads at term %llu, above ours (%llu): this node has been replaced", addr,
                  (unsigned long long)their, (unsigned long long)opts_.term);
        if (on_newer_term_) on_newer_term_(their, opts_.old_leader_addr);
        break;
      case Outcome::kSameTerm:
        if (news)
          LOG_ERROR(
              "replication: %s also leads at term %llu: two leaders in one term — resolve by hand (restart one "
              "with --follow the other)",
              addr, (unsigned long long)opts_.term);
        break;
    }
    prev = o;
    prev_detail = detail;
    pollfd p{wake_[0], POLLIN, 0};
    if (wake_[0] >= 0)
      ::poll(&p, 1, static_cast<int>(opts_.interval_ns / 1000000));
    else
      usleep(static_cast<useconds_t>(opts_.interval_ns / 1000));
  }
}

}  // namespace pilot::repl
