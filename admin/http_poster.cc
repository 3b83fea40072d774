#include "admin/http_poster.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

namespace pilot::admin {

namespace {

// The first address `host` resolves to that the policy permits, as text; "" and
// `error` set when there is none.
std::string permitted_address(const std::string& host, const rpc::UrlPolicy& policy, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res); rc != 0) {
    error = "cannot resolve " + host + ": " + gai_strerror(rc);
    return "";
  }
  std::string chosen;
  for (addrinfo* ai = res; ai && chosen.empty(); ai = ai->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw = ai->ai_family == AF_INET
                          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr)
                          : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr);
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    if (!::inet_ntop(ai->ai_family, raw, text, sizeof text)) continue;
    if (std::string why = rpc::address_problem(text, policy); why.empty())
      chosen = text;
    else
      error = host + " resolves to a refused address: " + why;
  }
  ::freeaddrinfo(res);
  if (chosen.empty() && error.empty()) error = "cannot resolve " + host + ": no address";
  return chosen;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

HttpPoster::HttpPoster(rpc::HttpUrl url, rpc::UrlPolicy policy, std::chrono::milliseconds timeout)
    : url_(std::move(url)), policy_(policy), timeout_(timeout) {}

HttpPoster::~HttpPoster() = default;

bool HttpPoster::connect_client(std::string& error) {
  // The name was checked when it was configured; the addresses are checked now.
  if (std::string why = rpc::host_problem(url_.host, policy_); !why.empty()) {
    error = why;
    return false;
  }
  std::string pinned;
  if (!is_ip_literal(url_.host)) {
    pinned = permitted_address(url_.host, policy_, error);
    if (pinned.empty()) return false;
  }
  std::shared_ptr<httplib::ClientImpl> cli;
  if (url_.scheme == "https")
    cli = std::make_shared<httplib::SSLClient>(url_.host, url_.port);
  else
    cli = std::make_shared<httplib::ClientImpl>(url_.host, url_.port);
  if (!pinned.empty()) cli->set_hostname_addr_map({{url_.host, pinned}});
  const auto secs = static_cast<time_t>(timeout_.count() / 1000);
  const auto usecs = static_cast<time_t>((timeout_.count() % 1000) * 1000);
  cli->set_connection_timeout(secs, usecs);
  cli->set_read_timeout(secs, usecs);
  cli->set_write_timeout(secs, usecs);
  cli->set_keep_alive(true);
  cli->set_follow_location(false);  // a redirect could point anywhere
  std::lock_guard lk(mu_);
  client_ = std::move(cli);
  return true;
}

PostResult HttpPoster::post(const std::string& body, const std::string& content_type, const httplib::Headers& headers) {
  PostResult out;
  std::shared_ptr<httplib::ClientImpl> cli;
  {
    std::lock_guard lk(mu_);
    cli = client_;
  }
  if (!cli) {
    if (!connect_client(out.error)) return out;
    std::lock_guard lk(mu_);
    cli = client_;
  }
  httplib::Headers h = headers;
  // cpp-httplib writes "host:port" unbracketed for IPv6 literals; say it ourselves.
  const bool default_port = (url_.scheme == "https" && url_.port == 443) || (url_.scheme == "http" && url_.port == 80);
  std::string host_header = url_.ipv6 ? "[" + url_.host + "]" : url_.host;
  if (!default_port) host_header += ":" + std::to_string(url_.port);
  h.emplace("Host", host_header);
  httplib::Result res = cli->Post(url_.target, h, body, content_type);
  if (!res) {
    out.error = "POST to " + url_.origin() + ": " + httplib::to_string(res.error());  // the path may be a secret
    std::lock_guard lk(mu_);
    if (client_ == cli) client_.reset();  // resolve and connect afresh next time
    return out;
  }
  out.status = res->status;
  return out;
}

void HttpPoster::cancel() {
  std::shared_ptr<httplib::ClientImpl> cli;
  {
    std::lock_guard lk(mu_);
    cli = client_;
  }
  if (cli) cli->stop();
}

}  // namespace pilot::admin
