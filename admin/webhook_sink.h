// The audit webhook (spec §13): each audit entry becomes one POST of
//   {"event_id": <seq>, "action": "<audit action>", "timestamp": "<RFC3339Nano UTC>",
//    "details": {"network_id"?, "node_id"?, "details"?: "k=v, k=v"}}
// (details omitted when all three are), Content-Type application/json, and — when the
// operator set a secret (--webhook-secret) — `X-Pilot-Signature-256: <hex HMAC-SHA256
// of the exact body>`.
//
// event_id is the log seq of the record the entry came from, not the reference's
// per-dispatcher counter from 1: it is the same for a re-sent entry after a restart
// (delivery is at least once) and never repeats for different entries, so a receiver
// can dedupe by it. It grows with every entry but is not gapless (not every record is
// audited).
//
// The receiver's status decides: < 400 delivered; 408, 429 and 5xx or no answer: try
// again; other 4xx: given up at once (dead-lettered). Timeout 5 s.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "admin/http_poster.h"
#include "admin/outbound_queue.h"
#include "net/rpc/url_guard.h"

namespace pilot::admin {

inline constexpr const char* kSignatureHeader = "X-Pilot-Signature-256";

// {"network_id"?, "node_id"?, "details"?}; null when the entry has none of them.
nlohmann::json webhook_details(const AuditEntry& e);
std::string webhook_body(const AuditEntry& e);
// get_webhook_dlq's element: {event_id, action, timestamp ("YYYY-MM-DDThh:mm:ssZ"), details?}.
nlohmann::json webhook_dead_letter(const AuditEntry& e);
// Lowercase hex HMAC-SHA256 (OpenSSL).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
// How the outbound side reads an HTTP status (0 = no response).
OutboundSink::Outcome outcome_of_status(int status);

class WebhookSink : public OutboundSink {
 public:
  WebhookSink(rpc::HttpUrl url, std::string secret, rpc::UrlPolicy policy,
              std::chrono::milliseconds timeout = std::chrono::seconds(5));
  Result deliver(const AuditEntry& e) override;
  void cancel() override { poster_.cancel(); }

 private:
  HttpPoster poster_;
  const std::string secret_;
};

}  // namespace pilot::admin
