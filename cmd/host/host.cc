#include "cmd/host/host.h"

#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/ed25519.h"
#include "core/logging.h"
#include "log/writer.h"
#include "net/beacon/log_policy.h"
#include "net/beacon/service.h"
#include "net/replication/follower.h"
#include "net/replication/leader.h"
#include "net/replication/sync_gate.h"
#include "projections/store.h"

namespace pilot {

namespace {

struct Server {
  HostConfig cfg;
  DataDir dir;
  State state;
  std::unique_ptr<log::Writer> writer;
  std::unique_ptr<Snapshotter> snapshotter;
  std::unique_ptr<rpc::RegistryService> registry;
  // After the registry, whose state mutex the policy reads under: destroyed first.
  std::unique_ptr<beacon::LogPolicy> beacon_policy;
  std::unique_ptr<beacon::Service> beacon;
  // After the writer and the registry: destroyed first (the leader's threads read the
  // writer; the follower appends through it).
  std::unique_ptr<repl::Leader> leader;
  std::unique_ptr<repl::Follower> follower;
  std::unique_ptr<repl::SyncGate> sync;  // --replication=sync
  uv_async_t ack_async{};                // a follower acknowledged more (sync)
  uv_timer_t sync_timer{};
  std::atomic<uint64_t> snapshot_seq{0};  // last snapshot written (set by the snapshot thread)
  uv_loop_t* loop = nullptr;
  uv_async_t durable_async{};
  uv_signal_t sigterm{}, sigint{};
  uv_timer_t snapshot_timer{};
  std::chrono::steady_clock::time_point last_snapshot = std::chrono::steady_clock::now();
  bool stopping = false;
};

// Runs every second: snapshot after snapshot_every new records, or after
// snapshot_interval seconds if anything changed at all. Only records covered by an
// fdatasync go in (under --fsync=batch-ms/none durable_seq may be ahead of the disk,
// and a snapshot ahead of the log after a power cut would refuse to load).
void maybe_snapshot(Server& s) {
  const uint64_t synced = s.writer->synced_seq();
  const uint64_t done = s.snapshot_seq.load();
  if (synced <= done || s.snapshotter->running()) return;
  auto now = std::chrono::steady_clock::now();
  bool due =
      synced - done >= s.cfg.snapshot_every || now - s.last_snapshot >= std::chrono::seconds(s.cfg.snapshot_interval_s);
  if (!due) return;
  s.last_snapshot = now;  // a failure is retried at the next interval
  s.snapshotter->start(synced, [&s](const Snapshotter::Result& r) {
    if (r.error.empty()) {
      s.snapshot_seq = r.seq;
      LOG_INFO("snapshot: wrote seq %llu in %.2f s", (unsigned long long)r.seq, r.seconds);
    } else {
      LOG_ERROR("snapshot failed: %s (the log still holds everything; retrying in %llu s)", r.error.c_str(),
                (unsigned long long)s.cfg.snapshot_interval_s);
    }
  });
}

// Second half of shutdown: every connection is closed, so no more appends.
void finish_shutdown(Server& s) {
  s.writer->close();  // every appended record is durable after this
  // Followers get every record before we go (bounded), so a leader restarted cleanly
  // finds its follower fully caught up.
  if (s.leader) s.leader->stop(1000);
  if (s.sync) {
    // The timer ran until here: replies held at shutdown still degrade rather than wait
    // for a follower that is gone.
    uv_close(reinterpret_cast<uv_handle_t*>(&s.ack_async), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&s.sync_timer), nullptr);
  }
  s.snapshotter->wait();
  if (s.writer->last_seq() > s.snapshot_seq.load()) {
    auto r = s.snapshotter->run(s.writer->last_seq());
    if (r.error.empty())
      LOG_INFO("snapshot: wrote seq %llu in %.2f s", (unsigned long long)r.seq, r.seconds);
    else
      LOG_ERROR("final snapshot failed: %s (next start replays the log instead)", r.error.c_str());
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&s.durable_async), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&s.sigterm), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&s.sigint), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&s.snapshot_timer), nullptr);
}

void shutdown(Server& s, const char* why) {
  if (s.stopping) return;
  s.stopping = true;
  LOG_INFO("%s: shutting down (answering requests in flight, then syncing the log)", why);
  uv_timer_stop(&s.snapshot_timer);
  // The beacon's node table is rebuilt by the daemons' next Discovers: nothing to save.
  // Stopping it first leaves no reader thread on the projections while the rest winds
  // down.
  if (s.beacon) s.beacon->stop();
  // No more records from the leader: what was appended is flushed with the rest.
  if (s.follower) s.follower->stop({});
  // Replies still waiting for their records go out as the writer makes them durable.
  s.registry->shutdown(2000, [&s] { finish_shutdown(s); });
}

// Signature checks run on libuv's thread pool (net/rpc/server.h). Its default of 4
// threads on a 2-core machine only adds context switches against the loop thread;
// one thread per core measured ~6% more durable registrations (BENCHMARKS.md). An
// operator's UV_THREADPOOL_SIZE wins.
void size_verify_pool() {
  if (std::getenv("UV_THREADPOOL_SIZE")) return;
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  ::setenv("UV_THREADPOOL_SIZE", std::to_string(std::clamp(cpus, 1L, 128L)).c_str(), 1);
}

// Sync replication: every tick, has a record waited too long for a follower's ack
// (degrade to async), or has a follower caught up again (resume)?
void check_sync(Server& s) {
  const int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  switch (s.sync->tick(s.writer->durable_seq(), s.leader->acked_seq(), now)) {
    case repl::SyncGate::Change::kNone: break;
    case repl::SyncGate::Change::kDegraded:
      LOG_WARN(
          "replication: no follower acknowledged seq %llu within %lld ms: degraded to async (replies no longer wait "
          "for a follower; a failover now may lose acknowledged writes) until a follower catches up",
          (unsigned long long)s.sync->stuck_seq(), (long long)(s.cfg.replication.sync_timeout_ns / 1000000));
      s.registry->server().release_gated();
      break;
    case repl::SyncGate::Change::kResumed:
      LOG_INFO("replication: a follower caught up (acknowledged seq %llu): sync replication resumed",
               (unsigned long long)s.leader->acked_seq());
      break;
  }
}

// Each registry connection is a file descriptor and daemons keep theirs open: take
// every descriptor the hard limit allows (the soft default of 1024 would cap clients).
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  const rlim_t before = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
    LOG_DEBUG("file descriptor limit raised from %llu to %llu", (unsigned long long)before,
              (unsigned long long)rl.rlim_max);
}

}  // namespace

int run_host(HostConfig cfg) {
  // libuv writes to sockets with write(2): a peer that closes while a reply or a
  // replication ack is on its way must cost EPIPE on that connection, not the process.
  std::signal(SIGPIPE, SIG_IGN);
  crypto_init();
  set_log_level(cfg.log_level.c_str());
  raise_fd_limit();
  size_verify_pool();
  {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536)
      LOG_WARN(
          "only %llu file descriptors available: the registry can hold about that many connections "
          "(raise the hard limit, e.g. LimitNOFILE= in the systemd unit)",
          (unsigned long long)rl.rlim_cur);
  }
  auto policy = log::FsyncPolicy::parse(cfg.fsync);
  if (!policy) {
    LOG_ERROR("invalid --fsync \"%s\": use always, batch-ms=N or none", cfg.fsync.c_str());
    return 2;
  }
  beacon::BeaconSetup beacon_setup;
  if (cfg.run_beacon) {
    if (std::string why = beacon::make_beacon_setup(cfg.beacon, beacon::BeaconRole::kEmbedded, beacon_setup);
        !why.empty()) {
      LOG_ERROR("%s", why.c_str());
      return 2;
    }
  }
  Server s;
  s.cfg = cfg;
  s.dir.root = cfg.data_dir;
  const uint64_t segment_bytes = cfg.segment_mb << 20;
  LOG_INFO("pilot %s starting (pid %d): data dir %s, fsync %s", cfg.program.c_str(), (int)getpid(),
           cfg.data_dir.c_str(), policy->to_string().c_str());

  RestoreReport rep;
  std::string err;
  if (!restore_state(s.dir, segment_bytes, s.state, rep, err)) {
    LOG_ERROR("cannot open data directory %s: %s", cfg.data_dir.c_str(), err.c_str());
    return 1;
  }
  if (rep.log.repaired) LOG_WARN("log: %s", rep.log.report.c_str());
  LOG_INFO("log: %llu records (last seq %llu, term %llu)", (unsigned long long)rep.log.records,
           (unsigned long long)rep.log.last_seq, (unsigned long long)rep.log.last_term);
  LOG_INFO("state: snapshot at seq %llu loaded in %.2f s, %llu records replayed in %.2f s; %zu nodes, %zu networks",
           (unsigned long long)rep.snapshot_seq, rep.load_seconds, (unsigned long long)rep.replayed, rep.replay_seconds,
           s.state.directory.nodes().size(), s.state.networks.all().size());

  s.loop = uv_default_loop();
  uv_async_init(s.loop, &s.durable_async,
                [](uv_async_t* a) { static_cast<Server*>(a->data)->writer->run_callbacks(); });
  s.durable_async.data = &s;
  log::WriterOptions wo;
  wo.log_dir = s.dir.log_dir();
  wo.fsync = *policy;
  wo.segment_bytes = segment_bytes;
  wo.wake = [a = &s.durable_async] { uv_async_send(a); };
  s.writer = log::Writer::open(wo, rep.log, err);
  if (!s.writer) {
    LOG_ERROR("cannot open the log for writing: %s", err.c_str());
    return 1;
  }
  s.snapshotter = std::make_unique<Snapshotter>(s.dir);
  s.snapshot_seq = rep.snapshot_seq;

  for (auto [sig, h] : {std::pair{SIGTERM, &s.sigterm}, std::pair{SIGINT, &s.sigint}}) {
    uv_signal_init(s.loop, h);
    h->data = &s;
    uv_signal_start(
        h,
        [](uv_signal_t* sh, int signum) {
          shutdown(*static_cast<Server*>(sh->data), signum == SIGTERM ? "SIGTERM" : "SIGINT");
        },
        sig);
  }
  uv_timer_init(s.loop, &s.snapshot_timer);
  s.snapshot_timer.data = &s;
  uv_timer_start(
      &s.snapshot_timer, [](uv_timer_t* t) { maybe_snapshot(*static_cast<Server*>(t->data)); }, 1000, 1000);

  const repl::ReplicationConfig& rc = cfg.replication;
  if (rc.sync()) {
    s.sync = std::make_unique<repl::SyncGate>(rc.sync_timeout_ns);
    uv_async_init(s.loop, &s.ack_async, [](uv_async_t* a) {
      auto* s = static_cast<Server*>(a->data);
      if (s->registry) s->registry->server().release_gated();
    });
    s.ack_async.data = &s;
    uv_timer_init(s.loop, &s.sync_timer);
    s.sync_timer.data = &s;
  }
  if (rc.is_leader()) {
    repl::LeaderOptions lo;
    lo.listen_addr = rc.listen_addr;
    lo.token = rc.token;
    lo.max_followers = rc.max_followers;
    lo.send_timeout_ns = rc.send_timeout_ns;
    std::function<void()> on_ack;
    if (s.sync) on_ack = [a = &s.ack_async] { uv_async_send(a); };
    s.leader = std::make_unique<repl::Leader>(lo, s.dir.log_dir(), *s.writer, s.writer->term(), on_ack);
    if (!s.leader->start(err)) {
      LOG_ERROR("replication: %s", err.c_str());
      return 1;
    }
  }

  cfg.registry.standby = rc.is_follower();
  cfg.registry.registry.beacon_addr = cfg.beacon.addr;
  cfg.registry.whitelist_path = s.dir.root + "/rate-limit-whitelist.json";
  rpc::apply_registry_env(cfg.registry);
  s.registry = std::make_unique<rpc::RegistryService>(s.loop, s.state, s.writer.get(), cfg.registry);
  if (cfg.run_beacon) {
    // Before the registry listens: a port that cannot be bound stops the start-up.
    s.beacon_policy = std::make_unique<beacon::LogPolicy>(s.state, s.registry->registry().state_mutex());
    s.beacon = std::make_unique<beacon::Service>(beacon_setup, s.beacon_policy.get());
    if (std::string why = s.beacon->start(); !why.empty()) {
      LOG_ERROR(
          "beacon: %s (--beacon-addr must be an address of this host or :port; --beacon=false runs without "
          "the beacon)",
          why.c_str());
      return 1;
    }
  }
  if (!s.registry->start(err)) {
    LOG_ERROR("registry: %s", err.c_str());
    return 1;
  }
  if (s.sync) {
    s.registry->server().set_release_gate([&s] { return s.sync->limit(s.leader->acked_seq()); });
    const uint64_t tick_ms = std::clamp<uint64_t>(uint64_t(rc.sync_timeout_ns / 4000000), 5, 100);
    uv_timer_start(
        &s.sync_timer, [](uv_timer_t* t) { check_sync(*static_cast<Server*>(t->data)); }, tick_ms, tick_ms);
    LOG_INFO("replication: sync: replies wait for a follower's ack (at most %lld ms, then async)",
             (long long)(rc.sync_timeout_ns / 1000000));
  }
  if (rc.is_follower()) {
    repl::FollowerOptions fo;
    fo.leader_addr = rc.follow;
    fo.token = rc.token;
    s.follower = std::make_unique<repl::Follower>(s.loop, s.state, s.registry->registry().state_mutex(), *s.writer, fo);
    s.follower->start();
  }
  if (cfg.program == "rendezvous")
    LOG_INFO("ready. NOTE: the admin HTTP server (:3000) is not implemented yet");
  else
    LOG_INFO("ready");
  uv_run(s.loop, UV_RUN_DEFAULT);
  uv_loop_close(s.loop);
  LOG_INFO("stopped cleanly at seq %llu", (unsigned long long)s.writer->last_seq());
  return 0;
}

void add_storage_flags(Flags& flags, HostConfig& cfg) {
  flags.add_string(&cfg.data_dir, "data-dir", "PILOT_DATA_DIR", "data directory (log/ segments + snapshot.db)");
  flags.add_string(&cfg.fsync, "fsync", "PILOT_FSYNC",
                   "log durability: always (ack after fdatasync), batch-ms=N (ack after write, sync every N ms), "
                   "none (tests only)");
  flags.add_uint(&cfg.segment_mb, "segment-mb", "PILOT_SEGMENT_MB", "log segment size in MiB");
  flags.add_uint(&cfg.snapshot_every, "snapshot-every", "PILOT_SNAPSHOT_EVERY",
                 "write a background snapshot after this many new records");
  flags.add_uint(&cfg.snapshot_interval_s, "snapshot-interval", "PILOT_SNAPSHOT_INTERVAL",
                 "also snapshot every this many seconds if anything changed");
  flags.add_string(&cfg.log_level, "log-level", "PILOT_LOG_LEVEL", "debug, info, warn or error");
  // The registry fixture (spec §17.2) has no replication.
  if (cfg.program == "rendezvous") repl::add_replication_flags(flags, cfg.replication);
}

std::string check_storage_flags(const HostConfig& cfg) {
  if (cfg.segment_mb < 1 || cfg.segment_mb > 4096 || cfg.snapshot_interval_s < 1)
    return "--segment-mb must be 1..4096 and --snapshot-interval at least 1";
  return repl::check_replication_flags(cfg.replication);
}

}  // namespace pilot
