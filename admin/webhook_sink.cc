#include "admin/webhook_sink.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/time_format.h"

namespace pilot::admin {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

constexpr int64_t kNsPerSecond = 1000000000;

}  // namespace

json webhook_details(const AuditEntry& e) {
  json d = json::object();
  if (e.network_id) d["network_id"] = e.network_id;
  if (e.node_id) d["node_id"] = e.node_id;
  if (!e.details.empty()) d["details"] = e.details;
  return d.empty() ? json() : d;
}

std::string webhook_body(const AuditEntry& e) {
  // The spec's field order, as Go marshals the struct.
  ojson body;
  body["event_id"] = e.seq;
  body["action"] = e.action_name();
  body["timestamp"] = format_rfc3339_nano(e.time * kNsPerSecond);
  if (json d = webhook_details(e); !d.is_null()) body["details"] = ojson(d);
  return body.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

json webhook_dead_letter(const AuditEntry& e) {
  json j = {{"event_id", e.seq}, {"action", e.action_name()}, {"timestamp", e.timestamp()}};
  if (json d = webhook_details(e); !d.is_null()) j["details"] = std::move(d);
  return j;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

OutboundSink::Outcome outcome_of_status(int status) {
  if (status > 0 && status < 400) return OutboundSink::Outcome::kDelivered;
  // Timeouts and rate limits are the receiver asking us to come back.
  if (status == 0 || status == 408 || status == 429 || status >= 500) return OutboundSink::Outcome::kRetry;
  return OutboundSink::Outcome::kReject;
}

WebhookSink::WebhookSink(rpc::HttpUrl url, std::string secret, rpc::UrlPolicy policy, std::chrono::milliseconds timeout)
    : poster_(std::move(url), policy, timeout), secret_(std::move(secret)) {}

OutboundSink::Result WebhookSink::deliver(const AuditEntry& e) {
  const std::string body = webhook_body(e);
  httplib::Headers headers{{"User-Agent", "pilot-rendezvous"}};
  if (!secret_.empty()) headers.emplace(kSignatureHeader, hmac_sha256_hex(secret_, body));
  PostResult r = poster_.post(body, "application/json", headers);
  Result out;
  out.outcome = outcome_of_status(r.status);
  if (out.outcome != Outcome::kDelivered)
    out.error = r.status ? "HTTP " + std::to_string(r.status) + " from " + poster_.url().origin() : r.error;
  return out;
}

}  // namespace pilot::admin
