// Operator switches and files (spec §10.2): banner, breakers, snapshot, runtime
// knobs, the rate-limit whitelist, replication status and promotion, backups.
#include <dirent.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "admin/backups.h"
#include "admin/routes.h"
#include "core/logging.h"
#include "core/time_format.h"
#include "log/file_util.h"
#include "net/rpc/breakers.h"
#include "net/rpc/whitelist.h"

namespace pilot::admin {

namespace {

using nlohmann::json;

int64_t now_unix_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A JSON object body, or 400 (written) and nullopt.
std::optional<json> json_body(const httplib::Request& req, httplib::Response& res, size_t max_bytes) {
  if (req.body.size() > max_bytes) {
    reply_error(res, 413, "request body too large");
    return std::nullopt;
  }
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded()) {
    reply_error(res, 400, "invalid JSON body");
    return std::nullopt;
  }
  return j;
}

std::string read_file(const std::string& path, bool& exists) {
  std::ifstream in(path);
  exists = bool(in);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Resident memory and open descriptors of this process, from /proc.
json process_figures() {
  json out;
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  if (statm >> pages >> resident) out["rss_bytes"] = resident * uint64_t(sysconf(_SC_PAGESIZE));
  size_t fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++fds;
    closedir(d);
    out["fds"] = fds > 2 ? fds - 3 : 0;  // minus ".", ".." and the one opendir holds
  }
  size_t threads = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++threads;
    closedir(d);
    out["threads"] = threads;
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) out["fd_limit"] = uint64_t(rl.rlim_cur);
  return out;
}

}  // namespace

void register_operator_routes(httplib::Server& http, AdminServer::Routes& r) {
  const std::string banner_path = r.ctx.data_dir + "/banner.txt";
  r.on(http, "GET", "/api/banner", [&r](const httplib::Request& req, httplib::Response& res) {
    if (!r.is_admin(req, res)) return;
    std::lock_guard lk(r.banner_mu);
    reply_json(res, {{"banner", r.banner}});
  });
  r.on(http, "PUT, POST", "/api/banner", [&r, banner_path](const httplib::Request& req, httplib::Response& res) {
    if (!r.is_admin(req, res, TokenSource::kHeaderOnly)) return;
    if (req.body.size() > 8192) return reply_error(res, 413, "banner too long (at most 8192 bytes)");
    std::string text = req.body;
    text.erase(text.find_last_not_of(" \t\r\n") + 1);
    std::lock_guard lk(r.banner_mu);
    std::string error;
    if (!log::write_file_atomic(banner_path, text, error)) return reply_error(res, 500, error);
    r.banner = text;
    LOG_INFO("admin: maintenance banner %s", text.empty() ? "cleared" : ("set: " + text).c_str());
    reply_json(res, {{"ok", true}, {"banner", text}});
  });

  r.on(http, "GET", "/api/breakers", [&r](const httplib::Request& req, httplib::Response& res) {
    if (!r.is_admin(req, res)) return;
    json list = json::array();
    if (r.ctx.breakers) {
      for (const auto& b : r.ctx.breakers->list()) {
        json j = {{"name", b.name},
                  {"state", rpc::breaker_state_name(b.state)},
                  {"allowed_total", b.allowed_total},
                  {"denied_total", b.denied_total}};
        if (!b.reason.empty()) j["reason"] = b.reason;
        if (!b.updated_at.empty()) j["updated_at"] = b.updated_at;
        if (b.last_denied_unix) j["last_denied_at"] = format_rfc3339(b.last_denied_unix * 1000000000);
        list.push_back(std::move(j));
      }
    }
    reply_json(res, {{"breakers", list}});
  });
  r.on(http, "PUT, POST, DELETE", R"(/api/breakers/(.*))", [&r](const httplib::Request& req, httplib::Response& res) {
    if (!r.is_admin(req, res, TokenSource::kHeaderOnly)) return;
    const std::string name = req.matches[1];
    if (!rpc::Breakers::valid_name(name)) return reply_error(res, 400, "invalid breaker name");
    if (!r.ctx.breakers) return reply_error(res, 404, "breakers not available");
    std::string error;
    if (req.method == "DELETE") {
      error = r.ctx.breakers->remove(name);
    } else {
      auto body = json_body(req, res, 8192);
      if (!body) return;
      std::optional<rpc::BreakerState> state;
      if (body->is_object() && body->contains("state") && (*body)["state"].is_string())
        state = rpc::parse_breaker_state((*body)["state"].get<std::string>());
      if (!state) return reply_error(res, 400, "state must be closed, half_open or open");
      std::string reason;
      if (body->contains("reason") && (*body)["reason"].is_string()) reason = (*body)["reason"].get<std::string>();
      error = r.ctx.breakers->set(name, *state, reason, now_unix_s());
    }
    if (!error.empty()) return reply_error(res, 500, error);
    reply_json(res, {{"ok", true}, {"name", name}});
  });

  r.on(http, "POST", "/api/snapshot", [&r](const httplib::Request& req, httplib::Response& res) {
    if (!require_localhost(req, res)) return;
    if (r.ctx.breakers && !r.ctx.breakers->allows("snapshot.write"))
      return reply_error(res, 503, "snapshot.write breaker is open");
    std::string error = r.ctx.snapshot_now ? r.ctx.snapshot_now() : "snapshots not available";
    if (!error.empty()) return reply_error(res, 500, "snapshot failed: " + error);
    reply_json(res, {{"status", "ok"}, {"message", "snapshot saved successfully"}});
  });

  r.on(http, "GET", "/api/runtime", [&r](const httplib::Request& req, httplib::Response& res) {
    if (!r.is_admin(req, res)) return;
    json body = process_figures();
    body["log_level"] = log_level_name(log_level());
    reply_json(res, body);
  });
  // Go's runtime.GC has no C++ twin; returning freed heap pages to the system is the
  // closest useful thing.
  r.on(http, "POST", "/api/admin/runtime/gc", [&r](const httplib::Request& req, httplib::Response& res) {
    if (!r.is_admin(req, res)) return;
    auto t0 = std::chrono::steady_clock::now();
    malloc_trim(0);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    reply_json(res, {{"ok", true}, {"duration_ms", ms}});
  });
  r.on(http, "GET", "/api/admin/runtime/log-level", [&r](const httplib::Request& req, httplib::Response& res) {
    if (!r.is_admin(req, res)) return;
    reply_json(res, {{"level", log_level_name(log_level())}});
  });
  r.on(http, "PUT, POST", "/api/admin/runtime/log-level", [&r](const httplib::Request& req, httplib::Response& res) {
    if (!r.is_admin(req, res)) return;
    auto body = json_body(req, res, 1024);
    if (!body) return;
    std::string level;
    if (body->is_object() && body->contains("level") && (*body)["level"].is_string())
      level = (*body)["level"].get<std::string>();
    if (!set_log_level(level.c_str())) return reply_error(res, 400, "level must be debug, info, warn or error");
    LOG_INFO("admin: log level set to %s", level.c_str());
    reply_json(res, {{"ok", true}, {"level", level}});
  });

  const std::string whitelist_path = r.ctx.data_dir + "/rate-limit-whitelist.json";
  r.on(http, "GET", "/api/admin/whitelist", [&r, whitelist_path](const httplib::Request& req, httplib::Response& res) {
    if (!r.is_admin(req, res)) return;
    bool exists = false;
    const std::string raw = read_file(whitelist_path, exists);
    json entries = json::array();
    json body;
    std::string error;
    if (exists) {
      if (auto wl = rpc::Whitelist::parse(raw, error)) {
        for (const auto& e : wl->entries()) entries.push_back({{"cidr", e.cidr}, {"rate", e.rate}});
      } else {
        body["parse_error"] = error;
        body["raw"] = raw;
      }
    }
    body["count"] = entries.size();
    body["entries"] = std::move(entries);
    reply_json(res, body);
  });
  r.on(http, "PUT, POST", "/api/admin/whitelist",
       [&r, whitelist_path](const httplib::Request& req, httplib::Response& res) {
         if (!r.is_admin(req, res)) return;
         auto body = json_body(req, res, size_t{1} << 20);
         if (!body) return;
         json list = body->is_object() && body->contains("entries") ? (*body)["entries"] : *body;
         if (!list.is_array()) return reply_error(res, 400, "want {\"entries\": [...]} or an array");
         const std::string text = list.dump(2) + "\n";
         std::string error;
         auto wl = rpc::Whitelist::parse(text, error);
         if (!wl) return reply_error(res, 400, "invalid whitelist: " + error);
         if (!log::write_file_atomic(whitelist_path, text, error)) return reply_error(res, 500, error);
         LOG_INFO("admin: rate-limit whitelist rewritten (%zu entries; applied within 2 s)", wl->size());
         reply_json(res, {{"ok", true}, {"count", wl->size()}});
       });

  r.on(http, "GET", "/api/admin/replication-status", [&r](const httplib::Request& req, httplib::Response& res) {
    if (!r.is_admin(req, res)) return;
    auto o = r.overview();
    if (!o) return reply_unavailable(res);
    json body = {{"term", o->term}, {"is_standby", o->standby}, {"subscribers", o->followers},
                 {"role", o->role}, {"last_seq", o->last_seq},  {"durable_seq", o->durable_seq}};
    if (o->role == "follower") {
      body["streaming"] = o->follower_streaming;
      body["leader_durable_seq"] = o->leader_durable_seq;
      body["lag_records"] = o->leader_durable_seq > o->durable_seq ? o->leader_durable_seq - o->durable_seq : 0;
    } else if (o->role == "leader") {
      body["follower_acked_seq"] = o->follower_acked_seq;
      body["consumers"] = o->consumers;
      body["go_standbys"] = o->go_standbys;
    }
    reply_json(res, body);
  });

  // Promotion (net/replication/README.md): keepalived's notify script or an operator
  // (`rendezvous promote`). A write, so the token comes from the header only.
  r.on(http, "POST", "/api/admin/promote", [&r](const httplib::Request& req, httplib::Response& res) {
    if (!r.is_admin(req, res, TokenSource::kHeaderOnly)) return;
    if (!r.ctx.promote) return reply_error(res, 404, "promotion not available here");
    const PromoteOutcome o = r.ctx.promote();
    if (o.status != 200) return reply_error(res, o.status, o.error);
    reply_json(
        res, {{"ok", true}, {"role", "leader"}, {"term", o.term}, {"previous_term", o.previous_term}, {"seq", o.seq}});
  });

  r.on(http, "GET", "/api/admin/backups", [&r](const httplib::Request& req, httplib::Response& res) {
    if (!r.is_admin(req, res)) return;
    json entries = json::array();
    uint64_t total = 0;
    for (const auto& b : list_backups(r.ctx.data_dir + "/backups")) {
      entries.push_back({{"name", b.name}, {"size_bytes", b.size_bytes}, {"mod_unix", b.mod_unix}});
      total += b.size_bytes;
    }
    reply_json(res, {{"count", entries.size()}, {"total_size_bytes", total}, {"entries", entries}});
  });
}

}  // namespace pilot::admin
