#include "cmd/pilot-bench/repl_bench.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cmd/pilot-bench/bench_dir.h"
#include "cmd/pilot-bench/cpu_time.h"
#include "cmd/pilot-bench/generated_log.h"
#include "cmd/pilot-bench/lag_probe.h"
#include "cmd/pilot-bench/load_client.h"
#include "cmd/pilot-bench/machine.h"
#include "cmd/pilot-bench/machine_noise.h"
#include "cmd/pilot-bench/report.h"
#include "cmd/pilot-bench/rpc_frames.h"
#include "cmd/pilot-bench/server_process.h"
#include "core/ed25519.h"
#include "core/flags.h"
#include "projections/state.h"
#include "projections/store.h"

namespace pilot::bench {
namespace {

// Registration keys of this bench (rpc uses domains 1 and 2).
constexpr uint64_t kKeyDomain = 5;
// Lag samples per second: the "about 100 times a second".
constexpr double kLagSamplesPerSecond = 100;
// A mutation not visible on the follower this long after its ack is a lost sample.
constexpr double kLagTimeoutSeconds = 5;
// Catch-up: the follower's replication status is read this often.
constexpr int kCatchupPollMs = 20;

struct Options {
  std::string server;
  std::string dir;
  double seconds = 10;           // lag: measured seconds of load
  double rate = 10'000;          // lag: offered mutations/s
  uint64_t records = 1'000'000;  // catchup: the leader's log
  size_t conns = 64;             // lag and sync: client connections to the leader
  int sync_rounds = 3;           // sync: runs per mode
  double sync_seconds = 2;       // sync: measured seconds per run
  double warmup_s = 1;           // lag: before the measured window
  double sync_warmup_s = 0.5;    // sync: before each measured window
  uint64_t max_requests = 0;     // per sync run (quick)
  bool quick = false;
  bool keep = false;
  std::set<std::string> only;
  bool want(const char* part) const { return only.empty() || only.count(part) != 0; }
};

struct LagResult {
  bool ran = false;
  std::string error;
  RunResult load;
  size_t samples = 0, timeouts = 0;
  double p50_ns = 0, p99_ns = 0, max_ns = 0;
  double rtt_p50_ns = 0;  // of the lookup that found the node: the resolution
  double polls_mean = 0;
  uint64_t follower_seq_behind = 0;  // at the end of the run (leader durable − follower durable)
};

struct SyncRun {
  bool sync = false;
  bool ok = false;
  std::string error;
  RunResult r;
};

struct CatchupResult {
  bool ran = false;
  std::string error;
  GeneratedLog log;
  double replay_s = 0;        // best local replay_log pass
  double leader_start_s = 0;  // leader: start to listening (restores the 1M-record log)
  double total_s = 0;         // follower process start -> durable seq reached the leader's
  double streaming_s = 0;     // "connected to" line -> the same
  double follower_cpu_s = 0, leader_cpu_s = 0;
  uint64_t final_seq = 0;
  std::vector<std::string> follower_snapshots, leader_snapshots;  // during the catch-up
};

class ReplBench {
 public:
  explicit ReplBench(Options o) : o_(std::move(o)) {}

  int run() {
    if (!make_bench_dir(o_.dir, "pilot-bench repl", o_.dir, base_note_)) return 1;
    repl_token_ = random_token();
    admin_token_ = random_token();
    print_header();
    if (o_.want("lag")) measure_lag();
    if (o_.want("sync")) measure_sync();
    if (o_.want("catchup")) measure_catchup();
    std::printf("load average at end %s\n\n", load_average().c_str());
    report();
    rep_.print(stdout);
    std::fflush(stdout);
    if (!o_.keep) {
      std::error_code ec;
      std::filesystem::remove_all(o_.dir, ec);
    } else {
      std::printf("\nkept: %s\n", o_.dir.c_str());
    }
    return failed_ ? 1 : 0;
  }

 private:
  void print_header() {
    std::printf("pilot-bench repl%s\n",
                o_.quick ? " --quick (smoke run: small sizes, numbers are not a measurement)" : "");
    std::printf("machine   : %s\n", machine_line().c_str());
    std::printf("build     : %s; load average at start %s\n", client_build_kind(), load_average().c_str());
    std::printf("server    : %s\n", o_.server.c_str());
    std::printf(
        "            leader: --registry-addr 127.0.0.1:0 --fsync always --beacon=false --http \"\" --repl-token T\n"
        "            --repl-addr 127.0.0.1:0 --replication async|sync; follower: the same with --follow\n"
        "            127.0.0.1:<leader's repl port> instead of --repl-addr (catchup: --http 127.0.0.1:0\n"
        "            --admin-token A); PILOT_REGISTRY_NORATELIMIT=1, fresh data dirs\n");
    std::printf("bench dir : %s\n            %s\n", o_.dir.c_str(), mount_of(o_.dir).c_str());
    if (!base_note_.empty()) std::printf("            note: %s\n", base_note_.c_str());
    if (in_memory_fs(o_.dir))
      std::printf("            WARNING: in memory: fdatasync is free here, durable figures mean nothing\n");
    std::printf("client    : one epoll thread, non-blocking loopback sockets with TCP_NODELAY, every frame built\n");
    std::printf("            before timing; %zu connections to the leader; no CPU pinning\n", o_.conns);
    std::printf("columns   : CPU in %% of one core over the measured window; other = the rest of the machine\n");
    std::printf("            (other processes, kernel threads, steal, and in the sync part the idle pair)\n");
    std::fflush(stdout);
  }

  // ---- servers ----

  bool start_leader(ServerProcess& s, const std::string& dir, const char* mode) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    ServerArgs a;
    a.extra = {"--repl-token", repl_token_, "--repl-addr", "127.0.0.1:0", "--replication", mode};
    a.wait_repl_listener = true;
    if (!s.start(o_.server, dir, a, error_)) return false;
    progress("leader (%s): pid %d, registry 127.0.0.1:%u, replication 127.0.0.1:%u (data dir %s)", mode, int(s.pid()),
             s.port(), s.repl_port(), dir.c_str());
    return true;
  }

  // Starts a follower of `leader` and waits until it is connected to it.
  bool start_follower(ServerProcess& s, const ServerProcess& leader, const std::string& dir, bool admin) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    ServerArgs a;
    a.extra = {"--follow", "127.0.0.1:" + std::to_string(leader.repl_port()), "--repl-token", repl_token_};
    if (admin) a.http = {"--http", "127.0.0.1:0", "--admin-token", admin_token_};
    if (!s.start(o_.server, dir, a, error_)) return false;
    progress("follower: pid %d, registry 127.0.0.1:%u%s (data dir %s)", int(s.pid()), s.port(),
             admin ? strf(", admin 127.0.0.1:%u", s.admin_port()).c_str() : "", dir.c_str());
    if (s.wait_line("replication: connected to", 30) == 0) {
      error_ = "the follower did not connect to the leader within 30 s; its last output:\n" + s.tail_text(12);
      return false;
    }
    return true;
  }

  // Makes sure `want` unused registration frames are ready (before the clock starts).
  void top_up(size_t want) {
    const size_t left = frames_.size() - pos_;
    if (left >= want) return;
    frames_.erase(frames_.begin(), frames_.begin() + ptrdiff_t(pos_));
    pos_ = 0;
    const size_t add = want - left;
    const int64_t t0 = mono_ns();
    std::vector<std::string> more = signed_registrations(kKeyDomain, next_key_, add);
    next_key_ += add;
    frames_.insert(frames_.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    progress("  pre-built %s signed registrations in %.1f s", commas(double(add)).c_str(),
             double(mono_ns() - t0) / 1e9);
  }

  RunConfig registration_run(const ServerProcess& leader) const {
    RunConfig cfg;
    cfg.port = leader.port();
    cfg.conns = o_.conns;
    cfg.warmup_s = o_.warmup_s;
    cfg.expect.ok_json = "\"type\":\"register_ok\"";
    const ServerProcess* l = &leader;
    cfg.server_cpu = [l] { return l->cpu_seconds(); };
    cfg.server_loop_cpu = [l] { return l->loop_cpu_seconds(); };
    return cfg;
  }

  // ---- 1. lag ----

  void measure_lag() {
    progress("lag: async pair, open loop %s registrations/s for %.1f s (+ %.1f s warm-up), %.0f samples/s",
             commas(o_.rate).c_str(), o_.seconds, o_.warmup_s, kLagSamplesPerSecond);
    lag_.ran = true;
    ServerProcess leader, follower;
    if (!start_leader(leader, o_.dir + "/lag-leader", "async") ||
        !start_follower(follower, leader, o_.dir + "/lag-follower", false)) {
      lag_.error = error_;
      failed_ = true;
      return;
    }
    top_up(size_t(o_.rate * (o_.warmup_s + o_.seconds) * 1.05) + 1000);
    if (!o_.quick) wait_machine_quiet(60, [&] { return leader.cpu_seconds() + follower.cpu_seconds(); });

    LagProbe probe(follower.port(), kLagSamplesPerSecond, kLagTimeoutSeconds);
    RunConfig cfg = registration_run(leader);
    cfg.open_rate = o_.rate;
    cfg.seconds = o_.seconds;
    cfg.also_cpu = {[&follower] { return follower.cpu_seconds(); }};
    cfg.on_reply = [&probe](std::string_view body, int64_t now) {
      if (body.find("\"type\":\"register_ok\"") == std::string_view::npos) return;
      probe.acknowledged(uint32_t(std::strtoul(json_value(body, "node_id").c_str(), nullptr, 10)), now);
    };
    OnceSource src(frames_, pos_);
    if (!probe.start(error_)) {
      lag_.error = error_;
      failed_ = true;
      return;
    }
    const int64_t window0 = mono_ns() + int64_t(o_.warmup_s * 1e9);
    std::string err;
    const bool ok = run_load(cfg, src, lag_.load, err);
    const std::vector<LagSample> samples = probe.stop();
    if (!ok || !probe.error().empty()) {
      lag_.error = !ok ? err : probe.error();
      failed_ = true;
      return;
    }
    std::vector<int64_t> lags, rtts;
    uint64_t polls = 0;
    for (const LagSample& s : samples) {
      if (s.acked_ns < window0) continue;  // warm-up
      polls += s.polls;
      if (s.visible_ns == 0) {
        ++lag_.timeouts;
        continue;
      }
      lags.push_back(s.visible_ns - s.acked_ns);
      rtts.push_back(s.last_rtt_ns);
    }
    lag_.samples = lags.size();
    lag_.polls_mean = lags.empty() ? 0 : double(polls) / double(lags.size() + lag_.timeouts);
    lag_.max_ns = lags.empty() ? 0 : double(*std::max_element(lags.begin(), lags.end()));
    lag_.p50_ns = percentile(lags, 0.50);
    lag_.p99_ns = percentile(lags, 0.99);
    lag_.rtt_p50_ns = percentile(rtts, 0.50);
    if (!leader.alive() || !follower.alive()) {
      lag_.error =
          "a server died; leader's last output:\n" + leader.tail_text(8) + "follower's:\n" + follower.tail_text(8);
      failed_ = true;
    }
    progress("  leader acknowledged %s/s (offered %s/s)%s; lag p50 %s p99 %s max %s over %zu samples (%zu timed out)",
             commas(lag_.load.rate).c_str(), commas(o_.rate).c_str(), lag_.load.saturated ? " and FELL BEHIND" : "",
             latency_text(lag_.p50_ns).c_str(), latency_text(lag_.p99_ns).c_str(), latency_text(lag_.max_ns).c_str(),
             lag_.samples, lag_.timeouts);
  }

  // ---- 2. sync vs async ----

  void measure_sync() {
    progress("sync: an async pair and a sync pair, %zu connections, closed loop, %d run(s) each", o_.conns,
             o_.sync_rounds);
    ServerProcess leaders[2], followers[2];  // [0] async, [1] sync
    const char* modes[2] = {"async", "sync"};
    for (int m = 0; m < 2; ++m)
      if (!start_leader(leaders[m], o_.dir + "/" + modes[m] + "-leader", modes[m]) ||
          !start_follower(followers[m], leaders[m], o_.dir + "/" + modes[m] + "-follower", false)) {
        sync_error_ = error_;
        failed_ = true;
        return;
      }
    auto pair_cpu = [&](int m) { return leaders[m].cpu_seconds() + followers[m].cpu_seconds(); };
    double estimate[2] = {o_.quick ? 2000.0 : 20000.0, o_.quick ? 2000.0 : 20000.0};
    for (int round = 0; round < o_.sync_rounds; ++round) {
      // A B, B A, A B …: a machine drifting during the part hits both modes alike.
      for (int k = 0; k < 2; ++k) {
        const int m = (round % 2 == 0) ? k : 1 - k;
        const size_t need = o_.max_requests ? size_t(o_.max_requests) + o_.conns
                                            : size_t(estimate[m] * (o_.sync_warmup_s + o_.sync_seconds) * 1.5) + 1000;
        top_up(need);
        if (!o_.quick) {
          for (int p = 0; p < 2; ++p) {
            leaders[p].wait_idle(60);
            followers[p].wait_idle(60);
          }
          wait_machine_quiet(60, [&] { return pair_cpu(0) + pair_cpu(1); });
        }
        RunConfig cfg = registration_run(leaders[m]);
        cfg.seconds = o_.sync_seconds;
        cfg.warmup_s = o_.sync_warmup_s;
        cfg.max_requests = o_.max_requests;
        cfg.also_cpu = {[&followers, m] { return followers[m].cpu_seconds(); },
                        [&pair_cpu, m] { return pair_cpu(1 - m); }};
        OnceSource src(frames_, pos_);
        SyncRun run;
        run.sync = m == 1;
        run.ok = run_load(cfg, src, run.r, run.error);
        if (run.ok && (!leaders[m].alive() || !followers[m].alive())) {
          run.ok = false;
          run.error = "a server died; leader's last output:\n" + leaders[m].tail_text(8);
        }
        if (!run.ok) failed_ = true;
        if (run.ok && run.r.rate > 0) estimate[m] = run.r.rate;
        progress("  %-5s %12s registrations/s  p50 %-9s p99 %-9s errors %s%s", modes[m],
                 run.ok ? commas(run.r.rate).c_str() : "FAILED", latency_text(run.r.p50_ns).c_str(),
                 latency_text(run.r.p99_ns).c_str(), commas(double(run.r.errors)).c_str(),
                 run.ok ? "" : (": " + run.error).c_str());
        sync_runs_.push_back(std::move(run));
      }
    }
    // A sync leader that got no ack within --sync-timeout degraded to async: its runs
    // would then not measure sync mode.
    sync_confirmed_ = leaders[1].wait_line("replication: sync: replies wait", 0) != 0;
    for (const std::string& w : leaders[1].warnings())
      if (w.find("degraded") != std::string::npos) sync_degraded_.push_back(w);
  }

  // ---- 3. catch-up ----

  void measure_catchup() {
    CatchupResult& c = catchup_;
    c.ran = true;
    const std::string ldir = o_.dir + "/catchup-leader", fdir = o_.dir + "/catchup-follower";
    progress("catchup: writing a %s-event log (the log bench's mix, fsync=none)", commas(double(o_.records)).c_str());
    if (!write_mix_log(ldir + "/log", o_.records, c.log, c.error)) {
      failed_ = true;
      return;
    }
    progress("  %s records, %.1f MB in %zu segment(s), written in %.1f s", commas(double(c.log.records)).c_str(),
             double(c.log.record_bytes) / 1e6, c.log.segments, c.log.write_seconds);

    // The local ceiling: replay_log of the same (page-cached) log, best of a few passes.
    const int passes = o_.quick ? 1 : 3;
    for (int i = 0; i < passes; ++i) {
      auto state = std::make_unique<State>();
      const int64_t t0 = mono_ns();
      if (!replay_log(ldir + "/log", *state, c.log.records, c.error)) {
        c.error = "replay_log: " + c.error;
        failed_ = true;
        return;
      }
      const double s = double(mono_ns() - t0) / 1e9;
      if (i == 0 || s < c.replay_s) c.replay_s = s;
    }
    progress("  replay_log: %s records/s (best of %d)", commas(double(c.log.records) / c.replay_s).c_str(), passes);

    ServerProcess leader, follower;
    const int64_t l0 = mono_ns();
    if (!start_leader(leader, ldir, "async")) {
      c.error = error_;
      failed_ = true;
      return;
    }
    c.leader_start_s = double(mono_ns() - l0) / 1e9;
    // A background snapshot of the restored log would share the catch-up's CPU.
    if (!leader.wait_idle(o_.quick ? 30 : 300, o_.quick ? 2 : 6))
      progress("  (the leader was still busy after its start; measuring anyway)");
    if (!o_.quick) wait_machine_quiet(60, [&] { return leader.cpu_seconds(); });

    progress("catchup: an empty follower, until its durable seq reaches %s", commas(double(c.log.records)).c_str());
    const double leader_cpu0 = leader.cpu_seconds();
    const size_t leader_snaps0 = leader.snapshots();
    const int64_t t0 = mono_ns();
    if (!start_follower(follower, leader, fdir, true)) {
      c.error = error_;
      failed_ = true;
      return;
    }
    const int64_t connected = follower.wait_line("replication: connected to", 0);
    httplib::Client http("127.0.0.1", follower.admin_port());
    http.set_connection_timeout(5);
    http.set_read_timeout(10);
    const httplib::Headers headers = {{"X-Admin-Token", admin_token_}};
    const double limit_s = std::max(300.0, double(o_.records) / 2000);
    int64_t done = 0, last_report = t0;
    while (done == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kCatchupPollMs));
      const int64_t now = mono_ns();
      auto res = http.Get("/api/admin/replication-status", headers);
      if (res && res->status == 200) {
        const auto body = nlohmann::json::parse(res->body, nullptr, false);
        const uint64_t seq = body.is_object() ? body.value("durable_seq", uint64_t{0}) : 0;
        c.final_seq = seq;
        if (seq >= c.log.records) done = mono_ns();
        if (now - last_report > int64_t(5e9)) {
          last_report = now;
          progress("  follower at seq %s", commas(double(seq)).c_str());
        }
      }
      if (done == 0 && (!follower.alive() || double(now - t0) / 1e9 > limit_s)) {
        c.error = strf("the follower %s at seq %llu of %llu; its last output:\n",
                       follower.alive() ? "did not catch up in time" : "died", (unsigned long long)c.final_seq,
                       (unsigned long long)c.log.records) +
                  follower.tail_text(12);
        failed_ = true;
        return;
      }
    }
    c.total_s = double(done - t0) / 1e9;
    c.streaming_s = connected ? double(done - connected) / 1e9 : 0;
    c.follower_cpu_s = follower.cpu_seconds();
    c.leader_cpu_s = leader.cpu_seconds() - leader_cpu0;
    c.follower_snapshots = follower.snapshot_lines(0);
    c.leader_snapshots = leader.snapshot_lines(leader_snaps0);
    progress("  caught up in %.2f s: %s records/s", c.total_s, commas(double(c.log.records) / c.total_s).c_str());
  }

  // ---- the report ----

  static std::string cores(double c) { return c < 0 ? std::string("-") : strf("%.0f%%", c * 100); }

  void report() {
    std::vector<std::string> summary;
    if (lag_.ran) report_lag(summary);
    if (!sync_runs_.empty() || !sync_error_.empty()) report_sync(summary);
    if (catchup_.ran) report_catchup(summary);
    if (!summary.empty()) {
      rep_.section("figures (the issue sets no target for these; failover time is measured by the keepalived test)");
      for (const std::string& s : summary) rep_.note(s);
    }
  }

  void report_lag(std::vector<std::string>& summary) {
    rep_.section(strf("follower lag under %s registrations/s (async, open loop, %zu conns, %.1f s)",
                      commas(o_.rate).c_str(), o_.conns, o_.seconds));
    if (!lag_.error.empty()) {
      rep_.row({"lag part", "FAILED"});
      rep_.note(lag_.error.substr(0, 400));
      summary.push_back("follower lag: FAILED");
      return;
    }
    const RunResult& r = lag_.load;
    const double share = r.rate / o_.rate;
    const bool sustained = !r.saturated && share >= 0.95;
    const double follower_cores = r.also_cores.empty() ? -1 : r.also_cores[0];
    rep_.row({"leader: signed registrations acknowledged", commas(r.rate), latency_text(r.p50_ns),
              latency_text(r.p99_ns), "", commas(double(r.completed)),
              cores(r.server_cores) + ", loop " + cores(r.server_loop_cores), cores(follower_cores),
              cores(r.other_cores), strf("%.2fx offered", share)});
    if (r.errors > 0)
      rep_.note(strf("%s error replies; first: %s", commas(double(r.errors)).c_str(), r.first_error.c_str()));
    if (!sustained)
      rep_.note(strf("the leader did NOT sustain %s/s%s", commas(o_.rate).c_str(),
                     r.saturated ? " (256 requests queued on a connection: the run stopped early)" : ""));
    rep_.row({"follower lag: leader's reply -> lookup_ok on the follower", "", latency_text(lag_.p50_ns),
              latency_text(lag_.p99_ns), latency_text(lag_.max_ns), commas(double(lag_.samples))});
    rep_.note(strf("%.0f samples/s: the newest acknowledged registration, looked up on the follower's registry port",
                   kLagSamplesPerSecond));
    rep_.note(strf("in a tight loop (%.1f lookups per sample on average); a sample includes that lookup's round",
                   lag_.polls_mean));
    rep_.note(strf("trip (p50 %s): the resolution. %zu sample(s) not visible within %.0f s",
                   latency_text(lag_.rtt_p50_ns).c_str(), lag_.timeouts, kLagTimeoutSeconds));
    rep_.note("p50/p99 of the registrations: from the intended send time (open loop), incl. the leader's fdatasync");
    summary.push_back(strf("%-24s p50 %s, p99 %s, max %s (%zu samples) at %s acknowledged/s (offered %s/s)%s",
                           "follower lag", latency_text(lag_.p50_ns).c_str(), latency_text(lag_.p99_ns).c_str(),
                           latency_text(lag_.max_ns).c_str(), lag_.samples, commas(r.rate).c_str(),
                           commas(o_.rate).c_str(), sustained ? "" : ": the leader did NOT sustain the rate"));
  }

  void report_sync(std::vector<std::string>& summary) {
    rep_.section(
        strf("sync vs async: new durable registrations, %zu conns, closed loop, %.1f s runs, each pair with a "
             "connected follower",
             o_.conns, o_.sync_seconds));
    if (!sync_error_.empty()) {
      rep_.row({"sync part", "FAILED"});
      rep_.note(sync_error_.substr(0, 400));
      summary.push_back("sync / async: FAILED");
      return;
    }
    double sum[2] = {0, 0};
    int n[2] = {0, 0}, index[2] = {0, 0};
    bool all_ok = true;
    for (const SyncRun& run : sync_runs_) {
      all_ok = all_ok && run.ok;
      if (!run.ok) continue;
      sum[run.sync] += run.r.rate;
      ++n[run.sync];
    }
    for (size_t i = 0; i < sync_runs_.size(); ++i) {
      const SyncRun& run = sync_runs_[i];
      const std::string label = strf("%s (%d)", run.sync ? "sync" : "async", ++index[run.sync]);
      if (!run.ok) {
        rep_.row({label, "FAILED"});
        rep_.note(run.error.substr(0, 300));
        continue;
      }
      const RunResult& r = run.r;
      // Against the mean of the other mode: how far apart the modes are run by run.
      const std::string vs =
          n[!run.sync] ? strf("%.3fx mean %s", r.rate * n[!run.sync] / sum[!run.sync], run.sync ? "async" : "sync")
                       : "";
      rep_.row({label, commas(r.rate), latency_text(r.p50_ns), latency_text(r.p99_ns), "", commas(double(r.completed)),
                cores(r.server_cores) + ", loop " + cores(r.server_loop_cores),
                cores(r.also_cores.empty() ? -1 : r.also_cores[0]), cores(r.other_cores), vs});
      if (r.errors > 0)
        rep_.note(strf("%s error replies; first: %s", commas(double(r.errors)).c_str(), r.first_error.c_str()));
    }
    const double ratio = n[0] && n[1] ? (sum[1] / n[1]) / (sum[0] / n[0]) : 0;
    rep_.row({strf("sync / async (mean of %d / %d runs)", n[1], n[0]),
              ratio > 0 ? commas(sum[1] / n[1]) + " / " + commas(sum[0] / n[0]) : "-", "", "", "", "", "", "", "",
              ratio > 0 ? strf("%.3f", ratio) : "-"});
    rep_.note("sync: a reply waits for the leader's fdatasync and the follower's ack of its own (append + fdatasync);");
    rep_.note("async: for the leader's fdatasync only. Runs alternate A B, B A, …; both pairs stay up throughout");
    if (!sync_confirmed_) rep_.note("WARNING: the sync leader never logged \"replication: sync: replies wait\"");
    for (const std::string& w : sync_degraded_) rep_.note("sync leader: " + w.substr(0, 200));
    summary.push_back(strf("%-24s %.3f (%s vs %s registrations/s, %zu conns, %d runs each)%s", "sync / async", ratio,
                           ratio > 0 ? commas(sum[1] / n[1]).c_str() : "-",
                           ratio > 0 ? commas(sum[0] / n[0]).c_str() : "-", o_.conns, n[1],
                           all_ok ? "" : "; some runs FAILED"));
  }

  void report_catchup(std::vector<std::string>& summary) {
    const CatchupResult& c = catchup_;
    rep_.section(strf("catch-up: an empty follower %s records behind (the log bench's event mix)",
                      commas(double(o_.records)).c_str()));
    if (!c.error.empty()) {
      rep_.row({"catch-up part", "FAILED"});
      rep_.note(c.error.substr(0, 400));
      summary.push_back("catch-up: FAILED");
      return;
    }
    const double mb = double(c.log.record_bytes) / 1e6;
    const double local = double(c.log.records) / c.replay_s;
    auto rate_text = [&](double s) {
      return strf("%s rec/s, %.0f MB/s", commas(double(c.log.records) / s).c_str(), mb / s);
    };
    rep_.row({"local replay_log of the same log (scan + decode + apply)", rate_text(c.replay_s), "", "", "", "", "", "",
              "", "1.00x"});
    rep_.row({"follower: process start -> durable seq = leader's", rate_text(c.total_s), "", "", "", "",
              cores(c.leader_cpu_s / c.total_s), cores(c.follower_cpu_s / c.total_s), "",
              strf("%.2fx local replay", double(c.log.records) / c.total_s / local)});
    if (c.streaming_s > 0)
      rep_.row({"  from its connection to the leader", rate_text(c.streaming_s), "", "", "", "", "", "", "",
                strf("%.2fx local replay", double(c.log.records) / c.streaming_s / local)});
    rep_.note(strf("%s records, %.1f MB (mean %.0f B), %zu segment(s), written offline in %.1f s; the leader restored",
                   commas(double(c.log.records)).c_str(), mb, double(c.log.record_bytes) / double(c.log.records),
                   c.log.segments, c.log.write_seconds));
    rep_.note(strf("it and listened %.2f s after its start; caught up in %.2f s (polling %s every %d ms)",
                   c.leader_start_s, c.total_s, "/api/admin/replication-status", kCatchupPollMs));
    rep_.note("the follower receives, checks (CRC, seq, term, hash chain), appends, fdatasyncs and applies each");
    rep_.note("record; replay_log reads and applies from the page cache with no writes: the ceiling");
    for (const std::string& l : c.follower_snapshots) rep_.note("follower: background " + l);
    for (const std::string& l : c.leader_snapshots) rep_.note("leader: background " + l);
    summary.push_back(strf("%-24s %s = %.2fx local replay_log (%s rec/s)", "catch-up", rate_text(c.total_s).c_str(),
                           double(c.log.records) / c.total_s / local, commas(local).c_str()));
  }

  Options o_;
  std::string error_, base_note_, repl_token_, admin_token_;
  bool failed_ = false;
  std::vector<std::string> frames_;
  size_t pos_ = 0;
  uint64_t next_key_ = 0;
  LagResult lag_;
  std::vector<SyncRun> sync_runs_;
  std::string sync_error_;
  std::vector<std::string> sync_degraded_;
  bool sync_confirmed_ = false;  // the sync leader logged that replies wait for a follower
  CatchupResult catchup_;
  Report rep_{{{"measurement"},
               {"rate/s", true},
               {"p50", true},
               {"p99", true},
               {"max", true},
               {"n", true},
               {"leader cpu", true},
               {"follower cpu", true},
               {"other", true},
               {"ratio"}}};
};

}  // namespace

int run_repl_bench(int argc, char** argv, int first) {
  Options o;
  o.server = default_server_binary();
  std::string only;
  uint64_t seconds = 10, rate = 10'000, records = 1'000'000, conns = 64, rounds = 3, sync_seconds = 2;
  Flags flags("pilot-bench repl",
              "Measures hot-standby replication between two real rendezvous processes on loopback: follower lag\n"
              "under a fixed mutation rate, sync-mode registration throughput as a ratio of async, and how fast\n"
              "an empty follower catches up on a leader's large log (next to the local replay rate of that log).\n"
              "Use --dir on the disk the data directories will live on (every write waits for fdatasync).");
  flags.add_string(&o.server, "server", nullptr, "the rendezvous binary to start");
  flags.add_string(&o.dir, "dir", nullptr,
                   "data directories go to a fresh subdirectory of DIR, removed afterwards (default: $TMPDIR or "
                   "/tmp, or the current directory when that is tmpfs)");
  flags.add_uint(&seconds, "seconds", nullptr, "lag: measured seconds of load (after a 1 s warm-up)");
  flags.add_uint(&rate, "rate", nullptr, "lag: signed registrations per second offered to the leader (open loop)");
  flags.add_uint(&records, "records", nullptr,
                 "catchup: events in the leader's log (with --quick: 20000 unless given)");
  flags.add_uint(&conns, "conns", nullptr, "lag and sync: client connections to the leader");
  flags.add_uint(&rounds, "rounds", nullptr, "sync: runs per mode (alternating)");
  flags.add_uint(&sync_seconds, "sync-seconds", nullptr, "sync: measured seconds per run");
  flags.add_string(&only, "only", nullptr, "comma-separated subset of: lag,sync,catchup");
  flags.add_bool(&o.quick, "quick", nullptr, "tiny sizes: a smoke test, not a measurement");
  flags.add_bool(&o.keep, "keep", nullptr, "keep the bench directory");
  bool records_set = false;
  for (int i = first; i < argc; ++i)
    if (std::string(argv[i]).rfind("--records", 0) == 0) records_set = true;
  switch (flags.parse(argc, argv, first)) {
    case Flags::Result::kHelp: std::fputs(flags.usage().c_str(), stdout); return 0;
    case Flags::Result::kError: std::fprintf(stderr, "pilot-bench repl: %s\n", flags.error().c_str()); return 2;
    case Flags::Result::kOk: break;
  }
  if (!flags.positional().empty()) {
    std::fprintf(stderr, "pilot-bench repl: unexpected argument \"%s\"\n", flags.positional()[0].c_str());
    return 2;
  }
  if (seconds < 1 || seconds > 3600 || rate < 1 || rate > 1'000'000 || records < 1 || records > 100'000'000 ||
      conns < 1 || conns > 1024 || rounds < 1 || rounds > 50 || sync_seconds < 1 || sync_seconds > 600) {
    std::fprintf(stderr,
                 "pilot-bench repl: --seconds 1..3600, --rate 1..1000000, --records 1..100000000, --conns 1..1024, "
                 "--rounds 1..50, --sync-seconds 1..600\n");
    return 2;
  }
  for (size_t p = 0; p < only.size();) {
    const size_t comma = std::min(only.find(',', p), only.size());
    const std::string part = only.substr(p, comma - p);
    if (part != "lag" && part != "sync" && part != "catchup") {
      std::fprintf(stderr, "pilot-bench repl: unknown part \"%s\" in --only (lag, sync, catchup)\n", part.c_str());
      return 2;
    }
    o.only.insert(part);
    p = comma + 1;
  }
  o.seconds = double(seconds);
  o.rate = double(rate);
  o.records = records;
  o.conns = conns;
  o.sync_rounds = int(rounds);
  o.sync_seconds = double(sync_seconds);
  if (o.quick) {
    // Every part against the real servers in well under a minute; measures nothing.
    o.seconds = 1;
    o.rate = std::min(o.rate, 2000.0);
    o.warmup_s = 0.2;
    o.sync_warmup_s = 0;  // with max_requests a warm-up would use up the run
    o.conns = std::min<size_t>(o.conns, 8);
    o.sync_rounds = 1;
    o.sync_seconds = 0.3;
    o.max_requests = 400;
    if (!records_set) o.records = 20'000;
  }
  if (!std::filesystem::exists(o.server)) {
    std::fprintf(stderr, "pilot-bench repl: no server binary at %s (build the rendezvous target or pass --server)\n",
                 o.server.c_str());
    return 2;
  }
  crypto_init();
  ReplBench bench(std::move(o));
  return bench.run();
}

}  // namespace pilot::bench
