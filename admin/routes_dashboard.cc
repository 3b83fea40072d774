// The live dashboard: `/` serves the embedded page, which polls `/api/dashboard`.
//
// /api/dashboard is ours (the reference's page polls the admin-token stats): it is
// public like the page, so it carries aggregates only — counts, rates, versions,
// replication role and the restart history — never a node, key, address or network
// name.
#include <chrono>

#include "admin/dashboard/page.h"
#include "admin/routes.h"

namespace pilot::admin {

void register_dashboard_routes(httplib::Server& http, AdminServer::Routes& r) {
  r.on(http, "GET", "/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
                   "img-src 'self'");
    res.set_content(std::string(kDashboardHtml), "text/html; charset=utf-8");
  });

  r.on(http, "GET", "/api/dashboard", [&r](const httplib::Request&, httplib::Response& res) {
    auto o = r.overview();
    if (!o) return reply_unavailable(res);
    using nlohmann::json;
    const int64_t now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    json pulse = json::array();
    if (r.ctx.pulse)
      for (const auto& s : r.ctx.pulse->samples()) pulse.push_back({{"ts", s.ts_ms}, {"total", s.total}});
    json restarts = json::array();
    for (const auto& e : r.ctx.restarts)
      restarts.push_back({{"started_at", e.started_at}, {"previous_stop", e.previous_stop}});
    json repl = {{"role", o->role}, {"term", o->term}, {"last_seq", o->last_seq}, {"durable_seq", o->durable_seq}};
    if (o->role == "follower") {
      repl["streaming"] = o->follower_streaming;
      repl["lag_records"] = o->leader_durable_seq > o->durable_seq ? o->leader_durable_seq - o->durable_seq : 0;
    } else if (o->role == "leader") {
      repl["followers"] = o->followers;
      repl["follower_acked_seq"] = o->follower_acked_seq;
    }
    json body = {{"uptime_seconds", (now_ns - r.ctx.started_unix_ns) / 1000000000},
                 {"nodes", {{"online", o->online_nodes}, {"registered", o->live_nodes}, {"total", o->total_nodes}}},
                 {"requests",
                  {{"total", o->total_requests},
                   {"errors", o->total_errors},
                   {"per_sec", r.ctx.pulse ? r.ctx.pulse->rate(10) : 0.0}}},
                 {"networks", {{"total", o->networks}, {"enterprise", o->enterprise_networks}}},
                 {"trust_links", o->trust_links},
                 {"versions", o->versions},
                 {"replication", repl},
                 {"pulse", pulse},
                 {"restarts", restarts}};
    if (o->beacon)
      body["beacon"] = {{"nodes", o->beacon_nodes},
                        {"relay_forwarded", o->relay_forwarded},
                        {"relay_dropped", o->relay_dropped},
                        {"relay_not_found", o->relay_not_found}};
    {
      std::lock_guard lk(r.banner_mu);
      body["banner"] = r.banner;
    }
    res.set_header("Cache-Control", "no-store");
    reply_json(res, body);
  });
}

}  // namespace pilot::admin
