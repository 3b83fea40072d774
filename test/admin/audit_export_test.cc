// The live audit exporter of the real `rendezvous` binary (spec §12.3, §6.23, §21 item
// 121) against receivers started by the test: json and splunk_hec over HTTP, syslog_cef
// over TCP (including a collector that drops the connection), retries, and resuming
// from the cursor after kill -9.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "test/admin/outbound_test_support.h"

namespace pilot::outbound_test {
namespace {

using testsupport::Registry;

json set_export(Registry& reg, json fields) {
  fields["type"] = "set_audit_export";
  json r = admin_call(reg, fields);
  EXPECT_EQ(r.value("type", ""), "set_audit_export_ok") << r.dump();
  return r;
}

json get_export(Registry& reg) {
  json g = admin_call(reg, {{"type", "get_audit_export"}});
  EXPECT_EQ(g.value("type", ""), "get_audit_export_ok") << g.dump();
  return g;
}

// Bodies of the 2xx-answered posts for `action`, deduplicated by seq, arrival order.
std::vector<json> exported(const Receiver& r, const std::string& action = "node.registered") {
  std::vector<json> out;
  std::set<uint64_t> seen;
  for (const auto& h : r.hits()) {
    if (h.status >= 300) continue;
    json b = json::parse(h.body, nullptr, false);
    if (b.value("action", "") != action) continue;
    if (seen.insert(b["seq"].get<uint64_t>()).second) out.push_back(b);
  }
  return out;
}

std::vector<uint32_t> node_ids(const std::vector<json>& bodies) {
  std::vector<uint32_t> ids;
  uint64_t last = 0;
  for (const json& b : bodies) {
    EXPECT_GT(b["seq"].get<uint64_t>(), last) << "out of order: " << b.dump();
    last = b["seq"].get<uint64_t>();
    ids.push_back(b["node_id"].get<uint32_t>());
  }
  return ids;
}

TEST(AuditExport, JsonPostsEachEntryWithTheBearerToken) {
  Receiver rx;
  Registry reg(server_opts());
  json r = set_export(reg, {{"format", "json"}, {"endpoint", rx.url("/ingest")}, {"token", "tok-1"}});
  EXPECT_EQ(r, json({{"type", "set_audit_export_ok"},
                     {"status", "enabled"},
                     {"format", "json"},
                     {"endpoint", rx.url("/ingest")}}));
  std::vector<uint32_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(register_node(reg));
  ASSERT_TRUE(eventually([&] { return exported(rx).size() == 3; })) << reg.output();
  EXPECT_EQ(node_ids(exported(rx)), ids);
  for (const auto& h : rx.hits()) {
    EXPECT_EQ(h.path, "/ingest");
    EXPECT_EQ(h.header("Authorization"), "Bearer tok-1");
    EXPECT_EQ(h.header("Content-Type"), "application/json");
    EXPECT_NE(h.body.back(), '\n');
  }
  const json first = exported(rx).front();
  for (const char* k : {"seq", "timestamp", "action", "network_id", "node_id", "details", "prev_hash", "hash"})
    EXPECT_TRUE(first.contains(k)) << k << " in " << first.dump();

  ASSERT_TRUE(eventually([&] { return get_export(reg)["exported"] == 3; }));
  json g = get_export(reg);
  EXPECT_EQ(g["enabled"], true);
  EXPECT_EQ(g["format"], "json");
  EXPECT_EQ(g["endpoint"], rx.url("/ingest"));
  EXPECT_EQ(g["exported"], 3);
  EXPECT_EQ(g["dropped"], 0);
}

TEST(AuditExport, SplunkHecUsesTheSplunkHeaderAndEventShape) {
  Receiver rx;
  Registry reg(server_opts());
  set_export(reg, {{"format", "splunk_hec"},
                   {"endpoint", rx.url("/services/collector/event")},
                   {"token", "hec-9"},
                   {"index", "pilot_idx"},
                   {"source", "reg-a"}});
  const uint32_t id = register_node(reg);
  ASSERT_TRUE(eventually([&] { return !rx.hits().empty(); })) << reg.output();
  const auto h = rx.hits().front();
  EXPECT_EQ(h.path, "/services/collector/event");
  EXPECT_EQ(h.header("Authorization"), "Splunk hec-9");
  json b = json::parse(h.body, nullptr, false);
  ASSERT_TRUE(b.is_object()) << h.body;
  EXPECT_TRUE(b["time"].is_number());
  EXPECT_TRUE(b["host"].is_string());
  EXPECT_EQ(b["source"], "reg-a");
  EXPECT_EQ(b["sourcetype"], "pilot:audit");
  EXPECT_EQ(b["index"], "pilot_idx");
  EXPECT_EQ(b["event"]["action"], "node.registered");
  EXPECT_EQ(b["event"]["node_id"], id);
}

TEST(AuditExport, SyslogCefLinesOverTcpSurviveADroppedConnection) {
  LineCollector syslog;
  Registry reg(server_opts());
  set_export(reg, {{"format", "syslog_cef"}, {"endpoint", syslog.endpoint()}});
  const uint32_t a = register_node(reg);
  ASSERT_TRUE(eventually([&] { return syslog.lines().size() == 1; })) << reg.output();
  const std::string line = syslog.lines()[0];
  EXPECT_EQ(line.rfind("CEF:0|Pilot|Registry|1.0|node.registered|node.registered|3|dvc=pilot-registry ", 0), 0u)
      << line;
  EXPECT_NE(line.find(" cn2=" + std::to_string(a) + " cn2Label=node_id"), std::string::npos) << line;

  // The collector hangs up; the next line goes over a new connection.
  syslog.disconnect();
  ASSERT_TRUE(eventually([&] { return syslog.connections() == 1; }));
  std::this_thread::sleep_for(50ms);  // let the FIN reach the exporter's socket
  const uint32_t b = register_node(reg);
  ASSERT_TRUE(eventually([&] { return syslog.lines().size() == 2; })) << reg.output();
  EXPECT_NE(syslog.lines()[1].find(" cn2=" + std::to_string(b) + " "), std::string::npos);
  EXPECT_TRUE(eventually([&] { return get_export(reg)["exported"] == 2; }));
}

TEST(AuditExport, RetriesAndResumesAfterKill9) {
  Receiver rx;
  Registry reg(server_opts({}, "1s"));
  set_export(reg, {{"format", "json"}, {"endpoint", rx.url()}});
  std::vector<uint32_t> ids;
  rx.script({503});
  ids.push_back(register_node(reg));
  ASSERT_TRUE(eventually([&] { return exported(rx).size() == 1; })) << reg.output();  // after one retry

  rx.always(500);
  for (int i = 0; i < 2; ++i) ids.push_back(register_node(reg));
  ASSERT_TRUE(eventually([&] { return rx.hits().size() >= 3; })) << reg.output();
  reg.kill9();

  rx.always(200);
  reg.restart();
  ids.push_back(register_node(reg));
  ASSERT_TRUE(eventually([&] { return exported(rx).size() == ids.size(); })) << reg.output();
  EXPECT_EQ(node_ids(exported(rx)), ids);
}

TEST(AuditExport, DisablingStopsTheExport) {
  Receiver rx;
  Registry reg(server_opts());
  set_export(reg, {{"format", "json"}, {"endpoint", rx.url()}});
  const uint32_t a = register_node(reg);
  ASSERT_TRUE(eventually([&] { return exported(rx).size() == 1; })) << reg.output();
  json off = set_export(reg, {{"format", ""}, {"endpoint", ""}});
  EXPECT_EQ(off, json({{"type", "set_audit_export_ok"}, {"status", "disabled"}}));
  EXPECT_EQ(get_export(reg), json({{"type", "get_audit_export_ok"}, {"enabled", false}}));
  register_node(reg);
  set_export(reg, {{"format", "json"}, {"endpoint", rx.url()}});
  const uint32_t c = register_node(reg);
  ASSERT_TRUE(eventually([&] { return exported(rx).size() >= 2; })) << reg.output();
  EXPECT_EQ(node_ids(exported(rx)), (std::vector<uint32_t>{a, c}));
}

}  // namespace
}  // namespace pilot::outbound_test
