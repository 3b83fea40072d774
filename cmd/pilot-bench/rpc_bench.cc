#include "cmd/pilot-bench/rpc_bench.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cmd/pilot-bench/admin_poll.h"
#include "cmd/pilot-bench/bench_dir.h"
#include "cmd/pilot-bench/cpu_time.h"
#include "cmd/pilot-bench/load_client.h"
#include "cmd/pilot-bench/machine.h"
#include "cmd/pilot-bench/machine_noise.h"
#include "cmd/pilot-bench/report.h"
#include "cmd/pilot-bench/rpc_frames.h"
#include "cmd/pilot-bench/server_process.h"
#include "cmd/pilot-bench/server_tails.h"
#include "cmd/pilot-bench/splitmix.h"
#include "core/ed25519.h"
#include "core/flags.h"
#include "net/rpc/wire.h"

namespace pilot::bench {
namespace {

// Targets from the issue, for a 2-core machine.
constexpr double kTargetBinaryHeartbeats = 150'000;
constexpr double kTargetJsonHeartbeats = 80'000;
constexpr double kTargetRegistrations = 15'000;
constexpr double kTargetP99Ns = 2e6;
constexpr double kTargetRssBytes = 1024.0 * 1024 * 1024;  // for kTargetRssNodes
constexpr uint64_t kTargetRssNodes = 1'000'000;
// Issue 6: RPC throughput with 50 admin GETs/s over throughput without, at least this.
constexpr double kTargetAdminRatio = 0.95;
constexpr double kAdminPollRate = 50;

// ---- small helpers -------------------------------------------------------------------

std::string ratio_text(double r) {
  if (r <= 0) return "-";
  return r >= 10 ? strf("%.1fx raw", r) : strf("%.2fx raw", r);
}

// What a dashboard (/api/dashboard), Prometheus (/metrics) and an operator's script
// (/api/stats, admin token) read: the default of --admin-paths.
const std::vector<std::string> kAdminPaths = {"/api/dashboard", "/metrics", "/api/stats"};

// ---- the raw limit: a one-thread epoll echo server -------------------------------------------

// Answers every [u32 BE length][body] frame with a 45-byte frame (the size of the
// server's JSON heartbeat_ok), doing nothing else: what loopback TCP and one thread
// per side allow for this request/response pattern.
class EchoServer {
 public:
  ~EchoServer() { stop(); }

  bool start(const std::vector<int>& cpus, std::string& error) {
    lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (lfd_ < 0 || ::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(lfd_, 4096) != 0 ||
        ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      error = std::string("echo server: ") + std::strerror(errno);
      return false;
    }
    port_ = ntohs(a.sin_port);
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    for (int fd : {lfd_, stop_fd_}) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
    }
    thread_ = std::thread([this] { loop(); });
    ::pthread_getcpuclockid(thread_.native_handle(), &cpu_clock_);
    if (!cpus.empty()) {
      cpu_set_t set;
      CPU_ZERO(&set);
      for (int c : cpus) CPU_SET(c, &set);
      ::pthread_setaffinity_np(thread_.native_handle(), sizeof set, &set);
    }
    return true;
  }

  uint16_t port() const { return port_; }

  double cpu_seconds() const {
    timespec ts{};
    ::clock_gettime(cpu_clock_, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
  }

  void stop() {
    if (!thread_.joinable()) return;
    const uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
    thread_.join();
    for (int fd : {lfd_, stop_fd_, ep_})
      if (fd >= 0) ::close(fd);
  }

 private:
  struct Conn {
    std::string in, out;
    size_t out_off = 0;
    bool armed = false;
  };

  void loop() {
    static const std::string reply = wire::json_frame("{\"time\":1767225600,\"type\":\"heartbeat_ok\"}");
    std::vector<std::unique_ptr<Conn>> conns;  // by fd
    std::vector<epoll_event> evs(1024);
    std::vector<char> buf(1 << 16);
    auto drop = [&](int fd) {
      ::close(fd);
      conns[size_t(fd)].reset();
    };
    auto send_out = [&](int fd, Conn& c) {
      while (c.out_off < c.out.size()) {
        const ssize_t n = ::send(fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
        if (n > 0) {
          c.out_off += size_t(n);
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        return false;
      }
      const bool pending = c.out_off < c.out.size();
      if (!pending) {
        c.out.clear();
        c.out_off = 0;
      }
      if (pending != c.armed) {
        epoll_event ev{};
        ev.events = EPOLLIN | (pending ? uint32_t(EPOLLOUT) : 0u);
        ev.data.fd = fd;
        ::epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &ev);
        c.armed = pending;
      }
      return true;
    };
    for (;;) {
      const int n = ::epoll_wait(ep_, evs.data(), int(evs.size()), -1);
      for (int k = 0; k < n; ++k) {
        const int fd = evs[size_t(k)].data.fd;
        if (fd == stop_fd_) {
          for (size_t f = 0; f < conns.size(); ++f)
            if (conns[f]) ::close(int(f));
          return;
        }
        if (fd == lfd_) {
          for (int c; (c = ::accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
            const int one = 1;
            ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (conns.size() <= size_t(c)) conns.resize(size_t(c) + 1);
            conns[size_t(c)] = std::make_unique<Conn>();
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.fd = c;
            ::epoll_ctl(ep_, EPOLL_CTL_ADD, c, &ev);
          }
          continue;
        }
        if (size_t(fd) >= conns.size() || !conns[size_t(fd)]) continue;
        Conn& c = *conns[size_t(fd)];
        if (evs[size_t(k)].events & EPOLLOUT) {
          if (!send_out(fd, c)) {
            drop(fd);
            continue;
          }
        }
        if (!(evs[size_t(k)].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
        bool closed = false;
        for (;;) {
          const ssize_t r = ::read(fd, buf.data(), buf.size());
          if (r > 0) {
            c.in.append(buf.data(), size_t(r));
            if (size_t(r) < buf.size()) break;
            continue;
          }
          if (r < 0 && errno == EINTR) continue;
          if (r < 0 && errno == EAGAIN) break;
          closed = true;
          break;
        }
        size_t off = 0;
        while (c.in.size() - off >= 4) {
          const uint32_t len = be32(c.in.data() + off);
          if (len > wire::kMaxFrame) {
            closed = true;
            break;
          }
          if (c.in.size() - off - 4 < len) break;
          c.out += reply;
          off += 4 + len;
        }
        c.in.erase(0, off);
        if (closed || !send_out(fd, c)) drop(fd);
      }
    }
  }

  int lfd_ = -1, ep_ = -1, stop_fd_ = -1;
  uint16_t port_ = 0;
  clockid_t cpu_clock_{};
  std::thread thread_;
};

// ---- the benchmark ------------------------------------------------------------------------------

struct Options {
  std::string server;
  std::string dir;
  double seconds = 3;
  double warmup_s = 0.3;
  std::vector<size_t> conns = {1, 64, 1024};
  int depth = 1;
  int deep_depth = 16;
  size_t deep_conns = 64;
  size_t pool = 1024;
  uint64_t rss_nodes = 1'000'000;
  uint64_t max_registrations = 200'000;
  uint64_t max_requests = 0;         // per run; 0 = time-bounded only
  size_t admin_nodes = 10'000;       // registered before the admin part (the dashboard walks them)
  int admin_rounds = 2;              // admin part: alone, (polled, alone) x rounds
  uint64_t admin_interleave_s = 60;  // admin part: the run with the poller on and off in turns
  int admin_conns = 4;               // the poller's connections
  bool admin_keep_alive = true;
  std::vector<std::string> admin_paths = kAdminPaths;
  std::string admin_poller_cpu = "client";  // client, other (than the client's), any
  bool quick = false;
  bool keep = false;
  std::string pin = "client";  // none, client, split
  // Open-loop runs offer this share of the closed-loop peak: latency at a load the
  // server sustains, not at saturation, where it only measures the queue (Little's law).
  double open_load = 0.25;
  std::set<std::string> only;
  bool want(const char* part) const { return only.empty() || only.count(part) != 0; }
};

enum class Mode { kClosed, kDeep, kOpen };

// One operation under test.
struct Op {
  std::string key;    // raw, hb-json, …
  std::string name;   // in the targets summary
  std::string title;  // section heading
  const std::vector<std::string>* frames = nullptr;
  bool binary = false;
  bool durable = false;  // registrations: each frame once
  Expect expect;
  double target_rate = 0;  // throughput target, 0 = none
};

struct Measured {
  std::string op;
  Mode mode = Mode::kClosed;
  size_t conns = 0;
  int depth = 0;
  double offered = 0;  // open loop
  bool ok = false;
  std::string error;
  RunResult r;
  std::vector<std::string> snapshot_lines;  // background snapshots during (or right after) the run
  std::vector<double> disturbed;            // "other" of the attempts measured again
  std::string server_tails;                 // open loop: long loop iterations and fdatasyncs
};

class RpcBench {
 public:
  explicit RpcBench(Options o) : o_(std::move(o)) {}

  int run() {
    if (!setup_dirs()) return 1;
    {
      cpu_set_t allowed;
      if (::sched_getaffinity(0, sizeof allowed, &allowed) == 0)
        for (int c = 0; c < CPU_SETSIZE; ++c)
          if (CPU_ISSET(c, &allowed)) all_cpus_.push_back(c);
    }
    if (o_.pin != "none") pin_cpus();
    print_header();
    if (!all_cpus_.empty()) {
      const double secs = o_.quick ? 0.1 : 2;
      for (int attempt = 0;; ++attempt) {
        progress("jitter: a thread spinning on each CPU for %.1f s", secs);
        const double busy0 = machine_busy_seconds(), self0 = process_cpu_seconds("/proc/self/stat");
        jitter_ = probe_jitter(all_cpus_, secs);
        jitter_seconds_ = secs;
        jitter_other_ =
            std::max(0.0, machine_busy_seconds() - busy0 - (process_cpu_seconds("/proc/self/stat") - self0)) / secs;
        if (o_.quick || attempt == 2 || jitter_other_ < kBusyOther) break;
        progress("jitter: other processes used %.0f%% of a core: measuring again", jitter_other_ * 100);
        wait_machine_quiet(60);
      }
    }

    if (o_.want("raw") || o_.want("heartbeat") || o_.want("lookup") || o_.want("resolve") || o_.want("register")) {
      if (!echo_.start(server_cpus_, error_)) return fail_hard("echo server");
      // With the admin server: the open-loop rows read the loop thread's iteration
      // and fdatasync histograms from /metrics (server_tails.h).
      if (!start_server(server_, o_.dir + "/rpc-data", {"--http", "127.0.0.1:0"})) return fail_hard("server");
      if (!setup_pool(o_.pool)) return fail_hard("node pool");
      define_ops();
      measure_requests();
      if (o_.want("register")) measure_registrations();
      server_.stop();
      echo_.stop();
    }
    if (o_.want("admin")) measure_admin();
    if (o_.want("rss") && o_.rss_nodes > 0) measure_rss();

    std::printf("load average at end %s\n\n", load_average().c_str());
    report();
    rep_.print(stdout);
    std::fflush(stdout);
    if (!o_.keep) {
      std::error_code ec;
      std::filesystem::remove_all(o_.dir, ec);
    }
    return failed_ ? 1 : 0;
  }

 private:
  // ---- setup ----

  bool setup_dirs() { return make_bench_dir(o_.dir, "pilot-bench rpc", o_.dir, base_note_); }

  // The client thread stays on one CPU, so it never migrates and never takes the
  // server's core; with "split" the server (and the echo thread) are kept off it too,
  // which also keeps the server's writer and snapshot threads on the loop's core.
  void pin_cpus() {
    cpu_set_t allowed;
    if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) < 2) return;
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &allowed)) {
        if (client_cpu_ >= 0) server_cpus_.push_back(client_cpu_);
        client_cpu_ = c;
      }
    cpu_set_t mine;
    CPU_ZERO(&mine);
    CPU_SET(client_cpu_, &mine);
    if (::sched_setaffinity(0, sizeof mine, &mine) != 0) {
      client_cpu_ = -1;
      server_cpus_.clear();
    } else if (o_.pin != "split") {
      // Threads and children inherit the pinned mask: give the server and the echo
      // thread every CPU explicitly.
      server_cpus_ = all_cpus_;
    }
  }

  void print_header() {
    std::printf("pilot-bench rpc%s\n",
                o_.quick ? " --quick (smoke run: small sizes, numbers are not a measurement)" : "");
    std::printf("machine   : %s\n", machine_line().c_str());
    std::printf("build     : %s; load average at start %s\n", client_build_kind(), load_average().c_str());
    std::printf("server    : %s\n", o_.server.c_str());
    std::printf(
        "            --registry-addr 127.0.0.1:0 --fsync always --beacon=false --http 127.0.0.1:0 (its /metrics\n"
        "            gives the loop notes; memory part: --http \"\"; admin part: + --admin-token <random>),\n"
        "            PILOT_REGISTRY_NORATELIMIT=1, fresh data dir\n");
    std::printf("bench dir : %s\n            %s\n", o_.dir.c_str(), mount_of(o_.dir).c_str());
    if (!base_note_.empty()) std::printf("            note: %s\n", base_note_.c_str());
    if (in_memory_fs(o_.dir))
      std::printf("            WARNING: in memory: fdatasync is free here, durable registrations mean nothing\n");
    std::string conns;
    for (size_t c : o_.conns) conns += (conns.empty() ? "" : ", ") + std::to_string(c);
    std::printf("client    : one epoll thread, non-blocking loopback sockets with TCP_NODELAY, every frame built\n");
    std::printf("            before timing; %s connections, closed loop with depth %d (requests in flight per\n",
                conns.c_str(), o_.depth);
    std::printf("            connection); %.1f s warm-up, then %.1f s measured per row\n", o_.warmup_s, o_.seconds);
    if (client_cpu_ >= 0 && o_.pin == "split") {
      std::string cpus;
      for (int c : server_cpus_) cpus += (cpus.empty() ? "" : ",") + std::to_string(c);
      std::printf("pinning   : client thread on CPU %d; server process and echo thread on CPU %s\n", client_cpu_,
                  cpus.c_str());
    } else if (client_cpu_ >= 0) {
      std::printf("pinning   : client thread on CPU %d; server process and echo thread anywhere (the server's\n",
                  client_cpu_);
      std::printf("            log writer and snapshot threads can use the client core's idle time)\n");
    } else {
      std::printf("pinning   : none\n");
    }
    std::printf("columns   : CPU in %% of one core over the measured window: srv cpu = the server process, all\n");
    std::printf("            threads (loop = its loop thread alone), or the echo thread; cli cpu = the client\n");
    std::printf("            thread; other = the rest of the machine (other processes, kernel threads, steal)\n");
    std::fflush(stdout);
  }

  int fail_hard(const char* what) {
    progress("%s FAILED: %s", what, error_.c_str());
    std::printf("\n%s FAILED: %s\n", what, error_.c_str());
    std::fflush(stdout);
    if (!o_.keep) {
      server_.stop();
      echo_.stop();
      std::error_code ec;
      std::filesystem::remove_all(o_.dir, ec);
    }
    return 1;
  }

  bool start_server(ServerProcess& s, const std::string& data_dir, const std::vector<std::string>& http_args = {}) {
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (!s.start(o_.server, data_dir, ServerArgs{server_cpus_, http_args, {}, false}, error_)) return false;
    progress("server: pid %d listening on 127.0.0.1:%u (data dir %s)", int(s.pid()), s.port(), data_dir.c_str());
    if (s.admin_port()) progress("server: admin HTTP on 127.0.0.1:%u", s.admin_port());
    return true;
  }

  // Registers `n` nodes (signed, as a daemon does) and makes every node public, so
  // resolves succeed without trust pairs; then builds every request frame.
  bool setup_pool(size_t n) {
    progress("setup: registering %zu nodes (signed) and making them public", n);
    for (auto* v : {&hb_json_, &hb_bin_, &lookup_json_, &lookup_bin_, &resolve_json_, &resolve_bin_}) v->clear();
    std::vector<KeyPair> keys;
    std::vector<std::string> frames, replies;
    for (size_t i = 0; i < n; ++i) {
      keys.push_back(key_from(1, i));
      frames.push_back(register_json(encode_public_key(keys.back().public_key), i, &keys.back()));
    }
    if (!exchange(server_.port(), frames, replies, error_)) return false;
    ids_.clear();
    for (const std::string& r : replies) {
      const std::string id = json_value(r, "node_id");
      if (r.find("\"type\":\"register_ok\"") == std::string::npos || id.empty()) {
        error_ = "pool registration failed: " + r.substr(0, 200);
        return false;
      }
      ids_.push_back(uint32_t(std::strtoul(id.c_str(), nullptr, 10)));
    }
    frames.clear();
    for (size_t i = 0; i < n; ++i)
      frames.push_back(set_public_json(ids_[i], keys[i].sign("set_visibility:" + std::to_string(ids_[i]))));
    if (!exchange(server_.port(), frames, replies, error_)) return false;
    for (const std::string& r : replies)
      if (r.find("\"type\":\"set_visibility_ok\"") == std::string::npos) {
        error_ = "set_visibility failed: " + r.substr(0, 200);
        return false;
      }
    // Node i resolves node i+1: every resolve is a different (requester, target) pair.
    for (size_t i = 0; i < n; ++i) {
      const uint32_t id = ids_[i], target = ids_[(i + 1) % n];
      const Signature hb = keys[i].sign(wire::heartbeat_challenge(id));
      const Signature rs = keys[i].sign(wire::resolve_challenge(id, target));
      hb_json_.push_back(heartbeat_json(id, hb));
      hb_bin_.push_back(wire::binary_frame(wire::MsgType::kHeartbeat, wire::encode(wire::HeartbeatRequest{id, hb})));
      lookup_json_.push_back(lookup_json(id));
      lookup_bin_.push_back(wire::binary_frame(wire::MsgType::kLookup, wire::encode(wire::LookupRequest{id})));
      resolve_json_.push_back(resolve_json(id, target, rs));
      resolve_bin_.push_back(
          wire::binary_frame(wire::MsgType::kResolve, wire::encode(wire::ResolveRequest{target, id, rs})));
    }
    // The cost of one Ed25519 verify here, to read the registration numbers against.
    const std::string msg = "register:0.0.0.0:20000:" + encode_public_key(keys[0].public_key);
    const Signature sig = keys[0].sign(msg);
    const int64_t t0 = mono_ns();
    int verified = 0;
    const int reps = o_.quick ? 50 : 2000;
    for (int i = 0; i < reps; ++i) verified += ed25519_verify(keys[0].public_key, msg, sig) ? 1 : 0;
    verify_us_ = double(mono_ns() - t0) / 1e3 / reps;
    if (verified != reps) {
      error_ = "ed25519_verify failed on our own signature";
      return false;
    }
    return true;
  }

  void define_ops() {
    auto json_ok = [](const char* type) {
      Expect e;
      e.ok_json = std::string("\"type\":\"") + type + "\"";
      return e;
    };
    auto bin_ok = [](wire::MsgType t) {
      Expect e;
      e.binary = true;
      e.ok_type = uint8_t(t);
      return e;
    };
    Expect none;
    none.check = false;
    ops_ = {
        {"raw", "raw echo",
         "raw limit: in-bench echo server (epoll, 1 thread), JSON heartbeat frames in, 45-byte frame out", &hb_json_,
         false, false, none, 0},
        {"hb-json", "JSON heartbeats", "heartbeat, JSON, signed (" + std::to_string(o_.pool) + " registered nodes)",
         &hb_json_, false, false, json_ok("heartbeat_ok"), kTargetJsonHeartbeats},
        {"hb-bin", "binary heartbeats", "heartbeat, binary PILT 0x01, signed", &hb_bin_, true, false,
         bin_ok(wire::MsgType::kHeartbeatResponse), kTargetBinaryHeartbeats},
        {"lookup-json", "JSON lookups", "lookup, JSON (public nodes)", &lookup_json_, false, false,
         json_ok("lookup_ok"), 0},
        {"lookup-bin", "binary lookups", "lookup, binary 0x02", &lookup_bin_, true, false,
         bin_ok(wire::MsgType::kLookupResponse), 0},
        {"resolve-json", "JSON resolves", "resolve, JSON, signed by the requester (node i resolves node i+1)",
         &resolve_json_, false, false, json_ok("resolve_ok"), 0},
        {"resolve-bin", "binary resolves", "resolve, binary 0x03, signed", &resolve_bin_, true, false,
         bin_ok(wire::MsgType::kResolveResponse), 0},
        {"register", "durable registrations", "new registrations, durable (fsync always), fresh key + signature each",
         &reg_frames_, false, true, json_ok("register_ok"), kTargetRegistrations},
    };
  }

  const Op& op(const std::string& key) const {
    for (const Op& o : ops_)
      if (o.key == key) return o;
    return ops_[0];
  }

  bool want_op(const Op& op) const {
    if (op.key == "raw")
      return o_.want("raw") || o_.want("heartbeat") || o_.want("lookup") || o_.want("resolve") || o_.want("register");
    if (op.key.rfind("hb", 0) == 0) return o_.want("heartbeat");
    if (op.key.rfind("lookup", 0) == 0) return o_.want("lookup");
    if (op.key.rfind("resolve", 0) == 0) return o_.want("resolve");
    return o_.want("register");
  }

  // ---- measurements ----

  void wait_machine_quiet(double max_seconds) {
    pilot::bench::wait_machine_quiet(max_seconds, [this] { return server_.cpu_seconds(); });
  }

  Measured* measure(const Op& op, Mode mode, size_t conns, int depth, double offered) {
    Measured m;
    m.op = op.key;
    m.mode = mode;
    m.conns = conns;
    m.depth = depth;
    m.offered = offered;
    const bool raw = op.key == "raw";
    RunConfig cfg;
    cfg.port = raw ? echo_.port() : server_.port();
    cfg.conns = conns;
    cfg.depth = depth;
    cfg.open_rate = offered;
    cfg.warmup_s = o_.warmup_s;
    cfg.seconds = o_.seconds;
    cfg.max_requests = o_.max_requests;
    cfg.binary = op.binary;
    cfg.expect = op.expect;
    cfg.server_in_process = raw;
    if (raw)
      cfg.server_cpu = [this] { return echo_.cpu_seconds(); };
    else
      cfg.server_cpu = [this] { return server_.cpu_seconds(); };
    if (!raw) cfg.server_loop_cpu = [this] { return server_.loop_cpu_seconds(); };
    const std::string label = row_label(m);
    for (int attempt = 0;; ++attempt) {
      if (!raw && !o_.quick && !server_.wait_idle(60))
        progress("  (the server was still busy after 60 s; measuring anyway)");
      const size_t snaps0 = raw ? 0 : server_.snapshots();
      const size_t pos0 = reg_pos_;
      std::unique_ptr<Source> src;
      if (op.durable)
        src = std::make_unique<OnceSource>(*op.frames, reg_pos_);
      else
        src = std::make_unique<CyclicSource>(*op.frames, conns);
      m.r = RunResult{};
      m.error.clear();
      cfg.every_tick = tick_hook_;
      cfg.tick_s = tick_s_;
      ServerTailWatch tail_watch(server_.admin_port());
      cfg.on_window = nullptr;
      if (mode == Mode::kOpen && !raw && server_.admin_port() != 0)
        cfg.on_window = [&tail_watch](bool begin) { tail_watch.mark(begin); };
      if (around_run_) around_run_(true);
      m.ok = run_load(cfg, *src, m.r, m.error);
      if (around_run_) around_run_(false);
      m.server_tails = tail_watch.describe();
      if (!raw && !o_.quick) {
        // A background snapshot started by this run's records belongs to this run, even
        // if it finishes after it: wait for it here.
        server_.wait_idle(120, op.durable ? 6 : 1);
        m.snapshot_lines = server_.snapshot_lines(snaps0);
      }
      if (!raw && !server_.alive()) {
        m.ok = false;
        m.error = "the server died; its last output:\n" + server_.tail_text(12);
      }
      // 2 cores: another process using a third of one takes it from the client or the
      // server. Measure again once the machine is quiet (up to twice).
      if (!m.ok || o_.quick || attempt == 2 || m.r.other_cores < kBusyOther) break;
      progress("  %-13s %-34s other processes used %.0f%% of a core: measuring again", op.key.c_str(), label.c_str(),
               m.r.other_cores * 100);
      m.disturbed.push_back(m.r.other_cores);
      wait_machine_quiet(60);
      if (op.durable) top_up_registrations(reg_frames_.size() - reg_pos_ + (reg_pos_ - pos0));
    }
    if (m.ok) {
      progress("  %-13s %-34s %12s req/s  p50 %-9s p99 %-9s errors %s%s", op.key.c_str(), label.c_str(),
               commas(m.r.rate).c_str(), latency_text(m.r.p50_ns).c_str(), latency_text(m.r.p99_ns).c_str(),
               commas(double(m.r.errors)).c_str(),
               m.r.first_error.empty() ? "" : (" (" + m.r.first_error + ")").c_str());
      if (!m.server_tails.empty()) progress("    %s", m.server_tails.c_str());
    } else {
      progress("  %-13s %-34s FAILED: %s", op.key.c_str(), label.c_str(), m.error.c_str());
      failed_ = true;
    }
    results_.push_back(std::move(m));
    return &results_.back();
  }

  const Measured* find(const std::string& op, Mode mode, size_t conns) const {
    for (const Measured& m : results_)
      if (m.op == op && m.mode == mode && m.conns == conns && m.ok) return &m;
    return nullptr;
  }

  size_t max_conns() const { return *std::max_element(o_.conns.begin(), o_.conns.end()); }

  // Heartbeats, lookups, resolves and their raw reference: closed loop at each
  // connection count, then deep pipelining, then open loop at half the peak.
  void measure_requests() {
    static const char* kOrder[] = {"raw",        "hb-json",      "hb-bin",     "lookup-json",
                                   "lookup-bin", "resolve-json", "resolve-bin"};
    for (size_t c : o_.conns) {
      progress("closed loop, %zu connection%s, depth %d:", c, c == 1 ? "" : "s", o_.depth);
      for (const char* k : kOrder)
        if (want_op(op(k))) measure(op(k), Mode::kClosed, c, o_.depth, 0);
    }
    if (o_.deep_depth > 0 && o_.want("deep")) {
      progress("closed loop, %zu connections, depth %d:", o_.deep_conns, o_.deep_depth);
      for (const char* k : kOrder)
        if (want_op(op(k))) measure(op(k), Mode::kDeep, o_.deep_conns, o_.deep_depth, 0);
    }
    if (o_.want("latency")) {
      const size_t c = max_conns();
      progress("open loop, %zu connections, %.0f%% of each op's closed-loop rate at %zu connections:", c,
               o_.open_load * 100, c);
      for (const char* k : kOrder) {
        if (std::string(k) == "raw" || !want_op(op(k))) continue;
        const Measured* peak = find(k, Mode::kClosed, c);
        if (!peak || peak->r.rate <= 0) continue;
        const double rate = o_.open_load * peak->r.rate;
        measure(op(k), Mode::kOpen, c, 1, rate);
        // The client, loopback and this machine's jitter alone at (about) the same rate:
        // the latency floor the server's numbers sit on.
        if (!raw_open_near(rate)) measure(op("raw"), Mode::kOpen, c, 1, rate);
      }
    }
  }

  // A raw open-loop run within 10% of `rate`, if there is one.
  const Measured* raw_open_near(double rate) const {
    const Measured* best = nullptr;
    for (const Measured& m : results_)
      if (m.op == "raw" && m.mode == Mode::kOpen && m.ok && std::abs(m.offered - rate) <= 0.1 * rate &&
          (!best || std::abs(m.offered - rate) < std::abs(best->offered - rate)))
        best = &m;
    return best;
  }

  // Makes sure `want` unused registration frames are ready (keygen + signature each,
  // before the clock starts); the consumed ones are dropped.
  void top_up_registrations(size_t want) {
    want = std::min<size_t>(want, size_t(o_.max_registrations));
    const size_t left = reg_frames_.size() - reg_pos_;
    if (left >= want) return;
    reg_frames_.erase(reg_frames_.begin(), reg_frames_.begin() + ptrdiff_t(reg_pos_));
    reg_pos_ = 0;
    const int64_t t0 = mono_ns();
    const size_t add = want - left;
    for (size_t k = 0; k < add; ++k, ++reg_next_) {
      const KeyPair kp = key_from(2, reg_next_);
      reg_frames_.push_back(register_json(encode_public_key(kp.public_key), reg_next_, &kp));
    }
    const double s = double(mono_ns() - t0) / 1e9;
    keygen_count_ += add;
    keygen_seconds_ += s;
    progress("  pre-built %s signed registrations in %.1f s", commas(double(add)).c_str(), s);
  }

  // Registrations: each needs a fresh key, so the frames are a pool consumed once. A
  // short calibration sizes the pool for each run (capped by --max-registrations).
  void measure_registrations() {
    const Op& reg = op("register");
    double r1 = 0, rmany = 0;
    auto need = [&](double rate, size_t conns, int depth) {
      return size_t(rate * (o_.warmup_s + o_.seconds) * 1.5) + conns * size_t(depth) + 100;
    };
    if (o_.quick) {
      r1 = rmany = 1000;
    } else {
      progress("registrations: calibrating the pool size");
      const double seconds = o_.seconds, warm = o_.warmup_s;
      o_.seconds = 0.3;
      o_.warmup_s = 0.05;
      top_up_registrations(6000);
      Measured* a = measure(reg, Mode::kClosed, 1, 1, 0);
      top_up_registrations(20000);
      Measured* b = measure(reg, Mode::kClosed, std::min<size_t>(64, max_conns()), 1, 0);
      r1 = a->ok ? a->r.rate : 10000;
      rmany = b->ok ? b->r.rate : 30000;
      results_.pop_back();  // the calibration rows are not results
      results_.pop_back();
      o_.seconds = seconds;
      o_.warmup_s = warm;
    }
    for (size_t c : o_.conns) {
      progress("registrations, %zu connection%s, depth %d:", c, c == 1 ? "" : "s", o_.depth);
      top_up_registrations(need(c == 1 ? r1 * 1.2 : rmany * 1.5, c, o_.depth));
      measure(reg, Mode::kClosed, c, o_.depth, 0);
    }
    if (o_.deep_depth > 0 && o_.want("deep")) {
      progress("registrations, %zu connections, depth %d:", o_.deep_conns, o_.deep_depth);
      top_up_registrations(need(rmany * 3, o_.deep_conns, o_.deep_depth));
      measure(reg, Mode::kDeep, o_.deep_conns, o_.deep_depth, 0);
    }
    if (o_.want("latency")) {
      const size_t c = max_conns();
      if (const Measured* peak = find("register", Mode::kClosed, c); peak && peak->r.rate > 0) {
        progress("registrations, open loop, %zu connections:", c);
        const double rate = o_.open_load * peak->r.rate;
        top_up_registrations(need(rate, c, 1));
        measure(reg, Mode::kOpen, c, 1, rate);
      }
    }
  }

  // A fresh server, --rss-nodes unsigned registrations over 64 pipelined connections,
  // then the server's resident memory.
  void measure_rss() {
    const uint64_t n = o_.rss_nodes;
    progress("rss: fresh server, registering %s nodes (unsigned, 64 connections x 16 in flight)",
             commas(double(n)).c_str());
    ServerProcess s;
    if (!start_server(s, o_.dir + "/rss-data")) {
      rss_error_ = error_;
      failed_ = true;
      return;
    }
    s.wait_idle(10);
    rss_empty_ = s.status_bytes("VmRSS");
    RunConfig cfg;
    cfg.port = s.port();
    cfg.conns = 64;
    cfg.depth = 16;
    cfg.warmup_s = 0;
    cfg.seconds = 1e9;  // until the source runs dry
    cfg.expect.ok_json = "\"type\":\"register_ok\"";
    cfg.server_cpu = [&s] { return s.cpu_seconds(); };
    cfg.every_tick = [n](uint64_t done) {
      progress("  rss: %s / %s registered", commas(double(done)).c_str(), commas(double(n)).c_str());
    };
    // Random 32-byte keys: an unsigned registration needs no key pair, just 32 bytes.
    GenSource src(n, [](uint64_t i, std::string& out) {
      PublicKey k;
      uint64_t seed = 0x7255000000000000ull + i;
      for (size_t b = 0; b < k.size(); b += 8) {
        const uint64_t v = splitmix64(seed);
        std::memcpy(k.data() + b, &v, 8);
      }
      out += register_json(encode_public_key(k), i, nullptr);
    });
    const int64_t t0 = mono_ns();
    RunResult r;
    std::string err;
    if (!run_load(cfg, src, r, err)) {
      rss_error_ = err;
      failed_ = true;
      return;
    }
    rss_fill_s_ = double(mono_ns() - t0) / 1e9;
    rss_errors_ = r.errors;
    rss_first_error_ = r.first_error;
    rss_registered_ = r.replies - r.errors;
    rss_after_ = s.status_bytes("VmRSS");
    // A background snapshot (a second copy of the state while it runs) may be under way:
    // let it finish, then read again; the peak is reported too.
    s.wait_idle(o_.quick ? 5 : 120, o_.quick ? 1 : 6);
    rss_settled_ = s.status_bytes("VmRSS");
    rss_peak_ = s.status_bytes("VmHWM");
    rss_snapshots_ = s.snapshots();
    rss_ran_ = true;
    progress("rss: %.0f MiB after %s registrations (%.0f MiB peak)", double(rss_settled_) / (1 << 20),
             commas(double(rss_registered_)).c_str(), double(rss_peak_) / (1 << 20));
    s.stop();
  }

  // ---- admin reads vs the RPC path (issue 6) ----

  // A fresh server with the admin HTTP server on and --admin-nodes registered nodes
  // (so /api/dashboard and /metrics walk something), then signed JSON heartbeats at 64
  // connections, closed loop: alone, with kAdminPollRate GETs/s cycling through
  // kAdminPaths, alone again, … (--admin-rounds polled runs, each between two alone
  // runs, so a drift of the machine shows as a difference between the alone runs).
  // Then the same GETs with no RPC load, per path, for the server CPU each one costs.
  void measure_admin() {
    admin_token_ = random_token();
    progress("admin: fresh server with --http 127.0.0.1:0 --admin-token <random>");
    if (!start_server(server_, o_.dir + "/admin-data", {"--http", "127.0.0.1:0", "--admin-token", admin_token_}) ||
        !setup_pool(o_.admin_nodes)) {
      admin_error_ = error_;
      failed_ = true;
      server_.stop();
      return;
    }
    if (ops_.empty()) define_ops();
    admin_conns_ = std::min<size_t>(64, max_conns());
    // By default the poller shares the client's CPU: both stand for other machines (a
    // dashboard, Prometheus, the daemons), and the server keeps the other CPU to itself.
    AdminPollOptions po;
    po.port = server_.admin_port();
    po.token = admin_token_;
    po.rate = kAdminPollRate;
    po.paths = o_.admin_paths;
    for (int c : all_cpus_)
      if (o_.admin_poller_cpu == "any" || (o_.admin_poller_cpu == "client") == (c == client_cpu_)) po.cpus.push_back(c);
    po.min_requests = o_.quick ? po.paths.size() : 0;  // the smoke run checks every path once
    po.connections = o_.admin_conns;
    po.keep_alive = o_.admin_keep_alive;

    Op alone = op("hb-json"), polled = alone;
    alone.key = "admin-alone";
    polled.key = "admin-polled";
    AdminPoller poller(po);
    bool polling = false, interleaving = false;
    AdminPollStats last_poll;
    Switches sw0, sw;
    int64_t primed_ns = 0, sw_t0 = 0;
    // The interleaved run: the poller paused and resumed at every tick of the load run.
    const double phase_s = o_.quick ? 0.1 : 1.0;
    int64_t tick_ns = 0, window_end_ns = 0;
    uint64_t tick_replies = 0;
    bool on = false;
    around_run_ = [&](bool starting) {
      if (starting) {
        // The server verifies a node's heartbeat signature once per 120 s: a round of
        // every node's heartbeat (untimed) keeps those verifies out of the runs, as long
        // as the run ends within 120 s of it (longer runs get one round at the start).
        if (mono_ns() - primed_ns > int64_t((110 - o_.warmup_s - o_.seconds) * 1e9)) {
          std::vector<std::string> replies;
          std::string err;
          if (!exchange(server_.port(), hb_json_, replies, err)) progress("admin: priming heartbeats: %s", err.c_str());
          primed_ns = mono_ns();
        }
        if (interleaving) {
          admin_phases_.clear();
          tick_ns = 0;
          on = false;
          poller.pause(true);
          // Ticks after the window (while the run drains) are no phase.
          window_end_ns = mono_ns() + int64_t((o_.warmup_s + o_.seconds) * 1e9);
        }
        if (polling) poller.start();
        sw0 = server_.switches();
        sw_t0 = mono_ns();
      } else {
        sw = server_.switches() - sw0;
        sw.seconds = double(mono_ns() - sw_t0) / 1e9;
        if (polling) last_poll = poller.stop();
      }
    };
    tick_hook_ = [&](uint64_t replies) {
      if (!interleaving) return;
      const int64_t now = mono_ns();
      // The first tick (warm-up and connecting behind it) starts the first phase, off.
      if (tick_ns != 0 && now <= window_end_ns && now - tick_ns >= int64_t(0.9 * phase_s * 1e9))
        admin_phases_.push_back({double(now - tick_ns) / 1e9, replies - tick_replies, on});
      if (tick_ns != 0) on = !on;
      tick_ns = now;
      tick_replies = replies;
      poller.pause(!on);
    };
    auto run = [&](bool with_poll) {
      if (!o_.quick) wait_machine_quiet(60);
      polling = with_poll;
      last_poll = AdminPollStats{};
      const Measured* m = measure(with_poll ? polled : alone, Mode::kClosed, admin_conns_, 1, 0);
      admin_runs_.push_back({m, with_poll, last_poll, sw});
      if (with_poll) {
        progress("  admin poller: %.1f GET/s answered, HTTP p50 %s p99 %s, %s errors%s", last_poll.rate,
                 latency_text(last_poll.p50_ns).c_str(), latency_text(last_poll.p99_ns).c_str(),
                 commas(double(last_poll.errors)).c_str(),
                 last_poll.first_error.empty() ? "" : (" (" + last_poll.first_error + ")").c_str());
        if (last_poll.errors > 0) failed_ = true;
      }
    };
    progress("admin: JSON heartbeats, %zu connections, alone and with %.0f admin GETs/s (%d rounds):", admin_conns_,
             kAdminPollRate, o_.admin_rounds);
    run(false);
    for (int r = 0; r < o_.admin_rounds; ++r) {
      run(true);
      run(false);
    }

    // Runs seconds apart differ by more than the effect (the machine drifts): one long
    // run with the poller on and off in turns of a second compares like with like.
    {
      const double seconds = o_.seconds, warmup = o_.warmup_s;
      const uint64_t max_requests = o_.max_requests;
      o_.seconds = o_.quick ? 0.45 : double(o_.admin_interleave_s);
      o_.warmup_s = o_.quick ? 0 : warmup;
      o_.max_requests = 0;
      tick_s_ = phase_s;
      progress("admin: one %.0f s run, the poller on and off in turns of %.1f s:", o_.seconds, phase_s);
      if (!o_.quick) wait_machine_quiet(60);
      polling = interleaving = true;
      Op mixed = alone;
      mixed.key = "admin-mixed";
      admin_mixed_ = measure(mixed, Mode::kClosed, admin_conns_, 1, 0);
      std::string rates;
      for (const AdminPhase& p : admin_phases_)
        rates += strf(" %s%.0fk", p.polled ? "+" : "", double(p.replies) / p.seconds / 1e3);
      progress("  phase rates (+ = polled):%s", rates.c_str());
      admin_mixed_poll_ = last_poll;
      admin_mixed_switches_ = sw;
      polling = interleaving = false;
      tick_s_ = 1;
      o_.seconds = seconds;
      o_.warmup_s = warmup;
      o_.max_requests = max_requests;
      if (last_poll.errors > 0) failed_ = true;
    }
    around_run_ = nullptr;
    tick_hook_ = nullptr;

    // The GETs alone: what each costs the server, on its loop thread and in all.
    progress("admin: the same GETs with no RPC load, %.1f s each:", o_.seconds);
    std::vector<std::pair<std::string, std::vector<std::string>>> sets = {{"server idle, no requests", {}}};
    if (o_.admin_paths.size() > 1) sets.push_back({"the paths in turn", o_.admin_paths});
    for (const std::string& p : o_.admin_paths) sets.push_back({p + " only", {p}});
    for (const auto& [label, paths] : sets) {
      if (!o_.quick) {
        wait_machine_quiet(60);
        server_.wait_idle(30);
      }
      AdminPollOptions one = po;
      one.paths = paths;
      one.min_requests = o_.quick ? paths.size() : 0;
      AdminPoller p(one);
      AdminIdle idle;
      idle.label = label;
      const double cpu0 = server_.precise_cpu_seconds(), loop0 = server_.precise_loop_cpu_seconds();
      const double busy0 = machine_busy_seconds(), self0 = process_cpu_seconds("/proc/self/stat");
      const int64_t t0 = mono_ns();
      const Switches sw0 = server_.switches();
      p.start();
      std::this_thread::sleep_for(std::chrono::nanoseconds(int64_t(o_.seconds * 1e9)));
      idle.poll = p.stop();
      idle.seconds = double(mono_ns() - t0) / 1e9;
      idle.switches = server_.switches() - sw0;
      idle.switches.seconds = idle.seconds;
      idle.server_cpu_s = server_.precise_cpu_seconds() - cpu0;
      idle.loop_cpu_s = server_.precise_loop_cpu_seconds() - loop0;
      idle.other_cores = std::max(0.0, machine_busy_seconds() - busy0 -
                                           (process_cpu_seconds("/proc/self/stat") - self0) - idle.server_cpu_s) /
                         idle.seconds;
      if (idle.poll.errors > 0) failed_ = true;
      progress("  %-34s %6.1f GET/s  server %.1f%% of a core (loop %.1f%%), HTTP p50 %s p99 %s", label.c_str(),
               idle.poll.rate, 100 * idle.server_cpu_s / idle.seconds, 100 * idle.loop_cpu_s / idle.seconds,
               latency_text(idle.poll.p50_ns).c_str(), latency_text(idle.poll.p99_ns).c_str());
      admin_idle_.push_back(std::move(idle));
    }
    admin_nodes_ = ids_.size();
    if (!server_.alive()) {
      admin_error_ = "the server died; its last output:\n" + server_.tail_text(12);
      failed_ = true;
    }
    server_.stop();
  }

  // ---- the report ----

  std::string row_label(const Measured& m) const {
    const std::string c = strf("%zu conn%s", m.conns, m.conns == 1 ? "" : "s");
    switch (m.mode) {
      case Mode::kClosed: return m.depth == 1 ? c : strf("%s x %d in flight", c.c_str(), m.depth);
      case Mode::kDeep: return strf("%s x %d in flight", c.c_str(), m.depth);
      case Mode::kOpen: return strf("%s, open loop %s/s", c.c_str(), commas(m.offered).c_str());
    }
    return c;
  }

  // `label` and `vs` replace the row's label and its "vs raw" cell when not empty.
  void add_row(const Measured& m, const std::string& target, const std::string& result, std::string label = "",
               const std::string& vs = "") {
    if (label.empty()) label = row_label(m);
    if (!m.ok) {
      rep_.row({label, "FAILED", "", "", "", "", "", "", "", target, result});
      rep_.note(m.error.substr(0, 300));
      return;
    }
    std::string ratio = vs;
    if (ratio.empty()) {
      if (m.op != "raw" && m.mode != Mode::kOpen)
        if (const Measured* raw = find("raw", m.mode, m.conns); raw && raw->r.rate > 0)
          ratio = ratio_text(m.r.rate / raw->r.rate);
      if (m.op == "raw" && m.mode != Mode::kOpen) ratio = "1.00x raw";
      if (m.op != "raw" && !m.op.empty() && m.mode == Mode::kOpen && m.op != "register")
        if (const Measured* raw = raw_open_near(m.offered); raw && raw->r.p99_ns > 0)
          ratio = "p99 " + ratio_text(m.r.p99_ns / raw->r.p99_ns);
    }
    const auto cores = [](double c) { return c < 0 ? std::string("-") : strf("%.0f%%", c * 100); };
    std::string srv = cores(m.r.server_cores);
    if (m.r.server_loop_cores >= 0) srv += ", loop " + cores(m.r.server_loop_cores);
    rep_.row({label, commas(m.r.rate), latency_text(m.r.p50_ns), latency_text(m.r.p99_ns), ratio,
              commas(double(m.r.errors)), srv, cores(m.r.client_cores), cores(m.r.other_cores), target, result});
    if (m.r.errors > 0) rep_.note("first error: " + m.r.first_error.substr(0, 200));
    if (m.r.ran_dry)
      rep_.note(strf("the pre-built pool ran out after %.2f s (the rate is over that window)", m.r.window_s));
    if (m.r.saturated) rep_.note("the server fell behind the offered rate (256 requests queued on a connection)");
    for (const std::string& l : m.snapshot_lines) rep_.note("background " + l + " (started during this run)");
    if (!m.server_tails.empty()) rep_.note(m.server_tails);
    if (!m.disturbed.empty()) {
      std::string others;
      for (double d : m.disturbed) others += strf("%s%.0f%%", others.empty() ? "" : ", ", d * 100);
      rep_.note("measured again: other processes used " + others + " of a core during the earlier attempt(s)");
    }
  }

  void switches_note(const Switches& s) {
    if (s.seconds <= 0) return;
    rep_.note(strf("context switches/s: loop thread %s involuntary, %s voluntary; other server threads %s, %s",
                   commas(double(s.loop_involuntary) / s.seconds).c_str(),
                   commas(double(s.loop_voluntary) / s.seconds).c_str(),
                   commas(double(s.other_involuntary) / s.seconds).c_str(),
                   commas(double(s.other_voluntary) / s.seconds).c_str()));
  }

  // The admin part's section; its target line goes to `summary`.
  void report_admin(std::vector<std::string>& summary, bool judged) {
    if (admin_runs_.empty() && admin_error_.empty()) return;
    rep_.section(
        strf("admin reads vs the RPC path: JSON heartbeats at %zu conns, alone and with %.0f admin GETs/s "
             "(%s registered nodes)",
             admin_conns_, kAdminPollRate, commas(double(admin_nodes_)).c_str()));
    if (!admin_error_.empty() && admin_runs_.empty()) {
      rep_.row({"admin part", "FAILED", "", "", "", "", "", "", "", "", ""});
      rep_.note(admin_error_.substr(0, 300));
      summary.push_back(strf("%-22s FAILED", "admin polling"));
      return;
    }
    const auto cores = [](double c) { return strf("%.0f%%", c * 100); };
    double sum_alone = 0, sum_polled = 0;
    int n_alone = 0, n_polled = 0, round = 0, alone_index = 0;
    bool all_ok = true;
    for (const AdminRun& run : admin_runs_) {
      all_ok = all_ok && run.m->ok;
      if (!run.m->ok) continue;
      (run.polled ? sum_polled : sum_alone) += run.m->r.rate;
      ++(run.polled ? n_polled : n_alone);
    }
    for (size_t i = 0; i < admin_runs_.size(); ++i) {
      const AdminRun& run = admin_runs_[i];
      if (!run.polled) {
        // Against the mean of all alone runs: how much the machine drifted.
        add_row(*run.m, "", "", strf("alone (%d)", ++alone_index),
                n_alone && run.m->ok ? strf("%.3fx mean alone", run.m->r.rate * n_alone / sum_alone) : "-");
        switches_note(run.switches);
        continue;
      }
      ++round;
      // Each polled run against the mean of the alone runs on either side of it.
      std::string vs;
      const Measured* before = admin_runs_[i - 1].m;
      const Measured* after = i + 1 < admin_runs_.size() ? admin_runs_[i + 1].m : nullptr;
      if (run.m->ok && before->ok && after && after->ok)
        vs = strf("%.3fx alone", 2 * run.m->r.rate / (before->r.rate + after->r.rate));
      add_row(*run.m, "", "", strf("+ %.0f admin GETs/s (%d)", kAdminPollRate, round), vs);
      switches_note(run.switches);
      const AdminPollStats& p = run.poll;
      std::string paths;
      for (const AdminPathStats& ps : p.paths)
        paths +=
            strf("%s%s %s/%s (%s B)", paths.empty() ? "" : "; ", ps.path.c_str(), latency_text(ps.p50_ns).c_str(),
                 latency_text(ps.p99_ns).c_str(), commas(ps.answered ? double(ps.bytes / ps.answered) : 0).c_str());
      rep_.note(strf("poller: %s GETs answered in %.2f s = %.1f/s, %s late, %s errors; HTTP p50 %s, p99 %s, max %s",
                     commas(double(p.answered)).c_str(), p.seconds, p.rate, commas(double(p.late)).c_str(),
                     commas(double(p.errors)).c_str(), latency_text(p.p50_ns).c_str(), latency_text(p.p99_ns).c_str(),
                     latency_text(p.max_ns).c_str()));
      rep_.note("  p50/p99 by path: " + paths);
      if (p.errors > 0) rep_.note("  first error: " + p.first_error.substr(0, 200));
    }
    const double ratio = n_alone && n_polled ? (sum_polled / n_polled) / (sum_alone / n_alone) : 0;
    double lo = 0, hi = 0;  // the alone runs' spread: what the machine drifts between runs
    for (const AdminRun& run : admin_runs_)
      if (!run.polled && run.m->ok) {
        lo = lo == 0 ? run.m->r.rate : std::min(lo, run.m->r.rate);
        hi = std::max(hi, run.m->r.rate);
      }
    rep_.row({strf("polled / alone (mean of %d / %d runs)", n_polled, n_alone),
              ratio > 0 ? commas(sum_polled / n_polled) + " / " + commas(sum_alone / n_alone) : "-", "", "",
              ratio > 0 ? strf("%.3f", ratio) : "-", "", "", "", "", "", ""});
    if (lo > 0)
      rep_.note(strf("the alone runs span %s..%s/s (%.0f%%): between runs the machine drifts by more than the",
                     commas(lo).c_str(), commas(hi).c_str(), 100 * (hi - lo) / lo));
    rep_.note("effect, so the target is judged on the interleaved run below");

    // The interleaved run: each polled phase against the unpolled ones on either side.
    double on_sum = 0, off_sum = 0, on_s = 0;
    int n_on = 0, n_off = 0;
    std::vector<double> pairs;
    const auto rate = [](const AdminPhase& p) { return double(p.replies) / p.seconds; };
    for (size_t k = 0; k < admin_phases_.size(); ++k) {
      const AdminPhase& p = admin_phases_[k];
      (p.polled ? on_sum : off_sum) += rate(p);
      ++(p.polled ? n_on : n_off);
      if (p.polled) on_s += p.seconds;
      if (p.polled && k > 0 && k + 1 < admin_phases_.size())
        pairs.push_back(2 * rate(p) / (rate(admin_phases_[k - 1]) + rate(admin_phases_[k + 1])));
    }
    const double mixed = n_on && n_off ? (on_sum / n_on) / (off_sum / n_off) : 0;
    const bool mixed_ok = admin_mixed_ && admin_mixed_->ok && mixed > 0 && admin_mixed_poll_.errors == 0;
    const std::string target = strf(">= %.2f", kTargetAdminRatio);
    const std::string result = !all_ok || !mixed_ok ? "FAIL"
                               : judged             ? pass_fail(mixed >= kTargetAdminRatio)
                                                    : "n/a (quick)";
    if (admin_mixed_) {
      const double phase = n_on ? on_s / n_on : 0;
      const auto cores = [](double c) { return c < 0 ? std::string("-") : strf("%.0f%%", c * 100); };
      const RunResult& r = admin_mixed_->r;
      rep_.row({strf("interleaved: %d x %.1f s polled, %d x %.1f s not", n_on, phase, n_off, phase),
                mixed > 0 ? commas(on_sum / n_on) + " / " + commas(off_sum / n_off) : "FAILED", latency_text(r.p50_ns),
                latency_text(r.p99_ns), mixed > 0 ? strf("%.3f", mixed) : "-", commas(double(r.errors)),
                cores(r.server_cores) + ", loop " + cores(r.server_loop_cores), cores(r.client_cores),
                cores(r.other_cores), target, result});
      if (!admin_mixed_->ok) rep_.note(admin_mixed_->error.substr(0, 300));
      if (!pairs.empty()) {
        std::sort(pairs.begin(), pairs.end());
        rep_.note(strf("each polled phase over the mean of its neighbours: median %.3f, range %.3f..%.3f (%zu phases)",
                       pairs[pairs.size() / 2], pairs.front(), pairs.back(), pairs.size()));
      }
      const AdminPollStats& p = admin_mixed_poll_;
      rep_.note(strf("poller: %s GETs answered, %.1f/s over the polled phases, %s errors; HTTP p50 %s, p99 %s",
                     commas(double(p.answered)).c_str(), on_s > 0 ? double(p.answered) / on_s : 0.0,
                     commas(double(p.errors)).c_str(), latency_text(p.p50_ns).c_str(), latency_text(p.p99_ns).c_str()));
      if (p.errors > 0) rep_.note("  first error: " + p.first_error.substr(0, 200));
      switches_note(admin_mixed_switches_);
      rep_.note("one closed-loop run, the poller resumed and paused (its connections closed) at every phase");
      rep_.note("boundary; req/s = mean phase rate polled / not; p50, p99 and cpu over the whole run");
    }
    rep_.note("the GETs cycle through " + join(o_.admin_paths) + " (with X-Admin-Token), open loop at");
    rep_.note(strf("fixed times over %d %sconnections (a thread each, %s); the alone runs", o_.admin_conns,
                   o_.admin_keep_alive ? "keep-alive " : "new-per-GET ",
                   o_.admin_poller_cpu == "other"    ? "off the client's CPU"
                   : o_.admin_poller_cpu == "client" ? "on the client's CPU"
                                                     : "on any CPU"));
    rep_.note("and phases use the same server, its admin HTTP server up and idle");
    summary.push_back(strf("%-22s %14.3f   polled/not, interleaved, %zu conns, %.0f GETs/s  target %s: %s",
                           "admin reads", mixed, admin_conns_, kAdminPollRate, target.c_str(), result.c_str()));

    if (admin_idle_.empty()) return;
    rep_.section(strf("the same admin GETs with no RPC load (%.0f/s, %s registered nodes)", kAdminPollRate,
                      commas(double(admin_nodes_)).c_str()));
    const AdminIdle* base = &admin_idle_[0];  // the server with no requests
    for (const AdminIdle& a : admin_idle_) {
      const bool idle = a.poll.sent == 0;
      rep_.row({a.label, idle ? "-" : strf("%.1f", a.poll.rate), latency_text(a.poll.p50_ns),
                latency_text(a.poll.p99_ns), "", idle ? "" : commas(double(a.poll.errors)),
                cores(a.server_cpu_s / a.seconds) + ", loop " + cores(a.loop_cpu_s / a.seconds),
                idle ? "-" : cores(a.poll.cpu_seconds / a.seconds), cores(a.other_cores), "", ""});
      switches_note(a.switches);
      if (idle || a.poll.answered == 0) continue;
      const double srv_us = std::max(0.0, a.server_cpu_s - base->server_cpu_s * a.seconds / base->seconds) * 1e6 /
                            double(a.poll.answered);
      const double loop_us =
          std::max(0.0, a.loop_cpu_s - base->loop_cpu_s * a.seconds / base->seconds) * 1e6 / double(a.poll.answered);
      std::string bytes;
      for (const AdminPathStats& ps : a.poll.paths)
        if (ps.answered)
          bytes += strf("%s%s B", bytes.empty() ? "" : ", ", commas(double(ps.bytes / ps.answered)).c_str());
      rep_.note(strf("server CPU per GET above idle: %.0f us, of which %.0f us on the loop thread; body %s", srv_us,
                     loop_us, bytes.c_str()));
      if (a.poll.errors > 0) rep_.note("first error: " + a.poll.first_error.substr(0, 200));
    }
    rep_.note("srv cpu: the server process (loop = its loop thread, the one that serves the registry); cli cpu:");
    rep_.note("the poller threads");
  }

  void report() {
    const bool judged = !o_.quick;
    const size_t big = max_conns();
    std::vector<std::string> summary;
    if (!jitter_.empty()) {
      rep_.section(strf("raw limit for tails: this machine's scheduling jitter (a thread spinning on each CPU, %.1f s)",
                        jitter_seconds_));
      int64_t worst = 0;
      for (const Jitter& j : jitter_) {
        rep_.note(strf("CPU %d: longest gap %s, %s gaps over 1 ms, %.2f%% of the time lost in gaps over 50 us", j.cpu,
                       latency_text(double(j.max_gap_ns)).c_str(), commas(double(j.gaps_over_1ms)).c_str(),
                       j.lost_share * 100));
        worst = std::max(worst, j.max_gap_ns);
      }
      rep_.note(strf("everything else on the machine used %.0f%% of a core meanwhile; a request in flight across a gap",
                     jitter_other_ * 100));
      rep_.note("waits for it: tails near or above these gaps are the machine's, not the server's");
      summary.push_back(strf("%-22s longest gap %s while spinning (the floor under every p99 below)", "machine jitter",
                             latency_text(double(worst)).c_str()));
    }
    for (const Op& op : ops_) {
      if (!want_op(op)) continue;
      bool any = false;
      for (const Measured& m : results_) any = any || m.op == op.key;
      if (!any) continue;
      rep_.section(op.title);
      // The throughput target is judged on the best closed-loop run of the op.
      const Measured* best = nullptr;
      for (const Measured& m : results_)
        if (m.op == op.key && m.ok && m.mode != Mode::kOpen && (!best || m.r.rate > best->r.rate)) best = &m;
      for (Mode mode : {Mode::kClosed, Mode::kDeep, Mode::kOpen})
        for (const Measured& m : results_) {
          if (m.op != op.key || m.mode != mode) continue;
          std::string target, result;
          if (&m == best && op.target_rate > 0) {
            target = ">= " + commas(op.target_rate) + "/s";
            result = judged ? pass_fail(m.r.rate >= op.target_rate) : "n/a (quick)";
            summary.push_back(strf("%-22s %14s/s  best run: %-34s target %s: %s", op.name.c_str(),
                                   commas(m.r.rate).c_str(), row_label(m).c_str(), target.c_str(), result.c_str()));
          }
          if (mode == Mode::kOpen && op.key != "raw") {
            target = "p99 <= 2 ms";
            result = !m.ok ? "FAIL" : judged ? pass_fail(!m.r.saturated && m.r.p99_ns <= kTargetP99Ns) : "n/a (quick)";
            summary.push_back(strf("%-22s p99 %12s  at %-37s target %s: %s", op.name.c_str(),
                                   m.ok ? latency_text(m.r.p99_ns).c_str() : "FAILED", row_label(m).c_str(),
                                   target.c_str(), result.c_str()));
          }
          add_row(m, target, result);
        }
      if (op.key == "raw") {
        rep_.note("the client engine and loopback TCP alone; every other row's \"vs raw\" divides by the raw rate at");
        rep_.note("the same connection count and depth, measured in this run");
      }
      if (op.key == "hb-json" || op.key == "hb-bin") {
        if (op.key == "hb-bin") {
          rep_.note("a daemon re-sends the same signature; the server verifies a node's heartbeat once per 120 s");
          rep_.note("(spec 6.2), so after the first round these rows carry no Ed25519 verify");
        }
      }
      if (op.key == "resolve-bin")
        rep_.note("repeated (key, challenge, signature) triples hit the server's verify memo (spec 4.2)");
      if (op.key == "register") {
        rep_.note(
            strf("every request: a new key, so one Ed25519 verify (%.0f us on this CPU) + a log record whose reply",
                 verify_us_));
        rep_.note("waits for fdatasync (group commit)");
        if (keygen_count_ > 0)
          rep_.note(strf("the client pre-built %s keys + signatures before the runs (%.0f us each)",
                         commas(double(keygen_count_)).c_str(), keygen_seconds_ * 1e6 / double(keygen_count_)));
      }
    }
    if (results_.empty() == false) {
      rep_.section("how to read the latency columns");
      rep_.note("closed loop: every connection always has its requests in flight, so p50 ~ conns x depth / rate");
      rep_.note(
          strf("(Little's law) at %zu connections: a queue, not a property of the server. The p99 target is", big));
      rep_.note(strf("judged open loop: requests at fixed intervals at %.0f%% of the op's closed-loop rate at %zu",
                     o_.open_load * 100, big));
      rep_.note("connections, latency from the intended send time (a late client or server counts against it);");
      rep_.note("their \"vs raw\" is the p99 over the raw echo's p99 at (within 10%) the same rate and connections");
    }

    if (rss_ran_ || !rss_error_.empty()) {
      rep_.section(strf("memory: server VmRSS after %s unsigned registrations (fresh server, 64 conns x 16)",
                        commas(double(o_.rss_nodes)).c_str()));
      if (!rss_ran_) {
        rep_.row({"rss fill", "FAILED", "", "", "", "", "", "", "", "", ""});
        rep_.note(rss_error_.substr(0, 300));
      } else {
        const double mib = double(rss_settled_) / (1 << 20);
        const double per_node = rss_registered_ ? double(rss_settled_) / double(rss_registered_) : 0;
        const double per_node_net =
            rss_registered_ ? double(rss_settled_ - std::min(rss_settled_, rss_empty_)) / double(rss_registered_) : 0;
        const bool full = rss_registered_ >= kTargetRssNodes;
        const std::string result = !judged ? "n/a (quick)"
                                   : full  ? pass_fail(double(rss_settled_) <= kTargetRssBytes)
                                           : "n/a (< 1M nodes)";
        auto mem_row = [&](const std::string& label, uint64_t bytes, const std::string& t, const std::string& res) {
          std::vector<std::string> cells{
              label, strf("%.0f MiB", double(bytes) / (1 << 20)), "", "", "", "", "", "", "", t, res};
          rep_.row(cells);
        };
        mem_row("empty server", rss_empty_, "", "");
        mem_row(strf("%s nodes, right after the fill", commas(double(rss_registered_)).c_str()), rss_after_, "", "");
        mem_row(strf("%s nodes, server idle", commas(double(rss_registered_)).c_str()), rss_settled_,
                "<= 1 GiB at 1M nodes", result);
        mem_row("peak (VmHWM)", rss_peak_, "", "");
        rep_.note(strf("%.0f bytes/node (%.0f above the empty server); at that rate 1M nodes = %.0f MiB", per_node,
                       per_node_net, (double(rss_empty_) + per_node_net * 1e6) / (1 << 20)));
        rep_.note(strf("fill: %.1f s (%s registrations/s, durable); %zu background snapshot(s) by the idle reading",
                       rss_fill_s_, commas(double(rss_registered_) / rss_fill_s_).c_str(), rss_snapshots_));
        rep_.note("the peak includes the snapshot thread's second copy of the state (it replays the log into");
        rep_.note("its own State to write snapshot.db)");
        if (rss_errors_ > 0)
          rep_.note(strf("%s errors; first: %s", commas(double(rss_errors_)).c_str(), rss_first_error_.c_str()));
        summary.push_back(strf("%-22s %12.0f MiB  with %-36s target <= 1 GiB at 1M nodes: %s", "server RSS", mib,
                               (commas(double(rss_registered_)) + " nodes").c_str(), result.c_str()));
      }
    }
    report_admin(summary, judged);
    if (!summary.empty()) {
      rep_.section("targets (2-core machine)");
      for (const std::string& s : summary) rep_.note(s);
    }
  }

  Options o_;
  std::string error_, base_note_;
  bool failed_ = false;
  EchoServer echo_;
  ServerProcess server_;
  std::vector<uint32_t> ids_;
  int client_cpu_ = -1;
  std::vector<int> server_cpus_, all_cpus_;
  std::vector<Jitter> jitter_;
  double jitter_seconds_ = 0, jitter_other_ = 0;
  std::vector<std::string> hb_json_, hb_bin_, lookup_json_, lookup_bin_, resolve_json_, resolve_bin_;
  std::vector<std::string> reg_frames_;
  size_t reg_pos_ = 0;
  uint64_t reg_next_ = 0;
  uint64_t keygen_count_ = 0;
  double keygen_seconds_ = 0;
  double verify_us_ = 0;
  std::vector<Op> ops_;
  std::deque<Measured> results_;  // a deque: measure() hands out pointers into it
  Report rep_{{{"measurement"},
               {"req/s", true},
               {"p50", true},
               {"p99", true},
               {"vs raw"},
               {"errors", true},
               {"srv cpu", true},
               {"cli cpu", true},
               {"other", true},
               {"target"},
               {"result"}}};
  // admin reads vs the RPC path
  struct AdminRun {
    const Measured* m;  // in results_
    bool polled;
    AdminPollStats poll;
    Switches switches;  // the server's, over the load run (connect and warm-up included)
  };
  struct AdminIdle {
    std::string label;
    AdminPollStats poll;
    double seconds = 0, server_cpu_s = 0, loop_cpu_s = 0, other_cores = 0;
    Switches switches;
  };
  std::function<void(bool starting)> around_run_;    // measure() calls it around each load run
  std::function<void(uint64_t replies)> tick_hook_;  // and hands it to the load run
  double tick_s_ = 1;
  struct AdminPhase {
    double seconds;
    uint64_t replies;
    bool polled;
  };
  std::vector<AdminPhase> admin_phases_;
  const Measured* admin_mixed_ = nullptr;
  AdminPollStats admin_mixed_poll_;
  Switches admin_mixed_switches_;
  std::string admin_token_, admin_error_;
  size_t admin_conns_ = 0, admin_nodes_ = 0;
  std::vector<AdminRun> admin_runs_;
  std::vector<AdminIdle> admin_idle_;
  // memory
  bool rss_ran_ = false;
  std::string rss_error_, rss_first_error_;
  uint64_t rss_empty_ = 0, rss_after_ = 0, rss_settled_ = 0, rss_peak_ = 0, rss_registered_ = 0, rss_errors_ = 0;
  size_t rss_snapshots_ = 0;
  double rss_fill_s_ = 0;
};

bool parse_list(const std::string& s, std::vector<size_t>& out) {
  out.clear();
  for (size_t p = 0; p <= s.size();) {
    const size_t comma = std::min(s.find(',', p), s.size());
    const std::string part = s.substr(p, comma - p);
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos || part.size() > 6) return false;
    const size_t v = std::stoul(part);
    if (v < 1 || v > 60000) return false;
    out.push_back(v);
    p = comma + 1;
  }
  return !out.empty();
}

}  // namespace

int run_rpc_bench(int argc, char** argv, int first) {
  Options o;
  o.server = default_server_binary();
  std::string conns = "1,64,1024", only, admin_paths;
  uint64_t open_load = 25, seconds = 3, depth = 1, deep_depth = 16, deep_conns = 64, pool = 1024, rss = 0,
           max_regs = 200'000, admin_nodes = 0, admin_rounds = 0, admin_conns = 4;
  Flags flags("pilot-bench rpc",
              "Measures the rendezvous registry port on this machine: requests/s and client-side p50/p99 latency\n"
              "of signed heartbeats (JSON and binary), lookups, resolves and durable registrations against the\n"
              "real server binary, each next to the raw loopback request/response rate of the same client\n"
              "measured in the same run, plus the server's RSS with many nodes, and (admin) JSON heartbeats with\n"
              "and without 50 admin HTTP GETs/s. Use --dir on the disk the data directory will live on\n"
              "(registrations wait for fdatasync).");
  flags.add_string(&o.server, "server", nullptr, "the rendezvous binary to start");
  flags.add_string(&o.dir, "dir", nullptr,
                   "data directories go to a fresh subdirectory of DIR, removed afterwards (default: $TMPDIR or "
                   "/tmp, or the current directory when that is tmpfs)");
  flags.add_uint(&seconds, "seconds", nullptr, "measured seconds per row (after a 0.3 s warm-up)");
  flags.add_string(&conns, "conns", nullptr, "comma-separated connection counts");
  flags.add_uint(&depth, "depth", nullptr, "requests in flight per connection in the closed-loop rows");
  flags.add_uint(&deep_depth, "deep-depth", nullptr,
                 "requests in flight per connection in the extra pipelined rows (0 = skip them)");
  flags.add_uint(&deep_conns, "deep-conns", nullptr, "connections in the pipelined rows");
  flags.add_uint(&pool, "pool", nullptr, "nodes registered for heartbeats, lookups and resolves");
  flags.add_uint(&rss, "rss-nodes", nullptr,
                 "nodes registered for the memory measurement (default 1000000; 20000 with --quick)");
  flags.add_uint(&max_regs, "max-registrations", nullptr, "cap on pre-built signed registrations per run");
  flags.add_string(&only, "only", nullptr,
                   "comma-separated subset of: raw,heartbeat,lookup,resolve,register,deep,latency,rss,admin");
  flags.add_uint(&admin_nodes, "admin-nodes", nullptr,
                 "admin part: nodes registered before measuring (default 10000; 200 with --quick)");
  flags.add_uint(&admin_conns, "admin-conns", nullptr, "admin part: the poller's connections (a thread each)");
  flags.add_bool(&o.admin_keep_alive, "admin-keep-alive", nullptr,
                 "admin part: keep the poller's connections open (false: a new connection per GET)");
  flags.add_string(&admin_paths, "admin-paths", nullptr,
                   "admin part: comma-separated paths the poller cycles through (default "
                   "/api/dashboard,/metrics,/api/stats)");
  flags.add_string(&o.admin_poller_cpu, "admin-poller-cpu", nullptr,
                   "admin part: the poller's threads on the client's CPU (client), on the "
                   "others (other) or anywhere (any)");
  flags.add_uint(&o.admin_interleave_s, "admin-interleave-seconds", nullptr,
                 "admin part: length of the run with the poller on and off in turns of a second");
  flags.add_uint(&admin_rounds, "admin-rounds", nullptr,
                 "admin part: polled runs, each between two runs without polling (default 2; 1 with --quick)");
  flags.add_bool(&o.quick, "quick", nullptr, "tiny sizes, conns 1,8: a smoke test, not a measurement");
  flags.add_bool(&o.keep, "keep", nullptr, "keep the bench directory");
  flags.add_uint(&open_load, "open-load", nullptr,
                 "open-loop rows offer this percentage of the op's closed-loop rate at the most connections");
  flags.add_string(&o.pin, "pin", nullptr,
                   "client: the client thread on the last CPU; split: also the server and echo thread on the "
                   "others; none");
  switch (flags.parse(argc, argv, first)) {
    case Flags::Result::kHelp: std::fputs(flags.usage().c_str(), stdout); return 0;
    case Flags::Result::kError: std::fprintf(stderr, "pilot-bench rpc: %s\n", flags.error().c_str()); return 2;
    case Flags::Result::kOk: break;
  }
  if (!flags.positional().empty()) {
    std::fprintf(stderr, "pilot-bench rpc: unexpected argument \"%s\"\n", flags.positional()[0].c_str());
    return 2;
  }
  if (o.pin != "client" && o.pin != "split" && o.pin != "none") {
    std::fprintf(stderr, "pilot-bench rpc: --pin wants client, split or none\n");
    return 2;
  }
  if (o.admin_poller_cpu != "other" && o.admin_poller_cpu != "client" && o.admin_poller_cpu != "any") {
    std::fprintf(stderr, "pilot-bench rpc: --admin-poller-cpu wants other, client or any\n");
    return 2;
  }
  if (!admin_paths.empty()) {
    o.admin_paths.clear();
    for (size_t p = 0; p <= admin_paths.size();) {
      const size_t comma = std::min(admin_paths.find(',', p), admin_paths.size());
      const std::string path = admin_paths.substr(p, comma - p);
      if (path.empty() || path[0] != '/') {
        std::fprintf(stderr, "pilot-bench rpc: --admin-paths wants paths starting with / separated by commas\n");
        return 2;
      }
      o.admin_paths.push_back(path);
      p = comma + 1;
    }
  }
  if (!parse_list(conns, o.conns)) {
    std::fprintf(stderr, "pilot-bench rpc: --conns wants numbers 1..60000 separated by commas\n");
    return 2;
  }
  if (depth < 1 || depth > 1024 || deep_depth > 1024 || deep_conns < 1 || deep_conns > 60000 || pool < 1 ||
      pool > 100000 || seconds < 1 || seconds > 3600 || admin_nodes > 100000 || admin_rounds > 20 || admin_conns < 1 ||
      admin_conns > 64 || o.admin_interleave_s < 4 || o.admin_interleave_s > 3600) {
    std::fprintf(stderr,
                 "pilot-bench rpc: --depth/--deep-depth 1..1024, --deep-conns 1..60000, --pool "
                 "1..100000, --seconds 1..3600, --admin-nodes 1..100000, --admin-rounds 1..20, --admin-conns 1..64, "
                 "--admin-interleave-seconds 4..3600\n");
    return 2;
  }
  for (size_t p = 0; p < only.size();) {
    const size_t comma = std::min(only.find(',', p), only.size());
    const std::string part = only.substr(p, comma - p);
    static const std::set<std::string> kParts = {"raw",  "heartbeat", "lookup", "resolve", "register",
                                                 "deep", "latency",   "rss",    "admin"};
    if (!kParts.count(part)) {
      std::fprintf(stderr, "pilot-bench rpc: unknown part \"%s\" in --only\n", part.c_str());
      return 2;
    }
    o.only.insert(part);
    p = comma + 1;
  }
  o.seconds = double(seconds);
  o.open_load = double(std::clamp<uint64_t>(open_load, 1, 100)) / 100;
  o.depth = int(depth);
  o.deep_depth = int(deep_depth);
  o.deep_conns = deep_conns;
  o.pool = pool;
  o.max_registrations = max_regs;
  o.rss_nodes = rss ? rss : 1'000'000;
  o.admin_nodes = admin_nodes ? admin_nodes : 10'000;
  o.admin_rounds = admin_rounds ? int(admin_rounds) : 2;
  o.admin_conns = int(admin_conns);
  if (o.quick) {
    // A few hundred requests per row, in a few seconds overall: checks that every part
    // runs against the real server, measures nothing.
    o.seconds = 0.15;
    o.warmup_s = 0;
    o.conns = {1, 8};
    o.deep_conns = 8;
    o.pool = std::min<size_t>(o.pool, 64);
    o.max_requests = 400;
    o.max_registrations = 2000;
    o.rss_nodes = rss ? rss : 20'000;
    o.admin_nodes = admin_nodes ? admin_nodes : 200;
    o.admin_rounds = admin_rounds ? int(admin_rounds) : 1;
  }
  if (!std::filesystem::exists(o.server)) {
    std::fprintf(stderr, "pilot-bench rpc: no server binary at %s (build the rendezvous target or pass --server)\n",
                 o.server.c_str());
    return 2;
  }
  // 1024 client sockets + the echo server's 1024: more than the usual soft limit.
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  crypto_init();
  RpcBench bench(std::move(o));
  return bench.run();
}

}  // namespace pilot::bench
