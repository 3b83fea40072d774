// What every admin route shares: the spec's auth rules (§10.1), per-IP fixed-window
// limiters, and JSON / plain-text replies with the reference's shapes.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pilot::admin {

// 127.0.0.1 (any 127/8), ::1, ::ffff:127.x.
bool is_loopback(std::string_view ip);

// The address rate limits are keyed by: the peer, or X-Real-IP when the peer is
// this host (a local reverse proxy).
std::string client_ip(const httplib::Request& req);

enum class TokenSource { kHeaderOrQuery, kHeaderOnly };

// requireAdminToken (§10.1): X-Admin-Token, else (kHeaderOrQuery) ?admin_token=.
// No token configured → 401 "admin token not configured"; mismatch (constant time)
// → 401 "unauthorized". Returns true when allowed; otherwise the reply is written.
bool require_admin(const httplib::Request& req, httplib::Response& res, const std::string& token,
                   TokenSource source = TokenSource::kHeaderOrQuery);

// localhostOnly: 403 "Forbidden" for any other peer.
bool require_localhost(const httplib::Request& req, httplib::Response& res);

// http.Error: plain text, message + newline.
void reply_error(httplib::Response& res, int status, std::string_view message);
void reply_json(httplib::Response& res, const nlohmann::json& body, int status = 200);
// 405 with Allow.
void reply_method_not_allowed(httplib::Response& res, std::string_view allow);

// Fixed one-minute windows per client IP (the reference's limiter for badges and
// /api/v1/verify). Bounded: past kMaxClients distinct IPs in a window, new ones are
// refused until the window turns (a flood of spoofed sources cannot grow memory).
class WindowLimiter {
 public:
  explicit WindowLimiter(uint32_t per_minute) : per_minute_(per_minute) {}
  bool allow(const std::string& ip, int64_t now_s);

 private:
  static constexpr size_t kMaxClients = 65536;
  std::mutex mu_;
  uint32_t per_minute_;
  int64_t window_ = -1;
  std::unordered_map<std::string, uint32_t> counts_;
};

}  // namespace pilot::admin
