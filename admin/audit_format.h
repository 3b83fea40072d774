// Audit entries (projections/audit.h) as text for other systems: JSON lines, CSV,
// syslog CEF and Splunk HEC events (spec §12.3). Pure functions, no I/O: `pilot-log
// export` writes them to files, the audit exporter sends them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "projections/audit.h"

namespace pilot::admin {

enum class AuditFormat { kJsonl, kCsv, kCef, kSplunk };

// "jsonl", "csv", "cef", "splunk"; nullopt for anything else.
std::optional<AuditFormat> audit_format_from_name(std::string_view name);

// ---- JSON lines ------------------------------------------------------------------------

// One object per entry, every field present, in this order, then "\n":
// {"seq","timestamp","action","network_id","node_id","details","prev_hash","hash"}.
// Bytes of details that are not UTF-8 become U+FFFD (the only lossy case).
std::string audit_jsonl_line(const AuditEntry& e);

// ---- CSV (RFC 4180) --------------------------------------------------------------------

// "seq,timestamp,action,network_id,node_id,details,prev_hash,hash\r\n"
std::string_view audit_csv_header();
// The entry's fields in the header's order, CRLF-terminated.
std::string audit_csv_line(const AuditEntry& e);
// A field as RFC 4180 wants it: quoted (with quotes doubled) when it holds a comma, a
// quote, CR or LF, else as it is.
std::string csv_field(std::string_view value);

// ---- syslog CEF --------------------------------------------------------------------------

// CEF:0|Pilot|Registry|1.0|<action>|<action>|<severity>|dvc=pilot-registry
// dvchost=registry cs1=<action> cs1Label=action cn1=<network_id> cn1Label=network_id
// cn2=<node_id> cn2Label=node_id msg=<details>   (one line, no newline).
std::string audit_cef_line(const AuditEntry& e);
// 6 for actions containing "kick" or "delete", 4 for "promote" or "demote", else 3.
int cef_severity(std::string_view action);
// Header fields escape \ and |; extension values escape \, = and newlines (CR and LF
// as \r and \n).
std::string cef_escape_header(std::string_view value);
std::string cef_escape_extension(std::string_view value);

// ---- Splunk HEC --------------------------------------------------------------------------

struct SplunkHecOptions {
  std::string host;    // the "host" field
  std::string source;  // empty = "pilot-registry"
  std::string index;   // empty = no "index" field
};

// {"time": <unix seconds>, "host", "source", "sourcetype": "pilot:audit", "index"?,
//  "event": {"action", "network_id", "node_id", "details"}} (no newline).
std::string audit_splunk_hec_json(const AuditEntry& e, const SplunkHecOptions& o);

// ---- any of them ---------------------------------------------------------------------------

// The entry as one record of `f`, newline-terminated (CRLF for CSV): what an export
// file holds. CSV files start with audit_csv_header().
std::string audit_export_record(AuditFormat f, const AuditEntry& e, const SplunkHecOptions& hec);

}  // namespace pilot::admin
