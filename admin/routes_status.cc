// Health, readiness and the read-only stats routes (spec §10.2).
#include <chrono>

#include "admin/routes.h"
#include "core/address.h"
#include "core/time_format.h"
#include "net/rpc/breakers.h"
#include "net/rpc/service.h"
#include "projections/state.h"

namespace pilot::admin {

namespace {

using nlohmann::json;

int64_t now_unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t uptime_s(const AdminContext& ctx) { return (now_unix_ns() - ctx.started_unix_ns) / 1000000000; }

// A follower is ready (may take the VIP's reads, or be promoted without losing much)
// when it streams from its leader and is at most this many records behind.
constexpr uint64_t kCaughtUpRecords = 100;

void cors(httplib::Response& res) { res.set_header("Access-Control-Allow-Origin", "*"); }

// The reference's breaker-gated public routes answer 503 with a JSON reason.
bool breaker_allows(AdminServer::Routes& r, const char* name, httplib::Response& res) {
  if (!r.ctx.breakers) return true;
  auto denied = r.ctx.breakers->deny(name);
  if (!denied) return true;
  reply_json(res, {{"status", "unavailable"}, {"reason", *denied}}, 503);
  return false;
}

std::string shield_svg(const std::string& label, const std::string& value) {
  // Fixed-width-ish text metrics are enough for a badge: 7 px per character.
  const int lw = 10 + 7 * int(label.size()), vw = 10 + 7 * int(value.size());
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"20\" role=\"img\" "
                "aria-label=\"%s: %s\"><rect width=\"%d\" height=\"20\" fill=\"#555\"/>"
                "<rect x=\"%d\" width=\"%d\" height=\"20\" fill=\"#2e7d32\"/>"
                "<g fill=\"#fff\" font-family=\"Verdana,sans-serif\" font-size=\"11\">"
                "<text x=\"5\" y=\"14\">%s</text><text x=\"%d\" y=\"14\">%s</text></g></svg>",
                lw + vw, label.c_str(), value.c_str(), lw, lw, vw, label.c_str(), lw + 5, value.c_str());
  return buf;
}

}  // namespace

void register_status_routes(httplib::Server& http, AdminServer::Routes& r) {
  r.on(http, "GET", "/healthz", [&r](const httplib::Request&, httplib::Response& res) {
    auto o = r.overview();
    if (!o) return reply_unavailable(res);
    reply_json(
        res,
        {{"status", "ok"}, {"version", "1.0"}, {"uptime_seconds", uptime_s(r.ctx)}, {"nodes_online", o->online_nodes}});
  });

  // Ours (spec §10.2 has none): what a load balancer or keepalived asks before sending
  // traffic here. 200 = ready; 503 with the reason otherwise.
  r.on(http, "GET", "/readyz", [&r](const httplib::Request&, httplib::Response& res) {
    const bool stopping = r.ctx.stopping && r.ctx.stopping->load();
    auto o = stopping ? std::nullopt : r.overview();
    json body = {{"ready", false}, {"role", o ? o->role : "unknown"}};
    if (!o) {
      body["reason"] = stopping ? "shutting down" : "the server loop did not answer";
      return reply_json(res, body, 503);
    }
    body["term"] = o->term;
    body["last_seq"] = o->last_seq;
    body["durable_seq"] = o->durable_seq;
    bool ready = true;
    if (o->role == "follower") {
      const uint64_t lag = o->leader_durable_seq > o->durable_seq ? o->leader_durable_seq - o->durable_seq : 0;
      body["streaming"] = o->follower_streaming;
      body["leader_durable_seq"] = o->leader_durable_seq;
      body["lag_records"] = lag;
      if (!o->follower_streaming) {
        ready = false;
        body["reason"] = "not connected to the leader";
      } else if (lag > kCaughtUpRecords) {
        ready = false;
        body["reason"] = "catching up: " + std::to_string(lag) + " records behind the leader";
      }
    } else {
      if (o->role == "leader") {
        body["followers"] = o->followers;
        body["follower_acked_seq"] = o->follower_acked_seq;
      }
      // A leader that learned of a newer term stops taking writes (fenced): it must not
      // look like a place to send traffic (keepalived would keep the VIP there).
      if (o->standby) {
        ready = false;
        body["reason"] = "fenced: a leader with a newer term exists; this node takes no writes";
      }
    }
    body["ready"] = ready;
    reply_json(res, body, ready ? 200 : 503);
  });

  r.on(http, "GET", "/api/public-stats", [&r](const httplib::Request&, httplib::Response& res) {
    cors(res);
    if (!breaker_allows(r, "dashboard.public_stats", res)) return;
    auto o = r.overview();
    if (!o) return reply_unavailable(res);
    reply_json(res,
               {{"server_time", format_rfc3339(now_unix_ns())},
                {"uptime_seconds", uptime_s(r.ctx)},
                {"active_nodes", o->online_nodes},
                {"total_nodes", o->total_nodes},
                {"total_requests", o->total_requests},
                {"requests_per_sec", r.ctx.pulse ? r.ctx.pulse->rate(10) : 0.0},
                {"components", {{"registry", "up"}, {"beacon", o->beacon ? "up" : "unknown"}, {"dashboard", "up"}}}});
  });

  r.on(http, "GET", "/api/stats", [&r](const httplib::Request& req, httplib::Response& res) {
    cors(res);
    if (!r.is_admin(req, res)) return;
    auto o = r.overview();
    if (!o) return reply_unavailable(res);
    const int64_t up = uptime_s(r.ctx);
    json body = {{"total_nodes", o->total_nodes},
                 {"active_nodes", o->online_nodes},
                 {"total_requests", o->total_requests},
                 // Since start when younger than a day, else the average rate × 1 day.
                 {"req_per_day", up < 86400 ? o->total_requests : o->total_requests * 86400 / uint64_t(up)},
                 {"uptime_secs", up},
                 {"versions", o->versions}};
    if (o->beacon) {
      body["relay_forwarded"] = o->relay_forwarded;
      body["relay_dropped"] = o->relay_dropped;
      body["relay_not_found"] = o->relay_not_found;
    }
    {
      std::lock_guard lk(r.banner_mu);
      body["maintenance_banner"] = r.banner;
    }
    // Per-network figures only with the dashboard token as well (§10.2).
    const std::string token = req.get_param_value("token");
    if (!r.opts.dashboard_token.empty() && token == r.opts.dashboard_token) {
      const int64_t stale = r.ctx.stale_threshold_ns;
      auto nets = r.ctx.bridge->call_durable([&r, stale] {
        json out = json::array();
        const int64_t now = now_unix_ns();
        rpc::Registry& reg = r.ctx.registry->registry();
        for (const auto& [id, net] : r.ctx.state->networks.all()) {
          if (id == 0) continue;
          uint64_t online = 0;
          for (uint32_t m : net.members)
            if (r.ctx.state->directory.nodes().count(m) && now - reg.liveness().last_seen_ns(m) < stale) ++online;
          out.push_back({{"id", id}, {"name", net.name}, {"members", net.members.size()}, {"online", online}});
        }
        return out;
      });
      if (!nets) return reply_unavailable(res);
      body["networks"] = std::move(*nets);
    }
    reply_json(res, body);
  });

  r.on(http, "GET", "/api/pulse", [&r](const httplib::Request& req, httplib::Response& res) {
    if (!r.is_admin(req, res)) return;
    json samples = json::array();
    uint64_t total = 0;
    if (r.ctx.pulse) {
      for (const auto& s : r.ctx.pulse->samples()) samples.push_back({{"ts", s.ts_ms}, {"total", s.total}});
      total = r.ctx.pulse->latest_total();
    }
    reply_json(res, {{"ts", now_unix_ns() / 1000000}, {"total_requests", total}, {"samples", samples}});
  });

  r.on(http, "GET", "/api/nodes", [&r](const httplib::Request& req, httplib::Response& res) {
    if (!require_localhost(req, res)) return;
    auto nodes = r.ctx.bridge->call_durable([&r] {
      json out = json::array();
      rpc::Registry& reg = r.ctx.registry->registry();
      for (const auto& [id, node] : r.ctx.state->directory.nodes()) {
        json n = {{"node_id", id}, {"address", Address{0, id}.to_string()}};
        if (!node.hostname.empty()) n["hostname"] = node.hostname;
        const int64_t seen = reg.liveness().last_seen_ns(id);
        n["last_seen"] = format_rfc3339(seen ? seen : node.last_registered_ns);
        out.push_back(std::move(n));
      }
      return out;
    });
    if (!nodes) return reply_unavailable(res);
    const size_t count = nodes->size();
    reply_json(res, {{"nodes", std::move(*nodes)}, {"count", count}});
  });

  r.on(http, "GET", "/metrics", [&r](const httplib::Request& req, httplib::Response& res) {
    if (!require_localhost(req, res)) return;
    if (!r.ctx.render_metrics) return reply_error(res, 404, "404 page not found");
    auto text = r.ctx.render_metrics();
    if (!text) return reply_unavailable(res);
    res.set_content(std::move(*text), "text/plain; version=0.0.4; charset=utf-8");
  });

  auto badge = [&r](const char* label, bool nodes) {
    return [&r, label, nodes](const httplib::Request& req, httplib::Response& res) {
      if (!r.is_admin(req, res)) return;
      if (!r.badge_limit.allow(client_ip(req), now_unix_ns() / 1000000000))
        return reply_error(res, 429, "Too Many Requests");
      auto o = r.overview();
      if (!o) return reply_unavailable(res);
      cors(res);
      res.set_header("Cache-Control", "no-cache, no-store, must-revalidate");
      res.set_content(shield_svg(label, std::to_string(nodes ? o->online_nodes : o->total_requests)), "image/svg+xml");
    };
  };
  r.on(http, "GET", "/api/badge/nodes", badge("online nodes", true));
  r.on(http, "GET", "/api/badge/requests", badge("requests", false));
}

}  // namespace pilot::admin
