// What the webhook / audit-export ops (ops_outbound.cc) read from the side that
// delivers (admin/outbound.h): its counters, the webhook's dead-letter queue and the
// operator's URL policy. net/ never depends on admin/, so the ops see it through this
// interface; the host attaches the real one with Registry::set_outbound. With none
// attached (the registry fixture, a follower) the counters read 0 and the URL policy
// is the default one.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "net/rpc/url_guard.h"

namespace pilot::rpc {

struct WebhookStats {
  uint64_t delivered = 0;  // receiver answered < 400
  uint64_t failed = 0;     // given up (4xx, or retries exhausted): now in the DLQ
  uint64_t dropped = 0;    // never attempted (backlog lost, target replaced mid-drain)
  uint64_t dlq_size = 0;
};

struct AuditExportStats {
  uint64_t exported = 0;
  uint64_t dropped = 0;  // never attempted
  uint64_t errors = 0;   // given up after every attempt
};

// Every method may be called from any thread.
class OutboundStatus {
 public:
  virtual ~OutboundStatus() = default;
  virtual WebhookStats webhook_stats() const = 0;
  // get_webhook_dlq's `events`, oldest first: [{event_id, action, timestamp, details?}].
  virtual nlohmann::json webhook_dead_letters() const = 0;
  virtual AuditExportStats audit_export_stats() const = 0;
  virtual UrlPolicy url_policy() const = 0;
};

}  // namespace pilot::rpc
