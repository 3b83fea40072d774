#include "admin/audit_format.h"

#include <nlohmann/json.hpp>

namespace pilot::admin {
namespace {

// Event strings may hold any bytes: never throw on bad UTF-8.
std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

}  // namespace

std::optional<AuditFormat> audit_format_from_name(std::string_view name) {
  if (name == "jsonl") return AuditFormat::kJsonl;
  if (name == "csv") return AuditFormat::kCsv;
  if (name == "cef") return AuditFormat::kCef;
  if (name == "splunk") return AuditFormat::kSplunk;
  return std::nullopt;
}

std::string audit_jsonl_line(const AuditEntry& e) {
  nlohmann::ordered_json j;
  j["seq"] = e.seq;
  j["timestamp"] = e.timestamp();
  j["action"] = std::string(e.action_name());
  j["network_id"] = e.network_id;
  j["node_id"] = e.node_id;
  j["details"] = e.details;
  j["prev_hash"] = e.prev_hash;
  j["hash"] = e.hash;
  std::string line = dump(j);
  line += '\n';
  return line;
}

std::string_view audit_csv_header() { return "seq,timestamp,action,network_id,node_id,details,prev_hash,hash\r\n"; }

std::string csv_field(std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string audit_csv_line(const AuditEntry& e) {
  std::string out = std::to_string(e.seq);
  for (const std::string& f : {e.timestamp(), std::string(e.action_name()), std::to_string(e.network_id),
                               std::to_string(e.node_id), e.details, e.prev_hash, e.hash}) {
    out += ',';
    out += csv_field(f);
  }
  out += "\r\n";
  return out;
}

int cef_severity(std::string_view action) {
  auto has = [&](std::string_view w) { return action.find(w) != std::string_view::npos; };
  if (has("kick") || has("delete")) return 6;
  if (has("promote") || has("demote")) return 4;
  return 3;
}

std::string cef_escape_header(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string cef_escape_extension(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '=': out += "\\="; break;
      case '\r': out += "\\r"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string audit_cef_line(const AuditEntry& e) {
  const std::string_view action = e.action_name();
  const std::string head = cef_escape_header(action);
  const std::string ext = cef_escape_extension(action);
  return "CEF:0|Pilot|Registry|1.0|" + head + "|" + head + "|" + std::to_string(cef_severity(action)) +
         "|dvc=pilot-registry dvchost=registry cs1=" + ext + " cs1Label=action cn1=" + std::to_string(e.network_id) +
         " cn1Label=network_id cn2=" + std::to_string(e.node_id) +
         " cn2Label=node_id msg=" + cef_escape_extension(e.details);
}

std::string audit_splunk_hec_json(const AuditEntry& e, const SplunkHecOptions& o) {
  nlohmann::json j;
  j["time"] = e.time;
  j["host"] = o.host;
  j["source"] = o.source.empty() ? std::string("pilot-registry") : o.source;
  j["sourcetype"] = "pilot:audit";
  if (!o.index.empty()) j["index"] = o.index;
  j["event"] = {{"action", std::string(e.action_name())},
                {"network_id", e.network_id},
                {"node_id", e.node_id},
                {"details", e.details}};
  return dump(j);
}

std::string audit_export_record(AuditFormat f, const AuditEntry& e, const SplunkHecOptions& hec) {
  switch (f) {
    case AuditFormat::kJsonl: return audit_jsonl_line(e);
    case AuditFormat::kCsv: return audit_csv_line(e);
    case AuditFormat::kCef: return audit_cef_line(e) + "\n";
    case AuditFormat::kSplunk: return audit_splunk_hec_json(e, hec) + "\n";
  }
  return {};
}

}  // namespace pilot::admin
