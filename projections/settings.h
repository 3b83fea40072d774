// Routing and operator settings: registered beacons, the audit webhook, audit export,
// IdP and identity webhook configuration. Plain data; every event replaces one part.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/events.h"

namespace pilot {

struct Beacon {
  uint32_t id = 0;
  std::string addr;
  int64_t registered_ns = 0;  // unix nanoseconds of the latest BeaconRegistered
  bool operator==(const Beacon&) const = default;
};

struct AuditExportConfig {  // all empty = disabled
  std::string format;       // json | splunk_hec | syslog_cef
  std::string endpoint;
  std::string token;
  std::string index;
  std::string source;
  bool enabled() const { return !format.empty() && !endpoint.empty(); }
  bool operator==(const AuditExportConfig&) const = default;
};

struct IdpConfig {  // all empty = not configured
  std::string idp_type;
  std::string url;
  std::string issuer;
  std::string client_id;
  std::string tenant_id;
  std::string domain;
  bool configured() const { return !idp_type.empty(); }
  bool operator==(const IdpConfig&) const = default;
};

struct Settings {
  // Beacon liveness (the 60 s TTL of beacon_list) is the reader's business: compare
  // registered_ns with its clock. Apply never drops a beacon.
  std::map<uint32_t, Beacon> beacons;
  std::string webhook_url;  // empty = disabled
  AuditExportConfig audit_export;
  IdpConfig idp;
  std::string identity_webhook_url;  // empty = disabled

  void apply(const EventMeta& m, const BeaconRegistered& e);
  void apply(const EventMeta& m, const WebhookConfigured& e);
  void apply(const EventMeta& m, const AuditExportConfigured& e);  // empty format or endpoint clears all
  void apply(const EventMeta& m, const IdpConfigured& e);          // empty idp_type clears all
  void apply(const EventMeta& m, const IdentityWebhookConfigured& e);

  bool operator==(const Settings&) const = default;
};

}  // namespace pilot
