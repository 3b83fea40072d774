#include "projections/settings.h"

namespace pilot {

void Settings::apply(const EventMeta& m, const BeaconRegistered& e) {
  if (e.beacon_id == 0) return;  // not a valid beacon ID (the handler refuses it)
  beacons.insert_or_assign(e.beacon_id, Beacon{e.beacon_id, e.addr, m.time_ns});
}

void Settings::apply(const EventMeta&, const WebhookConfigured& e) { webhook_url = e.url; }

void Settings::apply(const EventMeta&, const AuditExportConfigured& e) {
  if (e.format.empty() || e.endpoint.empty()) {
    audit_export = {};
    return;
  }
  audit_export = {e.format, e.endpoint, e.token, e.index, e.source};
}

void Settings::apply(const EventMeta&, const IdpConfigured& e) {
  // Setting an IdP also points the identity webhook at its URL in the reference; the
  // handler records that as its own IdentityWebhookConfigured event.
  if (e.idp_type.empty()) {
    idp = {};
    return;
  }
  idp = {e.idp_type, e.url, e.issuer, e.client_id, e.tenant_id, e.domain};
}

void Settings::apply(const EventMeta&, const IdentityWebhookConfigured& e) { identity_webhook_url = e.url; }

}  // namespace pilot
