#include "admin/http_util.h"

#include <arpa/inet.h>
#include <sodium.h>

namespace pilot::admin {

bool is_loopback(std::string_view ip_text) {
  std::string ip(ip_text);
  in_addr v4{};
  if (inet_pton(AF_INET, ip.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, ip.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

std::string client_ip(const httplib::Request& req) {
  if (is_loopback(req.remote_addr)) {
    std::string real = req.get_header_value("X-Real-IP");
    if (!real.empty()) return real;
  }
  return req.remote_addr;
}

namespace {

bool tokens_equal(const std::string& a, const std::string& b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

bool require_admin(const httplib::Request& req, httplib::Response& res, const std::string& token, TokenSource source) {
  if (token.empty()) {
    reply_error(res, 401, "admin token not configured");
    return false;
  }
  std::string given = req.get_header_value("X-Admin-Token");
  if (given.empty() && source == TokenSource::kHeaderOrQuery) given = req.get_param_value("admin_token");
  if (!tokens_equal(given, token)) {
    reply_error(res, 401, "unauthorized");
    return false;
  }
  return true;
}

bool require_localhost(const httplib::Request& req, httplib::Response& res) {
  if (is_loopback(req.remote_addr)) return true;
  reply_error(res, 403, "Forbidden");
  return false;
}

void reply_error(httplib::Response& res, int status, std::string_view message) {
  res.status = status;
  res.set_content(std::string(message) + "\n", "text/plain; charset=utf-8");
  res.set_header("X-Content-Type-Options", "nosniff");
}

void reply_json(httplib::Response& res, const nlohmann::json& body, int status) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

void reply_method_not_allowed(httplib::Response& res, std::string_view allow) {
  res.set_header("Allow", std::string(allow));
  reply_error(res, 405, "method not allowed");
}

bool WindowLimiter::allow(const std::string& ip, int64_t now_s) {
  std::lock_guard lk(mu_);
  const int64_t window = now_s / 60;
  if (window != window_) {
    window_ = window;
    counts_.clear();
  }
  auto it = counts_.find(ip);
  if (it == counts_.end()) {
    if (counts_.size() >= kMaxClients) return false;
    it = counts_.emplace(ip, 0).first;
  }
  if (it->second >= per_minute_) return false;
  ++it->second;
  return true;
}

}  // namespace pilot::admin
