// One HTTP(S) target the outbound side posts to (the webhook, the json and splunk_hec
// audit exports), with the SSRF guard applied where it matters: at connect time.
//
// A hostname is resolved here and every address it resolves to is judged by
// rpc::address_problem before the client may connect, and the client is pinned to the
// address that passed (cpp-httplib's hostname map), so DNS cannot swap in a refused
// address between the check and the connect. TLS still verifies the certificate
// against the hostname. The resolution is redone after a failed post.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "net/rpc/url_guard.h"

namespace pilot::admin {

struct PostResult {
  int status = 0;     // HTTP status, 0 = no response (refused, timeout, cancelled)
  std::string error;  // "" when a response came
};

class HttpPoster {
 public:
  HttpPoster(rpc::HttpUrl url, rpc::UrlPolicy policy, std::chrono::milliseconds timeout);
  ~HttpPoster();

  // Worker thread. Blocks for at most about 2 × timeout (connect + read).
  PostResult post(const std::string& body, const std::string& content_type, const httplib::Headers& headers);
  // Any thread: cuts a post() in progress short; later posts work again.
  void cancel();

  const rpc::HttpUrl& url() const { return url_; }

 private:
  // Resolves and checks the host, builds the client pinned to a permitted address.
  bool connect_client(std::string& error);

  const rpc::HttpUrl url_;
  const rpc::UrlPolicy policy_;
  const std::chrono::milliseconds timeout_;
  std::mutex mu_;  // guards client_ against cancel()
  std::shared_ptr<httplib::ClientImpl> client_;
};

}  // namespace pilot::admin
