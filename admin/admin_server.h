// The admin HTTP server (spec §10, `--http`, default :3000): the operator's REST API,
// the live dashboard, Prometheus /metrics, health and readiness.
//
// cpp-httplib serves each connection on a small worker pool of its own. A handler
// never touches the loop thread's objects: it reads them through the LoopBridge
// (a query posted to the loop, answered once the records it saw are durable) or
// through the thread-safe pieces (breakers, the pulse ring, atomics). So a slow
// dashboard costs the RPC path one posted query per request, no locks.
//
// Routes live in one file per family (routes_status.cc, routes_operator.cc,
// routes_networks.cc, routes_dashboard.cc); http_util.h has the auth helpers and the
// per-IP limiters they share.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "admin/loop_bridge.h"
#include "admin/pulse.h"
#include "admin/restart_history.h"
#include "core/flags.h"

namespace httplib {
class Server;
}

namespace pilot {
struct State;
namespace log {
class Writer;
}
namespace rpc {
class RegistryService;
class Breakers;
}  // namespace rpc
namespace beacon {
class Service;
}
namespace repl {
class Leader;
class Follower;
}  // namespace repl
}  // namespace pilot

namespace pilot::admin {

struct AdminOptions {
  std::string http_addr = ":3000";  // "" = no admin HTTP server
  std::string dashboard_token;      // per-network stats on /api/stats?token=
  std::string maintenance_banner;   // initial banner (banner.txt wins once written)
  // Backup sweeper (spec §8.4, §16): <data-dir>/backups, hourly.
  int64_t backups_max_age_ns = int64_t{336} * 3600 * 1000000000;
  uint64_t backups_max_count = 50;
};

// --http, --dashboard-token, --maintenance-banner, --backups-max-age,
// --backups-max-count (the admin token is the registry's --admin-token: one token for
// both, as the reference).
void add_admin_flags(Flags& flags, AdminOptions& opts);

// What POST /api/admin/promote answers (the host fills it in, net/replication/README.md).
struct PromoteOutcome {
  int status = 200;  // 200, or the HTTP status of `error` (409: not a follower)
  std::string error;
  uint64_t term = 0;           // the new term
  uint64_t previous_term = 0;  // the term this node had before
  uint64_t seq = 0;            // the last record when it was promoted
};

// Everything the routes read or drive. Pointers to loop-thread objects (registry,
// state, writer, follower) are dereferenced only inside bridge->call*().
struct AdminContext {
  LoopBridge* bridge = nullptr;
  rpc::RegistryService* registry = nullptr;  // loop thread
  State* state = nullptr;                    // loop thread
  log::Writer* writer = nullptr;             // loop thread (durable_seq() anywhere)
  beacon::Service* beacon = nullptr;         // null without the embedded beacon
  repl::Leader* leader = nullptr;            // null unless --repl-token (thread-safe getters)
  repl::Follower* follower = nullptr;        // null unless --follow (loop thread)
  rpc::Breakers* breakers = nullptr;         // thread-safe
  Pulse* pulse = nullptr;                    // thread-safe
  std::string data_dir;
  std::string admin_token;
  std::string program = "rendezvous";
  int64_t stale_threshold_ns = 0;
  int64_t started_unix_ns = 0;
  // Writes a snapshot now (any thread); "" on success, else the error.
  std::function<std::string()> snapshot_now;
  // Makes this follower the leader (any thread; the host runs it on its loop). Empty =
  // /api/admin/promote 404 (no replication in this binary).
  std::function<PromoteOutcome()> promote;
  // Go standbys subscribed with subscribe_replication (loop thread). Empty = none.
  std::function<size_t()> go_standbys;
  // Prometheus text (any thread; reads through the bridge). Empty = /metrics 404.
  std::function<std::optional<std::string>()> render_metrics;
  std::vector<RestartEntry> restarts;  // oldest first, this start last
  // True once the host is shutting down: /readyz says so.
  const std::atomic<bool>* stopping = nullptr;
};

class AdminServer {
 public:
  AdminServer(AdminContext ctx, AdminOptions opts);
  ~AdminServer();  // stop()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and starts serving on its own thread; logs "admin: listening on ADDR".
  bool start(std::string& error);
  // Stops accepting, lets requests in flight finish (they get 503 once the bridge is
  // closed), joins the threads. Idempotent.
  void stop();
  uint16_t bound_port() const { return port_; }
  // Loop thread: the host's replication objects changed (a follower was promoted:
  // `leader` now, no follower). The routes read them only inside bridge calls, on the
  // loop thread too, so role, /readyz and replication-status follow at once.
  void set_replication(repl::Leader* leader, repl::Follower* follower) {
    ctx_.leader = leader;
    ctx_.follower = follower;
  }

  // Shared by the route files.
  struct Routes;

 private:
  AdminContext ctx_;
  AdminOptions opts_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<Routes> routes_;
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace pilot::admin
