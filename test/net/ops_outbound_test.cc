// set_webhook, get_webhook, get_webhook_dlq, set_audit_export, get_audit_export
// through the real dispatcher (spec §6.23), and the SSRF guard they share (§6.24,
// §21 item 110, plus our stricter default for loopback/private targets).
#include <gtest/gtest.h>

#include <string>

#include "net/rpc/ops.h"
#include "net/rpc/outbound_status.h"
#include "net/rpc/url_guard.h"
#include "test/net/ops_fixture.h"

namespace pilot::rpc::testing {
namespace {

using nlohmann::json;

// The delivering side reduced to the values it reports: the ops only read it.
class FixedOutbound : public OutboundStatus {
 public:
  WebhookStats webhook = {7, 2, 1, 2};
  AuditExportStats exporter = {11, 3, 1};
  json dlq = json::array();
  UrlPolicy policy;

  WebhookStats webhook_stats() const override { return webhook; }
  json webhook_dead_letters() const override { return dlq; }
  AuditExportStats audit_export_stats() const override { return exporter; }
  UrlPolicy url_policy() const override { return policy; }
};

class OutboundOps : public OpsFixture {
 protected:
  OutboundOps() { options().admin_token = "secret"; }

  static json req(const std::string& type, json fields = json::object()) {
    fields["type"] = type;
    if (!fields.contains("admin_token")) fields["admin_token"] = "secret";
    return fields;
  }
  json ok(const json& r) {
    json out = call(r);
    EXPECT_EQ(out.value("type", ""), r.value("type", "") + "_ok") << out.dump();
    return out;
  }
};

// ---- op table ------------------------------------------------------------------------

TEST_F(OutboundOps, OpTableMarksTheReadsAsStandbyOps) {
  for (const char* name : {"get_webhook", "get_webhook_dlq", "get_audit_export"}) {
    const OpSpec* op = ops_.find(name);
    ASSERT_TRUE(op) << name;
    EXPECT_TRUE(op->standby_ok) << name;
    EXPECT_EQ(op->breaker, "") << name;
  }
  for (const char* name : {"set_webhook", "set_audit_export"}) {
    const OpSpec* op = ops_.find(name);
    ASSERT_TRUE(op) << name;
    EXPECT_FALSE(op->standby_ok) << name;
  }
}

TEST_F(OutboundOps, StandbyServesReadsAndRefusesWrites) {
  reg_.set_standby(true);
  EXPECT_EQ(error_of(req("set_webhook", {{"url", "https://hooks.example.com/x"}})), "request failed");
  EXPECT_EQ(error_of(req("set_audit_export", {{"format", "json"}, {"endpoint", "https://siem.example.com/"}})),
            "request failed");
  ok(req("get_webhook"));
  ok(req("get_webhook_dlq"));
  ok(req("get_audit_export"));
}

// ---- admin token ---------------------------------------------------------------------

TEST_F(OutboundOps, EveryOpNeedsTheAdminToken) {
  for (const char* type : {"set_webhook", "get_webhook", "get_webhook_dlq", "set_audit_export", "get_audit_export"}) {
    expect_rejected(req(type, {{"admin_token", "wrong"}, {"url", "https://a.example.com/"}}), "invalid admin token",
                    "invalid admin token");
    json none = {{"type", type}, {"url", "https://a.example.com/"}};
    expect_rejected(none, "invalid admin token", "invalid admin token");
  }
}

TEST_F(OutboundOps, NoAdminTokenConfiguredRefusesEverything) {
  options().admin_token.clear();
  expect_rejected(req("set_webhook", {{"url", "https://a.example.com/"}}), "no admin token configured",
                  "request failed");
  expect_rejected(req("get_webhook"), "no admin token configured", "request failed");
}

// ---- set_webhook / get_webhook ---------------------------------------------------------

TEST_F(OutboundOps, SetWebhookRecordsTheUrlAndGetWebhookReportsIt) {
  json r = ok(req("set_webhook", {{"url", "https://hooks.example.com/pilot?x=1"}}));
  EXPECT_EQ(r["status"], "enabled");
  EXPECT_EQ(r["url"], "https://hooks.example.com/pilot?x=1");
  EXPECT_EQ(state_.settings.webhook_url, "https://hooks.example.com/pilot?x=1");

  json g = ok(req("get_webhook"));
  EXPECT_EQ(g["enabled"], true);
  EXPECT_EQ(g["url"], "https://hooks.example.com/pilot?x=1");
  // Nothing delivers in this fixture: the counters read 0.
  EXPECT_EQ(g["delivered"], 0);
  EXPECT_EQ(g["failed"], 0);
  EXPECT_EQ(g["dropped"], 0);
  EXPECT_EQ(g["dlq_size"], 0);
}

TEST_F(OutboundOps, EmptyUrlDisables) {
  ok(req("set_webhook", {{"url", "https://hooks.example.com/"}}));
  json r = ok(req("set_webhook", {{"url", ""}}));
  EXPECT_EQ(r["status"], "disabled");
  EXPECT_EQ(r["url"], "");
  EXPECT_EQ(state_.settings.webhook_url, "");
  json g = ok(req("get_webhook"));
  EXPECT_EQ(g["enabled"], false);
  EXPECT_EQ(g["url"], "");
}

TEST_F(OutboundOps, GetWebhookReadsTheDeliveringSide) {
  FixedOutbound out;
  reg_.set_outbound(&out);
  json g = ok(req("get_webhook"));
  EXPECT_EQ(g["delivered"], 7);
  EXPECT_EQ(g["failed"], 2);
  EXPECT_EQ(g["dropped"], 1);
  EXPECT_EQ(g["dlq_size"], 2);
  reg_.set_outbound(nullptr);
}

TEST_F(OutboundOps, GetWebhookDlqListsTheDeadLetters) {
  json empty = ok(req("get_webhook_dlq"));
  EXPECT_EQ(empty["count"], 0);
  EXPECT_EQ(empty["events"], json::array());

  FixedOutbound out;
  out.dlq = json::array({{{"event_id", 4}, {"action", "node.registered"}, {"timestamp", "2026-01-01T00:00:00Z"}},
                         {{"event_id", 9}, {"action", "trust.created"}, {"timestamp", "2026-01-01T00:00:01Z"}}});
  reg_.set_outbound(&out);
  json r = ok(req("get_webhook_dlq"));
  EXPECT_EQ(r["count"], 2);
  EXPECT_EQ(r["events"], out.dlq);
  reg_.set_outbound(nullptr);
}

TEST_F(OutboundOps, SetWebhookRefusesWhatTheGuardRefusesAndChangesNothing) {
  expect_rejected(req("set_webhook", {{"url", "ftp://files.example.com/x"}}),
                  "set_webhook: invalid url scheme \"ftp\": http or https required",
                  "set_webhook: invalid url scheme \"ftp\": http or https required");
  expect_rejected(req("set_webhook", {{"url", "http://169.254.169.254/latest/meta-data"}}),
                  "set_webhook: invalid url: link-local address 169.254.169.254 not allowed",
                  "set_webhook: invalid url: link-local address 169.254.169.254 not allowed");
  expect_rejected(req("set_webhook", {{"url", "http://Metadata.Google.Internal/computeMetadata/v1/"}}),
                  "set_webhook: invalid url: cloud metadata host metadata.google.internal not allowed",
                  "set_webhook: invalid url: cloud metadata host metadata.google.internal not allowed");
}

TEST_F(OutboundOps, LoopbackIsAllowedUnlessTheOperatorRefusesIt) {
  // The reference accepts private and loopback receivers; so do we by default.
  const json r = req("set_webhook", {{"url", "http://127.0.0.1:8080/hook"}});
  EXPECT_EQ(ok(r)["status"], "enabled");
  EXPECT_EQ(state_.settings.webhook_url, "http://127.0.0.1:8080/hook");
  // --outbound-allow-private=false refuses them.
  FixedOutbound out;
  out.policy.allow_private = false;
  reg_.set_outbound(&out);
  EXPECT_EQ(raw_error(req("set_webhook", {{"url", "http://10.1.2.3/hook"}})),
            "set_webhook: invalid url: private or loopback address 10.1.2.3 not allowed (the operator can allow "
            "it with --outbound-allow-private)");
  // Link-local stays refused whatever the switch says.
  out.policy.allow_private = true;
  EXPECT_EQ(raw_error(req("set_webhook", {{"url", "http://[fe80::1%25eth0]/"}})),
            "set_webhook: invalid url: link-local address fe80::1 not allowed");
  reg_.set_outbound(nullptr);
}

// ---- set_audit_export / get_audit_export -------------------------------------------------

TEST_F(OutboundOps, SetAuditExportEnablesEachFormat) {
  json r = ok(req("set_audit_export", {{"format", "splunk_hec"},
                                       {"endpoint", "https://splunk.example.com:8088/services/collector"},
                                       {"token", "hec-token"},
                                       {"index", "pilot"},
                                       {"source", "reg-1"}}));
  EXPECT_EQ(r, json({{"type", "set_audit_export_ok"},
                     {"status", "enabled"},
                     {"format", "splunk_hec"},
                     {"endpoint", "https://splunk.example.com:8088/services/collector"}}));
  const AuditExportConfig& c = state_.settings.audit_export;
  EXPECT_EQ(c.format, "splunk_hec");
  EXPECT_EQ(c.token, "hec-token");
  EXPECT_EQ(c.index, "pilot");
  EXPECT_EQ(c.source, "reg-1");

  ok(req("set_audit_export", {{"format", "json"}, {"endpoint", "https://siem.example.com/ingest"}}));
  EXPECT_EQ(state_.settings.audit_export.format, "json");
  // syslog_cef takes a raw host:port.
  ok(req("set_audit_export", {{"format", "syslog_cef"}, {"endpoint", "syslog.example.com:514"}}));
  EXPECT_EQ(state_.settings.audit_export.endpoint, "syslog.example.com:514");
}

TEST_F(OutboundOps, EmptyFormatOrEndpointDisables) {
  ok(req("set_audit_export", {{"format", "json"}, {"endpoint", "https://siem.example.com/"}}));
  EXPECT_EQ(ok(req("set_audit_export", {{"format", "json"}}))["status"], "disabled");
  EXPECT_FALSE(state_.settings.audit_export.enabled());
  ok(req("set_audit_export", {{"format", "json"}, {"endpoint", "https://siem.example.com/"}}));
  EXPECT_EQ(ok(req("set_audit_export", {{"endpoint", "https://siem.example.com/"}}))["status"], "disabled");
  EXPECT_EQ(state_.settings.audit_export, AuditExportConfig{});
}

TEST_F(OutboundOps, SetAuditExportValidatesFormatAndEndpoint) {
  expect_rejected(req("set_audit_export", {{"format", "xml"}, {"endpoint", "https://siem.example.com/"}}),
                  "set_audit_export: invalid format \"xml\": json, splunk_hec or syslog_cef required",
                  "set_audit_export: invalid format \"xml\": json, splunk_hec or syslog_cef required");
  expect_rejected(req("set_audit_export", {{"format", "json"}, {"endpoint", "siem.example.com:443"}}),
                  "set_audit_export: invalid url: http or https URL required",
                  "set_audit_export: invalid url: http or https URL required");
  expect_rejected(req("set_audit_export", {{"format", "splunk_hec"}, {"endpoint", "http://169.254.1.1/"}}),
                  "set_audit_export: invalid url: link-local address 169.254.1.1 not allowed",
                  "set_audit_export: invalid url: link-local address 169.254.1.1 not allowed");
  expect_rejected(req("set_audit_export", {{"format", "syslog_cef"}, {"endpoint", "syslog.example.com"}}),
                  "set_audit_export: invalid endpoint \"syslog.example.com\": host:port required",
                  "set_audit_export: invalid endpoint \"syslog.example.com\": host:port required");
  expect_rejected(req("set_audit_export", {{"format", "syslog_cef"}, {"endpoint", "EC2.internal:514"}}),
                  "set_audit_export: invalid url: cloud metadata host ec2.internal not allowed",
                  "set_audit_export: invalid url: cloud metadata host ec2.internal not allowed");
}

TEST_F(OutboundOps, GetAuditExportShowsCountersOnlyWhenEnabled) {
  FixedOutbound out;
  reg_.set_outbound(&out);
  EXPECT_EQ(ok(req("get_audit_export")), json({{"type", "get_audit_export_ok"}, {"enabled", false}}));
  ok(req("set_audit_export", {{"format", "json"}, {"endpoint", "https://siem.example.com/in"}, {"token", "t"}}));
  EXPECT_EQ(ok(req("get_audit_export")), json({{"type", "get_audit_export_ok"},
                                               {"enabled", true},
                                               {"format", "json"},
                                               {"endpoint", "https://siem.example.com/in"},
                                               {"exported", 11},
                                               {"dropped", 3}}));
  reg_.set_outbound(nullptr);
}

// ---- the guard itself ----------------------------------------------------------------------

struct GuardCase {
  const char* url;
  bool strict_ok;   // default policy
  bool private_ok;  // --outbound-allow-private
};

TEST(UrlGuard, AcceptsAndRefusesPerPolicy) {
  const GuardCase cases[] = {
      {"https://hooks.example.com/a/b?c=d", true, true},
      {"HTTP://Hooks.Example.com", true, true},
      {"http://hooks.example.com:8443/x#frag", true, true},
      {"http://203.0.113.7/", true, true},
      {"http://[2001:db8::1]:8080/", true, true},
      {"ftp://example.com/", false, false},
      {"file:///etc/passwd", false, false},
      {"gopher://example.com/", false, false},
      {"example.com/hook", false, false},
      {"http:///nohost", false, false},
      {"http://example.com:0/", false, false},
      {"http://example.com:70000/", false, false},
      {"http://user:pw@example.com/", false, false},
      {"http://example.com/a b", false, false},
      {"http://example.com/\r\nX: y", false, false},
      // Link-local and metadata: always refused (spec §6.24).
      {"http://169.254.169.254/", false, false},
      {"http://169.254.0.1:80/", false, false},
      {"http://[fe80::1]/", false, false},
      {"http://[fe80::1%25eth0]/", false, false},
      {"http://[FE80::abcd%eth0]:8080/", false, false},
      {"http://[::ffff:169.254.169.254]/", false, false},
      {"http://metadata.google.internal/", false, false},
      {"http://METADATA.google.com/", false, false},
      {"http://ec2.internal/", false, false},
      {"http://Instance-Data-Service.EC2.internal./", false, false},
      {"http://metadata.azure.com/", false, false},
      // Resolver-only spellings of 169.254.169.254 and 127.0.0.1.
      {"http://2852039166/", false, false},
      {"http://0251.0376.0251.0376/", false, false},
      {"http://0x7f.1/", false, false},
      // Multicast / reserved: always refused.
      {"http://224.0.0.1/", false, false},
      {"http://255.255.255.255/", false, false},
      {"http://[ff02::1]/", false, false},
      // Loopback, private, unspecified: only with the switch.
      {"http://127.0.0.1:9000/", false, true},
      {"http://localhost:9000/", false, true},
      {"http://api.localhost/", false, true},
      {"http://[::1]/", false, true},
      {"http://10.1.2.3/", false, true},
      {"http://172.16.0.1/", false, true},
      {"http://172.31.255.255/", false, true},
      {"http://192.168.1.1/", false, true},
      {"http://100.64.0.1/", false, true},
      {"http://0.0.0.0/", false, true},
      {"http://[::]/", false, true},
      {"http://[fd00::1]/", false, true},
      {"http://[::ffff:10.0.0.1]/", false, true},
      // Neighbours of the private ranges are public.
      {"http://172.32.0.1/", true, true},
      {"http://100.128.0.1/", true, true},
      {"http://192.169.0.1/", true, true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(url_problem(c.url, UrlPolicy{}).empty(), c.strict_ok) << c.url << ": " << url_problem(c.url, {});
    EXPECT_EQ(url_problem(c.url, UrlPolicy{true}).empty(), c.private_ok)
        << c.url << " (allow private): " << url_problem(c.url, UrlPolicy{true});
  }
}

TEST(UrlGuard, EveryRefusalPassesTheErrorSanitiser) {
  // Each reason starts with "invalid", one of the substrings the reference's
  // sanitiser lets through, so an operator sees why.
  for (const char* url : {"ftp://x", "http://169.254.169.254/", "http://metadata.azure.com/", "http://127.0.0.1/",
                          "http://2852039166/", "http://user@x/", ""})
    EXPECT_EQ(url_problem(url, UrlPolicy{}).rfind("invalid", 0), 0u) << url;
}

TEST(UrlGuard, ParsesWhatTheHttpClientNeeds) {
  auto u = parse_http_url("HTTPS://Hooks.Example.com?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "Hooks.Example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/?x=1");
  EXPECT_EQ(u->origin(), "https://Hooks.Example.com:443");

  u = parse_http_url("http://[2001:db8::5]:8080/p/q#f");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->ipv6);
  EXPECT_EQ(u->host, "2001:db8::5");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/p/q");
  EXPECT_EQ(u->origin(), "http://[2001:db8::5]:8080");

  EXPECT_FALSE(parse_http_url("http://[::1/"));
  EXPECT_FALSE(parse_http_url("http://[example.com]/"));
  EXPECT_FALSE(parse_http_url("http://a:b:c/"));
}

TEST(UrlGuard, EndpointsAreHostPort) {
  EXPECT_EQ(endpoint_problem("siem.example.com:514", {}), "");
  EXPECT_EQ(endpoint_problem("[2001:db8::1]:514", {}), "");
  EXPECT_NE(endpoint_problem("siem.example.com", {}), "");
  EXPECT_NE(endpoint_problem("siem.example.com:", {}), "");
  EXPECT_NE(endpoint_problem(":514", {}), "");
  EXPECT_NE(endpoint_problem("a b:514", {}), "");
  EXPECT_NE(endpoint_problem("127.0.0.1:514", {}), "");
  EXPECT_EQ(endpoint_problem("127.0.0.1:514", UrlPolicy{true}), "");
  EXPECT_NE(endpoint_problem("169.254.169.254:514", UrlPolicy{true}), "");
}

TEST(UrlGuard, ResolvedAddressesAreJudgedAsLiterals) {
  EXPECT_EQ(address_problem("93.184.216.34", {}), "");
  EXPECT_NE(address_problem("169.254.169.254", UrlPolicy{true}), "");
  EXPECT_NE(address_problem("fe80::1%eth0", UrlPolicy{true}), "");
  EXPECT_NE(address_problem("127.0.0.1", {}), "");
  EXPECT_EQ(address_problem("127.0.0.1", UrlPolicy{true}), "");
  EXPECT_NE(address_problem("::ffff:127.0.0.1", {}), "");
  EXPECT_NE(address_problem("not-an-ip", UrlPolicy{true}), "");
}

}  // namespace
}  // namespace pilot::rpc::testing
