// Where the audit exporter sends entries (spec §12.3), one sink per format:
//
//   json        POST of the entry as one JSON object (admin/audit_format.h's JSON-lines
//               record, without the newline); `Authorization: Bearer <token>` when a
//               token is set (the reference's exact header is not known).
//   splunk_hec  POST of the HEC event to the endpoint, `Authorization: Splunk <token>`.
//   syslog_cef  the CEF line plus "\n" over one kept-open TCP connection to host:port,
//               reconnecting when the collector closed it. TCP has no receipt: a line
//               written just as the collector goes away can be lost without an error
//               (a closed connection is noticed before the next write).
//
// HTTP statuses are read as for the webhook (outcome_of_status): < 400 delivered,
// 408/429/5xx/no answer retried, other 4xx given up. Every connect goes through the
// SSRF guard's address check (the endpoint was validated when it was set).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "admin/outbound_queue.h"
#include "net/rpc/url_guard.h"
#include "projections/settings.h"

namespace pilot::admin {

// Null (and `error` set) when `cfg` cannot be delivered to (unknown format, bad URL
// or host:port). `hostname` is the "host" of Splunk events.
std::shared_ptr<OutboundSink> make_audit_export_sink(const AuditExportConfig& cfg, const rpc::UrlPolicy& policy,
                                                     std::chrono::milliseconds timeout, const std::string& hostname,
                                                     std::string& error);

}  // namespace pilot::admin
