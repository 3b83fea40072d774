#include "cmd/pilot-bench/load_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cmd/pilot-bench/cpu_time.h"
#include "cmd/pilot-bench/machine.h"
#include "cmd/pilot-bench/rpc_frames.h"
#include "net/rpc/wire.h"

namespace pilot::bench {
namespace {

// One measurement: opens the connections, keeps requests flowing from one epoll thread
// (this one) for warm-up + measured window, drains what is in flight, closes.
class LoadRun {
 public:
  LoadRun(const RunConfig& cfg, Source& src) : cfg_(cfg), src_(src), conns_(cfg.conns) {
    cap_ = cfg.open_rate > 0 ? kOpenLoopMaxInFlight : size_t(std::max(1, cfg.depth));
    for (Conn& c : conns_) c.ring.resize(cap_);
  }
  ~LoadRun() {
    for (Conn& c : conns_)
      if (c.fd >= 0) ::close(c.fd);
    if (ep_ >= 0) ::close(ep_);
  }

  bool run(RunResult& out, std::string& error) {
    if (!connect_all(error)) return false;
    lat_.reserve(1 << 16);
    const bool open = cfg_.open_rate > 0;
    const int64_t t_start = mono_ns();
    const int64_t warm_end = t_start + int64_t(cfg_.warmup_s * 1e9);
    const int64_t period_ns = open ? std::max<int64_t>(1, int64_t(1e9 / cfg_.open_rate)) : 0;
    if (!open)
      for (size_t i = 0; i < conns_.size(); ++i) {
        for (int d = 0; d < cfg_.depth && issue(i, t_start);) ++d;
        if (!flush(i, error)) return false;
      }
    int64_t t0 = 0, t1 = 0, last_tick = t_start;
    double cpu_c0 = 0, cpu_s0 = 0, busy0 = 0, self0 = 0, loop0 = 0;
    std::vector<double> also0(cfg_.also_cpu.size());
    uint64_t opened = 0;  // open loop: requests issued so far
    last_progress_ = t_start;
    std::vector<epoll_event> evs(1024);
    std::vector<size_t> touched;

    auto begin_window = [&](int64_t now) {
      counting_ = true;
      t0 = now;
      cpu_c0 = thread_cpu_seconds();
      cpu_s0 = cfg_.server_cpu ? cfg_.server_cpu() : 0;
      busy0 = machine_busy_seconds();
      loop0 = cfg_.server_loop_cpu ? cfg_.server_loop_cpu() : 0;
      self0 = process_cpu_seconds("/proc/self/stat");
      for (size_t k = 0; k < also0.size(); ++k) also0[k] = cfg_.also_cpu[k]();
      if (cfg_.on_window) cfg_.on_window(true);
    };
    auto end_window = [&](int64_t now) {
      if (counting_) {
        // Ran dry: the window ends with the last counted reply, not when we noticed.
        t1 = out.ran_dry && last_reply_ > t0 ? last_reply_ : now;
        const double w = double(t1 - t0) / 1e9;
        out.client_cores = (thread_cpu_seconds() - cpu_c0) / w;
        const double server = cfg_.server_cpu ? cfg_.server_cpu() - cpu_s0 : 0;
        if (cfg_.server_cpu) out.server_cores = server / w;
        if (cfg_.server_loop_cpu) out.server_loop_cores = (cfg_.server_loop_cpu() - loop0) / w;
        // Whatever else ran meanwhile (other processes, kernel threads, steal): a row
        // with a lot of it was measured on a busy machine.
        const double self = process_cpu_seconds("/proc/self/stat") - self0;
        double also = 0;
        out.also_cores.clear();
        for (size_t k = 0; k < also0.size(); ++k) {
          const double used = cfg_.also_cpu[k]() - also0[k];
          also += used;
          out.also_cores.push_back(used / w);
        }
        out.other_cores =
            std::max(0.0, machine_busy_seconds() - busy0 - self - (cfg_.server_in_process ? 0 : server) - also) / w;
        if (cfg_.on_window) cfg_.on_window(false);
      }
      counting_ = false;
      stopping_ = true;
    };

    for (;;) {
      const int64_t now = mono_ns();
      if (!stopping_ && !counting_ && now >= warm_end && (open || primed_ == conns_.size())) begin_window(now);
      if (!stopping_ && !counting_ && now - t_start > int64_t(20e9)) {
        error = strf("only %zu of %zu connections answered within 20 s", primed_, conns_.size());
        return false;
      }
      if (counting_ && now - t0 >= int64_t(cfg_.seconds * 1e9)) end_window(now);
      if (!stopping_ && dry_ == conns_.size() && in_flight_ == 0) {
        out.ran_dry = true;
        if (!counting_) {
          error = "the request pool ran out before the measured window began";
          return false;
        }
        end_window(now);
      }
      if (stopping_ && in_flight_ == 0) break;
      if (now - last_progress_ > int64_t(20e9)) {
        error = strf("no reply for 20 s (%zu requests in flight)", in_flight_);
        return false;
      }
      if (cfg_.every_tick && now - last_tick >= int64_t(cfg_.tick_s * 1e9)) {
        last_tick = now;
        cfg_.every_tick(replies_);
      }

      bool until_due = false;  // open loop: sleep only until the next request is due
      if (open && !stopping_) {
        // Issue every request whose time has come, each stamped with its intended send
        // time: a late client or a slow server shows up as latency, not as fewer requests.
        touched.clear();
        const uint64_t due = uint64_t((now - t_start) / period_ns) + 1;
        while (opened < due && !stopping_) {
          const size_t i = opened % conns_.size();
          if (conns_[i].count == cap_) {
            out.saturated = true;
            end_window(now);
            break;
          }
          const int64_t intended = t_start + int64_t(opened) * period_ns;
          ++opened;
          if (!issue(i, intended)) break;
          if (touched.empty() || touched.back() != i) touched.push_back(i);
        }
        for (size_t i : touched)
          if (!flush(i, error)) return false;
        until_due = true;
      }
      int n;
      if (until_due) {
        const int64_t wait = std::clamp<int64_t>(t_start + int64_t(opened) * period_ns - mono_ns(), 0, 1'000'000);
        timespec ts{0, long(wait)};
        n = ::epoll_pwait2(ep_, evs.data(), int(evs.size()), &ts, nullptr);
        if (n < 0 && errno == ENOSYS) n = ::epoll_wait(ep_, evs.data(), int(evs.size()), wait > 0 ? 1 : 0);
      } else {
        n = ::epoll_wait(ep_, evs.data(), int(evs.size()), 2);  // 2 ms: the window ends on time
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        error = std::string("epoll_wait: ") + std::strerror(errno);
        return false;
      }
      for (int k = 0; k < n; ++k) {
        const size_t i = size_t(evs[size_t(k)].data.u64);
        const uint32_t e = evs[size_t(k)].events;
        if ((e & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !on_readable(i, open, error)) return false;
        if ((e & EPOLLOUT) && !flush(i, error)) return false;
      }
    }

    out.window_s = double(t1 - t0) / 1e9;
    out.completed = completed_;
    out.rate = out.window_s > 0 ? double(completed_) / out.window_s : 0;
    out.p50_ns = percentile(lat_, 0.50);
    out.p99_ns = percentile(lat_, 0.99);
    return true;
  }

 private:
  struct Conn {
    int fd = -1;
    bool connected = false;
    bool primed = false;  // has had a reply
    bool dry = false;
    bool out_armed = false;
    std::string out;  // request bytes not yet sent
    size_t out_off = 0;
    std::string in;             // reply bytes not yet parsed
    std::vector<int64_t> ring;  // send times of the requests in flight, oldest first
    size_t head = 0, count = 0;
  };

  bool connect_all(std::string& error) {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) {
      error = std::string("epoll_create1: ") + std::strerror(errno);
      return false;
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(cfg_.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    size_t next = 0, pending = 0, done = 0;
    const int64_t deadline = mono_ns() + int64_t(30e9);
    epoll_event evs[256];
    auto watch = [&](size_t i, uint32_t events, int op) {
      epoll_event ev{};
      ev.events = events;
      ev.data.u64 = i;
      return ::epoll_ctl(ep_, op, conns_[i].fd, &ev) == 0;
    };
    while (done < conns_.size()) {
      // At most 128 handshakes at a time: a burst of 1024 SYNs can overflow the
      // listener's queue and cost a 1 s SYN retransmit.
      while (next < conns_.size() && pending < 128) {
        Conn& c = conns_[next];
        c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd < 0) {
          error = std::string("socket: ") + std::strerror(errno);
          return false;
        }
        const int one = 1;
        ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) {
          c.connected = true;
          ++done;
          if (!watch(next, EPOLLIN, EPOLL_CTL_ADD)) break;
        } else if (errno == EINPROGRESS) {
          ++pending;
          if (!watch(next, EPOLLOUT, EPOLL_CTL_ADD)) break;
        } else {
          error = strf("connect to 127.0.0.1:%u: %s", cfg_.port, std::strerror(errno));
          return false;
        }
        ++next;
      }
      const int n = ::epoll_wait(ep_, evs, 256, 100);
      for (int k = 0; k < n; ++k) {
        const size_t i = size_t(evs[k].data.u64);
        Conn& c = conns_[i];
        if (c.connected) continue;
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          error = strf("connect to 127.0.0.1:%u: %s", cfg_.port, std::strerror(err));
          return false;
        }
        c.connected = true;
        --pending;
        ++done;
        watch(i, EPOLLIN, EPOLL_CTL_MOD);
      }
      if (mono_ns() > deadline) {
        error = strf("only %zu of %zu connections established within 30 s", done, conns_.size());
        return false;
      }
    }
    if (cfg_.binary)
      for (Conn& c : conns_) {
        c.out.append(wire::kMagic, sizeof wire::kMagic);
        c.out.push_back(char(wire::kVersion));
      }
    return true;
  }

  bool issue(size_t i, int64_t t) {
    Conn& c = conns_[i];
    if (c.dry) return false;
    if ((cfg_.max_requests && issued_ >= cfg_.max_requests) || !src_.next(i, c.out)) {
      c.dry = true;
      ++dry_;
      return false;
    }
    c.ring[(c.head + c.count) % cap_] = t;
    ++c.count;
    ++in_flight_;
    ++issued_;
    return true;
  }

  void arm_out(size_t i, bool on) {
    Conn& c = conns_[i];
    if (c.out_armed == on) return;
    epoll_event ev{};
    ev.events = EPOLLIN | (on ? uint32_t(EPOLLOUT) : 0u);
    ev.data.u64 = i;
    ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    c.out_armed = on;
  }

  bool flush(size_t i, std::string& error) {
    Conn& c = conns_[i];
    while (c.out_off < c.out.size()) {
      const ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_off += size_t(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        arm_out(i, true);
        return true;
      } else {
        error = std::string("send: ") + std::strerror(errno);
        return false;
      }
    }
    c.out.clear();  // keeps its capacity: no allocation per request
    c.out_off = 0;
    arm_out(i, false);
    return true;
  }

  bool on_readable(size_t i, bool open, std::string& error) {
    Conn& c = conns_[i];
    static thread_local char buf[1 << 16];
    for (;;) {
      const ssize_t n = ::read(c.fd, buf, sizeof buf);
      if (n == 0) {
        error = strf("the server closed a connection (%zu requests unanswered)", c.count);
        return false;
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) break;
        error = std::string("read: ") + std::strerror(errno);
        return false;
      }
      const int64_t now = mono_ns();
      // Parse in place when nothing is left over from the last read (the usual case).
      std::string_view data;
      if (c.in.empty()) {
        data = std::string_view(buf, size_t(n));
      } else {
        c.in.append(buf, size_t(n));
        data = c.in;
      }
      size_t off = 0;
      while (data.size() - off >= 4) {
        const uint32_t len = be32(data.data() + off);
        if (len > wire::kMaxFrame) {
          error = strf("reply frame of %u bytes", len);
          return false;
        }
        if (data.size() - off - 4 < len) break;
        if (!on_reply(c, data.substr(off + 4, len), now, error)) return false;
        off += 4 + len;
      }
      if (c.in.empty())
        c.in.assign(data.substr(off));
      else
        c.in.erase(0, off);
      if (size_t(n) < sizeof buf) break;
    }
    // Closed loop: refill the connection's window at once.
    if (!open && !stopping_) {
      const int64_t now = mono_ns();
      while (c.count < size_t(cfg_.depth) && issue(i, now)) {
      }
    }
    return flush(i, error);
  }

  bool on_reply(Conn& c, std::string_view body, int64_t now, std::string& error) {
    if (c.count == 0) {
      error = "a reply without a request";
      return false;
    }
    const int64_t sent = c.ring[c.head];
    c.head = (c.head + 1) % cap_;
    --c.count;
    --in_flight_;
    last_progress_ = now;
    if (!c.primed) {
      c.primed = true;
      ++primed_;
    }
    if (counting_) {
      ++completed_;
      lat_.push_back(now - sent);
      last_reply_ = now;
    }
    ++replies_;
    if (cfg_.on_reply) cfg_.on_reply(body, now);
    if (!cfg_.expect.check) return true;
    std::string why;
    if (cfg_.expect.binary) {
      const uint8_t type = body.empty() ? 0 : uint8_t(body[0]);
      if (type == uint8_t(wire::MsgType::kError)) {
        auto m = wire::decode_error(body.substr(1));
        why = m ? *m : "undecodable 0xFF frame";
      } else if (type != cfg_.expect.ok_type) {
        why = strf("unexpected reply type 0x%02x", type);
      }
    } else if (body.find("\"type\":\"error\"") != std::string_view::npos) {
      why = json_value(body, "error");
    } else if (body.find(cfg_.expect.ok_json) == std::string_view::npos) {
      why = "unexpected reply " + std::string(body.substr(0, 120));
    }
    if (!why.empty()) {
      if (errors_++ == 0) first_error_ = why;
    }
    return true;
  }

 public:
  uint64_t errors() const { return errors_; }
  const std::string& first_error() const { return first_error_; }
  uint64_t replies() const { return replies_; }

 private:
  const RunConfig& cfg_;
  Source& src_;
  std::vector<Conn> conns_;
  size_t cap_ = 1;
  int ep_ = -1;
  size_t in_flight_ = 0, primed_ = 0, dry_ = 0;
  uint64_t issued_ = 0, completed_ = 0, replies_ = 0, errors_ = 0;
  std::string first_error_;
  bool counting_ = false, stopping_ = false;
  int64_t last_progress_ = 0, last_reply_ = 0;
  std::vector<int64_t> lat_;
};

}  // namespace

bool run_load(const RunConfig& cfg, Source& src, RunResult& out, std::string& error) {
  LoadRun run(cfg, src);
  const bool ok = run.run(out, error);
  out.replies = run.replies();
  out.errors = run.errors();
  out.first_error = run.first_error();
  return ok;
}

bool exchange(uint16_t port, const std::vector<std::string>& frames, std::vector<std::string>& replies,
              std::string& error) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{60, 0};
  if (fd < 0 || ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    error = std::string("setup connection: ") + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return false;
  }
  auto read_exact = [&](char* p, size_t n) {
    while (n > 0) {
      const ssize_t r = ::read(fd, p, n);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      p += r;
      n -= size_t(r);
    }
    return true;
  };
  constexpr size_t kWindow = 64;
  replies.clear();
  bool ok = true;
  for (size_t i = 0; ok && i < frames.size(); i += kWindow) {
    const size_t end = std::min(frames.size(), i + kWindow);
    std::string out;
    for (size_t k = i; k < end; ++k) out += frames[k];
    for (size_t off = 0; ok && off < out.size();) {
      const ssize_t w = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) ok = false;
      if (w > 0) off += size_t(w);
    }
    for (size_t k = i; ok && k < end; ++k) {
      char hdr[4];
      ok = read_exact(hdr, 4);
      if (!ok) break;
      std::string body(be32(hdr), '\0');
      ok = read_exact(body.data(), body.size());
      replies.push_back(std::move(body));
    }
  }
  ::close(fd);
  if (!ok) error = std::string("setup exchange failed: ") + std::strerror(errno);
  return ok;
}

}  // namespace pilot::bench
