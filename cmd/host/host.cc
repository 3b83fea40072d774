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
#include <mutex>
#include <string>

#include "admin/backups.h"
#include "admin/loop_bridge.h"
#include "admin/metrics.h"
#include "admin/pulse.h"
#include "admin/restart_history.h"
#include "core/ed25519.h"
#include "core/log_format.h"
#include "core/logging.h"
#include "log/retention.h"
#include "log/scanner.h"
#include "log/writer.h"
#include "net/beacon/log_policy.h"
#include "net/beacon/service.h"
#include "net/replication/fencer.h"
#include "net/replication/follower.h"
#include "net/replication/leader.h"
#include "net/replication/rewind.h"
#include "net/replication/snapshot_transfer.h"
#include "net/replication/sync_gate.h"
#include "net/replication/term_store.h"
#include "net/rpc/go_standby.h"
#include "net/rpc/loop_meter.h"
#include "projections/store.h"

namespace pilot {

namespace {

struct Server {
  HostConfig cfg;
  DataDir dir;
  State state;
  std::unique_ptr<log::Writer> writer;
  std::unique_ptr<Snapshotter> snapshotter;
  log::RetentionPolicy retention;  // --log-retention
  std::unique_ptr<rpc::RegistryService> registry;
  std::unique_ptr<rpc::GoStandbyFeed> go_standby;  // after the registry: destroyed first
  // After the registry, whose state mutex the policy reads under: destroyed first.
  std::unique_ptr<beacon::LogPolicy> beacon_policy;
  std::unique_ptr<beacon::Service> beacon;
  // After the writer and the registry: destroyed first (the leader's threads read the
  // writer; the follower appends through it).
  std::unique_ptr<repl::Leader> leader;
  std::unique_ptr<repl::Follower> follower;
  std::unique_ptr<repl::SyncGate> sync;  // --replication=sync
  uint64_t sync_floor = 0;               // records older than this leadership (loop thread)
  // Promotion and fencing (the "replication roles" block below).
  std::unique_ptr<repl::TermStore> terms;  // <data-dir>/term
  std::unique_ptr<repl::Fencer> fencer;    // a promoted node knocking on its old leader
  uv_async_t newer_term_async{};           // a leader at a higher term exists (any thread)
  std::mutex newer_mu;
  uint64_t newer_term = 0;  // under newer_mu
  std::string newer_who;    // under newer_mu
  bool promoted = false;    // was a follower, leads now
  bool fenced = false;      // was a leader, replaced: refuses writes
  // The admin side (rendezvous --http): destroyed before everything it reads.
  std::unique_ptr<admin::LoopBridge> bridge;
  std::unique_ptr<admin::Pulse> pulse;
  std::unique_ptr<admin::AdminServer> admin;
  // The webhook / audit export (rendezvous, not a follower); the registry's ops read it.
  std::unique_ptr<admin::Outbound> outbound;
  // The same, for /metrics on HTTP threads: set once the outbound side runs (at start,
  // or on promotion while the admin server already serves).
  std::atomic<const admin::Outbound*> outbound_for_metrics{nullptr};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();  // pilot_uptime_seconds
  admin::SnapshotMetrics snapshot_metrics;                                           // any thread
  admin::OnlineCountCache online_cache;    // loop thread: /metrics scrapes share one node walk a second
  std::atomic<bool> stopping_flag{false};  // read by /readyz
  uv_timer_t backup_timer{};
  uv_async_t ack_async{};  // a follower acknowledged more (sync)
  uv_timer_t sync_timer{};
  std::atomic<uint64_t> snapshot_seq{0};  // last snapshot written (set by the snapshot thread)
  uv_loop_t* loop = nullptr;
  uv_async_t durable_async{};
  uv_signal_t sigterm{}, sigint{};
  uv_timer_t snapshot_timer{};
  rpc::LoopMeter loop_meter;  // pilot_loop_iteration_seconds
  std::chrono::steady_clock::time_point last_snapshot = std::chrono::steady_clock::now();
  bool stopping = false;
};

int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// After a snapshot at `seq` is durable (on the thread that wrote it: the background
// snapshot's, or the HTTP snapshot endpoint's): delete the log segments it covers, per
// --log-retention. The writer never touches a covered segment (it is never the last
// one); two calls at once are harmless (a file already gone is skipped); a reader that
// has a deleted segment open keeps reading it (log/retention.h).
void retain_log(Server& s, uint64_t seq) {
  if (s.retention.keep_all) return;
  log::RetentionResult res;
  std::string err;
  if (!log::apply_retention(s.dir.log_dir(), seq, s.retention, res, err))
    LOG_ERROR("log retention: %s (retrying after the next snapshot)", err.c_str());
  if (res.deleted > 0)
    LOG_INFO(
        "log retention: deleted %zu segment(s) (%llu bytes) covered by the snapshot at seq %llu; the log "
        "now starts at seq %llu",
        res.deleted, (unsigned long long)res.deleted_bytes, (unsigned long long)seq,
        (unsigned long long)res.first_kept_seq);
}

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
    s.snapshot_metrics.record(r, unix_now_ns());
    if (r.error.empty()) {
      s.snapshot_seq = r.seq;
      LOG_INFO("snapshot: wrote seq %llu in %.2f s", (unsigned long long)r.seq, r.seconds);
      retain_log(s, r.seq);
    } else {
      LOG_ERROR("snapshot failed: %s (the log still holds everything; retrying in %llu s)", r.error.c_str(),
                (unsigned long long)s.cfg.snapshot_interval_s);
    }
  });
}

// ---- outbound (webhook, live audit export): admin/outbound.h --------------------------

void start_outbound(Server& s) {
  s.outbound = std::make_unique<admin::Outbound>(s.cfg.outbound, s.dir.root);
  s.outbound->start(s.loop, s.state, *s.writer);
  s.registry->registry().set_outbound(s.outbound.get());
  s.outbound_for_metrics = s.outbound.get();
}

// After the log is closed: every record is durable, so the last entries go out too,
// within the spec's 5 s drain; what does not make it is re-sent after the restart.
void stop_outbound(Server& s) {
  if (!s.outbound) return;
  s.outbound->stop(std::chrono::seconds(5));
  s.registry->registry().set_outbound(nullptr);
}

// ---- end outbound ------------------------------------------------------------------------

// Second half of shutdown: every connection is closed, so no more appends.
void finish_shutdown(Server& s) {
  s.writer->close();  // every appended record is durable after this
  stop_outbound(s);
  // Followers get every record before we go (bounded), so a leader restarted cleanly
  // finds its follower fully caught up.
  if (s.leader) s.leader->stop(1000);
  if (s.fencer) s.fencer->stop();
  // No thread sends to it any more (leader sessions and the fencer are joined).
  uv_close(reinterpret_cast<uv_handle_t*>(&s.newer_term_async), nullptr);
  if (s.sync) {
    // The timer ran until here: replies held at shutdown still degrade rather than wait
    // for a follower that is gone.
    uv_close(reinterpret_cast<uv_handle_t*>(&s.ack_async), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&s.sync_timer), nullptr);
  }
  s.snapshotter->wait();
  if (s.writer->last_seq() > s.snapshot_seq.load()) {
    auto r = s.snapshotter->run(s.writer->last_seq());
    s.snapshot_metrics.record(r, unix_now_ns());
    if (r.error.empty())
      LOG_INFO("snapshot: wrote seq %llu in %.2f s", (unsigned long long)r.seq, r.seconds);
    else
      LOG_ERROR("final snapshot failed: %s (next start replays the log instead)", r.error.c_str());
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&s.durable_async), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&s.sigterm), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&s.sigint), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&s.snapshot_timer), nullptr);
  if (s.admin) uv_close(reinterpret_cast<uv_handle_t*>(&s.backup_timer), nullptr);
  s.loop_meter.stop();
}

void shutdown(Server& s, const char* why) {
  if (s.stopping) return;
  s.stopping = true;
  LOG_INFO("%s: shutting down (answering requests in flight, then syncing the log)", why);
  uv_timer_stop(&s.snapshot_timer);
  s.stopping_flag = true;
  if (s.admin) {
    // Queries waiting on this loop get 503 at once; then the HTTP threads can finish.
    s.bridge->close();
    s.admin->stop();
    s.pulse->stop();
    uv_timer_stop(&s.backup_timer);
  }
  // The beacon's node table is rebuilt by the daemons' next Discovers: nothing to save.
  // Stopping it first leaves no reader thread on the projections while the rest winds
  // down.
  if (s.beacon) s.beacon->stop();
  // No more records from the leader: what was appended is flushed with the rest.
  if (s.follower) s.follower->stop({});
  if (s.go_standby) s.go_standby->stop();  // no more pushes; the registry closes the streams
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

// What sync mode counts as acknowledged: a follower's ack, or older than this leadership.
uint64_t sync_acked(const Server& s) { return std::max(s.leader->acked_seq(), s.sync_floor); }

// What a write gets while --sync-fallback=refuse holds writes, at once (the reply shows
// no state, so it does not wait for a follower). It says "cannot" so that the spec's
// sanitiser (§3.2) lets daemons see it rather than "request failed".
constexpr const char* kSyncRefusal =
    "sync replication: no follower acknowledges writes; writes cannot be accepted until one does";

// Sync replication: every tick, has a record waited too long for a follower's ack
// (degrade to async, or refuse writes), or has a follower caught up again (resume)?
void check_sync(Server& s) {
  const int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  switch (s.sync->tick(s.writer->durable_seq(), sync_acked(s), now)) {
    case repl::SyncGate::Change::kNone: break;
    case repl::SyncGate::Change::kDegraded:
      if (s.sync->refusing()) {
        LOG_ERROR(
            "replication: no follower acknowledged seq %llu within %lld ms: refusing writes (--sync-fallback=refuse; "
            "replies to unacknowledged writes wait) until a follower catches up",
            (unsigned long long)s.sync->stuck_seq(), (long long)(s.cfg.replication.sync_timeout_ns / 1000000));
        s.registry->registry().set_write_refusal(kSyncRefusal);
        break;
      }
      LOG_WARN(
          "replication: no follower acknowledged seq %llu within %lld ms: degraded to async (replies no longer wait "
          "for a follower; a failover now may lose acknowledged writes) until a follower catches up",
          (unsigned long long)s.sync->stuck_seq(), (long long)(s.cfg.replication.sync_timeout_ns / 1000000));
      s.registry->server().release_gated();
      break;
    case repl::SyncGate::Change::kResumed:
      s.registry->registry().set_write_refusal("");
      LOG_INFO("replication: a follower caught up (acknowledged seq %llu): sync replication resumed%s",
               (unsigned long long)s.leader->acked_seq(),
               s.sync->fallback() == repl::SyncGate::Fallback::kRefuse ? ", writes accepted again" : "");
      break;
  }
}

// ---- replication roles: leader side, promotion, fencing, rewind -----------------------
// net/replication/README.md ("Failover"). Loop thread, except note_newer_term.

// Any thread (a leader session, the fencer): a leader at a higher term exists. The
// loop fences this node.
void note_newer_term(Server& s, uint64_t term, const std::string& who) {
  {
    std::lock_guard lk(s.newer_mu);
    if (term <= s.newer_term) return;
    s.newer_term = term;
    s.newer_who = who;
  }
  uv_async_send(&s.newer_term_async);
}

// The replication listener (with --repl-token), at the writer's current term.
bool start_leader(Server& s, std::string& err) {
  const repl::ReplicationConfig& rc = s.cfg.replication;
  if (rc.token.empty()) return true;
  repl::LeaderOptions lo;
  lo.listen_addr = rc.listen_addr;
  lo.token = rc.token;
  lo.max_followers = rc.max_followers;
  lo.send_timeout_ns = rc.send_timeout_ns;
  std::function<void()> on_ack;
  if (s.sync) on_ack = [a = &s.ack_async] { uv_async_send(a); };
  auto leader = std::make_unique<repl::Leader>(lo, s.dir.log_dir(), *s.writer, s.writer->term(), on_ack);
  leader->set_on_newer_term([&s](uint64_t term, const std::string& who) { note_newer_term(s, term, who); });
  if (!leader->start(err)) return false;
  s.leader = std::move(leader);
  return true;
}

// --replication=sync once a leader listens: replies wait for a follower's ack. A node
// just promoted starts degraded: its only follower was the leader it replaces.
void enable_sync(Server& s, bool promoted) {
  if (!s.sync || !s.leader) return;
  // Records this node had before it began to lead (a restart, a promotion) are not
  // new writes to wait for: a reply showing them must not hang until a follower
  // connects.
  s.sync_floor = s.writer->last_seq();
  s.registry->server().set_release_gate([&s] { return s.sync->limit(sync_acked(s)); });
  const uint64_t tick_ms = std::clamp<uint64_t>(uint64_t(s.cfg.replication.sync_timeout_ns / 4000000), 5, 100);
  uv_timer_start(
      &s.sync_timer, [](uv_timer_t* t) { check_sync(*static_cast<Server*>(t->data)); }, tick_ms, tick_ms);
  if (promoted) {
    s.sync->start_degraded(s.writer->durable_seq());
    if (s.sync->refusing()) {
      s.registry->registry().set_write_refusal(kSyncRefusal);
      LOG_ERROR(
          "replication: sync: promoted with no follower yet: writes refused (--sync-fallback=refuse) until a "
          "follower catches up");
      return;
    }
    LOG_WARN(
        "replication: sync: promoted with no follower yet: replies wait for the local fsync only (async) "
        "until a follower catches up");
    return;
  }
  LOG_INFO("replication: sync: replies wait for a follower's ack (at most %lld ms, then async)",
           (long long)(s.cfg.replication.sync_timeout_ns / 1000000));
}

// Nodes get a full stale window from a promotion or a rewind, as from a restart: their
// heartbeats went to the old leader, and the reaper must not expire everyone at once.
void touch_all_nodes(Server& s) {
  rpc::Registry& reg = s.registry->registry();
  const int64_t now = reg.now_ns();
  for (auto [id, node] : s.state.directory.nodes()) reg.liveness().touch(id, now);
}

// A leader at a higher term exists: this node has been replaced. It takes no more
// writes (the standby gate), and remembers the term, so a restart as-is stays fenced.
void fence(Server& s, uint64_t term, const std::string& who) {
  if (term <= s.writer->term()) return;
  std::string err;
  if (!s.terms->observe(term, err))
    LOG_ERROR("replication: cannot remember term %llu: %s", (unsigned long long)term, err.c_str());
  if (s.fenced || (s.follower && !s.promoted)) return;  // a follower just follows
  s.fenced = true;
  s.registry->registry().set_standby(true);
  if (s.fencer) s.fencer->stop();
  LOG_ERROR(
      "replication: FENCED: a leader at term %llu exists (%s); this node leads term %llu and refuses every write from "
      "now on. To rejoin, restart it with --follow <the new leader's --repl-addr>: records the new leader does not "
      "have are cut then",
      (unsigned long long)term, who.c_str(), (unsigned long long)s.writer->term());
}

// POST /api/admin/promote (loop thread): this follower becomes the leader of a new term.
admin::PromoteOutcome promote(Server& s) {
  admin::PromoteOutcome out;
  const uint64_t before = s.writer->term();
  out.previous_term = before;
  out.seq = s.writer->last_seq();
  auto refuse = [&out](int status, std::string why) {
    out.status = status;
    out.error = std::move(why);
    return out;
  };
  if (s.stopping) return refuse(503, "shutting down");
  if (s.fenced)
    return refuse(409, "this node was replaced by a leader at term " + std::to_string(s.terms->seen()) +
                           " and cannot lead again: restart it with --follow to rejoin");
  if (!s.follower) return refuse(409, "not a follower (started without --follow): there is nothing to promote");
  if (s.promoted)
    return refuse(409, "already the leader (term " + std::to_string(before) + "): only a follower can be promoted");
  const uint64_t term = std::max({before, s.terms->seen(), s.terms->leader()}) + 1;
  // The listener first: a port that cannot be bound leaves everything as it was.
  std::string err;
  s.writer->set_term(term);
  if (!start_leader(s, err)) {
    s.writer->set_term(before);
    return refuse(500, "cannot listen for followers: " + err);
  }
  // Persisted before the first write of the new term can be acknowledged.
  if (!s.terms->become_leader(term, err)) {
    s.writer->set_term(before);
    if (s.leader) s.leader->stop(0), s.leader.reset();
    return refuse(500, "cannot persist the new term: " + err);
  }
  s.follower->stop({});
  s.promoted = true;
  if (s.admin) s.admin->set_replication(s.leader.get(), nullptr);
  touch_all_nodes(s);
  s.registry->registry().set_standby(false);
  enable_sync(s, /*promoted=*/true);
  if (s.cfg.run_admin) start_outbound(s);
  const repl::ReplicationConfig& rc = s.cfg.replication;
  s.fencer = std::make_unique<repl::Fencer>(repl::FencerOptions{rc.follow, rc.token, term},
                                            [&s](uint64_t t, const std::string& who) { note_newer_term(s, t, who); });
  s.fencer->start();
  LOG_WARN("replication: promoted to leader at seq %llu, term %llu (was following %s at term %llu); writes accepted%s",
           (unsigned long long)out.seq, (unsigned long long)term, rc.follow.c_str(), (unsigned long long)before,
           s.leader ? ("; followers connect to " + s.leader->bound_address()).c_str() : "");
  out.term = term;
  return out;
}

// What a cut of the log or an installed snapshot replaces (loop thread).
repl::RewindTarget rewind_target(Server& s) {
  repl::RewindTarget t;
  t.dir = s.dir;
  t.segment_bytes = s.cfg.segment_mb << 20;
  t.writer = s.writer.get();
  t.state = &s.state;
  t.state_mu = &s.registry->registry().state_mutex();
  t.snapshotter = s.snapshotter.get();
  t.snapshot_seq = s.snapshot_seq.load();
  return t;
}

// A rewind frame from the leader (loop thread): cut our divergent tail, rebuild.
bool rewind_follower(Server& s, const repl::Rewind& m) {
  repl::RewindPlan plan;
  if (std::string why = repl::plan_rewind(s.dir.log_dir(), s.writer->last_seq(), m, plan); !why.empty()) {
    LOG_ERROR("replication: cannot rejoin the leader %s: %s", s.cfg.replication.follow.c_str(), why.c_str());
    return false;
  }
  if (plan.cut_records == 0) {
    LOG_ERROR("replication: the leader sees our log as diverged, but we hold no record it lacks; retrying later");
    return false;
  }
  // The cut drops snapshot.db when it is newer than the common record; then the state
  // is rebuilt from seq 1, which a log cut by --log-retention no longer has. The
  // leader's snapshot replaces our whole log instead (the cut itself was legitimate).
  if (const auto segs = log::list_segments(s.dir.log_dir());
      !segs.empty() && segs.front().first_seq > 1 && s.snapshot_seq.load() > plan.keep) {
    LOG_WARN(
        "replication: our log must be cut back to seq %llu, but it starts at seq %llu (log retention) and our "
        "snapshot is newer than the cut: asking the leader for its snapshot instead",
        (unsigned long long)plan.keep, (unsigned long long)segs.front().first_seq);
    s.follower->request_snapshot();
    return false;
  }
  repl::RewindTarget t = rewind_target(s);
  const repl::RewindDone done = repl::execute_rewind(t, plan);
  s.snapshot_seq = done.snapshot_seq;
  touch_all_nodes(s);
  return true;
}

// The leader's snapshot, received and verified (loop thread): install it, rebuild.
bool install_follower_snapshot(Server& s, const std::string& received, const repl::SnapshotEnd& end) {
  repl::RewindTarget t = rewind_target(s);
  repl::RewindDone done;
  std::string err;
  if (!repl::install_snapshot(t, received, end, done, err)) {
    LOG_ERROR("replication: cannot install the leader's snapshot: %s; retrying later", err.c_str());
    return false;
  }
  s.snapshot_seq = done.snapshot_seq;
  touch_all_nodes(s);
  return true;
}

// ---- end replication roles -------------------------------------------------------------

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

void sweep_backups(Server& s) {
  const std::string dir = s.dir.root + "/backups";
  auto r = admin::sweep_backups(dir, s.cfg.admin.backups_max_age_ns / 1000000000, s.cfg.admin.backups_max_count,
                                unix_now_ns() / 1000000000);
  if (r.deleted) LOG_INFO("backups: swept %zu old backups from %s (%zu kept)", r.deleted, dir.c_str(), r.kept);
  for (const auto& e : r.errors) LOG_WARN("backups: cannot delete %s", e.c_str());
}

// What /metrics reports, as the host is now (loop thread).
admin::MetricsSources metrics_sources(Server& s) {
  rpc::RegistryService& reg = *s.registry;
  admin::MetricsSources src;
  src.registry = &reg.registry();
  src.dispatcher = &reg.dispatcher();
  src.server = &reg.server();
  src.loop_meter = &s.loop_meter;
  src.limiter = &reg.limiter();
  src.follower = s.promoted ? nullptr : s.follower.get();
  src.sync = s.sync.get();
  src.writer = s.writer.get();
  src.online_cache = &s.online_cache;
  src.leader = s.leader.get();
  src.go_standbys = s.go_standby ? s.go_standby->subscribers() : 0;  // on the loop: a copy
  if (s.beacon) {
    src.beacon = &s.beacon->engine();
    src.beacon_server = &s.beacon->server();
    src.beacon_wss = s.beacon->wss();
  }
  src.snapshots = &s.snapshot_metrics;
  src.log_dir = s.dir.log_dir();
  src.started = s.started;
  src.outbound = [&s]() -> std::optional<admin::OutboundMetrics> {
    const admin::Outbound* o = s.outbound_for_metrics.load();
    if (!o) return std::nullopt;
    return o->metrics();
  };
  return src;
}

// The admin HTTP server and what it needs on this loop: the bridge its handlers post
// queries through, the request pulse, the restart history, the backup sweeper.
bool start_admin(Server& s, std::string& err) {
  rpc::RegistryService& reg = *s.registry;
  s.bridge =
      std::make_unique<admin::LoopBridge>(s.loop, s.writer.get(), [r = &reg.registry()] { return r->visible_seq(); });
  s.pulse = std::make_unique<admin::Pulse>(s.loop, [d = &reg.dispatcher()] {
    uint64_t total = 0;
    for (const auto& [type, st] : d->stats()) total += st.requests;
    return total;
  });
  s.pulse->start();
  admin::AdminContext ctx;
  ctx.bridge = s.bridge.get();
  ctx.registry = &reg;
  ctx.state = &s.state;
  ctx.writer = s.writer.get();
  ctx.beacon = s.beacon.get();
  ctx.leader = s.leader.get();
  ctx.follower = s.follower.get();
  ctx.go_standbys = [&s]() -> size_t { return s.go_standby ? s.go_standby->subscribers() : 0; };
  ctx.breakers = &reg.breakers();
  ctx.pulse = s.pulse.get();
  ctx.data_dir = s.dir.root;
  ctx.admin_token = s.cfg.registry.registry.admin_token;
  ctx.program = s.cfg.program;
  ctx.stale_threshold_ns = s.cfg.registry.registry.stale_threshold_ns;
  ctx.started_unix_ns = unix_now_ns();
  ctx.restarts = admin::record_start(s.dir.root, ctx.started_unix_ns);
  ctx.stopping = &s.stopping_flag;
  ctx.promote = [&s]() -> admin::PromoteOutcome {
    auto r = s.bridge->call([&s] { return promote(s); }, std::chrono::seconds(10));
    if (r) return *r;
    admin::PromoteOutcome o;
    o.status = 503;
    o.error = "the server did not answer (shutting down?)";
    return o;
  };
  ctx.snapshot_now = [&s]() -> std::string {
    // Serialised with the background snapshots by the Snapshotter itself.
    auto r = s.snapshotter->run(s.writer->synced_seq());
    s.snapshot_metrics.record(r, unix_now_ns());
    if (!r.error.empty()) return r.error;
    if (r.seq > s.snapshot_seq.load()) s.snapshot_seq = r.seq;
    LOG_INFO("snapshot: wrote seq %llu in %.2f s (requested over HTTP)", (unsigned long long)r.seq, r.seconds);
    retain_log(s, r.seq);
    return "";
  };
  // Built on the loop thread for every scrape: promotion replaces the follower by a
  // leader (and may start the sync gate and the outbound side) while the server runs.
  ctx.render_metrics = [&s]() -> std::optional<std::string> {
    auto src = s.bridge->call([&s] { return metrics_sources(s); });
    if (!src) return std::nullopt;
    return admin::render_metrics(*src, *s.bridge);
  };
  s.admin = std::make_unique<admin::AdminServer>(std::move(ctx), s.cfg.admin);
  if (!s.admin->start(err)) return false;
  uv_timer_init(s.loop, &s.backup_timer);
  s.backup_timer.data = &s;
  uv_timer_start(
      &s.backup_timer, [](uv_timer_t* t) { sweep_backups(*static_cast<Server*>(t->data)); }, 1000, 3600 * 1000);
  return true;
}

}  // namespace

int run_host(HostConfig cfg) {
  // libuv writes to sockets with write(2): a peer that closes while a reply or a
  // replication ack is on its way must cost EPIPE on that connection, not the process.
  std::signal(SIGPIPE, SIG_IGN);
  crypto_init();
  set_log_level(cfg.log_level.c_str());
  set_log_format(cfg.log_format.c_str());
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
  // A follower that crashed while installing the leader's snapshot finishes it first.
  if (uint64_t installed = 0; !repl::finish_snapshot_install(s.dir, installed, err)) {
    LOG_ERROR("cannot finish installing the snapshot in %s: %s", cfg.data_dir.c_str(), err.c_str());
    return 1;
  } else if (installed) {
    LOG_WARN("replication: finished installing the leader's snapshot at seq %llu (interrupted before)",
             (unsigned long long)installed);
  }
  if (!restore_state(s.dir, segment_bytes, s.state, rep, err)) {
    LOG_ERROR("cannot open data directory %s: %s", cfg.data_dir.c_str(), err.c_str());
    return 1;
  }
  if (rep.log.repaired) LOG_WARN("log: %s", rep.log.report.c_str());
  s.terms = std::make_unique<repl::TermStore>(s.dir.root);
  if (!s.terms->load(err)) {
    LOG_ERROR("cannot read the term file: %s", err.c_str());
    return 1;
  }
  LOG_INFO("log: %llu records (last seq %llu, term %llu)", (unsigned long long)rep.log.records,
           (unsigned long long)rep.log.last_seq, (unsigned long long)rep.log.last_term);
  LOG_INFO("state: snapshot at seq %llu loaded in %.2f s, %llu records replayed in %.2f s; %zu nodes, %zu networks",
           (unsigned long long)rep.snapshot_seq, rep.load_seconds, (unsigned long long)rep.replayed, rep.replay_seconds,
           s.state.directory.nodes().size(), s.state.networks.all().size());

  s.loop = uv_default_loop();
  if (rpc::LoopMeter::enable_idle_time(s.loop))
    s.loop_meter.start(s.loop);
  else
    LOG_WARN("loop: libuv refused UV_METRICS_IDLE_TIME; pilot_loop_* metrics are left out");
  uv_async_init(s.loop, &s.durable_async,
                [](uv_async_t* a) { static_cast<Server*>(a->data)->writer->run_callbacks(); });
  s.durable_async.data = &s;
  log::WriterOptions wo;
  wo.log_dir = s.dir.log_dir();
  wo.fsync = *policy;
  wo.segment_bytes = segment_bytes;
  wo.wake = [a = &s.durable_async] { uv_async_send(a); };
  wo.term = s.terms->leader();  // a promoted node's term, before it appended anything
  s.writer = log::Writer::open(wo, rep.log, err);
  if (!s.writer) {
    LOG_ERROR("cannot open the log for writing: %s", err.c_str());
    return 1;
  }
  s.snapshotter = std::make_unique<Snapshotter>(s.dir);
  s.snapshot_seq = rep.snapshot_seq;
  // Checked with the flags.
  s.retention = log::RetentionPolicy::parse(cfg.log_retention).value_or(log::RetentionPolicy{});
  if (!s.retention.keep_all)
    LOG_INFO("log retention: keep the newest %llu segment(s) covered by snapshot.db, delete older ones",
             (unsigned long long)s.retention.keep_covered);
  uv_async_init(s.loop, &s.newer_term_async, [](uv_async_t* a) {
    auto* s = static_cast<Server*>(a->data);
    uint64_t term;
    std::string who;
    {
      std::lock_guard lk(s->newer_mu);
      term = s->newer_term;
      who = s->newer_who;
    }
    if (!s->stopping) fence(*s, term, who);
  });
  s.newer_term_async.data = &s;
  s.snapshot_metrics.set_loaded_seq(rep.snapshot_seq);

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
    s.sync = std::make_unique<repl::SyncGate>(
        rc.sync_timeout_ns, rc.sync_refuses() ? repl::SyncGate::Fallback::kRefuse : repl::SyncGate::Fallback::kAsync);
    uv_async_init(s.loop, &s.ack_async, [](uv_async_t* a) {
      auto* s = static_cast<Server*>(a->data);
      // Degraded (or just promoted): resume the moment a follower has caught up, not at
      // the next timer tick — writes in between would be acknowledged without it.
      if (s->leader && s->sync->degraded()) check_sync(*s);
      if (s->registry) s->registry->server().release_gated();
    });
    s.ack_async.data = &s;
    uv_timer_init(s.loop, &s.sync_timer);
    s.sync_timer.data = &s;
  }
  // A leader that learned of a higher term before it stopped was replaced: it starts
  // fenced (no writes, no listener) until it is restarted with --follow.
  s.fenced = !rc.is_follower() && s.terms->seen() > s.writer->term();
  if (s.fenced)
    LOG_ERROR(
        "replication: FENCED: this node leads term %llu but a leader at term %llu exists (term file %s): it refuses "
        "every write. To rejoin, restart it with --follow <the new leader's --repl-addr>",
        (unsigned long long)s.writer->term(), (unsigned long long)s.terms->seen(), s.terms->path().c_str());
  if (rc.is_leader() && !s.fenced && !start_leader(s, err)) {
    LOG_ERROR("replication: %s", err.c_str());
    return 1;
  }

  cfg.registry.standby = rc.is_follower() || s.fenced;
  cfg.registry.registry.beacon_addr = cfg.beacon.addr;
  cfg.registry.whitelist_path = s.dir.root + "/rate-limit-whitelist.json";
  cfg.registry.breakers_path = s.dir.root + "/breakers.json";
  rpc::apply_registry_env(cfg.registry);
  s.registry = std::make_unique<rpc::RegistryService>(s.loop, s.state, s.writer.get(), cfg.registry);
  if (cfg.run_beacon) {
    // Before the registry listens: a port that cannot be bound stops the start-up.
    s.beacon_policy = std::make_unique<beacon::LogPolicy>(
        s.state, s.registry->registry().state_mutex(), [b = &s.registry->breakers()](beacon::Breaker kind) {
          static constexpr const char* kNames[] = {"beacon.discover", "beacon.punch", "beacon.relay"};
          return !b->allows(kNames[static_cast<int>(kind)]);
        });
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
  {
    // Go standbys subscribe on the registry port (spec §9.2): fed while this node leads.
    rpc::GoStandbyOptions go;
    go.token = rc.token;
    go.backbone_created_ns = unix_now_ns();
    if (std::string why = go.apply_env(); !why.empty()) {
      LOG_ERROR("%s", why.c_str());
      return 2;
    }
    s.go_standby = std::make_unique<rpc::GoStandbyFeed>(s.loop, s.registry->server(), s.registry->registry(), go);
    s.go_standby->start();
  }
  enable_sync(s, /*promoted=*/false);
  if (rc.is_follower()) {
    repl::FollowerOptions fo;
    fo.leader_addr = rc.follow;
    fo.token = rc.token;
    s.follower = std::make_unique<repl::Follower>(s.loop, s.state, s.registry->registry().state_mutex(), *s.writer, fo);
    s.follower->set_terms(s.terms.get());
    s.follower->set_rewind_handler([&s](const repl::Rewind& m) { return rewind_follower(s, m); });
    s.follower->set_snapshot_handler(repl::snapshot_receive_path(s.dir),
                                     [&s](const std::string& path, const repl::SnapshotEnd& end) {
                                       return install_follower_snapshot(s, path, end);
                                     });
    s.follower->start();
  }
  if (cfg.run_admin && !cfg.admin.http_addr.empty() && !start_admin(s, err)) {
    LOG_ERROR("admin: %s (--http \"\" runs without the admin server)", err.c_str());
    return 1;
  }
  if (cfg.run_admin && !rc.is_follower()) start_outbound(s);
  LOG_INFO("ready");
  uv_run(s.loop, UV_RUN_DEFAULT);
  uv_loop_close(s.loop);
  if (cfg.run_admin) admin::record_clean_stop(cfg.data_dir);
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
  flags.add_string(&cfg.log_retention, "log-retention", "PILOT_LOG_RETENTION",
                   "log segments fully covered by snapshot.db: all (keep every one: full-history audit replay) or N "
                   "(keep the newest N of them, delete the older ones after each snapshot)");
  flags.add_string(&cfg.log_level, "log-level", "PILOT_LOG_LEVEL", "debug, info, warn or error");
  flags.add_string(&cfg.log_format, "log-format", "PILOT_LOG_FORMAT",
                   "text, or json: one {\"time\",\"level\",\"msg\"} object per line for log shippers");
  // The registry fixture (spec §17.2) has no replication.
  if (cfg.program == "rendezvous") repl::add_replication_flags(flags, cfg.replication);
}

std::string check_storage_flags(const HostConfig& cfg) {
  if (cfg.segment_mb < 1 || cfg.segment_mb > 4096 || cfg.snapshot_interval_s < 1)
    return "--segment-mb must be 1..4096 and --snapshot-interval at least 1";
  if (!log::RetentionPolicy::parse(cfg.log_retention))
    return "--log-retention must be all or a number of covered segments to keep (0..1000000)";
  if (cfg.log_format != "text" && cfg.log_format != "json") return "--log-format must be text or json";
  return repl::check_replication_flags(cfg.replication);
}

}  // namespace pilot
