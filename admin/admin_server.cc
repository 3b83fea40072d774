#include "admin/admin_server.h"

#include <httplib.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "admin/http_workers.h"
#include "admin/routes.h"
#include "core/logging.h"
#include "net/rpc/listen_addr.h"

namespace pilot::admin {

namespace {
constexpr int kWorkerNice = 10;
}

void add_admin_flags(Flags& f, AdminOptions& o) {
  f.add_string(&o.http_addr, "http", "PILOT_HTTP_ADDR",
               "admin HTTP address: dashboard, REST API, /metrics, /healthz, /readyz (\"\" = off)");
  f.add_string(&o.dashboard_token, "dashboard-token", "PILOT_DASHBOARD_TOKEN",
               "token for per-network stats on /api/stats?token=");
  f.add_string(&o.maintenance_banner, "maintenance-banner", nullptr,
               "initial maintenance banner (a banner set over HTTP, kept in banner.txt, wins)");
  f.add_duration(&o.backups_max_age_ns, "backups-max-age", nullptr,
                 "the hourly sweep deletes registry backups in <data-dir>/backups older than this");
  f.add_uint(&o.backups_max_count, "backups-max-count", nullptr, "and keeps at most this many of the newest");
}

void reply_unavailable(httplib::Response& res) {
  reply_error(res, 503, "service unavailable: the server is shutting down or busy");
}

std::optional<Overview> AdminServer::Routes::overview() {
  return ctx.bridge->call_durable([this] {
    const int64_t now =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    return collect_overview(ctx, overview_cache, now);
  });
}

void AdminServer::Routes::on(httplib::Server& http, const std::string& methods, const std::string& pattern,
                             httplib::Server::Handler handler) {
  std::string allow;
  size_t start = 0;
  while (start < methods.size()) {
    size_t end = methods.find(',', start);
    if (end == std::string::npos) end = methods.size();
    std::string m = methods.substr(start, end - start);
    m.erase(0, m.find_first_not_of(' '));
    m.erase(m.find_last_not_of(' ') + 1);
    start = end + 1;
    if (m == "GET")
      http.Get(pattern, handler);
    else if (m == "POST")
      http.Post(pattern, handler);
    else if (m == "PUT")
      http.Put(pattern, handler);
    else if (m == "DELETE")
      http.Delete(pattern, handler);
    else
      continue;
    if (!allow.empty()) allow += ", ";
    allow += m;
    if (m == "GET") allow += ", HEAD";  // httplib answers HEAD with the GET handler
  }
  known.push_back({std::regex(pattern), allow});
}

bool AdminServer::Routes::reject_method(const httplib::Request& req, httplib::Response& res) const {
  bool path_known = false;
  for (const Known& k : known) {
    if (!std::regex_match(req.path, k.pattern)) continue;
    path_known = true;
    std::string allow = ", " + k.allow + ",";
    if (allow.find(", " + req.method + ",") != std::string::npos) return false;
  }
  if (!path_known) return false;
  // Every pattern the path matches refused the method: list what they allow.
  std::string allow;
  for (const Known& k : known)
    if (std::regex_match(req.path, k.pattern)) allow += (allow.empty() ? "" : ", ") + k.allow;
  reply_method_not_allowed(res, allow);
  return true;
}

AdminServer::AdminServer(AdminContext ctx, AdminOptions opts) : ctx_(std::move(ctx)), opts_(std::move(opts)) {}

AdminServer::~AdminServer() { stop(); }

namespace {

std::string read_banner(const std::string& path, const std::string& fallback) {
  std::ifstream in(path);
  if (!in) return fallback;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

bool AdminServer::start(std::string& error) {
  auto hp = rpc::split_host_port(opts_.http_addr);
  int port = 0;
  if (hp) {
    char* end = nullptr;
    long p = std::strtol(hp->port.c_str(), &end, 10);
    if (!hp->port.empty() && *end == 0 && p >= 0 && p <= 65535)
      port = int(p);
    else
      hp.reset();
  }
  if (!hp) {
    error = "invalid --http address \"" + opts_.http_addr + "\" (want host:port or :port)";
    return false;
  }
  routes_ = std::make_unique<Routes>(ctx_, opts_);
  routes_->banner = read_banner(ctx_.data_dir + "/banner.txt", opts_.maintenance_banner);
  http_ = std::make_unique<httplib::Server>();
  // A few workers: the admin side is for operators and dashboards, not for load, and
  // every worker that waits on the loop holds a thread. They run at nice +10, below
  // the loop thread (admin/http_workers.h).
  http_->new_task_queue = [] { return new BackgroundWorkers(4, kWorkerNice); };
  http_->set_payload_max_length(size_t{1} << 20);  // the largest body a route takes (whitelist)
  http_->set_read_timeout(std::chrono::seconds(10));
  http_->set_write_timeout(std::chrono::seconds(10));
  http_->set_keep_alive_timeout(2);  // bounds how long stop() waits for an idle client
  // Headers and body go out in two writes: without TCP_NODELAY a keep-alive client
  // waits ~40 ms for each response (Nagle against delayed ACKs).
  http_->set_tcp_nodelay(true);
  http_->set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    LOG_ERROR("admin: %s %s: internal error: %s", req.method.c_str(), req.path.c_str(), what.c_str());
    reply_error(res, 500, "internal error");
  });
  http_->set_pre_routing_handler([r = routes_.get()](const httplib::Request& req, httplib::Response& res) {
    return r->reject_method(req, res) ? httplib::Server::HandlerResponse::Handled
                                      : httplib::Server::HandlerResponse::Unhandled;
  });
  register_status_routes(*http_, *routes_);
  register_operator_routes(*http_, *routes_);
  register_network_routes(*http_, *routes_);
  register_verify_routes(*http_, *routes_);
  register_dashboard_routes(*http_, *routes_);
  http_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404 && res.body.empty()) reply_error(res, 404, "404 page not found");
  });

  // ":3000" listens on every address, IPv6 and IPv4 (a v6 socket accepts both on
  // Linux); a host without IPv6 falls back to 0.0.0.0.
  const std::string host = hp->host;
  auto bind = [&](const std::string& h) -> int {
    if (port == 0) return http_->bind_to_any_port(h);
    return http_->bind_to_port(h, port) ? port : -1;
  };
  int got = bind(host.empty() ? "::" : host);
  if (got <= 0 && host.empty()) got = bind("0.0.0.0");
  if (got <= 0) {
    error = "cannot listen on " + opts_.http_addr + " (address in use or not on this host)";
    http_.reset();
    return false;
  }
  port = got;
  port_ = uint16_t(port);
  thread_ = std::thread([this] {
    BackgroundWorkers::lower_this_thread(kWorkerNice);  // the accept thread too
    http_->listen_after_bind();
  });
  // httplib's stop() does nothing until listen_after_bind() has marked the server
  // running: a SIGTERM right after start would otherwise leave the thread listening
  // and stop() joining it forever.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!http_->is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      error = "the HTTP server on " + opts_.http_addr + " did not start";
      stop();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  LOG_INFO("admin: listening on %s (dashboard /, API /api, /metrics, /healthz, /readyz)",
           rpc::join_host_port(host.empty() ? "" : host, std::to_string(port_)).c_str());
  return true;
}

void AdminServer::stop() {
  if (!http_) return;
  http_->stop();
  if (thread_.joinable()) thread_.join();
  http_.reset();
}

}  // namespace pilot::admin
