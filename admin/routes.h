// Internal to admin/: the state the route files share and their registration
// functions (one per family; admin_server.cc calls them in order).
#pragma once

#include <httplib.h>

#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "admin/admin_server.h"
#include "admin/http_util.h"
#include "admin/overview.h"
#include "core/ed25519.h"

namespace pilot::admin {

struct AdminServer::Routes {
  Routes(AdminContext& c, AdminOptions& o) : ctx(c), opts(o) {}

  AdminContext& ctx;
  AdminOptions& opts;
  Overview overview_cache;  // loop thread only (inside bridge calls)
  WindowLimiter badge_limit{30};
  WindowLimiter verify_limit{60};
  WindowLimiter verify_keys_limit{120};

  // The verdict key, loaded or created on first use (routes_verify.cc); nullopt if the
  // file is unusable (logged).
  std::optional<KeyPair> verdict_key();
  std::mutex verdict_mu;
  std::optional<KeyPair> verdict_key_;

  std::mutex banner_mu;
  std::string banner;  // maintenance banner, persisted to <data-dir>/banner.txt

  // The overview as of now, once everything it counts is durable; nullopt if the
  // loop did not answer (shutting down, or stuck past the timeout).
  std::optional<Overview> overview();
  // Registers `handler` for each method in `methods` ("GET", "PUT, POST", ...) and
  // remembers the pattern, so any other method on it gets 405 with an Allow header
  // instead of 404.
  void on(httplib::Server& http, const std::string& methods, const std::string& pattern,
          httplib::Server::Handler handler);
  // The 405 check (a pre-routing handler): true when it answered.
  bool reject_method(const httplib::Request& req, httplib::Response& res) const;
  struct Known {
    std::regex pattern;
    std::string allow;
  };
  std::vector<Known> known;

  bool is_admin(const httplib::Request& req, httplib::Response& res,
                TokenSource source = TokenSource::kHeaderOrQuery) const {
    return require_admin(req, res, ctx.admin_token, source);
  }
};

// 503 with the reason, for a bridge call that got no answer.
void reply_unavailable(httplib::Response& res);

// /healthz, /readyz, /api/public-stats, /api/stats, /api/pulse, /api/nodes, /metrics,
// /api/badge/*.
void register_status_routes(httplib::Server& http, AdminServer::Routes& r);
// /api/banner, /api/breakers[/name], /api/snapshot, /api/admin/runtime/*,
// /api/admin/whitelist, /api/admin/replication-status, /api/admin/backups.
void register_operator_routes(httplib::Server& http, AdminServer::Routes& r);
// /api/admin/networks[/id/members[/node[/role]]], /api/admin/audit/recent.
void register_network_routes(httplib::Server& http, AdminServer::Routes& r);
// /api/v1/verify, /api/v1/verify/keys.
void register_verify_routes(httplib::Server& http, AdminServer::Routes& r);
// / (the dashboard page) and /api/dashboard (its JSON).
void register_dashboard_routes(httplib::Server& http, AdminServer::Routes& r);

}  // namespace pilot::admin
