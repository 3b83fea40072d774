// The audit export formats (admin/audit_format.h, spec §12.3): exact bytes of each
// format for a known entry, and the quoting/escaping rules on hostile details.
#include "admin/audit_format.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace pilot::admin {
namespace {

AuditEntry sample() {
  AuditEntry e;
  e.seq = 42;
  e.time = 1772496000;  // 2026-03-03T00:00:00Z
  e.action = AuditAction::kNetworkJoined;
  e.network_id = 3;
  e.node_id = 7;
  e.details = "role=member";
  e.prev_hash = std::string(64, 'a');
  e.hash = std::string(64, 'b');
  return e;
}

TEST(AuditFormat, Names) {
  EXPECT_EQ(audit_format_from_name("jsonl"), AuditFormat::kJsonl);
  EXPECT_EQ(audit_format_from_name("csv"), AuditFormat::kCsv);
  EXPECT_EQ(audit_format_from_name("cef"), AuditFormat::kCef);
  EXPECT_EQ(audit_format_from_name("splunk"), AuditFormat::kSplunk);
  EXPECT_FALSE(audit_format_from_name("json"));
  EXPECT_FALSE(audit_format_from_name("CSV"));
}

TEST(AuditFormat, JsonLineHasEveryFieldInOrder) {
  EXPECT_EQ(audit_jsonl_line(sample()),
            R"({"seq":42,"timestamp":"2026-03-03T00:00:00Z","action":"network.joined","network_id":3,"node_id":7,)"
            R"("details":"role=member","prev_hash":")" +
                std::string(64, 'a') + R"(","hash":")" + std::string(64, 'b') + "\"}\n");
  AuditEntry e = sample();
  e.details = "q=\"x\"\nback\\slash, bad=\xff";
  const std::string line = audit_jsonl_line(e);
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line, whatever the details";
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["details"], "q=\"x\"\nback\\slash, bad=\xEF\xBF\xBD") << "non-UTF-8 becomes U+FFFD";
}

TEST(AuditFormat, CsvQuotesPerRfc4180) {
  EXPECT_EQ(audit_csv_header(), "seq,timestamp,action,network_id,node_id,details,prev_hash,hash\r\n");
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field(""), "");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_field("cr\r"), "\"cr\r\"");
  AuditEntry e = sample();
  e.details = "name=lab, note=\"x\"";
  e.prev_hash = "";
  EXPECT_EQ(audit_csv_line(e), "42,2026-03-03T00:00:00Z,network.joined,3,7,\"name=lab, note=\"\"x\"\"\",," +
                                   std::string(64, 'b') + "\r\n");
}

TEST(AuditFormat, CefLineOfTheSpec) {
  EXPECT_EQ(audit_cef_line(sample()),
            "CEF:0|Pilot|Registry|1.0|network.joined|network.joined|3|dvc=pilot-registry dvchost=registry "
            "cs1=network.joined cs1Label=action cn1=3 cn1Label=network_id cn2=7 cn2Label=node_id msg=role\\=member");
  AuditEntry e = sample();
  e.details = "a=b\\c\r\nd";
  EXPECT_NE(audit_cef_line(e).find("msg=a\\=b\\\\c\\r\\nd"), std::string::npos) << audit_cef_line(e);
  EXPECT_EQ(audit_cef_line(e).find('\n'), std::string::npos);
}

TEST(AuditFormat, CefEscapingAndSeverity) {
  EXPECT_EQ(cef_escape_header("a|b\\c=d\ne"), "a\\|b\\\\c=d\ne");
  EXPECT_EQ(cef_escape_extension("a|b\\c=d\re\nf"), "a|b\\\\c\\=d\\re\\nf");
  EXPECT_EQ(cef_severity("member.kicked"), 6);
  EXPECT_EQ(cef_severity("network.admin_kick"), 6);
  EXPECT_EQ(cef_severity("network.deleted"), 6);
  EXPECT_EQ(cef_severity("member.promoted"), 4);
  EXPECT_EQ(cef_severity("member.demoted"), 4);
  EXPECT_EQ(cef_severity("node.registered"), 3);
  EXPECT_EQ(cef_severity("breaker.delete"), 6);
}

TEST(AuditFormat, SplunkHecEvent) {
  EXPECT_EQ(audit_splunk_hec_json(sample(), {"reg-1", "", ""}),
            R"({"event":{"action":"network.joined","details":"role=member","network_id":3,"node_id":7},)"
            R"("host":"reg-1","source":"pilot-registry","sourcetype":"pilot:audit","time":1772496000})");
  const auto j = nlohmann::json::parse(audit_splunk_hec_json(sample(), {"h", "src", "main"}));
  EXPECT_EQ(j["source"], "src");
  EXPECT_EQ(j["index"], "main");
}

TEST(AuditFormat, ExportRecordsAreNewlineTerminated) {
  const SplunkHecOptions hec{"h", "", ""};
  EXPECT_EQ(audit_export_record(AuditFormat::kJsonl, sample(), hec), audit_jsonl_line(sample()));
  EXPECT_EQ(audit_export_record(AuditFormat::kCsv, sample(), hec), audit_csv_line(sample()));
  EXPECT_EQ(audit_export_record(AuditFormat::kCef, sample(), hec), audit_cef_line(sample()) + "\n");
  EXPECT_EQ(audit_export_record(AuditFormat::kSplunk, sample(), hec), audit_splunk_hec_json(sample(), hec) + "\n");
}

}  // namespace
}  // namespace pilot::admin
