// The outbound side of rendezvous: the audit webhook (spec §13) and the live audit
// exporter (§12.3), both fed from the audit view and both following their
// configuration in the state (set_webhook / set_audit_export record it as events).
//
//   audit view ──(loop thread, every 100 ms: entries now durable)──▶ OutboundFeeder
//        ──▶ OutboundQueue (worker thread: order, retries, backoff, cursor file)
//        ──▶ WebhookSink / audit export sink ──▶ the receiver
//
// Files in the data directory: webhook.cursor, audit-export.cursor (how far each got;
// the "durable spool" is the log itself plus this cursor — nothing is copied) and
// webhook-dlq.jsonl (the dead-letter queue). Delivery is at least once and in order
// across restarts and kill -9; event_id (the log seq) lets receivers dedupe.
//
// The ops read counters and the DLQ through rpc::OutboundStatus, which this class
// implements (the host attaches it to the Registry). Only a leader runs it: a
// follower's log is the leader's, whose outbound side already delivers it.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "admin/outbound_feeder.h"
#include "admin/outbound_queue.h"
#include "admin/webhook_dlq.h"
#include "core/flags.h"
#include "net/rpc/outbound_status.h"

namespace pilot {
struct State;
namespace log {
class Writer;
}
}  // namespace pilot

namespace pilot::admin {

struct OutboundOptions {
  std::string webhook_secret;                    // "" = no X-Pilot-Signature-256
  bool allow_private = true;                     // loopback/private targets (rpc::UrlPolicy), as the reference
  int64_t backoff_ns = int64_t{1000} * 1000000;  // first retry delay; doubles
  int64_t webhook_timeout_ns = int64_t{5000} * 1000000;
  int64_t export_timeout_ns = int64_t{10000} * 1000000;
  int64_t tick_ns = int64_t{100} * 1000000;  // how often new audit entries are fed
};

// --webhook-secret, --outbound-allow-private, --outbound-backoff.
void add_outbound_flags(Flags& flags, OutboundOptions& opts);

// For the metrics engineer (admin/metrics.cc): any thread.
struct OutboundMetrics {
  // pilot_webhook_deliveries_total{result="ok"|"error"|"dropped"}
  uint64_t webhook_ok = 0;
  uint64_t webhook_error = 0;  // given up: now in the DLQ
  uint64_t webhook_dropped = 0;
  int64_t webhook_last_delivery_unix_s = 0;  // pilot_webhook_last_delivery_unix_seconds (0 = never)
  uint64_t webhook_dlq_size = 0;
  uint64_t audit_exports = 0;        // pilot_audit_exports_total
  uint64_t audit_export_errors = 0;  // pilot_audit_export_errors_total (given up)
  uint64_t audit_export_dropped = 0;
};

class Outbound final : public rpc::OutboundStatus {
 public:
  static constexpr const char* kWebhookCursorFile = "webhook.cursor";
  static constexpr const char* kExportCursorFile = "audit-export.cursor";
  static constexpr const char* kDeadLetterFile = "webhook-dlq.jsonl";

  Outbound(OutboundOptions opts, std::string data_dir);
  ~Outbound() override;
  Outbound(const Outbound&) = delete;
  Outbound& operator=(const Outbound&) = delete;

  // Loop thread: resumes from the cursor files and starts the workers and the feed
  // timer. `state` and `writer` must outlive stop().
  void start(uv_loop_t* loop, const State& state, const log::Writer& writer);
  // Loop thread: feeds what is durable one last time, lets both workers deliver for
  // at most `drain` (together, not each), and closes the timer. Idempotent.
  void stop(std::chrono::milliseconds drain);

  // rpc::OutboundStatus (any thread).
  rpc::WebhookStats webhook_stats() const override;
  nlohmann::json webhook_dead_letters() const override;
  rpc::AuditExportStats audit_export_stats() const override;
  rpc::UrlPolicy url_policy() const override { return rpc::UrlPolicy{opts_.allow_private}; }

  OutboundMetrics metrics() const;

 private:
  void tick();

  const OutboundOptions opts_;
  const std::string dir_;
  DeadLetterQueue dlq_;
  std::unique_ptr<OutboundQueue> webhook_queue_;
  std::unique_ptr<OutboundQueue> export_queue_;
  std::unique_ptr<OutboundFeeder> webhook_feeder_;
  std::unique_ptr<OutboundFeeder> export_feeder_;
  const State* state_ = nullptr;
  const log::Writer* writer_ = nullptr;
  uv_timer_t timer_{};
  bool running_ = false;
};

}  // namespace pilot::admin
