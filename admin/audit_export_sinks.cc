#include "admin/audit_export_sinks.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "admin/audit_format.h"
#include "admin/http_poster.h"
#include "admin/webhook_sink.h"

namespace pilot::admin {

namespace {

OutboundSink::Result result_of(const PostResult& r, const HttpPoster& poster) {
  OutboundSink::Result out;
  out.outcome = outcome_of_status(r.status);
  if (out.outcome != OutboundSink::Outcome::kDelivered)
    out.error = r.status ? "HTTP " + std::to_string(r.status) + " from " + poster.url().origin() : r.error;
  return out;
}

class JsonSink : public OutboundSink {
 public:
  JsonSink(rpc::HttpUrl url, std::string token, rpc::UrlPolicy policy, std::chrono::milliseconds timeout)
      : poster_(std::move(url), policy, timeout), token_(std::move(token)) {}

  Result deliver(const AuditEntry& e) override {
    std::string body = audit_jsonl_line(e);
    if (!body.empty() && body.back() == '\n') body.pop_back();
    httplib::Headers h{{"User-Agent", "pilot-rendezvous"}};
    if (!token_.empty()) h.emplace("Authorization", "Bearer " + token_);
    return result_of(poster_.post(body, "application/json", h), poster_);
  }
  void cancel() override { poster_.cancel(); }

 private:
  HttpPoster poster_;
  const std::string token_;
};

class SplunkSink : public OutboundSink {
 public:
  SplunkSink(rpc::HttpUrl url, std::string token, SplunkHecOptions hec, rpc::UrlPolicy policy,
             std::chrono::milliseconds timeout)
      : poster_(std::move(url), policy, timeout), token_(std::move(token)), hec_(std::move(hec)) {}

  Result deliver(const AuditEntry& e) override {
    httplib::Headers h{{"User-Agent", "pilot-rendezvous"}, {"Authorization", "Splunk " + token_}};
    return result_of(poster_.post(audit_splunk_hec_json(e, hec_), "application/json", h), poster_);
  }
  void cancel() override { poster_.cancel(); }

 private:
  HttpPoster poster_;
  const std::string token_;
  const SplunkHecOptions hec_;
};

// One TCP connection to a syslog collector, opened on demand.
class SyslogCefSink : public OutboundSink {
 public:
  SyslogCefSink(std::string host, uint16_t port, rpc::UrlPolicy policy, std::chrono::milliseconds timeout)
      : host_(std::move(host)), port_(port), policy_(policy), timeout_(timeout) {}
  ~SyslogCefSink() override { close_fd(); }

  Result deliver(const AuditEntry& e) override {
    Result out;
    if (fd() >= 0 && peer_closed()) close_fd();
    if (fd() < 0 && !connect_now(out.error)) return out;
    const std::string line = audit_cef_line(e) + "\n";
    if (!send_all(line, out.error)) {
      close_fd();
      return out;
    }
    out.outcome = Outcome::kDelivered;
    return out;
  }

  void cancel() override {
    std::lock_guard lk(mu_);
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }

 private:
  int fd() {
    std::lock_guard lk(mu_);
    return fd_;
  }
  void close_fd() {
    std::lock_guard lk(mu_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // The collector closed (or reset) the connection since the last line.
  bool peer_closed() {
    pollfd p{fd(), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLERR | POLLHUP)) return true;
    char c;
    const ssize_t n = ::recv(p.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

  bool connect_now(std::string& error) {
    if (std::string why = rpc::host_problem(host_, policy_); !why.empty()) {
      error = why;
      return false;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(port_);
    if (int rc = ::getaddrinfo(host_.c_str(), port.c_str(), &hints, &res); rc != 0) {
      error = "cannot resolve " + host_ + ": " + gai_strerror(rc);
      return false;
    }
    error = "cannot connect to " + host_ + ":" + port;
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
      char text[INET6_ADDRSTRLEN] = {};
      const void* raw = ai->ai_family == AF_INET
                            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr)
                            : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr);
      if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
          !::inet_ntop(ai->ai_family, raw, text, sizeof text))
        continue;
      if (std::string why = rpc::address_problem(text, policy_); !why.empty()) {
        error = host_ + " resolves to a refused address: " + why;
        continue;
      }
      int s = ::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (s < 0) continue;
      if (connect_with_timeout(s, ai->ai_addr, ai->ai_addrlen)) {
        // Writes block again, bounded by the send timeout.
        ::fcntl(s, F_SETFL, ::fcntl(s, F_GETFL) & ~O_NONBLOCK);
        timeval tv{static_cast<time_t>(timeout_.count() / 1000),
                   static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
        ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        std::lock_guard lk(mu_);
        fd_ = s;
        break;
      }
      error = "cannot connect to " + std::string(text) + ":" + port + ": " + std::strerror(errno);
      ::close(s);
    }
    ::freeaddrinfo(res);
    return fd() >= 0;
  }

  bool connect_with_timeout(int s, const sockaddr* addr, socklen_t len) {
    if (::connect(s, addr, len) == 0) return true;
    if (errno != EINPROGRESS) return false;
    pollfd p{s, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout_.count())) != 1) {
      errno = ETIMEDOUT;
      return false;
    }
    int err = 0;
    socklen_t n = sizeof err;
    ::getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &n);
    errno = err;
    return err == 0;
  }

  bool send_all(const std::string& line, std::string& error) {
    size_t done = 0;
    const int s = fd();
    while (done < line.size()) {
      const ssize_t n = ::send(s, line.data() + done, line.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error = "send to " + host_ + ":" + std::to_string(port_) + ": " + std::strerror(errno);
        return false;
      }
      done += static_cast<size_t>(n);
    }
    return true;
  }

  const std::string host_;
  const uint16_t port_;
  const rpc::UrlPolicy policy_;
  const std::chrono::milliseconds timeout_;
  std::mutex mu_;  // fd_ against cancel()
  int fd_ = -1;
};

}  // namespace

std::shared_ptr<OutboundSink> make_audit_export_sink(const AuditExportConfig& cfg, const rpc::UrlPolicy& policy,
                                                     std::chrono::milliseconds timeout, const std::string& hostname,
                                                     std::string& error) {
  if (cfg.format == "syslog_cef") {
    std::string host;
    uint16_t port = 0;
    if (!rpc::split_host_port(cfg.endpoint, host, port)) {
      error = "invalid endpoint \"" + cfg.endpoint + "\": host:port required";
      return nullptr;
    }
    return std::make_shared<SyslogCefSink>(host, port, policy, timeout);
  }
  if (cfg.format != "json" && cfg.format != "splunk_hec") {
    error = "unknown format \"" + cfg.format + "\"";
    return nullptr;
  }
  auto url = rpc::parse_http_url(cfg.endpoint);
  if (!url) {
    error = "invalid endpoint URL \"" + cfg.endpoint + "\"";
    return nullptr;
  }
  if (cfg.format == "json") return std::make_shared<JsonSink>(std::move(*url), cfg.token, policy, timeout);
  return std::make_shared<SplunkSink>(std::move(*url), cfg.token, SplunkHecOptions{hostname, cfg.source, cfg.index},
                                      policy, timeout);
}

}  // namespace pilot::admin
