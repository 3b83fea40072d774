// Webhook and audit-export ops (spec §6.23), all behind the admin token:
// set_webhook get_webhook get_webhook_dlq set_audit_export get_audit_export.
//
// The configuration is state: set_* record WebhookConfigured / AuditExportConfigured
// and the projection (State::settings) is what the delivering side follows
// (admin/outbound.h). Counters and the dead-letter queue are not state: they come from
// that side through Registry::outbound() and read 0 / empty when nothing delivers.
#include <string>

#include "core/events.h"
#include "net/rpc/auth.h"
#include "net/rpc/fields.h"
#include "net/rpc/ops.h"
#include "net/rpc/outbound_status.h"
#include "net/rpc/url_guard.h"

namespace pilot::rpc {

namespace {

using json = nlohmann::json;

// Without a delivering side (registry fixture, follower) the reference's rule applies:
// private and loopback targets are fine.
UrlPolicy policy_of(const Registry& reg) {
  return reg.outbound() ? reg.outbound()->url_policy() : UrlPolicy{.allow_private = true};
}

json set_webhook(Registry& reg, const Request& r) {
  require_admin(reg, r.body);
  std::string url = str_field(r.body, "url");
  if (!url.empty())
    if (std::string why = url_problem(url, policy_of(reg)); !why.empty()) throw OpError("set_webhook: " + why);
  const bool enabled = !url.empty();
  reg.emit(WebhookConfigured{url});
  return {{"type", "set_webhook_ok"}, {"status", enabled ? "enabled" : "disabled"}, {"url", std::move(url)}};
}

json get_webhook(Registry& reg, const Request& r) {
  require_admin(reg, r.body);
  const std::string& url = reg.state().settings.webhook_url;
  const WebhookStats st = reg.outbound() ? reg.outbound()->webhook_stats() : WebhookStats{};
  return {{"type", "get_webhook_ok"},  {"enabled", !url.empty()}, {"url", url},
          {"delivered", st.delivered}, {"failed", st.failed},     {"dropped", st.dropped},
          {"dlq_size", st.dlq_size}};
}

json get_webhook_dlq(Registry& reg, const Request& r) {
  require_admin(reg, r.body);
  json events = reg.outbound() ? reg.outbound()->webhook_dead_letters() : json::array();
  if (!events.is_array()) events = json::array();
  const size_t count = events.size();
  return {{"type", "get_webhook_dlq_ok"}, {"events", std::move(events)}, {"count", count}};
}

json set_audit_export(Registry& reg, const Request& r) {
  require_admin(reg, r.body);
  AuditExportConfigured ev{str_field(r.body, "format"), str_field(r.body, "endpoint"), str_field(r.body, "token"),
                           str_field(r.body, "index"), str_field(r.body, "source")};
  if (ev.format.empty() || ev.endpoint.empty()) {
    reg.emit(AuditExportConfigured{});
    return {{"type", "set_audit_export_ok"}, {"status", "disabled"}};
  }
  std::string why;
  if (ev.format == "json" || ev.format == "splunk_hec")
    why = url_problem(ev.endpoint, policy_of(reg));
  else if (ev.format == "syslog_cef")
    why = endpoint_problem(ev.endpoint, policy_of(reg));  // raw host:port
  else
    why = "invalid format \"" + ev.format + "\": json, splunk_hec or syslog_cef required";
  if (!why.empty()) throw OpError("set_audit_export: " + why);
  json out = {{"type", "set_audit_export_ok"}, {"status", "enabled"}, {"format", ev.format}, {"endpoint", ev.endpoint}};
  reg.emit(ev);
  return out;
}

json get_audit_export(Registry& reg, const Request& r) {
  require_admin(reg, r.body);
  const AuditExportConfig& cfg = reg.state().settings.audit_export;
  json out = {{"type", "get_audit_export_ok"}, {"enabled", cfg.enabled()}};
  if (!cfg.enabled()) return out;
  const AuditExportStats st = reg.outbound() ? reg.outbound()->audit_export_stats() : AuditExportStats{};
  out["format"] = cfg.format;
  out["endpoint"] = cfg.endpoint;
  out["exported"] = st.exported;
  out["dropped"] = st.dropped;
  return out;
}

}  // namespace

void add_outbound_ops(OpTable& t) {
  t.add({"set_webhook", set_webhook, false, ""});
  t.add({"get_webhook", get_webhook, true, ""});
  t.add({"get_webhook_dlq", get_webhook_dlq, true, ""});
  t.add({"set_audit_export", set_audit_export, false, ""});
  t.add({"get_audit_export", get_audit_export, true, ""});
}

}  // namespace pilot::rpc
