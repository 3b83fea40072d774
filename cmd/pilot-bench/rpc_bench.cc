#include "cmd/pilot-bench/rpc_bench.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cmd/pilot-bench/admin_poll.h"
#include "cmd/pilot-bench/machine.h"
#include "core/ed25519.h"
#include "core/flags.h"
#include "net/rpc/wire.h"

extern char** environ;

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
// A run during which the rest of the machine used more than this share of a core is
// measured again (up to twice) once the machine is quiet.
constexpr double kBusyOther = 0.3;
// An open-loop connection with this many requests unanswered means the server fell
// behind the offered rate: the run stops and says so.
constexpr size_t kOpenLoopMaxInFlight = 256;

// ---- small helpers -------------------------------------------------------------------

int64_t mono_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double thread_cpu_seconds() {
  timespec ts;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

__attribute__((format(printf, 1, 2))) void progress(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fputs("[pilot-bench] ", stderr);
  std::vfprintf(stderr, fmt, ap);
  std::fputc('\n', stderr);
  std::fflush(stderr);
  va_end(ap);
}

// 1234567.8 -> "1,234,568"
std::string commas(double v) {
  const long long n = std::llround(v);
  const std::string d = std::to_string(n < 0 ? -n : n);
  std::string out = n < 0 ? "-" : "";
  for (size_t i = 0; i < d.size(); ++i) {
    if (i > 0 && (d.size() - i) % 3 == 0) out += ',';
    out += d[i];
  }
  return out;
}

std::string latency_text(double ns) {
  if (ns <= 0) return "-";
  if (ns < 1e6) return strf("%.0f us", ns / 1e3);
  if (ns < 1e9) return strf("%.2f ms", ns / 1e6);
  return strf("%.2f s", ns / 1e9);
}

std::string ratio_text(double r) {
  if (r <= 0) return "-";
  return r >= 10 ? strf("%.1fx raw", r) : strf("%.2fx raw", r);
}

const char* pass_fail(bool ok) { return ok ? "PASS" : "FAIL"; }

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Deterministic keys, so two runs send the same bytes; `domain` keeps the node pool,
// the registration keys and the RSS keys apart.
KeyPair key_from(uint64_t domain, uint64_t i) {
  std::array<uint8_t, 32> seed;
  uint64_t s = domain * 0x100000000ull + i;
  for (size_t k = 0; k < seed.size(); k += 8) {
    const uint64_t v = splitmix64(s);
    std::memcpy(seed.data() + k, &v, 8);
  }
  return KeyPair::from_seed(seed);
}

// utime + stime of a process (all its threads) from /proc/<pid>/stat, in seconds.
double process_cpu_seconds(const std::string& stat_path) {
  std::ifstream f(stat_path);
  std::string s;
  std::getline(f, s);
  const size_t rp = s.rfind(')');  // the command name may contain spaces
  if (rp == std::string::npos || rp + 2 > s.size()) return 0;
  std::vector<std::string> tok;
  std::string t;
  for (size_t i = rp + 2; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == ' ') {
      tok.push_back(t);
      t.clear();
    } else {
      t += s[i];
    }
  }
  if (tok.size() < 13) return 0;  // tok[0] is field 3 (state); utime and stime are fields 14, 15
  return double(std::strtoull(tok[11].c_str(), nullptr, 10) + std::strtoull(tok[12].c_str(), nullptr, 10)) /
         double(::sysconf(_SC_CLK_TCK));
}

// The same at nanosecond precision, where the kernel offers it (-1 otherwise): the tick
// counters above are too coarse for the few ms a hundred admin GETs cost. A process'
// CPU clock is readable by its parent; a thread's runtime of another process only
// through the scheduler's debug file.
double process_cpu_clock_seconds(pid_t pid) {
  clockid_t clock;
  timespec ts;
  if (::clock_getcpuclockid(pid, &clock) != 0 || ::clock_gettime(clock, &ts) != 0) return -1;
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

double thread_runtime_seconds(pid_t pid, pid_t tid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/sched");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("se.sum_exec_runtime", 0) == 0) {
      const size_t colon = line.find(':');
      return colon == std::string::npos ? -1 : std::strtod(line.c_str() + colon + 1, nullptr) / 1e3;  // ms
    }
  return -1;
}

// Context switches of a process' threads (/proc/<pid>/task/*/status): a thread woken
// on the loop's CPU preempts the loop, which then shows involuntary switches.
struct Switches {
  uint64_t loop_involuntary = 0, loop_voluntary = 0;    // the loop thread (tid == pid)
  uint64_t other_involuntary = 0, other_voluntary = 0;  // every other thread
  double seconds = 0;
  Switches operator-(const Switches& b) const {
    return {loop_involuntary - b.loop_involuntary, loop_voluntary - b.loop_voluntary,
            other_involuntary - b.other_involuntary, other_voluntary - b.other_voluntary, 0};
  }
};

Switches process_switches(pid_t pid) {
  Switches s;
  std::error_code ec;
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  for (std::filesystem::directory_iterator it(task, ec), end; !ec && it != end; it.increment(ec)) {
    std::ifstream f(it->path() / "status");
    const bool loop = it->path().filename() == std::to_string(pid);
    for (std::string line; std::getline(f, line);) {
      const uint64_t v = std::strtoull(line.c_str() + line.find(':') + 1, nullptr, 10);
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0) (loop ? s.loop_voluntary : s.other_voluntary) += v;
      if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) (loop ? s.loop_involuntary : s.other_involuntary) += v;
    }
  }
  return s;
}

// CPU seconds the whole machine spent busy (steal included: on a VM it is time we lost).
double machine_busy_seconds() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  uint64_t v[8] = {};  // user nice system idle iowait irq softirq steal
  f >> cpu;
  for (uint64_t& x : v) f >> x;
  return double(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / double(::sysconf(_SC_CLK_TCK));
}

uint32_t be32(const char* p) {
  return uint32_t(uint8_t(p[0])) << 24 | uint32_t(uint8_t(p[1])) << 16 | uint32_t(uint8_t(p[2])) << 8 |
         uint32_t(uint8_t(p[3]));
}

// The value of `"key":` in a flat JSON reply (enough for the fields we read back).
std::string json_value(std::string_view body, std::string_view key) {
  const std::string pat = "\"" + std::string(key) + "\":";
  size_t p = body.find(pat);
  if (p == std::string_view::npos) return "";
  p += pat.size();
  if (p < body.size() && body[p] == '"') {
    std::string out;
    for (++p; p < body.size() && body[p] != '"'; ++p) {
      if (body[p] == '\\' && p + 1 < body.size()) ++p;
      out += body[p];
    }
    return out;
  }
  size_t e = p;
  while (e < body.size() && body[e] != ',' && body[e] != '}') ++e;
  return std::string(body.substr(p, e - p));
}

// What a dashboard (/api/dashboard), Prometheus (/metrics) and an operator's script
// (/api/stats, admin token) read: the default of --admin-paths.
const std::vector<std::string> kAdminPaths = {"/api/dashboard", "/metrics", "/api/stats"};

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// 128 random bits in hex: the admin token of the bench's server.
std::string random_token() {
  std::random_device rd;
  std::string t;
  for (int i = 0; i < 4; ++i) t += strf("%08x", unsigned(rd()));
  return t;
}

// ---- machine, file system ----------------------------------------------------------------

const char* build_kind() {
#if defined(NDEBUG) && defined(__OPTIMIZE__)
  return "optimized, NDEBUG (this binary; the server's build is its own)";
#elif defined(__OPTIMIZE__)
  return "optimized, assertions on";
#else
  return "UNOPTIMIZED (numbers are not representative)";
#endif
}

bool in_memory_fs(const std::string& path) {
  struct statfs sf;
  if (::statfs(path.c_str(), &sf) != 0) return false;
  const auto magic = uint64_t(static_cast<unsigned long>(sf.f_type)) & 0xffffffffu;
  return magic == 0x01021994 /* tmpfs */ || magic == 0x858458F6 /* ramfs */;
}

// "ext4 /dev/vda on /" from /proc/self/mounts (the longest mount point above `path`).
std::string mount_of(const std::string& path) {
  std::error_code ec;
  std::string canon = std::filesystem::weakly_canonical(path, ec).string();
  if (ec) canon = path;
  std::ifstream mounts("/proc/self/mounts");
  std::string dev, mnt, type, rest, best;
  size_t best_len = 0;
  while (mounts >> dev >> mnt >> type && std::getline(mounts, rest)) {
    const bool above = canon.compare(0, mnt.size(), mnt) == 0 &&
                       (mnt == "/" || canon.size() == mnt.size() || canon[mnt.size()] == '/');
    if (above && mnt.size() >= best_len) {
      best_len = mnt.size();
      best = type + " " + dev + " on " + mnt;
    }
  }
  return best.empty() ? "unknown file system" : best;
}

// ---- request frames ------------------------------------------------------------------------

std::string heartbeat_json(uint32_t id, const Signature& sig) {
  return wire::json_frame("{\"type\":\"heartbeat\",\"node_id\":" + std::to_string(id) + ",\"signature\":\"" +
                          encode_signature(sig) + "\"}");
}

std::string lookup_json(uint32_t id) {
  return wire::json_frame("{\"type\":\"lookup\",\"node_id\":" + std::to_string(id) + "}");
}

std::string resolve_json(uint32_t requester, uint32_t target, const Signature& sig) {
  return wire::json_frame("{\"type\":\"resolve\",\"node_id\":" + std::to_string(target) + ",\"requester_id\":" +
                          std::to_string(requester) + ",\"signature\":\"" + encode_signature(sig) + "\"}");
}

std::string set_public_json(uint32_t id, const Signature& sig) {
  return wire::json_frame("{\"type\":\"set_visibility\",\"node_id\":" + std::to_string(id) +
                          ",\"public\":true,\"signature\":\"" + encode_signature(sig) + "\"}");
}

// What a daemon sends (spec §2.5): its UDP endpoint as it sees it (the server substitutes
// the TCP source IP for 0.0.0.0), its key, LAN candidates and version; signed unless
// `key` is null (the RSS fill, which needs no key pair).
std::string register_json(const std::string& pub_b64, uint64_t i, const KeyPair* key) {
  const std::string listen = "0.0.0.0:" + std::to_string(20000 + i % 40000);
  std::string body = "{\"type\":\"register\",\"listen_addr\":\"" + listen + "\",\"public_key\":\"" + pub_b64 +
                     "\",\"lan_addrs\":[\"192.168." + std::to_string((i >> 8) & 0xff) + "." + std::to_string(i & 0xff) +
                     ":" + std::to_string(20000 + i % 40000) + "\"],\"version\":\"v1.9.3\"";
  if (key) body += ",\"signature\":\"" + encode_signature(key->sign("register:" + listen + ":" + pub_b64)) + "\"";
  return wire::json_frame(body + "}");
}

// ---- what the client sends: frame sources ----------------------------------------------------

class Source {
 public:
  virtual ~Source() = default;
  // Appends connection `conn`'s next request frame to `out`; false when none is left.
  virtual bool next(size_t conn, std::string& out) = 0;
};

// Connection c sends frames c, c+n, c+2n, … (n connections, modulo the pool): with as
// many connections as nodes each connection speaks for one node, as a daemon does.
class CyclicSource final : public Source {
 public:
  CyclicSource(const std::vector<std::string>& frames, size_t conns) : frames_(frames), step_(conns), cursor_(conns) {
    for (size_t c = 0; c < conns; ++c) cursor_[c] = c % frames.size();
  }
  bool next(size_t conn, std::string& out) override {
    size_t& k = cursor_[conn];
    out += frames_[k];
    k = (k + step_) % frames_.size();
    return true;
  }

 private:
  const std::vector<std::string>& frames_;
  size_t step_;
  std::vector<size_t> cursor_;
};

// Every frame once (a new key registers once); `pos` survives the run, so runs share a pool.
class OnceSource final : public Source {
 public:
  OnceSource(const std::vector<std::string>& frames, size_t& pos) : frames_(frames), pos_(pos) {}
  bool next(size_t, std::string& out) override {
    if (pos_ >= frames_.size()) return false;
    out += frames_[pos_++];
    return true;
  }

 private:
  const std::vector<std::string>& frames_;
  size_t& pos_;
};

// Frames made on demand: the RSS fill (1M frames need not sit in memory; it is not timed).
class GenSource final : public Source {
 public:
  GenSource(uint64_t count, std::function<void(uint64_t, std::string&)> gen) : end_(count), gen_(std::move(gen)) {}
  bool next(size_t, std::string& out) override {
    if (next_ >= end_) return false;
    gen_(next_++, out);
    return true;
  }

 private:
  uint64_t next_ = 0, end_;
  std::function<void(uint64_t, std::string&)> gen_;
};

// ---- the client engine ------------------------------------------------------------------------

// How a reply is judged: an error reply ("type":"error" or 0xFF) or anything but the
// expected success counts as an error.
struct Expect {
  bool check = true;
  bool binary = false;
  uint8_t ok_type = 0;  // binary mode
  std::string ok_json;  // JSON mode: e.g. "\"type\":\"heartbeat_ok\""
};

struct RunConfig {
  uint16_t port = 0;
  size_t conns = 1;
  int depth = 1;              // closed loop: requests in flight per connection
  double open_rate = 0;       // > 0: open loop, this many requests/s over all connections
  double warmup_s = 0.3;      // not measured
  double seconds = 3;         // measured
  uint64_t max_requests = 0;  // 0 = as many as fit in the time
  bool binary = false;        // send the PILT preamble first
  Expect expect;
  std::function<double()> server_cpu;                // CPU seconds of the server side so far
  std::function<double()> server_loop_cpu;           // of its loop thread (real server only)
  bool server_in_process = false;                    // the echo server: a thread of this process
  std::function<void(uint64_t replies)> every_tick;  // progress of long runs; phases of the admin part
  double tick_s = 1;
};

struct RunResult {
  uint64_t completed = 0;  // replies received in the measured window
  double window_s = 0;
  double rate = 0;
  double p50_ns = 0, p99_ns = 0;
  uint64_t replies = 0;  // all replies, warm-up and drain included
  uint64_t errors = 0;   // among all replies
  std::string first_error;
  double server_cores = -1, client_cores = 0;  // CPU used in the window / window length
  double other_cores = -1;                     // everything else on the machine, same unit
  double server_loop_cores = -1;
  bool ran_dry = false;    // the source ran out before the time was up
  bool saturated = false;  // open loop: the server fell behind
};

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
        out.other_cores =
            std::max(0.0, machine_busy_seconds() - busy0 - self - (cfg_.server_in_process ? 0 : server)) / w;
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

bool run_load(const RunConfig& cfg, Source& src, RunResult& out, std::string& error) {
  LoadRun run(cfg, src);
  const bool ok = run.run(out, error);
  out.replies = run.replies();
  out.errors = run.errors();
  out.first_error = run.first_error();
  return ok;
}

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

// ---- the raw limit for tails: how steadily this machine runs a thread ------------------------

struct Jitter {
  int cpu = -1;
  uint64_t gaps_over_1ms = 0;
  int64_t max_gap_ns = 0;
  double lost_share = 0;  // of the probe's time, in gaps over 50 us
};

// One thread per CPU reads the clock in a tight loop; a gap between two reads is time
// the thread did not run (the host preempting the vCPU, interrupts, other tasks). A
// request in flight across such a gap waits for it, whoever serves it: on a VM this
// bounds the tail latency anything here can show.
std::vector<Jitter> probe_jitter(const std::vector<int>& cpus, double seconds) {
  std::vector<Jitter> out(cpus.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < cpus.size(); ++i)
    threads.emplace_back([&out, &cpus, i, seconds] {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpus[i], &set);
      ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
      Jitter& j = out[i];
      j.cpu = cpus[i];
      const int64_t start = mono_ns(), end = start + int64_t(seconds * 1e9);
      int64_t prev = start, lost = 0;
      for (int64_t t; (t = mono_ns()) < end; prev = t) {
        const int64_t gap = t - prev;
        if (gap > 50'000) lost += gap;
        if (gap > 1'000'000) ++j.gaps_over_1ms;
        j.max_gap_ns = std::max(j.max_gap_ns, gap);
      }
      j.lost_share = double(lost) / double(end - start);
    });
  for (std::thread& t : threads) t.join();
  return out;
}

// ---- the server under test: `rendezvous` as a child process -------------------------------------

class ServerProcess {
 public:
  ~ServerProcess() { stop(); }

  // `cpus`: where the server may run (empty = anywhere). `http_args` (e.g. --http
  // 127.0.0.1:0 --admin-token T) turn the admin HTTP server on; without them it is off.
  bool start(const std::string& bin, const std::string& data_dir, const std::vector<int>& cpus,
             const std::vector<std::string>& http_args, std::string& error) {
    {
      std::lock_guard lk(mu_);  // a restart: forget the last process' output
      port_ = admin_port_ = 0;
      eof_ = false;
      tail_.clear();
      snapshot_lines_.clear();
      warnings_.clear();
    }
    const bool want_admin = !http_args.empty();
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
    if (want_admin)
      args.insert(args.end(), http_args.begin(), http_args.end());
    else
      args.insert(args.end(), {"--http", ""});
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
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, std::chrono::seconds(60),
                 [&] { return (port_ != 0 && (!want_admin || admin_port_ != 0)) || eof_; });
    if (port_ == 0 || (want_admin && admin_port_ == 0)) {
      error = std::string(eof_         ? "the server exited before listening"
                          : port_ == 0 ? "no \"registry: listening on\" within 60 s"
                                       : "no \"admin: listening on\" within 60 s") +
              "; its last output:\n" + tail_text_locked(12);
      lk.unlock();
      stop();
      return false;
    }
    return true;
  }

  uint16_t port() const { return port_; }
  uint16_t admin_port() const { return admin_port_; }  // 0 without the admin server
  pid_t pid() const { return pid_; }

  // SIGKILL: the data directory is thrown away, so a clean shutdown (final snapshot of
  // up to 1M nodes) would only cost time.
  void stop() {
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

  bool alive() {
    if (pid_ <= 0) return false;
    int st;
    if (::waitpid(pid_, &st, WNOHANG) == 0) return true;
    pid_ = 0;  // reaped: never signal the number again, it may be someone else's now
    return false;
  }

  // utime + stime of every thread of the server, in seconds.
  double cpu_seconds() const { return pid_ > 0 ? process_cpu_seconds("/proc/" + std::to_string(pid_) + "/stat") : 0; }

  // A "Vm…:" line of /proc/<pid>/status, in bytes (0 if absent).
  uint64_t status_bytes(const char* field) const {
    std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
    const std::string want = std::string(field) + ":";
    for (std::string line; std::getline(f, line);)
      if (line.rfind(want, 0) == 0) return std::strtoull(line.c_str() + want.size(), nullptr, 10) * 1024;
    return 0;
  }

  // Waits until the server uses under 10% of a core (a background snapshot or a tail of
  // work from the last run would otherwise share the next run's CPU); false on timeout.
  // `quiet_samples` idle 200 ms windows in a row: the server checks every second
  // whether a snapshot is due, so 6 of them cannot miss one that is about to start.
  bool wait_idle(double max_seconds, int quiet_samples = 1) {
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

  size_t snapshots() const {
    std::lock_guard lk(mu_);
    return snapshot_lines_.size();
  }

  // "snapshot: wrote seq N in X s" for the snapshots from `first` on.
  std::vector<std::string> snapshot_lines(size_t first) const {
    std::lock_guard lk(mu_);
    return {snapshot_lines_.begin() + ptrdiff_t(std::min(first, snapshot_lines_.size())), snapshot_lines_.end()};
  }

  // The loop thread is the main thread (tid == pid); the rest are the log writer, the
  // libuv pool (off-loop verifies) and the snapshot thread.
  double loop_cpu_seconds() const {
    return pid_ > 0 ? process_cpu_seconds("/proc/" + std::to_string(pid_) + "/task/" + std::to_string(pid_) + "/stat")
                    : 0;
  }

  Switches switches() const { return pid_ > 0 ? process_switches(pid_) : Switches{}; }

  // The two above at nanosecond precision where the kernel allows (else at tick precision).
  double precise_cpu_seconds() const {
    const double s = pid_ > 0 ? process_cpu_clock_seconds(pid_) : -1;
    return s >= 0 ? s : cpu_seconds();
  }
  double precise_loop_cpu_seconds() const {
    const double s = pid_ > 0 ? thread_runtime_seconds(pid_, pid_) : -1;
    return s >= 0 ? s : loop_cpu_seconds();
  }

  std::string tail_text(size_t n) const {
    std::lock_guard lk(mu_);
    return tail_text_locked(n);
  }

  std::vector<std::string> warnings() const {
    std::lock_guard lk(mu_);
    return warnings_;
  }

 private:
  // Drains the child's output for its whole life (a full pipe would block its logging
  // and then its loop), keeping the lines we use.
  void read_loop() {
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

  void on_line(const std::string& line) {
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
    listening("registry: listening on ", port_);
    listening("admin: listening on ", admin_port_);
    if (size_t p = line.find("snapshot: wrote"); p != std::string::npos) snapshot_lines_.push_back(line.substr(p));
    if ((line.find(" WARN ") != std::string::npos || line.find(" ERROR ") != std::string::npos) &&
        warnings_.size() < 20)
      warnings_.push_back(line);
  }

  std::string tail_text_locked(size_t n) const {
    std::string out;
    for (size_t i = tail_.size() > n ? tail_.size() - n : 0; i < tail_.size(); ++i) out += "    " + tail_[i] + "\n";
    return out;
  }

  pid_t pid_ = 0;
  int rfd_ = -1;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint16_t port_ = 0, admin_port_ = 0;
  bool eof_ = false;
  std::vector<std::string> snapshot_lines_;
  std::deque<std::string> tail_;
  std::vector<std::string> warnings_;
};

// Setup traffic (registering the node pool, making it public): one blocking connection,
// `window` requests written before their replies are read, so setup is quick without
// filling both socket buffers at once.
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

// ---- the report table -------------------------------------------------------------------------

class Report {
 public:
  static constexpr int kCols = 11;
  void section(std::string title) { rows_.push_back({Kind::kSection, {std::move(title)}}); }
  void row(std::array<std::string, kCols> cells) { rows_.push_back({Kind::kRow, std::move(cells)}); }
  void note(std::string text) { rows_.push_back({Kind::kNote, {std::move(text)}}); }

  void print(FILE* f) const {
    static const char* kHeads[kCols] = {"measurement", "req/s",   "p50",   "p99",    "vs raw", "errors",
                                        "srv cpu",     "cli cpu", "other", "target", "result"};
    static const bool kRight[kCols] = {false, true, true, true, false, true, true, true, true, false, false};
    size_t w[kCols];
    for (int i = 0; i < kCols; ++i) w[i] = std::strlen(kHeads[i]);
    for (const Row& r : rows_)
      if (r.kind == Kind::kRow)
        for (int i = 0; i < kCols; ++i) w[i] = std::max(w[i], r.cells[size_t(i)].size());
    size_t total = 3 * (kCols - 1);
    for (size_t x : w) total += x;
    auto line = [&](const std::array<std::string, kCols>& c) {
      std::string s;
      for (int i = 0; i < kCols; ++i) {
        const std::string& v = c[size_t(i)];
        const std::string pad(w[i] - std::min(w[i], v.size()), ' ');
        s += kRight[i] ? pad + v : (i == kCols - 1 ? v : v + pad);
        if (i < kCols - 1) s += " | ";
      }
      std::fprintf(f, "%s\n", s.c_str());
    };
    std::array<std::string, kCols> heads;
    for (int i = 0; i < kCols; ++i) heads[size_t(i)] = kHeads[i];
    line(heads);
    std::fprintf(f, "%s\n", std::string(total, '=').c_str());
    for (const Row& r : rows_) {
      if (r.kind == Kind::kRow) {
        line(r.cells);
      } else if (r.kind == Kind::kSection) {
        const size_t used = r.cells[0].size() + 4;
        std::fprintf(f, "-- %s %s\n", r.cells[0].c_str(), std::string(total > used ? total - used : 2, '-').c_str());
      } else {
        std::fprintf(f, "     %s\n", r.cells[0].c_str());
      }
    }
  }

 private:
  enum class Kind { kSection, kRow, kNote };
  struct Row {
    Kind kind;
    std::array<std::string, kCols> cells;
  };
  std::vector<Row> rows_;
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
      if (!start_server(server_, o_.dir + "/rpc-data")) return fail_hard("server");
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

  bool setup_dirs() {
    std::string base = o_.dir;
    if (base.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      base = tmp && *tmp ? tmp : "/tmp";
      // fdatasync costs nothing in memory: the durable-registration numbers would lie.
      if (in_memory_fs(base)) {
        base_note_ = base + " is in memory (tmpfs/ramfs); using the current directory instead";
        base = std::filesystem::current_path().string();
      }
    }
    std::error_code ec;
    std::filesystem::create_directories(base, ec);
    std::string tmpl = base + "/pilot-bench-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
      std::fprintf(stderr, "pilot-bench rpc: cannot create a directory under %s: %s\n", base.c_str(),
                   std::strerror(errno));
      return false;
    }
    o_.dir = std::filesystem::absolute(tmpl).lexically_normal().string();
    return true;
  }

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
    std::printf("build     : %s; load average at start %s\n", build_kind(), load_average().c_str());
    std::printf("server    : %s\n", o_.server.c_str());
    std::printf(
        "            --registry-addr 127.0.0.1:0 --fsync always --beacon=false --http \"\" (admin part: --http\n"
        "            127.0.0.1:0 --admin-token <random>), PILOT_REGISTRY_NORATELIMIT=1, fresh data dir\n");
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
    if (!s.start(o_.server, data_dir, server_cpus_, http_args, error_)) return false;
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

  // Waits (at most `max_seconds`) until everything but us and the server uses under
  // 15% of a core over half a second.
  void wait_machine_quiet(double max_seconds) {
    const int64_t deadline = mono_ns() + int64_t(max_seconds * 1e9);
    while (mono_ns() < deadline) {
      const double b0 = machine_busy_seconds(), s0 = process_cpu_seconds("/proc/self/stat"), v0 = server_.cpu_seconds();
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      const double other =
          machine_busy_seconds() - b0 - (process_cpu_seconds("/proc/self/stat") - s0) - (server_.cpu_seconds() - v0);
      if (other < 0.075) return;
    }
    progress("  (the machine is still busy after %.0f s; measuring anyway)", max_seconds);
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
      if (around_run_) around_run_(true);
      m.ok = run_load(cfg, *src, m.r, m.error);
      if (around_run_) around_run_(false);
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
          std::array<std::string, Report::kCols> cells{
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
  Report rep_;
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

// `<dir of this binary>/../rendezvous/rendezvous`: where the build tree puts it.
std::string default_server() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "rendezvous";
  return (self.parent_path() / ".." / "rendezvous" / "rendezvous").lexically_normal().string();
}

}  // namespace

int run_rpc_bench(int argc, char** argv, int first) {
  Options o;
  o.server = default_server();
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
