#include "cmd/pilot-bench/beacon_bench.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cmd/pilot-bench/cpu_time.h"
#include "cmd/pilot-bench/loopback_udp.h"
#include "cmd/pilot-bench/machine.h"
#include "cmd/pilot-bench/machine_noise.h"
#include "cmd/pilot-bench/report.h"
#include "cmd/pilot-bench/server_process.h"
#include "cmd/pilot-bench/udp_client.h"
#include "cmd/pilot-bench/udp_echo.h"
#include "core/flags.h"
#include "net/beacon/messages.h"

namespace pilot::bench {
namespace {

namespace bn = pilot::beacon;

// Node ids of each part; far apart, so no part's id is another's.
constexpr uint32_t kDiscoverIds = 1'000'000;
constexpr uint32_t kSenderIds = 2'000'000;
constexpr uint32_t kReceiverIds = 3'000'000;
// A multiple of 64: consecutive ids fill the beacon's 64 shards (id & 63) evenly.
constexpr uint32_t kRssIds = 10'000'000;
// Relays per second per sender: under the beacon's budget of 4000 per source and 1 s
// window (bn::kRelaysPerSourcePerWindow), with room for the 32-datagram burst.
constexpr double kRelayBudget = 3500;
// Closed loop: datagrams in flight per flow.
constexpr size_t kWindow = 8;
// Relay payload: [run tag:4][seq:8], then zeros up to the payload size.
constexpr size_t kTagBytes = 12;
constexpr double kMiB = 1024.0 * 1024.0;

struct Options {
  std::string server;
  double seconds = 3;     // measured seconds per run
  double warmup_s = 0.5;  // before each measured window
  double drain_s = 0.3;   // after each run's last send
  size_t sockets = 128;   // client flows per part
  size_t server_threads = 0;
  size_t client_threads = 1;
  uint64_t nodes = 500'000;
  std::vector<double> loads = {0.25, 0.5, 1.0};
  std::vector<size_t> payloads = {64, 1400};
  // The beacon logs its counters this often; the bench reads them after each part.
  std::string stats_interval = "1s";
  double stats_wait_s = 1.3;
  bool quick = false;
  std::set<std::string> only;
  bool want(const char* part) const { return only.empty() || only.count(part) != 0; }
};

// A set of client sockets on 127.0.0.1, closed with the set.
struct Sockets {
  std::vector<int> fds;
  Sockets() = default;
  Sockets(const Sockets&) = delete;
  Sockets& operator=(const Sockets&) = delete;
  ~Sockets() {
    for (int fd : fds) ::close(fd);
  }
  bool open(size_t n, std::string& error) {
    while (fds.size() < n) {
      const int fd = open_loopback_udp(0, false, error);
      if (fd < 0) return false;
      fds.push_back(fd);
    }
    return true;
  }
  std::vector<uint16_t> ports() const {
    std::vector<uint16_t> p;
    for (int fd : fds) p.push_back(bound_port(fd));
    return p;
  }
};

// Reads and throws away whatever is queued: a late datagram of the last run must not
// be counted in the next.
void discard_queued(const std::vector<int>& fds) {
  RecvBatch rx;
  for (int fd : fds)
    while (rx.receive(fd) > 0) {
    }
}

// " key=123" of a "beacon: stats …" line; 0 when absent (the drop counters are only
// listed once they are non-zero).
uint64_t stat_value(const std::string& line, const std::string& key) {
  const size_t p = line.find(" " + key + "=");
  return p == std::string::npos ? 0 : std::strtoull(line.c_str() + p + key.size() + 2, nullptr, 10);
}

// A daemon's Discover: the id alone (no key trailer, spec §14).
std::string discover_msg(uint32_t id) {
  bn::Discover m;
  m.node_id = id;
  return bn::encode(m);
}

std::string percent(double share) { return strf("%.2f%%", share * 100); }
std::string cores(double c) { return strf("%.0f%%", c * 100); }
std::string gbits(double per_s, size_t bytes) { return strf("%.2f", per_s * double(bytes) * 8 / 1e9); }

struct Run {
  std::string label;
  bool ok = false;
  std::string error;
  UdpRunResult r;
  double offered = 0;  // open loop: the asked rate
  int attempts = 0;
  uint64_t reordered_any = 0;  // over every attempt
};

struct RelaySize {
  size_t payload = 0;
  Run raw, beacon;
  std::vector<Run> loads;
};

struct ServerCounters {
  std::string line;  // the last "beacon: stats" line, as logged
  uint64_t get(const char* key) const { return stat_value(line, key); }
};

class BeaconBench {
 public:
  explicit BeaconBench(Options o) : o_(std::move(o)) {}

  int run() {
    print_header();
    const bool main_parts = o_.want("discover") || o_.want("relay") || o_.want("punch");
    if (main_parts && !start_beacon(beacon_, "main")) {
      std::fprintf(stderr, "pilot-bench beacon: %s\n", error_.c_str());
      return 1;
    }
    if (main_parts && !(clients_.open(o_.sockets, error_) && senders_.open(o_.sockets, error_) &&
                        receivers_.open(o_.sockets, error_))) {
      std::fprintf(stderr, "pilot-bench beacon: client sockets: %s\n", error_.c_str());
      return 1;
    }
    if (o_.want("discover")) measure_discover();
    if (o_.want("relay") || o_.want("punch")) {
      if (!register_pairs()) {
        relay_error_ = punch_error_ = error_;
        failed_ = true;
      } else {
        if (o_.want("relay")) measure_relay();
        if (o_.want("punch")) measure_punch();
      }
    }
    if (main_parts) {
      if (!beacon_.alive()) {
        failed_ = true;
        main_error_ = "the beacon died during the run; its last output:\n" + beacon_.tail_text(12);
      }
      beacon_.stop();
    }
    if (o_.want("rss")) measure_rss();
    std::printf("load average at end %s\n\n", load_average().c_str());
    report();
    rep_.print(stdout);
    std::fflush(stdout);
    return failed_ ? 1 : 0;
  }

 private:
  // ---- set-up ----

  std::vector<std::string> beacon_flags() const {
    std::vector<std::string> f = {"-stats-interval", o_.stats_interval, "-punch-whitelist", "127.0.0.1"};
    if (o_.server_threads) f.insert(f.end(), {"-sockets", std::to_string(o_.server_threads)});
    return f;
  }

  void print_header() {
    std::printf("pilot-bench beacon%s\n",
                o_.quick ? " --quick (smoke run: small sizes, numbers are not a measurement)" : "");
    std::printf("machine   : %s\n", machine_line().c_str());
    std::printf("build     : %s; load average at start %s\n", client_build_kind(), load_average().c_str());
    std::printf("server    : %s -addr 127.0.0.1:0 -stats-interval %s -punch-whitelist 127.0.0.1%s\n", o_.server.c_str(),
                o_.stats_interval.c_str(), o_.server_threads ? strf(" -sockets %zu", o_.server_threads).c_str() : "");
    std::printf(
        "            (default -sockets: one per core; -relay-sender-check on; relay budget 4000/s per\n"
        "            source, kept by the client; -punch-whitelist lifts the 10/s punch limits)\n");
    std::printf(
        "raw       : in the bench process, %s threads, one SO_REUSEPORT socket each on 127.0.0.1,\n"
        "            16 MiB buffers, poll -> recvmmsg(32) -> sendmmsg: echo back / forward to a table entry\n",
        o_.server_threads ? std::to_string(o_.server_threads).c_str() : "one-per-core");
    std::printf(
        "client    : %zu thread(s) (epoll, recvmmsg/sendmmsg), %zu sockets per part, closed loop %zu in flight\n"
        "            per flow (a flow silent 20 ms gets its window back); open loop: round robin on schedule\n",
        o_.client_threads, o_.sockets, kWindow);
    std::printf("runs      : %.2f s measured after %.2f s warm-up, %.2f s drain; no CPU pinning\n", o_.seconds,
                o_.warmup_s, o_.drain_s);
    std::printf(
        "columns   : CPU in %% of one core over the measured window; other = the rest of the machine;\n"
        "            server ns/op = server CPU per reply (relay: per delivered datagram): the efficiency\n"
        "            figure to read when the one-thread client, not the server, sets the rate\n");
    std::fflush(stdout);
  }

  bool start_beacon(ServerProcess& s, const char* what) {
    ServerArgs a;
    a.beacon = true;
    a.extra = beacon_flags();
    if (!s.start(o_.server, "", a, error_)) return false;
    progress("beacon (%s): pid %d, udp 127.0.0.1:%u", what, int(s.pid()), s.port());
    return true;
  }

  void quiet_machine(const std::function<double()>& server_cpu) {
    if (!o_.quick) wait_machine_quiet(30, server_cpu);
  }

  // The beacon's counters once it has had time to log them (it logs on a change, every
  // -stats-interval; so after the part's last datagram + one interval it is final).
  ServerCounters counters(const ServerProcess& s) {
    std::this_thread::sleep_for(std::chrono::milliseconds(int(o_.stats_wait_s * 1000)));
    return {s.last_line_with("beacon: stats ")};
  }

  // Registers ids[i] from fds[i], one Discover each, resending to the ones with no
  // reply yet (a lost datagram; the beacon answers a repeat from the same endpoint).
  bool register_ids(const std::vector<int>& fds, const std::vector<uint32_t>& ids, uint16_t port) {
    std::vector<bool> done(fds.size(), false);
    size_t left = fds.size();
    const sockaddr_in to = loopback(port);
    RecvBatch rx;
    for (int round = 0; round < 5 && left > 0; ++round) {
      for (size_t i = 0; i < fds.size(); ++i) {
        if (done[i]) continue;
        const std::string d = discover_msg(ids[i]);
        ::sendto(fds[i], d.data(), d.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to), sizeof to);
      }
      const int64_t until = mono_ns() + 300'000'000;
      while (left > 0 && mono_ns() < until) {
        std::vector<pollfd> p;
        for (int fd : fds) p.push_back({fd, POLLIN, 0});
        if (::poll(p.data(), p.size(), 20) <= 0) continue;
        for (size_t i = 0; i < p.size(); ++i) {
          if (!p[i].revents) continue;
          const int n = rx.receive(fds[i]);
          for (int k = 0; k < n; ++k)
            if (rx.size(k) > 0 && rx.data(k)[0] == char(bn::MsgType::kDiscoverReply) && !done[i]) {
              done[i] = true;
              --left;
            }
        }
      }
    }
    if (left > 0) error_ = strf("%zu of %zu node ids got no DiscoverReply after 5 tries", left, fds.size());
    return left == 0;
  }

  bool register_pairs() {
    const size_t n = o_.sockets;
    std::vector<int> fds = senders_.fds;
    fds.insert(fds.end(), receivers_.fds.begin(), receivers_.fds.end());
    std::vector<uint32_t> ids;
    for (size_t i = 0; i < n; ++i) ids.push_back(kSenderIds + uint32_t(i));
    for (size_t i = 0; i < n; ++i) ids.push_back(kReceiverIds + uint32_t(i));
    if (!register_ids(fds, ids, beacon_.port())) return false;
    progress("registered %zu senders and %zu receivers (one Discover each, from its own socket)", n, n);
    return true;
  }

  Run measure(const std::string& label, UdpRun run, const std::function<double()>& server_cpu,
              const std::vector<int>& discard) {
    run.server_cpu = server_cpu;
    run.threads = o_.client_threads;
    run.seconds = o_.seconds;
    run.warmup_s = o_.warmup_s;
    run.drain_s = o_.drain_s;
    Run out;
    out.label = label;
    out.offered = run.window ? 0 : run.rate;
    // A run during which the rest of the machine was busy is measured again (up to
    // twice), keeping the quietest; reordering seen in any attempt is kept.
    for (int attempt = 0; attempt < (o_.quick ? 1 : 3); ++attempt) {
      discard_queued(discard);
      quiet_machine(server_cpu);
      ++tag_;  // a straggler of the last attempt is not this one's
      UdpRunResult r = run_udp(run);
      out.reordered_any += r.reordered;
      if (attempt == 0 || r.other_cores < out.r.other_cores) out.r = r;
      out.attempts = attempt + 1;
      if (r.other_cores <= kBusyOther || attempt + 1 == (o_.quick ? 1 : 3)) break;
      progress("  (the rest of the machine used %s of a core: measuring again)", cores(r.other_cores).c_str());
    }
    out.ok = true;
    progress("  %-40s %12s/s (sent %s/s), lost %s, reordered %s, client %s server %s other %s", label.c_str(),
             commas(out.r.rate).c_str(), commas(out.r.sent_rate).c_str(), percent(out.r.drop_share()).c_str(),
             commas(double(out.r.reordered)).c_str(), cores(out.r.client_cores).c_str(),
             cores(out.r.server_cores).c_str(), cores(out.r.other_cores).c_str());
    return out;
  }

  std::function<double()> beacon_cpu() {
    const ServerProcess* b = &beacon_;
    return [b] { return b->precise_cpu_seconds(); };
  }

  // ---- 1. discover ----

  void measure_discover() {
    progress("discover: %zu sockets, each its own node id, closed loop %zu in flight each", o_.sockets, kWindow);
    std::vector<std::string> msgs;
    for (size_t i = 0; i < o_.sockets; ++i) msgs.push_back(discover_msg(kDiscoverIds + uint32_t(i)));
    UdpRun run;
    run.tx = clients_.fds;
    run.rx = clients_.fds;
    run.window = kWindow;
    run.build = [&msgs](size_t f, uint64_t, char* buf) {
      std::memcpy(buf, msgs[f].data(), msgs[f].size());
      return msgs[f].size();
    };

    RawUdpServer echo;
    if (!echo.start({RawUdpServer::Mode::kEcho, o_.server_threads, {}, 0}, error_)) {
      discover_error_ = "raw echo: " + error_;
      failed_ = true;
      return;
    }
    run.to = loopback(echo.port());
    run.classify = [](size_t ri, std::string_view) { return Credit{int64_t(ri)}; };
    discover_raw_ = measure(
        "raw echo (recvmmsg -> sendmmsg back)", run, [&echo] { return echo.cpu_seconds(); }, clients_.fds);
    echo.stop();

    run.to = loopback(beacon_.port());
    run.classify = [](size_t ri, std::string_view d) {
      return !d.empty() && d[0] == char(bn::MsgType::kDiscoverReply) ? Credit{int64_t(ri)} : Credit{};
    };
    discover_ = measure("beacon Discover -> DiscoverReply", run, beacon_cpu(), clients_.fds);
    discover_counters_ = counters(beacon_);
  }

  // ---- 2. relay ----

  // Sender i's relay to receiver i with `payload` bytes, run tag and sequence
  // number written into the copy.
  UdpRun relay_run(size_t payload, std::vector<std::string>& templates) {
    templates.clear();
    for (size_t i = 0; i < o_.sockets; ++i) {
      const std::string body(payload, '\0');
      templates.push_back(bn::encode(bn::Relay{kSenderIds + uint32_t(i), kReceiverIds + uint32_t(i), body}));
    }
    UdpRun run;
    run.tx = senders_.fds;
    run.rx = receivers_.fds;
    run.per_flow_rate = kRelayBudget;
    const uint32_t* tag_now = &tag_;  // measure() moves it on before every attempt
    run.build = [&templates, tag_now](size_t f, uint64_t seq, char* buf) {
      const uint32_t tag = *tag_now;
      const std::string& t = templates[f];
      std::memcpy(buf, t.data(), t.size());
      unsigned char* p = reinterpret_cast<unsigned char*>(buf) + bn::kRelayMin;
      for (int k = 0; k < 4; ++k) p[k] = uint8_t(tag >> (24 - 8 * k));
      for (int k = 0; k < 8; ++k) p[4 + k] = uint8_t(seq >> (56 - 8 * k));
      return t.size();
    };
    // RelayDeliver 0x06 from the beacon ([06][sender:4][payload]); the forwarder passes
    // the relay itself on ([05][sender:4][dest:4][payload]).
    run.classify = [tag_now](size_t ri, std::string_view d) {
      const size_t off = d.empty()                                  ? 0
                         : d[0] == char(bn::MsgType::kRelayDeliver) ? bn::kRelayDeliverMin
                         : d[0] == char(bn::MsgType::kRelay)        ? bn::kRelayMin
                                                                    : 0;
      if (off == 0 || d.size() < off + kTagBytes) return Credit{};
      const auto* p = reinterpret_cast<const unsigned char*>(d.data()) + off;
      uint32_t t = 0;
      uint64_t seq = 0;
      for (int k = 0; k < 4; ++k) t = t << 8 | p[k];
      for (int k = 0; k < 8; ++k) seq = seq << 8 | p[4 + k];
      if (t != *tag_now) return Credit{};
      return Credit{int64_t(ri), true, seq};
    };
    return run;
  }

  void measure_relay() {
    // No wait: nothing has relayed since the last line (the Discovers since move
    // other counters).
    relay_before_ = {beacon_.last_line_with("beacon: stats ")};
    for (size_t payload : o_.payloads) {
      RelaySize rs;
      rs.payload = std::max(payload, kTagBytes);
      progress("relay %zu-byte payloads: %zu senders -> %zu receivers, at most %.0f/s per sender", rs.payload,
               o_.sockets, o_.sockets, kRelayBudget);
      std::vector<std::string> templates;
      std::vector<int> all = senders_.fds;
      all.insert(all.end(), receivers_.fds.begin(), receivers_.fds.end());

      RawUdpServer fwd;
      if (!fwd.start({RawUdpServer::Mode::kForward, o_.server_threads, receivers_.ports(), kReceiverIds}, error_)) {
        relay_error_ = "raw forwarder: " + error_;
        failed_ = true;
        return;
      }
      UdpRun run = relay_run(rs.payload, templates);
      run.window = kWindow;
      run.to = loopback(fwd.port());
      rs.raw = measure(
          strf("raw forwarder, %zu B, closed loop", rs.payload), run, [&fwd] { return fwd.cpu_seconds(); }, all);
      fwd.stop();

      run = relay_run(rs.payload, templates);
      run.window = kWindow;
      run.to = loopback(beacon_.port());
      rs.beacon = measure(strf("beacon relay, %zu B, closed loop", rs.payload), run, beacon_cpu(), all);

      const double max = rs.beacon.r.rate;
      for (double load : o_.loads) {
        if (max <= 0) break;
        run = relay_run(rs.payload, templates);
        run.window = 0;
        run.rate = max * load;
        run.to = loopback(beacon_.port());
        rs.loads.push_back(measure(strf("beacon relay, %zu B, open loop %.0f%% of max", rs.payload, load * 100), run,
                                   beacon_cpu(), all));
      }
      relays_.push_back(std::move(rs));
    }
    relay_after_ = counters(beacon_);
  }

  // ---- 3. punch ----

  void measure_punch() {
    progress("punch: sender i asks for receiver i, closed loop %zu in flight per requester", kWindow);
    const ServerCounters before = o_.want("relay") ? relay_after_ : counters(beacon_);
    std::vector<std::string> msgs;
    for (size_t i = 0; i < o_.sockets; ++i)
      msgs.push_back(bn::encode(bn::PunchRequest{kSenderIds + uint32_t(i), kReceiverIds + uint32_t(i), {}}));
    UdpRun run;
    run.tx = senders_.fds;
    run.rx = senders_.fds;
    run.rx.insert(run.rx.end(), receivers_.fds.begin(), receivers_.fds.end());
    run.to = loopback(beacon_.port());
    run.window = kWindow;
    run.build = [&msgs](size_t f, uint64_t, char* buf) {
      std::memcpy(buf, msgs[f].data(), msgs[f].size());
      return msgs[f].size();
    };
    const size_t n = o_.sockets;
    // The requester's command completes the request; the target's is counted beside it.
    run.classify = [n](size_t ri, std::string_view d) {
      if (d.empty() || d[0] != char(bn::MsgType::kPunchCommand)) return Credit{};
      if (ri < n) return Credit{int64_t(ri)};
      Credit c;
      c.extra = true;
      return c;
    };
    punch_ = measure("beacon PunchRequest -> 2 PunchCommands", run, beacon_cpu(), run.rx);
    const ServerCounters after = counters(beacon_);
    punch_rate_limited_ = after.get("drop_punch_rate_limited") - before.get("drop_punch_rate_limited");
  }

  // ---- 4. rss ----

  void measure_rss() {
    ServerProcess s;
    if (!start_beacon(s, "rss")) {
      rss_error_ = error_;
      failed_ = true;
      return;
    }
    rss_ran_ = true;
    rss_before_ = s.status_bytes("VmRSS");
    const size_t flows = std::min<size_t>(o_.sockets, 64);
    Sockets socks;
    if (!socks.open(flows, error_)) {
      rss_error_ = error_;
      failed_ = true;
      return;
    }
    progress("rss: registering %s node ids (one Discover each) from %zu sockets", commas(double(o_.nodes)).c_str(),
             flows);
    // Flow f sends ids base + f, base + f + flows, …: every id once, all shards alike.
    UdpRun run;
    run.tx = socks.fds;
    run.rx = socks.fds;
    run.to = loopback(s.port());
    run.window = 4 * kWindow;
    run.warmup_s = 0;
    run.seconds = 120;  // a cap: the run ends when every id was sent
    run.drain_s = 0.5;
    for (size_t f = 0; f < flows; ++f) run.limits.push_back(o_.nodes / flows + (f < o_.nodes % flows ? 1 : 0));
    run.build = [flows](size_t f, uint64_t seq, char* buf) {
      const std::string d = discover_msg(kRssIds + uint32_t(f + seq * flows));
      std::memcpy(buf, d.data(), d.size());
      return d.size();
    };
    run.classify = [](size_t ri, std::string_view d) {
      return !d.empty() && d[0] == char(bn::MsgType::kDiscoverReply) ? Credit{int64_t(ri)} : Credit{};
    };
    run.server_cpu = [&s] { return s.precise_cpu_seconds(); };
    rss_run_ = run_udp(run);
    ServerCounters c = counters(s);
    rss_nodes_ = c.get("nodes");
    // Lost datagrams: a second pass of the same ids (a registered id is only answered
    // again, a refused one refused again).
    if (rss_nodes_ < expected_registrable() && rss_run_.total_received < rss_run_.total_sent) {
      progress("  the beacon holds %s nodes of %s registrable: sending every id once more",
               commas(double(rss_nodes_)).c_str(), commas(double(expected_registrable())).c_str());
      run_udp(run);
      c = counters(s);
      rss_nodes_ = c.get("nodes");
      rss_second_pass_ = true;
    }
    rss_refused_ = c.get("drop_table_full");
    rss_after_ = s.status_bytes("VmRSS");
    rss_hwm_ = s.status_bytes("VmHWM");
    rss_seconds_ = rss_run_.seconds;
    progress("  %s nodes registered (%s refused: shard full); VmRSS %.1f MiB (%.1f MiB before), VmHWM %.1f MiB",
             commas(double(rss_nodes_)).c_str(), commas(double(rss_refused_)).c_str(), double(rss_after_) / kMiB,
             double(rss_before_) / kMiB, double(rss_hwm_) / kMiB);
    if (!s.alive()) {
      rss_error_ = "the beacon died; its last output:\n" + s.tail_text(12);
      failed_ = true;
    }
    s.stop();
  }

  // The ids of [kRssIds, kRssIds + nodes) that fit the beacon's default table: 64
  // shards by id & 63, each capped at -max-nodes ÷ 64.
  uint64_t expected_registrable() const {
    const uint64_t cap = bn::kMaxNodes / bn::kNodeShards;
    uint64_t n = 0;
    for (uint64_t shard = 0; shard < bn::kNodeShards; ++shard) {
      const uint64_t in_shard = o_.nodes / bn::kNodeShards + (shard < o_.nodes % bn::kNodeShards ? 1 : 0);
      n += std::min(in_shard, cap);
    }
    return n;
  }

  // ---- the report ----

  void row(const Run& run, size_t bytes, const std::string& vs) {
    const UdpRunResult& r = run.r;
    if (run.attempts > 1)
      rep_.note(strf("the row below was measured %d times (the rest of the machine was busy); the quietest is shown",
                     run.attempts));
    rep_.row({run.label, commas(r.rate), bytes ? gbits(r.rate, bytes) : "", commas(double(r.total_sent)),
              commas(double(r.total_received)), percent(r.drop_share()),
              r.reordered || bytes ? commas(double(r.reordered)) : "", cores(r.client_cores), cores(r.server_cores),
              r.rate > 0 ? commas(r.server_cores * 1e9 / r.rate) : "-", cores(r.other_cores), vs});
  }

  // A run that got nothing back measured nothing: the wiring is broken (the exit
  // status says so, for the smoke test).
  void nothing_back(const Run& run) {
    if (run.r.total_received > 0) return;
    rep_.note("ERROR: nothing came back in \"" + run.label + "\"");
    failed_ = true;
  }

  void report() {
    std::vector<std::string> summary;
    if (!main_error_.empty()) {
      rep_.section("beacon");
      rep_.row({"main beacon", "FAILED"});
      rep_.note(main_error_.substr(0, 400));
    }
    if (o_.want("discover")) report_discover(summary);
    if (o_.want("relay")) report_relay(summary);
    if (o_.want("punch")) report_punch(summary);
    if (o_.want("rss")) report_rss(summary);
    if (!summary.empty()) {
      rep_.section(o_.quick ? "targets (a --quick run measures nothing)" : "targets (issue 4, this machine)");
      for (const std::string& s : summary) rep_.note(s);
    }
  }

  void report_discover(std::vector<std::string>& summary) {
    rep_.section(strf("discover: %zu node ids, one socket each, closed loop %zu in flight", o_.sockets, kWindow));
    if (!discover_error_.empty() || !discover_.ok) {
      rep_.row({"discover part", "FAILED"});
      rep_.note(discover_error_.substr(0, 400));
      summary.push_back("discover: FAILED");
      failed_ = true;
      return;
    }
    const double ratio = discover_raw_.r.rate > 0 ? discover_.r.rate / discover_raw_.r.rate : 0;
    nothing_back(discover_raw_);
    nothing_back(discover_);
    row(discover_raw_, 0, "1.00");
    row(discover_, 0, strf("%.2f", ratio));
    rep_.note("rate = replies/s in the measured window; sent/received/lost over the whole run (warm-up and drain");
    rep_.note("included). The echo returns the 5-byte Discover unchanged; the beacon answers 8 bytes");
    rep_.note(strf("beacon counters: discover_replies=%s dropped=%s",
                   commas(double(discover_counters_.get("discover_replies"))).c_str(),
                   commas(double(discover_counters_.get("dropped"))).c_str()));
    summary.push_back(strf("%-30s %s/s = %.2f x raw echo (%s/s): %s (target >= 0.80)", "Discover replies",
                           commas(discover_.r.rate).c_str(), ratio, commas(discover_raw_.r.rate).c_str(),
                           pass_fail(ratio >= 0.8)));
  }

  void report_relay(std::vector<std::string>& summary) {
    rep_.section(strf("relay: %zu senders -> %zu receivers (sender i to receiver i), at most %.0f/s per sender",
                      o_.sockets, o_.sockets, kRelayBudget));
    if (!relay_error_.empty()) {
      rep_.row({"relay part", "FAILED"});
      rep_.note(relay_error_.substr(0, 400));
      summary.push_back("relay: FAILED");
      return;
    }
    uint64_t reordered = 0;
    for (const RelaySize& rs : relays_) {
      const double ratio = rs.raw.r.rate > 0 ? rs.beacon.r.rate / rs.raw.r.rate : 0;
      nothing_back(rs.raw);
      nothing_back(rs.beacon);
      row(rs.raw, rs.payload, "1.00");
      row(rs.beacon, rs.payload, strf("%.2f", ratio));
      reordered += rs.raw.reordered_any + rs.beacon.reordered_any;
      for (const Run& l : rs.loads) {
        row(l, rs.payload, strf("%.2fx offered", l.offered > 0 ? l.r.rate / l.offered : 0));
        reordered += l.reordered_any;
        if (l.r.open_loop_fell_behind) rep_.note("  the client could not keep the schedule of the run above");
        if (l.r.send_refused)
          rep_.note(strf("  %s datagrams refused by the client's own socket in the run above (not counted as sent)",
                         commas(double(l.r.send_refused)).c_str()));
      }
      const double cap = double(o_.sockets) * kRelayBudget;
      if (rs.raw.r.rate > 0.8 * cap)
        rep_.note(strf("  the raw forwarder came within 80%% of the client's budget (%s/s): raise --sockets",
                       commas(cap).c_str()));
      summary.push_back(strf("%-30s %s/s = %.2f x raw forwarding (%s/s), %s Gbit/s payload: %s (target >= 0.70)",
                             strf("relay %zu B packets", rs.payload).c_str(), commas(rs.beacon.r.rate).c_str(), ratio,
                             commas(rs.raw.r.rate).c_str(), gbits(rs.beacon.r.rate, rs.payload).c_str(),
                             pass_fail(ratio >= 0.7)));
      std::string drops;
      for (const Run& l : rs.loads)
        drops += (drops.empty() ? "" : ", ") +
                 strf("%s at %s/s", percent(l.r.drop_share()).c_str(), commas(l.offered).c_str());
      if (!drops.empty())
        summary.push_back(strf("%-30s %s", strf("relay %zu B drop rate", rs.payload).c_str(), drops.c_str()));
    }
    rep_.note("Gbit/s: relay payload bytes only. Reordered: a datagram that arrived after a later one of the same");
    rep_.note("destination (each receiver has one sender). The forwarder passes the 0x05 datagram on unchanged to");
    rep_.note("the receiver its destination id names (a table index); the beacon sends 0x06 [sender][payload]");
    auto delta = [&](const char* key) {
      return commas(double(relay_after_.get(key) - std::min(relay_after_.get(key), relay_before_.get(key))));
    };
    rep_.note(strf(
        "beacon counters over the relay part: relay_forwarded=%s relay_dropped=%s drop_relay_rate_limited=%s",
        delta("relay_forwarded").c_str(), delta("relay_dropped").c_str(), delta("drop_relay_rate_limited").c_str()));
    rep_.note(strf("  drop_relay_spoofed_sender=%s drop_send_failed=%s relay_not_found=%s",
                   delta("drop_relay_spoofed_sender").c_str(), delta("drop_send_failed").c_str(),
                   delta("relay_not_found").c_str()));
    summary.push_back(strf("%-30s %s: %s (target 0)", "relay reordered per destination",
                           commas(double(reordered)).c_str(), pass_fail(reordered == 0)));
  }

  void report_punch(std::vector<std::string>& summary) {
    rep_.section(strf("punch: %zu requester/target pairs, closed loop %zu in flight, -punch-whitelist 127.0.0.1",
                      o_.sockets, kWindow));
    if (!punch_error_.empty() || !punch_.ok) {
      rep_.row({"punch part", "FAILED"});
      rep_.note(punch_error_.substr(0, 400));
      summary.push_back("punch: FAILED");
      return;
    }
    nothing_back(punch_);
    row(punch_, 0, "");
    rep_.note(strf("rate = coordinations/s (PunchCommand at the requester); at the targets %s/s. Rate-limited: %s",
                   commas(punch_.r.extra_rate).c_str(), commas(double(punch_rate_limited_)).c_str()));
    summary.push_back(
        strf("%-30s %s/s (2 PunchCommands each; no target set)", "punch coordinations", commas(punch_.r.rate).c_str()));
  }

  void report_rss(std::vector<std::string>& summary) {
    rep_.section(
        strf("rss: a fresh beacon, %s node ids registered by one Discover each", commas(double(o_.nodes)).c_str()));
    if (!rss_error_.empty() || !rss_ran_) {
      rep_.row({"rss part", "FAILED"});
      rep_.note(rss_error_.substr(0, 400));
      summary.push_back("rss: FAILED");
      return;
    }
    const double rate = rss_seconds_ > 0 ? double(rss_run_.sent) / rss_seconds_ : 0;
    if (rss_nodes_ == 0) {
      rep_.note("ERROR: the beacon reports no registered node (or logged no stats line)");
      failed_ = true;
    }
    rep_.row({"registration Discovers (closed loop)", commas(rate), "", commas(double(rss_run_.total_sent)),
              commas(double(rss_run_.total_received)), percent(rss_run_.drop_share()), "", cores(rss_run_.client_cores),
              cores(rss_run_.server_cores), "", cores(rss_run_.other_cores), ""});
    const uint64_t expected = expected_registrable();
    const double per_node =
        rss_nodes_ ? double(rss_after_ - std::min(rss_after_, rss_before_)) / double(rss_nodes_) : 0;
    rep_.note(strf("nodes registered (the beacon's count): %s of %s offered; %s refused (shard full, -max-nodes %s",
                   commas(double(rss_nodes_)).c_str(), commas(double(o_.nodes)).c_str(),
                   commas(double(rss_refused_)).c_str(), commas(double(bn::kMaxNodes)).c_str()));
    rep_.note(strf("÷ 64 = %s per shard; %s registrable)%s", commas(double(bn::kMaxNodes / bn::kNodeShards)).c_str(),
                   commas(double(expected)).c_str(), rss_second_pass_ ? "; a second pass resent every id" : ""));
    rep_.note(strf("VmRSS %.1f MiB (%.1f MiB before registering: %.0f bytes per node), VmHWM %.1f MiB",
                   double(rss_after_) / kMiB, double(rss_before_) / kMiB, per_node, double(rss_hwm_) / kMiB));
    const bool all = rss_nodes_ >= expected;
    const bool small = double(std::max(rss_after_, rss_hwm_)) <= 256 * kMiB;
    summary.push_back(strf("%-30s %s nodes in %.1f MiB RSS (HWM %.1f MiB): %s (target 500,000 in <= 256 MiB)%s",
                           "registered nodes", commas(double(rss_nodes_)).c_str(), double(rss_after_) / kMiB,
                           double(rss_hwm_) / kMiB,
                           o_.nodes < 500'000 ? "not measured (--nodes below 500,000)" : pass_fail(all && small),
                           all ? "" : "; not every registrable id registered"));
  }

  Options o_;
  std::string error_;
  bool failed_ = false;
  ServerProcess beacon_;
  Sockets clients_, senders_, receivers_;
  uint32_t tag_ = 0;
  std::string main_error_, discover_error_, relay_error_, punch_error_, rss_error_;
  Run discover_raw_, discover_, punch_;
  ServerCounters discover_counters_, relay_before_, relay_after_;
  uint64_t punch_rate_limited_ = 0;
  std::vector<RelaySize> relays_;
  bool rss_ran_ = false, rss_second_pass_ = false;
  UdpRunResult rss_run_;
  uint64_t rss_nodes_ = 0, rss_refused_ = 0, rss_before_ = 0, rss_after_ = 0, rss_hwm_ = 0;
  double rss_seconds_ = 0;
  Report rep_{{{"measurement"},
               {"rate/s", true},
               {"Gbit/s", true},
               {"sent", true},
               {"received", true},
               {"lost", true},
               {"reordered", true},
               {"client cpu", true},
               {"server cpu", true},
               {"server ns/op", true},
               {"other", true},
               {"vs raw"}}};
};

}  // namespace

int run_beacon_bench(int argc, char** argv, int first) {
  Options o;
  o.server = default_beacon_binary();
  std::string only;
  uint64_t seconds = 3, sockets = 128, nodes = 500'000, server_threads = 0, client_threads = 1;
  Flags flags("pilot-bench beacon",
              "Measures the real standalone beacon on loopback next to the raw UDP data path of this machine\n"
              "(a recvmmsg/sendmmsg echo and forwarder with the beacon's socket layout), through one client:\n"
              "Discover replies/s, relay packets/s and Gbit/s (64 and 1400 B) with the drop rate at 25/50/100%\n"
              "of the maximum and per-destination order, punch coordinations/s, and the RSS of 500,000 nodes.");
  flags.add_string(&o.server, "server", nullptr, "the beacon binary to start");
  flags.add_uint(&seconds, "seconds", nullptr, "measured seconds per run (after a 0.5 s warm-up)");
  flags.add_string(&only, "only", nullptr, "comma-separated subset of: discover,relay,punch,rss");
  flags.add_uint(&sockets, "sockets", nullptr,
                 "client sockets (flows) per part: node ids for discover, sender/receiver pairs for relay and "
                 "punch; relay can reach at most sockets x 3500/s");
  flags.add_uint(&server_threads, "server-threads", nullptr,
                 "the beacon's -sockets and the raw servers' threads (0 = one per core, the beacon's default)");
  flags.add_uint(&client_threads, "client-threads", nullptr,
                 "client threads, each with its share of the sockets (the client shares the cores with the "
                 "server)");
  flags.add_uint(&nodes, "nodes", nullptr, "rss: node ids to register (with --quick: 5000 unless given)");
  flags.add_bool(&o.quick, "quick", nullptr, "tiny sizes, one open-loop load: a smoke test, not a measurement");
  bool nodes_set = false;
  for (int i = first; i < argc; ++i)
    if (std::string(argv[i]).rfind("--nodes", 0) == 0) nodes_set = true;
  switch (flags.parse(argc, argv, first)) {
    case Flags::Result::kHelp: std::fputs(flags.usage().c_str(), stdout); return 0;
    case Flags::Result::kError: std::fprintf(stderr, "pilot-bench beacon: %s\n", flags.error().c_str()); return 2;
    case Flags::Result::kOk: break;
  }
  if (!flags.positional().empty()) {
    std::fprintf(stderr, "pilot-bench beacon: unexpected argument \"%s\"\n", flags.positional()[0].c_str());
    return 2;
  }
  if (seconds < 1 || seconds > 600 || sockets < 1 || sockets > 1000 || nodes < 1 || nodes > 4'000'000 ||
      server_threads > 64 || client_threads < 1 || client_threads > 16) {
    std::fprintf(stderr,
                 "pilot-bench beacon: --seconds 1..600, --sockets 1..1000, --nodes 1..4000000, --server-threads "
                 "0..64, --client-threads 1..16\n");
    return 2;
  }
  for (size_t p = 0; p < only.size();) {
    const size_t comma = std::min(only.find(',', p), only.size());
    const std::string part = only.substr(p, comma - p);
    if (part != "discover" && part != "relay" && part != "punch" && part != "rss") {
      std::fprintf(stderr, "pilot-bench beacon: unknown part \"%s\" in --only (discover, relay, punch, rss)\n",
                   part.c_str());
      return 2;
    }
    o.only.insert(part);
    p = comma + 1;
  }
  o.seconds = double(seconds);
  o.sockets = sockets;
  o.nodes = nodes;
  o.server_threads = server_threads;
  o.client_threads = client_threads;
  if (o.quick) {
    // Every part against the real beacon in a few seconds; measures nothing.
    o.seconds = 0.2;
    o.warmup_s = 0.05;
    o.drain_s = 0.1;
    o.sockets = std::min<size_t>(o.sockets, 8);
    o.loads = {0.5};
    o.stats_interval = "200ms";
    o.stats_wait_s = 0.3;
    if (!nodes_set) o.nodes = 5000;
  }
  if (!std::filesystem::exists(o.server)) {
    std::fprintf(stderr, "pilot-bench beacon: no beacon binary at %s (build the beacon target or pass --server)\n",
                 o.server.c_str());
    return 2;
  }
  BeaconBench bench(std::move(o));
  return bench.run();
}

}  // namespace pilot::bench
