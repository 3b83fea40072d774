#include "admin/outbound.h"

#include <unistd.h>

#include "admin/audit_export_sinks.h"
#include "admin/webhook_sink.h"
#include "core/logging.h"
#include "log/writer.h"
#include "projections/state.h"

namespace pilot::admin {

namespace {

std::chrono::milliseconds ms(int64_t ns) { return std::chrono::milliseconds(ns / 1000000); }

std::string this_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "pilot-registry";
  return buf;
}

// What log lines show of a URL: scheme, host and port. Paths and queries of webhook
// URLs often carry the receiver's secret (chat webhooks do).
std::string where(const std::string& url) {
  auto u = rpc::parse_http_url(url);
  return u ? u->origin() : "(unparsable URL)";
}

OutboundCursor load_or_empty(const std::string& path, const char* name) {
  std::string problem;
  auto c = load_cursor(path, problem);
  if (!c && !problem.empty())
    LOG_WARN("%s: cursor %s unusable (%s): starting after the configuration entry", name, path.c_str(),
             problem.c_str());
  return c.value_or(OutboundCursor{});
}

}  // namespace

void add_outbound_flags(Flags& flags, OutboundOptions& opts) {
  flags.add_string(
      &opts.webhook_secret, "webhook-secret", "PILOT_WEBHOOK_SECRET",
      "HMAC-SHA256 key: webhook POSTs carry X-Pilot-Signature-256 (hex HMAC of the body); empty = unsigned");
  flags.add_bool(&opts.allow_private, "outbound-allow-private", "PILOT_OUTBOUND_ALLOW_PRIVATE",
                 "set_webhook / set_audit_export may point at loopback and private addresses, as in the reference "
                 "(false: refuse them); link-local and cloud metadata addresses are always refused");
  flags.add_duration(&opts.backoff_ns, "outbound-backoff", "PILOT_OUTBOUND_BACKOFF",
                     "webhook / audit export: delay before the 2nd attempt of a failed delivery (doubled before "
                     "the 3rd)");
}

Outbound::Outbound(OutboundOptions opts, std::string data_dir)
    : opts_(std::move(opts)), dir_(std::move(data_dir)), dlq_(dir_ + "/" + kDeadLetterFile) {
  OutboundQueueOptions wq;
  wq.name = "webhook";
  wq.cursor_path = dir_ + "/" + kWebhookCursorFile;
  wq.backoff = ms(opts_.backoff_ns);
  webhook_queue_ = std::make_unique<OutboundQueue>(
      wq, load_or_empty(wq.cursor_path, "webhook"),
      [this](const AuditEntry& e, const std::string&) { dlq_.add(webhook_dead_letter(e)); });

  OutboundQueueOptions eq = wq;
  eq.name = "audit export";
  eq.cursor_path = dir_ + "/" + kExportCursorFile;
  export_queue_ = std::make_unique<OutboundQueue>(eq, load_or_empty(eq.cursor_path, "audit export"), nullptr);

  const rpc::UrlPolicy policy = url_policy();
  webhook_feeder_ = std::make_unique<OutboundFeeder>(
      "webhook", AuditAction::kWebhookConfigured,
      [policy, secret = opts_.webhook_secret, timeout = ms(opts_.webhook_timeout_ns)](const Settings& s) {
        ChannelTarget t;
        t.key = t.fingerprint = s.webhook_url;
        t.description = where(s.webhook_url);
        t.make = [url = s.webhook_url, secret, policy, timeout]() -> std::shared_ptr<OutboundSink> {
          auto parsed = rpc::parse_http_url(url);
          if (!parsed) {
            LOG_ERROR("webhook: cannot parse the configured URL");
            return nullptr;
          }
          return std::make_shared<WebhookSink>(std::move(*parsed), secret, policy, timeout);
        };
        return t;
      },
      *webhook_queue_);

  export_feeder_ = std::make_unique<OutboundFeeder>(
      "audit export", AuditAction::kAuditExportConfigured,
      [policy, timeout = ms(opts_.export_timeout_ns), host = this_hostname()](const Settings& s) {
        ChannelTarget t;
        const AuditExportConfig& c = s.audit_export;
        if (!c.enabled()) return t;
        // The token is part of what is compared (a new token takes effect) but never
        // of what the cursor file records.
        t.key = c.format + '\n' + c.endpoint + '\n' + c.token + '\n' + c.index + '\n' + c.source;
        t.fingerprint = c.format + " " + c.endpoint;
        t.description = c.format + " " + (c.format == "syslog_cef" ? c.endpoint : where(c.endpoint));
        t.make = [c, policy, timeout, host]() {
          std::string err;
          auto sink = make_audit_export_sink(c, policy, timeout, host, err);
          if (!sink) LOG_ERROR("audit export: %s", err.c_str());
          return sink;
        };
        return t;
      },
      *export_queue_);
}

Outbound::~Outbound() {
  // stop() closes the timer on the loop; without it only the workers are stopped.
  webhook_queue_->stop(std::chrono::milliseconds(0));
  export_queue_->stop(std::chrono::milliseconds(0));
}

void Outbound::start(uv_loop_t* loop, const State& state, const log::Writer& writer) {
  state_ = &state;
  writer_ = &writer;
  webhook_feeder_->resume(state, webhook_queue_->cursor());
  export_feeder_->resume(state, export_queue_->cursor());
  webhook_queue_->start();
  export_queue_->start();
  uv_timer_init(loop, &timer_);
  timer_.data = this;
  const uint64_t period = static_cast<uint64_t>(std::max<int64_t>(opts_.tick_ns / 1000000, 1));
  uv_timer_start(
      &timer_, [](uv_timer_t* t) { static_cast<Outbound*>(t->data)->tick(); }, period, period);
  running_ = true;
}

void Outbound::tick() {
  const uint64_t durable = writer_->durable_seq();
  webhook_feeder_->tick(*state_, durable);
  export_feeder_->tick(*state_, durable);
}

void Outbound::stop(std::chrono::milliseconds drain) {
  if (!running_) return;
  running_ = false;
  tick();  // whatever became durable since the last tick goes out too
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  webhook_queue_->begin_stop(drain);
  export_queue_->begin_stop(drain);
  webhook_queue_->stop(drain);
  export_queue_->stop(drain);
  const OutboundCursor w = webhook_queue_->cursor();
  const OutboundCursor x = export_queue_->cursor();
  LOG_INFO("outbound: stopped (webhook at seq %llu, audit export at seq %llu)", (unsigned long long)w.seq,
           (unsigned long long)x.seq);
}

rpc::WebhookStats Outbound::webhook_stats() const {
  const OutboundCounters& c = webhook_queue_->counters();
  return {c.delivered.load(), c.given_up.load(), c.dropped.load(), dlq_.size()};
}

nlohmann::json Outbound::webhook_dead_letters() const { return dlq_.list(); }

rpc::AuditExportStats Outbound::audit_export_stats() const {
  const OutboundCounters& c = export_queue_->counters();
  return {c.delivered.load(), c.dropped.load(), c.given_up.load()};
}

OutboundMetrics Outbound::metrics() const {
  OutboundMetrics m;
  const OutboundCounters& w = webhook_queue_->counters();
  const OutboundCounters& x = export_queue_->counters();
  m.webhook_ok = w.delivered.load();
  m.webhook_error = w.given_up.load();
  m.webhook_dropped = w.dropped.load();
  m.webhook_last_delivery_unix_s = w.last_delivery_unix_s.load();
  m.webhook_dlq_size = dlq_.size();
  m.audit_exports = x.delivered.load();
  m.audit_export_errors = x.given_up.load();
  m.audit_export_dropped = x.dropped.load();
  return m;
}

}  // namespace pilot::admin
