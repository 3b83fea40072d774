#include "net/beacon/health_server.h"

#include <httplib.h>

#include <chrono>

#include "core/logging.h"

namespace pilot::beacon {

HealthServer::HealthServer(std::string addr) : addr_(std::move(addr)) {}

HealthServer::~HealthServer() { stop(); }

std::string HealthServer::start() {
  const size_t colon = addr_.rfind(':');
  if (colon == std::string::npos) return "-health must be host:port or :port, not \"" + addr_ + "\"";
  std::string host = addr_.substr(0, colon);
  const std::string port_text = addr_.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port_text) > 65535)
    return "-health: bad port in \"" + addr_ + "\"";
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const int port = static_cast<int>(std::stoul(port_text));

  http_ = std::make_unique<httplib::Server>();
  http_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  http_->set_read_timeout(std::chrono::seconds(5));
  http_->set_write_timeout(std::chrono::seconds(5));
  http_->set_keep_alive_timeout(2);  // bounds how long stop() waits for an idle client
  http_->set_payload_max_length(4096);
  http_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    if (healthy_.load()) {
      res.set_content("ok", "text/plain; charset=utf-8");
    } else {
      res.status = 503;
      res.set_content("unhealthy", "text/plain; charset=utf-8");
    }
  });
  auto bind = [&](const std::string& h) -> int {
    if (port == 0) return http_->bind_to_any_port(h);
    return http_->bind_to_port(h, port) ? port : -1;
  };
  std::string bound = host.empty() ? "::" : host;  // a v6 socket takes IPv4 too on Linux
  int got = bind(bound);
  if (got <= 0 && host.empty()) got = bind(bound = "0.0.0.0");
  if (got <= 0) {
    http_.reset();
    return "-health: cannot listen on " + addr_ + " (address in use or not on this host)";
  }
  listen_text_ = (bound.find(':') != std::string::npos ? "[" + bound + "]" : bound) + ":" + std::to_string(got);
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  // httplib's stop() is a no-op until listen_after_bind() has marked the server
  // running: wait for that, so a SIGTERM right after start cannot hang stop().
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!http_->is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      return "-health: the HTTP server on " + addr_ + " did not start";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  LOG_INFO("beacon: health listening on %s (/healthz)", listen_text_.c_str());
  return "";
}

void HealthServer::stop() {
  if (!http_) return;
  http_->stop();
  if (thread_.joinable()) thread_.join();
  http_.reset();
}

}  // namespace pilot::beacon
